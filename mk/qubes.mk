# Qubes OS: qubes-core-admin's PCI device template with the "ims" option
# (ecosystem/qubes/, docs/qubes.md).  A target of its own, not part of
# "make check": its inputs are Qubes' files, which come from GitHub or a
# clone, and a build machine that reaches only Debian's archive has neither.
#
#   make check-qubes   take the pinned qubes-core-admin files of
#                      ecosystem/qubes/source.conf (R4.3 and R4.2), apply
#                      ecosystem/qubes/patches, render the PCI template
#                      the way qubesd does (python3-jinja2) and check the
#                      XML against ecosystem/libvirt/patches; on R4.3 also
#                      call the patched qubes/ext/pci.py's validation
#
# The pinned files are not in this repository: scripts/qubes-src.sh takes
# them from $(BUILD)/qubes/dl/ (verified copies), QUBES_CORE_ADMIN_GIT (a
# clone of qubes-core-admin) or GitHub, and fails, saying so, when it can
# get none of them; the test is never skipped.

QUBES_SRC     := BUILD=$(BUILD) $(TOP)/scripts/qubes-src.sh
QUBES_PYTHON  ?= /usr/bin/python3
QUBES_LIBVIRT_PATCH := $(TOP)/ecosystem/libvirt/patches/0001-conf-add-ims-attribute-to-the-driver-of-Xen-PCI-host.patch
export QUBES_CORE_ADMIN_GIT

.PHONY: check-qubes qubes-deps

qubes-deps:
	@bash -c '. $(TOP)/scripts/debian-lib.sh; \
	    die() { echo "qubes: error: $$*" >&2; exit 1; }; \
	    say() { echo "qubes: $$*"; }; install_missing python3-jinja2 patch curl'

check-qubes: qubes-deps
	@echo "== qubes: qubes-core-admin PCI template with ims= (R4.3, R4.2)"
	@start=$$(date +%s); rc=0; \
	for rel in R43 R42; do \
	    $(QUBES_SRC) prepare $$rel || { rc=1; continue; }; \
	    echo "-- $$rel: $$(cat $(BUILD)/qubes/$$rel/pinned)"; \
	    $(QUBES_PYTHON) $(TOP)/ecosystem/qubes/test_render.py \
	        --tree $(BUILD)/qubes/$$rel --libvirt-patch $(QUBES_LIBVIRT_PATCH) \
	        $$([ $$rel = R43 ] && echo --validation) \
	        > $(BUILD)/qubes/$$rel/test.log 2>&1 || rc=1; \
	    grep -E '^  FAIL|passed, .* failed|^libvirt|^test_render|Error' \
	        $(BUILD)/qubes/$$rel/test.log; \
	done; \
	echo "qubes: $$(($$(date +%s) - start)) s (logs: $(BUILD)/qubes/R4*/test.log)"; \
	exit $$rc
