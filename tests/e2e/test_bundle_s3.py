"""S3 bundle download end to end: build/tools/fetch_bundle (agent/bundle.c, SigV4, HTTP) against
s3rver behind the verifying front end of tests/fake/s3.py, all on 127.0.0.1
(spec R-108..R-114, V-058; issue 6)."""
import hashlib
import os
import shutil
import subprocess
import threading
import time

import harness
import s3 as fakes3

TOOL = os.path.join(harness.BUILD, "tools", "fetch_bundle")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def server():
    why = fakes3.available()
    if why:
        raise harness.Skip(why)
    if not os.access(TOOL, os.X_OK):
        raise harness.Skip("build/tools/fetch_bundle not built")
    return fakes3.S3Server()


def fetch(s3, env, bucket, key, *extra, secret=None, timeout=120):
    dest = env.path("bundle.tar")
    argv = [TOOL, "s3", "--region", s3.region, "--endpoint", s3.url, "--bucket", bucket,
            "--key", key, "--dest", dest, "--key-id", s3.access_key,
            "--secret", secret or s3.secret_key] + list(extra)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if "http: not implemented yet" in p.stdout:
        raise harness.Skip("agent/http.c is not implemented yet")
    return p, dest


def no_leftovers(dest):
    assert not os.path.exists(dest), "bundle.tar left behind"
    assert not os.path.exists(dest + ".part"), "bundle.tar.part left behind"


def test_get_object_signed_and_streamed_R108_R109():
    data = os.urandom(3 * 1024 * 1024 + 17)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "apps/my app+v1=2.tar", data)
        p, dest = fetch(s3, env, "bkt", "apps/my app+v1=2.tar", "--progress")
        assert p.returncode == 0, p.stdout + p.stderr
        md5 = hashlib.md5(data).hexdigest()
        assert p.stdout.startswith("ok size=%d etag=%s " % (len(data), md5)), p.stdout
        with open(dest, "rb") as f:
            assert f.read() == data
        assert oct(os.stat(dest).st_mode & 0o777) == "0o600"
        assert not os.path.exists(dest + ".part")
        (req,) = s3.gets("bkt")
        assert req["status"] == 200
        assert req["path"] == "/bkt/apps/my%20app%2Bv1%3D2.tar"      # path-style, encoded once
        assert req["headers"]["x-amz-content-sha256"] == EMPTY_SHA256
        assert req["headers"]["authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=%s/" % s3.access_key)
        assert "/us-east-1/s3/aws4_request" in req["headers"]["authorization"]
        prog = [line.split() for line in p.stderr.splitlines() if line.startswith("progress ")]
        assert prog and int(prog[-1][1]) == len(data), prog[-3:]


def test_wrong_signature_rejected_403_R114():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "k.tar", b"payload")
        p, dest = fetch(s3, env, "bkt", "k.tar", secret="not-the-secret")
        assert p.returncode == 1
        assert p.stdout.startswith("error Auth S3 GetObject s3://bkt/k.tar: 403 "
                                   "SignatureDoesNotMatch: The request signature we calculated"), \
            p.stdout
        assert "not-the-secret" not in p.stdout + p.stderr
        assert len(s3.gets("bkt")) == 1        # 403 is final
        no_leftovers(dest)


def test_version_id_selects_version_R109():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        v1 = s3.put_object("bkt", "k.tar", b"version one", versioned=True)
        v2 = s3.put_object("bkt", "k.tar", b"version two!", versioned=True)
        p, dest = fetch(s3, env, "bkt", "k.tar", "--version", v1)
        assert p.returncode == 0, p.stdout
        assert "version=%s " % v1 in p.stdout
        with open(dest, "rb") as f:
            assert f.read() == b"version one"
        assert s3.gets("bkt")[-1]["query"] == {"versionId": v1}
        os.unlink(dest)
        p, dest = fetch(s3, env, "bkt", "k.tar")
        with open(dest, "rb") as f:
            assert f.read() == b"version two!"
        assert "version=%s " % v2 in p.stdout
        os.unlink(dest)
        p, dest = fetch(s3, env, "bkt", "k.tar", "--version", "NoSuchVersionId123")
        assert p.returncode == 1
        assert "error NotFound S3 GetObject s3://bkt/k.tar: 404 NoSuchVersion" in p.stdout
        no_leftovers(dest)


def test_access_denied_403_R114():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "secret.tar", b"x")
        s3.deny("bkt", "secret.tar")
        p, dest = fetch(s3, env, "bkt", "secret.tar")
        assert p.returncode == 1
        assert p.stdout.strip() == ("error Auth S3 GetObject s3://bkt/secret.tar: 403 "
                                    "AccessDenied: Access Denied"), p.stdout
        no_leftovers(dest)


def test_missing_key_and_bucket_404_R114():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        p, dest = fetch(s3, env, "bkt", "nope.tar")
        assert p.returncode == 1
        assert p.stdout.startswith("error NotFound S3 GetObject s3://bkt/nope.tar: 404 NoSuchKey: "
                                   "The specified key does not exist."), p.stdout
        p, dest = fetch(s3, env, "nobucket", "k.tar")
        assert "404 NoSuchBucket" in p.stdout, p.stdout
        assert len(s3.gets()) == 2          # not retried
        no_leftovers(dest)


def test_etag_match_sent_as_if_match_R110():
    data = b"bundle bytes"
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "k.tar", data)
        etag = hashlib.md5(data).hexdigest()
        p, dest = fetch(s3, env, "bkt", "k.tar", "--etag", '"%s"' % etag)
        assert p.returncode == 0, p.stdout
        assert s3.gets()[-1]["headers"]["if-match"] == '"%s"' % etag


def test_etag_mismatch_exact_message_R110():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "k.tar", b"new content")
        actual = hashlib.md5(b"new content").hexdigest()
        p, dest = fetch(s3, env, "bkt", "k.tar", "--etag", "0123456789abcdef0123456789abcdef")
        assert p.returncode == 1
        assert p.stdout.strip() == (
            "error Signature S3 GetObject s3://bkt/k.tar: Expected deployment artifact bundle "
            "etag 0123456789abcdef0123456789abcdef but was actually %s" % actual), p.stdout
        no_leftovers(dest)


def test_content_not_matching_single_part_etag_fails():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "k.tar", b"content")
        s3.set_etag("bkt", "k.tar", "ffffffffffffffffffffffffffffffff")
        p, dest = fetch(s3, env, "bkt", "k.tar")
        assert p.returncode == 1
        assert "downloaded content has MD5 %s but the ETag is ffffffffffffffffffffffffffffffff" \
            % hashlib.md5(b"content").hexdigest() in p.stdout, p.stdout
        no_leftovers(dest)


def test_multipart_etag_compared_as_string_only_R110():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "k.tar", b"multi part content")
        s3.set_etag("bkt", "k.tar", "d41d8cd98f00b204e9800998ecf8427e-3")
        p, dest = fetch(s3, env, "bkt", "k.tar", "--etag", "d41d8cd98f00b204e9800998ecf8427e-3")
        assert p.returncode == 0, p.stdout      # no MD5 check possible for "-N" ETags
        assert "etag=d41d8cd98f00b204e9800998ecf8427e-3 " in p.stdout


def test_broken_transfer_resumed_with_range():
    data = os.urandom(2 * 1024 * 1024 + 5)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.cut_after(1024 * 1024 + 3)
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "50")
        assert p.returncode == 0, p.stdout + p.stderr
        with open(dest, "rb") as f:
            assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
        first, second = s3.gets("bkt")
        assert first["cut_at"] == 1024 * 1024 + 3
        assert "range" not in first["headers"]
        assert second["headers"]["range"] == "bytes=%d-" % (1024 * 1024 + 3)
        etag = hashlib.md5(data).hexdigest()
        assert second["headers"]["if-match"] == '"%s"' % etag   # same object or nothing
        assert second["status"] == 206
        assert "attempts=2" in p.stdout


def test_server_killed_mid_transfer_then_back_resumes():
    data = os.urandom(4 * 1024 * 1024)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)

        def back_later():
            time.sleep(0.5)
            s3.restart()

        s3.kill_after(1536 * 1024, on_kill=lambda: threading.Thread(target=back_later,
                                                                      daemon=True).start())
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "400", "--attempts", "6")
        assert p.returncode == 0, p.stdout + p.stderr
        with open(dest, "rb") as f:
            assert f.read() == data
        gets = s3.gets("bkt")
        assert gets[0]["cut_at"] == 1536 * 1024
        assert gets[-1]["headers"]["range"] == "bytes=%d-" % (1536 * 1024)
        assert gets[-1]["status"] == 206


def test_server_gone_names_override_hint_R114():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.kill()
        p, dest = fetch(s3, env, "bkt", "k.tar", "--retry-ms", "10", "--attempts", "2")
        assert p.returncode == 1
        assert p.stdout.startswith("error ") and "S3 GetObject s3://bkt/k.tar" in p.stdout
        assert p.stdout.strip().endswith(". Try using s3 endpoint override."), p.stdout
        no_leftovers(dest)


def test_session_token_signed_and_checked():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "k.tar", b"x" * 1000)
        s3.add_key("ASIATEMPORARY0000001", "temp-secret", token="the-session-token")
        dest = env.path("bundle.tar")
        argv = [TOOL, "s3", "--region", s3.region, "--endpoint", s3.url, "--bucket", "bkt",
                "--key", "k.tar", "--dest", dest, "--key-id", "ASIATEMPORARY0000001",
                "--secret", "temp-secret", "--token", "the-session-token"]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if "http: not implemented yet" in p.stdout:
            raise harness.Skip("agent/http.c is not implemented yet")
        assert p.returncode == 0, p.stdout
        req = s3.gets("bkt")[-1]
        assert req["headers"]["x-amz-security-token"] == "the-session-token"
        assert "x-amz-security-token" in req["headers"]["authorization"]
        s3.expire_key("ASIATEMPORARY0000001")
        os.unlink(dest)
        p = subprocess.run(argv + ["--attempts", "2", "--retry-ms", "10"], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 1
        assert "400 ExpiredToken" in p.stdout, p.stdout


def test_transfer_that_keeps_breaking_fails_after_bounded_attempts():
    data = os.urandom(1024 * 1024)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.cut_after(100000, times=10)
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "10", "--attempts", "3")
        assert p.returncode == 1
        assert "S3 GetObject s3://bkt/big.tar" in p.stdout, p.stdout
        gets = s3.gets("bkt")
        assert len(gets) == 3
        assert [g["headers"].get("range") for g in gets] == [None, "bytes=100000-",
                                                            "bytes=200000-"]
        no_leftovers(dest)


def test_bucket_in_another_region_retried_once_R113():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("eubkt")
        s3.put_object("eubkt", "k.tar", b"from europe")
        s3.set_bucket_region("eubkt", "eu-west-1")
        p, dest = fetch(s3, env, "eubkt", "k.tar")
        assert p.returncode == 0, p.stdout
        first, second = s3.gets("eubkt")
        assert first["status"] == 400
        assert "/us-east-1/s3/aws4_request" in first["headers"]["authorization"]
        assert "/eu-west-1/s3/aws4_request" in second["headers"]["authorization"]
        with open(dest, "rb") as f:
            assert f.read() == b"from europe"


def test_clock_skew_corrected_from_date_header_R051():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "k.tar", b"skewed")
        s3.skew_s = 3 * 3600
        p, dest = fetch(s3, env, "bkt", "k.tar")
        assert p.returncode == 0, p.stdout
        first, second = s3.gets("bkt")
        assert first["status"] == 403 and second["status"] == 200


def test_instance_profile_credentials_sign_s3_request_R040_C043():
    from imds import FakeIMDS
    with server() as s3, FakeIMDS() as md, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "k.tar", b"signed with role credentials")
        # The role document's first GET hands out serial 1 credentials.
        md.cred_serial = 1
        c = md.credentials()
        md.cred_serial = 0
        s3.add_key(c["AccessKeyId"], c["SecretAccessKey"], token=c["Token"])
        dest = env.path("bundle.tar")
        p = subprocess.run([TOOL, "s3", "--region", s3.region, "--endpoint", s3.url, "--bucket",
                            "bkt", "--key", "k.tar", "--dest", dest, "--imds"],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, **md.env()))
        assert p.returncode == 0, p.stdout + p.stderr
        req = s3.gets("bkt")[-1]
        assert req["headers"]["x-amz-security-token"] == c["Token"]
        assert req["headers"]["authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=%s/" % c["AccessKeyId"])


def test_fake_s3_checks_signatures_independently_of_cdagent():
    """The front end must accept botocore's own signing and refuse wrong or tampered requests,
    otherwise the tests above would prove nothing about cdagent's signer."""
    import http.client
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    why = fakes3.available()
    if why:
        raise harness.Skip(why)
    with fakes3.S3Server() as s3:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "a b.tar", b"ok")
        s3.put_object("bkt", "other.tar", b"other")

        def signed(path, secret, send_path=None):
            req = botocore.awsrequest.AWSRequest(method="GET", url=s3.url + path)
            req.headers["x-amz-content-sha256"] = EMPTY_SHA256
            botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(s3.access_key, secret),
                                      "s3", s3.region).add_auth(req)
            conn = http.client.HTTPConnection("127.0.0.1", s3.port, timeout=10)
            conn.request("GET", send_path or path, headers=dict(req.headers.items()))
            r = conn.getresponse()
            body = r.read()
            conn.close()
            return r.status, body

        assert signed("/bkt/a%20b.tar", s3.secret_key) == (200, b"ok")
        status, body = signed("/bkt/a%20b.tar", "wrong")
        assert status == 403 and b"SignatureDoesNotMatch" in body
        status, body = signed("/bkt/a%20b.tar", s3.secret_key, send_path="/bkt/other.tar")
        assert status == 403 and b"SignatureDoesNotMatch" in body
        conn = http.client.HTTPConnection("127.0.0.1", s3.port, timeout=10)
        conn.request("GET", "/bkt/a%20b.tar")
        r = conn.getresponse()
        assert r.status == 403 and b"AccessDenied" in r.read()
        conn.close()


def test_size_cap_refuses_large_object_without_retry():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", os.urandom(300000))
        p, dest = fetch(s3, env, "bkt", "big.tar", "--max-bytes", "100000")
        assert p.returncode == 1
        assert p.stdout.startswith("error Limit S3 GetObject s3://bkt/big.tar"), p.stdout
        assert len(s3.gets("bkt")) == 1
        no_leftovers(dest)


# ---- issue 18: a resume must continue the same object, and the whole file is verified ----

MULTIPART = "0123456789abcdef0123456789abcdef-2"   # no MD5 of the content to check


def fetched_is(p, dest, data):
    """Never a success with other bytes: either the exact object or a failure."""
    if p.returncode == 0:
        with open(dest, "rb") as f:
            assert f.read() == data, "reported success with bytes that differ from the object"
    return p.returncode == 0


def test_resume_answered_200_rewrites_from_zero_not_appended():
    data = os.urandom(2 * 1024 * 1024 + 5)
    cut = 1024 * 1024 + 3
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.set_etag("bkt", "big.tar", MULTIPART)
        # A caching proxy that ignores Range: the resume gets the whole body from byte 0, cut so
        # that old bytes plus new bytes have exactly the object's length.
        s3.cut_after(cut)
        s3.cut_after(len(data) - cut)
        s3.misbehave("ignore_range")
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "10")
        assert fetched_is(p, dest, data), p.stdout + p.stderr
        g = s3.gets("bkt")
        assert g[1]["headers"]["range"] == "bytes=%d-" % cut and g[1]["status"] == 200
        assert g[1]["cut_at"] == len(data) - cut
        assert g[2]["headers"]["range"] == "bytes=%d-" % (len(data) - cut)   # from the new bytes
        assert g[2]["status"] == 206


def test_resume_from_another_object_restarts_from_zero():
    data = os.urandom(1024 * 1024)
    other = os.urandom(len(data))
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.put_object("bkt", "other.tar", other)
        s3.set_etag("bkt", "big.tar", MULTIPART)
        s3.set_etag("bkt", "other.tar", "fedcba9876543210fedcba9876543210-2")
        s3.cut_after(300000)
        s3.misbehave("other_object", other=("bkt", "other.tar"))   # 206, If-Match ignored
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "10")
        assert fetched_is(p, dest, data), p.stdout + p.stderr
        g = s3.gets()
        assert g[1]["headers"]["if-match"] == '"%s"' % MULTIPART and g[1]["status"] == 206
        assert "range" not in g[2]["headers"] and "if-match" not in g[2]["headers"]
        assert g[2]["status"] == 200 and len(g) == 3


def test_resume_from_another_object_with_spec_etag_fails_R110():
    data = os.urandom(500000)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.put_object("bkt", "other.tar", os.urandom(len(data)))
        s3.set_etag("bkt", "big.tar", MULTIPART)
        s3.set_etag("bkt", "other.tar", "fedcba9876543210fedcba9876543210-2")
        s3.cut_after(100000)
        s3.misbehave("other_object", other=("bkt", "other.tar"))
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "10", "--etag", MULTIPART)
        assert p.returncode == 1
        assert p.stdout.strip() == (
            "error Signature S3 GetObject s3://bkt/big.tar: Expected deployment artifact bundle "
            "etag %s but was actually fedcba9876543210fedcba9876543210-2" % MULTIPART), p.stdout
        no_leftovers(dest)


def test_multipart_object_with_corrupt_bytes_fails_on_checksum():
    data = os.urandom(700000)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.set_etag("bkt", "big.tar", MULTIPART)
        good = fakes3.checksum_b64("sha256", data)
        s3.set_checksum("bkt", "big.tar", "sha256", good)
        s3.misbehave("corrupt")
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "10")
        assert not fetched_is(p, dest, data)
        bad = fakes3.checksum_b64("sha256", bytes([data[0] ^ 0xFF]) + data[1:])
        assert p.stdout.strip() == (
            "error Signature S3 GetObject s3://bkt/big.tar: downloaded content has SHA256 "
            "checksum %s but S3 says %s" % (bad, good)), p.stdout
        no_leftovers(dest)


def test_resumed_download_verified_by_crc32_checksum():
    data = os.urandom(2 * 1024 * 1024 + 1)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.set_etag("bkt", "big.tar", MULTIPART)
        s3.set_checksum("bkt", "big.tar", "crc32", fakes3.checksum_b64("crc32", data))
        s3.cut_after(1000001)
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "10")
        assert p.returncode == 0, p.stdout + p.stderr
        assert fetched_is(p, dest, data)
        first, second = s3.gets("bkt")
        for g in (first, second):
            assert g["headers"]["x-amz-checksum-mode"] == "ENABLED"   # signed, else 403
        assert second["headers"]["range"] == "bytes=1000001-" and second["status"] == 206


def test_corrupt_single_part_resume_fails_on_md5():
    data = os.urandom(600000)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.cut_after(200000)
        s3.misbehave("corrupt")
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "10")
        assert not fetched_is(p, dest, data)
        assert "downloaded content has MD5 " in p.stdout, p.stdout
        no_leftovers(dest)


# ---- issue 14 items 2-3, issue 18 items 2 and 5 ----

PARTS = ("--connections", "4", "--part-bytes", "262144", "--parts-min-bytes", "1048576")


def traced_fetch(s3, env, bucket, key, *extra):
    """fetch under strace: the system calls that touch the bundle file."""
    log = env.path("strace.log")
    dest = env.path("bundle.tar")
    argv = ["strace", "-f", "-qq", "-e", "trace=openat,fsync,fdatasync", "-o", log, TOOL, "s3",
            "--region", s3.region, "--endpoint", s3.url, "--bucket", bucket, "--key", key,
            "--dest", dest, "--key-id", s3.access_key, "--secret", s3.secret_key] + list(extra)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if "PTRACE" in p.stderr or "Operation not permitted" in p.stderr:
        raise harness.Skip("strace cannot trace here: " + p.stderr.strip()[:200])
    with open(log) as f:
        return p, dest, f.read()


def test_md5_streamed_across_resumed_download_bundle_not_read_back():
    data = os.urandom(3 * 1024 * 1024 + 11)
    if not shutil.which("strace"):
        raise harness.Skip("strace is not installed")
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "app.tar", data)
        s3.set_checksum("bkt", "app.tar", "sha256", fakes3.checksum_b64("sha256", data))
        s3.cut_after(1000003)
        p, dest, trace = traced_fetch(s3, env, "bkt", "app.tar", "--retry-ms", "10")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "attempts=2" in p.stdout, p.stdout
        assert fetched_is(p, dest, data)
        opens = [line for line in trace.splitlines() if "bundle.tar.part" in line and "openat" in line]
        # Opened once to write; the MD5 and the SHA-256 come from the bytes as they arrived, so
        # the file is never opened again to be hashed, and never fsync'ed whole.
        assert len(opens) == 1, opens
        assert "fsync(" not in trace and "fdatasync(" not in trace, trace[-2000:]


def test_corrupt_resume_fails_md5_computed_across_the_resume():
    data = os.urandom(900000)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "app.tar", data)
        s3.cut_after(300000)
        s3.misbehave("corrupt_part", at=1000)      # a byte of the resumed body
        p, dest = fetch(s3, env, "bkt", "app.tar", "--retry-ms", "10")
        assert not fetched_is(p, dest, data)
        g = s3.gets("bkt")
        assert g[1]["headers"]["range"] == "bytes=300000-", g
        assert "downloaded content has MD5 " in p.stdout, p.stdout
        no_leftovers(dest)


def make_tar(path, files):
    import tarfile
    with tarfile.open(path, "w") as t:
        for name, content in files:
            f = path + ".src"
            with open(f, "wb") as w:
                w.write(content)
            t.add(f, arcname=name)
            os.unlink(f)
    with open(path, "rb") as f:
        return f.read()


def test_tar_extracted_while_it_downloads():
    with server() as s3, harness.Env("s3") as env:
        files = [("first.bin", os.urandom(200000)), ("appspec.yml", b"version: 0.0\nos: linux\n"),
                 ("last.bin", os.urandom(2 * 1024 * 1024))]
        data = make_tar(env.path("src.tar"), files)
        s3.create_bucket("bkt")
        s3.put_object("bkt", "app.tar", data)
        out = env.path("archive")
        seen = {}

        def on_kill():
            # The server died 1.5 MB into the body: the first entry must already be on disk,
            # extracted from the stream (waits for the extraction thread, bounded).
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not seen:
                p = os.path.join(out, "first.bin")
                if os.path.exists(p) and os.path.getsize(p) == 200000:
                    seen["first"] = True
                else:
                    time.sleep(0.02)
            threading.Thread(target=s3.restart, daemon=True).start()

        s3.kill_after(1500000, on_kill=on_kill)
        p, dest = fetch(s3, env, "bkt", "app.tar", "--retry-ms", "300", "--attempts", "8",
                        "--extract", out)
        assert p.returncode == 0, p.stdout + p.stderr
        assert seen.get("first"), "first.bin was not extracted before the download ended"
        assert "extracted entries=3" in p.stdout, p.stdout
        for name, content in files:
            with open(os.path.join(out, name), "rb") as f:
                assert f.read() == content, name


def test_tar_extracted_while_downloading_corrupt_body_fails_nothing_left():
    with server() as s3, harness.Env("s3") as env:
        files = [("a.bin", os.urandom(300000)), ("b.bin", os.urandom(300000))]
        data = make_tar(env.path("src.tar"), files)
        s3.create_bucket("bkt")
        s3.put_object("bkt", "app.tar", data)
        s3.misbehave("corrupt", at=100000)     # inside a.bin: the tar stays valid
        out = env.path("archive")
        p, dest = fetch(s3, env, "bkt", "app.tar", "--retry-ms", "10", "--extract", out)
        assert p.returncode == 1, p.stdout
        assert "downloaded content has MD5 " in p.stdout, p.stdout
        assert not os.path.exists(out), os.listdir(out)
        no_leftovers(dest)


def test_tgz_extracted_while_downloading_restarted_by_a_200():
    import gzip
    with server() as s3, harness.Env("s3") as env:
        files = [("a.bin", os.urandom(600000)), ("dir/b.txt", b"b" * 1000)]
        data = gzip.compress(make_tar(env.path("src.tar"), files))
        s3.create_bucket("bkt")
        s3.put_object("bkt", "app.tgz", data)
        s3.cut_after(300000)
        s3.misbehave("ignore_range")               # the resume is answered 200 from byte 0
        out = env.path("archive")
        p, dest = fetch(s3, env, "bkt", "app.tgz", "--retry-ms", "10", "--extract", out,
                        "--type", "tgz")
        assert p.returncode == 0, p.stdout + p.stderr
        assert fetched_is(p, dest, data)
        assert "extracted entries=2" in p.stdout or "extracted entries=3" in p.stdout, p.stdout
        with open(os.path.join(out, "a.bin"), "rb") as f:
            assert f.read() == files[0][1]


def test_parallel_parts_with_a_cut_part_resumed_alone():
    data = os.urandom(3 * 1024 * 1024 + 5)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.cut_after(100000, only_ranged=True)
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "10", *PARTS)
        assert p.returncode == 0, p.stdout + p.stderr
        assert fetched_is(p, dest, data)
        assert "parts=13" in p.stdout, p.stdout
        ranged = [g for g in s3.gets("bkt") if "range" in g["headers"]]
        cut = [g for g in ranged if "cut_at" in g]
        assert len(cut) == 1 and len(ranged) == 14, [g["headers"]["range"] for g in ranged]
        start, end = cut[0]["headers"]["range"][6:].split("-")
        resumed = [g for g in ranged if g["headers"]["range"] == "bytes=%d-%s" % (
            int(start) + 100000, end)]
        assert len(resumed) == 1 and resumed[0]["status"] == 206
        for g in ranged:
            assert g["headers"]["if-match"] == '"%s"' % hashlib.md5(data).hexdigest()


def test_parts_through_a_proxy_that_ignores_range_fall_back_to_one_stream():
    data = os.urandom(2 * 1024 * 1024 + 5)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "big.tar", data)
        s3.misbehave("ignore_range")
        p, dest = fetch(s3, env, "bkt", "big.tar", "--retry-ms", "10", *PARTS)
        assert p.returncode == 0, p.stdout + p.stderr
        assert fetched_is(p, dest, data)
        assert "parts=0" in p.stdout, p.stdout
        assert s3.gets("bkt")[-1]["status"] == 200 and "range" not in s3.gets("bkt")[-1]["headers"]


def test_multipart_etag_verified_part_by_part():
    data = os.urandom(3 * 1024 * 1024 + 100)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "mp.tar", data)
        etag = s3.set_multipart("bkt", "mp.tar", 1024 * 1024)
        p, dest = fetch(s3, env, "bkt", "mp.tar", "--retry-ms", "10", "--connections", "2")
        assert p.returncode == 0, p.stdout + p.stderr
        assert fetched_is(p, dest, data)
        assert "etag=%s " % etag in p.stdout and "parts=4" in p.stdout, p.stdout
        nums = sorted(g["query"].get("partNumber") for g in s3.gets("bkt")
                      if "partNumber" in g["query"])
        assert nums == ["1", "2", "3", "4"], nums


def test_corrupt_multipart_object_fails():
    data = os.urandom(2 * 1024 * 1024 + 100)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "mp.tar", data)
        etag = s3.set_multipart("bkt", "mp.tar", 1024 * 1024)
        s3.misbehave("corrupt_part", at=4242)
        p, dest = fetch(s3, env, "bkt", "mp.tar", "--retry-ms", "10", "--connections", "2")
        assert not fetched_is(p, dest, data)
        assert ("downloaded parts have the multipart ETag " in p.stdout
                and "but the object's is %s" % etag in p.stdout), p.stdout
        no_leftovers(dest)


def test_trickling_body_fails_on_minimum_transfer_rate():
    data = os.urandom(100000)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "slow.tar", data)
        s3.trickle(1)
        s3.trickle(1)
        p, dest = fetch(s3, env, "bkt", "slow.tar", "--retry-ms", "10", "--attempts", "2",
                        "--min-rate", "1000", "--rate-window-ms", "1500", timeout=60)
        assert p.returncode == 1, p.stdout
        assert p.stdout.startswith("error Timeout S3 GetObject s3://bkt/slow.tar: the body "
                                   "arrived at "), p.stdout
        assert "below the minimum transfer rate of 1000 bytes/s" in p.stdout, p.stdout
        no_leftovers(dest)


def test_too_slow_request_is_resumed_not_restarted():
    data = os.urandom(100000)
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "slow.tar", data)
        s3.trickle(1)
        p, dest = fetch(s3, env, "bkt", "slow.tar", "--retry-ms", "10", "--attempts", "3",
                        "--min-rate", "1000", "--rate-window-ms", "1500", timeout=60)
        assert p.returncode == 0, p.stdout
        assert fetched_is(p, dest, data)
        first, second = s3.gets("bkt")
        assert first.get("trickle") == 1
        got = int(second["headers"]["range"][6:-1])      # "bytes=<n>-"
        assert 0 < got < 100, second["headers"]["range"]


def test_s3_200_with_xml_error_body_says_what_s3_answered():
    with server() as s3, harness.Env("s3") as env:
        s3.create_bucket("bkt")
        s3.put_object("bkt", "app.tar", b"x" * 1000)
        for extra in ((), ("--extract", env.path("archive"))):
            s3.misbehave("xml_200")
            p, dest = fetch(s3, env, "bkt", "app.tar", "--retry-ms", "10", *extra)
            assert p.returncode == 1, p.stdout
            assert p.stdout.strip() == (
                "error HTTP S3 GetObject s3://bkt/app.tar: S3 answered 200 OK with an error "
                "document instead of the object: InternalError: We encountered an internal "
                "error. Please try again."), p.stdout
            no_leftovers(dest)
            assert not os.path.exists(env.path("archive"))


def test_daemon_corrupt_tar_extracted_while_downloading_fails_and_leaves_no_archive():
    """Through the agent: DownloadBundle extracts the tar as it arrives, then the body fails its
    MD5; the deployment fails with that message and no deployment-archive is left for hooks."""
    import io
    import tarfile
    from test_daemon import daemon_world
    from commands_server import in_place, s3_revision
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in (("appspec.yml", b"version: 0.0\nos: linux\n"),
                           ("big.bin", os.urandom(400000))):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    bundle = buf.getvalue()
    with daemon_world() as (fc, s3, env):
        s3.create_bucket("bucket")
        s3.put_object("bucket", "app.tar", bundle)
        s3.misbehave("corrupt", at=200000)           # inside big.bin: the tar itself stays valid
        fc.add_deployment(in_place("d-STREAMMD5", s3_revision("bucket", "app.tar", "tar"),
                                   application_stop=False))
        env.start()
        assert fc.wait_deployment("d-STREAMMD5", 60) == "Failed"
        msgs = [c["diagnostics"]["message"] for c in fc.completions("d-STREAMMD5")
                if c["status"] == "Failed"]
        assert any("downloaded content has MD5 " in m for m in msgs), msgs
        left = [os.path.join(b, d) for b, ds, _ in os.walk(env.root) for d in ds
                if d == "deployment-archive"]
        assert left == [], left
