/* SPDX-License-Identifier: BSD-3-Clause-Clear */
/*
 * Unit tests of guest/linux/xen_ims_parse.h, the pure part of the
 * ath11k/ath12k guest patches (guest/linux/patches/): parsing and checking
 * of the MSI values the device model exports in the guest's xenstore.
 *
 * The same header is a file of the kernel patches; make check-guest also
 * checks that the patches carry an identical copy.  Besides the header's
 * own behaviour, this test holds it to the directory the built libxl
 * creates (IMS_LIBXL_EXPORT_PATH, from the built xl's plan: see
 * libxl-export-path.sh); QEMU's unit test holds it to the keys and value
 * formats x-ims=export writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xen_ims_parse.h"

#define SENTINEL 0xa5a5a5a5u

/* ---- state ---------------------------------------------------------- */

static void test_state(void **st)
{
    (void)st;
    assert_int_equal(xen_ims_parse_state("bound"), XEN_IMS_STATE_BOUND);
    assert_int_equal(xen_ims_parse_state("pending"), XEN_IMS_STATE_PENDING);

    /* Exact words only: anything else is not the device model's. */
    static const char *bad[] = {
        "", "Bound", "BOUND", "bound\n", " bound", "bound ", "boundx",
        "boun", "pend", "pending\n", "unbound", "0x1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (xen_ims_parse_state(bad[i]) != XEN_IMS_STATE_INVALID)
            fail_msg("state \"%s\" accepted", bad[i]);
    }
    assert_int_equal(xen_ims_parse_state(NULL), XEN_IMS_STATE_INVALID);
}

/* ---- hex -------------------------------------------------------------- */

static void test_hex_good(void **st)
{
    static const struct { const char *s; u32 v; } good[] = {
        { "0x0", 0 },
        { "0x00000000", 0 },
        { "0xfee0f018", 0xfee0f018u },
        { "0xFEE0F018", 0xfee0f018u },
        { "0XfEe0F018", 0xfee0f018u },
        { "0xffffffff", 0xffffffffu },
        { "0x4041", 0x4041 },
        { "0x0000", 0 },
        { "0x1", 1 },
        { "0x12345678", 0x12345678u },
        { "0x9abcdef0", 0x9abcdef0u },
    };
    (void)st;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        u32 v = SENTINEL;

        if (!xen_ims_parse_hex_u32(good[i].s, &v))
            fail_msg("\"%s\" refused", good[i].s);
        assert_int_equal(v, good[i].v);
    }
}

static void test_hex_bad(void **st)
{
    static const char *bad[] = {
        "", "0", "0x", "0X", "x1", "fee0f018", "1234", "0x123456789",
        "0x000000001", /* 9 digits, even if the value fits */
        "0xg", "0x12g4", " 0x1", "0x1 ", "0x1\n", "\t0x1", "-0x1", "+0x1",
        "0x-1", "0x+1", "00x1", "0x0x1", "0x1.0", "0b101", "0o17",
        "0xfee0f018\n",
    };
    (void)st;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        u32 v = SENTINEL;

        if (xen_ims_parse_hex_u32(bad[i], &v))
            fail_msg("\"%s\" accepted as 0x%x", bad[i], v);
        assert_int_equal(v, SENTINEL); /* untouched */
    }
    u32 v = SENTINEL;
    assert_false(xen_ims_parse_hex_u32(NULL, &v));
    assert_int_equal(v, SENTINEL);
}

/* Every value QEMU can write with its formats comes back unchanged. */
static void test_hex_roundtrip(void **st)
{
    char buf[16];
    u32 v, x = 0x12345678u;

    (void)st;
    for (int i = 0; i < 100000; i++) {
        x = x * 1664525u + 1013904223u;
        snprintf(buf, sizeof(buf), "0x%08x", x);
        assert_true(xen_ims_parse_hex_u32(buf, &v));
        assert_int_equal(v, x);
        snprintf(buf, sizeof(buf), "0x%04x", x & 0xffff);
        assert_true(xen_ims_parse_hex_u32(buf, &v));
        assert_int_equal(v, x & 0xffff);
    }
    for (int bit = 0; bit < 32; bit++) {
        snprintf(buf, sizeof(buf), "0x%08x", 1u << bit);
        assert_true(xen_ims_parse_hex_u32(buf, &v));
        assert_int_equal(v, 1u << bit);
    }
}

/* ---- the three values ------------------------------------------------- */

static const char *msg_of(const char *lo, const char *hi, const char *data,
                          bool is_64, struct xen_ims_msg *m)
{
    m->addr_lo = m->addr_hi = m->data = SENTINEL;
    return xen_ims_parse_msg(lo, hi, data, is_64, m);
}

static void assert_untouched(const struct xen_ims_msg *m)
{
    assert_int_equal(m->addr_lo, SENTINEL);
    assert_int_equal(m->addr_hi, SENTINEL);
    assert_int_equal(m->data, SENTINEL);
}

static void test_msg_good(void **st)
{
    /* What Xen programs: compatibility format (no interrupt remapping),
     * VT-d remappable format (bit 4, handle in 19:5, SHV bit 3), AMD-Vi
     * (compatibility-looking address, remapping index in the data), and
     * x2APIC extended destination IDs in the high word. */
    static const struct {
        const char *lo, *hi, *data;
        bool is_64;
        u32 vlo, vhi, vdata;
    } good[] = {
        { "0xfee0f018", "0x00000000", "0x0000", true, 0xfee0f018u, 0, 0 },
        { "0xfee01000", "0x00000000", "0x4041", true, 0xfee01000u, 0, 0x4041 },
        { "0xfee00218", "0x00000000", "0x0000", false, 0xfee00218u, 0, 0 },
        { "0xfee00000", "0x00000000", "0x0001", true, 0xfee00000u, 0, 1 },
        { "0xfeeffffc", "0x00000000", "0xffff", true, 0xfeeffffcu, 0, 0xffff },
        { "0xfee00000", "0x00000100", "0x0030", true, 0xfee00000u, 0x100, 0x30 },
        { "0xfee00000", "0xffffff00", "0x0030", true, 0xfee00000u, 0xffffff00u, 0x30 },
        { "0xFEE0F018", "0x0", "0x30", true, 0xfee0f018u, 0, 0x30 },
    };
    struct xen_ims_msg m;

    (void)st;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const char *why = msg_of(good[i].lo, good[i].hi, good[i].data,
                                 good[i].is_64, &m);
        if (why)
            fail_msg("row %zu (%s %s %s) refused: %s", i, good[i].lo,
                     good[i].hi, good[i].data, why);
        assert_int_equal(m.addr_lo, good[i].vlo);
        assert_int_equal(m.addr_hi, good[i].vhi);
        assert_int_equal(m.data, good[i].vdata);
    }
}

static void test_msg_bad(void **st)
{
    /* Each row: the values and a word the reason must contain. */
    static const struct {
        const char *lo, *hi, *data;
        bool is_64;
        const char *says;
    } bad[] = {
        /* syntax, per key: the reason names the key */
        { "fee0f018", "0x00000000", "0x0000", true, "msi-address-lo" },
        { "0xfee0f018", "", "0x0000", true, "msi-address-hi" },
        { "0xfee0f018", "0x00000000", "0x", true, "msi-data" },
        { NULL, "0x00000000", "0x0000", true, "msi-address-lo" },
        { "0xfee0f018", NULL, "0x0000", true, "msi-address-hi" },
        { "0xfee0f018", "0x00000000", NULL, true, "msi-data" },
        { "0xfee0f018 ", "0x00000000", "0x0000", true, "msi-address-lo" },
        /* outside the x86 MSI window */
        { "0xfed00000", "0x00000000", "0x0000", true, "window" },
        { "0xfef00000", "0x00000000", "0x0000", true, "window" },
        { "0x00000000", "0x00000000", "0x0000", true, "window" },
        { "0xffe0f018", "0x00000000", "0x0000", true, "window" },
        { "0x7ee0f018", "0x00000000", "0x0000", true, "window" },
        /* reserved bits */
        { "0xfee0f019", "0x00000000", "0x0000", true, "reserved" },
        { "0xfee0f01a", "0x00000000", "0x0000", true, "reserved" },
        { "0xfeefffff", "0x00000000", "0x0000", true, "reserved" },
        { "0xfee0f018", "0x00000001", "0x0000", true, "reserved" },
        { "0xfee0f018", "0x000001ff", "0x0000", true, "reserved" },
        /* high word for a 32-bit capability */
        { "0xfee0f018", "0x00000100", "0x0000", false, "32-bit" },
        /* data wider than the 16-bit register */
        { "0xfee0f018", "0x00000000", "0x10000", true, "16-bit" },
        { "0xfee0f018", "0x00000000", "0xffffffff", true, "16-bit" },
    };
    struct xen_ims_msg m;

    (void)st;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = msg_of(bad[i].lo, bad[i].hi, bad[i].data,
                                 bad[i].is_64, &m);
        if (!why)
            fail_msg("row %zu (%s %s %s) accepted", i,
                     bad[i].lo ? bad[i].lo : "(null)",
                     bad[i].hi ? bad[i].hi : "(null)",
                     bad[i].data ? bad[i].data : "(null)");
        if (!strstr(why, bad[i].says))
            fail_msg("row %zu: reason \"%s\" does not say \"%s\"", i, why,
                     bad[i].says);
        assert_untouched(&m);
    }
}

/* The window boundaries, exhaustively over the top 12 bits. */
static void test_msg_window(void **st)
{
    char lo[16];
    struct xen_ims_msg m;

    (void)st;
    for (u32 top = 0; top < 0x1000; top++) {
        snprintf(lo, sizeof(lo), "0x%08x", (top << 20) | 0x18);
        const char *why = msg_of(lo, "0x00000000", "0x0000", true, &m);
        if (top == 0xfee)
            assert_null(why);
        else
            assert_non_null(why);
    }
}

/* ---- the peer: the directory libxl creates ------------------------------ */

/*
 * IMS_LIBXL_EXPORT_PATH is the x-ims-path of a plan the built libxl made
 * (make check-guest runs tools/tests/ims/guest/libxl-export-path.sh): it
 * must be the guest's home plus XEN_IMS_DIR_FMT of the device's devfn.
 * The keys and value formats of the device model are held to this header
 * by QEMU's unit test (tools/tests/ims/qemu/test_xen_pt_ims.c), which
 * parses what xen_pt_ims_export_keys() writes with it.
 */
static void test_dir_matches_libxl(void **st)
{
    const char *path = getenv("IMS_LIBXL_EXPORT_PATH");
    unsigned int domid, devfn;
    int home = 0, end = 0;
    char buf[32];

    (void)st;
    if (!path || !*path)
        fail_msg("IMS_LIBXL_EXPORT_PATH is not set: run make check-guest, "
                 "which asks the built xl for it (make builds xl)");
    if (sscanf(path, "/local/domain/%u/%n", &domid, &home) != 1 || !home)
        fail_msg("libxl's export path %s is not under a guest's home", path);
    if (sscanf(path + home, "device/pci-ims/%x%n", &devfn, &end) != 1 ||
        path[home + end])
        fail_msg("libxl's export path %s: no device/pci-ims/<devfn>", path);
    snprintf(buf, sizeof(buf), XEN_IMS_DIR_FMT, devfn);
    if (strcmp(path + home, buf))
        fail_msg("libxl creates %s, the guest looks in ~/%s", path, buf);

    /* "%x" of the devfn: slot 5 function 0 is "28", devfn 0 is "0" */
    snprintf(buf, sizeof(buf), XEN_IMS_DIR_FMT, 0x28u);
    assert_string_equal(buf, "device/pci-ims/28");
    snprintf(buf, sizeof(buf), XEN_IMS_DIR_FMT, 0u);
    assert_string_equal(buf, "device/pci-ims/0");
    snprintf(buf, sizeof(buf), XEN_IMS_DIR_FMT, 0xffu);
    assert_string_equal(buf, "device/pci-ims/ff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_hex_good),
        cmocka_unit_test(test_hex_bad),
        cmocka_unit_test(test_hex_roundtrip),
        cmocka_unit_test(test_msg_good),
        cmocka_unit_test(test_msg_bad),
        cmocka_unit_test(test_msg_window),
        cmocka_unit_test(test_dir_matches_libxl),
    };

    return cmocka_run_group_tests_name("guest: xen_ims_parse.h", tests,
                                       NULL, NULL);
}
