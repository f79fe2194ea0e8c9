#!/bin/sh
# make demo: deploy examples/sample-app twice with codedeploy-local into a throwaway root under
# build/demo (no root rights needed, nothing written outside the checkout), prove the app answers
# on 127.0.0.1, then stop it.  Usage: examples/demo.sh [BUILD_DIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
demo="$build/demo"
local_bin="$build/codedeploy-local"
bold=""; reset=""
if [ -t 1 ]; then bold=$(printf '\033[1m'); reset=$(printf '\033[0m'); fi
say() { printf '\n%s%s%s\n' "$bold" "$*" "$reset"; }

stop_app() {
    if [ -f "$demo/app/server.pid" ]; then
        kill "$(cat "$demo/app/server.pid")" 2>/dev/null || true
        rm -f "$demo/app/server.pid"
    fi
}

# Start clean, also after an interrupted earlier run.
stop_app
rm -rf "$demo"
mkdir -p "$demo/conf"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cat > "$demo/conf/codedeployagent.yml" <<CONF
---
:log_dir: '$demo/log'
:pid_dir: '$demo/state/.pid'
:root_dir: '$demo/deployment-root'
:program_name: codedeploy-agent
:verbose: false
:wait_between_runs: 1
:max_revisions: 5
:on_premises_config_file: '$demo/conf/codedeploy.onpremises.yml'
CONF

# Two revisions of the sample app, installed into $demo/app instead of /opt/sample-app.
make_revision() {
    rev="$demo/revisions/rev$1"
    mkdir -p "$rev"
    cp -R "$top/examples/sample-app/." "$rev/"
    sed -i "s#/opt/sample-app#$demo/app#g" "$rev/appspec.yml"
    cat > "$rev/deploy.env" <<ENV
APP_DIR=$demo/app
APP_PORT=$port
APP_VERSION=$1
ENV
}
make_revision 1
make_revision 2
tar -czf "$demo/revisions/rev2.tgz" -C "$demo/revisions/rev2" .

# Scripts may use the ready-made helpers shipped in hooks/.
PATH="$top/hooks:$PATH"
export PATH

say "1/3  Deploying revision 1 (a directory bundle) with codedeploy-local"
"$local_bin" --bundle-location "$demo/revisions/rev1" --type directory \
    --deployment-group demo-group --deployment-group-name DemoFleet --application-name SampleApp \
    --agent-configuration-file "$demo/conf/codedeployagent.yml"
body=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())" "http://127.0.0.1:$port/health")
echo "The app answers on http://127.0.0.1:$port/health: $body"
[ "$body" = "ok 1" ]

say "2/3  Deploying revision 2 (a .tgz bundle): ApplicationStop runs revision 1's script, Install cleans up revision 1"
"$local_bin" --bundle-location "$demo/revisions/rev2.tgz" --type tgz \
    --deployment-group demo-group --deployment-group-name DemoFleet --application-name SampleApp \
    --agent-configuration-file "$demo/conf/codedeployagent.yml"
body=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())" "http://127.0.0.1:$port/health")
echo "The app answers on http://127.0.0.1:$port/health: $body"
[ "$body" = "ok 2" ]

say "3/3  Stopping the app"
stop_app
echo "Stopped."

root="$demo/deployment-root"
say "What the deployments left on disk"
echo "  deployment root:        $root"
echo "  revisions:              $(ls "$root/demo-group" | tr '\n' ' ')"
echo "  last successful:        $(cat "$root/deployment-instructions/demo-group_last_successful_install")"
echo "  files installed:        $(wc -l < "$root/deployment-instructions/demo-group-cleanup") (listed in deployment-instructions/demo-group-cleanup)"
echo "  hook output:            $root/demo-group/<deployment id>/logs/scripts.log"
echo "  agent log:              $demo/log/codedeploy-local.log"
