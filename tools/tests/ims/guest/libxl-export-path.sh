#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Prints the xenstore directory the built libxl hands to the device model
# (x-ims-path) for a device with the export strategy: the plan of the
# built xl's pci-ims-explain -j -p export, on a fake AMD host with the
# WCN6855 fixture, where Xen is not running.  make check-guest gives it to
# test_guest_parse (IMS_LIBXL_EXPORT_PATH), which holds the guest's
# XEN_IMS_DIR_FMT to it.
#   libxl-export-path.sh XEN_TREE      (a built $(BUILD)/xen)
set -euo pipefail
xen=${1:?usage: $0 XEN_TREE}
ims=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$xen/tools/xl/xl" ] || { echo "libxl-export-path: $xen/tools/xl/xl is not built (run make)" >&2; exit 1; }
T=$(mktemp -d /tmp/ims-guest.XXXXXX)
trap 'rm -rf "$T"' EXIT
boot=5d1c7e0a-3f4b-4c6e-9a1d-2b3c4d5e6f70
mkdir -p "$T/var/run/xen" "$T/proc/sys/kernel/random"
echo "$boot" > "$T/proc/sys/kernel/random/boot_id"
printf 'boot_id=%s\niommu=amd\nintremap=on\nsource=test fixture\n' "$boot" \
    > "$T/var/run/xen/ims-host-facts"
lib=
for l in toollog evtchn toolcore ctrl store hypfs guest call foreignmemory \
         devicemodel gnttab light util; do
    lib=$lib${lib:+:}$xen/tools/libs/$l
done
LD_LIBRARY_PATH=$lib LIBXL_IMS_ROOT=$T LIBXL_IMS_DB=$ims/../../examples/ims-quirks.cfg \
LIBXL_IMS_PCI_DUMP=$ims/fixtures/pci/wcn6855-lenovo.lspci \
    "$xen/tools/xl/xl" pci-ims-explain -j -p export -m "$ims/fake-dm-x-ims" 04:00.0 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["qemu_props"]["x-ims-path"])'
