#!/bin/sh
# dom0's /init in the proof (proof/run.sh boots it; lab/mkinitrd.sh puts it
# in the initramfs as /init): bring up the toolstack as the lab does, make
# edu IMS-class with a lab database entry, then for each policy create an
# HVM guest with edu passed through, with OUR xl and OUR device model
# (device_model_override), and let the guest run ims-probe.  The guest's
# "IMS-PROOF:" lines are copied to this console as they come, prefixed
# with "GUEST ", so the host can line them up with the outer QEMU's log.
#
# dom0 command line (proof/run.sh): proof_run=NAME proof_policies=a:b:...
#   proof_db_amd=LIST           edu's amd= strategies in the database
#                               (default remap|export, as shipped)
#   proof_hv=0|1                1: Xen is ours (patches 0009/0010)
#   proof_guest_native=0|1      1: the guest's MSIs are native (a vector),
#                               not Xen event channels (xen_no_vector_callback)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
# another Xen version's daemons (lab/mkinitrd.sh, XEN_VERSION=4.20)
for d in /usr/lib/xen-*/bin; do [ "$d" = /usr/lib/xen-4.17/bin ] || PATH=$d:$PATH; done
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
: "${proof_run:=unknown}" "${proof_policies:=off:auto:expose:export}"
: "${proof_guest_timeout:=300}" "${proof_db_amd:=remap|export}" "${proof_guest_native:=0}" "${proof_hv:=0}" "${proof_stubdom:=0}"
gextra=
[ "$proof_guest_native" = 1 ] && gextra=" xen_no_vector_callback"
DM=/usr/libexec/qemu-dm-ims   # next to Debian's: QEMU finds ../share/qemu (ROMs, keymaps) from its own path
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
# a stub domain's pcifront shows the device at its host address (lab/README.md)
for m in $(cat /lib/modules/order); do
    o=; [ $m = xen-pciback ] && [ "$proof_stubdom" = 1 ] && o=passthrough=1
    insmod /lib/modules/*/$m.ko $o || say "insmod $m failed"
done
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

# edu is IMS-class here, with the shipped database's lists for ath11k
# (amd=remap|export, intel=expose|export): on Debian's hypervisor remap is
# refused and auto takes export; on ours, remap.
cat > /etc/xen/ims-quirks.d/proof.cfg <<EOF
# The proof: QEMU's edu device stands in for an IMS-like device (ath11k).
1234:11e8,name="QEMU edu (proof stand-in for an IMS-like device)",amd=$proof_db_amd,intel=expose|export
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

# Our hypervisor's own answer (patch 0009), whatever the toolstack thinks:
# with the host facts forced to amd/on, libxl asks Xen for the remap flag
# (XEN_DOMCTL_test_assign_device); on VT-d or without interrupt remapping
# Xen must refuse with EOPNOTSUPP.
if [ "$proof_hv" = 1 ]; then
    f=/var/run/xen/ims-host-facts
    say "hypervisor check: facts forced to amd/on, so that libxl asks Xen"
    cp $f /tmp/facts.saved
    printf 'boot_id=%s\niommu=amd\nintremap=on\nsource=proof: forced, to ask Xen\n' \
        "$(cat /proc/sys/kernel/random/boot_id)" > $f
    xl pci-ims-explain -p remap $EDU 2>&1 | grep -E 'hypervisor|strategy|outcome|Why' | show
    cp /tmp/facts.saved $f
    xl dmesg 2>/dev/null | grep -E 'IMS remap' | show
fi

# One guest per boot (an HVM guest takes minutes to boot under nested TCG):
# the first policy's device is given at "xl create" (pci=[...]), each
# further policy by "xl pci-detach" + "xl pci-attach BDF,ims_policy=P" (the
# per-device policy wins over the domain's).  The guest's /init probes every
# edu it sees and reads the cell's name from data/ims-cell.
g=proof
pols=$(echo "$proof_policies" | tr ',:' '  ')
first=${pols%% *}
plan() { # plan POLICY DOMID
    xl pci-ims-explain -p $1 -d $2 $EDU 2>&1 | show
    xl pci-ims-list 2>&1 | show
    st=$(xenstore-read /libxl/pci/$(echo $EDU | tr ':.' '--')/ims_strategy 2>/dev/null || echo none)
    say "ims_strategy=$st"
    # (not xenstore-ls -p: Debian's xenstore-ls crashes on a missing path)
    if [ "$st" = export ]; then
        vd=$(xenstore-list /local/domain/$2/device/pci-ims 2>/dev/null | head -1)
        for k in strategy state msi-address-lo msi-address-hi msi-data; do
            v=$(xenstore-read /local/domain/$2/device/pci-ims/$vd/$k 2>/dev/null) && say "  export $vd/$k=$v"
        done
    fi
}
waitcon() { # waitcon PATTERN SECONDS
    i=0
    while [ $i -lt $2 ]; do
        grep -qE "$1" /tmp/$g.console 2>/dev/null && return 0
        # no liveness probe with xenstore-* here: Debian's xenstore client
        # crashed ("Segmentation fault") in this loop; the guest powers off
        # only at the end anyway
        sleep 2; i=$((i + 2))
    done
    return 1
}
refused() { # refused CELL RC FILE
    msg=$(grep -iE 'refus|error|fail' $3 | grep -v -E 'support reset' | head -2 | tr '\n' ' ' | tr -d '"' | cut -c1-300)
    echo "GUEST IMS-PROOF: cell=$1-create values=none addr=0x0 data=0x0 result=refused exit=$2 msg=\"$msg\""
}
after_cell() { # after_cell CELL
    # "unknown": the guest could not read its cell's name from xenstore
    waitcon "GUEST-CELL-DONE cell=($1|unknown)" $proof_guest_timeout ||
        { say "cell $1 did not finish"; tail -20 /tmp/$g.console | show; }
    # all of the cell's lines again (the live copy can miss one when a
    # dom0 process crashes, see docs/proof.md); an unnamed line since the
    # cell began is this cell's: dom0 attaches one device at a time
    tail -n +$((cstart + 1)) /tmp/$g.console | tr -d '\r' |
        sed "s/IMS-PROOF: cell=unknown-/IMS-PROOF: cell=$1-/" |
        grep -a "IMS-PROOF: cell=$1-" | sed 's/^/CELL-RESULT /'
    say "device model log:"; tail -12 /var/log/xen/qemu-dm-$g.log 2>/dev/null | show
    xl dmesg 2>/dev/null | grep -iE 'No irq handler' | tail -3 | show
    # the hypervisor's side of remap (patch 0010): moves and refusals
    xl dmesg 2>/dev/null | grep -E 'IMS remap' | tail -6 | show
    say "CELL-END $1 t=$(elapsed)"
}
cat > /tmp/$g.cfg <<EOF
name = "$g"
type = "hvm"
memory = 256
vcpus = 1
kernel = "/guest/vmlinuz"
ramdisk = "/guest/proof-ginitrd.gz"
extra = "console=ttyS0 loglevel=4$gextra"
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
pci_ims_policy = "auto"
pci = [ '$EDU,ims_policy=$first' ]
EOF
[ "$proof_stubdom" = 0 ] || printf '%s\n' 'device_model_stubdomain_override = 1' \
                                        'stubdomain_memory = 256' >> /tmp/$g.cfg
: > /tmp/$g.console
cstart=0
cell=$proof_run-$first
say "CELL-BEGIN $cell policy=$first (at xl create) t=$(elapsed)"
xl pci-ims-explain -p $first $EDU 2>&1 | show
timeout 300 xl -v create -p /tmp/$g.cfg > /tmp/$g.create 2>&1; rc=$?
grep -v -E '^(libxl: debug|xc: detail|domainbuilder: detail)' /tmp/$g.create | tail -25 | show
D=$(xl domid $g 2>/dev/null)
# whether libxl created the domain without HVM pirqs (a remap plan)
grep -E 'without HVM pirqs' /tmp/$g.create | show
say "domain emulation: $(xl list -l $g 2>/dev/null | grep -E '"pirq"' | tr -d ' ,' | head -1)"
attached=1
if [ $rc != 0 ] || [ -z "$D" ]; then
    refused $cell $rc /tmp/$g.create
    say "CELL-END $cell t=$(elapsed)"
    xl destroy $g >/dev/null 2>&1
    # the guest is still needed for the other policies: create it without edu
    # (passthrough: without a device at creation, libxl creates the domain
    # without an IOMMU context, and every later pci-attach fails with
    # "cannot be assigned - no IOMMU?")
    sed -i "s/^pci = .*/pci = [ ]/" /tmp/$g.cfg
    echo 'passthrough = "enabled"' >> /tmp/$g.cfg
    timeout 300 xl -v create -p /tmp/$g.cfg > /tmp/$g.create2 2>&1 ||
        { say "FATAL cannot create the guest"; show < /tmp/$g.create2; finish; }
    D=$(xl domid $g); attached=0
fi
xenstore-write /local/domain/$D/data/ims-cell "$cell"
xl unpause $g
say "domid $D"
xl domid $g >/tmp/domid.out 2>&1; r=$?
[ $r = 0 ] || { say "BUG xl domid $g exit $r: $(cat /tmp/domid.out)"; dmesg | tail -3 | show; }
[ $attached = 0 ] || plan $first $D
# copy the guest's lines here as they come (polling: busybox tail -f in a
# pipeline did not deliver them)
fwd() {
    n=0
    while :; do
        c=$(wc -l < /tmp/$g.console 2>/dev/null)
        if [ -n "$c" ] && [ "$c" -gt "$n" ]; then
            sed -n "$((n + 1)),${c}p" /tmp/$g.console | tr -d '\r' |
                grep -aE 'IMS-PROOF|ims-probe|GUEST-' | sed 's/^/GUEST /'
            n=$c
        fi
        sleep 1
    done
}
fwd &
FWD=$!
waitcon GUEST-READY 1500 || { say "guest did not come up"; tail -40 /tmp/$g.console | show; finish; }
say "guest up after $(elapsed)s"
[ $attached = 0 ] || after_cell $cell
for pol in ${pols#$first}; do
    prev=$cell; cell=$proof_run-$pol
    if [ $attached = 1 ]; then
        # dom0 processes crash now and then in this lab (docs/proof.md):
        # retry a failed detach, and wait until Xen has the device back
        for try in 1 2 3; do
            xl -v pci-detach $g $EDU > /tmp/detach.log 2>&1 && break
            say "pci-detach failed (try $try, exit $?)"; show < /tmp/detach.log; sleep 5
            xl pci-list $g 2>/dev/null | grep -q "${EDU#0000:}" || break
        done
        waitcon "GUEST-DEVICE-GONE .* cell=($prev|unknown)" 120
        sleep 2
    fi
    cstart=$(wc -l < /tmp/$g.console)
    say "CELL-BEGIN $cell policy=$pol (at xl pci-attach) t=$(elapsed)"
    xenstore-write /local/domain/$D/data/ims-cell "$cell"
    for try in 1 2 3; do
        timeout 300 xl -v pci-attach $g "$EDU,ims_policy=$pol" > /tmp/attach.log 2>&1; rc=$?
        # 139 = SIGSEGV; "already assigned": the previous detach is still settling
        [ $rc = 139 ] || grep -q 'already assigned' /tmp/attach.log || break
        say "pci-attach exit $rc (try $try), retrying"; sleep 10
    done
    grep -v -E '^(libxl: debug|xc: detail)' /tmp/attach.log | tail -15 | show
    if [ $rc != 0 ]; then
        refused $cell $rc /tmp/attach.log; attached=0
        say "CELL-END $cell t=$(elapsed)"
        continue
    fi
    attached=1
    plan $pol $D
    after_cell $cell
done
sleep 2; kill $FWD 2>/dev/null
echo "---- guest console"; tr -d '\r' < /tmp/$g.console | grep -av '^\[' | tail -60 | show
xl destroy $g >/dev/null 2>&1
finish
