#!/usr/bin/env python3
"""System suite runner: systemd as PID 1 in a container, the RPM installed, checks as a user.

Boots systemd in systemd-nspawn on an overlay of the host's / (a tmpfs upper layer, so nothing
the container does reaches the host), once with the host's default cgroup layout and once with
the pure cgroup v2 hierarchy Amazon Linux 2023 uses, and runs tests/system/inside.py in each
(via nsenter, as root inside the container: it installs the RPM with `rpm -i`, starts the
project's fakes on the container's own 127.0.0.1 and runs the checks).  Private network: the
container has only its loopback interface.  Mounts and the container are removed on every path.

Without --rpm it first builds the package as Amazon Linux 2023 needs it (scripts/rpm.sh
--with cjson_source: cJSON from the tarball Debian's cjson source package carries) and checks
it with scripts/rpm-al2023-check.sh; both count as checks of the suite.

Prints one line per check and "N passed, M failed[, K skipped]"; with --results writes that
line to the file.  Where the kernel or the environment refuses containers (not root, no
namespaces, no overlayfs, no systemd-nspawn) it prints one "SKIP system suite: <reason>" line.

    run.py [--rpm RPM | --version V --build DIR] [--upgrade-rpm RPM] [--results FILE]
           [-k SUBSTRING ...]
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BOOT_TIMEOUT_S = 60


class Refused(Exception):
    """The kernel or environment cannot run a container here: the suite is skipped."""


def sh(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def preflight():
    if os.geteuid() != 0:
        raise Refused("needs root (mounts and systemd-nspawn)")
    for tool in ("systemd-nspawn", "nsenter", "mount", "umount"):
        if not shutil.which(tool):
            raise Refused("%s not found (scripts/deps.sh check installs systemd-container)" % tool)
    if not os.path.isdir("/proc/self/ns") or not os.path.exists("/proc/self/ns/pid"):
        raise Refused("the kernel has no namespaces")
    with open("/proc/filesystems") as f:
        fs = f.read()
    if "overlay" not in fs:
        r = sh(["modprobe", "overlay"]) if shutil.which("modprobe") else None
        with open("/proc/filesystems") as f:
            if "overlay" not in f.read():
                raise Refused("the kernel has no overlayfs%s" % (
                    "" if r is None else " (modprobe: %s)" % r.stdout.strip()))


class Container:
    """systemd booted in systemd-nspawn on a throw-away overlay of /."""

    def __init__(self, name, unified, logdir):
        self.name = name
        self.unified = unified
        self.dir = tempfile.mkdtemp(prefix="cdagent-system-", dir="/run")
        self.upper = os.path.join(self.dir, "rw")
        self.root = os.path.join(self.dir, "root")
        self.console = os.path.join(logdir, "console-%s.log" % name)
        self.mounts = []
        self.proc = None
        self.pid1 = None

    def _mount(self, argv, target, what):
        r = sh(["mount"] + argv + [target])
        if r.returncode != 0:
            raise Refused("cannot mount %s: %s" % (what, r.stdout.strip()))
        self.mounts.append(target)

    def __enter__(self):
        try:
            os.makedirs(self.upper)
            os.makedirs(self.root)
            self._mount(["-t", "tmpfs", "-o", "mode=0755", "tmpfs"], self.upper, "a tmpfs")
            os.makedirs(os.path.join(self.upper, "u"))
            os.makedirs(os.path.join(self.upper, "w"))
            self._mount(["-t", "overlay", "-o", "lowerdir=/,upperdir=%s/u,workdir=%s/w" % (
                self.upper, self.upper), "overlay"], self.root, "an overlay of /")
            self._boot()
        except BaseException:
            self.close()
            raise
        return self

    def _boot(self):
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY"] = "1" if self.unified else "0"
        argv = ["systemd-nspawn", "-D", self.root, "-b", "--register=no", "--keep-unit",
                "--link-journal=no", "--private-network", "--console=read-only",
                "--machine=cdagent-%s" % self.name]
        con = open(self.console, "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=con,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        con.close()
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._refused_or_failed()
            self.pid1 = self._find_pid1()
            if self.pid1:
                r = sh(["nsenter", "-t", str(self.pid1), "-a", "systemctl",
                        "is-system-running", "--wait"], timeout=BOOT_TIMEOUT_S)
                state = r.stdout.strip()
                if state in ("running", "degraded"):
                    return
                # PID 1 not listening yet, or the process found is not yet the container's
                # manager ("offline", seen under load): look again.
                if "Failed to connect to bus" in state or state in ("offline", "unknown", ""):
                    time.sleep(0.1)
                    continue
                raise AssertionError("container %s booted to %r" % (self.name, state))
            time.sleep(0.1)
        raise AssertionError("container %s did not boot in %d s (see %s)" % (
            self.name, BOOT_TIMEOUT_S, self.console))

    def _refused_or_failed(self):
        with open(self.console, errors="replace") as f:
            out = f.read()
        tail = out.strip().splitlines()[-3:]
        for hint in ("Operation not permitted", "not supported", "Permission denied",
                     "Failed to allocate user namespace", "clone() failed"):
            if hint in out:
                raise Refused("systemd-nspawn was refused: %s" % " / ".join(tail))
        raise AssertionError("systemd-nspawn exited with %s: %s" % (self.proc.returncode,
                                                                    " / ".join(tail)))

    def _find_pid1(self):
        """The container's systemd: a descendant of nspawn named systemd (nspawn's first child
        may be a short-lived intermediate)."""
        todo = [self.proc.pid]
        for _ in range(3):
            nxt = []
            for p in todo:
                try:
                    with open("/proc/%d/task/%d/children" % (p, p)) as f:
                        kids = [int(k) for k in f.read().split()]
                except OSError:
                    kids = []
                for k in kids:
                    try:
                        with open("/proc/%d/comm" % k) as f:
                            if f.read().strip() == "systemd":
                                return k
                    except OSError:
                        pass
                nxt += kids
            todo = nxt
        return None

    def __exit__(self, *exc):
        self.close()

    def run(self, argv, **kw):
        return subprocess.run(["nsenter", "-t", str(self.pid1), "-a"] + argv, **kw)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)   # nspawn asks the container to power off
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        for m in reversed(self.mounts):
            r = sh(["umount", m])
            if r.returncode != 0:
                sh(["umount", "-l", m])
        self.mounts = []
        shutil.rmtree(self.dir, ignore_errors=True)


def build_rpm(args):
    """(passed, failed) of building the AL2023 RPM and checking it; sets args.rpm."""
    r = sh(["sh", os.path.join(ROOT, "scripts", "rpm.sh"), args.version, args.build,
            "--with", "cjson_source"])
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines or not lines[-1].endswith(".rpm"):
        print("FAIL rpm_with_cjson_source\n%s" % r.stdout, flush=True)
        return 0, 1
    args.rpm = lines[-1]
    print("ok   rpm_with_cjson_source (%s)" % os.path.basename(args.rpm), flush=True)
    r = sh(["sh", os.path.join(ROOT, "scripts", "rpm-al2023-check.sh"), args.rpm])
    if r.returncode != 0:
        print("FAIL rpm_requires_fit_al2023\n%s" % r.stdout, flush=True)
        return 1, 1
    print("ok   rpm_requires_fit_al2023", flush=True)
    return 2, 0


def copy_in(c, path):
    """Copy a file into the container (its /tmp is a fresh tmpfs, other paths may be too);
    returns the path inside."""
    inside = os.path.join("/var/lib/cdagent-system-test/pkg", os.path.basename(path))
    os.makedirs(c.root + os.path.dirname(inside), exist_ok=True)
    shutil.copy(path, c.root + inside)
    return inside


def run_inside(c, part, args):
    argv = ["/usr/bin/python3", os.path.join(HERE, "inside.py"), "--part", part,
            "--rpm", copy_in(c, args.rpm)]
    if args.upgrade_rpm:
        argv += ["--upgrade-rpm", copy_in(c, args.upgrade_rpm)]
    for k in args.k:
        argv += ["-k", k]
    out = c.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                cwd=ROOT, timeout=900)
    passed = failed = 0
    for line in out.stdout.splitlines():
        print("[%s] %s" % (c.name, line), flush=True)
        if line.startswith("ok   "):
            passed += 1
        elif line.startswith("FAIL "):
            failed += 1
    if out.returncode != 0 and failed == 0:
        print("[%s] FAIL inside.py exited with %d" % (c.name, out.returncode), flush=True)
        failed += 1
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rpm")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--upgrade-rpm")
    ap.add_argument("--results")
    ap.add_argument("--logdir", default=os.path.join(ROOT, "build", "system"))
    ap.add_argument("-k", action="append", default=[])
    args = ap.parse_args()
    os.makedirs(args.logdir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # unwinds through the cleanups
    passed = failed = skipped = 0
    reason = None
    if not args.rpm:
        passed, failed = build_rpm(args)
    try:
        if not args.rpm:
            raise Refused("no RPM to install")
        preflight()
        for name, unified, part in (("default", False, "full"), ("cgroup2", True, "core")):
            try:
                with Container(name, unified, args.logdir) as c:
                    p, f = run_inside(c, part, args)
                    passed += p
                    failed += f
            except Refused:
                raise
            except Exception as e:  # a boot that fails for other reasons is a failure
                print("FAIL [%s] %s" % (name, e), flush=True)
                failed += 1
    except Refused as e:
        reason = str(e)
        print("SKIP system suite: %s" % reason, flush=True)
        skipped = 1
    line = "%d passed, %d failed, %d skipped" % (passed, failed, skipped)
    print(line)
    if args.results:
        with open(args.results, "w") as f:
            f.write(("SKIP: %s\n" % reason if reason else "") + line + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
