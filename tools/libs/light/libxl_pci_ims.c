/*
 * IMS-like PCI devices: facts -> plan (pure), plan -> QEMU, xenstore and
 * Xen (thin I/O edges).  See libxl_ims.h and xl-pci-ims(5).
 *
 * Copyright (C) 2026 xen-pci-ims developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU Lesser General Public License as published
 * by the Free Software Foundation; version 2.1 only. with the special
 * exception on linking described in file LICENSE.
 *
 * This program is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
 * GNU Lesser General Public License for more details.
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

/*----- the decision (pure) -----*/

static const char *policy_name(libxl_pci_ims_policy p)
{
    return libxl_pci_ims_policy_to_string(p);
}

static const char *strategy_name(libxl_pci_ims_strategy s)
{
    return libxl_pci_ims_strategy_to_string(s);
}

static bool policy_is_forced(libxl_pci_ims_policy p)
{
    return p == LIBXL_PCI_IMS_POLICY_EXPOSE ||
           p == LIBXL_PCI_IMS_POLICY_EXPORT ||
           p == LIBXL_PCI_IMS_POLICY_REMAP;
}

static libxl_pci_ims_strategy forced_strategy(libxl_pci_ims_policy p)
{
    switch (p) {
    case LIBXL_PCI_IMS_POLICY_EXPOSE: return LIBXL_PCI_IMS_STRATEGY_EXPOSE;
    case LIBXL_PCI_IMS_POLICY_EXPORT: return LIBXL_PCI_IMS_STRATEGY_EXPORT;
    case LIBXL_PCI_IMS_POLICY_REMAP:  return LIBXL_PCI_IMS_STRATEGY_REMAP;
    default:                          return LIBXL_PCI_IMS_STRATEGY_NONE;
    }
}

static const char *intremap_words(const libxl_pci_ims_facts *f)
{
    switch (f->intremap) {
    case LIBXL_PCI_IMS_INTREMAP_ON:  return "on";
    case LIBXL_PCI_IMS_INTREMAP_OFF: return "off";
    default:                         return "not known to be on";
    }
}

static const char *source_of(const char *s)
{
    return s && *s ? s : "no evidence";
}

/* The decision being built: the plan fields decide() owns, as plain C. */
typedef struct {
    libxl_pci_ims_strategy strategy;
    libxl_pci_ims_outcome outcome;
    libxl_pci_ims_strategy applied;
    char reason[1024];
    char warning[1024];
} decision;

static void say(char *buf, const char *fmt, ...) PRINTF_ATTRIBUTE(2, 3);
static void say(char *buf, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used >= 1023) return;
    if (used) {
        buf[used++] = ' ';
        buf[used] = '\0';
    }
    va_start(ap, fmt);
    vsnprintf(buf + used, 1024 - used, fmt, ap);
    va_end(ap);
}

static void finish(decision *d, libxl_pci_ims_strategy strategy,
                   libxl_pci_ims_outcome outcome)
{
    d->strategy = strategy;
    d->outcome = outcome;
    d->applied = outcome == LIBXL_PCI_IMS_OUTCOME_APPLIED ? strategy
                                           : LIBXL_PCI_IMS_STRATEGY_NONE;
}

/*
 * Rules 5 and 7 for one candidate: returns the strategy that survives its
 * prerequisites, or NONE with d->outcome = REFUSED.  auto degrades
 * remap -> expose -> export; strict and forced policies refuse.
 */
static libxl_pci_ims_strategy check_prerequisites(
    libxl_pci_ims_policy policy, libxl_pci_ims_strategy cand,
    const libxl_pci_ims_facts *f, decision *d)
{
    bool may_degrade = policy == LIBXL_PCI_IMS_POLICY_AUTO;

    if (cand == LIBXL_PCI_IMS_STRATEGY_REMAP) {
        const char *missing = NULL;

        if (f->iommu != LIBXL_PCI_IMS_IOMMU_AMD)
            missing = "remap needs an AMD IOMMU";
        else if (f->intremap != LIBXL_PCI_IMS_INTREMAP_ON)
            missing = "remap needs interrupt remapping";
        else if (f->hv_remap == LIBXL_PCI_IMS_SUPPORT_NO)
            missing = "this hypervisor lacks IMS remap support "
                      "(XEN_DOMCTL_DEV_IMS_REMAP)";
        if (!missing)
            return cand;
        if (!may_degrade) {
            say(d->reason, "%s (IOMMU %s from %s, interrupt remapping %s "
                "from %s): refused under policy %s.", missing,
                libxl_pci_ims_iommu_to_string(f->iommu),
                source_of(f->iommu_source), intremap_words(f),
                source_of(f->intremap_source), policy_name(policy));
            d->outcome = LIBXL_PCI_IMS_OUTCOME_REFUSED;
            return LIBXL_PCI_IMS_STRATEGY_NONE;
        }
        say(d->warning, "%s; falling back to expose.", missing);
        cand = LIBXL_PCI_IMS_STRATEGY_EXPOSE;
    }

    if (cand == LIBXL_PCI_IMS_STRATEGY_EXPOSE &&
        f->intremap != LIBXL_PCI_IMS_INTREMAP_ON) {
        if (!may_degrade) {
            say(d->reason, "expose needs interrupt remapping, which is %s "
                "(%s): refused under policy %s. Enable interrupt remapping "
                "(remove iommu=no-intremap from Xen's command line; check "
                "the firmware's IOMMU settings) and record the host facts "
                "again (xl pci-ims-facts --record).", intremap_words(f),
                source_of(f->intremap_source), policy_name(policy));
            d->outcome = LIBXL_PCI_IMS_OUTCOME_REFUSED;
            return LIBXL_PCI_IMS_STRATEGY_NONE;
        }
        say(d->warning, "expose needs interrupt remapping, which is %s "
            "(%s); falling back to export, which needs the guest driver "
            "to use the exported values.", intremap_words(f),
            source_of(f->intremap_source));
        cand = LIBXL_PCI_IMS_STRATEGY_EXPORT;
    }
    return cand;
}

void libxl__ims_decide(libxl__gc *gc, libxl_pci_ims_policy policy,
                       const libxl_pci_ims_db_entry *entry,
                       const libxl_pci_ims_facts *f,
                       libxl_pci_ims_plan *plan)
{
    decision d;
    libxl_pci_ims_strategy cand;

    assert(policy != LIBXL_PCI_IMS_POLICY_DEFAULT);
    memset(&d, 0, sizeof(d));

    /* Rule 1 */
    if (policy == LIBXL_PCI_IMS_POLICY_OFF) {
        say(d.reason, "Policy off: the device is passed through as usual.");
        finish(&d, LIBXL_PCI_IMS_STRATEGY_NONE, LIBXL_PCI_IMS_OUTCOME_NONE);
        goto out;
    }

    /* Rule 2 */
    if (f->guest_type == LIBXL_DOMAIN_TYPE_PV) {
        say(d.reason, "PV guest: pciback already shows the guest the MSI "
            "values Xen programmed, so nothing is needed.");
        finish(&d, LIBXL_PCI_IMS_STRATEGY_NONE, LIBXL_PCI_IMS_OUTCOME_NONE);
        goto out;
    }
    if (f->guest_type == LIBXL_DOMAIN_TYPE_PVH) {
        say(d.reason, "PVH guest: there is no device model to carry out a "
            "strategy.");
        finish(&d, LIBXL_PCI_IMS_STRATEGY_NONE, LIBXL_PCI_IMS_OUTCOME_NONE);
        goto out;
    }

    /* Rules 3 and 4 */
    if (policy_is_forced(policy)) {
        cand = forced_strategy(policy);
        say(d.reason, "Policy %s forces %s.", policy_name(policy),
            strategy_name(cand));
    } else if (!entry) {
        say(d.reason, "The device is not in the IMS database: nothing "
            "to do.");
        finish(&d, LIBXL_PCI_IMS_STRATEGY_NONE, LIBXL_PCI_IMS_OUTCOME_NONE);
        goto out;
    } else if (f->iommu == LIBXL_PCI_IMS_IOMMU_AMD) {
        cand = entry->amd;
        say(d.reason, "Database %s:%d says amd=%s.", entry->file,
            entry->line, strategy_name(cand));
    } else if (f->iommu == LIBXL_PCI_IMS_IOMMU_INTEL) {
        cand = entry->intel;
        say(d.reason, "Database %s:%d says intel=%s.", entry->file,
            entry->line, strategy_name(cand));
    } else if (entry->amd == LIBXL_PCI_IMS_STRATEGY_NONE &&
               entry->intel == LIBXL_PCI_IMS_STRATEGY_NONE) {
        cand = LIBXL_PCI_IMS_STRATEGY_NONE;
        say(d.reason, "Database %s:%d says none for both IOMMU vendors.",
            entry->file, entry->line);
    } else {
        cand = LIBXL_PCI_IMS_STRATEGY_EXPORT;
        say(d.reason, "Database %s:%d matches; the IOMMU vendor is unknown "
            "(%s), so export.", entry->file, entry->line,
            source_of(f->iommu_source));
    }
    if (cand == LIBXL_PCI_IMS_STRATEGY_NONE) {
        finish(&d, LIBXL_PCI_IMS_STRATEGY_NONE, LIBXL_PCI_IMS_OUTCOME_NONE);
        goto out;
    }

    /* Rules 5 and 7 */
    d.outcome = LIBXL_PCI_IMS_OUTCOME_NONE;
    {
        libxl_pci_ims_strategy first = cand;

        cand = check_prerequisites(policy, cand, f, &d);
        if (d.outcome == LIBXL_PCI_IMS_OUTCOME_REFUSED) {
            finish(&d, first, LIBXL_PCI_IMS_OUTCOME_REFUSED);
            goto out;
        }
    }

    if (cand == LIBXL_PCI_IMS_STRATEGY_REMAP) {
        /* Known only when Xen accepts (or refuses) the assignment flag. */
        if (f->hv_remap == LIBXL_PCI_IMS_SUPPORT_YES) {
            say(d.reason, "Xen remaps the guest's vectors for this device "
                "(AMD IOMMU, interrupt remapping on).");
            finish(&d, cand, LIBXL_PCI_IMS_OUTCOME_APPLIED);
        } else {
            say(d.reason, "Whether Xen supports IMS remap is known only at "
                "assignment.");
            finish(&d, cand, LIBXL_PCI_IMS_OUTCOME_PENDING);
        }
        goto out;
    }

    /* Rule 6: expose and export are carried out by the device model. */
    switch (f->qemu_ims) {
    case LIBXL_PCI_IMS_SUPPORT_YES:
        say(d.reason, "The device model supports x-ims: %s.",
            cand == LIBXL_PCI_IMS_STRATEGY_EXPOSE
            ? "the guest reads the physical MSI address/data"
            : "the physical MSI address/data are published in xenstore");
        finish(&d, cand, LIBXL_PCI_IMS_OUTCOME_APPLIED);
        break;
    case LIBXL_PCI_IMS_SUPPORT_NO:
        if (policy == LIBXL_PCI_IMS_POLICY_AUTO) {
            say(d.warning, "The device model (%s) has no x-ims property, so "
                "%s cannot be carried out and the device will get no "
                "interrupts in this guest; install a device model with the "
                "xen-pci-ims QEMU patches (or point device_model_override "
                "at one).", source_of(f->qemu_ims_source),
                strategy_name(cand));
            finish(&d, cand, LIBXL_PCI_IMS_OUTCOME_DEGRADED);
        } else {
            say(d.reason, "The device model (%s) has no x-ims property: "
                "refused under policy %s; install a device model with the "
                "xen-pci-ims QEMU patches.",
                source_of(f->qemu_ims_source), policy_name(policy));
            finish(&d, cand, LIBXL_PCI_IMS_OUTCOME_REFUSED);
        }
        break;
    default:
        say(d.reason, "Whether the device model supports x-ims is not known "
            "(%s).", source_of(f->qemu_ims_source));
        finish(&d, cand, LIBXL_PCI_IMS_OUTCOME_PENDING);
        break;
    }

 out:
    plan->policy = policy;
    plan->strategy = d.strategy;
    plan->outcome = d.outcome;
    plan->applied = d.applied;
    free(plan->reason);
    plan->reason = libxl__strdup(NOGC, d.reason);
    free(plan->warning);
    plan->warning = d.warning[0] ? libxl__strdup(NOGC, d.warning) : NULL;

    libxl_pci_ims_match_dispose(&plan->match);
    libxl_pci_ims_match_init(&plan->match);
    if (entry) {
        plan->match.matched = true;
        plan->match.file = libxl__strdup(NOGC, entry->file);
        plan->match.line = entry->line;
        plan->match.name = entry->name ? libxl__strdup(NOGC, entry->name)
                                       : NULL;
        plan->match.amd = entry->amd;
        plan->match.intel = entry->intel;
    }
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
