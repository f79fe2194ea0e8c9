"""Issue 16 end to end: what no CodeDeploy agent gave its users before - signed revisions, the
full hook output in S3, disk safety and a disk budget, metrics, history, progress.  The real
agent binary against the fake Commands endpoint and the S3 server (SigV4 checked on every
request, PutObject included)."""
import contextlib
import json
import os
import pty
import re
import select
import subprocess
import time

import harness
from daemonenv import DaemonEnv, HOST_ARN, check_clean, hook_bundle

import s3 as s3mod
from commands_server import FakeCommands, in_place, s3_revision


@contextlib.contextmanager
def world(extra_config=""):
    s3 = s3mod.S3Server()
    s3.start()
    fc = FakeCommands(creds={"access_key": s3.access_key, "secret_key": s3.secret_key})
    fc.start()
    try:
        with DaemonEnv(fc, s3, extra_config=extra_config) as env:
            yield fc, s3, env
    finally:
        fc.stop()
        s3.stop()


def openssl(*args, data=None):
    r = subprocess.run(["openssl"] + list(args), input=data, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def keypair(env, name, kind):
    """A private key and its public PEM, made with openssl as the README shows."""
    priv = env.path(name + ".key")
    if kind == "ed25519":
        openssl("genpkey", "-algorithm", "ed25519", "-out", priv)
    else:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", priv)
    return priv, openssl("pkey", "-in", priv, "-pubout").decode()


def sign(env, priv, data, b64=False):
    """Sign with the pipelines' script examples/ci/sign-revision.sh (openssl)."""
    src = env.path("to-sign.bin")
    with open(src, "wb") as f:
        f.write(data)
    r = subprocess.run(["sh", os.path.join(harness.SRC, "examples", "ci", "sign-revision.sh"),
                        src, priv], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    sig = open(src + ".sig", "rb").read()
    return openssl("base64", data=sig) if b64 else sig


def failed_message(fc, dep, command):
    c = [c for c in fc.completions(dep) if c["command"] == command][0]
    assert c["status"] == "Failed", c
    return c["diagnostics"]["message"]


def test_signed_revisions_required_and_verified():
    with world() as (fc, s3, env):
        ed_priv, ed_pub = keypair(env, "ed", "ed25519")
        ec_priv, ec_pub = keypair(env, "ec", "ecdsa")
        _, other_pub = keypair(env, "other", "ed25519")
        keys = env.write("conf/signing-keys.pem", ed_pub + ec_pub)
        with open(env.config, "a") as f:
            f.write(":bundle_signing_public_keys: '%s'\n" % keys)
        rec = env.path("events.txt")
        s3.create_bucket("bucket")
        bundle = hook_bundle("zip", rec, ["BeforeInstall"])
        s3.put_object("bucket", "unsigned.zip", bundle)
        s3.put_object("bucket", "forged.zip", bundle)
        s3.put_object("bucket", "forged.zip.sig", sign(env, env.path("other.key"), bundle))
        s3.put_object("bucket", "ed.zip", bundle)
        s3.put_object("bucket", "ed.zip.sig", sign(env, ed_priv, bundle))
        s3.put_object("bucket", "ec.zip", bundle)
        s3.put_object("bucket", "ec.zip.sig", sign(env, ec_priv, bundle, b64=True))
        tampered = bundle + b"\0"
        s3.put_object("bucket", "tampered.zip", tampered)
        s3.put_object("bucket", "tampered.zip.sig", sign(env, ed_priv, bundle))
        chain = [("d-UNSIGNED1", "unsigned.zip"), ("d-FORGED001", "forged.zip"),
                 ("d-TAMPERED2", "tampered.zip"), ("d-SIGNEDED1", "ed.zip"),
                 ("d-SIGNEDEC1", "ec.zip")]
        prev = None
        for dep, key in chain:
            fc.add_deployment(in_place(dep, s3_revision("bucket", key), application_stop=False,
                                       **({"after": prev} if prev else {})))
            prev = dep
        env.start()
        for dep, _ in chain[:3]:
            assert fc.wait_deployment(dep, 90) == "Failed", fc.completions(dep)
        m = failed_message(fc, "d-UNSIGNED1", "DownloadBundle")
        assert "signature s3://bucket/unsigned.zip.sig could not be fetched" in m, m
        assert "404" in m and ":bundle_signing_public_keys:" in m, m
        for dep in ("d-FORGED001", "d-TAMPERED2"):
            m = failed_message(fc, dep, "DownloadBundle")
            assert "does not verify with any of the 2 configured key(s)" in m, m
            assert "signing-keys.pem#1 (Ed25519, sha256:" in m, m
            assert "signing-keys.pem#2 (ECDSA prime256v1, sha256:" in m, m
        # Nothing of a refused revision was unpacked or run, and its bytes are not kept.
        for dep, _ in chain[:3]:
            for name in ("deployment-archive", "bundle.tar"):
                assert not os.path.exists(os.path.join(env.root, "dg-0001", dep, name)), dep
        assert fc.wait_deployment("d-SIGNEDED1", 90) == "Succeeded", fc.completions("d-SIGNEDED1")
        assert fc.wait_deployment("d-SIGNEDEC1", 90) == "Succeeded", fc.completions("d-SIGNEDEC1")
        assert [l.split()[1] for l in open(rec)] == ["d-SIGNEDED1", "d-SIGNEDEC1"]
        log = env.agent_log()
        assert "Bundle signature s3://bucket/ed.zip.sig verified with key" in log
        assert "Bundle signature s3://bucket/ec.zip.sig verified with key" in log
        check_clean(fc)


NOISY = ("#!/bin/sh\ni=0\nwhile [ $i -lt 400 ]; do echo \"line $i of $LIFECYCLE_EVENT output\"; "
         "i=$((i+1)); done\necho 'tail marker' >&2\n%s\n")


def test_hook_logs_metrics_history_status_progress():
    extra = "\n".join([":hook_logs_s3_uri: s3://logs/ci/run-1/", ":metrics_file: '%s'",
                       ""])
    with world() as (fc, s3, env):
        metrics = env.path("textfile", "cdagent.prom")
        os.makedirs(os.path.dirname(metrics))
        with open(env.config, "a") as f:
            f.write(extra % metrics)
        s3.create_bucket("bucket")
        s3.create_bucket("logs")
        ok = hook_bundle("zip", "/dev/null", ["AfterInstall", "ApplicationStart"],
                         script=NOISY % "exit 0",
                         extra_files={"big.bin": (os.urandom(3 * 1000 * 1000), 0o644)})
        # The failing script also prints the host's secret key: the upload must redact it.
        leak = "grep aws_secret_access_key '%s'\nexit 3" % env.path(
            "conf/codedeploy.onpremises.yml")
        bad = hook_bundle("zip", "/dev/null", ["AfterInstall"], script=NOISY % leak)
        s3.put_object("bucket", "ok.zip", ok)
        s3.put_object("bucket", "bad.zip", bad)
        fc.add_deployment(in_place("d-HOOKLOGOK", s3_revision("bucket", "ok.zip"),
                                   application_stop=False))
        fc.add_deployment(in_place("d-HOOKLOGNO", s3_revision("bucket", "bad.zip"),
                                   application_stop=False, after="d-HOOKLOGOK"))
        env.start(notify=True)
        assert fc.wait_deployment("d-HOOKLOGOK", 90) == "Succeeded"
        assert fc.wait_deployment("d-HOOKLOGNO", 90) == "Failed"
        host = HOST_ARN.rsplit("/", 1)[1]
        # 1. The full output of each event that ran scripts, where the pipeline looks for it.
        text = s3.get_object("logs", "ci/run-1/d-HOOKLOGNO/%s/AfterInstall.log" % host)
        assert text is not None, [r["key"] for r in s3.puts("logs")]
        text = text.decode()
        ts = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
        assert re.match(ts + "LifecycleEvent - AfterInstall\n" + ts + "Script - scripts/hook.sh\n",
                        text), text[:200]
        assert "[stdout]line 0 of AfterInstall output\n" in text  # far beyond the 2 KB tail
        assert re.search(r"\[stdout\]line 399 of AfterInstall output\n" + ts +
                         r"\[stderr\]tail marker\n" + ts +
                         r"\[stdout\]aws_secret_access_key: REDACTED\n$", text), text[-300:]
        assert s3.secret_key not in text
        tail = [c for c in fc.completions("d-HOOKLOGNO")
                if c["command"] == "AfterInstall"][0]["diagnostics"]["log"]
        assert "line 0 of" not in tail and len(text) > 4 * len(tail)
        for ev in ("AfterInstall", "ApplicationStart"):
            assert s3.get_object("logs", "ci/run-1/d-HOOKLOGOK/%s/%s.log" % (host, ev))
        # Events without scripts upload nothing; every PUT passed the signature check.
        keys = sorted(r["key"] for r in s3.puts("logs"))
        assert keys == sorted(["ci/run-1/d-HOOKLOGOK/%s/AfterInstall.log" % host,
                               "ci/run-1/d-HOOKLOGOK/%s/ApplicationStart.log" % host,
                               "ci/run-1/d-HOOKLOGNO/%s/AfterInstall.log" % host]), keys
        assert all(r.get("status") == 200 for r in s3.puts("logs")), s3.puts("logs")
        # 2. An upload that fails never fails the deployment, and is logged once.
        s3.deny("logs")
        fc.add_deployment(in_place("d-LOGDENIED", s3_revision("bucket", "ok.zip"),
                                   application_stop=False))
        assert fc.wait_deployment("d-LOGDENIED", 90) == "Succeeded"
        log = env.agent_log()
        warned = [l for l in log.splitlines()
                  if "Uploading hook output to s3://logs/ci/run-1/d-LOGDENIED" in l
                  and " failed (the deployment goes on" in l]
        assert len(warned) == 1, warned
        assert "403 AccessDenied" in warned[0]
        # 3. The daemon's STATUS= showed the download's progress.
        st = [s for s in env.notify.statuses() if "DownloadBundle" in s and "MB/s" in s]
        assert any(re.match(r"d-HOOKLOGOK: DownloadBundle \d+/3 MB, \d+ MB/s", s) for s in st), st
        # 4. status --json while running: revision space, the last deployment.
        r = harness.run([harness.AGENT, "--config_file", env.config, "status", "--json"])
        assert r.returncode == 0, r.stderr
        st = json.loads(r.stdout)
        assert st["running"] is True and st["pid"] == env.agent.pid
        assert st["revisions_bytes"] > 3 * 1000 * 1000
        assert st["last_deployment"]["deployment_id"] == "d-LOGDENIED"
        r = harness.run([harness.AGENT, "--config_file", env.config, "status"])
        assert re.search(r"Revisions under .* use \d+\.\d MB", r.stdout), r.stdout
        check_clean(fc)
        assert env.stop() == 0
        # 5. The metrics file, parsed by the Prometheus client library's own parser.
        check_metrics(metrics)
        # 6. history, also with the agent stopped.
        r = harness.run([harness.AGENT, "--config_file", env.config, "history", "2"])
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split()[:3] == ["DEPLOYMENT", "GROUP", "RESULT"], lines
        assert lines[1].split()[:3] == ["d-LOGDENIED", "TestGroup", "Succeeded"], lines
        assert lines[2].split()[:3] == ["d-HOOKLOGNO", "TestGroup", "Failed"], lines
        assert lines[2].endswith("AfterInstall scripts/hook.sh"), lines
        r = harness.run([harness.AGENT, "--config_file", env.config, "history", "--json"])
        h = json.loads(r.stdout)
        assert [d["deployment_id"] for d in h] == ["d-LOGDENIED", "d-HOOKLOGNO", "d-HOOKLOGOK"]
        assert h[1]["failed_event"] == "AfterInstall" and h[1]["status"] == "Failed"
        assert [e["event"] for e in h[2]["events"]][:2] == ["DownloadBundle", "BeforeInstall"]
        r = harness.run([harness.AGENT, "--config_file", env.config, "status", "--json"])
        assert r.returncode == 1 and json.loads(r.stdout)["running"] is False
        r = harness.run([harness.AGENT, "--config_file", env.config, "status"])
        assert r.returncode == 1 and re.search(r"Revisions under .* use \d+\.\d MB", r.stdout), r
        r = harness.run([harness.AGENT, "--config_file", env.config, "history", "zero"])
        assert r.returncode == 64


def check_metrics(path):
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:  # `scripts/deps.sh check` installs it on Debian; optional with dnf
        raise harness.Skip("python3-prometheus-client is not installed")
    text = open(path).read()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    def value(name, **labels):
        for s in (s for f in fams.values() for s in f.samples):
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        raise AssertionError("%s %s not in %s" % (name, labels, text))
    assert fams["cdagent_info"].type == "gauge"
    assert value("cdagent_info", version="0.1.0") == 1
    assert fams["cdagent_deployments"].type == "counter"
    assert value("cdagent_deployments_total", result="succeeded") == 2
    assert value("cdagent_deployments_total", result="failed") == 1
    assert value("cdagent_lifecycle_events_total", event="AfterInstall", result="failed") == 1
    assert value("cdagent_lifecycle_events_total", event="AfterInstall", result="succeeded") == 2
    h = fams["cdagent_lifecycle_event_duration_seconds"]
    assert h.type == "histogram"
    assert value("cdagent_lifecycle_event_duration_seconds_count", event="DownloadBundle") == 3
    assert value("cdagent_lifecycle_event_duration_seconds_bucket", event="DownloadBundle",
                 le="+Inf") == 3
    assert value("cdagent_bundle_downloaded_bytes_total") > 6 * 1000 * 1000
    t = value("cdagent_last_successful_deployment_timestamp_seconds")
    assert abs(t - time.time()) < 600, t
    assert value("cdagent_poll_errors_total") == 0
    assert value("cdagent_poll_throttles_total") == 0


def test_disk_check_fails_early_with_the_numbers():
    # An allowance no disk can meet: the check must refuse before any byte is fetched.
    extra = ":bundle_expansion_allowance: 2000000000\n:max_bundle_extracted_bytes: '1000000TB'\n"
    with world(extra) as (fc, s3, env):
        s3.create_bucket("bucket")
        s3.put_object("bucket", "big.zip", hook_bundle("zip", env.path("r"), ["BeforeInstall"]))
        fc.add_deployment(in_place("d-TOOBIG001", s3_revision("bucket", "big.zip"),
                                   application_stop=False))
        env.start()
        assert fc.wait_deployment("d-TOOBIG001", 90) == "Failed"
        m = failed_message(fc, "d-TOOBIG001", "DownloadBundle")
        assert re.match(r"not enough disk space in %s for s3://bucket/big\.zip: the bundle is "
                        r"\d+(\.\d)? k?B and needs \d+\.\d [kMGTP]B with the expansion allowance "
                        r"x2000000000 \(:bundle_expansion_allowance:\), but \d+\.\d [kMGT]B "
                        r"are free$" % re.escape(env.root), m), m
        assert not s3.gets("bucket", "big.zip"), "no download after a failed disk check"
        assert not os.path.exists(env.path("r"))


def test_disk_budget_keeps_current_and_last_successful():
    with world(":max_revisions_disk_mb: 1\n") as (fc, s3, env):
        s3.create_bucket("bucket")
        for i in (1, 2, 3):
            s3.put_object("bucket", "v%d.zip" % i, hook_bundle(
                "zip", "/dev/null", ["BeforeInstall"],
                extra_files={"blob.bin": (os.urandom(700 * 1000), 0o644)}))
        fc.add_deployment(in_place("d-BUDGET001", s3_revision("bucket", "v1.zip"),
                                   application_stop=False))
        fc.add_deployment(in_place("d-BUDGET002", s3_revision("bucket", "v2.zip"),
                                   application_stop=False, after="d-BUDGET001"))
        fc.add_deployment(in_place("d-BUDGET003", s3_revision("bucket", "v3.zip"),
                                   application_stop=False, after="d-BUDGET002"))
        env.start()
        assert fc.wait_deployment("d-BUDGET003", 120) == "Succeeded", fc.completions()
        group = os.path.join(env.root, "dg-0001")
        # :max_revisions: (5) would keep all three; the 1 MiB budget removed the oldest ones
        # except the last successful (d-BUDGET002 when d-BUDGET003 downloaded) and the current.
        assert sorted(os.listdir(group)) == ["d-BUDGET002", "d-BUDGET003"], os.listdir(group)
        assert "to stay within :max_revisions_disk_mb:" in env.agent_log()
        check_clean(fc)


def test_local_progress_bar_on_a_tty_and_plain_lines_otherwise():
    from localenv import LocalEnv
    with s3mod.S3Server() as s3, LocalEnv() as env:
        env.write("conf/onprem.yml", "\n".join([
            "---", "region: us-east-1", "iam_user_arn: arn:aws:iam::123456789012:user/local-host",
            "aws_access_key_id: %s" % s3.access_key,
            "aws_secret_access_key: %s" % s3.secret_key, ""]))
        with open(env.config, "a") as f:
            f.write(":s3_endpoint_override: '%s'\n" % s3.url)
        s3.create_bucket("bkt")
        s3.put_object("bkt", "app.zip", hook_bundle(
            "zip", "/dev/null", ["AfterInstall"],
            extra_files={"blob.bin": (os.urandom(2 * 1000 * 1000), 0o644)}))
        r = env.local("-l", "s3://bkt/app.zip", "-t", "zip")
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"^    downloaded \d+\.\d of 2\.\d MB \(\d+%\), \d+\.\d MB/s$", r.stdout,
                         re.M), r.stdout
        assert re.search(r"^    unpacking: \d+\.\d MB written, \d+\.\d MB/s$", r.stdout, re.M), r.stdout
        assert "\r" not in r.stdout and "\033" not in r.stdout
        assert re.search(r"ok AfterInstall \(\d+\.\d s\)", r.stdout), r.stdout
        out = run_on_tty([harness.LOCAL, "-c", env.config, "-l", "s3://bkt/app.zip", "-t", "zip"],
                         cwd=env.path())
        assert re.search(r"\r\033\[K    \[[#-]{24}\]  [\d.]+/2\.\d MB  [\d.]+ MB/s", out), out
        assert re.search(r"\r\033\[K    unpacking: \d+\.\d MB written", out), out
        assert "Local deployment successful" in out


def run_on_tty(argv, cwd):
    """Run argv with stdout on a pseudo-terminal; return everything it wrote."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execv(argv[0], argv)
    out = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    return out.decode(errors="replace")


def test_unusable_signing_keys_or_log_uri_refuse_to_start():
    with world() as (fc, s3, env):
        base = open(env.config).read()
        for extra, want in ((":bundle_signing_public_keys: '%s'\n" % env.path("nokeys.pem"),
                             ":bundle_signing_public_keys: read"),
                            (":hook_logs_s3_uri: 'https://bucket/prefix'\n",
                             ":hook_logs_s3_uri: expected an S3 URI")):
            with open(env.config, "w") as f:
                f.write(base + extra)
            env.start()
            assert env.agent.wait(30) != 0
            out = env.stderr_text()
            assert want in out, out
            assert not fc.requests(), "refused before polling"


FAKE_AWS = r'''#!/usr/bin/python3
"""Just enough of the aws CLI for examples/ci/show-hook-logs.sh, from $FAKE_AWS_STATE."""
import json, os, sys, urllib.request
st = json.load(open(os.environ["FAKE_AWS_STATE"]))
a = sys.argv[1:]
def opt(name):
    return a[a.index(name) + 1]
if a[:2] == ["deploy", "list-deployment-instances"]:
    print("\t".join(st["instances"]))
elif a[:2] == ["deploy", "get-deployment-instance"]:
    print("\t".join(st["failed"].get(opt("--instance-id"), [])))
elif a[:2] == ["s3", "cp"]:
    bucket, _, key = a[2][len("s3://"):].partition("/")
    try:
        data = urllib.request.urlopen("%s/%s/%s" % (st["backend"], bucket, key)).read()
    except Exception:
        sys.exit(1)
    open(a[3], "wb").write(data)
else:
    sys.exit("fake aws: unsupported %s" % a)
'''


def test_ci_example_prints_uploaded_hook_logs_failing_event_first():
    """examples/ci/show-hook-logs.sh (called by the GitHub and GitLab examples) against logs the
    agent uploaded, with a stand-in for the aws CLI."""
    with world(":hook_logs_s3_uri: s3://logs/pipeline\n") as (fc, s3, env):
        s3.create_bucket("bucket")
        s3.create_bucket("logs")
        script = "#!/bin/sh\necho \"output of $LIFECYCLE_EVENT\"\n" \
                 "[ \"$LIFECYCLE_EVENT\" != ApplicationStart ] || exit 7\n"
        s3.put_object("bucket", "app.zip", hook_bundle(
            "zip", "/dev/null", ["BeforeInstall", "AfterInstall", "ApplicationStart"],
            script=script))
        fc.add_deployment(in_place("d-CISHOW001", s3_revision("bucket", "app.zip"),
                                   application_stop=False))
        env.start()
        assert fc.wait_deployment("d-CISHOW001", 90) == "Failed"
        host = HOST_ARN.rsplit("/", 1)[1]
        bindir = env.path("bin")
        os.makedirs(bindir)
        with open(os.path.join(bindir, "aws"), "w") as f:
            f.write(FAKE_AWS)
        os.chmod(os.path.join(bindir, "aws"), 0o755)
        state = env.write("aws-state.json", json.dumps({
            "instances": [host], "failed": {host: ["ApplicationStart"]},
            "backend": "http://127.0.0.1:%d" % s3.backend_port}))
        e = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"], FAKE_AWS_STATE=state)
        r = subprocess.run(["sh", os.path.join(harness.SRC, "examples", "ci", "show-hook-logs.sh"),
                            "d-CISHOW001", "s3://logs/pipeline/"], capture_output=True,
                           text=True, env=e, timeout=60)
        assert r.returncode == 0, r.stderr
        heads = [l for l in r.stdout.splitlines() if l.startswith("===== ")]
        assert heads == ["===== %s %s (s3://logs/pipeline/d-CISHOW001/%s/%s.log) =====" %
                         (host, ev, host, ev)
                         for ev in ("ApplicationStart", "BeforeInstall", "AfterInstall")], r.stdout
        assert "[stdout]output of ApplicationStart" in r.stdout.split(heads[1])[0]
