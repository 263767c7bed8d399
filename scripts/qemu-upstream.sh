#!/bin/bash
# Upstream QEMU (qemu-upstream.conf) with patches/qemu-<series>/series:
# the x-ims patches on the QEMU versions of Qubes OS's stub domains.
#
#   scripts/qemu-upstream.sh fetch SERIES      get and verify the sources
#   scripts/qemu-upstream.sh sync SERIES       unpack (once), apply the series
#   scripts/qemu-upstream.sh configure SERIES  configure qemu-system-i386 (once)
#   scripts/qemu-upstream.sh build SERIES      build it
#   scripts/qemu-upstream.sh export SERIES     write the commits of the build
#                                              tree to patches/qemu-SERIES/
#
# SERIES is 9.0 or 8.1.  The tree is $BUILD/qemu-SERIES, a git repository:
# tag pristine = the upstream commit + subprojects/keycodemapdb, then one
# commit per patch.  sync resets to pristine and applies the series again
# (git rewrites only the files that differ).
#
# Environment:
#   BUILD             build directory (default: ./build)
#   QEMU_GIT          a clone of qemu.git that has the pinned commit
#   KEYCODEMAPDB_GIT  a clone of keycodemapdb.git that has its commit
#   JOBS              ninja jobs (default: nproc)
# Without a verified tarball in $BUILD/dl-qemu-upstream/ and without the
# clones, fetch fails and says what to set.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
# shellcheck source=../qemu-upstream.conf
. "$TOP/qemu-upstream.conf"
DL=$BUILD/dl-qemu-upstream
JOBS=${JOBS:-$(nproc)}

die() { echo "qemu-upstream: error: $*" >&2; exit 1; }
say() { echo "qemu-upstream: $*"; }

series=${2:-}
case $series in
9.0) VERSION=$QEMU_UP_9_0_VERSION COMMIT=$QEMU_UP_9_0_COMMIT SHA=$QEMU_UP_9_0_SHA256 ;;
8.1) VERSION=$QEMU_UP_8_1_VERSION COMMIT=$QEMU_UP_8_1_COMMIT SHA=$QEMU_UP_8_1_SHA256 ;;
*) die "unknown series '$series' (9.0 or 8.1)" ;;
esac
TREE=$BUILD/qemu-$series
PATCHES=$TOP/patches/qemu-$series
TAR=$DL/qemu-$VERSION-$COMMIT.tar
KTAR=$DL/keycodemapdb-$KEYCODEMAPDB_COMMIT.tar

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# archive FILE SHA256 GITDIR COMMIT PREFIX URL VAR
archive() {
    local file=$1 sha=$2 git=$3 commit=$4 prefix=$5 url=$6 var=$7
    sha_ok "$file" "$sha" && return 0
    mkdir -p "$DL"
    [ -n "$git" ] ||
        die "no $(basename "$file") with sha256 $sha in $DL; set $var to a clone of $url that has commit $commit"
    [ "$(git -C "$git" cat-file -t "$commit" 2>/dev/null)" = commit ] ||
        die "$var=$git has no commit $commit"
    git -C "$git" archive --format=tar --prefix="$prefix/" "$commit" > "$file.tmp"
    sha_ok "$file.tmp" "$sha" || {
        say "warning: git archive of $commit has sha256 $(sha256sum "$file.tmp" | cut -d' ' -f1), not $sha (another git version?); the commit id is verified by git"
    }
    mv "$file.tmp" "$file"
    say "$(basename "$file"): from $git at $commit"
}

fetch() {
    archive "$TAR" "$SHA" "${QEMU_GIT:-}" "$COMMIT" "qemu-$VERSION" \
        "$QEMU_UPSTREAM_URL" QEMU_GIT
    archive "$KTAR" "$KEYCODEMAPDB_SHA256" "${KEYCODEMAPDB_GIT:-}" \
        "$KEYCODEMAPDB_COMMIT" keycodemapdb "$KEYCODEMAPDB_URL" KEYCODEMAPDB_GIT
}

git_() { git -C "$TREE" -c user.name=xen-pci-ims -c user.email=xen-pci-ims@localhost "$@"; }

# The tree is clean and its commits on pristine are the series' patches
# (same patch ids): nothing to rewrite, nothing to rebuild.
applied() {
    [ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] || return 1
    local want have p c
    want=$(while read -r p; do [ -n "$p" ] &&
        git -C "$TREE" patch-id --stable < "$PATCHES/$p" | cut -d' ' -f1
        done < "$PATCHES/series")
    have=$(for c in $(git -C "$TREE" rev-list --reverse pristine..HEAD); do
        git -C "$TREE" show "$c" | git -C "$TREE" patch-id --stable | cut -d' ' -f1
        done)
    [ "$want" = "$have" ]
}

sync() {
    fetch
    if ! git -C "$TREE" rev-parse -q --verify refs/tags/pristine >/dev/null 2>&1; then
        say "unpacking QEMU $VERSION ($COMMIT) into $TREE"
        rm -rf "$TREE"
        mkdir -p "$TREE"
        tar -C "$TREE" --strip-components=1 -xf "$TAR"
        tar -C "$TREE/subprojects" -xf "$KTAR"
        git_ init -q
        git_ add -A -f
        git_ commit -q -m "QEMU $VERSION ($COMMIT) + keycodemapdb $KEYCODEMAPDB_COMMIT"
        git_ tag pristine
    fi
    if applied; then
        say "QEMU $VERSION + patches/qemu-$series: already applied"
        return 0
    fi
    git_ am --abort >/dev/null 2>&1 || true
    git_ checkout -q -f -B ims pristine
    local p
    while read -r p; do
        [ -n "$p" ] || continue
        git_ am -q --committer-date-is-author-date "$PATCHES/$p" ||
            die "$p does not apply to QEMU $VERSION"
    done < "$PATCHES/series"
    say "QEMU $VERSION + patches/qemu-$series ($(wc -l < "$PATCHES/series") patches)"
}

# scripts/qemu-tree.sh's flags, with what QEMU 8.1/9.0 changed: no
# --with-git-submodules, nothing is downloaded at configure time, and
# (9.0, where pixman is a feature of its own) --enable-pixman, which VNC
# needs.
CONFIGURE_FLAGS="--prefix=/usr --sysconfdir=/etc --localstatedir=/var
  --libexecdir=/usr/lib/qemu
  --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
  --disable-install-blobs --disable-docs --disable-tools
  --without-default-features --disable-werror
  --enable-xen --enable-xen-pci-passthrough --target-list=i386-softmmu
  --disable-tcg --disable-kvm --audio-drv-list= --enable-vnc
  --enable-avx2 --enable-fdt=system --disable-download"

configure() {
    [ -f "$TREE/build/build.ninja" ] && return 0
    say "configuring qemu-system-i386 $VERSION (Xen device model)"
    mkdir -p "$TREE/build"
    local flags=$CONFIGURE_FLAGS
    grep -q "^option('pixman'" "$TREE/meson_options.txt" &&
        flags="$flags --enable-pixman"
    # shellcheck disable=SC2086
    (cd "$TREE/build" && ../configure $flags \
        > "$BUILD/qemu-$series-configure.log" 2>&1) ||
        { tail -30 "$BUILD/qemu-$series-configure.log" >&2;
          rm -f "$TREE/build/build.ninja";
          die "configure failed (see $BUILD/qemu-$series-configure.log)"; }
}

build() {
    # shellcheck disable=SC2046
    ninja -C "$TREE/build" -j"$JOBS" $([ "${V:-}" = 1 ] || echo --quiet) \
        qemu-system-i386 || die "building qemu-system-i386 $VERSION failed"
}

export_() {
    rm -f "$PATCHES"/*.patch
    git_ format-patch -q -N --zero-commit --no-signature --no-stat \
        -o "$PATCHES" pristine..HEAD
    (cd "$PATCHES" && ls ./*.patch | sed 's|^\./||' > series)
    say "wrote $(wc -l < "$PATCHES/series") patches to $PATCHES"
}

case ${1:-} in
fetch) fetch ;;
sync) sync ;;
configure) configure ;;
build) build ;;
export) export_ ;;
*) die "usage: $0 fetch|sync|configure|build|export 9.0|8.1" ;;
esac
