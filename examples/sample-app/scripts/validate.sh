#!/bin/sh
# ValidateService: wait until the server answers with this revision's version.
set -eu
. "$(dirname "$0")/common.sh"
url="http://127.0.0.1:$APP_PORT/health"
# The helper ships with cdagent in /opt/codedeploy-agent/hooks (make demo puts hooks/ on PATH).
helper=$(command -v wait-for-http 2>/dev/null || true)
[ -n "$helper" ] || { [ -x /opt/codedeploy-agent/hooks/wait-for-http ] && helper=/opt/codedeploy-agent/hooks/wait-for-http; } || true
if [ -n "$helper" ]; then
    "$helper" "$url" --timeout 20 --expect 200
else
    i=0
    until python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "no answer from $url" >&2; exit 1; }; sleep 0.2
    done
fi
body=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode().strip())" "$url")
echo "ValidateService: $url answered '$body'"
[ "$body" = "ok $APP_VERSION" ] || { echo "expected 'ok $APP_VERSION'" >&2; exit 1; }
