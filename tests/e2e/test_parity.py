"""Parity with AWS's agent 2.1 (issue 15): restart ("bounce") deployments that reuse the archive
of an earlier deployment instead of downloading it (V-012, V-049, V-050, V-009, V-051), the
agent version in the .version file and the request header (V-004, V-087, R-048), and one host
switching cdagent -> AWS agent v2 -> cdagent on one deployment root (V-067, V-062, V-081, §10).
The real agent binary against the fake Commands endpoint and the S3-compatible server."""
import contextlib
import json
import os
import shutil
import subprocess
import time

import harness
from daemonenv import DaemonEnv, check_clean, hook_bundle
from test_daemon import servers, stop_servers

from commands_server import in_place, s3_revision

GROUP = "dg-0001"
HOOKS = ["BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"]
# Hooks record event, deployment and the BUNDLE_ETAG they see (V-042).
SCRIPT = ("#!/bin/sh\necho \"$LIFECYCLE_EVENT $DEPLOYMENT_ID etag=$BUNDLE_ETAG\" >> %s\n")


@contextlib.contextmanager
def world(extra_config=""):
    fc, s3 = servers()
    try:
        with DaemonEnv(fc, s3, extra_config=extra_config) as env:
            yield fc, s3, env
    finally:
        stop_servers(fc, s3)


def own_version():
    out = subprocess.run([harness.AGENT, "version"], capture_output=True, text=True).stdout
    return "cdagent-" + out.split()[-1]


def dep_dir(env, dep):
    return os.path.join(env.root, GROUP, dep)


def read(path):
    with open(path) as f:
        return f.read()


def download_message(fc, dep):
    (c,) = [c for c in fc.completions(dep) if c["command"] == "DownloadBundle"]
    assert c["status"] == "Succeeded", c
    d = c["diagnostics"]
    assert d["error_code"] == 0 and d["script_name"] == "" and d["log"] == "", d
    return d["message"]


def publish(s3, env, key="app.zip"):
    """The revision in S3 (no ETag in the spec: hooks get the one S3 returned, V-042)."""
    rec = env.path("events.txt")
    s3.create_bucket("bucket")
    s3.put_object("bucket", key, hook_bundle("zip", rec, HOOKS, script=SCRIPT % rec))
    return rec, s3.etag("bucket", key).strip('"')


def deploy(fc, dep, after=None, reuse=None, key="app.zip", timeout=90):
    kw = {"application_stop": False}
    if after:
        kw["after"] = after
    if reuse:
        kw["reuse_archive_from"] = reuse
    fc.add_deployment(in_place(dep, s3_revision("bucket", key), **kw))
    assert fc.wait_deployment(dep, timeout) == "Succeeded", fc.completions(dep)


def etags_seen(rec, dep):
    return {l.split()[2] for l in read(rec).splitlines() if l.split()[1] == dep}


def test_restart_deployment_reuses_archive_without_s3_request_V050_V009():
    with world() as (fc, s3, env):
        rec, etag = publish(s3, env)
        env.start()
        deploy(fc, "d-FIRST0001")
        first = dep_dir(env, "d-FIRST0001")
        assert download_message(fc, "d-FIRST0001") == "Succeeded: BundleSource=downloaded"
        assert read(os.path.join(first, ".bundle-source")) == "downloaded"
        assert read(os.path.join(first, ".bundle-etag")) == etag
        assert os.stat(os.path.join(first, "bundle.tar")).st_mode & 0o7777 == 0o644  # V-049 (4)
        assert etags_seen(rec, "d-FIRST0001") == {"etag=" + etag}
        assert len(s3.gets("bucket", "app.zip")) >= 1
        s3.clear_requests()

        # The restart names the source as a deployment ARN, reduced like DeploymentId (V-012).
        deploy(fc, "d-RESTART01", after="d-FIRST0001",
               reuse="arn:aws:codedeploy:us-east-1:123456789012:deployment/d-FIRST0001")
        assert s3.gets() == [], "a restart deployment downloads nothing"
        assert download_message(fc, "d-RESTART01") == "Succeeded: BundleSource=archive-reuse"
        again = dep_dir(env, "d-RESTART01")
        assert read(os.path.join(again, ".bundle-source")) == "archive-reuse"
        assert read(os.path.join(again, ".bundle-etag")) == etag
        # The hooks of the restart ran from its own copy and still see the ETag (V-042).
        assert etags_seen(rec, "d-RESTART01") == {"etag=" + etag}
        src_bundle = os.stat(os.path.join(first, "bundle.tar"))
        new_bundle = os.stat(os.path.join(again, "bundle.tar"))
        assert (src_bundle.st_ino, src_bundle.st_dev) == (new_bundle.st_ino, new_bundle.st_dev)
        arch = os.path.join(again, "deployment-archive")
        assert os.path.isdir(arch) and not os.path.islink(arch)
        assert os.path.isfile(os.path.join(arch, "appspec.yml"))
        assert "Reused the archive of deployment d-FIRST0001" in env.agent_log()
        check_clean(fc)


def test_restart_chain_survives_retention_of_the_source_V050_V061():
    # max_revisions 1: the restart of a restart prunes the first deployment's directory before
    # it reuses the second one, whose bundle.tar is a hard link to the pruned one's bytes.
    with world(":max_revisions: 1") as (fc, s3, env):
        rec, etag = publish(s3, env)
        env.start()
        deploy(fc, "d-CHAINA001")
        bundle_bytes = open(os.path.join(dep_dir(env, "d-CHAINA001"), "bundle.tar"), "rb").read()
        s3.clear_requests()
        deploy(fc, "d-CHAINB001", after="d-CHAINA001", reuse="d-CHAINA001")
        deploy(fc, "d-CHAINC001", after="d-CHAINB001", reuse="d-CHAINB001")
        assert not os.path.exists(dep_dir(env, "d-CHAINA001")), "retention pruned the source"
        assert s3.gets() == []
        assert download_message(fc, "d-CHAINC001") == "Succeeded: BundleSource=archive-reuse"
        c = dep_dir(env, "d-CHAINC001")
        assert open(os.path.join(c, "bundle.tar"), "rb").read() == bundle_bytes
        assert etags_seen(rec, "d-CHAINC001") == {"etag=" + etag}
        check_clean(fc)


def fallback_case(setup, reuse, expect_log, extra_config="", prefix=None):
    """A restart whose reuse must fail: it downloads instead, completes with the downloaded
    note, and the destination holds exactly the downloaded revision."""
    with world(extra_config) as (fc, s3, env):
        rec, etag = publish(s3, env)
        env.start(prefix=prefix)
        deploy(fc, "d-SOURCE001")
        src = dep_dir(env, "d-SOURCE001")
        setup(env, src)
        s3.clear_requests()
        deploy(fc, "d-FALLBACK0000000000000000001", after="d-SOURCE001", reuse=reuse)
        assert len(s3.gets("bucket", "app.zip")) >= 1, "fell back to a normal download"
        assert download_message(fc, "d-FALLBACK0000000000000000001") == \
            "Succeeded: BundleSource=downloaded"
        dst = dep_dir(env, "d-FALLBACK0000000000000000001")
        assert read(os.path.join(dst, ".bundle-source")) == "downloaded"
        assert sorted(os.listdir(os.path.join(dst, "deployment-archive"))) == \
            ["appspec.yml", "scripts"], "nothing of the failed reuse is left"
        assert etags_seen(rec, "d-FALLBACK0000000000000000001") == {"etag=" + etag}
        log = env.agent_log()
        assert expect_log in log, [l for l in log.splitlines() if "reuse" in l.lower()]
        check_clean(fc)


def test_restart_with_invalid_source_id_downloads_V050():
    fallback_case(lambda env, src: None, "d-source001",
                  "Cannot reuse the archive of deployment d-source001: source deployment id "
                  "'d-source001' is not of the form")


def test_restart_from_archive_without_appspec_downloads_V050():
    def drop_appspec(env, src):
        os.unlink(os.path.join(src, "deployment-archive", "appspec.yml"))
        with open(os.path.join(src, "deployment-archive", "only-in-old.txt"), "w") as f:
            f.write("old\n")
    fallback_case(drop_appspec, "d-SOURCE001", "no AppSpec 'appspec.yml'")


def test_restart_failure_mid_copy_falls_back_and_leaves_nothing_V050():
    # The agent runs as root without the capabilities that bypass file modes, so a mode-000
    # file in the source archive cannot be read: the copy fails part-way through the tree.
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        raise harness.Skip("needs root and setpriv to drop CAP_DAC_OVERRIDE")

    def unreadable_file(env, src):
        arch = os.path.join(src, "deployment-archive")
        for name in ("only-in-old.txt", "zz-unreadable.bin"):
            with open(os.path.join(arch, name), "w") as f:
                f.write("old\n")
        os.chmod(os.path.join(arch, "zz-unreadable.bin"), 0)
    fallback_case(unreadable_file, "d-SOURCE001",
                  "Cannot reuse the archive of deployment d-SOURCE001: copy",
                  prefix=["setpriv", "--bounding-set", "-dac_override,-dac_read_search"])


def test_restart_reuses_a_tree_deeper_than_PATH_MAX_V050():
    # A path that fits below the source deployment but not below the longer destination id:
    # the copy and its checks walk with *at() calls, so the reuse still succeeds.
    with world() as (fc, s3, env):
        rec, etag = publish(s3, env)
        env.start()
        deploy(fc, "d-SOURCE001")
        arch = os.path.join(dep_dir(env, "d-SOURCE001"), "deployment-archive")
        d = os.path.join(arch, "deep")
        while len(d) < 4060 - 201:
            d = os.path.join(d, "x" * 200)
        d = os.path.join(d, "y" * (4060 - len(d) - 1))
        os.makedirs(d)
        with open(os.path.join(d, "f" * 20), "w") as f:
            f.write("deep\n")
        s3.clear_requests()
        deploy(fc, "d-DEEPCOPY0000000000000000001", after="d-SOURCE001", reuse="d-SOURCE001")
        assert s3.gets() == []
        assert download_message(fc, "d-DEEPCOPY0000000000000000001") == \
            "Succeeded: BundleSource=archive-reuse"
        top = os.open(dep_dir(env, "d-DEEPCOPY0000000000000000001"), os.O_RDONLY)
        try:
            rel = os.path.relpath(os.path.join(d, "f" * 20), os.path.dirname(arch))
            assert len(rel) + len(dep_dir(env, "d-DEEPCOPY0000000000000000001")) >= 4096
            fd = top
            parts = rel.split("/")
            for p in parts[:-1]:
                nfd = os.open(p, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                if fd != top:
                    os.close(fd)
                fd = nfd
            with open(os.open(parts[-1], os.O_RDONLY, dir_fd=fd)) as f:
                assert f.read() == "deep\n"
            if fd != top:
                os.close(fd)
        finally:
            os.close(top)
        check_clean(fc)


def test_restart_with_reuse_disabled_downloads_V068():
    fallback_case(lambda env, src: None, "d-SOURCE001", ":enable_archive_reuse: false",
                  extra_config=":enable_archive_reuse: false")


def test_agent_version_file_and_header_agree_V004_V087_R048():
    with world() as (fc, s3, env):
        vfile = os.path.join(os.path.dirname(env.root), ".version")
        with open(vfile, "w") as f:
            f.write("agent_version: OFFICIAL_1.7.0-92_rpm\n")  # left by the Ruby agent
        os.chmod(vfile, 0o444)
        env.start()
        fc.wait_requests("PollHostCommand", 1)
        want = own_version()
        assert read(vfile) == "agent_version: " + want
        assert os.stat(vfile).st_mode & 0o7777 == 0o444
        polls = fc.requests(op="PollHostCommand")
        assert {p["headers"]["x-amz-codedeploy-agent-version"] for p in polls} == {want}


# ---- one host, three agents: cdagent -> AWS agent v2 -> cdagent (V-067) ----

V2_SCRIPT = "#!/bin/sh\necho \"$LIFECYCLE_EVENT-v2 $DEPLOYMENT_ID etag=$BUNDLE_ETAG\" >> %s\n"
V2_HOOKS = ["ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart",
            "ValidateService"]


def check_cdagent_state_reads_in_v2(env, dep, etag, dest):
    """What v2 reads back from cdagent's files (V-067 checklist, v2's parsing rules)."""
    d = dep_dir(env, dep)
    instr = os.path.join(env.root, "deployment-instructions")
    # V-062: v2 trims the path files; cdagent writes them without a newline anyway.
    for suffix in ("_last_successful_install", "_most_recent_install"):
        assert read(os.path.join(instr, GROUP + suffix)) == d
    doc = json.loads(read(os.path.join(instr, GROUP + "-install.json")))
    kinds = {i["type"] for i in doc["instructions"]}
    assert kinds <= {"copy", "mkdir", "chmod", "chown", "setfacl", "semanage"}, kinds
    copies = [i for i in doc["instructions"] if i["type"] == "copy"]
    assert copies and all(set(i) == {"type", "source", "destination"} for i in copies), copies
    cleanup = read(os.path.join(instr, GROUP + "-cleanup"))
    # v2 drops a last line without '\n' as an interrupted write: every line must end in one.
    assert cleanup.endswith("\n") and os.path.join(dest, "hello.txt") in cleanup.splitlines()
    # V-051 markers in v2's format; scripts.log and the deployments log where v2 looks.
    assert read(os.path.join(d, ".bundle-source")) == "downloaded"
    assert read(os.path.join(d, ".bundle-etag")) == etag
    assert os.path.isfile(os.path.join(d, "bundle.tar"))
    assert os.path.isfile(os.path.join(d, "logs", "scripts.log"))
    assert os.path.isfile(os.path.join(env.root, "deployment-logs",
                                       "codedeploy-agent-deployments.log"))
    # V-087: "agent_version: <v>", read as the text after ": ".
    v = read(os.path.join(os.path.dirname(env.root), ".version"))
    assert v.split(": ", 1) == ["agent_version", own_version()], v
    # V-032: no tracking file left behind after the deployment.
    ongoing = os.path.join(env.root, "ongoing-deployment")
    assert not os.path.isdir(ongoing) or os.listdir(ongoing) == []


def leave_v2_state(env, dest, rec, cdagent_dep):
    """The files AWS's agent v2 leaves after one deployment on this root, built from the
    formats in v2-delta (V-032, V-051, V-062, V-073, V-075, V-081, V-087, V-088)."""
    instr = os.path.join(env.root, "deployment-instructions")
    # v2's Install undid cdagent's install first (reverse order), then installed its own.
    for line in reversed(read(os.path.join(instr, GROUP + "-cleanup")).splitlines()):
        if os.path.isfile(line):
            os.unlink(line)
    v2 = dep_dir(env, "d-V2AGENT01")
    arch = os.path.join(v2, "deployment-archive")
    os.makedirs(os.path.join(arch, "scripts"))
    os.makedirs(os.path.join(arch, "app"))
    spec = ["version: 0.0", "os: linux", "files:", "  - source: app",
            "    destination: %s" % dest, "hooks:"]
    for ev in V2_HOOKS:
        spec += ["  %s:" % ev, "    - location: scripts/hook.sh", "      timeout: 60"]
    with open(os.path.join(arch, "appspec.yml"), "w") as f:
        f.write("\n".join(spec) + "\n")
    with open(os.path.join(arch, "scripts", "hook.sh"), "w") as f:
        f.write(V2_SCRIPT % rec)
    os.chmod(os.path.join(arch, "scripts", "hook.sh"), 0o755)
    with open(os.path.join(arch, "app", "v2.txt"), "w") as f:
        f.write("from v2\n")
    with open(os.path.join(v2, "bundle.tar"), "wb") as f:
        f.write(b"v2 bundle bytes")
    os.makedirs(os.path.join(v2, "logs"))
    with open(os.path.join(v2, "logs", "scripts.log"), "w") as f:
        f.write("2026-12-01 10:00:00 LifecycleEvent - ApplicationStart\n")
    for name, text in ((".bundle-etag", "v2etag123"), (".bundle-source", "downloaded")):
        with open(os.path.join(v2, name), "w") as f:
            f.write(text)
    for name in ("v2.txt", "v2-extra.txt"):
        with open(os.path.join(dest, name), "w") as f:
            f.write("installed by v2\n")
    with open(os.path.join(instr, GROUP + "_last_successful_install"), "w") as f:
        f.write(v2)
    with open(os.path.join(instr, GROUP + "_most_recent_install"), "w") as f:
        f.write(v2)
    with open(os.path.join(instr, GROUP + "-install.json"), "w") as f:
        json.dump({"instructions": [{"type": "copy", "source": os.path.join(arch, "app", "v2.txt"),
                                     "destination": os.path.join(dest, "v2.txt")}]}, f, indent=2)
    with open(os.path.join(instr, GROUP + "-cleanup"), "w") as f:
        f.write("%s\n%s\n" % (os.path.join(dest, "v2-extra.txt"), os.path.join(dest, "v2.txt")))
    # pid_dir: a PID file without newline (a v2 that crashed: the PID is gone), the command port.
    with open(os.path.join(env.piddir, "codedeploy-agent.pid"), "w") as f:
        f.write("4194303")
    extras = {".command-port": json.dumps({"port": 40123, "token": "ab" * 32}),
              ".injected-command.json": json.dumps({"host_command_identifier": "x",
                                                    "deployment_execution_id": "y",
                                                    "command_name": "Install"}),
              ".injected-response.json": '{"ok":true}'}
    for name, text in extras.items():
        p = os.path.join(env.piddir, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o600)
    # A stale tracking file in v2's form (no newline), two days old: deleted, never reported.
    ongoing = os.path.join(env.root, "ongoing-deployment")
    os.makedirs(ongoing, exist_ok=True)
    stale = os.path.join(ongoing, "d-V2STALE01")
    with open(stale, "w") as f:
        f.write("v2-host-command-identifier")
    old = time.time() - 2 * 86400
    os.utime(stale, (old, old))
    with open(os.path.join(env.logdir, "codedeploy-agent.20261201.log"), "w") as f:
        f.write("2026-12-01 10:00:00  INFO v2 agent log\n")
    vfile = os.path.join(os.path.dirname(env.root), ".version")
    os.chmod(vfile, 0o644)
    with open(vfile, "w") as f:
        f.write("agent_version: 2.1.0")
    os.chmod(vfile, 0o444)
    return extras


def test_switch_cdagent_to_v2_and_back_on_one_root_V067():
    with world() as (fc, s3, env):
        rec = env.path("events.txt")
        dest = env.path("installed")
        s3.create_bucket("bucket")
        s3.put_object("bucket", "app.zip", hook_bundle("zip", rec, HOOKS, dest=dest,
                                                       script=SCRIPT % rec))
        etag = s3.etag("bucket", "app.zip").strip('"')
        agent = env.start()
        deploy(fc, "d-CDAGENT01")
        pid = read(os.path.join(env.piddir, "codedeploy-agent.pid"))
        assert pid.strip() == str(agent.pid)  # V-081: the name and number v2 reads
        assert env.stop() == 0
        check_cdagent_state_reads_in_v2(env, "d-CDAGENT01", etag, dest)

        extras = leave_v2_state(env, dest, rec, "d-CDAGENT01")

        s3.clear_requests()
        agent = env.start()
        # A restart deployment of v2's revision: reuses v2's archive, runs v2's ApplicationStop
        # (last successful install written by v2), honours v2's cleanup file.
        fc.add_deployment(in_place("d-CDAGENT02", s3_revision("bucket", "app.zip"),
                                   reuse_archive_from="d-V2AGENT01"))
        assert fc.wait_deployment("d-CDAGENT02", 90) == "Succeeded", fc.completions("d-CDAGENT02")
        assert s3.gets() == []
        assert download_message(fc, "d-CDAGENT02") == "Succeeded: BundleSource=archive-reuse"
        lines = [l for l in read(rec).splitlines() if " d-CDAGENT02 " in l]
        assert lines[0] == "ApplicationStop-v2 d-CDAGENT02 etag=", lines
        assert lines[1:] == ["%s-v2 d-CDAGENT02 etag=v2etag123" % e for e in V2_HOOKS[1:]], lines
        assert sorted(os.listdir(dest)) == ["v2.txt"], "v2's cleanup file was honoured"
        assert read(os.path.join(dep_dir(env, "d-CDAGENT02"), ".bundle-etag")) == "v2etag123"
        # v2's leftovers are kept; the stale PID file was taken over; the stale tracking file
        # went without a report (check_clean: no completion for an unknown command).
        for name, text in extras.items():
            assert read(os.path.join(env.piddir, name)) == text, name
        assert os.path.exists(os.path.join(env.logdir, "codedeploy-agent.20261201.log"))
        v2 = dep_dir(env, "d-V2AGENT01")
        assert read(os.path.join(v2, ".bundle-source")) == "downloaded"
        assert read(os.path.join(env.piddir, "codedeploy-agent.pid")).strip() == str(agent.pid)
        assert not os.path.exists(os.path.join(env.root, "ongoing-deployment", "d-V2STALE01"))
        v = read(os.path.join(os.path.dirname(env.root), ".version"))
        assert v == "agent_version: " + own_version()
        heads = {p["headers"]["x-amz-codedeploy-agent-version"]
                 for p in fc.requests(op="PollHostCommand")}
        assert heads == {own_version()}, heads
        check_clean(fc)
        # And cdagent's own state after the switch reads back in v2 again.
        assert read(os.path.join(env.root, "deployment-instructions",
                                 GROUP + "_last_successful_install")) == dep_dir(env, "d-CDAGENT02")


# ---- codedeploy-local --restart: rehearse a restart deployment on this host ----

def test_local_restart_rehearsal_reuses_last_successful_revision():
    from daemonenv import make_bundle
    from localenv import LocalEnv
    with LocalEnv("local-restart") as env:
        rec = env.path("events.txt")
        spec = "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n" \
               "    - location: start.sh\n      timeout: 30\n"
        tar = env.path("app.tar")

        def write_revision(tag):
            with open(tar, "wb") as f:
                f.write(make_bundle("tar", {
                    "appspec.yml": (spec, 0o644),
                    "start.sh": ("#!/bin/sh\necho \"%s $DEPLOYMENT_ID\" >> %s\n" % (tag, rec),
                                 0o755)}))

        write_revision("v1")
        # Nothing to restart yet: a clear error, nothing run.
        r = env.local("--restart", "-l", tar, "-t", "tar")
        assert r.returncode == 1 and "has no successful deployment on this host to restart" \
            in r.stderr, (r.stdout, r.stderr)
        r = env.local("-l", tar, "-t", "tar")
        assert r.returncode == 0, (r.stdout, r.stderr)
        first = env.folder_of(r.stdout)
        assert "DownloadBundle" in r.stdout and "BundleSource=downloaded" in r.stdout

        write_revision("v2")  # what the location holds now is not what gets restarted
        r = env.local("--restart", "-l", tar, "-t", "tar")
        assert r.returncode == 0, (r.stdout, r.stderr)
        second = env.folder_of(r.stdout)
        assert "Restarting deployment %s" % os.path.basename(first) in r.stdout, r.stdout
        assert "BundleSource=archive-reuse" in r.stdout, r.stdout
        tags = [l.split()[0] for l in read(rec).splitlines()]
        assert tags == ["v1", "v1"], tags
        a = os.stat(os.path.join(first, "bundle.tar"))
        b = os.stat(os.path.join(second, "bundle.tar"))
        assert a.st_ino == b.st_ino
        assert read(os.path.join(second, ".bundle-source")) == "archive-reuse"

        # A restart of the restart works too (local ids are accepted only here).
        r = env.local("--restart", "-l", tar, "-t", "tar")
        assert r.returncode == 0 and "BundleSource=archive-reuse" in r.stdout, r.stdout
        assert "Restarting deployment %s" % os.path.basename(second) in r.stdout
