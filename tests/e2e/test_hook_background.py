"""R-168, R-220, C-181, C-183: a hook that leaves a daemon holding its stdout does not hang the
event; the daemon keeps running (issue 4 "Done when": `nohup sleep 300 &` completes in < 10 s)."""
import re

import harness
import test_hook_common as hookdriver


def test_nohup_daemon_completes_within_grace():
    with harness.Env("hook-bg") as env:
        hookdriver.archive(env)
        r = hookdriver.run(env, ["scripts/background.sh"])   # default timeout 3600 s, grace 5 s
        daemon = hookdriver.pid(env, "background.pid")
        try:
            assert r["exit"] == 0, r
            assert r["rc"] == "0", r
            # finished after the output grace, far from the 3600 s timeout
            assert int(r["elapsed_ms"]) < 10000, r
            assert hookdriver.alive(daemon), "the background sleep was killed"
            log = hookdriver.scripts_log(env).decode()
            assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[stdout\]started %d$" % daemon,
                             log, re.M), log
            assert ("[agent]Script at specified location: scripts/background.sh exited but left "
                    "STDOUT/STDERR open (background process") in log, log
            assert "no longer waiting for its output" in log
            assert hookdriver.payload(env) == (
                b'{"error_code":0,"script_name":"","message":"Succeeded: ","log":""}')
        finally:
            hookdriver.kill(daemon)


def test_grace_disabled_fails_with_code6_at_timeout():
    """C-182: `:hook_output_grace_seconds: -1` keeps Ruby's behaviour."""
    with harness.Env("hook-bg6") as env:
        hookdriver.archive(env)
        r = hookdriver.run(env, ["scripts/background.sh:2"], extra=["--grace-ms", "-1",
                                                                     "--kill-grace-ms", "2000"])
        daemon = hookdriver.pid(env, "background.pid")
        try:
            assert r["rc"] == "-1", r
            assert r["code"] == "6", r
            assert r["message"] == ("Script at specified location: scripts/background.sh failed "
                                    "to close STDOUT"), r
            harness.wait_for(lambda: not hookdriver.alive(daemon), 10, "daemon killed")
        finally:
            hookdriver.kill(daemon)
