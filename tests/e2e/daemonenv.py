"""Helpers for daemon end-to-end tests: the real agent binary against the project's fake
Commands endpoint and the real S3-compatible server, all on 127.0.0.1."""
import io
import os
import signal
import socket
import subprocess
import tarfile
import threading
import time
import zipfile

import harness

HOST_ARN = "arn:aws:iam::123456789012:user/cdagent-e2e-host"


def make_bundle(kind, files):
    """Bytes of a zip/tar/tgz bundle; files maps path -> (content, mode)."""
    buf = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buf, "w") as z:
            for name, (data, mode) in files.items():
                zi = zipfile.ZipInfo(name)
                zi.external_attr = (0o100000 | mode) << 16
                z.writestr(zi, data)
    else:
        with tarfile.open(fileobj=buf, mode="w:gz" if kind == "tgz" else "w") as t:
            for name, (data, mode) in files.items():
                b = data.encode() if isinstance(data, str) else data
                ti = tarfile.TarInfo(name)
                ti.size = len(b)
                ti.mode = mode
                t.addfile(ti, io.BytesIO(b))
    return buf.getvalue()


def hook_bundle(kind, record, events, dest=None, script=None, extra_files=None):
    """A bundle whose hooks append '<event> <deployment id>' to record."""
    body = script or ("#!/bin/sh\necho \"$LIFECYCLE_EVENT $DEPLOYMENT_ID $DEPLOYMENT_GROUP_ID\" "
                      ">> %s\necho \"ran $LIFECYCLE_EVENT\"\n" % record)
    spec = ["version: 0.0", "os: linux"]
    files = {"scripts/hook.sh": (body, 0o755)}
    if dest:
        spec += ["files:", "  - source: app", "    destination: %s" % dest]
        files["app/hello.txt"] = ("hello\n", 0o644)
    spec.append("hooks:")
    for ev in events:
        spec += ["  %s:" % ev, "    - location: scripts/hook.sh", "      timeout: 60"]
    files["appspec.yml"] = ("\n".join(spec) + "\n", 0o644)
    files.update(extra_files or {})
    return make_bundle(kind, files)


class Notify:
    """A NOTIFY_SOCKET the test owns: collects the agent's sd_notify datagrams."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.messages.extend(data.decode(errors="replace").split("\n"))

    def statuses(self):
        return [m[len("STATUS="):] for m in list(self.messages) if m.startswith("STATUS=")]

    def close(self):
        self._stop = True
        self._t.join(2)
        self.sock.close()


class DaemonEnv(harness.Env):
    """Config + on-premises registration for an agent talking to fc (FakeCommands) and s3."""

    def __init__(self, fc, s3, name="daemon", extra_config=""):
        super().__init__(name)
        self.fc = fc
        self.s3 = s3
        self.root = self.path("deployment-root")
        self.logdir = self.path("log")
        self.piddir = self.path("state")
        onprem = self.write("conf/codedeploy.onpremises.yml", "\n".join([
            "---", "region: us-east-1", "iam_user_arn: %s" % HOST_ARN,
            "aws_access_key_id: %s" % s3.access_key, "aws_secret_access_key: %s" % s3.secret_key,
            ""]))
        self.config = self.write("conf/codedeployagent.yml", "\n".join([
            "---",
            ":log_dir: '%s'" % self.logdir,
            ":pid_dir: '%s'" % self.piddir,
            ":root_dir: '%s'" % self.root,
            ":verbose: true",
            ":wait_between_runs: 1",
            ":http_read_timeout: 20",
            ":kill_agent_max_wait_time_seconds: 30",
            ":hook_output_grace_seconds: 2",
            ":on_premises_config_file: '%s'" % onprem,
            ":deploy_control_endpoint: '%s'" % fc.url,
            ":s3_endpoint_override: '%s'" % s3.url,
            extra_config, ""]))
        self.agent = None
        self.notify = None

    def start(self, notify=False, env=None, prefix=None):
        """Start the agent; prefix (a list) runs it through a wrapper such as setpriv."""
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        if notify:
            self.notify = Notify(self.path("notify.sock"))
            e["NOTIFY_SOCKET"] = self.notify.path
        if env:
            e.update(env)
        self.stderr = open(self.path("agent.stderr"), "ab")
        argv = list(prefix or []) + [harness.AGENT, "--config_file", self.config, "run"]
        self.agent = self.spawn(argv, stdout=self.stderr, stderr=self.stderr, env=e)
        return self.agent

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.agent and self.agent.poll() is None:
            self.agent.send_signal(sig)
            return self.agent.wait(timeout)
        return self.agent.returncode if self.agent else None

    def agent_log(self):
        p = os.path.join(self.logdir, "codedeploy-agent.log")
        return open(p).read() if os.path.exists(p) else ""

    def stderr_text(self):
        p = self.path("agent.stderr")
        return open(p, errors="replace").read() if os.path.exists(p) else ""

    def close(self):
        try:
            self.stop(timeout=40)
        except Exception:
            if self.agent:
                self.agent.kill()
        if self.notify:
            self.notify.close()
        super().close()


def check_clean(fc):
    """Every request the agent sent was well-formed and signed; no command completed twice."""
    st = fc.state()
    assert not st["violations"], st["violations"]
    assert not st["duplicate_completions"], st["duplicate_completions"]
    bad = [r for r in fc.requests() if r.get("error_code") in ("InvalidSignatureException",
                                                               "IncompleteSignature")]
    assert not bad, bad[:3]


def wait_file_lines(path, n, timeout=30):
    def have():
        return os.path.exists(path) and len(open(path).read().splitlines()) >= n
    harness.wait_for(have, timeout, "%d lines in %s" % (n, path))
    return open(path).read().splitlines()
