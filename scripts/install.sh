#!/bin/bash
# make install (mk/install.mk): install what "make" built into $DESTDIR,
# in Debian's paths.  mk/install.mk documents what and where; it passes
# the paths as IMS_* variables, and XEN (the built tree), TOP, DESTDIR.
set -euo pipefail
: "${XEN:?}" "${TOP:?}" "${IMS_XEN_MAJMIN:?}" "${IMS_PREFIX:?}" "${IMS_LIBDIR:?}"
: "${IMS_XEN_BINDIR:?}" "${IMS_SBINDIR:?}" "${IMS_MANDIR:?}" "${IMS_SYSCONFDIR:?}"
: "${IMS_SYSTEMD_UNITDIR:?}" "${IMS_BASHCOMPDIR:?}"
D=${DESTDIR:-}
die() { echo "install: $*" >&2; exit 1; }

# name.section:source in the build tree (after the patches); IMS_MANPAGES
# replaces the list (test_install.sh checks a bad page fails the install).
MANPAGES=${IMS_MANPAGES:-"xl-pci-ims.5:docs/man/xl-pci-ims.5.pod
          xl-pci-configuration.5:docs/man/xl-pci-configuration.5.pod
          xl.cfg.5:docs/man/xl.cfg.5.pod.in
          xl.1:docs/man/xl.1.pod.in"}

# Values for the @VARIABLES@ of Xen's .pod.in pages, as Debian's.
pod_subst() {
    sed -e "s|@XEN_CONFIG_DIR@|$IMS_SYSCONFDIR/xen|g" \
        -e "s|@XEN_SCRIPT_DIR@|$IMS_SYSCONFDIR/xen/scripts|g" \
        -e "s|@XEN_DUMP_DIR@|/var/lib/xen/dump|g" \
        -e "s|@XEN_LOG_DIR@|/var/log/xen|g" \
        -e "s|@XENFIRMWAREDIR@|$IMS_PREFIX/lib/xen-$IMS_XEN_MAJMIN/boot|g" "$1"
}

echo "install: into ${D:-/}"
install -d "$D$IMS_XEN_BINDIR" "$D$IMS_SBINDIR" "$D$IMS_LIBDIR" \
    "$D$IMS_SYSCONFDIR/xen/ims-quirks.d" "$D$IMS_SYSTEMD_UNITDIR" \
    "$D$IMS_BASHCOMPDIR" "$D$IMS_MANDIR/man1" "$D$IMS_MANDIR/man5"
install -m 0755 "$XEN/tools/xl/xl" "$D$IMS_XEN_BINDIR/xl"
ln -sfn "$(realpath -m --relative-to="$IMS_SBINDIR" "$IMS_XEN_BINDIR")/xl" "$D$IMS_SBINDIR/xl"

# xl's libraries from the tree, and theirs (readelf's NEEDED), as SONAME
# links to the real files.
todo=$XEN/tools/xl/xl
done=' '
while [ -n "$todo" ]; do
    # shellcheck disable=SC2086
    set -- $todo; f=$1; shift; todo="$*"
    for so in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(lib\(xen\|xl\)[^]]*\)\]/\1/p'); do
        case "$done" in *" $so "*) continue ;; esac
        done="$done$so "
        src=$(ls "$XEN"/tools/libs/*/"$so" 2>/dev/null | head -n1)
        [ -n "$src" ] || die "$so (needed by $f) is not in the tree"
        real=$(readlink -f "$src")
        install -m 0644 "$real" "$D$IMS_LIBDIR/${real##*/}"
        ln -sfn "${real##*/}" "$D$IMS_LIBDIR/$so"
        todo="$todo $real"
    done
done
echo "install: xl and$done"

install -m 0644 "$TOP/tools/examples/ims-quirks.cfg" "$D$IMS_SYSCONFDIR/xen/ims-quirks.cfg"
install -m 0644 "$TOP/tools/hotplug/Linux/systemd/xen-ims-host-facts.service" \
    "$D$IMS_SYSTEMD_UNITDIR/xen-ims-host-facts.service"
install -m 0644 "$TOP/tools/xl/bash-completion-ims" "$D$IMS_BASHCOMPDIR/xl-pci-ims"
if [ "${IMS_INSTALL_SYSV:-n}" = y ]; then
    install -d "$D$IMS_SYSCONFDIR/init.d"
    install -m 0755 "$XEN/tools/hotplug/Linux/init.d/xencommons" "$D$IMS_SYSCONFDIR/init.d/xencommons"
fi

pages=
for m in $MANPAGES; do
    page=${m%%:*}; src=$XEN/${m#*:}; sec=${page##*.}; name=${page%.*}
    out=$D$IMS_MANDIR/man$sec/$page
    pod_subst "$src" > "$out.pod"
    if grep -q '@[A-Za-z_]*@' "$out.pod"; then
        rm -f "$out.pod"; die "$src: unsubstituted @VARIABLE@"
    fi
    rc=0; msgs=$(podchecker "$out.pod" 2>&1) || rc=$?
    if [ $rc != 0 ] || echo "$msgs" | grep -q '\*\*\* \(WARNING\|ERROR\)'; then
        echo "install: podchecker finds problems in $src:" >&2
        echo "$msgs" | sed "s|$out.pod|$src|g" >&2
        rm -f "$out.pod"; exit 1
    fi
    pod2man --errors=die --utf8 --section="$sec" --center=Xen \
        --release="Xen $IMS_XEN_MAJMIN (xen-pci-ims)" --name="$name" \
        "$out.pod" "$out" || { rm -f "$out.pod" "$out"; exit 1; }
    rm -f "$out.pod"; gzip -9nf "$out"
    pages="$pages $page"
done
echo "install: man pages$pages"
