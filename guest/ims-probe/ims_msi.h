/* ims-probe: the pure parts (no I/O), unit-tested by
 * tools/tests/ims/guest/test_ims_probe.c.
 *
 * What an IMS-style driver (ath11k/ath12k) does with the MSI capability:
 * read the address and data back from config space, and hand them to the
 * device through another path, which then writes <data + vector> to
 * <address> as an ordinary DMA write.  Here the "other path" is QEMU's edu
 * device: its DMA engine copies 4 bytes from guest RAM to the address. */
#ifndef IMS_MSI_H
#define IMS_MSI_H

#include <stddef.h>
#include <stdint.h>

#define IMS_PCI_CAP_ID_MSI   0x05
#define IMS_MSI_CTRL_ENABLE  0x0001
#define IMS_MSI_CTRL_MMC     0x000e   /* multiple message capable (log2) */
#define IMS_MSI_CTRL_MME     0x0070   /* multiple message enable (log2) */
#define IMS_MSI_CTRL_64BIT   0x0080
#define IMS_MSI_CTRL_MASKBIT 0x0100

struct ims_msi_cap {
    unsigned int offset;     /* of the capability in config space */
    uint16_t ctrl;
    int is64;
    int enabled;
    unsigned int vectors_capable;  /* 1 << MMC */
    unsigned int vectors_enabled;  /* 1 << MME */
    uint32_t addr_lo, addr_hi;
    uint16_t data;
    unsigned int addr_lo_off, addr_hi_off, data_off, ctrl_off;  /* absolute */
};

/* Find and decode the MSI capability in a config-space image (at least
 * 64 bytes; 256 for the whole header + capabilities).  Returns 0, or -1
 * when the device has no capability list, no MSI capability, or the list
 * is malformed (loops, points outside the buffer). */
int ims_msi_parse(const uint8_t *cfg, size_t len, struct ims_msi_cap *out);

/* The 64-bit message address. */
uint64_t ims_msi_address(const struct ims_msi_cap *c);

/* The control word that enables MSI with one vector (MME = 0), keeping
 * the read-only and per-vector-mask bits as they are.  Written in ONE
 * 16-bit access: a byte-wise write does not enable it through Xen's
 * device model. */
uint16_t ims_msi_enable_ctrl(uint16_t ctrl);

/* The MSI message a device sends for vector `vector` (0-based) of a
 * multi-message grant: data with the low log2(n) bits replaced. */
uint32_t ims_msi_vector_data(uint16_t data, unsigned int vectors_enabled,
                             unsigned int vector);

/* One edu DMA programming step (registers 0x80 src, 0x88 dst, 0x90 count,
 * 0x98 command; edu's buffer sits at device address 0x40000). */
#define IMS_EDU_DMA_BUF      0x40000u
#define IMS_EDU_REG_SRC      0x80
#define IMS_EDU_REG_DST      0x88
#define IMS_EDU_REG_CNT      0x90
#define IMS_EDU_REG_CMD      0x98
#define IMS_EDU_REG_IRQ_RAISE 0x60
#define IMS_EDU_REG_IRQ_ACK  0x64
#define IMS_EDU_CMD_RUN      0x1
#define IMS_EDU_CMD_TO_PCI   0x2    /* edu buffer -> bus address */
#define IMS_EDU_CMD_IRQ      0x4    /* raise edu's own interrupt when done */

struct ims_edu_dma {
    uint64_t src, dst, cnt, cmd;
};

/* The two DMA steps that make edu write `msg_data` (little-endian,
 * 4 bytes) to `msg_addr`: guest RAM (where the caller placed the 4 bytes,
 * at bus address `ram`) -> edu's buffer, then edu's buffer -> msg_addr.
 * Returns 0, or -1 when msg_addr is not in the MSI window
 * 0xfee00000-0xfeefffff (a DMA elsewhere would corrupt memory). */
int ims_edu_dma_plan(uint64_t ram, uint64_t msg_addr,
                     struct ims_edu_dma step[2]);

/* The 4 bytes of an MSI write, little-endian. */
void ims_msi_payload(uint32_t data, uint8_t out[4]);

/* Classify a cell from interrupt counts before/after and whether the
 * outer IOMMU was seen to block it (the guest cannot see that: callers
 * pass 0 and the proof's host side refines "lost" with the logs). */
const char *ims_classify(unsigned long before, unsigned long after);

/* The machine-readable result line, without newline; returns snprintf's
 * count. */
int ims_format_line(char *buf, size_t len, const char *cell,
                    const char *values, uint64_t addr, uint32_t data,
                    const char *result, const char *detail);

#endif
