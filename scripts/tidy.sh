#!/bin/sh
# clang-tidy over the given sources, $JOBS at a time, checks from .clang-tidy, any finding fails.
# One file per clang-tidy run: given several, clang-tidy 14 reports false valist.Uninitialized
# findings in all but the first (LLVM bug 41311).  Every file is checked even after a failure,
# so one run lists all findings.  Compiler flags follow "--".
#   JOBS=2 sh scripts/tidy.sh file.c ... -- -Iagent ...
jobs=${JOBS:-2}
files=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do files="$files $1"; shift; done
[ "${1:-}" = "--" ] && shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export out
printf '%s\n' $files | xargs -P "$jobs" -I{} sh -c '
    log="$out/$(echo "{}" | tr / _)"
    if ! clang-tidy --quiet --warnings-as-errors="*" "{}" -- "$@" >"$log" 2>&1; then
        grep -v "warnings generated" "$log"; echo "{}" >> "$out/failed"
    fi' sh "$@"
if [ -s "$out/failed" ]; then
    echo "lint: clang-tidy findings in: $(tr '\n' ' ' < "$out/failed")" >&2
    exit 1
fi
echo "lint: clang-tidy clean on $(printf '%s\n' $files | wc -l) files"
