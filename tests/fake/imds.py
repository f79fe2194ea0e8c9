"""A small fake of the EC2 instance metadata service (IMDS) for end-to-end tests.

Standard library only; binds 127.0.0.1 on a free port.  The agent reaches it through
AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT (see FakeIMDS.env()).

Behaviour (spec §3.3, R-031..R-040):
  PUT /latest/api/token     needs X-aws-ec2-metadata-token-ttl-seconds in 1..21600 (else 400);
                            answers a fresh token valid for that many seconds.
  GET <metadata path>       with mode "optional" (the AWS default) a token is optional but an
                            invalid or expired one gets 401; with mode "required" (IMDSv2 only) a
                            missing token gets 401 too; with mode "v1" tokens are not offered:
                            the PUT answers token_status (default 403) and GETs ignore tokens.
  Knobs: expire_tokens() (every issued token becomes invalid -> 401), fail_next(path, [statuses])
  (answer the next requests for that path with these statuses), delay(path, seconds) (sleep
  before answering: timeouts), hang_token (never answer the token PUT in time).
  Every request is recorded in .requests as dicts {method, path, headers}.

Run standalone:  python3 imds.py [--port N] [--mode optional|required|v1]
"""
import argparse
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_HEADER = "X-aws-ec2-metadata-token"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"


def iso8601(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class FakeIMDS:
    def __init__(self, mode="optional", region="us-west-2", account="123456789012",
                 instance_id="i-0123456789abcdef0", partition="aws", domain="amazonaws.com",
                 role="cdagent-test-role"):
        self.mode = mode
        self.region = region
        self.account = account
        self.instance_id = instance_id
        self.partition = partition
        self.domain = domain
        self.role = role
        self.token_status = 403     # status of the token PUT in mode "v1"
        self.hang_token = 0.0       # seconds to stall the token PUT (0: no stall)
        self.cred_lifetime = 6 * 3600
        self.access_key = "ASIAFAKEIMDS00000001"
        self.secret_key = "imds-secret-" + secrets.token_hex(8)
        self.session_token = "imds-session-" + secrets.token_hex(16)
        self.cred_serial = 0        # bumped on each role-document GET; keys change with it
        self.extra = {}             # path -> body overrides (None: 404)
        self.requests = []
        self._tokens = {}           # token -> expiry (monotonic)
        self._fail = {}             # path -> [status, ...]
        self._delay = {}            # path -> seconds
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self.port = None

    # ---- control ----
    def start(self, port=0):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one segment per answer on keep-alive connections

            def log_message(self, fmt, *args):
                pass

            def do_PUT(self):
                fake._handle(self, "PUT")

            def do_GET(self):
                fake._handle(self, "GET")

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def env(self):
        return {"AWS_EC2_METADATA_SERVICE_ENDPOINT": self.url}

    def expire_tokens(self):
        with self._lock:
            self._tokens.clear()

    def fail_next(self, path, statuses):
        with self._lock:
            self._fail.setdefault(path, []).extend(statuses)

    def delay(self, path, seconds):
        with self._lock:
            self._delay[path] = seconds

    def clear_requests(self):
        with self._lock:
            self.requests = []

    def requests_for(self, path, method="GET"):
        with self._lock:
            return [r for r in self.requests if r["path"] == path and r["method"] == method]

    def credentials(self):
        """The role credentials the last role-document GET handed out (serial included)."""
        return {"AccessKeyId": "%s%02d" % (self.access_key[:-2], self.cred_serial % 100),
                "SecretAccessKey": "%s-%d" % (self.secret_key, self.cred_serial),
                "Token": "%s-%d" % (self.session_token, self.cred_serial)}

    # ---- request handling ----
    def _routes(self):
        doc = {"accountId": self.account, "region": self.region, "instanceId": self.instance_id,
               "availabilityZone": self.region + "a", "architecture": "x86_64",
               "imageId": "ami-0123456789abcdef0", "instanceType": "t3.micro",
               "pendingTime": "2024-01-01T00:00:00Z", "privateIp": "10.0.0.1",
               "version": "2017-09-30"}
        r = {
            "/latest/meta-data": "ami-id\ninstance-id\niam/\nservices/\n",
            "/latest/meta-data/": "ami-id\ninstance-id\niam/\nservices/\n",
            "/latest/meta-data/instance-id": self.instance_id,
            "/latest/meta-data/services/partition": self.partition,
            "/latest/meta-data/services/domain": self.domain,
            "/latest/dynamic/instance-identity/document": json.dumps(doc, indent=2),
        }
        if self.role:
            r["/latest/meta-data/iam/security-credentials/"] = self.role + "\n"
            r["/latest/meta-data/iam/security-credentials"] = self.role + "\n"
        r.update(self.extra)
        return r

    def _role_doc(self):
        self.cred_serial += 1
        c = self.credentials()
        now = time.time()
        return json.dumps({"Code": "Success", "LastUpdated": iso8601(now), "Type": "AWS-HMAC",
                           "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                           "Token": c["Token"], "Expiration": iso8601(now + self.cred_lifetime)},
                          indent=2)

    def _send(self, h, status, body=b"", headers=None):
        if isinstance(body, str):
            body = body.encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(len(body)))
            h.send_header("Server", "EC2ws")
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass

    def _handle(self, h, method):
        path = h.path.split("?", 1)[0]
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        with self._lock:
            self.requests.append({"method": method, "path": path,
                                  "headers": {k.lower(): v for k, v in h.headers.items()},
                                  "time": time.monotonic()})
            fail = self._fail.get(path)
            status = fail.pop(0) if fail else None
            delay = self._delay.get(path, 0)
        if delay:
            time.sleep(delay)
        if status is not None:
            return self._send(h, status, "fault injected")
        if h.headers.get("X-Forwarded-For"):
            return self._send(h, 403, "Forbidden")   # IMDS refuses proxied requests
        if method == "PUT":
            if path != "/latest/api/token":
                return self._send(h, 405, "Method Not Allowed")
            if self.hang_token:
                time.sleep(self.hang_token)
            if self.mode == "v1":
                return self._send(h, self.token_status, "IMDSv2 disabled")
            ttl = h.headers.get(TTL_HEADER)
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self._send(h, 400, "Bad Request")
            tok = "AQAE" + secrets.token_urlsafe(32)
            with self._lock:
                self._tokens[tok] = time.monotonic() + int(ttl)
            return self._send(h, 200, tok, {TTL_HEADER: ttl})
        # GET
        tok = h.headers.get(TOKEN_HEADER)
        if self.mode != "v1":
            if tok is not None:
                with self._lock:
                    exp = self._tokens.get(tok)
                if exp is None or exp < time.monotonic():
                    return self._send(h, 401, "Unauthorized")
            elif self.mode == "required":
                return self._send(h, 401, "Unauthorized")
        if self.role and path == "/latest/meta-data/iam/security-credentials/" + self.role:
            with self._lock:
                body = self._role_doc()
            return self._send(h, 200, body)
        routes = self._routes()
        if path in routes and routes[path] is not None:
            return self._send(h, 200, routes[path])
        return self._send(h, 404, "Not Found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", default="optional", choices=["optional", "required", "v1"])
    args = ap.parse_args()
    fake = FakeIMDS(mode=args.mode).start(args.port)
    print(fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
