# The device model with x-ims: Debian bookworm's QEMU 7.2 with Debian's
# patches and patches/qemu/series, built as qemu-system-i386 for Xen in
# $(BUILD)/qemu (see docs/qemu-x-ims.md).  Not part of "make".  "make
# check" builds it (make qemu: 6-7 minutes cold on two quiet cores, about
# 9 s when it is up to date) and runs every suite below with it, so that
# none of them is skipped: test_ims_qemu in tools/tests/ims's check with
# IMS_QEMU_PATCHED/IMS_QEMU_STOCK set, then check-qemu-dm (check-qemu-unit
# and check-qemu-qmp).  The stock binary (QEMU_STOCK, Debian's
# qemu-system-xen, installed by make qemu-deps) must exist: without it the
# stock checks fail, naming it, instead of disappearing.
#
#   make qemu          fetch, verify, patch, configure and build
#   make check-qemu    unit test of xen_pt_ims.c, QMP tests of the patched
#                      and the stock binary, and libxl's probe against them
#                      (that last one needs libxenlight built: make; it
#                      fails, saying so, when it is not)
#   make qemu-patches  write the commits in $(BUILD)/qemu to patches/qemu/
#   make qemu-reset    drop hand edits in $(BUILD)/qemu

QEMU_TREE    := BUILD=$(BUILD) JOBS=$(JOBS) $(TOP)/scripts/qemu-tree.sh
QEMU_SRC     := $(BUILD)/qemu
QEMU_BIN     := $(QEMU_SRC)/build/qemu-system-i386
QEMU_STOCK   ?= /usr/libexec/xen-qemu-system-i386
QEMU_TESTDIR := $(TOP)/tools/tests/ims/qemu
QEMU_TESTOUT := $(BUILD)/qemu-tests
QEMU_IMS_C   := $(QEMU_SRC)/hw/xen/xen_pt_ims.c

# libxl's probe against the real binaries: tools/tests/ims/test_ims_qemu.c
# (make check runs it in place with IMS_QEMU_PATCHED set).  Built here in
# a copy of the test directory, with its own test xenstored, against the
# libraries of the Xen tree (make build), so that nothing is written to
# $(BUILD)/xen.
QEMU_LIBXL_DIR := $(QEMU_TESTOUT)/libxl
QEMU_XENLIBS := toollog evtchn toolcore ctrl store hypfs guest call \
                foreignmemory devicemodel gnttab light util
qemu_empty :=
qemu_space := $(qemu_empty) $(qemu_empty)
QEMU_LIBXL_ENV := LD_LIBRARY_PATH=$(subst $(qemu_space),:,$(foreach l,$(QEMU_XENLIBS),$(BUILD)/xen/tools/libs/$(l))) \
                  IMS_FIXTURES=$(TOP)/tools/tests/ims/fixtures \
                  IMS_QEMU_PATCHED=$(QEMU_BIN) IMS_QEMU_STOCK=$(QEMU_STOCK) \
                  IMS_XENSTORED=$(QEMU_LIBXL_DIR)/xenstored-test/xenstored

.PHONY: qemu qemu-deps qemu-fetch qemu-sync qemu-configure qemu-patches \
        qemu-reset check-qemu check-qemu-dm check-qemu-unit check-qemu-qmp \
        check-qemu-libxl

qemu-deps:
	@$(QEMU_TREE) deps

qemu-fetch: qemu-deps
	@$(QEMU_TREE) fetch

qemu-sync: qemu-fetch
	@$(QEMU_TREE) sync

qemu-configure: qemu-sync
	@$(QEMU_TREE) configure

qemu: qemu-configure
	@$(QEMU_TREE) build
	@echo "qemu: $(QEMU_BIN)"

qemu-patches:
	@$(QEMU_TREE) export

qemu-reset:
	@$(QEMU_TREE) reset

# xen_pt_ims.c is compiled from the patched tree, outside QEMU, with a
# stand-in for qemu/osdep.h.
$(QEMU_TESTOUT)/test_xen_pt_ims: $(QEMU_TESTDIR)/test_xen_pt_ims.c \
		$(QEMU_TESTDIR)/include/qemu/osdep.h $(QEMU_IMS_C) \
		$(QEMU_SRC)/hw/xen/xen_pt_ims.h $(TOP)/guest/linux/xen_ims_parse.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -g -O2 -Wall -Wextra -Wno-unused-parameter -Werror \
	    -I$(QEMU_TESTDIR)/include -I$(QEMU_SRC)/hw/xen -I$(TOP)/guest/linux -o $@ \
	    $(QEMU_TESTDIR)/test_xen_pt_ims.c $(QEMU_IMS_C) \
	    $(shell $(PKG_CONFIG) --cflags --libs cmocka)

check-qemu-unit: qemu-sync
	@$(MAKE) -s $(QEMU_TESTOUT)/test_xen_pt_ims
	@echo "== qemu: test_xen_pt_ims"
	@$(QEMU_TESTOUT)/test_xen_pt_ims 2>&1

check-qemu-qmp: qemu
	@echo "== qemu: test_qmp.py"
	@python3 $(QEMU_TESTDIR)/test_qmp.py $(QEMU_BIN) $(QEMU_STOCK)

check-qemu-libxl: qemu
	@echo "== qemu: test_ims_qemu (libxl's probe)"
	@if [ ! -f $(BUILD)/xen/tools/libs/light/libxenlight.a ]; then \
	    echo "failed: libxenlight is not built (run make first)"; exit 1; \
	fi; \
	mkdir -p $(QEMU_LIBXL_DIR) && \
	cp -p $(TOP)/tools/tests/ims/Makefile $(TOP)/tools/tests/ims/harness*.[ch] \
	    $(TOP)/tools/tests/ims/xenstored-no-hypervisor.patch \
	    $(TOP)/tools/tests/ims/test_ims_qemu.c $(QEMU_LIBXL_DIR)/ && \
	$(MAKE) -s -C $(QEMU_LIBXL_DIR) XEN_ROOT=$(BUILD)/xen test_ims_qemu \
	    xenstored-test/xenstored >/dev/null && \
	cd $(QEMU_LIBXL_DIR) && $(QEMU_LIBXL_ENV) ./test_ims_qemu 2>&1

# What make check runs after tools/tests/ims's check (which has run
# test_ims_qemu with the binaries).
check-qemu-dm:
	@failed=0; \
	for t in check-qemu-unit check-qemu-qmp; do \
	    $(MAKE) -s $$t || failed=$$((failed + 1)); \
	done; \
	if [ $$failed -ne 0 ]; then \
	    echo "qemu tests: $$failed suite(s) failed"; exit 1; \
	fi; \
	echo "qemu tests: all suites passed"

check-qemu:
	@failed=0; \
	for t in check-qemu-unit check-qemu-qmp check-qemu-libxl; do \
	    $(MAKE) -s $$t || failed=$$((failed + 1)); \
	done; \
	if [ $$failed -ne 0 ]; then \
	    echo "qemu tests: $$failed suite(s) failed"; exit 1; \
	fi; \
	echo "qemu tests: all suites passed"
