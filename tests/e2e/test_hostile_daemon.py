"""Hostile bundles through the daemon (issue 11 item 1; spec R-125, R-215): the daemon's working
directory is '/', so a failed extraction whose deferred directory fix-ups ran relative to the
working directory changed '/<entry name>'.  The bait is a uniquely named directory in '/' (root
only: the daemon test runs as root in CI); it is removed afterwards."""
import io
import os
import tarfile
import uuid

import harness
from test_daemon import daemon_world
from commands_server import in_place, s3_revision


def _tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _dir(name, mode):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = mode
    ti.mtime = 0
    return ti, None


def _file(name, data, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    return ti, data


def test_failed_unpack_in_daemon_leaves_root_directory_alone_R125_R215():
    if os.geteuid() != 0:
        raise harness.Skip("needs root to place bait in '/' (the daemon's working directory)")
    bait = "cdagent-bait-" + uuid.uuid4().hex[:12]
    path = "/" + bait
    os.mkdir(path, 0o755)
    os.chmod(path, 0o755)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    try:
        bundle = _tar([_file("appspec.yml", b"version: 0.0\nos: linux\n"),
                       _dir(bait + "/", 0o777),
                       _file("../evil", b"x")])
        with daemon_world() as (fc, s3, env):
            s3.create_bucket("bucket")
            s3.put_object("bucket", "evil.tar", bundle)
            fc.add_deployment(in_place("d-BAITROOT1", s3_revision("bucket", "evil.tar", "tar"),
                                       application_stop=False))
            env.start()
            assert fc.wait_deployment("d-BAITROOT1", 60) == "Failed"
            msgs = [c["diagnostics"]["message"] for c in fc.completions("d-BAITROOT1")
                    if c["status"] == "Failed"]
            assert any("Refusing unsafe archive entry '../evil'" in m for m in msgs), msgs
            assert env.agent.poll() is None, "the agent keeps running"
        st = os.stat(path)
        assert oct(st.st_mode & 0o7777) == oct(0o755), "bait mode changed: %o" % st.st_mode
        assert int(st.st_mtime) == 1_600_000_000, "bait mtime changed: %s" % st.st_mtime
    finally:
        os.rmdir(path)
