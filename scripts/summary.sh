#!/bin/sh
# Add up the "N passed, M failed[, K skipped]" lines the test suites wrote into the results
# folder (one file per suite), print one line per suite and the total as the last line, and exit
# non-zero when anything failed or a required suite is missing.
#   summary.sh DIR [REQUIRED_SUITE...]     (default required: unit unit-san e2e)
# Every other file in DIR is counted too.  A suite that skipped as a whole writes a line
# "SKIP: <reason>" before its count line; that reason is printed so the skip is visible.
dir=${1:-build/results}
[ $# -gt 0 ] && shift
required=${*:-unit unit-san e2e}
others=$(ls "$dir" 2>/dev/null | sort)
p=0; f=0; s=0; seen=" "
for suite in $required $others; do
    case "$seen" in *" $suite "*) continue ;; esac
    seen="$seen$suite "
    if [ ! -s "$dir/$suite" ]; then
        echo "suite '$suite' did not report (build or runner failure)"
        f=$((f + 1)); continue
    fi
    line=$(tail -n 1 "$dir/$suite")
    n=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p')
    if [ -z "$n" ]; then
        echo "suite '$suite' wrote no count line: $line"
        f=$((f + 1)); continue
    fi
    reason=$(sed -n 's/^SKIP: //p' "$dir/$suite" | head -n 1)
    echo "$suite: $line${reason:+ (suite skipped: $reason)}"
    set -- $n
    p=$((p + $1)); f=$((f + $2))
    k=$(echo "$line" | sed -n 's/.*, \([0-9]*\) skipped.*/\1/p')
    s=$((s + ${k:-0}))
done
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
