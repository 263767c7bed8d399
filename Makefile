# xen-pci-ims: build Xen 4.17's toolstack with this overlay and run the tests.
#
#   make            set up, fetch, patch and build libxenlight, libxlutil, xl
#   make check      all of the above, then every test
#   make demo       explain plans for the shipped fixtures on fake hosts
#
# See README.md.  BUILD=dir moves the build directory; V=1 shows commands.
# XEN_VERSION=4.20 (or 4.19) builds against that Xen instead of 4.17
# (README.md, "Xen versions"); its default build directory is build-4.20.

TOP    := $(CURDIR)
XEN_VERSION ?= 4.17
ifeq ($(XEN_VERSION),4.17)
BUILD  ?= $(TOP)/build
else
BUILD  ?= $(TOP)/build-$(XEN_VERSION)
endif
XEN    := $(BUILD)/xen
JOBS   ?= $(shell nproc)
PKG_CONFIG ?= pkg-config
export BUILD XEN_VERSION

ifeq ($(V),1)
XMAKE  := $(MAKE) -j$(JOBS)
else
XMAKE  := $(MAKE) -s -j$(JOBS)
endif

TREE   := BUILD=$(BUILD) $(TOP)/scripts/xen-tree.sh

.PHONY: all build deps fetch sync configure check check-4.20 check-4.19 test demo run \
        reset-tree clean distclean fuzz bench

all: build

deps:
	@$(TREE) deps

fetch: deps
	@$(TREE) fetch

sync: fetch
	@$(TREE) sync

configure: sync
	@$(TREE) configure

build: configure
	@echo "build: tools/include tools/libs tools/xl"
	@$(XMAKE) -C $(XEN)/tools/include
	@$(XMAKE) -C $(XEN)/tools/libs
	@$(XMAKE) -C $(XEN)/tools/xl

# Every test: the patched device model is built first (mk/qemu.mk: make
# qemu, 6-7 minutes cold on two cores, seconds when up to date); then the
# unit tests (cmocka) and scripted xl runs, test_ims_qemu among them with
# the patched and the stock device model; the device model's own suites
# (make check-qemu-dm: xen_pt_ims.c's unit test, QMP); the guest patches'
# parsing (mk/guest-linux.mk; no kernel tree needed) and the proof's guest
# program (mk/proof.mk; cmocka only); then the lab's smoke run
# (mk/lab.mk: a real Xen 4.17 booted in QEMU, about 2 minutes) on
# Debian's hypervisor and on ours (make xen-hypervisor, 2 more minutes to
# build it), and three runs with the device model in a Linux stub domain
# (check-lab-stubdom); IMS_LAB=no skips them.  Each suite prints its own summary; a
# suite that skipped a test counts as failed (a skip is not a pass); the
# exit status is non-zero when any of them failed.  check-series-files
# checks that every new file is in a patch of the mailed series
# (patches/series-files, mk/series.mk).
check: build
	@$(MAKE) -s check-series-files
	@$(MAKE) -s qemu
	@IMS_QEMU_PATCHED=$(QEMU_BIN) IMS_QEMU_STOCK=$(QEMU_STOCK) IMS_REPO=$(TOP) \
	    $(XMAKE) -C $(XEN)/tools/tests/ims check
	@$(MAKE) -s check-qemu-dm
	@$(MAKE) -s check-guest
	@echo "== guest: ims-probe (the proof's guest program)"
	@$(MAKE) -s proof-test 2>&1
	@$(if $(filter 0 no,$(IMS_LAB)),echo "== lab: skipped (IMS_LAB=$(IMS_LAB))",$(if $(filter-out 4.17,$(XEN_VERSION)),echo "== lab: skipped (it boots Xen 4.17; XEN_VERSION=$(XEN_VERSION))",$(MAKE) -s check-lab 2>&1 && $(MAKE) -s check-lab-hv 2>&1 && $(MAKE) -s check-lab-stubdom 2>&1))

test: check

# The unit and CLI suites (tools/tests/ims) against Xen 4.20 or 4.19:
# their tools built in BUILD_4_20 / BUILD_4_19 (make XEN_VERSION=...), the
# device model of this build (it does not depend on the Xen version).  Not
# part of check: those sources are git archives of upstream's release
# commits, which need xen.git (XEN_GIT=path, or network access to
# xenbits) the first time.  Cold on two cores: about 3 minutes to build,
# 30 s of tests.
BUILD_4_20 ?= $(BUILD)-4.20
BUILD_4_19 ?= $(BUILD)-4.19
check-4.20 check-4.19: check-%:
	@$(MAKE) -s qemu
	@$(MAKE) -s XEN_VERSION=$* BUILD=$(BUILD_$(subst .,_,$*)) build
	@IMS_QEMU_PATCHED=$(QEMU_BIN) IMS_QEMU_STOCK=$(QEMU_STOCK) IMS_REPO=$(TOP) \
	    $(XMAKE) -C $(BUILD_$(subst .,_,$*))/xen/tools/tests/ims check

demo: build
	@$(XMAKE) -C $(XEN)/tools/tests/ims demo

run: demo

fuzz: build
	@$(XMAKE) -C $(XEN)/tools/tests/ims fuzz

bench: build
	@$(XMAKE) -C $(XEN)/tools/tests/ims bench

# Throw away edits made by hand in the build tree (after saving them).
reset-tree:
	@$(TREE) reset

clean:
	-@[ ! -d $(XEN)/tools ] || $(MAKE) -s -C $(XEN)/tools/tests/ims clean
	-@[ ! -d $(XEN)/tools ] || $(MAKE) -s -C $(XEN)/tools/xl clean
	-@[ ! -d $(XEN)/tools ] || $(MAKE) -s -C $(XEN)/tools/libs clean

distclean:
	rm -rf $(BUILD)

# Further parts (device model, lab, guest side) bring their own targets.
-include $(sort $(wildcard $(TOP)/mk/*.mk))
