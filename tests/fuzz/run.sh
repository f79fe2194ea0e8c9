#!/bin/sh
# Run every libFuzzer target for SECONDS each (0: only replay the committed corpus) and write
# "N passed, M failed" to RESULTS.  Usage: run.sh BUILD SECONDS RESULTS TARGET...
# Each target starts from its committed seeds (tests/fuzz/corpus/<name>, read-only) plus the
# inputs earlier runs found (BUILD/fuzz/corpus/<name>, where new ones are written).  A crash, a
# leak, a sanitizer report or a timeout (25 s for one input) fails the target; the input is kept
# as BUILD/fuzz/artifacts/<name>-crash-* and the log as BUILD/fuzz/logs/<name>.log.
set -u
build=$1; seconds=$2; results=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/fuzz/logs" "$build/fuzz/artifacts"
build=$(cd "$build" && pwd)  # absolute: fuzz_unpack runs from a directory of its own
pass=0; fail=0
for bin in "$@"; do
    case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
    name=$(basename "$bin"); short=${name#fuzz_}
    seeds=$here/corpus/$short; work=$build/fuzz/corpus/$short; log=$build/fuzz/logs/$name.log
    mkdir -p "$work"
    d=$short; case $short in spec_json|commands) d=json ;; esac
    dict=; [ -f "$here/$d.dict" ] && dict="-dict=$here/$d.dict"
    if [ "$seconds" -gt 0 ]; then budget="-max_total_time=$seconds"; else budget="-runs=0"; fi
    tmp=$build/fuzz/tmp; rm -rf "$tmp"; mkdir -p "$tmp"  # fuzz_unpack's bait, left by a crash
    # shellcheck disable=SC2086
    TMPDIR=$tmp ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        "$bin" $budget $dict -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz/artifacts/$name-" "$work" "$seeds" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1)); echo "fuzz $name: ok, ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}"
    else
        fail=$((fail + 1)); echo "fuzz $name: FAILED (exit $rc), see $log:"
        # What the target itself said just before dying, the sanitizer's verdict, and the
        # stack frames in the project's code (libFuzzer's own frames come first and say little).
        awk '/ERROR: libFuzzer|ERROR: [A-Za-z]*Sanitizer|runtime error/ { print prev; print; exit }
             { prev = $0 }' "$log" | sed 's/^/    /'
        grep -E '^ *#[0-9]+ .* in [a-z_]+ .*(agent|tests)/' "$log" | head -n 8 | sed 's/^/    /'
        for a in "$build/fuzz/artifacts/$name-"*; do
            [ -f "$a" ] || continue
            echo "    input: $a ($(wc -c <"$a") bytes), base64:"
            head -c 1536 "$a" | base64 -w 96 | sed 's/^/      /'
        done
    fi
done
echo "$pass passed, $fail failed" | tee "$results"
[ "$fail" -eq 0 ]
