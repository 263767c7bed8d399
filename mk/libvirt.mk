# libvirt's libxl driver with <driver name='xen' ims='...'/>: Debian
# bookworm's libvirt 9.0 (ecosystem/libvirt/source.conf) with Debian's
# patches and ecosystem/libvirt/patches/series, configured with the libxl
# and test drivers only and built against the libxenlight of $(BUILD)/xen
# (see docs/libvirt.md).  Not part of "make" or "make check": it fetches
# and builds a part of libvirt (a few minutes).
#
#   make libvirt          build Xen's tools (make build), then fetch, verify,
#                         patch, configure and build what libvirt's tests of
#                         the patch need (genericxml2xmltest, virschematest,
#                         libxlxml2domconfigtest, xlconfigtest, xmconfigtest),
#                         run them, and compile the libxl driver against
#                         Debian's stock libxen-dev; prints the wall time
#   make libvirt-test     run the tests again (no rebuild)
#   make libvirt-patches  write the commits in $(BUILD)/libvirt/src to
#                         ecosystem/libvirt/patches/
#   make libvirt-reset    drop hand edits in $(BUILD)/libvirt/src
#
# Everything runs under "nice -n 19" with LIBVIRT_JOBS (default 2) ninja
# jobs.

LIBVIRT_JOBS ?= 2
LIBVIRT_TREE := BUILD=$(BUILD) JOBS=$(LIBVIRT_JOBS) $(TOP)/scripts/libvirt-tree.sh

.PHONY: libvirt libvirt-test libvirt-patches libvirt-reset

libvirt: build
	@start=$$(date +%s); \
	$(LIBVIRT_TREE) deps && $(LIBVIRT_TREE) fetch && $(LIBVIRT_TREE) sync && \
	$(LIBVIRT_TREE) configure && $(LIBVIRT_TREE) build && \
	$(LIBVIRT_TREE) test && $(LIBVIRT_TREE) stock && \
	echo "libvirt: built and tested in $$(($$(date +%s) - start)) s"

libvirt-test:
	@$(LIBVIRT_TREE) test && $(LIBVIRT_TREE) stock

libvirt-patches:
	@$(LIBVIRT_TREE) export

libvirt-reset:
	@$(LIBVIRT_TREE) reset
