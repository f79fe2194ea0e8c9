#!/bin/sh
# Build the binary RPM (used by `make rpm`): source tarball from scripts/dist.sh, then rpmbuild
# with its _topdir under <build>/rpm.  Prints the path of the RPM it built.
# Usage: scripts/rpm.sh VERSION [BUILD_DIR] [rpmbuild options, e.g. --with cjson_source]
# (`make rpm RPMBUILD_OPTS="--with cjson_source"` passes options through make).
# On an RPM-based host (Amazon Linux 2023, Fedora) rpmbuild checks the BuildRequires; install
# them with `sudo dnf builddep packaging/rpm/cdagent.spec`.  On other hosts (Debian, where the
# `rpm` package provides rpmbuild) the build dependencies are Debian packages that rpm cannot
# see, so the check is skipped (--nodeps) after scripts/deps.sh made sure they are installed.
set -eu
version=${1:?usage: rpm.sh VERSION [BUILD_DIR] [rpmbuild options]}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$here/build}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
mkdir -p "$build"
build=$(cd "$build" && pwd)

command -v rpmbuild >/dev/null 2>&1 ||
    sh "$here/scripts/deps.sh" rpm || echo "rpm: scripts/deps.sh could not install everything" >&2
command -v rpmbuild >/dev/null 2>&1 || {
    echo "rpm: rpmbuild not found and could not be installed" \
         "(Debian: apt-get install rpm; Amazon Linux/Fedora: dnf install rpm-build)" >&2
    exit 1
}

# A calling make's variables (e.g. B=...) must not reach the make inside rpmbuild.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
top=$build/rpm
rm -rf "$top"
mkdir -p "$top/SOURCES" "$top/SPECS" "$top/BUILD" "$top/RPMS" "$top/SRPMS" "$top/BUILDROOT"
tarball=$(sh "$here/scripts/dist.sh" "$version" "$build")
cp "$tarball" "$top/SOURCES/"
# For --with cjson_source: the cJSON release tarball in the build directory (rpmbuild does not
# download sources).  When there is none, scripts/cjson-source.sh fetches the one Debian's
# cjson source package carries (see packaging/README.md); the spec is told its version.
cjson_define=
case " $* " in
    *" cjson_source "*|*"--with=cjson_source"*)
        ls "$build"/cJSON-*.tar.gz >/dev/null 2>&1 || sh "$here/scripts/cjson-source.sh" "$build" >&2
        f=$(ls "$build"/cJSON-*.tar.gz 2>/dev/null | sort -V | tail -n 1)
        [ -n "$f" ] || { echo "rpm: no cJSON tarball in $build" >&2; exit 1; }
        cp "$f" "$top/SOURCES/"
        cjson_define=$(basename "$f" .tar.gz | sed 's/^cJSON-//') ;;
esac
cp "$here/packaging/rpm/cdagent.spec" "$top/SPECS/"

nodeps=
if ! rpm -q rpm >/dev/null 2>&1; then
    sh "$here/scripts/deps.sh" build || echo "rpm: scripts/deps.sh could not install everything" >&2
    nodeps=--nodeps
fi

# %{?dist} is empty outside RPM distributions; debuginfo packages need the distribution's
# find-debuginfo setup, which only RPM distributions configure, so elsewhere they are off.
extra=
[ -n "$nodeps" ] && extra="--define=debug_package %{nil}"
log=$top/rpmbuild.log
# shellcheck disable=SC2086
if ! rpmbuild -bb $nodeps ${extra:+"$extra"} \
        --define "_topdir $top" --define "cdagent_version $version" \
        ${cjson_define:+--define "cjson_version $cjson_define"} \
        "$@" "$top/SPECS/cdagent.spec" > "$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "rpm: rpmbuild failed; full log in $log" >&2
    exit 1
fi
rpmfile=$(find "$top/RPMS" -name "cdagent-$version-*.rpm" ! -name '*debug*' | head -n 1)
[ -n "$rpmfile" ] || { echo "rpm: rpmbuild produced no cdagent RPM (see $log)" >&2; exit 1; }
echo "$rpmfile"
