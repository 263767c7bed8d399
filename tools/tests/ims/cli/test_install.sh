#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make install DESTDIR=... (mk/install.mk) into a temporary directory:
# what it installs, that the installed xl runs on the installed libraries,
# that the man pages are clean, that a podchecker warning fails it, and
# make dist.  install only copies what is built (no build, no sync, nothing
# written outside DESTDIR), so this is fast and has no side effects.
. "$(dirname "$0")/lib.sh"

: "${XL:?}" "${IMS_TOP:?}"

# The repository: $IMS_REPO, else the one whose build/xen this test runs in.
if [ -z "${IMS_REPO:-}" ]; then
    d=$(cd "$IMS_TOP" && pwd)
    while [ "$d" != / ]; do
        d=$(dirname "$d")
        if [ -f "$d/mk/install.mk" ] && [ -f "$d/xen-source.conf" ]; then
            IMS_REPO=$d
            break
        fi
    done
fi
if [ -z "${IMS_REPO:-}" ]; then
    skip "the repository is not above $IMS_TOP (set IMS_REPO)"
    finish
    exit
fi
XEN_TREE=$(cd "$IMS_TOP/../../.." && pwd)
# The Xen version of that tree (4.17, 4.20): Debian's paths follow it.
V=$(sed -n 's/^export XEN_VERSION *= *//p; s/^export XEN_SUBVERSION *= */./p' \
    "$XEN_TREE/xen/Makefile" | tr -d '\n')

imake() {   # make in the repository, free of the calling make's flags
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL BUILD="$(dirname "$XEN_TREE")" \
        XEN_VERSION="$V" make -s -C "$IMS_REPO" "$@"
}

S=$T/stage
LIB=$S/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
touch "$T/stamp"
sleep 1

start=$(date +%s)
run imake install DESTDIR="$S"
expect_rc "make install DESTDIR=... succeeds" 0
secs=$(( $(date +%s) - start ))
if [ "$secs" -le 30 ]; then ok "install is fast (${secs}s)"; else nok "install took ${secs}s"; fi

for f in usr/lib/xen-$V/bin/xl etc/xen/ims-quirks.cfg \
         lib/systemd/system/xen-ims-host-facts.service \
         etc/bash_completion.d/xl-pci-ims \
         usr/share/man/man5/xl-pci-ims.5.gz usr/share/man/man1/xl.1.gz \
         usr/share/man/man5/xl.cfg.5.gz usr/share/man/man5/xl-pci-configuration.5.gz; do
    if [ -f "$S/$f" ]; then ok "installs /$f"; else nok "installs /$f"; fi
done
[ -d "$S/etc/xen/ims-quirks.d" ] && ok "installs the drop-in directory" ||
    nok "installs the drop-in directory"
[ -x "$S/usr/sbin/xl" ] && [ "$(readlink "$S/usr/sbin/xl")" = ../lib/xen-$V/bin/xl ] &&
    ok "/usr/sbin/xl links to the installed xl" ||
    nok "/usr/sbin/xl links to the installed xl" "$(ls -l "$S/usr/sbin/xl" 2>&1)"
cmp -s "$S/etc/xen/ims-quirks.cfg" "$IMS_REPO/tools/examples/ims-quirks.cfg" &&
    ok "the shipped database is installed unchanged" ||
    nok "the shipped database is installed unchanged"

# Every libxen*/libxl* needed by xl or by an installed library is installed.
missing=
for f in "$S/usr/lib/xen-$V/bin/xl" "$LIB"/lib*.so.*; do
    [ -L "$f" ] && continue
    for so in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(lib\(xen\|xl\)[^]]*\)\]/\1/p'); do
        [ -e "$LIB/$so" ] || missing="$missing $so(${f##*/})"
    done
done
[ -z "$missing" ] && ok "every Xen library xl needs is installed" ||
    nok "every Xen library xl needs is installed" "missing:$missing"
for so in libxenlight.so.$V libxlutil.so.$V; do
    [ -L "$LIB/$so" ] && [ -f "$LIB/$(readlink "$LIB/$so")" ] && ok "$so is a SONAME link" ||
        nok "$so is a SONAME link"
done

# The installed xl runs on the installed libraries.
other=$(LD_LIBRARY_PATH=$LIB ldd "$S/usr/sbin/xl" | grep -E 'lib(xen|xl)' | grep -v "=> $LIB/")
[ -z "$other" ] && ok "the installed xl resolves the Xen libraries to the installed ones" ||
    nok "the installed xl resolves the Xen libraries to the installed ones" "$other"
LIBXL_IMS_DB= run env LD_LIBRARY_PATH="$LIB" "$S/usr/sbin/xl" pci-ims-db-check "$S/etc/xen/ims-quirks.cfg"
expect_rc "the installed xl checks the installed database" 0
expect_out "... and finds its entries" "^[1-9][0-9]* entr"

# Man pages: render without groff warnings, and say what they should.
for m in man5/xl-pci-ims.5 man1/xl.1 man5/xl.cfg.5 man5/xl-pci-configuration.5; do
    w=$(zcat "$S/usr/share/man/$m.gz" | groff -man -ww -Wbreak -z 2>&1)
    [ -z "$w" ] && ok "$m renders without groff warnings (but line breaks)" || nok "$m renders without groff warnings (but line breaks)" "$w"
done
zcat "$S/usr/share/man/man1/xl.1.gz" | grep -q 'pci\\\{0,1\}-ims\\\{0,1\}-explain' &&
    ok "xl.1 documents pci-ims-explain (patch 0008)" || nok "xl.1 documents pci-ims-explain (patch 0008)"
zcat "$S/usr/share/man/man5/xl.cfg.5.gz" | grep -q 'pci_ims_policy' &&
    ok "xl.cfg.5 documents pci_ims_policy (patch 0006)" || nok "xl.cfg.5 documents pci_ims_policy (patch 0006)"
zcat "$S/usr/share/man/man5/xl.cfg.5.gz" | grep -q '@[A-Z_]*@' &&
    nok "no @VARIABLE@ left in xl.cfg.5" || ok "no @VARIABLE@ left in xl.cfg.5"
grep -q '^ExecStart=.*pci-ims-facts --record' "$S/lib/systemd/system/xen-ims-host-facts.service" &&
    ok "the unit records the host facts" || nok "the unit records the host facts"

# The installed completion loads.
if bash -c '_XL_IMS_BASE= . "$1" && complete -p xl' _ "$S/etc/bash_completion.d/xl-pci-ims" 2>&1 |
        grep -q -- '-F _xl_ims'; then
    ok "the installed completion registers for xl"
else
    nok "the installed completion registers for xl"
fi

# Nothing rendered or written into the build tree's docs.
new=$(find "$XEN_TREE/docs" -newer "$T/stamp" 2>/dev/null)
[ -z "$new" ] && ok "install writes nothing into the build tree" ||
    nok "install writes nothing into the build tree" "$new"

# A second install over the first works (as a package upgrade does).
run imake install DESTDIR="$S"
expect_rc "installing again over an installed tree" 0

# A podchecker warning fails the install.
printf '=head1 NAME\n\nbad - bad\n\n=over 4\n\n=head1 OOPS\n\nL<>\n' > "$T/bad.pod"
rel=$(realpath --relative-to="$XEN_TREE" "$T/bad.pod")
run imake install DESTDIR="$T/stage2" IMS_MANPAGES="bad.5:$rel"
expect_rc "a man page with podchecker problems fails the install" 2
expect_err "... naming the page" "bad.pod"
[ ! -e "$T/stage2/usr/share/man/man5/bad.5.gz" ] && ok "... and installs no bad page" ||
    nok "... and installs no bad page"

# make dist: a tarball of HEAD.
run imake dist BUILD="$T/dist"
expect_rc "make dist" 0
tarball=$(ls "$T"/dist/xen-pci-ims-*.tar.gz 2>/dev/null | head -n1)
if [ -n "$tarball" ]; then
    ok "make dist writes build/xen-pci-ims-VERSION.tar.gz (${tarball##*/})"
    list=$(tar -tzf "$tarball")
    for f in patches/series tools/libs/light/libxl_ims_db.c tools/examples/ims-quirks.cfg \
             mk/install.mk Makefile xen-source.conf; do
        grep -q "^xen-pci-ims-[^/]*/$f\$" <<<"$list" && ok "the tarball holds $f" ||
            nok "the tarball holds $f"
    done
    grep -q '^xen-pci-ims-[^/]*/build/' <<<"$list" && nok "the tarball holds no build tree" ||
        ok "the tarball holds no build tree"
else
    nok "make dist writes build/xen-pci-ims-VERSION.tar.gz" "$(ls -R "$T/dist" 2>&1)"
fi

finish
