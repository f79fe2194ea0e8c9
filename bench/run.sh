#!/bin/sh
# Run every benchmark in bench/ (not part of `make check`; timings depend on the machine).
#   sh bench/run.sh [BUILD_DIR]          (also: make bench)
# Each entry below is one script taking the build directory as its first argument; add new
# benchmarks to the list.  A script reports each figure as a line
#   RESULT|figure|cdagent|baseline|ratio|goal|met
# measured against its baseline in the same run; this script prints them as one table at the end
# and writes it, the machine and every script's output to bench/LATEST.md (bench/RESULTS.md keeps the long proofs and profiles).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for script in \
    unpack \
    bundle \
    daemon \
    ; do
    echo "== bench/$script"
    { "$here/$script" "$build" 2>&1 || echo "bench/$script FAILED (exit $?)"; } | tee "$out/$script.log"
    if grep -q "^bench/$script FAILED" "$out/$script.log"; then
        status=1
    fi
done
# A figure no script measured in this run keeps its row, marked as such.
grep -h '^RESULT|' "$out"/*.log > "$out/results" || true
grep -qi 'per-command' "$out/results" ||
    echo 'RESULT|per-command: dispatch to completion, vs a minimal libcurl client on a kept-alive connection|-|-|-|<= 0.25 s sum / 7 events|not measured by these scripts (bench/daemon, issue 14 item 1)' >> "$out/results"
table() {
    echo '| figure | cdagent | baseline | ratio | goal | met |'
    echo '|---|---|---|---|---|---|'
    sed -e 's/|/ | /g' -e 's/^RESULT | /| /' -e 's/$/ |/' -e 's/  */ /g' "$out/results"
}
echo
echo "== summary (ratios measured in this run)"
table
{
    echo '# bench results'
    echo
    echo "Written by \`make bench\` (bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'). Ratios are"
    echo 'cdagent against a baseline measured in the same run, on the same machine and file system.'
    echo
    echo '## Machine'
    echo
    echo "- kernel: $(uname -srm)"
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) online"
    echo "- memory: $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo)"
    echo "- file system of the build directory: $(df -T "$build" | awk 'NR == 2 {print $2}')"
    echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: figures"
    echo "  vary from run to run; each ratio pits both sides against the same load, alternated)"
    echo
    echo '## Figures'
    echo
    table
    echo
    echo '## Output of each script'
    for script in unpack bundle daemon; do
        echo
        echo "### bench/$script"
        echo
        echo '```'
        cat "$out/$script.log" 2>/dev/null || true
        echo '```'
    done
} > "$here/LATEST.md"
echo
echo "written: bench/LATEST.md"
exit $status
