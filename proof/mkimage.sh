#!/bin/bash
# Boot files of the proof, built with the lab's own scripts:
#   lab/fetch.sh    Debian's packages (shared with make lab: build/lab/deb)
#   lab/mkinitrd.sh dom0's initramfs with OUR xl, LABSRC=proof (so /init is
#                   proof/dom0-init.sh), into build/proof/lab
# plus an overlay cpio appended to dom0's initramfs (Linux unpacks
# concatenated archives):
#   /usr/libexec/qemu-dm-ims       OUR device model (make qemu) + libraries
#   /guest/proof-ginitrd.gz        the HVM guest: busybox, ims-probe (static),
#                                  ims_probe_drv.ko, xenstore-read/-list
# Result: build/proof/lab/boot/{xen,vmlinuz,dom0-proof.cpio.gz}
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
XEN=${XEN:-$BUILD/xen}
P=$BUILD/proof
LAB=$P/lab
DMBIN=${PROOF_DM:-$BUILD/qemu/build/qemu-system-i386}
say() { echo "proof: $*"; }

[ -x "$DMBIN" ] || { echo "proof: our device model $DMBIN is missing (make qemu)" >&2; exit 1; }
"$DMBIN" -device xen-pci-passthrough,help 2>/dev/null | grep -q x-ims ||
    { echo "proof: $DMBIN has no x-ims property" >&2; exit 1; }

# Debian's packages: the lab's download, shared
LAB=$BUILD/lab "$TOP/lab/fetch.sh"
mkdir -p "$LAB"
ln -sfn "$BUILD/lab/deb" "$LAB/deb"
cp "$BUILD/lab/packages.txt" "$LAB/packages.txt"
DEB=$LAB/deb
kver=$(ls "$DEB/lib/modules" | head -1)

# dom0's initramfs, by the lab's script, with the proof's /init
LAB=$LAB XEN=$XEN LABSRC=$TOP/proof "$TOP/lab/mkinitrd.sh"

# ims-probe (static) and the driver module, built against Debian's headers
make -s -C "$TOP/guest/ims-probe" OUT="$P/ims-probe"
KH=$P/kh/usr/src/linux-headers-$kver
if [ ! -f "$KH/.ims-ready" ]; then
    mkdir -p "$P/dl"
    (cd "$P/dl" && apt-get download "linux-headers-$kver" "linux-headers-${kver%-amd64}-common" \
        "linux-kbuild-$(echo "$kver" | cut -d. -f1-2)" 2>&1 | grep -v unsandboxed) || true
    rm -rf "$P/kh"; mkdir -p "$P/kh"
    for f in "$P"/dl/linux-*.deb; do dpkg-deb -x "$f" "$P/kh"; done
    sed -i "s#^include /usr/src/#include $P/kh/usr/src/#" "$KH/Makefile"
    touch "$KH/.ims-ready"
fi
make -s -C "$TOP/guest/ims-probe" OUT="$P/ims-probe" KDIR="$KH" kmod >/dev/null

copy_libs() { # FILE ROOT
    ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r lib; do
        case "$lib" in /lib64/*) mkdir -p "$2/lib64"; cp -L "$lib" "$2/lib64/" ;;
                       *) mkdir -p "$2/$3"; cp -L "$lib" "$2/$3/" ;; esac
    done
}

# the guest
G=$P/guest-root
rm -rf "$G"; mkdir -p "$G"/{bin,usr/bin,lib,proc,sys,dev,tmp}
cp "$DEB/bin/busybox" "$G/bin/busybox"
for a in sh mount cat echo ls sleep grep poweroff od head tail sed awk printf test [ true \
         cut uname insmod rmmod lsmod dmesg tr; do ln -sf busybox "$G/bin/$a"; done
cp "$P/ims-probe/ims-probe" "$G/bin/ims-probe"
cp "$P/ims-probe/kmod/ims_probe_drv.ko" "$G/lib/"
cp "$DEB/usr/bin/xenstore" "$G/usr/bin/xenstore"
for a in xenstore-read xenstore-list xenstore-ls; do ln -sf xenstore "$G/usr/bin/$a"; done
copy_libs "$G/usr/bin/xenstore" "$G" lib
cp "$TOP/proof/guest-init.sh" "$G/init"; chmod +x "$G/init"

# the overlay
O=$P/overlay
rm -rf "$O"; mkdir -p "$O/guest" "$O/usr/libexec"
( cd "$G" && find . | "$DEB/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null ) | gzip -1 > "$O/guest/proof-ginitrd.gz"
cp "$DMBIN" "$O/usr/libexec/qemu-dm-ims"
copy_libs "$DMBIN" "$O" lib/x86_64-linux-gnu
# another Xen version: the device model's libxenctrl.so.4.17 is the one
# lab/mkinitrd.sh linked from the build tree (lab/README.md, "Xen 4.20")
compat=
for c in "$LAB"/compat-*/libxenctrl.so.4.17; do
    if [ -f "$c" ] && [ -f "$O/lib/x86_64-linux-gnu/libxenctrl.so.4.17" ]; then
        cp "$c" "$O/lib/x86_64-linux-gnu/"; compat=", its libxenctrl.so.4.17 $c"
    fi
done
( cd "$BUILD/qemu" && echo "proof device model: build/qemu at $(git log -1 --format=%h 2>/dev/null) sha256 $(sha256sum "$DMBIN" | cut -c1-16)$compat" ) > "$P/dm-provenance"
mkdir -p "$O/etc"; cat "$LAB/dom0-root/etc/lab-provenance" "$P/dm-provenance" > "$O/etc/lab-provenance"
( cd "$O" && find . | "$DEB/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null ) | gzip -1 > "$P/overlay.cpio.gz"
cat "$LAB/boot/dom0.cpio.gz" "$P/overlay.cpio.gz" > "$LAB/boot/dom0-proof.cpio.gz"
say "$(du -h "$LAB/boot/dom0-proof.cpio.gz" | cut -f1) dom0 initramfs with the proof overlay"

# The same with a Linux stub domain for the guest's device model (runs
# ending in -stubdom; lab/README.md, "Stub domain").
LAB=$LAB XEN=$XEN LABSRC=$TOP/lab LAB_DM=$DMBIN \
    STUBDOM_BASE="$LAB/boot/dom0-proof.cpio.gz" STUBDOM_OUT="$LAB/boot/dom0-proof-stubdom.cpio.gz" \
    STUBDOM_GUEST_FILES="$LAB/dom0-root/guest/vmlinuz $O/guest/proof-ginitrd.gz" \
    "$TOP/lab/mkstubdom.sh"
