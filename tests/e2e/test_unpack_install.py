"""Unpack and Install end to end through build/tools/deploy_files (issue 3).

Archives here are built with Python's tarfile/zipfile, a second producer next to the unit
tests' libarchive writer, so header quirks of other tools (pax path overrides, GNU long names,
pax global headers as in GitHub tarballs, Info-ZIP style Unix attributes) are covered.  Every
hostile archive runs next to a sentinel directory and the whole scratch tree is compared before
and after: nothing may appear outside the target (R-125, R-215).
"""
import io
import os
import stat
import tarfile
import zipfile

import harness

TOOL = os.path.join(harness.BUILD, "tools", "deploy_files")


def tool(*args):
    if not os.access(TOOL, os.X_OK):
        raise harness.Skip("build/tools/deploy_files not built")
    return harness.run([TOOL] + [str(a) for a in args])


def snapshot(root):
    out = []
    for base, dirs, files in os.walk(root):
        for n in sorted(dirs + files):
            p = os.path.join(base, n)
            st = os.lstat(p)
            out.append((os.path.relpath(p, root), st.st_mode, 0 if stat.S_ISDIR(st.st_mode)
                        else st.st_size))
    return sorted(out)


def tar_bytes(members, fmt=tarfile.PAX_FORMAT, compress="", pax_headers=None):
    """members: (TarInfo, data-or-None)."""
    buf = io.BytesIO()
    kw = {"format": fmt}
    if pax_headers:
        kw["pax_headers"] = pax_headers
    with tarfile.open(fileobj=buf, mode="w:" + compress, **kw) as t:
        for ti, data in members:
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def ti(name, kind=tarfile.REGTYPE, mode=0o644, link="", pax=None):
    t = tarfile.TarInfo(name)
    t.type = kind
    t.mode = mode
    t.linkname = link
    t.mtime = 1500000000
    if pax:
        t.pax_headers = pax
    return t


def zip_bytes(members):
    """members: (name, data, unix mode incl. file type)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in members:
            zi = zipfile.ZipInfo(name, date_time=(2020, 1, 2, 3, 4, 6))
            zi.create_system = 3
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = mode << 16
            z.writestr(zi, data)
    return buf.getvalue()


def expect_refused(env, archive_bytes, kind, fragment, code="Unsafe"):
    env.write("outside/sentinel", "keep")
    os.makedirs(env.path("work"), exist_ok=True)
    archive = env.write("evil." + kind, archive_bytes)
    before = snapshot(env.dir)
    r = tool("unpack", kind, archive, env.path("work", "deployment-archive"))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout.startswith("error %s: " % code), r.stdout
    assert fragment in r.stdout, (fragment, r.stdout)
    assert snapshot(env.dir) == before, "something was written: %s" % (
        set(snapshot(env.dir)) ^ set(before))
    os.unlink(archive)


def test_python_tar_hostile_entries_are_refused():
    with harness.Env("unpack") as env:
        outside = env.path("outside")
        cases = [
            ([(ti("../outside/evil"), b"x")], "Refusing unsafe archive entry '../outside/evil'"),
            ([(ti(outside + "/abs"), b"x")], "absolute path"),
            # A pax 'path' record overriding an innocent ustar name.
            ([(ti("innocent", pax={"path": "../../outside/pax"}), b"x")], "path contains '..'"),
            # A GNU long name (././@LongLink) that climbs out.
            ([(ti("a/" * 60 + "../" * 62 + "outside/long"), b"x")], "path contains '..'"),
            ([(ti("link", tarfile.SYMTYPE, link=outside), None), (ti("link/pwned"), b"x")],
             "would be written through the symbolic link 'link'"),
            ([(ti("up", tarfile.SYMTYPE, link="../outside"), None),
              (ti("up/sub", tarfile.DIRTYPE, 0o755), None)], "symbolic link 'up'"),
            ([(ti("stolen", tarfile.LNKTYPE, link="../outside/sentinel"), None)],
             "hard link target lies outside the archive"),
            ([(ti("stolen", tarfile.LNKTYPE, link=outside + "/sentinel"), None)],
             "hard link target lies outside the archive"),
        ]
        for members, fragment in cases:
            fmt = tarfile.GNU_FORMAT if "long" in members[0][0].name else tarfile.PAX_FORMAT
            expect_refused(env, tar_bytes(members, fmt=fmt), "tar", fragment)
            expect_refused(env, tar_bytes(members, fmt=fmt, compress="gz"), "tar", fragment)


def test_python_zip_hostile_entries_are_refused():
    with harness.Env("unpack") as env:
        outside = env.path("outside")
        cases = [
            ([("../outside/evil", b"x", 0o100644)], "'../outside/evil': path contains '..'"),
            ([(outside + "/abs", b"x", 0o100644)], "absolute path"),
            ([("link", outside.encode(), 0o120777), ("link/pwned", b"x", 0o100644)],
             "through the symbolic link 'link'"),
        ]
        for members, fragment in cases:
            expect_refused(env, zip_bytes(members), "zip", fragment)


def test_zip_bomb_and_entry_cap_are_refused():
    with harness.Env("unpack") as env:
        bomb = zip_bytes([("small", b"x", 0o100644), ("bomb", b"\0" * (16 << 20), 0o100644)])
        assert len(bomb) < (1 << 20)
        env.write("outside/sentinel", "keep")
        os.makedirs(env.path("work"))
        archive = env.write("bomb.zip", bomb)
        before = snapshot(env.dir)
        r = tool("unpack", "zip", archive, env.path("work", "deployment-archive"), 100,
                 1 << 20)
        assert r.stdout.startswith("error Limit: Refusing archive entry 'bomb'"), r.stdout
        assert snapshot(env.dir) == before
        many = tar_bytes([(ti("f%03d" % i), b"x") for i in range(20)], compress="gz")
        archive = env.write("many.tgz", many)
        r = tool("unpack", "tgz", archive, env.path("work", "deployment-archive"), 10, 1 << 20)
        assert "the archive has more than 10 entries" in r.stdout, r.stdout


def test_devices_and_fifos_are_skipped_with_a_note():
    with harness.Env("unpack") as env:
        dev = ti("null", tarfile.CHRTYPE, 0o666)
        dev.devmajor, dev.devminor = 1, 3
        archive = env.write("dev.tar", tar_bytes([(dev, None), (ti("fifo", tarfile.FIFOTYPE),
                                                                  None), (ti("ok"), b"ok")]))
        dest = env.path("deployment-archive")
        r = tool("unpack", "tar", archive, dest)
        assert r.stdout.startswith("ok entries=3 skipped=2"), (r.stdout, r.stderr)
        assert "Skipping archive entry 'null'" in r.stderr
        assert sorted(os.listdir(dest)) == ["ok"]


def test_github_style_tarball_labelled_tar_is_stripped_C124():
    with harness.Env("unpack") as env:
        top = "octo-repo-0123456789abcdef/"
        data = tar_bytes([
            (ti(top, tarfile.DIRTYPE, 0o775), None),
            (ti(top + "appspec.yml"), b"version: 0.0\nos: linux\n"),
            (ti(top + "scripts", tarfile.DIRTYPE, 0o775), None),
            (ti(top + "scripts/start.sh", mode=0o755), b"#!/bin/sh\n"),
        ], compress="gz", pax_headers={"comment": "0123456789abcdef"})
        archive = env.write("bundle.tar", data)
        dest = env.path("deployment-archive")
        r = tool("unpack", "tar", archive, dest)
        assert r.stdout.startswith("ok entries=4") and "stripped=1" in r.stdout, r.stdout
        assert os.path.isfile(os.path.join(dest, "appspec.yml"))
        assert stat.S_IMODE(os.stat(os.path.join(dest, "scripts/start.sh")).st_mode) == 0o755
        assert not os.path.exists(dest + "-temp")


def test_python_zip_modes_and_symlinks_C129():
    with harness.Env("unpack") as env:
        archive = env.write("b.zip", zip_bytes([
            ("appspec.yml", b"version: 0.0\n", 0o100644),
            ("bin/", b"", 0o040750),
            ("bin/run", b"#!/bin/sh\n", 0o100755),
            ("bin/current", b"run", 0o120777),
            ("private.key", b"k", 0o100600),
        ]))
        dest = env.path("deployment-archive")
        r = tool("unpack", "zip", archive, dest)
        assert r.stdout.startswith("ok entries=5 skipped=0 stripped=0"), (r.stdout, r.stderr)
        mode = lambda p: stat.S_IMODE(os.lstat(os.path.join(dest, p)).st_mode)
        assert mode("bin/run") == 0o755
        assert mode("private.key") == 0o600
        assert mode("bin") == 0o750
        assert os.readlink(os.path.join(dest, "bin/current")) == "run"


def test_unpack_then_install_twice_round_trip_C187():
    with harness.Env("install") as env:
        root, group = env.path("root"), "grp"
        dest = env.path("srv", "app")
        appspec = ("version: 0.0\nos: linux\nfiles:\n  - source: web\n    destination: %s\n"
                   "permissions:\n  - object: %s\n    pattern: \"*.sh\"\n    mode: 0750\n"
                   % (dest, dest))
        bundle = tar_bytes([
            (ti("appspec.yml"), appspec.encode()),
            (ti("web/index.html"), b"<h1>v1</h1>"),
            (ti("web/bin/start.sh", mode=0o644), b"#!/bin/sh\n"),
            (ti("web/start.sh", mode=0o644), b"#!/bin/sh\n"),
        ], compress="gz")
        for dep in ("d-1", "d-2"):
            ddir = os.path.join(root, group, dep)
            os.makedirs(ddir)
            archive = env.write(os.path.join(ddir, "bundle.tar"), bundle)
            r = tool("unpack", "tgz", archive, os.path.join(ddir, "deployment-archive"))
            assert r.stdout.startswith("ok"), r.stdout
            r = tool("install", root, group, dep)
            assert r.stdout == "ok\n", (r.stdout, r.stderr)
        with open(os.path.join(dest, "index.html")) as f:
            assert f.read() == "<h1>v1</h1>"
        assert stat.S_IMODE(os.stat(os.path.join(dest, "start.sh")).st_mode) == 0o750
        assert stat.S_IMODE(os.stat(os.path.join(dest, "bin/start.sh")).st_mode) == 0o644
        instr = os.path.join(root, "deployment-instructions")
        with open(os.path.join(instr, group + "_last_successful_install")) as f:
            assert f.read() == os.path.join(root, group, "d-2")
        with open(os.path.join(instr, group + "-cleanup")) as f:
            lines = f.read().split("\n")
        assert lines[0] == env.path("srv"), lines
        assert lines[-1] == ""
        # A third deployment that conflicts with a host file fails and leaves d-2's files.
        ddir = os.path.join(root, group, "d-3")
        os.makedirs(ddir)
        bundle3 = tar_bytes([(ti("appspec.yml"), appspec.encode()),
                             (ti("web/index.html"), b"<h1>v3</h1>"),
                             (ti("web/new.txt"), b"new")])
        archive = env.write(os.path.join(ddir, "bundle.tar"), bundle3)
        assert tool("unpack", "tar", archive, os.path.join(ddir, "deployment-archive")
                    ).returncode == 0
        env.write(os.path.join(dest, "new.txt"), "host")
        r = tool("install", root, group, "d-3")
        assert r.stdout.startswith("error Install: The deployment failed because a specified "
                                   "file already exists at this location: " + dest), r.stdout
        with open(os.path.join(dest, "index.html")) as f:
            assert f.read() == "<h1>v1</h1>"
        r = tool("install", root, group, "d-3", "OVERWRITE")
        assert r.stdout == "ok\n", r.stdout
        with open(os.path.join(dest, "new.txt")) as f:
            assert f.read() == "new"
        assert not os.path.exists(os.path.join(dest, "start.sh"))


def test_non_ascii_names_in_the_c_locale():
    """UTF-8 names (zip flag bit 11, pax path records) extract under LC_ALL=C as in a daemon."""
    with harness.Env("unpack") as env:
        os.environ["LC_ALL"] = "C"
        try:
            name = "caf\u00e9/na\u00efve \u65e5\u672c.txt"
            z = env.write("u.zip", zip_bytes([(name, b"z", 0o100644)]))
            t = env.write("u.tar", tar_bytes([(ti(name), b"t")]))
            for kind, archive, data in (("zip", z, "z"), ("tar", t, "t")):
                dest = env.path("out-" + kind)
                r = tool("unpack", kind, archive, dest)
                assert r.stdout.startswith("ok entries=1"), (kind, r.stdout)
                with open(os.path.join(dest, name), encoding="utf-8") as f:
                    assert f.read() == data
            expect_refused(env, zip_bytes([("../\u00e9vil", b"x", 0o100644)]), "zip",
                           "Refusing unsafe archive entry '../\u00e9vil'")
        finally:
            del os.environ["LC_ALL"]


def _mount_tmpfs(path, size):
    """Mount a tmpfs of size bytes at path, or raise harness.Skip saying why not."""
    if os.geteuid() != 0:
        raise harness.Skip("a real full disk needs a tmpfs mount, which needs root")
    os.makedirs(path, exist_ok=True)
    r = harness.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size, "tmpfs", path])
    if r.returncode != 0:
        raise harness.Skip("cannot mount a tmpfs here: " + (r.stderr or r.stdout).strip())


def _stage(env, root, group, dep, appspec, files):
    ddir = os.path.join(root, group, dep)
    os.makedirs(ddir)
    members = [(ti("appspec.yml"), appspec.encode())]
    members += [(ti("web/" + name), data) for name, data in files]
    archive = env.write(os.path.join(ddir, "bundle.tar"), tar_bytes(members))
    r = tool("unpack", "tar", archive, os.path.join(ddir, "deployment-archive"))
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_install_on_a_full_tmpfs_refuses_early_or_restores_previous_issue11():
    """Issue 11 item 2 on a real 32 MiB file system: a revision that cannot fit is refused
    before anything is removed; one that runs out of space half-way (the previous file is held
    open, so removing it frees nothing) ends with the previous revision's files back."""
    with harness.Env("install") as env:
        dest = env.path("mnt")
        _mount_tmpfs(dest, 32 << 20)
        try:
            root, group = env.path("root"), "grp"
            appspec = ("version: 0.0\nos: linux\nfiles:\n  - source: web\n    destination: %s\n"
                       % os.path.join(dest, "app"))
            old = os.urandom(10 << 20)
            _stage(env, root, group, "d-1", appspec, [("a.bin", old), ("v.txt", b"v1")])
            r = tool("install", root, group, "d-1")
            assert r.stdout == "ok\n", (r.stdout, r.stderr)
            cleanup = os.path.join(root, "deployment-instructions", group + "-cleanup")
            with open(cleanup, "rb") as f:
                cleanup_d1 = f.read()

            # 40 MiB can never fit in 32: refused with the numbers, nothing touched.
            _stage(env, root, group, "d-2", appspec, [("huge.bin", b"\0" * (40 << 20))])
            r = tool("install", root, group, "d-2")
            assert r.stdout.startswith("error Install: Install: not enough free space on the "
                                       "file system holding '%s'" % dest), r.stdout
            assert "nothing was changed" in r.stdout, r.stdout
            with open(os.path.join(dest, "app", "a.bin"), "rb") as f:
                assert f.read() == old

            # 24 MiB fits once a.bin's 10 MiB are freed, but a.bin is held open: ENOSPC midway.
            _stage(env, root, group, "d-3", appspec, [("b.bin", os.urandom(24 << 20))])
            with open(os.path.join(dest, "app", "a.bin"), "rb"):
                r = tool("install", root, group, "d-3")
            assert "No space left on device" in r.stdout, r.stdout
            assert ("the previous revision's files (%s) were restored"
                    % os.path.join(root, group, "d-1")) in r.stdout, r.stdout
            with open(os.path.join(dest, "app", "a.bin"), "rb") as f:
                assert f.read() == old
            with open(os.path.join(dest, "app", "v.txt"), "rb") as f:
                assert f.read() == b"v1"
            assert not os.path.exists(os.path.join(dest, "app", "b.bin"))
            assert sorted(os.listdir(os.path.join(dest, "app"))) == ["a.bin", "v.txt"]
            with open(cleanup, "rb") as f:
                assert f.read() == cleanup_d1
            last = os.path.join(root, "deployment-instructions", group + "_last_successful_install")
            with open(last) as f:
                assert f.read() == os.path.join(root, group, "d-1")
        finally:
            harness.run(["umount", "-l", dest])
