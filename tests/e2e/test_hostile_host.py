"""Other users on the host (issue 18 item 4, issue 11 items 3 and 4; spec R-216, R-219): hooks
never run as root from a file another user can change, and the agent refuses directories other
users could plant links in.  Most of these need root (other users' files); they skip otherwise."""
import io
import os
import tarfile

import harness
from localenv import LocalEnv


def _need_root(why):
    if os.geteuid() != 0:
        raise harness.Skip("needs root: " + why)


def _tar(path, members):
    """members: (name, kind, mode, uid, data or link target)."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, mode, uid, data in members:
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, uid, uid, 1500000000
            if kind == tarfile.SYMTYPE:
                ti.linkname = data
                data = None
            ti.size = len(data) if data else 0
            t.addfile(ti, io.BytesIO(data) if data else None)
    return path


def _appspec(dest, events, location="scripts/h.sh"):
    lines = ["version: 0.0", "os: linux", "files:", "  - source: scripts",
             "    destination: %s" % dest, "hooks:"]
    for ev in events:
        lines += ["  %s:" % ev, "    - location: %s" % location, "      timeout: 30"]
    return ("\n".join(lines) + "\n").encode()


def test_root_hook_from_a_file_its_archive_owner_can_write_runs_from_a_root_copy_issue11():
    _need_root("archive entries owned by another user")
    with LocalEnv() as env:
        dest, rec = env.path("installed"), env.path("ran.txt")
        body = ("#!/bin/sh\necho \"$LIFECYCLE_EVENT\" >> %s\n" % rec).encode()
        bundle = _tar(env.path("b.tar"), [
            ("appspec.yml", tarfile.REGTYPE, 0o644, 0,
             _appspec(dest, ["BeforeInstall", "AfterInstall"])),
            ("scripts", tarfile.DIRTYPE, 0o777, 1000, None),
            ("scripts/h.sh", tarfile.REGTYPE, 0o777, 1000, body)])
        r = env.local("-l", bundle, "-t", "tar")
        assert r.returncode == 0, r.stdout + r.stderr
        assert open(rec).read().split() == ["BeforeInstall", "AfterInstall"]
        archive = os.path.join(env.folder_of(r.stdout), "deployment-archive")
        for p in (os.path.join(archive, "scripts"), os.path.join(archive, "scripts", "h.sh")):
            st = os.lstat(p)
            assert st.st_uid == 0 and st.st_mode & 0o022 == 0, (p, st.st_uid, oct(st.st_mode))
        # files: installs what the bundle says, whatever the hooks' copy became.
        st = os.lstat(os.path.join(dest, "h.sh"))
        assert (st.st_uid, st.st_mode & 0o7777) == (1000, 0o777), (st.st_uid, oct(st.st_mode))


def test_root_hook_through_a_link_in_the_archive_runs_from_a_root_copy_of_its_target_issue11():
    _need_root("archive entries owned by another user")
    with LocalEnv() as env:
        rec = env.path("ran.txt")
        body = ("#!/bin/sh\necho ran >> %s\n" % rec).encode()
        bundle = _tar(env.path("b.tar"), [
            ("appspec.yml", tarfile.REGTYPE, 0o644, 0,
             _appspec(env.path("installed"), ["AfterInstall"])),
            ("scripts", tarfile.DIRTYPE, 0o777, 1000, None),
            ("bin", tarfile.DIRTYPE, 0o755, 1000, None),
            ("bin/real.sh", tarfile.REGTYPE, 0o755, 1000, body),
            ("scripts/h.sh", tarfile.SYMTYPE, 0o777, 0, "../bin/real.sh")])
        r = env.local("-l", bundle, "-t", "tar")
        assert r.returncode == 0, r.stdout + r.stderr
        assert open(rec).read() == "ran\n"
        archive = os.path.join(env.folder_of(r.stdout), "deployment-archive")
        # The link's own directory too: nobody may re-point the link the hook runs.
        for p in (os.path.join(archive, "scripts"), os.path.join(archive, "bin"),
                  os.path.join(archive, "bin", "real.sh")):
            st = os.lstat(p)
            assert st.st_uid == 0 and st.st_mode & 0o022 == 0, (p, st.st_uid, oct(st.st_mode))


def test_root_dir_writable_by_others_is_refused_naming_owner_and_mode_issue18():
    with LocalEnv() as env:
        os.makedirs(env.root)
        os.chmod(env.root, 0o777)
        d = env.bundle("rev", "version: 0.0\nos: linux\n")
        r = env.local("-l", d)
        assert r.returncode != 0, r.stdout
        out = r.stdout + r.stderr
        assert env.root in out and "mode 0777" in out, out
        assert not os.listdir(env.root), "nothing may be written into it"


def test_links_planted_in_the_root_dir_are_refused_issue18():
    with LocalEnv() as env:
        victim = env.path("victim")
        os.makedirs(victim)
        os.makedirs(env.root)
        for n in ("deployment-instructions", "deployment-logs", ".cdagent-locks", "default-group"):
            os.symlink(victim, os.path.join(env.root, n))
        d = env.bundle("rev", "version: 0.0\nos: linux\n")
        r = env.local("-l", d, "-g", "default-group")
        assert r.returncode != 0, r.stdout
        out = r.stdout + r.stderr
        assert "symbolic link" in out, out
        assert not os.listdir(victim), os.listdir(victim)


class _Nowhere:
    """Stands for the fakes: the agent must refuse before it talks to anyone."""
    url = "https://127.0.0.1:9"
    access_key = "AKIDNOWHERE"
    secret_key = "nowhere"


def _daemon_refuses(prepare, needles):
    from daemonenv import DaemonEnv
    with DaemonEnv(_Nowhere(), _Nowhere()) as env:
        prepare(env)
        rc = env.start().wait(30)
        out = env.stderr_text()
        assert rc != 0, out
        for n in needles(env):
            assert n in out, (n, out)


def test_daemon_refuses_root_dir_or_log_dir_others_can_write_issue18():
    def writable(attr):
        def prepare(env):
            os.makedirs(getattr(env, attr))
            os.chmod(getattr(env, attr), 0o777)
        return prepare
    _daemon_refuses(writable("root"), lambda env: [env.root, "mode 0777", ":root_dir:"])
    _daemon_refuses(writable("logdir"), lambda env: [env.logdir, "mode 0777", ":log_dir:"])


def test_daemon_refuses_a_link_planted_below_its_root_dir_issue18():
    def plant(env):
        os.makedirs(env.root)
        os.symlink(env.path("victim"), os.path.join(env.root, "deployment-instructions"))
    _daemon_refuses(plant, lambda env: [os.path.join(env.root, "deployment-instructions"),
                                        "symbolic link"])


def test_daemon_refuses_an_onpremises_file_others_can_write_issue11():
    """The daemon keeps retrying (the file may be fixed), saying why, and never uses it."""
    from daemonenv import DaemonEnv
    with DaemonEnv(_Nowhere(), _Nowhere()) as env:
        onprem = env.path("conf/codedeploy.onpremises.yml")
        os.chmod(onprem, 0o666)
        env.start()
        want = "refusing the on-premises config file %s: '%s' is owned by root (uid 0), mode 0666" \
            % (onprem, onprem) if os.geteuid() == 0 else "mode 0666"
        harness.wait_for(lambda: want in env.agent_log() + env.stderr_text(), 30,
                         "the refusal in the log")
        assert "Cannot start polling" in env.agent_log() + env.stderr_text()


def test_stray_signals_do_not_kill_the_daemon_issue18():
    """SIGUSR1, SIGUSR2, SIGALRM and the others a service may be sent by mistake killed the agent
    at once; it now keeps running and still deploys."""
    import signal
    from test_daemon import daemon_world, one_script_bundle
    from commands_server import in_place, s3_revision
    with daemon_world() as (fc, s3, env):
        s3.create_bucket("bucket")
        s3.put_object("bucket", "b.zip", one_script_bundle("AfterInstall", "h.sh",
                                                           "#!/bin/sh\necho hi\n"))
        env.start()
        harness.wait_for(lambda: fc.requests("PollHostCommand"), 30, "the first poll")
        for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGVTALRM,
                    signal.SIGPROF, signal.SIGIO, signal.SIGRTMIN, signal.SIGRTMAX):
            env.agent.send_signal(sig)
        fc.add_deployment(in_place("d-STRAYSIG1", s3_revision("bucket", "b.zip", "zip"),
                                   application_stop=False))
        assert fc.wait_deployment("d-STRAYSIG1", 60) == "Succeeded", fc.completions("d-STRAYSIG1")
        assert env.agent.poll() is None, "the agent keeps running"
        assert env.stop() == 0


def test_instant_empty_polls_keep_a_minimum_interval_issue18():
    """:wait_between_runs: 0 and a service that answers an empty poll at once: the agent polled
    ~3 500 times a second.  Now polls without new work start at least 1 s apart, so within the
    window below it can poll a handful of times at most (a slow machine polls fewer)."""
    import time
    from daemonenv import DaemonEnv
    from test_daemon import servers, stop_servers
    fc, s3 = servers(poll_hold=0)
    try:
        with DaemonEnv(fc, s3, extra_config=":wait_between_runs: 0") as env:
            env.start()
            harness.wait_for(lambda: fc.requests("PollHostCommand"), 30, "the first poll")
            first = len(fc.requests("PollHostCommand"))
            time.sleep(3)
            polls = len(fc.requests("PollHostCommand")) - first
            assert polls <= 6, "%d polls in 3 s" % polls
            assert env.agent.poll() is None
    finally:
        stop_servers(fc, s3)


def test_group_applies_when_the_agent_already_runs_as_user_issue11():
    """:user: root with :group: nogroup: the uid already matched, so :group: was ignored."""
    _need_root("switching groups")
    import grp
    from daemonenv import DaemonEnv
    gid = grp.getgrnam("nogroup").gr_gid
    with DaemonEnv(_Nowhere(), _Nowhere(), extra_config=":user: root\n:group: nogroup") as env:
        p = env.start()
        harness.wait_for(lambda: env.agent_log() or p.poll() is not None, 30, "the agent log")
        assert p.poll() is None, env.stderr_text()
        status = open("/proc/%d/status" % p.pid).read()
        gids = [l.split()[1:] for l in status.splitlines() if l.startswith("Gid:")][0]
        assert gids == [str(gid)] * 4, (gids, env.stderr_text())

