/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rollback, proven: every step of a PCI attach after the IMS step
 * (libxl__ims_attach_prepare) is made to fail, through the public path
 * libxl_device_pci_add() on an HVM guest, and each time the IMS step's
 * entries must be gone again (pci_add_dm_done's libxl__ims_attach_undo):
 * no export directory under /local/domain/<domid>/device/pci-ims, no
 * /libxl/pci/<bdf>/ims_strategy record, no /libxl/<domid>/ims-dm-x-ims
 * answer cached by that attach, and the device still assignable.
 *
 * The real components: xenstored (C xenstored from the tree), libxl's QMP
 * client against fake-qmp-server (whose device_add answers are the
 * faults), libxl_pci.c's whole hotplug chain (do_pci_add ->
 * pci_add_qmp_device_add -> query-pci -> pci_add_dm_done).  Faked: Xen
 * (harness.c: xc_test_assign_device, xc_assign_device) and the host's
 * sysfs (fopen/open/opendir/access of /sys/bus/pci/... go to a fake tree
 * under a temporary directory: pciback holding the device, its resource
 * and irq files), so no real device is ever touched.
 *
 * The table in README ("Rollback") is what these tests assert.
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#define DOMID   31993
#define BDF_XS  "0000-04-00-0"
#define IMS_DIR "/local/domain/31993/device/pci-ims"
#define RECORD  "/libxl/pci/" BDF_XS "/ims_strategy"
#define CACHE   "/libxl/31993/ims-dm-x-ims"

static libxl_ctx *ctx;
static const char *root;           /* fake host root (facts, sysfs) */
static char qmp_log[300];          /* the fake device model's device_adds */
static pid_t dm_pid = -1;

/*----- the host's sysfs, under root -----*/

static char sysfs_prefix[256];

static const char *sysfs(const char *path, char *buf, size_t n)
{
    if (sysfs_prefix[0] && !strncmp(path, "/sys/bus/pci/", 13)) {
        snprintf(buf, n, "%s%s", sysfs_prefix, path);
        return buf;
    }
    return path;
}

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode)
{
    char b[512];
    return __real_fopen(sysfs(path, b, sizeof(b)), mode);
}

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
    char b[512];
    int mode = 0;

    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    return __real_open(sysfs(path, b, sizeof(b)), flags, mode);
}

DIR *__real_opendir(const char *path);
DIR *__wrap_opendir(const char *path);
DIR *__wrap_opendir(const char *path)
{
    char b[512];
    return __real_opendir(sysfs(path, b, sizeof(b)));
}

int __real_access(const char *path, int mode);
int __wrap_access(const char *path, int mode);
int __wrap_access(const char *path, int mode)
{
    char b[512];
    return __real_access(sysfs(path, b, sizeof(b)), mode);
}

/*----- libxl's log, kept for the assertions -----*/

static char logbuf[1 << 17];
static size_t loglen;

static void cap_vmessage(xentoollog_logger *l, xentoollog_level level,
                         int errnoval, const char *context,
                         const char *format, va_list al)
{
    va_list copy;

    va_copy(copy, al);
    if (loglen < sizeof(logbuf) - 1) {
        int n = vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen, format,
                          al);
        if (n > 0)
            loglen += (size_t)n < sizeof(logbuf) - loglen
                      ? (size_t)n : sizeof(logbuf) - 1 - loglen;
        if (loglen < sizeof(logbuf) - 1)
            logbuf[loglen++] = '\n';
        logbuf[loglen] = '\0';
    }
    if (getenv("IMS_TEST_VERBOSE")) {
        vfprintf(stderr, format, copy);
        fputc('\n', stderr);
    }
    va_end(copy);
}

static void cap_progress(xentoollog_logger *l, const char *context,
                         const char *doing_what, int percent,
                         unsigned long done, unsigned long total) { }
static void cap_destroy(xentoollog_logger *l) { }

static xentoollog_logger capture = {
    .vmessage = cap_vmessage, .progress = cap_progress,
    .destroy = cap_destroy,
};

static bool logged(const char *s)
{
    return strstr(logbuf, s) != NULL;
}

/*----- set-up -----*/

static void mkdirs(const char *path)
{
    char cmd[700];

    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    if (system(cmd)) fail_msg("%s", cmd);
}

static void write_facts(const char *iommu)
{
    char dir[300], facts[200];

    snprintf(dir, sizeof(dir), "%s/var/run/xen", root);
    snprintf(facts, sizeof(facts), "iommu=%s\nintremap=on\nsource=test\n"
             TEST_BOOT_LINE, iommu);
    test_write_file(dir, "ims-host-facts", facts);
}

static void intel_host(void)
{
    write_facts("intel");
    setenv("LIBXL_IMS_DB", test_write_file(root, "db.cfg",
           "17cb:1103,name=\"WCN6855\",amd=expose,intel=export\n"), 1);
}

static void amd_remap_host(void)
{
    write_facts("amd");
    setenv("LIBXL_IMS_DB", test_write_file(root, "remap.cfg",
           "17cb:1103,name=\"WCN6855\",amd=remap|expose,intel=export\n"), 1);
}

static int setup(void **state)
{
    char path[600];

    if (!test_xenstored_start()) {
        print_error("cannot start xenstored ($IMS_XENSTORED)\n");
        return -1;
    }
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &capture))
        return -1;
    test_domains[0] = DOMID;
    test_nr_domains = 1;
    if (system("mkdir -p " XEN_LIB_DIR " " XEN_RUN_DIR)) return -1;

    root = test_tmpdir();
    snprintf(path, sizeof(path), "%s/var/run/xen", root);
    mkdirs(path);
    test_write_boot_id(root);
    intel_host();
    setenv("LIBXL_IMS_ROOT", root, 1);
    setenv("LIBXL_IMS_PCI_DUMP", test_fixture("pci/wcn6855-lenovo.lspci"), 1);

    /* The device, bound to pciback (assignable), no BARs, no INTx. */
    snprintf(sysfs_prefix, sizeof(sysfs_prefix), "%s", root);
    snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/pciback/"
             "0000:04:00.0", root);
    mkdirs(path);
    snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/0000:04:00.0",
             root);
    mkdirs(path);
    test_write_file(path, "resource",
                    "0x0000000000000000 0x0000000000000000 "
                    "0x0000000000000000\n");
    test_write_file(path, "irq", "0\n");
    test_write_file(path, "reset", "");
    snprintf(qmp_log, sizeof(qmp_log), "%s/device_add.log", root);
    setenv("FAKE_QMP_LOG", qmp_log, 1);
    return 0;
}

static void stop_dm(void);
static void store_config(bool present);

static int teardown(void **state)
{
    stop_dm();
    store_config(false);
    libxl_ctx_free(ctx);
    test_xenstored_stop();
    sysfs_prefix[0] = '\0';
    test_tmpdir_cleanup();
    return 0;
}

/*----- the store -----*/

static char *xs_get(const char *path)
{
    unsigned int len;
    return xs_read(ctx->xsh, XBT_NULL, path, &len);
}

static bool xs_exists(const char *path)
{
    char *v = xs_get(path);
    bool there = v != NULL;

    free(v);
    return there;
}

/* Every node under the guest's home, /libxl/pci and /libxl/<domid>. */
static char *dump_store(void)
{
    static const char *const roots[] = { "/local/domain/31993", "/libxl/pci",
                                         "/libxl/31993" };

    return test_xs_dump(ctx->xsh, roots, sizeof(roots) / sizeof(roots[0]),
                        false);
}

/* The lines of now that are not in before: what an attach left. */
static char *left_behind(const char *before, const char *now)
{
    char *out = NULL, *copy = strdup(now), *line, *save = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    for (line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *needle;

        if (asprintf(&needle, "%s\n", line) < 0) fail();
        if (!strstr(before, needle))
            fprintf(f, "%s\n", line);
        free(needle);
    }
    fclose(f);
    free(copy);
    return out;
}

static void stop_dm(void);

/*
 * A running HVM guest with a QEMU-upstream device model and no PCI device
 * yet, nothing of an earlier attach, on an Intel host whose database says
 * export; Xen assigns nothing.  Returns the
 * store's dump, which a failed attach must restore exactly.
 */
static char *fresh_guest(void)
{
    struct xs_permissions guest = { .id = DOMID, .perms = XS_PERM_NONE };

    stop_dm();
    intel_host();
    xs_rm(ctx->xsh, XBT_NULL, "/local/domain/31993");
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/pci");
    xs_rm(ctx->xsh, XBT_NULL, "/libxl/31993");
    xs_rm(ctx->xsh, XBT_NULL, "/local/domain/0/backend/pci/31993");
    assert_true(xs_mkdir(ctx->xsh, XBT_NULL, "/local/domain/31993/device"));
    assert_true(xs_set_permissions(ctx->xsh, XBT_NULL,
                                   "/local/domain/31993/device", &guest, 1));
    assert_true(xs_write(ctx->xsh, XBT_NULL, "/libxl/31993/dm-version",
                         "qemu_xen", 8));
    assert_true(xs_write(ctx->xsh, XBT_NULL, "/libxl/31993/type", "hvm", 3));
    /* The toolstack's own domain (libxl__get_domid). */
    assert_true(xs_write(ctx->xsh, XBT_NULL, "/local/domain/0/domid", "0", 1));
    /* libxl's record of the device's assignment: a failed attach removes
     * its domid node (pci_info_xs_remove) but never the directory. */
    assert_true(xs_mkdir(ctx->xsh, XBT_NULL, "/libxl/pci/" BDF_XS));
    test_assign_errno = 0;
    test_ims_remap_errno = 0;
    test_assign_dev_errno = 0;
    test_assign_dev_calls = 0;
    test_assign_dev_flags = ~0u;
    test_assigned_domid = -1;
    test_xs_fail_after = -1;
    test_xs_rm_fail_after = -1;
    test_xs_rm_failed[0] = '\0';
    unlink(qmp_log);
    loglen = 0;
    logbuf[0] = '\0';
    return dump_store();
}

/* The domain's stored configuration (libxl-json), which a successful
 * hotplug updates. */
static void store_config(bool present)
{
    static const char config[] =
        "{ \"c_info\": { \"type\": \"hvm\", \"name\": \"g\" },"
        "  \"b_info\": { \"type.hvm\": {} } }";
    GC_INIT(ctx);

    if (present)
        assert_int_equal(libxl__userdata_store(gc, DOMID, "libxl-json",
                                               (const uint8_t *)config,
                                               sizeof(config)), 0);
    else
        unlink(libxl__userdata_path(gc, DOMID, "libxl-json", "d"));
    GC_FREE;
}

/*----- the device model -----*/

/* fake-qmp-server with x-ims, answering device_add as MODE. */
static void start_dm(const char *mode)
{
    char script[512], arg[64];
    const char *argv[] = { "/usr/bin/python3", script, "@QMP@", "x-ims",
                           arg, NULL };

    snprintf(script, sizeof(script), "%s/fake-qmp-server", getenv("IMS_TOP"));
    snprintf(arg, sizeof(arg), "device_add=%s", mode);
    dm_pid = test_dm_start(DOMID, argv);
    assert_true(dm_pid > 0);
}

static void stop_dm(void)
{
    test_dm_stop(&dm_pid, DOMID);
}

/* How many device_adds the device model got, and the last one. */
static int device_adds(char **last)
{
    char *log = test_read_file(qmp_log), *p, *l = NULL;
    int n = 0;

    for (p = log; p && *p; p = strchr(p, '\n') + 1) {
        n++;
        l = p;
        if (!strchr(p, '\n')) break;
    }
    if (last)
        *last = l ? strndup(l, strcspn(l, "\n")) : NULL;
    free(log);
    return n;
}

/*----- the attach and what it must leave -----*/

/* xl pci-attach 31993 0000:04:00.0: libxl_device_pci_add, synchronous. */
static int attach(void)
{
    libxl_device_pci pci;
    int rc;

    libxl_device_pci_init(&pci);
    pci.bus = 4;
    rc = test_pci_add(ctx, DOMID, &pci);
    libxl_device_pci_dispose(&pci);
    return rc;
}

/* libxl still offers the device (pciback holds it, no domain owns it). */
static bool libxl_assignable(void)
{
    libxl_device_pci *list;
    int n;
    bool found = false;

    list = libxl_device_pci_assignable_list(ctx, &n);
    for (int i = 0; i < n; i++)
        found |= list[i].domain == 0 && list[i].bus == 4 &&
                 list[i].dev == 0 && list[i].func == 0;
    libxl_device_pci_assignable_list_free(list, n);
    return found;
}

/* device_add carried the IMS step's properties: prepare had written. */
static void assert_prepare_wrote(void)
{
    char *last = NULL;

    assert_int_equal(device_adds(&last), 1);
    assert_non_null(strstr(last, "\"x-ims\": \"export\""));
    assert_non_null(strstr(last, "\"x-ims-path\": \"" IMS_DIR "/20\""));
    free(last);
}

static void assert_rolled_back(const char *before, const char *step)
{
    char *now = dump_store();

    if (strcmp(now, before))
        fail_msg("%s: the failed attach left\n%s", step,
                 left_behind(before, now));
    assert_false(xs_exists(IMS_DIR));
    assert_null(xs_directory(ctx->xsh, XBT_NULL, IMS_DIR, &(unsigned){0}));
    assert_false(xs_exists(RECORD));
    assert_false(xs_exists(CACHE));
    assert_true(libxl_assignable());
    free(now);
}

/*----- the control: the same attach, nothing failing -----*/

static void test_attach_succeeds(void **state)
{
    char *before = fresh_guest(), *v;

    store_config(true);
    start_dm("ok");
    assert_int_equal(attach(), 0);
    assert_prepare_wrote();
    v = xs_get(IMS_DIR "/20/state");
    assert_string_equal(v, "pending");
    free(v);
    v = xs_get(RECORD);
    assert_string_equal(v, "export");
    free(v);
    v = xs_get(CACHE);
    assert_string_equal(v, "yes");
    free(v);
    assert_int_equal(test_assign_dev_calls, 1);
    assert_int_equal(test_assign_dev_flags, 0);
    assert_int_equal(test_assigned_domid, DOMID);
    assert_false(libxl_assignable());
    store_config(false);
    stop_dm();
    free(before);
}

/*----- step 1: QEMU refuses device_add -----*/

static void test_device_add_error(void **state)
{
    char *before = fresh_guest();

    start_dm("error");
    assert_int_not_equal(attach(), 0);
    assert_prepare_wrote();
    assert_int_equal(test_assign_dev_calls, 0);
    assert_rolled_back(before, "device_add error");
    stop_dm();
    free(before);
}

/*----- step 2: the device model goes away, or never answers -----*/

static void test_device_model_goes_away(void **state)
{
    char *before = fresh_guest();

    start_dm("hangup");
    assert_int_not_equal(attach(), 0);
    assert_prepare_wrote();
    assert_int_equal(test_assign_dev_calls, 0);
    assert_rolled_back(before, "device model gone at device_add");
    stop_dm();
    free(before);
}

static void test_device_add_times_out(void **state)
{
    char *before = fresh_guest();

    /* LIBXL_QMP_CMD_TIMEOUT (10 s) in pci_add_timeout. */
    start_dm("silent");
    assert_int_equal(attach(), ERROR_TIMEDOUT);
    assert_prepare_wrote();
    assert_int_equal(test_assign_dev_calls, 0);
    assert_rolled_back(before, "device_add timeout");
    stop_dm();
    free(before);
}

/*----- step 3: Xen refuses the assignment -----*/

static void test_assign_fails(void **state)
{
    char *before = fresh_guest();

    start_dm("ok");
    test_assign_dev_errno = EBUSY;
    assert_int_not_equal(attach(), 0);
    assert_prepare_wrote();
    assert_int_equal(test_assign_dev_calls, 1);
    assert_int_equal(test_assign_dev_sbdf, 0x0400);
    /* Export asks nothing of Xen: no IMS flag (and strict RDM). */
    assert_int_equal(test_assign_dev_flags, 0);
    assert_true(logged("xc_assign_device failed"));
    assert_false(logged("IMS remap flag"));
    assert_int_equal(test_assigned_domid, -1);
    assert_rolled_back(before, "xc_assign_device failure");
    stop_dm();
    free(before);
}

static void test_assign_fails_with_remap_flag(void **state)
{
    char *before = fresh_guest();
    char *last = NULL;

    amd_remap_host();
    start_dm("ok");
    test_assign_dev_errno = EINVAL;
    assert_int_not_equal(attach(), 0);
    /* Remap: the device model is not asked (no x-ims), Xen is. */
    assert_int_equal(device_adds(&last), 1);
    assert_null(strstr(last, "x-ims"));
    free(last);
    assert_int_equal(test_assign_dev_calls, 1);
    assert_int_equal(test_assign_dev_flags, XEN_DOMCTL_DEV_IMS_REMAP);
    assert_true(logged("xc_assign_device failed (with the IMS remap flag "
                       "the plan asked for)"));
    assert_int_equal(test_assigned_domid, -1);
    assert_rolled_back(before, "xc_assign_device failure (remap flag)");
    stop_dm();
    free(before);
}

/*
 * After Xen assigned the device, libxl_pci.c's own xenstore/config step
 * fails (the domain's stored configuration cannot be read).  The IMS step
 * is undone; Xen's assignment is not (libxl 4.17 never deassigns on this
 * path; not the IMS step's doing, asserted so that a change shows).
 */
static void test_fails_after_assign(void **state)
{
    char *before = fresh_guest();

    store_config(false);
    start_dm("ok");
    assert_int_not_equal(attach(), 0);
    assert_prepare_wrote();
    assert_int_equal(test_assign_dev_calls, 1);
    assert_int_equal(test_assigned_domid, DOMID);
    assert_rolled_back(before, "backend/config failure after assign");
    stop_dm();
    free(before);
}

/*----- step 4: xenstore fails during the undo -----*/

/*
 * The attach fails at device_add (step 1), and each xs_rm of the whole
 * attach fails in turn.  What is left depends on which removal failed;
 * every case is named, and anything else fails the test.
 */
static void test_undo_rm_fails_in_turn(void **state)
{
    char *before = fresh_guest();
    int total, i;

    start_dm("error");
    test_xs_rms = 0;
    assert_int_not_equal(attach(), 0);
    assert_rolled_back(before, "baseline");
    total = test_xs_rms;
    assert_true(total >= 4);
    free(before);

    for (i = 0; i < total; i++) {
        char *now, *left, *failed;
        bool after_prepare;

        before = fresh_guest();
        start_dm("error");
        test_xs_rm_fail_after = i;
        assert_int_not_equal(attach(), 0);
        assert_int_equal(test_xs_rm_fail_after, -1);
        failed = test_xs_rm_failed;
        after_prepare = device_adds(NULL) == 1;
        now = dump_store();
        left = left_behind(before, now);
        {
            char *flat = strdup(left);

            for (char *c = flat; *c; c++)
                if (*c == '\n') *c = ' ';
            print_message("xs_rm %d of %d failed (%s, %s device_add); "
                          "left: %s\n", i + 1, total, failed,
                          after_prepare ? "after" : "before",
                          *flat ? flat : "nothing");
            free(flat);
        }

        if (!after_prepare) {
            /* In prepare (its transaction): the attach stops there. */
            assert_string_equal(left, "");
        } else if (!strcmp(failed, CACHE)) {
            /* The cached answer stays (true of this device model);
             * the rest of undo ran. */
            assert_true(logged("could not remove " CACHE));
            assert_string_equal(left, CACHE "=yes\n");
        } else if (!strncmp(failed, IMS_DIR, strlen(IMS_DIR)) ||
                   !strcmp(failed, RECORD)) {
            /* One transaction: the export directory and the record
             * stay together, reported; the cache went before. */
            assert_true(logged("could not remove its IMS xenstore "
                               "entries"));
            assert_non_null(strstr(left, IMS_DIR "/20/state=pending\n"));
            assert_non_null(strstr(left, RECORD "=export\n"));
            assert_null(strstr(left, CACHE));
            for (char *l = left; *l; l = strchr(l, '\n') + 1)
                assert_true(!strncmp(l, IMS_DIR, strlen(IMS_DIR)) ||
                            !strncmp(l, RECORD, strlen(RECORD)));
        } else if (!strcmp(failed, "/libxl/pci/" BDF_XS "/domid")) {
            /* libxl's own record of the assignment (pci_info_xs_remove,
             * unchecked): not the IMS step's; libxl then no longer
             * offers the device. */
            assert_string_equal(left, "/libxl/pci/" BDF_XS "/domid=31993\n");
            assert_false(libxl_assignable());
        } else {
            fail_msg("xs_rm of %s failed, not a case this test knows; "
                     "left:\n%s", failed, left);
        }
        free(left);
        free(now);
        free(before);
    }
    stop_dm();
}

/*----- step 5: a write of the IMS step fails -----*/

/* Each xenstore write and permission change of the whole attach fails in
 * turn (through the public path this time): nothing is left. */
static void test_every_write_fails_in_turn(void **state)
{
    char *before = fresh_guest();
    int total, i;

    start_dm("error");
    test_xs_writes = 0;
    assert_int_not_equal(attach(), 0);
    assert_rolled_back(before, "baseline");
    total = test_xs_writes;
    assert_true(total >= 4);
    print_message("%d xenstore writes and permission changes, each made "
                  "to fail in turn\n", total);
    free(before);

    for (i = 0; i < total; i++) {
        char step[64];

        before = fresh_guest();
        start_dm("error");
        test_xs_fail_after = i;
        assert_int_not_equal(attach(), 0);
        assert_int_equal(test_xs_fail_after, -1);
        snprintf(step, sizeof(step), "write %d of %d failed", i + 1, total);
        assert_rolled_back(before, step);
        free(before);
    }
    stop_dm();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_succeeds),
        cmocka_unit_test(test_device_add_error),
        cmocka_unit_test(test_device_model_goes_away),
        cmocka_unit_test(test_device_add_times_out),
        cmocka_unit_test(test_assign_fails),
        cmocka_unit_test(test_assign_fails_with_remap_flag),
        cmocka_unit_test(test_fails_after_assign),
        cmocka_unit_test(test_undo_rm_fails_in_turn),
        cmocka_unit_test(test_every_write_fails_in_turn),
    };

    return cmocka_run_group_tests_name("ims_rollback", tests, setup,
                                       teardown);
}
