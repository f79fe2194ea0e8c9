"""V-044, V-045, R-162, R-163, R-195: huge, newline-free, binary and invalid UTF-8 output keeps
memory and logs bounded and the diagnostics valid."""
import glob
import json
import os

import harness
import test_hook_common as hookdriver


def test_50mb_output_memory_and_log_bounded():
    with harness.Env("hook-flood") as env:
        hookdriver.archive(env)
        rot = 4 * 1024 * 1024
        r = hookdriver.run(env, ["scripts/flood.sh:600"], extra=["--rotate-bytes", str(rot)])
        assert r["rc"] == "0", r
        # memory independent of the output volume (58 MB printed)
        assert 0 < int(r["maxrss_kb"]) < 24 * 1024, r
        files = sorted(glob.glob(env.path("logs", "scripts.log*")))
        names = [os.path.basename(f) for f in files]
        assert names == ["scripts.log"] + ["scripts.log.%d" % i for i in range(1, 8)], names
        total = sum(os.path.getsize(f) for f in files)
        assert total <= 8 * (rot + 70 * 1024), total
        with open(env.path("logs", "scripts.log"), "rb") as f:
            live = f.read()
        assert live.endswith(b" [stderr]flood-done\n"), live[-200:]
        # the newline-free 8 MB were recorded in 64 KiB chunks
        chunk = b"[stdout]" + b"y" * 65536 + b"\n"
        assert chunk in live or any(chunk in open(x, "rb").read() for x in files)


def test_binary_and_invalid_utf8_output():
    with harness.Env("hook-binary") as env:
        hookdriver.archive(env)
        r = hookdriver.run(env, ["scripts/binary.sh"])
        assert r["code"] == "4", r
        raw = hookdriver.payload(env)
        doc = json.loads(raw.decode("utf-8"))   # valid UTF-8 and valid JSON (C-210)
        assert list(doc) == ["error_code", "script_name", "message", "log"]
        assert doc["message"] == ("Script at specified location: scripts/binary.sh failed with "
                                  "exit code 7")
        assert "[stdout]bin:\u0000\u0001\u0002\ufffd\ufffd\n" in doc["log"], doc["log"]
        assert "[stderr]bad:\ufffd(\ufffd\ufffd\ufffd\n" in doc["log"], doc["log"]
        assert "[stdout]red caf\u00e9\n" in doc["log"], doc["log"]      # ANSI stripped
        assert "caf\u00e9".encode() in raw and b"\\u00e9" not in raw    # non-ASCII unescaped
        log = hookdriver.scripts_log(env)
        assert b" [stdout]bin:\x00\x01\x02\xff\xfe\n" in log
