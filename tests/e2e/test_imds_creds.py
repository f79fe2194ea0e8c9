"""IMDS and credentials end to end: build/tools/imds_probe (agent/imds.c, agent/creds.c) against
the fake IMDS of tests/fake/imds.py on 127.0.0.1 (spec R-031..R-041, V-021, V-022; issue 6)."""
import os
import subprocess

import harness
from imds import FakeIMDS

PROBE = os.path.join(harness.BUILD, "tools", "imds_probe")
TTL = "x-aws-ec2-metadata-token-ttl-seconds"
TOKEN = "x-aws-ec2-metadata-token"
IID = "/latest/meta-data/instance-id"


def probe(fake, *args, stdin=None, env_extra=None, timeout=60):
    if not os.access(PROBE, os.X_OK):
        raise harness.Skip("build/tools/imds_probe not built")
    env = dict(os.environ)
    env.update(fake.env() if fake else {})
    env.update(env_extra or {})
    p = subprocess.run([PROBE] + list(args), input=stdin, capture_output=True, text=True,
                       env=env, timeout=timeout)
    if "http: not implemented yet" in p.stdout:
        raise harness.Skip("agent/http.c is not implemented yet")
    lines = [line for line in p.stdout.splitlines() if line.startswith(("ok", "error"))]
    slept = [int(line.split()[1]) for line in p.stdout.splitlines() if line.startswith("slept ")]
    return p, lines, slept


def test_token_put_then_gets_carry_token_R032_R034():
    with FakeIMDS(mode="required") as fake:
        # A proxy in the environment must not be used for IMDS.
        dead = "http://127.0.0.1:%d" % harness.free_port()
        p, lines, _ = probe(fake, "get", IID, "get", IID, env_extra={
            "http_proxy": dead, "HTTP_PROXY": dead, "https_proxy": dead, "HTTPS_PROXY": dead})
        assert p.returncode == 0, p.stdout + p.stderr
        assert lines == ["ok " + fake.instance_id] * 2, lines
        puts = fake.requests_for("/latest/api/token", "PUT")
        assert len(puts) == 1, puts          # cached between GETs
        assert puts[0]["headers"][TTL] == "21600"
        gets = fake.requests_for(IID)
        assert len(gets) == 2
        toks = {g["headers"].get(TOKEN) for g in gets}
        assert len(toks) == 1 and None not in toks, toks
        assert all("x-forwarded-for" not in r["headers"] for r in fake.requests)


def test_expired_token_401_refreshes_once_R032():
    with FakeIMDS(mode="required") as fake:
        proc = subprocess.Popen([PROBE, "get", IID, "pause", "get", IID], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, **fake.env())) \
            if os.access(PROBE, os.X_OK) else None
        if proc is None:
            raise harness.Skip("build/tools/imds_probe not built")
        try:
            first = proc.stdout.readline()
            if "not implemented" in first:
                raise harness.Skip("agent/http.c is not implemented yet")
            assert first.startswith("ok "), first
            fake.expire_tokens()
            out, err = proc.communicate("go\n", timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, out + err
        assert "ok " + fake.instance_id in out.splitlines()
        assert len(fake.requests_for("/latest/api/token", "PUT")) == 2
        gets = fake.requests_for(IID)
        assert len(gets) == 3, gets           # ok, 401, retried ok
        assert gets[1]["headers"][TOKEN] != gets[2]["headers"][TOKEN]


def test_v1_fallback_when_token_refused_R033():
    with FakeIMDS(mode="v1") as fake:
        p, lines, slept = probe(fake, "--fast-sleep", "get", IID)
        assert p.returncode == 0, p.stdout + p.stderr
        assert lines == ["ok " + fake.instance_id]
        assert "IMDSv2 http request failed, falling back to IMDSv1." in p.stderr
        gets = fake.requests_for(IID)
        assert len(gets) == 1 and TOKEN not in gets[0]["headers"]
        # 403 is a definite answer: not retried.
        assert len(fake.requests_for("/latest/api/token", "PUT")) == 1
        assert slept == []


def test_token_5xx_retried_three_times_then_v1_R031_R033():
    with FakeIMDS() as fake:
        fake.fail_next("/latest/api/token", [500, 503, 500])
        p, lines, slept = probe(fake, "--fast-sleep", "get", IID)
        assert p.returncode == 0, p.stdout + p.stderr
        assert len(fake.requests_for("/latest/api/token", "PUT")) == 3
        assert slept == [1000, 2000], slept
        gets = fake.requests_for(IID)
        assert len(gets) == 1 and TOKEN not in gets[0]["headers"]


def test_disable_v1_never_sends_tokenless_get_R033():
    with FakeIMDS(mode="v1") as fake:
        p, lines, _ = probe(fake, "--disable-v1", "--fast-sleep", "get", IID)
        assert p.returncode == 1
        assert lines == ["error Auth HTTP error from metadata service to get imdsv2 token."], lines
        assert fake.requests_for(IID) == []
        assert "falling back" not in p.stderr


def test_get_5xx_retried_with_1s_2s_waits_R031():
    with FakeIMDS() as fake:
        fake.fail_next(IID, [500, 502])
        p, lines, slept = probe(fake, "--fast-sleep", "get", IID)
        assert p.returncode == 0, p.stdout
        assert lines == ["ok " + fake.instance_id]
        assert slept == [1000, 2000]
        assert len(fake.requests_for(IID)) == 3


def test_read_timeout_three_attempts_R031():
    with FakeIMDS() as fake:
        fake.delay(IID, 3.0)
        p, lines, slept = probe(fake, "--fast-sleep", "--timeout-ms", "400", "get", IID)
        assert p.returncode == 1
        assert lines[0].startswith("error Timeout"), lines
        assert IID in lines[0]
        assert slept == [1000, 2000]
        assert len(fake.requests_for(IID)) == 3


def test_404_is_not_retried():
    with FakeIMDS() as fake:
        p, lines, slept = probe(fake, "--fast-sleep", "get", "/latest/meta-data/nothing")
        assert p.returncode == 1
        assert lines[0].startswith("error NotFound"), lines
        assert slept == []


def test_identity_host_identifier_and_stripping_R031_R036():
    with FakeIMDS(region=" us-east-1 \t", partition="aws-cn") as fake:
        fake.extra["/latest/meta-data/services/domain"] = "  amazonaws.com.cn\n"
        p, lines, _ = probe(fake, "identity", "partition", "domain", "host-id")
        assert p.returncode == 0, p.stdout
        assert lines == [
            "ok region=us-east-1 account=123456789012 instance=%s" % fake.instance_id,
            "ok aws-cn", "ok amazonaws.com.cn",
            "ok arn:aws-cn:ec2:us-east-1:123456789012:instance/%s" % fake.instance_id], lines
        assert len(fake.requests_for("/latest/dynamic/instance-identity/document")) == 2
        assert len(fake.requests_for("/latest/api/token", "PUT")) == 1


def test_missing_partition_gives_no_malformed_arn_R037():
    with FakeIMDS() as fake:
        fake.extra["/latest/meta-data/services/partition"] = None
        p, lines, _ = probe(fake, "--fast-sleep", "host-id")
        assert p.returncode == 1
        assert lines[0].startswith("error NotFound build EC2 host identifier"), lines
        assert "arn:" not in p.stdout


def test_role_credentials_document_R040():
    with FakeIMDS() as fake:
        p, lines, _ = probe(fake, "role-creds", "creds")
        assert p.returncode == 0, p.stdout
        role, cred = lines
        c1 = fake.credentials()  # after two role-document GETs: serial 2
        assert role.startswith("ok role=cdagent-test-role key=")
        assert "secret=%s-1 " % fake.secret_key in role and "token=%s-1 " % fake.session_token in role
        assert cred == "ok source=instance profile (IMDS) key=%s secret=%s token=%s" % (
            c1["AccessKeyId"], c1["SecretAccessKey"], c1["Token"]), cred
        assert len(fake.requests_for("/latest/meta-data/iam/security-credentials/")) == 2


def test_role_credentials_cached_then_refetched_after_invalidate_R040():
    with FakeIMDS() as fake:
        p, lines, _ = probe(fake, "creds", "creds", "invalidate", "creds")
        assert p.returncode == 0, p.stdout
        assert lines[0] == lines[1]
        assert lines[3] != lines[0]
        role_doc = "/latest/meta-data/iam/security-credentials/cdagent-test-role"
        assert len(fake.requests_for(role_doc)) == 2


def test_no_role_is_missing_credentials_R041():
    with FakeIMDS(role=None) as fake:
        p, lines, _ = probe(fake, "--fast-sleep", "creds")
        assert p.returncode == 1
        assert lines[0].startswith("error Auth Missing credentials - please check if this "
                                   "instance was started with an IAM instance profile"), lines


def test_onprem_registration_never_touches_imds_R035():
    with FakeIMDS() as fake:
        p, lines, _ = probe(fake, "--user-arn", "arn:aws:iam::123456789012:user/host",
                            "--key", "AKIAONPREM", "--secret", "onprem-secret", "creds", "creds")
        assert p.returncode == 0, p.stdout
        assert lines == ["ok source=on-premises IAM user keys key=AKIAONPREM "
                         "secret=onprem-secret token="] * 2
        assert "requests 0" in p.stdout
        with harness.Env("creds") as env:
            path = env.write("session.ini", "---\n[default]\naws_access_key_id = ASIASESSION\n"
                             "aws_secret_access_key = sess-secret\naws_session_token = sess-tok\n")
            p, lines, _ = probe(fake, "--session-arn", "arn:aws:sts::1:assumed-role/r/host",
                                "--credentials-file", path, "creds")
            assert lines == ["ok source=on-premises session credentials file key=ASIASESSION "
                             "secret=sess-secret token=sess-tok"], lines
            os.unlink(path)
            p, lines, _ = probe(fake, "--session-arn", "arn:aws:sts::1:assumed-role/r/host",
                                "--credentials-file", path, "creds")
            assert lines[0].startswith("error") and \
                "Failed to load credentials from path %s" % path in lines[0], lines
        assert fake.requests == []


def test_probe_short_and_unreachable_R035():
    with FakeIMDS() as fake:
        p, lines, _ = probe(fake, "probe")
        assert lines == ["ok "], lines
    dead = "http://127.0.0.1:%d" % harness.free_port()
    p, lines, _ = probe(None, "--fast-sleep", "probe",
                        env_extra={"AWS_EC2_METADATA_SERVICE_ENDPOINT": dead})
    assert p.returncode == 1
    assert lines[0].startswith("error") and "IMDS probe" in lines[0], lines


def test_token_renewed_before_ttl_ends_R032():
    import time
    with FakeIMDS(mode="required") as fake:
        proc = subprocess.Popen([PROBE, "--ttl", "2", "get", IID, "pause", "get", IID],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, **fake.env()))
        try:
            first = proc.stdout.readline()
            assert first.startswith("ok "), first
            time.sleep(2.2)   # let the 2 s token lapse
            out, err = proc.communicate("go\n", timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, out + err
        puts = fake.requests_for("/latest/api/token", "PUT")
        assert [p["headers"][TTL] for p in puts] == ["2", "2"]
        assert len(fake.requests_for(IID)) == 2      # renewed ahead: no 401 round trip


def test_resolve_region_and_host_precedence_R029_R036_V021():
    doc = "/latest/dynamic/instance-identity/document"
    env_clear = {"AWS_REGION": "", "AWS_HOST_IDENTIFIER": ""}
    with FakeIMDS(region="us-west-2") as fake:
        fake.domain = "amazonaws.com"
        p, lines, _ = probe(fake, "resolve", env_extra=env_clear)
        assert lines == ["ok region=us-west-2 host=arn:aws:ec2:us-west-2:123456789012:instance/%s "
                         "domain=amazonaws.com imds=yes" % fake.instance_id], lines
        assert len(fake.requests_for(doc)) == 1          # one document for both values
        fake.clear_requests()
        # AWS_REGION beats the document for the region; the ARN keeps the instance's region.
        p, lines, _ = probe(fake, "resolve", env_extra={"AWS_REGION": "eu-central-1",
                                                        "AWS_HOST_IDENTIFIER": ""})
        assert lines[0].startswith("ok region=eu-central-1 host=arn:aws:ec2:us-west-2:"), lines
        fake.clear_requests()
        # A registered on-premises host: nothing is asked of IMDS.
        p, lines, _ = probe(fake, "--onprem-region", "ap-northeast-1", "--onprem-host",
                            "arn:aws:iam::123456789012:user/onprem", "resolve",
                            env_extra={"AWS_REGION": "eu-central-1"})
        assert lines == ["ok region=ap-northeast-1 host=arn:aws:iam::123456789012:user/onprem "
                         "domain=- imds=no"], lines
        assert fake.requests == []
