#!/bin/sh
# Starts a daemon that keeps the hook's stdout open (R-168, issue 4 "Done when").
nohup sleep 300 &
echo $! > "$PIDFILE_DIR/background.pid"
echo "started $!"
exit 0
