#!/bin/bash
# Write (or refresh) one patch of the series from edits made in the build tree.
#
#   scripts/mkpatch.sh NAME.patch MESSAGE-FILE PATH...
#
# NAME.patch is the file under patches/; MESSAGE-FILE holds the commit
# message (first line: subject, e.g. "libxl: ...", then a blank line and the
# body).  PATHs are the files in the build tree the patch changes.  The diff
# is taken against pristine + every patch listed *before* NAME in
# patches/series, so a patch in the middle of the series can be refreshed.
# A new NAME is appended to patches/series.
#
# With XEN_VERSION=4.20 (or 4.19), the series is that version's
# (patches/xen-4.20/series) and NAME is written there; a patch the series
# took from patches/ (../NAME) becomes the version's own.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
TREE=$BUILD/xen
XEN_SERIES=patches/series
if [ "${XEN_VERSION:-4.17}" != 4.17 ]; then
    # shellcheck source=../xen-source-4.20.conf
    . "$TOP/xen-source-$XEN_VERSION.conf"
fi
SERIES=$TOP/$XEN_SERIES
PDIR=${SERIES%/*}

[ $# -ge 3 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
name=$1; msg=$2; shift 2
[ -f "$msg" ] || { echo "mkpatch: $msg: no such file" >&2; exit 2; }
touch "$SERIES"

die() { echo "mkpatch: error: $*" >&2; exit 1; }
say() { echo "mkpatch: $*"; }
# shellcheck source=lib.sh
. "$TOP/scripts/lib.sh"

git_b() { git -C "$TREE" "$@"; }
idx=$BUILD/.mkpatch-index
before_series=$BUILD/.mkpatch-series
rm -f "$idx"
GIT_INDEX_FILE=$idx git_b read-tree refs/ims/pristine
# the patches before NAME (a series may name one as ../NAME)
awk -v n="$name" '{ b = $1; sub(/.*\//, "", b) } b == n { exit } { print }' "$SERIES" > "$before_series"
apply_queue "$TREE" "$idx" "$before_series" "$PDIR" "the pristine tree"
before=$(GIT_INDEX_FILE=$idx git_b write-tree)
rm -f "$idx" "$before_series"

diff=$(git_b diff --no-color --no-ext-diff "$before" -- "$@")
[ -n "$diff" ] || { echo "mkpatch: no changes in $*" >&2; exit 1; }
stat=$(git_b diff --stat=72 "$before" -- "$@")

{
    echo "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001"
    echo "From: xen-pci-ims developers <xen-pci-ims@localhost>"
    echo "Subject: [PATCH] $(head -n1 "$msg")"
    echo
    tail -n +3 "$msg"
    echo "---"
    echo "$stat"
    echo
    echo "$diff"
    echo "-- "
    echo "2.39.5"
} > "$PDIR/$name"

if grep -q "^[^#].*/$name\$" "$SERIES"; then
    sed -i "s|^[^#].*/$name\$|$name|" "$SERIES"
fi
grep -qx "$name" "$SERIES" || echo "$name" >> "$SERIES"
echo "mkpatch: wrote ${PDIR#"$TOP"/}/$name"
