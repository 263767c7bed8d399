#!/bin/sh
# The proof's HVM guest /init.  Loads ims_probe_drv.ko (the guest kernel's
# own MSI path, as ath11k), then for every edu that dom0 plugs in (at
# create, then by xl pci-attach with another ims_policy) runs ims-probe in
# both modes and waits for the device to go:
#   driver: ims_probe_drv bound to edu (pci_alloc_irq_vectors, request_irq)
#   raw:    driver unbound, MSI enabled by raw config-space writes (hand-run)
# The cell's name comes from dom0 through xenstore (data/ims-cell).
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
export PATH=/bin:/usr/bin LD_LIBRARY_PATH=/lib
echo "GUEST-OK $(uname -r) uptime $(cut -d' ' -f1 /proc/uptime)"
insmod /lib/ims_probe_drv.ko || echo "GUEST-ERROR insmod ims_probe_drv"
edu() {
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat $d/vendor 2>/dev/null):$(cat $d/device 2>/dev/null)" = 0x1234:0x11e8 ] && { echo ${d##*/}; return; }
    done
}
echo "GUEST-READY"
while :; do
    b=$(edu)
    if [ -z "$b" ]; then sleep 1; continue; fi
    # (retried: a read right after boot has been seen to fail)
    cell=; i=0
    while [ -z "$cell" ] && [ $i -lt 10 ]; do
        cell=$(xenstore-read data/ims-cell 2>/dev/null) || { sleep 1; i=$((i + 1)); }
    done
    cell=${cell:-unknown}
    echo "GUEST-DEVICE $b cell=$cell uptime $(cut -d' ' -f1 /proc/uptime)"
    i=0; while [ $i -lt 20 ] && [ ! -e /sys/bus/pci/drivers/ims_probe_drv/$b ]; do sleep 1; i=$((i + 1)); done
    dmesg | grep -E 'ims_probe' | tail -1 | sed 's/^/GUEST-DMESG /'
    /bin/ims-probe --mode driver --bdf $b --cell "$cell"
    echo $b > /sys/bus/pci/drivers/ims_probe_drv/unbind 2>/dev/null
    sleep 1
    /bin/ims-probe --mode raw --bdf $b --cell "$cell"
    dmesg | grep -E 'No irq handler' | tail -2 | sed 's/^/GUEST-DMESG /'
    echo "GUEST-CELL-DONE cell=$cell"
    while [ -n "$(edu)" ]; do sleep 1; done
    echo "GUEST-DEVICE-GONE $b cell=$cell"
done
