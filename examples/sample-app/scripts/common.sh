# Shared by the hook scripts: read deploy.env from the revision this script belongs to.
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/deploy.env"
pidfile="$APP_DIR/server.pid"
