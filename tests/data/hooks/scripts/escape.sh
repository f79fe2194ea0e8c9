#!/bin/sh
# Leaves its process group twice and then hangs: everything must die at the timeout.
d=$PIDFILE_DIR
setsid sleep 300 </dev/null >/dev/null 2>&1 &
echo $! > "$d/escape-a.pid"
(setsid sh -c 'trap "" TERM; sleep 301 & echo $! > "$0"; wait' "$d/escape-b.pid" </dev/null >/dev/null 2>&1 &)
trap '' TERM
sleep 30
