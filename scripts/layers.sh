#!/bin/sh
# The layer rule (docs/ARCHITECTURE.md): a file under agent/<layer>/ includes headers of its own
# layer or of a lower one, never a higher one.  Arguments: the layers, lowest first.
# Prints every upward include and exits 1 when there is one.
cd "$(dirname "$0")/.." || exit 2
rank=0
ranks=""
for l in "$@"; do ranks="$ranks $l=$rank"; rank=$((rank + 1)); done
rank_of() {
    for p in $ranks; do [ "${p%%=*}" = "$1" ] && { echo "${p#*=}"; return; }; done
    echo -1
}
bad=0
for l in "$@"; do
    mine=$(rank_of "$l")
    for f in agent/"$l"/*.[ch]; do
        [ -e "$f" ] || continue
        for inc in $(sed -n 's/^#include "\([a-z]*\)\/[^"]*".*/\1/p' "$f" | sort -u); do
            theirs=$(rank_of "$inc")
            if [ "$theirs" -lt 0 ]; then
                echo "layers: $f includes from unknown folder '$inc/'" >&2; bad=1
            elif [ "$theirs" -gt "$mine" ]; then
                echo "layers: $f ($l) includes $inc/, a higher layer" >&2; bad=1
            fi
        done
        if grep -q '^#include "[^/"]*"' "$f"; then
            echo "layers: $f includes a project header without its folder" >&2; bad=1
        fi
    done
done
[ "$bad" -eq 0 ] && echo "layers: every include goes to the same or a lower layer ($*)"
exit "$bad"
