"""V-026 in the real agent: throttled polls are paced by the process-wide throttle gate (1 s,
then 2 s, then 4 s before the next attempt), a success resets it, and the agent still stops
promptly on SIGTERM while the gate is closed (the poll client's waits end at the signal)."""
import signal

import harness
from daemonenv import DaemonEnv, check_clean

import s3 as s3mod
from commands_server import FakeCommands


def _servers():
    s3 = s3mod.S3Server()
    s3.start()
    fc = FakeCommands(creds={"access_key": s3.access_key, "secret_key": s3.secret_key})
    fc.start()
    return fc, s3


def test_v026_throttled_polls_paced_by_gate_then_reset():
    fc, s3 = _servers()
    try:
        fc.add_fault({"op": "PollHostCommand", "kind": "throttle", "count": 3})
        with DaemonEnv(fc, s3, name="gate") as env:
            env.start()
            harness.wait_for(lambda: len(fc.requests("PollHostCommand")) >= 5, 60,
                             "five polls")
            env.stop()
            polls = fc.requests("PollHostCommand")
            t = [p["t"] for p in polls]
            # Attempts 2, 3 and 4 waited for the gate: at least 1, 2 and 4 s (lower bounds
            # only; the jitter adds up to 25 %).
            assert t[1] - t[0] >= 0.95, t
            assert t[2] - t[1] >= 1.95, t
            assert t[3] - t[2] >= 3.95, t
            assert [p.get("status") for p in polls[:4]] == [400, 400, 400, 200], polls[:4]
            check_clean(fc)
    finally:
        fc.stop()
        s3.stop()


def test_v026_sigterm_ends_a_gate_wait():
    fc, s3 = _servers()
    try:
        fc.add_fault({"op": "PollHostCommand", "kind": "throttle", "count": 1000})
        with DaemonEnv(fc, s3, name="gatestop") as env:
            env.start()
            # After 5 throttled polls the gate is closed for 16-20 s.
            harness.wait_for(lambda: len(fc.requests("PollHostCommand")) >= 5, 60,
                             "five throttled polls")
            n = len(fc.requests("PollHostCommand"))
            rc = env.stop(sig=signal.SIGTERM, timeout=12)
            assert rc == 0, (rc, env.stderr_text()[-2000:])
            assert len(fc.requests("PollHostCommand")) == n
    finally:
        fc.stop()
        s3.stop()
