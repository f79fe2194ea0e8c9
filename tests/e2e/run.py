#!/usr/bin/env python3
"""End-to-end test runner.

Discovers tests/e2e/test_*.py, runs every function named test_* in each (sorted by file, then
definition order) and prints one line per test and a final "N passed, M failed, K skipped".
A test passes by returning, is skipped by raising harness.Skip, and fails on any other exception.
Each test gets a fresh scratch directory (harness.Env) that it tears down itself.

    run.py [--build DIR] [--results FILE] [-k SUBSTRING ...]
"""
import argparse
import importlib.util
import inspect
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--results")
    ap.add_argument("-k", action="append", default=[])
    args = ap.parse_args()
    os.environ["CDAGENT_BUILD"] = os.path.abspath(args.build)
    os.environ["CDAGENT_SRC"] = ROOT

    import harness  # noqa: E402  (needs the path set above)

    passed = failed = skipped = 0
    failures = []
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fname[:-3], os.path.join(HERE, fname))
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
        except Exception:
            failed += 1
            failures.append(fname)
            print("FAIL %s (import)\n%s" % (fname, traceback.format_exc()), flush=True)
            continue
        funcs = [(n, f) for n, f in inspect.getmembers(mod, inspect.isfunction)
                 if n.startswith("test_") and f.__module__ == mod.__name__]
        funcs.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        for name, fn in funcs:
            full = "%s::%s" % (fname[:-3], name)
            if args.k and not any(k in full for k in args.k):
                continue
            t0 = time.monotonic()
            try:
                fn()
            except harness.Skip as e:
                skipped += 1
                print("skip %s: %s" % (full, e), flush=True)
                continue
            except Exception:
                failed += 1
                failures.append(full)
                print("FAIL %s (%.1fs)\n%s" % (full, time.monotonic() - t0,
                                               traceback.format_exc()), flush=True)
                continue
            passed += 1
            print("ok   %s (%.1fs)" % (full, time.monotonic() - t0), flush=True)
    line = "%d passed, %d failed, %d skipped" % (passed, failed, skipped)
    if failures:
        print("failed: " + ", ".join(failures))
    print(line)
    if args.results:
        with open(args.results, "w") as f:
            f.write(line + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
