# The hypervisor, xen.gz, from the build tree (pristine Xen 4.17 +
# patches/series + overlay), configured as Debian configures its
# xen-hypervisor-4.17-amd64: debian/xen-kconfig from the pinned Debian source
# package, then "make olddefconfig" (debian/rules, override_dh_auto_configure).
# Built out of tree in $(BUILD)/xen-hv/obj, so $(XEN)/xen stays a clean
# source tree that "make sync" can keep updating.  Not part of "make" or
# "make check": a cold build takes minutes (docs/xen-ims-remap.md).
#
#   make xen-hypervisor        sync the tree, configure, build, then copy
#                              $(BUILD)/xen-hv/xen.gz (and its .config)
#   make xen-hypervisor-clean  remove $(BUILD)/xen-hv

XEN_HV        := $(BUILD)/xen-hv
XEN_HV_OBJ    := $(XEN_HV)/obj
XEN_HV_KCONF  := $(XEN_HV)/xen-kconfig
XEN_HV_DEPS   := bison flex python3 build-essential xz-utils
# Debian's make_args_xen without its -ffile-prefix-map: out of tree, the
# mapped __FILE__ that arch/x86/usercopy.c includes would not resolve.
XEN_HV_ARGS   := XEN_TARGET_ARCH=x86_64 O=$(XEN_HV_OBJ)

.PHONY: xen-hypervisor xen-hypervisor-deps xen-hypervisor-clean

# bison and flex are needed by Kconfig; the tools build does not need them.
xen-hypervisor-deps:
	@missing=; for p in $(XEN_HV_DEPS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || \
	        missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" != 0 ]; then \
	        echo "xen-hypervisor: missing packages:$$missing (run as root, or install them)" >&2; \
	        exit 1; fi; \
	    echo "xen-hypervisor: installing$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $$missing; \
	fi

# Debian's kconfig, from the debian.tar.xz that "apt-get source" fetched with
# the .orig tarball; its sha256 is checked against the .dsc, whose own
# checksum apt verified against the signed archive.
xen-hypervisor: sync xen-hypervisor-deps
	@set -e; . $(TOP)/xen-source.conf; \
	dsc=$(BUILD)/dl/xen_$${XEN_DEB_VERSION}.dsc; \
	tar=$$(sed -n 's/^ [0-9a-f]\{64\} [0-9]* \(xen_.*\.debian\.tar\.xz\)$$/\1/p' $$dsc | head -n1); \
	[ -n "$$tar" ] && [ -f $(BUILD)/dl/$$tar ] || { \
	    echo "xen-hypervisor: no debian.tar.xz listed in $$dsc (run: make fetch)" >&2; exit 1; }; \
	want=$$(sed -n "/^Checksums-Sha256:/,/^[^ ]/s/^ \([0-9a-f]\{64\}\) [0-9]* $$tar\$$/\1/p" $$dsc); \
	got=$$(sha256sum $(BUILD)/dl/$$tar | cut -d' ' -f1); \
	[ "$$want" = "$$got" ] || { \
	    echo "xen-hypervisor: $$tar: sha256 $$got, $$dsc says $$want" >&2; exit 1; }; \
	mkdir -p $(XEN_HV_OBJ); \
	tar -xJOf $(BUILD)/dl/$$tar debian/xen-kconfig > $(XEN_HV_KCONF).new; \
	if ! cmp -s $(XEN_HV_KCONF).new $(XEN_HV_KCONF) || [ ! -f $(XEN_HV_OBJ)/.config ]; then \
	    echo "xen-hypervisor: configuring (debian/xen-kconfig, olddefconfig)"; \
	    cp $(XEN_HV_KCONF).new $(XEN_HV_OBJ)/.config; \
	    $(XMAKE) -C $(XEN)/xen $(XEN_HV_ARGS) olddefconfig; \
	fi; \
	mv -f $(XEN_HV_KCONF).new $(XEN_HV_KCONF); \
	echo "xen-hypervisor: building xen.gz in $(XEN_HV_OBJ)"; \
	$(XMAKE) -C $(XEN)/xen $(XEN_HV_ARGS); \
	cp -f $(XEN_HV_OBJ)/xen.gz $(XEN_HV)/xen.gz; \
	cp -f $(XEN_HV_OBJ)/.config $(XEN_HV)/config; \
	echo "xen-hypervisor: $(XEN_HV)/xen.gz"

xen-hypervisor-clean:
	rm -rf $(XEN_HV)
