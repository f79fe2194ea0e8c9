#!/bin/sh
# Install what cdagent needs to build, test and demo, when it is missing.
# Usage: scripts/deps.sh [build|check|demo|rpm]   (default: check)
# Debian/Ubuntu use apt-get, Amazon Linux 2023/Fedora use dnf; sudo when not root.
# Prints each package it installs; installs nothing when everything is present.
set -eu
what=${1:-check}
here=$(cd "$(dirname "$0")/.." && pwd)

SUDO=
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "deps: not root and no sudo; install the packages below by hand" >&2
    fi
fi

if command -v apt-get >/dev/null 2>&1; then
    mgr=apt
elif command -v dnf >/dev/null 2>&1; then
    mgr=dnf
else
    echo "deps: neither apt-get nor dnf found; install the build dependencies by hand (see README)" >&2
    exit 0
fi

# Package lists: "probe:package" pairs; the probe is a pkg-config module, a command, or a python module.
if [ "$mgr" = apt ]; then
    build="cmd:cc:gcc cmd:make:make cmd:pkg-config:pkg-config pc:libcurl:libcurl4-openssl-dev pc:openssl:libssl-dev
pc:libcjson:libcjson-dev pc:yaml-0.1:libyaml-dev pc:libarchive:libarchive-dev pc:libsystemd:libsystemd-dev"
    check="cmd:python3:python3 py:botocore:python3-botocore py:cryptography:python3-cryptography cmd:openssl:openssl
cmd:bsdtar:libarchive-tools cmd:zip:zip cmd:unzip:unzip cmd:node:nodejs cmd:npm:npm cmd:rpmbuild:rpm
cmd:cppcheck:cppcheck cmd:clang-tidy:clang-tidy cmd:systemd-analyze:systemd cmd:setfacl:acl cmd:curl:curl
py:rpm:python3-rpm"
else
    build="cmd:cc:gcc cmd:make:make cmd:pkg-config:pkgconf-pkg-config pc:libcurl:libcurl-devel pc:openssl:openssl-devel
pc:libcjson:cjson-devel pc:yaml-0.1:libyaml-devel pc:libarchive:libarchive-devel pc:libsystemd:systemd-devel"
    check="cmd:python3:python3 py:botocore:python3-botocore py:cryptography:python3-cryptography cmd:openssl:openssl
cmd:bsdtar:bsdtar cmd:zip:zip cmd:unzip:unzip cmd:node:nodejs cmd:npm:npm cmd:rpmbuild:rpm-build
cmd:cppcheck:cppcheck cmd:clang-tidy:clang-tools-extra cmd:systemd-analyze:systemd cmd:setfacl:acl cmd:curl:curl
py:rpm:python3-rpm"
fi

case "$what" in
    build) want="$build" ;;
    demo)  want="$build cmd:python3:python3 cmd:curl:curl cmd:zip:zip" ;;
    rpm)   if [ "$mgr" = apt ]; then want="$build cmd:rpmbuild:rpm"; else want="$build cmd:rpmbuild:rpm-build"; fi ;;
    *)     want="$build $check" ;;
esac

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
missing=
for item in $want; do
    kind=${item%%:*}; rest=${item#*:}; probe=${rest%%:*}; pkg=${rest#*:}
    case "$kind" in
        cmd) command -v "$probe" >/dev/null 2>&1 && continue ;;
        pc)  command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$probe" && continue ;;
        py)  "$PY" -c "import $probe" >/dev/null 2>&1 && continue ;;
    esac
    case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done

if [ -n "$missing" ]; then
    echo "deps: installing:$missing"
    if [ "$mgr" = apt ]; then
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        # shellcheck disable=SC2086
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        # shellcheck disable=SC2086
        $SUDO dnf install -y -q $missing
    fi
fi

# Test-only npm packages (the S3-compatible server), pinned by tests/fake/package-lock.json.
if [ "$what" = check ] && [ -f "$here/tests/fake/package.json" ] && [ ! -d "$here/tests/fake/node_modules" ]; then
    echo "deps: installing test npm packages (tests/fake/package-lock.json)"
    (cd "$here/tests/fake" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
exit 0
