#!/bin/bash
# Fetch, verify, patch, configure and build the device model with x-ims:
# Debian bookworm's QEMU + debian/patches/series + patches/qemu/series.
#
#   scripts/qemu-tree.sh deps       install the build dependencies (apt-get)
#   scripts/qemu-tree.sh fetch      download and verify the pinned source
#   scripts/qemu-tree.sh sync       unpack and apply Debian's patches (once),
#                                   then make the tree equal to
#                                   Debian's QEMU + patches/qemu/series
#   scripts/qemu-tree.sh configure  configure qemu-system-i386 for Xen (once)
#   scripts/qemu-tree.sh build      build qemu-system-i386
#   scripts/qemu-tree.sh export     write the commits on top of Debian's QEMU
#                                   in the build tree to patches/qemu/
#   scripts/qemu-tree.sh reset      drop edits made by hand in the build tree
#
# The build tree ($BUILD/qemu) is a git repository: refs/qemu/pristine is
# the .orig tarball, refs/qemu/debian that plus Debian's patches, and HEAD
# one commit per patch of patches/qemu/series on top of it.  sync moves the
# work tree with "git read-tree -m -u", which rewrites only the files whose
# content changes, so editing one patch rebuilds a few objects.
#
# To change a patch: commit (or "git commit --fixup" and rebase) in
# $BUILD/qemu, then "scripts/qemu-tree.sh export" rewrites patches/qemu/.
#
# Environment:
#   BUILD             build directory (default: ./build)
#   QEMU_SRC_DIR      take the .orig and .debian tarballs from this directory
#                     instead of Debian's archive (their sha256 must match)
#   QEMU_SRC_SHA256   accept this sha256 for the .orig tarball knowingly
#   JOBS              parallel jobs for ninja (default: nproc)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
# shellcheck source=../qemu-source.conf
. "$TOP/qemu-source.conf"
DL=$BUILD/dl-qemu
TREE=$BUILD/qemu
PATCHES=$TOP/patches/qemu
WANT_SHA=${QEMU_SRC_SHA256:-$QEMU_ORIG_SHA256}
JOBS=${JOBS:-$(nproc)}

die() { echo "qemu-tree: error: $*" >&2; exit 1; }
say() { echo "qemu-tree: $*"; }
. "$TOP/scripts/debian-lib.sh"

# What Debian's qemu-system-xen build needs, minus the optional features we
# leave out (spice, usb redirection, virtfs, jpeg), plus the tests' (cmocka,
# the stock device model and SeaBIOS for the QMP test's PC machine).
DEPS="build-essential git python3 pkg-config ninja-build meson
      libglib2.0-dev libpixman-1-dev zlib1g-dev libxen-dev libfdt-dev
      libcmocka-dev xz-utils dpkg-dev qemu-system-xen seabios"

deps() { install_missing $DEPS; }

verify() {
    local f=$1 want=$2 hint=$3 got
    got=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$got" = "$want" ] && return 0
    die "$f: sha256 $got does not match the pinned $want (qemu-source.conf).
  Refusing to build a QEMU other than Debian's $QEMU_DEB_VERSION.
  $hint"
}

fetch() {
    mkdir -p "$DL"
    local orig=$DL/$QEMU_ORIG_TARBALL deb=$DL/$QEMU_DEBIAN_TARBALL f
    if [ -n "${QEMU_SRC_DIR:-}" ]; then
        for f in "$QEMU_ORIG_TARBALL" "$QEMU_DEBIAN_TARBALL"; do
            [ -f "$QEMU_SRC_DIR/$f" ] || die "QEMU_SRC_DIR=$QEMU_SRC_DIR has no $f"
            cp -f "$QEMU_SRC_DIR/$f" "$DL/$f"
        done
    elif [ ! -f "$orig" ] || [ ! -f "$deb" ]; then
        ensure_deb_src "set QEMU_SRC_DIR"
        say "fetching qemu=$QEMU_DEB_VERSION from Debian's archive"
        (cd "$DL" && apt-get source --download-only -q "qemu=$QEMU_DEB_VERSION") ||
            die "apt-get source qemu=$QEMU_DEB_VERSION failed (apt-cache showsrc qemu lists the versions; set QEMU_SRC_DIR to build from local copies)"
        [ -f "$orig" ] || die "apt-get source did not produce $QEMU_ORIG_TARBALL"
        [ -f "$deb" ] || die "apt-get source did not produce $QEMU_DEBIAN_TARBALL"
    fi
    verify "$orig" "$WANT_SHA" \
        "If you really mean to build another source, set QEMU_SRC_SHA256=<its sha256>."
    # Debian's patches come with the version; another .orig means the user
    # chose another source knowingly, so only the pinned pair is checked.
    [ -n "${QEMU_SRC_SHA256:-}" ] || verify "$deb" "$QEMU_DEBIAN_SHA256" \
        "Remove it to fetch it again (or set QEMU_SRC_DIR to a directory with the right one)."
}

git_q() { git -C "$TREE" -c user.name=xen-pci-ims -c user.email=build@localhost "$@"; }

# Unpack the .orig tarball and apply debian/patches/series (once).
unpack() {
    local stamp=$TREE/.git/ims-debian-sha256 want="$WANT_SHA $QEMU_DEB_VERSION"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    [ ! -e "$TREE" ] || die "$TREE exists but is not from the pinned source: remove it (rm -rf $TREE)"
    say "unpacking $QEMU_ORIG_TARBALL"
    local tmp=$BUILD/.qemu-unpack
    rm -rf "$tmp"
    mkdir -p "$tmp/src"
    tar -C "$tmp/src" --strip-components=1 -xf "$DL/$QEMU_ORIG_TARBALL"
    tar -C "$tmp/src" -xf "$DL/$QEMU_DEBIAN_TARBALL"
    git -C "$tmp/src" init -q
    git -C "$tmp/src" add -A -f .
    git -C "$tmp/src" -c user.name=xen-pci-ims -c user.email=build@localhost \
        commit -q -m "pristine $QEMU_ORIG_TARBALL + debian/ of $QEMU_DEB_VERSION"
    git -C "$tmp/src" update-ref refs/qemu/pristine HEAD
    say "applying Debian's patches (debian/patches/series)"
    local p opts
    while read -r p opts; do
        case "$p" in ''|'#'*) continue ;; esac
        # shellcheck disable=SC2086 # (series options, word-split on purpose)
        (cd "$tmp/src" && patch -s -p1 --fuzz=0 --no-backup-if-mismatch ${opts:-} \
            -i "debian/patches/$p") ||
            die "Debian's patch $p does not apply"
    done < "$tmp/src/debian/patches/series"
    git -C "$tmp/src" add -A -f .
    git -C "$tmp/src" -c user.name=xen-pci-ims -c user.email=build@localhost \
        commit -q -m "Debian's QEMU $QEMU_DEB_VERSION (debian/patches/series applied)"
    git -C "$tmp/src" update-ref refs/qemu/debian HEAD
    echo "$want" > "$tmp/src/.git/ims-debian-sha256"
    mkdir -p "$(dirname "$TREE")"
    mv "$tmp/src" "$TREE"
    rm -rf "$tmp"
}

series() {
    [ -f "$PATCHES/series" ] || return 0
    local p
    while read -r p; do
        case "$p" in ''|'#'*) continue ;; esac
        [ -f "$PATCHES/$p" ] || die "patches/qemu/series lists $p, which does not exist"
        echo "$p"
    done < "$PATCHES/series"
}

# Build the commit chain debian + patches/qemu/series (without touching the
# work tree) and print its head.
chain() {
    local idx=$BUILD/.qemu-sync-index head p tree info msg
    head=$(git_q rev-parse refs/qemu/debian)
    rm -f "$idx"
    GIT_INDEX_FILE=$idx git_q read-tree "$head"
    msg=$(mktemp)
    for p in $(series); do
        GIT_INDEX_FILE=$idx git_q apply --cached --whitespace=nowarn "$PATCHES/$p" >&2 ||
            { rm -f "$idx" "$msg"; die "patch $p does not apply to Debian's QEMU plus the patches before it"; }
        tree=$(GIT_INDEX_FILE=$idx git_q write-tree)
        info=$(git_q mailinfo "$msg" /dev/null < "$PATCHES/$p")
        head=$(
            export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_AUTHOR_DATE
            GIT_AUTHOR_NAME=$(sed -n 's/^Author: //p' <<<"$info")
            GIT_AUTHOR_EMAIL=$(sed -n 's/^Email: //p' <<<"$info")
            GIT_AUTHOR_DATE=$(sed -n 's/^Date: //p' <<<"$info")
            GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL \
            GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE \
            git -C "$TREE" commit-tree "$tree" -p "$head" \
                -F <(sed -n 's/^Subject: //p' <<<"$info"; echo; cat "$msg"))
    done
    rm -f "$idx" "$msg"
    echo "$head"
}

sync_tree() {
    unpack
    local new cur
    new=$(chain)
    cur=$(git_q rev-parse HEAD)
    if [ "$(git_q rev-parse "$new^{tree}")" = "$(git_q rev-parse "$cur^{tree}")" ]; then
        git_q update-ref --no-deref HEAD "$new"
        git_q update-ref refs/qemu/applied "$new"
        return 0
    fi
    git_q read-tree -m -u "$cur" "$new" ||
        die "the build tree has local edits to files that patches/qemu changes.
  Commit them and run scripts/qemu-tree.sh export, or drop them: scripts/qemu-tree.sh reset"
    git_q update-ref --no-deref HEAD "$new"
    git_q update-ref refs/qemu/applied "$new"
    say "tree updated: $(git_q diff --name-only "$cur" "$new" | wc -l) file(s) changed"
}

reset_tree() {
    unpack
    git_q reset -q --hard refs/qemu/applied
}

# Commits on top of Debian's QEMU in the build tree -> patches/qemu/.
export_patches() {
    local n
    n=$(git_q rev-list --count refs/qemu/debian..HEAD)
    [ "$n" -gt 0 ] || die "no commits on top of refs/qemu/debian in $TREE"
    mkdir -p "$PATCHES"
    rm -f "$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch
    git_q format-patch -q --no-signature --zero-commit --no-stat -N \
        -o "$PATCHES" refs/qemu/debian..HEAD
    (cd "$PATCHES" && ls [0-9][0-9][0-9][0-9]-*.patch) > "$PATCHES/series"
    git_q update-ref refs/qemu/applied HEAD
    say "wrote $n patch(es) to patches/qemu/"
}

# Debian's qemu-system-xen configuration (debian/rules, configure-xen)
# without the optional features whose libraries we do not need: the
# device model for HVM guests with VNC, no TCG, no KVM, no tools, no docs.
# Paths as Debian's, so that the binary finds the ROMs and keymaps of
# Debian's qemu-system-data/seabios/ipxe-qemu packages when it runs as the
# device model.
CONFIGURE_FLAGS="--with-git-submodules=ignore
  --prefix=/usr --sysconfdir=/etc --localstatedir=/var
  --libexecdir=/usr/lib/qemu
  --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
  --disable-install-blobs --disable-blobs --disable-docs --disable-tools
  --without-default-features --disable-werror
  --enable-xen --enable-xen-pci-passthrough --target-list=i386-softmmu
  --disable-tcg --disable-kvm --audio-drv-list= --enable-vnc
  --enable-avx2 --enable-fdt=system"

configure() {
    local stamp=$TREE/build/build.ninja
    [ -f "$stamp" ] && return 0
    say "configuring qemu-system-i386 (Xen device model)"
    # shellcheck disable=SC2086
    (cd "$TREE" && ./configure $CONFIGURE_FLAGS >"$BUILD/qemu-configure.log" 2>&1) ||
        { tail -30 "$BUILD/qemu-configure.log" >&2; rm -f "$stamp";
          die "configure failed (see $BUILD/qemu-configure.log)"; }
}

build() {
    # shellcheck disable=SC2046
    ninja -C "$TREE/build" -j"$JOBS" $([ "${V:-}" = 1 ] || echo --quiet) \
        qemu-system-i386 ||
        die "building qemu-system-i386 failed"
}

case "${1:-}" in
deps) deps ;;
fetch) fetch ;;
sync) sync_tree ;;
configure) configure ;;
build) build ;;
export) export_patches ;;
reset) reset_tree ;;
*) echo "usage: $0 deps|fetch|sync|configure|build|export|reset" >&2; exit 2 ;;
esac
