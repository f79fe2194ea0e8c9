#!/bin/sh
# Line coverage of the code each fuzz target reaches with its corpora (committed seeds plus what
# earlier runs found), for bench/RESULTS.md.  Builds the targets once more with clang source-based
# coverage into BUILD/cov (no sanitizers), replays the corpora and prints llvm-cov's report for
# the files a target is about.   Usage: coverage.sh [BUILD [CORPUS_BUILD]]
#   CORPUS_BUILD: the build directory whose fuzz/corpus/<target> holds found inputs (default BUILD)
set -eu
build=${1:-build}; found=${2:-$build}
here=$(cd "$(dirname "$0")" && pwd)
make --no-print-directory B="$build/cov" FUZZ_SAN="-fprofile-instr-generate -fcoverage-mapping" \
    fuzz-build >/dev/null
cov=$(cd "$build/cov" && pwd); found=$(cd "$found" && pwd)
mkdir -p "$cov/prof" "$cov/tmp"
files() {
    case $1 in
        appspec) echo agent/parse/appspec*.c agent/parse/yaml.c ;;
        config) echo agent/parse/config*.c agent/parse/yaml.c ;;
        onprem) echo agent/aws/onprem.c ;;
        spec_envelope|spec_json) echo agent/parse/spec.c ;;
        commands) echo agent/aws/commandsmsg.c ;;
        unpack) echo agent/deploy/unpack.c ;;
    esac
}
for bin in "$cov"/fuzz/fuzz_*; do
    t=${bin##*/fuzz_}
    rm -f "$cov/prof/$t".*
    dirs="$here/corpus/$t"; [ -d "$found/fuzz/corpus/$t" ] && dirs="$dirs $found/fuzz/corpus/$t"
    # shellcheck disable=SC2086
    TMPDIR=$cov/tmp LLVM_PROFILE_FILE="$cov/prof/$t.%p.profraw" "$bin" -runs=0 $dirs \
        >"$cov/prof/$t.log" 2>&1 || echo "coverage: $t replay failed, see $cov/prof/$t.log" >&2
    llvm-profdata merge -sparse "$cov/prof/$t".*.profraw -o "$cov/prof/$t.profdata"
    # shellcheck disable=SC2086
    echo "== fuzz_$t ($(find $dirs -type f | wc -l) inputs): regions, functions, lines, branches"
    # shellcheck disable=SC2046
    llvm-cov report "$bin" -instr-profile="$cov/prof/$t.profdata" $(files "$t") | tail -n 1
done
