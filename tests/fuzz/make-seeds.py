#!/usr/bin/env python3
"""Write the committed seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Run from anywhere: python3 tests/fuzz/make-seeds.py.  Seeds are the project's own test data
(tests/data) plus small hand-made inputs, hostile archives among them.  Rerunning rewrites the
generated seeds with the same bytes (fixed mtimes); crash reproducers added by hand (named
crash-*) are left alone.
"""
import io
import json
import os
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(SRC, "tests", "data")
OUT = os.path.join(HERE, "corpus")
MAX_SEED = 16 * 1024


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy_dir(target, src, prefix=b"", suffixes=(".yml", ".yaml", ".bin", ".json", ".pem")):
    for name in sorted(os.listdir(src)):
        p = os.path.join(src, name)
        if not os.path.isfile(p) or not name.endswith(suffixes) or os.path.getsize(p) > MAX_SEED:
            continue
        with open(p, "rb") as f:
            put(target, name, prefix + f.read())


def appspec():
    copy_dir("appspec", os.path.join(DATA, "appspec", "good"))
    for name in sorted(os.listdir(os.path.join(DATA, "appspec", "bad"))):
        if name.endswith(".yml"):
            p = os.path.join(DATA, "appspec", "bad", name)
            if os.path.getsize(p) <= MAX_SEED:
                with open(p, "rb") as f:
                    put("appspec", "bad-" + name, f.read())


def config():
    d = os.path.join(DATA, "config")
    for name in sorted(os.listdir(d)):
        if not name.startswith("onprem"):
            with open(os.path.join(d, name), "rb") as f:
                put("config", name, f.read())
    put("config", "deep.yml", ":log_dir: " + "[" * 200 + "\n")
    put("config", "numbers.yml", ":max_revisions: 0x1_0\n:wait_between_runs: 010\n"
        ":verbose: 'yes'\n:http_read_timeout: '5'\n:log_dir:\n:log_dir: /tmp/x\n---\n:a: 1\n")


def onprem():
    d = os.path.join(DATA, "config")
    for name in sorted(os.listdir(d)):
        if name.startswith("onprem"):
            with open(os.path.join(d, name), "rb") as f:
                put("onprem", name, f.read())
    put("onprem", "list.yml", "region: [a, b]\niam_user_arn: arn:aws:iam::1:user/x\n")
    put("onprem", "anchors.yml", "a: &x eu-west-1\nregion: *x\naws_credentials_file: ~\n")


def envelope_and_json():
    d = os.path.join(DATA, "spec")
    # Byte 0 of an envelope seed: bits 0-1 format (PKCS7/JSON, TEXT/JSON, JSON, lower case),
    # bit 2 allow text envelopes.
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if name.endswith((".pem", ".der", ".b64")):
            with open(p, "rb") as f:
                put("spec_envelope", name, b"\x00" + f.read())
    with open(os.path.join(d, "content.json"), "rb") as f:
        content = f.read()
    put("spec_envelope", "text-json", b"\x05" + content)
    put("spec_envelope", "json", b"\x06" + content)
    put("spec_envelope", "text-refused", b"\x01" + content)
    put("spec_json", "content.json", content)
    doc = json.loads(content)
    gh = dict(doc, Revision={"RevisionType": "GitHub", "GitHubRevision": {
        "Account": "a", "Repository": "r", "CommitId": "0" * 40, "BundleType": "tar"}},
        GitHubAccessToken="ghp_secret", AllPossibleLifecycleEvents=["Install", "Custom"])
    put("spec_json", "github.json", json.dumps(gh))
    arn = dict(doc, DeploymentId="arn:aws:codedeploy:us-east-1:123456789012:deployment/d-X1",
               ReuseArchiveFromDeploymentId="d-OLD", AppSpecFilename="sub/app.yml")
    put("spec_json", "arn.json", json.dumps(arn))
    local = dict(doc, Revision={"RevisionType": "Local Directory", "LocalRevision": {
        "Location": "/tmp/x", "BundleType": "directory"}})
    put("spec_json", "local.json", json.dumps(local))
    put("spec_json", "unsafe-id.json", json.dumps(dict(doc, DeploymentId="../../etc")))
    return content


def commands(content):
    with open(os.path.join(DATA, "spec", "good.pem"), "rb") as f:
        pem = f.read().decode()
    put("commands", "poll.json", json.dumps({"HostCommand": {
        "CommandName": "Install", "DeploymentExecutionId": "e-1",
        "HostCommandIdentifier": "eyJiYXRjaElkIjoi+/=", "HostIdentifier":
        "arn:aws:ec2:us-east-1:123456789012:instance/i-1", "Nonce": 7}}))
    put("commands", "poll-null.json", '{"HostCommand":null}')
    put("commands", "ack.json", '{"CommandStatus":"InProgress"}')
    put("commands", "spec-pkcs7.json", json.dumps({
        "DeploymentSystem": "CodeDeploy", "DeploymentSpecification": {
            "GenericEnvelope": {"Format": "PKCS7/JSON", "Payload": pem}, "VariantId": "v"}}))
    put("commands", "spec-text.json", json.dumps({
        "DeploymentSystem": "CodeDeploy", "DeploymentSpecification": {
            "GenericEnvelope": {"Format": "TEXT/JSON", "Payload": content.decode()}}}))
    put("commands", "error.json", '{"__type":"com.amazon#ThrottlingException","message":"slow"}')
    put("commands", "error-Message.json", '{"__type":"AccessDeniedException","Message":"no"}')


def tar_bytes(entries, mode="w"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.mtime = 1700000000
            ti.mode = e.get("mode", 0o644)
            ti.type = e.get("type", tarfile.REGTYPE)
            ti.linkname = e.get("link", "")
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue()


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for e in entries:
            zi = zipfile.ZipInfo(e["name"], date_time=(2023, 11, 14, 0, 0, 0))
            zi.create_system = 3
            kind = 0o120000 if e.get("type") == tarfile.SYMTYPE else (
                0o040000 if e["name"].endswith("/") else 0o100000)
            zi.external_attr = (kind | e.get("mode", 0o644)) << 16
            z.writestr(zi, e.get("link", "").encode() if e.get("type") == tarfile.SYMTYPE
                       else e.get("data", b""))
    return buf.getvalue()


def unpack():
    D, L, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
    ok = [{"name": "appspec.yml", "data": b"version: 0.0\nos: linux\n"},
          {"name": "scripts/", "type": D, "mode": 0o755},
          {"name": "scripts/h.sh", "data": b"#!/bin/sh\necho hi\n", "mode": 0o755},
          {"name": "rel", "type": L, "link": "scripts/h.sh"},
          {"name": "hard", "type": H, "link": "scripts/h.sh"}]
    hostile = {
        # issue 11 item 1: a directory entry then a refused entry (fix-ups land in the cwd)
        "dir-then-refused": [{"name": "X/", "type": D, "mode": 0o777},
                             {"name": "../evil", "data": b"x"}],
        "etc-then-refused": [{"name": "etc/", "type": D, "mode": 0o777},
                             {"name": "/abs", "data": b"x"}],
        "hardlink-to-symlink": [{"name": "s", "type": L, "link": "/etc/passwd"},
                                {"name": "f", "type": H, "link": "s", "data": b"x"}],
        "abs-symlink-then-dir": [{"name": "a", "type": L, "link": "../out"},
                                 {"name": "a/X/", "type": D, "mode": 0o777},
                                 {"name": "../x", "data": b"x"}],
        "symlink-escape": [{"name": "l", "type": L, "link": "../out"},
                           {"name": "l/f", "data": b"pwned"}],
        "dotdot": [{"name": "a/../../out/f", "data": b"pwned"}],
        "hardlink-out": [{"name": "h", "type": H, "link": "../out/f"}],
        "setuid": [{"name": "suid", "data": b"x", "mode": 0o4755}],
        "dir-modes": [{"name": "d/", "type": D, "mode": 0o000},
                      {"name": "d/e/", "type": D, "mode": 0o777}],
    }
    # Byte 0: bit 0 zip, bit 1 fallback (no private cwd), bit 2 reject links.
    for prefix, tag in ((0, "cwd"), (2, "fallback")):
        put("unpack", f"ok-{tag}.tar", bytes([prefix]) + tar_bytes(ok))
        put("unpack", f"ok-{tag}.zip", bytes([prefix | 1]) + zip_bytes(ok))
        for name, ents in hostile.items():
            put("unpack", f"{name}-{tag}.tar", bytes([prefix]) + tar_bytes(ents))
            put("unpack", f"{name}-{tag}.zip", bytes([prefix | 1]) + zip_bytes(
                [e for e in ents if e.get("type") != H]))
    put("unpack", "ok.tgz", b"\x00" + tar_bytes(ok, "w:gz"))
    put("unpack", "ok-reject-links.tar", b"\x04" + tar_bytes(ok))
    put("unpack", "garbage", b"\x00not an archive")


def main():
    for d in os.listdir(OUT) if os.path.isdir(OUT) else []:
        for name in os.listdir(os.path.join(OUT, d)):
            if not name.startswith("crash-"):
                os.unlink(os.path.join(OUT, d, name))
    appspec()
    config()
    onprem()
    commands(envelope_and_json())
    unpack()


if __name__ == "__main__":
    main()
