#!/bin/sh
# AfterInstall: check what Install put in place.
set -eu
. "$(dirname "$0")/common.sh"
test -x "$APP_DIR/server.py" || { echo "server.py missing or not executable" >&2; exit 1; }
echo "AfterInstall: installed revision $APP_VERSION into $APP_DIR"
ls -l "$APP_DIR"
