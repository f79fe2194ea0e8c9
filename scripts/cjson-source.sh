#!/bin/sh
# The cJSON source for `make rpm RPMBUILD_OPTS="--with cjson_source"` (Amazon Linux 2023, whose
# core repository has no cjson-devel): the upstream release tarball that Debian's `cjson`
# source package carries, with Debian's security patches applied, repacked as
# <build>/cJSON-<version>.tar.gz (top directory cJSON-<version>/, as the spec's %setup
# expects).  Prints the version.  Needs apt-get (Debian/Ubuntu) and reaches only Debian's own
# archive, through a private apt state under <build>/cjson-apt (the host's apt configuration
# is not touched).  On other hosts put the GitHub release tarball there by hand, see
# packaging/README.md.  Usage: scripts/cjson-source.sh [BUILD_DIR]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
mkdir -p "$build"
build=$(cd "$build" && pwd)
command -v apt-get >/dev/null 2>&1 || {
    echo "cjson-source: apt-get not found; download cJSON's release tarball into $build" \
         "by hand (packaging/README.md)" >&2
    exit 1
}
suite=
[ -r /etc/os-release ] && suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
suite=${suite:-bookworm}
apt=$build/cjson-apt
rm -rf "$apt"
mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/src"
: > "$apt/none.list"
# deb-src for Debian's own archive only.
cat > "$apt/parts/debian-src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
set -- -o "Dir::Etc::SourceList=$apt/none.list" -o "Dir::Etc::SourceParts=$apt/parts" \
       -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root
log=$apt/apt.log
if ! apt-get "$@" update > "$log" 2>&1 ||
        ! (cd "$apt/src" && apt-get "$@" source --download-only cjson >> "$log" 2>&1); then
    tail -n 15 "$log" >&2
    echo "cjson-source: could not download Debian's cjson source package" >&2
    exit 1
fi
orig=$(ls "$apt/src"/cjson_*.orig.tar.* | head -n 1)
version=$(basename "$orig" | sed 's/^cjson_\(.*\)\.orig\.tar\..*$/\1/')
work=$apt/unpack
mkdir -p "$work"
tar -xf "$orig" -C "$work"
[ -d "$work/cJSON-$version" ] || {
    echo "cjson-source: $orig has no cJSON-$version/ directory" >&2
    exit 1
}
# Debian's patches (security fixes) in the order of its series file.
deb=$(ls "$apt/src"/cjson_*.debian.tar.* 2>/dev/null | head -n 1 || true)
if [ -n "$deb" ]; then
    tar -xf "$deb" -C "$work"
    if [ -f "$work/debian/patches/series" ]; then
        grep -v '^[[:space:]]*\(#\|$\)' "$work/debian/patches/series" | while read -r p _; do
            patch -s -p1 -d "$work/cJSON-$version" < "$work/debian/patches/$p"
        done
    fi
fi
tar -czf "$build/cJSON-$version.tar.gz" -C "$work" "cJSON-$version"
rm -rf "$work"
echo "$version"
