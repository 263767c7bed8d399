#!/bin/sh
# dom0's /init in the proof (proof/run.sh boots it; lab/mkinitrd.sh puts it
# in the initramfs as /init): bring up the toolstack as the lab does, make
# edu IMS-class with a lab database entry, then for each policy create an
# HVM guest with edu passed through, with OUR xl and OUR device model
# (device_model_override), and let the guest run ims-probe.  The guest's
# "IMS-PROOF:" lines are copied to this console as they come, prefixed
# with "GUEST ", so the host can line them up with the outer QEMU's log.
#
# dom0 command line (proof/run.sh): proof_run=NAME proof_policies="a,b"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
export LD_LIBRARY_PATH=
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/xen /run/xenstored /run/lock /var/lock /var/lib/xen /var/log/xen
: > /etc/xen/xl.conf
T0=$(cut -d. -f1 /proc/uptime)
for kv in $(cat /proc/cmdline); do
    case "$kv" in proof_*=*) eval "${kv%%=*}='${kv#*=}'" ;; esac
done
: "${proof_run:=unknown}" "${proof_policies:=off,auto,expose,export}"
: "${proof_guest_timeout:=420}"
DM=/usr/lib/xen-ims/qemu-dm-ims
elapsed() { echo $(( $(cut -d. -f1 /proc/uptime) - T0 )); }
say() { echo "PROOF: $*"; }
show() { sed 's/^/  | /'; }
finish() {
    for f in /var/log/xen/*.log; do [ -f "$f" ] && { echo "---- $f"; show < "$f"; }; done
    echo "PROOF-END run=$proof_run dom0_seconds=$(elapsed)"
    sync; poweroff -f
}

echo "PROOF-BEGIN run=$proof_run policies=$proof_policies"
sed 's/^/  provenance: /' /etc/lab-provenance
for m in $(cat /lib/modules/order); do insmod /lib/modules/*/$m.ko || say "insmod $m failed"; done
mount -t xenfs xenfs /proc/xen
xenstored --pid-file /run/xenstored.pid
sleep 1
xen-init-dom0 >/tmp/init-dom0.log 2>&1 || cat /tmp/init-dom0.log
xenconsoled --pid-file=/run/xenconsoled.pid 2>/dev/null
xl info | grep -E 'xen_version|xen_commandline|virt_caps' | show
say "toolstack up after $(elapsed)s"
[ -x $DM ] || { say "FATAL no device model at $DM"; finish; }
$DM -device xen-pci-passthrough,help 2>&1 | grep -E 'x-ims' | show

# the host facts, as at boot
xl pci-ims-facts --record 2>&1 | show
xl pci-ims-facts 2>&1 | show
IOMMU=$(xl pci-ims-facts -j 2>/dev/null | sed -n 's/^ *"iommu": "\(.*\)",*$/\1/p' | head -1)
IR=$(xl pci-ims-facts -j 2>/dev/null | sed -n 's/^ *"intremap": "\(.*\)",*$/\1/p' | head -1)
say "facts iommu=$IOMMU intremap=$IR"

# edu is IMS-class here (the shipped defaults: amd=expose, intel=export)
cat > /etc/xen/ims-quirks.d/proof.cfg <<'EOF'
# The proof: QEMU's edu device stands in for an IMS-like device (ath11k).
1234:11e8,name="QEMU edu (proof stand-in for an IMS-like device)",amd=expose,intel=export
EOF
chmod 0644 /etc/xen/ims-quirks.d/proof.cfg
xl pci-ims-db-check 2>&1 | show

EDU=
for d in /sys/bus/pci/devices/*; do
    [ "$(cat $d/vendor):$(cat $d/device)" = 0x1234:0x11e8 ] && { EDU=${d##*/}; break; }
done
say "edu at ${EDU:-nowhere}"
[ -n "$EDU" ] || finish
xl pci-assignable-add $EDU 2>&1 | show

n=0
for pol in $(echo "$proof_policies" | tr ',' ' '); do
    n=$((n + 1)); g=p$n; cell=$proof_run-$pol
    say "CELL-BEGIN $cell policy=$pol t=$(elapsed)"
    xl pci-ims-explain -p $pol $EDU 2>&1 | show
    cat > /tmp/$g.cfg <<EOF
name = "$g"
type = "hvm"
memory = 256
vcpus = 1
kernel = "/guest/vmlinuz"
ramdisk = "/guest/proof-ginitrd.gz"
extra = "console=ttyS0 loglevel=4 ims_cell=$cell"
serial = "file:/tmp/$g.console"
bios = "seabios"
bios_path_override = "/usr/share/seabios/bios-256k.bin"
device_model_version = "qemu-xen"
device_model_override = "$DM"
vnc = 0
sdl = 0
vga = "none"
disk = [ ]
vif = [ ]
on_poweroff = "destroy"
on_crash = "destroy"
pci_ims_policy = "$pol"
pci = [ '$EDU' ]
EOF
    : > /tmp/$g.console
    timeout 240 xl -v create /tmp/$g.cfg > /tmp/$g.create 2>&1; rc=$?
    show < /tmp/$g.create | grep -v -E '^  \| (libxl: debug|xc: detail)' | tail -40
    D=$(xl domid $g 2>/dev/null)
    if [ $rc != 0 ] || [ -z "$D" ]; then
        msg=$(grep -iE 'refus|error|fail' /tmp/$g.create | head -2 | tr '\n' ' ' | cut -c1-300)
        echo "GUEST IMS-PROOF: cell=$cell-create values=none addr=0x0 data=0x0 result=refused xl_create_exit=$rc msg=\"$msg\""
        xl destroy $g >/dev/null 2>&1
        say "CELL-END $cell t=$(elapsed)"
        continue
    fi
    say "domid $D: plan"
    xl pci-ims-explain -d $D $EDU 2>&1 | show
    xenstore-ls -p /local/domain/$D/device/pci-ims 2>/dev/null | show
    xenstore-read /libxl/pci/$(echo $EDU | tr ':.' '--')/ims_strategy 2>/dev/null | sed 's/^/  ims_strategy=/'
    # copy the guest's result lines here as they come
    ( tail -f /tmp/$g.console 2>/dev/null | while read -r l; do
        case "$l" in *IMS-PROOF*|*ims-probe*|*ims_probe*|*GUEST-*) echo "GUEST $l" ;; esac
      done ) &
    tp=$!
    i=0
    while [ $i -lt $proof_guest_timeout ]; do
        grep -q 'GUEST-PROOF-DONE' /tmp/$g.console 2>/dev/null && break
        xl domid $g >/dev/null 2>&1 || break
        sleep 2; i=$((i + 2))
    done
    sleep 1
    grep -q 'GUEST-PROOF-DONE' /tmp/$g.console || {
        say "guest $g did not finish in ${proof_guest_timeout}s; its console:"; tail -30 /tmp/$g.console | show; }
    kill $tp 2>/dev/null
    say "device model log (qemu-dm-$g.log):"
    tail -25 /var/log/xen/qemu-dm-$g.log 2>/dev/null | show
    xl dmesg 2>/dev/null | grep -iE 'No irq handler|IO_PAGE_FAULT|INVALID|fault' | tail -5 | show
    xl destroy $g >/dev/null 2>&1
    sleep 1
    say "CELL-END $cell t=$(elapsed)"
done
finish
