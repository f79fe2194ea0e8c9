"""GitHub tarball/zipball download end to end: build/tools/fetch_bundle (agent/bundle.c) against a
fake GitHub API and a fake codeload host on 127.0.0.1 (spec R-116, R-117, R-120, V-059; issue 6)."""
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness

TOOL = os.path.join(harness.BUILD, "tools", "fetch_bundle")
TOKEN = "ghp_cdagentTestToken0123456789abcdef"


class Host:
    """A tiny HTTP server: handler(h) -> (status, headers, body); records requests."""

    def __init__(self, handler):
        self.requests = []
        host = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                host.requests.append({"path": self.path,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}})
                status, headers, body = handler(self)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def run(env, api, *extra):
    if not os.access(TOOL, os.X_OK):
        raise harness.Skip("build/tools/fetch_bundle not built")
    dest = env.path("bundle.tar")
    p = subprocess.run([TOOL, "github", "--api", api, "--account", "octo", "--repo", "app",
                        "--commit", "0123abcd", "--dest", dest, "--fast-sleep"] + list(extra),
                       capture_output=True, text=True, timeout=60)
    if "http: not implemented yet" in p.stdout:
        raise harness.Skip("agent/http.c is not implemented yet")
    return p, dest


def test_tarball_redirect_token_only_to_api_R116_R120():
    payload = os.urandom(200000)
    codeload = Host(lambda h: (200, {"Content-Type": "application/x-gzip"}, payload))
    api = Host(lambda h: (302, {"Location": codeload.url + "/octo/app/legacy.tar.gz/0123abcd"},
                          b""))
    try:
        with harness.Env("gh") as env:
            p, dest = run(env, api.url, "--token", TOKEN)
            assert p.returncode == 0, p.stdout + p.stderr
            with open(dest, "rb") as f:
                assert f.read() == payload
            assert api.requests[0]["path"] == "/repos/octo/app/tarball/0123abcd"
            assert api.requests[0]["headers"]["authorization"] == "token " + TOKEN
            assert len(codeload.requests) == 1
            assert "authorization" not in codeload.requests[0]["headers"]
            assert TOKEN not in p.stdout + p.stderr
    finally:
        api.close()
        codeload.close()


def test_zipball_for_zip_and_tgz_rejected_R116():
    api = Host(lambda h: (200, {}, b"PK\x03\x04zip"))
    try:
        with harness.Env("gh") as env:
            p, dest = run(env, api.url, "--type", "zip")
            assert p.returncode == 0, p.stdout
            assert api.requests[-1]["path"] == "/repos/octo/app/zipball/0123abcd"
            assert "authorization" not in api.requests[-1]["headers"]
            p, dest = run(env, api.url, "--type", "tgz")
            assert p.returncode == 1
            assert p.stdout.strip() == ("error Unsupported GitHub revision specified with "
                                        "bundle_type other than zip or tar [bundle_type=tgz]")
    finally:
        api.close()


def test_http_errors_retried_10_30_90_then_all_codes_listed_R117():
    api = Host(lambda h: (404, {"Content-Type": "application/json"}, b'{"message":"Not Found"}'))
    try:
        with harness.Env("gh") as env:
            p, dest = run(env, api.url, "--token", TOKEN)
            assert p.returncode == 1
            slept = [int(x.split()[1]) for x in p.stdout.splitlines() if x.startswith("slept")]
            assert slept == [10000, 30000, 90000]
            assert len(api.requests) == 4
            url = api.url + "/repos/octo/app/tarball/0123abcd"
            assert ("Could not download bundle at '%s' after 3 retries. Server returned codes: "
                    "404 'Not Found'; 404 'Not Found'; 404 'Not Found'; 404 'Not Found'" % url) \
                in p.stdout, p.stdout
            assert TOKEN not in p.stdout + p.stderr
            assert not os.path.exists(dest) and not os.path.exists(dest + ".part")
    finally:
        api.close()


def test_recovers_after_a_server_error_R117():
    calls = []

    def handler(h):
        calls.append(1)
        return (503, {}, b"busy") if len(calls) < 3 else (200, {}, b"tarball")
    api = Host(handler)
    try:
        with harness.Env("gh") as env:
            p, dest = run(env, api.url)
            assert p.returncode == 0, p.stdout
            with open(dest, "rb") as f:
                assert f.read() == b"tarball"
            assert "attempts=3" in p.stdout
    finally:
        api.close()
