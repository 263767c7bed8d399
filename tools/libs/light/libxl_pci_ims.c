/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS-like PCI devices: the attach step.  From the plan to xenstore and
 * QEMU; the device model is asked over QMP whether it has x-ims.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

/* An entry's acl as xs_permissions; 0 when it names no valid domain. */
static unsigned int acl_perms(libxl__gc *gc, const libxl_pci_ims_xs_entry *e,
                              struct xs_permissions **perms_r)
{
    static const unsigned int xs_perm[] = {
        [LIBXL_PCI_IMS_XS_PERM_NONE] = XS_PERM_NONE,
        [LIBXL_PCI_IMS_XS_PERM_READ] = XS_PERM_READ,
        [LIBXL_PCI_IMS_XS_PERM_WRITE] = XS_PERM_WRITE,
        [LIBXL_PCI_IMS_XS_PERM_BOTH] = XS_PERM_READ | XS_PERM_WRITE,
    };
    struct xs_permissions *perms;

    if (e->num_acl <= 0)
        return 0;
    perms = libxl__calloc(gc, e->num_acl, sizeof(*perms));
    for (int i = 0; i < e->num_acl; i++) {
        if (e->acl[i].domid >= DOMID_FIRST_RESERVED ||
            e->acl[i].perm < LIBXL_PCI_IMS_XS_PERM_NONE ||
            e->acl[i].perm > LIBXL_PCI_IMS_XS_PERM_BOTH)
            return 0;
        perms[i].id = e->acl[i].domid;
        perms[i].perms = xs_perm[e->acl[i].perm];
    }
    *perms_r = perms;
    return e->num_acl;
}

static const char *export_dir_of(libxl__gc *gc, const char *path)
{
    /* .../device/pci-ims/<vdevfn>[/key] -> .../device/pci-ims/<vdevfn> */
    const char *p = strstr(path, "/device/pci-ims/");
    const char *slash;

    if (!p) return NULL;
    p += strlen("/device/pci-ims/");
    slash = strchr(p, '/');
    return slash ? libxl__strndup(gc, path, slash - path) : path;
}

/* The export directory a plan writes, or NULL. */
static const char *plan_export_dir(libxl__gc *gc,
                                   const libxl_pci_ims_plan *plan)
{
    for (int i = 0; i < plan->num_xenstore; i++) {
        const char *dir = export_dir_of(gc, plan->xenstore[i].path);

        if (dir && !strcmp(dir, plan->xenstore[i].path))
            return dir;
    }
    return NULL;
}

/* Whether the guest domid owns dir (in its own device/ directory). */
static bool made_by_guest(libxl__gc *gc, xs_transaction_t t,
                          uint32_t guest, const char *dir)
{
    struct xs_permissions *perms;
    unsigned int n = 0;
    bool guests = false;

    perms = xs_get_permissions(CTX->xsh, t, dir, &n);
    if (perms && n)
        guests = perms[0].id == guest;
    free(perms);
    return guests;
}

int libxl__ims_xs_write(libxl__gc *gc, uint32_t domid,
                        const libxl_pci_ims_plan *plan,
                        const libxl_device_pci *pci)
{
    const char *dir = plan_export_dir(gc, plan);
    const char *record = libxl__ims_toolstack_path(gc, pci);
    xs_transaction_t t = XBT_NULL;
    int rc, i;

    /* Nothing to write (policy off, no strategy, refused): only a record
     * left by an earlier attach of this device goes, no transaction. */
    if (!plan->num_xenstore)
        return libxl__xs_rm_checked(gc, XBT_NULL, record);

    for (i = 0; i < plan->num_xenstore; i++) {
        struct xs_permissions *perms;

        if (!acl_perms(gc, &plan->xenstore[i], &perms)) {
            LOG(ERROR, "bad xenstore permissions for %s: no domain can "
                "have them", plan->xenstore[i].path);
            return ERROR_INVAL;
        }
    }

    for (;;) {
        const char *there;

        rc = libxl__xs_transaction_start(gc, &t);
        if (rc) goto out;

        /* What is there already is another device's (a slot given
         * twice), left alone; or the guest's own making (where it may
         * write device/, as with xend_suspend_evtchn_compat), which
         * goes: the guest must not choose the values it is shown. */
        if (dir) {
            rc = libxl__xs_read_checked(gc, t, dir, &there);
            if (rc) goto out;
            if (there && !made_by_guest(gc, t, domid, dir)) {
                LOG(ERROR, "%s already exists: the slot belongs to another "
                    "device; give this one a free vdevfn", dir);
                rc = ERROR_FAIL;
                goto out;
            }
            if (there) {
                rc = libxl__xs_rm_checked(gc, t, dir);
                if (rc) goto out;
            }
        }
        /* A record left by an earlier attach of this device goes. */
        rc = libxl__xs_rm_checked(gc, t, record);
        if (rc) goto out;
        for (i = 0; i < plan->num_xenstore; i++) {
            const libxl_pci_ims_xs_entry *e = &plan->xenstore[i];
            struct xs_permissions *perms;
            unsigned int n = acl_perms(gc, e, &perms);

            rc = libxl__xs_write_checked(gc, t, e->path, e->value);
            if (rc) goto out;
            if (!xs_set_permissions(CTX->xsh, t, e->path, perms, n)) {
                LOGE(ERROR, "setting permissions of %s", e->path);
                rc = ERROR_FAIL;
                goto out;
            }
        }

        rc = libxl__xs_transaction_commit(gc, &t);
        if (!rc) break;
        if (rc < 0) goto out;
    }

 out:
    libxl__xs_transaction_abort(gc, &t);
    return rc;
}

/* Removes dir (when not NULL; and its parent when that is left empty)
 * and pci's toolstack record, in one transaction. */
static int xs_remove_dir(libxl__gc *gc, uint32_t domid,
                         const libxl_device_pci *pci, const char *dir)
{
    const char *parent = libxl__ims_export_path(gc, domid, 0);
    xs_transaction_t t = XBT_NULL;
    char **left;
    unsigned int n;
    int rc;

    parent = libxl__strndup(gc, parent, strrchr(parent, '/') - parent);
    for (;;) {
        rc = libxl__xs_transaction_start(gc, &t);
        if (rc) goto out;

        if (dir) {
            rc = libxl__xs_rm_checked(gc, t, dir);
            if (rc) goto out;
            left = libxl__xs_directory(gc, t, parent, &n);
            if (left && !n) {
                rc = libxl__xs_rm_checked(gc, t, parent);
                if (rc) goto out;
            }
        }
        rc = libxl__xs_rm_checked(gc, t, libxl__ims_toolstack_path(gc, pci));
        if (rc) goto out;

        rc = libxl__xs_transaction_commit(gc, &t);
        if (!rc) break;
        if (rc < 0) goto out;
    }

 out:
    libxl__xs_transaction_abort(gc, &t);
    return rc;
}

int libxl__ims_xs_remove(libxl__gc *gc, uint32_t domid,
                         const libxl_device_pci *pci)
{
    libxl_pci_ims_policy policy;
    uint32_t vdevfn, guest = domid;

    /*
     * A guest whose device model runs in a stub domain has no PCI backend:
     * its devices leave libxl's records with the stub domain's, and the
     * entries to remove are the guest's.
     */
    libxl_is_stubdom(CTX, domid, &guest);

    /* The slot is the attach's own (the backend's record), not the
     * caller's, which is 0 for a device named by its BDF alone. */
    if (!libxl__ims_attached_device(gc, domid, pci, &policy, &vdevfn)) {
        LOGD(DEBUG, domid, "PCI device "PCI_BDF": not in the "
             "backend; only its IMS record is removed", pci->domain,
             pci->bus, pci->dev, pci->func);
        return xs_remove_dir(gc, guest, pci, NULL);
    }
    return xs_remove_dir(gc, guest, pci,
                         libxl__ims_export_path(gc, guest, vdevfn));
}

void libxl__ims_attach_init(libxl__ims_attach_state *ims)
{
    memset(ims, 0, sizeof(*ims));
    libxl_pci_ims_plan_init(&ims->plan);
    libxl__ev_qmp_init(&ims->qmp);
}

static void attach_probed(libxl__egc *egc, libxl__ev_qmp *qmp,
                          const libxl__json_object *response, int rc);
static void attach_decided(libxl__egc *egc, libxl__ims_attach_state *ims);

static void attach_slot_cb(libxl__egc *egc, libxl__ev_qmp *qmp,
                           const libxl__json_object *response, int rc);
static void attach_write(libxl__egc *egc, libxl__ims_attach_state *ims);

static void attach_done(libxl__egc *egc, libxl__ims_attach_state *ims,
                        int rc);

uint32_t libxl__ims_assign_flags(const libxl__ims_attach_state *ims)
{
    libxl__ims_xen_action xen;

    libxl__ims_plan_xen_action(&ims->plan, &xen);
    return xen.assign_flags;
}

/*
 * The facts known without the device model, and the plan they make.
 * Policy off costs nothing: no identity, no database, no probe.
 */
static int attach_plan(libxl__gc *gc, libxl__ims_attach_state *ims)
{
    libxl_pci_ims_plan *plan = &ims->plan;
    libxl__ims_request *rq = &ims->rq;
    int rc;

    libxl__ims_env_read(gc, &ims->env, true);
    rq->env = &ims->env;
    rq->pci = ims->pci;
    rq->policy = libxl__ims_effective_policy(ims->pci->ims_policy);
    rq->domid = ims->domid;
    rq->ask_xen = true;
    rq->at_attach = true;

    plan->bdf = libxl__sprintf(NOGC, PCI_BDF, ims->pci->domain,
                               ims->pci->bus, ims->pci->dev, ims->pci->func);
    ims->dm_domid = libxl_get_stubdom_id(CTX, ims->domid);
    plan->facts.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    plan->facts.stubdomain = ims->dm_domid != 0;
    plan->facts.hv_remap = LIBXL_PCI_IMS_SUPPORT_UNKNOWN;

    if (rq->policy != LIBXL_PCI_IMS_POLICY_OFF) {
        rc = libxl__ims_plan_gather(gc, rq, plan);
        if (rc) return rc;
        if (rq->policy != LIBXL_PCI_IMS_POLICY_OFF)
            libxl__ims_guest_msi(gc, ims->domid, true, &plan->facts);
    }
    libxl__ims_plan_decide(gc, rq, plan);
    return 0;
}

void libxl__ims_attach_prepare(libxl__egc *egc, libxl__ims_attach_state *ims)
{
    STATE_AO_GC(ims->ao);
    libxl_pci_ims_plan *plan = &ims->plan;
    const char *cached;
    libxl__json_object *args = NULL;
    int rc;

    rc = attach_plan(gc, ims);
    if (rc) goto out;
    if (!libxl__ims_plan_needs_dm(plan)) {
        attach_decided(egc, ims);
        return;
    }

    /*
     * Ask the device model whether it has x-ims once per device model:
     * QMP costs a round trip, and the answer cannot change while it runs.
     */
    rc = libxl__xs_read_checked(gc, XBT_NULL,
                                libxl__ims_dm_cache_path(gc, ims->domid),
                                &cached);
    if (rc) goto out;
    if (cached && !libxl_pci_ims_support_from_string(cached,
                                                    &plan->facts.qemu_ims)) {
        plan->facts.qemu_ims_source = libxl__sprintf(NOGC,
            "QMP device-list-properties of domain %u's device model "
            "(cached)", ims->domid);
        libxl__ims_plan_decide(gc, &ims->rq, plan);
        attach_decided(egc, ims);
        return;
    }

    libxl__qmp_param_add_string(gc, &args, "typename", "xen-pci-passthrough");
    ims->qmp.ao = ims->ao;
    ims->qmp.domid = ims->domid;
    ims->qmp.payload_fd = -1;
    ims->qmp.callback = attach_probed;
    rc = libxl__ev_qmp_send(egc, &ims->qmp, "device-list-properties", args);
    if (rc) goto out;
    return;

 out:
    attach_done(egc, ims, rc);
}

static void attach_probed(libxl__egc *egc, libxl__ev_qmp *qmp,
                          const libxl__json_object *response, int rc)
{
    EGC_GC;
    libxl__ims_attach_state *ims = CONTAINER_OF(qmp, *ims, qmp);
    libxl_pci_ims_facts *f = &ims->plan.facts;

    libxl__ev_qmp_dispose(gc, qmp);
    f->qemu_ims = rc ? LIBXL_PCI_IMS_SUPPORT_UNKNOWN
                     : libxl__ims_qmp_x_ims_support(response);
    if (f->qemu_ims == LIBXL_PCI_IMS_SUPPORT_UNKNOWN) {
        /* At attach, a device model that cannot say has no x-ims. */
        f->qemu_ims = LIBXL_PCI_IMS_SUPPORT_NO;
        f->qemu_ims_source = libxl__sprintf(NOGC,
            "QMP device-list-properties of domain %u's device model "
            "failed (rc %d)", ims->domid, rc);
    } else {
        f->qemu_ims_source = libxl__sprintf(NOGC,
            "QMP device-list-properties of domain %u's device model",
            ims->domid);
        /* Cached once the attach goes ahead: a refusal leaves no trace. */
        ims->dm_answered = true;
    }
    libxl__ims_plan_decide(gc, &ims->rq, &ims->plan);
    attach_decided(egc, ims);
}

static void attach_decided(libxl__egc *egc, libxl__ims_attach_state *ims)
{
    STATE_AO_GC(ims->ao);
    libxl_pci_ims_plan *plan = &ims->plan;
    int rc;

    switch (plan->outcome) {
    case LIBXL_PCI_IMS_OUTCOME_REFUSED:
        LOGD(ERROR, ims->domid, "PCI device %s: IMS strategy %s refused: %s",
             plan->bdf, libxl_pci_ims_strategy_to_string(plan->strategy),
             plan->reason);
        rc = ERROR_FAIL;
        goto out;
    case LIBXL_PCI_IMS_OUTCOME_DEGRADED:
        LOGD(WARN, ims->domid, "PCI device %s: %s", plan->bdf,
             plan->warning);
        break;
    case LIBXL_PCI_IMS_OUTCOME_NONE:
        LOGD(DEBUG, ims->domid, "PCI device %s: %s", plan->bdf,
             plan->reason);
        break;
    default:
        if (plan->warning)
            LOGD(WARN, ims->domid, "PCI device %s: %s", plan->bdf,
                 plan->warning);
        LOGD(INFO, ims->domid, "PCI device %s: IMS strategy %s: %s",
             plan->bdf, libxl_pci_ims_strategy_to_string(plan->strategy),
             plan->reason);
        break;
    }

    /* Export names its xenstore directory after the guest's slot, which
     * QEMU must therefore be given rather than choose itself. */
    if (plan->applied == LIBXL_PCI_IMS_STRATEGY_EXPORT && !ims->pci->vdevfn) {
        ims->qmp.ao = ims->ao;
        ims->qmp.domid = ims->domid;
        ims->qmp.payload_fd = -1;
        ims->qmp.callback = attach_slot_cb;
        rc = libxl__ev_qmp_send(egc, &ims->qmp, "query-pci", NULL);
        if (rc) goto out;
        return;
    }
    attach_write(egc, ims);
    return;

 out:
    attach_done(egc, ims, rc);
}

static void attach_slot_cb(libxl__egc *egc, libxl__ev_qmp *qmp,
                           const libxl__json_object *response, int rc)
{
    EGC_GC;
    libxl__ims_attach_state *ims = CONTAINER_OF(qmp, *ims, qmp);
    int slot;

    libxl__ev_qmp_dispose(gc, qmp);
    if (rc) goto out;
    slot = libxl__ims_free_slot(response);
    if (slot < 0) {
        LOGD(ERROR, ims->domid, "PCI device %s: no free slot for it in the "
             "guest (QMP query-pci)", ims->plan.bdf);
        rc = ERROR_FAIL;
        goto out;
    }
    ims->pci->vdevfn = PCI_DEVFN(slot, 0);
    attach_write(egc, ims);
    return;

 out:
    attach_done(egc, ims, rc);
}

static void attach_write(libxl__egc *egc, libxl__ims_attach_state *ims)
{
    STATE_AO_GC(ims->ao);
    int rc;

    libxl__ims_plan_sinks(gc, &ims->plan, ims->pci, ims->domid,
                          ims->dm_domid, ims->pci->vdevfn);
    rc = libxl__ims_xs_write(gc, ims->domid, &ims->plan, ims->pci);
    if (rc) goto out;
    ims->written = ims->plan.num_xenstore > 0;
    if (ims->dm_answered) {
        rc = libxl__xs_write_checked(gc, XBT_NULL,
                 libxl__ims_dm_cache_path(gc, ims->domid),
                 libxl_pci_ims_support_to_string(ims->plan.facts.qemu_ims));
        if (rc) goto out;
        ims->dm_cached = true;
    }

 out:
    attach_done(egc, ims, rc);
}

static void attach_done(libxl__egc *egc, libxl__ims_attach_state *ims,
                        int rc)
{
    EGC_GC;

    libxl__ev_qmp_dispose(gc, &ims->qmp);
    ims->callback(egc, ims, rc);
}

void libxl__ims_attach_qmp_args(libxl__gc *gc,
                                const libxl__ims_attach_state *ims,
                                libxl__json_object **args)
{
    libxl_key_value_list kvl = ims->plan.qemu_props;

    for (int i = 0; kvl && kvl[i]; i += 2)
        libxl__qmp_param_add_string(gc, args, kvl[i], kvl[i + 1]);
}

void libxl__ims_attach_undo(libxl__gc *gc, libxl__ims_attach_state *ims)
{
    if (ims->dm_cached &&
        libxl__xs_rm_checked(gc, XBT_NULL,
                             libxl__ims_dm_cache_path(gc, ims->domid)))
        LOGD(ERROR, ims->domid, "could not remove %s",
             libxl__ims_dm_cache_path(gc, ims->domid));
    ims->dm_cached = false;
    if (!ims->written)
        return;
    /* Only what this attach wrote: its own export directory, if any. */
    if (xs_remove_dir(gc, ims->domid, ims->pci,
                      plan_export_dir(gc, &ims->plan)))
        LOGD(ERROR, ims->domid, "PCI device %s: could not remove its IMS "
             "xenstore entries", ims->plan.bdf);
    ims->written = false;
}

void libxl__ims_attach_dispose(libxl__gc *gc, libxl__ims_attach_state *ims)
{
    libxl__ev_qmp_dispose(gc, &ims->qmp);
    libxl_pci_ims_plan_dispose(&ims->plan);
    libxl_pci_ims_plan_init(&ims->plan);
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
