"""The ready-made hook helpers in hooks/ (issue 5): wait-for-http, wait-for-port, systemd-service.

Each helper is run as a real process through its #!/bin/sh line (dash on Debian, so POSIX sh).
HTTP and TCP servers bind 127.0.0.1 only.  systemd-service runs against a fake `systemctl` and
`journalctl` on PATH, because CI has no systemd as PID 1.  The client fallbacks (python3 and
wget instead of curl, bash instead of python3) are tested with a PATH that holds only the
tools the helper may use.
"""
import http.server
import os
import shutil
import socket
import ssl
import threading

import harness

HOOKS = os.path.join(harness.SRC, "hooks")
WAIT_HTTP = os.path.join(HOOKS, "wait-for-http")
WAIT_PORT = os.path.join(HOOKS, "wait-for-port")
SYSTEMD_SERVICE = os.path.join(HOOKS, "systemd-service")


class _Handler(http.server.BaseHTTPRequestHandler):
    """/ok 200, /missing 404, /slow-start 503 for the first 2 requests then 200, /moved 302."""
    counts = {}

    def do_GET(self):
        n = self.counts.get(self.path, 0) + 1
        self.counts[self.path] = n
        if self.path == "/ok":
            code = 200
        elif self.path == "/slow-start":
            code = 503 if n <= 2 else 200
        elif self.path == "/moved":
            code = 302
        else:
            code = 404
        body = b"hello\n"
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server:
    def __init__(self, tls=None):
        self.tls = tls  # (certfile, keyfile) for HTTPS

    def __enter__(self):
        _Handler.counts = {}
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def url(self, path):
        return "%s://127.0.0.1:%d%s" % ("https" if self.tls else "http", self.port, path)

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False


def _only_tools(env, *names):
    """A PATH directory holding symlinks to just these tools (those that exist)."""
    d = env.path("bin-%s" % "-".join(names))
    os.makedirs(d, exist_ok=True)
    for n in names:
        # system tools first: a pyenv-style shim would need more than this PATH offers
        p = shutil.which(n, path="/usr/bin:/bin") or shutil.which(n)
        if p:
            os.symlink(p, os.path.join(d, n))
    return d


def _run(argv, path=None, timeout=60):
    envp = dict(os.environ)
    if path is not None:
        envp["PATH"] = path
    return harness.run(argv, timeout=timeout, env=envp)


def _free_closed_port():
    return harness.free_port()  # bound then closed: nothing listens there


# ---------------------------------------------------------------- wait-for-http

def test_wait_for_http_help_and_bad_arguments():
    r = _run([WAIT_HTTP, "--help"])
    assert r.returncode == 0 and "usage: wait-for-http URL" in r.stdout, r
    assert "--expect CODE" in r.stdout and "--timeout S" in r.stdout
    cases = [
        ([], "no URL given"),
        (["http://127.0.0.1:1/", "--timeout", "abc"], "--timeout needs a number of seconds"),
        (["http://127.0.0.1:1/", "--timeout"], "needs a value"),
        (["http://127.0.0.1:1/", "--expect", "99"], "--expect needs a status code"),
        (["http://127.0.0.1:1/", "--bogus"], "unknown option '--bogus'"),
        (["ftp://127.0.0.1/"], "must start with http:// or https://"),
        (["http://a/", "http://b/"], "more than one URL"),
    ]
    for args, msg in cases:
        r = _run([WAIT_HTTP] + args)
        assert r.returncode == 2, (args, r)
        assert msg in r.stderr, (args, r.stderr)


def test_wait_for_http_success_with_curl():
    if not shutil.which("curl"):
        raise harness.Skip("curl not installed")
    with _Server() as s:
        r = _run([WAIT_HTTP, s.url("/ok"), "--timeout", "10"])
        assert r.returncode == 0, r
        assert "answered 200" in r.stdout, r.stdout


def test_wait_for_http_waits_until_ready():
    with _Server() as s:
        r = _run([WAIT_HTTP, s.url("/slow-start"), "--timeout", "20", "--interval", "1"])
        assert r.returncode == 0, r
        assert "answered 200" in r.stdout
        assert _Handler.counts["/slow-start"] == 3, _Handler.counts


def test_wait_for_http_expect_code_mismatch_times_out():
    with _Server() as s:
        r = _run([WAIT_HTTP, s.url("/missing"), "--timeout", "1"])
        assert r.returncode == 1, r
        assert "did not answer 200 within 1s" in r.stderr and "last answer was 404" in r.stderr, \
            r.stderr
        assert _Handler.counts["/missing"] >= 1
        # the same URL passes when 404 (or the class 4xx) is what we expect
        assert _run([WAIT_HTTP, s.url("/missing"), "--expect", "404"]).returncode == 0
        assert _run([WAIT_HTTP, s.url("/missing"), "--expect", "4xx"]).returncode == 0
        r = _run([WAIT_HTTP, s.url("/ok"), "--expect", "2xx"])
        assert r.returncode == 0 and "answered 200" in r.stdout, r
        # redirects are not followed: the status is the redirect's own
        assert _run([WAIT_HTTP, s.url("/moved"), "--expect", "302"]).returncode == 0


def test_wait_for_http_timeout_without_server():
    port = _free_closed_port()
    r = _run([WAIT_HTTP, "http://127.0.0.1:%d/" % port, "--timeout", "1"])
    assert r.returncode == 1, r
    assert "no HTTP answer" in r.stderr, r.stderr


def test_wait_for_http_python3_fallback_without_curl():
    with harness.Env("hooks") as env, _Server() as s:
        path = _only_tools(env, "date", "sleep", "python3")
        r = _run([WAIT_HTTP, s.url("/ok"), "--timeout", "10"], path=path)
        assert r.returncode == 0 and "answered 200" in r.stdout, r
        r = _run([WAIT_HTTP, s.url("/missing"), "--timeout", "1"], path=path)
        assert r.returncode == 1 and "last answer was 404" in r.stderr, r
        r = _run([WAIT_HTTP, s.url("/moved"), "--expect", "302"], path=path)
        assert r.returncode == 0, r


def test_wait_for_http_wget_fallback():
    if not shutil.which("wget"):
        raise harness.Skip("wget not installed")
    with harness.Env("hooks") as env, _Server() as s:
        path = _only_tools(env, "date", "sleep", "wget")
        r = _run([WAIT_HTTP, s.url("/ok"), "--timeout", "10"], path=path)
        assert r.returncode == 0 and "answered 200" in r.stdout, r
        r = _run([WAIT_HTTP, s.url("/missing"), "--timeout", "1"], path=path)
        assert r.returncode == 1 and "last answer was 404" in r.stderr, r


def test_wait_for_http_https_self_signed_needs_insecure():
    if not shutil.which("openssl"):
        raise harness.Skip("openssl not installed")
    with harness.Env("hooks") as env:
        key, cert = env.path("key.pem"), env.path("cert.pem")
        r = harness.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                         key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"])
        assert r.returncode == 0, r
        with _Server(tls=(cert, key)) as s:
            clients = [None, _only_tools(env, "date", "sleep", "python3")]
            if shutil.which("wget"):
                clients.append(_only_tools(env, "date", "sleep", "wget"))
            for path in clients:
                # the certificate is not trusted: no answer counts
                r = _run([WAIT_HTTP, s.url("/ok"), "--timeout", "1"], path=path)
                assert r.returncode == 1 and "no HTTP answer" in r.stderr, (path, r)
                r = _run([WAIT_HTTP, s.url("/ok"), "--timeout", "5", "--insecure"], path=path)
                assert r.returncode == 0 and "answered 200" in r.stdout, (path, r)


def test_wait_for_http_no_client_exits_3():
    with harness.Env("hooks") as env:
        path = _only_tools(env, "date", "sleep")
        r = _run([WAIT_HTTP, "http://127.0.0.1:1/"], path=path)
        assert r.returncode == 3, r
        assert "none of curl, python3, wget" in r.stderr


# ---------------------------------------------------------------- wait-for-port

def test_wait_for_port_help_and_bad_arguments():
    r = _run([WAIT_PORT, "--help"])
    assert r.returncode == 0 and "usage: wait-for-port HOST:PORT" in r.stdout, r
    cases = [
        ([], "no HOST:PORT given"),
        (["localhost"], "expected HOST:PORT"),
        (["127.0.0.1:0"], "port must be a number from 1 to 65535"),
        (["127.0.0.1:70000"], "port must be a number from 1 to 65535"),
        (["127.0.0.1:http"], "port must be a number"),
        ([":80"], "no host"),
        (["127.0.0.1:80", "--timeout", "-1"], "--timeout needs a number"),
        (["127.0.0.1:80", "--nope"], "unknown option"),
    ]
    for args, msg in cases:
        r = _run([WAIT_PORT] + args)
        assert r.returncode == 2, (args, r)
        assert msg in r.stderr, (args, r.stderr)


def _listener(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(16)
    return s


def test_wait_for_port_success_and_timeout():
    with _listener() as s:
        port = s.getsockname()[1]
        r = _run([WAIT_PORT, "127.0.0.1:%d" % port, "--timeout", "10"])
        assert r.returncode == 0, r
        assert "accepts connections" in r.stdout
    port = _free_closed_port()
    r = _run([WAIT_PORT, "127.0.0.1:%d" % port, "--timeout", "1"])
    assert r.returncode == 1, r
    assert "did not accept a connection within 1s" in r.stderr


def test_wait_for_port_waits_for_late_listener():
    port = harness.free_port()
    holder = {}

    def late():
        import time
        time.sleep(1.5)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(4)
        holder["s"] = s

    t = threading.Thread(target=late)
    t.start()
    try:
        r = _run([WAIT_PORT, "127.0.0.1:%d" % port, "--timeout", "15"])
        assert r.returncode == 0, r
    finally:
        t.join()
        if "s" in holder:
            holder["s"].close()


def test_wait_for_port_ipv6_brackets():
    try:
        s = _listener(socket.AF_INET6, "::1")
    except OSError as e:
        raise harness.Skip("no IPv6 loopback: %s" % e)
    with s:
        port = s.getsockname()[1]
        r = _run([WAIT_PORT, "[::1]:%d" % port, "--timeout", "5"])
        assert r.returncode == 0, r


def test_wait_for_port_bash_fallback_without_python3():
    if not shutil.which("bash"):
        raise harness.Skip("bash not installed")
    with harness.Env("hooks") as env, _listener() as s:
        path = _only_tools(env, "date", "sleep", "bash")
        port = s.getsockname()[1]
        r = _run([WAIT_PORT, "127.0.0.1:%d" % port, "--timeout", "5"], path=path)
        assert r.returncode == 0, r
        closed = _free_closed_port()
        r = _run([WAIT_PORT, "127.0.0.1:%d" % closed, "--timeout", "1"], path=path)
        assert r.returncode == 1, r


# ---------------------------------------------------------------- systemd-service

FAKE_SYSTEMCTL = r"""#!/bin/sh
# fake systemctl: logs its arguments; behaviour from files in $FAKE_DIR
echo "systemctl $*" >> "$FAKE_DIR/calls"
case "$1" in
    is-active)
        n=$(cat "$FAKE_DIR/n" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$FAKE_DIR/n"
        # states: one per line; the last one repeats
        s=$(sed -n "${n}p" "$FAKE_DIR/states")
        [ -n "$s" ] || s=$(tail -n 1 "$FAKE_DIR/states")
        echo "$s"
        [ "$s" = active ] ;;
    start|stop|restart)
        [ -f "$FAKE_DIR/sleep" ] && sleep "$(cat "$FAKE_DIR/sleep")"
        exit "$(cat "$FAKE_DIR/rc" 2>/dev/null || echo 0)" ;;
esac
"""

FAKE_JOURNALCTL = """#!/bin/sh
echo "journalctl $*" >> "$FAKE_DIR/calls"
echo "JOURNAL: myapp[42]: listening failed"
"""


def _fake_systemd(env, states, rc=0, sleep=None):
    d = env.path("fake")
    os.makedirs(d, exist_ok=True)
    for n in ("calls", "n", "sleep"):
        try:
            os.unlink(os.path.join(d, n))
        except FileNotFoundError:
            pass
    env.write("fake/bin/systemctl", FAKE_SYSTEMCTL, 0o755)
    env.write("fake/bin/journalctl", FAKE_JOURNALCTL, 0o755)
    env.write("fake/states", "\n".join(states) + "\n")
    env.write("fake/rc", "%d\n" % rc)
    if sleep is not None:
        env.write("fake/sleep", "%d\n" % sleep)
    envp = dict(os.environ)
    envp["FAKE_DIR"] = d
    envp["PATH"] = os.path.join(d, "bin") + ":" + envp["PATH"]
    return envp


def _calls(env):
    try:
        with open(env.path("fake", "calls")) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def test_systemd_service_help_and_bad_arguments():
    r = _run([SYSTEMD_SERVICE, "--help"])
    assert r.returncode == 0 and "usage: systemd-service start|stop|restart UNIT" in r.stdout
    cases = [
        ([], "no action given"),
        (["reload", "x"], "unknown action 'reload'"),
        (["start"], "no unit given"),
        (["start", "a", "b"], "unexpected argument 'b'"),
        (["start", "a", "--timeout", "1.5"], "--timeout needs a number"),
        (["start", "a", "--x"], "unknown option"),
    ]
    for args, msg in cases:
        r = _run([SYSTEMD_SERVICE] + args)
        assert r.returncode == 2, (args, r)
        assert msg in r.stderr, (args, r.stderr)


def test_systemd_service_restart_waits_for_active():
    with harness.Env("hooks") as env:
        envp = _fake_systemd(env, ["activating", "activating", "active"])
        r = harness.run([SYSTEMD_SERVICE, "restart", "myapp", "--timeout", "20", "--settle", "1"],
                        env=envp)
        assert r.returncode == 0, r
        assert "'myapp' is active" in r.stdout, r.stdout
        calls = _calls(env)
        assert calls[0] == "systemctl restart -- myapp", calls
        assert calls.count("systemctl is-active -- myapp") >= 4, calls  # 3 + settle check
        assert not any(c.startswith("journalctl") for c in calls)


def test_systemd_service_start_failure_prints_journal():
    with harness.Env("hooks") as env:
        envp = _fake_systemd(env, ["failed"], rc=1)
        r = harness.run([SYSTEMD_SERVICE, "start", "myapp"], env=envp)
        assert r.returncode == 1, r
        assert "'systemctl start myapp' failed with status 1" in r.stderr, r.stderr
        assert "JOURNAL: myapp[42]: listening failed" in r.stderr
        assert "journalctl -u myapp -n 50 --no-pager" in _calls(env)


def test_systemd_service_unit_dies_after_start():
    with harness.Env("hooks") as env:
        envp = _fake_systemd(env, ["active", "failed"])
        r = harness.run([SYSTEMD_SERVICE, "start", "myapp", "--settle", "1"], env=envp)
        assert r.returncode == 1, r
        assert "was active but is failed 1s later" in r.stderr, r.stderr
        assert "JOURNAL:" in r.stderr


def test_systemd_service_stop():
    with harness.Env("hooks") as env:
        envp = _fake_systemd(env, ["deactivating", "inactive"])
        r = harness.run([SYSTEMD_SERVICE, "stop", "myapp.service", "--timeout", "10"], env=envp)
        assert r.returncode == 0, r
        assert "stopped (inactive)" in r.stdout
        assert _calls(env)[0] == "systemctl stop -- myapp.service"


def test_systemd_service_state_timeout():
    with harness.Env("hooks") as env:
        envp = _fake_systemd(env, ["activating"])
        r = harness.run([SYSTEMD_SERVICE, "start", "myapp", "--timeout", "2"], env=envp)
        assert r.returncode == 1, r
        assert "did not become active within 2s (it is activating)" in r.stderr, r.stderr
        assert "JOURNAL:" in r.stderr


def test_systemd_service_job_timeout():
    with harness.Env("hooks") as env:
        envp = _fake_systemd(env, ["activating"], sleep=4)
        r = harness.run([SYSTEMD_SERVICE, "restart", "myapp", "--timeout", "1"], env=envp)
        assert r.returncode == 1, r
        assert "'systemctl restart myapp' did not finish within 1s" in r.stderr, r.stderr


def test_systemd_service_without_systemctl_exits_3():
    with harness.Env("hooks") as env:
        path = _only_tools(env, "date", "sleep")
        r = _run([SYSTEMD_SERVICE, "start", "myapp"], path=path)
        assert r.returncode == 3, r
        assert "systemctl not found" in r.stderr
