"""Connections, deadlines and hostile Commands bodies, the real agent against the fake endpoint
(issue 14 item 1: warm connections shared by the poller and the workers, over TLS with the full
system trust store; issue 18 items 2 and 6: a trickling poll ends at its deadline, hostile bodies
fail only their call).  No timing assertions: only counts and messages."""
import contextlib
import os
import tempfile

import harness
import s3 as s3mod
from commands_server import FakeCommands, in_place, s3_revision
from daemonenv import DaemonEnv, check_clean, hook_bundle

EVENTS = ["ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall",
          "ApplicationStart", "ValidateService"]
SYSTEM_STORE = "/etc/ssl/certs/ca-certificates.crt"


@contextlib.contextmanager
def world(tls=False, extra_config="", **kw):
    """S3, the fake Commands endpoint (over TLS when asked) and an agent environment; with TLS
    the agent trusts the system store plus the fake's CA (SSL_CERT_FILE), as in production."""
    s3 = s3mod.S3Server()
    s3.start()
    tmp = tempfile.mkdtemp(prefix="cdagent-netperf-")
    fc = FakeCommands(creds={"access_key": s3.access_key, "secret_key": s3.secret_key},
                      tls_dir=os.path.join(tmp, "tls") if tls else None, **kw)
    fc.start()
    agent_env = {}
    if tls:
        bundle = os.path.join(tmp, "trust.pem")
        system = open(SYSTEM_STORE).read() if os.path.exists(SYSTEM_STORE) else ""
        with open(bundle, "w") as f:
            f.write(system + open(fc.tls_ca).read())
        # The first of these found wins; CI may set several.
        agent_env.update({v: bundle for v in ("AWS_CA_BUNDLE", "AWS_SSL_CA_BUNDLE",
                                              "SSL_CERT_FILE")})
    try:
        with DaemonEnv(fc, s3, extra_config=extra_config) as env:
            yield fc, s3, env, agent_env
    finally:
        fc.stop()
        s3.stop()


def noop_bundle(env):
    return hook_bundle("zip", env.path("r"), EVENTS, script="#!/bin/sh\nexit 0\n")


def test_issue14_seven_events_over_tls_reuse_connections():
    """The poller keeps one connection and the workers share the others: a 7-event deployment
    (about 20 Commands calls besides the polls) opened one connection per worker before (8).
    At most three requests are ever in flight at once: the poller's long poll, a command's
    completion whose answer is still on its way, and the next command's first call (the service
    hands the next command out as soon as it has the completion)."""
    with world(tls=True, poll_hold=0.5) as (fc, s3, env, agent_env):
        s3.create_bucket("netperf")
        s3.put_object("netperf", "noop.zip", noop_bundle(env))
        fc.add_deployment(in_place("d-CONNREUSE", s3_revision("netperf", "noop.zip")))
        env.start(env=agent_env)
        assert fc.wait_deployment("d-CONNREUSE", 120) == "Succeeded", env.agent_log()[-3000:]
        calls = [r for r in fc.requests() if r["op"] != "PollHostCommand"]
        assert len(calls) >= 14, len(calls)
        check_clean(fc)
        assert fc.connections <= 3, "%d connections for %d requests" % (fc.connections,
                                                                       len(fc.requests()))


def test_issue18_trickling_poll_ends_at_its_deadline():
    """Every byte resets the read timeout; the poll's deadline (read timeout + 10 s) ends it,
    the message says so, and the agent polls again."""
    with world(extra_config=":http_read_timeout: 2", poll_hold=0.2) as (fc, s3, env, _):
        fc.add_fault({"op": "PollHostCommand", "kind": "trickle", "seconds": 1, "count": 1})
        env.start()
        harness.wait_for(lambda: "call deadline of 12 s exceeded" in env.agent_log(), 60,
                         "the poll's deadline in the log")
        log = env.agent_log()
        line = [x for x in log.splitlines() if "call deadline of 12 s exceeded" in x][0]
        assert "PollHostCommand" in line and "request deadline of" in line, line
        assert "read timeout" not in line, line
        fc.wait_requests("PollHostCommand", 2, 60)
        assert env.agent.poll() is None


def test_issue18_hostile_bodies_fail_only_their_command():
    """An HTML page, JSON nested 100 000 deep and a 5 MB body, each as the answer to one
    GetDeploymentSpecification: that command fails with a clear message; the next deployment
    succeeds."""
    with world(poll_hold=0.2) as (fc, s3, env, _):
        s3.create_bucket("netperf")
        s3.put_object("netperf", "noop.zip", noop_bundle(env))
        for kind in ("html", "deep", "huge"):
            fc.add_fault({"op": "GetDeploymentSpecification", "kind": kind, "count": 1})
        rev = s3_revision("netperf", "noop.zip")
        for i in range(3):
            fc.add_deployment(in_place("d-HOSTILE%d" % i, rev, application_stop=False,
                                       after="d-HOSTILE%d" % (i - 1) if i else None))
        fc.add_deployment(in_place("d-HOSTILEOK", rev, application_stop=False,
                                   after="d-HOSTILE2"))
        env.start()
        msgs = []
        for i in range(3):
            assert fc.wait_deployment("d-HOSTILE%d" % i, 60) == "Failed"
            c = fc.completions("d-HOSTILE%d" % i)
            assert len(c) == 1 and c[0]["status"] == "Failed", c
            msgs.append(c[0]["diagnostics"]["message"])
        assert "GetDeploymentSpecification" in msgs[0], msgs
        assert "GetDeploymentSpecification" in msgs[1], msgs
        assert "limit of 4194304 bytes" in msgs[2], msgs
        assert fc.wait_deployment("d-HOSTILEOK", 90) == "Succeeded", fc.completions("d-HOSTILEOK")
        assert env.agent.poll() is None
        check_clean(fc)


def test_issue18_s3_key_with_dot_segments_goes_out_as_signed():
    """A key "../x/app.tar" in bucket "bkt": the request path is /bkt/../x/app.tar exactly as
    the signer saw it (R-109), not folded by libcurl into /x/app.tar, another object outside
    the bucket."""
    from test_http_tls import Fixture, http_get, sign_env
    with Fixture() as f:
        path = "/sigv4/bkt/../x/./app.tar"
        r = http_get(["--s3", "--sign", "eu-central-1/s3", f.server.url(path)],
                     sign_env(f, token=False))
        assert f.server.requests, r.stderr
        assert f.server.requests[-1]["path"] == path, (f.server.requests[-1]["path"], r.stderr)
