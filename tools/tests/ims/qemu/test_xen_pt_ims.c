/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of QEMU's hw/xen/xen_pt_ims.c (patches/qemu), compiled from
 * the patched QEMU tree outside QEMU: what a guest read of an MSI
 * register returns under each x-ims strategy (with VT-d's SHV bit cleared
 * from a remappable address under x-ims=expose), the checks of the x-ims
 * and x-ims-path properties, the keys x-ims=export writes, and that it
 * writes them only when they change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "xen_pt_ims.h"
#include "xen_ims_parse.h"    /* guest/linux: the guest patches' parser */

#define EMU  0xfee0100cu    /* what the guest wrote (emulated) */
#define PHYS 0xfee0f018u    /* what Xen programmed (physical): VT-d's
                               remappable format (bit 4) with SHV (bit 3) */
#define PHYS_SHOWN 0xfee0f010u  /* ... as x-ims=expose shows it: SHV clear */

static const char *strategy_name(XenPTIMSStrategy s)
{
    return s == XEN_PT_IMS_NONE ? "none" :
           s == XEN_PT_IMS_EXPOSE ? "expose" :
           s == XEN_PT_IMS_EXPORT ? "export" : "?";
}

/*
 * The whole table: 3 strategies x enabled x bound x 4 kinds of register.
 * The rows that read the physical value are listed explicitly; every
 * other combination must read the emulated value.
 */
static const struct {
    XenPTIMSStrategy strategy;
    bool enabled, bound;
    XenPTIMSReg reg;
} physical_rows[] = {
    { XEN_PT_IMS_EXPOSE, true, true, XEN_PT_IMS_REG_ADDR_LO },
    { XEN_PT_IMS_EXPOSE, true, true, XEN_PT_IMS_REG_ADDR_HI },
    { XEN_PT_IMS_EXPOSE, true, true, XEN_PT_IMS_REG_DATA },
};

static bool listed_physical(XenPTIMSStrategy s, bool en, bool bound,
                            XenPTIMSReg reg)
{
    for (size_t i = 0; i < sizeof(physical_rows) / sizeof(physical_rows[0]);
         i++)
        if (physical_rows[i].strategy == s && physical_rows[i].enabled == en &&
            physical_rows[i].bound == bound && physical_rows[i].reg == reg)
            return true;
    return false;
}

static void test_msi_read_table(void **state)
{
    static const XenPTIMSStrategy strategies[] = {
        XEN_PT_IMS_NONE, XEN_PT_IMS_EXPOSE, XEN_PT_IMS_EXPORT,
    };
    static const XenPTIMSReg regs[] = {
        XEN_PT_IMS_REG_OTHER, XEN_PT_IMS_REG_ADDR_LO,
        XEN_PT_IMS_REG_ADDR_HI, XEN_PT_IMS_REG_DATA,
    };
    int rows = 0, physical = 0;

    for (int s = 0; s < 3; s++)
        for (int en = 0; en < 2; en++)
            for (int b = 0; b < 2; b++)
                for (int r = 0; r < 4; r++) {
                    bool want_phys = listed_physical(strategies[s], en, b,
                                                     regs[r]);
                    uint32_t want = !want_phys ? EMU :
                        regs[r] == XEN_PT_IMS_REG_ADDR_LO ? PHYS_SHOWN : PHYS;
                    uint32_t got = xen_pt_ims_msi_read(strategies[s], en, b,
                                                       1, regs[r], EMU, PHYS);
                    if (got != want)
                        fail_msg("x-ims=%s enabled=%d bound=%d reg=%d: "
                                 "got 0x%08x, want the %s value",
                                 strategy_name(strategies[s]), en, b, r, got,
                                 want_phys ? "physical" : "emulated");
                    rows++;
                    physical += want_phys;
                }
    assert_int_equal(rows, 48);
    assert_int_equal(physical, 3);
}

/* 16-bit data and a 64-bit upper address go through unchanged. */
static void test_msi_read_values(void **state)
{
    assert_int_equal(xen_pt_ims_msi_read(XEN_PT_IMS_EXPOSE, true, true, 1,
                                         XEN_PT_IMS_REG_DATA, 0x4021, 0x0001),
                     0x0001);
    assert_int_equal(xen_pt_ims_msi_read(XEN_PT_IMS_EXPOSE, true, true, 1,
                                         XEN_PT_IMS_REG_ADDR_HI, 0, 0),
                     0);
    assert_int_equal(xen_pt_ims_msi_read(XEN_PT_IMS_EXPOSE, true, true, 1,
                                         XEN_PT_IMS_REG_ADDR_HI, 0x12345678,
                                         0xffffffff),
                     0xffffffff);
    /* An unknown register kind is never exposed. */
    assert_int_equal(xen_pt_ims_msi_read(XEN_PT_IMS_EXPOSE, true, true, 1,
                                         (XenPTIMSReg)42, EMU, PHYS),
                     EMU);
    /* Nor with an unknown strategy. */
    assert_int_equal(xen_pt_ims_msi_read((XenPTIMSStrategy)7, true, true, 1,
                                         XEN_PT_IMS_REG_DATA, EMU, PHYS),
                     EMU);
}

static uint32_t expose_addr_lo(unsigned int vectors, uint32_t physical)
{
    return xen_pt_ims_msi_read(XEN_PT_IMS_EXPOSE, true, true, vectors,
                               XEN_PT_IMS_REG_ADDR_LO, EMU, physical);
}

/*
 * VT-d's remappable format (address bit 4) with SHV (bit 3) set, as Xen
 * programs it: shown with SHV clear, every other bit as programmed, so
 * that a device given this address reaches its remapping entry whatever
 * data the guest driver pairs it with.  The data is shown as programmed.
 */
static void test_expose_remappable_shv_cleared(void **state)
{
    assert_int_equal(expose_addr_lo(1, 0xfee0f018), 0xfee0f010);
    /* handle bits 19:5 and bit 2 (handle[15]) all set: kept */
    assert_int_equal(expose_addr_lo(1, 0xfeeffffc), 0xfeeffff4);
    assert_int_equal(expose_addr_lo(1, 0xfee00018), 0xfee00010);
    /* the data read is not touched (sub-handle 0 as programmed) */
    assert_int_equal(xen_pt_ims_msi_read(XEN_PT_IMS_EXPOSE, true, true, 1,
                                         XEN_PT_IMS_REG_DATA, 0x4021, 0),
                     0);
    /* nor the upper address */
    assert_int_equal(xen_pt_ims_msi_read(XEN_PT_IMS_EXPOSE, true, true, 1,
                                         XEN_PT_IMS_REG_ADDR_HI, 0, 0x8),
                     0x8);
}

/* Remappable without SHV: already what the device needs, unchanged. */
static void test_expose_remappable_no_shv_unchanged(void **state)
{
    assert_int_equal(expose_addr_lo(1, 0xfee0f010), 0xfee0f010);
    assert_int_equal(expose_addr_lo(1, 0xfeeffff4), 0xfeeffff4);
}

/*
 * Compatibility format (bit 4 clear): what AMD-Vi leaves in the address
 * (its remapping index is in the data), or no remapping at all.  Bit 3 is
 * the redirection hint there, not SHV: unchanged.
 */
static void test_expose_compat_unchanged(void **state)
{
    assert_int_equal(expose_addr_lo(1, 0xfee0100c), 0xfee0100c);
    assert_int_equal(expose_addr_lo(1, 0xfee01008), 0xfee01008);
    assert_int_equal(expose_addr_lo(1, 0xfee00000), 0xfee00000);
    assert_int_equal(expose_addr_lo(1, 0xfee0ffe8), 0xfee0ffe8);
}

/*
 * More than one vector enabled (xen_pt enables one, so only a device
 * whose physical Multiple Message Enable says otherwise gets here): the
 * sub-handle is what tells the vectors apart, SHV stays.  Nor does a
 * value that is no count of vectors (0) change anything.
 */
static void test_expose_multi_vector_unchanged(void **state)
{
    static const unsigned int vectors[] = { 0, 2, 4, 8, 16, 32 };

    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        assert_int_equal(expose_addr_lo(vectors[i], 0xfee0f018), 0xfee0f018);
        assert_int_equal(expose_addr_lo(vectors[i], 0xfee0f010), 0xfee0f010);
        assert_int_equal(expose_addr_lo(vectors[i], 0xfee0100c), 0xfee0100c);
    }
    /* and nothing of this without expose, or while not bound */
    assert_int_equal(xen_pt_ims_msi_read(XEN_PT_IMS_EXPORT, true, true, 1,
                                         XEN_PT_IMS_REG_ADDR_LO, EMU,
                                         0xfee0f018), EMU);
    assert_int_equal(xen_pt_ims_msi_read(XEN_PT_IMS_EXPOSE, true, false, 1,
                                         XEN_PT_IMS_REG_ADDR_LO, EMU,
                                         0xfee0f018), EMU);
}

static void test_props(void **state)
{
    static const struct {
        const char *ims, *path;
        XenPTIMSPropError err;
        XenPTIMSStrategy strategy;
    } t[] = {
        { NULL, NULL, XEN_PT_IMS_PROP_OK, XEN_PT_IMS_NONE },
        { "expose", NULL, XEN_PT_IMS_PROP_OK, XEN_PT_IMS_EXPOSE },
        { "export", "/local/domain/7/device/pci-ims/20",
          XEN_PT_IMS_PROP_OK, XEN_PT_IMS_EXPORT },
        { "export", NULL, XEN_PT_IMS_PROP_PATH_MISSING, 0 },
        { "export", "", XEN_PT_IMS_PROP_BAD_PATH, 0 },
        { "export", "local/domain/7", XEN_PT_IMS_PROP_BAD_PATH, 0 },
        { "export", "/local/domain/7/", XEN_PT_IMS_PROP_BAD_PATH, 0 },
        { "export", "/local//domain", XEN_PT_IMS_PROP_BAD_PATH, 0 },
        { "export", "/local/domain/7 x", XEN_PT_IMS_PROP_BAD_PATH, 0 },
        { "export", "/local/domain/7/a.b", XEN_PT_IMS_PROP_BAD_PATH, 0 },
        { "export", "/", XEN_PT_IMS_PROP_BAD_PATH, 0 },
        /* a valid path with expose or unset is accepted (and unused) */
        { "expose", "/local/domain/7/x", XEN_PT_IMS_PROP_OK,
          XEN_PT_IMS_EXPOSE },
        { NULL, "/local/domain/7/x", XEN_PT_IMS_PROP_OK, XEN_PT_IMS_NONE },
        /* nonsense is refused whatever the strategy */
        { "expose", "nonsense", XEN_PT_IMS_PROP_BAD_PATH, 0 },
        { NULL, "nonsense", XEN_PT_IMS_PROP_BAD_PATH, 0 },
        { "", NULL, XEN_PT_IMS_PROP_BAD_STRATEGY, 0 },
        { "off", NULL, XEN_PT_IMS_PROP_BAD_STRATEGY, 0 },
        { "none", NULL, XEN_PT_IMS_PROP_BAD_STRATEGY, 0 },
        { "remap", NULL, XEN_PT_IMS_PROP_BAD_STRATEGY, 0 },
        { "Expose", NULL, XEN_PT_IMS_PROP_BAD_STRATEGY, 0 },
        { "expose ", NULL, XEN_PT_IMS_PROP_BAD_STRATEGY, 0 },
        { "exportx", "/a", XEN_PT_IMS_PROP_BAD_STRATEGY, 0 },
    };

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        XenPTIMSStrategy s = (XenPTIMSStrategy)99;
        XenPTIMSPropError e = xen_pt_ims_check_props(t[i].ims, t[i].path, &s);

        if (e != t[i].err)
            fail_msg("x-ims=%s x-ims-path=%s: error %d, want %d",
                     t[i].ims ? t[i].ims : "(unset)",
                     t[i].path ? t[i].path : "(unset)", e, t[i].err);
        if (e == XEN_PT_IMS_PROP_OK)
            assert_int_equal(s, t[i].strategy);
        else
            assert_int_equal(s, 99);    /* untouched when refused */
    }
}

static void test_path_length(void **state)
{
    static char path[XEN_PT_IMS_PATH_MAX + 2];

    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[XEN_PT_IMS_PATH_MAX] = '\0';
    assert_true(xen_pt_ims_path_valid(path));
    path[XEN_PT_IMS_PATH_MAX] = 'a';
    path[XEN_PT_IMS_PATH_MAX + 1] = '\0';
    assert_false(xen_pt_ims_path_valid(path));
    assert_false(xen_pt_ims_path_valid(NULL));
    assert_true(xen_pt_ims_path_valid("/local/domain/0/x_y-z@1"));
}

static void test_export_keys(void **state)
{
    XenPTIMSKey k[XEN_PT_IMS_EXPORT_KEYS];

    xen_pt_ims_export_keys(true, 0xfee0f018, 0, 0x1, k);
    assert_string_equal(k[0].key, "msi-address-lo");
    assert_string_equal(k[0].value, "0xfee0f018");
    assert_string_equal(k[1].key, "msi-address-hi");
    assert_string_equal(k[1].value, "0x00000000");
    assert_string_equal(k[2].key, "msi-data");
    assert_string_equal(k[2].value, "0x0001");
    assert_string_equal(k[3].key, "state");     /* last: after the values */
    assert_string_equal(k[3].value, "bound");

    xen_pt_ims_export_keys(true, 0xffffffff, 0xffffffff, 0xffff, k);
    assert_string_equal(k[0].value, "0xffffffff");
    assert_string_equal(k[1].value, "0xffffffff");
    assert_string_equal(k[2].value, "0xffff");

    /* unbound: the values go (empty = remove), state says pending */
    xen_pt_ims_export_keys(false, 0xfee0f018, 1, 2, k);
    assert_string_equal(k[0].key, "msi-address-lo");
    assert_string_equal(k[0].value, "");
    assert_string_equal(k[1].value, "");
    assert_string_equal(k[2].value, "");
    assert_string_equal(k[3].key, "state");
    assert_string_equal(k[3].value, "pending");
}

/*
 * What x-ims=export writes is what the guest's driver reads: the keys and
 * values xen_pt_ims_export_keys() produces, looked up and parsed with the
 * guest patches' own parser (guest/linux/xen_ims_parse.h), give back the
 * message, and the unbound state is one the guest knows.
 */
static const char *key_value(const XenPTIMSKey *k, const char *key)
{
    for (int i = 0; i < XEN_PT_IMS_EXPORT_KEYS; i++) {
        if (!strcmp(k[i].key, key))
            return k[i].value;
    }
    fail_msg("x-ims=export writes no key %s, which the guest reads", key);
    return NULL;
}

static void test_export_keys_guest_reads(void **state)
{
    static const struct { uint32_t lo, hi, data; bool is_64; } msgs[] = {
        { 0xfee0f018, 0, 0x1, false },
        { 0xfee00000, 0, 0x40ff, true },
        { 0xfeeffffc, 0x12345600, 0xffff, true },
    };
    XenPTIMSKey k[XEN_PT_IMS_EXPORT_KEYS];
    struct xen_ims_msg m;
    const char *why;

    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        xen_pt_ims_export_keys(true, msgs[i].lo, msgs[i].hi, msgs[i].data, k);
        assert_int_equal(xen_ims_parse_state(key_value(k, XEN_IMS_KEY_STATE)),
                         XEN_IMS_STATE_BOUND);
        why = xen_ims_parse_msg(key_value(k, XEN_IMS_KEY_ADDR_LO),
                                key_value(k, XEN_IMS_KEY_ADDR_HI),
                                key_value(k, XEN_IMS_KEY_DATA),
                                msgs[i].is_64, &m);
        if (why)
            fail_msg("the guest refuses what x-ims=export wrote: %s", why);
        assert_int_equal(m.addr_lo, msgs[i].lo);
        assert_int_equal(m.addr_hi, msgs[i].hi);
        assert_int_equal(m.data, msgs[i].data);
    }
    xen_pt_ims_export_keys(false, 0xfee0f018, 0, 1, k);
    assert_int_equal(xen_ims_parse_state(key_value(k, XEN_IMS_KEY_STATE)),
                     XEN_IMS_STATE_PENDING);
}

/*
 * x-ims=export writes xenstore only when what it would write changed:
 * a guest that keeps writing its MSI data (each write is a rebind in
 * QEMU) must not cost the shared xenstored a transaction every time.
 */
static struct {
    int calls;
    XenPTIMSExportResult result;    /* what the next write returns */
    XenPTIMSKey keys[XEN_PT_IMS_EXPORT_KEYS];
} writer;

static XenPTIMSExportResult count_writes(void *opaque, const XenPTIMSKey *keys)
{
    assert_ptr_equal(opaque, &writer);
    writer.calls++;
    memcpy(writer.keys, keys, sizeof(writer.keys));
    return writer.result;
}

static XenPTIMSExportResult export(XenPTIMSExported *last, bool bound,
                                   uint32_t lo, uint32_t hi, uint16_t data)
{
    return xen_pt_ims_export(last, bound, lo, hi, data, count_writes,
                             &writer);
}

static void test_export_only_changes(void **state)
{
    XenPTIMSExported last = { 0 };      /* as in a new device */

    memset(&writer, 0, sizeof(writer));
    writer.result = XEN_PT_IMS_EXPORT_WRITTEN;

    /* the first bind is written */
    assert_int_equal(export(&last, true, 0xfee0f018, 0, 0),
                     XEN_PT_IMS_EXPORT_WRITTEN);
    assert_int_equal(writer.calls, 1);
    assert_string_equal(writer.keys[0].value, "0xfee0f018");
    assert_string_equal(writer.keys[3].value, "bound");

    /* the guest writes its data again and again: same physical values */
    for (int i = 0; i < 100; i++)
        assert_int_equal(export(&last, true, 0xfee0f018, 0, 0),
                         XEN_PT_IMS_EXPORT_UNCHANGED);
    assert_int_equal(writer.calls, 1);

    /* each value that changes is written */
    assert_int_equal(export(&last, true, 0xfee0f038, 0, 0),
                     XEN_PT_IMS_EXPORT_WRITTEN);
    assert_int_equal(export(&last, true, 0xfee0f038, 1, 0),
                     XEN_PT_IMS_EXPORT_WRITTEN);
    assert_int_equal(export(&last, true, 0xfee0f038, 1, 0x21),
                     XEN_PT_IMS_EXPORT_WRITTEN);
    assert_string_equal(writer.keys[2].value, "0x0021");
    assert_int_equal(writer.calls, 4);
    assert_int_equal(export(&last, true, 0xfee0f038, 1, 0x21),
                     XEN_PT_IMS_EXPORT_UNCHANGED);
    assert_int_equal(writer.calls, 4);

    /* unbound: pending once, whatever values come with it */
    assert_int_equal(export(&last, false, 0xfee0f038, 1, 0x21),
                     XEN_PT_IMS_EXPORT_WRITTEN);
    assert_string_equal(writer.keys[3].value, "pending");
    assert_int_equal(export(&last, false, 0, 0, 0),
                     XEN_PT_IMS_EXPORT_UNCHANGED);
    assert_int_equal(export(&last, false, 1, 2, 3),
                     XEN_PT_IMS_EXPORT_UNCHANGED);
    assert_int_equal(writer.calls, 5);

    /* bound again with the same values as before: the state changed */
    assert_int_equal(export(&last, true, 0xfee0f038, 1, 0x21),
                     XEN_PT_IMS_EXPORT_WRITTEN);
    assert_string_equal(writer.keys[3].value, "bound");
    assert_int_equal(writer.calls, 6);
}

/* Only a successful write counts: after a failure the next one writes. */
static void test_export_retries_after_failure(void **state)
{
    XenPTIMSExported last = { 0 };

    memset(&writer, 0, sizeof(writer));
    writer.result = XEN_PT_IMS_EXPORT_FAILED;
    assert_int_equal(export(&last, true, 0xfee0f018, 0, 0),
                     XEN_PT_IMS_EXPORT_FAILED);
    assert_int_equal(export(&last, true, 0xfee0f018, 0, 0),
                     XEN_PT_IMS_EXPORT_FAILED);
    assert_int_equal(writer.calls, 2);

    /* the directory is gone (detach): nothing written, nothing recorded */
    writer.result = XEN_PT_IMS_EXPORT_GONE;
    assert_int_equal(export(&last, true, 0xfee0f018, 0, 0),
                     XEN_PT_IMS_EXPORT_GONE);
    assert_int_equal(writer.calls, 3);

    writer.result = XEN_PT_IMS_EXPORT_WRITTEN;
    assert_int_equal(export(&last, true, 0xfee0f018, 0, 0),
                     XEN_PT_IMS_EXPORT_WRITTEN);
    assert_int_equal(export(&last, true, 0xfee0f018, 0, 0),
                     XEN_PT_IMS_EXPORT_UNCHANGED);
    assert_int_equal(writer.calls, 4);

    /* a failure after a success forgets what was written */
    writer.result = XEN_PT_IMS_EXPORT_FAILED;
    assert_int_equal(export(&last, false, 0, 0, 0),
                     XEN_PT_IMS_EXPORT_FAILED);
    writer.result = XEN_PT_IMS_EXPORT_WRITTEN;
    assert_int_equal(export(&last, true, 0xfee0f018, 0, 0),
                     XEN_PT_IMS_EXPORT_WRITTEN);
    assert_int_equal(writer.calls, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msi_read_table),
        cmocka_unit_test(test_msi_read_values),
        cmocka_unit_test(test_expose_remappable_shv_cleared),
        cmocka_unit_test(test_expose_remappable_no_shv_unchanged),
        cmocka_unit_test(test_expose_compat_unchanged),
        cmocka_unit_test(test_expose_multi_vector_unchanged),
        cmocka_unit_test(test_props),
        cmocka_unit_test(test_path_length),
        cmocka_unit_test(test_export_keys),
        cmocka_unit_test(test_export_keys_guest_reads),
        cmocka_unit_test(test_export_only_changes),
        cmocka_unit_test(test_export_retries_after_failure),
    };

    return cmocka_run_group_tests_name("qemu_xen_pt_ims", tests, NULL, NULL);
}
