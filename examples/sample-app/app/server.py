#!/usr/bin/env python3
"""The sample application: answers GET / with index.html and GET /health with "ok <version>"."""
import http.server
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_env():
    env = {}
    with open(os.path.join(HERE, "deploy.env")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


ENV = load_env()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = ("ok %s\n" % ENV.get("APP_VERSION", "?")).encode()
            ctype = "text/plain"
        elif self.path in ("/", "/index.html"):
            with open(os.path.join(HERE, "index.html"), "rb") as f:
                body = f.read().replace(b"@VERSION@", ENV.get("APP_VERSION", "?").encode())
            ctype = "text/html"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))


def main():
    port = int(ENV.get("APP_PORT", "8080"))
    srv = http.server.HTTPServer(("127.0.0.1", port), Handler)
    with open(os.path.join(HERE, "server.pid"), "w") as f:
        f.write("%d\n" % os.getpid())
    srv.serve_forever()


if __name__ == "__main__":
    main()
