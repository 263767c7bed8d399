/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test seam for running real libxl code without a hypervisor.
 *
 * Tests link the static libxenlight.a and wrap (ld --wrap) the calls that
 * reach Xen.  xc_interface_open() returns a dummy handle, so a libxl_ctx
 * can be allocated on any machine; calls that would use the handle are
 * wrapped one by one as tests need them.  xs_open() reaches a real
 * xenstored when XENSTORED_PATH names its socket, else fails as without
 * Xen.  See README.
 */
#ifndef IMS_TEST_HARNESS_H
#define IMS_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <cmocka.h>

#include <libxl.h>

/* A context with the dummy hypervisor handle (xsh: see above). */
libxl_ctx *test_ctx_alloc(void);
/* A context made with LIBXL_CTX_OFFLINE, as xl makes one without Xen. */
libxl_ctx *test_ctx_alloc_offline(void);
void test_ctx_free(libxl_ctx *ctx);

/* Path of a fixture file, from $IMS_FIXTURES (set by the Makefile). */
const char *test_fixture(const char *rel);

/* A fresh temporary directory, removed by test_tmpdir_cleanup(). */
const char *test_tmpdir(void);
void test_tmpdir_cleanup(void);
/* Writes contents to dir/name (mode 0644) and returns the path. */
const char *test_write_file(const char *dir, const char *name,
                            const char *contents);
/*
 * A fake host root's boot id (root/proc/sys/kernel/random/boot_id): libxl
 * trusts a facts record only with this boot's id (TEST_BOOT_LINE in it).
 */
#define TEST_BOOT_ID   "5d1c7e0a-3f4b-4c6e-9a1d-2b3c4d5e6f70"
#define TEST_BOOT_LINE "boot_id=" TEST_BOOT_ID "\n"
void test_write_boot_id(const char *root);
/* Reads a whole file (malloc'd, NUL-terminated) or NULL. */
char *test_read_file(const char *path);

/* How many times the wrapped hypervisor entry points were called. */
extern int test_xc_open_calls;

/*
 * Canned hypervisor answers for a context whose ctx->xch a test has set
 * (the offline one with a dummy handle): xc_readconsolering() returns
 * test_xen_console (Xen's console ring, read incrementally as Xen does)
 * and xc_version(XENVER_commandline) test_xen_cmdline; NULL makes the
 * call fail with EPERM, as without privilege.  Other xc_version()
 * commands fail with ENOSYS.
 */
extern const char *test_xen_console;
extern const char *test_xen_cmdline;
extern int test_xc_readconsolering_calls;
extern int test_xc_version_calls;

/*
 * xc_domain_getinfolist() lists these domains (in ascending order), each
 * a running HVM guest whose UUID holds its domid; no others exist.
 */
extern uint32_t test_domains[8];
extern int test_nr_domains;
/* Their XEN_X86_EMU_* flags (XEN_X86_EMU_USE_PIRQ: HVM pirqs). */
extern uint32_t test_domain_emulation_flags;

/*
 * xc_test_assign_device_flags(): fails with test_assign_errno when it is
 * set (the device cannot be assigned), else with test_ims_remap_errno
 * when flags are given (0: Xen accepts XEN_DOMCTL_DEV_IMS_REMAP; EINVAL:
 * a Xen without it; EOPNOTSUPP: one that cannot remap this device).
 */
extern int test_assign_errno;
extern int test_ims_remap_errno;
extern uint32_t test_assign_last_sbdf;
extern int test_assign_calls;

/*
 * xc_test_assign_device() (no flags) fails with test_assign_errno when
 * set, with EBUSY once xc_assign_device() has given the device to a
 * domain (test_assigned_domid, -1: none), else succeeds.
 * xc_assign_device() records what it was asked (test_assign_dev_*: the
 * flags are what libxl passed, XEN_DOMCTL_DEV_IMS_REMAP included) and
 * fails with test_assign_dev_errno when that is set.
 */
extern int test_assign_dev_errno;
extern uint32_t test_assign_dev_flags;
extern uint32_t test_assign_dev_sbdf;
extern int test_assign_dev_calls;
extern int test_assigned_domid;

/*
 * A real xenstored (C xenstored from the built tree with the test-only
 * xenstored-no-hypervisor.patch, $IMS_XENSTORED) on a private socket in
 * a temporary directory; XENSTORED_PATH points xs_open() at it.  The
 * process first moves to a mount namespace of its own with empty
 * /var/run/xen and /var/lib/xen (libxl's QMP sockets and userdata).
 * Returns false when the binary is missing or that needs root it lacks.
 */
bool test_xenstored_start(void);
void test_xenstored_stop(void);

/*
 * Fault injection on xenstore writes: when test_xs_fail_after >= 0, the
 * write or permission change after that many successful ones fails (EIO)
 * and test_xs_fail_after goes back to -1.  test_xs_writes counts them.
 */
extern int test_xs_fail_after;
extern int test_xs_writes;

/*
 * The same for xs_rm(): when test_xs_rm_fail_after >= 0, the removal
 * after that many successful ones fails (EIO), its path goes to
 * test_xs_rm_failed, and test_xs_rm_fail_after goes back to -1.
 * test_xs_rms counts the removals that went through.
 */
extern int test_xs_rm_fail_after;
extern int test_xs_rms;
extern char test_xs_rm_failed[256];

/*
 * Runs libxl's IMS attach step (libxl__ims_attach_prepare) for device
 * 0000:bus:00.0 of domid, as libxl_pci.c does, and waits for it.  The
 * plan goes to *out and whether xenstore was written to *written (either
 * may be NULL); undo removes what the step wrote before it returns.
 * Returns the step's rc.  (harness_attach.c)
 */
int test_ims_attach_prepare(libxl_ctx *ctx, uint32_t domid, int bus,
                            uint32_t vdevfn, libxl_pci_ims_policy policy,
                            bool undo, libxl_pci_ims_plan *out,
                            bool *written);

/*
 * A device model for domid: the QMP socket libxl's client connects to
 * (/var/run/xen/qmp-libxl-<domid>), and a program started on it.  argv is
 * the command (argv[0] the path, stdio to /dev/null); an argument "@QMP@"
 * becomes the socket's path and "@QMP-SERVER@" QEMU's -qmp argument for
 * it.  Returns the pid once the socket exists, -1 otherwise.
 * test_dm_stop() ends it and removes the socket.  (harness_attach.c)
 */
/* libxl_device_pci_add(ctx, domid, pci, NULL), which files that include
 * libxl_internal.h may not call. */
int test_pci_add(libxl_ctx *ctx, uint32_t domid, libxl_device_pci *pci);
/* libxl_pci_ims_explain() and libxl_event_wait(ctx, event_r, all
 * events, NULL, NULL), for the same reason. */
int test_pci_ims_explain(libxl_ctx *ctx, uint32_t domid,
                         libxl_domain_type guest_type,
                         const char *device_model,
                         const libxl_device_pci *pci,
                         libxl_pci_ims_plan *plan,
                         const libxl_asyncop_how *ao_how);
int test_event_wait(libxl_ctx *ctx, libxl_event **event_r);

struct xs_handle;
/* xenstore as text: a node's permissions ("n0,r5"), and every node
 * under roots ("path=value" lines, with " (perms)" when with_perms). */
const char *test_xs_perms(struct xs_handle *xsh, const char *path);
char *test_xs_dump(struct xs_handle *xsh, const char *const *roots,
                   unsigned int nroots, bool with_perms);

/* Database entries' strategy lists, as "remap|export". */
const char *test_strategy_list(const libxl_pci_ims_strategy *l, int n);
void test_set_strategy_list(libxl_pci_ims_strategy **l, int *n,
                            const char *spec);

const char *test_dm_socket(uint32_t domid);
pid_t test_dm_start(uint32_t domid, const char *const argv[]);
void test_dm_stop(pid_t *pid, uint32_t domid);

#endif
