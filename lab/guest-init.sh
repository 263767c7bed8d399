#!/bin/sh
# The lab guests' /init: report what PCI devices the guest sees, then keep
# watching (hot-plug) until dom0 destroys the domain.  Its console is a file
# in dom0 (serial = "file:..."), which dom0's /init reads.
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "GUEST-OK $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime)"
# Xen's feature word 0 as the guest sees it (XENFEAT_hvm_pirqs is bit 10)
# and how many interrupts it routes over event channels as pirqs
echo "GUEST-XENFEAT features=$(cat /sys/hypervisor/properties/features 2>/dev/null || echo none) xen-pirq=$(grep -c xen-pirq /proc/interrupts)"
seen=
scan() {
    now=
    for d in /sys/bus/pci/devices/*; do
        [ -e "$d/vendor" ] || continue
        id="${d##*/}=$(cat $d/vendor):$(cat $d/device)"
        now="$now $id"
        case " $seen " in *" $id "*) ;; *)
            echo "GUEST-PCI-ADD $id"
            if [ "$(cat $d/vendor)" = 0x1234 ]; then
                # MSI capability as the guest sees it (edu: at 0x40)
                od -A x -t x1 -j 64 -N 16 $d/config | head -1 | sed "s/^/GUEST-MSI-CAP ${d##*/} /"
            fi ;;
        esac
    done
    for id in $seen; do
        case " $now " in *" $id "*) ;; *) echo "GUEST-PCI-DEL $id" ;; esac
    done
    seen=$now
}
# Program the first edu's MSI through config space, as a driver would (there
# is no edu driver): address fee00000, data 0x55, then enable with one 16-bit
# write (byte-wise does not enable it); read back what the guest sees.  With
# today's device model the guest reads its own (virtual) values; with
# x-ims=expose it reads the physical values Xen programmed.
cfgw() { # cfgw DEV OFFSET WIDTH VALUE
    v=$4; i=0; s=""
    while [ $i -lt $3 ]; do s="$s\\x$(printf %02x $(( (v >> (8 * i)) & 255 )))"; i=$((i + 1)); done
    printf "$s" > /tmp/w
    dd if=/tmp/w of=$1/config bs=$3 seek=$(($2 / $3)) count=1 conv=notrunc 2>/dev/null
}
cfgr() { od -An -tx4 -j $2 -N 4 $1/config | tr -d ' '; }
for d in /sys/bus/pci/devices/*; do
    [ "$(cat $d/vendor):$(cat $d/device)" = 0x1234:0x11e8 ] || continue
    cfgw $d 4 2 6
    cfgw $d 68 4 0xfee00000; cfgw $d 72 4 0; cfgw $d 76 2 0x55; cfgw $d 66 2 0x81
    sleep 1
    echo "GUEST-MSI-READBACK ${d##*/} addr=$(cfgr $d 68) hi=$(cfgr $d 72) data=$(cfgr $d 76) ctrl=$(cfgr $d 64)"
    break
done
scan
echo "GUEST-SCAN-DONE"
while sleep 2; do scan; done
