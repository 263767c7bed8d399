# The end-to-end lab (lab/README.md): Debian's Xen 4.17 and kernel booted in
# qemu-system-x86_64 (TCG) with an emulated IOMMU, our xl in dom0.
#
#   make lab          the AMD-Vi, VT-d and no-intremap runs (several minutes each)
#   make lab-smoke    one AMD-Vi run
#   make lab-run LAB_RUN=intel    one run by name
#   make lab-image    only fetch the packages and build the boot files
#
# LAB_TIMEOUT=seconds bounds each boot; LAB_DM=path uses another device model
# (LAB_DM_IMS=yes when it has the x-ims property); LAB_XEN=path/xen.gz boots
# another hypervisor (e.g. build/xen-hv/xen.gz, make xen-hypervisor).

LAB      := $(BUILD)/lab
LAB_ENV  := LAB=$(LAB) XEN=$(XEN) LABSRC=$(TOP)/lab \
            $(if $(LAB_DM),LAB_DM=$(LAB_DM)) $(if $(LAB_DM_IMS),LAB_DM_IMS=$(LAB_DM_IMS)) \
            $(if $(LAB_TIMEOUT),LAB_TIMEOUT=$(LAB_TIMEOUT)) \
            $(if $(LAB_MALLOC_CHECK),LAB_MALLOC_CHECK=$(LAB_MALLOC_CHECK)) \
            $(foreach v,LAB_STALL LAB_CPU LAB_GUEST_WAIT LAB_XEN,$(if $($(v)),$(v)=$($(v))))
LAB_RUNS ?= amd intel nointremap

.PHONY: lab lab-smoke lab-run lab-image lab-fetch lab-daemons check-lab check-lab-hv lab-stubdom-image check-lab-stubdom

lab-fetch:
	@$(LAB_ENV) $(TOP)/lab/fetch.sh

# Needs xl: build it only if it is not there (make build otherwise).
$(XEN)/tools/xl/xl:
	@$(MAKE) build

# Another Xen version (XEN_VERSION=4.20): Debian's 4.17 xenstored,
# xenconsoled and xen-init-dom0 link 4.17's libxenctrl, which that
# hypervisor rejects; dom0 gets the build tree's, built here (lab/mkinitrd.sh).
lab-daemons: $(XEN)/tools/xl/xl
	@echo "lab: Xen $(XEN_VERSION): xenstored, xenconsoled, xen-init-dom0 from $(XEN)"
	@$(XMAKE) -C $(XEN)/tools/xenstored
	@$(XMAKE) -C $(XEN)/tools/console
	@$(XMAKE) -C $(XEN)/tools/helpers xen-init-dom0

lab-image: lab-fetch $(XEN)/tools/xl/xl $(if $(filter-out 4.17,$(XEN_VERSION)),lab-daemons)
	@$(LAB_ENV) $(TOP)/lab/mkinitrd.sh

lab: lab-image
	@rc=0; for r in $(LAB_RUNS); do \
	    $(LAB_ENV) $(TOP)/lab/run.sh $$r || rc=1; done; \
	echo "lab: summary"; cat $(addprefix $(LAB)/logs/,$(addsuffix .result,$(LAB_RUNS))) | grep -E '^(run=|result=)'; \
	exit $$rc

lab-smoke: lab-image
	@$(LAB_ENV) $(TOP)/lab/run.sh smoke

# make check's lab steps.  A run that fails is run again, up to
# LAB_ATTEMPTS times in all (default 4), so that the lab's own instability
# (dom0 programs crash now and then under TCG: lab/README.md) is told apart
# from a defect, which fails every time.  Every result is printed, and the
# serial log of each failed attempt is kept as RUN.failN.serial.log.
LAB_ATTEMPTS ?= 4
define lab_attempts
	@n=1; while :; do \
	    if $(LAB_ENV) $(1) $(TOP)/lab/run.sh $(2); then exit 0; fi; \
	    cp $(LAB)/logs/$(2).serial.log $(LAB)/logs/$(2).fail$$n.serial.log; \
	    [ $$n -lt $(LAB_ATTEMPTS) ] || { echo "lab: run $(2) failed $$n times"; exit 1; }; \
	    echo "lab: run $(2) failed (attempt $$n of $(LAB_ATTEMPTS)); running it again"; \
	    n=$$((n + 1)); \
	done
endef

check-lab: lab-image
	@$(if $(filter-out 4.17,$(XEN_VERSION)),echo "lab: check-lab boots Debian's Xen 4.17; for XEN_VERSION=$(XEN_VERSION) run check-lab-hv (our $(XEN_VERSION) hypervisor)" >&2; exit 2)
	@echo "== lab: Debian's Xen 4.17 in QEMU (TCG, AMD-Vi), our xl, an HVM guest"
	$(call lab_attempts,,smoke)

# ... and the same scenario on our hypervisor (make xen-hypervisor, patches
# 0009/0010): everything that does not use the flag behaves as on Debian's,
# and libxl's remap probe gets Xen's yes (explain-remap).  With
# XEN_VERSION=4.20 (explicitly: make check skips the lab for it) our 4.20
# hypervisor and toolstack, with 4.20's daemons in dom0 (lab/README.md,
# "Xen 4.20").
check-lab-hv: lab-image xen-hypervisor
	@echo "== lab: the same on our hypervisor ($(BUILD)/xen-hv/xen.gz, Xen $(XEN_VERSION))"
	$(call lab_attempts,LAB_XEN=$(BUILD)/xen-hv/xen.gz,hv)

lab-run: lab-image
	@$(LAB_ENV) $(TOP)/lab/run.sh $(LAB_RUN)

# The stub-domain runs (lab/README.md, "Stub domain"): the HVM guests'
# device model, our x-ims QEMU (make qemu), runs in a Linux stub domain
# built from Debian's kernel and busybox (lab/mkstubdom.sh), with libxl's
# vchan-socket-proxy (our build) between QEMU's QMP and libxl.  Three
# runs: Debian's Xen on AMD-Vi (export through the stub domain), our
# hypervisor on AMD-Vi (remap: the AMD default), and VT-d (expose).
# LAB_STUBDOM_DM=path puts another device model in the stub domain, e.g.
# QEMU 9.0.2 (make qemu-upstream QEMU_VERSION=9.0: Qubes R4.3's); dom0's
# QEMU, which serves the stub domain's consoles, stays ours (7.2).
LAB_STUBDOM_DM ?= $(QEMU_BIN)
lab-stubdom-image: $(XEN)/tools/xl/xl
	@test -x $(QEMU_BIN) || $(MAKE) qemu
	@test -x $(LAB_STUBDOM_DM) || { echo "lab: LAB_STUBDOM_DM=$(LAB_STUBDOM_DM): no such device model" >&2; exit 2; }
	@$(XMAKE) -C $(XEN)/tools/vchan vchan-socket-proxy
	@$(MAKE) --no-print-directory lab-image LAB_DM=$(QEMU_BIN) LAB_DM_IMS=yes
	@$(LAB_ENV) LAB_DM=$(QEMU_BIN) LAB_STUBDOM_DM=$(LAB_STUBDOM_DM) $(TOP)/lab/mkstubdom.sh

check-lab-stubdom: lab-stubdom-image xen-hypervisor
	@$(if $(filter-out 4.17,$(XEN_VERSION)),echo "lab: check-lab-stubdom boots Debian's Xen 4.17" >&2; exit 2)
	@echo "== lab: the HVM guests' device model in a Linux stub domain (our x-ims QEMU)"
	$(call lab_attempts,LAB_DM=$(QEMU_BIN) LAB_DM_IMS=yes,stubdom)
	$(call lab_attempts,LAB_DM=$(QEMU_BIN) LAB_DM_IMS=yes LAB_XEN=$(BUILD)/xen-hv/xen.gz,stubdom-hv)
	$(call lab_attempts,LAB_DM=$(QEMU_BIN) LAB_DM_IMS=yes,stubdom-intel)
