#!/bin/sh
# Install what cdagent needs to build, test, demo, benchmark, package and lint, when it is missing.
# Usage: scripts/deps.sh [build|check|demo|bench|rpm|lint]   (default: check)
#   build  compiler, make, pkg-config and the six -dev libraries (every make target needs these)
#   check  build + everything `make check` runs: /usr/bin/python3 with botocore, cryptography,
#          rpm and yaml, the command-line tools the e2e tests call, the pinned npm packages, the
#          ThreadSanitizer runtime and clang with libFuzzer (check-tsan, fuzz)
#   demo   build + python3 for `make demo`
#   bench  check (bench/daemon runs the e2e fakes) + bsdtar, /usr/bin/time, zip, unzip
#   rpm    build + rpmbuild for `make rpm` (and patch, xz for --with cjson_source; cpio and
#          objdump for scripts/rpm-al2023-check.sh);  lint   cppcheck, clang-tidy, clang-format
# check also installs systemd-container (systemd-nspawn) for the system suite (tests/system).
# Debian/Ubuntu use apt-get, Amazon Linux 2023/Fedora use dnf; sudo when not root.
# Prints each package it installs; installs nothing when everything is present.  Exits non-zero
# when something required is still missing afterwards (and says what), so `make check` stops.
# PYTHON (default /usr/bin/python3, as in the Makefile) is the interpreter the tests run with;
# the python modules are probed with it, never with whatever `python3` is first on PATH.
set -eu
what=${1:-check}
here=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-/usr/bin/python3}

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

# Package lists: "probe:package" pairs.  The probe is
#   cmd:NAME   a command on PATH          pc:MODULE  a pkg-config module
#   file:PATH  a file that must exist     py:MODULE  a module $PY can import
#   link:FLAG  cc links a program with FLAG (sanitizer runtimes)
#   fuzz:FLAG  clang links a libFuzzer target with FLAG (make fuzz, tests/fuzz)
#   rpmq:NAME  rpm -q NAME (rpmbuild's BuildRequires on RPM distributions)
# The package may list alternatives "a|b" (tried in turn).  A leading "?" marks an item only a few
# tests need (they skip without it): when it cannot be installed that is a warning, not an error.
if [ "$mgr" = apt ]; then
    build="cmd:cc:gcc cmd:make:make cmd:pkg-config:pkg-config file:/usr/include/stdio.h:libc6-dev
pc:libcurl:libcurl4-openssl-dev pc:openssl:libssl-dev pc:libcjson:libcjson-dev pc:yaml-0.1:libyaml-dev
pc:libarchive:libarchive-dev pc:libsystemd:libsystemd-dev"
    check="py:sys:python3 py:botocore:python3-botocore py:cryptography:python3-cryptography
py:rpm:python3-rpm ?py:yaml:python3-yaml cmd:openssl:openssl cmd:bsdtar:libarchive-tools cmd:zip:zip
cmd:unzip:unzip cmd:node:nodejs cmd:npm:npm cmd:rpmbuild:rpm cmd:rpmspec:rpm cmd:rpm:rpm
cmd:systemd-analyze:systemd cmd:setfacl:acl cmd:getfacl:acl cmd:curl:curl ?cmd:wget:wget
?file:/usr/sbin/logrotate:logrotate cmd:ps:procps cmd:tar:tar cmd:gzip:gzip cmd:find:findutils
cmd:ldd:libc-bin ?cmd:dash:dash file:/usr/sbin/useradd:passwd
?cmd:systemd-nspawn:systemd-container ?cmd:nsenter:util-linux cmd:cpio:cpio cmd:objdump:binutils
cmd:patch:patch cmd:xz:xz-utils cmd:strace:strace link:-fsanitize=thread:libtsan2
cmd:clang:clang fuzz:-fsanitize=fuzzer,address,undefined:libclang-rt-dev|libclang-rt-14-dev
py:prometheus_client:python3-prometheus-client"
    demo="cmd:python3:python3 cmd:tar:tar cmd:gzip:gzip cmd:curl:curl cmd:zip:zip"
    bench="cmd:python3:python3 cmd:bsdtar:libarchive-tools file:/usr/bin/time:time cmd:zip:zip
cmd:unzip:unzip"
    rpm="cmd:rpmbuild:rpm cmd:rpm:rpm cmd:tar:tar cmd:gzip:gzip cmd:patch:patch cmd:xz:xz-utils
cmd:cpio:cpio cmd:objdump:binutils"
    lint="cmd:cppcheck:cppcheck cmd:clang-tidy:clang-tidy cmd:clang-format:clang-format"
else
    build="cmd:cc:gcc cmd:make:make cmd:pkg-config:pkgconf-pkg-config file:/usr/include/stdio.h:glibc-devel
pc:libcurl:libcurl-devel pc:openssl:openssl-devel pc:libcjson:cjson-devel pc:yaml-0.1:libyaml-devel
pc:libarchive:libarchive-devel pc:libsystemd:systemd-devel"
    check="link:-fsanitize=address:libasan link:-fsanitize=undefined:libubsan
py:sys:python3 py:botocore:python3-botocore py:cryptography:python3-cryptography
py:rpm:python3-rpm ?py:yaml:python3-pyyaml cmd:openssl:openssl cmd:bsdtar:bsdtar cmd:zip:zip
cmd:unzip:unzip cmd:node:nodejs|nodejs20|nodejs22 cmd:npm:npm|nodejs-npm|nodejs20-npm|nodejs22-npm
cmd:rpmbuild:rpm-build cmd:rpmspec:rpm-build rpmq:systemd-rpm-macros:systemd-rpm-macros
cmd:systemd-analyze:systemd cmd:setfacl:acl cmd:getfacl:acl cmd:curl:curl-minimal|curl
?cmd:wget:wget ?file:/usr/sbin/logrotate:logrotate cmd:ps:procps-ng cmd:tar:tar cmd:gzip:gzip
cmd:find:findutils cmd:ldd:glibc-common ?cmd:dash:dash file:/usr/sbin/useradd:shadow-utils
cmd:strace:strace link:-fsanitize=thread:libtsan cmd:clang:clang fuzz:-fsanitize=fuzzer,address,undefined:compiler-rt
?py:prometheus_client:python3-prometheus_client"
    demo="cmd:python3:python3 cmd:tar:tar cmd:gzip:gzip cmd:curl:curl-minimal|curl cmd:zip:zip"
    bench="cmd:python3:python3 cmd:bsdtar:bsdtar file:/usr/bin/time:time cmd:zip:zip cmd:unzip:unzip"
    rpm="cmd:rpmbuild:rpm-build rpmq:systemd-rpm-macros:systemd-rpm-macros cmd:tar:tar cmd:gzip:gzip"
    lint="cmd:cppcheck:cppcheck cmd:clang-tidy:clang-tools-extra cmd:clang-format:clang-tools-extra"
fi

case "$what" in
    build) want="$build" ;;
    demo)  want="$build $demo" ;;
    bench) want="$build $check $bench" ;;
    rpm)   want="$build $rpm" ;;
    lint)  want="$build $lint" ;;
    check) want="$build $check" ;;
    *)     echo "deps: unknown mode '$what' (expected build, check, demo, bench, rpm or lint)" >&2
           exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cdagent-deps.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf 'int main(void) { return 0; }\n' > "$tmp/t.c"
printf '#include <stddef.h>\nint LLVMFuzzerTestOneInput(const char *d, size_t n);\n%s\n' \
    'int LLVMFuzzerTestOneInput(const char *d, size_t n) { return d && n ? 0 : 0; }' > "$tmp/f.c"

# present KIND PROBE: is it there?
present() {
    case "$1" in
        cmd)  command -v "$2" >/dev/null 2>&1 ;;
        file) [ -e "$2" ] ;;
        pc)   command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$2" ;;
        py)   "$PY" -c "import $2" >/dev/null 2>&1 ;;
        link) command -v cc >/dev/null 2>&1 && cc "$2" -o "$tmp/t" "$tmp/t.c" >/dev/null 2>&1 ;;
        fuzz) command -v clang >/dev/null 2>&1 && clang "$2" -o "$tmp/f" "$tmp/f.c" >/dev/null 2>&1 ;;
        rpmq) rpm -q "$2" >/dev/null 2>&1 ;;
        *)    echo "deps: unknown probe kind '$1'" >&2; return 1 ;;
    esac
}

# missing: the items not present, each once.
missing_items() {
    out=
    for item in $want; do
        body=${item#\?}; kind=${body%%:*}; rest=${body#*:}; probe=${rest%%:*}
        present "$kind" "$probe" && continue
        case " $out " in *" $item "*) ;; *) out="$out $item" ;; esac
    done
    echo "$out"
}

log=$tmp/install.log
pm_install() {
    if [ "$mgr" = apt ]; then
        # shellcheck disable=SC2086
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -o DPkg::Lock::Timeout=300 "$@" >>"$log" 2>&1
    else
        # shellcheck disable=SC2086
        $SUDO dnf install -y -q "$@" >>"$log" 2>&1
    fi
}

missing=$(missing_items)
if [ -n "$missing" ]; then
    first=
    for item in $missing; do
        pkg=${item##*:}; pkg=${pkg%%|*}
        case " $first " in *" $pkg "*) ;; *) first="$first $pkg" ;; esac
    done
    echo "deps: installing:$first"
    if [ "$mgr" = apt ]; then
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$log" 2>&1 ||
            echo "deps: apt-get update failed (continuing with the package lists there are)" >&2
    fi
    # shellcheck disable=SC2086
    if ! pm_install $first; then
        # One unknown name (e.g. cjson-devel outside a repository that has it) must not keep
        # the others out: install one at a time, trying each alternative.
        echo "deps: installing all at once failed; trying one package at a time" >&2
        for item in $(missing_items); do
            alts=${item##*:}
            for pkg in $(echo "$alts" | tr '|' ' '); do
                if pm_install "$pkg"; then
                    [ "$pkg" = "${alts%%|*}" ] || echo "deps: installed $pkg instead"
                    break
                fi
            done
        done
    fi
    status=0
    for item in $(missing_items); do
        body=${item#\?}; kind=${body%%:*}; rest=${body#*:}; probe=${rest%%:*}; pkg=${rest#*:}
        case "$kind" in
            cmd)  what_is="command '$probe'" ;;
            file) what_is="file '$probe'" ;;
            pc)   what_is="pkg-config module '$probe'" ;;
            py)   what_is="python module '$probe' for $PY"; [ "$probe" = sys ] && what_is="python '$PY'" ;;
            link|fuzz) what_is="linking with '$probe'" ;;
            *)    what_is="package '$probe'" ;;
        esac
        case "$pkg" in *"|"*) pkg="any of $(echo "$pkg" | sed 's/|/, /g')" ;; esac
        case "$item" in
            \?*) echo "deps: warning: could not install $pkg ($what_is); the tests that need it skip" >&2 ;;
            *)   echo "deps: could not install $pkg ($what_is is still missing)" >&2; status=1 ;;
        esac
    done
    if [ "$status" != 0 ]; then
        echo "deps: last lines of the package manager's output:" >&2
        tail -n 15 "$log" >&2
        case " $(missing_items) " in
            *" pc:libcjson:cjson-devel "*)
                echo "deps: cjson-devel is not in Amazon Linux 2023's core repository; see" \
                     "packaging/README.md ('Amazon Linux 2023 package names')" >&2 ;;
        esac
        exit 1
    fi
fi

# Test-only npm packages (the S3-compatible server), pinned by tests/fake/package-lock.json.
# Probed by the file tests/fake/s3.py runs, so a half-finished earlier install is redone.
if { [ "$what" = check ] || [ "$what" = bench ]; } && [ -f "$here/tests/fake/package.json" ] &&
        [ ! -f "$here/tests/fake/node_modules/s3rver/bin/s3rver.js" ]; then
    echo "deps: installing test npm packages (tests/fake/package-lock.json)"
    if ! (cd "$here/tests/fake" && npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1); then
        tail -n 15 "$log" >&2
        echo "deps: 'npm ci' in tests/fake failed (it needs the npm registry)" >&2
        exit 1
    fi
fi
exit 0
