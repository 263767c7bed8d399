#!/bin/bash
# lab/run.sh RUN: boot Debian's Xen + dom0 in qemu-system-x86_64 (TCG) with
# an emulated IOMMU, let dom0's /init (lab/dom0-init.sh) run the scenario
# with our xl, and check its markers on the serial log.
# lab/run.sh --check RUN: only check the markers of the last RUN's log.
#
#   RUN = amd         AMD-Vi, interrupt remapping on, full scenario
#         intel       VT-d, interrupt remapping on, full scenario
#         nointremap  AMD-Vi, Xen booted with iommu=no-intremap: the failure run
#         smoke       AMD-Vi, the full scenario (what make lab-smoke runs)
#         hv          the same on LAB_XEN (make check-lab-hv: our hypervisor)
#         stubdom     AMD-Vi, the full scenario with the HVM guests' device
#                     model in a Linux stub domain (lab/mkstubdom.sh; make
#                     check-lab-stubdom)
#         stubdom-intel  the same on VT-d
#         stubdom-hv  the same on AMD-Vi with LAB_XEN (our hypervisor: remap)
#
# Artefacts: $LAB/logs/RUN.serial.log (Xen, dom0 and scenario), RUN.qemu.log,
# RUN.result.  Exit 0 when every expected marker says ok; 1 otherwise.
# LAB_TIMEOUT (seconds, default 900) bounds the whole boot; LAB_STALL (default
# 300) stops a boot whose serial log has not grown for that long.
# LAB_XEN=path/xen.gz boots that hypervisor instead of Debian's, e.g. ours
# with the remap patches (make xen-hypervisor: build/xen-hv/xen.gz); the
# scenario and its markers are the same (the lab database says expose).
set -u

setup() {
    : "${LAB:?}"
    LAB=$(cd "$LAB" && pwd)
    B=$LAB/boot
    L=$LAB/logs
    mkdir -p "$L"
    timeout_s=${LAB_TIMEOUT:-900}
    stall_s=${LAB_STALL:-300}
    cpu=${LAB_CPU:-max,-smap,-rdtscp}
    stalled=0
    dm_ims=${LAB_DM_IMS:-no}
    edu="edu,dma_mask=0xffffffffffffffff"
    xenargs="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all dom0_mem=1536M cpuidle=0"
    iommuopt=verbose
    dom0img=dom0.cpio.gz
    local full="boot facts-record facts db db-writable-refused devices explain
      explain-no-expose-without-ir explain-strict explain-pv
      explain-not-in-db assignable explain-remap create create-warning guest-sees-device xenstore-plan
      msi-readback backend-opts pci-list list-l pci-ims-list hotplug-strict-refused
      hotplug-attach hotplug-xenstore-plan guest-sees-hotplug hotplug-detach
      guest-sees-unplug destroy-clean pv-create pv-plan pv-destroy-clean done"
    case $run in
    amd|smoke) iommu=amd-iommu,intremap=on; exp="lab_iommu=amd lab_ir=on lab_mode=full"
               markers=$full ;;
    hv)        [ -n "${LAB_XEN:-}" ] || { echo "run.sh: run hv needs LAB_XEN (make xen-hypervisor)" >&2; exit 2; }
               iommu=amd-iommu,intremap=on; exp="lab_iommu=amd lab_ir=on lab_mode=full"
               markers=$full ;;
    intel)     iommu=intel-iommu,intremap=on; exp="lab_iommu=intel lab_ir=on lab_mode=full"
               markers=$full ;;
    stubdom|stubdom-hv|stubdom-intel)
               case $run in
               stubdom-intel) iommu=intel-iommu,intremap=on; exp="lab_iommu=intel" ;;
               *)             iommu=amd-iommu,intremap=on; exp="lab_iommu=amd" ;;
               esac
               [ $run != stubdom-hv ] || [ -n "${LAB_XEN:-}" ] ||
                   { echo "run.sh: run stubdom-hv needs LAB_XEN (make xen-hypervisor)" >&2; exit 2; }
               exp="$exp lab_ir=on lab_mode=full lab_stubdom=1"
               # libxl 4.17 keeps no record of a stub domain guest's own
               # devices: no list -l, and pci-detach is refused
               markers=$(echo $full stubdom-up stubdom-msi-enable | tr ' ' '\n' |
                         grep -vx -e list-l -e guest-sees-unplug |
                         sed 's/^hotplug-detach$/hotplug-detach-refused/')
               dom0img=dom0-stubdom.cpio.gz ;;
    nointremap) iommu=amd-iommu,intremap=on; iommuopt=verbose,no-intremap
               exp="lab_iommu=amd lab_ir=off lab_mode=failure"
               markers="boot facts-record facts db db-writable-refused devices explain
                        explain-no-expose-without-ir explain-strict explain-pv
                        explain-not-in-db assignable explain-remap create-strict-refused create
                        create-warning xenstore-plan backend-opts pci-list list-l
                        pci-ims-list destroy-clean done" ;;
    *) echo "run.sh: unknown run $run" >&2; exit 2 ;;
    esac
    if [ "$dm_ims" = yes ]; then
        # a device model with x-ims: nothing is refused for want of it
        markers=$(echo $markers | tr ' ' '\n' | grep -vx -e hotplug-strict-refused -e create-warning)
        [ $run != nointremap ] || markers="$markers create-warning"
    fi
    log=$L/$run.serial.log
    xen=$B/xen labxen=stock
    if [ -n "${LAB_XEN:-}" ]; then
        labxen=ours
        [ -f "$LAB_XEN" ] || { echo "run.sh: LAB_XEN=$LAB_XEN: no such file" >&2; exit 2; }
        # QEMU's multiboot loader wants the ELF, not xen.gz
        xen=$B/xen-lab-xen
        gzip -dcf "$LAB_XEN" > "$xen"
    fi
    # HVM pirqs (patches 0012/0013), full scenario: on our hypervisor g1 is
    # created with hvm_pirq = 0; on Debian's the default stays on, and
    # hvm_pirq = 0 is refused
    case "$exp" in *lab_mode=full*)
        if [ $labxen = ours ]; then pirq="hvm-pirq-off"
        else pirq="hvm-pirq-off-refused hvm-pirq-default"; fi
        markers=$(echo $markers | sed "s/ done / $pirq done /; s/ done\$/ $pirq done/") ;;
    esac
    # On our hypervisor with AMD-Vi and remapping, edu is planned as remap
    # (the shipped list amd=remap|export): nothing warns at create, and
    # strict is not refused at hot-plug
    case "$labxen:$exp" in ours:*lab_iommu=amd\ lab_ir=on*)
        markers=$(echo $markers | tr ' ' '\n' |
                  grep -vx -e hotplug-strict-refused -e create-warning) ;;
    esac
}

boot() {
    rm -f "$log" "$L/$run.qemu.log" "$L/$run.result"
    echo "lab: run $run: $iommu, Xen $xen ($(sha256sum < "$xen" | cut -c1-16)) iommu=$iommuopt, -cpu $cpu, timeout ${timeout_s}s"
    local t0=$(date +%s)
    # Both edu devices at fixed slots: not 00:02.0, which xen-pci-passthrough
    # refuses as "IGD" (and which the VT-d run would otherwise give edu).
    timeout -k 10 "$timeout_s" qemu-system-x86_64 \
        -machine q35,kernel-irqchip=split -accel tcg -cpu "$cpu" \
        -m 3072 -smp 2 -nodefaults -vga none -display none -no-reboot \
        -device "$iommu" \
        -device "$edu,addr=05.0" -device "$edu,addr=06.0" \
        -kernel "$xen" -append "$xenargs iommu=$iommuopt" \
        -initrd "$B/vmlinuz console=hvc0 loglevel=5 lab_run=$run $exp lab_dm_ims=$dm_ims lab_xen=$labxen lab_malloc_check=${LAB_MALLOC_CHECK:-0} lab_guest_wait=${LAB_GUEST_WAIT:-300},$B/$dom0img" \
        -serial "file:$log" > "$L/$run.qemu.log" 2>&1 &
    local pid=$! size=-1 same=0 now
    # A boot that prints nothing for $stall_s seconds is stuck (seen once
    # in dom0's early boot on an overloaded host): stop it, do not wait for
    # the hard timeout.
    while kill -0 $pid 2>/dev/null; do
        sleep 5
        now=$(stat -c %s "$log" 2>/dev/null || echo 0)
        if [ "$now" = "$size" ]; then same=$((same + 5)); else same=0; size=$now; fi
        if [ $same -ge $stall_s ]; then
            echo "lab: no serial output for ${stall_s}s: stopping QEMU" | tee -a "$L/$run.qemu.log"
            kill $pid; stalled=1; break
        fi
    done
    wait $pid; qrc=$?
    wall=$(( $(date +%s) - t0 ))
    echo "run=$run wall_seconds=$wall qemu_exit=$qrc stalled=$stalled" > "$L/$run.wall"
}

check() {
    local rc=0 m line unlisted
    [ -f "$L/$run.wall" ] && cat "$L/$run.wall"
    qrc=$(sed -n 's/.*qemu_exit=//p' "$L/$run.wall" 2>/dev/null)
    if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then echo "TIMEOUT after ${timeout_s}s"; rc=1; fi
    if grep -q 'stalled=1' "$L/$run.wall" 2>/dev/null; then echo "STALLED: no serial output for ${stall_s}s"; rc=1; fi
    for m in $markers; do
        line=$(grep -a "^IMS-LAB: $m " "$log" | tail -1 | tr -d '\r')
        case "$line" in
        "IMS-LAB: $m ok"*)   echo "ok      $m" ;;
        "IMS-LAB: $m FAIL"*) echo "FAIL    $m: ${line#IMS-LAB: $m FAIL }"; rc=1 ;;
        *)                   echo "MISSING $m"; rc=1 ;;
        esac
    done
    # any FAIL marker, also one not in the list
    unlisted=$(grep -a '^IMS-LAB: [^ ]* FAIL' "$log" | tr -d '\r' |
               grep -v -F -f <(for m in $markers; do echo "IMS-LAB: $m FAIL"; done))
    [ -z "$unlisted" ] || { echo "$unlisted" | sed 's/^/FAIL    (unlisted) /'; rc=1; }
    grep -a '^IMS-LAB-END' "$log" | tr -d '\r'
    echo "result=$([ $rc = 0 ] && echo PASS || echo FAIL)"
    return $rc
}

main() {
    local only_check=0
    if [ "${1:-}" = --check ]; then only_check=1; shift; fi
    run=${1:?usage: run.sh [--check] amd|intel|nointremap|smoke|hv|stubdom|stubdom-intel|stubdom-hv}
    setup
    [ $only_check = 1 ] || boot
    check > "$L/$run.result"; local rc=$?
    cat "$L/$run.result"
    echo "lab: serial log $log"
    return $rc
}

main "$@"; exit
