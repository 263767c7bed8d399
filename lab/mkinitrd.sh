#!/bin/bash
# Build the lab's boot files from the unpacked Debian packages ($LAB/deb,
# lab/fetch.sh) and our build ($XEN):
#   $LAB/boot/xen          Debian's hypervisor, uncompressed (QEMU multiboot)
#   $LAB/boot/vmlinuz      Debian's kernel (dom0 and the HVM/PV guests)
#   $LAB/boot/dom0.cpio.gz dom0's initramfs: busybox, our xl and libraries,
#                          Debian's xenstored/xen-init-dom0/xenconsoled,
#                          xenstore-utils, hvmloader, SeaBIOS, the device
#                          model with its libraries, the xen-* modules, the
#                          scenario (lab/dom0-init.sh) and the guests' files.
set -eu
: "${LAB:?}" "${XEN:?}" "${LABSRC:?}"
LAB=$(cd "$LAB" && pwd); XEN=$(cd "$XEN" && pwd); LABSRC=$(cd "$LABSRC" && pwd)
DEB=$LAB/deb
R=$LAB/dom0-root
B=$LAB/boot
DM=${LAB_DM:-$DEB/usr/libexec/xen-qemu-system-i386}

[ -x "$XEN/tools/xl/xl" ] || { echo "lab: $XEN/tools/xl/xl is missing (make build)" >&2; exit 1; }
kver=$(ls "$DEB/lib/modules" | head -1)
[ -n "$kver" ] || { echo "lab: no kernel in $DEB" >&2; exit 1; }

# The Xen version of our build (4.17, or XEN_VERSION=4.20's): its LIBEXEC_BIN.
xver=$(sed -n 's,^LIBEXEC_BIN *:= */usr/lib/xen-\(.*\)/bin$,\1,p' "$XEN/config/Paths.mk")
[ -n "$xver" ] || { echo "lab: no LIBEXEC_BIN in $XEN/config/Paths.mk" >&2; exit 1; }

rm -rf "$R"; mkdir -p "$R" "$B"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,lib/x86_64-linux-gnu,lib64,usr/lib/xen-ims,proc,sys,dev,tmp,run,var/log/xen,var/lib/xen,etc/xen/ims-quirks.d,guest,lib/modules,root}
ln -s ../run "$R/var/run"

# Our build must be consistent: an xl compiled against other IDL types than
# its libxenlight corrupts the heap.  Others may be rebuilding build/xen:
# refuse an xl older than the generated IDL header (make build first).
if [ "$XEN/tools/include/_libxl_types.h" -nt "$XEN/tools/xl/xl" ]; then
    echo "lab: xl is older than _libxl_types.h: is build/xen being rebuilt? (make build)" >&2
    exit 1
fi

# Our libraries (first on xl's library path, see the wrapper below).
OURLIBS=$(ls -d "$XEN"/tools/libs/*/ | tr '\n' ':')

# copy_with_libs FILE DEST [LD_LIBRARY_PATH]: the file and what ldd says it needs.
copy_libs() {
    local f=$1 llp=${2:-} lib
    LD_LIBRARY_PATH=$llp ldd "$f" | awk '/not found/ { print "MISSING " $1; next }
                                       $2 == "=>" && $3 ~ /^\// { print $3 }
                                       $1 ~ /^\// { print $1 }' |
    while read -r lib rest; do
        if [ "$lib" = MISSING ]; then
            echo "lab: $f needs $rest, which is not on this host" >&2; exit 1
        fi
        case "$lib" in
        "$XEN"/*) cp -L "$lib" "$R/usr/lib/xen-ims/" ;;
        /lib64/*) cp -L "$lib" "$R/lib64/" ;;
        *)        cp -L "$lib" "$R/lib/x86_64-linux-gnu/" ;;
        esac
    done
}

# busybox
cp "$DEB/bin/busybox" "$R/bin/busybox"
for a in sh mount umount mkdir cat echo ls sleep grep sed awk insmod \
         poweroff hexdump timeout tail head cut tr wc sort chmod chown \
         stat ln rm cp mv dmesg ps kill env printf test [ true false \
         date uname find xargs seq expr tee basename dirname setsid \
         mknod od diff cmp touch sync; do
    ln -sf busybox "$R/bin/$a"
done

# our xl (and its libraries: ours, then the system's)
cp "$XEN/tools/xl/xl" "$R/usr/lib/xen-ims/xl"
copy_libs "$XEN/tools/xl/xl" "$OURLIBS"
cat > "$R/usr/sbin/xl" <<'W'
#!/bin/sh
LD_LIBRARY_PATH=/usr/lib/xen-ims exec /usr/lib/xen-ims/xl "$@"
W
chmod +x "$R/usr/sbin/xl"
# the shipped database, as a package would install it
cp "$XEN/tools/examples/ims-quirks.cfg" "$R/etc/xen/ims-quirks.cfg"
chmod 0644 "$R/etc/xen/ims-quirks.cfg"

# The daemons and helpers.  Xen 4.17 (our default): Debian's (ours are not
# built: tools-only build of libs+xl).  Another version (XEN_VERSION=4.20):
# Debian's link 4.17's libxenctrl, whose domctl interface version that
# hypervisor rejects, so they come from the build tree (make lab-image builds
# them: mk/lab.mk), with its libraries in /usr/lib/xen-ims and a wrapper in
# /usr/lib/xen-$xver/bin, on /init's PATH.
mkdir -p "$R/usr/lib/xen-4.17/bin" "$R/usr/lib/xen-$xver/bin"
for b in xenstored xen-init-dom0 xenconsoled; do
    if [ "$xver" = 4.17 ]; then
        src=$DEB/usr/lib/xen-4.17/bin/$b
        for ours in "$XEN/tools/xenstore/$b" "$XEN/tools/helpers/$b" "$XEN/tools/console/daemon/$b"; do
            if [ -x "$ours" ]; then src=$ours; break; fi
        done
        cp "$src" "$R/usr/lib/xen-4.17/bin/$b"
        copy_libs "$src"
    else
        src=
        for ours in "$XEN/tools/xenstored/$b" "$XEN/tools/helpers/$b" "$XEN/tools/console/daemon/$b"; do
            if [ -x "$ours" ]; then src=$ours; break; fi
        done
        [ -n "$src" ] || { echo "lab: Xen $xver: $b is not built in $XEN (make XEN_VERSION=$xver lab-image builds it)" >&2; exit 1; }
        cp "$src" "$R/usr/lib/xen-ims/$b"
        copy_libs "$src" "$OURLIBS"
        printf '#!/bin/sh\nLD_LIBRARY_PATH=/usr/lib/xen-ims exec /usr/lib/xen-ims/%s "$@"\n' "$b" > "$R/usr/lib/xen-$xver/bin/$b"
        chmod +x "$R/usr/lib/xen-$xver/bin/$b"
    fi
    echo "$b: $src" >> "$R/etc/lab-provenance"
done
for b in xenstore-ls xenstore-read xenstore-write xenstore-rm xenstore-list xenstore-exists xenstore; do
    [ -e "$DEB/usr/bin/$b" ] || continue
    cp -P "$DEB/usr/bin/$b" "$R/usr/bin/$b"
done
copy_libs "$DEB/usr/bin/xenstore"

# firmware: hvmloader where our libxl looks (XENFIRMWAREDIR) and where
# Debian's does; SeaBIOS (given to libxl with bios_path_override, since our
# tools-only build has no SEABIOS_PATH)
fwdir=$(sed -n 's/^XENFIRMWAREDIR *:= *//p' "$XEN/config/Paths.mk")
mkdir -p "$R$fwdir" "$R/usr/lib/xen-4.17/boot" "$R/usr/share/seabios"
cp "$DEB/usr/lib/xen-4.17/boot/hvmloader" "$R/usr/lib/xen-4.17/boot/"
[ "$fwdir" = /usr/lib/xen-4.17/boot ] || ln -sf /usr/lib/xen-4.17/boot/hvmloader "$R$fwdir/hvmloader"
cp "$DEB/usr/share/seabios/bios-256k.bin" "$R/usr/share/seabios/"

# the device model and what it needs (option ROMs for direct kernel boot)
mkdir -p "$R/usr/libexec" "$R/usr/share/qemu"
cp "$DM" "$R/usr/libexec/xen-qemu-system-i386"
strip "$R/usr/libexec/xen-qemu-system-i386" 2>/dev/null || true
copy_libs "$DM"
for f in linuxboot_dma.bin linuxboot.bin kvmvapic.bin; do
    [ -e /usr/share/qemu/$f ] && cp -L /usr/share/qemu/$f "$R/usr/share/qemu/"
done
# libxl passes -vnc none, and QEMU still loads the keymap (en-us)
mkdir -p "$R/usr/share/qemu/keymaps"
cp -L /usr/share/qemu/keymaps/en-us "$R/usr/share/qemu/keymaps/"
echo "device model: $DM" >> "$R/etc/lab-provenance"
# Debian's device model links libxenctrl.so.4.17 (symbol version
# VERS_4.17.0), whose passthrough calls (xc_domain_update_msi_irq,
# xc_domain_memory_mapping, ...) are domctls a newer hypervisor rejects.
# For another Xen version, dom0 gets a libxenctrl.so.4.17 linked from the
# build tree's own libxenctrl objects under that name and symbol version:
# the 16 functions the device model calls have the same prototypes in 4.17
# and 4.20 (xc_physdev_map_pirq_msi's "bus" is named "segbus", same type).
if [ "$xver" != 4.17 ] && ldd "$DM" | grep -q 'libxenctrl\.so\.4\.17 '; then
    C=$LAB/compat-$xver; mkdir -p "$C"
    echo 'VERS_4.17.0 { global: *; };' > "$C/vers.map"
    L=$XEN/tools/libs
    gcc -shared -o "$C/libxenctrl.so.4.17" -Wl,-soname,libxenctrl.so.4.17 \
        -Wl,--version-script="$C/vers.map" -Wl,--no-undefined "$L"/ctrl/*.opic \
        $(for l in toollog evtchn gnttab call foreignmemory devicemodel toolcore; do echo "-L$L/$l -lxen$l"; done) -lpthread
    cp "$C/libxenctrl.so.4.17" "$R/lib/x86_64-linux-gnu/libxenctrl.so.4.17"
    echo "device model: libxenctrl.so.4.17 linked from $XEN/tools/libs/ctrl (Xen $xver)" >> "$R/etc/lab-provenance"
fi

# kernel modules (no depmod: /init loads them with insmod in order)
mkdir -p "$R/lib/modules/$kver"
for m in xen-privcmd xenfs/xenfs xen-evtchn xen-gntdev xen-gntalloc xen-pciback/xen-pciback; do
    cp "$DEB/lib/modules/$kver/kernel/drivers/xen/$m.ko" "$R/lib/modules/$kver/"
done
echo "xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc xen-pciback" > "$R/lib/modules/order"

# the guests: same kernel, a busybox initramfs
G=$LAB/guest-root
rm -rf "$G"; mkdir -p "$G"/{bin,proc,sys,dev,tmp}
cp "$DEB/bin/busybox" "$G/bin/busybox"
for a in sh mount cat echo ls sleep grep poweroff hexdump od head tail sed awk printf test [ true cut uname dd tr; do
    ln -sf busybox "$G/bin/$a"
done
cp "$LABSRC/guest-init.sh" "$G/init"; chmod +x "$G/init"
( cd "$G" && find . | "$DEB/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null ) | gzip -1 > "$R/guest/ginitrd.gz"
cp "$DEB/boot/vmlinuz-$kver" "$R/guest/vmlinuz"
cp "$DEB/boot/vmlinuz-$kver" "$B/vmlinuz"
zcat "$DEB/boot/xen-4.17-amd64.gz" > "$B/xen"

# optional: glibc's malloc checking around our xl (LAB_MALLOC_CHECK=1;
# lab_malloc_check=1 on dom0's command line makes /init run "xl create" and
# "xl pci-attach" with it).  Valgrind 3.19 cannot run xl on Xen 4.17: it does
# not know sysctl interface version 0x15, so every sysctl fails with ENOSYS.
cat > "$R/usr/sbin/xl-mc" <<'W'
#!/bin/sh
LD_LIBRARY_PATH=/usr/lib/xen-ims LD_PRELOAD=libc_malloc_debug.so.0 \
GLIBC_TUNABLES=glibc.malloc.check=3:glibc.malloc.perturb=165 \
    exec /usr/lib/xen-ims/xl "$@"
W
chmod +x "$R/usr/sbin/xl-mc"
cp -L /lib/x86_64-linux-gnu/libc_malloc_debug.so.0 "$R/lib/x86_64-linux-gnu/"

# what went in
( cd "$XEN" && sha256sum tools/xl/xl tools/libs/light/libxenlight.so.$xver.0 \
      tools/libs/util/libxlutil.so.$xver.0 2>/dev/null |
  sed 's/^\(.\{16\}\)[^ ]*/ours: sha256 \1/'
  echo "ours: Xen $xver"
  echo "ours: build/xen at $(git -C "$XEN" log -1 --format=%h 2>/dev/null), xl built $(date -u -r tools/xl/xl '+%F %T')"
) >> "$R/etc/lab-provenance"

# the scenario
cp "$LABSRC/dom0-init.sh" "$R/init"; chmod +x "$R/init"
cat "$LAB/packages.txt" >> "$R/etc/lab-provenance"

( cd "$R" && find . | "$DEB/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null ) | gzip -1 > "$B/dom0.cpio.gz"
echo "lab: $(du -h "$B/dom0.cpio.gz" | cut -f1) dom0 initramfs (kernel $kver)"
