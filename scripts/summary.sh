#!/bin/sh
# Add up the "N passed, M failed" lines every test suite wrote into the results folder,
# print the total as the last line and exit non-zero when anything failed or a suite is missing.
dir=${1:-build/results}
p=0; f=0; s=0
for suite in unit unit-san e2e; do
    if [ ! -s "$dir/$suite" ]; then
        echo "suite '$suite' did not report (build or runner failure)"
        f=$((f + 1)); continue
    fi
    line=$(tail -n 1 "$dir/$suite")
    echo "$suite: $line"
    n=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p')
    set -- $n
    p=$((p + ${1:-0})); f=$((f + ${2:-1}))
    k=$(echo "$line" | sed -n 's/.*, \([0-9]*\) skipped.*/\1/p')
    s=$((s + ${k:-0}))
done
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
