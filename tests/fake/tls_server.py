"""A throwaway CA, an HTTPS test server and a CONNECT proxy, all on 127.0.0.1.

make_ca(dir)                      -> CA with ca.pem / ca.key written under dir
CA.issue(dir, name, hosts)        -> (cert.pem, key.pem) for the given DNS names / IP addresses
TLSServer(cert, key)              -> HTTPS server in a background thread, scripted by path:
    /ok            200 "hello"
    /big           200 with 200000 bytes
    /stall         200 headers, 7 body bytes, then nothing (until stop())
    /err           403 with an AWS JSON error body
    /sigv4...      verify the request's SigV4 signature with botocore (an independent
                   implementation); 200 {"verified": true} or 403 with the reason
  .requests       list of dicts: method, path, headers, body, client_port
ConnectProxy()                    -> HTTP proxy supporting CONNECT only; records .connects
"""
import base64
import datetime
import hashlib
import http.server
import ipaddress
import json
import os
import select
import socket
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _write_key(path, key):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))


class CA:
    def __init__(self, directory, name="cdagent test CA"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder()
                     .subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                  False, False), True)
                     .sign(self.key, hashes.SHA256()))
        self.pem = os.path.join(directory, "%s.pem" % name.replace(" ", "-"))
        with open(self.pem, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, directory, name, hosts):
        key = ec.generate_private_key(ec.SECP256R1())
        sans = []
        for h in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                sans.append(x509.DNSName(h))
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(self.cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.SubjectAlternativeName(sans), False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                .sign(self.key, hashes.SHA256()))
        cpath = os.path.join(directory, name + ".pem")
        kpath = os.path.join(directory, name + ".key")
        with open(cpath, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(kpath, key)
        return cpath, kpath


def make_ca(directory, name="cdagent test CA"):
    return CA(directory, name)


def verify_sigv4(method, url, headers, body, secret_for):
    """Re-compute the SigV4 signature of a received request with botocore.

    headers: list of (name, value) as received; secret_for(access_key) -> (secret, token).
    Returns None when the signature verifies, else the reason.
    """
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    hmap = {}
    for n, v in headers:
        hmap.setdefault(n.lower(), []).append(v)
    auth = hmap.get("authorization", [None])[0]
    if not auth or not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no AWS4-HMAC-SHA256 Authorization header"
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    akid, date8, region, service, term = parts["Credential"].split("/")
    if term != "aws4_request":
        return "bad credential scope %r" % parts["Credential"]
    signed = parts["SignedHeaders"].split(";")
    amz_date = hmap.get("x-amz-date", [""])[0]
    if not amz_date.startswith(date8):
        return "X-Amz-Date %r does not match the scope date %r" % (amz_date, date8)
    secret, token = secret_for(akid)
    if token is not None and hmap.get("x-amz-security-token", [None])[0] != token:
        return "missing or wrong X-Amz-Security-Token"
    if service == "s3":
        want = hashlib.sha256(body).hexdigest()
        got = hmap.get("x-amz-content-sha256", [None])[0]
        if got not in (want, "UNSIGNED-PAYLOAD"):
            return "x-amz-content-sha256 %r is not the body's %r" % (got, want)
    req = AWSRequest(method=method, url=url, data=body,
                     headers={h: ",".join(hmap.get(h, [""])) for h in signed})
    req.context["timestamp"] = amz_date
    cls = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = cls(Credentials(akid, secret, token), service, region)
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    sig = signer.signature(sts, req)
    if sig != parts["Signature"]:
        return "signature mismatch; botocore canonical request:\n" + canonical
    for required in ("host", "x-amz-date"):
        if required not in signed:
            return "%s is not signed" % required
    return None


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, body, ctype="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        srv = self.server
        rec = {"method": self.command, "path": self.path, "headers": list(self.headers.items()),
               "body": body, "client_port": self.client_address[1]}
        with srv.lock:
            srv.requests.append(rec)
        path = self.path.split("?", 1)[0]
        if path == "/ok":
            self._reply(200, b"hello")
        elif path == "/big":
            self._reply(200, b"z" * 200000, "application/octet-stream")
        elif path == "/err":
            self._reply(403, b'{"__type":"AccessDeniedException","message":"no"}',
                        "application/x-amz-json-1.1")
        elif path == "/stall":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"partial")
            self.wfile.flush()
            srv.stalled.set()
            srv.release.wait(120)
            self.close_connection = True
        elif path.startswith("/sigv4"):
            url = "https://127.0.0.1:%d%s" % (srv.server_address[1], self.path)
            why = verify_sigv4(self.command, url, rec["headers"], body, srv.secret_for)
            rec["sigv4_error"] = why
            if why is None:
                self._reply(200, b'{"verified": true}', "application/json")
            else:
                self._reply(403, json.dumps({"__type": "InvalidSignatureException",
                                             "message": why}).encode(), "application/json")
        else:
            self._reply(404, b"")

    do_GET = do_POST = do_PUT = do_HEAD = _handle


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients that abort on purpose (caps, cancel, TLS refusal) are expected here.
        pass


class TLSServer:
    def __init__(self, cert, key, credentials=None):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.requests = []
        self.httpd.lock = threading.Lock()
        self.httpd.stalled = threading.Event()
        self.httpd.release = threading.Event()
        creds = credentials or {}
        self.httpd.secret_for = lambda akid: creds.get(akid, ("", None))
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self):
        with self.httpd.lock:
            return list(self.httpd.requests)

    @property
    def stalled(self):
        return self.httpd.stalled

    def url(self, path):
        return "https://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        self.httpd.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class ConnectProxy:
    """Minimal forward proxy: CONNECT host:port tunnels, anything else 405.  Records
    (target, proxy-authorization) per CONNECT in .connects."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connects = []
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        up = None
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    return
                data += chunk
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            auth = None
            for line in head[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "proxy-authorization":
                    auth = v.strip()
            self.connects.append((method, target, auth))
            if method != "CONNECT":
                c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, port = target.rsplit(":", 1)
            up = socket.create_connection((host, int(port)))
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            socks = [c, up]
            while True:
                r, _, _ = select.select(socks, [], [], 30)
                if not r:
                    return
                for s in r:
                    d = s.recv(65536)
                    if not d:
                        return
                    (up if s is c else c).sendall(d)
        except OSError:
            pass
        finally:
            c.close()
            if up is not None:
                up.close()

    def stop(self):
        self.stopping = True
        self.sock.close()


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
