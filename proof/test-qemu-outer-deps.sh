#!/bin/bash
# make proof-qemu on a fresh machine: qemu-outer.sh installs what its
# build needs (Meson first of all) before it fetches or configures.  Run
# against stubs: dpkg-query says nothing is installed, apt-get records
# what it is asked; nothing is installed or built.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "ok - $1"; }
nok() { failed=$((failed + 1)); echo "not ok - $1"; }

if [ "$(id -u)" != 0 ]; then
    echo "skip - qemu-outer.sh installs packages only as root"
    echo "0 passed, 0 failed, 1 skipped"
    exit 77
fi
mkdir -p "$T/bin"
printf '#!/bin/sh\nexit 1\n' > "$T/bin/dpkg-query"
printf '#!/bin/sh\necho "$*" >> %s/apt.log\n' "$T" > "$T/bin/apt-get"
chmod +x "$T/bin/"*

rc=0
PATH=$T/bin:$PATH BUILD=$T/build timeout 60 "$TOP/proof/qemu-outer.sh" deps \
    > "$T/out" 2>&1 || rc=$?
if [ $rc -eq 0 ]; then ok "qemu-outer.sh deps succeeds"; else
    nok "qemu-outer.sh deps succeeds (exit $rc)"; sed 's/^/#   /' "$T/out"; fi
for p in meson ninja-build pkg-config libglib2.0-dev libpixman-1-dev \
         libfdt-dev seabios qemu-system-data; do
    # (apt-get's options, e.g. -o DPkg::Lock::Timeout=..., come first)
    if grep -Eq "(^| )install( .*)? $p( |$)" "$T/apt.log" 2>/dev/null; then
        ok "it installs $p"
    else
        nok "it installs $p"
    fi
done
if [ ! -e "$T/build/qemu-outer" ]; then ok "deps builds nothing"; else
    nok "deps builds nothing"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
