// SPDX-License-Identifier: BSD-3-Clause-Clear
/*
 * xen_ims_selftest.ko: run ath11k's xen_ims.c (copied unchanged from the
 * patched tree next to this file's stand-in core.h and debug.h) against a
 * real Xen guest's xenstore and a real passed-through PCI device, without
 * an ath11k device.
 *
 *   insmod xen_ims_selftest.ko vendor=0x1234 device=0x11e8
 *
 * Takes the first such device that has no driver, enables it with one
 * MSI vector (so that the device model binds MSI and exports the values),
 * calls ath11k_xen_ims_get() as ath11k does at power up, prints
 *
 *   xen_ims_selftest: <bdf>: result=<errno> config=<hi><lo>/<data> export=<hi><lo>/<data>
 *
 * (config: what the guest reads from config space; export: what the
 * driver would use, or "-"), then disables MSI again, checks that the
 * export goes back to pending (an unbind).  The module stays loaded,
 * holding nothing (rmmod it); the result is in the kernel log.  The
 * test needs no ath11k device and changes nothing in the driver code it
 * runs.
 */

#include <linux/delay.h>
#include <linux/module.h>
#include <linux/msi.h>
#include <linux/pci.h>

#include "core.h"
#include "xen_ims.h"

static ushort vendor = 0x1234;
module_param(vendor, ushort, 0444);
MODULE_PARM_DESC(vendor, "PCI vendor ID of the device to test (default: QEMU edu)");

static ushort device = 0x11e8;
module_param(device, ushort, 0444);
MODULE_PARM_DESC(device, "PCI device ID of the device to test (default: QEMU edu)");

static int __init xen_ims_selftest_init(void)
{
	struct pci_dev *pdev = NULL;
	struct ath11k_base ab;
	struct xen_ims_msg msg;
	u32 lo = 0, hi = 0;
	u16 flags = 0, data = 0;
	int ret, nvec;

	while ((pdev = pci_get_device(vendor, device, pdev)))
		if (!pdev->dev.driver)
			break;
	if (!pdev) {
		pr_info("xen_ims_selftest: no unbound %04x:%04x\n", vendor, device);
		return -ENODEV;
	}
	ab.dev = &pdev->dev;

	ret = pci_enable_device(pdev);
	if (ret) {
		pr_info("xen_ims_selftest: %s: enable: %d\n", pci_name(pdev), ret);
		goto put;
	}
	pci_set_master(pdev);
	nvec = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI);
	if (nvec < 0) {
		pr_info("xen_ims_selftest: %s: no MSI: %d\n", pci_name(pdev), nvec);
		ret = nvec;
		goto disable;
	}

	/* what upstream ath11k reads */
	pci_read_config_word(pdev, pdev->msi_cap + PCI_MSI_FLAGS, &flags);
	pci_read_config_dword(pdev, pdev->msi_cap + PCI_MSI_ADDRESS_LO, &lo);
	if (flags & PCI_MSI_FLAGS_64BIT) {
		pci_read_config_dword(pdev, pdev->msi_cap + PCI_MSI_ADDRESS_HI, &hi);
		pci_read_config_word(pdev, pdev->msi_cap + PCI_MSI_DATA_64, &data);
	} else {
		pci_read_config_word(pdev, pdev->msi_cap + PCI_MSI_DATA_32, &data);
	}

	ret = ath11k_xen_ims_get(&ab, pdev, nvec, &msg);
	if (ret)
		pr_info("xen_ims_selftest: %s: result=%d config=0x%08x%08x/0x%04x export=-\n",
			pci_name(pdev), ret, hi, lo, data);
	else
		pr_info("xen_ims_selftest: %s: result=0 config=0x%08x%08x/0x%04x export=0x%08x%08x/0x%04x\n",
			pci_name(pdev), hi, lo, data, msg.addr_hi, msg.addr_lo,
			msg.data);

	pci_free_irq_vectors(pdev);
	if (!ret) {
		/* MSI off: the device model unbinds; a new lookup must wait
		 * in vain (state=pending) and time out.
		 */
		ret = ath11k_xen_ims_get(&ab, pdev, 1, &msg);
		pr_info("xen_ims_selftest: %s: after MSI disable: result=%d (expected %d)\n",
			pci_name(pdev), ret, -ETIMEDOUT);
	}
disable:
	pci_disable_device(pdev);
put:
	pci_dev_put(pdev);
	return 0;
}

static void __exit xen_ims_selftest_exit(void)
{
}

module_init(xen_ims_selftest_init);
module_exit(xen_ims_selftest_exit);
MODULE_DESCRIPTION("Run ath11k's xen-ims lookup against a passed-through device");
MODULE_LICENSE("Dual BSD/GPL");
