/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the IMS step adds to a PCI attach, against QMP device_add on the
 * same machine (a benchmark: it prints figures, it does not judge them).
 *
 *   plan      identity (libpci, dump), database, host facts, decision
 *   prepare   the whole step: plan + QMP probe of the device model +
 *             xenstore writes (real xenstored); cold: probe each time,
 *             warm: the probe's answer cached for the device model
 *   device_add  QMP device_add of an edu device on Debian's QEMU
 *             (-machine pc -accel qtest), through libxl's QMP client
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#include <sys/wait.h>
#include <time.h>

#define DOMID 31992

static libxl_ctx *ctx;

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

typedef struct {
    libxl__ev_qmp qmp;
    libxl__ao *ao;
} bench_state;

static int run_prepare(void)
{
    return test_ims_attach_prepare(ctx, DOMID, 4, 0x28,
                                   LIBXL_PCI_IMS_POLICY_DEFAULT, true, NULL,
                                   NULL);
}

static void added(libxl__egc *egc, libxl__ev_qmp *qmp,
                  const libxl__json_object *response, int rc)
{
    bench_state *b = CONTAINER_OF(qmp, *b, qmp);
    STATE_AO_GC(b->ao);

    libxl__ev_qmp_dispose(gc, qmp);
    libxl__ao_complete(egc, ao, rc);
}

static int run_device_add(int n)
{
    AO_CREATE(ctx, DOMID, NULL);
    libxl__json_object *args = NULL;
    bench_state *b;
    int rc;

    GCNEW(b);
    b->ao = ao;
    libxl__ev_qmp_init(&b->qmp);
    libxl__qmp_param_add_string(gc, &args, "driver", "edu");
    QMP_PARAMETERS_SPRINTF(&args, "id", "bench-edu-%d", n);
    b->qmp.ao = ao;
    b->qmp.domid = DOMID;
    b->qmp.payload_fd = -1;
    b->qmp.callback = added;
    rc = libxl__ev_qmp_send(egc, &b->qmp, "device_add", args);
    if (rc) {
        libxl__ao_complete(egc, ao, rc);
    }
    return AO_INPROGRESS;
}

static int plan_once(void)
{
    GC_INIT(ctx);
    libxl_device_pci pci;
    libxl_pci_ims_plan plan;
    const libxl_pci_ims_db_entry *e;
    const char *db_error;
    int rc;

    libxl_device_pci_init(&pci);
    pci.bus = 4;
    libxl_pci_ims_plan_init(&plan);
    rc = libxl__ims_pci_identity(gc, &pci, &plan.identity);
    if (rc) goto out;
    e = libxl__ims_lookup_device(gc, &plan.identity, &db_error);
    libxl__ims_host_facts(gc, &plan.facts);
    plan.facts.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    libxl__ims_decide(gc, LIBXL_PCI_IMS_POLICY_AUTO, e, db_error, &plan.facts,
                      &plan);
 out:
    libxl_pci_ims_plan_dispose(&plan);
    GC_FREE;
    return rc;
}

static void report(const char *what, double total_us, int n)
{
    printf("  %-34s %9.1f us/op  (%d ops)\n", what, total_us / n, n);
}

int main(void)
{
    const char *root = test_tmpdir();
    const char *dm_argv[] = {
        "/usr/libexec/xen-qemu-system-i386", "-machine", "pc", "-accel",
        "qtest", "-nodefaults", "-display", "none", "-qmp", "@QMP-SERVER@",
        NULL };
    char cmd[512], *db;
    pid_t qemu;
    double t0, plan_us, cold_us, warm_us, add_us;
    int i, n_plan = 2000, n_prep = 30, n_add = 20, rc = 1;

    if (!test_xenstored_start()) {
        fprintf(stderr, "bench_ims_attach: no xenstored ($IMS_XENSTORED)\n");
        return 1;
    }
    ctx = test_ctx_alloc();
    test_domains[0] = DOMID;
    test_nr_domains = 1;
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/var/run/xen' /var/run/xen /var/lib/xen",
             root);
    if (system(cmd)) return 1;
    snprintf(cmd, sizeof(cmd), "%s/var/run/xen", root);
    test_write_file(cmd, "ims-host-facts",
                    TEST_BOOT_LINE "iommu=intel\nintremap=on\nsource=bench\n");
    test_write_boot_id(root);
    db = (char *)test_write_file(root, "db.cfg",
                    "17cb:1103,name=\"WCN6855\",amd=expose,intel=export\n");
    setenv("LIBXL_IMS_ROOT", root, 1);
    setenv("LIBXL_IMS_DB", db, 1);
    setenv("LIBXL_IMS_PCI_DUMP", test_fixture("pci/wcn6855-lenovo.lspci"), 1);

    qemu = test_dm_start(DOMID, dm_argv);
    if (qemu < 0) {
        fprintf(stderr, "bench_ims_attach: Debian's device model did not start\n");
        return 1;
    }

    t0 = now_us();
    for (i = 0; i < n_plan; i++)
        if (plan_once()) goto out;
    plan_us = now_us() - t0;

    t0 = now_us();
    for (i = 0; i < n_prep; i++) {
        xs_rm(ctx->xsh, XBT_NULL, "/libxl/31992/ims-dm-x-ims");
        if (run_prepare()) goto out;
    }
    cold_us = now_us() - t0;

    t0 = now_us();
    for (i = 0; i < n_prep; i++)
        if (run_prepare()) goto out;
    warm_us = now_us() - t0;

    t0 = now_us();
    for (i = 0; i < n_add; i++)
        if (run_device_add(i)) {
            fprintf(stderr, "device_add %d failed\n", i);
            goto out;
        }
    add_us = now_us() - t0;

    printf("IMS attach step (Debian QEMU 7.2 as device model, real "
           "xenstored):\n");
    report("plan (identity+db+facts+decide)", plan_us, n_plan);
    report("prepare, cold (with QMP probe)", cold_us, n_prep);
    report("prepare, warm (probe cached)", warm_us, n_prep);
    report("QMP device_add (edu)", add_us, n_add);
    printf("  the step adds %.0f%% (cold) / %.0f%% (warm) to device_add\n",
           100 * (cold_us / n_prep) / (add_us / n_add),
           100 * (warm_us / n_prep) / (add_us / n_add));
    rc = 0;

 out:
    test_dm_stop(&qemu, DOMID);
    test_ctx_free(ctx);
    test_xenstored_stop();
    test_tmpdir_cleanup();
    return rc;
}
