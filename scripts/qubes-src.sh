#!/bin/bash
# Fetch, verify and patch the qubes-core-admin files of
# ecosystem/qubes/source.conf for the render test (make check-qubes).
#
#   scripts/qubes-src.sh prepare R43|R42
#       $BUILD/qubes/<rel>/stock    the pinned files as released
#       $BUILD/qubes/<rel>/patched  the same with the release's patches of
#                                   ecosystem/qubes/patches/ (patch -F0)
#
# Each file comes from $BUILD/qubes/dl/<commit>/ when a verified copy is
# there, else from QUBES_CORE_ADMIN_GIT (a clone of qubes-core-admin, bare
# or not, that has the pinned commit), else from GitHub's raw file service
# at the pinned commit; its sha256 must match source.conf.  When none of
# these works the script fails, saying what to set: the test is never
# skipped.  No Qubes source is ever written into this repository.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
# shellcheck source=../ecosystem/qubes/source.conf
. "$TOP/ecosystem/qubes/source.conf"
OUT=$BUILD/qubes
PATCHES=$TOP/ecosystem/qubes/patches

die() { echo "qubes-src: error: $*" >&2; exit 1; }
say() { echo "qubes-src: $*"; }

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# get COMMIT PATH SHA256 -> prints the verified copy's path
get() {
    local commit=$1 path=$2 sha=$3
    local dst=$OUT/dl/$commit/$path tmp
    sha_ok "$dst" "$sha" && { echo "$dst"; return 0; }
    mkdir -p "$(dirname "$dst")"
    tmp=$dst.tmp
    rm -f "$tmp"
    local tried=()
    if [ -n "${QUBES_CORE_ADMIN_GIT:-}" ]; then
        tried+=("git $QUBES_CORE_ADMIN_GIT")
        if git -C "$QUBES_CORE_ADMIN_GIT" show "$commit:$path" > "$tmp" 2>/dev/null &&
           sha_ok "$tmp" "$sha"; then
            mv "$tmp" "$dst"; echo "$dst"; return 0
        fi
    fi
    local url=$QUBES_CORE_ADMIN_RAW/$commit/$path
    tried+=("$url")
    if curl -fsSL --connect-timeout 10 --max-time 60 -o "$tmp" "$url" 2>/dev/null &&
       sha_ok "$tmp" "$sha"; then
        mv "$tmp" "$dst"; echo "$dst"; return 0
    fi
    rm -f "$tmp"
    die "cannot get $path at qubes-core-admin $commit with sha256 $sha
  tried: ${tried[*]}
  set QUBES_CORE_ADMIN_GIT to a clone of $QUBES_CORE_ADMIN_URL
  that has that commit (git clone $QUBES_CORE_ADMIN_URL), or put a verified
  copy at $dst"
}

prepare() {
    local rel=$1 tag commit files patches
    case $rel in
    R43) tag=$QUBES_R43_TAG commit=$QUBES_R43_COMMIT
         files=$QUBES_R43_FILES patches=$QUBES_R43_PATCHES ;;
    R42) tag=$QUBES_R42_TAG commit=$QUBES_R42_COMMIT
         files=$QUBES_R42_FILES patches=$QUBES_R42_PATCHES ;;
    *) die "unknown release $rel (R43 or R42)" ;;
    esac
    local dir=$OUT/$rel entry path sha src p
    rm -rf "$dir"
    mkdir -p "$dir/stock" "$dir/patched"
    for entry in $files; do
        path=${entry%%=*} sha=${entry#*=}
        src=$(get "$commit" "$path" "$sha")
        mkdir -p "$dir/stock/$(dirname "$path")" "$dir/patched/$(dirname "$path")"
        cp "$src" "$dir/stock/$path"
        cp "$src" "$dir/patched/$path"
    done
    for p in $patches; do
        patch -d "$dir/patched" -p1 -F0 -s --no-backup-if-mismatch \
            < "$PATCHES/$p" ||
            die "$p does not apply to qubes-core-admin $tag ($commit)"
    done
    echo "$tag $commit" > "$dir/pinned"
    say "$rel: qubes-core-admin $tag ($commit), $(echo "$patches" | wc -w) patch(es) applied"
}

case ${1:-} in
prepare) prepare "${2:?release}" ;;
*) die "usage: $0 prepare R43|R42" ;;
esac
