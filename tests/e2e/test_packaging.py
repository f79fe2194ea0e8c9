"""Packaging for Amazon Linux 2023 (issue 7): systemd unit, default config, `make dist`, `make rpm`.

The RPM is built once per test run (`make rpm`, about a second) and then inspected with
`rpm -qp`, installed into scratch roots with `rpm --root` (no scripts: every file where the spec
says, with its mode), installed, upgraded and removed with its scriptlets running in a chroot
that holds a shell, the few tools the scriptlets use and a fake `systemctl`, and swapped with a
stand-in for the AWS agent's package in one rpm transaction (the python3-rpm bindings, as dnf
does).  Installing into a root needs root; those tests skip otherwise.
"""
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import time

import harness

SRC = harness.SRC
UNIT = os.path.join(SRC, "packaging", "systemd", "codedeploy-agent.service")
CONF = os.path.join(SRC, "packaging", "conf", "codedeployagent.yml")
SPEC = os.path.join(SRC, "packaging", "rpm", "cdagent.spec")
LOGROTATE = os.path.join(SRC, "packaging", "logrotate", "codedeploy-agent")
RESTART_HELPER = os.path.join(SRC, "packaging", "libexec", "restart-when-idle")
UNIT_NAME = "codedeploy-agent.service"
KILL_WAIT_DEFAULT = 7200  # :kill_agent_max_wait_time_seconds: default, spec


def _version():
    with open(os.path.join(SRC, "Makefile")) as f:
        m = re.search(r"^VERSION\s*:=\s*(\S+)", f.read(), re.M)
    return m.group(1)


def _unit_settings():
    """[(section, key, value)] of the unit file, in order."""
    out, section = [], None
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, _, v = line.partition("=")
            out.append((section, k, v))
    return out


def _get(settings, section, key):
    vals = [v for s, k, v in settings if s == section and k == key]
    return vals[-1] if vals else None


def _seconds(v):
    m = re.fullmatch(r"(\d+)(s|min)?", v)
    assert m, "cannot read a duration from %r" % v
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


# ---------------------------------------------------------------- systemd unit

def test_unit_systemd_analyze_verify_R013():
    if not shutil.which("systemd-analyze"):
        raise harness.Skip("systemd-analyze not installed")
    if not os.access(harness.AGENT, os.X_OK):
        raise AssertionError("agent not built: %s" % harness.AGENT)
    with harness.Env("unit") as env:
        # verify wants ExecStart= to exist: a copy that points at the built binary
        with open(UNIT) as f:
            text = f.read()
        assert "ExecStart=/opt/codedeploy-agent/bin/codedeploy-agent run\n" in text
        copy = env.write(UNIT_NAME, text.replace("/opt/codedeploy-agent/bin/codedeploy-agent",
                                                 harness.AGENT))
        r = harness.run(["systemd-analyze", "verify", copy])
        assert r.returncode == 0, r
        noise = [line for line in (r.stdout + r.stderr).splitlines() if UNIT_NAME in line or
                 "Unknown" in line or "codedeploy" in line]
        assert noise == [], noise
        # and the check can fail: a misspelt key is reported
        bad = env.write("bad/" + UNIT_NAME, text.replace("KillMode=process", "KilMode=process"))
        r = harness.run(["systemd-analyze", "verify", bad])
        assert "KilMode" in r.stderr, r


def test_unit_settings_R013_C235():
    s = _unit_settings()
    assert _get(s, "Service", "Type") == "notify"
    assert _get(s, "Service", "ExecStart") == "/opt/codedeploy-agent/bin/codedeploy-agent run"
    assert _get(s, "Service", "Restart") == "on-failure"
    assert "network-online.target" in _get(s, "Unit", "After").split()
    assert "network-online.target" in _get(s, "Unit", "Wants").split()
    assert _get(s, "Install", "WantedBy") == "multi-user.target"
    # C-235: hooks' applications survive a stop; systemd never SIGKILLs during the R-077 wait
    assert _get(s, "Service", "KillMode") == "process"
    assert _seconds(_get(s, "Service", "TimeoutStopSec")) >= KILL_WAIT_DEFAULT + 30
    assert _seconds(_get(s, "Service", "WatchdogSec")) > 80  # longer than the long poll
    assert int(_get(s, "Service", "LimitNOFILE")) >= 65536
    assert _get(s, "Service", "WorkingDirectory") == "/"
    # no sandboxing that breaks deployments (hooks write anywhere, use sudo, share /tmp)
    for key in ("ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges",
                "ReadOnlyPaths", "CapabilityBoundingSet", "SystemCallFilter", "User"):
        assert _get(s, "Service", key) is None, key


def test_unit_every_setting_is_commented():
    """Each group of [Service] settings is preceded by a comment that explains it."""
    with open(UNIT) as f:
        lines = [line.rstrip("\n") for line in f]
    section, commented = None, False
    for line in lines:
        st = line.strip()
        if st.startswith("["):
            section, commented = st, False
        elif st.startswith("#"):
            commented = True
        elif not st:
            commented = False
        elif section == "[Service]":
            assert commented, "uncommented setting in [Service]: %r" % st


def test_unit_timeout_matches_shipped_kill_wait():
    """If the shipped config sets the kill wait, the unit's stop timeout covers it (R-013)."""
    conf = _read_conf()
    wait = int(conf.get("kill_agent_max_wait_time_seconds") or KILL_WAIT_DEFAULT)
    assert _seconds(_get(_unit_settings(), "Service", "TimeoutStopSec")) >= wait + 30


# ---------------------------------------------------------------- default config

def _read_conf():
    out = {}
    with open(CONF) as f:
        for line in f:
            if line.startswith("#") or line.strip() in ("", "---"):
                continue
            m = re.fullmatch(r":?([a-z0-9_]+):\s*(.*?)\s*", line.rstrip("\n"))
            assert m, "not a key line: %r" % line
            v = m.group(2)
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            out[m.group(1)] = v
    return out


def test_default_config_is_the_shipped_column_R021():
    assert _read_conf() == {
        "log_aws_wire": "false",
        "log_dir": "/var/log/aws/codedeploy-agent/",
        "pid_dir": "/opt/codedeploy-agent/state/.pid/",
        "program_name": "codedeploy-agent",
        "root_dir": "/opt/codedeploy-agent/deployment-root",
        "verbose": "false",
        "wait_between_runs": "1",
        "proxy_uri": "",
        "max_revisions": "5",
        "disable_imds_v1": "false",
    }


def test_logrotate_file_parses():
    if not shutil.which("logrotate"):
        raise harness.Skip("logrotate not installed")
    with harness.Env("logrotate") as env:
        r = harness.run(["logrotate", "-d", "-s", env.path("state"), LOGROTATE])
        assert r.returncode == 0, r
        out = r.stdout + r.stderr
        assert "error" not in out.lower(), out
        assert "codedeploy-local.log" in out


# ---------------------------------------------------------------- make dist

def test_make_dist_tarball():
    v = _version()
    tarball = os.path.join(harness.BUILD, "cdagent-%s.tar.gz" % v)
    r = harness.run(["make", "-s", "-C", SRC, "dist", "B=" + harness.BUILD])
    assert r.returncode == 0, r
    assert r.stdout.strip().endswith(tarball), r.stdout
    with tarfile.open(tarball) as t:
        names = t.getnames()
        members = {m.name: m for m in t.getmembers()}
    prefix = "cdagent-%s/" % v
    assert all(n.startswith(prefix) for n in names), [n for n in names if
                                                      not n.startswith(prefix)][:5]
    for need in ("Makefile", "LICENSE", "README.md", "packaging/rpm/cdagent.spec",
                 "packaging/systemd/codedeploy-agent.service", "hooks/wait-for-http",
                 "scripts/dist.sh", "agent/cli/main.c"):
        assert prefix + need in names, need
    assert not any(n.startswith(prefix + "build/") for n in names)
    assert not any("/.git/" in n for n in names)
    assert members[prefix + "hooks/wait-for-http"].mode & 0o111, "hook lost its x bit"
    assert {m.uid for m in members.values()} == {0}
    with open(tarball, "rb") as f:
        first = hashlib.sha256(f.read()).hexdigest()
    r = harness.run(["make", "-s", "-C", SRC, "dist", "B=" + harness.BUILD])
    with open(tarball, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == first, "dist is not reproducible"


def test_dist_from_an_unpacked_tarball_without_git():
    """dist.sh outside a git checkout packs the same files (the tree minus build/)."""
    v = _version()
    tarball = os.path.join(harness.BUILD, "cdagent-%s.tar.gz" % v)
    r = harness.run(["make", "-s", "-C", SRC, "dist", "B=" + harness.BUILD])
    assert r.returncode == 0, r
    with harness.Env("dist") as env, tarfile.open(tarball) as t:
        names = sorted(t.getnames())
        if hasattr(tarfile, "data_filter"):
            t.extractall(env.dir, filter="data")
        else:
            t.extractall(env.dir)
        tree = env.path("cdagent-%s" % v)
        assert not os.path.exists(os.path.join(tree, ".git"))
        os.makedirs(os.path.join(tree, "build", "junk"))  # must not be packed
        r = harness.run(["sh", os.path.join(tree, "scripts", "dist.sh"), v, env.path("out")],
                        cwd=env.dir)
        assert r.returncode == 0, r
        with tarfile.open(env.path("out", "cdagent-%s.tar.gz" % v)) as t2:
            assert sorted(t2.getnames()) == names


def test_spec_version_matches_makefile():
    with open(SPEC) as f:
        m = re.search(r"%global cdagent_version (\S+)\}", f.read())
    assert m and m.group(1) == _version(), (m and m.group(1), _version())


# ---------------------------------------------------------------- make rpm

_RPM = {}


def _rpm():
    """Build the RPM once (make rpm); returns its path."""
    if "path" in _RPM:
        return _RPM["path"]
    if "error" in _RPM:
        raise AssertionError(_RPM["error"])
    if not shutil.which("rpmbuild"):
        harness.run(["sh", os.path.join(SRC, "scripts", "deps.sh"), "rpm"], timeout=600)
    if not shutil.which("rpmbuild"):
        raise harness.Skip("rpmbuild is not installed and could not be installed")
    r = harness.run(["make", "-s", "-C", SRC, "rpm", "B=" + harness.BUILD], timeout=600)
    if r.returncode != 0:
        _RPM["error"] = "make rpm failed:\n%s\n%s" % (r.stdout, r.stderr)
        raise AssertionError(_RPM["error"])
    path = r.stdout.strip().splitlines()[-1]
    assert os.path.isfile(path) and path.endswith(".rpm"), r.stdout
    _RPM["path"] = path
    return path


def _q(*args):
    r = harness.run(["rpm", "-qp"] + list(args) + [_rpm()])
    assert r.returncode == 0, r
    return r.stdout


# path -> (type+mode, owner:group); "l" entries are symlinks, "d" directories
EXPECTED_FILES = {
    "/opt/codedeploy-agent": ("d", 0o755),
    "/opt/codedeploy-agent/bin": ("d", 0o755),
    "/opt/codedeploy-agent/bin/codedeploy-agent": ("-", 0o755),
    "/opt/codedeploy-agent/bin/codedeploy-local": ("l", "codedeploy-agent"),
    "/opt/codedeploy-agent/hooks": ("d", 0o755),
    "/opt/codedeploy-agent/hooks/wait-for-http": ("-", 0o755),
    "/opt/codedeploy-agent/hooks/wait-for-port": ("-", 0o755),
    "/opt/codedeploy-agent/hooks/systemd-service": ("-", 0o755),
    "/opt/codedeploy-agent/libexec/restart-when-idle": ("-", 0o755),
    "/opt/codedeploy-agent/deployment-root": ("d", 0o755),
    "/opt/codedeploy-agent/state": ("d", 0o755),
    "/usr/bin/codedeploy-agent": ("l", "../../opt/codedeploy-agent/bin/codedeploy-agent"),
    "/usr/bin/codedeploy-local": ("l", "../../opt/codedeploy-agent/bin/codedeploy-local"),
    "/etc/codedeploy-agent/conf": ("d", 0o755),
    "/etc/codedeploy-agent/conf/codedeployagent.yml": ("-", 0o644),
    "/usr/lib/systemd/system/codedeploy-agent.service": ("-", 0o644),
    "/etc/logrotate.d/codedeploy-agent": ("-", 0o644),
    "/var/log/aws/codedeploy-agent": ("d", 0o755),
    "/usr/share/doc/cdagent/README.md": ("-", 0o644),
    "/usr/share/licenses/cdagent/LICENSE": ("-", 0o644),
}


def _rpm_files():
    out = {}
    fmt = "[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES} %{FILELINKTOS}\n]"
    for line in _q("--qf", fmt).splitlines():
        parts = line.split(" ")
        out[parts[2]] = (parts[0], parts[1], parts[3] if len(parts) > 3 else "")
    return out


def test_rpm_builds_and_file_list_R002():
    files = _rpm_files()
    for path, (kind, want) in EXPECTED_FILES.items():
        assert path in files, "missing from the RPM: %s" % path
        perms, owner, link = files[path]
        assert owner == "root:root", (path, owner)
        assert perms[0] == kind, (path, perms)
        if kind == "l":
            assert link == want, (path, link)
        else:
            mode = _perms_to_mode(perms)
            assert mode == want, (path, oct(mode))
    # nothing else is shipped (besides parent directories and debug build-id links)
    extra = {p for p in files
             if p not in EXPECTED_FILES and not p.startswith("/usr/lib/.build-id")}
    assert extra == {"/etc/codedeploy-agent", "/opt/codedeploy-agent/libexec", "/var/log/aws",
                     "/usr/share/doc/cdagent", "/usr/share/licenses/cdagent"}, sorted(extra)
    # nothing world-writable, no runtime state shipped inside deployment-root
    for path, (perms, _, _) in files.items():
        if perms[0] != "l":
            assert perms[8] != "w", "world-writable: %s" % path
        assert not path.startswith("/opt/codedeploy-agent/deployment-root/"), path


def _perms_to_mode(perms):
    mode = 0
    for i, ch in enumerate(perms[1:10]):
        if ch != "-":
            mode |= 1 << (8 - i)
    return mode


def test_rpm_config_files_noreplace():
    assert set(_q("--configfiles").split()) == {
        "/etc/codedeploy-agent/conf/codedeployagent.yml", "/etc/logrotate.d/codedeploy-agent"}
    flags = {}
    for line in _q("--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]").splitlines():
        path, _, fl = line.partition(" ")
        flags[path] = fl
    assert "n" in flags["/etc/codedeploy-agent/conf/codedeployagent.yml"]  # noreplace
    assert "c" in flags["/etc/codedeploy-agent/conf/codedeployagent.yml"]
    assert "n" in flags["/etc/logrotate.d/codedeploy-agent"]
    assert "c" not in flags["/usr/lib/systemd/system/codedeploy-agent.service"]


def test_rpm_provides_and_conflicts_aws_agent():
    v = _version()
    provides = _q("--provides").splitlines()
    assert any(p.startswith("codedeploy-agent = %s-" % v) for p in provides), provides
    assert "codedeploy-agent" in [c.strip() for c in _q("--conflicts").splitlines()]
    assert _q("--qf", "%{NAME} %{VERSION} %{LICENSE}") == "cdagent %s MIT" % v


def test_rpm_requires_al2023_packages():
    req = {line.split()[0] for line in _q("--requires").splitlines() if line.strip()}
    for name in ("libcurl", "openssl-libs", "libyaml", "libarchive", "systemd-libs", "cjson",
                 "systemd", "findutils"):
        assert name in req, (name, sorted(req))
    with open(SPEC) as f:
        spec = f.read()
    for name in ("libcurl-devel", "openssl-devel", "libyaml-devel", "libarchive-devel",
                 "systemd-devel", "cjson-devel"):
        assert re.search(r"^BuildRequires:\s+%s$" % name, spec, re.M), name


def test_rpm_scriptlets():
    text = _q("--scripts")
    parts = dict(re.findall(r"^(\w+) scriptlet \(using /bin/sh\):\n(.*?)(?=^\w+ scriptlet|\Z)",
                            text, re.M | re.S))
    assert set(parts) >= {"preinstall", "postinstall", "preuninstall", "postuninstall",
                          "posttrans"}, list(parts)
    # standard systemd macros (Fedora/AL2023 expansion or the spec's equivalent)
    assert re.search(r"preset|install-system-units", parts["postinstall"])
    assert re.search(r"disable --now|remove-system-units", parts["preuninstall"])
    assert re.search(r"daemon-reload|system-reload", parts["postuninstall"])
    pt = parts["posttrans"]
    assert "systemctl enable codedeploy-agent.service" in pt
    assert "restart-when-idle --check" in pt and "systemd-run" in pt
    assert "try-restart codedeploy-agent.service" in pt
    assert "deployment-root" in parts["postuninstall"]  # tells what was kept


def test_spec_cjson_source_conditional():
    """AL2023 has no cjson-devel: `--with cjson_source` builds cJSON from its tarball."""
    if not shutil.which("rpmspec"):
        raise harness.Skip("rpmspec not installed")
    base = ["rpmspec", "--define", "_topdir /nonexistent"]
    r = harness.run(base + ["-q", "--buildrequires", SPEC])
    assert r.returncode == 0 and "cjson-devel" in r.stdout.split(), r
    r = harness.run(base + ["--with", "cjson_source", "-q", "--buildrequires", SPEC])
    assert r.returncode == 0 and "cjson-devel" not in r.stdout.split(), r
    r = harness.run(base + ["--with", "cjson_source", "-q", "--requires", SPEC])
    assert r.returncode == 0 and "cjson" not in r.stdout.split(), r
    r = harness.run(base + ["--with", "cjson_source", "-q", "--provides", SPEC])
    assert "bundled(cjson)" in r.stdout, r
    r = harness.run(base + ["--with", "cjson_source", "-P", SPEC])
    assert re.search(r"^Source1:.*cJSON-1\.7\.\d+\.tar\.gz$", r.stdout, re.M), r.stdout[:2000]
    assert "cJSON.c" in r.stdout and "libcjson.pc" in r.stdout


# ---------------------------------------------------------------- installing into scratch roots

def _need_root():
    if os.geteuid() != 0:
        raise harness.Skip("installing into a scratch root with rpm needs root")


def _rpm_root(root, *args, check=True):
    r = harness.run(["rpm", "--root", root, "--dbpath", "/var/lib/rpm"] + list(args))
    if check:
        assert r.returncode == 0, r
    return r


def _init_root(env):
    root = env.path("root")
    os.makedirs(root)
    _rpm_root(root, "--initdb")
    return root


def test_rpm_install_scratch_root_puts_files_in_place_R002():
    _need_root()
    with harness.Env("rpmroot") as env:
        root = _init_root(env)
        _rpm_root(root, "-i", "--nodeps", "--noscripts", _rpm())
        for path, (kind, want) in EXPECTED_FILES.items():
            p = root + path
            st = os.lstat(p)
            if kind == "l":
                assert os.path.islink(p) and os.readlink(p) == want, path
                assert os.path.exists(p), "dangling link %s" % path
            elif kind == "d":
                assert os.path.isdir(p) and (st.st_mode & 0o7777) == want, (path, oct(st.st_mode))
            else:
                assert os.path.isfile(p) and (st.st_mode & 0o7777) == want, (path, oct(st.st_mode))
            assert st.st_uid == 0 and st.st_gid == 0, path
        # the installed program is the agent we built; codedeploy-local reaches it too
        with open(root + "/opt/codedeploy-agent/bin/codedeploy-agent", "rb") as f, \
                open(harness.AGENT, "rb") as g:
            assert f.read(4) == b"\x7fELF" and g.read(4) == b"\x7fELF"
        assert os.path.realpath(root + "/usr/bin/codedeploy-local") == \
            os.path.realpath(root + "/opt/codedeploy-agent/bin/codedeploy-agent")
        with open(root + "/etc/codedeploy-agent/conf/codedeployagent.yml") as f, open(CONF) as g:
            assert f.read() == g.read()
        with open(root + "/usr/lib/systemd/system/codedeploy-agent.service") as f, \
                open(UNIT) as g:
            assert f.read() == g.read()
        r = _rpm_root(root, "-V", "--nodeps", "cdagent", check=False)
        assert r.returncode == 0, r  # everything on disk matches the package


FAKE_AWS_SPEC = """
Name: codedeploy-agent
Version: 1.8.1
Release: 1
Summary: stand-in for the AWS CodeDeploy agent package (tests only)
License: Apache-2.0
BuildArch: noarch
%description
Stand-in with the AWS package's name and a few of its paths.
%install
mkdir -p %{buildroot}/opt/codedeploy-agent/bin %{buildroot}/opt/codedeploy-agent/lib \
    %{buildroot}/etc/codedeploy-agent/conf %{buildroot}/etc/init.d
printf '#!/bin/sh\\necho ruby agent\\n' > %{buildroot}/opt/codedeploy-agent/bin/codedeploy-agent
chmod 755 %{buildroot}/opt/codedeploy-agent/bin/codedeploy-agent
echo 'ruby' > %{buildroot}/opt/codedeploy-agent/lib/instance_agent.rb
cp %{conf} %{buildroot}/etc/codedeploy-agent/conf/codedeployagent.yml
printf '#!/bin/sh\\n' > %{buildroot}/etc/init.d/codedeploy-agent
chmod 755 %{buildroot}/etc/init.d/codedeploy-agent
%files
%dir /opt/codedeploy-agent
/opt/codedeploy-agent/bin
/opt/codedeploy-agent/lib
%config(noreplace) /etc/codedeploy-agent/conf/codedeployagent.yml
/etc/init.d/codedeploy-agent
"""


def _fake_aws_rpm(env):
    top = env.path("fake-rpm")
    spec = env.write("fake-rpm/codedeploy-agent.spec", FAKE_AWS_SPEC)
    r = harness.run(["rpmbuild", "-bb", "--nodeps", "--define", "_topdir " + top,
                     "--define", "conf " + CONF, "--define", "debug_package %{nil}", spec])
    assert r.returncode == 0, r
    return glob.glob(os.path.join(top, "RPMS", "noarch", "codedeploy-agent-1.8.1-1*.rpm"))[0]


def _swap(root, install_path, erase_name):
    """One rpm transaction that installs one package and erases another, as `dnf swap` or
    `dnf install --allowerasing` do.  Scripts are off (they need a systemd host)."""
    import rpm  # python3-rpm
    rpm.addMacro("_dbpath", "/var/lib/rpm")

    def transaction():
        ts = rpm.TransactionSet(root)
        ts.setVSFlags(rpm._RPMVSF_NOSIGNATURES | rpm._RPMVSF_NODIGESTS)
        with open(install_path, "rb") as f:
            hdr = ts.hdrFromFdno(f.fileno())
        ts.addInstall(hdr, install_path, "i")
        for h in ts.dbMatch("name", erase_name):
            ts.addErase(h)
        return ts

    try:
        # The dependency check leaves only the library requirements of the empty scratch
        # root, and no conflict: the conflicting package leaves in the same transaction.
        ts = transaction()
        probs = ts.check() or []
        assert probs, "the check found nothing at all; is it working?"
        conflicts = [p for p in probs if "conflict" in str(p).lower()]
        assert not conflicts, conflicts
        ts.closeDB()
        # Run without the dependency check (like rpm --nodeps): file handling as dnf gets it.
        ts = transaction()
        ts.order()
        ts.setFlags(rpm.RPMTRANS_FLAG_NOSCRIPTS)
        fds = {}

        def cb(what, amount, total, key, data):
            if what == rpm.RPMCALLBACK_INST_OPEN_FILE:
                fds[key] = os.open(key, os.O_RDONLY)
                return fds[key]
            if what == rpm.RPMCALLBACK_INST_CLOSE_FILE:
                os.close(fds.pop(key))
            return None

        problems = ts.run(cb, "")
        assert not problems, problems
        ts.closeDB()
    finally:
        rpm.delMacro("_dbpath")


def _state_files(root):
    """Host state that must survive switching agents (R-100)."""
    base = root + "/opt/codedeploy-agent/deployment-root"
    return {
        base + "/deployment-instructions/grp-1_last_successful_install":
            "/opt/codedeploy-agent/deployment-root/grp-1/d-PREVIOUS1",
        base + "/deployment-instructions/grp-1-cleanup": "/var/www/app/index.html\n",
        base + "/grp-1/d-PREVIOUS1/deployment-archive/appspec.yml": "version: 0.0\nos: linux\n",
        base + "/deployment-logs/codedeploy-agent-deployments.log": "[x] [d-PREVIOUS1]hello\n",
        root + "/var/log/aws/codedeploy-agent/codedeploy-agent.log": "old log line\n",
    }


def test_switch_from_aws_agent_and_back_keeps_config_and_state():
    _need_root()
    try:
        import rpm  # noqa: F401
    except ImportError:
        raise harness.Skip("python3-rpm not installed (scripts/deps.sh check installs it)")
    with harness.Env("swap") as env:
        root = _init_root(env)
        aws = _fake_aws_rpm(env)
        _rpm_root(root, "-i", "--nodeps", "--noscripts", aws)
        # the user changed the config and has deployed before
        conf = root + "/etc/codedeploy-agent/conf/codedeployagent.yml"
        with open(conf, "a") as f:
            f.write(":verbose: true\n:proxy_uri: 'http://proxy.internal:3128'\n")
        with open(conf) as f:
            user_conf = f.read()
        state = _state_files(root)
        for p, content in state.items():
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(content)
        # installing next to the AWS package is refused: they conflict
        r = _rpm_root(root, "-i", "--test", _rpm(), check=False)
        assert r.returncode != 0 and "codedeploy-agent conflicts with cdagent-" in r.stderr, r

        _swap(root, _rpm(), "codedeploy-agent")
        assert _rpm_root(root, "-q", "--whatprovides", "codedeploy-agent").stdout.startswith(
            "cdagent-")
        with open(conf) as f:
            assert f.read() == user_conf, "the user's config was not kept"
        for p, content in state.items():
            with open(p) as f:
                assert f.read() == content, p
        with open(root + "/opt/codedeploy-agent/bin/codedeploy-agent", "rb") as f:
            assert f.read(4) == b"\x7fELF", "the AWS agent's program is still in place"
        assert not os.path.exists(root + "/opt/codedeploy-agent/lib/instance_agent.rb")
        assert os.access(root + "/opt/codedeploy-agent/hooks/wait-for-http", os.X_OK)

        # and back to the AWS agent: config and state stay again
        _swap(root, aws, "cdagent")
        with open(conf) as f:
            assert f.read() == user_conf
        for p, content in state.items():
            with open(p) as f:
                assert f.read() == content, p
        with open(root + "/opt/codedeploy-agent/bin/codedeploy-agent") as f:
            assert "ruby agent" in f.read()
        assert not os.path.exists(root + "/opt/codedeploy-agent/hooks/wait-for-http")


# ---------------------------------------------------------------- scriptlets in a chroot

FAKE_SYSTEMCTL = """#!/bin/sh
echo "systemctl $*" >> /fake-calls
case "$*" in
    *is-active*) [ -e /fake-active ] ;;
    *) exit 0 ;;
esac
"""
FAKE_SYSTEMD_RUN = """#!/bin/sh
echo "systemd-run $*" >> /fake-calls
"""


def _copy_with_libs(tool, root):
    real = shutil.which(tool, path="/usr/bin:/bin:/usr/sbin:/sbin")
    assert real, tool
    dest = root + "/bin/" + tool
    shutil.copy2(os.path.realpath(real), dest)
    out = subprocess.run(["ldd", real], capture_output=True, text=True).stdout
    for lib in re.findall(r"(/\S+) \(0x", out):
        target = root + lib
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.realpath(lib), target)


def _chroot(env):
    """A root in which rpm can run the scriptlets: sh, the tools they call, fake systemd."""
    root = _init_root(env)
    for d in ("bin", "usr/bin", "var/tmp", "tmp", "dev", "run/systemd/system"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    _copy_with_libs("dash", root)
    os.rename(root + "/bin/dash", root + "/bin/sh")
    for tool in ("mkdir", "touch", "rm", "find", "head", "cat"):
        _copy_with_libs(tool, root)
    try:
        os.mknod(root + "/dev/null", 0o666 | 0o020000, os.makedev(1, 3))
    except OSError:
        open(root + "/dev/null", "w").close()
    env.write("root/usr/bin/systemctl", FAKE_SYSTEMCTL, 0o755)
    env.write("root/usr/bin/systemd-run", FAKE_SYSTEMD_RUN, 0o755)
    return root


def _calls(root):
    try:
        with open(root + "/fake-calls") as f:
            calls = f.read().splitlines()
        os.unlink(root + "/fake-calls")
        return calls
    except FileNotFoundError:
        return []


def test_scriptlets_enable_restart_when_idle_and_keep_state_on_removal():
    _need_root()
    with harness.Env("scriptlets") as env:
        root = _chroot(env)
        unit = UNIT_NAME
        # first install: enabled and started (nothing was running)
        _rpm_root(root, "-i", "--nodeps", _rpm())
        calls = _calls(root)
        assert "systemctl enable %s" % unit in calls, calls
        assert "systemctl start --no-block %s" % unit in calls, calls
        assert not any("try-restart" in c for c in calls), calls
        assert not os.path.exists(root + "/var/lib/rpm-state/cdagent")

        # upgrade while a deployment runs: no restart now, a deferred one is scheduled
        open(root + "/fake-active", "w").close()
        tracking = root + "/opt/codedeploy-agent/deployment-root/ongoing-deployment/d-RUNNING1"
        os.makedirs(os.path.dirname(tracking), exist_ok=True)
        with open(tracking, "w") as f:
            f.write("arn:aws:codedeploy-commands:us-east-1:123:host-command/1")
        r = _rpm_root(root, "-U", "--replacepkgs", "--nodeps", _rpm())
        assert "a deployment is in progress" in r.stderr, r
        calls = _calls(root)
        assert any(c.startswith("systemd-run ") and "restart-when-idle" in c for c in calls), calls
        assert not any("try-restart" in c for c in calls), calls
        assert "systemctl enable %s" % unit not in calls  # upgrades keep the admin's choice

        # a stale tracking file (> 24 h, R-075) does not hold the restart back
        old = time.time() - 2 * 86400
        os.utime(tracking, (old, old))
        _rpm_root(root, "-U", "--replacepkgs", "--nodeps", _rpm())
        calls = _calls(root)
        assert "systemctl try-restart %s" % unit in calls, calls
        assert not any(c.startswith("systemd-run") for c in calls), calls

        # upgrade of a stopped agent: it stays stopped
        os.unlink(root + "/fake-active")
        _rpm_root(root, "-U", "--replacepkgs", "--nodeps", _rpm())
        calls = _calls(root)
        assert not any("start" in c.split()[1:2] or "try-restart" in c for c in calls), calls

        # removal: stopped and disabled; deployments and logs stay
        keep = [root + "/opt/codedeploy-agent/deployment-root/grp-1/d-1/logs/scripts.log",
                root + "/var/log/aws/codedeploy-agent/codedeploy-agent.log"]
        for p in keep:
            os.makedirs(os.path.dirname(p), exist_ok=True)
            open(p, "w").close()
        r = _rpm_root(root, "-e", "--nodeps", "cdagent")
        calls = _calls(root)
        assert any("disable" in c and "--now" in c and unit in c for c in calls) or \
            any("remove-system-units" in c for c in calls), calls
        for p in keep:
            assert os.path.exists(p), p
        assert not os.path.exists(root + "/opt/codedeploy-agent/bin/codedeploy-agent")
        assert "kept /opt/codedeploy-agent/deployment-root" in r.stderr, r


# ---------------------------------------------------------------- restart-when-idle helper

FAKE_TRY_RESTART = """#!/bin/sh
echo "systemctl $*" >> "$FAKE_LOG"
"""


def _helper_env(env):
    env.write("bin/systemctl", FAKE_TRY_RESTART, 0o755)
    envp = dict(os.environ)
    envp["PATH"] = env.path("bin") + ":" + envp["PATH"]
    envp["FAKE_LOG"] = env.path("calls")
    return envp


def test_restart_when_idle_check_R074_R075():
    with harness.Env("idle") as env:
        droot = env.path("droot")
        conf = env.write("agent.yml", ":root_dir: '%s'\n:ongoing_deployment_tracking: track\n"
                         % droot)
        check = [RESTART_HELPER, "--check", "--config", conf]
        assert harness.run(check).returncode == 0  # no tracking directory at all
        f = env.write("droot/track/d-ABC", "hostcommand-id")
        r = harness.run(check)
        assert r.returncode == 1 and "in progress" in r.stdout, r
        # a file in the default-named directory does not count when the config names another
        env.write("droot/ongoing-deployment/d-XYZ", "x")
        old = time.time() - 2 * 86400
        os.utime(f, (old, old))
        assert harness.run(check).returncode == 0  # stale: older than 24 h
        # --root-dir overrides the config; default tracking name then applies... from config
        r = harness.run([RESTART_HELPER, "--check", "--root-dir", droot, "--config",
                         env.path("missing.yml")])
        assert r.returncode == 1, r  # droot/ongoing-deployment/d-XYZ is fresh
        r = harness.run([RESTART_HELPER, "--bogus"])
        assert r.returncode == 2 and "unknown argument" in r.stderr


def test_restart_when_idle_waits_then_restarts():
    with harness.Env("idle") as env:
        envp = _helper_env(env)
        f = env.write("droot/ongoing-deployment/d-ABC", "id")
        p = env.spawn([RESTART_HELPER, "--root-dir", env.path("droot"), "--interval", "1",
                       "--config", env.path("none.yml")], env=envp,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        assert p.poll() is None, "restarted while a deployment was in progress"
        assert not os.path.exists(env.path("calls"))
        os.unlink(f)  # the deployment finished
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, (out, err)
        with open(env.path("calls")) as fh:
            assert fh.read() == "systemctl try-restart codedeploy-agent.service\n"
        assert "restarting codedeploy-agent.service once it has finished" in out, out


def test_restart_when_idle_gives_up_waiting_after_max_wait():
    with harness.Env("idle") as env:
        envp = _helper_env(env)
        env.write("droot/ongoing-deployment/d-ABC", "id")
        r = harness.run([RESTART_HELPER, "--root-dir", env.path("droot"), "--interval", "1",
                         "--max-wait", "1", "--unit", "other.service",
                         "--config", env.path("none.yml")], env=envp)
        assert r.returncode == 0, r
        assert "restarting other.service anyway" in r.stdout, r.stdout
        with open(env.path("calls")) as fh:
            assert fh.read() == "systemctl try-restart other.service\n"


def test_logrotate_file_covers_local_log_and_never_signals_the_unit_R204():
    """Structure of the logrotate file (the logrotate program itself may be absent)."""
    with open(LOGROTATE) as f:
        text = "\n".join(line for line in f.read().splitlines() if not line.startswith("#"))
    stanzas = re.findall(r"((?:^/\S+[ \t]*\n)*^/\S+)\s*\{(.*?)\}", text, re.M | re.S)
    assert len(stanzas) == 2, stanzas
    paths = {p for head, _ in stanzas for p in head.split()}
    conf = _read_conf()
    assert os.path.join(conf["log_dir"], "codedeploy-local.log") in paths
    assert os.path.join(conf["log_dir"], "codedeploy-agent.log") in paths
    assert os.path.join(conf["root_dir"], "deployment-logs",
                        "codedeploy-agent-deployments.log") in paths
    for head, body in stanzas:
        words = body.split()
        assert "missingok" in words, head
        # the agent log rotates itself daily: logrotate only acts far above that
        if "codedeploy-agent.log" in head:
            assert "copytruncate" in words and "size" in words, body
    assert "postrotate" not in text and "systemctl kill" not in text


# Amazon Linux 2023's %optflags / %build_ldflags (redhat-rpm-config), without the -specs=
# files that exist only there: the code must build with them (-D_FORTIFY_SOURCE, LTO, ...).
AL2023_OPTFLAGS = ("-O2 -flto=auto -ffat-lto-objects -fexceptions -g -grecord-gcc-switches -pipe "
                   "-Wall -Werror=format-security -Wp,-D_FORTIFY_SOURCE=2 "
                   "-Wp,-D_GLIBCXX_ASSERTIONS -fstack-protector-strong -m64 -mtune=generic "
                   "-fasynchronous-unwind-tables -fstack-clash-protection -fcf-protection")
AL2023_LDFLAGS = "-Wl,-z,relro -Wl,--as-needed -Wl,-z,now -Wl,--build-id=sha1"


def test_rpm_builds_with_al2023_compiler_flags():
    _rpm()  # rpmbuild present
    if os.uname().machine != "x86_64":
        raise harness.Skip("flags are the x86_64 ones")
    with harness.Env("rpmflags") as env:
        r = harness.run(["sh", os.path.join(SRC, "scripts", "rpm.sh"), _version(), env.dir,
                         "--define", "optflags " + AL2023_OPTFLAGS,
                         "--define", "build_ldflags " + AL2023_LDFLAGS], timeout=900)
        assert r.returncode == 0, r
        with open(os.path.join(env.dir, "rpm", "rpmbuild.log")) as f:
            log = f.read()
        assert "-D_FORTIFY_SOURCE=2" in log and "-Wl,-z,now" in log  # the flags reached make


# ---------------------------------------------------------------- CI deployment examples

CI_EXAMPLES = [os.path.join(SRC, "examples", "ci", n) for n in ("github-deploy.yml",
                                                                "gitlab-deploy.yml")]
# options the AWS CLI adds itself (global ones, and the `deploy` customizations)
CLI_OPTIONS = {"query", "output", "region"}
CLI_CUSTOM = {"create-deployment": {"s3-location", "github-location"},
              "push": {"application-name", "s3-location", "source", "ignore-hidden-files",
                       "description"}}


def _camel(opt):
    head, *rest = opt.split("-")
    return head + "".join(w.capitalize() for w in rest)


def _shell_texts(doc):
    """Every shell snippet of a GitHub workflow (steps' run) or a GitLab job (script lists)."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == "run" and isinstance(v, str):
                out.append(v)
            elif k in ("script", "before_script", "after_script") and isinstance(v, list):
                out.extend(x for x in v if isinstance(x, str))
            else:
                out.extend(_shell_texts(v))
    elif isinstance(doc, list):
        for v in doc:
            out.extend(_shell_texts(v))
    return out


def test_ci_examples_use_real_codedeploy_operations():
    """The examples' `aws deploy` calls, options and queries exist in the CodeDeploy API
    (botocore's model, the one the AWS CLI uses), and they push, create and wait."""
    try:
        import yaml
    except ImportError:
        raise harness.Skip("PyYAML not installed")
    import botocore.session
    session = botocore.session.get_session()
    model = session.get_service_model("codedeploy")
    waiters = session.get_waiter_model("codedeploy").waiter_names
    for path in CI_EXAMPLES:
        with open(path) as f:
            doc = yaml.safe_load(f)
        text = "\n".join(_shell_texts(doc)).replace("\\\n", " ")
        calls = re.findall(r"aws deploy ([a-z-]+)((?:[^\n)]|\)(?=[^\n]*--))*)", text)
        ops = [op for op, _ in calls]
        for need in ("push", "create-deployment", "wait"):
            assert need in ops, (path, need, ops)
        for op, rest in calls:
            opts = set(re.findall(r"--([a-z0-9-]+)", rest))
            if op == "push":
                assert opts <= CLI_CUSTOM["push"], (path, opts)
                continue
            if op == "wait":
                name = rest.split()[0]
                assert "".join(w.capitalize() for w in name.split("-")) in waiters, name
                op_model = model.operation_model("GetDeployment")
            else:
                op_model = model.operation_model(
                    "".join(w.capitalize() for w in op.split("-")))
            members = set(op_model.input_shape.members)
            for o in opts - CLI_OPTIONS - CLI_CUSTOM.get(op, set()):
                assert _camel(o) in members, (path, op, o, sorted(members))
            for q in re.findall(r"--query '([^']+)'", rest):
                first = re.match(r"[A-Za-z]+", q).group(0)
                assert first in op_model.output_shape.members, (path, op, q)
    lifecycle = model.shape_for("LifecycleEvent").members
    for field in ("lifecycleEventName", "status", "diagnostics"):
        assert field in lifecycle
    assert {"message", "logTail"} <= set(model.shape_for("Diagnostics").members)
