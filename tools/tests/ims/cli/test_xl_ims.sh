#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Scripted runs of the built xl: the pci-ims-* commands and their errors,
# where Xen is not running (as on a build machine).
. "$(dirname "$0")/lib.sh"

: "${XL:?}" "${IMS_FIXTURES:?}" "${IMS_TOP:?}"
DUMP=$IMS_FIXTURES/pci/wcn6855-lenovo.lspci
EXAMPLE=$IMS_TOP/../../examples/ims-quirks.cfg
STOCK_DM=/usr/libexec/xen-qemu-system-i386
FAKE_DM=$IMS_TOP/fake-dm-x-ims

# Keep the tests off the host's own files and database.
export LIBXL_IMS_ROOT=$T/amd LIBXL_IMS_DB=$EXAMPLE
fake_host "$T/amd" amd on
fake_host "$T/intel" intel on
fake_host "$T/amd-noir" amd off
cp "$EXAMPLE" "$T/db.cfg"

run "$XL" help
expect_rc "xl help works without Xen" 0
for c in pci-ims-db-check pci-ims-explain pci-ims-list pci-ims-facts; do
    expect_out "xl help lists $c" "^ $c "
done

run "$XL" pci-ims-db-check "$EXAMPLE"
expect_rc "the shipped database is clean" 0

printf '17cb:1103,amd=expose\n17cb:11zz,intel=export\n17cb:1104,bogus=1\n' > "$T/bad.cfg"
run "$XL" pci-ims-db-check "$T/bad.cfg"
expect_rc "a bad database fails the check" 1
expect_err "bad hex is reported at file:line:column" "bad.cfg:2:[0-9]+: error: "
expect_err "every problem is reported, not only the first" "bad.cfg:3:[0-9]+: error: .*bogus"

run "$XL" pci-ims-db-check -j "$EXAMPLE"
expect_rc "db-check -j" 0
expect_json "db-check -j lists WCN6855 17cb:1103" \
    "any(e['vendor']==0x17cb and e['device']==0x1103 for e in j)"

export LIBXL_IMS_PCI_DUMP=$DUMP
run "$XL" pci-ims-explain -m "$FAKE_DM" 04:00.0
expect_rc "explain: AMD with remapping" 0
expect_out "explain names the device" "17cb:1103 subsystem 17aa:9309"
expect_out "explain gives the database line" "^Database: .*ims-quirks.cfg:[0-9]+"
expect_out "AMD + remapping: remap first, pending on Xen's answer" "strategy: remap"
expect_out "... pending: Xen is not running here" "outcome:  pending"
expect_out "... the database's list is shown" "amd=remap\\|export"
expect_out "... the guest's MSIs of a new domain carry vectors" "guest MSIs: +vector"

run "$XL" pci-ims-explain -j -m "$FAKE_DM" 04:00.0
expect_json "explain -j: strategy remap, outcome pending, candidates listed" \
    "j['strategy']=='remap' and j['outcome']=='pending' and j['facts']['iommu']=='amd' and [c['strategy'] for c in j['candidates']]==['remap','export'] and j['candidates'][1]['verdict']=='not_tried'"

run "$XL" pci-ims-explain -j -p export -m "$FAKE_DM" 04:00.0
expect_json "forced export: the export path for QEMU, a patched driver needed" \
    "j['strategy']=='export' and j['qemu_props']['x-ims']=='export' and j['qemu_props']['x-ims-path'].startswith('/local/domain/') and j['guest_needs']=='export_reader'"

LIBXL_IMS_ROOT=$T/intel run "$XL" pci-ims-explain -j -m "$FAKE_DM" 04:00.0
expect_json "Intel: expose applied, an unmodified driver served" \
    "j['strategy']=='expose' and j['outcome']=='applied' and j['qemu_props']['x-ims']=='expose' and j['guest_needs']=='nothing'"

LIBXL_IMS_ROOT=$T/amd-noir run "$XL" pci-ims-explain -m "$FAKE_DM" 04:00.0
expect_out "AMD without remapping: no strategy at all" "outcome:  degraded"
expect_out "... with a warning that says how to turn remapping on" "^Warning: remap cannot be used: interrupt remapping is off.*no-intremap"

LIBXL_IMS_ROOT=$T/amd-noir run "$XL" pci-ims-explain -j -p export -m "$FAKE_DM" 04:00.0
expect_json "forced export without remapping: refused" "j['outcome']=='refused'"

LIBXL_IMS_ROOT=$T/amd-noir run "$XL" pci-ims-explain -j -p strict -m "$FAKE_DM" 04:00.0
expect_json "strict without remapping: refused" "j['outcome']=='refused'"

if [ -x "$STOCK_DM" ]; then
    LIBXL_IMS_ROOT=$T/intel run "$XL" pci-ims-explain -j -m "$STOCK_DM" 04:00.0
    expect_json "Debian's device model has no x-ims: auto degrades on Intel" \
        "j['facts']['qemu_ims']=='no' and j['outcome']=='degraded'"
fi

# libxl's JSON (like xl list -l) leaves out fields with value 0:
# strategy "none", intremap "unknown".
run "$XL" pci-ims-explain -j --pv -m "$FAKE_DM" 04:00.0
expect_json "PV guest: nothing to do" "j.get('strategy','none')=='none'"

run "$XL" pci-ims-explain -j -p off -m "$FAKE_DM" 04:00.0
expect_json "policy off: nothing to do" "j.get('strategy','none')=='none' and j['policy']=='off'"

LIBXL_IMS_PCI_DUMP=$IMS_FIXTURES/pci/rtl8111-lenovo.lspci \
    run "$XL" pci-ims-explain -j -m "$FAKE_DM" 03:00.0
expect_json "a NIC not in the database: none" \
    "j.get('strategy','none')=='none' and not j['match'].get('matched')"
LIBXL_IMS_PCI_DUMP=$IMS_FIXTURES/pci/rtl8111-lenovo.lspci \
    run "$XL" pci-ims-explain -j -p expose -m "$FAKE_DM" 03:00.0
expect_json "... unless forced (expose)" "j['strategy']=='expose'"

run "$XL" pci-ims-explain -p sometimes 04:00.0
expect_rc "unknown policy: exit 1" 1
expect_err "... naming the values" "expected off, auto, strict, expose, export or remap"
run "$XL" pci-ims-explain 4:0:0
expect_rc "bad BDF: exit 1" 1
run "$XL" pci-ims-explain 05:00.0
expect_rc "a device not in the dump: exit 1" 1
LIBXL_IMS_PCI_DUMP=$T/nonexistent run "$XL" pci-ims-explain 04:00.0
expect_rc "unreadable dump: exit 1" 1

run "$XL" pci-ims-facts -j
expect_json "facts -j from the record" "j['iommu']=='amd' and j['intremap']=='on'"

rm -rf "$T/boot"; mkdir -p "$T/boot/proc/sys/kernel/random"
printf 'processor\t: 0\nvendor_id\t: GenuineIntel\n' > "$T/boot/proc/cpuinfo"
echo "$BOOT_ID" > "$T/boot/proc/sys/kernel/random/boot_id"
LIBXL_IMS_ROOT=$T/boot run "$XL" pci-ims-facts --record
expect_rc "facts --record without Xen" 0
if [ -f "$T/boot/var/run/xen/ims-host-facts" ]; then
    ok "--record writes /var/run/xen/ims-host-facts under the root"
else
    nok "--record writes /var/run/xen/ims-host-facts under the root" "$out$err"
fi
if grep -qx "boot_id=$BOOT_ID" "$T/boot/var/run/xen/ims-host-facts"; then
    ok "--record writes this boot's id"
else
    nok "--record writes this boot's id" "$(cat "$T/boot/var/run/xen/ims-host-facts")"
fi
LIBXL_IMS_ROOT=$T/boot run "$XL" pci-ims-facts -j
expect_json "the record of this boot is used" "j['iommu_source'].startswith('record ')"
echo 0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b > "$T/boot/proc/sys/kernel/random/boot_id"
LIBXL_IMS_ROOT=$T/boot run "$XL" -v pci-ims-facts -j
expect_json "after a reboot the old record is not used" "not j['iommu_source'].startswith('record ')"
expect_err "... and a warning says why" "not recorded in this boot"
LIBXL_IMS_ROOT=$T/boot run "$XL" pci-ims-facts -j
expect_json "without Xen, remapping is unknown (counts as off)" \
    "j.get('intremap','unknown')=='unknown'"

run "$XL" pci-ims-list -j
expect_json "pci-ims-list finds the WCN6855 in the dump" \
    "any(p['bdf']=='0000:04:00.0' and p['strategy']=='remap' for p in j['host'])"

# make demo (README's main command) runs these same commands.
run bash "$IMS_TOP/demo.sh"
if [ "$rc" = 0 ] && ! grep -q Traceback <<<"$out$err" &&
   grep -q "wcn6855-lenovo" <<<"$out"; then
    ok "make demo runs clean"
else
    nok "make demo runs clean" "$out$err"
fi

finish
