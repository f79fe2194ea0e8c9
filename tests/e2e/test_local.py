"""codedeploy-local end to end: the real binary deploying real bundles (spec §15, R-205..R-214)."""
import os
import re
import subprocess
import tarfile
import zipfile

import harness
from localenv import LocalEnv, event_log_script, hooks_yaml, mode_of

ALL = ["BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop", "BeforeInstall",
       "AfterInstall", "ApplicationStart", "ValidateService", "BeforeAllowTraffic",
       "AfterAllowTraffic"]


def test_version_and_help_R205():
    with LocalEnv() as env:
        r = env.local("-v")
        assert r.returncode == 0 and r.stdout.strip() == "1.0", r
        r = env.local("--help")
        assert r.returncode == 0, r
        assert env.root in r.stdout, "help must name the resolved root dir (C-260)\n" + r.stdout


def test_default_order_ids_and_env_C217_C218_C219_C231():
    with LocalEnv() as env:
        rec = env.path("events.txt")
        d = env.bundle("rev", hooks_yaml(ALL), {"scripts/ev.sh": event_log_script(rec)})
        r = env.local("-l", d, "-d", "MyFleet", "-a", "MyApp", "-g", "grp1")
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.startswith("Starting to execute deployment from within folder "), r.stdout
        assert "AppSpec file valid. Local deployment successful" in r.stdout
        folder = env.folder_of(r.stdout)
        dep_id = os.path.basename(folder)
        assert re.match(r"^d-[A-Z0-9]{9}-local$", dep_id), dep_id
        assert folder == os.path.join(env.root, "grp1", dep_id)
        lines = open(rec).read().splitlines()
        # First deployment: the Block*/ApplicationStop events run before DownloadBundle, with no
        # archive yet and no last-successful revision, so they are no-ops.
        events = [l.split()[0] for l in lines]
        assert events == ["BeforeInstall", "AfterInstall", "ApplicationStart",
                          "ValidateService", "BeforeAllowTraffic", "AfterAllowTraffic"], events
        for l in lines:
            f = l.split()
            assert f[1] == dep_id and f[2] == "MyFleet" and f[3] == "MyApp" and f[4] == "grp1", l
        log = open(os.path.join(folder, "logs", "scripts.log")).read()
        assert "LifecycleEvent - ValidateService" in log
        assert os.path.exists(os.path.join(env.logdir, "codedeploy-local.log")), "C-234"


def test_second_deployment_runs_previous_stop_scripts_C233():
    with LocalEnv() as env:
        rec = env.path("events.txt")
        body = "#!/bin/sh\necho \"$LIFECYCLE_EVENT from %s\" >> " + rec + "\n"
        d1 = env.bundle("rev1", hooks_yaml(["ApplicationStop", "BeforeBlockTraffic",
                                            "AfterBlockTraffic"]),
                        {"scripts/ev.sh": body % "rev1"})
        d2 = env.bundle("rev2", hooks_yaml(["ApplicationStop", "BeforeBlockTraffic",
                                            "AfterBlockTraffic"]),
                        {"scripts/ev.sh": body % "rev2"})
        assert env.local("-l", d1).returncode == 0
        assert not os.path.exists(rec), "first deployment has no previous revision"
        r = env.local("-l", d2)
        assert r.returncode == 0, r.stdout + r.stderr
        assert open(rec).read().splitlines() == [
            "BeforeBlockTraffic from rev1", "AfterBlockTraffic from rev1",
            "ApplicationStop from rev1"]


def test_events_flag_prepends_and_custom_event_C220_C223():
    with LocalEnv() as env:
        rec = env.path("events.txt")
        d = env.bundle("rev", hooks_yaml(["ApplicationStart", "CustomEvent"]),
                       {"scripts/ev.sh": event_log_script(rec)})
        r = env.local("-l", d, "-e", "ApplicationStart,CustomEvent")
        assert r.returncode == 0, r.stdout + r.stderr
        assert [l.split()[0] for l in open(rec)] == ["ApplicationStart", "CustomEvent"]
        # Each event once, on its result line (issue 17).
        assert "ok DownloadBundle" in r.stdout and "ok Install" in r.stdout
        assert r.stdout.count("ApplicationStart (") == 1, r.stdout


def test_event_order_errors_C221_C222():
    with LocalEnv() as env:
        d = env.bundle("rev", hooks_yaml([]))
        r = env.local("-l", d, "-e", "ApplicationStart,DownloadBundle")
        assert r.returncode == 1
        assert "ERROR: The only events that can be specified before DownloadBundle are" in r.stderr
        r = env.local("-l", d, "-e", "ApplicationStart,Install")
        assert r.returncode == 1
        assert "ERROR: The only events that can be specified before Install are" in r.stderr
        r = env.local("-l", d, "-e", "BeforeInstall,Install")
        assert r.returncode == 0, r.stdout + r.stderr


def test_validation_errors_C224_C225_C226():
    with LocalEnv() as env:
        r = env.local("-t", "invalid-type")
        assert r.returncode == 1
        assert r.stderr.strip() == ("ERROR: type invalid-type is not a valid type. Must be one of "
                                    "tgz,tar,zip,directory"), r.stderr
        r = env.local("-l", "http://example.com/x.zip", "-t", "zip")
        assert "cannot be http, only encrypted (https) url endpoints supported" in r.stderr
        r = env.local("-l", env.path("missing.zip"), "-t", "zip")
        assert "is specified as a file or directory which does not exist" in r.stderr
        os.makedirs(env.path("emptydir"))
        r = env.local("-l", env.path("emptydir"), "-t", "zip")
        assert "is specified as a compressed local file but it is a directory" in r.stderr
        r = env.local("-l", env.config, "-t", "directory")
        assert "is specified with type directory but it is a file" in r.stderr
        r = env.local("-l", env.path("emptydir"))
        assert "Expecting appspec file at location" in r.stderr and r.returncode == 1
        good = env.bundle("good", hooks_yaml([]))
        r = env.local("-l", good, "-c", env.path("nope.yml"))
        assert r.stderr.strip() == ("ERROR: configuration file %s does not exist or is not "
                                    "readable" % env.path("nope.yml")), r.stderr


def test_failing_hook_reports_script_and_log_C230():
    with LocalEnv() as env:
        d = env.bundle("rev", hooks_yaml(["AfterInstall"]),
                       {"scripts/ev.sh": "#!/bin/sh\necho about to fail\necho boom >&2\nexit 3\n"})
        r = env.local("-l", d)
        assert r.returncode == 1, r.stdout
        folder = env.folder_of(r.stdout)
        assert ("Your local deployment failed while trying to execute your script at "
                "%s/deployment-archive/scripts/ev.sh" % folder) in r.stderr, r.stderr
        assert "See the deployment log at %s/logs/scripts.log for more details" % folder in r.stderr
        assert "failed with exit code 3" in r.stdout
        assert "boom" in r.stdout, "the failing script's last lines are shown"
        log = open(os.path.join(folder, "logs", "scripts.log")).read()
        assert "[stderr]boom" in log


def test_zip_and_tgz_bundles_install_files_with_modes():
    with LocalEnv() as env:
        dest = env.path("installed")
        appspec = ("version: 0.0\nos: linux\nfiles:\n  - source: app\n    destination: %s\n"
                   "hooks:\n  AfterInstall:\n    - location: check.sh\n" % dest)
        src = env.bundle("src", appspec, {"check.sh": "#!/bin/sh\ntest -x %s/run.sh\n" % dest,
                                          "app/run.sh": "#!/bin/sh\necho run\n"},
                         {"app/conf/settings.txt": "a=1\n"})
        zpath = env.path("b.zip")
        with zipfile.ZipFile(zpath, "w") as z:
            for base, _, names in os.walk(src):
                for n in names:
                    full = os.path.join(base, n)
                    zi = zipfile.ZipInfo(os.path.relpath(full, src))
                    zi.external_attr = (os.stat(full).st_mode & 0xFFFF) << 16
                    z.writestr(zi, open(full, "rb").read())
        r = env.local("-l", zpath, "-t", "zip")
        assert r.returncode == 0, r.stdout + r.stderr
        assert open(os.path.join(dest, "conf", "settings.txt")).read() == "a=1\n"
        assert mode_of(os.path.join(dest, "run.sh")) & 0o111
        tpath = env.path("b.tgz")
        with tarfile.open(tpath, "w:gz") as t:
            t.add(src, arcname="toplevel")  # single top-level dir is stripped
        r = env.local("-l", tpath, "-t", "tgz", "-b", "OVERWRITE")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Stripping leading directory" in open(os.path.join(env.logdir,
                                                                  "codedeploy-local.log")).read()


def test_second_install_removes_previous_files_via_cleanup():
    with LocalEnv() as env:
        dest = env.path("installed")
        spec = "version: 0.0\nos: linux\nfiles:\n  - source: app\n    destination: %s\n" % dest
        d1 = env.bundle("rev1", spec, files={"app/old.txt": "old\n", "app/keep.txt": "1\n"})
        d2 = env.bundle("rev2", spec, files={"app/keep.txt": "2\n"})
        assert env.local("-l", d1, "-g", "g").returncode == 0
        assert os.path.exists(os.path.join(dest, "old.txt"))
        r = env.local("-l", d2, "-g", "g")
        assert r.returncode == 0, r.stdout + r.stderr
        assert not os.path.exists(os.path.join(dest, "old.txt")), "cleanup removed old file"
        assert open(os.path.join(dest, "keep.txt")).read() == "2\n"
        cleanup = open(os.path.join(env.root, "deployment-instructions", "g-cleanup")).read()
        assert os.path.join(dest, "keep.txt") + "\n" in cleanup
        last = open(os.path.join(env.root, "deployment-instructions",
                                 "g_last_successful_install")).read()
        assert not last.endswith("\n") and last.startswith(os.path.join(env.root, "g", "d-"))


def test_hostile_archive_refused_nothing_outside():
    with LocalEnv() as env:
        tpath = env.path("evil.tar")
        outside = env.path("outside.txt")
        with tarfile.open(tpath, "w") as t:
            data = b"version: 0.0\nos: linux\n"
            ti = tarfile.TarInfo("appspec.yml")
            ti.size = len(data)
            import io
            t.addfile(ti, io.BytesIO(data))
            ti = tarfile.TarInfo("../outside.txt")
            ti.size = 3
            t.addfile(ti, io.BytesIO(b"bad"))
        r = env.local("-l", tpath, "-t", "tar")
        assert r.returncode == 1
        assert "Refusing unsafe archive entry" in r.stderr, r.stderr
        assert not os.path.exists(outside)


def test_validate_subcommand_lists_problems():
    with LocalEnv() as env:
        good = env.bundle("good", hooks_yaml(["ApplicationStart"]),
                          {"scripts/ev.sh": "#!/bin/sh\ntrue\n"})
        r = env.local("-l", good, "validate")
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout == "%s/appspec.yml is valid\n" % good, r.stdout
        bad = env.bundle("bad", hooks_yaml(["ApplicationStart"], location="scripts/missing.sh") +
                         "  ValidateService:\n    - location: scripts/v.sh\n"
                         "      runas: no-such-user-x\n",
                         {"scripts/v.sh": "#!/no/such/interpreter\n"})
        r = env.local("-l", bad, "validate")
        assert r.returncode == 1
        assert "appspec.yml:6: error: script scripts/missing.sh is not in the bundle\n" in r.stdout
        assert ("appspec.yml:10: error: runas user 'no-such-user-x' does not exist on this host\n"
                in r.stdout), r.stdout
        assert ("scripts/v.sh:1: error: the interpreter named on line 1 (`/no/such/interpreter`) "
                "does not exist\n") in r.stdout, r.stdout
        assert r.stdout.endswith("3 errors, 0 warnings in %s/appspec.yml: a deployment of this "
                                 "bundle would fail\n" % bad), r.stdout
        broken = env.bundle("broken", "version: 0.0\nos: windows\n")
        r = env.local("-l", broken, "validate")
        assert r.returncode == 1 and "unsupported operating system (windows)" in r.stdout
        assert r.stderr == "", r.stderr


VALIDATE_DATA = os.path.join(harness.SRC, "tests", "data", "validate")


def copy_fixture(env, name):
    """A tests/data/validate bundle in a scratch directory, scripts executable except noexec-*."""
    import shutil
    dst = env.path("fx-" + name)
    shutil.copytree(os.path.join(VALIDATE_DATA, name), dst)
    for dirpath, _, names in os.walk(dst):
        for n in names:
            if n.endswith(".sh"):
                os.chmod(os.path.join(dirpath, n), 0o644 if n.startswith("noexec") else 0o755)
    return dst


def test_validate_tutorial_fixtures_exact_output_issue17():
    """Every tutorial mistake: the exact problems (file:line, the line quoted, the fix)."""
    names = sorted(n for n in os.listdir(VALIDATE_DATA)
                   if os.path.isdir(os.path.join(VALIDATE_DATA, n)))
    assert len(names) >= 9, names
    with LocalEnv() as env:
        for name in names:
            d = copy_fixture(env, name)
            r = env.local("-l", d, "validate")
            want = open(os.path.join(VALIDATE_DATA, name + ".expect")).read()
            lines = r.stdout.splitlines(True)
            assert "".join(lines[:-1]) == want, "%s:\n%s" % (name, r.stdout)
            assert r.returncode == (0 if name == "good" else 1), (name, r.stdout)
            assert "\033[" not in r.stdout, "colour only on a terminal"
            assert r.stderr == "", (name, r.stderr)


def test_validate_json_for_pipelines_issue17():
    import json
    with LocalEnv() as env:
        d = copy_fixture(env, "mixed")
        r = env.local("-l", d, "validate", "--json")
        assert r.returncode == 1, r.stdout + r.stderr
        doc = json.loads(r.stdout)
        assert doc["valid"] is False and doc["errors"] == 7 and doc["warnings"] == 3, doc
        assert doc["appspec"] == os.path.join(d, "appspec.yml")
        p = [x for x in doc["problems"] if x["line"] == 23][0]
        assert p == {"severity": "error", "file": "appspec.yml", "line": 23,
                     "message": "lifecycle event 'ApplicationStart' is at the top level, so it "
                                "never runs",
                     "quote": "ApplicationStart:",
                     "fix": "indent it under `hooks:` (2 spaces more than `hooks:`)"}, p
        # Warnings only: exit 0.
        w = env.bundle("warn", hooks_yaml(["ApplicationStart"]),
                       files={"scripts/ev.sh": "#!/bin/sh\n"})
        r = env.local("-l", w, "validate", "--json")
        doc = json.loads(r.stdout)
        assert r.returncode == 0 and doc["valid"] is True and doc["warnings"] == 1, r.stdout


def test_validate_destination_conflict_issue17():
    with LocalEnv() as env:
        dest = env.path("www")
        os.makedirs(dest)
        open(os.path.join(dest, "index.html"), "w").write("old\n")
        d = env.bundle("rev", "version: 0.0\nos: linux\nfiles:\n  - source: app\n"
                       "    destination: %s\n" % dest, files={"app/index.html": "new\n"})
        r = env.local("-l", d, "validate")
        target = os.path.join(dest, "index.html")
        assert r.returncode == 1
        assert ("appspec.yml:4: error: %s already exists and file_exists_behavior is DISALLOW: "
                "Install would fail with \"The deployment failed because a specified file already "
                "exists at this location: %s\"\n" % (target, target)) in r.stdout, r.stdout
        # What validate predicts is what the deployment does.
        r2 = env.local("-l", d)
        assert r2.returncode == 1
        assert ("ERROR: The deployment failed because a specified file already exists at this "
                "location: %s" % target) in r2.stderr, r2.stderr
        r = env.local("-l", d, "-b", "OVERWRITE", "validate")
        assert r.returncode == 0, r.stdout


def test_failing_hook_reported_once_without_priority_prefix_issue17():
    with LocalEnv() as env:
        d = env.bundle("rev", hooks_yaml(["ApplicationStart"]),
                       {"scripts/ev.sh": "#!/bin/sh\necho broken >&2\nexit 3\n"})
        r = env.local("-l", d, "-e", "ApplicationStart")
        assert r.returncode == 1
        both = r.stdout + r.stderr
        assert not re.search(r"^<\d>", both, re.M), both
        msg = "Script at specified location: scripts/ev.sh failed with exit code 3"
        assert both.count(msg) == 1, both
        assert r.stdout.count("ApplicationStart (") == 1, r.stdout
        assert "Your local deployment failed while trying to execute your script at " in r.stderr


def test_crlf_script_failure_names_the_interpreter_issue17():
    with LocalEnv() as env:
        d = env.bundle("rev", hooks_yaml(["ApplicationStart"]),
                       {"scripts/ev.sh": "#!/bin/sh\r\necho hi\r\n"})
        r = env.local("-l", d, "-e", "ApplicationStart")
        assert r.returncode == 1
        assert ("; hint: the interpreter named on line 1 (`/bin/sh\\r`, Windows line ending) "
                "does not exist") in r.stdout, r.stdout
        assert "Errno::ENOENT" in r.stdout  # the spec §13 text stays first


def test_appspec_failure_hint_once_in_deployment_issue17():
    with LocalEnv() as env:
        d = copy_fixture(env, "dash_source")
        r = env.local("-l", d)
        assert r.returncode == 1
        hint = "; hint: line 5 `  -source: /`: a list item needs `- ` with a space: `- source: /`"
        assert ("ERROR: appspec.yml line 6 column 15: invalid YAML: mapping values are not "
                "allowed in this context" + hint + "\n") in r.stderr, r.stderr
        assert hint not in r.stdout, r.stdout


def test_s3_location_without_credentials_is_clear():
    with LocalEnv() as env:
        r = env.local("-l", "s3://bucket/key.zip", "-t", "zip",
                      env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9"})
        assert r.returncode == 1
        assert ("ERROR: We were unable to download content from the Amazon S3 bucket due to "
                "missing or invalid credentials.") in r.stderr, r.stderr


def test_group_lock_shared_with_daemon_R214():
    with LocalEnv() as env:
        import fcntl
        os.makedirs(os.path.join(env.root, ".cdagent-locks"), exist_ok=True)
        lock = open(os.path.join(env.root, ".cdagent-locks", "g.lock"), "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        d = env.bundle("rev", hooks_yaml([]))
        r = env.local("-l", d, "-g", "g")
        assert r.returncode == 1 and "is busy" in r.stderr, r.stderr
        lock.close()
        r = env.local("-l", d, "-g", "g")
        assert r.returncode == 0, r.stdout + r.stderr


def test_s3_bundle_with_onprem_credentials_R213():
    import s3 as s3mod
    from daemonenv import hook_bundle
    with s3mod.S3Server() as s3, LocalEnv() as env:
        env.write("conf/onprem.yml", "\n".join([
            "---", "region: us-east-1",
            "iam_user_arn: arn:aws:iam::123456789012:user/local-host",
            "aws_access_key_id: %s" % s3.access_key,
            "aws_secret_access_key: %s" % s3.secret_key, ""]))
        with open(env.config, "a") as f:
            f.write(":s3_endpoint_override: '%s'\n" % s3.url)
        rec = env.path("events.txt")
        s3.create_bucket("bkt")
        v = s3.put_object("bkt", "rel/app.zip", hook_bundle("zip", rec, ["AfterInstall"]),
                          versioned=True)
        r = env.local("-l", "s3://bkt/rel/app.zip?versionId=%s" % v, "-t", "zip")
        assert r.returncode == 0, r.stdout + r.stderr
        assert [l.split()[0] for l in open(rec)] == ["AfterInstall"]
        gets = s3.gets("bkt")
        assert gets and all(g["query"].get("versionId") in (v, [v]) for g in gets), gets
        assert s3.secret_key not in open(os.path.join(env.logdir, "codedeploy-local.log")).read()


def test_ci_examples_validate_before_push_and_show_problems_issue17():
    """examples/ci: `validate --json` runs before `aws deploy push`, and its step prints each
    problem in the job log (run here with the real binary on a fixture)."""
    import shutil
    import yaml
    if not shutil.which("jq"):
        raise harness.Skip("jq is not installed")
    ci = os.path.join(harness.SRC, "examples", "ci")

    def runnable(lines):
        keep = [l for l in lines if not re.match(r"\s*(git clone|make -C|apt-get)", l)]
        return "\n".join(keep).replace("/tmp/cdagent/build/codedeploy-local", harness.LOCAL)

    gh = yaml.safe_load(open(os.path.join(ci, "github-deploy.yml")))
    steps = gh["jobs"]["deploy"]["steps"]
    names = [s.get("name", s.get("uses", "")) for s in steps]
    v = next(i for i, n in enumerate(names) if "validate --json" in n)
    push = next(i for i, s in enumerate(steps) if "aws deploy push" in s.get("run", ""))
    assert v < push, names
    gl = yaml.safe_load(open(os.path.join(ci, "gitlab-deploy.yml")))
    assert gl["stages"].index("validate") < gl["stages"].index("deploy")
    assert gl["deploy"]["needs"] == ["validate"]
    with LocalEnv() as env:
        d = copy_fixture(env, "owner_missing")
        r = subprocess.run(["bash", "-e", "-c", runnable(steps[v]["run"].splitlines())],
                           cwd=d, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1, r.stdout + r.stderr
        assert ("::error file=appspec.yml,line=8::permissions owner 'cdagent-no-such-user' for "
                "/var/www/cdagent-validate-test does not exist on this host -- fix: create the "
                "user (`useradd cdagent-no-such-user`) before deploying, or change `owner:` to a "
                "user that exists\n") in r.stdout, r.stdout
        assert "2 error(s), 0 warning(s) found by codedeploy-local validate" in r.stdout
        r = subprocess.run(["sh", "-e", "-c", runnable(gl["validate"]["script"])],
                           cwd=d, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1, r.stdout + r.stderr
        assert ("appspec.yml:9: error: permissions group 'cdagent-no-such-group' for "
                "/var/www/cdagent-validate-test does not exist on this host\n"
                "    |     group: cdagent-no-such-group\n") in r.stdout, r.stdout
        good = copy_fixture(env, "good")
        r = subprocess.run(["bash", "-e", "-c", runnable(steps[v]["run"].splitlines())],
                           cwd=good, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout
        assert "0 error(s), 0 warning(s) found by codedeploy-local validate" in r.stdout


def test_failed_unpack_leaves_the_working_directory_alone():
    """Issue 11: a directory entry 'X/' (0777) and then a refused entry must not chmod or date
    '<cwd>/X' (the daemon's cwd is '/'); nor may a hard link to a symlink reach its target."""
    import io
    bait_time = 1000000000
    with LocalEnv() as env:
        cwd = env.path("cwd")
        os.makedirs(os.path.join(cwd, "X"))
        env.write("cwd/F", "bait")

        def plant():
            os.chmod(os.path.join(cwd, "X"), 0o755)
            os.chmod(os.path.join(cwd, "F"), 0o640)
            for n in ("X", "F"):
                os.utime(os.path.join(cwd, n), (bait_time, bait_time))

        def info(name, kind, mode, link=""):
            t = tarfile.TarInfo(name)
            t.type, t.mode, t.linkname, t.mtime = kind, mode, link, 1500000000
            return t

        def tar(path, members):
            with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
                for ti, data in members:
                    ti.size = len(data) if data else 0
                    t.addfile(ti, io.BytesIO(data) if data else None)

        tar(env.path("dir.tar"), [(info("appspec.yml", tarfile.REGTYPE, 0o644), b"version: 0.0\n"),
                                  (info("X", tarfile.DIRTYPE, 0o777), None),
                                  (info("../evil", tarfile.REGTYPE, 0o644), b"x")])
        # A hard link with data whose target is an absolute symlink to the bait file.
        tar(env.path("hl.tar"), [(info("s", tarfile.SYMTYPE, 0o777, os.path.join(cwd, "F")), None),
                                 (info("h", tarfile.LNKTYPE, 0o600, "s"), b"DATA")])
        with zipfile.ZipFile(env.path("dir.zip"), "w") as z:
            zi = zipfile.ZipInfo("X/", date_time=(2020, 1, 2, 3, 4, 6))
            zi.create_system, zi.external_attr = 3, (0o40777 << 16) | 0x10
            z.writestr(zi, b"")
            zi = zipfile.ZipInfo("/etc/evil", date_time=(2020, 1, 2, 3, 4, 6))
            zi.create_system, zi.external_attr = 3, 0o100644 << 16
            z.writestr(zi, b"x")
        cases = [("dir.tar", "tar", "Refusing unsafe archive entry '../evil'"),
                 ("hl.tar", "tar", "Refusing unsafe archive entry 'h': hard link target is a "
                                   "symbolic link"),
                 ("dir.zip", "zip", "Refusing unsafe archive entry '/etc/evil': absolute path")]
        for name, kind, msg in cases:
            plant()
            argv = [harness.LOCAL, "-l", env.path(name), "-t", kind, "-c", env.config]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd)
            assert r.returncode == 1, (name, r.stdout, r.stderr)
            assert msg in r.stderr, (name, r.stderr)
            for n, mode in (("X", 0o40755), ("F", 0o100640)):
                st = os.lstat(os.path.join(cwd, n))
                assert (st.st_mode, int(st.st_mtime)) == (mode, bait_time), (name, n, oct(st.st_mode),
                                                                             st.st_mtime)
            assert open(os.path.join(cwd, "F")).read() == "bait"
            assert not os.path.exists(os.path.join(cwd, "h"))


def test_validate_colour_only_on_a_terminal_issue17():
    import pty
    with LocalEnv() as env:
        d = copy_fixture(env, "version_1")
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(harness.LOCAL, [harness.LOCAL, "-l", d, "-c", env.config, "validate"])
        out = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 1
        assert b"appspec.yml:1: \x1b[1;31merror\x1b[0m: The deployment failed" in out, out
