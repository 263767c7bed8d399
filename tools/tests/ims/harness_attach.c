/*
 * Test seam, part two: libxl's IMS attach step driven as an ao, for the
 * tests and benchmarks that need it (see harness.h).
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

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
