#!/bin/bash
# The proof's *outer* machine: qemu-system-x86_64 (TCG only) built from the
# same Debian bookworm QEMU source as our device model (qemu-source.conf:
# pinned version, sha256-verified .orig and .debian tarballs), Debian's
# debian/patches/series applied, then the lab-only patches in
# proof/qemu-outer/ (edu's DMA carries its requester ID, ...).
#
#   proof/qemu-outer.sh        fetch (shared with make qemu: build/dl-qemu),
#                              unpack, patch, configure, build; cached
#   proof/qemu-outer.sh path   print the binary's path
#   proof/qemu-outer.sh deps   only install the build dependencies (apt-get;
#                              the build does this first, so make proof-qemu
#                              works on a fresh machine)
#
# scripts/qemu-tree.sh builds exactly one tree ($BUILD/qemu, the Xen device
# model, fixed configure flags), so this script reuses only its "fetch"
# (download + verification) and builds a second tree, $BUILD/qemu-outer.
# A second run with the same inputs does nothing: the stamp records the
# sha256 of the tarballs, the patches, this script and the configure flags.
#
# Environment: BUILD (default ./build), JOBS (default nproc).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
# shellcheck source=../qemu-source.conf
. "$TOP/qemu-source.conf"
DL=$BUILD/dl-qemu
TREE=$BUILD/qemu-outer
BIN=$TREE/build/qemu-system-x86_64
PATCHES=$TOP/proof/qemu-outer
JOBS=${JOBS:-$(nproc)}

say() { echo "qemu-outer: $*"; }
die() { echo "qemu-outer: error: $*" >&2; exit 1; }
# shellcheck source=../scripts/debian-lib.sh
. "$TOP/scripts/debian-lib.sh"

# What this build needs (a subset of scripts/qemu-tree.sh's deps: no Xen),
# and the firmware the proof passes with -L.
DEPS="build-essential git python3 pkg-config ninja-build meson
      libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev xz-utils
      dpkg-dev qemu-system-data seabios"

# TCG only, x86_64 only, nothing optional: the outer machine needs q35,
# the emulated IOMMUs, edu, a serial port and multiboot.  Firmware from
# Debian's packages (qemu-system-data, seabios) at their Debian paths;
# the proof also passes -L for them.
CONFIGURE_FLAGS="--with-git-submodules=ignore
  --prefix=/usr --sysconfdir=/etc --localstatedir=/var
  --firmwarepath=/usr/share/qemu:/usr/share/seabios
  --target-list=x86_64-softmmu --enable-tcg --disable-kvm --disable-xen
  --without-default-features --disable-install-blobs --disable-docs
  --disable-tools --disable-werror --audio-drv-list= --enable-fdt=system"

inputs() {
    sha256sum "$DL/$QEMU_ORIG_TARBALL" "$DL/$QEMU_DEBIAN_TARBALL" \
        "$PATCHES"/*.patch "$0" | cut -d' ' -f1
    echo "$CONFIGURE_FLAGS" | sha256sum | cut -d' ' -f1
}

[ "${1:-}" = path ] && { echo "$BIN"; exit 0; }

# shellcheck disable=SC2086
install_missing $DEPS
[ "${1:-}" = deps ] && exit 0

# fetch and verify, exactly as make qemu does (same download directory)
BUILD=$BUILD "$TOP/scripts/qemu-tree.sh" fetch

stamp=$TREE/.ims-outer-stamp
want=$(inputs | sha256sum | cut -d' ' -f1)
if [ -x "$BIN" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "up to date: $BIN"
    exit 0
fi

t0=$(date +%s)
src_stamp=$TREE/.ims-outer-src
src_want=$(inputs | head -n -2 | sha256sum | cut -d' ' -f1)   # tarballs + patches
if [ ! -f "$src_stamp" ] || [ "$(cat "$src_stamp")" != "$src_want" ]; then
    say "unpacking $QEMU_ORIG_TARBALL into $TREE"
    rm -rf "$TREE" "$TREE.tmp"
    mkdir -p "$TREE.tmp"
    tar -C "$TREE.tmp" --strip-components=1 -xf "$DL/$QEMU_ORIG_TARBALL"
    tar -C "$TREE.tmp" -xf "$DL/$QEMU_DEBIAN_TARBALL"
    say "applying Debian's patches (debian/patches/series)"
    apply_quilt "$TREE.tmp" "$TREE.tmp/debian/patches/series" \
        "$TREE.tmp/debian/patches" "Debian's patch"
    for p in "$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch; do
        say "applying lab patch ${p##*/}"
        (cd "$TREE.tmp" && patch -s -p1 --fuzz=0 --no-backup-if-mismatch -i "$p") ||
            die "lab patch ${p##*/} does not apply"
    done
    echo "$src_want" > "$TREE.tmp/.ims-outer-src"
    mv "$TREE.tmp" "$TREE"
fi

if [ ! -f "$TREE/build/build.ninja" ]; then
    say "configuring (x86_64-softmmu, TCG)"
    # shellcheck disable=SC2086
    (cd "$TREE" && ./configure $CONFIGURE_FLAGS > "$BUILD/qemu-outer-configure.log" 2>&1) ||
        { tail -30 "$BUILD/qemu-outer-configure.log" >&2; rm -f "$TREE/build/build.ninja";
          die "configure failed (see $BUILD/qemu-outer-configure.log)"; }
fi
say "building qemu-system-x86_64 (-j$JOBS)"
ninja -C "$TREE/build" -j"$JOBS" --quiet qemu-system-x86_64 || die "build failed"
t1=$(date +%s)
echo "$want" > "$stamp"
echo "built $(date -u '+%F %T') in $((t1 - t0)) s with -j$JOBS on $(nproc) cores" > "$TREE/build-time.txt"
say "$BIN ($(cat "$TREE/build-time.txt"))"
