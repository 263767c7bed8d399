# Shared by the scripts that fetch Debian sources and install build
# dependencies (scripts/xen-tree.sh, scripts/qemu-tree.sh,
# scripts/xen-hv.sh, lab/fetch.sh, guest/linux/kernel-tree.sh).  Sourced;
# the caller defines die and say.  Also brings scripts/lib.sh (sha256
# pins, patch queues).  Run as a script, it calls a function of its own:
#   scripts/debian-lib.sh install_missing PACKAGE...

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Installs the named packages that are not installed yet (apt-get update
# first), as root; without root, names them and stops.
install_missing() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]} (run as root, or install them)"
    say "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 update -q
    apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
}

# apt-get source needs deb-src entries: add ones mirroring the deb entries.
# $1 names what a user without root can do instead (e.g. "set XEN_SRC_TARBALL").
ensure_deb_src() {
    local alt=$1 src=/etc/apt/sources.list.d/debian.sources
    if grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ ||
       grep -qs '^deb-src' /etc/apt/sources.list; then
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "no deb-src entries in apt's sources (run as root, or $alt)"
    if [ -f "$src" ]; then
        sed -e 's/^Types: deb$/Types: deb-src/' "$src" \
            > /etc/apt/sources.list.d/xen-pci-ims-src.sources
    elif [ -f /etc/apt/sources.list ]; then
        sed -n -e 's/^deb /deb-src /p' /etc/apt/sources.list \
            > /etc/apt/sources.list.d/xen-pci-ims-src.list
    else
        die "cannot find apt sources to mirror as deb-src ($alt)"
    fi
    apt-get -o DPkg::Lock::Timeout=900 update -q
}

# Run as a script: debian-lib.sh FUNCTION ARGS...
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    die() { echo "${DEBIAN_LIB_WHO:-deps}: error: $*" >&2; exit 1; }
    say() { echo "${DEBIAN_LIB_WHO:-deps}: $*"; }
    case "${1:-}" in
    install_missing) shift; install_missing "$@" ;;
    *) echo "usage: $0 install_missing PACKAGE..." >&2; exit 2 ;;
    esac
fi
