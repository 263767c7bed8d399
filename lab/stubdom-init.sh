#!/bin/sh
# /init of the lab's Linux stub domain (lab/mkstubdom.sh): run the HVM
# guest's device model the way libxl 4.17 expects a Linux stub domain to.
#
#  - libxl writes the device model's arguments, one per key, under
#    <guest's vm path>/image/dm-argv/NNN (argument 0, the binary, is not
#    there), and leaves the QMP monitor to us;
#  - libxl's QMP client reaches QEMU through vchan-socket-proxy: dom0's end
#    (started by libxl) connects to the vchan this domain serves at
#    device-model/<guest>/qmp-vchan, which we relay to QEMU's QMP socket;
#  - the guest's serial ports are this domain's consoles 3 and up
#    (/dev/hvcN, in the arguments), which dom0 writes where the guest's
#    config says.
# Everything is printed on console 0, which libxl logs in dom0
# (/var/log/xen/qemu-dm-<guest>-dm.log).
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
echo "STUBDOM: $(cat /provenance | tr '\n' ';')"
# Since XSA-482, privcmd in a domU refuses the device model's hypercalls
# for its target (Debian's 6.1.192 answers EPERM to the ioreq server's
# creation) unless loaded unrestricted; Xen still allows this domain
# nothing but its target.
for m in $(cat /lib/modules/order); do
    o=; [ $m = xen-privcmd ] && o=unrestricted=1
    insmod /lib/modules/$m.ko $o || echo "STUBDOM: insmod $m failed"
done

target=$(xenstore-read target)
vm=$(xenstore-read /local/domain/$target/vm)
echo "STUBDOM: device model of domain $target ($vm)"
# The arguments in key order, each one word even with spaces in it.
set --
for k in $(xenstore-list "$vm/image/dm-argv" | sort); do
    set -- "$@" "$(xenstore-read "$vm/image/dm-argv/$k")"
done
echo "STUBDOM: qemu $*"

/usr/libexec/xen-qemu-system-i386 \
    -chardev socket,id=libxl-cmd,path=/run/qmp.sock,server=on,wait=off \
    -mon chardev=libxl-cmd,mode=control -trace 'enable=xen_*ioreq*' "$@" &
qemu=$!
i=0
while [ ! -S /run/qmp.sock ] && [ $i -lt 600 ]; do
    kill -0 $qemu 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
done
# dom0 is the toolstack domain (libxl's proxy connects from domain 0)
vchan-socket-proxy --mode=server 0 device-model/$target/qmp-vchan /run/qmp.sock &
echo "STUBDOM: QEMU pid $qemu, QMP relayed at device-model/$target/qmp-vchan"
wait $qemu
echo "STUBDOM: QEMU exited with status $?"
dmesg | tail -20 | sed 's/^/STUBDOM: dmesg: /' 
# Nothing to serve any more: libxl destroys this domain with the guest.
while :; do sleep 3600; done
