#!/usr/bin/env python3
"""The system checks, run as root inside the container that tests/system/run.py booted (systemd
is PID 1 there, the network is the container's own loopback only).

Installs the RPM with `rpm -i` (its scriptlets run), starts the project's fake Commands endpoint
and S3 server on 127.0.0.1, points the installed agent at them and checks what a user sees with
systemctl, service, journalctl and rpm (issue 13, R-013, R-029, R-037, R-077, R-079, V-083).
Checks run in order and share the one agent; each prints "ok   NAME" or "FAIL NAME" + reason.
--part core runs the subset that is repeated on the pure cgroup v2 hierarchy.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "tests", "e2e"), os.path.join(ROOT, "tests", "fake")]

import s3 as s3mod  # noqa: E402
from commands_server import FakeCommands, in_place, s3_revision  # noqa: E402
from daemonenv import HOST_ARN, make_bundle  # noqa: E402

UNIT = "codedeploy-agent"
CONF_DIR = "/etc/codedeploy-agent/conf"
CONF = CONF_DIR + "/codedeployagent.yml"
ONPREM = CONF_DIR + "/codedeploy.onpremises.yml"
DROPIN_DIR = "/etc/systemd/system/codedeploy-agent.service.d"
DROOT = "/opt/codedeploy-agent/deployment-root"
# Not /tmp: that is a fresh tmpfs in the container, and hooks must see these files.
WORK = "/var/lib/cdagent-system-test"


def run(argv, check=True, timeout=120):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(argv), r.returncode, r.stdout,
                                                    r.stderr))
    return r


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


def show(prop):
    return run(["systemctl", "show", "-p", prop, "--value", UNIT]).stdout.strip()


def main_pid():
    return int(show("MainPID") or 0)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:   # a zombie is not alive
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def wait_active(old_pid=None, timeout=30):
    def ok():
        pid = main_pid()
        return show("ActiveState") == "active" and pid and pid != old_pid and pid
    return wait_for(ok, timeout, "%s active%s" % (UNIT, " with a new PID" if old_pid else ""))


def journal(*args):
    """Journal entries (dicts) of the agent's unit, optionally filtered by more arguments."""
    out = run(["journalctl", "--no-pager", "-o", "json", "-u", UNIT] + list(args)).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def journal_ident(ident):
    out = run(["journalctl", "--no-pager", "-o", "json", "-t", ident]).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def watchdog_timeouts():
    return [e for e in journal() if "atchdog timeout" in e.get("MESSAGE", "")]


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def dropin(name, text):
    p = os.path.join(DROPIN_DIR, name + ".conf")
    if text is None:
        if os.path.exists(p):
            os.unlink(p)
    else:
        write(p, "[Service]\n" + text + "\n")
    run(["systemctl", "daemon-reload"])


class World:
    """The fakes, the agent configuration and the deployments the checks make."""

    def __init__(self, args):
        self.args = args
        self.s3 = s3mod.S3Server()
        self.s3.start()
        self.fc = FakeCommands(creds={"access_key": self.s3.access_key,
                                      "secret_key": self.s3.secret_key}, poll_hold=1.0)
        self.fc.start()
        self.s3.create_bucket("bucket")
        self.n = 0
        self.apps = {}

    def close(self):
        self.fc.stop()
        self.s3.stop()

    def config(self, log_dir="/var/log/aws/codedeploy-agent/"):
        write(CONF, "\n".join([
            "---",
            ":log_dir: '%s'" % log_dir,
            ":pid_dir: '/opt/codedeploy-agent/state/.pid/'",
            ":program_name: codedeploy-agent",
            ":root_dir: '%s'" % DROOT,
            ":verbose: true",
            ":wait_between_runs: 1",
            ":http_read_timeout: 20",
            ":kill_agent_max_wait_time_seconds: 60",
            ":hook_output_grace_seconds: 2",
            ":on_premises_config_file: '%s'" % ONPREM,
            ":deploy_control_endpoint: '%s'" % self.fc.url,
            ":s3_endpoint_override: '%s'" % self.s3.url, ""]))

    def onprem(self):
        write(ONPREM, "\n".join([
            "---", "region: us-east-1", "iam_user_arn: %s" % HOST_ARN,
            "aws_access_key_id: %s" % self.s3.access_key,
            "aws_secret_access_key: %s" % self.s3.secret_key, ""]), 0o600)

    def deploy(self, hooks, wait=True):
        """A deployment whose hooks (event -> shell body) run in order; returns its id."""
        self.n += 1
        dep = "d-SYS%05d" % self.n
        spec = ["version: 0.0", "os: linux", "hooks:"]
        files = {}
        for ev, body in hooks.items():
            spec += ["  %s:" % ev, "    - location: scripts/%s.sh" % ev, "      timeout: 120"]
            files["scripts/%s.sh" % ev] = (
                "#!/bin/sh\nW=%s\nmkdir -p $W/%s\ncat /proc/self/cgroup > $W/%s/cgroup-%s\n"
                "date +%%s.%%N > $W/%s/started-%s\n%s\n" % (WORK, dep, dep, ev, dep, ev, body),
                0o755)
        files["appspec.yml"] = ("\n".join(spec) + "\n", 0o644)
        self.s3.put_object("bucket", dep + ".zip", make_bundle("zip", files))
        self.last_dep = dep
        self.fc.add_deployment(in_place(dep, s3_revision("bucket", dep + ".zip", "zip"),
                                        application_stop=False))
        if wait:
            assert self.fc.wait_deployment(dep, 120) == "Succeeded", self.fc.completions(dep)
        return dep

    def started(self, dep, ev, timeout=60):
        p = os.path.join(WORK, dep, "started-" + ev)
        # The hook writes the file in two steps (create, then the time): wait for the time.
        wait_for(lambda: os.path.exists(p) and os.path.getsize(p) > 0, timeout,
                 "%s %s to start" % (dep, ev))
        with open(p) as f:
            return float(f.read())

    def cgroup(self, dep, ev):
        with open(os.path.join(WORK, dep, "cgroup-" + ev)) as f:
            return f.read()

    def completion(self, dep, ev):
        for c in self.fc.completions(dep):
            if c["command"] == ev and c.get("status"):
                return c
        return None


# ---- the checks (in order; each builds on the state the previous ones left) ----

APP_START = r"""
nohup sh -c 'while :; do date +%%s > %(w)s/app1.beat; sleep 0.2; done' > %(w)s/app1.log 2>&1 &
echo $! > %(w)s/app1.pid
sh -c 'while :; do echo tick-$$; echo tock-$$ >&2; sleep 0.2; done' &
echo $! > %(w)s/app2.pid
echo started
""" % {"w": WORK}


WATCHDOG = "WatchdogSec=2\nRestartSec=1"


def check_install_and_verify(w):
    """`rpm -i` runs the scriptlets (the unit is enabled); systemd-analyze verify is clean."""
    run(["rpm", "-i", "--nodeps", w.args.rpm])
    assert run(["systemctl", "is-enabled", UNIT], check=False).stdout.strip() == "enabled"
    r = run(["systemd-analyze", "verify", "/usr/lib/systemd/system/%s.service" % UNIT],
            check=False)
    bad = [l for l in (r.stdout + r.stderr).splitlines() if UNIT in l]
    assert r.returncode == 0 and not bad, r.stdout + r.stderr


def check_waits_for_credentials_under_watchdog(w):
    """R-029: without a host identity the agent waits and retries; with a short WatchdogSec it
    is not killed meanwhile (READY=1 was sent, so the watchdog runs)."""
    w.config()
    dropin("watchdog", WATCHDOG)
    try:
        run(["systemctl", "restart", UNIT])
        pid = wait_active()
        wait_for(lambda: "Waiting" in show("StatusText"), 20, "the waiting status")
        time.sleep(6)   # three watchdog intervals
        assert main_pid() == pid and show("NRestarts") == "0", (show("NRestarts"),
                                                                show("Result"))
        assert not watchdog_timeouts()
        errs = [e for e in journal() if "Cannot start polling" in e.get("MESSAGE", "")]
        assert errs and errs[0]["PRIORITY"] == "3", errs[:1]
    finally:
        dropin("watchdog", None)   # the next checks run with the unit as packaged
        w.onprem()
        run(["systemctl", "restart", UNIT])
        wait_active()


def check_start_notify_and_idle_status(w):
    """`systemctl start` reaches active through Type=notify; the status shows idle text."""
    w.config()
    w.onprem()
    run(["systemctl", "stop", UNIT])
    run(["systemctl", "start", UNIT])
    assert show("Type") == "notify" and show("ActiveState") == "active"
    wait_for(lambda: show("StatusText").startswith("Idle, polling"), 20, "the idle status")
    r = run(["systemctl", "status", "--no-pager", UNIT], check=False)
    assert "Status: \"Idle, polling" in r.stdout, r.stdout
    r = run(["service", UNIT, "status"], check=False)
    assert r.returncode == 0 and "active (running)" in r.stdout, r.stdout + r.stderr


def check_deployment_scopes_and_fresh_status(w):
    """Each hook in its own cdagent-hook-*.scope; the running event's elapsed seconds in
    STATUS= are never more than 1 s stale."""
    dep = w.deploy({"BeforeInstall": "true", "ApplicationStart": APP_START,
                    "ValidateService": "sleep 5"}, wait=False)
    t0 = w.started(dep, "ValidateService")
    samples = []
    while time.time() < t0 + 4.5:
        before = time.time()
        samples.append((before - t0, show("StatusText")))
        time.sleep(0.3)
    assert w.fc.wait_deployment(dep, 60) == "Succeeded", w.fc.completions(dep)
    w.app_dep = dep
    for a in ("app1", "app2"):
        with open(os.path.join(WORK, a + ".pid")) as f:
            w.apps[a] = int(f.read())
        assert alive(w.apps[a]), a
    scopes = set()
    for ev in ("BeforeInstall", "ApplicationStart", "ValidateService"):
        cg = w.cgroup(dep, ev)
        name = [p for p in cg.replace("\n", "/").split("/") if p.startswith("cdagent-hook-")]
        assert name and name[0].endswith(".scope"), (ev, cg)
        scopes.add(name[0])
    assert len(scopes) == 3, scopes
    for elapsed, text in samples:
        assert "ValidateService" in text, samples
        shown = int(text.rsplit(" s", 1)[0].rsplit(" ", 1)[1])
        assert shown >= int(elapsed) - 1, ("stale status", elapsed, text, samples)


def apps_survive(w, what):
    assert len(w.apps) == 2, "the apps of ApplicationStart were not started"
    time.sleep(1.5)   # app2 writes every 0.2 s: a broken pipe would have killed it by now
    dead = [a for a, pid in w.apps.items() if not alive(pid)]
    assert not dead, "%s killed %s" % (what, dead)


def check_apps_survive_restart(w):
    """Apps started by ApplicationStart survive `systemctl restart`, also the one writing to
    the hook's inherited stdout/stderr (no SIGPIPE when the agent's end goes away)."""
    pid = main_pid()
    run(["systemctl", "restart", UNIT])
    wait_active(pid)
    apps_survive(w, "systemctl restart")


def check_background_output_leaves_scripts_log(w):
    """A background app's output after the output grace does not grow the finished
    deployment's scripts.log; it goes to the journal (identifier cdagent-hook)."""
    log = os.path.join(DROOT, "dg-0001", w.app_dep, "logs", "scripts.log")
    size = os.path.getsize(log)
    time.sleep(1)
    assert os.path.getsize(log) == size, "the finished deployment's scripts.log keeps growing"
    tick = "tick-%d" % w.apps["app2"]
    wait_for(lambda: [e for e in journal_ident("cdagent-hook") if e.get("MESSAGE") == tick], 10,
             "the background app's output in the journal")


def check_apps_survive_stop(w):
    run(["systemctl", "stop", UNIT])
    assert show("ActiveState") == "inactive"
    apps_survive(w, "systemctl stop")
    run(["systemctl", "start", UNIT])
    wait_active()


def check_journal_fields(w):
    """PRIORITY, the caller's CODE_FILE/CODE_LINE, DEPLOYMENT_ID/LIFECYCLE_EVENT only where
    they have a value."""
    es = journal()
    ctx = [e for e in es if e.get("DEPLOYMENT_ID") == w.app_dep]
    assert ctx and all(e.get("LIFECYCLE_EVENT") for e in ctx), ctx[:2]
    started = [e for e in es if e.get("MESSAGE", "").startswith("Agent started")]
    assert started, "no 'Agent started' line"
    for e in started:
        assert "DEPLOYMENT_ID" not in e and "LIFECYCLE_EVENT" not in e, e
        assert e["PRIORITY"] == "6" and e.get("CODE_FILE", "").endswith("run/daemon.c"), e
        assert int(e["CODE_LINE"]) > 0
    assert not [e for e in es if e.get("CODE_FILE", "").endswith("log.c")]


def check_syslog_identifier(w):
    """A SyslogIdentifier= drop-in renames the agent's journal lines."""
    dropin("ident", "SyslogIdentifier=cdagent-ident-test")
    try:
        pid = main_pid()
        run(["systemctl", "restart", UNIT])
        wait_active(pid)
        wait_for(lambda: [e for e in journal_ident("cdagent-ident-test")
                          if e.get("MESSAGE", "").startswith("Agent started")], 10,
                 "'Agent started' under the identifier cdagent-ident-test")
    finally:
        dropin("ident", None)
        run(["systemctl", "restart", UNIT])
        wait_active()


def check_watchdog_long_hook_and_poll(w):
    """With WatchdogSec=2 a 5 s hook and 4 s long polls are not a hang."""
    dropin("watchdog", WATCHDOG)   # stays for the next check, which removes it
    run(["systemctl", "restart", UNIT])
    pid = wait_active()
    restarts = show("NRestarts")
    w.fc.poll_hold = 4.0
    try:
        w.deploy({"AfterInstall": "sleep 5"})
        time.sleep(5)
    finally:
        w.fc.poll_hold = 1.0
    assert main_pid() == pid and show("NRestarts") == restarts, show("Result")


def check_watchdog_restarts_hung_agent(w):
    """An agent whose poll loop hangs (here: blocked writing its log file) stops its watchdog
    pings, so systemd restarts it as the unit says."""
    fifo_dir = os.path.join(WORK, "fifo-log")
    os.makedirs(fifo_dir, exist_ok=True)
    fifo = os.path.join(fifo_dir, "codedeploy-agent.log")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    draining = threading.Event()
    draining.set()
    done = threading.Event()

    def drain():
        while not done.is_set():
            if draining.is_set():
                try:
                    os.read(fd, 65536)
                except BlockingIOError:
                    pass
            time.sleep(0.05)
    t = threading.Thread(target=drain, daemon=True)
    t.start()
    try:
        w.config(log_dir=fifo_dir)
        pid = main_pid()
        run(["systemctl", "restart", UNIT])
        pid = wait_active(pid)
        restarts = int(show("NRestarts"))
        timeouts = len(watchdog_timeouts())
        time.sleep(2)
        draining.clear()
        time.sleep(0.2)
        try:
            while True:
                os.write(fd, b"x" * 4096)
        except BlockingIOError:
            pass
        wait_for(lambda: int(show("NRestarts")) > restarts or
                 len(watchdog_timeouts()) > timeouts, 30,
                 "systemd to restart the hung agent")
    finally:
        draining.set()
        w.config()
        dropin("watchdog", None)
        run(["systemctl", "restart", UNIT])
        wait_active()
        done.set()
        t.join(2)
        os.close(fd)


def hook_then(w, hooks, ev, action):
    """Start a deployment, run action() while event ev's hook runs; return the deployment."""
    dep = w.deploy(hooks, wait=False)
    w.started(dep, ev)
    action(dep)
    return dep


def check_stop_waits_for_named_event(w):
    """R-077: `systemctl stop` during a hook lets it finish and reports it before the agent
    exits; meanwhile the status says it is waiting for that event."""
    seen = []

    def stop(dep):
        run(["systemctl", "stop", "--no-block", UNIT])

        def inactive():
            seen.append(show("StatusText"))
            return show("ActiveState") in ("inactive", "failed")
        wait_for(inactive, 60, "the agent to stop")
    try:
        dep = hook_then(w, {"AfterInstall": "sleep 4"}, "AfterInstall", stop)
        c = w.completion(dep, "AfterInstall")
        assert c and c["status"] == "Succeeded", w.fc.completions(dep)
        assert show("Result") == "success"
        assert [s for s in seen if "aiting for" in s and "AfterInstall" in s], seen
    finally:
        run(["systemctl", "start", UNIT])
        wait_active()


def check_sigterm_waits_for_hook(w):
    """SIGTERM to the agent during a hook: the hook finishes and is reported before exit."""
    def term(dep):
        run(["systemctl", "kill", "--kill-whom=main", "-s", "SIGTERM", UNIT])
        wait_for(lambda: show("ActiveState") in ("inactive", "failed"), 60, "the agent to exit")
    try:
        dep = hook_then(w, {"AfterInstall": "sleep 3"}, "AfterInstall", term)
        c = w.completion(dep, "AfterInstall")
        assert c and c["status"] == "Succeeded", w.fc.completions(dep)
    finally:
        run(["systemctl", "start", UNIT])
        wait_active()


def check_upgrade_during_hook(w):
    """`rpm -U` while a hook runs: no restart until the deployment is over, then the agent
    restarts onto the new package; apps survive."""
    rpm = w.args.upgrade_rpm or w.args.rpm
    pid = main_pid()
    out = {}

    def upgrade(dep):
        argv = ["rpm", "-U", "--nodeps"] + ([] if w.args.upgrade_rpm else ["--replacepkgs"])
        out["r"] = run(argv + [rpm])
        out["pid"] = main_pid()
    dep = hook_then(w, {"BeforeInstall": "sleep 5"}, "BeforeInstall", upgrade)
    assert out["pid"] == pid, "the upgrade restarted the agent during the hook"
    assert "deployment is in progress" in out["r"].stderr, out["r"].stderr
    assert w.fc.wait_deployment(dep, 60) == "Succeeded", w.fc.completions(dep)
    wait_active(pid, timeout=40)
    apps_survive(w, "the RPM upgrade")


def check_scope_without_dbus_daemon(w):
    """Without dbus-daemon, hooks still get their own scope (systemd's private bus)."""
    run(["systemctl", "stop", "dbus.socket", "dbus.service"])
    try:
        dep = w.deploy({"AfterInstall": "true"})
        assert "cdagent-hook-" in w.cgroup(dep, "AfterInstall"), w.cgroup(dep, "AfterInstall")
    finally:
        run(["systemctl", "start", "dbus.socket"], check=False)


def check_one_warn_without_scope(w):
    """When no bus is reachable at all, one WARN per hook says it runs without its own scope."""
    run(["systemctl", "stop", "dbus.socket", "dbus.service"])
    run(["mount", "--bind", "/dev/null", "/run/systemd/private"])
    try:
        dep = w.deploy({"AfterInstall": "true"})
        warns = [e for e in journal() if e.get("PRIORITY") == "4" and "scope" in
                 e.get("MESSAGE", "") and e.get("DEPLOYMENT_ID") == dep]
        assert len(warns) == 1, warns
    finally:
        run(["umount", "/run/systemd/private"], check=False)
        run(["systemctl", "start", "dbus.socket"], check=False)


def check_erase_keeps_data(w):
    """`rpm -e` stops the agent, keeps deployment-root and the changed config; apps live on."""
    run(["rpm", "-e", "--nodeps", "cdagent"])
    assert show("LoadState") in ("not-found", "masked") or show("ActiveState") == "inactive"
    assert os.path.isdir(os.path.join(DROOT, "dg-0001", w.last_dep))
    assert os.path.exists(CONF) or os.path.exists(CONF + ".rpmsave")
    with open(CONF + ".rpmsave" if os.path.exists(CONF + ".rpmsave") else CONF) as f:
        assert w.fc.url in f.read()
    apps_survive(w, "rpm -e")


FULL = [check_install_and_verify, check_waits_for_credentials_under_watchdog,
        check_start_notify_and_idle_status, check_deployment_scopes_and_fresh_status,
        check_apps_survive_restart, check_background_output_leaves_scripts_log,
        check_apps_survive_stop, check_journal_fields,
        check_syslog_identifier, check_watchdog_long_hook_and_poll,
        check_watchdog_restarts_hung_agent, check_stop_waits_for_named_event,
        check_sigterm_waits_for_hook, check_upgrade_during_hook,
        check_scope_without_dbus_daemon, check_one_warn_without_scope, check_erase_keeps_data]
CORE = [check_install_and_verify, check_start_notify_and_idle_status,
        check_deployment_scopes_and_fresh_status, check_apps_survive_restart,
        check_background_output_leaves_scripts_log, check_journal_fields, check_stop_waits_for_named_event, check_upgrade_during_hook]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=("full", "core"), default="full")
    ap.add_argument("--rpm", required=True)
    ap.add_argument("--upgrade-rpm")
    ap.add_argument("-k", action="append", default=[])
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    w = World(args)
    failed = 0
    try:
        for fn in FULL if args.part == "full" else CORE:
            name = fn.__name__[len("check_"):]
            # The ones before a selected check set up its state, so -k only drops later ones.
            t0 = time.monotonic()
            try:
                fn(w)
            except Exception:
                failed += 1
                print("FAIL %s (%.1fs)\n%s" % (name, time.monotonic() - t0,
                                               traceback.format_exc()), flush=True)
                continue
            print("ok   %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
            if args.k and any(k in name for k in args.k):
                break
    finally:
        w.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
