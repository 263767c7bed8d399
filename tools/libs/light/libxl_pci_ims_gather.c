/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS-like PCI devices: the facts only Xen knows (whether it accepts the
 * remap flag for a device, whether a guest's MSIs carry a vector), and
 * the choice of hvm_pirq at domain creation.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

void libxl__ims_probe_hv_remap(libxl__gc *gc, uint32_t domid,
                               const libxl_device_pci *pci, bool at_attach,
                               libxl_pci_ims_facts *f)
{
    const char *why;
#ifdef XEN_DOMCTL_DEV_IMS_REMAP
    uint32_t sbdf = (uint32_t)pci->domain << 16 | pci->bus << 8 |
                    PCI_DEVFN(pci->dev, pci->func);
#endif

    free(f->hv_remap_source);
    f->hv_remap_source = NULL;
    f->hv_remap = LIBXL_PCI_IMS_SUPPORT_UNKNOWN;
#ifdef XEN_DOMCTL_DEV_IMS_REMAP
    if (!CTX->xch) {
        why = "Xen is not running here";
    } else if (xc_test_assign_device_flags(CTX->xch, domid, sbdf, 0)) {
        /* Not assignable as it is: Xen's answer to the flag says nothing. */
        why = GCSPRINTF("the device cannot be assigned now (%s)",
                        strerror(errno));
    } else if (!xc_test_assign_device_flags(CTX->xch, domid, sbdf,
                                            XEN_DOMCTL_DEV_IMS_REMAP)) {
        f->hv_remap = LIBXL_PCI_IMS_SUPPORT_YES;
        why = "Xen accepts XEN_DOMCTL_DEV_IMS_REMAP for this device "
              "(test_assign_device)";
    } else if (errno == EINVAL) {
        f->hv_remap = LIBXL_PCI_IMS_SUPPORT_NO;
        why = "this hypervisor lacks IMS remap support (test_assign_device "
              "refused XEN_DOMCTL_DEV_IMS_REMAP with EINVAL)";
    } else if (errno == EOPNOTSUPP) {
        f->hv_remap = LIBXL_PCI_IMS_SUPPORT_NO;
        why = "Xen cannot remap this device's interrupts (EOPNOTSUPP: "
              "it needs an AMD IOMMU with interrupt remapping and an HVM "
              "guest; see Xen's log)";
    } else {
        why = GCSPRINTF("test_assign_device with XEN_DOMCTL_DEV_IMS_REMAP "
                        "failed: %s", strerror(errno));
    }
#else
    f->hv_remap = LIBXL_PCI_IMS_SUPPORT_NO;
    why = "this libxl was built without XEN_DOMCTL_DEV_IMS_REMAP";
#endif
    if (at_attach && f->hv_remap == LIBXL_PCI_IMS_SUPPORT_UNKNOWN) {
        /* At attach, a hypervisor that cannot say counts as without. */
        f->hv_remap = LIBXL_PCI_IMS_SUPPORT_NO;
    }
    f->hv_remap_source = libxl__strdup(NOGC, why);
}

/*
 * Whether the MSIs of domid's passed-through devices carry a vector: not
 * when Xen gives the domain HVM pirqs (XEN_X86_EMU_USE_PIRQ), as a Linux
 * guest then binds them to event channels.  at_attach: a domain Xen
 * cannot tell us about counts as one with pirqs.
 */
void libxl__ims_guest_msi(libxl__gc *gc, uint32_t domid, bool at_attach,
                          libxl_pci_ims_facts *f)
{
    xc_domaininfo_t info;
    int r;

    free(f->guest_msi_source);
    f->guest_msi_source = NULL;
    f->guest_msi = LIBXL_PCI_IMS_GUEST_MSI_UNKNOWN;
    r = CTX->xch ? xc_domain_getinfolist(CTX->xch, domid, 1, &info) : -1;
    if (r != 1 || info.domain != domid) {
        f->guest_msi_source = libxl__sprintf(NOGC, "Xen could not say "
            "whether domain %u has HVM pirqs", domid);
        if (at_attach)
            f->guest_msi = LIBXL_PCI_IMS_GUEST_MSI_EVENT_CHANNEL;
        return;
    }
#if defined(__i386__) || defined(__x86_64__)
    if (info.arch_config.emulation_flags & XEN_X86_EMU_USE_PIRQ) {
        f->guest_msi = LIBXL_PCI_IMS_GUEST_MSI_EVENT_CHANNEL;
        f->guest_msi_source = libxl__sprintf(NOGC, "domain %u has HVM "
            "pirqs (XEN_X86_EMU_USE_PIRQ)", domid);
        return;
    }
#endif
    f->guest_msi = LIBXL_PCI_IMS_GUEST_MSI_VECTOR;
    f->guest_msi_source = libxl__sprintf(NOGC, "domain %u has no HVM "
        "pirqs: its MSIs carry vectors", domid);
}

/* A domain yet to be created with the device in its config. */
void libxl__ims_guest_msi_new_domain(libxl_pci_ims_facts *f)
{
    free(f->guest_msi_source);
    f->guest_msi = LIBXL_PCI_IMS_GUEST_MSI_VECTOR;
    f->guest_msi_source = strdup("a new domain with the device in its "
        "config: libxl creates it without HVM pirqs when the plan is "
        "remap, unless hvm_pirq is set");
}

/*
 * Whether @pci is attached to @domid and, if so, the policy it was attached
 * with and its slot in the guest.
 */
bool libxl__ims_attached_device(libxl__gc *gc, uint32_t domid,
                                const libxl_device_pci *pci,
                                libxl_pci_ims_policy *policy, uint32_t *vdevfn)
{
    libxl_device_pci *list;
    bool attached = false;
    uint32_t stubdomid = libxl_get_stubdom_id(CTX, domid);
    int n = 0;

    /* A stub domain's backend is the only record of its guest's devices. */
    list = libxl_device_pci_list(CTX, stubdomid ? stubdomid : domid, &n);
    for (int i = 0; i < n; i++) {
        if (COMPARE_PCI(&list[i], pci)) {
            *policy = list[i].ims_policy;
            *vdevfn = list[i].vdevfn;
            attached = true;
        }
    }
    libxl_device_pci_list_free(list, n);
    return attached;
}

const char *libxl__ims_dm_cache_path(libxl__gc *gc, uint32_t domid)
{
    return GCSPRINTF("%s/ims-dm-x-ims", libxl__xs_libxl_path(gc, domid));
}

/*
 * Xen answers the remap probe only for an assignable device; for one
 * attached, the attach's record says what Xen answered then: remap
 * applied is a yes, and another strategy recorded by an attach that
 * needed Xen's answer is a no (an answer Xen could not give counts as no
 * at attach).
 */
static void remap_recorded_at_attach(libxl__gc *gc,
                                     const libxl_device_pci *pci,
                                     libxl_pci_ims_facts *f)
{
    const char *path = libxl__ims_toolstack_path(gc, pci);
    const char *recorded = libxl__xs_read(gc, XBT_NULL, path);

    if (!recorded)
        return;
    free(f->hv_remap_source);
    if (!strcmp(recorded, "remap")) {
        f->hv_remap = LIBXL_PCI_IMS_SUPPORT_YES;
        f->hv_remap_source = libxl__sprintf(NOGC, "Xen accepted "
            "XEN_DOMCTL_DEV_IMS_REMAP at attach (%s = \"remap\")", path);
    } else {
        f->hv_remap = LIBXL_PCI_IMS_SUPPORT_NO;
        f->hv_remap_source = libxl__sprintf(NOGC, "remap was not taken "
            "at attach (%s = \"%s\")", path, recorded);
    }
}

int libxl__ims_plan_gather(libxl__gc *gc, libxl__ims_request *rq,
                           libxl_pci_ims_plan *plan)
{
    int rc;

    rc = libxl__ims_pci_identity_env(gc, rq->env, rq->pci, &plan->identity);
    if (rc) {
        if (!rq->at_attach || rq->policy != LIBXL_PCI_IMS_POLICY_AUTO)
            return rc;
        /* A device libpci cannot read is no IMS device we know. */
        LOGD(WARN, rq->domid, "%s: cannot read its identity, so no IMS "
            "handling (policy auto)", plan->bdf);
        rq->policy = LIBXL_PCI_IMS_POLICY_OFF;
        return 0;
    }
    rq->entry = libxl__ims_lookup_device_env(gc, rq->env, &plan->identity,
                                             &rq->db_error);
    return libxl__ims_host_facts_env(gc, rq->env, &plan->facts);
}

void libxl__ims_plan_decide(libxl__gc *gc, const libxl__ims_request *rq,
                            libxl_pci_ims_plan *plan)
{
    libxl_pci_ims_facts *f = &plan->facts;

    libxl__ims_decide(gc, rq->policy, rq->entry, rq->db_error, f, plan);
    if (!libxl__ims_plan_needs_hv(plan) || !rq->ask_xen)
        return;
    /* Asked before the device model holds the device: auto can still
     * take the next candidate. */
    libxl__ims_probe_hv_remap(gc, rq->domid, rq->pci, rq->at_attach, f);
    if (rq->attached && f->hv_remap == LIBXL_PCI_IMS_SUPPORT_UNKNOWN)
        remap_recorded_at_attach(gc, rq->pci, f);
    libxl__ims_decide(gc, rq->policy, rq->entry, rq->db_error, f, plan);
}

/*
 * The plan a device in a new domain's config would get, for
 * libxl__ims_choose_hvm_pirq, with the guest's MSIs as a new domain's.
 */
static libxl_pci_ims_strategy new_domain_strategy(libxl__gc *gc,
    const libxl__ims_env *env, libxl_device_pci *pci)
{
    libxl__ims_request rq = {
        .env = env, .pci = pci, .domid = DOMID_INVALID,
        .policy = libxl__ims_effective_policy(pci->ims_policy),
        .ask_xen = true,
    };
    libxl_pci_ims_strategy applied = LIBXL_PCI_IMS_STRATEGY_NONE;
    libxl_pci_ims_plan plan;

    libxl_pci_ims_plan_init(&plan);
    if (rq.policy == LIBXL_PCI_IMS_POLICY_OFF)
        goto out;
    /* A device that cannot be read gets none (no at_attach rule yet). */
    if (libxl__ims_plan_gather(gc, &rq, &plan))
        goto out;
    /* Creation goes on to attach it: what Xen cannot say counts as no. */
    rq.at_attach = true;
    plan.facts.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    libxl__ims_guest_msi_new_domain(&plan.facts);
    libxl__ims_plan_decide(gc, &rq, &plan);
    applied = plan.applied;
 out:
    libxl_pci_ims_plan_dispose(&plan);
    return applied;
}

void libxl__ims_choose_hvm_pirq(libxl__gc *gc, libxl_domain_config *d_config)
{
    libxl_domain_build_info *b_info = &d_config->b_info;
    libxl__ims_env env;

    if (d_config->c_info.type != LIBXL_DOMAIN_TYPE_HVM ||
        b_info->type != LIBXL_DOMAIN_TYPE_HVM ||
        !libxl_defbool_is_default(b_info->u.hvm.pirq))
        return;
    libxl__ims_env_read(gc, &env, false);
    for (int i = 0; i < d_config->num_pcidevs; i++) {
        libxl_device_pci *pci = &d_config->pcidevs[i];

        if (new_domain_strategy(gc, &env, pci) != LIBXL_PCI_IMS_STRATEGY_REMAP)
            continue;
        LOG(INFO, "PCI device "PCI_BDF" is planned as IMS remap: "
            "the domain is created without HVM pirqs (hvm_pirq=0), so that "
            "the guest's MSIs carry vectors Xen can remap", pci->domain,
            pci->bus, pci->dev, pci->func);
        libxl_defbool_set(&b_info->u.hvm.pirq, false);
        return;
    }
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
