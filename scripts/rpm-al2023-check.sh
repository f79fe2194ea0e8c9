#!/bin/sh
# Check that a binary cdagent RPM installs on Amazon Linux 2023 as it is: every Requires is a
# package name, soname or soname version that AL2023's core repository provides (so no cjson:
# build with --with cjson_source), and the binary needs no glibc symbol version newer than
# AL2023's glibc 2.34 (objdump -T).  Prints what is wrong and exits 1, or prints "ok".
# Usage: scripts/rpm-al2023-check.sh RPM
set -eu
rpmfile=${1:?usage: rpm-al2023-check.sh RPM}
rpmfile=$(cd "$(dirname "$rpmfile")" && pwd)/$(basename "$rpmfile")
GLIBC_MAX=2.34       # AL2023's glibc
SYSTEMD_MAX=252      # AL2023's systemd (LIBSYSTEMD_<n> symbol versions)
bad=0
complain() { echo "al2023: $*" >&2; bad=1; }

# newer A B: is version A newer than B?
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]; }

rpm -qp --requires "$rpmfile" | sort -u > "${TMPDIR:-/tmp}/al2023-req.$$"
trap 'rm -rf "${TMPDIR:-/tmp}/al2023-req.$$" "${TMPDIR:-/tmp}/al2023-x.$$"' EXIT
while IFS= read -r req; do
    case "$req" in
        # packages of the AL2023 core repository (and rpm's own markers)
        /bin/sh|findutils|libcurl|openssl-libs|libyaml|libarchive|systemd|systemd-libs) ;;
        "config(cdagent) = "*|"rpmlib("*|"rtld(GNU_HASH)") ;;
        # sonames those packages ship, unversioned
        "libc.so.6()(64bit)"|"libcurl.so.4()(64bit)"|"libcrypto.so.3()(64bit)") ;;
        "libssl.so.3()(64bit)"|"libyaml-0.so.2()(64bit)"|"libarchive.so.13()(64bit)") ;;
        "libsystemd.so.0()(64bit)"|"libz.so.1()(64bit)"|"libm.so.6()(64bit)") ;;
        "libc.so.6(GLIBC_"*")(64bit)")
            v=${req#libc.so.6(GLIBC_}; v=${v%%)*}
            newer "$v" "$GLIBC_MAX" && complain "needs glibc $v (AL2023 has $GLIBC_MAX): $req" ;;
        "libcrypto.so.3(OPENSSL_3.0.0)(64bit)"|"libssl.so.3(OPENSSL_3.0.0)(64bit)") ;;
        "libsystemd.so.0(LIBSYSTEMD_"*")(64bit)")
            v=${req#libsystemd.so.0(LIBSYSTEMD_}; v=${v%%)*}
            newer "$v" "$SYSTEMD_MAX" && complain "needs libsystemd $v (AL2023 has $SYSTEMD_MAX): $req" ;;
        # Fedora's and AL2023's libcurl has no symbol versions (Debian's has CURL_OPENSSL_4)
        *) complain "AL2023 provides nothing for: $req" ;;
    esac
done < "${TMPDIR:-/tmp}/al2023-req.$$"

x=${TMPDIR:-/tmp}/al2023-x.$$
mkdir -p "$x"
(cd "$x" && rpm2cpio "$rpmfile" | cpio -idm --quiet)
bin=$x/opt/codedeploy-agent/bin/codedeploy-agent
[ -f "$bin" ] || complain "no /opt/codedeploy-agent/bin/codedeploy-agent in $rpmfile"
if [ -f "$bin" ]; then
    top=$(objdump -T "$bin" | sed -n 's/.*GLIBC_\([0-9][0-9.]*\).*/\1/p' | sort -uV | tail -n 1)
    [ -n "$top" ] && newer "$top" "$GLIBC_MAX" &&
        complain "the binary uses a glibc $top symbol (objdump -T); AL2023 has $GLIBC_MAX"
    objdump -p "$bin" | sed -n 's/^ *NEEDED *//p' | grep -qx 'libcjson.so.*' &&
        complain "the binary links libcjson dynamically; AL2023 has no cjson package"
fi
[ "$bad" -eq 0 ] && echo "ok"
exit "$bad"
