#!/bin/sh
# The proof's HVM guest /init: run ims-probe in both modes and power off.
#   driver: ims_probe_drv.ko (the guest kernel's own MSI path, as ath11k)
#   raw:    MSI enabled by raw config-space writes (as the hand-run)
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
export PATH=/bin:/usr/bin LD_LIBRARY_PATH=/lib
cell=guest
for kv in $(cat /proc/cmdline); do case "$kv" in ims_cell=*) cell=${kv#ims_cell=} ;; esac; done
echo "GUEST-OK $(uname -r) cell=$cell uptime $(cut -d' ' -f1 /proc/uptime)"
insmod /lib/ims_probe_drv.ko && sleep 1
dmesg | grep -E 'ims_probe' | tail -2
/bin/ims-probe --mode driver --cell "$cell"
rmmod ims_probe_drv
sleep 1
/bin/ims-probe --mode raw --cell "$cell"
dmesg | grep -E 'No irq handler' | tail -3 | sed 's/^/GUEST-DMESG /'
echo "GUEST-PROOF-DONE cell=$cell"
sleep 1
poweroff -f
