#!/bin/sh
# The pure parsing code of the guest patches exists twice: as
# guest/linux/xen_ims_parse.h (compiled by tools/tests/ims/guest/) and as
# the file drivers/net/wireless/ath/ath1Xk/xen_ims_parse.h each series
# adds.  Check, without a kernel tree, that every copy a patch adds is
# identical to the reference.  Exit 1 on any difference or if no patch
# carries a copy.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REF=$HERE/xen_ims_parse.h
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
n=0
bad=0
for series in "$HERE"/patches/*/series; do
    dir=$(dirname "$series")
    while read -r p; do
        case "$p" in ''|'#'*) continue ;; esac
        for f in $(sed -n 's|^+++ b/\(.*/xen_ims_parse\.h\)$|\1|p' "$dir/$p"); do
            # The new file's hunk: "+"-lines after its "@@ -0,0 ... @@",
            # up to the next file or the end of the patch.
            awk -v f="$f" '
                $0 == "+++ b/" f { inf = 1; next }
                inf && /^@@ -0,0 / { body = 1; next }
                inf && body && /^\+/ { print substr($0, 2); next }
                inf && body { exit }
            ' "$dir/$p" > "$tmp"
            n=$((n + 1))
            if cmp -s "$tmp" "$REF"; then
                echo "ok: $(basename "$dir")/$p: $f"
            else
                echo "DIFFERS: $(basename "$dir")/$p: $f (diff against guest/linux/xen_ims_parse.h below)"
                diff -u "$REF" "$tmp" | head -20 || true
                bad=$((bad + 1))
            fi
        done
    done < "$series"
done
[ "$n" -gt 0 ] || { echo "no patch carries xen_ims_parse.h"; exit 1; }
[ "$bad" -eq 0 ] || { echo "$bad of $n copies differ: regenerate the patches (docs/guest-linux.md)"; exit 1; }
echo "copies of xen_ims_parse.h: $n, all identical to guest/linux/xen_ims_parse.h"
