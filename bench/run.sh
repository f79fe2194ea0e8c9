#!/bin/sh
# Run every benchmark in bench/ (not part of `make check`; timings depend on the machine).
#   sh bench/run.sh [BUILD_DIR]          (also: make bench)
# Each entry below is one script taking the build directory as its first argument; add new
# benchmarks to the list.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
status=0
for script in \
    unpack \
    daemon \
    ; do
    echo "== bench/$script"
    "$here/$script" "$build" || status=1
done
exit $status
