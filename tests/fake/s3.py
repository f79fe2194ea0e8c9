"""A real S3-compatible server for end-to-end tests: s3rver (npm, pinned in package-lock.json)
behind a small verifying front end, both on 127.0.0.1.

s3rver 3.7.1 stores objects and answers the S3 REST API, but it does not check SigV4 signatures
(its authentication middleware accepts any well-formed V4 header), has no object versions and
ignores If-Match.  The front end, written here with the standard library and botocore, adds:
  - SigV4 verification with botocore's own signer (a second, independent implementation): the
    canonical request is rebuilt from what arrived on the wire; a wrong signature gets
    403 SignatureDoesNotMatch, an unknown key 403 InvalidAccessKeyId, a wrong session token
    403 InvalidToken, an expired one 400 ExpiredToken, unsigned x-amz-* headers 403 AccessDenied,
    a missing x-amz-content-sha256 400 InvalidRequest, a skewed date 403 RequestTimeTooSkewed,
    no Authorization 403 AccessDenied;
  - a bucket in another region (set_bucket_region) and a skewed server clock (skew_s);
  - object versions (put_object(..., versioned=True) returns a version id; GET ?versionId=...),
    404 NoSuchVersion for unknown ids, x-amz-version-id on responses;
  - If-Match (412 PreconditionFailed), ETag overrides (to present a multipart "<hex>-<n>" ETag),
    deny(bucket[, key]) -> 403 AccessDenied;
  - faults: cut_after(nbytes) closes the connection after that many body bytes;
    kill_after(nbytes) also kills the whole server (s3rver and the front end), which the test
    brings back with restart() on the same port and data;
  - additional checksums (set_checksum): x-amz-checksum-<alg> and x-amz-checksum-type on a GET
    that sends x-amz-checksum-mode: ENABLED and no Range, as S3 does;
  - misbehaviour on purpose, as a broken server or caching proxy would (misbehave): on the next
    object GET with Range, 'ignore_range' answers 200 with the whole object, 'other_object'
    answers from another object (its bytes and ETag) and ignores If-Match; 'corrupt' flips one
    byte of the next object GET's body;
  - multipart objects (set_multipart): the ETag becomes MD5(part MD5s)-N for the given part
    size, GET/HEAD ?partNumber=i answers that part (206, Content-Range, x-amz-mp-parts-count);
  - slow bodies: trickle(bytes_per_s) for the next object GET; conn_rate (bytes/s) limits every
    response body, each connection on its own (bench); misbehave('xml_200') answers the next
    object GET with 200 and an S3 <Error> document as its body;
  - cut_after(..., only_ranged=True) cuts only a GET with Range or partNumber (a part);
  - a record of every request (method, path, query, headers) in .requests; PutObject (the
    agent's hook-log upload) is verified like every request, payload hash included, and
    get_object()/puts() read back what was uploaded.

Use from tests:
    with S3Server() as s3:
        s3.create_bucket("b")
        v1 = s3.put_object("b", "k", b"data", versioned=True)
        ... run the agent with :s3_endpoint_override: s3.url and the keys of s3.access_key ...

Run standalone:  python3 s3.py [--port N]   (prints the URL and the test credentials)
"""
import argparse
import datetime
import hashlib
import http.client
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
S3RVER = os.path.join(HERE, "node_modules", "s3rver", "bin", "s3rver.js")

DEFAULT_AKID = "AKIDCDAGENTTEST00001"
DEFAULT_SECRET = "cdagent/test/secret+key/0123456789abcdefg"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def available():
    """Why the server cannot run here, or None when it can."""
    if not shutil.which("node"):
        return "node is not installed (scripts/deps.sh installs nodejs)"
    if not os.path.exists(S3RVER):
        return "s3rver is not installed (run 'npm ci' in tests/fake; scripts/deps.sh does)"
    try:
        import botocore.auth  # noqa: F401
    except ImportError:
        return "python3-botocore is not installed"
    return None


def checksum_b64(alg, data):
    """An S3 additional checksum of data as S3 writes it (sha256, sha1 or crc32)."""
    import base64
    import zlib
    if alg == "crc32":
        raw = zlib.crc32(data).to_bytes(4, "big")
    else:
        raw = hashlib.new(alg, data).digest()
    return base64.b64encode(raw).decode()


def error_xml(code, message, resource=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<Resource>%s</Resource><RequestId>%s</RequestId></Error>'
            % (code, message, resource, secrets.token_hex(8).upper())).encode()


class S3Error(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__("%d %s: %s" % (status, code, message))
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


class S3Server:
    def __init__(self, region="us-east-1"):
        why = available()
        if why:
            raise RuntimeError(why)
        self.region = region
        self._lock = threading.Lock()
        self.dir = tempfile.mkdtemp(prefix="cdagent-s3-")
        self.keys = {}            # akid -> {"secret": s, "token": t or None, "expired": bool}
        self.add_key(DEFAULT_AKID, DEFAULT_SECRET)
        self.access_key, self.secret_key = DEFAULT_AKID, DEFAULT_SECRET
        self.versions = {}        # (bucket, key) -> {version_id: backend key}
        self.latest_version = {}  # (bucket, key) -> version_id
        self.etag_override = {}   # (bucket, key) -> etag header value
        self.denied = set()       # bucket or (bucket, key)
        self.bucket_regions = {}  # bucket -> region (default self.region); see set_bucket_region
        self.skew_s = 0           # the server's clock runs this many seconds ahead
        self.requests = []
        self.check_signatures = True
        self._faults = []         # [{"after": n, "kill": bool, "times": k}]
        self.checksums = {}       # (bucket, key) -> (alg, value, type)
        self._tricks = []         # [{"mode": m, "other": (bucket, key) or None}]
        self.multipart = {}       # (bucket, key) -> part size
        self._trickles = []       # [bytes per second], one per next object GET
        self.conn_rate = None     # bytes/s for every response body (None: unlimited)
        self.port = _free_port()
        self.backend_port = None
        self._node = None
        self._server = None
        self._thread = None
        self._node_log = open(os.path.join(self.dir, "s3rver.log"), "wb")

    # ---- lifecycle ----
    def start(self):
        try:
            self._start_backend()
            self._start_front()
        except Exception:
            self.stop()
            raise
        return self

    def _start_backend(self):
        self.backend_port = self.backend_port or _free_port()
        data = os.path.join(self.dir, "data")
        os.makedirs(data, exist_ok=True)
        self._node = subprocess.Popen(
            ["node", S3RVER, "-d", data, "-a", "127.0.0.1", "-p", str(self.backend_port),
             "--silent", "--no-vhost-buckets"],
            stdout=self._node_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if not _wait_port(self.backend_port):
            self._node.kill()
            raise RuntimeError("s3rver did not start on 127.0.0.1:%d (log: %s)"
                               % (self.backend_port, self._node_log.name))

    def _start_front(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one segment per answer on keep-alive connections

            def log_message(self, fmt, *args):
                pass

            def date_time_string(self, timestamp=None):
                return super().date_time_string(time.time() + fake.skew_s)

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (ConnectionError, OSError):
                    self.close_connection = True

            def do_GET(self):
                fake._handle(self)

            do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def kill(self):
        """Stop everything at once, as a crashed server would (data and settings are kept)."""
        if self._server:
            srv, self._server = self._server, None
            threading.Thread(target=lambda: (srv.shutdown(), srv.server_close()),
                             daemon=True).start()
            # Close the listening socket right away so new connections are refused.
            try:
                srv.socket.close()
            except OSError:
                pass
        if self._node and self._node.poll() is None:
            self._node.kill()
            self._node.wait()

    def restart(self):
        self.kill()
        self._start_backend()
        deadline = time.monotonic() + 10
        while True:
            try:
                self._start_front()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self):
        self.kill()
        self._node_log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    # ---- test helpers (talk to s3rver directly, unsigned) ----
    def _backend(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.backend_port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            if r.status >= 300:
                raise RuntimeError("s3rver %s %s: %d %s" % (method, path, r.status, data[:200]))
            return r, data
        finally:
            conn.close()

    def add_key(self, akid, secret, token=None):
        with self._lock:
            self.keys[akid] = {"secret": secret, "token": token, "expired": False}

    def expire_key(self, akid):
        with self._lock:
            self.keys[akid]["expired"] = True

    def create_bucket(self, bucket):
        self._backend("PUT", "/" + bucket)

    def put_object(self, bucket, key, data, versioned=False):
        """Store data; returns the new version id when versioned (else None)."""
        if isinstance(data, str):
            data = data.encode()
        qkey = urllib.parse.quote(key, safe="/~")
        self._backend("PUT", "/%s/%s" % (bucket, qkey), body=data,
                      headers={"Content-Type": "application/octet-stream"})
        if not versioned:
            with self._lock:
                self.latest_version.pop((bucket, key), None)
            return None
        vid = secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")
        hidden = ".versions/%s/%s" % (vid, key)
        self._backend("PUT", "/%s/%s" % (bucket, urllib.parse.quote(hidden, safe="/~")), body=data,
                      headers={"Content-Type": "application/octet-stream"})
        with self._lock:
            self.versions.setdefault((bucket, key), {})[vid] = hidden
            self.latest_version[(bucket, key)] = vid
        return vid

    def get_object(self, bucket, key):
        """The stored bytes of an object (e.g. one the agent uploaded), or None when absent."""
        try:
            _, data = self._backend("GET", "/%s/%s" % (bucket, urllib.parse.quote(key, safe="/~")))
        except RuntimeError:
            return None
        return data

    def puts(self, bucket=None):
        """Recorded PUT requests of objects (PutObject), with the status the front end gave."""
        with self._lock:
            out = [r for r in self.requests if r["method"] == "PUT" and r["key"]]
        return [r for r in out if bucket is None or r["bucket"] == bucket]

    def put_file(self, bucket, key, path, versioned=False):
        with open(path, "rb") as f:
            return self.put_object(bucket, key, f.read(), versioned)

    def etag(self, bucket, key):
        r, _ = self._backend("HEAD", "/%s/%s" % (bucket, urllib.parse.quote(key, safe="/~")))
        return r.getheader("ETag").strip('"')

    def set_etag(self, bucket, key, etag):
        """Present this ETag (quotes added) for the object, e.g. a multipart '<hex>-3'."""
        with self._lock:
            self.etag_override[(bucket, key)] = '"%s"' % etag.strip('"')

    def set_bucket_region(self, bucket, region):
        """Requests for bucket must be signed for region; others get 400
        AuthorizationHeaderMalformed with x-amz-bucket-region (R-113)."""
        with self._lock:
            self.bucket_regions[bucket] = region

    def deny(self, bucket, key=None):
        with self._lock:
            self.denied.add(bucket if key is None else (bucket, key))

    def cut_after(self, nbytes, times=1, only_ranged=False):
        """The next `times` object GETs (with only_ranged, GETs of a Range or a part) close the
        connection after nbytes of body."""
        with self._lock:
            self._faults.append({"after": nbytes, "kill": False, "times": times,
                                 "only_ranged": only_ranged})

    def set_multipart(self, bucket, key, part_size):
        """Present the object as a multipart upload of part_size parts (the last may be
        shorter): its ETag becomes MD5(concatenated part MD5s)-N and ?partNumber=i works."""
        _, data = self._backend("GET", "/%s/%s" % (bucket, urllib.parse.quote(key, safe="/~")))
        parts = [data[i:i + part_size] for i in range(0, len(data), part_size)] or [b""]
        digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
        with self._lock:
            self.multipart[(bucket, key)] = (part_size, len(data))
            self.etag_override[(bucket, key)] = '"%s-%d"' % (digest, len(parts))
        return "%s-%d" % (digest, len(parts))

    def trickle(self, bytes_per_s):
        """The next object GET sends its body at bytes_per_s."""
        with self._lock:
            self._trickles.append(bytes_per_s)

    def kill_after(self, nbytes, on_kill=None):
        """The next object GET sends nbytes of body, then the whole server dies (see restart())."""
        with self._lock:
            self._faults.append({"after": nbytes, "kill": True, "times": 1, "on_kill": on_kill})

    def set_checksum(self, bucket, key, alg, value, kind="FULL_OBJECT"):
        """Report x-amz-checksum-<alg>: value (base64; see checksum_b64) for the object."""
        with self._lock:
            self.checksums[(bucket, key)] = (alg.lower(), value, kind)

    def misbehave(self, mode, other=None, at=0):
        """mode 'ignore_range' or 'other_object' (other=(bucket, key)) for the next ranged object
        GET; 'corrupt' (flip the body byte at offset `at`) or 'xml_200' for the next object GET;
        'corrupt_part' flips a byte of the next GET of a Range or a part."""
        assert mode in ("ignore_range", "other_object", "corrupt", "xml_200", "corrupt_part")
        with self._lock:
            self._tricks.append({"mode": mode, "other": other, "at": at})

    def _take_trick(self, method, key, ranged):
        with self._lock:
            for t in self._tricks:
                if method == "GET" and key and (ranged or t["mode"] in ("corrupt", "xml_200")):
                    self._tricks.remove(t)
                    return t
        return None

    def clear_requests(self):
        with self._lock:
            self.requests = []

    def gets(self, bucket=None, key=None):
        """Recorded GET requests of objects (optionally of one bucket/key)."""
        with self._lock:
            out = [r for r in self.requests if r["method"] == "GET" and r["key"]]
        if bucket is not None:
            out = [r for r in out if r["bucket"] == bucket]
        if key is not None:
            out = [r for r in out if r["key"] == key]
        return out

    # ---- signature verification ----
    def _verify(self, h, method, raw_path, query_pairs, body, bucket):
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials

        hdr = {k.lower(): v for k, v in h.headers.items()}
        auth = hdr.get("authorization")
        if not auth:
            raise S3Error(403, "AccessDenied", "Access Denied")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            raise S3Error(400, "InvalidArgument", "Unsupported Authorization Type")
        parts = {}
        for item in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = item.strip().partition("=")
            parts[k] = v
        for need in ("Credential", "SignedHeaders", "Signature"):
            if need not in parts:
                raise S3Error(400, "AuthorizationHeaderMalformed",
                              "The authorization header is malformed; missing %s." % need)
        cred = parts["Credential"].split("/")
        if len(cred) != 5 or cred[4] != "aws4_request" or cred[3] != "s3":
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          "The authorization header is malformed; the Credential is mal-formed")
        akid, day, region = cred[0], cred[1], cred[2]
        with self._lock:
            key = dict(self.keys.get(akid) or {})
        if not key:
            raise S3Error(403, "InvalidAccessKeyId",
                          "The AWS Access Key Id you provided does not exist in our records.")
        with self._lock:
            want_region = self.bucket_regions.get(bucket, self.region)
        if region != want_region:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          "The authorization header is malformed; the region '%s' is wrong; "
                          "expecting '%s'" % (region, want_region),
                          {"x-amz-bucket-region": want_region})
        signed = parts["SignedHeaders"].split(";")
        for need in ("host", "x-amz-date"):
            if need not in signed:
                raise S3Error(403, "AccessDenied", "SignedHeaders must include %s" % need)
        for name in hdr:
            if name.startswith("x-amz-") and name not in signed:
                raise S3Error(403, "AccessDenied",
                              "There were headers present in the request which were not signed")
        amz_date = hdr.get("x-amz-date", "")
        try:
            t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            raise S3Error(403, "AccessDenied", "AWS authentication requires a valid Date or "
                          "x-amz-date header")
        if day != amz_date[:8]:
            raise S3Error(403, "SignatureDoesNotMatch", "credential date does not match x-amz-date")
        server_now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=self.skew_s)
        skew = abs((server_now - t).total_seconds())
        if skew > 900:
            raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request time "
                          "and the current time is too large.")
        sha = hdr.get("x-amz-content-sha256")
        if sha is None:
            raise S3Error(400, "InvalidRequest",
                          "Missing required header for this request: x-amz-content-sha256")
        if sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(body).hexdigest():
            raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' "
                          "header does not match what was computed.")
        # Rebuild the request as S3 sees it: the path decoded once and encoded again, the query
        # decoded and re-encoded (botocore sorts and encodes params), only the signed headers.
        path = urllib.parse.quote(urllib.parse.unquote(raw_path), safe="/~")
        headers = botocore.awsrequest.HTTPHeaders()
        for name in signed:
            values = h.headers.get_all(name) or []
            if not values:
                raise S3Error(403, "AccessDenied", "signed header '%s' is missing" % name)
            for v in values:
                headers[name] = v
        req = botocore.awsrequest.AWSRequest(method=method, url="http://%s%s" % (hdr["host"], path),
                                             headers=headers, params=query_pairs)
        req.context["timestamp"] = amz_date
        signer = botocore.auth.S3SigV4Auth(
            botocore.credentials.Credentials(akid, key["secret"]), "s3", region)
        canonical = signer.canonical_request(req)
        sts = signer.string_to_sign(req, canonical)
        want = signer.signature(sts, req)
        if want != parts["Signature"]:
            raise S3Error(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you "
                          "provided. Check your key and signing method.")
        if key["token"] is not None and hdr.get("x-amz-security-token") != key["token"]:
            raise S3Error(403, "InvalidToken",
                          "The provided token is malformed or otherwise invalid.")
        if key["expired"]:
            raise S3Error(400, "ExpiredToken", "The provided token has expired.")

    # ---- request handling ----
    def _send_error(self, h, e, resource):
        body = error_xml(e.code, e.message, resource) if h.command != "HEAD" else b""
        try:
            h.send_response(e.status)
            h.send_header("Content-Type", "application/xml")
            h.send_header("Content-Length", str(len(body)))
            h.send_header("x-amz-request-id", secrets.token_hex(8).upper())
            for k, v in e.headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass

    def _handle(self, h):
        method = h.command
        raw_path, _, raw_query = h.path.partition("?")
        query_pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True)
        query = dict(query_pairs)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        segs = urllib.parse.unquote(raw_path).lstrip("/").split("/", 1)
        bucket = segs[0]
        key = segs[1] if len(segs) > 1 else ""
        rec = {"method": method, "path": raw_path, "query": query, "bucket": bucket, "key": key,
               "headers": {k.lower(): v for k, v in h.headers.items()}}
        with self._lock:
            self.requests.append(rec)
        resource = "/%s/%s" % (bucket, key) if key else "/" + bucket
        try:
            if self.check_signatures:
                self._verify(h, method, raw_path, query_pairs, body, bucket)
            with self._lock:
                denied = bucket in self.denied or (bucket, key) in self.denied
            if denied:
                raise S3Error(403, "AccessDenied", "Access Denied")
            self._forward(h, method, bucket, key, query, body, rec)
        except S3Error as e:
            rec["status"] = e.status
            self._send_error(h, e, resource)

    def _part_range(self, bucket, key, query, fwd_headers):
        """?partNumber=i of a multipart object: the Range it stands for, and the part count."""
        with self._lock:
            mp = self.multipart.get((bucket, key))
        if "partNumber" not in query or not mp:
            return None
        size, total = mp
        count = max(1, (total + size - 1) // size)
        n = int(query["partNumber"])
        if n < 1 or n > count:
            raise S3Error(416, "InvalidPartNumber", "The requested partnumber is not satisfiable")
        start = (n - 1) * size
        end = min(total, start + size) - 1
        fwd_headers["range"] = "bytes=%d-%d" % (start, end)
        return start, end, total, count

    def _send_xml_200(self, h, resource):
        body = error_xml("InternalError", "We encountered an internal error. Please try again.",
                         resource)
        h.send_response(200)
        h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _pace(self, started, sent, rate):
        """Sleep until sent bytes are due at rate bytes/s since started."""
        due = started + sent / float(rate)
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)

    def _forward(self, h, method, bucket, key, query, body, rec):
        ranged = h.headers.get("Range") is not None or "partNumber" in query
        trick = self._take_trick(method, key, ranged)
        mode = trick["mode"] if trick else None
        if mode:
            rec["trick"] = mode
        flip_at = trick.get("at", 0) if mode in ("corrupt", "corrupt_part") else None
        if mode == "xml_200":
            self._send_xml_200(h, "/%s/%s" % (bucket, key))
            return
        if mode == "other_object":
            bucket, key = trick["other"]
        backend_key = key
        version = None
        with self._lock:
            checksum = self.checksums.get((bucket, key))
            vers = self.versions.get((bucket, key), {})
            latest = self.latest_version.get((bucket, key))
            etag_over = self.etag_override.get((bucket, key))
        if "versionId" in query and key:
            version = query["versionId"]
            if version == "null" and not vers:
                version = None
            elif version not in vers:
                if not all(c.isalnum() or c in "._" for c in version) or not version:
                    raise S3Error(400, "InvalidArgument", "Invalid version id specified")
                raise S3Error(404, "NoSuchVersion",
                              "The specified version does not exist.")
            else:
                backend_key = vers[version]
        elif key:
            version = latest
        fwd_query = {k: v for k, v in query.items() if k not in ("versionId", "partNumber")}
        path = "/" + bucket
        if key:
            path += "/" + urllib.parse.quote(backend_key, safe="/~")
        if fwd_query:
            path += "?" + urllib.parse.urlencode(fwd_query)
        fwd_headers = {}
        for name in ("range", "content-type", "content-md5", "if-none-match",
                     "if-modified-since"):
            v = h.headers.get(name)
            if v is not None:
                fwd_headers[name] = v
        if mode == "ignore_range":
            fwd_headers.pop("range", None)
        part = self._part_range(bucket, key, query, fwd_headers) if key else None
        if part and method == "HEAD":
            method = "GET"  # s3rver's HEAD ignores Range: read the part, send only headers
            rec["head"] = True
        conn = http.client.HTTPConnection("127.0.0.1", self.backend_port, timeout=60)
        try:
            try:
                conn.request(method, path, body=body or None, headers=fwd_headers)
                r = conn.getresponse()
            except OSError as e:
                raise S3Error(503, "ServiceUnavailable", "backend: %s" % e)
            etag = etag_over or r.getheader("ETag")
            if_match = h.headers.get("If-Match") if mode != "other_object" else None
            if (if_match is not None and r.status in (200, 206) and etag
                    and if_match.strip() != "*"
                    and if_match.strip().strip('"') != etag.strip('"')):
                r.read()
                raise S3Error(412, "PreconditionFailed",
                              "At least one of the pre-conditions you specified did not hold")
            rec["status"] = r.status
            head_only = rec.get("head") or method == "HEAD"
            h.send_response(r.status)
            hop = {"connection", "keep-alive", "transfer-encoding", "etag", "date", "server"}
            for name, value in r.getheaders():
                if name.lower() not in hop and not name.lower().startswith("x-amz-error-detail"):
                    h.send_header(name, value)
            if etag:
                h.send_header("ETag", etag)
            if version and r.status < 300:
                h.send_header("x-amz-version-id", version)
            if part and r.status == 206:
                h.send_header("x-amz-mp-parts-count", str(part[3]))
            if (checksum and r.status == 200 and h.headers.get("Range") is None
                    and (h.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED"):
                h.send_header("x-amz-checksum-" + checksum[0], checksum[1])
                h.send_header("x-amz-checksum-type", checksum[2])
            h.end_headers()
            if head_only:
                return
            fault = None
            rate = None
            if method == "GET" and key and r.status in (200, 206):
                with self._lock:
                    if self._faults and (ranged or not self._faults[0].get("only_ranged")):
                        fault = self._faults[0]
                        fault["times"] -= 1
                        if fault["times"] <= 0:
                            self._faults.pop(0)
                    if self._trickles:
                        rate = self._trickles.pop(0)
                        rec["trickle"] = rate
                    elif self.conn_rate:
                        rate = self.conn_rate
            started = time.monotonic()
            sent = 0
            while True:
                want = 65536 if rate is None else max(1, min(65536, rate // 20))
                if fault is not None:
                    want = min(want, fault["after"] - sent)
                    if want <= 0:
                        break
                chunk = r.read(want)
                if not chunk:
                    break
                if flip_at is not None and sent <= flip_at < sent + len(chunk):
                    i = flip_at - sent
                    chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1:]
                h.wfile.write(chunk)
                sent += len(chunk)
                if rate is not None:
                    h.wfile.flush()
                    self._pace(started, sent, rate)
            if fault is not None:
                rec["cut_at"] = sent
                h.wfile.flush()
                h.close_connection = True
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                if fault["kill"]:
                    self.kill()
                    cb = fault.get("on_kill")
                    if cb:
                        cb()
        finally:
            conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--region", default="us-east-1")
    args = ap.parse_args()
    s3 = S3Server(region=args.region).start()
    print("url=%s access_key=%s secret_key=%s region=%s" % (s3.url, s3.access_key, s3.secret_key,
                                                           s3.region), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        s3.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
