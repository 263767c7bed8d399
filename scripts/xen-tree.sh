#!/bin/bash
# Fetch, verify and prepare the Xen source tree this overlay builds against.
#
#   scripts/xen-tree.sh deps       install build dependencies (apt-get)
#   scripts/xen-tree.sh fetch      download and verify the pinned .orig tarball
#   scripts/xen-tree.sh sync       unpack (once), then make the tree equal to
#                                  pristine + patches/series + this overlay
#   scripts/xen-tree.sh configure  run Xen's tools-only configure (once)
#
# The build tree is a git repository whose first commit is the pristine
# source.  sync computes the wanted tree in a scratch index and moves the
# work tree to it with "git read-tree -m -u", which rewrites only the files
# whose content changes: an edit to one overlay file rebuilds one object.
#
# Environment:
#   BUILD            build directory (default: ./build)
#   XEN_SRC_TARBALL  use this local tarball instead of Debian's archive
#   XEN_SRC_SHA256   accept this sha256 instead of the pinned one
#   XEN_VERSION      4.17 (default: xen-source.conf, patches/series), or
#                    4.19 or 4.20 (xen-source-VERSION.conf and the series it
#                    names)
#   XEN_GIT          for a version pinned to a git commit: a local xen.git
#                    to "git archive" it from (default: XEN_GIT_URL)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
XEN_VERSION=${XEN_VERSION:-4.17}
XEN_SRC_KIND=deb
XEN_LIBEXEC_LEAF=xen-4.17
XEN_SERIES=patches/series
if [ "$XEN_VERSION" = 4.17 ]; then
    CONF=$TOP/xen-source.conf
else
    CONF=$TOP/xen-source-$XEN_VERSION.conf
fi
[ -f "$CONF" ] || {
    echo "xen-tree: error: XEN_VERSION=$XEN_VERSION: no ${CONF#"$TOP"/} (supported: 4.17 4.19 4.20)" >&2
    exit 1
}
# shellcheck source=../xen-source.conf
. "$CONF"
SERIES=$TOP/$XEN_SERIES
DL=$BUILD/dl
TREE=$BUILD/xen
WANT_SHA=${XEN_SRC_SHA256:-$XEN_ORIG_SHA256}

die() { echo "xen-tree: error: $*" >&2; exit 1; }
say() { echo "xen-tree: $*"; }
. "$TOP/scripts/debian-lib.sh"

# Build dependencies of the tools-only build and of the tests.
DEPS="build-essential git python3 python3-dev pkg-config acpica-tools
      uuid-dev libyajl-dev zlib1g-dev liblzma-dev libbz2-dev libzstd-dev
      libpci-dev pciutils libcmocka-dev valgrind clang libclang-rt-14-dev patch
      qemu-system-xen xz-utils dpkg-dev systemd perl"

deps() { install_missing $DEPS; }

verify() {
    verify_sha256 "$1" "$WANT_SHA" "(xen-source.conf) If you really mean to build another source, set XEN_SRC_SHA256={got}."
}

fetch() {
    mkdir -p "$DL"
    local tarball=$DL/$XEN_ORIG_TARBALL
    if [ -n "${XEN_SRC_TARBALL:-}" ]; then
        [ -f "$XEN_SRC_TARBALL" ] || die "XEN_SRC_TARBALL=$XEN_SRC_TARBALL: no such file"
        verify "$XEN_SRC_TARBALL"
        cp -f "$XEN_SRC_TARBALL" "$tarball"
        return 0
    fi
    if [ -f "$tarball" ]; then
        verify "$tarball"
        return 0
    fi
    if [ "$XEN_SRC_KIND" = git ]; then
        git_archive "$tarball"
        return 0
    fi
    ensure_deb_src "set XEN_SRC_TARBALL"
    say "fetching xen=$XEN_DEB_VERSION from Debian's archive"
    (cd "$DL" && apt-get source --download-only -q "xen=$XEN_DEB_VERSION") ||
        die "apt-get source xen=$XEN_DEB_VERSION failed (set XEN_SRC_TARBALL to build from a local copy)"
    [ -f "$tarball" ] || die "apt-get source did not produce $XEN_ORIG_TARBALL"
    verify "$tarball"
}

# A version pinned to a commit: "git archive" it from XEN_GIT (a local
# xen.git), or from a shallow fetch of XEN_GIT_URL.
git_archive() {
    local out=$1 repo=${XEN_GIT:-} tmp=$DL/xen.git
    local prefix=${XEN_ORIG_TARBALL%.tar}/
    if [ -z "$repo" ]; then
        say "fetching $XEN_GIT_COMMIT from $XEN_GIT_URL"
        rm -rf "$tmp"
        git init -q --bare "$tmp"
        git -C "$tmp" fetch -q --depth 1 "$XEN_GIT_URL" "$XEN_GIT_COMMIT" ||
            { rm -rf "$tmp"; die "cannot fetch $XEN_GIT_COMMIT from $XEN_GIT_URL (set XEN_GIT to a local xen.git, or XEN_SRC_TARBALL)"; }
        repo=$tmp
    fi
    say "git archive $XEN_GIT_COMMIT (${XEN_ORIG_TARBALL})"
    git -C "$repo" archive --format=tar --prefix="$prefix" "$XEN_GIT_COMMIT" \
        > "$out.tmp" || die "git archive $XEN_GIT_COMMIT failed in $repo"
    mv -f "$out.tmp" "$out"
    rm -rf "$tmp"
    verify "$out"
}

git_b() { git -C "$TREE" -c user.name=xen-pci-ims -c user.email=build@localhost "$@"; }

unpack() {
    local stamp=$TREE/.git/ims-pristine-sha256
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$WANT_SHA" ]; then
        return 0
    fi
    [ ! -e "$TREE" ] || die "$TREE exists but is not from the pinned tarball: remove it (make distclean)"
    say "unpacking $XEN_ORIG_TARBALL"
    mkdir -p "$TREE"
    tar -C "$TREE" --strip-components=1 -xf "$DL/$XEN_ORIG_TARBALL"
    git_b init -q
    git_b add -A -f .
    git_b commit -q -m "pristine $XEN_ORIG_TARBALL"
    git_b update-ref refs/ims/pristine HEAD
    git_b update-ref refs/ims/applied HEAD
    echo "$WANT_SHA" > "$stamp"
}

# Files of the overlay: everything under the Xen-tree directories of this
# repository that git tracks or would track.
overlay_files() {
    if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$TOP" ls-files -co --exclude-standard -- tools docs xen
    else
        (cd "$TOP" && find tools docs xen -type f 2>/dev/null)
    fi
}

sync_tree() {
    unpack
    local idx=$BUILD/.sync-index new cur
    rm -f "$idx"
    GIT_INDEX_FILE=$idx git_b read-tree refs/ims/pristine
    apply_queue "$TREE" "$idx" "$SERIES" "${SERIES%/*}" "the pristine tree"
    local files
    files=$(overlay_files)
    if [ -n "$files" ]; then
        (cd "$TOP" && echo "$files" | while read -r f; do
             [ -f "$f" ] || continue
             m=100644; [ -x "$f" ] && m=100755
             printf '%s %s\t%s\n' "$m" "$(git_b hash-object -w --no-filters "$TOP/$f")" "$f"
         done) | GIT_INDEX_FILE=$idx git_b update-index --index-info
    fi
    new=$(GIT_INDEX_FILE=$idx git_b write-tree)
    rm -f "$idx"
    cur=$(git_b rev-parse 'refs/ims/applied^{tree}')
    if [ "$new" = "$cur" ]; then
        return 0
    fi
    # Files edited in the build tree that already hold the wanted content
    # (a patch just written with scripts/mkpatch.sh) are taken as they are.
    local f
    git_b diff --name-only | while read -r f; do
        if [ "$(git_b hash-object --no-filters -- "$f")" = \
             "$(git_b rev-parse -q --verify "$new:$f" || true)" ]; then
            git_b update-index -- "$f"
        fi
    done
    git_b read-tree -m -u "$cur" "$new" ||
        die "the build tree has local edits to files the overlay or patches change.
  Save them as a patch (see README: refreshing a patch), then run: make reset-tree"
    git_b update-ref refs/ims/applied \
        "$(git_b commit-tree "$new" -p refs/ims/pristine -m 'pristine + patches + overlay')"
    say "tree updated: $(git_b diff --name-only "$cur" "$new" | wc -l) file(s) changed"
}

reset_tree() {
    unpack
    git_b read-tree --reset -u 'refs/ims/applied^{tree}'
}

# Debian's layout (debian/rules of the same source package), so that the
# paths compiled into libxl (hvmloader, libxl-save-helper, /etc/xen) are
# those of Debian's xen-utils-4.17: --prefix=/usr, libexec leaf xen-4.17
# (xen-4.20 for 4.20: XEN_LIBEXEC_LEAF).
CONFIGURE_FLAGS="--prefix=/usr --libdir=/usr/lib/x86_64-linux-gnu
  --sysconfdir=/etc --localstatedir=/var --mandir=/usr/share/man
  --with-libexec-leaf-dir=$XEN_LIBEXEC_LEAF
  --with-system-seabios=/usr/share/seabios/bios-256k.bin
  --disable-xen --disable-docs --disable-stubdom
  --disable-ocamltools --disable-golang --disable-seabios
  --disable-qemu-traditional --disable-rombios --disable-ipxe
  --disable-monitors --disable-xsmpolicy --disable-pvshim
  --with-system-qemu=/usr/libexec/xen-qemu-system-i386"

configure() {
    local stamp=$TREE/config/Tools.mk flags=$TREE/.configure-flags
    # Configure once; again only when the flags above change.
    if [ -f "$stamp" ] && [ "$(cat "$flags" 2>/dev/null)" = "$CONFIGURE_FLAGS" ]; then
        return 0
    fi
    say "configuring (tools only)"
    # shellcheck disable=SC2086
    (cd "$TREE" && PYTHON=/usr/bin/python3 ./configure -q $CONFIGURE_FLAGS) ||
        die "configure failed (see its output above)"
    printf '%s' "$CONFIGURE_FLAGS" > "$flags"
}

case "${1:-}" in
deps) deps ;;
fetch) fetch ;;
sync) sync_tree ;;
reset) reset_tree ;;
configure) configure ;;
*) echo "usage: $0 deps|fetch|sync|reset|configure" >&2; exit 2 ;;
esac
