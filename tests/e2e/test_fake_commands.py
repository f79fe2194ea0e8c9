"""Tests of the fake CodeDeploy Commands service itself (tests/fake/commands_server.py), and of
agent/commands.c against it through the tests/tools/commands_client driver.

The fake must reject what the real service rejects (bad signatures, R-050; model violations,
R-047) and accept what it accepts, or the daemon tests built on it prove nothing.
"""
import datetime
import http.client
import json
import os
import subprocess

import harness
from commands_server import FakeCommands, in_place, blue_green, s3_revision
import certs
import fakecd_sigv4

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/="
CREDS = {"access_key": AK, "secret_key": SK, "session_token": TOKEN}
HOST_ID = "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
DRIVER = os.path.join(harness.BUILD, "tools", "commands_client")


def call(fc, op, body, secret=SK, token=TOKEN, service="codedeploy-commands", target=None,
         raw=None, mutate=None, when=None, headers=None):
    """Send one request signed by botocore; returns (status, parsed body, response headers)."""
    data = raw if raw is not None else json.dumps(body, separators=(",", ":")).encode()
    h = {"Host": "127.0.0.1:%d" % fc.port, "Content-Type": "application/x-amz-json-1.1",
         "X-Amz-Target": target or "CodeDeployCommandService_v20141006." + op,
         "x-amz-codedeploy-agent-version": "cdagent-test"}
    h.update(headers or {})
    signed = fakecd_sigv4.sign("POST", fc.url + "/", h, data, AK, secret, token, "us-east-1",
                               service, when=when)
    if mutate:
        data = mutate(data)
    conn = http.client.HTTPConnection("127.0.0.1", fc.port, timeout=20)
    try:
        conn.request("POST", "/", body=data, headers=signed)
        r = conn.getresponse()
        payload = r.read()
        return r.status, (json.loads(payload) if payload else None), dict(r.getheaders())
    finally:
        conn.close()


def deployment(dep_id="d-TEST00001", **kw):
    kw.setdefault("group_id", "dg-1")
    return in_place(dep_id, s3_revision("bucket", "app.zip", "zip"), **kw)


def test_signed_request_accepted_and_recorded():
    with FakeCommands(creds=CREDS, scenario={"poll_hold": 0.1}) as fc:
        st, body, hdr = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert st == 200, body
        assert body == {}, body
        assert "Date" in hdr
        reqs = fc.requests("PollHostCommand")
        assert len(reqs) == 1 and reqs[0]["status"] == 200
        assert reqs[0]["body"] == '{"HostIdentifier":"%s"}' % HOST_ID
        assert reqs[0]["headers"]["x-amz-security-token"] == "REDACTED"
        assert not fc.violations


def test_r050_wrong_secret_rejected():
    with FakeCommands(creds=CREDS, scenario={"poll_hold": 0.1}) as fc:
        st, body, hdr = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID}, secret="wrong")
        assert st == 400, (st, body)
        assert body["__type"].endswith("#InvalidSignatureException"), body
        assert "does not match" in body["message"]
        assert hdr["x-amzn-ErrorType"].startswith("InvalidSignatureException:")


def test_r050_body_changed_after_signing_rejected():
    with FakeCommands(creds=CREDS, scenario={"poll_hold": 0.1}) as fc:
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID},
                           mutate=lambda d: d.replace(b"i-01", b"i-02"))
        assert st == 400 and body["__type"].endswith("#InvalidSignatureException"), body


def test_r050_wrong_service_token_and_unknown_key_rejected():
    with FakeCommands(creds=CREDS, scenario={"poll_hold": 0.1}) as fc:
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID}, service="s3")
        assert st == 400 and "scoped to correct service" in body["message"], body
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID}, token=None)
        assert st == 400 and body["__type"].endswith("#UnrecognizedClientException"), body
    with FakeCommands(creds={"access_key": "OTHER", "secret_key": SK}) as fc:
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID}, token=None)
        assert st == 400 and body["__type"].endswith("#UnrecognizedClientException"), body


def test_r046_secure_variant_needs_its_target_and_signing_name():
    with FakeCommands(creds=CREDS, secure=True, scenario={"poll_hold": 0.1}) as fc:
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert st == 400 and body["__type"].endswith("#UnknownOperationException"), body
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID},
                           target="CodeDeployCommandService.PollHostCommand")
        assert st == 400 and "scoped to correct service" in body["message"], body
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID},
                           target="CodeDeployCommandService.PollHostCommand",
                           service="codedeploy-commands-secure")
        assert st == 200, body


def test_r051_skewed_clock_gets_signature_expired():
    with FakeCommands(creds=CREDS, scenario={"poll_hold": 0.1, "clock_offset": 3600}) as fc:
        st, body, hdr = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert st == 400 and "Signature expired" in body["message"], body
        server = datetime.datetime.strptime(hdr["Date"], "%a, %d %b %Y %H:%M:%S GMT")
        skew = (server - datetime.datetime.utcnow()).total_seconds()
        assert 3500 < skew < 3700, skew
        when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3600)
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID}, when=when)
        assert st == 200, body


def test_r047_model_violations_rejected():
    with FakeCommands(creds=CREDS, scenario={"poll_hold": 0.1}) as fc:
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID, "Extra": 1})
        assert st == 400 and "Unknown member" in body["message"], body
        st, body, _ = call(fc, "PutHostCommandAcknowledgement",
                           {"HostCommandIdentifier": "x", "Diagnostics": None})
        assert st == 400 and "null" in body["message"], body
        st, body, _ = call(fc, "PollHostCommand", {})
        assert st == 400 and "required" in body["message"], body
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID},
                           headers={"Content-Type": "application/json"})
        assert st == 400 and "Content-Type" in body["message"], body
        assert len(fc.violations) == 4, fc.violations


def run_command(fc, host=HOST_ID, noop=False, status="Succeeded", diag=None):
    """Act as an agent for one command: poll, get spec, ack, complete.  Returns (name, spec)."""
    st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": host})
    assert st == 200, body
    hc = body.get("HostCommand")
    if not hc:
        return None, None
    st, spec, _ = call(fc, "GetDeploymentSpecification",
                       {"DeploymentExecutionId": hc["DeploymentExecutionId"],
                        "HostIdentifier": host})
    assert st == 200, spec
    st, ack, _ = call(fc, "PutHostCommandAcknowledgement",
                      {"HostCommandIdentifier": hc["HostCommandIdentifier"],
                       "Diagnostics": {"Format": "JSON",
                                       "Payload": json.dumps({"IsCommandNoop": noop})}})
    assert st == 200 and ack == {"CommandStatus": "InProgress"}, ack
    payload = diag or {"error_code": 0, "script_name": "", "message": "Succeeded: ", "log": ""}
    st, done, _ = call(fc, "PutHostCommandComplete",
                       {"HostCommandIdentifier": hc["HostCommandIdentifier"],
                        "CommandStatus": status,
                        "Diagnostics": {"Format": "JSON", "Payload": json.dumps(payload)}})
    assert st == 200 and done == {}, done
    return hc["CommandName"], spec


def test_r092_in_place_deployment_one_command_at_a_time_with_signed_spec():
    with harness.Env("fake") as env:
        d = deployment(load_balancer=True)
        with FakeCommands(creds=CREDS, scenario={"deployments": [d], "poll_hold": 0.1}) as fc:
            st, first, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
            assert first["HostCommand"]["CommandName"] == "BeforeBlockTraffic", first
            assert first["HostCommand"]["HostIdentifier"] == HOST_ID
            # Nothing else is handed out until the first command completes.
            st, again, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
            assert again == {}, again
            st, _, _ = call(fc, "PutHostCommandComplete", {
                "HostCommandIdentifier": first["HostCommand"]["HostCommandIdentifier"],
                "CommandStatus": "Succeeded"})
            names = ["BeforeBlockTraffic"]
            spec = None
            while True:
                name, s = run_command(fc)
                if not name:
                    break
                names.append(name)
                spec = s
            assert names == ["BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop",
                             "DownloadBundle", "BeforeInstall", "Install", "AfterInstall",
                             "ApplicationStart", "ValidateService", "BeforeAllowTraffic",
                             "AfterAllowTraffic"], names
            assert fc.wait_deployment("d-TEST00001", 5) == "Succeeded"
            assert not fc.duplicate_completions and not fc.violations
            env_ = spec["DeploymentSpecification"]["GenericEnvelope"]
            assert env_["Format"] == "PKCS7/JSON"
            assert env_["Payload"].startswith("-----BEGIN PKCS7-----")
            p = env.write("spec.pem", env_["Payload"])
            out = harness.run(["openssl", "smime", "-verify", "-noverify", "-inform", "PEM",
                               "-in", p])
            assert out.returncode == 0, out.stderr
            doc = json.loads(out.stdout)
            assert doc["DeploymentId"] == "d-TEST00001" and doc["DeploymentGroupId"] == "dg-1"
            assert doc["Revision"]["S3Revision"]["Key"] == "app.zip"


def test_tampered_and_unsigned_specs_fail_openssl_verification():
    with harness.Env("fake") as env:
        ds = [deployment("d-TAMPER001", spec_mode="tampered"),
              deployment("d-BADSIG001", spec_mode="badsig", group_id="dg-2")]
        with FakeCommands(creds=CREDS, scenario={"deployments": ds, "poll_hold": 0.1}) as fc:
            for i in range(2):
                st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
                hc = body["HostCommand"]
                st, spec, _ = call(fc, "GetDeploymentSpecification",
                                   {"DeploymentExecutionId": hc["DeploymentExecutionId"],
                                    "HostIdentifier": HOST_ID})
                p = env.write("s%d.pem" % i,
                              spec["DeploymentSpecification"]["GenericEnvelope"]["Payload"])
                out = harness.run(["openssl", "smime", "-verify", "-noverify", "-inform", "PEM",
                                   "-in", p])
                assert out.returncode != 0, "spec %d verified" % i


def test_failed_command_ends_deployment_and_sequencing_after():
    d1 = deployment("d-FIRST0001")
    d2 = deployment("d-SECOND001", after="d-FIRST0001")
    with FakeCommands(creds=CREDS, scenario={"deployments": [d1, d2], "poll_hold": 0.1}) as fc:
        name, _ = run_command(fc)
        assert name == "ApplicationStop"
        name, _ = run_command(fc, status="Failed",
                              diag={"error_code": 5, "script_name": "", "message": "boom",
                                    "log": ""})
        assert name == "DownloadBundle"
        assert fc.wait_deployment("d-FIRST0001", 5) == "Failed"
        # The second deployment starts now.
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert body["HostCommand"]["DeploymentExecutionId"].endswith("d-SECOND001/1"), body
        c = fc.completions("d-FIRST0001")
        assert [x["status"] for x in c] == ["Succeeded", "Failed"], c
        assert c[1]["diagnostics"]["message"] == "boom"


def test_r093_blue_green_replacement_then_original():
    ds = blue_green("d-BLUEGRN01", s3_revision("b", "k.tgz", "tgz"), replacement_host="i-new",
                    original_host="i-old")
    with FakeCommands(creds=CREDS, scenario={"deployments": ds, "poll_hold": 0.1}) as fc:
        # The original host gets nothing until the replacement host is done.
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": "arn:...:instance/i-old"})
        assert body == {}, body
        names = []
        while True:
            n, _ = run_command(fc, host="arn:...:instance/i-new")
            if not n:
                break
            names.append(n)
        assert names[-2:] == ["BeforeAllowTraffic", "AfterAllowTraffic"], names
        old = []
        while True:
            n, _ = run_command(fc, host="arn:...:instance/i-old")
            if not n:
                break
            old.append(n)
        assert old == ["BeforeBlockTraffic", "AfterBlockTraffic"], old
        assert fc.wait_deployment("d-BLUEGRN01", 5) == "Succeeded"


def test_faults_500_throttle_drop_then_recovery():
    faults = [{"op": "PollHostCommand", "kind": "500", "count": 1},
              {"op": "PollHostCommand", "kind": "throttle", "count": 1},
              {"op": "PollHostCommand", "kind": "drop", "count": 1}]
    with FakeCommands(creds=CREDS, scenario={"faults": faults, "poll_hold": 0.1}) as fc:
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert st == 500 and body["__type"].endswith("#ServerException"), body
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert st == 400 and body["__type"] == \
            "com.amazon.coral.availability#ThrottlingException", body
        try:
            call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
            raise AssertionError("dropped connection answered")
        except (http.client.HTTPException, ConnectionError):
            pass
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert st == 200, body


def test_redelivery_until_ack_and_duplicate_completion_recorded():
    sc = {"deployments": [deployment()], "poll_hold": 0.1, "redeliver_until_ack": True}
    with FakeCommands(creds=CREDS, scenario=sc) as fc:
        _, a, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        _, b, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert a["HostCommand"]["HostCommandIdentifier"] == b["HostCommand"][
            "HostCommandIdentifier"]
        hci = a["HostCommand"]["HostCommandIdentifier"]
        for _ in range(2):
            call(fc, "PutHostCommandComplete", {"HostCommandIdentifier": hci,
                                                "CommandStatus": "Succeeded"})
        assert len(fc.duplicate_completions) == 1


def test_v031_unacked_command_redelivered_after_timeout():
    sc = {"deployments": [deployment()], "poll_hold": 0.1, "redeliver_after": 0.3}
    with FakeCommands(creds=CREDS, scenario=sc) as fc:
        _, a, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        _, b, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert a.get("HostCommand") and b == {}, (a, b)
        fc.poll_hold = 1.0
        _, c, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert c["HostCommand"]["HostCommandIdentifier"] == a["HostCommand"][
            "HostCommandIdentifier"], c
        hci = a["HostCommand"]["HostCommandIdentifier"]
        call(fc, "PutHostCommandAcknowledgement", {"HostCommandIdentifier": hci})
        assert fc.wait_command("d-TEST00001", "ApplicationStop", "acked", 5)["deliveries"] == 2
        fc.poll_hold = 0.5
        _, d, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert d == {}, d


def test_cli_mode_serves_and_controls():
    with harness.Env("fake") as env:
        pf = env.path("port")
        rec = env.path("req.jsonl")
        p = env.spawn(["/usr/bin/python3", os.path.join(harness.SRC, "tests", "fake", "commands_server.py"),
                       "--port-file", pf, "--access-key", AK, "--secret-key", SK,
                       "--record", rec, "--poll-hold", "0.1"],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        harness.wait_for(lambda: os.path.exists(pf), 15, "port file")
        port = int(open(pf).read())

        class Shim:
            pass
        fc = Shim()
        fc.port, fc.url = port, "http://127.0.0.1:%d" % port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/__control/deployment", body=json.dumps(deployment()))
        assert conn.getresponse().read()
        st, body, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID}, token=None)
        assert body["HostCommand"]["CommandName"] == "ApplicationStop", body
        conn.request("GET", "/__control/state")
        state = json.loads(conn.getresponse().read())
        assert state["deployments"][0]["status"] == "InProgress", state
        conn.close()
        p.terminate()
        p.wait(10)
        lines = [json.loads(x) for x in open(rec)]
        assert lines[0]["op"] == "PollHostCommand" and lines[0]["status"] == 200


def test_tls_mode_with_throwaway_ca():
    import ssl
    with harness.Env("fake") as env:
        with FakeCommands(creds=CREDS, tls_dir=env.path("tls"), scenario={"poll_hold": 0.1}) as fc:
            assert fc.url.startswith("https://")
            ctx = ssl.create_default_context(cafile=fc.tls_ca)
            conn = http.client.HTTPSConnection("127.0.0.1", fc.port, context=ctx, timeout=10)
            conn.request("GET", "/__control/state")
            assert conn.getresponse().status == 200
            conn.close()


def _driver(fc, *args, secret=SK, token=TOKEN, extra_env=None):
    if not os.access(DRIVER, os.X_OK):
        raise harness.Skip("build/tools/commands_client not built")
    env = dict(os.environ, CDAGENT_TEST_AK=AK, CDAGENT_TEST_SK=secret)
    if token:
        env["CDAGENT_TEST_TOKEN"] = token
    env.update(extra_env or {})
    return harness.run([DRIVER, "--endpoint", fc.url, "--region", "us-east-1"] + list(args),
                       env=env, timeout=60)


def test_commands_c_signed_request_accepted_by_fake():
    d = deployment()
    with FakeCommands(creds=CREDS, scenario={"deployments": [d], "poll_hold": 0.1}) as fc:
        out = _driver(fc, "poll", HOST_ID)
        assert out.returncode == 0, out.stderr
        hc = json.loads(out.stdout)
        assert hc["CommandName"] == "ApplicationStop", hc
        out = _driver(fc, "spec", hc["DeploymentExecutionId"], HOST_ID)
        assert out.returncode == 0, out.stderr
        spec = json.loads(out.stdout)
        assert spec["DeploymentId"] == "d-TEST00001", spec
        out = _driver(fc, "ack", hc["HostCommandIdentifier"], "true")
        assert out.returncode == 0 and out.stdout.strip() == "InProgress", (out.stdout, out.stderr)
        out = _driver(fc, "complete", hc["HostCommandIdentifier"], "Succeeded",
                      '{"error_code":0,"script_name":"","message":"Succeeded: ","log":""}')
        assert out.returncode == 0, out.stderr
        assert not fc.violations, fc.violations
        c = fc.completions()[0]
        assert c["status"] == "Succeeded" and c["acks"][0]["is_noop"] is True, c
        poll = fc.requests("PollHostCommand")[0]
        assert poll["body"] == '{"HostIdentifier":"%s"}' % HOST_ID
        assert poll["headers"]["x-amz-codedeploy-agent-version"] == "cdagent-test-driver"
        ack = fc.requests("PutHostCommandAcknowledgement")[0]
        assert ack["body"] == ('{"HostCommandIdentifier":"%s","Diagnostics":{"Format":"JSON",'
                               '"Payload":"{\\"IsCommandNoop\\":true}"}}'
                               % hc["HostCommandIdentifier"]), ack["body"]


def test_spec_c_verifies_fake_specs_and_rejects_bad_ones_r080_r081():
    modes = {"pem": None, "der_base64": None,
             "tampered": "Validation of PKCS7 signed message failed",
             "badsig": "Validation of PKCS7 signed message failed",
             "unsigned": "Validation of PKCS7 signed message failed",
             "nosigners": "Validation of PKCS7 signed message failed",
             "text": "Unsupported DeploymentSpecification format: TEXT/JSON"}
    ds = [deployment("d-MODE%05d" % i, spec_mode=m, group_id="dg-%d" % i)
          for i, m in enumerate(modes)]
    with FakeCommands(creds=CREDS, scenario={"deployments": ds, "poll_hold": 0.1}) as fc:
        for i, (mode, want) in enumerate(modes.items()):
            d = fc.deployment("d-MODE%05d" % i)
            out = _driver(fc, "spec", d.execution_id, HOST_ID)
            if want is None:
                assert out.returncode == 0, (mode, out.stderr)
                assert json.loads(out.stdout)["DeploymentId"] == "d-MODE%05d" % i
                assert "signer=" in out.stderr and "fake deployment signer" in out.stderr
            else:
                assert out.returncode != 0 and want in out.stderr, (mode, out.stderr)
                assert out.stdout == "", (mode, out.stdout)


def test_commands_c_wrongly_signed_request_rejected():
    with FakeCommands(creds=CREDS, scenario={"poll_hold": 0.1}) as fc:
        out = _driver(fc, "poll", HOST_ID, secret="not-the-secret")
        assert out.returncode != 0
        assert "InvalidSignatureException" in out.stderr, out.stderr
        # Auth errors are not retried per request.
        assert len(fc.requests("PollHostCommand")) == 1


def test_commands_c_retries_500_and_throttling_r064():
    faults = [{"op": "PollHostCommand", "kind": "500", "count": 1},
              {"op": "PollHostCommand", "kind": "throttle", "count": 1},
              {"op": "PollHostCommand", "kind": "drop", "count": 1}]
    with FakeCommands(creds=CREDS, scenario={"faults": faults, "poll_hold": 0.1}) as fc:
        out = _driver(fc, "poll", HOST_ID)
        assert out.returncode == 0, out.stderr
        assert len(fc.requests("PollHostCommand")) == 4
        # curl itself re-sends once when a reused connection dies before any response, so the
        # dropped connection may or may not count as one of our retries.
        assert "retries=3" in out.stderr or "retries=2" in out.stderr, out.stderr
    # V-026: throttling is retried 5 times (6 attempts) behind the throttle gate, whose waits
    # (1, 2, 4, 8, 16 s plus up to 25 %) run on the driver's virtual clock here.
    faults = [{"op": "PollHostCommand", "kind": "throttle", "count": 10}]
    with FakeCommands(creds=CREDS, scenario={"faults": faults, "poll_hold": 0.1}) as fc:
        out = _driver(fc, "--virtual-time", "poll", HOST_ID)
        assert out.returncode != 0
        assert "ThrottlingException: Rate exceeded" in out.stderr, out.stderr
        assert len(fc.requests("PollHostCommand")) == 6
        assert "retries=5 " in out.stderr, out.stderr
        slept = int(out.stderr.rsplit("slept=", 1)[1].split()[0])
        assert 30500 <= slept <= 31000 * 1.25, out.stderr  # less the real time between calls


def test_commands_c_corrects_clock_skew_r051():
    for skew in (-7200, 3600):
        with FakeCommands(creds=CREDS, scenario={"poll_hold": 0.1, "clock_offset": skew}) as fc:
            out = _driver(fc, "poll", HOST_ID)
            assert out.returncode == 0, out.stderr
            polls = fc.requests("PollHostCommand")
            assert [p["status"] for p in polls] == [400, 200], polls
            assert any("offset=%d " % (skew + d) in out.stderr for d in (-1, 0, 1)), out.stderr


def test_commands_c_secure_variant_r046():
    with FakeCommands(creds=CREDS, secure=True, scenario={"poll_hold": 0.1}) as fc:
        out = _driver(fc, "--secure", "poll", HOST_ID)
        assert out.returncode == 0, out.stderr
        assert fc.requests()[0]["target"] == "CodeDeployCommandService.PollHostCommand"


def test_fault_window_for_seconds():
    faults = [{"op": "PollHostCommand", "kind": "500", "for_seconds": 0.6}]
    with FakeCommands(creds=CREDS, scenario={"faults": faults, "poll_hold": 0.1}) as fc:
        st1, _, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        st2, _, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        import time
        time.sleep(0.7)
        st3, _, _ = call(fc, "PollHostCommand", {"HostIdentifier": HOST_ID})
        assert (st1, st2, st3) == (500, 500, 200), (st1, st2, st3)


def test_commands_c_over_tls_with_test_ca_r052():
    with harness.Env("fake") as env:
        with FakeCommands(creds=CREDS, tls_dir=env.path("tls"), scenario={"poll_hold": 0.1}) as fc:
            # The CI environment may set several of these; the first one found wins in http.c.
            trust = lambda f: {v: f for v in ("AWS_CA_BUNDLE", "AWS_SSL_CA_BUNDLE",  # noqa: E731
                                              "SSL_CERT_FILE")}
            out = _driver(fc, "poll", HOST_ID, extra_env=trust(fc.tls_ca))
            assert out.returncode == 0, out.stderr
            assert len(fc.requests("PollHostCommand")) == 1
            # Without the test CA the peer is not trusted: a transport error, nothing served.
            bundle = env.write("empty-ca.pem", certs.make_ca("unrelated").cert_pem())
            out = _driver(fc, "poll", HOST_ID, extra_env=trust(bundle))
            assert out.returncode != 0 and "status=0" in out.stderr, out.stderr
            assert len(fc.requests("PollHostCommand")) == 1


def test_signer_certificate_is_throwaway():
    ca = certs.make_ca()
    leaf = certs.make_leaf(ca, "x")
    assert leaf.cert.issuer == ca.cert.subject
