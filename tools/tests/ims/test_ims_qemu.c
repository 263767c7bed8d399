/*
 * libxl against the real device model built with the x-ims patches
 * (make qemu: build/qemu/build/qemu-system-i386) and against Debian's
 * stock one: libxl's own probe (QMP device-list-properties, the binary
 * started with no machine, no Xen) must say yes for the patched binary
 * and no for the stock one, and the plan built on that answer must carry
 * the properties the patched QEMU accepts.
 *
 * Runs only when IMS_QEMU_PATCHED names the patched binary (make
 * check-qemu sets it); otherwise every test is skipped, saying so.
 * IMS_QEMU_STOCK overrides the stock binary's path.
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

static libxl_ctx *ctx;
static const char *patched, *stock;
static const char *root;

static int setup(void **state)
{
    char *db, *facts;
    char cmd[512];

    patched = getenv("IMS_QEMU_PATCHED");
    stock = getenv("IMS_QEMU_STOCK");
    if (!stock || !*stock)
        stock = "/usr/libexec/xen-qemu-system-i386";
    if (!patched || !*patched) {
        print_message("ims_qemu: IMS_QEMU_PATCHED is not set: skipping "
                      "(make check-qemu builds the patched QEMU and runs "
                      "this with it)\n");
        patched = NULL;
        return 0;
    }
    if (access(patched, X_OK)) {
        print_error("IMS_QEMU_PATCHED=%s: %s\n", patched, strerror(errno));
        return -1;
    }
    ctx = test_ctx_alloc_offline();
    if (!ctx) return -1;

    root = test_tmpdir();
    if (asprintf(&facts, "%s/var/run/xen", root) < 0) return -1;
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", facts);
    if (system(cmd)) return -1;
    test_write_file(facts, "ims-host-facts",
                    "iommu=amd\nintremap=on\nsource=test\n");
    db = (char *)test_write_file(root, "db.cfg",
                    "17cb:1103,name=\"WCN6855\",amd=expose,intel=export\n");
    chmod(db, 0644);
    setenv("LIBXL_IMS_ROOT", root, 1);
    setenv("LIBXL_IMS_DB", db, 1);
    setenv("LIBXL_IMS_PCI_DUMP", test_fixture("pci/wcn6855-lenovo.lspci"), 1);
    free(facts);
    return 0;
}

static int teardown(void **state)
{
    if (ctx) test_ctx_free(ctx);
    if (root) test_tmpdir_cleanup();
    return 0;
}

static void set_iommu(const char *iommu)
{
    char dir[512], text[128];

    snprintf(dir, sizeof(dir), "%s/var/run/xen", root);
    snprintf(text, sizeof(text), "iommu=%s\nintremap=on\nsource=test\n",
             iommu);
    test_write_file(dir, "ims-host-facts", text);
}

/* The dry run of xl pci-ims-explain -m BINARY 04:00.0 (an HVM guest). */
static void explain(const char *binary, libxl_pci_ims_policy policy,
                    libxl_pci_ims_plan *plan)
{
    libxl_device_pci pci;

    libxl_device_pci_init(&pci);
    pci.bus = 4;
    pci.ims_policy = policy;
    libxl_pci_ims_plan_init(plan);
    assert_int_equal(libxl_pci_ims_explain(ctx, INVALID_DOMID,
                                           LIBXL_DOMAIN_TYPE_HVM, binary,
                                           &pci, plan), 0);
    libxl_device_pci_dispose(&pci);
}

static const char *prop(const libxl_pci_ims_plan *plan, const char *key)
{
    for (int i = 0; plan->qemu_props && plan->qemu_props[i]; i += 2)
        if (!strcmp(plan->qemu_props[i], key))
            return plan->qemu_props[i + 1];
    return NULL;
}

static void test_probe_patched_says_yes(void **state)
{
    libxl_pci_ims_plan plan;

    if (!patched) skip();
    set_iommu("amd");
    explain(patched, LIBXL_PCI_IMS_POLICY_AUTO, &plan);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_non_null(strstr(plan.facts.qemu_ims_source, patched));
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    assert_non_null(prop(&plan, "x-ims"));
    assert_string_equal(prop(&plan, "x-ims"), "expose");
    libxl_pci_ims_plan_dispose(&plan);

    /* Intel: export, applied, with x-ims=export. */
    set_iommu("intel");
    explain(patched, LIBXL_PCI_IMS_POLICY_AUTO, &plan);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPORT);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    assert_non_null(prop(&plan, "x-ims"));
    assert_string_equal(prop(&plan, "x-ims"), "export");
    libxl_pci_ims_plan_dispose(&plan);

    /* strict with the patched QEMU: applied as well, not refused. */
    set_iommu("amd");
    explain(patched, LIBXL_PCI_IMS_POLICY_STRICT, &plan);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_probe_stock_says_no(void **state)
{
    libxl_pci_ims_plan plan;

    if (!patched) skip();
    if (access(stock, X_OK)) {
        print_message("ims_qemu: %s: %s: skipping the stock binary\n",
                      stock, strerror(errno));
        skip();
    }
    set_iommu("amd");
    explain(stock, LIBXL_PCI_IMS_POLICY_AUTO, &plan);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_NO);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_DEGRADED);
    assert_null(prop(&plan, "x-ims"));
    libxl_pci_ims_plan_dispose(&plan);

    explain(stock, LIBXL_PCI_IMS_POLICY_STRICT, &plan);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_NO);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_REFUSED);
    libxl_pci_ims_plan_dispose(&plan);
}

/*
 * A binary that is no device model at all: the fact is unknown, and the
 * dry run says pending, not applied (it never guesses).  This is what
 * tells the two answers above apart from a probe that says yes to all.
 */
static void test_probe_not_a_device_model(void **state)
{
    libxl_pci_ims_plan plan;

    if (!patched) skip();
    set_iommu("amd");
    explain("/bin/true", LIBXL_PCI_IMS_POLICY_AUTO, &plan);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_UNKNOWN);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_PENDING);
    libxl_pci_ims_plan_dispose(&plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_patched_says_yes),
        cmocka_unit_test(test_probe_stock_says_no),
        cmocka_unit_test(test_probe_not_a_device_model),
    };

    return cmocka_run_group_tests_name("ims_qemu", tests, setup, teardown);
}
