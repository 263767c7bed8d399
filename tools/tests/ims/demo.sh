#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: what libxl would do when attaching real devices (config-space
# dumps of a Lenovo WCN6855 Wi-Fi card, driven by ath11k, and a Realtek NIC)
# to an HVM guest: per fake host, which strategy policy auto picks and what
# the guest's driver must do for it.  Xen is not running here, so whatever
# only Xen can answer (whether it accepts the remap flag) stays pending, and
# the demo says so rather than guess.
set -u
: "${XL:?}" "${IMS_FIXTURES:?}" "${IMS_TOP:?}"
T=$(mktemp -d /tmp/ims-demo.XXXXXX)
trap 'rm -rf "$T"' EXIT

export LIBXL_IMS_DB=$(cd "$IMS_TOP/../../examples" && pwd)/ims-quirks.cfg
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

# One row from xl pci-ims-explain -j: policy, strategy, outcome, the
# candidates with their verdicts, and what the guest needs.  libxl's JSON
# leaves out fields at their zero value (none), like xl list -l.
row() { # label, then the JSON on stdin
    python3 -c '
import json, sys
j = json.load(sys.stdin)
outcome = j.get("outcome", "none")
cands = " ".join("%s:%s" % (c["strategy"], c["verdict"])
                 for c in j.get("candidates") or []) or "-"
needs = {"nothing": "nothing: an unmodified driver",
         "msi_readback": "a driver that reads address and data back",
         "export_reader": "the patched driver (device/pci-ims)"}
if outcome == "applied":
    guest = needs[j.get("guest_needs", "nothing")]
elif outcome == "pending":
    guest = "pending: " + ("what Xen says" if j.get("strategy") == "remap"
                           else "what the device model says")
elif outcome == "none" and not (j.get("match") or {}).get("matched"):
    guest = "- (passed through as usual)"
elif outcome == "refused":
    guest = "- (the attach fails)"
else:
    guest = "- (no strategy: its interrupts are lost)"
print("%-17s %-7s %-8s %-9s %-33s %s" % (sys.argv[1], j.get("policy", "-"),
      j.get("strategy", "none"), outcome, cands, guest))
' "$1"
}
header() {
    printf '%-17s %-7s %-8s %-9s %-33s %s\n' host policy strategy outcome \
        candidates "guest needs"
}
plan() { # label, host, then xl pci-ims-explain's arguments
    local label=$1 h=$2 j
    shift 2
    j=$(LIBXL_IMS_ROOT=$T/$h "$XL" pci-ims-explain -j "$@") || exit 1
    row "$label" <<<"$j" || exit 1
}

echo "Database: $LIBXL_IMS_DB"
"$XL" pci-ims-db-check "$LIBXL_IMS_DB" || exit 1
echo

export LIBXL_IMS_PCI_DUMP=$IMS_FIXTURES/pci/wcn6855-lenovo.lspci
echo "== wcn6855-lenovo (04:00.0, ath11k): which strategy auto picks, per host"
echo "   (a new HVM domain with the device in its config; a device model with x-ims)"
echo
header
plan "AMD-Vi + IR" amd-ir -m "$FAKE_DM" 04:00.0
plan "  on stock Xen" amd-ir -p export -m "$FAKE_DM" 04:00.0
plan "VT-d + IR" intel-ir -m "$FAKE_DM" 04:00.0
plan "AMD-Vi, IR off" amd-noir -m "$FAKE_DM" 04:00.0
plan "VT-d, IR unknown" intel-noir -m "$FAKE_DM" 04:00.0
plan "AMD-Vi, IR off" amd-noir -p strict -m "$FAKE_DM" 04:00.0
cat <<'EOF'

AMD-Vi + IR: remap is pending because only Xen can say whether it accepts
  XEN_DOMCTL_DEV_IMS_REMAP, and Xen is not running here.  At attach, on a
  hypervisor with the xen-pci-ims patches (make xen-hypervisor) Xen says
  yes: remap, and an unmodified ath11k gets its interrupts (libxl creates
  the domain without HVM pirqs, so its MSIs carry a vector).  On stock Xen
  4.17 Xen refuses the flag: auto takes the next candidate, export (the
  "on stock Xen" row, made with -p export): the guest needs the patched
  driver.
VT-d + IR: expose; the device model shows the physical address with SHV
  cleared, so an unmodified ath11k gets its interrupts.
Without interrupt remapping (off, or not known to be on): no strategy at
  all, under auto (degraded) as under strict (refused).

EOF

echo "== The same device with Debian's device model ($STOCK_DM)"
echo
header
plan "AMD-Vi + IR" amd-ir -m "$STOCK_DM" 04:00.0
plan "VT-d + IR" intel-ir -m "$STOCK_DM" 04:00.0
echo
echo "remap needs no device model change; expose and export need x-ims."
echo

export LIBXL_IMS_PCI_DUMP=$IMS_FIXTURES/pci/rtl8111-lenovo.lspci
echo "== rtl8111-lenovo (03:00.0): not in the database, passed through as usual"
echo
header
plan "AMD-Vi + IR" amd-ir -m "$FAKE_DM" 03:00.0
plan "VT-d + IR" intel-ir -m "$FAKE_DM" 03:00.0
echo

export LIBXL_IMS_PCI_DUMP=$IMS_FIXTURES/pci/wcn6855-lenovo.lspci
echo "== One plan in full: WCN6855 on an AMD host with interrupt remapping"
LIBXL_IMS_ROOT=$T/amd-ir "$XL" pci-ims-explain -m "$FAKE_DM" 04:00.0 || exit 1
