#!/bin/sh
# BeforeInstall: make sure the install directory exists.
set -eu
. "$(dirname "$0")/common.sh"
echo "BeforeInstall: preparing $APP_DIR for $APPLICATION_NAME ($DEPLOYMENT_GROUP_NAME)"
mkdir -p "$APP_DIR"
