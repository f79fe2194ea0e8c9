#!/usr/bin/env python3
"""A fake AWS CodeDeploy Commands service for end-to-end tests (spec §4-§7, Appendix A).

It follows data/CodeDeployCommand.api.json: AWS JSON 1.1, POST /, X-Amz-Target
CodeDeployCommandService_v20141006.<Op> (or CodeDeployCommandService.<Op> with secure=True),
the five operations and their members.  Every request is checked:

- SigV4 with an independent implementation (botocore, see fakecd_sigv4.py): known access key,
  scope <date>/<region>/codedeploy-commands[-secure]/aws4_request, host, x-amz-date,
  content-type, x-amz-target (and x-amz-security-token when the credentials have one) signed,
  5-minute clock window.  Failures get the AWS error (InvalidSignatureException 400, ...).
- the model: Content-Type, known target, JSON object body, only modelled members, required ones
  present, no nulls, envelope limits (Format 1-64, Payload <= 8192), the
  x-amz-codedeploy-agent-version header (R-048).  Violations are answered 400
  ValidationException and listed in .violations.

It plays scripted deployments, one command at a time per deployment entry (entries of different
deployment groups run side by side on one host, as the service does): a command is handed out by
PollHostCommand, then the next one only after PutHostCommandComplete for it arrived.  A failed
command ends its deployment (ApplicationStop/BeforeBlockTraffic/AfterBlockTraffic failures are
ignored when ignore_application_stop_failures is set).  Deployment specifications are PKCS#7
SignedData (PEM) made with a throwaway signer (certs.py).  Polls with nothing to hand out are held
up to poll_hold seconds (the real service holds ~60 s) and return {} (or {"HostCommand": null}
with empty_as_null).  With redeliver_until_ack a handed-out command is served again on every poll
until it is acknowledged, as the real service does (V-031); without it an unacknowledged
command is served again after redeliver_after seconds (default 3), so a poll answered into a
connection the agent abandoned (SIGTERM mid-poll) cannot strand a deployment.  Agents must
de-duplicate re-deliveries (the "deliveries" count of each command shows them).

Python use (the e2e tests):

    from commands_server import FakeCommands, in_place, blue_green, s3_revision
    creds = {"access_key": "AKIDEXAMPLE", "secret_key": "secret", "session_token": None}
    d = in_place("d-ABCDEF123", s3_revision("bucket", "app.zip", "zip"), group_id="g-1")
    with FakeCommands(port=0, creds=creds, scenario={"deployments": [d]}) as fc:
        # agent config :deploy_control_endpoint: fc.url  (http://127.0.0.1:<port>)
        fc.wait_deployment("d-ABCDEF123", timeout=60)      # -> "Succeeded" | "Failed"
        fc.completions("d-ABCDEF123")   # [{"command": "DownloadBundle", "status": "Succeeded",
                                        #   "diagnostics": {...}, ...}, ...]
        fc.requests(op="PollHostCommand"); fc.violations; fc.duplicate_completions
        fc.wait_command("d-ABCDEF123", "ApplicationStart", "acked")   # agent is running it now

Deployment entries (dicts; in_place()/blue_green() build them): deployment_id, group_id,
group_name, application_name, revision, commands (list of names, any name allowed, e.g.
"UpdateDeploymentAgent"), deployment_type, creator, host (a host identifier or None for any
host), key (default deployment_id; unique), after (key of a deployment that must finish first),
spec_mode ("pem" default, "der_base64", "text", "tampered", "badsig", "unsigned", "nosigners",
"missing_spec", "missing_envelope"), deployment_system ("CodeDeploy"), spec_overrides (dict merged
into the document; a None value deletes the member), ack_status (a status for every ack, or a dict
command -> status; "" or None omits it; default "InProgress"), command_host_identifier (override
the HostIdentifier in handed-out commands), ignore_application_stop_failures,
reuse_archive_from (ReuseArchiveFromDeploymentId of an agent 2.1 restart deployment: the short
id or a deployment ARN, V-012).

Faults (scenario["faults"] or fc.add_fault()): {"op": "PollHostCommand" | "*", "kind": one of
"500" | "throttle" | "drop" | "delay" | "auth" | "expired" | "error", "count": N (requests it
applies to, default 1), "skip": M (let M matching requests through first), "seconds": delay,
"status"/"code"/"message": for kind "error"; "for_seconds": S instead of count makes every
matching request fail for S seconds from the first one}.  "drop" closes the connection without a response;
"delay" sleeps and then answers normally.  fc.clock_offset (seconds) shifts the server's clock
(signature window and Date header) for skew tests (R-051).

Every request is recorded (fc.requests(); and as JSON lines in record_path when given), with the
raw body, headers (security token redacted), op, response status and error code, and the client
port (connection reuse).  A small control API needs no signature: GET /__control/state,
GET /__control/requests, POST /__control/deployment (a deployment entry),
POST /__control/fault, POST /__control/clock ({"offset": s}).

CLI:  commands_server.py --port 0 --port-file F --access-key AK --secret-key SK
      [--session-token T] [--region us-east-1] [--secure] [--scenario file.json]
      [--record requests.jsonl] [--tls-dir DIR] [--poll-hold 1.0]
      [--in-place d-ID --bucket B --key K --bundle-type zip --group-id G]
It prints "listening on <url>" and serves until SIGTERM/SIGINT.
"""
import argparse
import base64
import datetime
import email.utils
import http.server
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import certs  # noqa: E402
import fakecd_sigv4  # noqa: E402

TARGET_PREFIX = "CodeDeployCommandService_v20141006"
TARGET_PREFIX_SECURE = "CodeDeployCommandService"
SERVICE = "codedeploy-commands"
SERVICE_SECURE = "codedeploy-commands-secure"
CONTENT_TYPE = "application/x-amz-json-1.1"
STATUSES = ("Pending", "InProgress", "Succeeded", "Failed")

# Members of each operation's input (model order) and the required ones.
MODEL = {
    "PollHostCommand": (["HostIdentifier"], ["HostIdentifier"]),
    "PutHostCommandAcknowledgement": (["HostCommandIdentifier", "Diagnostics"],
                                      ["HostCommandIdentifier"]),
    "GetDeploymentSpecification": (["DeploymentExecutionId", "HostIdentifier"],
                                   ["DeploymentExecutionId", "HostIdentifier"]),
    "PutHostCommandComplete": (["HostCommandIdentifier", "CommandStatus", "Diagnostics"],
                               ["HostCommandIdentifier", "CommandStatus"]),
    "PostHostCommandUpdate": (["HostCommandIdentifier", "EstimatedCompletionTime", "Diagnostics"],
                              ["HostCommandIdentifier"]),
}

IN_PLACE_EVENTS = ["ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall",
                   "ApplicationStart", "ValidateService"]
BLOCK_EVENTS = ["BeforeBlockTraffic", "AfterBlockTraffic"]
ALLOW_EVENTS = ["BeforeAllowTraffic", "AfterAllowTraffic"]
PREVIOUS_REVISION_EVENTS = ("ApplicationStop", "BeforeBlockTraffic", "AfterBlockTraffic")
ACCOUNT = "123456789012"


_SIGNER = []
_SIGNER_LOCK = threading.Lock()


def _signer():
    """The process's throwaway CA and deployment signer (made once: RSA keys take a while)."""
    with _SIGNER_LOCK:
        if not _SIGNER:
            ca = certs.make_ca("cdagent fake CodeDeploy CA")
            _SIGNER.append((certs.make_leaf(ca, "cdagent fake deployment signer"), [ca]))
        return _SIGNER[0]


# ---- scenario builders ----

def s3_revision(bucket, key, bundle_type="zip", version=None, etag=None):
    r = {"Bucket": bucket, "Key": key, "BundleType": bundle_type}
    if version:
        r["Version"] = version
    if etag:
        r["ETag"] = etag
    return {"RevisionType": "S3", "S3Revision": r}


def github_revision(account, repository, commit_id, bundle_type=None):
    r = {"Account": account, "Repository": repository, "CommitId": commit_id}
    if bundle_type:
        r["BundleType"] = bundle_type
    return {"RevisionType": "GitHub", "GitHubRevision": r}


def in_place(deployment_id, revision, group_id="dg-0001", group_name="TestGroup",
             application_name="TestApp", application_stop=True, load_balancer=False, **kw):
    """An in-place deployment in the service's order (R-092).  application_stop=False leaves
    ApplicationStop out (what the service does on a host's first deployment, R-094)."""
    cmds = list(IN_PLACE_EVENTS if application_stop else IN_PLACE_EVENTS[1:])
    if load_balancer:
        cmds = BLOCK_EVENTS + cmds + ALLOW_EVENTS
    d = {"deployment_id": deployment_id, "group_id": group_id, "group_name": group_name,
         "application_name": application_name, "revision": revision, "commands": cmds,
         "deployment_type": "IN_PLACE"}
    d.update(kw)
    return d


def blue_green(deployment_id, revision, replacement_host=None, original_host=None,
               group_id="dg-0001", group_name="TestGroup", application_name="TestApp",
               rollback=False, **kw):
    """A blue/green deployment (R-093): two entries, the replacement host's install and allow
    traffic events, then the original host's block traffic events (keys "<id>/replacement" and
    "<id>/original").  rollback=True gives the rollback shape (creator codeDeployRollback:
    original hosts get allow-traffic events, replacement hosts block-traffic events)."""
    common = {"deployment_id": deployment_id, "group_id": group_id, "group_name": group_name,
              "application_name": application_name, "revision": revision,
              "deployment_type": "BLUE_GREEN"}
    common.update(kw)
    if rollback:
        common["creator"] = "codeDeployRollback"
        first = dict(common, key=deployment_id + "/original", host=original_host,
                     commands=list(ALLOW_EVENTS))
        second = dict(common, key=deployment_id + "/replacement", host=replacement_host,
                      commands=list(BLOCK_EVENTS), after=deployment_id + "/original")
        return [first, second]
    first = dict(common, key=deployment_id + "/replacement", host=replacement_host,
                 commands=IN_PLACE_EVENTS + ALLOW_EVENTS)
    second = dict(common, key=deployment_id + "/original", host=original_host,
                  commands=list(BLOCK_EVENTS), after=deployment_id + "/replacement")
    return [first, second]


# ---- state ----

class Command:
    def __init__(self, dep, index, name, host):
        self.dep = dep
        self.index = index
        self.name = name
        doc = {"batchId": "%s-%d" % (dep.key, index), "deploymentId": dep.deployment_id,
               "hostId": host, "commandName": name, "lifecycleEventIndex": index,
               "attempt": 1, "nonce": uuid.uuid4().hex}
        # Opaque, long, with '+', '/' and '=' likely: echoed back byte for byte.
        self.hci = base64.b64encode(json.dumps(doc).encode() + os.urandom(7)).decode()
        self.host = host
        self.deliveries = 0
        self.acks = []
        self.completions = []
        self.issued_at = None
        self.last_delivery = 0.0

    @property
    def done(self):
        return bool(self.completions) or self.terminal_ack is not None

    @property
    def terminal_ack(self):
        for a in self.acks:
            if a.get("status") in ("Succeeded", "Failed"):
                return a["status"]
        return None

    def summary(self):
        c = self.completions[0] if self.completions else {}
        return {"command": self.name, "host_command_identifier": self.hci, "host": self.host,
                "deliveries": self.deliveries, "acks": self.acks,
                "status": c.get("status") or self.terminal_ack,
                "diagnostics": c.get("diagnostics"), "completions": len(self.completions),
                "issued_at": self.issued_at, "completed_at": c.get("t")}


class Deployment:
    def __init__(self, spec, index):
        self.spec = dict(spec)
        self.deployment_id = spec["deployment_id"]
        self.key = spec.get("key") or self.deployment_id
        self.names = list(spec.get("commands", []))
        self.commands = []
        self.status = "Pending"
        self.index = index
        short = self.deployment_id.split("/")[-1]
        self.execution_id = spec.get("execution_id") or \
            "CodeDeploy/us-east-1/prod/orpheus:public004/%s:%s/%d" % (ACCOUNT, short, index)

    def document(self):
        s = self.spec
        doc = {"DeploymentId": self.deployment_id,
               "DeploymentGroupId": s.get("group_id", "dg-0001"),
               "DeploymentGroupName": s.get("group_name", "TestGroup"),
               "ApplicationName": s.get("application_name", "TestApp"),
               "DeploymentCreator": s.get("creator", "user"),
               "DeploymentType": s.get("deployment_type", "IN_PLACE")}
        if s.get("file_exists_behavior"):
            doc["AgentActionOverrides"] = {"AgentOverrides": {
                "FileExistsBehavior": s["file_exists_behavior"]}}
        if s.get("appspec_filename"):
            doc["AppSpecFilename"] = s["appspec_filename"]
        if s.get("all_lifecycle_events"):
            doc["AllPossibleLifecycleEvents"] = s["all_lifecycle_events"]
        if s.get("reuse_archive_from"):
            # Agent 2.1 restart ("bounce") deployments (V-012): an id or a deployment ARN.
            doc["ReuseArchiveFromDeploymentId"] = s["reuse_archive_from"]
        doc["Revision"] = s.get("revision") or s3_revision("bucket", "bundle.zip", "zip")
        for k, v in (s.get("spec_overrides") or {}).items():
            if v is None:
                doc.pop(k, None)
            else:
                doc[k] = v
        return doc

    def summary(self):
        return {"key": self.key, "deployment_id": self.deployment_id, "status": self.status,
                "execution_id": self.execution_id, "host": self.spec.get("host"),
                "commands": [c.summary() for c in self.commands],
                "pending": self.names[len(self.commands):]}


class _Reject(Exception):
    def __init__(self, status, code, message, violation=False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.violation = violation


class _Drop(Exception):
    pass


class FakeCommands:
    """The fake service; see the module docstring."""

    def __init__(self, port=0, creds=None, scenario=None, region="us-east-1", secure=False,
                 record_path=None, tls_dir=None, poll_hold=None):
        creds = creds or {"access_key": "AKIDEXAMPLE",
                          "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
        self.creds = {}
        self.add_credentials(creds["access_key"], creds["secret_key"], creds.get("session_token"))
        scenario = scenario or {}
        self.region = region
        self.secure = secure
        self.service = SERVICE_SECURE if secure else SERVICE
        self.target_prefix = TARGET_PREFIX_SECURE if secure else TARGET_PREFIX
        self.poll_hold = poll_hold if poll_hold is not None else scenario.get("poll_hold", 1.0)
        self.redeliver_until_ack = scenario.get("redeliver_until_ack", False)
        self.redeliver_after = scenario.get("redeliver_after", 3.0)
        self.empty_as_null = scenario.get("empty_as_null", False)
        self.clock_offset = scenario.get("clock_offset", 0)
        self.record_path = record_path
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.deployments = []
        self.by_hci = {}
        self.faults = []
        self.requests_log = []
        self.violations = []
        self.duplicate_completions = []
        self.unknown_completions = []
        self.stopping = False
        self.signer, self.signer_chain = _signer()
        for d in scenario.get("deployments", []):
            self.add_deployment(d)
        for f in scenario.get("faults", []):
            self.add_fault(f)
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.fake = self
        self.scheme = "http"
        self.tls_ca = None
        if tls_dir:
            self.tls_ca, cert, key = certs.tls_files(tls_dir)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self._httpd.server_address[1]
        self.url = "%s://127.0.0.1:%d" % (self.scheme, self.port)
        self._thread = None

    # -- lifecycle --
    def start(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-commands",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        with self.lock:
            self.stopping = True
            self.cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- configuration --
    def add_credentials(self, access_key, secret_key, session_token=None):
        self.creds[access_key] = {"secret_key": secret_key, "session_token": session_token}

    def add_deployment(self, spec):
        """Add one deployment entry (or a list, as blue_green() returns)."""
        if isinstance(spec, list):
            for s in spec:
                self.add_deployment(s)
            return
        with self.lock:
            d = Deployment(spec, len(self.deployments))
            if any(x.key == d.key for x in self.deployments):
                raise ValueError("duplicate deployment key %r" % d.key)
            self.deployments.append(d)
            self.cond.notify_all()
            return d

    def add_fault(self, fault):
        f = {"op": "*", "count": 1, "skip": 0}
        f.update(fault)
        with self.lock:
            self.faults.append(f)

    def now(self):
        return datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(seconds=self.clock_offset)

    # -- queries for tests --
    def deployment(self, key):
        with self.lock:
            for d in self.deployments:
                if d.key == key:
                    return d
        raise KeyError(key)

    def state(self):
        with self.lock:
            return {"url": self.url, "deployments": [d.summary() for d in self.deployments],
                    "requests": len(self.requests_log), "violations": list(self.violations),
                    "duplicate_completions": list(self.duplicate_completions),
                    "unknown_completions": list(self.unknown_completions),
                    "clock_offset": self.clock_offset}

    def requests(self, op=None):
        with self.lock:
            return [r for r in self.requests_log if op is None or r["op"] == op]

    def completions(self, key=None):
        """Per handed-out command of the deployment(s): name, status, diagnostics, counts."""
        with self.lock:
            out = []
            for d in self.deployments:
                if key is None or d.key == key or d.deployment_id == key:
                    out.extend(c.summary() for c in d.commands)
            return out

    def wait_deployment(self, key, timeout=60.0):
        """Wait until every entry with this key or deployment id is finished; return "Succeeded"
        when all succeeded, else "Failed".  AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                ds = [d for d in self.deployments if d.key == key or d.deployment_id == key]
                if not ds:
                    raise KeyError(key)
                if all(d.status in ("Succeeded", "Failed") for d in ds):
                    return "Succeeded" if all(d.status == "Succeeded" for d in ds) else "Failed"
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("deployment %s not finished after %.0fs: %s" % (
                        key, timeout, json.dumps([d.summary() for d in ds])[:2000]))
                self.cond.wait(min(left, 0.5))

    def wait_command(self, key, command, state="acked", timeout=60.0):
        """Wait until the deployment's command (by name; the latest one of that name) has been
        "delivered", "acked" or "completed"; return its summary.  Use "acked" to act while the
        agent is executing it (e.g. kill the agent mid-hook)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for d in self.deployments:
                    if d.key != key and d.deployment_id != key:
                        continue
                    for c in reversed(d.commands):
                        if c.name != command:
                            continue
                        if state == "delivered" or (state == "acked" and c.acks) or \
                                (state == "completed" and c.completions):
                            return c.summary()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s %s not %s after %.0fs" % (key, command, state,
                                                                        timeout))
                self.cond.wait(min(left, 0.5))

    def wait_idle(self, timeout=60.0):
        for d in list(self.deployments):
            self.wait_deployment(d.key, max(0.1, timeout))

    def wait_requests(self, op, n, timeout=30.0):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.requests(op)) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("only %d %s requests after %.0fs" % (
                        len(self.requests(op)), op, timeout))
                self.cond.wait(min(left, 0.2))
            return self.requests(op)

    # -- request handling (called by the handler thread) --
    def _record(self, entry):
        with self.lock:
            entry["seq"] = len(self.requests_log)
            self.requests_log.append(entry)
            self.cond.notify_all()
        if self.record_path:
            with open(self.record_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def _take_fault(self, op):
        with self.lock:
            now = time.monotonic()
            for f in self.faults:
                if f["op"] not in ("*", op):
                    continue
                if f["skip"] > 0:
                    f["skip"] -= 1
                    continue
                if "for_seconds" in f:
                    # Time-boxed fault: every matching request fails until the window closes.
                    f.setdefault("until", now + float(f["for_seconds"]))
                    if now < f["until"]:
                        f["hits"] = f.get("hits", 0) + 1
                        return dict(f)
                    continue
                if f["count"] <= 0:
                    continue
                f["count"] -= 1
                f["hits"] = f.get("hits", 0) + 1
                return dict(f)
        return None

    def _validate(self, op, body, headers):
        members, required = MODEL[op]
        if not isinstance(body, dict):
            raise _Reject(400, "SerializationException", "Request body is not a JSON object", True)
        for k, v in body.items():
            if k not in members:
                raise _Reject(400, "SerializationException",
                              "Unknown member '%s' for %s" % (k, op), True)
            if v is None:
                raise _Reject(400, "SerializationException",
                              "Member '%s' sent as null (absent members must be omitted)" % k,
                              True)
        for k in required:
            if k not in body:
                raise _Reject(400, "ValidationException", "Missing required member '%s'" % k,
                              True)
        for k in ("HostIdentifier", "HostCommandIdentifier", "DeploymentExecutionId",
                  "CommandStatus"):
            if k in body and (not isinstance(body[k], str) or not body[k]):
                raise _Reject(400, "ValidationException", "Member '%s' must be a non-empty string"
                              % k, True)
        if "CommandStatus" in body and body["CommandStatus"] not in STATUSES:
            raise _Reject(400, "ValidationException", "CommandStatus '%s' is not one of %s" % (
                body["CommandStatus"], ", ".join(STATUSES)), True)
        if "EstimatedCompletionTime" in body and \
                not isinstance(body["EstimatedCompletionTime"], (int, float)):
            raise _Reject(400, "SerializationException",
                          "EstimatedCompletionTime must be epoch seconds (a JSON number)", True)
        d = body.get("Diagnostics")
        if d is not None:
            if not isinstance(d, dict) or set(d) - {"Format", "Payload"}:
                raise _Reject(400, "SerializationException", "Diagnostics must be an Envelope",
                              True)
            fmt, payload = d.get("Format"), d.get("Payload")
            if not isinstance(fmt, str) or not 1 <= len(fmt) <= 64:
                raise _Reject(400, "ValidationException", "Diagnostics.Format must be 1-64 chars",
                              True)
            if payload is not None and (not isinstance(payload, str) or len(payload) > 8192):
                raise _Reject(400, "ValidationException",
                              "Diagnostics.Payload must be a string of at most 8192 characters",
                              True)
        if not headers.get("x-amz-codedeploy-agent-version"):
            raise _Reject(400, "ValidationException",
                          "Missing x-amz-codedeploy-agent-version header (R-048)", True)

    def handle(self, op, body, host_id_hint=None):
        """Serve a verified, valid request; returns the response object."""
        if op == "PollHostCommand":
            return self._poll(body["HostIdentifier"])
        if op == "GetDeploymentSpecification":
            return self._get_spec(body)
        if op == "PutHostCommandAcknowledgement":
            return self._ack(body)
        if op == "PutHostCommandComplete":
            return self._complete(body)
        if op == "PostHostCommandUpdate":
            with self.lock:
                c = self.by_hci.get(body["HostCommandIdentifier"])
            if c is None:
                raise _Reject(400, "ClientException", "Unknown HostCommandIdentifier")
            return {"CommandStatus": c.summary()["status"] or "InProgress"}
        raise _Reject(400, "UnknownOperationException", "Unknown operation %s" % op)

    def _ready(self, d):
        if d.status in ("Succeeded", "Failed"):
            return False
        after = d.spec.get("after")
        if after:
            prev = [x for x in self.deployments if x.key == after]
            if prev and prev[0].status not in ("Succeeded", "Failed"):
                return False
        return True

    def _next_for(self, host):
        for d in self.deployments:
            want = d.spec.get("host")
            if want and want != host and want not in host:
                continue
            if not self._ready(d):
                continue
            if d.commands and not d.commands[-1].done:
                c = d.commands[-1]
                # Like the service, serve an unacknowledged command again (V-031): at once with
                # redeliver_until_ack, else after redeliver_after seconds (a poll answered into
                # a connection the agent had already abandoned must not strand a deployment).
                wait = 0 if self.redeliver_until_ack else self.redeliver_after
                if not c.acks and time.time() - c.last_delivery >= wait:
                    c.deliveries += 1
                    c.last_delivery = time.time()
                    return c
                continue
            if len(d.commands) >= len(d.names):
                continue
            c = Command(d, len(d.commands), d.names[len(d.commands)], host)
            c.deliveries = 1
            c.issued_at = c.last_delivery = time.time()
            d.commands.append(c)
            d.status = "InProgress"
            self.by_hci[c.hci] = c
            return c
        return None

    def _poll(self, host):
        deadline = time.monotonic() + self.poll_hold
        with self.lock:
            while True:
                c = self._next_for(host)
                if c is not None:
                    d = c.dep
                    return {"HostCommand": {
                        "HostCommandIdentifier": c.hci,
                        "HostIdentifier": d.spec.get("command_host_identifier") or host,
                        "DeploymentExecutionId": d.execution_id,
                        "CommandName": c.name,
                        "Nonce": c.index + 1}}
                left = deadline - time.monotonic()
                if left <= 0 or self.stopping:
                    return {"HostCommand": None} if self.empty_as_null else {}
                self.cond.wait(min(left, 0.25))

    def _get_spec(self, body):
        with self.lock:
            ds = [d for d in self.deployments if d.execution_id == body["DeploymentExecutionId"]]
        if not ds:
            raise _Reject(400, "ClientException", "DeploymentExecutionId '%s' not found"
                          % body["DeploymentExecutionId"])
        d = ds[0]
        want = d.spec.get("host")
        if want and want not in body["HostIdentifier"]:
            raise _Reject(400, "ClientException", "Host '%s' is not part of deployment '%s'"
                          % (body["HostIdentifier"], d.deployment_id))
        mode = d.spec.get("spec_mode", "pem")
        system = d.spec.get("deployment_system", "CodeDeploy")
        if mode == "missing_spec":
            return {"DeploymentSystem": system}
        if mode == "missing_envelope":
            return {"DeploymentSystem": system, "DeploymentSpecification": {"VariantId": "v1"}}
        data = json.dumps(d.document()).encode()
        fmt = "PKCS7/JSON"
        if mode == "text":
            fmt, payload = "TEXT/JSON", data
        elif mode == "unsigned":
            payload = data
        elif mode == "nosigners":
            payload = certs.certs_only_pkcs7([self.signer])
        else:
            der = certs.sign_pkcs7(data, self.signer, extra=self.signer_chain, encoding="der")
            if mode == "tampered":
                der = certs.tamper_content(der, data)
            elif mode == "badsig":
                der = certs.break_signature(der)
            payload = certs.encode_der(der, "base64" if mode == "der_base64" else "pem")
        return {"DeploymentSystem": system,
                "DeploymentSpecification": {
                    "GenericEnvelope": {"Format": fmt, "Payload": payload.decode()},
                    "VariantId": "fake-variant",
                    "VariantEnvelope": {"Format": "JSON", "Payload": "{}"}}}

    def _ack(self, body):
        hci = body["HostCommandIdentifier"]
        with self.lock:
            c = self.by_hci.get(hci)
            if c is None:
                raise _Reject(400, "ClientException", "Unknown HostCommandIdentifier")
            noop = None
            diag = body.get("Diagnostics")
            if diag:
                try:
                    noop = json.loads(diag.get("Payload") or "null").get("IsCommandNoop")
                except (ValueError, AttributeError):
                    noop = "unparsable"
            st = c.dep.spec.get("ack_status", "InProgress")
            if isinstance(st, dict):
                st = st.get(c.name, "InProgress")
            c.acks.append({"is_noop": noop, "status": st or None,
                           "diagnostics": diag, "t": time.time()})
            if st in ("Succeeded", "Failed"):
                self._finish(c, st)
            self.cond.notify_all()
        return {"CommandStatus": st} if st else {}

    def _finish(self, c, status):
        d = c.dep
        if d.status == "Failed":
            return
        if status == "Failed" and not (c.name in PREVIOUS_REVISION_EVENTS and
                                       d.spec.get("ignore_application_stop_failures")):
            d.status = "Failed"
        elif len(d.commands) >= len(d.names):
            d.status = "Succeeded"

    def _complete(self, body):
        hci = body["HostCommandIdentifier"]
        diag = body.get("Diagnostics")
        parsed = None
        if diag:
            if diag.get("Format") != "JSON":
                raise _Reject(400, "ValidationException", "Diagnostics.Format must be JSON", True)
            try:
                parsed = json.loads(diag.get("Payload") or "")
            except ValueError:
                raise _Reject(400, "ValidationException", "Diagnostics.Payload is not JSON", True)
        with self.lock:
            c = self.by_hci.get(hci)
            entry = {"status": body["CommandStatus"], "diagnostics": parsed, "t": time.time()}
            if c is None:
                self.unknown_completions.append(dict(entry, host_command_identifier=hci))
                self.cond.notify_all()
                return {}
            if body["CommandStatus"] not in ("Succeeded", "Failed"):
                raise _Reject(400, "ValidationException",
                              "CommandStatus must be Succeeded or Failed", True)
            c.completions.append(entry)
            if len(c.completions) > 1:
                self.duplicate_completions.append({"command": c.name, "deployment": c.dep.key,
                                                   "host_command_identifier": hci})
            else:
                self._finish(c, body["CommandStatus"])
            self.cond.notify_all()
        return {}


def _aws_error(code):
    ns = "com.amazon.coral.availability" if "Throttl" in code else "com.amazon.coral.service"
    return "%s#%s" % (ns, code), "%s:http://internal.amazon.com/coral/%s/" % (code, ns)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # dropped connections and client resets are part of the tests


class _Handler(http.server.BaseHTTPRequestHandler):
    # Answer in one segment: headers and body written separately would otherwise wait for the
    # client's delayed ACK (Nagle), adding ~40 ms to every keep-alive call.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "FakeCodeDeployCommands/1.0"

    def log_message(self, fmt, *args):
        pass

    def date_time_string(self, timestamp=None):
        # send_response() adds Date from this: it must be the fake's (possibly skewed) clock.
        return email.utils.format_datetime(self.server.fake.now(), usegmt=True)

    def _send(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status, code, message):
        t, et = _aws_error(code)
        self._send(status, {"__type": t, "message": message}, {"x-amzn-ErrorType": et})

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        fake = self.server.fake
        if self.path == "/__control/state":
            return self._send(200, fake.state())
        if self.path == "/__control/requests":
            return self._send(200, fake.requests())
        self._send_error(404, "UnknownOperationException", "Unknown operation")

    def do_POST(self):
        fake = self.server.fake
        raw = self._read_body()
        if self.path.startswith("/__control/"):
            return self._control(raw)
        headers = {}
        for k in self.headers.keys():
            headers[k.lower()] = ",".join(self.headers.get_all(k))
        target = headers.get("x-amz-target", "")
        op = target.split(".", 1)[1] if "." in target else target
        entry = {"t": time.time(), "op": op, "target": target, "path": self.path,
                 "client_port": self.client_address[1], "body": raw.decode("utf-8", "replace"),
                 "headers": {k: ("REDACTED" if k == "x-amz-security-token" else v)
                             for k, v in headers.items()}}
        try:
            status, obj = self._serve(fake, op, target, headers, raw)
        except _Drop:
            entry.update(status=0, error_code="dropped")
            fake._record(entry)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        except _Reject as r:
            entry.update(status=r.status, error_code=r.code, error_message=r.message)
            if r.violation:
                with fake.lock:
                    fake.violations.append({"op": op, "code": r.code, "message": r.message,
                                            "body": entry["body"]})
            fake._record(entry)
            return self._send_error(r.status, r.code, r.message)
        entry.update(status=status, response=obj)
        fake._record(entry)
        self._send(status, obj)

    def _serve(self, fake, op, target, headers, raw):
        if self.path != "/":
            raise _Reject(404, "UnknownOperationException", "Requests go to path /", True)
        ctype = headers.get("content-type", "")
        if ctype.split(";")[0].strip() != CONTENT_TYPE:
            raise _Reject(400, "SerializationException",
                          "Content-Type must be %s, got '%s'" % (CONTENT_TYPE, ctype), True)
        if not target.startswith(fake.target_prefix + ".") or op not in MODEL:
            raise _Reject(400, "UnknownOperationException",
                          "Unknown X-Amz-Target '%s' (expected %s.<Operation>)"
                          % (target, fake.target_prefix), True)
        try:
            fakecd_sigv4.verify("POST", self.path, headers, raw, fake.creds, fake.region,
                                fake.service, fake.now(),
                                required=("content-type", "x-amz-target"))
        except fakecd_sigv4.SigError as e:
            raise _Reject(e.status, e.code, e.message)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            raise _Reject(400, "SerializationException", "Body is not JSON", True)
        fake._validate(op, body, headers)
        fault = fake._take_fault(op)
        if fault:
            kind = fault["kind"]
            if kind == "drop":
                raise _Drop()
            if kind == "delay":
                time.sleep(float(fault.get("seconds", 1)))
            elif kind == "500":
                raise _Reject(500, "ServerException", fault.get("message", "Internal failure"))
            elif kind == "throttle":
                raise _Reject(400, "ThrottlingException", fault.get("message", "Rate exceeded"))
            elif kind == "auth":
                raise _Reject(400, "AccessDeniedException", fault.get(
                    "message", "User is not authorized to perform: codedeploy-commands:" + op))
            elif kind == "expired":
                raise _Reject(400, "ExpiredTokenException",
                              fault.get("message", "The security token included in the request "
                                        "is expired"))
            elif kind == "error":
                raise _Reject(int(fault.get("status", 400)), fault.get("code", "ClientException"),
                              fault.get("message", "injected error"))
        return 200, fake.handle(op, body)

    def _control(self, raw):
        fake = self.server.fake
        try:
            obj = json.loads(raw or b"{}")
            if self.path == "/__control/deployment":
                fake.add_deployment(obj)
            elif self.path == "/__control/fault":
                fake.add_fault(obj)
            elif self.path == "/__control/clock":
                fake.clock_offset = obj.get("offset", 0)
            else:
                return self._send_error(404, "UnknownOperationException", "Unknown control path")
        except (ValueError, KeyError) as e:
            return self._send_error(400, "ValidationException", str(e))
        self._send(200, {"ok": True})


def main():
    ap = argparse.ArgumentParser(description="Fake CodeDeploy Commands service (tests only)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--access-key", default="AKIDEXAMPLE")
    ap.add_argument("--secret-key", default="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    ap.add_argument("--session-token")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--secure", action="store_true")
    ap.add_argument("--scenario")
    ap.add_argument("--record")
    ap.add_argument("--tls-dir")
    ap.add_argument("--poll-hold", type=float)
    ap.add_argument("--in-place", metavar="DEPLOYMENT_ID",
                    help="add an in-place deployment of s3://--bucket/--key")
    ap.add_argument("--bucket", default="bucket")
    ap.add_argument("--key", default="bundle.zip")
    ap.add_argument("--bundle-type", default="zip")
    ap.add_argument("--group-id", default="dg-0001")
    a = ap.parse_args()
    scenario = {}
    if a.scenario:
        with open(a.scenario) as f:
            scenario = json.load(f)
    if a.in_place:
        scenario.setdefault("deployments", []).append(
            in_place(a.in_place, s3_revision(a.bucket, a.key, a.bundle_type),
                     group_id=a.group_id))
    fc = FakeCommands(port=a.port, creds={"access_key": a.access_key, "secret_key": a.secret_key,
                                          "session_token": a.session_token},
                      scenario=scenario, region=a.region, secure=a.secure, record_path=a.record,
                      tls_dir=a.tls_dir, poll_hold=a.poll_hold)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fc.start()
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % fc.port)
        os.rename(a.port_file + ".tmp", a.port_file)
    print("listening on %s" % fc.url, flush=True)
    stop.wait()
    fc.stop()


if __name__ == "__main__":
    main()
