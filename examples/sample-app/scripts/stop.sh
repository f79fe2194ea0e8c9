#!/bin/sh
# ApplicationStop: stop the running server of this (previous) revision, if any.
set -eu
. "$(dirname "$0")/common.sh"
echo "ApplicationStop for $DEPLOYMENT_ID: stopping revision $APP_VERSION"
if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        echo "stopped server pid $pid"
    else
        echo "server pid $pid was not running"
    fi
    rm -f "$pidfile"
else
    echo "no server running"
fi
