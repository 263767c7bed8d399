#!/bin/bash
# make demo: what libxl would do when attaching real devices (config-space
# dumps of a Lenovo WCN6855 Wi-Fi card and a Realtek NIC) to an HVM guest,
# on fake AMD and Intel hosts with and without interrupt remapping, with
# Debian's device model and with one that has the x-ims property.
set -u
: "${XL:?}" "${IMS_FIXTURES:?}" "${IMS_TOP:?}"
T=$(mktemp -d /tmp/ims-demo.XXXXXX)
trap 'rm -rf "$T"' EXIT

export LIBXL_IMS_DB=$IMS_TOP/../../examples/ims-quirks.cfg
STOCK_DM=/usr/libexec/xen-qemu-system-i386
FAKE_DM=$IMS_TOP/fake-dm-x-ims

BOOT_ID=5d1c7e0a-3f4b-4c6e-9a1d-2b3c4d5e6f70
host() { # name iommu intremap (a record of the fake host's boot)
    mkdir -p "$T/$1/var/run/xen" "$T/$1/proc/sys/kernel/random"
    echo "$BOOT_ID" > "$T/$1/proc/sys/kernel/random/boot_id"
    printf 'boot_id=%s\niommu=%s\nintremap=%s\nsource=demo\n' "$BOOT_ID" "$2" "$3" \
        > "$T/$1/var/run/xen/ims-host-facts"
}
host amd-ir amd on
host amd-noir amd off
host intel-ir intel on
host intel-noir intel unknown

# libxl's JSON leaves out fields at their zero value (none), like xl list -l.
field() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

echo "Database: $LIBXL_IMS_DB"
"$XL" pci-ims-db-check "$LIBXL_IMS_DB" || exit 1
echo

for dev in "wcn6855-lenovo 04:00.0" "rtl8111-lenovo 03:00.0"; do
    set -- $dev
    export LIBXL_IMS_PCI_DUMP=$IMS_FIXTURES/pci/$1.lspci
    echo "== $1 ($2), policy auto, HVM guest"
    printf '%-11s %-15s %-8s %-9s %-9s %s\n' host "device model" strategy \
        outcome QEMU "xenstore (guest-visible)"
    for h in amd-ir amd-noir intel-ir intel-noir; do
        for dm in stock x-ims; do
            bin=$STOCK_DM; [ $dm = x-ims ] && bin=$FAKE_DM
            j=$(LIBXL_IMS_ROOT=$T/$h "$XL" pci-ims-explain -j -m "$bin" "$2") || exit 1
            printf '%-11s %-15s %-8s %-9s %-9s %s\n' $h $dm \
                "$(field "j.get('strategy', 'none')" <<<"$j")" \
                "$(field "j.get('outcome', 'none')" <<<"$j")" \
                "$(field "(j.get('qemu_props') or {}).get('x-ims','-')" <<<"$j")" \
                "$(field "len([e for e in (j.get('xenstore') or []) if e['path'].startswith('/local/domain')])" <<<"$j") keys"
        done
    done
    echo
done

export LIBXL_IMS_PCI_DUMP=$IMS_FIXTURES/pci/wcn6855-lenovo.lspci
echo "== One plan in full: WCN6855 on an AMD host without interrupt remapping"
LIBXL_IMS_ROOT=$T/amd-noir "$XL" pci-ims-explain -m "$FAKE_DM" 04:00.0
echo
echo "== The same with policy strict"
LIBXL_IMS_ROOT=$T/amd-noir "$XL" pci-ims-explain -p strict -m "$FAKE_DM" 04:00.0
