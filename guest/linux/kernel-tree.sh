#!/bin/bash
# Debian bookworm's Linux source + guest/linux/patches/linux-T/series, for
# the compile test of the guest driver patches (docs/guest-linux.md).
#
#   guest/linux/kernel-tree.sh deps    [T...]  install build dependencies (apt-get)
#   guest/linux/kernel-tree.sh fetch   [T...]  download and verify the pinned packages
#   guest/linux/kernel-tree.sh sync    [T...]  unpack (once), then make the tree equal
#                                             to Debian's source + the series
#   guest/linux/kernel-tree.sh prepare [T...]  Debian's .config (+ ath11k/ath12k/Xen),
#                                             make modules_prepare (once per config)
#   guest/linux/kernel-tree.sh build   [T...]  make M=<driver dir> modules, timed
#   guest/linux/kernel-tree.sh all     [T...]  all of the above
#   guest/linux/kernel-tree.sh export   T      write the commits on top of Debian's
#                                             source to guest/linux/patches/linux-T/
#   guest/linux/kernel-tree.sh dkms    [T...]  write DKMS source trees of the patched
#                                             drivers to $BUILD/guest-linux/dkms/
#   guest/linux/kernel-tree.sh dkms-test [T...] build them out of tree against
#                                             Debian's linux-headers-<abi> (unpacked,
#                                             not installed), as DKMS would
#   guest/linux/kernel-tree.sh selftest [T...] xen_ims_selftest.ko (guest/linux/selftest)
#                                             for Debian's kernel, from the synced tree,
#                                             and a boot of that kernel (no Xen) that loads it
#
# T is a tree of guest/linux/source.conf ("6.1", "6.12"); default: all.
# Trees live in $BUILD/guest-linux/linux-T (git-ignored).  Each is a git
# repository that tracks drivers/net/wireless/ath only (the rest of the
# 1 GB tree is never committed anywhere): refs/guest/pristine is Debian's
# source, HEAD one commit per patch of the series on top of it.
#
# Environment:
#   BUILD                      build directory (default: ./build)
#   JOBS                       parallel jobs (default: nproc)
#   GUEST_LINUX_DL_DIR         take the .debs from this directory instead of
#                              Debian's archive (their sha256 must match)
#   GUEST_LINUX_ACCEPT_SHA256  1: accept .debs whose sha256 differs, knowingly
#   GUEST_LINUX_QEMU_ACCEL     accelerator of the selftest boot (default: tcg;
#                              kvm hangs in some nested setups, e.g. this one)
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
HERE=$TOP/guest/linux
# shellcheck source=source.conf
. "$HERE/source.conf"
OUT=$BUILD/guest-linux
DL=${GUEST_LINUX_DL_DIR:-$OUT/dl}
JOBS=${JOBS:-$(nproc)}
ATH=drivers/net/wireless/ath
GIT() {
    git -c "user.name=xen-pci-ims developers" -c user.email=xen-pci-ims@localhost \
        -c advice.detachedHead=false "$@"
}

die() { echo "kernel-tree: error: $*" >&2; exit 1; }
# Whatever stops the script under set -e says so (die() explains itself).
set -E
trap 'rc=$?; echo "kernel-tree: error: stopped (exit $rc) at line $LINENO: $BASH_COMMAND" >&2' ERR
say() { echo "kernel-tree: $*"; }
. "$TOP/scripts/debian-lib.sh"

# Per-tree settings from source.conf: conf 6.12 VERSION -> $LINUX_6_12_VERSION
conf() {
    local v="LINUX_${1//./_}_$2"
    [ -n "${!v+x}" ] || die "tree $1: $v is not set in guest/linux/source.conf"
    printf '%s' "${!v}"
}

deb_file() { # package, version -> the .deb apt-get download wrote, if any
    # A glob, not ls | head: under pipefail a failing ls (no such file yet)
    # would end the script in f=$(deb_file ...) before the download.
    local v=${2//:/%3a} f
    for f in "$DL/${1}_${v}_"*.deb; do
        if [ -e "$f" ]; then
            printf '%s\n' "$f"
            return 0
        fi
    done
    return 0
}

deb_name() { # tree, package-var -> file name apt-get download writes
    deb_file "$(conf "$1" "$2")" "$(conf "$1" VERSION)"
}

DEPS="build-essential bc bison flex libelf-dev libssl-dev xz-utils git kmod pahole"

deps() { install_missing $DEPS; }

verify() { # file, expected sha256
    if [ "${GUEST_LINUX_ACCEPT_SHA256:-}" = 1 ] && ! sha256_is "$1" "$2"; then
        say "warning: $(basename "$1"): sha256 $SHA256_GOT, pinned $2; accepted (GUEST_LINUX_ACCEPT_SHA256=1)"
        return 0
    fi
    verify_sha256 "$1" "$2" "(guest/linux/source.conf)
The archive served a different file for the pinned version. Check it, then
pin the new checksum in guest/linux/source.conf, or set
GUEST_LINUX_ACCEPT_SHA256=1 to accept it knowingly."
}

fetch_pkg() { # package, version, sha256
    local pkg=$1 ver=$2 f tmp
    mkdir -p "$DL"
    f=$(deb_file "$pkg" "$ver")
    if [ -z "$f" ]; then
        [ -z "${GUEST_LINUX_DL_DIR:-}" ] ||
            die "$pkg $ver not found in GUEST_LINUX_DL_DIR=$DL"
        say "apt-get download $pkg=$ver"
        # apt's sandbox user cannot write to root-owned build dirs:
        # download in a world-writable temporary directory.
        tmp=$(mktemp -d)
        chmod 0777 "$tmp"
        (cd "$tmp" && apt-get download -q "$pkg=$ver") ||
            die "apt-get download $pkg=$ver failed: is that version still in the archive?
  apt-cache policy $pkg   lists the versions this machine can download;
  pin one of them in guest/linux/source.conf (with its sha256)."
        mv "$tmp"/*.deb "$DL/"
        rmdir "$tmp"
        f=$(deb_file "$pkg" "$ver")
    fi
    verify "$f" "$3"
    say "ok: $(basename "$f")"
}

fetch_one() { # tree [package kinds, default: SOURCE HEADERS]
    local t=$1 what
    for what in ${2:-SOURCE HEADERS}; do
        fetch_pkg "$(conf "$t" $what)" "$(conf "$t" VERSION)" "$(conf "$t" ${what}_SHA256)"
    done
}

tree_dir() { echo "$OUT/linux-$1"; }

series_files() { # tree -> patch files in series order
    local s=$HERE/patches/linux-$1/series
    [ -f "$s" ] || die "no series: $s"
    series_list "$s" "$HERE/patches/linux-$1"
}

unpack_one() {
    local t=$1 d src ver tmp
    d=$(tree_dir "$t")
    ver=$(conf "$t" VERSION)
    if [ -f "$d/.xen-pci-ims-pristine" ] &&
       [ "$(cat "$d/.xen-pci-ims-pristine")" = "$ver" ]; then
        return 0
    fi
    src=$(conf "$t" SOURCE)
    say "unpacking $src $ver into $d"
    rm -rf "$d" "$d.tmp"
    mkdir -p "$d.tmp"
    dpkg-deb --fsys-tarfile "$(deb_name "$t" SOURCE)" |
        tar -xO "./usr/src/$src.tar.xz" |
        tar -xJ -C "$d.tmp" --strip-components=1
    [ -f "$d.tmp/Makefile" ] || die "$src: no kernel tree in the tarball"
    # Debian's config and the exported symbols of Debian's build.
    tmp=$(mktemp -d)
    dpkg-deb -x "$(deb_name "$t" HEADERS)" "$tmp"
    cp "$tmp"/usr/src/linux-headers-*/.config "$d.tmp/.config.debian"
    cp "$tmp"/usr/src/linux-headers-*/Module.symvers "$d.tmp/Module.symvers.debian"
    rm -rf "$tmp"
    (
        cd "$d.tmp"
        GIT init -q
        GIT add -f "$ATH"
        GIT commit -q -m "Debian $src $ver ($ATH only)"
        GIT update-ref refs/guest/pristine HEAD
        echo "$ver" > .xen-pci-ims-pristine
    )
    mv "$d.tmp" "$d"
}

sync_one() {
    local t=$1 d want have p
    d=$(tree_dir "$t")
    unpack_one "$t"
    want=$(series_files "$t" | xargs cat | sha256sum | cut -d' ' -f1)
    have=$(cat "$d/.xen-pci-ims-series" 2>/dev/null || true)
    if [ "$want" = "$have" ] &&
       [ -z "$(cd "$d" && GIT status --porcelain --untracked-files=no -- "$ATH")" ]; then
        say "linux-$t: series already applied"
        return 0
    fi
    say "linux-$t: applying guest/linux/patches/linux-$t/series"
    (
        cd "$d"
        GIT am --abort >/dev/null 2>&1 || true
        GIT checkout -q --detach refs/guest/pristine
        GIT reset -q --hard refs/guest/pristine
        rm -f .xen-pci-ims-series
        series_files "$t" | while read -r p; do
            GIT am -q --keep-cr --committer-date-is-author-date "$p" ||
                die "linux-$t: $(basename "$p") does not apply"
        done
        echo "$want" > .xen-pci-ims-series
    )
    check_copy_one "$t"
}

# The pure parsing code exists twice (see guest/linux/xen_ims_parse.h):
# the copy each patch adds to the driver must equal the reference.
check_copy_one() {
    local t=$1 d f n=0
    d=$(tree_dir "$t")
    for f in "$d/$ATH"/ath1[12]k/xen_ims_parse.h; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        cmp -s "$f" "$HERE/xen_ims_parse.h" ||
            die "linux-$t: ${f#"$d"/} differs from guest/linux/xen_ims_parse.h"
    done
    say "linux-$t: $n copies of xen_ims_parse.h equal guest/linux/xen_ims_parse.h"
}

prepare_one() {
    local t=$1 d stamp
    d=$(tree_dir "$t")
    # redo when Debian's config or this function (the config edits) change
    stamp=$( (cat "$d/.config.debian"; declare -f prepare_one) | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$d/.xen-pci-ims-prepared" 2>/dev/null || true)" = "$stamp" ]; then
        say "linux-$t: already prepared"
        return 0
    fi
    say "linux-$t: Debian's config + ath11k/ath12k/Xen, make modules_prepare"
    (
        cd "$d"
        rm -f .xen-pci-ims-prepared
        cp .config.debian .config
        cp Module.symvers.debian Module.symvers
        # What the compile test needs (Debian's config has them already;
        # this keeps the test honest if it ever changes) ...
        scripts/config --enable XEN --enable XEN_PVHVM --enable XEN_PVHVM_GUEST \
                       --enable PCI_MSI --module MHI_BUS --module QRTR \
                       --module ATH11K --module ATH11K_PCI
        grep -q '^config ATH12K$' "$ATH/ath12k/Kconfig" 2>/dev/null &&
            scripts/config --module ATH12K
        # ... and what a build outside Debian's packaging cannot have:
        # Debian's signing keys, and the BTF/debug info of a full build
        # (modules only: no vmlinux to take BTF from; -g only slows us).
        scripts/config --set-str SYSTEM_TRUSTED_KEYS "" \
                       --set-str SYSTEM_REVOCATION_KEYS "" \
                       --disable MODULE_SIG_ALL \
                       --disable DEBUG_INFO_BTF --disable DEBUG_INFO_DWARF5 \
                       --disable DEBUG_INFO_DWARF4 \
                       --disable DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT \
                       --enable DEBUG_INFO_NONE
        make -s olddefconfig
        for o in XEN ATH11K ATH11K_PCI; do
            grep -Eq "^CONFIG_$o=(y|m)" .config || die "linux-$t: CONFIG_$o is not set after olddefconfig"
        done
        make -s -j"$JOBS" modules_prepare
        echo "$stamp" > .xen-pci-ims-prepared
    )
}

build_one() {
    local t=$1 d m start end
    d=$(tree_dir "$t")
    for m in $(conf "$t" MODULES); do
        [ -d "$d/$m" ] || die "linux-$t: no $m"
        say "linux-$t: make M=$m modules"
        start=$(date +%s)
        # W=1 is not upstream's default for these drivers; plain build with
        # warnings as errors for the files we touch is enforced by -Werror
        # in the drivers' own Makefiles where present.  Module.symvers is
        # Debian's: modpost fails on any symbol Debian's kernel does not
        # export.
        make -s -C "$d" -j"$JOBS" M="$m" KCFLAGS=-Werror modules
        end=$(date +%s)
        say "linux-$t: $m built in $((end - start)) s: $(cd "$d/$m" && ls ./*.ko | tr '\n' ' ')"
    done
}

export_one() {
    local t=$1 d out
    d=$(tree_dir "$t")
    out=$HERE/patches/linux-$t
    [ -d "$d/.git" ] || die "no tree $d"
    mkdir -p "$out"
    rm -f "$out"/*.patch
    (cd "$d" && GIT format-patch -q --no-signature --zero-commit -N \
        -o "$out" refs/guest/pristine..HEAD)
    (cd "$out" && ls ./*.patch | sed 's|^\./||') > "$out/series"
    say "linux-$t: wrote $(wc -l < "$out/series") patches to ${out#"$TOP"/}"
    # The tree now matches the series: no re-apply on the next sync.
    series_files "$t" | xargs cat | sha256sum | cut -d' ' -f1 > "$d/.xen-pci-ims-series"
}

# DKMS source trees: $OUT/dkms/<driver>-xen-ims-<kernel version>/ with
# dkms.conf, the patched driver directory (from the tree's HEAD: the
# series, nothing else) and the ../ headers it includes.  Bound to the
# kernel ABI the source belongs to: a driver from another kernel version
# is not built.
dkms_one() {
    local t=$1 d m drv ver abi dir mods extra i m2
    d=$(tree_dir "$t")
    [ -d "$d/.git" ] || die "no tree $d (sync first)"
    ver=$(conf "$t" VERSION); ver=${ver%%-*}
    abi=$(conf "$t" HEADERS); abi=${abi#linux-headers-}; abi=${abi%-amd64}
    for m in $(conf "$t" MODULES); do
        drv=$(basename "$m")
        dir=$OUT/dkms/$drv-xen-ims-$ver
        rm -rf "$dir"
        mkdir -p "$dir"
        # the driver directory and the ../ headers it includes
        extra=$(cd "$d/$m" && sed -n 's|^#include "\.\./\([^"]*\)".*|\1|p' ./*.[ch] |
                sort -u | sed "s|^|$(dirname "$m")/|")
        # shellcheck disable=SC2086
        (cd "$d" && GIT archive HEAD "$m" $extra) |
            tar -x -C "$dir" --strip-components="$(echo "$m" | tr -cd / | wc -c)"
        # the modules of that directory Debian's config builds (not ath11k_ahb)
        mods=$(sed -n 's/^obj-\$(\(CONFIG_[A-Z0-9_]*\)) += \([a-z0-9_]*\)\.o$/\1 \2/p' \
                   "$d/$m/Makefile" |
               while read -r c i; do
                   grep -q "^$c=m" "$d/.config" && echo "$i"
               done)
        {
            echo "# DKMS: $drv with the xen-pci-ims guest patches (docs/guest-linux.md)"
            echo "# Source: Debian $(conf "$t" SOURCE) $(conf "$t" VERSION) + guest/linux/patches/linux-$t"
            echo "PACKAGE_NAME=\"$drv-xen-ims\""
            echo "PACKAGE_VERSION=\"$ver\""
            i=0
            for m2 in $mods; do
                echo "BUILT_MODULE_NAME[$i]=\"$m2\""
                echo "BUILT_MODULE_LOCATION[$i]=\"$drv\""
                echo "DEST_MODULE_LOCATION[$i]=\"/updates/dkms\""
                i=$((i + 1))
            done
            echo "MAKE[0]=\"make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build/$drv modules\""
            echo "CLEAN=\"make -C \${kernel_source_dir} M=\${dkms_tree}/\${PACKAGE_NAME}/\${PACKAGE_VERSION}/build/$drv clean\""
            echo "# The driver source is the one of this kernel version only."
            echo "BUILD_EXCLUSIVE_KERNEL=\"^$(printf '%s' "$abi" | sed 's/[.+]/\\\\&/g')-\""
            echo "AUTOINSTALL=\"yes\""
        } > "$dir/dkms.conf"
        say "linux-$t: wrote ${dir#"$TOP"/} ($(echo $mods))"
    done
}

# What DKMS runs, against Debian's headers unpacked into $OUT/hdr-T (the
# headers packages hard-code /usr/src in one include line: rewritten).
headers_one() { # tree -> path of the unpacked linux-headers-<abi>
    local t=$1 h abi hdr k
    abi=$(conf "$t" HEADERS); abi=${abi#linux-headers-}
    h=$OUT/hdr-$t
    hdr=$h/usr/src/linux-headers-$abi
    if [ "$(cat "$h/.stamp" 2>/dev/null || true)" != "$(conf "$t" VERSION)" ]; then
        rm -rf "$h"
        mkdir -p "$h"
        for k in HEADERS HEADERS_COMMON KBUILD; do
            dpkg-deb -x "$(deb_name "$t" $k)" "$h"
        done
        sed -i "s|^include /usr/src/|include $h/usr/src/|" "$hdr/Makefile"
        conf "$t" VERSION > "$h/.stamp"
    fi
    echo "$hdr"
}

# guest/linux/selftest + ath11k's xen_ims.[ch] and xen_ims_parse.h as the
# series has them: xen_ims_selftest.ko for Debian's kernel of tree T.
selftest_one() {
    local t=$1 d hdr dir f abi vm
    d=$(tree_dir "$t")
    abi=$(conf "$t" HEADERS); abi=${abi#linux-headers-}
    hdr=$(headers_one "$t")
    dir=$OUT/selftest-$t
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$HERE"/selftest/* "$dir/"
    for f in xen_ims.c xen_ims.h xen_ims_parse.h; do
        (cd "$d" && GIT show "HEAD:$ATH/ath11k/$f") > "$dir/$f"
    done
    make -s -C "$hdr" M="$dir" -j"$JOBS" KCFLAGS=-Werror modules 2>&1 |
        grep -v '^Skipping BTF generation' || true
    [ -f "$dir/xen_ims_selftest.ko" ] || die "linux-$t: xen_ims_selftest.ko not built"
    vm=$(modinfo -F vermagic "$dir/xen_ims_selftest.ko")
    case "$vm" in "$abi "*) ;; *) die "linux-$t: xen_ims_selftest.ko has vermagic '$vm', not $abi" ;; esac
    say "linux-$t: ${dir#"$TOP"/}/xen_ims_selftest.ko for $abi"
}

# Boot Debian's kernel of tree T (no Xen) in QEMU with an edu device and
# load xen_ims_selftest.ko: it must load into the real kernel (module
# versions), find the device, get MSI and report -ENODEV (not a Xen
# guest: the driver behaves as upstream), and unload.
selftest_run_one() {
    local t=$1 dir run img out accel=${GUEST_LINUX_QEMU_ACCEL:-tcg}
    dir=$OUT/selftest-$t
    run=$dir/run
    [ -f "$dir/xen_ims_selftest.ko" ] || die "linux-$t: no xen_ims_selftest.ko (selftest first)"
    command -v qemu-system-x86_64 >/dev/null ||
        die "qemu-system-x86_64 is needed (apt-get install qemu-system-x86)"
    rm -rf "$run"
    mkdir -p "$run/img" "$run/root/bin" "$run/root/proc" "$run/root/sys" "$run/root/dev"
    dpkg-deb -x "$(deb_name "$t" IMAGE)" "$run/img"
    img=$(ls "$run"/img/boot/vmlinuz-*)
    dpkg-deb --fsys-tarfile "$(deb_file "$BUSYBOX" "$BUSYBOX_VERSION")" |
        tar -xO ./bin/busybox > "$run/root/bin/busybox"
    chmod +x "$run/root/bin/busybox"
    rm -rf "$run/img/lib"
    cp "$dir/xen_ims_selftest.ko" "$run/root/"
    cat > "$run/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs dev /dev
echo; echo "SELFTEST kernel $(uname -r)"
insmod /xen_ims_selftest.ko xen_ims_timeout_ms=1000; echo "SELFTEST insmod rc=$?"
dmesg | grep -E "xen_ims|xen-ims" | sed 's/^/SELFTEST dmesg: /'
rmmod xen_ims_selftest; echo "SELFTEST rmmod rc=$?"
poweroff -f
INIT
    chmod +x "$run/root/init"
    (cd "$run/root" && find . | cpio -o -H newc 2>/dev/null | gzip) > "$run/initrd.gz"
    say "linux-$t: booting $(basename "$img") ($accel) with edu, loading xen_ims_selftest.ko"
    out=$(timeout -k 5 300 qemu-system-x86_64 -accel "$accel" -M q35 -m 512 -nographic \
            -no-reboot -kernel "$img" -initrd "$run/initrd.gz" -device edu \
            -append "console=ttyS0 panic=-1 loglevel=4" 2>&1 | tr -d '\r' |
          grep -a '^SELFTEST' || true)
    printf '%s\n' "$out" > "$run/result.txt"
    printf '%s\n' "$out" | sed 's/^/  /'
    printf '%s\n' "$out" | grep -q '^SELFTEST insmod rc=0$' || die "linux-$t: insmod failed"
    printf '%s\n' "$out" | grep -Eq 'xen_ims_selftest: [0-9a-f:.]+: result=-19 config=0x[0-9a-f]{16}/0x[0-9a-f]{4} export=-$' ||
        die "linux-$t: the selftest did not report -ENODEV for a guest that is not a Xen guest"
    printf '%s\n' "$out" | grep -q '^SELFTEST rmmod rc=0$' || die "linux-$t: rmmod failed"
    say "linux-$t: selftest on Debian's $(basename "$img") outside Xen: passed"
}

dkms_test_one() {
    local t=$1 abi hdr ver m drv dir k vm start
    ver=$(conf "$t" VERSION); ver=${ver%%-*}
    abi=$(conf "$t" HEADERS); abi=${abi#linux-headers-}
    hdr=$(headers_one "$t")
    for m in $(conf "$t" MODULES); do
        drv=$(basename "$m")
        dir=$OUT/dkms/$drv-xen-ims-$ver
        say "linux-$t: DKMS build of $drv against $(basename "$hdr")"
        start=$(date +%s)
        make -s -C "$hdr" M="$dir/$drv" -j"$JOBS" KCFLAGS=-Werror modules 2>&1 |
            grep -v '^Skipping BTF generation' || true
        for k in $(sed -n 's/^BUILT_MODULE_NAME\[[0-9]*\]="\(.*\)"$/\1/p' "$dir/dkms.conf"); do
            [ -f "$dir/$drv/$k.ko" ] || die "linux-$t: DKMS build did not produce $k.ko"
            vm=$(modinfo -F vermagic "$dir/$drv/$k.ko")
            case "$vm" in "$abi "*) ;; *) die "linux-$t: $k.ko has vermagic '$vm', not $abi" ;; esac
        done
        say "linux-$t: DKMS build of $drv: $(sed -n 's/^BUILT_MODULE_NAME\[[0-9]*\]="\(.*\)"$/\1.ko/p' "$dir/dkms.conf" | tr '\n' ' ')for $abi in $(($(date +%s) - start)) s"
    done
}

cmd=${1:-}
[ $# -gt 0 ] && shift
trees=${*:-$TREES}
case "$cmd" in
deps) deps ;;
fetch) for t in $trees; do fetch_one "$t"; done ;;
sync) for t in $trees; do fetch_one "$t"; sync_one "$t"; done ;;
prepare) for t in $trees; do prepare_one "$t"; done ;;
build) for t in $trees; do build_one "$t"; done ;;
all)
    deps
    for t in $trees; do
        fetch_one "$t"; sync_one "$t"; prepare_one "$t"; build_one "$t"
    done ;;
export)
    [ $# -eq 1 ] || die "export needs exactly one tree"
    export_one "$1" ;;
check-copy) for t in $trees; do check_copy_one "$t"; done ;;
dkms) for t in $trees; do dkms_one "$t"; done ;;
selftest)
    fetch_pkg "$BUSYBOX" "$BUSYBOX_VERSION" "$BUSYBOX_SHA256"
    for t in $trees; do
        fetch_one "$t" "HEADERS HEADERS_COMMON KBUILD IMAGE"
        selftest_one "$t"
        selftest_run_one "$t"
    done ;;
dkms-test)
    for t in $trees; do
        fetch_one "$t" "HEADERS HEADERS_COMMON KBUILD"; dkms_one "$t"; dkms_test_one "$t"
    done ;;
*) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
