/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test seam, part two: libxl's IMS attach step driven as an ao, for the
 * tests and benchmarks that need it (see harness.h).
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

typedef struct {
    libxl__ims_attach_state ims;
    libxl_device_pci pci;
    bool undo;
    libxl_pci_ims_plan *out;
    bool *written;
} attach_run;

static void attach_run_done(libxl__egc *egc, libxl__ims_attach_state *ims,
                            int rc)
{
    attach_run *r = CONTAINER_OF(ims, *r, ims);
    STATE_AO_GC(ims->ao);

    if (r->out)
        libxl_pci_ims_plan_copy(CTX, r->out, &ims->plan);
    if (r->written)
        *r->written = ims->written;
    if (r->undo)
        libxl__ims_attach_undo(gc, ims);
    libxl__ims_attach_dispose(gc, ims);
    libxl__ao_complete(egc, ao, rc);
}

int test_ims_attach_prepare(libxl_ctx *ctx, uint32_t domid, int bus,
                            uint32_t vdevfn, libxl_pci_ims_policy policy,
                            bool undo, libxl_pci_ims_plan *out,
                            bool *written)
{
    AO_CREATE(ctx, domid, NULL);
    attach_run *r;

    GCNEW(r);
    libxl_device_pci_init(&r->pci);
    r->pci.bus = bus;
    r->pci.vdevfn = vdevfn;
    r->pci.ims_policy = policy;
    r->undo = undo;
    r->out = out;
    r->written = written;
    libxl__ims_attach_init(&r->ims);
    r->ims.ao = ao;
    r->ims.domid = domid;
    r->ims.pci = &r->pci;
    r->ims.callback = attach_run_done;
    libxl__ims_attach_prepare(egc, &r->ims);
    return AO_INPROGRESS;
}

const char *test_dm_socket(uint32_t domid)
{
    static char sock[64];

    snprintf(sock, sizeof(sock), "/var/run/xen/qmp-libxl-%u", domid);
    return sock;
}

pid_t test_dm_start(uint32_t domid, const char *const argv[])
{
    char sock[64], server[128];
    const char *args[32];
    pid_t pid;
    int i;

    snprintf(sock, sizeof(sock), "%s", test_dm_socket(domid));
    snprintf(server, sizeof(server), "unix:%s,server=on,wait=off", sock);
    for (i = 0; argv[i] && i < 31; i++)
        args[i] = !strcmp(argv[i], "@QMP@") ? sock
                  : !strcmp(argv[i], "@QMP-SERVER@") ? server : argv[i];
    args[i] = NULL;

    if (system("mkdir -p /var/run/xen")) return -1;
    unlink(sock);
    pid = fork();
    if (pid < 0) return -1;
    if (!pid) {
        int null = open("/dev/null", O_RDWR);

        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    for (i = 0; i < 1000; i++) {
        if (!access(sock, F_OK)) return pid;
        usleep(10000);
    }
    test_dm_stop(&pid, domid);
    return -1;
}

void test_dm_stop(pid_t *pid, uint32_t domid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
    }
    *pid = -1;
    unlink(test_dm_socket(domid));
}
