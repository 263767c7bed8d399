#!/bin/bash
# The hypervisor, xen.gz, from the build tree (mk/xen-hv.mk):
#
#   scripts/xen-hv.sh deps    install what Kconfig needs (bison, flex)
#   scripts/xen-hv.sh build   configure as Debian does (debian/xen-kconfig of
#                             the pinned source package, olddefconfig) and
#                             build out of tree in $BUILD/xen-hv/obj; copy
#                             xen.gz and its .config to $BUILD/xen-hv
#
# Environment: BUILD, XEN_VERSION (4.17: xen-source.conf; else
# xen-source-$XEN_VERSION.conf), XMAKE (the make command, default
# make -s -j$(nproc)).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
XEN=$BUILD/xen
HV=$BUILD/xen-hv
OBJ=$HV/obj
KCONF=$HV/xen-kconfig
XMAKE=${XMAKE:-make -s -j$(nproc)}
# Debian's make_args_xen without its -ffile-prefix-map: out of tree, the
# mapped __FILE__ that arch/x86/usercopy.c includes would not resolve.
ARGS="XEN_TARGET_ARCH=x86_64 O=$OBJ"

die() { echo "xen-hypervisor: error: $*" >&2; exit 1; }
say() { echo "xen-hypervisor: $*"; }
# shellcheck source=debian-lib.sh
. "$TOP/scripts/debian-lib.sh"

# bison and flex are needed by Kconfig; the tools build does not need them.
deps() { install_missing bison flex python3 build-essential xz-utils; }

# Debian's kconfig, from the debian.tar.xz that "apt-get source" fetched with
# the .orig tarball; its sha256 is checked against the .dsc, whose own
# checksum apt verified against the signed archive.  A version pinned to an
# upstream commit (no Debian source package) gives it in XEN_KCONFIG of its
# xen-source-*.conf instead.
debian_kconfig() {
    local dsc tar want
    dsc=$BUILD/dl/xen_${XEN_DEB_VERSION}.dsc
    [ -f "$dsc" ] || die "no $dsc (run: make fetch)"
    tar=$(sed -n 's/^ [0-9a-f]\{64\} [0-9]* \(xen_.*\.debian\.tar\.xz\)$/\1/p' "$dsc" | head -n1)
    [ -n "$tar" ] && [ -f "$BUILD/dl/$tar" ] ||
        die "no debian.tar.xz listed in $dsc (run: make fetch)"
    want=$(sed -n "/^Checksums-Sha256:/,/^[^ ]/s/^ \([0-9a-f]\{64\}\) [0-9]* $tar\$/\1/p" "$dsc")
    verify_sha256 "$BUILD/dl/$tar" "$want" "(the checksum $dsc gives)"
    tar -xJOf "$BUILD/dl/$tar" debian/xen-kconfig
}

build() {
    local conf=$TOP/xen-source.conf XEN_KCONFIG=
    [ "${XEN_VERSION:-4.17}" = 4.17 ] || conf=$TOP/xen-source-$XEN_VERSION.conf
    [ -f "$conf" ] || die "no $conf (XEN_VERSION=$XEN_VERSION)"
    # shellcheck source=../xen-source.conf
    . "$conf"
    mkdir -p "$OBJ"
    if [ -n "$XEN_KCONFIG" ]; then
        printf '%s\n' "$XEN_KCONFIG" > "$KCONF.new"
    else
        debian_kconfig > "$KCONF.new"
    fi
    if ! cmp -s "$KCONF.new" "$KCONF" || [ ! -f "$OBJ/.config" ]; then
        say "configuring (debian/xen-kconfig, olddefconfig)"
        cp "$KCONF.new" "$OBJ/.config"
        # shellcheck disable=SC2086
        $XMAKE -C "$XEN/xen" $ARGS olddefconfig
    fi
    mv -f "$KCONF.new" "$KCONF"
    say "building xen.gz in $OBJ"
    # shellcheck disable=SC2086
    $XMAKE -C "$XEN/xen" $ARGS
    cp -f "$OBJ/xen.gz" "$HV/xen.gz"
    cp -f "$OBJ/.config" "$HV/config"
    say "$HV/xen.gz"
}

case "${1:-}" in
deps) deps ;;
build) build ;;
*) echo "usage: $0 deps|build" >&2; exit 2 ;;
esac
