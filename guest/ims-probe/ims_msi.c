/* ims-probe: the pure parts.  See ims_msi.h. */
#include <stdio.h>
#include <string.h>
#include "ims_msi.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int ims_msi_parse(const uint8_t *cfg, size_t len, struct ims_msi_cap *out)
{
    unsigned int pos, hops = 0;

    if (!cfg || !out || len < 64)
        return -1;
    memset(out, 0, sizeof(*out));
    if (!(rd16(cfg + 0x06) & 0x10))          /* status: capability list */
        return -1;
    pos = cfg[0x34] & 0xfc;
    while (pos) {
        if (pos < 0x40 || pos + 2 > len || ++hops > 48)
            return -1;
        if (cfg[pos] == IMS_PCI_CAP_ID_MSI) {
            unsigned int need;
            uint16_t ctrl;

            if (pos + 4 > len)
                return -1;
            ctrl = rd16(cfg + pos + 2);
            out->offset = pos;
            out->ctrl = ctrl;
            out->ctrl_off = pos + 2;
            out->is64 = !!(ctrl & IMS_MSI_CTRL_64BIT);
            out->enabled = !!(ctrl & IMS_MSI_CTRL_ENABLE);
            out->vectors_capable = 1u << ((ctrl & IMS_MSI_CTRL_MMC) >> 1);
            out->vectors_enabled = 1u << ((ctrl & IMS_MSI_CTRL_MME) >> 4);
            out->addr_lo_off = pos + 4;
            out->addr_hi_off = out->is64 ? pos + 8 : 0;
            out->data_off = out->is64 ? pos + 12 : pos + 8;
            need = out->data_off + 2;
            if (need > len)
                return -1;
            out->addr_lo = rd32(cfg + out->addr_lo_off);
            out->addr_hi = out->is64 ? rd32(cfg + out->addr_hi_off) : 0;
            out->data = rd16(cfg + out->data_off);
            return 0;
        }
        pos = cfg[pos + 1] & 0xfc;
    }
    return -1;
}

uint64_t ims_msi_address(const struct ims_msi_cap *c)
{
    return (uint64_t)c->addr_hi << 32 | c->addr_lo;
}

uint16_t ims_msi_enable_ctrl(uint16_t ctrl)
{
    return (uint16_t)((ctrl & ~IMS_MSI_CTRL_MME) | IMS_MSI_CTRL_ENABLE);
}

uint32_t ims_msi_vector_data(uint16_t data, unsigned int vectors_enabled,
                             unsigned int vector)
{
    unsigned int mask = vectors_enabled ? vectors_enabled - 1 : 0;

    return (uint32_t)((data & ~mask) | (vector & mask));
}

int ims_edu_dma_plan(uint64_t ram, uint64_t msg_addr,
                     struct ims_edu_dma step[2])
{
    if (msg_addr < 0xfee00000ull || msg_addr > 0xfeeffffcull || (msg_addr & 3))
        return -1;
    step[0].src = ram;
    step[0].dst = IMS_EDU_DMA_BUF;
    step[0].cnt = 4;
    step[0].cmd = IMS_EDU_CMD_RUN;
    step[1].src = IMS_EDU_DMA_BUF;
    step[1].dst = msg_addr;
    step[1].cnt = 4;
    step[1].cmd = IMS_EDU_CMD_RUN | IMS_EDU_CMD_TO_PCI;
    return 0;
}

void ims_msi_payload(uint32_t data, uint8_t out[4])
{
    out[0] = data & 0xff;
    out[1] = (data >> 8) & 0xff;
    out[2] = (data >> 16) & 0xff;
    out[3] = (data >> 24) & 0xff;
}

const char *ims_classify(unsigned long before, unsigned long after)
{
    return after > before ? "delivered" : "lost";
}

int ims_format_line(char *buf, size_t len, const char *cell,
                    const char *values, uint64_t addr, uint32_t data,
                    const char *result, const char *detail)
{
    return snprintf(buf, len,
                    "IMS-PROOF: cell=%s values=%s addr=0x%llx data=0x%x result=%s%s%s",
                    cell, values, (unsigned long long)addr, (unsigned)data,
                    result, detail && *detail ? " " : "", detail ? detail : "");
}
