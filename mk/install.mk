# Installation and source distribution.
#
#   make install DESTDIR=/tmp/stage   install what "make" built, in Debian's
#                                     paths (xen-utils-4.17, libxenmisc4.17;
#                                     4.20 with XEN_VERSION=4.20)
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

IMS_XEN_MAJMIN      ?= $(XEN_VERSION)
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

IMS_VERSION ?= $(shell cd $(TOP) && \
    { git describe --tags 2>/dev/null | sed 's/^v//' || true; } | grep . || \
    git log -1 --date=format:%Y%m%d --format='0+git%cd.%h' 2>/dev/null || \
    echo 0)

.PHONY: install install-check-built dist

# Build only when nothing is built yet.  The recipe: scripts/install.sh.
install: $(if $(wildcard $(XEN)/tools/xl/xl),install-check-built,build)
	@XEN='$(XEN)' TOP='$(TOP)' DESTDIR='$(DESTDIR)' \
	IMS_XEN_MAJMIN='$(IMS_XEN_MAJMIN)' IMS_PREFIX='$(IMS_PREFIX)' \
	IMS_LIBDIR='$(IMS_LIBDIR)' IMS_XEN_BINDIR='$(IMS_XEN_BINDIR)' \
	IMS_SBINDIR='$(IMS_SBINDIR)' IMS_MANDIR='$(IMS_MANDIR)' \
	IMS_SYSCONFDIR='$(IMS_SYSCONFDIR)' IMS_SYSTEMD_UNITDIR='$(IMS_SYSTEMD_UNITDIR)' \
	IMS_BASHCOMPDIR='$(IMS_BASHCOMPDIR)' IMS_INSTALL_SYSV='$(IMS_INSTALL_SYSV)' \
	IMS_MANPAGES='$(IMS_MANPAGES)' \
	    $(TOP)/scripts/install.sh

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
