#!/usr/bin/env python3
"""Daemon benchmarks (issue #8), run by `make bench`, never by `make check`.

1. Idle memory: the agent polls the fake Commands endpoint for IDLE_SECONDS (default 60) with
   TLS-free loopback HTTP; then VmRSS and RssAnon are read from /proc/<pid>/status.
   Goals: VmRSS <= 12 MB, RssAnon <= 4 MB.
2. Per-event overhead: a 7-event in-place deployment whose hooks are no-ops.  The agent's time
   from the first command handed out to the last completion is compared, in the same run, with a
   baseline client (this script) that performs the same Commands calls and runs the same no-op
   hook scripts itself with no agent logic at all.  Printed: both times, the ratio, and the
   agent's overhead per event = (agent - baseline) / 7.  Goal: < 50 ms per event.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

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
import fakecd_sigv4  # noqa: E402,F401  (the fake's signer, reused by the baseline client)

IDLE_SECONDS = int(os.environ.get("IDLE_SECONDS", "60"))
EVENTS = ["ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall",
          "ApplicationStart", "ValidateService"]


def proc_status(pid):
    out = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def kb(s):
    return int(s.split()[0])


def idle_memory(fc, s3):
    with DaemonEnv(fc, s3, name="bench-idle") as env:
        env.start()
        harness.wait_for(lambda: len(fc.requests("PollHostCommand")) >= 2, 30, "polling")
        time.sleep(IDLE_SECONDS)
        st = proc_status(env.agent.pid)
        polls = len(fc.requests("PollHostCommand"))
        env.stop()
        return kb(st["VmRSS"]), kb(st.get("RssAnon", "0 kB")), polls


def agent_deployment(fc, s3):
    with DaemonEnv(fc, s3, name="bench-deploy") as env:
        s3.create_bucket("bench")
        s3.put_object("bench", "noop.zip", hook_bundle(
            "zip", env.path("r"), EVENTS, script="#!/bin/sh\nexit 0\n"))
        # A previous revision so ApplicationStop has a script to run too.
        fc.add_deployment(in_place("d-BENCHPREV", s3_revision("bench", "noop.zip")))
        env.start()
        fc.wait_deployment("d-BENCHPREV", 120)
        fc.add_deployment(in_place("d-BENCH0001", s3_revision("bench", "noop.zip")))
        assert fc.wait_deployment("d-BENCH0001", 120) == "Succeeded"
        d = fc.deployment("d-BENCH0001")
        first = d.commands[0].issued_at
        last = max(c.completions[0]["t"] for c in d.commands)
        env.stop()
        return last - first


def baseline(fc, s3):
    """The same service round trips and no-op scripts, driven directly by this process."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    creds = botocore.credentials.Credentials(s3.access_key, s3.secret_key)
    fc.add_deployment(in_place("d-BASELINE1", s3_revision("bench", "noop.zip"),
                               host="arn:aws:iam::123456789012:user/bench-baseline"))
    script = tempfile.NamedTemporaryFile("w", delete=False, suffix=".sh")
    script.write("#!/bin/sh\nexit 0\n")
    script.close()
    os.chmod(script.name, 0o755)

    def call(op, body):
        data = json.dumps(body).encode()
        req = botocore.awsrequest.AWSRequest(method="POST", url=fc.url + "/", data=data, headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "CodeDeployCommandService_v20141006." + op,
            "x-amz-codedeploy-agent-version": "bench-baseline"})
        botocore.auth.SigV4Auth(creds, "codedeploy-commands", "us-east-1").add_auth(req)
        r = urllib.request.Request(req.url, data=data, headers=dict(req.headers), method="POST")
        with urllib.request.urlopen(r, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")

    host = "arn:aws:iam::123456789012:user/bench-baseline"
    t_first = None
    for _ in EVENTS:
        hc = {}
        while not hc.get("HostCommand"):
            hc = call("PollHostCommand", {"HostIdentifier": host})
        cmd = hc["HostCommand"]
        t_first = t_first or time.time()
        call("GetDeploymentSpecification", {"DeploymentExecutionId": cmd["DeploymentExecutionId"],
                                            "HostIdentifier": host})
        call("PutHostCommandAcknowledgement", {"HostCommandIdentifier": cmd["HostCommandIdentifier"],
                                               "Diagnostics": {"Format": "JSON",
                                                               "Payload": "{\"IsCommandNoop\":false}"}})
        subprocess.run([script.name], check=True)
        call("PutHostCommandComplete", {"HostCommandIdentifier": cmd["HostCommandIdentifier"],
                                        "CommandStatus": "Succeeded",
                                        "Diagnostics": {"Format": "JSON", "Payload": json.dumps(
                                            {"error_code": 0, "script_name": "",
                                             "message": "Succeeded: ", "log": ""})}})
    os.unlink(script.name)
    return time.time() - t_first


def main():
    s3 = s3mod.S3Server()
    s3.start()
    fc = FakeCommands(creds={"access_key": s3.access_key, "secret_key": s3.secret_key},
                      poll_hold=1.0)
    fc.start()
    try:
        rss, anon, polls = idle_memory(fc, s3)
        agent_s = agent_deployment(fc, s3)
        base_s = baseline(fc, s3)
    finally:
        fc.stop()
        s3.stop()
    per_event_ms = (agent_s - base_s) / len(EVENTS) * 1000.0
    print("bench daemon")
    print("  idle after %d s (%d polls): VmRSS %.1f MB (goal <= 12), RssAnon %.1f MB (goal <= 4)"
          % (IDLE_SECONDS, polls, rss / 1024.0, anon / 1024.0))
    print("  7-event deployment, no-op hooks: agent %.3f s, baseline client %.3f s, ratio %.2f"
          % (agent_s, base_s, agent_s / base_s if base_s else float("nan")))
    print("  agent overhead per event: %.1f ms (goal < 50)" % per_event_ms)


if __name__ == "__main__":
    main()
