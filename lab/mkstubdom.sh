#!/bin/bash
# Build the lab's Linux stub domain and what dom0 needs to run one
# (the "stubdom" run, lab/README.md "Stub domain"):
#   $LAB/boot/stubdom-rootfs.cpio.gz  the stub domain's root file system:
#                 busybox, xenstore-utils, the device model ($LAB_STUBDOM_DM,
#                 else $LAB_DM, with
#                 the libraries ldd lists), our vchan-socket-proxy, the
#                 pcifront/privcmd/evtchn/gntdev/gntalloc modules, the HVM
#                 guests' kernel and initramfs (libxl passes their dom0 paths
#                 to the device model), and lab/stubdom-init.sh as /init
#   $LAB/boot/dom0-stubdom.cpio.gz    dom0's initramfs plus, appended as a
#                 second cpio archive (the kernel unpacks both): Debian's
#                 kernel and that root file system where libxl 4.17 looks
#                 for them (XENFIRMWAREDIR/qemu-stubdom-linux-{kernel,rootfs})
#                 and our vchan-socket-proxy where libxl runs it
#                 (STUBDOM_QMP_PROXY_PATH in tools/config.h)
# Run after lab/mkinitrd.sh, which builds dom0's initramfs and the guests'.
# The proof (proof/mkimage.sh) gives its own: STUBDOM_BASE (dom0's
# initramfs, default $LAB/boot/dom0.cpio.gz), STUBDOM_OUT (default
# $LAB/boot/dom0-stubdom.cpio.gz) and STUBDOM_GUEST_FILES (what the guests
# boot, default the lab guests' kernel and initramfs).
set -eu
: "${LAB:?}" "${XEN:?}" "${LABSRC:?}"
LAB=$(cd "$LAB" && pwd); XEN=$(cd "$XEN" && pwd); LABSRC=$(cd "$LABSRC" && pwd)
DEB=$LAB/deb
B=$LAB/boot
S=$LAB/stubdom-root
X=$LAB/dom0-stubdom-extra
# The stub domain's device model (dom0's, which serves the stub domain's
# consoles, is LAB_DM: lab/mkinitrd.sh)
DM=${LAB_STUBDOM_DM:-${LAB_DM:-$DEB/usr/libexec/xen-qemu-system-i386}}
PROXY=$XEN/tools/vchan/vchan-socket-proxy

BASE=${STUBDOM_BASE:-$B/dom0.cpio.gz}
OUT=${STUBDOM_OUT:-$B/dom0-stubdom.cpio.gz}
GUEST_FILES=${STUBDOM_GUEST_FILES:-$LAB/dom0-root/guest/vmlinuz $LAB/dom0-root/guest/ginitrd.gz}
[ -f "$BASE" ] || { echo "lab: $BASE is missing (lab/mkinitrd.sh)" >&2; exit 1; }
[ -x "$PROXY" ] || { echo "lab: $PROXY is missing (make lab-stubdom-image builds it)" >&2; exit 1; }
kver=$(ls "$DEB/lib/modules" | head -1)
paths() { sed -n "s/^$1 *:= *//p" "$XEN/config/Paths.mk"; }
fwdir=$(paths XENFIRMWAREDIR)
proxy_path=$(sed -n 's/^#define STUBDOM_QMP_PROXY_PATH "\(.*\)"$/\1/p' "$XEN/tools/config.h")
[ -n "$fwdir" ] && [ -n "$proxy_path" ] || { echo "lab: no XENFIRMWAREDIR in $XEN/config/Paths.mk or STUBDOM_QMP_PROXY_PATH in $XEN/tools/config.h" >&2; exit 1; }
OURLIBS=$(ls -d "$XEN"/tools/libs/*/ | tr '\n' ':')

# copy_libs ROOT FILE [LD_LIBRARY_PATH]: what ldd says FILE needs, into ROOT
copy_libs() {
    local root=$1 f=$2 llp=${3:-} lib
    LD_LIBRARY_PATH=$llp ldd "$f" | awk '/not found/ { print "MISSING " $1; next }
                                       $2 == "=>" && $3 ~ /^\// { print $3 }
                                       $1 ~ /^\// { print $1 }' |
    while read -r lib rest; do
        if [ "$lib" = MISSING ]; then
            echo "lab: $f needs $rest, which is not on this host" >&2; exit 1
        fi
        case "$lib" in
        /lib64/*) cp -L "$lib" "$root/lib64/" ;;
        *)        cp -L "$lib" "$root/lib/x86_64-linux-gnu/" ;;
        esac
    done
}

# ---------------------------------------------------------- the stub domain
rm -rf "$S"; mkdir -p "$S"/{bin,usr/bin,usr/libexec,lib/x86_64-linux-gnu,lib64,proc,sys,dev,tmp,run,guest,lib/modules}
cp "$DEB/bin/busybox" "$S/bin/busybox"
for a in sh mount mkdir dmesg cat echo ls sleep insmod sort test [ true seq tr sed \
         grep head ps poweroff; do
    ln -sf busybox "$S/bin/$a"
done
for b in xenstore-read xenstore-list xenstore-write xenstore; do
    cp -P "$DEB/usr/bin/$b" "$S/usr/bin/$b"
done
copy_libs "$S" "$DEB/usr/bin/xenstore"
cp "$DM" "$S/usr/libexec/xen-qemu-system-i386"
strip "$S/usr/libexec/xen-qemu-system-i386" 2>/dev/null || true
copy_libs "$S" "$DM"
mkdir -p "$S/usr/share/qemu/keymaps"
for f in linuxboot_dma.bin linuxboot.bin kvmvapic.bin; do
    [ -e /usr/share/qemu/$f ] && cp -L /usr/share/qemu/$f "$S/usr/share/qemu/"
done
cp -L /usr/share/qemu/keymaps/en-us "$S/usr/share/qemu/keymaps/"
cp "$PROXY" "$S/usr/bin/vchan-socket-proxy"
copy_libs "$S" "$PROXY" "$OURLIBS"
for m in drivers/pci/xen-pcifront drivers/xen/xen-privcmd drivers/xen/xen-evtchn \
         drivers/xen/xen-gntdev drivers/xen/xen-gntalloc; do
    cp "$DEB/lib/modules/$kver/kernel/$m.ko" "$S/lib/modules/"
done
echo "xen-privcmd xen-evtchn xen-gntdev xen-gntalloc xen-pcifront" > "$S/lib/modules/order"
for f in $GUEST_FILES; do cp "$f" "$S/guest/"; done
cp "$LABSRC/stubdom-init.sh" "$S/init"; chmod +x "$S/init"
( echo "device model: $DM"; echo "kernel: Debian $kver"
  echo "vchan-socket-proxy: $PROXY" ) > "$S/provenance"
( cd "$S" && find . | "$DEB/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null ) |
    gzip -9 > "$B/stubdom-rootfs.cpio.gz"

# ------------------------------------------------------------ dom0's extras
rm -rf "$X"; mkdir -p "$X$fwdir" "$X${proxy_path%/*}" "$X/usr/lib/xen-ims"
cp "$B/vmlinuz" "$X$fwdir/qemu-stubdom-linux-kernel"
cp "$B/stubdom-rootfs.cpio.gz" "$X$fwdir/qemu-stubdom-linux-rootfs"
cp "$PROXY" "$X/usr/lib/xen-ims/vchan-socket-proxy"
for l in vchan store ctrl gnttab evtchn toolcore toollog call foreignmemory devicemodel; do
    cp -L "$XEN"/tools/libs/$l/libxen*.so.[0-9]* "$X/usr/lib/xen-ims/" 2>/dev/null || true
done
printf '#!/bin/sh\nLD_LIBRARY_PATH=/usr/lib/xen-ims exec /usr/lib/xen-ims/vchan-socket-proxy "$@"\n' \
    > "$X$proxy_path"
chmod +x "$X$proxy_path"
( cd "$X" && find . | "$DEB/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null ) | gzip -1 > "$LAB/dom0-stubdom-extra.cpio.gz"
cat "$BASE" "$LAB/dom0-stubdom-extra.cpio.gz" > "$OUT"
echo "lab: stub domain root file system $(du -h "$B/stubdom-rootfs.cpio.gz" | cut -f1)" \
     "($(du -sh "$S" | cut -f1) unpacked), device model $DM"
