# The guest side of the "export" strategy: ath11k/ath12k patches for
# Debian bookworm's kernels (guest/linux/, docs/guest-linux.md).
#
#   make guest-linux     fetch and verify Debian's kernel source, apply
#                        guest/linux/patches/linux-T/series, prepare it with
#                        Debian's config and build only the ath11k/ath12k
#                        modules (a compile test; minutes, ~1.3 GB per tree;
#                        not part of "make check")
#   make check-guest     unit test of the pure parsing code (cmocka) and the
#                        check that every patch carries the same copy of it:
#                        no kernel tree, a few seconds
#   make guest-linux-dkms
#                        DKMS source trees of the patched drivers, built out
#                        of tree against Debian's linux-headers-<abi> (needs
#                        make guest-linux first; minutes)
#   make guest-linux-selftest
#                        xen_ims_selftest.ko (guest/linux/selftest: the
#                        patches' xen_ims.c against a real PCI device) for
#                        Debian's kernels, and a boot of each kernel in QEMU
#                        (TCG, no Xen) that loads it: -ENODEV, as upstream
#   make guest-linux-patches GUEST_LINUX_TREES=T
#                        write the commits of the tree back to the series
#
# GUEST_LINUX_TREES picks trees of guest/linux/source.conf (default: all,
# "6.1 6.12").

GUEST_LINUX_TREES ?=
GUEST_LINUX_SH    := BUILD=$(BUILD) JOBS=$(JOBS) $(TOP)/guest/linux/kernel-tree.sh
GUEST_TESTDIR     := $(TOP)/tools/tests/ims/guest
GUEST_TESTOUT     := $(BUILD)/guest-tests
GUEST_PARSE_H     := $(TOP)/guest/linux/xen_ims_parse.h
GUEST_TEST_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror \
                     -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: guest-linux guest-linux-dkms guest-linux-selftest guest-linux-patches \
        check-guest

guest-linux:
	@start=$$(date +%s); \
	$(GUEST_LINUX_SH) all $(GUEST_LINUX_TREES) && \
	echo "guest-linux: compile test passed in $$(($$(date +%s) - start)) s"

guest-linux-dkms:
	@start=$$(date +%s); \
	$(GUEST_LINUX_SH) dkms-test $(GUEST_LINUX_TREES) && \
	echo "guest-linux-dkms: passed in $$(($$(date +%s) - start)) s"

guest-linux-selftest:
	@start=$$(date +%s); \
	$(GUEST_LINUX_SH) selftest $(GUEST_LINUX_TREES) && \
	echo "guest-linux-selftest: passed in $$(($$(date +%s) - start)) s"

guest-linux-patches:
	@[ -n "$(GUEST_LINUX_TREES)" ] || { echo "set GUEST_LINUX_TREES=<tree>"; exit 2; }
	@for t in $(GUEST_LINUX_TREES); do $(GUEST_LINUX_SH) export $$t || exit 1; done

$(GUEST_TESTOUT)/test_guest_parse: $(GUEST_TESTDIR)/test_guest_parse.c $(GUEST_PARSE_H) \
		$(TOP)/mk/guest-linux.mk
	@mkdir -p $(@D)
	$(CC) $(GUEST_TEST_CFLAGS) -I$(TOP)/guest/linux \
	    -o $@ $< $(shell $(PKG_CONFIG) --cflags --libs cmocka)

# test_guest_parse holds the header to the directory the built libxl
# creates (the x-ims-path of a plan of the built xl): make builds xl.
check-guest:
	@$(MAKE) -s $(GUEST_TESTOUT)/test_guest_parse
	@echo "== guest: test_guest_parse"
	@p=$$($(TOP)/tools/tests/ims/guest/libxl-export-path.sh $(XEN)) || exit 1; \
	IMS_LIBXL_EXPORT_PATH=$$p $(GUEST_TESTOUT)/test_guest_parse 2>&1
	@echo "== guest: copies of xen_ims_parse.h in the patches"
	@$(TOP)/guest/linux/check-copies.sh
