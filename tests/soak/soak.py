#!/usr/bin/env python3
"""Soak run (issue 11 item 6): COUNT deployments through the real daemon against the project's
fakes (tests/fake: the Commands endpoint, s3rver behind s3.py), one at a time, cycling through
ten kinds: successes (zip, tar, tgz), a failing hook, a timed-out hook (timeout: 1), a hostile
bundle ("../" entry), a denied S3 object, a cut S3 download (retried), Commands faults (a 500,
a throttle and a dropped connection on polls, a 500 on a completion) and an agent restart
(SIGTERM, start again) every RESTART deployments.

After every deployment the agent's RSS, open fds (sockets among them) and threads are sampled
once it is idle (fd and thread counts back at or below their baseline, or 10 s have passed).
The baseline of each agent process is taken over its warm-up (WARMUP deployments): RSS at the
end of it; fds and threads the highest count sampled in its second half, since an idle agent
holds one or two keep-alive connections and the poll thread at one moment or another.  Fails
(exit 1) when any deployment ends in a state other than the expected one, when fds or threads
ever exceed that baseline, or RSS is more than 5 % above it.  Prints a table every 10
deployments.

    soak.py [--build DIR] [--count N] [--restart N] [--warmup N] [--results FILE]
    (make soak: SOAK_COUNT=1000; environment SOAK_COUNT, SOAK_RESTART, SOAK_WARMUP also work)
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

HOOKS = ["ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart",
         "ValidateService"]
RSS_SLACK = 1.05


def one_hook(daemonenv, event, body, timeout=60):
    spec = ("version: 0.0\nos: linux\nhooks:\n  %s:\n    - location: scripts/h.sh\n"
            "      timeout: %d\n" % (event, timeout))
    return daemonenv.make_bundle("zip", {"appspec.yml": (spec, 0o644),
                                         "scripts/h.sh": (body, 0o755)})


def hostile_tar(daemonenv):
    return daemonenv.make_bundle("tar", {"appspec.yml": ("version: 0.0\nos: linux\n", 0o644),
                                         "../escaped.txt": ("x\n", 0o644)})


def upload(s3, env, daemonenv):
    """The bundles; key -> bundle type."""
    dest = env.path("installed")
    s3.create_bucket("soak")
    keys = {}
    for kind in ("zip", "tar", "tgz"):
        s3.put_object("soak", "ok." + kind,
                      daemonenv.hook_bundle(kind, "/dev/null", HOOKS, dest=dest))
        keys["ok." + kind] = kind
    s3.put_object("soak", "fail.zip", one_hook(daemonenv, "AfterInstall", "#!/bin/sh\nexit 3\n"))
    s3.put_object("soak", "timeout.zip",
                  one_hook(daemonenv, "ValidateService", "#!/bin/sh\nexec sleep 30\n", timeout=1))
    s3.put_object("soak", "hostile.tar", hostile_tar(daemonenv))
    s3.put_object("soak", "denied.zip", daemonenv.make_bundle("zip", {}))
    s3.deny("soak", "denied.zip")
    keys.update({"fail.zip": "zip", "timeout.zip": "zip", "hostile.tar": "tar",
                 "denied.zip": "zip"})
    return keys


# (label, key, expected, setup(fc, s3)); index i uses KINDS[i % 10].  A failure is expected
# as "Failed <command>: <text in its diagnostics message>".
KINDS = [
    ("ok-zip", "ok.zip", "Succeeded", None),
    ("hook-fails", "fail.zip", "Failed AfterInstall: failed with exit code 3", None),
    ("ok-tar+poll-500", "ok.tar", "Succeeded",
     lambda fc, s3: fc.add_fault({"op": "PollHostCommand", "kind": "500"})),
    ("hook-timeout", "timeout.zip", "Failed ValidateService: failed to complete in 1 seconds",
     None),
    ("ok-tgz+s3-cut", "ok.tgz", "Succeeded", lambda fc, s3: s3.cut_after(100)),
    ("hostile", "hostile.tar", "Failed DownloadBundle: Refusing unsafe archive entry", None),
    ("ok-zip+throttle", "ok.zip", "Succeeded",
     lambda fc, s3: fc.add_fault({"op": "PollHostCommand", "kind": "throttle"})),
    ("s3-denied", "denied.zip", "Failed DownloadBundle: 403 AccessDenied", None),
    ("ok-tar+drop", "ok.tar", "Succeeded",
     lambda fc, s3: fc.add_fault({"op": "PollHostCommand", "kind": "drop"})),
    ("ok-zip+complete-500", "ok.zip", "Succeeded",
     lambda fc, s3: fc.add_fault({"op": "PutHostCommandComplete", "kind": "500"})),
]


def outcome(status, completions):
    """status, or for a failure "Failed <command>: <message>" of the failed command."""
    if status != "Failed":
        return status
    for c in completions:
        if c["status"] == "Failed":
            return "Failed %s: %s" % (c["command"], (c["diagnostics"] or {}).get("message", ""))
    return status


def matches(got, expected):
    if expected == "Succeeded":
        return got == expected
    command, text = expected.split(": ", 1)
    return got.startswith(command + ": ") and text in got


def sample(pid):
    rss = threads = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = sockets = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        fds += 1
        try:
            sockets += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return {"rss": rss, "fds": fds, "sockets": sockets, "threads": threads}


def settled(pid, base, timeout=10.0):
    """The sample once fds and threads are back at the baseline (or after timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        s = sample(pid)
        if base is None or (s["fds"] <= base["fds"] and s["threads"] <= base["threads"]) \
                or time.monotonic() > deadline:
            return s
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--count", type=int, default=int(os.environ.get("SOAK_COUNT", 1000)))
    ap.add_argument("--restart", type=int, default=int(os.environ.get("SOAK_RESTART", 100)))
    ap.add_argument("--warmup", type=int, default=int(os.environ.get("SOAK_WARMUP", 20)))
    ap.add_argument("--results", help='write "N passed, M failed" here (N deployments as '
                    'expected; M wrong outcomes plus growth findings)')
    args = ap.parse_args()
    os.environ["CDAGENT_BUILD"] = os.path.abspath(args.build)
    os.environ["CDAGENT_SRC"] = ROOT
    import daemonenv  # noqa: E402  (needs the path set above)
    import s3 as s3mod  # noqa: E402
    from commands_server import FakeCommands, in_place, s3_revision  # noqa: E402

    s3 = s3mod.S3Server()
    s3.start()
    fc = FakeCommands(creds={"access_key": s3.access_key, "secret_key": s3.secret_key},
                      poll_hold=0.5)
    fc.start()
    problems = []
    wrong = 0
    tally = {}
    runs = []  # per agent process: [pid, baseline sample, last sample]
    t0 = time.monotonic()
    warmup = min(args.warmup, max(args.restart - 1, 1))
    try:
        with daemonenv.DaemonEnv(fc, s3, name="soak",
                                 extra_config=":wait_between_runs: 0") as env:
            keys = upload(s3, env, daemonenv)
            agent = env.start()
            base = None
            print("%6s %5s %7s %9s %5s %7s %7s %8s %s" % (
                "deploy", "run", "pid", "rss_kB", "fds", "sockets", "threads", "elapsed",
                "as expected"))
            for i in range(args.count):
                if i and i % args.restart == 0:
                    rc = env.stop()
                    if rc != 0:
                        problems.append("agent run %d exited %s on SIGTERM" % (i // args.restart,
                                                                                rc))
                    agent = env.start()
                    base = None
                if base is None and (not runs or runs[-1][0] != agent.pid):
                    runs.append([agent.pid, None, None])
                label, key, expected, setup = KINDS[i % len(KINDS)]
                if setup:
                    setup(fc, s3)
                dep = "d-SOAK%05d" % i
                fc.add_deployment(in_place(dep, s3_revision("soak", key, keys[key])))
                try:
                    got = fc.wait_deployment(dep, 180)
                except AssertionError as e:
                    got = "unfinished (%s)" % str(e)[:200]
                got = outcome(got, fc.completions(dep))
                short = "as expected" if matches(got, expected) else got[:40]
                tally.setdefault(label, {}).setdefault(short, 0)
                tally[label][short] += 1
                if not matches(got, expected):
                    wrong += 1
                    problems.append("%s (%s): %s, expected %s" % (dep, label, got, expected))
                if agent.poll() is not None:
                    problems.append("agent exited (%s) during %s" % (agent.returncode, dep))
                    break
                s = settled(agent.pid, base)
                n_in_run = i % args.restart + 1
                runs[-1][2] = s
                if n_in_run > warmup // 2 and n_in_run <= warmup:
                    b = runs[-1][1] or dict(s)
                    for k in ("fds", "sockets", "threads"):
                        b[k] = max(b[k], s[k])
                    b["rss"] = s["rss"]
                    runs[-1][1] = b
                    if n_in_run == warmup:
                        base = b
                elif base is not None:
                    for k in ("fds", "threads"):
                        if s[k] > base[k]:
                            problems.append("%s: %s grew from %d to %d" % (dep, k, base[k], s[k]))
                    if s["rss"] > base["rss"] * RSS_SLACK:
                        problems.append("%s: RSS grew from %d kB to %d kB (> 5 %%)" % (
                            dep, base["rss"], s["rss"]))
                if (i + 1) % 10 == 0 or i + 1 == args.count:
                    row = (i + 1, i // args.restart + 1, agent.pid, s["rss"], s["fds"],
                           s["sockets"], s["threads"], time.monotonic() - t0, i + 1 - wrong)
                    print("%6d %5d %7d %9d %5d %7d %7d %7.0fs %d" % row, flush=True)
            daemonenv.check_clean(fc)
    finally:
        fc.stop()
        s3.stop()
    elapsed = time.monotonic() - t0
    print("soak: %d deployments in %.0f s (%.2f s each), restart every %d, warm-up %d" % (
        args.count, elapsed, elapsed / max(args.count, 1), args.restart, warmup))
    print("%-22s %s" % ("kind", "outcomes"))
    for label, _, expected, _ in KINDS:
        if label in tally:
            print("%-22s %s" % (label, ", ".join(
                "%s %d" % kv for kv in sorted(tally[label].items()))))
    print("agent run  pid      baseline rss/fds/threads  last rss/fds/threads  rss growth")
    for n, (pid, b, last) in enumerate(runs, 1):
        if b and last:
            print("%9d  %-7d  %8d / %3d / %3d       %8d / %3d / %3d  %+.1f %%" % (
                n, pid, b["rss"], b["fds"], b["threads"], last["rss"], last["fds"],
                last["threads"], 100.0 * (last["rss"] - b["rss"]) / b["rss"]))
    for p in problems[:50]:
        print("soak: FAIL " + p)
    print("soak: %s" % ("FAILED, %d problem(s)" % len(problems) if problems else "ok"))
    if args.results:
        with open(args.results, "w") as f:
            f.write("%d passed, %d failed\n" % (args.count - wrong, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
