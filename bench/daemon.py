#!/usr/bin/env python3
"""Daemon benchmarks (issue 14), run by `make bench`, never by `make check`.

The fake Commands endpoint serves HTTPS; the agent trusts the full system store plus the fake's
CA (one PEM bundle through SSL_CERT_FILE/AWS_CA_BUNDLE, as production loads the whole system store).

1. Idle memory: the agent polls for IDLE_SECONDS (default 30) with the trust store loaded; then
   VmRSS and RssAnon (/proc/<pid>/status), Pss and private (Private_Clean + Private_Dirty,
   /proc/<pid>/smaps_rollup).  Goals: RSS <= 12 MB, RssAnon <= 3 MB.
2. Per command: a 7-event in-place deployment whose hooks are no-ops.  For each command the fake
   records when it handed the command out (the poll's answer) and when the completion arrived;
   figures: first dispatch to last completion (goal <= 0.35 s) and the sum of the seven
   dispatch-to-completion times (goal <= 0.25 s).  Baseline in the same run: a minimal libcurl
   client (libcurl through ctypes, one easy handle, so one kept-alive connection, the same trust
   bundle, SigV4 by CURLOPT_AWS_SIGV4) making the same calls per command (spec, ack, run the no-op
   script, complete), measured the same way at the fake; printed as ratios agent / baseline.
   ROUNDS (default 3) deployments each; the median is reported.
"""
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
os.environ.setdefault("CDAGENT_SRC", ROOT)
os.environ.setdefault("CDAGENT_BUILD", os.path.join(ROOT, "build"))

import harness  # noqa: E402
import s3 as s3mod  # noqa: E402
from commands_server import FakeCommands, in_place, s3_revision  # noqa: E402
from daemonenv import DaemonEnv, hook_bundle  # noqa: E402

IDLE_SECONDS = int(os.environ.get("IDLE_SECONDS", "30"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
EVENTS = ["ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall",
          "ApplicationStart", "ValidateService"]
SYSTEM_STORE = "/etc/ssl/certs/ca-certificates.crt"
CA_VARS = ("AWS_CA_BUNDLE", "AWS_SSL_CA_BUNDLE", "SSL_CERT_FILE")


def proc_status(pid):
    out = {}
    for path in ("/proc/%d/status" % pid, "/proc/%d/smaps_rollup" % pid):
        for line in open(path):
            k, _, v = line.partition(":")
            if v.strip().endswith("kB"):
                out[k.strip()] = int(v.split()[0])
    return out


def rss_by_mapping(pid, top=6):
    """The largest resident mappings (kB): where the RSS floor is."""
    per, name = {}, None
    for line in open("/proc/%d/smaps" % pid):
        parts = line.split()
        if "-" in parts[0] and len(parts) >= 5 and ":" not in parts[0]:
            name = os.path.basename(parts[5]) if len(parts) > 5 else "[anon]"
        elif parts[0] == "Rss:":
            per[name] = per.get(name, 0) + int(parts[1])
    return sorted(per.items(), key=lambda kv: -kv[1])[:top]


def trust_bundle(fc, tmp):
    path = os.path.join(tmp, "trust.pem")
    with open(path, "w") as f:
        f.write(open(SYSTEM_STORE).read() + open(fc.tls_ca).read())
    return path


def idle_memory(fc, s3, bundle):
    with DaemonEnv(fc, s3, name="bench-idle") as env:
        env.start(env={v: bundle for v in CA_VARS})
        harness.wait_for(lambda: len(fc.requests("PollHostCommand")) >= 2, 30, "polling")
        time.sleep(IDLE_SECONDS)
        st = proc_status(env.agent.pid)
        st["top"] = rss_by_mapping(env.agent.pid)
        polls = len(fc.requests("PollHostCommand"))
        env.stop()
        return st, polls


def figures(fc, key):
    """(first dispatch to last completion, sum of dispatch-to-completion) at the fake."""
    d = fc.deployment(key)
    spans = [c.completions[0]["t"] - c.issued_at for c in d.commands]
    return d.commands[-1].completions[0]["t"] - d.commands[0].issued_at, sum(spans)


def agent_rounds(fc, s3, bundle):
    out = []
    with DaemonEnv(fc, s3, name="bench-deploy") as env:
        s3.create_bucket("bench")
        s3.put_object("bench", "noop.zip", hook_bundle(
            "zip", env.path("r"), EVENTS, script="#!/bin/sh\nexit 0\n"))
        # A previous revision so ApplicationStop has a script to run too.
        fc.add_deployment(in_place("d-BENCHPREV", s3_revision("bench", "noop.zip")))
        env.start(env={v: bundle for v in CA_VARS})
        fc.wait_deployment("d-BENCHPREV", 120)
        for i in range(ROUNDS):
            key = "d-BENCH%04d" % i
            fc.add_deployment(in_place(key, s3_revision("bench", "noop.zip")))
            assert fc.wait_deployment(key, 120) == "Succeeded", fc.completions(key)
            out.append(figures(fc, key))
        env.stop()
    return out


class MiniCurl:
    """The baseline: libcurl with one easy handle (its connection kept alive), nothing else."""
    URL, POSTFIELDS, POSTFIELDSIZE, HTTPHEADER = 10002, 10015, 60, 10023
    WRITEFUNCTION, USERPWD, CAINFO, AWS_SIGV4 = 20011, 10005, 10065, 10305
    WRITE_CB = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                                ctypes.c_size_t, ctypes.c_void_p)

    def __init__(self, url, ak, sk, cafile):
        self.lib = ctypes.CDLL("libcurl.so.4")
        self.lib.curl_easy_init.restype = ctypes.c_void_p
        self.lib.curl_slist_append.restype = ctypes.c_void_p
        self.lib.curl_slist_append.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib.curl_easy_perform.argtypes = [ctypes.c_void_p]
        self.h = self.lib.curl_easy_init()
        self.body = bytearray()
        self._cb = self.WRITE_CB(self._write)
        self._keep = []
        self.opt(self.URL, url.encode())
        self.opt(self.CAINFO, cafile.encode())
        self.opt(self.USERPWD, ("%s:%s" % (ak, sk)).encode())
        self.opt(self.AWS_SIGV4, b"aws:amz:us-east-1:codedeploy-commands")
        self.opt(self.WRITEFUNCTION, self._cb)

    def _write(self, ptr, size, n, _):
        self.body += ctypes.string_at(ptr, size * n)
        return size * n

    def opt(self, o, v):
        if isinstance(v, bytes):
            self._keep.append(v)
            v = ctypes.c_char_p(v)
        elif isinstance(v, int):
            v = ctypes.c_long(v)
        rc = self.lib.curl_easy_setopt(ctypes.c_void_p(self.h), ctypes.c_int(o), v)
        assert rc == 0, "curl_easy_setopt(%d): %d" % (o, rc)

    def call(self, op, obj):
        data = json.dumps(obj).encode()
        hl = None
        for line in (b"Content-Type: application/x-amz-json-1.1",
                     b"X-Amz-Target: CodeDeployCommandService_v20141006." + op.encode(),
                     b"x-amz-codedeploy-agent-version: bench-baseline"):
            hl = self.lib.curl_slist_append(hl, line)
        self.opt(self.HTTPHEADER, ctypes.c_void_p(hl))
        self.opt(self.POSTFIELDSIZE, len(data))
        self.opt(self.POSTFIELDS, data)
        self.body = bytearray()
        rc = self.lib.curl_easy_perform(ctypes.c_void_p(self.h))
        self.lib.curl_slist_free_all(ctypes.c_void_p(hl))
        assert rc == 0, "curl_easy_perform: %d" % rc
        return json.loads(bytes(self.body) or b"{}")


def baseline_rounds(fc, s3, bundle):
    host = "arn:aws:iam::123456789012:user/bench-baseline"
    cl = MiniCurl(fc.url + "/", s3.access_key, s3.secret_key, bundle)
    script = tempfile.NamedTemporaryFile("w", delete=False, suffix=".sh")
    script.write("#!/bin/sh\nexit 0\n")
    script.close()
    os.chmod(script.name, 0o755)
    out = []
    for i in range(ROUNDS):
        key = "d-BASELINE%02d" % i
        fc.add_deployment(in_place(key, s3_revision("bench", "noop.zip"), host=host))
        for _ in EVENTS:
            hc = {}
            while not hc.get("HostCommand"):
                hc = cl.call("PollHostCommand", {"HostIdentifier": host})
            cmd = hc["HostCommand"]
            cl.call("GetDeploymentSpecification", {
                "DeploymentExecutionId": cmd["DeploymentExecutionId"], "HostIdentifier": host})
            cl.call("PutHostCommandAcknowledgement", {
                "HostCommandIdentifier": cmd["HostCommandIdentifier"],
                "Diagnostics": {"Format": "JSON", "Payload": "{\"IsCommandNoop\":false}"}})
            subprocess.run([script.name], check=True)
            cl.call("PutHostCommandComplete", {
                "HostCommandIdentifier": cmd["HostCommandIdentifier"],
                "CommandStatus": "Succeeded",
                "Diagnostics": {"Format": "JSON", "Payload": json.dumps(
                    {"error_code": 0, "script_name": "", "message": "Succeeded: ", "log": ""})}})
        assert fc.wait_deployment(key, 10) == "Succeeded"
        out.append(figures(fc, key))
    os.unlink(script.name)
    return out


def median(rounds, i):
    return statistics.median(r[i] for r in rounds)


def main():
    s3 = s3mod.S3Server()
    s3.start()
    tmp = tempfile.mkdtemp(prefix="cdagent-bench-")
    fc = FakeCommands(creds={"access_key": s3.access_key, "secret_key": s3.secret_key},
                      poll_hold=1.0, tls_dir=os.path.join(tmp, "tls"))
    fc.start()
    bundle = trust_bundle(fc, tmp)
    try:
        st, polls = idle_memory(fc, s3, bundle)
        agent = agent_rounds(fc, s3, bundle)
        base = baseline_rounds(fc, s3, bundle)
    finally:
        fc.stop()
        s3.stop()
    mb = lambda k: st.get(k, 0) / 1024.0  # noqa: E731
    private = (st.get("Private_Clean", 0) + st.get("Private_Dirty", 0)) / 1024.0
    print("bench daemon (HTTPS, system trust store of %d certificates loaded)"
          % open(SYSTEM_STORE).read().count("BEGIN CERTIFICATE"))
    print("  idle after %d s (%d polls): RSS %.1f MB (goal <= 12), RssAnon %.1f MB (goal <= 3), "
          "PSS %.1f MB, private %.1f MB" % (IDLE_SECONDS, polls, mb("VmRSS"), mb("RssAnon"),
                                            mb("Pss"), private))
    print("  largest resident mappings: %s" % ", ".join("%s %.1f MB" % (n, kb / 1024.0)
                                                        for n, kb in st["top"]))
    for i, (name, goal) in enumerate((("first dispatch to last completion", 0.35),
                                      ("sum of dispatch-to-completion", 0.25))):
        a, b = median(agent, i), median(base, i)
        print("  7-event no-op deployment, %s: agent %.3f s (goal <= %.2f), minimal libcurl "
              "client %.3f s, ratio %.2f" % (name, a, goal, b, a / b if b else float("nan")))
    print("  (median of %d rounds; per round agent %s, baseline %s)" % (
        ROUNDS, ["%.3f/%.3f" % r for r in agent], ["%.3f/%.3f" % r for r in base]))


if __name__ == "__main__":
    main()
