/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libxl against the real device model built with the x-ims patches
 * (make qemu: build/qemu/build/qemu-system-i386) and against Debian's
 * stock one: libxl's own probe (QMP device-list-properties, the binary
 * started with no machine, no Xen) must say yes for the patched binary
 * and no for the stock one, and the plan built on that answer must carry
 * the properties the patched QEMU accepts.  The attach step runs against
 * the patched binary over libxl's own QMP client with a real xenstored
 * (as in test_ims_xenstore, with the real device model instead of the
 * fake one), and QEMU's device_add is then given the plan's properties.
 *
 * Runs only when IMS_QEMU_PATCHED names the patched binary (make check
 * and make check-qemu set it); otherwise every test is skipped, saying so,
 * and the Makefile counts a suite that only skipped as failed.
 * IMS_QEMU_STOCK overrides the stock binary's path; when that binary is
 * missing the stock test fails (it does not skip).  The attach test also
 * needs IMS_XENSTORED (the Makefile's test xenstored).
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define DOMID 31992     /* a guest domid no real host uses */

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
                      "(make check and make check-qemu build the patched "
                      "QEMU and run this with it)\n");
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
                    TEST_BOOT_LINE "iommu=amd\nintremap=on\nsource=test\n");
    test_write_boot_id(root);
    db = (char *)test_write_file(root, "db.cfg",
                    "17cb:1103,name=\"WCN6855\",amd=expose,intel=export\n");
    chmod(db, 0644);
    setenv("LIBXL_IMS_ROOT", root, 1);
    setenv("LIBXL_IMS_DB", db, 1);
    setenv("LIBXL_IMS_PCI_DUMP", test_fixture("pci/wcn6855-lenovo.lspci"), 1);
    free(facts);
    return 0;
}

static void stop_dm(void);
static bool xs_started;

static int teardown(void **state)
{
    stop_dm();
    if (xs_started) test_xenstored_stop();
    if (ctx) test_ctx_free(ctx);
    if (root) test_tmpdir_cleanup();
    return 0;
}

static void set_iommu(const char *iommu)
{
    char dir[512], text[256];

    snprintf(dir, sizeof(dir), "%s/var/run/xen", root);
    snprintf(text, sizeof(text), TEST_BOOT_LINE "iommu=%s\nintremap=on\n"
             "source=test\n", iommu);
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
    assert_int_equal(test_pci_ims_explain(ctx, INVALID_DOMID,
                                          LIBXL_DOMAIN_TYPE_HVM, binary,
                                          &pci, plan, NULL), 0);
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
    if (access(stock, X_OK))
        fail_msg("ims_qemu: the stock device model %s: %s (install "
                 "Debian's qemu-system-xen, or set IMS_QEMU_STOCK)",
                 stock, strerror(errno));
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

    /* No such binary: the source says why. */
    explain("/nonexistent/qemu", LIBXL_PCI_IMS_POLICY_AUTO, &plan);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_UNKNOWN);
    assert_non_null(strstr(plan.facts.qemu_ims_source,
                           "/nonexistent/qemu: No such file"));
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_PENDING);
    libxl_pci_ims_plan_dispose(&plan);
}

/*
 * A binary that floods its output (yes(1) repeats its arguments): libxl
 * stops reading at its limit and kills it; the fact is unknown.
 */
static void test_probe_answer_too_long(void **state)
{
    libxl_pci_ims_plan plan;

    if (!patched) skip();
    set_iommu("amd");
    explain("/usr/bin/yes", LIBXL_PCI_IMS_POLICY_AUTO, &plan);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_UNKNOWN);
    assert_non_null(strstr(plan.facts.qemu_ims_source, "no usable answer"));
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_PENDING);
    libxl_pci_ims_plan_dispose(&plan);
}

/* A binary that never answers is killed when its time is up. */
static void test_probe_no_answer(void **state)
{
    libxl_pci_ims_plan plan;
    const char *dm;

    if (!patched) skip();
    dm = test_write_file(root, "silent-dm", "#!/bin/sh\nexec sleep 600\n");
    assert_int_equal(chmod(dm, 0755), 0);
    set_iommu("amd");
    explain(dm, LIBXL_PCI_IMS_POLICY_AUTO, &plan);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_UNKNOWN);
    assert_non_null(strstr(plan.facts.qemu_ims_source, "no usable answer"));
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_PENDING);
    libxl_pci_ims_plan_dispose(&plan);
}

/*
 * The dry run as an asynchronous operation: it completes with an
 * OPERATION_COMPLETE event carrying the caller's for_user, and the plan
 * is filled in by then.
 */
static void test_probe_asynchronous(void **state)
{
    libxl_asyncop_how how = { .u.for_event = 0x1a5 };
    libxl_pci_ims_plan plan;
    libxl_device_pci pci;
    libxl_event *ev = NULL;

    if (!patched) skip();
    set_iommu("amd");
    libxl_device_pci_init(&pci);
    pci.bus = 4;
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(test_pci_ims_explain(ctx, INVALID_DOMID,
                                          LIBXL_DOMAIN_TYPE_HVM, patched,
                                          &pci, &plan, &how), 0);
    libxl_device_pci_dispose(&pci);
    assert_int_equal(test_event_wait(ctx, &ev), 0);
    assert_int_equal(ev->type, LIBXL_EVENT_TYPE_OPERATION_COMPLETE);
    assert_int_equal(ev->for_user, 0x1a5);
    assert_int_equal(ev->u.operation_complete.rc, 0);
    libxl_event_free(ctx, ev);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    libxl_pci_ims_plan_dispose(&plan);
}

/*----- the attach step with the real patched device model -----*/

static pid_t dm_pid = -1;

/* The patched QEMU on the QMP socket libxl uses for DOMID, on a PC
 * machine (a PCI bus for query-pci and device_add), without Xen. */
static bool start_patched_dm(void)
{
    const char *argv[] = {
        patched, "-machine", "pc", "-accel", "qtest", "-nodefaults",
        "-display", "none", "-L", "/usr/share/seabios", "-qmp",
        "@QMP-SERVER@", NULL };

    dm_pid = test_dm_start(DOMID, argv);
    return dm_pid > 0;
}

static void stop_dm(void)
{
    test_dm_stop(&dm_pid, DOMID);
}

/* One line of QMP from fd (the reply or event), malloc'd. */
static char *qmp_line(int fd)
{
    static char buf[65536];
    static size_t len;
    char *nl, *line;
    ssize_t r;

    while (!(nl = memchr(buf, '\n', len))) {
        if (len == sizeof(buf)) return NULL;
        r = read(fd, buf + len, sizeof(buf) - len);
        if (r <= 0) return NULL;
        len += r;
    }
    line = strndup(buf, nl - buf);
    len -= nl + 1 - buf;
    memmove(buf, nl + 1, len);
    return line;
}

/* Sends cmd and returns the reply (not an event), malloc'd. */
static char *qmp_cmd(int fd, const char *cmd)
{
    char *line;

    if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) return NULL;
    while ((line = qmp_line(fd)) && strstr(line, "\"event\""))
        free(line);
    return line;
}

/* device_add of xen-pci-passthrough with the plan's properties. */
static char *device_add_with(const libxl_pci_ims_plan *plan)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char cmd[4096], *reply = NULL, *g;
    size_t n;
    int fd;

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", test_dm_socket(DOMID));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    g = qmp_line(fd);                       /* greeting */
    assert_non_null(g);
    assert_non_null(strstr(g, "\"QMP\""));
    free(g);
    free(qmp_cmd(fd, "{\"execute\":\"qmp_capabilities\"}\n"));
    n = snprintf(cmd, sizeof(cmd),
                 "{\"execute\":\"device_add\",\"arguments\":{"
                 "\"driver\":\"xen-pci-passthrough\","
                 "\"hostaddr\":\"0000:ff:1f.7\"");
    for (int i = 0; plan->qemu_props && plan->qemu_props[i]; i += 2)
        n += snprintf(cmd + n, sizeof(cmd) - n, ",\"%s\":\"%s\"",
                      plan->qemu_props[i], plan->qemu_props[i + 1]);
    snprintf(cmd + n, sizeof(cmd) - n, "}}\n");
    reply = qmp_cmd(fd, cmd);
    close(fd);
    return reply;
}

static int run_prepare(libxl_ctx *xctx, libxl_pci_ims_policy policy,
                       libxl_pci_ims_plan *out)
{
    return test_ims_attach_prepare(xctx, DOMID, 4, 0, policy, false, out,
                                   NULL);
}

static void test_attach_with_patched_device_model(void **state)
{
    struct xs_permissions guest = { .id = DOMID, .perms = XS_PERM_NONE };
    libxl_pci_ims_plan plan;
    libxl_ctx *xctx;
    const char *path;
    char *v, *reply, key[512];
    unsigned int len;

    if (!patched) skip();
    xs_started = test_xenstored_start();
    if (!xs_started) {
        print_message("ims_qemu: no test xenstored ($IMS_XENSTORED): "
                      "skipping the attach step\n");
        skip();
    }
    xctx = test_ctx_alloc();
    assert_non_null(xctx);
    test_domains[0] = DOMID;
    test_nr_domains = 1;
    assert_int_equal(system("mkdir -p " XEN_LIB_DIR " " XEN_RUN_DIR), 0);
    assert_true(xs_mkdir(xctx->xsh, XBT_NULL, "/local/domain/31992/device"));
    assert_true(xs_set_permissions(xctx->xsh, XBT_NULL,
                                   "/local/domain/31992/device", &guest, 1));
    assert_true(xs_write(xctx->xsh, XBT_NULL,
                         "/libxl/pci/0000-04-00-0/domid", "31992", 5));
    assert_true(start_patched_dm());

    /* Intel, auto: export, applied, with the path of a free slot. */
    set_iommu("intel");
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(xctx, LIBXL_PCI_IMS_POLICY_AUTO, &plan), 0);
    assert_int_equal(plan.facts.qemu_ims, LIBXL_PCI_IMS_SUPPORT_YES);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_EXPORT);
    assert_string_equal(prop(&plan, "x-ims"), "export");
    path = prop(&plan, "x-ims-path");
    assert_non_null(path);
    assert_non_null(strstr(path, "/local/domain/31992/device/pci-ims/"));
    snprintf(key, sizeof(key), "%s/state", path);
    v = xs_read(xctx->xsh, XBT_NULL, key, &len);
    assert_non_null(v);
    assert_string_equal(v, "pending");
    free(v);
    v = xs_read(xctx->xsh, XBT_NULL, "/libxl/31992/ims-dm-x-ims", &len);
    assert_non_null(v);
    assert_string_equal(v, "yes");
    free(v);

    /*
     * The real QEMU takes libxl's properties: its error is about the
     * host device (there is none here), not about x-ims or x-ims-path.
     */
    reply = device_add_with(&plan);
    assert_non_null(reply);
    if (strstr(reply, "x-ims") || !strstr(reply, "0000:ff:1f.7"))
        fail_msg("device_add with libxl's properties: %s", reply);
    free(reply);
    libxl_pci_ims_plan_dispose(&plan);

    /* AMD with interrupt remapping: expose, and QEMU takes that too. */
    set_iommu("amd");
    xs_rm(xctx->xsh, XBT_NULL, "/local/domain/31992/device/pci-ims");
    libxl_pci_ims_plan_init(&plan);
    assert_int_equal(run_prepare(xctx, LIBXL_PCI_IMS_POLICY_STRICT, &plan),
                     0);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    assert_string_equal(prop(&plan, "x-ims"), "expose");
    reply = device_add_with(&plan);
    assert_non_null(reply);
    if (strstr(reply, "x-ims") || !strstr(reply, "0000:ff:1f.7"))
        fail_msg("device_add with libxl's properties: %s", reply);
    free(reply);
    libxl_pci_ims_plan_dispose(&plan);

    stop_dm();
    test_ctx_free(xctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_patched_says_yes),
        cmocka_unit_test(test_probe_stock_says_no),
        cmocka_unit_test(test_probe_not_a_device_model),
        cmocka_unit_test(test_probe_answer_too_long),
        cmocka_unit_test(test_probe_no_answer),
        cmocka_unit_test(test_probe_asynchronous),
        cmocka_unit_test(test_attach_with_patched_device_model),
    };

    return cmocka_run_group_tests_name("ims_qemu", tests, setup, teardown);
}
