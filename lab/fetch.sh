#!/bin/bash
# Fetch the lab's Debian packages into $LAB/debs and unpack them into
# $LAB/deb (dpkg-deb -x, nothing installed there).  On the host itself only
# the outer emulator (qemu-system-x86) and Debian's device model
# (qemu-system-xen, whose shared libraries are copied into dom0) are
# installed with apt-get.
set -eu
: "${LAB:?}"
DEBS=$LAB/debs
ROOT=$LAB/deb
TOP=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "lab: error: $*" >&2; exit 1; }
say() { echo "lab: $*"; }
# shellcheck source=../scripts/debian-lib.sh
. "$TOP/scripts/debian-lib.sh"
install_missing qemu-system-x86 qemu-system-xen

# The kernel: whatever linux-image-amd64 points at today.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
       sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
[ -n "$kpkg" ] || { echo "lab: cannot resolve linux-image-amd64" >&2; exit 1; }

pkgs="xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils busybox-static
      seabios qemu-system-xen $kpkg"

mkdir -p "$DEBS"
stamp=$LAB/deb.stamp
want=$(echo $pkgs)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$ROOT" ]; then
    exit 0
fi
echo "lab: apt-get download $want"
( cd "$DEBS" && apt-get download $pkgs 2>&1 | grep -v '^W: Download is performed unsandboxed' ) || true
rm -rf "$ROOT"; mkdir -p "$ROOT"
for p in $pkgs; do
    f=$(ls -t "$DEBS"/${p}_*.deb 2>/dev/null | head -1)
    [ -n "$f" ] || { echo "lab: $p did not download" >&2; exit 1; }
    dpkg-deb -x "$f" "$ROOT"
    echo "$(basename "$f")"
done > "$LAB/packages.txt"
echo "$want" > "$stamp"
