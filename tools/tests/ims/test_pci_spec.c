/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PCI spec string (libxlutil) and libxl__device_pci_setdefault: the
 * existing parser with our ims_policy= key, and the default a caller that
 * never sets ims_policy (libvirt) gets.
 */
#include "libxl_osdeps.h"
#include "libxl_internal.h"
#include "libxlutil.h"

#include "harness.h"

static int parse(const char *spec, libxl_device_pci *pci)
{
    libxl_device_pci_init(pci);
    return xlu_pci_parse_spec_string(NULL, pci, spec);
}

static void test_bdf_and_keys(void **state)
{
    libxl_device_pci pci;

    assert_int_equal(parse("0000:04:00.0@5,permissive=1,seize=1", &pci), 0);
    assert_int_equal(pci.domain, 0);
    assert_int_equal(pci.bus, 4);
    assert_int_equal(pci.dev, 0);
    assert_int_equal(pci.func, 0);
    assert_int_equal(pci.vdevfn, 5 << 3);
    assert_true(pci.permissive);
    assert_true(pci.seize);
    assert_int_equal(pci.ims_policy, LIBXL_PCI_IMS_POLICY_DEFAULT);
    libxl_device_pci_dispose(&pci);
}

static void test_ims_policy_values(void **state)
{
    static const struct {
        const char *s;
        libxl_pci_ims_policy p;
    } ok[] = {
        { "off", LIBXL_PCI_IMS_POLICY_OFF },
        { "auto", LIBXL_PCI_IMS_POLICY_AUTO },
        { "strict", LIBXL_PCI_IMS_POLICY_STRICT },
        { "expose", LIBXL_PCI_IMS_POLICY_EXPOSE },
        { "export", LIBXL_PCI_IMS_POLICY_EXPORT },
        { "remap", LIBXL_PCI_IMS_POLICY_REMAP },
    };
    libxl_device_pci pci;
    char spec[64];
    unsigned i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(spec, sizeof(spec), "04:00.0,ims_policy=%s", ok[i].s);
        assert_int_equal(parse(spec, &pci), 0);
        assert_int_equal(pci.ims_policy, ok[i].p);
        libxl_device_pci_dispose(&pci);
    }
}

static void test_ims_policy_bad_values(void **state)
{
    static const char *bad[] = {
        "04:00.0,ims_policy=default",   /* libxl's "unset", not a value */
        "04:00.0,ims_policy=",
        "04:00.0,ims_policy=on",
        "04:00.0,ims_policy=auto,bogus=1",
    };
    libxl_device_pci pci;
    unsigned i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(parse(bad[i], &pci), 0);
        libxl_device_pci_dispose(&pci);
    }
}

static void test_setdefault_gives_auto(void **state)
{
    libxl_ctx *ctx = test_ctx_alloc_offline();
    libxl_device_pci pci;

    assert_non_null(ctx);
    {
        GC_INIT(ctx);

        /* Filled the way libvirt's libxlMakePCI does: no ims_policy. */
        libxl_device_pci_init(&pci);
        pci.domain = 0;
        pci.bus = 4;
        pci.dev = 0;
        pci.func = 0;
        pci.permissive = true;
        assert_int_equal(libxl__device_pci_setdefault(gc, 1, &pci, true), 0);
        assert_int_equal(pci.ims_policy, LIBXL_PCI_IMS_POLICY_AUTO);
        assert_int_equal(pci.rdm_policy, LIBXL_RDM_RESERVE_POLICY_STRICT);

        /* An explicit policy is kept. */
        pci.ims_policy = LIBXL_PCI_IMS_POLICY_OFF;
        assert_int_equal(libxl__device_pci_setdefault(gc, 1, &pci, true), 0);
        assert_int_equal(pci.ims_policy, LIBXL_PCI_IMS_POLICY_OFF);
        libxl_device_pci_dispose(&pci);
        GC_FREE;
    }
    test_ctx_free(ctx);
}

static void test_json_round_trip(void **state)
{
    libxl_ctx *ctx = test_ctx_alloc_offline();
    libxl_device_pci pci, back;
    char *json;

    assert_non_null(ctx);
    assert_int_equal(parse("04:00.0,ims_policy=strict", &pci), 0);
    json = libxl_device_pci_to_json(ctx, &pci);
    assert_non_null(strstr(json, "\"ims_policy\": \"strict\""));
    libxl_device_pci_init(&back);
    assert_int_equal(libxl_device_pci_from_json(ctx, &back, json), 0);
    assert_int_equal(back.ims_policy, LIBXL_PCI_IMS_POLICY_STRICT);
    assert_int_equal(back.bus, 4);
    free(json);
    libxl_device_pci_dispose(&pci);
    libxl_device_pci_dispose(&back);
    test_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bdf_and_keys),
        cmocka_unit_test(test_ims_policy_values),
        cmocka_unit_test(test_ims_policy_bad_values),
        cmocka_unit_test(test_setdefault_gives_auto),
        cmocka_unit_test(test_json_round_trip),
    };

    return cmocka_run_group_tests_name("pci_spec", tests, NULL, NULL);
}
