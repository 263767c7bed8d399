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

.PHONY: lab lab-smoke lab-run lab-image lab-fetch check-lab check-lab-hv

lab-fetch:
	@$(LAB_ENV) $(TOP)/lab/fetch.sh

# Needs xl: build it only if it is not there (make build otherwise).
$(XEN)/tools/xl/xl:
	@$(MAKE) build

lab-image: lab-fetch $(XEN)/tools/xl/xl
	@$(LAB_ENV) $(TOP)/lab/mkinitrd.sh

lab: lab-image
	@rc=0; for r in $(LAB_RUNS); do \
	    $(LAB_ENV) $(TOP)/lab/run.sh $$r || rc=1; done; \
	echo "lab: summary"; cat $(addprefix $(LAB)/logs/,$(addsuffix .result,$(LAB_RUNS))) | grep -E '^(run=|result=)'; \
	exit $$rc

lab-smoke: lab-image
	@$(LAB_ENV) $(TOP)/lab/run.sh smoke

# make check's lab step: the smoke run, once more if it fails, so that the
# lab's own instability on a busy host (lab/README.md) is told apart from a
# defect, which fails both times.  Both results are printed.
check-lab: lab-image
	@echo "== lab: Debian's Xen 4.17 in QEMU (TCG, AMD-Vi), our xl, an HVM guest"
	@if $(LAB_ENV) $(TOP)/lab/run.sh smoke; then exit 0; fi; 	echo "lab: the smoke run failed; running it once more (lab/README.md: instability)"; 	cp $(LAB)/logs/smoke.serial.log $(LAB)/logs/smoke.first.serial.log; 	$(LAB_ENV) $(TOP)/lab/run.sh smoke

# ... and the same scenario on our hypervisor (make xen-hypervisor, patches
# 0009/0010): everything that does not use the flag behaves as on Debian's,
# and libxl's remap probe gets Xen's yes (explain-remap).
check-lab-hv: lab-image xen-hypervisor
	@echo "== lab: the same on our hypervisor (build/xen-hv/xen.gz)"
	@if $(LAB_ENV) LAB_XEN=$(BUILD)/xen-hv/xen.gz $(TOP)/lab/run.sh hv; then exit 0; fi; \
	echo "lab: the hv run failed; running it once more (lab/README.md: instability)"; \
	cp $(LAB)/logs/hv.serial.log $(LAB)/logs/hv.first.serial.log; \
	$(LAB_ENV) LAB_XEN=$(BUILD)/xen-hv/xen.gz $(TOP)/lab/run.sh hv

lab-run: lab-image
	@$(LAB_ENV) $(TOP)/lab/run.sh $(LAB_RUN)
