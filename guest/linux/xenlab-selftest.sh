#!/bin/bash
# Run xen_ims_selftest.ko (guest/linux/selftest) in a real Xen HVM guest
# with the export strategy: the lab's VT-d machine (lab/, Debian's Xen
# 4.17 in TCG QEMU, our xl), the device model with x-ims (make qemu), an
# edu passed through with pci_ims_policy=auto.
#
# The lab is not changed: its scripts are copied to
# $BUILD/guest-linux/xenlab/src and the copies extended (the guest's /init
# loads the module before anything else touches the edu's MSI, dom0 shows
# the module's lines); its Debian packages are reused from $BUILD/lab when
# they are there.  Everything is written under $BUILD/guest-linux/xenlab.
# The lab's own markers are reported but not judged here.
#
# Needs: make build (xl), make qemu (x-ims device model), make
# guest-linux-selftest GUEST_LINUX_TREES=6.1 (the module for the lab's
# guest kernel).  A few minutes (TCG).
#
# Environment: BUILD, LAB_DM (default $BUILD/qemu/build/qemu-system-i386),
# LAB_TIMEOUT (default 1500), LAB_STALL (default 900: the guest boots
# silently, and on a loaded machine a TCG boot of Xen + dom0 + an HVM guest
# takes minutes).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=$BUILD/guest-linux/xenlab
LAB=$OUT/lab
SRC=$OUT/src
KO=$BUILD/guest-linux/selftest-6.1/xen_ims_selftest.ko
DM=${LAB_DM:-$BUILD/qemu/build/qemu-system-i386}

die() { echo "xenlab-selftest: error: $*" >&2; exit 1; }
say() { echo "xenlab-selftest: $*"; }

[ -f "$KO" ] || die "no $KO (make guest-linux-selftest GUEST_LINUX_TREES=6.1)"
[ -x "$DM" ] || die "no device model with x-ims at $DM (make qemu, or LAB_DM=)"
[ -x "$BUILD/xen/tools/xl/xl" ] || die "no xl (make build)"

mkdir -p "$LAB"
if [ -d "$BUILD/lab/deb" ] && [ ! -d "$LAB/deb" ]; then
    say "reusing the lab's Debian packages from $BUILD/lab"
    cp -a "$BUILD/lab/deb" "$BUILD/lab/deb.stamp" "$LAB/"
    [ ! -f "$BUILD/lab/packages.txt" ] || cp -a "$BUILD/lab/packages.txt" "$LAB/"
fi
LAB=$LAB "$TOP/lab/fetch.sh"

kver=$(ls "$LAB/deb/lib/modules" | head -1)
vm=$(modinfo -F vermagic "$KO")
case "$vm" in "$kver "*) ;; *) die "the lab's guest kernel is $kver, the module is for '$vm'" ;; esac

rm -rf "$SRC"
cp -a "$TOP/lab" "$SRC"

# The guest: load the module right after boot, before guest-init.sh
# programs the edu's MSI by hand (the module enables MSI itself, reads the
# export, disables MSI again; then the lab's own steps run as before).
{
    sed -n '1,/^echo "GUEST-OK/p' "$TOP/lab/guest-init.sh"
    echo '# --- xen-pci-ims: guest/linux/xenlab-selftest.sh ---'
    echo "busybox base64 -d > /tmp/xen_ims_selftest.ko <<'KO'"
    base64 "$KO"
    echo 'KO'
    echo 'busybox insmod /tmp/xen_ims_selftest.ko xen_ims_timeout_ms=3000 &&'
    echo '    echo "GUEST-SELFTEST insmod ok" || echo "GUEST-SELFTEST insmod failed"'
    echo "busybox dmesg | grep -E 'xen_ims_selftest|xen-ims' | sed 's/^/GUEST-SELFTEST /'"
    echo '# --- end ---'
    sed -n '/^echo "GUEST-OK/,$p' "$TOP/lab/guest-init.sh" | sed 1d
} > "$SRC/guest-init.sh"
grep -q '^busybox insmod /tmp/xen_ims_selftest.ko' "$SRC/guest-init.sh" ||
    die "could not extend guest-init.sh (the lab changed?)"

# dom0: show the module's lines once the guest has scanned its devices.
awk '
    { print }
    /^    result guest-sees-device / && !done {
        print "    grep -a GUEST-SELFTEST /tmp/g1.console | show"
        done = 1
    }
' "$TOP/lab/dom0-init.sh" > "$SRC/dom0-init.sh"
grep -q 'grep -a GUEST-SELFTEST' "$SRC/dom0-init.sh" ||
    die "could not extend dom0-init.sh (the lab changed?)"
chmod +x "$SRC"/*.sh

say "building the lab image with the extended guest (device model: $DM)"
LAB=$LAB XEN=$BUILD/xen LABSRC=$SRC LAB_DM=$DM "$SRC/mkinitrd.sh"
say "running the VT-d machine (export)"
LAB=$LAB XEN=$BUILD/xen LABSRC=$SRC LAB_DM=$DM LAB_DM_IMS=yes \
    LAB_TIMEOUT=${LAB_TIMEOUT:-1500} LAB_STALL=${LAB_STALL:-900} "$SRC/run.sh" intel || true

log=$LAB/logs/intel.serial.log
lines=$(grep -a 'GUEST-SELFTEST' "$log" | tr -d '\r' || true)
echo "$lines"
grep -a -E 'IMS-LAB: (create|guest-sees-device|xenstore-plan|msi-readback) ' "$log" | tr -d '\r' || true

rc=0
echo "$lines" | grep -q 'GUEST-SELFTEST insmod ok' || { say "FAIL: insmod"; rc=1; }
r=$(echo "$lines" | grep -E 'xen_ims_selftest: [0-9a-f:.]+: result=' | head -1 || true)
case "$r" in
*"result=0 config="*" export=0x"*)
    cfg=$(echo "$r" | sed -n 's/.*config=\([^ ]*\) .*/\1/p')
    exp=$(echo "$r" | sed -n 's/.*export=\([^ ]*\)$/\1/p')
    say "ok: the patched driver code read the exported values: $exp (config space: $cfg)" ;;
*)  say "FAIL: the lookup did not return exported values: ${r:-no result line}"; rc=1 ;;
esac
echo "$lines" | grep -q 'after MSI disable: result=-110 ' ||
    { say "FAIL: after MSI disable, the lookup did not time out (state=pending expected)"; rc=1; }
[ $rc = 0 ] && say "passed" || say "failed (log: $log)"
exit $rc
