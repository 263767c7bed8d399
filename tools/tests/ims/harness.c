/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test seam: see harness.h and README.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <ftw.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <errno.h>

#include "harness.h"

#include <xenctrl.h>
#include <xenstore.h>

int test_xc_open_calls;

/* No privcmd here: hand out a handle that must never be dereferenced. */
static char dummy_xch;

xc_interface *__wrap_xc_interface_open(xentoollog_logger *logger,
                                       xentoollog_logger *dombuild_logger,
                                       unsigned open_flags);
xc_interface *__wrap_xc_interface_open(xentoollog_logger *logger,
                                       xentoollog_logger *dombuild_logger,
                                       unsigned open_flags)
{
    test_xc_open_calls++;
    return (xc_interface *)&dummy_xch;
}

int __wrap_xc_interface_close(xc_interface *xch);
int __wrap_xc_interface_close(xc_interface *xch)
{
    assert_ptr_equal(xch, &dummy_xch);
    return 0;
}

const char *test_xen_console;
const char *test_xen_cmdline;
int test_xc_readconsolering_calls;
int test_xc_version_calls;

int __wrap_xc_readconsolering(xc_interface *xch, char *buffer,
                              unsigned int *pnr_chars, int clear,
                              int incremental, uint32_t *pindex);
int __wrap_xc_readconsolering(xc_interface *xch, char *buffer,
                              unsigned int *pnr_chars, int clear,
                              int incremental, uint32_t *pindex)
{
    size_t len, from = 0, n;

    test_xc_readconsolering_calls++;
    assert_non_null(xch);
    if (!test_xen_console) {
        errno = EPERM;
        return -1;
    }
    len = strlen(test_xen_console);
    if (incremental && pindex && *pindex <= len)
        from = *pindex;
    n = len - from < *pnr_chars ? len - from : *pnr_chars;
    memcpy(buffer, test_xen_console + from, n);
    *pnr_chars = n;
    if (pindex)
        *pindex = from + n;
    return 0;
}

int __wrap_xc_version(xc_interface *xch, int cmd, void *arg);
int __wrap_xc_version(xc_interface *xch, int cmd, void *arg)
{
    test_xc_version_calls++;
    assert_non_null(xch);
    if (cmd != XENVER_commandline) {
        errno = ENOSYS;
        return -1;
    }
    if (!test_xen_cmdline) {
        errno = EPERM;
        return -1;
    }
    snprintf(arg, sizeof(xen_commandline_t), "%s", test_xen_cmdline);
    return 0;
}

uint32_t test_domains[8];
int test_nr_domains;
uint32_t test_domain_emulation_flags;

/*
 * Domain list: the domains a test declared, each an HVM guest whose
 * handle (UUID) is its domid, so libxl finds their userdata lock files.
 */
int __wrap_xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
                                 unsigned int max_domains,
                                 xc_domaininfo_t *info);
int __wrap_xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain,
                                 unsigned int max_domains,
                                 xc_domaininfo_t *info)
{
    unsigned int n = 0;

    assert_ptr_equal(xch, &dummy_xch);
    for (int i = 0; i < test_nr_domains && n < max_domains; i++) {
        if (test_domains[i] < first_domain)
            continue;
        memset(&info[n], 0, sizeof(info[n]));
        info[n].domain = test_domains[i];
        info[n].flags = XEN_DOMINF_hvm_guest | XEN_DOMINF_running;
        memcpy(info[n].handle, &test_domains[i], sizeof(test_domains[i]));
        info[n].max_vcpu_id = 0;
        info[n].arch_config.emulation_flags = test_domain_emulation_flags;
        n++;
    }
    return n;
}

/*
 * One domain (Xen 4.18 and later: libxl asks with xc_domain_getinfo_single
 * where it used xc_domain_getinfolist), from the same list; dom0 is a PV
 * dom0 (4.20's PCI attach asks whether it has pirqs).
 */
int __wrap_xc_domain_getinfo_single(xc_interface *xch, uint32_t domid,
                                    xc_domaininfo_t *info);
int __wrap_xc_domain_getinfo_single(xc_interface *xch, uint32_t domid,
                                    xc_domaininfo_t *info)
{
    if (domid == 0) {
        assert_ptr_equal(xch, &dummy_xch);
        memset(info, 0, sizeof(*info));
        info->flags = XEN_DOMINF_running;
        return 0;
    }
    if (__wrap_xc_domain_getinfolist(xch, domid, 1, info) != 1 ||
        info->domain != domid) {
        errno = ESRCH;
        return -1;
    }
    return 0;
}

/* No XSM (as on most hosts): a domain's security label is unknown. */
int __wrap_xc_flask_sid_to_context(xc_interface *xch, int sid, char *buf,
                                   uint32_t size);
int __wrap_xc_flask_sid_to_context(xc_interface *xch, int sid, char *buf,
                                   uint32_t size)
{
    errno = ENOSYS;
    return -1;
}

int test_assign_errno;
int test_ims_remap_errno;
uint32_t test_assign_last_sbdf;
int test_assign_calls;

/* XEN_DOMCTL_test_assign_device, as a hypervisor set up by the test. */
int __wrap_xc_test_assign_device_flags(xc_interface *xch, uint32_t domid,
                                       uint32_t machine_sbdf,
                                       uint32_t flags);
int __wrap_xc_test_assign_device_flags(xc_interface *xch, uint32_t domid,
                                       uint32_t machine_sbdf,
                                       uint32_t flags)
{
    int e = flags ? test_ims_remap_errno : test_assign_errno;

    assert_ptr_equal(xch, &dummy_xch);
    test_assign_calls++;
    test_assign_last_sbdf = machine_sbdf;
    if (flags && test_assign_errno)
        e = test_assign_errno;
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/*
 * XEN_DOMCTL_test_assign_device without flags (libxl__device_pci_add asks
 * it first): the device is assignable unless test_assign_errno says
 * otherwise or xc_assign_device() gave it to a domain.
 */
int test_assign_dev_errno;
uint32_t test_assign_dev_flags;
uint32_t test_assign_dev_sbdf;
int test_assign_dev_calls;
int test_assigned_domid = -1;

int __wrap_xc_test_assign_device(xc_interface *xch, uint32_t domid,
                                 uint32_t machine_sbdf);
int __wrap_xc_test_assign_device(xc_interface *xch, uint32_t domid,
                                 uint32_t machine_sbdf)
{
    assert_ptr_equal(xch, &dummy_xch);
    if (test_assign_errno) {
        errno = test_assign_errno;
        return -1;
    }
    if (test_assigned_domid >= 0) {
        errno = EBUSY;
        return -1;
    }
    return 0;
}

/* XEN_DOMCTL_assign_device: fails with test_assign_dev_errno when set. */
int __wrap_xc_assign_device(xc_interface *xch, uint32_t domid,
                            uint32_t machine_sbdf, uint32_t flags);
int __wrap_xc_assign_device(xc_interface *xch, uint32_t domid,
                            uint32_t machine_sbdf, uint32_t flags)
{
    assert_ptr_equal(xch, &dummy_xch);
    test_assign_dev_calls++;
    test_assign_dev_flags = flags;
    test_assign_dev_sbdf = machine_sbdf;
    if (test_assign_dev_errno) {
        errno = test_assign_dev_errno;
        return -1;
    }
    test_assigned_domid = domid;
    return 0;
}

struct xs_handle *__real_xs_open(unsigned long flags);
struct xs_handle *__wrap_xs_open(unsigned long flags);
struct xs_handle *__wrap_xs_open(unsigned long flags)
{
    /* Only a test xenstored on a private socket, never the host's. */
    if (!getenv("XENSTORED_PATH"))
        return NULL;
    return __real_xs_open(flags | XS_OPEN_SOCKETONLY);
}

static xentoollog_logger_stdiostream *logger;

static xentoollog_logger *test_logger(void)
{
    if (!logger)
        logger = xtl_createlogger_stdiostream(stderr,
                     getenv("IMS_TEST_VERBOSE") ? XTL_DEBUG : XTL_CRITICAL,
                     0);
    return (xentoollog_logger *)logger;
}

libxl_ctx *test_ctx_alloc(void)
{
    libxl_ctx *ctx = NULL;

    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, test_logger()))
        return NULL;
    return ctx;
}

libxl_ctx *test_ctx_alloc_offline(void)
{
    libxl_ctx *ctx = NULL;

    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, LIBXL_CTX_OFFLINE,
                        test_logger()))
        return NULL;
    return ctx;
}

void test_ctx_free(libxl_ctx *ctx)
{
    libxl_ctx_free(ctx);
}

const char *test_fixture(const char *rel)
{
    static char buf[4096];
    const char *dir = getenv("IMS_FIXTURES");

    snprintf(buf, sizeof(buf), "%s/%s", dir ? dir : "fixtures", rel);
    return buf;
}

static char tmpdir[256];

const char *test_tmpdir(void)
{
    if (!tmpdir[0]) {
        /*
         * Not under /tmp: libxl refuses a database (and, at attach, a
         * host file) below a directory others than root can write, which
         * /tmp is.  $IMS_TEST_TMPDIR, else /run as root, else /tmp.
         */
        const char *base = getenv("IMS_TEST_TMPDIR");

        if (!base || !*base)
            base = geteuid() == 0 && !access("/run", W_OK) ? "/run" : "/tmp";
        snprintf(tmpdir, sizeof(tmpdir), "%s/ims-test.XXXXXX", base);
        if (!mkdtemp(tmpdir))
            fail_msg("mkdtemp failed");
    }
    return tmpdir;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    return remove(path);
}

void test_tmpdir_cleanup(void)
{
    if (tmpdir[0])
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    tmpdir[0] = '\0';
}

const char *test_write_file(const char *dir, const char *name,
                            const char *contents)
{
    char *path;
    FILE *f;

    if (asprintf(&path, "%s/%s", dir, name) < 0)
        fail_msg("asprintf");
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(contents, f);
    fclose(f);
    chmod(path, 0644);
    return path; /* leaked: tests are short-lived */
}

void test_write_boot_id(const char *root)
{
    char *dir, *cmd;

    if (asprintf(&dir, "%s/proc/sys/kernel/random", root) < 0 ||
        asprintf(&cmd, "mkdir -p '%s'", dir) < 0)
        fail_msg("asprintf");
    if (system(cmd))
        fail_msg("%s failed", cmd);
    free((char *)test_write_file(dir, "boot_id", TEST_BOOT_ID "\n"));
    free(cmd);
    free(dir);
}

char *test_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc(n + 1);
    if (fread(buf, 1, n, f) != (size_t)n) n = 0;
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/*----- a real xenstored -----*/

static pid_t xenstored_pid = -1;
static char xenstored_dir[256];

/*
 * libxl keeps per-domain files at fixed host paths: the device model's QMP
 * socket in /var/run/xen, domain userdata in /var/lib/xen.  Give this
 * process (and the device models and xenstored it starts) empty ones of its
 * own, so that two test runs on one machine, or a real Xen's files, never
 * meet.
 */
static bool private_run_dirs(void)
{
    static const char *const dirs[] = { "/var/run/xen", "/var/lib/xen" };
    static bool done;
    unsigned int i;

    if (done)
        return true;
    if (unshare(CLONE_NEWNS) ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
        fprintf(stderr, "cannot make a private mount namespace for libxl's "
                "run directories: %s (the attach tests need root)\n",
                strerror(errno));
        return false;
    }
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if ((mkdir(dirs[i], 0755) && errno != EEXIST) ||
            mount("ims-test", dirs[i], "tmpfs", 0, "mode=0755")) {
            fprintf(stderr, "cannot mount a private %s: %s\n", dirs[i],
                    strerror(errno));
            return false;
        }
    }
    done = true;
    return true;
}

bool test_xenstored_start(void)
{
    const char *bin = getenv("IMS_XENSTORED");
    char sock[300];
    int i;

    if (!bin || access(bin, X_OK))
        return false;
    if (!private_run_dirs())
        return false;
    strcpy(xenstored_dir, "/tmp/ims-xenstored.XXXXXX");
    if (!mkdtemp(xenstored_dir))
        return false;
    snprintf(sock, sizeof(sock), "%s/socket", xenstored_dir);
    setenv("XENSTORED_RUNDIR", xenstored_dir, 1);
    setenv("XENSTORED_ROOTDIR", xenstored_dir, 1);
    setenv("XENSTORED_PATH", sock, 1);

    xenstored_pid = fork();
    if (xenstored_pid < 0)
        return false;
    if (!xenstored_pid) {
        execl(bin, bin, "-D", "-N", "-I", (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 500; i++) {  /* up to 5 s */
        struct xs_handle *xsh;

        if (!access(sock, F_OK) &&
            (xsh = __real_xs_open(XS_OPEN_SOCKETONLY))) {
            xs_close(xsh);
            return true;
        }
        usleep(10000);
    }
    test_xenstored_stop();
    return false;
}

void test_xenstored_stop(void)
{
    char cmd[300];

    if (xenstored_pid > 0) {
        kill(xenstored_pid, SIGTERM);
        waitpid(xenstored_pid, NULL, 0);
    }
    xenstored_pid = -1;
    if (xenstored_dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", xenstored_dir);
        if (system(cmd)) { /* best effort */ }
    }
    xenstored_dir[0] = '\0';
    unsetenv("XENSTORED_PATH");
}

/*----- fault injection on xenstore writes -----*/

int test_xs_fail_after = -1;
int test_xs_writes;

static bool inject_fault(void)
{
    if (test_xs_fail_after < 0) {
        test_xs_writes++;
        return false;
    }
    if (test_xs_fail_after-- > 0) {
        test_xs_writes++;
        return false;
    }
    test_xs_fail_after = -1;
    errno = EIO;
    return true;
}

bool __real_xs_write(struct xs_handle *h, xs_transaction_t t,
                     const char *path, const void *data, unsigned int len);
bool __wrap_xs_write(struct xs_handle *h, xs_transaction_t t,
                     const char *path, const void *data, unsigned int len);
bool __wrap_xs_write(struct xs_handle *h, xs_transaction_t t,
                     const char *path, const void *data, unsigned int len)
{
    if (inject_fault())
        return false;
    return __real_xs_write(h, t, path, data, len);
}

bool __real_xs_set_permissions(struct xs_handle *h, xs_transaction_t t,
                               const char *path,
                               struct xs_permissions *perms,
                               unsigned int num_perms);
bool __wrap_xs_set_permissions(struct xs_handle *h, xs_transaction_t t,
                               const char *path,
                               struct xs_permissions *perms,
                               unsigned int num_perms);
bool __wrap_xs_set_permissions(struct xs_handle *h, xs_transaction_t t,
                               const char *path,
                               struct xs_permissions *perms,
                               unsigned int num_perms)
{
    if (inject_fault())
        return false;
    return __real_xs_set_permissions(h, t, path, perms, num_perms);
}

int test_xs_rm_fail_after = -1;
int test_xs_rms;
char test_xs_rm_failed[256];

bool __real_xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path);
bool __wrap_xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path);
bool __wrap_xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
    if (test_xs_rm_fail_after >= 0 && test_xs_rm_fail_after-- == 0) {
        test_xs_rm_fail_after = -1;
        snprintf(test_xs_rm_failed, sizeof(test_xs_rm_failed), "%s", path);
        errno = EIO;
        return false;
    }
    test_xs_rms++;
    return __real_xs_rm(h, t, path);
}

/* libxl_device_pci_add() as an application calls it (synchronously);
 * libxl_internal.h forbids the call from files that include it. */
int test_pci_add(libxl_ctx *ctx, uint32_t domid, libxl_device_pci *pci)
{
    return libxl_device_pci_add(ctx, domid, pci, NULL);
}

int test_pci_ims_explain(libxl_ctx *ctx, uint32_t domid,
                         libxl_domain_type guest_type,
                         const char *device_model,
                         const libxl_device_pci *pci,
                         libxl_pci_ims_plan *plan,
                         const libxl_asyncop_how *ao_how)
{
    return libxl_pci_ims_explain(ctx, domid, guest_type, device_model, pci,
                                 plan, ao_how);
}

int test_event_wait(libxl_ctx *ctx, libxl_event **event_r)
{
    return libxl_event_wait(ctx, event_r, LIBXL_EVENTMASK_ALL, NULL, NULL);
}

/* A strategy list as the database writes it ("remap|export"). */
const char *test_strategy_list(const libxl_pci_ims_strategy *l, int n)
{
    static char buf[64];

    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
                 i ? "|" : "", libxl_pci_ims_strategy_to_string(l[i]));
    return buf;
}

/* Sets a database entry's list from "remap|export" (NOGC, as dispose
 * frees it). */
void test_set_strategy_list(libxl_pci_ims_strategy **l, int *n,
                            const char *spec)
{
    char *copy = strdup(spec), *tok, *save = NULL;

    free(*l);
    *l = calloc(4, sizeof(**l));
    *n = 0;
    for (tok = strtok_r(copy, "|", &save); tok && *n < 4;
         tok = strtok_r(NULL, "|", &save))
        assert_int_equal(libxl_pci_ims_strategy_from_string(tok,
                                                            &(*l)[(*n)++]),
                         0);
    free(copy);
}

/* "n0,r5": a node's xenstore permissions, owner first (static buffer). */
const char *test_xs_perms(struct xs_handle *xsh, const char *path)
{
    struct xs_permissions *p;
    unsigned int n, i;
    static char buf[256];

    p = xs_get_permissions(xsh, XBT_NULL, path, &n);
    if (!p) return NULL;
    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        char c = p[i].perms == XS_PERM_NONE ? 'n' :
                 p[i].perms == XS_PERM_READ ? 'r' :
                 p[i].perms == XS_PERM_WRITE ? 'w' : 'b';
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%c%u",
                 i ? "," : "", c, p[i].id);
    }
    free(p);
    return buf;
}

/* Every node under roots as "path=value" lines (with " (perms)" when
 * with_perms), for comparing the store before and after. */
char *test_xs_dump(struct xs_handle *xsh, const char *const *roots,
                   unsigned int nroots, bool with_perms)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    for (unsigned int r = 0; r < nroots; r++) {
        char *stack[256];
        int sp = 0;

        stack[sp++] = strdup(roots[r]);
        while (sp) {
            char *path = stack[--sp];
            unsigned int vlen, n, i;
            char *v = xs_read(xsh, XBT_NULL, path, &vlen);
            char **kids;

            if (v && with_perms)
                fprintf(f, "%s=%s (%s)\n", path, v, test_xs_perms(xsh, path));
            else if (v)
                fprintf(f, "%s=%s\n", path, v);
            free(v);
            kids = xs_directory(xsh, XBT_NULL, path, &n);
            for (i = 0; kids && i < n && sp < 255; i++)
                if (asprintf(&stack[sp++], "%s/%s", path, kids[i]) < 0)
                    fail();
            free(kids);
            free(path);
        }
    }
    fclose(f);
    return out;
}
