// SPDX-License-Identifier: GPL-2.0
/*
 * ims_probe_drv: a stand-in for ath11k's interrupt setup, for the
 * xen-pci-ims proof (guest/ims-probe).  It binds to QEMU's edu device
 * (1234:11e8) and does what a driver does: pci_alloc_irq_vectors() with
 * PCI_IRQ_MSI, request_irq() - i.e. the guest kernel's own MSI path (in a
 * Xen HVM guest: the pirq/event-channel MSI path).  It counts interrupts
 * and shows the message the kernel composed, so that ims-probe (user
 * space) can tell whether config space reads back that message (virtual)
 * or another one (physical, x-ims=expose).
 *
 *   /sys/module/ims_probe_drv/parameters/irqs      interrupts handled
 *   /sys/module/ims_probe_drv/parameters/msg_addr  composed address (hex)
 *   /sys/module/ims_probe_drv/parameters/msg_data  composed data (hex)
 *   /sys/module/ims_probe_drv/parameters/vectors   vectors granted
 *
 * Why not VFIO no-IOMMU: Debian's 6.1 kernel is built without
 * CONFIG_VFIO_NOIOMMU, and an HVM guest has no IOMMU for vfio-pci.
 *
 * The driver does not request the BAR regions: ims-probe maps BAR0 through
 * sysfs, which CONFIG_IO_STRICT_DEVMEM refuses for busy regions.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/interrupt.h>
#include <linux/msi.h>

static unsigned int irqs;
static char msg_addr[24] = "none";
static char msg_data[12] = "none";
static int vectors;
static int want_vectors = 1;
module_param(irqs, uint, 0444);
module_param_string(msg_addr, msg_addr, sizeof(msg_addr), 0444);
module_param_string(msg_data, msg_data, sizeof(msg_data), 0444);
module_param(vectors, int, 0444);
module_param(want_vectors, int, 0444);
MODULE_PARM_DESC(want_vectors, "MSI vectors to ask for (ath11k asks for 32)");

static irqreturn_t ims_probe_irq(int irq, void *dev)
{
	WRITE_ONCE(irqs, READ_ONCE(irqs) + 1);
	return IRQ_HANDLED;
}

static int ims_probe_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct msi_msg msg;
	int ret, n;

	ret = pci_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	n = pci_alloc_irq_vectors(pdev, 1, want_vectors, PCI_IRQ_MSI);
	if (n < 0) {
		dev_err(&pdev->dev, "ims_probe: pci_alloc_irq_vectors: %d\n", n);
		pci_disable_device(pdev);
		return n;
	}
	vectors = n;
	ret = request_irq(pci_irq_vector(pdev, 0), ims_probe_irq, 0, "ims_probe", pdev);
	if (ret) {
		pci_free_irq_vectors(pdev);
		pci_disable_device(pdev);
		return ret;
	}
	get_cached_msi_msg(pci_irq_vector(pdev, 0), &msg);
	snprintf(msg_addr, sizeof(msg_addr), "0x%08x%08x", msg.address_hi, msg.address_lo);
	snprintf(msg_data, sizeof(msg_data), "0x%04x", msg.data);
	dev_info(&pdev->dev, "ims_probe: %d MSI vector(s), irq %d, composed addr %s data %s\n",
		 n, pci_irq_vector(pdev, 0), msg_addr, msg_data);
	return 0;
}

static void ims_probe_remove(struct pci_dev *pdev)
{
	free_irq(pci_irq_vector(pdev, 0), pdev);
	pci_free_irq_vectors(pdev);
	pci_disable_device(pdev);
	/* irqs keeps counting across devices (callers compare before/after) */
	strscpy(msg_addr, "none", sizeof(msg_addr));
	strscpy(msg_data, "none", sizeof(msg_data));
	vectors = 0;
}

static const struct pci_device_id ims_probe_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, ims_probe_ids);

static struct pci_driver ims_probe_driver = {
	.name = "ims_probe_drv",
	.id_table = ims_probe_ids,
	.probe = ims_probe_probe,
	.remove = ims_probe_remove,
};
module_pci_driver(ims_probe_driver);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xen-pci-ims proof: ath11k-like MSI setup on QEMU's edu");
