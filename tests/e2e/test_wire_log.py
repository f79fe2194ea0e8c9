"""The AWS wire log end to end (spec R-203, R-200): the real agent with :log_aws_wire: true runs a
deployment against the fake Commands endpoint and the S3-compatible server, using on-premises
session credentials (key, secret and session token); the wire log must show the Commands and S3
traffic and none of the secrets or the object's bytes."""
import os
import re
import stat

import harness
from daemonenv import DaemonEnv, check_clean, hook_bundle

import s3 as s3mod
from commands_server import FakeCommands, in_place, s3_revision

AKID = "ASIAWIRELOGE2E00001"
SECRET = "wire-e2e-secret/Key+0123456789abcdefghij"
TOKEN = "wire-e2e-session-token-FwoGZXIvYXdzEJr0123456789"
SESSION_ARN = "arn:aws:sts::123456789012:assumed-role/cdagent-e2e/wirehost"
MARKER = "S3-OBJECT-BYTES-MUST-NOT-BE-WIRE-LOGGED-7c1e"
HOOKS = ["BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"]


def _signatures(headers_list):
    """The Signature=... values of every Authorization header the fakes saw."""
    out = set()
    for h in headers_list:
        auth = h.get("authorization") or h.get("Authorization") or ""
        m = re.search(r"Signature=([0-9a-f]{64})", auth)
        if m:
            out.add(m.group(1))
    return out


def test_r203_wire_log_commands_and_s3_redacted():
    s3 = s3mod.S3Server()
    s3.start()
    s3.add_key(AKID, SECRET, token=TOKEN)
    fc = FakeCommands(creds={"access_key": AKID, "secret_key": SECRET, "session_token": TOKEN})
    fc.start()
    try:
        with DaemonEnv(fc, s3, name="wirelog", extra_config=":log_aws_wire: true") as env:
            creds = env.write("conf/session-credentials", "\n".join([
                "[default]", "aws_access_key_id = %s" % AKID,
                "aws_secret_access_key = %s" % SECRET, "aws_session_token = %s" % TOKEN, ""]))
            env.write("conf/codedeploy.onpremises.yml", "\n".join([
                "---", "region: us-east-1", "iam_session_arn: %s" % SESSION_ARN,
                "aws_credentials_file: %s" % creds, ""]))
            rec = env.path("events.txt")
            s3.create_bucket("bucket")
            # An uncompressed tar: the marker file's bytes appear verbatim in the object.
            bundle = hook_bundle("tar", rec, HOOKS,
                                 extra_files={"marker.txt": (MARKER + "\n", 0o644)})
            assert MARKER.encode() in bundle
            s3.put_object("bucket", "app.tar", bundle)
            dep = "d-WIRELOG01"
            fc.add_deployment(in_place(dep, s3_revision("bucket", "app.tar", "tar")))
            env.start()
            assert fc.wait_deployment(dep, 90) == "Succeeded", (fc.completions(dep),
                                                                env.stderr_text()[-3000:])
            check_clean(fc)
            env.stop()

            path = os.path.join(env.logdir, "codedeploy-agent.aws_wire.log")
            assert os.path.isfile(path), os.listdir(env.logdir)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
            text = open(path, errors="replace").read()

            # Commands calls: request line, target header, response status line and body.
            line = r"^\S+ #(\d+) %s %s$"
            polls = re.findall(
                line % (">", r"X-Amz-Target: CodeDeployCommandService_v20141006\.PollHostCommand"),
                text, re.M)
            assert polls, text[:3000]
            pid = polls[0]
            assert re.search(r"^\S+ #%s > POST / HTTP/1\.1$" % pid, text, re.M), text[:3000]
            assert re.search(r"^\S+ #%s > Authorization: REDACTED$" % pid, text, re.M)
            assert re.search(r"^\S+ #%s > X-Amz-Security-Token: REDACTED$" % pid, text, re.M)
            assert re.search(r"^\S+ #%s > body: \{.*\"HostIdentifier\"" % pid, text, re.M)
            assert re.search(r"^\S+ #%s < HTTP/1\.[01] 200" % pid, text, re.M), text[:3000]
            assert re.search(r"^\S+ #\d+ < body: \{.*\"HostCommand\"", text, re.M), text[:3000]
            for op in ("PutHostCommandAcknowledgement", "GetDeploymentSpecification",
                       "PutHostCommandComplete"):
                assert "CodeDeployCommandService_v20141006.%s" % op in text, op
            # S3 GetObject: the request line and the response headers, never the body.
            gets = re.findall(r"^\S+ #(\d+) > GET /bucket/app\.tar(?:\?\S*)? HTTP/1\.1$", text,
                              re.M)
            assert gets, text[-3000:]
            assert re.search(r"^\S+ #%s < HTTP/1\.[01] 200" % gets[0], text, re.M)
            assert re.search(r"^\S+ #%s > Authorization: REDACTED$" % gets[0], text, re.M)
            assert not re.search(r"^\S+ #%s < body:" % gets[0], text, re.M)
            assert MARKER not in text

            # No secret in any form.
            assert SECRET not in text
            assert TOKEN not in text
            sigs = _signatures([r["headers"] for r in fc.requests()] +
                               [r["headers"] for r in s3.requests])
            assert sigs, "the fakes recorded the signatures"
            for s in sigs:
                assert s not in text, s
            assert "Signature=" not in text
            # Every line has the documented shape.
            for l in text.splitlines():
                assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} #\d+ [<>*] ", l), l
    finally:
        fc.stop()
        s3.stop()


def test_r203_no_wire_log_by_default():
    s3 = s3mod.S3Server()
    s3.start()
    fc = FakeCommands(creds={"access_key": s3.access_key, "secret_key": s3.secret_key})
    fc.start()
    try:
        with DaemonEnv(fc, s3, name="nowirelog") as env:
            env.start()
            harness.wait_for(lambda: len(fc.requests("PollHostCommand")) >= 1, 30, "a poll")
            env.stop()
            assert not os.path.exists(os.path.join(env.logdir,
                                                   "codedeploy-agent.aws_wire.log"))
    finally:
        fc.stop()
        s3.stop()
