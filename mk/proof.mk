# The IMS proof (docs/proof.md): QEMU's edu device, passed through to an HVM
# guest by our xl with our device model, told by DMA to write the MSI message
# the guest reads back from config space; on emulated AMD-Vi and VT-d, with
# interrupt remapping on and off, for each policy.
#
#   make proof          outer QEMU, boot files, the four runs, the matrix
#   make proof-qemu     only the outer QEMU (build/qemu-outer; cached)
#   make proof-image    only the boot files (build/proof/lab/boot)
#   make proof-run PROOF_RUN=amd-ir    one run (amd-ir amd-noir intel-ir intel-noir;
#                       add -hv to boot our hypervisor, make xen-hypervisor,
#                       -native for native guest MSIs: amd-ir-hv-native, and
#                       -stubdom for the device model in a Linux stub domain:
#                       intel-ir-stubdom; one policy only, PROOF_POLICIES=auto:
#                       libxl cannot detach from a stub domain guest)
#   make proof-matrix   the matrix from the runs' logs so far
#   make proof-test     unit test of ims-probe's pure parts (cmocka)
#
# PROOF_RUNS (default: the key runs first; the remap cells are
# PROOF_RUNS="amd-ir-hv amd-ir-hv-native intel-ir-hv amd-noir-hv"),
# PROOF_POLICIES (default off,auto,expose,export; remap,off,auto on -hv
# runs), PROOF_TIMEOUT (seconds per boot).

PROOF_RUNS     ?= amd-ir intel-ir amd-noir intel-noir
PROOF_ENV      := BUILD=$(BUILD) XEN=$(XEN) \
                  $(if $(PROOF_POLICIES),PROOF_POLICIES=$(PROOF_POLICIES)) \
                  $(if $(PROOF_TIMEOUT),PROOF_TIMEOUT=$(PROOF_TIMEOUT))

.PHONY: proof proof-qemu proof-image proof-run proof-matrix proof-test

proof-qemu:
	@BUILD=$(BUILD) $(TOP)/proof/qemu-outer.sh

proof-image: $(XEN)/tools/xl/xl
	@test -x $(BUILD)/qemu/build/qemu-system-i386 || $(MAKE) qemu
	@$(XMAKE) -C $(XEN)/tools/vchan vchan-socket-proxy
	@$(PROOF_ENV) $(TOP)/proof/mkimage.sh

# runs on our hypervisor (-hv) need make xen-hypervisor's xen.gz
PROOF_NEEDS_HV = $(if $(findstring -hv,$(1)),xen-hypervisor)

proof-run: proof-qemu proof-image $(call PROOF_NEEDS_HV,$(PROOF_RUN))
	@$(PROOF_ENV) $(TOP)/proof/run.sh $(PROOF_RUN)

proof-matrix:
	@python3 $(TOP)/proof/matrix.py $(BUILD)/proof

proof: proof-qemu proof-image $(call PROOF_NEEDS_HV,$(PROOF_RUNS))
	@for r in $(PROOF_RUNS); do $(PROOF_ENV) $(TOP)/proof/run.sh $$r; done
	@python3 $(TOP)/proof/matrix.py $(BUILD)/proof

proof-test:
	@$(MAKE) -s -C $(TOP)/guest/ims-probe OUT=$(BUILD)/proof/ims-probe test
	@echo "== proof: qemu-outer.sh installs its build dependencies"
	@st=0; bash $(TOP)/proof/test-qemu-outer-deps.sh || st=$$?; \
	    [ $$st -ne 77 ] || echo "== proof: test-qemu-outer-deps.sh: SKIPPED: counted as failed"; \
	    [ $$st -eq 0 ]
