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
# The build tree ($BUILD/qemu) is a git repository (scripts/debsrc-lib.sh):
# refs/qemu/pristine is the .orig tarball, refs/qemu/debian that plus
# Debian's patches, and HEAD one commit per patch of patches/qemu/series on
# top of it.  sync rewrites only the files whose content changes, so
# editing one patch rebuilds a few objects.
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
JOBS=${JOBS:-$(nproc)}

die() { echo "qemu-tree: error: $*" >&2; exit 1; }
say() { echo "qemu-tree: $*"; }
DS_NAME=QEMU DS_PKG=qemu DS_VAR=QEMU DS_CONF=qemu-source.conf
DS_VERSION=$QEMU_DEB_VERSION DS_REFS=refs/qemu DS_SCRIPT=scripts/qemu-tree.sh
DS_ORIG=$QEMU_ORIG_TARBALL DS_ORIG_SHA=$QEMU_ORIG_SHA256
DS_DEB=$QEMU_DEBIAN_TARBALL DS_DEB_SHA=$QEMU_DEBIAN_SHA256
DS_FORMAT_PATCH_OPTS=--no-stat
. "$TOP/scripts/debsrc-lib.sh"

# What Debian's qemu-system-xen build needs, minus the optional features we
# leave out (spice, usb redirection, virtfs, jpeg), plus the tests' (cmocka,
# the stock device model and SeaBIOS for the QMP test's PC machine).
DEPS="build-essential git python3 pkg-config ninja-build meson
      libglib2.0-dev libpixman-1-dev zlib1g-dev libxen-dev libfdt-dev
      libcmocka-dev xz-utils dpkg-dev qemu-system-xen seabios"

deps() { install_missing $DEPS; }

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
fetch) ds_fetch ;;
sync) ds_sync ;;
configure) configure ;;
build) build ;;
export) ds_export ;;
reset) ds_reset ;;
*) echo "usage: $0 deps|fetch|sync|configure|build|export|reset" >&2; exit 2 ;;
esac
