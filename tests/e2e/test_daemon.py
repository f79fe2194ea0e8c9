"""The daemon end to end: the real agent binary polling the project's fake CodeDeploy Commands
endpoint (SigV4 checked by botocore) and downloading from the real S3-compatible server
(spec §4-§9, §11-§13; issue #8 scenarios)."""
import contextlib
import json
import os
import signal
import subprocess
import time

import harness
from daemonenv import DaemonEnv, HOST_ARN, check_clean, hook_bundle, wait_file_lines

try:
    import s3 as s3mod
    from commands_server import FakeCommands, blue_green, in_place, s3_revision
except Exception as e:  # the fakes are part of the project; an import error is a failure
    raise


HOOKS = ["ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart",
         "ValidateService"]


def servers(**kw):
    s3 = s3mod.S3Server()
    s3.start()
    fc = FakeCommands(creds={"access_key": s3.access_key, "secret_key": s3.secret_key}, **kw)
    fc.start()
    return fc, s3


def stop_servers(fc, s3):
    fc.stop()
    s3.stop()


@contextlib.contextmanager
def daemon_world(**kw):
    """The fake Commands endpoint, the S3 server and an agent environment, torn down after."""
    fc, s3 = servers(**kw)
    try:
        with DaemonEnv(fc, s3) as env:
            yield fc, s3, env
    finally:
        stop_servers(fc, s3)


def one_script_bundle(event, name, body, timeout=None):
    """A zip bundle whose AppSpec runs one script for one event."""
    spec = "version: 0.0\nos: linux\nhooks:\n  %s:\n    - location: %s\n" % (event, name)
    if timeout:
        spec += "      timeout: %d\n" % timeout
    return hook_bundle("zip", "/dev/null", [], extra_files={"appspec.yml": (spec, 0o644),
                                                         name: (body, 0o755)})


def diag(c):
    """The completion's diagnostics payload, as the fake parsed it (member order kept)."""
    return c["diagnostics"]


def run_deployment(kind):
    with daemon_world() as (fc, s3, env):
        rec = env.path("events.txt")
        dest = env.path("installed")
        s3.create_bucket("bucket")
        s3.put_object("bucket", "app." + kind, hook_bundle(kind, rec, HOOKS, dest=dest))
        fc.add_deployment(in_place("d-INPLACE%02d" % len(kind),
                                   s3_revision("bucket", "app." + kind, kind)))
        env.start()
        dep = "d-INPLACE%02d" % len(kind)
        assert fc.wait_deployment(dep, 90) == "Succeeded", fc.completions(dep)
        comps = fc.completions(dep)
        assert [c["command"] for c in comps] == ["ApplicationStop", "DownloadBundle",
                                                 "BeforeInstall", "Install", "AfterInstall",
                                                 "ApplicationStart", "ValidateService"]
        for c in comps:
            assert c["status"] == "Succeeded", c
            assert c["completions"] == 1, c
            # V-009: DownloadBundle alone carries the BundleSource note the service counts.
            note = "BundleSource=downloaded" if c["command"] == "DownloadBundle" else ""
            assert diag(c) == {"error_code": 0, "script_name": "", "message": "Succeeded: " + note,
                               "log": ""}, c
        # ApplicationStop on the first deployment is a no-op acknowledgement.
        assert comps[0]["acks"][0]["is_noop"] is True, comps[0]
        assert comps[1]["acks"][0]["is_noop"] is False
        assert open(os.path.join(dest, "hello.txt")).read() == "hello\n"
        events = [l.split()[0] for l in open(rec)]
        assert events == HOOKS[1:], events
        dd = os.path.join(env.root, "dg-0001", dep)
        assert os.path.isfile(os.path.join(dd, "bundle.tar"))
        assert "[stdout]ran ValidateService" in open(os.path.join(dd, "logs", "scripts.log")).read()
        last = open(os.path.join(env.root, "deployment-instructions",
                                 "dg-0001_last_successful_install")).read()
        assert last == dd
        check_clean(fc)
        log = env.agent_log()
        assert "CodeDeploy endpoint: %s" % fc.url in log
        assert "Received command DownloadBundle" in log
        assert s3.secret_key not in log, "secrets never logged (R-200)"
        assert env.stop() == 0
        assert "All agent child threads have been shut down" in env.agent_log()


def test_in_place_zip():
    run_deployment("zip")


def test_in_place_tar():
    run_deployment("tar")


def test_in_place_tgz():
    run_deployment("tgz")


def test_second_deployment_runs_previous_application_stop_R095():
    with daemon_world() as (fc, s3, env):
        rec = env.path("events.txt")
        s3.create_bucket("bucket")
        s3.put_object("bucket", "v1.zip", hook_bundle("zip", rec, ["ApplicationStop"]))
        s3.put_object("bucket", "v2.zip", hook_bundle("zip", rec, ["ApplicationStart"]))
        fc.add_deployment(in_place("d-FIRST0001", s3_revision("bucket", "v1.zip")))
        fc.add_deployment(in_place("d-SECOND001", s3_revision("bucket", "v2.zip"),
                                   after="d-FIRST0001"))
        env.start()
        assert fc.wait_deployment("d-SECOND001", 90) == "Succeeded", fc.completions()
        lines = open(rec).read().splitlines()
        # The second deployment's ApplicationStop runs the FIRST revision's script, with the
        # second deployment's id in its environment.
        assert lines == ["ApplicationStop d-SECOND001 dg-0001", "ApplicationStart d-SECOND001 dg-0001"], lines
        check_clean(fc)


def test_blue_green_traffic_events_R093():
    with daemon_world() as (fc, s3, env):
        rec = env.path("events.txt")
        s3.create_bucket("bucket")
        s3.put_object("bucket", "bg.zip", hook_bundle(
            "zip", rec, HOOKS + ["BeforeAllowTraffic", "AfterAllowTraffic",
                                 "BeforeBlockTraffic", "AfterBlockTraffic"]))
        fc.add_deployment(blue_green("d-BLUEGREEN", s3_revision("bucket", "bg.zip")))
        env.start()
        assert fc.wait_deployment("d-BLUEGREEN", 120) == "Succeeded", fc.completions()
        ev = [l.split()[0] for l in open(rec)]
        assert "BeforeAllowTraffic" in ev and "AfterAllowTraffic" in ev, ev
        assert ev.index("BeforeAllowTraffic") < ev.index("AfterAllowTraffic")
        assert ev[-2:] == ["BeforeBlockTraffic", "AfterBlockTraffic"], ev
        check_clean(fc)


def test_failing_hook_reports_diagnostics_R190():
    with daemon_world() as (fc, s3, env):
        s3.create_bucket("bucket")
        s3.put_object("bucket", "bad.zip", hook_bundle(
            "zip", env.path("r"), ["AfterInstall"],
            script="#!/bin/sh\necho working\necho broken >&2\nexit 2\n"))
        fc.add_deployment(in_place("d-FAILHOOK1", s3_revision("bucket", "bad.zip")))
        env.start()
        assert fc.wait_deployment("d-FAILHOOK1", 90) == "Failed"
        c = [c for c in fc.completions("d-FAILHOOK1") if c["command"] == "AfterInstall"][0]
        assert c["status"] == "Failed" and c["completions"] == 1
        d = diag(c)
        assert d["error_code"] == 4
        assert d["script_name"] == "scripts/hook.sh"
        assert d["message"] == "Script at specified location: scripts/hook.sh failed with exit code 2"
        assert d["log"] == "LifecycleEvent - AfterInstall\nScript - scripts/hook.sh\n[stdout]working\n[stderr]broken\n", d
        assert list(d.keys()) == ["error_code", "script_name", "message", "log"]
        check_clean(fc)


def test_timed_out_hook_R165():
    with daemon_world() as (fc, s3, env):
        s3.create_bucket("bucket")
        bundle = one_script_bundle("ApplicationStart", "slow.sh",
                                   "#!/bin/sh\ntrap '' TERM\nsleep 30\n", timeout=2)
        s3.put_object("bucket", "slow.zip", bundle)
        fc.add_deployment(in_place("d-TIMEOUT01", s3_revision("bucket", "slow.zip")))
        env.start()
        assert fc.wait_deployment("d-TIMEOUT01", 90) == "Failed"
        c = [c for c in fc.completions("d-TIMEOUT01") if c["command"] == "ApplicationStart"][0]
        d = diag(c)
        assert d["error_code"] == 3, d
        assert d["message"] == "Script at specified location: slow.sh failed to complete in 2 seconds"


def test_tampered_spec_runs_nothing_R081():
    with daemon_world() as (fc, s3, env):
        rec = env.path("events.txt")
        s3.create_bucket("bucket")
        s3.put_object("bucket", "t.zip", hook_bundle("zip", rec, HOOKS))
        fc.add_deployment(in_place("d-TAMPERED1", s3_revision("bucket", "t.zip"),
                                   spec_mode="tampered", application_stop=False))
        env.start()
        assert fc.wait_deployment("d-TAMPERED1", 60) == "Failed"
        c = fc.completions("d-TAMPERED1")[0]
        assert c["command"] == "DownloadBundle" and c["status"] == "Failed"
        assert diag(c)["message"] == "Validation of PKCS7 signed message failed", diag(c)
        assert diag(c)["error_code"] == 5
        assert not c["acks"], "a command whose spec fails is completed, not acknowledged"
        assert not os.path.exists(rec)
        assert not s3.gets("bucket"), "nothing downloaded"


def test_s3_errors_fail_with_clear_message_R114():
    with daemon_world() as (fc, s3, env):
        s3.create_bucket("bucket")
        s3.put_object("bucket", "denied.zip", b"x")
        s3.deny("bucket", "denied.zip")
        fc.add_deployment(in_place("d-S3MISSING", s3_revision("bucket", "nope.zip"),
                                   application_stop=False))
        fc.add_deployment(in_place("d-S3DENIED1", s3_revision("bucket", "denied.zip"),
                                   application_stop=False, after="d-S3MISSING"))
        env.start()
        assert fc.wait_deployment("d-S3MISSING", 60) == "Failed"
        m = diag(fc.completions("d-S3MISSING")[0])["message"]
        assert m.startswith("S3 GetObject s3://bucket/nope.zip: 404 NoSuchKey"), m
        assert fc.wait_deployment("d-S3DENIED1", 60) == "Failed"
        m = diag(fc.completions("d-S3DENIED1")[0])["message"]
        assert m.startswith("S3 GetObject s3://bucket/denied.zip: 403 AccessDenied"), m
        assert env.agent.poll() is None, "the agent keeps running"


def test_control_plane_faults_then_recovery_R064_R065():
    with daemon_world() as (fc, s3, env):
        rec = env.path("events.txt")
        s3.create_bucket("bucket")
        s3.put_object("bucket", "f.zip", hook_bundle("zip", rec, ["ApplicationStart"]))
        fc.add_fault({"op": "PollHostCommand", "kind": "500", "count": 4})
        fc.add_fault({"op": "PutHostCommandAcknowledgement", "kind": "throttle", "count": 2})
        fc.add_fault({"op": "PutHostCommandComplete", "kind": "drop", "count": 2})
        fc.add_fault({"op": "GetDeploymentSpecification", "kind": "500", "count": 1})
        fc.add_deployment(in_place("d-FAULTS001", s3_revision("bucket", "f.zip"),
                                   application_stop=False))
        env.start()
        assert fc.wait_deployment("d-FAULTS001", 150) == "Succeeded", fc.completions()
        assert [l.split()[0] for l in open(rec)] == ["ApplicationStart"], "ran exactly once"
        check_clean(fc)
        assert "Cannot reach InstanceService" in env.agent_log() or \
            "Error during perform" in env.agent_log() or "Network error" in env.agent_log()


def test_sigkill_mid_hook_then_restart_fails_event_R076():
    with daemon_world() as (fc, s3, env):
        started = env.path("started")
        s3.create_bucket("bucket")
        bundle = one_script_bundle("ApplicationStart", "wait.sh",
                                   "#!/bin/sh\ntouch %s\nsleep 20\n" % started)
        s3.put_object("bucket", "k.zip", bundle)
        s3.put_object("bucket", "ok.zip", hook_bundle("zip", env.path("r2"), ["BeforeInstall"]))
        fc.add_deployment(in_place("d-KILLED001", s3_revision("bucket", "k.zip"),
                                   application_stop=False))
        env.start()
        harness.wait_for(lambda: os.path.exists(started), 60, "hook start")
        tdir = os.path.join(env.root, "ongoing-deployment")
        assert os.listdir(tdir) == ["d-KILLED001"]
        env.agent.send_signal(signal.SIGKILL)
        env.agent.wait(10)
        fc.add_deployment(in_place("d-AFTERKILL", s3_revision("bucket", "ok.zip"),
                                   application_stop=False))
        env.start()
        assert fc.wait_deployment("d-KILLED001", 60) == "Failed"
        c = [c for c in fc.completions("d-KILLED001") if c["command"] == "ApplicationStart"][0]
        assert diag(c) == {"error_code": 7, "script_name": "",
                           "message": "Failed: Failing in-progress lifecycle event after an agent restart.",
                           "log": ""}, c
        assert fc.wait_deployment("d-AFTERKILL", 90) == "Succeeded"
        assert "Deployment tracking file found" in env.agent_log()


def test_sigterm_mid_hook_finishes_and_reports_R077():
    with daemon_world() as (fc, s3, env):
        started = env.path("started")
        s3.create_bucket("bucket")
        bundle = one_script_bundle("ApplicationStart", "wait.sh",
                                   "#!/bin/sh\ntouch %s\nsleep 3\necho finished\n" % started)
        s3.put_object("bucket", "t.zip", bundle)
        fc.add_deployment(in_place("d-SIGTERM01", s3_revision("bucket", "t.zip"),
                                   application_stop=False))
        env.start()
        harness.wait_for(lambda: os.path.exists(started), 60, "hook start")
        t0 = time.monotonic()
        assert env.stop(signal.SIGTERM, timeout=40) == 0
        c = [c for c in fc.completions("d-SIGTERM01") if c["command"] == "ApplicationStart"][0]
        assert c["status"] == "Succeeded" and c["completions"] == 1, c
        assert time.monotonic() - t0 >= 1.5, "the agent waited for the running hook"
        # Stopped agents poll no more: ValidateService is still waiting in the service.
        assert "ValidateService" not in [c["command"] for c in fc.completions("d-SIGTERM01")]
        log = env.agent_log()
        assert "Gracefully shutting down agent child threads now, will wait up to 30 seconds" in log
        assert not os.path.exists(os.path.join(env.piddir, "codedeploy-agent.pid"))


def test_two_deployment_groups_run_concurrently_R072():
    with daemon_world() as (fc, s3, env):
        rec = env.path("times.txt")
        s3.create_bucket("bucket")
        script = ("#!/bin/sh\necho \"start $DEPLOYMENT_GROUP_ID $(date +%%s.%%N)\" >> %s\n"
                  "sleep 2\necho \"end $DEPLOYMENT_GROUP_ID $(date +%%s.%%N)\" >> %s\n"
                  % (rec, rec))
        s3.put_object("bucket", "c.zip", hook_bundle("zip", rec, ["ApplicationStart"],
                                                     script=script))
        fc.add_deployment(in_place("d-GROUPA001", s3_revision("bucket", "c.zip"),
                                   group_id="group-a", application_stop=False))
        fc.add_deployment(in_place("d-GROUPB001", s3_revision("bucket", "c.zip"),
                                   group_id="group-b", application_stop=False))
        env.start()
        assert fc.wait_deployment("d-GROUPA001", 90) == "Succeeded"
        assert fc.wait_deployment("d-GROUPB001", 90) == "Succeeded"
        t = {}
        for l in open(rec):
            what, grp, ts = l.split()
            t[(what, grp)] = float(ts)
        # Overlap: each group's hook started before the other's ended.
        assert t[("start", "group-a")] < t[("end", "group-b")]
        assert t[("start", "group-b")] < t[("end", "group-a")]
        check_clean(fc)


def test_update_deployment_agent_refused_V090():
    with daemon_world() as (fc, s3, env):
        fc.add_deployment({"deployment_id": "d-UPDATE001", "group_id": "dg-0001",
                           "commands": ["UpdateDeploymentAgent"],
                           "revision": s3_revision("bucket", "x.zip")})
        env.start()
        assert fc.wait_deployment("d-UPDATE001", 60) == "Failed"
        c = fc.completions("d-UPDATE001")[0]
        assert c["acks"][0]["is_noop"] is True, c
        assert diag(c)["error_code"] == 5
        assert diag(c)["message"] == "Unsupported command type: UpdateDeploymentAgent."
        assert not os.path.exists(os.path.join(env.root, "dg-0001", "d-UPDATE001")), \
            "no directory is created for an unsupported command (R-089)"


def test_bad_config_refuses_to_start():
    with harness.Env("badcfg") as env:
        cfg = env.write("agent.yml", ":max_revisions: five\n")
        r = harness.run([harness.AGENT, "--config_file", cfg, "run"], timeout=20)
        assert r.returncode != 0
        assert "agent.yml line 1" in r.stderr and "max_revisions" in r.stderr, r.stderr


def test_status_via_notify_socket_and_cli():
    with daemon_world() as (fc, s3, env):
        env.start(notify=True)
        harness.wait_for(lambda: "READY=1" in env.notify.messages, 30, "READY=1")
        harness.wait_for(lambda: any(s.startswith("Idle, polling 127.0.0.1")
                                     for s in env.notify.statuses()), 30, "Idle STATUS")
        r = harness.run([harness.AGENT, "--config_file", env.config, "status"])
        assert r.returncode == 0, r
        assert r.stdout.startswith("The AWS CodeDeploy agent is running as PID %d" % env.agent.pid)
        cmdline = open("/proc/%d/cmdline" % env.agent.pid, "rb").read().split(b"\0")[0]
        assert cmdline == b"codedeploy-agent: master %d" % env.agent.pid, cmdline
        assert "Idle, polling" in r.stdout
        r = harness.run([harness.AGENT, "--config_file", env.config, "start"])
        assert r.returncode == 1
        assert "already running as PID %d" % env.agent.pid in r.stderr
        assert env.stop() == 0
        assert "STOPPING=1" in env.notify.messages
        r = harness.run([harness.AGENT, "--config_file", env.config, "status"])
        assert r.returncode == 1
        assert "error: No AWS CodeDeploy agent running" in r.stderr


def test_cli_start_stop_and_usage_R004_R009():
    with daemon_world() as (fc, s3, env):
        r = harness.run([harness.AGENT, "--config_file", env.config, "bogus"])
        assert r.returncode == 64 and "start" in r.stderr and "status" in r.stderr
        r = harness.run([harness.AGENT, "--version"])
        assert r.returncode == 0 and r.stdout.startswith("cdagent ")
        r = harness.run([harness.AGENT, "--config_file", env.config, "stop"])
        assert r.returncode == 0 and "Nothing running that could be stopped" in r.stdout
        r = harness.run([harness.AGENT, "--config_file", env.config, "start"], timeout=30)
        assert r.returncode == 0, r
        pidfile = os.path.join(env.piddir, "codedeploy-agent.pid")
        pid = int(open(pidfile).read())
        assert os.path.exists("/proc/%d" % pid)
        r = harness.run([harness.AGENT, "--config_file", env.config, "stop"], timeout=60)
        assert r.returncode == 0, r
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().split()[2] == "Z"
        with open(pidfile, "w") as f:
            f.write("999999\n")
        r = harness.run([harness.AGENT, "--config_file", env.config, "status"])
        assert "present but no matching process running - cleaning up" in r.stdout
        assert r.returncode == 1 and not os.path.exists(pidfile)


def test_restart_recovery_fails_only_newest_command_R076():
    with daemon_world() as (fc, s3, env):
        tdir = os.path.join(env.root, "ongoing-deployment")
        os.makedirs(tdir)
        with open(os.path.join(tdir, "d-OLDER0001"), "w") as f:
            f.write("HCID-older")
        os.utime(os.path.join(tdir, "d-OLDER0001"), (time.time() - 60, time.time() - 60))
        with open(os.path.join(tdir, "d-NEWER0001"), "w") as f:
            f.write("HCID-newer")
        env.start()
        harness.wait_for(lambda: fc.state()["unknown_completions"], 30, "recovery completion")
        time.sleep(1.5)
        unk = fc.state()["unknown_completions"]
        assert len(unk) == 1, unk
        assert unk[0]["host_command_identifier"] == "HCID-newer"
        assert unk[0]["status"] == "Failed"
        assert unk[0]["diagnostics"]["error_code"] == 7
        assert not os.path.exists(tdir), "the tracking directory is removed (R-076)"
        assert ("Deployment tracking file found: %s. The agent likely restarted" % tdir) in \
            env.agent_log()


def test_missing_previous_revision_fails_with_clear_message_R097():
    with daemon_world() as (fc, s3, env):
        rec = env.path("events.txt")
        s3.create_bucket("bucket")
        s3.put_object("bucket", "v1.zip", hook_bundle("zip", rec, ["ApplicationStop"]))
        fc.add_deployment(in_place("d-PREVREV01", s3_revision("bucket", "v1.zip"),
                                   application_stop=False))
        env.start()
        assert fc.wait_deployment("d-PREVREV01", 90) == "Succeeded"
        import shutil
        shutil.rmtree(os.path.join(env.root, "dg-0001", "d-PREVREV01"))
        fc.add_deployment(in_place("d-PREVREV02", s3_revision("bucket", "v1.zip")))
        assert fc.wait_deployment("d-PREVREV02", 60) == "Failed"
        c = fc.completions("d-PREVREV02")[0]
        assert c["command"] == "ApplicationStop"
        m = diag(c)["message"]
        assert m.startswith("The CodeDeploy agent did not find an AppSpec file within the "
                            "unpacked revision directory"), m
        assert os.path.join(env.root, "dg-0001", "d-PREVREV01", "deployment-archive") in m
        assert ("(this script belongs to the previous revision recorded in %s; redeploy with "
                "--ignore-application-stop-failures or remove that file to skip it)" %
                os.path.join(env.root, "deployment-instructions",
                             "dg-0001_last_successful_install")) in m, m
        assert diag(c)["error_code"] == 5


def test_host_identifier_mismatch_is_neither_acked_nor_completed_R069():
    with daemon_world() as (fc, s3, env):
        fc.add_deployment(in_place("d-OTHERHOST", s3_revision("bucket", "x.zip"),
                                   application_stop=False,
                                   command_host_identifier="arn:aws:iam::1:user/someone-else"))
        env.start()
        harness.wait_for(lambda: "Host Identifier mismatch" in env.agent_log(), 30, "mismatch")
        c = fc.completions("d-OTHERHOST")[0]
        assert not c["acks"] and c["completions"] == 0, c
        assert ("Host Identifier mismatch: %s != arn:aws:iam::1:user/someone-else" % HOST_ARN) \
            in env.agent_log()


def test_ack_status_failed_noop_completes_noop_R070():
    with daemon_world() as (fc, s3, env):
        fc.add_deployment({"deployment_id": "d-ACKFAIL01", "group_id": "dg-0001",
                           "commands": ["ApplicationStop"], "ack_status": "Failed",
                           "revision": s3_revision("bucket", "x.zip")})
        fc.add_deployment({"deployment_id": "d-ACKDONE01", "group_id": "dg-0001",
                           "commands": ["BeforeInstall"], "ack_status": "Succeeded",
                           "revision": s3_revision("bucket", "x.zip"),
                           "after": "d-ACKFAIL01"})
        env.start()
        fc.wait_deployment("d-ACKFAIL01", 60)
        c = fc.completions("d-ACKFAIL01")[0]
        harness.wait_for(lambda: fc.completions("d-ACKFAIL01")[0]["completions"] == 1, 20,
                         "noop completion")
        c = fc.completions("d-ACKFAIL01")[0]
        assert c["acks"][0]["is_noop"] is True
        assert diag(c) == {"error_code": 0, "script_name": "",
                           "message": "Succeeded: CompletedNoopCommand", "log": ""}, c
        try:
            fc.wait_deployment("d-ACKDONE01", 20)
        except AssertionError:
            raise AssertionError(env.agent_log()[-3000:])
        time.sleep(1.5)
        c = fc.completions("d-ACKDONE01")[0]
        assert c["completions"] == 0, "after an ack answered Succeeded nothing more is sent"


def test_deployment_system_mismatch_fails_R070():
    with daemon_world() as (fc, s3, env):
        fc.add_deployment(in_place("d-SYSTEM001", s3_revision("bucket", "x.zip"),
                                   application_stop=False, deployment_system="Other"))
        env.start()
        assert fc.wait_deployment("d-SYSTEM001", 60) == "Failed"
        c = fc.completions("d-SYSTEM001")[0]
        assert diag(c)["message"] == "Deployment System mismatch: CodeDeploy != Other", diag(c)
        assert not c["acks"]


def test_s3_transfer_cut_short_is_resumed_R108():
    with daemon_world() as (fc, s3, env):
        rec = env.path("events.txt")
        s3.create_bucket("bucket")
        big = os.urandom(300000)
        bundle = hook_bundle("zip", rec, ["AfterInstall"],
                             extra_files={"payload.bin": (big, 0o644)})
        s3.put_object("bucket", "big.zip", bundle)
        s3.cut_after(100000, times=2)
        fc.add_deployment(in_place("d-TRUNCATE1", s3_revision("bucket", "big.zip"),
                                   application_stop=False))
        env.start()
        assert fc.wait_deployment("d-TRUNCATE1", 90) == "Succeeded", fc.completions()
        gets = s3.gets("bucket", "big.zip")
        assert len(gets) >= 3, gets
        assert any("range" in {k.lower() for k in g["headers"]} for g in gets[1:]), gets
        data = open(os.path.join(env.root, "dg-0001", "d-TRUNCATE1", "deployment-archive",
                                 "payload.bin"), "rb").read()
        assert data == big
        assert [l.split()[0] for l in open(rec)] == ["AfterInstall"]
