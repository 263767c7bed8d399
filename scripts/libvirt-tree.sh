#!/bin/bash
# Fetch, verify, patch, configure, build and test libvirt with ims=:
# Debian bookworm's libvirt + debian/patches/series +
# ecosystem/libvirt/patches/series, built against the libxenlight of this
# project's Xen tree ($BUILD/xen, "make build").
#
#   scripts/libvirt-tree.sh deps       install the build dependencies (apt-get)
#   scripts/libvirt-tree.sh fetch      download and verify the pinned source
#   scripts/libvirt-tree.sh sync       unpack and apply Debian's patches (once),
#                                      then make the tree equal to Debian's
#                                      libvirt + ecosystem/libvirt/patches
#   scripts/libvirt-tree.sh configure  meson: libxl driver and tests on, the
#                                      other drivers and the docs off (once)
#   scripts/libvirt-tree.sh build      build the tests below (ninja targets)
#   scripts/libvirt-tree.sh test       run them (meson test --no-rebuild)
#   scripts/libvirt-tree.sh stock      compile the libxl driver's libxl_conf.c
#                                      against Debian's libxen-dev (no
#                                      LIBXL_HAVE_PCI_IMS): the #else branch
#   scripts/libvirt-tree.sh export     write the commits on top of Debian's
#                                      libvirt to ecosystem/libvirt/patches/
#   scripts/libvirt-tree.sh reset      drop edits made by hand in the tree
#
# The source tree ($BUILD/libvirt/src) is a git repository (scripts/debsrc-lib.sh):
# refs/libvirt/pristine is the .orig tarball plus debian/, refs/libvirt/debian
# that with Debian's patches applied, and HEAD one commit per patch of
# ecosystem/libvirt/patches/series on top of it.  sync moves the work tree
# with "git read-tree -m -u", which rewrites only the files whose content
# changes.  The meson build directory is $BUILD/libvirt/build.
#
# libvirt finds libxenlight with pkg-config: PKG_CONFIG_PATH points at the
# uninstalled .pc files Xen's build writes to $BUILD/xen/tools/pkg-config,
# so the headers and libraries are those of our tree (LIBXL_HAVE_PCI_IMS),
# not Debian's libxen-dev.  The tests run with LD_LIBRARY_PATH set to the
# tree's libraries for the same reason.
#
# Environment:
#   BUILD               build directory (default: ./build)
#   LIBVIRT_SRC_DIR     take the .orig and .debian tarballs from this
#                       directory instead of Debian's archive (their sha256
#                       must match)
#   LIBVIRT_SRC_SHA256  accept this sha256 for the .orig tarball knowingly
#   JOBS                parallel jobs for ninja (default: nproc)
#   NICE                prefix for the compiler and test runs (default:
#                       "nice -n 19")
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
# shellcheck source=../ecosystem/libvirt/source.conf
. "$TOP/ecosystem/libvirt/source.conf"
DL=$BUILD/dl-libvirt
TREE=$BUILD/libvirt/src
OUT=$BUILD/libvirt/build
XEN=$BUILD/xen
PATCHES=$TOP/ecosystem/libvirt/patches
JOBS=${JOBS:-$(nproc)}
NICE=${NICE-nice -n 19}

die() { echo "libvirt-tree: error: $*" >&2; exit 1; }
say() { echo "libvirt-tree: $*"; }
DS_NAME=libvirt DS_PKG=libvirt DS_VAR=LIBVIRT DS_CONF=ecosystem/libvirt/source.conf
DS_VERSION=$LIBVIRT_DEB_VERSION DS_REFS=refs/libvirt DS_SCRIPT=scripts/libvirt-tree.sh
DS_ORIG=$LIBVIRT_ORIG_TARBALL DS_ORIG_SHA=$LIBVIRT_ORIG_SHA256
DS_DEB=$LIBVIRT_DEBIAN_TARBALL DS_DEB_SHA=$LIBVIRT_DEBIAN_SHA256
. "$TOP/scripts/debsrc-lib.sh"

# The part of Debian's Build-Depends that this configuration needs
# (libvirt's required libraries and programs, yajl for the libxl driver's
# JSON, xmllint for the schema tests), and Debian's libxen-dev for the
# "stock" check.  Xen's own build dependencies are make build's.
DEPS="build-essential git python3 perl pkg-config meson ninja-build
      libglib2.0-dev libxml2-dev libxml2-utils xsltproc libgnutls28-dev
      libtirpc-dev rpcsvc-proto libyajl-dev libxen-dev xz-utils dpkg-dev"

# The tests this patch touches or relies on (meson test names = ninja
# targets under tests/).
TESTS="genericxml2xmltest libxlxml2domconfigtest xlconfigtest xmconfigtest
       virschematest"
# ... and the mock library the libxl tests preload.
MOCKS="libxlmock.so"

# shellcheck disable=SC2086 # (a list, word-split on purpose)
deps() { install_missing $DEPS; }

# The patched libxl driver must still build against a libxenlight without
# LIBXL_HAVE_PCI_IMS (there it refuses ims=): compile libxl_conf.c with
# the command ninja uses, minus our tree's include directories, against
# Debian's libxen-dev (/usr/include/libxl.h), with -Werror.
stock() {
    xen_env
    [ -f "$OUT/compile_commands.json" ] || die "not configured (scripts/libvirt-tree.sh configure)"
    [ -f /usr/include/libxl.h ] || die "/usr/include/libxl.h is missing (scripts/libvirt-tree.sh deps)"
    ! grep -q 'define LIBXL_HAVE_PCI_IMS' /usr/include/libxl.h ||
        die "/usr/include/libxl.h has LIBXL_HAVE_PCI_IMS: not a stock libxenlight"
    # shellcheck disable=SC2086
    $NICE python3 - "$OUT" "$XEN" <<'EOF'
import json, shlex, subprocess, sys
out, xen = sys.argv[1], sys.argv[2]
for e in json.load(open(out + "/compile_commands.json")):
    if not e["file"].endswith("src/libxl/libxl_conf.c"):
        continue
    args, skip = [], False
    for a in shlex.split(e["command"]):
        if skip:
            skip = False
        elif a.startswith("-I" + xen):
            pass
        elif a in ("-o", "-MQ", "-MF"):
            skip = True
        elif a != "-MD":
            args.append(a)
    args += ["-Werror", "-o", "/dev/null"]
    r = subprocess.run(args, cwd=e["directory"])
    print("libvirt-tree: libxl_conf.c against stock /usr/include/libxl.h: %s"
          % ("OK" if r.returncode == 0 else "FAILED"))
    sys.exit(r.returncode)
sys.exit("libvirt-tree: error: libxl_conf.c is not in compile_commands.json")
EOF
}

xen_libdirs() {
    local d out=""
    for d in "$XEN"/tools/libs/*/; do
        out="$out${out:+:}${d%/}"
    done
    echo "$out"
}

xen_env() {
    [ -f "$XEN/tools/pkg-config/xenlight.pc" ] ||
        die "$XEN/tools/pkg-config/xenlight.pc is missing: build Xen's tools first (make build)"
    grep -q 'define LIBXL_HAVE_PCI_IMS' "$XEN/tools/include/libxl.h" ||
        die "$XEN/tools/include/libxl.h lacks LIBXL_HAVE_PCI_IMS: run make build"
    export PKG_CONFIG_PATH=$XEN/tools/pkg-config
    # For the linker (libxenlight's own dependencies, e.g. libxenctrl, are
    # searched in LD_LIBRARY_PATH before Debian's copies in /usr/lib) and
    # for running the tests.
    LD_LIBRARY_PATH=$(xen_libdirs)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
}

# Only what the tests of the libxl driver and of the domain XML need:
# libvirtd (the libxl driver is a daemon driver) with the libxl and test
# drivers; the other hypervisor drivers, storage, network, docs and
# translations off.  -Dgit_werror=disabled: the tree is a git repository,
# which would otherwise turn on -Werror for Debian's code too; our
# patch is checked for warnings by "build" instead.
CONFIGURE_FLAGS="--buildtype=debugoptimized -Dno_git=true -Dgit_werror=disabled
  -Dtests=enabled -Dexpensive_tests=disabled -Ddocs=disabled -Dnls=disabled
  -Ddriver_libxl=enabled -Ddriver_libvirtd=enabled -Ddriver_remote=enabled
  -Ddriver_test=enabled -Dyajl=enabled
  -Ddriver_qemu=disabled -Ddriver_lxc=disabled -Ddriver_ch=disabled
  -Ddriver_bhyve=disabled -Ddriver_esx=disabled -Ddriver_hyperv=disabled
  -Ddriver_openvz=disabled -Ddriver_vbox=disabled -Ddriver_vmware=disabled
  -Ddriver_vz=disabled -Ddriver_network=disabled -Ddriver_interface=disabled
  -Ddriver_secrets=disabled -Dstorage_dir=disabled -Dstorage_disk=disabled
  -Dstorage_fs=disabled -Dstorage_gluster=disabled -Dstorage_iscsi=disabled
  -Dstorage_iscsi_direct=disabled -Dstorage_lvm=disabled
  -Dstorage_mpath=disabled -Dstorage_rbd=disabled -Dstorage_scsi=disabled
  -Dstorage_vstorage=disabled -Dstorage_zfs=disabled
  -Dwireshark_dissector=disabled -Dnss=disabled -Dlogin_shell=disabled
  -Dhost_validate=disabled -Dbash_completion=disabled -Dsanlock=disabled
  -Dglusterfs=disabled -Dlibiscsi=disabled -Dlibssh=disabled
  -Dlibssh2=disabled -Dopenwsman=disabled -Dpolkit=disabled
  -Dsasl=disabled -Dudev=disabled -Dpciaccess=disabled -Ddtrace=disabled -Dfirewalld=disabled
  -Dfirewalld_zone=disabled -Dapparmor=disabled -Dsecdriver_apparmor=disabled
  -Dapparmor_profiles=disabled -Dsysctl_config=disabled -Dinit_script=none"

configure() {
    xen_env
    local flags=$OUT/.ims-configure-flags
    if [ -f "$OUT/build.ninja" ] &&
       [ "$(cat "$flags" 2>/dev/null)" = "$CONFIGURE_FLAGS $PKG_CONFIG_PATH" ]; then
        return 0
    fi
    say "configuring (meson; libxl driver against $XEN)"
    local log=$BUILD/libvirt/configure.log
    mkdir -p "$BUILD/libvirt"
    if [ -f "$OUT/build.ninja" ]; then
        # shellcheck disable=SC2086
        (cd "$TREE" && meson setup --reconfigure $CONFIGURE_FLAGS "$OUT" >"$log" 2>&1)
    else
        # shellcheck disable=SC2086
        (cd "$TREE" && meson setup $CONFIGURE_FLAGS "$OUT" >"$log" 2>&1)
    fi || { tail -30 "$log" >&2; die "meson setup failed (see $log)"; }
    grep -q '^#define WITH_LIBXL 1' "$OUT/meson-config.h" ||
        die "meson did not enable the libxl driver (see $log)"
    printf '%s' "$CONFIGURE_FLAGS $PKG_CONFIG_PATH" > "$flags"
}

# Files our patches change: the compiler's warnings in them are errors.
patched_c_files() {
    ds_git diff --name-only refs/libvirt/debian HEAD -- '*.c' '*.h'
}

build() {
    xen_env
    local log=$BUILD/libvirt/build.log t targets=""
    for t in $TESTS $MOCKS; do targets="$targets tests/$t"; done
    # shellcheck disable=SC2086
    $NICE ninja -C "$OUT" -j"$JOBS" $targets 2>&1 | tee "$log" |
        { if [ "${V:-}" = 1 ]; then cat; else grep -E '(warning|error):' || true; fi; }
    [ "${PIPESTATUS[0]}" = 0 ] || die "building the tests failed (see $log)"
    local f bad=0
    for f in $(patched_c_files); do
        if grep -q "/$f:[0-9]*:[0-9]*: warning:" "$log"; then
            echo "libvirt-tree: warning in patched file $f" >&2
            bad=1
        fi
    done
    [ $bad = 0 ] || die "the patched files compile with warnings (see $log)"
}

run_tests() {
    xen_env
    # The libxl tests must load our libxenlight and libxenctrl, not Debian's.
    local t libs
    for t in libxlxml2domconfigtest xlconfigtest; do
        libs=$(ldd "$OUT/tests/$t")
        if ! grep -q "libxenlight.so.* => $XEN/" <<<"$libs" ||
           ! grep -q "libxenctrl.so.* => $XEN/" <<<"$libs"; then
            die "tests/$t does not load the libraries of $XEN"
        fi
    done
    # shellcheck disable=SC2086
    (cd "$OUT" && $NICE meson test --no-rebuild --print-errorlogs $TESTS)
}

case "${1:-}" in
deps) deps ;;
fetch) ds_fetch ;;
sync) ds_sync ;;
configure) configure ;;
build) build ;;
test) run_tests ;;
stock) stock ;;
export) ds_export ;;
reset) ds_reset ;;
*) echo "usage: $0 deps|fetch|sync|configure|build|test|stock|export|reset" >&2; exit 2 ;;
esac
