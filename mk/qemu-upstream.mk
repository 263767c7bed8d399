# The x-ims patches on upstream QEMU, the versions Qubes OS runs in its
# stub domains: 9.0.2 (R4.3) and 8.1.2 (R4.2), pinned in
# qemu-upstream.conf, patches in patches/qemu-$(QEMU_VERSION)/ (see
# docs/qemu-x-ims.md, "Upstream QEMU 9.0 and 8.1").  Not part of "make" or
# "make check": a cold build takes 15-20 minutes on two shared cores.
#
#   make qemu-upstream QEMU_VERSION=9.0   fetch, verify, patch, configure and
#                                         build qemu-system-i386 in
#                                         $(BUILD)/qemu-9.0 (or 8.1)
#   make check-qemu-upstream QEMU_VERSION=9.0
#                                         xen_pt_ims.c's unit test compiled
#                                         from that tree, then test_qmp.py
#                                         with its binary (built first)
#   make check-qemu-upstream-unit QEMU_VERSION=9.0
#                                         the unit test only (sync, no build)
#   make qemu-upstream-patches QEMU_VERSION=9.0
#                                         write the tree's commits back
#
# The sources come from QEMU_GIT and KEYCODEMAPDB_GIT (clones that have the
# pinned commits) or from verified archives in $(BUILD)/dl-qemu-upstream/;
# scripts/qemu-upstream.sh fails, saying so, without them.

QEMU_VERSION ?= 9.0
QEMU_UP_TREE := BUILD=$(BUILD) JOBS=$(JOBS) $(TOP)/scripts/qemu-upstream.sh
QEMU_UP_SRC  := $(BUILD)/qemu-$(QEMU_VERSION)
QEMU_UP_BIN  := $(QEMU_UP_SRC)/build/qemu-system-i386
QEMU_UP_OUT  := $(BUILD)/qemu-$(QEMU_VERSION)-tests
export QEMU_GIT KEYCODEMAPDB_GIT

.PHONY: qemu-upstream qemu-upstream-sync qemu-upstream-patches \
        check-qemu-upstream check-qemu-upstream-unit

qemu-upstream-sync:
	@$(QEMU_UP_TREE) sync $(QEMU_VERSION)

qemu-upstream: qemu-deps qemu-upstream-sync
	@start=$$(date +%s); \
	$(QEMU_UP_TREE) configure $(QEMU_VERSION) && \
	$(QEMU_UP_TREE) build $(QEMU_VERSION) && \
	echo "qemu-upstream: $(QEMU_UP_BIN) ($$(($$(date +%s) - start)) s)"

qemu-upstream-patches:
	@$(QEMU_UP_TREE) export $(QEMU_VERSION)

check-qemu-upstream-unit: qemu-upstream-sync
	@mkdir -p $(QEMU_UP_OUT)
	@$(CC) -std=gnu11 -g -O2 -Wall -Wextra -Wno-unused-parameter -Werror \
	    -I$(QEMU_TESTDIR)/include -I$(QEMU_UP_SRC)/hw/xen \
	    -o $(QEMU_UP_OUT)/test_xen_pt_ims \
	    $(QEMU_TESTDIR)/test_xen_pt_ims.c $(QEMU_UP_SRC)/hw/xen/xen_pt_ims.c \
	    $$(pkg-config --cflags --libs cmocka)
	@echo "== qemu $(QEMU_VERSION): test_xen_pt_ims"
	@$(QEMU_UP_OUT)/test_xen_pt_ims 2>&1

check-qemu-upstream: check-qemu-upstream-unit qemu-upstream
	@echo "== qemu $(QEMU_VERSION): test_qmp.py"
	@python3 $(QEMU_TESTDIR)/test_qmp.py $(QEMU_UP_BIN) $(QEMU_STOCK)
