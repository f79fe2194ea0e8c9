"""R-190..R-193, C-206, C-207: the payload of a real failing hook, byte for byte as the spec's
example; C-160 order/stop; C-163 no shebang; C-013/C-165/C-166 environment."""
import os

import harness
import test_hook_common as hookdriver

SPEC_EXAMPLE = (b'{"error_code":4,"script_name":"scripts/start.sh","message":"Script at specified '
                b'location: scripts/start.sh failed with exit code 1","log":"LifecycleEvent - '
                b'ApplicationStart\\nScript - scripts/start.sh\\n[stderr]boom\\n"}')


def test_failure_payload_matches_spec_example():
    with harness.Env("hook-diag") as env:
        hookdriver.archive(env)
        r = hookdriver.run(env, ["scripts/start.sh", "scripts/plain.sh"])
        assert r["exit"] == 1, r
        assert r["script"] == "scripts/start.sh", r
        assert hookdriver.payload(env) == SPEC_EXAMPLE
        log = hookdriver.scripts_log(env).decode()
        assert "Script - scripts/plain.sh" not in log   # the event stopped at the failure


def test_no_shebang_and_success_payload():
    with harness.Env("hook-plain") as env:
        hookdriver.archive(env)
        r = hookdriver.run(env, ["scripts/plain.sh"])
        assert r["rc"] == "0", r
        assert hookdriver.payload(env) == (
            b'{"error_code":0,"script_name":"","message":"Succeeded: ","log":""}')
        assert " [stdout]no-shebang 42\n" in hookdriver.scripts_log(env).decode()


def test_missing_script_payload():
    with harness.Env("hook-missing") as env:
        arch = hookdriver.archive(env)
        r = hookdriver.run(env, ["scripts/nope.sh"])
        assert r["code"] == "1", r
        want = ('{"error_code":1,"script_name":"scripts/nope.sh","message":"Script does not '
                'exist at specified location: %s/scripts/nope.sh","log":"LifecycleEvent - '
                'ApplicationStart\\nScript - scripts/nope.sh\\n"}' % arch)
        assert hookdriver.payload(env) == want.encode()


def test_environment_profile_and_no_credentials():
    with harness.Env("hook-env") as env:
        hookdriver.archive(env)
        prof = env.write("profile", "PROFILE_ONLY_VAR=from-profile\nPATH=\"$PATH:/opt/e2e/bin\"\n"
                         "echo chatty profile\n")
        e = dict(os.environ)
        e.update({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t/KEY+xyz",
                  "AWS_SESSION_TOKEN": "TOKENxyz123", "NOTIFY_SOCKET": "/run/systemd/notify",
                  })
        r = hookdriver.run(env, ["scripts/env.sh"], extra=["--profile", prof], driver_env=e)
        assert r["rc"] == "0", r
        log = hookdriver.scripts_log(env).decode()
        assert "[stdout]PROFILE_ONLY_VAR=from-profile\n" in log, log
        assert ":/opt/e2e/bin\n" in log
        for v in ("LIFECYCLE_EVENT=ApplicationStart", "DEPLOYMENT_ID=d-E2ETEST01",
                  "APPLICATION_NAME=TestApp", "DEPLOYMENT_GROUP_NAME=TestGroup",
                  "DEPLOYMENT_GROUP_ID=0000-test-group"):
            assert "[stdout]%s\n" % v in log, v
        for bad in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "s3cr3t", "AWS_SESSION_TOKEN",
                    "NOTIFY_SOCKET", "chatty profile"):
            assert bad not in log, bad
