# The patch series as they would be mailed upstream (scripts/series.sh).
#
#   make series        $(BUILD)/series/xen/: git format-patch of pristine
#                      Xen + patches/ in the mail order of
#                      patches/series-files, each new file inside the patch
#                      that introduces it, with a cover letter;
#                      $(BUILD)/series/qemu/ and $(BUILD)/series/libvirt/
#                      (when make libvirt has unpacked libvirt) in the same
#                      way.  Author and Signed-off-by: SERIES_AUTHOR="Name
#                      <email>", default git config user.name/user.email;
#                      refused when neither is set.
#   make check-series  write the Xen series (series-xen), then apply
#                      $(BUILD)/series/xen/ to pristine Xen patch by
#                      patch (git am in $(BUILD)/series-check/xen), build
#                      the tools after each tools patch, check whitespace,
#                      Signed-off-by and SPDX; QEMU's checkpatch.pl on
#                      $(BUILD)/series/qemu/.  Report per patch in
#                      $(BUILD)/series-check/report.  Not part of make
#                      check: it builds the tools once per tools patch.
#   make check-series-files   every overlay file is in exactly one patch of
#                      patches/series-files, or listed as not mailed (part
#                      of make check)

SERIES_SH := BUILD=$(BUILD) JOBS=$(JOBS) SERIES_AUTHOR="$(SERIES_AUTHOR)" \
             $(TOP)/scripts/series.sh

.PHONY: series series-xen series-qemu series-libvirt check-series check-series-files

series: series-xen series-qemu series-libvirt

series-xen: check-series-files sync
	@$(SERIES_SH) xen

series-qemu: qemu-sync
	@$(SERIES_SH) qemu

series-libvirt:
	@if [ -d $(BUILD)/libvirt/src/.git ]; then $(SERIES_SH) libvirt; \
	else echo "series: libvirt: no $(BUILD)/libvirt/src (make libvirt unpacks it): not written"; fi

check-series: configure series-xen
	@$(SERIES_SH) check

check-series-files:
	@$(SERIES_SH) files
