"""Shared helpers for end-to-end tests: scratch directories, free ports, running the agent.

Every server a test starts binds to 127.0.0.1 only.  Tests never reach the network.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

SRC = os.environ.get("CDAGENT_SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILD = os.environ.get("CDAGENT_BUILD", os.path.join(SRC, "build"))
AGENT = os.path.join(BUILD, "codedeploy-agent")
LOCAL = os.path.join(BUILD, "codedeploy-local")


class Skip(Exception):
    """Raise to skip a test, with the reason."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listening on 127.0.0.1:%d after %.0fs" % (port, timeout))


def wait_for(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


class Env:
    """A scratch directory removed on exit, with helpers to write files under it."""

    def __init__(self, name="e2e"):
        self.dir = tempfile.mkdtemp(prefix="cdagent-%s-" % name)
        self.procs = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, rel, content, mode=None):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        if mode is not None:
            os.chmod(p, mode)
        return p

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def run(argv, timeout=120, **kw):
    """Run a command, returning CompletedProcess with text stdout/stderr."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
