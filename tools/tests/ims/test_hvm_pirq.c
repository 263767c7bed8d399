/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HVM pirqs (patches 0012/0013, backported from Xen 4.19): the emulation
 * flags libxl asks Xen for, the value recorded for save/restore, and the
 * JSON field.  libxl__domain_build_info_setdefault()'s default (true, 4.17's
 * behaviour) needs the hypervisor (libxl_get_physinfo); the lab checks it
 * (hvm-pirq-default: "pirq": "True" in xl list -l).
 */
#include "libxl_osdeps.h"
#include "libxl_internal.h"
#include "libxl_arch.h"

#include "harness.h"

static void hvm_config(libxl_domain_config *d_config)
{
    libxl_domain_config_init(d_config);
    d_config->c_info.type = LIBXL_DOMAIN_TYPE_HVM;
    libxl_domain_build_info_init_type(&d_config->b_info, LIBXL_DOMAIN_TYPE_HVM);
    libxl_defbool_set(&d_config->b_info.arch_x86.msr_relaxed, false);
}

static void test_emulation_flags(void **state)
{
    libxl_ctx *ctx = test_ctx_alloc_offline();
    libxl_domain_config d_config;
    struct xen_domctl_createdomain config;

    assert_non_null(ctx);
    {
        GC_INIT(ctx);

        /* pirq on (4.17's default): the flags every 4.17 libxl asked for */
        hvm_config(&d_config);
        libxl_defbool_set(&d_config.b_info.u.hvm.pirq, true);
        memset(&config, 0, sizeof(config));
        assert_int_equal(libxl__arch_domain_prepare_config(gc, &d_config, &config), 0);
        assert_int_equal(config.arch.emulation_flags,
                         XEN_X86_EMU_ALL & ~XEN_X86_EMU_VPCI);
        libxl_domain_config_dispose(&d_config);

        /* pirq off: only XEN_X86_EMU_USE_PIRQ goes */
        hvm_config(&d_config);
        libxl_defbool_set(&d_config.b_info.u.hvm.pirq, false);
        memset(&config, 0, sizeof(config));
        assert_int_equal(libxl__arch_domain_prepare_config(gc, &d_config, &config), 0);
        assert_int_equal(config.arch.emulation_flags,
                         XEN_X86_EMU_ALL & ~(XEN_X86_EMU_VPCI | XEN_X86_EMU_USE_PIRQ));
        libxl_domain_config_dispose(&d_config);
        GC_FREE;
    }
    test_ctx_free(ctx);
}

/* The value in use is recorded in the saved configuration (an explicit
 * one in the user's configuration is kept), so that a restore does not
 * fall back to the default. */
static void test_recorded_for_save(void **state)
{
    libxl_ctx *ctx = test_ctx_alloc_offline();
    libxl_domain_config src, dst;

    assert_non_null(ctx);
    {
        GC_INIT(ctx);
        hvm_config(&src);
        hvm_config(&dst);
        libxl_defbool_set(&src.b_info.u.hvm.pirq, false);
        assert_true(libxl_defbool_is_default(dst.b_info.u.hvm.pirq));
        libxl__arch_update_domain_config(gc, &dst, &src);
        assert_false(libxl_defbool_is_default(dst.b_info.u.hvm.pirq));
        assert_false(libxl_defbool_val(dst.b_info.u.hvm.pirq));

        libxl_defbool_set(&src.b_info.u.hvm.pirq, true);
        libxl__arch_update_domain_config(gc, &dst, &src);
        assert_false(libxl_defbool_val(dst.b_info.u.hvm.pirq));
        libxl_domain_config_dispose(&src);
        libxl_domain_config_dispose(&dst);
        GC_FREE;
    }
    test_ctx_free(ctx);
}

static void test_json(void **state)
{
    libxl_ctx *ctx = test_ctx_alloc_offline();
    libxl_domain_build_info b_info, back;
    char *json;

    assert_non_null(ctx);
    libxl_domain_build_info_init(&b_info);
    libxl_domain_build_info_init_type(&b_info, LIBXL_DOMAIN_TYPE_HVM);
    json = libxl_domain_build_info_to_json(ctx, &b_info);
    assert_null(strstr(json, "\"pirq\""));      /* unset: left out */
    free(json);
    libxl_defbool_set(&b_info.u.hvm.pirq, false);
    json = libxl_domain_build_info_to_json(ctx, &b_info);
    assert_non_null(strstr(json, "\"pirq\": \"False\""));
    libxl_domain_build_info_init(&back);
    assert_int_equal(libxl_domain_build_info_from_json(ctx, &back, json), 0);
    assert_int_equal(back.type, LIBXL_DOMAIN_TYPE_HVM);
    assert_false(libxl_defbool_is_default(back.u.hvm.pirq));
    assert_false(libxl_defbool_val(back.u.hvm.pirq));
    free(json);
    libxl_domain_build_info_dispose(&b_info);
    libxl_domain_build_info_dispose(&back);
    test_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emulation_flags),
        cmocka_unit_test(test_recorded_for_save),
        cmocka_unit_test(test_json),
    };

    return cmocka_run_group_tests_name("hvm_pirq", tests, NULL, NULL);
}
