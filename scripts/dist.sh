#!/bin/sh
# Make the source tarball <build>/cdagent-<version>.tar.gz from the git tree (used by `make dist`
# and `make rpm`).  It holds every file git tracks plus untracked files that are not ignored,
# as they are in the working tree, under the directory cdagent-<version>/.  Owner, group, order
# and times are fixed (times are the last commit's), so the same tree gives the same tarball.
# Outside a git checkout (an unpacked tarball) it packs the directory minus build/.
# Needs GNU tar and gzip.  Usage: scripts/dist.sh VERSION [BUILD_DIR]; prints the tarball path.
set -eu
version=${1:?usage: dist.sh VERSION [BUILD_DIR]}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$here/build}
mkdir -p "$build"
build=$(cd "$build" && pwd)
name=cdagent-$version
out=$build/$name.tar.gz
list=$build/.dist-files

cd "$here"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked and untracked-but-not-ignored files; ones deleted from the working tree are
    # left out.
    git ls-files -z --cached --others --exclude-standard | tr '\0' '\n' |
        while IFS= read -r f; do
            if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "$f"; fi
        done > "$list.all"
    mtime=$(git log -1 --format=%ct 2>/dev/null || date +%s)
else
    find . -path ./build -prune -o -path ./.git -prune -o \( -type f -o -type l \) -print |
        sed 's|^\./||' > "$list.all"
    mtime=$(date +%s)
fi
# Never pack the build directory itself (when it is inside the tree).
case "$build/" in
    "$here"/*) rel=${build#"$here"/}; grep -v "^$rel/" "$list.all" > "$list.sel" || true ;;
    *) cp "$list.all" "$list.sel" ;;
esac
LC_ALL=C sort -u "$list.sel" > "$list"
rm -f "$list.all" "$list.sel"
[ -s "$list" ] || { echo "dist: no files to pack in $here" >&2; exit 1; }

# Member names get the cdagent-<version>/ prefix; symlink targets are left alone (flags rSH).
tar -c --no-recursion --files-from="$list" --transform="s|^|$name/|rSH" \
    --owner=0 --group=0 --numeric-owner --mtime="@$mtime" --sort=name --format=gnu -f - |
    gzip -n -9 > "$out.tmp"
mv "$out.tmp" "$out"
rm -f "$list"
echo "$out"
