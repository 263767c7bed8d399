#!/bin/bash
# proof/run.sh RUN: boot Debian's Xen + dom0 (the lab's, with our xl) in the
# proof's outer QEMU (build/qemu-outer: edu's DMA carries its requester ID),
# let dom0 (proof/dom0-init.sh) create one HVM guest per policy with edu
# passed through and our device model, and the guest run ims-probe.
#
#   RUN = (amd|intel)-(ir|noir)[-hv][-native]
#         emulated AMD-Vi or VT-d, both with intremap=on in QEMU; "noir":
#         Xen booted with iommu=no-intremap; "hv": boot OUR hypervisor
#         (make xen-hypervisor, patches 0009/0010: the remap strategy; its
#         database says amd=remap) instead of Debian's; "native": the guest
#         kernel runs with xen_no_vector_callback, so its MSIs are native
#         (a vector) and not Xen event channels (ExtINT, vector 0)
#   PROOF_POLICIES  comma-separated, default off,auto,expose,export
#                   (remap,off,auto for "hv" runs)
#   PROOF_XEN       the hypervisor of "hv" runs (default build/xen-hv/xen.gz)
#   PROOF_TIMEOUT   seconds for the whole boot (default 3600; a quiet host
#                   needs ~10 min for four policies, a loaded one 30 min)
#
# Artefacts in build/proof/logs: RUN.serial.log (Xen, dom0, guest lines),
# RUN.qemu.log (outer QEMU's stderr: IOMMU traces), RUN.timeline (both, time-
# stamped as they arrived), RUN.wall.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
P=$BUILD/proof
B=$P/lab/boot
L=$P/logs
run=${1:?usage: proof/run.sh (amd|intel)-(ir|noir)[-hv][-native][-stubdom]}
case $run in
amd-ir|amd-noir|intel-ir|intel-noir) ;;
amd-ir-*|amd-noir-*|intel-ir-*|intel-noir-*)
    for opt in $(echo "${run#*-*-}" | tr - ' '); do
        case $opt in hv|native|stubdom) ;; *) echo "proof: unknown run $run ($opt)" >&2; exit 2 ;; esac
    done ;;
*) echo "proof: unknown run $run" >&2; exit 2 ;;
esac
hv=no; native=0
case -$run- in *-hv-*) hv=yes ;; esac
case -$run- in *-native-*) native=1 ;; esac
# -stubdom: the guest's device model in a Linux stub domain (mkimage.sh).
# One policy per boot: every further policy needs "xl pci-detach", which
# libxl 4.17 refuses for a stub domain guest.
stubdom=0 dom0img=dom0-proof.cpio.gz
case -$run- in *-stubdom-*)
    stubdom=1 dom0img=dom0-proof-stubdom.cpio.gz
    case "${PROOF_POLICIES:-}" in ""|*,*)
        echo "proof: run $run takes one policy (PROOF_POLICIES=auto, for one)" >&2; exit 2 ;;
    esac ;;
esac
defpols=off,auto,expose,export
[ $hv = no ] || defpols=remap,off,auto
pols=$(echo "${PROOF_POLICIES:-$defpols}" | tr , :)   # no commas: -initrd separates modules with them
QEMU=$("$TOP/proof/qemu-outer.sh" path)
[ -x "$QEMU" ] || { echo "proof: $QEMU is missing (make proof-qemu)" >&2; exit 1; }
[ -f "$B/$dom0img" ] || { echo "proof: no boot files (make proof-image)" >&2; exit 1; }
mkdir -p "$L"
case $run in
amd-*)   iommu=amd-iommu,intremap=on ;;
intel-*) iommu=intel-iommu,intremap=on ;;
*) echo "proof: unknown run $run" >&2; exit 2 ;;
esac
case $run in *-noir|*-noir-*) xiommu=verbose,no-intremap ;; *) xiommu=verbose ;; esac
# OUR hypervisor: QEMU's multiboot loader wants the ELF, not xen.gz
xen=$B/xen dbamd="remap|export"
if [ $hv = yes ]; then
    hvgz=${PROOF_XEN:-$BUILD/xen-hv/xen.gz}
    [ -f "$hvgz" ] || { echo "proof: $hvgz is missing (make xen-hypervisor)" >&2; exit 1; }
    xen=$P/xen-hv.elf
    gzip -dc "$hvgz" > "$xen"
fi
xenargs="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all dom0_mem=1536M cpuidle=0 iommu=$xiommu"
# PROOF_LOGTAG=x: logs as RUN+x.* (a supplementary run of some policies;
# proof/matrix.py adds its cells to RUN's)
name=$run${PROOF_LOGTAG:++$PROOF_LOGTAG}
log=$L/$name.serial.log; qlog=$L/$name.qemu.log; tl=$L/$name.timeline
rm -f "$log" "$qlog" "$tl" "$tl.stop"
: > "$log"; : > "$qlog"
python3 "$TOP/proof/timeline.py" "$tl" S="$log" Q="$qlog" &
wpid=$!
echo "proof: run $run: outer $QEMU, -device $iommu, Xen $xen ($(sha256sum < "$xen" | cut -c1-16)) iommu=$xiommu, policies $pols, database amd=$dbamd, guest native MSI $native"
t0=$(date +%s)
# edu at 00:05.0: xen-pci-passthrough refuses host 00:02.0 as "IGD", which
# the VT-d machine would otherwise give it.  The amdvi_* trace events name
# every refused interrupt (the "failed to remap" message is printed once).
timeout -k 10 "${PROOF_TIMEOUT:-3600}" "$QEMU" -L /usr/share/qemu -L /usr/share/seabios \
    -machine q35,kernel-irqchip=split -accel tcg -cpu max,-smap,-rdtscp \
    -m 3072 -smp 2 -nodefaults -vga none -display none -no-reboot -net none \
    -msg timestamp=on \
    -trace amdvi_ir_err -trace amdvi_ir_target_abort -trace amdvi_err \
    -device "$iommu" -device edu,addr=05.0,dma_mask=0xffffffffffffffff \
    -kernel "$xen" -append "$xenargs" \
    -initrd "$B/vmlinuz console=hvc0 loglevel=5 proof_run=$run proof_policies=$pols proof_db_amd=$dbamd proof_hv=$([ $hv = yes ] && echo 1 || echo 0) proof_guest_native=$native proof_stubdom=$stubdom,$B/$dom0img" \
    -serial "file:$log" >> "$qlog" 2>&1
qrc=$?
wall=$(( $(date +%s) - t0 ))
touch "$tl.stop"; wait $wpid
echo "run=$name wall_seconds=$wall qemu_exit=$qrc" | tee "$L/$name.wall"
grep -a 'IMS-PROOF' "$log" | tr -d '\r'
