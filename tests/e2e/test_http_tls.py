"""agent/http.c and agent/sigv4.c end to end, through the tests/tools/http_get driver.

An HTTPS server on 127.0.0.1 with a certificate from a throwaway CA made here: trusted through
AWS_CA_BUNDLE / SSL_CERT_FILE / AWS_SSL_CA_BUNDLE (R-052), refused without it and for a wrong
host name; read timeout, cancel (SIGTERM -> should_stop), response caps, keep-alive (R-055),
proxy rules (R-054); and SigV4 signatures checked by botocore, an independent implementation
(R-050, R-109).
"""
import os
import re
import signal
import subprocess
import time

import harness
import tls_server

HTTP_GET = os.path.join(harness.BUILD, "tools", "http_get")
CA_VARS = ("AWS_CA_BUNDLE", "AWS_SSL_CA_BUNDLE", "SSL_CERT_FILE", "AWS_SSL_CA_DIRECTORY",
           "SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
           "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")
AKID = "AKIDCDAGENTTEST"
AKID_NO_TOKEN = "AKIDCDAGENTKEYS"
SECRET = "cdagent/test+secret/KEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE//token+with/slashes=="


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in CA_VARS}
    env.update(extra)
    return env


def http_get(args, env, timeout=60):
    return harness.run([HTTP_GET] + args, env=env, timeout=timeout)


class Fixture:
    def __init__(self, hosts=("127.0.0.1", "localhost")):
        self.env = harness.Env("http-tls")
        self.ca = tls_server.make_ca(self.env.dir)
        cert, key = self.ca.issue(self.env.dir, "server", list(hosts))
        self.server = tls_server.TLSServer(cert, key, {AKID: (SECRET, TOKEN), AKID_NO_TOKEN: (SECRET, None)})

    def close(self):
        self.server.stop()
        self.env.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def ok(r):
    assert r.returncode == 0, "http_get failed (%d): %s" % (r.returncode, r.stderr)
    return r


def failed(r, code):
    assert r.returncode == 1, "expected failure, got %d: %s" % (r.returncode, r.stderr)
    assert ("error %s:" % code) in r.stderr, "expected %s, got: %s" % (code, r.stderr)
    return r


def test_R052_trusted_with_AWS_CA_BUNDLE():
    with Fixture() as f:
        r = ok(http_get([f.server.url("/ok")], clean_env(AWS_CA_BUNDLE=f.ca.pem)))
        assert "status=200" in r.stderr
        assert r.stdout == "hello"
        ua = dict((k.lower(), v) for k, v in f.server.requests[-1]["headers"])["user-agent"]
        assert re.fullmatch(r"cdagent/\d+\.\d+\.\d+.*", ua), ua


def test_R052_trusted_with_SSL_CERT_FILE_and_AWS_SSL_CA_BUNDLE():
    with Fixture() as f:
        for var in ("SSL_CERT_FILE", "AWS_SSL_CA_BUNDLE"):
            r = ok(http_get([f.server.url("/ok")], clean_env(**{var: f.ca.pem})))
            assert r.stdout == "hello", var


def test_R052_trusted_with_AWS_SSL_CA_DIRECTORY():
    with Fixture() as f:
        d = f.env.path("cadir")
        os.makedirs(d)
        with open(f.ca.pem) as src, open(os.path.join(d, "ca.pem"), "w") as dst:
            dst.write(src.read())
        try:
            harness.run(["openssl", "rehash", d], timeout=30).check_returncode()
        except (OSError, subprocess.CalledProcessError):
            raise harness.Skip("openssl rehash is not available")
        r = ok(http_get([f.server.url("/ok")], clean_env(AWS_SSL_CA_DIRECTORY=d)))
        assert r.stdout == "hello"
        # The directory replaces the system store: an empty one trusts nothing.
        empty = f.env.path("empty")
        os.makedirs(empty)
        failed(http_get([f.server.url("/ok")], clean_env(AWS_SSL_CA_DIRECTORY=empty)), "HTTP")


def test_R052_refused_without_the_ca():
    with Fixture() as f:
        r = failed(http_get([f.server.url("/ok")], clean_env()), "HTTP")
        assert "TLS failure" in r.stderr, r.stderr
        assert "certificate" in r.stderr.lower(), r.stderr
        assert f.server.requests == []


def test_R052_refused_with_another_ca():
    with Fixture() as f:
        other = tls_server.make_ca(f.env.dir, "other CA")
        r = failed(http_get([f.server.url("/ok")], clean_env(AWS_CA_BUNDLE=other.pem)), "HTTP")
        assert "TLS failure" in r.stderr, r.stderr
        assert f.server.requests == []


def test_R052_host_name_verified():
    # The certificate names only "localhost": reaching it as 127.0.0.1 must fail.
    with Fixture(hosts=("localhost",)) as f:
        r = failed(http_get([f.server.url("/ok")], clean_env(AWS_CA_BUNDLE=f.ca.pem)), "HTTP")
        assert "TLS failure" in r.stderr, r.stderr
        url = "https://localhost:%d/ok" % f.server.port
        r = ok(http_get([url], clean_env(AWS_CA_BUNDLE=f.ca.pem)))
        assert r.stdout == "hello"


def test_R055_read_timeout_fires():
    with Fixture() as f:
        r = failed(http_get(["--read-timeout-ms", "1000", f.server.url("/stall")],
                            clean_env(AWS_CA_BUNDLE=f.ca.pem)), "Timeout")
        assert "read timeout" in r.stderr, r.stderr


def test_cancel_on_sigterm():
    with Fixture() as f:
        p = f.env.spawn([HTTP_GET, "--read-timeout-ms", "600000", f.server.url("/stall")],
                        env=clean_env(AWS_CA_BUNDLE=f.ca.pem), stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
        assert f.server.stalled.wait(20), "server never saw the request"
        p.send_signal(signal.SIGTERM)
        # Without the cancel hook it would wait for the 10-minute read timeout.
        out, err = p.communicate(timeout=30)
        assert p.returncode == 1, err
        assert "error Cancelled:" in err, err


def test_response_cap_memory_and_streamed():
    with Fixture() as f:
        env = clean_env(AWS_CA_BUNDLE=f.ca.pem)
        r = failed(http_get(["--max", "1000", f.server.url("/big")], env), "Limit")
        assert "limit of 1000 bytes" in r.stderr
        out = f.env.path("big.bin")
        failed(http_get(["--max", "150000", "-o", out, f.server.url("/big")], env), "Limit")
        r = ok(http_get(["--max", "300000", "-o", out, f.server.url("/big")], env))
        assert "streamed=200000" in r.stderr and "bytes=0 " in r.stderr, r.stderr
        assert os.path.getsize(out) == 200000
        m = re.search(r"progress_calls=(\d+)", r.stderr)
        assert m and int(m.group(1)) >= 1, r.stderr


def test_error_body_kept_in_memory_when_streaming():
    with Fixture() as f:
        out = f.env.path("err.bin")
        r = ok(http_get(["-o", out, f.server.url("/err")], clean_env(AWS_CA_BUNDLE=f.ca.pem)))
        assert "status=403" in r.stderr
        assert "AccessDeniedException" in r.stdout
        assert os.path.getsize(out) == 0


def test_R055_keep_alive_over_tls():
    with Fixture() as f:
        ok(http_get(["--count", "3", f.server.url("/ok")], clean_env(AWS_CA_BUNDLE=f.ca.pem)))
        ports = {q["client_port"] for q in f.server.requests}
        assert len(f.server.requests) == 3 and len(ports) == 1, f.server.requests


def test_R054_proxy_uri_with_basic_auth_and_no_proxy():
    with Fixture() as f:
        proxy = tls_server.ConnectProxy()
        try:
            env = clean_env(AWS_CA_BUNDLE=f.ca.pem)
            purl = "http://user:p%%40ss@127.0.0.1:%d" % proxy.port
            r = ok(http_get(["--proxy", purl, f.server.url("/ok")], env))
            assert r.stdout == "hello"
            assert proxy.connects == [("CONNECT", "127.0.0.1:%d" % f.server.port,
                                       tls_server.basic("user", "p@ss"))], proxy.connects
            # A no_proxy request (IMDS) never uses it.
            ok(http_get(["--proxy", purl, "--no-proxy", f.server.url("/ok")], env))
            assert len(proxy.connects) == 1
            # Environment proxies are not applied to loopback targets.
            envp = clean_env(AWS_CA_BUNDLE=f.ca.pem, HTTPS_PROXY="http://127.0.0.1:%d" % proxy.port)
            ok(http_get([f.server.url("/ok")], envp))
            assert len(proxy.connects) == 1
        finally:
            proxy.stop()


def sign_env(f, token=True):
    env = clean_env(AWS_CA_BUNDLE=f.ca.pem, AWS_ACCESS_KEY_ID=AKID if token else AKID_NO_TOKEN,
                    AWS_SECRET_ACCESS_KEY=SECRET)
    if token:
        env["AWS_SESSION_TOKEN"] = TOKEN
    return env


def test_R050_commands_post_verified_by_botocore():
    with Fixture() as f:
        body = '{"HostIdentifier":"arn:aws:ec2:us-west-2:123456789012:instance/i-0abc"}'
        r = http_get(["-X", "POST", "-d", body,
                      "-H", "Content-Type: application/x-amz-json-1.1",
                      "-H", "X-Amz-Target: CodeDeployCommandService_v20141006.PollHostCommand",
                      "-H", "x-amz-codedeploy-agent-version: cdagent-0.1.0",
                      "--sign", "us-west-2/codedeploy-commands", f.server.url("/sigv4")],
                     sign_env(f))
        q = f.server.requests[-1]
        assert q["sigv4_error"] is None, q["sigv4_error"]
        ok(r)
        assert '"verified": true' in r.stdout
        hdrs = {k.lower(): v for k, v in q["headers"]}
        signed = re.search(r"SignedHeaders=([^,]+)", hdrs["authorization"]).group(1).split(";")
        for h in ("host", "x-amz-date", "content-type", "x-amz-target", "x-amz-security-token"):
            assert h in signed, signed
        assert "user-agent" not in signed
        assert q["body"] == body.encode()


def test_R050_tampered_request_is_rejected_by_botocore():
    # The cross-check can fail: a wrong secret gives a signature botocore rejects.
    with Fixture() as f:
        env = sign_env(f)
        env["AWS_SECRET_ACCESS_KEY"] = "wrong"
        r = http_get(["-X", "POST", "-d", "{}", "--sign", "us-west-2/codedeploy-commands",
                      f.server.url("/sigv4")], env)
        ok(r)
        assert "status=403" in r.stderr
        assert "signature mismatch" in f.server.requests[-1]["sigv4_error"]


def test_R109_s3_get_verified_by_botocore():
    with Fixture() as f:
        key = "/sigv4/bucket/dir/a%20b%2Bc%3D%C3%BC.tar?versionId=3%2FL4kq%2BZ&x=1"
        r = http_get(["--s3", "--sign", "eu-central-1/s3", "-H", "Range: bytes=0-",
                      f.server.url(key)], sign_env(f, token=False))
        q = f.server.requests[-1]
        assert q["sigv4_error"] is None, q["sigv4_error"]
        ok(r)
        hdrs = {k.lower(): v for k, v in q["headers"]}
        assert hdrs["x-amz-content-sha256"] == \
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        assert "x-amz-security-token" not in hdrs


def test_R051_clock_offset_moves_x_amz_date():
    with Fixture() as f:
        ok(http_get(["--sign", "us-west-2/codedeploy-commands", "--clock-offset", "7200",
                     f.server.url("/sigv4")], sign_env(f)))
        q = f.server.requests[-1]
        assert q["sigv4_error"] is None, q["sigv4_error"]
        amz = {k.lower(): v for k, v in q["headers"]}["x-amz-date"]
        t = time.mktime(time.strptime(amz, "%Y%m%dT%H%M%SZ")) - time.mktime(time.gmtime())
        assert 7000 < t < 7400, (amz, t)
