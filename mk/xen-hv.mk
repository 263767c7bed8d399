# The hypervisor, xen.gz, from the build tree (pristine Xen 4.17 +
# patches/series + overlay), configured as Debian configures its
# xen-hypervisor-4.17-amd64: debian/xen-kconfig from the pinned Debian source
# package, then "make olddefconfig" (debian/rules, override_dh_auto_configure).
# For a version pinned to an upstream commit (XEN_VERSION=4.20, 4.19: no
# Debian source package here), XEN_KCONFIG of its xen-source-*.conf holds
# what debian/xen-kconfig holds.
# Built out of tree in $(BUILD)/xen-hv/obj, so $(XEN)/xen stays a clean
# source tree that "make sync" can keep updating.  Not part of "make" or
# "make check": a cold build takes minutes (docs/xen-ims-remap.md).
#
#   make xen-hypervisor        sync the tree, configure, build, then copy
#                              $(BUILD)/xen-hv/xen.gz (and its .config)
#   make xen-hypervisor-clean  remove $(BUILD)/xen-hv

XEN_HV        := $(BUILD)/xen-hv
XEN_HV_SH     := BUILD=$(BUILD) XEN_VERSION=$(XEN_VERSION) XMAKE="$(XMAKE)" $(TOP)/scripts/xen-hv.sh

.PHONY: xen-hypervisor xen-hypervisor-deps xen-hypervisor-clean

# bison and flex are needed by Kconfig; the tools build does not need them.
xen-hypervisor-deps:
	@$(XEN_HV_SH) deps

# Debian's kconfig (debian/xen-kconfig of the pinned debian.tar.xz, checked
# against the .dsc) or the conf's XEN_KCONFIG, olddefconfig, then the build
# (scripts/xen-hv.sh).
xen-hypervisor: sync xen-hypervisor-deps
	@$(XEN_HV_SH) build

xen-hypervisor-clean:
	rm -rf $(XEN_HV)
