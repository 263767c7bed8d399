/* SPDX-License-Identifier: GPL-2.0 */
/* Unit tests of ims-probe's pure parts (guest/ims-probe/ims_msi.c):
 * MSI capability parsing from a config-space image, the enable word, the
 * multi-vector data, the edu DMA plan, the result line.
 *
 * Build and run: make -C guest/ims-probe test
 * (gcc -I guest/ims-probe test_ims_probe.c guest/ims-probe/ims_msi.c -lcmocka) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "ims_msi.h"

static void put16(uint8_t *c, unsigned o, uint16_t v) { c[o] = v & 0xff; c[o + 1] = v >> 8; }
static void put32(uint8_t *c, unsigned o, uint32_t v) { put16(c, o, v & 0xffff); put16(c, o + 2, v >> 16); }

/* edu as QEMU builds it: MSI at 0x40, 64-bit, one vector */
static void edu_cfg(uint8_t *c)
{
    memset(c, 0, 256);
    put16(c, 0, 0x1234); put16(c, 2, 0x11e8);
    put16(c, 6, 0x0010);                /* capability list */
    c[0x34] = 0x40;
    c[0x40] = IMS_PCI_CAP_ID_MSI; c[0x41] = 0;
    put16(c, 0x42, 0x0080);
}

static void test_parse_edu(void **st)
{
    uint8_t c[256];
    struct ims_msi_cap m;
    (void)st;
    edu_cfg(c);
    put32(c, 0x44, 0xfee0100c); put32(c, 0x48, 0); put16(c, 0x4c, 0x4000);
    put16(c, 0x42, 0x0081);
    assert_int_equal(ims_msi_parse(c, sizeof(c), &m), 0);
    assert_int_equal(m.offset, 0x40);
    assert_true(m.is64);
    assert_true(m.enabled);
    assert_int_equal(m.ctrl_off, 0x42);
    assert_int_equal(m.addr_lo_off, 0x44);
    assert_int_equal(m.addr_hi_off, 0x48);
    assert_int_equal(m.data_off, 0x4c);
    assert_int_equal(ims_msi_address(&m), 0xfee0100c);
    assert_int_equal(m.data, 0x4000);
    assert_int_equal(m.vectors_capable, 1);
    assert_int_equal(m.vectors_enabled, 1);
}

static void test_parse_32bit_chain(void **st)
{
    uint8_t c[256];
    struct ims_msi_cap m;
    (void)st;
    edu_cfg(c);
    /* PM cap at 0x40 -> MSI (32-bit, 32 vectors capable, ath11k-like) at 0x50 */
    c[0x40] = 0x01; c[0x41] = 0x50;
    c[0x50] = IMS_PCI_CAP_ID_MSI; c[0x51] = 0;
    put16(c, 0x52, 0x000a | 0x0050 | 1);   /* MMC=5 (32), MME=5, enabled */
    put32(c, 0x54, 0xfee00318); put16(c, 0x58, 0x0020);
    assert_int_equal(ims_msi_parse(c, sizeof(c), &m), 0);
    assert_int_equal(m.offset, 0x50);
    assert_false(m.is64);
    assert_int_equal(m.addr_hi_off, 0);
    assert_int_equal(m.data_off, 0x58);
    assert_int_equal(m.data, 0x20);
    assert_int_equal(m.vectors_capable, 32);
    assert_int_equal(m.vectors_enabled, 32);
    assert_int_equal(ims_msi_address(&m), 0xfee00318);
}

static void test_parse_errors(void **st)
{
    uint8_t c[256];
    struct ims_msi_cap m;
    (void)st;
    edu_cfg(c);
    assert_int_equal(ims_msi_parse(c, 63, &m), -1);         /* too short */
    assert_int_equal(ims_msi_parse(NULL, 256, &m), -1);
    put16(c, 6, 0);                                          /* no cap list */
    assert_int_equal(ims_msi_parse(c, sizeof(c), &m), -1);
    edu_cfg(c);
    c[0x40] = 0x01; c[0x41] = 0x40;                          /* loop, no MSI */
    assert_int_equal(ims_msi_parse(c, sizeof(c), &m), -1);
    edu_cfg(c);
    c[0x34] = 0x20;                                          /* inside the header */
    assert_int_equal(ims_msi_parse(c, sizeof(c), &m), -1);
    edu_cfg(c);
    c[0x34] = 0xfc;                                          /* runs off the end */
    c[0xfc] = IMS_PCI_CAP_ID_MSI;
    assert_int_equal(ims_msi_parse(c, sizeof(c), &m), -1);
}

static void test_enable_ctrl(void **st)
{
    (void)st;
    assert_int_equal(ims_msi_enable_ctrl(0x0080), 0x0081);
    /* MME cleared (one vector), MMC and per-vector-mask kept */
    assert_int_equal(ims_msi_enable_ctrl(0x017a), 0x010b);
}

static void test_vector_data(void **st)
{
    (void)st;
    assert_int_equal(ims_msi_vector_data(0x4000, 1, 0), 0x4000);
    assert_int_equal(ims_msi_vector_data(0x4000, 1, 5), 0x4000);   /* one vector: no bits */
    assert_int_equal(ims_msi_vector_data(0x0020, 32, 7), 0x0027);
    assert_int_equal(ims_msi_vector_data(0x003f, 32, 1), 0x0021);
}

static void test_dma_plan(void **st)
{
    struct ims_edu_dma s[2];
    uint8_t b[4];
    (void)st;
    assert_int_equal(ims_edu_dma_plan(0x0f000000, 0xfee0100c, s), 0);
    assert_int_equal(s[0].src, 0x0f000000);
    assert_int_equal(s[0].dst, IMS_EDU_DMA_BUF);
    assert_int_equal(s[0].cnt, 4);
    assert_int_equal(s[0].cmd, 1);
    assert_int_equal(s[1].src, IMS_EDU_DMA_BUF);
    assert_int_equal(s[1].dst, 0xfee0100c);
    assert_int_equal(s[1].cnt, 4);
    assert_int_equal(s[1].cmd, 3);
    assert_int_equal(ims_edu_dma_plan(0, 0x0f000000, s), -1);     /* not MSI */
    assert_int_equal(ims_edu_dma_plan(0, 0xfef00000, s), -1);
    assert_int_equal(ims_edu_dma_plan(0, 0xfee00002, s), -1);     /* unaligned */
    ims_msi_payload(0x4055, b);
    assert_memory_equal(b, "\x55\x40\x00\x00", 4);
}

static void test_line(void **st)
{
    char buf[256];
    (void)st;
    assert_string_equal(ims_classify(0, 1), "delivered");
    assert_string_equal(ims_classify(3, 3), "lost");
    ims_format_line(buf, sizeof(buf), "amd-ir-auto-raw-readback", "physical",
                    0xfee0100c, 0x4000, "delivered", "irqs_before=0 irqs_after=1");
    assert_string_equal(buf, "IMS-PROOF: cell=amd-ir-auto-raw-readback values=physical "
                        "addr=0xfee0100c data=0x4000 result=delivered irqs_before=0 irqs_after=1");
    ims_format_line(buf, sizeof(buf), "c", "virtual", 0xfee00000, 0x55, "lost", NULL);
    assert_string_equal(buf, "IMS-PROOF: cell=c values=virtual addr=0xfee00000 data=0x55 result=lost");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_edu),
        cmocka_unit_test(test_parse_32bit_chain),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_enable_ctrl),
        cmocka_unit_test(test_vector_data),
        cmocka_unit_test(test_dma_plan),
        cmocka_unit_test(test_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
