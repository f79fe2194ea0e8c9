"""R-165, R-221, C-177, C-178: on timeout the whole tree dies, including processes that ignore
SIGTERM and processes that left the process group with setsid."""
import harness
import test_hook_common as hookdriver


def test_timeout_kills_setsid_grandchildren():
    with harness.Env("hook-timeout") as env:
        hookdriver.archive(env)
        r = hookdriver.run(env, ["scripts/escape.sh:2"], extra=["--kill-grace-ms", "1000"])
        a = hookdriver.pid(env, "escape-a.pid")
        b = hookdriver.pid(env, "escape-b.pid")
        try:
            assert r["rc"] == "-1", r
            assert r["code"] == "3", r
            assert r["message"] == ("Script at specified location: scripts/escape.sh failed to "
                                    "complete in 2 seconds"), r
            assert "WARN Script at specified location: scripts/escape.sh timed out" in r["stderr"]
            assert not hookdriver.alive(a), "setsid child survived the timeout"
            assert not hookdriver.alive(b), "orphaned setsid grandchild survived the timeout"
            p = hookdriver.payload(env)
            assert p.startswith(b'{"error_code":3,"script_name":"scripts/escape.sh","message":'
                                b'"Script at specified location: scripts/escape.sh failed to '
                                b'complete in 2 seconds","log":"LifecycleEvent - '
                                b'ApplicationStart\\nScript - scripts/escape.sh\\n'), p
        finally:
            hookdriver.kill(a)
            hookdriver.kill(b)
