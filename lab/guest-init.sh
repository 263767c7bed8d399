#!/bin/sh
# The lab guests' /init: report what PCI devices the guest sees, then keep
# watching (hot-plug) until dom0 destroys the domain.  Its console is a file
# in dom0 (serial = "file:..."), which dom0's /init reads.
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "GUEST-OK $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime)"
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
scan
echo "GUEST-SCAN-DONE"
while sleep 2; do scan; done
