#!/bin/sh
# ApplicationStart: start the server in the background, as real deployments do.
set -eu
. "$(dirname "$0")/common.sh"
cd "$APP_DIR"
nohup python3 "$APP_DIR/server.py" >"$APP_DIR/server.log" 2>&1 &
echo "ApplicationStart: started server (pid $!) on 127.0.0.1:$APP_PORT"
