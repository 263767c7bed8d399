# Installation and source distribution.
#
#   make install DESTDIR=/tmp/stage   install what "make" built, in Debian's
#                                     paths (xen-utils-4.17, libxenmisc4.17)
#   make dist                         $(BUILD)/xen-pci-ims-VERSION.tar.gz
#
# install builds only when nothing is built yet; after changing the
# sources, run "make" first.  It never writes outside $(DESTDIR) and
# never touches the build tree.  It installs:
#
#   xl                        $(IMS_XEN_BINDIR)/xl, and $(IMS_SBINDIR)/xl
#                             linking to it (Debian's is a link to its
#                             version wrapper, which runs the same file)
#   libxenlight, libxlutil    $(IMS_LIBDIR), with every library of the
#   and the Xen libraries     tree they need (found with readelf), as
#   they need                 SONAME links to the real files
#   ims-quirks.cfg            $(IMS_SYSCONFDIR)/xen/ims-quirks.cfg, and an
#                             empty ims-quirks.d/ for local drop-ins
#   man pages                 xl-pci-ims.5 and the pages our patches
#                             change (xl.1, xl.cfg.5, xl-pci-configuration.5),
#                             podchecker-clean, rendered with pod2man
#   systemd unit              xen-ims-host-facts.service (patch 0007) in
#                             $(IMS_SYSTEMD_UNITDIR); not enabled
#   bash completion           $(IMS_BASHCOMPDIR)/xl-pci-ims
#
# Patch 0007's other half, the hook in Xen's SysV xencommons script, is
# not installed: Debian starts Xen with its own /etc/init.d/xen, and
# systemd runs the unit above.  IMS_INSTALL_SYSV=y installs the configured
# xencommons script as $(IMS_SYSCONFDIR)/init.d/xencommons.
#
# The paths are Debian's; override any IMS_* variable on the command line.
# Ownership is left to the packager (dpkg installs files as root, which
# libxl requires of the database: see xl-pci-ims(5)).

IMS_XEN_MAJMIN      ?= $(shell sed -n 's/^XEN_DEB_VERSION=\([0-9]*\.[0-9]*\).*/\1/p' $(TOP)/xen-source.conf)
IMS_MULTIARCH       ?= $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || $(CC) -print-multiarch)
IMS_PREFIX          ?= /usr
IMS_LIBDIR          ?= $(IMS_PREFIX)/lib/$(IMS_MULTIARCH)
IMS_XEN_BINDIR      ?= $(IMS_PREFIX)/lib/xen-$(IMS_XEN_MAJMIN)/bin
IMS_SBINDIR         ?= $(IMS_PREFIX)/sbin
IMS_MANDIR          ?= $(IMS_PREFIX)/share/man
IMS_SYSCONFDIR      ?= /etc
IMS_SYSTEMD_UNITDIR ?= /lib/systemd/system
IMS_BASHCOMPDIR     ?= $(IMS_SYSCONFDIR)/bash_completion.d
IMS_INSTALL_SYSV    ?= n

# Values for the @VARIABLES@ of Xen's .pod.in pages, as Debian's.
IMS_POD_SUBST := -e 's|@XEN_CONFIG_DIR@|$(IMS_SYSCONFDIR)/xen|g' \
                 -e 's|@XEN_SCRIPT_DIR@|$(IMS_SYSCONFDIR)/xen/scripts|g' \
                 -e 's|@XEN_DUMP_DIR@|/var/lib/xen/dump|g' \
                 -e 's|@XENFIRMWAREDIR@|$(IMS_PREFIX)/lib/xen-$(IMS_XEN_MAJMIN)/boot|g'

# name.section: the source in the build tree (after the patches).
IMS_MANPAGES := xl-pci-ims.5:docs/man/xl-pci-ims.5.pod \
                xl-pci-configuration.5:docs/man/xl-pci-configuration.5.pod \
                xl.cfg.5:docs/man/xl.cfg.5.pod.in \
                xl.1:docs/man/xl.1.pod.in

IMS_VERSION ?= $(shell cd $(TOP) && \
    { git describe --tags 2>/dev/null | sed 's/^v//' || true; } | grep . || \
    git log -1 --date=format:%Y%m%d --format='0+git%cd.%h' 2>/dev/null || \
    echo 0)

.PHONY: install install-check-built dist

# Build only when nothing is built yet.
install: $(if $(wildcard $(XEN)/tools/xl/xl),install-check-built,build)
	@echo "install: into $(if $(DESTDIR),$(DESTDIR),/)"
	@set -e; D='$(DESTDIR)'; \
	install -d "$$D$(IMS_XEN_BINDIR)" "$$D$(IMS_SBINDIR)" "$$D$(IMS_LIBDIR)" \
	    "$$D$(IMS_SYSCONFDIR)/xen/ims-quirks.d" "$$D$(IMS_SYSTEMD_UNITDIR)" \
	    "$$D$(IMS_BASHCOMPDIR)" "$$D$(IMS_MANDIR)/man1" "$$D$(IMS_MANDIR)/man5"; \
	install -m 0755 '$(XEN)/tools/xl/xl' "$$D$(IMS_XEN_BINDIR)/xl"; \
	ln -sfn '$(shell realpath -m --relative-to=$(IMS_SBINDIR) $(IMS_XEN_BINDIR))/xl' \
	    "$$D$(IMS_SBINDIR)/xl"; \
	todo='$(XEN)/tools/xl/xl'; done=' '; \
	while [ -n "$$todo" ]; do \
	    set -- $$todo; f=$$1; shift; todo="$$*"; \
	    for so in $$(readelf -d "$$f" | sed -n 's/.*(NEEDED).*\[\(lib\(xen\|xl\)[^]]*\)\]/\1/p'); do \
	        case "$$done" in *" $$so "*) continue ;; esac; done="$$done$$so "; \
	        src=$$(ls '$(XEN)'/tools/libs/*/"$$so" 2>/dev/null | head -n1); \
	        [ -n "$$src" ] || { echo "install: $$so (needed by $$f) is not in the tree" >&2; exit 1; }; \
	        real=$$(readlink -f "$$src"); \
	        install -m 0644 "$$real" "$$D$(IMS_LIBDIR)/$${real##*/}"; \
	        ln -sfn "$${real##*/}" "$$D$(IMS_LIBDIR)/$$so"; \
	        todo="$$todo $$real"; \
	    done; \
	done; \
	echo "install: xl and$$done"; \
	install -m 0644 '$(TOP)/tools/examples/ims-quirks.cfg' \
	    "$$D$(IMS_SYSCONFDIR)/xen/ims-quirks.cfg"; \
	install -m 0644 '$(TOP)/tools/hotplug/Linux/systemd/xen-ims-host-facts.service' \
	    "$$D$(IMS_SYSTEMD_UNITDIR)/xen-ims-host-facts.service"; \
	install -m 0644 '$(TOP)/tools/xl/bash-completion-ims' \
	    "$$D$(IMS_BASHCOMPDIR)/xl-pci-ims"; \
	if [ '$(IMS_INSTALL_SYSV)' = y ]; then \
	    install -d "$$D$(IMS_SYSCONFDIR)/init.d"; \
	    install -m 0755 '$(XEN)/tools/hotplug/Linux/init.d/xencommons' \
	        "$$D$(IMS_SYSCONFDIR)/init.d/xencommons"; \
	fi; \
	for m in $(IMS_MANPAGES); do \
	    page=$${m%%:*}; src='$(XEN)'/$${m#*:}; sec=$${page##*.}; name=$${page%.*}; \
	    out="$$D$(IMS_MANDIR)/man$$sec/$$page"; \
	    sed $(IMS_POD_SUBST) "$$src" > "$$out.pod"; \
	    if grep -q '@[A-Za-z_]*@' "$$out.pod"; then \
	        echo "install: $$src: unsubstituted @VARIABLE@" >&2; rm -f "$$out.pod"; exit 1; \
	    fi; \
	    rc=0; msgs=$$(podchecker "$$out.pod" 2>&1) || rc=$$?; \
	    if [ $$rc != 0 ] || echo "$$msgs" | grep -q '\*\*\* \(WARNING\|ERROR\)'; then \
	        echo "install: podchecker finds problems in $$src:" >&2; \
	        echo "$$msgs" | sed "s|$$out.pod|$$src|g" >&2; \
	        rm -f "$$out.pod"; exit 1; \
	    fi; \
	    pod2man --errors=die --utf8 --section="$$sec" --center=Xen \
	        --release='Xen $(IMS_XEN_MAJMIN) (xen-pci-ims)' --name="$$name" \
	        "$$out.pod" "$$out" || { rm -f "$$out.pod" "$$out"; exit 1; }; \
	    rm -f "$$out.pod"; gzip -9nf "$$out"; \
	done; \
	echo "install: man pages $(foreach m,$(IMS_MANPAGES),$(firstword $(subst :, ,$(m))))"

install-check-built:
	@for f in '$(XEN)/tools/xl/xl' '$(XEN)/docs/man/xl-pci-ims.5.pod'; do \
	    [ -e "$$f" ] || { echo "install: $$f missing: run make first" >&2; exit 1; }; \
	done

# The overlay, the patches and the build scripts of HEAD (not the
# working tree): what a packager's source package starts from.
dist:
	@mkdir -p '$(BUILD)'
	@cd '$(TOP)' && git archive --format=tar.gz \
	    --prefix='xen-pci-ims-$(IMS_VERSION)/' \
	    -o '$(BUILD)/xen-pci-ims-$(IMS_VERSION).tar.gz' HEAD
	@echo "dist: $(BUILD)/xen-pci-ims-$(IMS_VERSION).tar.gz"
