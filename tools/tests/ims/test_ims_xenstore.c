/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The attach step against real components: a real xenstored (C xenstored
 * from the built tree, no hypervisor) and, over libxl's own QMP client,
 * Debian's device model or a device model with x-ims.  Every write is
 * read back from the store, with its permissions; every step is made to
 * fail in turn and must leave nothing behind.
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#include <sys/wait.h>

#define DOMID   31990     /* a guest domid no real host uses */
#define STUBDOM 31991

static libxl_ctx *ctx;
static const char *root;          /* fake host root */

static int setup(void **state)
{
    char *db, *facts;

    if (!test_xenstored_start()) {
        print_error("cannot start xenstored ($IMS_XENSTORED)\n");
        return -1;
    }
    ctx = test_ctx_alloc();
    if (!ctx) return -1;
    /* The guest exists (libxl's QMP client takes its userdata lock). */
    test_domains[0] = DOMID;
    test_nr_domains = 1;
    if (system("mkdir -p " XEN_LIB_DIR " " XEN_RUN_DIR)) return -1;

    root = test_tmpdir();
    if (asprintf(&facts, "%s/var/run/xen", root) < 0) return -1;
    {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", facts);
        if (system(cmd)) return -1;
    }
    test_write_file(facts, "ims-host-facts",
                    TEST_BOOT_LINE "iommu=intel\nintremap=on\nsource=test\n");
    test_write_boot_id(root);
    db = (char *)test_write_file(root, "db.cfg",
                    "17cb:1103,name=\"WCN6855\",amd=expose,intel=export\n");
    chmod(db, 0644);
    setenv("LIBXL_IMS_ROOT", root, 1);
    setenv("LIBXL_IMS_DB", db, 1);
    setenv("LIBXL_IMS_PCI_DUMP", test_fixture("pci/wcn6855-lenovo.lspci"), 1);
    return 0;
}

static int teardown(void **state)
{
    test_ctx_free(ctx);
    test_xenstored_stop();
    test_tmpdir_cleanup();
    return 0;
}

/*----- reading the store back -----*/

static char *xs_get(const char *path)
{
    unsigned int len;
    return xs_read(ctx->xsh, XBT_NULL, path, &len);
}

static const char *perms_of(const char *path)
{
    return test_xs_perms(ctx->xsh, path);
}

/* Everything under /local/domain/DOMID and /libxl/pci, as text. */
static char *dump_store(void)
{
    static const char *const roots[] = { "/local/domain/31990", "/libxl/pci" };

    return test_xs_dump(ctx->xsh, roots, sizeof(roots) / sizeof(roots[0]),
                        true);
}

/*
 * The store as libxl leaves it before the IMS step: the guest's home with
 * its device directory (the guest's own), and pci_info's record of the
 * assignment.  Returns its dump, which every undo must restore exactly.
 */
static char *clean_store(void)
{
    struct xs_permissions guest = { .id = DOMID, .perms = XS_PERM_NONE };

    xs_rm(ctx->xsh, XBT_NULL, "/local/domain/31990");
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/pci");
    assert_true(xs_mkdir(ctx->xsh, XBT_NULL, "/local/domain/31990/device"));
    assert_true(xs_set_permissions(ctx->xsh, XBT_NULL,
                                   "/local/domain/31990/device", &guest, 1));
    assert_true(xs_write(ctx->xsh, XBT_NULL, "/libxl/pci/0000-04-00-0/domid",
                         "31990", 5));
    assert_true(xs_write(ctx->xsh, XBT_NULL, "/libxl/pci/0000-05-00-0/domid",
                         "31990", 5));
    return dump_store();
}

/*----- plans -----*/

/* Detach as libxl_pci.c does it: the backend still names the slot. */
static int detach_pci(libxl__gc *gc, const libxl_device_pci *pci)
{
    char path[128], v[32];
    int rc;

    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0", DOMID);
    xs_rm(ctx->xsh, XBT_NULL, path);
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/num_devs",
             DOMID);
    assert_true(xs_write(ctx->xsh, XBT_NULL, path, "1", 1));
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/dev-0",
             DOMID);
    snprintf(v, sizeof(v), "%04x:%02x:%02x.%u", pci->domain, pci->bus,
             pci->dev, pci->func);
    assert_true(xs_write(ctx->xsh, XBT_NULL, path, v, strlen(v)));
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/vdevfn-0",
             DOMID);
    snprintf(v, sizeof(v), "%x", pci->vdevfn);
    assert_true(xs_write(ctx->xsh, XBT_NULL, path, v, strlen(v)));
    rc = libxl__ims_xs_remove(gc, DOMID, pci);
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u", DOMID);
    xs_rm(ctx->xsh, XBT_NULL, path);
    return rc;
}

static void make_plan(libxl_pci_ims_plan *plan, libxl_device_pci *pci,
                      uint32_t dm_domid)
{
    libxl_pci_ims_db_entry e;
    GC_INIT(ctx);

    libxl_pci_ims_db_entry_init(&e);
    test_set_strategy_list(&e.amd, &e.num_amd, "export");
    test_set_strategy_list(&e.intel, &e.num_intel, "export");
    e.file = strdup("db.cfg");
    e.line = 1;
    libxl_pci_ims_plan_init(plan);
    plan->facts.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    plan->facts.iommu = LIBXL_PCI_IMS_IOMMU_INTEL;
    plan->facts.intremap = LIBXL_PCI_IMS_INTREMAP_ON;
    plan->facts.qemu_ims = LIBXL_PCI_IMS_SUPPORT_YES;
    libxl__ims_decide(gc, LIBXL_PCI_IMS_POLICY_AUTO, &e, NULL, &plan->facts,
                      plan);
    libxl_device_pci_init(pci);
    pci->bus = 4;
    pci->vdevfn = 0x28;
    libxl__ims_plan_sinks(gc, plan, pci, DOMID, dm_domid, pci->vdevfn);
    libxl_pci_ims_db_entry_dispose(&e);
    GC_FREE;
}

static void test_write_read_back(void **state)
{
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;
    const char *dir = "/local/domain/31990/device/pci-ims/28";
    char *v, *before;
    GC_INIT(ctx);

    before = clean_store();
    make_plan(&plan, &pci, 0);
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &plan, &pci), 0);

    v = xs_get("/local/domain/31990/device/pci-ims/28/strategy");
    assert_string_equal(v, "export");
    free(v);
    v = xs_get("/local/domain/31990/device/pci-ims/28/state");
    assert_string_equal(v, "pending");
    free(v);
    v = xs_get("/local/domain/31990/device/pci-ims/28/iommu");
    assert_string_equal(v, "intel");
    free(v);
    /* Owned by the device model's domain, readable by the guest only. */
    assert_string_equal(perms_of(dir), "n0,r31990");
    assert_string_equal(perms_of("/local/domain/31990/device/pci-ims"),
                        "n0,r31990");
    assert_string_equal(perms_of(
        "/local/domain/31990/device/pci-ims/28/state"), "n0,r31990");
    v = xs_get("/libxl/pci/0000-04-00-0/ims_strategy");
    assert_string_equal(v, "export");
    free(v);
    assert_string_equal(perms_of("/libxl/pci/0000-04-00-0/ims_strategy"),
                        "n0");

    /* Detach leaves nothing of ours. */
    assert_int_equal(detach_pci(gc, &pci), 0);
    v = dump_store();
    assert_string_equal(v, before);
    free(v);
    libxl_pci_ims_plan_dispose(&plan);
    GC_FREE;
}

static void test_stub_domain_owns_entries(void **state)
{
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;
    GC_INIT(ctx);

    free(clean_store());
    make_plan(&plan, &pci, STUBDOM);
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &plan, &pci), 0);
    assert_string_equal(perms_of("/local/domain/31990/device/pci-ims/28"),
                        "n31991,r31990");
    assert_int_equal(detach_pci(gc, &pci), 0);
    libxl_pci_ims_plan_dispose(&plan);
    GC_FREE;
}

/*
 * A guest whose device model runs in a stub domain has no PCI backend:
 * libxl records its devices in the stub domain's, with the guest's slot,
 * and removes them from there.  That removal takes the guest's entries.
 */
static void test_stub_domain_removal_takes_guest_entries(void **state)
{
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;
    char *v, *before;
    const char *be = "/local/domain/0/backend/pci/31991/0";
    GC_INIT(ctx);

    before = clean_store();
    make_plan(&plan, &pci, STUBDOM);
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &plan, &pci), 0);
    /* What libxl's stub domain spawn and PCI attach record. */
    assert_true(xs_write(ctx->xsh, XBT_NULL, "/local/domain/31991/target",
                         "31990", 5));
    assert_true(xs_write(ctx->xsh, XBT_NULL, GCSPRINTF("%s/num_devs", be),
                         "1", 1));
    assert_true(xs_write(ctx->xsh, XBT_NULL, GCSPRINTF("%s/dev-0", be),
                         "0000:04:00.0", 12));
    assert_true(xs_write(ctx->xsh, XBT_NULL, GCSPRINTF("%s/vdevfn-0", be),
                         "28", 2));
    /* Explain and list find the device through the stub domain. */
    {
        libxl_pci_ims_policy policy;
        uint32_t vdevfn = 0;

        assert_true(xs_write(ctx->xsh, XBT_NULL,
                             "/local/domain/31990/image/device-model-domid",
                             "31991", 5));
        assert_true(libxl__ims_attached_device(gc, DOMID, &pci, &policy,
                                               &vdevfn));
        assert_int_equal(vdevfn, 0x28);
        xs_rm(ctx->xsh, XBT_NULL, "/local/domain/31990/image");
    }
    assert_int_equal(libxl__ims_xs_remove(gc, STUBDOM, &pci), 0);
    xs_rm(ctx->xsh, XBT_NULL, "/local/domain/0/backend/pci/31991");
    xs_rm(ctx->xsh, XBT_NULL, "/local/domain/31991");
    v = dump_store();
    assert_string_equal(v, before);
    free(v);
    libxl_pci_ims_plan_dispose(&plan);
    GC_FREE;
}

static void test_guest_made_entries_are_replaced(void **state)
{
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;
    char *v, *before;
    GC_INIT(ctx);

    before = clean_store();
    /* A guest that prepared fake values (owned by itself). */
    assert_true(xs_write(ctx->xsh, XBT_NULL,
        "/local/domain/31990/device/pci-ims/28/msi-data", "dead", 4));
    make_plan(&plan, &pci, 0);
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &plan, &pci), 0);
    v = xs_get("/local/domain/31990/device/pci-ims/28/msi-data");
    assert_null(v);
    libxl_pci_ims_plan_dispose(&plan);
    assert_int_equal(detach_pci(gc, &pci), 0);
    GC_FREE;
}

static void test_remove_keeps_other_devices(void **state)
{
    libxl_pci_ims_plan a, b;
    libxl_device_pci pa, pb;
    char *v, *before;
    GC_INIT(ctx);

    before = clean_store();
    make_plan(&a, &pa, 0);
    make_plan(&b, &pb, 0);
    pb.bus = 5;
    pb.vdevfn = 0x30;
    libxl__ims_plan_sinks(gc, &b, &pb, DOMID, 0, pb.vdevfn);
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &a, &pa), 0);
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &b, &pb), 0);
    assert_int_equal(detach_pci(gc, &pa), 0);
    v = xs_get("/local/domain/31990/device/pci-ims/30/state");
    assert_string_equal(v, "pending");
    free(v);
    assert_null(xs_get("/local/domain/31990/device/pci-ims/28"));
    assert_int_equal(detach_pci(gc, &pb), 0);
    v = dump_store();
    assert_string_equal(v, before);
    free(v);
    libxl_pci_ims_plan_dispose(&a);
    libxl_pci_ims_plan_dispose(&b);
    GC_FREE;
}

/* Detach names the device by its BDF (vdevfn 0); the slot it had is
 * the backend's, and that export directory goes. */
static void test_detach_finds_the_real_slot(void **state)
{
    libxl_pci_ims_plan plan;
    libxl_device_pci pci, by_bdf;
    char path[128], *v, *before;
    GC_INIT(ctx);

    before = clean_store();
    make_plan(&plan, &pci, 0);
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &plan, &pci), 0);
    snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0", DOMID);
    assert_true(xs_write(ctx->xsh, XBT_NULL,
                         GCSPRINTF("%s/num_devs", path), "1", 1));
    assert_true(xs_write(ctx->xsh, XBT_NULL, GCSPRINTF("%s/dev-0", path),
                         "0000:04:00.0", 12));
    assert_true(xs_write(ctx->xsh, XBT_NULL, GCSPRINTF("%s/vdevfn-0", path),
                         "28", 2));
    libxl_device_pci_init(&by_bdf);
    by_bdf.bus = 4;
    assert_int_equal(libxl__ims_xs_remove(gc, DOMID, &by_bdf), 0);
    xs_rm(ctx->xsh, XBT_NULL, "/local/domain/0/backend/pci/31990");
    v = dump_store();
    assert_string_equal(v, before);
    free(v);
    libxl_pci_ims_plan_dispose(&plan);
    GC_FREE;
}

/* A vdevfn given twice: the second attach is refused and the first
 * device's export directory stays as it was. */
static void test_slot_in_use_is_left_alone(void **state)
{
    libxl_pci_ims_plan a, b;
    libxl_device_pci pa, pb;
    char *v, *after_a;
    GC_INIT(ctx);

    free(clean_store());
    make_plan(&a, &pa, 0);
    make_plan(&b, &pb, 0);
    pb.bus = 5;
    libxl__ims_plan_sinks(gc, &b, &pb, DOMID, 0, pb.vdevfn);
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &a, &pa), 0);
    after_a = dump_store();
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &b, &pb), ERROR_FAIL);
    v = dump_store();
    assert_string_equal(v, after_a);
    free(v);
    free(after_a);
    assert_int_equal(detach_pci(gc, &pa), 0);
    libxl_pci_ims_plan_dispose(&a);
    libxl_pci_ims_plan_dispose(&b);
    GC_FREE;
}

/* A later attach of the same BDF that writes nothing replaces the
 * record of an earlier one. */
static void test_stale_record_is_replaced(void **state)
{
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;
    GC_INIT(ctx);

    free(clean_store());
    assert_true(xs_write(ctx->xsh, XBT_NULL,
                         "/libxl/pci/0000-04-00-0/ims_strategy", "remap", 5));
    libxl_device_pci_init(&pci);
    pci.bus = 4;
    libxl_pci_ims_plan_init(&plan);
    plan.facts.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    libxl__ims_decide(gc, LIBXL_PCI_IMS_POLICY_OFF, NULL, NULL, &plan.facts,
                      &plan);
    libxl__ims_plan_sinks(gc, &plan, &pci, DOMID, 0, 0);
    assert_int_equal(plan.num_xenstore, 0);
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &plan, &pci), 0);
    assert_null(xs_get("/libxl/pci/0000-04-00-0/ims_strategy"));
    libxl_pci_ims_plan_dispose(&plan);
    GC_FREE;
}

/* Each write and permission change fails in turn: nothing is left. */
static void test_every_write_fails_in_turn(void **state)
{
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;
    int total, i;
    char *v, *before;
    GC_INIT(ctx);

    before = clean_store();
    make_plan(&plan, &pci, 0);
    test_xs_writes = 0;
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &plan, &pci), 0);
    total = test_xs_writes;
    assert_true(total >= 2 * plan.num_xenstore);
    assert_int_equal(detach_pci(gc, &pci), 0);

    for (i = 0; i < total; i++) {
        test_xs_fail_after = i;
        assert_int_not_equal(libxl__ims_xs_write(gc, DOMID, &plan, &pci), 0);
        assert_int_equal(test_xs_fail_after, -1);
        v = dump_store();
        if (strcmp(v, before))
            fail_msg("write %d of %d failed, and the store went from\n%s"
                     "to\n%s", i + 1, total, before, v);
        free(v);
    }
    libxl_pci_ims_plan_dispose(&plan);
    GC_FREE;
}

static void test_bad_perms_write_nothing(void **state)
{
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;
    char *v, *before;
    GC_INIT(ctx);

    before = clean_store();
    make_plan(&plan, &pci, 0);
    /* A reader no domain can be: the whole write is refused. */
    plan.xenstore[plan.num_xenstore - 1].acl[1].domid = DOMID_FIRST_RESERVED;
    assert_int_equal(libxl__ims_xs_write(gc, DOMID, &plan, &pci), ERROR_INVAL);
    v = dump_store();
    assert_string_equal(v, before);
    free(v);
    libxl_pci_ims_plan_dispose(&plan);
    GC_FREE;
}

typedef struct { const char *k, *v; } xs_node;

/* DOMID's PCI backend, as libxl_pci.c writes it. */
static void write_pci_backend(const xs_node *nodes, size_t n)
{
    char path[128];

    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "/local/domain/0/backend/pci/%u/0/%s",
                 DOMID, nodes[i].k);
        assert_true(xs_write(ctx->xsh, XBT_NULL, path, nodes[i].v,
                             strlen(nodes[i].v)));
    }
}

/*
 * The policy survives a toolstack restart: libxl_device_pci_list() reads
 * it back from the backend's opts-N, as xl pci-list and xl list -l do.
 */
static void test_policy_read_back_from_backend(void **state)
{
    libxl_device_pci *pcis;
    int n = 0;
    static const xs_node nodes[] = {
        { "num_devs", "2" },
        { "dev-0", "0000:04:00.0" }, { "vdevfn-0", "28" },
        { "opts-0", "msitranslate=0,power_mgmt=0,permissive=0,"
                    "rdm_policy=strict,ims_policy=strict" },
        /* Written by a libxl that predates ims_policy. */
        { "dev-1", "0000:05:00.0" },
        { "opts-1", "msitranslate=0,power_mgmt=0,permissive=1,"
                    "rdm_policy=strict" },
    };

    xs_rm(ctx->xsh, XBT_NULL, "/local/domain/0/backend/pci/31990/0");
    write_pci_backend(nodes, sizeof(nodes) / sizeof(nodes[0]));
    pcis = libxl_device_pci_list(ctx, DOMID, &n);
    assert_int_equal(n, 2);
    assert_int_equal(pcis[0].bus, 4);
    assert_int_equal(pcis[0].vdevfn, 0x28);
    assert_int_equal(pcis[0].ims_policy, LIBXL_PCI_IMS_POLICY_STRICT);
    assert_int_equal(pcis[1].bus, 5);
    assert_true(pcis[1].permissive);
    assert_int_equal(pcis[1].ims_policy, LIBXL_PCI_IMS_POLICY_DEFAULT);
    libxl_device_pci_list_free(pcis, n);
    xs_rm(ctx->xsh, XBT_NULL, "/local/domain/0/backend/pci/31990");
}

/*----- the whole attach step, with libxl's QMP client -----*/

static pid_t dm_pid = -1;

/* A device model on the QMP socket libxl uses for DOMID: Debian's, or
 * the fake QMP server answering as KIND. */
static bool start_dm(const char *kind)
{
    char script[512];
    const char *stock[] = {
        "/usr/libexec/xen-qemu-system-i386", "-machine", "none", "-accel",
        "qtest", "-nodefaults", "-display", "none", "-qmp", "@QMP-SERVER@",
        NULL };
    const char *fake[] = { "/usr/bin/python3", script, "@QMP@", kind, NULL };

    snprintf(script, sizeof(script), "%s/fake-qmp-server", getenv("IMS_TOP"));
    dm_pid = test_dm_start(DOMID, strcmp(kind, "stock") ? fake : stock);
    return dm_pid > 0;
}

static void stop_dm(void)
{
    test_dm_stop(&dm_pid, DOMID);
}

static int run_prepare_bus(libxl_pci_ims_policy policy, int bus,
                           uint32_t vdevfn, libxl_pci_ims_plan *out,
                           bool *written)
{
    return test_ims_attach_prepare(ctx, DOMID, bus, vdevfn, policy, false,
                                   out, written);
}

static int run_prepare(libxl_pci_ims_policy policy, uint32_t vdevfn,
                       libxl_pci_ims_plan *out, bool *written)
{
    return run_prepare_bus(policy, 4, vdevfn, out, written);
}

static void test_attach_with_stock_device_model(void **state)
{
    libxl_pci_ims_plan plan;
    bool written;
    char *v, *before = NULL;

    free(before);
    before = clean_store();
    assert_true(start_dm("stock"));

    /* auto: Debian's QEMU has no x-ims, so degrade, and say so. */
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_AUTO, 0x28, &plan,
                                 &written), 0);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_NO);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPORT);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_DEGRADED);
    assert_null(plan.qemu_props);
    v = xs_get("/libxl/pci/0000-04-00-0/ims_strategy");
    assert_string_equal(v, "none");
    free(v);
    /* The answer is cached for this device model. */
    v = xs_get("/libxl/31990/ims-dm-x-ims");
    assert_string_equal(v, "no");
    free(v);
    libxl_pci_ims_plan_dispose(&plan);
    free(before);
    before = clean_store();

    /* strict: refused, and nothing written. */
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_STRICT, 0x28, &plan,
                                 &written), ERROR_FAIL);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_REFUSED);
    assert_false(written);
    v = dump_store();
    assert_string_equal(v, before);
    free(v);
    libxl_pci_ims_plan_dispose(&plan);
    stop_dm();
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/31990");
}

static void test_attach_export_picks_slot(void **state)
{
    libxl_pci_ims_plan plan;
    bool written;
    char *v, *before = NULL;

    free(before);
    before = clean_store();
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/31990");
    assert_true(start_dm("x-ims"));

    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_AUTO, 0, &plan,
                                 &written), 0);
    assert_true(written);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_EXPORT);
    /* The fake QEMU has slots 0-3 in use: the guest slot is 4. */
    v = xs_get("/local/domain/31990/device/pci-ims/20/state");
    assert_string_equal(v, "pending");
    free(v);
    for (int i = 0; plan.qemu_props[i]; i += 2)
        if (!strcmp(plan.qemu_props[i], "x-ims-path"))
            assert_string_equal(plan.qemu_props[i + 1],
                                "/local/domain/31990/device/pci-ims/20");
    libxl_pci_ims_plan_dispose(&plan);
    stop_dm();
    free(before);
    before = clean_store();
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/31990");
}

static void test_attach_without_device_model(void **state)
{
    libxl_pci_ims_plan plan;
    bool written;
    char *v, *before = NULL;

    /* No QEMU answers: strict refuses and writes nothing. */
    free(before);
    before = clean_store();
    unlink("/var/run/xen/qmp-libxl-31990");
    libxl_pci_ims_plan_init(&plan);
    assert_int_not_equal(run_prepare(LIBXL_PCI_IMS_POLICY_STRICT, 0x28,
                                     &plan, &written), 0);
    v = dump_store();
    assert_string_equal(v, before);
    free(v);
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_attach_off_and_unlisted_cost_nothing(void **state)
{
    libxl_pci_ims_plan plan;
    bool written;
    char *v, *before = NULL;

    /* No device model at all: off and unlisted devices never ask it. */
    free(before);
    before = clean_store();
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_OFF, 0x28, &plan,
                                 &written), 0);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_NONE);
    assert_false(written);
    libxl_pci_ims_plan_dispose(&plan);

    setenv("LIBXL_IMS_PCI_DUMP",
           test_fixture("pci/rtl8111-lenovo.lspci"), 1);
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare_bus(LIBXL_PCI_IMS_POLICY_AUTO, 3, 0, &plan,
                                     &written), 0);
    assert_false(plan.match.matched);
    assert_false(written);
    v = dump_store();
    assert_string_equal(v, before);
    free(v);
    libxl_pci_ims_plan_dispose(&plan);
    setenv("LIBXL_IMS_PCI_DUMP",
           test_fixture("pci/wcn6855-lenovo.lspci"), 1);
}

/*
 * A real attach (a context with a hypervisor) honours LIBXL_IMS_ROOT and
 * LIBXL_IMS_PCI_DUMP only under the database's root-only rules: a record
 * or a dump that others than root could have made is not used.
 */
static void test_attach_env_files_must_be_roots(void **state)
{
    libxl_pci_ims_plan plan;
    bool written;
    char *xen_dir, *dump, *cmd;

    assert_true(start_dm("stock"));

    /* The record's directory is open to all: the record is ignored. */
    assert_true(asprintf(&xen_dir, "%s/var/run/xen", root) > 0);
    assert_int_equal(chmod(xen_dir, 0777), 0);
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_AUTO, 0x28, &plan,
                                 &written), 0);
    assert_true(plan.match.matched);
    if (plan.facts.iommu_source &&
        !strncmp(plan.facts.iommu_source, "record ", 7))
        fail_msg("attach used a record others could write: %s",
                 plan.facts.iommu_source);
    assert_int_equal(plan.facts.intremap, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_plan_dispose(&plan);
    assert_int_equal(chmod(xen_dir, 0755), 0);
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/pci/0000-04-00-0");

    /* A dump owned by a user: no identity, so no IMS handling (auto). */
    assert_true(asprintf(&dump, "%s/user.lspci", root) > 0);
    assert_true(asprintf(&cmd, "cp '%s' '%s' && chown 65534 '%s'",
                         test_fixture("pci/wcn6855-lenovo.lspci"), dump,
                         dump) > 0);
    assert_int_equal(system(cmd), 0);
    setenv("LIBXL_IMS_PCI_DUMP", dump, 1);
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_AUTO, 0x28, &plan,
                                 &written), 0);
    if (plan.match.matched)
        fail_msg("attach read the identity from a dump a user owns");
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_NONE);
    libxl_pci_ims_plan_dispose(&plan);
    /* ...and strict fails the attach. */
    libxl_pci_ims_plan_init(&plan);
    assert_int_not_equal(run_prepare(LIBXL_PCI_IMS_POLICY_STRICT, 0x28,
                                     &plan, &written), 0);
    assert_false(written);
    libxl_pci_ims_plan_dispose(&plan);
    setenv("LIBXL_IMS_PCI_DUMP",
           test_fixture("pci/wcn6855-lenovo.lspci"), 1);

    stop_dm();
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/31990");
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/pci/0000-04-00-0");
    free(xen_dir);
    free(dump);
    free(cmd);
}

/* A dry run for a running domain asks what its device model can do. */
static void test_explain_for_a_running_domain(void **state)
{
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;
    static const char config[] =
        "{ \"c_info\": { \"type\": \"hvm\", \"name\": \"g\" },"
        "  \"b_info\": { \"device_model\": "
        "\"/usr/libexec/xen-qemu-system-i386\","
        "                \"type.hvm\": {} } }";

    libxl_device_pci_init(&pci);
    pci.bus = 4;
    libxl_pci_ims_plan_init(&plan);

    /* The answer its QMP gave at an earlier attach. */
    assert_true(xs_write(ctx->xsh, XBT_NULL, "/libxl/31990/ims-dm-x-ims",
                         "yes", 3));
    assert_int_equal(test_pci_ims_explain(ctx, DOMID,
                                          LIBXL_DOMAIN_TYPE_INVALID, NULL,
                                          &pci, &plan, NULL), 0);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_non_null(strstr(plan.facts.qemu_ims_source, "cached"));
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPORT);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);

    /* No answer yet: the binary the domain runs (Debian's, no x-ims). */
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/31990/ims-dm-x-ims");
    {
        GC_INIT(ctx);
        assert_int_equal(libxl__userdata_store(gc, DOMID, "libxl-json",
                                               (const uint8_t *)config,
                                               sizeof(config)), 0);
        GC_FREE;
    }
    assert_int_equal(test_pci_ims_explain(ctx, DOMID,
                                          LIBXL_DOMAIN_TYPE_INVALID, NULL,
                                          &pci, &plan, NULL), 0);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_NO);
    assert_non_null(strstr(plan.facts.qemu_ims_source,
                           "/usr/libexec/xen-qemu-system-i386"));
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_DEGRADED);
    {
        GC_INIT(ctx);
        unlink(libxl__userdata_path(gc, DOMID, "libxl-json", "d"));
        GC_FREE;
    }

    /* Without -p, the policy the device was attached with. */
    {
        static const xs_node nodes[] = {
            { "num_devs", "1" }, { "dev-0", "0000:04:00.0" },
            { "vdevfn-0", "28" },
            { "opts-0", "msitranslate=0,power_mgmt=0,permissive=0,"
                        "rdm_policy=strict,ims_policy=off" },
        };

        write_pci_backend(nodes, sizeof(nodes) / sizeof(nodes[0]));
        assert_true(xs_write(ctx->xsh, XBT_NULL, "/libxl/31990/ims-dm-x-ims",
                             "yes", 3));
        assert_int_equal(test_pci_ims_explain(ctx, DOMID,
                                              LIBXL_DOMAIN_TYPE_INVALID,
                                              NULL, &pci, &plan, NULL), 0);
        assert_int_equal(plan.policy, LIBXL_PCI_IMS_POLICY_OFF);
        assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_NONE);
        /* An explicit policy still wins. */
        pci.ims_policy = LIBXL_PCI_IMS_POLICY_AUTO;
        assert_int_equal(test_pci_ims_explain(ctx, DOMID,
                                              LIBXL_DOMAIN_TYPE_INVALID,
                                              NULL, &pci, &plan, NULL), 0);
        assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPORT);
        /* ...in the slot the guest sees the device in (vdevfn-0). */
        {
            bool in_slot = false;

            for (int i = 0; i < plan.num_xenstore; i++)
                in_slot |= !!strstr(plan.xenstore[i].path,
                                    "/device/pci-ims/28/");
            assert_true(in_slot);
        }
        pci.ims_policy = LIBXL_PCI_IMS_POLICY_DEFAULT;
        xs_rm(ctx->xsh, XBT_NULL, "/local/domain/0/backend/pci/31990");
        xs_rm(ctx->xsh, XBT_NULL, "/libxl/31990/ims-dm-x-ims");
    }

    /* A domain that does not exist is an error, not a guess. */
    assert_int_equal(test_pci_ims_explain(ctx, DOMID + 7,
                                          LIBXL_DOMAIN_TYPE_INVALID, NULL,
                                          &pci, &plan, NULL), ERROR_INVAL);
    libxl_pci_ims_plan_dispose(&plan);
    libxl_device_pci_dispose(&pci);
}

/*----- remap: Xen is asked before the device model -----*/

static const char *remap_host(void)
{
    char *facts, *db;

    if (asprintf(&facts, "%s/var/run/xen", root) < 0) abort();
    test_write_file(facts, "ims-host-facts",
                    TEST_BOOT_LINE "iommu=amd\nintremap=on\nsource=test\n");
    free(facts);
    db = (char *)test_write_file(root, "remap.cfg",
                    "17cb:1103,name=\"WCN6855\",amd=remap|expose,intel=export\n");
    setenv("LIBXL_IMS_DB", db, 1);
    test_assign_errno = 0;
    test_ims_remap_errno = 0;
    test_assign_calls = 0;
    return db;
}

static void intel_host_again(void)
{
    char *facts;

    if (asprintf(&facts, "%s/var/run/xen", root) < 0) abort();
    test_write_file(facts, "ims-host-facts",
                    TEST_BOOT_LINE "iommu=intel\nintremap=on\nsource=test\n");
    free(facts);
    {
        char db[512];

        snprintf(db, sizeof(db), "%s/db.cfg", root);
        setenv("LIBXL_IMS_DB", db, 1);
    }
    test_assign_errno = 0;
    test_ims_remap_errno = 0;
}

static void test_hv_remap_probe(void **state)
{
    GC_INIT(ctx);
    libxl_pci_ims_facts f;
    libxl_device_pci pci;

    libxl_pci_ims_facts_init(&f);
    libxl_device_pci_init(&pci);
    pci.domain = 1;
    pci.bus = 4;
    pci.dev = 3;
    pci.func = 2;
    remap_host();

    libxl__ims_probe_hv_remap(gc, DOMID, &pci, true, &f);
    assert_int_equal(f.hv_remap, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_int_equal(test_assign_last_sbdf, 0x1041a);   /* 0001:04:03.2 */
    assert_int_equal(test_assign_calls, 2);

    test_ims_remap_errno = EINVAL;
    libxl__ims_probe_hv_remap(gc, DOMID, &pci, false, &f);
    assert_int_equal(f.hv_remap, LIBXL_PCI_IMS_SUPPORT_NO);
    assert_non_null(strstr(f.hv_remap_source, "lacks IMS remap support"));

    test_ims_remap_errno = EOPNOTSUPP;
    libxl__ims_probe_hv_remap(gc, DOMID, &pci, false, &f);
    assert_int_equal(f.hv_remap, LIBXL_PCI_IMS_SUPPORT_NO);
    assert_non_null(strstr(f.hv_remap_source, "cannot remap"));

    /* A device that cannot be assigned says nothing about the flag. */
    test_assign_errno = EBUSY;
    libxl__ims_probe_hv_remap(gc, DOMID, &pci, false, &f);
    assert_int_equal(f.hv_remap, LIBXL_PCI_IMS_SUPPORT_UNKNOWN);
    assert_non_null(strstr(f.hv_remap_source, "cannot be assigned"));
    /* ...and at attach, unknown counts as no. */
    libxl__ims_probe_hv_remap(gc, DOMID, &pci, true, &f);
    assert_int_equal(f.hv_remap, LIBXL_PCI_IMS_SUPPORT_NO);

    intel_host_again();
    libxl_pci_ims_facts_dispose(&f);
    GC_FREE;
}

static void test_attach_remap(void **state)
{
    libxl_pci_ims_plan plan;
    bool written;
    char *v, *before;

    before = clean_store();
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/31990");
    remap_host();

    /* Xen has the flag: remap, and no device model is asked at all. */
    unlink("/var/run/xen/qmp-libxl-31990");
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_AUTO, 0x28, &plan,
                                 &written), 0);
    assert_int_equal(plan.facts.hv_remap, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_REMAP);
    assert_null(plan.qemu_props);
    assert_non_null(plan.hypervisor);
    v = xs_get("/libxl/pci/0000-04-00-0/ims_strategy");
    assert_string_equal(v, "remap");
    free(v);
    libxl_pci_ims_plan_dispose(&plan);
    free(before);
    before = clean_store();

    /* Xen without it: strict refuses before anything is written. */
    test_ims_remap_errno = EINVAL;
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_STRICT, 0x28, &plan,
                                 &written), ERROR_FAIL);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_REFUSED);
    assert_non_null(strstr(plan.reason, "lacks IMS remap support"));
    assert_false(written);
    v = dump_store();
    assert_string_equal(v, before);
    free(v);
    libxl_pci_ims_plan_dispose(&plan);

    /* Xen with the flag that refuses it here (VT-d, ...): says that. */
    test_ims_remap_errno = EOPNOTSUPP;
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_STRICT, 0x28, &plan,
                                 &written), ERROR_FAIL);
    assert_non_null(strstr(plan.reason, "Xen cannot remap this device"));
    assert_null(strstr(plan.reason, "lacks"));
    assert_false(written);
    libxl_pci_ims_plan_dispose(&plan);
    test_ims_remap_errno = EINVAL;

    /* ...and auto falls back to expose, carried out by the device model. */
    assert_true(start_dm("x-ims"));
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_AUTO, 0x28, &plan,
                                 &written), 0);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    assert_int_equal(plan.facts.hv_remap, LIBXL_PCI_IMS_SUPPORT_NO);
    assert_non_null(plan.qemu_props);
    assert_string_equal(plan.qemu_props[0], "x-ims");
    assert_string_equal(plan.qemu_props[1], "expose");
    libxl_pci_ims_plan_dispose(&plan);
    stop_dm();
    free(before);
    before = clean_store();
    free(before);
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/31990");
    intel_host_again();
}

/* explain -d for a device attached with remap: Xen's probe cannot answer
 * (the device is assigned), the attach's record does. */
static void test_explain_attached_remap(void **state)
{
    const char *rec = "/libxl/pci/0000-04-00-0/ims_strategy";
    static const xs_node nodes[] = {
        { "num_devs", "1" }, { "dev-0", "0000:04:00.0" },
        { "vdevfn-0", "28" }, { "opts-0", "ims_policy=auto" },
    };
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;

    remap_host();
    test_assign_errno = EINVAL;     /* assigned: not assignable */
    libxl_device_pci_init(&pci);
    pci.bus = 4;
    libxl_pci_ims_plan_init(&plan);

    assert_true(xs_write(ctx->xsh, XBT_NULL, "/libxl/31990/ims-dm-x-ims",
                         "no", 2));
    /* Not attached: the record of another attach says nothing. */
    assert_true(xs_write(ctx->xsh, XBT_NULL, rec, "remap", 5));
    assert_int_equal(test_pci_ims_explain(ctx, DOMID,
                                          LIBXL_DOMAIN_TYPE_INVALID, NULL,
                                          &pci, &plan, NULL), 0);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_REMAP);
    assert_int_equal(plan.facts.hv_remap, LIBXL_PCI_IMS_SUPPORT_UNKNOWN);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_PENDING);

    write_pci_backend(nodes, sizeof(nodes) / sizeof(nodes[0]));
    assert_int_equal(test_pci_ims_explain(ctx, DOMID,
                                          LIBXL_DOMAIN_TYPE_INVALID, NULL,
                                          &pci, &plan, NULL), 0);
    assert_int_equal(plan.facts.hv_remap, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_non_null(strstr(plan.facts.hv_remap_source, "at attach"));
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_REMAP);
    assert_string_equal(plan.xenstore[0].value, "remap");

    /* Attached, and the attach took another strategy: Xen said no then,
     * and the plan is not remap pending but what the attach could do. */
    assert_true(xs_write(ctx->xsh, XBT_NULL, rec, "expose", 6));
    assert_int_equal(test_pci_ims_explain(ctx, DOMID,
                                          LIBXL_DOMAIN_TYPE_INVALID, NULL,
                                          &pci, &plan, NULL), 0);
    assert_int_equal(plan.facts.hv_remap, LIBXL_PCI_IMS_SUPPORT_NO);
    assert_non_null(strstr(plan.facts.hv_remap_source,
                           "not taken at attach"));
    assert_int_not_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_PENDING);
    assert_int_not_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_REMAP);

    xs_rm(ctx->xsh, XBT_NULL, "/local/domain/0/backend/pci/31990");
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/pci/0000-04-00-0");
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/31990/ims-dm-x-ims");
    libxl_pci_ims_plan_dispose(&plan);
    libxl_device_pci_dispose(&pci);
    intel_host_again();
}

static void pirq_config(libxl_domain_config *dc)
{
    libxl_domain_config_init(dc);
    dc->c_info.type = LIBXL_DOMAIN_TYPE_HVM;
    libxl_domain_build_info_init_type(&dc->b_info, LIBXL_DOMAIN_TYPE_HVM);
    dc->pcidevs = calloc(1, sizeof(*dc->pcidevs));
    dc->num_pcidevs = 1;
    libxl_device_pci_init(&dc->pcidevs[0]);
    dc->pcidevs[0].bus = 4;
}

/* At create, a domain with a device planned as remap gets no HVM pirqs,
 * unless hvm_pirq is set; where remap is not planned it keeps them. */
static void test_create_without_hvm_pirqs_for_remap(void **state)
{
    libxl_domain_config dc;
    GC_INIT(ctx);

    remap_host();
    pirq_config(&dc);
    libxl__ims_choose_hvm_pirq(gc, &dc);
    assert_false(libxl_defbool_is_default(dc.b_info.u.hvm.pirq));
    assert_false(libxl_defbool_val(dc.b_info.u.hvm.pirq));
    assert_true(test_assign_calls > 0);

    /* The administrator's choice stands. */
    libxl_defbool_set(&dc.b_info.u.hvm.pirq, true);
    libxl__ims_choose_hvm_pirq(gc, &dc);
    assert_true(libxl_defbool_val(dc.b_info.u.hvm.pirq));

    /* Debian's hypervisor lacks the remap flag: 4.17's default stays. */
    libxl_defbool_unset(&dc.b_info.u.hvm.pirq);
    test_ims_remap_errno = EINVAL;
    libxl__ims_choose_hvm_pirq(gc, &dc);
    assert_true(libxl_defbool_is_default(dc.b_info.u.hvm.pirq));

    /* Policy off, or a device not planned as remap: likewise. */
    test_ims_remap_errno = 0;
    dc.pcidevs[0].ims_policy = LIBXL_PCI_IMS_POLICY_OFF;
    libxl__ims_choose_hvm_pirq(gc, &dc);
    assert_true(libxl_defbool_is_default(dc.b_info.u.hvm.pirq));
    dc.pcidevs[0].ims_policy = LIBXL_PCI_IMS_POLICY_EXPORT;
    libxl__ims_choose_hvm_pirq(gc, &dc);
    assert_true(libxl_defbool_is_default(dc.b_info.u.hvm.pirq));

    libxl_domain_config_dispose(&dc);
    intel_host_again();
    GC_FREE;
}

/* A hot-plug into a domain that has HVM pirqs: remap cannot serve it;
 * auto takes the next candidate and says why, strict refuses. */
static void test_hotplug_into_a_pirq_domain(void **state)
{
    libxl_pci_ims_plan plan;
    bool written;

    remap_host();
    test_domain_emulation_flags = XEN_X86_EMU_USE_PIRQ;
    assert_true(start_dm("x-ims"));
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_AUTO, 0x28, &plan,
                                 &written), 0);
    assert_int_equal(plan.facts.guest_msi,
                     LIBXL_PCI_IMS_GUEST_MSI_EVENT_CHANNEL);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    assert_non_null(strstr(plan.warning, "event channels"));
    assert_non_null(strstr(plan.warning, "hvm_pirq=0"));
    libxl_pci_ims_plan_dispose(&plan);

    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_STRICT, 0x28, &plan,
                                 &written), ERROR_FAIL);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_REFUSED);
    assert_false(written);
    libxl_pci_ims_plan_dispose(&plan);

    /* The same domain without pirqs: remap. */
    test_domain_emulation_flags = 0;
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(LIBXL_PCI_IMS_POLICY_AUTO, 0x28, &plan,
                                 &written), 0);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_REMAP);
    assert_int_equal(plan.facts.guest_msi, LIBXL_PCI_IMS_GUEST_MSI_VECTOR);
    libxl_pci_ims_plan_dispose(&plan);
    stop_dm();
    intel_host_again();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read_back),
        cmocka_unit_test(test_stub_domain_owns_entries),
        cmocka_unit_test(test_stub_domain_removal_takes_guest_entries),
        cmocka_unit_test(test_guest_made_entries_are_replaced),
        cmocka_unit_test(test_remove_keeps_other_devices),
        cmocka_unit_test(test_detach_finds_the_real_slot),
        cmocka_unit_test(test_slot_in_use_is_left_alone),
        cmocka_unit_test(test_stale_record_is_replaced),
        cmocka_unit_test(test_every_write_fails_in_turn),
        cmocka_unit_test(test_bad_perms_write_nothing),
        cmocka_unit_test(test_policy_read_back_from_backend),
        cmocka_unit_test(test_attach_with_stock_device_model),
        cmocka_unit_test(test_attach_export_picks_slot),
        cmocka_unit_test(test_attach_without_device_model),
        cmocka_unit_test(test_attach_off_and_unlisted_cost_nothing),
        cmocka_unit_test(test_attach_env_files_must_be_roots),
        cmocka_unit_test(test_explain_for_a_running_domain),
        cmocka_unit_test(test_hv_remap_probe),
        cmocka_unit_test(test_attach_remap),
        cmocka_unit_test(test_hotplug_into_a_pirq_domain),
        cmocka_unit_test(test_create_without_hvm_pirqs_for_remap),
        cmocka_unit_test(test_explain_attached_remap),
    };

    return cmocka_run_group_tests_name("ims_xenstore", tests, setup,
                                       teardown);
}
