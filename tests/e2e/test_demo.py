"""`make demo` end to end (issue #5): examples/demo.sh deploys the sample app twice with the real
codedeploy-local, the app answers on 127.0.0.1, and nothing is left running."""
import os
import subprocess

import harness


def test_demo_deploys_twice_and_cleans_up():
    r = subprocess.run(["sh", os.path.join(harness.SRC, "examples", "demo.sh"), harness.BUILD],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    out = r.stdout
    assert out.count("AppSpec file valid. Local deployment successful") == 2, out
    assert "answered 'ok 1'" in out or ": ok 1" in out, out
    assert ": ok 2" in out, out
    # The second deployment ran the first revision's ApplicationStop script.
    demo = os.path.join(harness.BUILD, "demo")
    logs = []
    group = os.path.join(demo, "deployment-root", "demo-group")
    for d in sorted(os.listdir(group)):
        p = os.path.join(group, d, "logs", "scripts.log")
        if os.path.exists(p):
            logs.append(open(p).read())
    assert len(logs) == 2, logs
    second = [l for l in logs if "installed revision 2" in l]
    assert len(second) == 1, logs
    assert "ApplicationStop" in second[0] and "stopping revision 1" in second[0], second[0]
    assert not os.path.exists(os.path.join(demo, "app", "server.pid")), "the app was stopped"
    # No server process from the demo is left behind.
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert os.path.join(demo, "app", "server.py") not in ps, ps
    # Re-running works.
    r2 = subprocess.run(["sh", os.path.join(harness.SRC, "examples", "demo.sh"), harness.BUILD],
                        capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0, r2.stdout[-3000:] + r2.stderr[-3000:]
