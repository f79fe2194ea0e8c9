"""Shared helper for the test_hook_*.py end-to-end tests: runs build/tools/run_hook."""
import os
import shutil
import signal
import subprocess

import harness

DRIVER = os.path.join(harness.BUILD, "tools", "run_hook")
HOOKS = os.path.join(harness.SRC, "tests", "data", "hooks")


def archive(env):
    """Copy tests/data/hooks into a fresh deployment-archive under env; returns its path."""
    dst = env.path("deployment-archive")
    shutil.copytree(HOOKS, dst)
    os.makedirs(env.path("pids"), exist_ok=True)
    return dst


def run(env, scripts, event="ApplicationStart", extra=(), driver_env=None, timeout=300):
    if not os.access(DRIVER, os.X_OK):
        raise AssertionError("driver not built: %s" % DRIVER)
    argv = [DRIVER, "--archive", env.path("deployment-archive"), "--event", event,
            "--log", env.path("logs", "scripts.log"), "--payload", env.path("payload.json"),
            "--deployment-id", "d-E2ETEST01"] + list(extra) + list(scripts)
    e = dict(os.environ if driver_env is None else driver_env)
    e["PIDFILE_DIR"] = env.path("pids")
    p = subprocess.run(argv, capture_output=True, timeout=timeout, env=e)
    out = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    out["exit"] = p.returncode
    out["stderr"] = p.stderr.decode("utf-8", "replace")
    return out


def payload(env):
    with open(env.path("payload.json"), "rb") as f:
        return f.read()


def scripts_log(env):
    with open(env.path("logs", "scripts.log"), "rb") as f:
        return f.read()


def pid(env, name):
    with open(env.path("pids", name)) as f:
        return int(f.read().strip())


def alive(p):
    try:
        os.kill(p, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % p) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


def kill(p):
    try:
        os.kill(p, signal.SIGKILL)
    except OSError:
        pass
