/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS-like PCI devices: the plan, pure.  The decision from the facts,
 * and from a decided plan what the sinks get: QEMU's properties, the
 * xenstore entries and the flag for Xen.  Nothing here does I/O, so it
 * can be tested exhaustively.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

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

/* One candidate as decide() judges it, as plain C. */
typedef struct {
    libxl_pci_ims_strategy strategy;
    libxl_pci_ims_verdict verdict;
    char why[1024];
} judged;

/* The candidates: the forced strategy, else the entry's list for the
 * host's IOMMU vendor; export when the vendor is unknown. */
static int candidates_of(libxl_pci_ims_policy policy,
                         const libxl_pci_ims_db_entry *e,
                         const libxl_pci_ims_facts *f,
                         judged *c, char *reason)
{
    const libxl_pci_ims_strategy *list = NULL;
    const char *vendor = NULL;
    int n = 0;

    if (policy_is_forced(policy)) {
        c[0].strategy = forced_strategy(policy);
        say(reason, "Policy %s forces %s.", policy_name(policy),
            strategy_name(c[0].strategy));
        return 1;
    }
    switch (f->iommu) {
    case LIBXL_PCI_IMS_IOMMU_AMD:
        list = e->amd; n = e->num_amd; vendor = "amd";
        break;
    case LIBXL_PCI_IMS_IOMMU_INTEL:
        list = e->intel; n = e->num_intel; vendor = "intel";
        break;
    default:
        break;
    }
    if (vendor) {
        char said[64] = "";

        for (int i = 0; i < n && i < 3; i++) {
            c[i].strategy = list[i];
            snprintf(said + strlen(said), sizeof(said) - strlen(said),
                     "%s%s", i ? "|" : "", strategy_name(list[i]));
        }
        say(reason, "Database %s:%d says %s=%s.", e->file, e->line, vendor,
            said);
        n = n > 3 ? 3 : n;
        return n == 1 && c[0].strategy == LIBXL_PCI_IMS_STRATEGY_NONE ? 0
                                                                      : n;
    }
    if (e->num_amd == 1 && e->amd[0] == LIBXL_PCI_IMS_STRATEGY_NONE &&
        e->num_intel == 1 && e->intel[0] == LIBXL_PCI_IMS_STRATEGY_NONE) {
        say(reason, "Database %s:%d says none for both IOMMU vendors.",
            e->file, e->line);
        return 0;
    }
    c[0].strategy = LIBXL_PCI_IMS_STRATEGY_EXPORT;
    say(reason, "Database %s:%d matches; the IOMMU vendor is unknown (%s), "
        "so export, the one strategy that does not depend on it.", e->file,
        e->line, source_of(f->iommu_source));
    return 1;
}

/* remap: an AMD IOMMU, Xen's acceptance of the flag, guest MSIs that
 * carry a vector. */
static libxl_pci_ims_verdict judge_remap(judged *c,
                                         const libxl_pci_ims_facts *f)
{
    libxl_pci_ims_verdict verdict = LIBXL_PCI_IMS_VERDICT_USABLE;

    if (f->iommu != LIBXL_PCI_IMS_IOMMU_AMD) {
        snprintf(c->why, sizeof(c->why), "remap needs an AMD IOMMU "
                 "(IOMMU %s from %s)",
                 libxl_pci_ims_iommu_to_string(f->iommu),
                 source_of(f->iommu_source));
        return LIBXL_PCI_IMS_VERDICT_UNUSABLE;
    }
    if (f->hv_remap == LIBXL_PCI_IMS_SUPPORT_NO) {
        snprintf(c->why, sizeof(c->why), "%s", f->hv_remap_source
                 ? f->hv_remap_source
                 : "this hypervisor lacks IMS remap support "
                   "(XEN_DOMCTL_DEV_IMS_REMAP)");
        return LIBXL_PCI_IMS_VERDICT_UNUSABLE;
    }
    /* Xen's answer first: where it lacks the flag, hvm_pirq=0 is
     * no advice (such a Xen refuses it too). */
    if (f->hv_remap == LIBXL_PCI_IMS_SUPPORT_UNKNOWN) {
        snprintf(c->why, sizeof(c->why), "whether Xen accepts "
                 "XEN_DOMCTL_DEV_IMS_REMAP for this device is known "
                 "only at assignment (%s)",
                 source_of(f->hv_remap_source));
        verdict = LIBXL_PCI_IMS_VERDICT_UNKNOWN;
    } else if (f->guest_msi == LIBXL_PCI_IMS_GUEST_MSI_EVENT_CHANNEL) {
        snprintf(c->why, sizeof(c->why), "the guest's MSIs are Xen "
                 "event channels (%s), which carry no vector for Xen "
                 "to remap: create the domain with hvm_pirq=0 or with "
                 "the device in its config",
                 source_of(f->guest_msi_source));
        return LIBXL_PCI_IMS_VERDICT_UNUSABLE;
    } else if (f->guest_msi == LIBXL_PCI_IMS_GUEST_MSI_UNKNOWN) {
        snprintf(c->why, sizeof(c->why), "whether the guest's MSIs "
                 "carry a vector is not known (%s)",
                 source_of(f->guest_msi_source));
        verdict = LIBXL_PCI_IMS_VERDICT_UNKNOWN;
    } else {
        snprintf(c->why, sizeof(c->why), "Xen remaps the guest's own "
                 "MSI data to the device's interrupt (AMD IOMMU, "
                 "interrupt remapping on; %s)",
                 source_of(f->guest_msi_source));
    }
    return verdict;
}

/* expose and export: a device model with x-ims. */
static libxl_pci_ims_verdict judge_dm(judged *c, const libxl_pci_ims_facts *f)
{
    libxl_pci_ims_verdict verdict = LIBXL_PCI_IMS_VERDICT_USABLE;

    if (f->qemu_ims == LIBXL_PCI_IMS_SUPPORT_NO) {
        snprintf(c->why, sizeof(c->why), "the device model (%s) has "
                 "no x-ims property: install a device model with the "
                 "xen-pci-ims QEMU patches (or point "
                 "device_model_override at one)",
                 source_of(f->qemu_ims_source));
        return LIBXL_PCI_IMS_VERDICT_UNUSABLE;
    }
    if (f->qemu_ims == LIBXL_PCI_IMS_SUPPORT_UNKNOWN) {
        snprintf(c->why, sizeof(c->why), "whether the device model "
                 "supports x-ims is not known (%s)",
                 source_of(f->qemu_ims_source));
        verdict = LIBXL_PCI_IMS_VERDICT_UNKNOWN;
    } else if (c->strategy == LIBXL_PCI_IMS_STRATEGY_EXPOSE) {
        snprintf(c->why, sizeof(c->why), "the device model supports "
                 "x-ims: the guest reads the physical MSI address%s",
                 f->iommu == LIBXL_PCI_IMS_IOMMU_INTEL
                 ? " (with SHV cleared, so the handle alone selects "
                   "the device's interrupt) and data"
                 : " and data");
    } else {
        snprintf(c->why, sizeof(c->why), "the device model supports "
                 "x-ims: the physical MSI address/data are published "
                 "in xenstore");
    }
    return verdict;
}

/*
 * The prerequisites of one candidate.  Every strategy gives the device or
 * the guest physical interrupt values, which stay valid only while
 * interrupt remapping is on: unknown counts as off.  A fact that is only
 * not known yet (a dry run) makes the verdict unknown, never a guess.
 */
static void judge(judged *c, const libxl_pci_ims_facts *f)
{
    c->verdict = LIBXL_PCI_IMS_VERDICT_UNUSABLE;
    if (f->intremap != LIBXL_PCI_IMS_INTREMAP_ON) {
        snprintf(c->why, sizeof(c->why), "interrupt remapping is %s (%s): "
                 "enable it (remove iommu=no-intremap from Xen's command "
                 "line; check the firmware's IOMMU settings) and record "
                 "the host facts again (xl pci-ims-facts --record)",
                 intremap_words(f), source_of(f->intremap_source));
        return;
    }
    switch (c->strategy) {
    case LIBXL_PCI_IMS_STRATEGY_REMAP:
        c->verdict = judge_remap(c, f);
        break;
    case LIBXL_PCI_IMS_STRATEGY_EXPOSE:
    case LIBXL_PCI_IMS_STRATEGY_EXPORT:
        c->verdict = judge_dm(c, f);
        break;
    default:
        snprintf(c->why, sizeof(c->why), "no such strategy");
        break;
    }
}

/*
 * What the guest's driver must do for a strategy: remap serves any
 * driver; expose on VT-d serves drivers that read the address back, as
 * the interrupt handle alone selects the device's entry; expose on AMD-Vi
 * needs both values read back (AMD-Vi selects the entry by the data);
 * export needs a driver that reads the published values.
 */
static libxl_pci_ims_guest_needs guest_needs_of(libxl_pci_ims_strategy s,
                                                const libxl_pci_ims_facts *f)
{
    switch (s) {
    case LIBXL_PCI_IMS_STRATEGY_EXPOSE:
        return f->iommu == LIBXL_PCI_IMS_IOMMU_INTEL
               ? LIBXL_PCI_IMS_GUEST_NEEDS_NOTHING
               : LIBXL_PCI_IMS_GUEST_NEEDS_MSI_READBACK;
    case LIBXL_PCI_IMS_STRATEGY_EXPORT:
        return LIBXL_PCI_IMS_GUEST_NEEDS_EXPORT_READER;
    default:
        return LIBXL_PCI_IMS_GUEST_NEEDS_NOTHING;
    }
}

/* The decision being built: the plan fields decide() owns, as plain C. */
typedef struct {
    libxl_pci_ims_strategy strategy;
    libxl_pci_ims_outcome outcome;
    char reason[1024];
    char warning[1024];
    judged cand[3];
    int num_cand;
    int judged;         /* candidates judged; the rest were not tried */
} decision;

/*
 * auto walks the candidates and takes the first usable one, stopping at
 * one that depends on an unknown fact; strict and forced policies judge
 * only the first.  Fills d's strategy, outcome, reason and warning.
 */
static void walk_candidates(libxl_pci_ims_policy policy, decision *d)
{
    bool walk = policy == LIBXL_PCI_IMS_POLICY_AUTO;
    int i;

    for (i = 0; i < d->num_cand; i++) {
        judged *c = &d->cand[i];

        d->judged = i + 1;
        if (c->verdict == LIBXL_PCI_IMS_VERDICT_USABLE) {
            d->strategy = c->strategy;
            d->outcome = LIBXL_PCI_IMS_OUTCOME_APPLIED;
            say(d->reason, "%s: %s.", strategy_name(c->strategy), c->why);
            return;
        }
        if (c->verdict == LIBXL_PCI_IMS_VERDICT_UNKNOWN) {
            d->strategy = c->strategy;
            d->outcome = LIBXL_PCI_IMS_OUTCOME_PENDING;
            say(d->reason, "%s: %s.", strategy_name(c->strategy), c->why);
            return;
        }
        if (!walk) {
            d->strategy = c->strategy;
            d->outcome = LIBXL_PCI_IMS_OUTCOME_REFUSED;
            say(d->reason, "%s cannot be used: %s: refused under policy "
                "%s.", strategy_name(c->strategy), c->why,
                policy_name(policy));
            return;
        }
        say(d->warning, "%s cannot be used: %s.", strategy_name(c->strategy),
            c->why);
    }
    d->strategy = d->cand[0].strategy;
    d->outcome = LIBXL_PCI_IMS_OUTCOME_DEGRADED;
    say(d->reason, "No candidate strategy can be used here, so none is "
        "applied and the device will get no interrupts in this guest.");
}

/* The candidates as decide() judged them, into the plan (NOGC). */
static void plan_candidates(libxl__gc *gc, const decision *d,
                            libxl_pci_ims_plan *plan)
{
    int i;

    for (i = 0; i < plan->num_candidates; i++)
        libxl_pci_ims_candidate_dispose(&plan->candidates[i]);
    free(plan->candidates);
    plan->candidates = d->num_cand
        ? libxl__calloc(NOGC, d->num_cand, sizeof(*plan->candidates)) : NULL;
    plan->num_candidates = d->num_cand;
    for (i = 0; i < d->num_cand; i++) {
        libxl_pci_ims_candidate *c = &plan->candidates[i];

        libxl_pci_ims_candidate_init(c);
        c->strategy = d->cand[i].strategy;
        c->verdict = LIBXL_PCI_IMS_VERDICT_NOT_TRIED;
        if (i < d->judged) {
            c->verdict = d->cand[i].verdict;
            c->reason = libxl__strdup(NOGC, d->cand[i].why);
        }
    }
}

/* The database entry the plan was made from, into the plan (NOGC). */
static void plan_match(libxl__gc *gc, const libxl_pci_ims_db_entry *entry,
                       libxl_pci_ims_plan *plan)
{
    libxl_pci_ims_match_dispose(&plan->match);
    libxl_pci_ims_match_init(&plan->match);
    if (!entry)
        return;
    plan->match.matched = true;
    plan->match.file = libxl__strdup(NOGC, entry->file);
    plan->match.line = entry->line;
    plan->match.name = entry->name ? libxl__strdup(NOGC, entry->name)
                                   : NULL;
    plan->match.num_amd = entry->num_amd;
    plan->match.amd = libxl__calloc(NOGC, entry->num_amd + 1,
                                    sizeof(*plan->match.amd));
    memcpy(plan->match.amd, entry->amd,
           sizeof(*entry->amd) * entry->num_amd);
    plan->match.num_intel = entry->num_intel;
    plan->match.intel = libxl__calloc(NOGC, entry->num_intel + 1,
                                      sizeof(*plan->match.intel));
    memcpy(plan->match.intel, entry->intel,
           sizeof(*entry->intel) * entry->num_intel);
}

void libxl__ims_decide(libxl__gc *gc, libxl_pci_ims_policy policy,
                       const libxl_pci_ims_db_entry *entry,
                       const char *db_error,
                       const libxl_pci_ims_facts *f,
                       libxl_pci_ims_plan *plan)
{
    decision d;
    bool from_db = !policy_is_forced(policy);
    int i;

    assert(policy != LIBXL_PCI_IMS_POLICY_DEFAULT);
    memset(&d, 0, sizeof(d));
    d.outcome = LIBXL_PCI_IMS_OUTCOME_NONE;

    if (policy == LIBXL_PCI_IMS_POLICY_OFF) {
        say(d.reason, "Policy off: the device is passed through as usual.");
        goto out;
    }
    if (f->guest_type == LIBXL_DOMAIN_TYPE_PV) {
        say(d.reason, "PV guest: pciback already shows the guest the MSI "
            "values Xen programmed, so nothing is needed.");
        goto out;
    }
    if (f->guest_type == LIBXL_DOMAIN_TYPE_PVH) {
        say(d.reason, "PVH guest: there is no device model to carry out a "
            "strategy.");
        goto out;
    }
    /* A database with errors may have lost a restrictive line. */
    if (from_db && db_error) {
        if (policy == LIBXL_PCI_IMS_POLICY_STRICT) {
            d.outcome = LIBXL_PCI_IMS_OUTCOME_REFUSED;
            say(d.reason, "The IMS database has errors (%s): refused under "
                "policy strict. Fix it (xl pci-ims-db-check).", db_error);
        } else {
            say(d.reason, "The IMS database has errors (%s), so no "
                "strategy is applied from it (as policy off). Fix it (xl "
                "pci-ims-db-check).", db_error);
        }
        goto out;
    }
    if (from_db && !entry) {
        say(d.reason, "The device is not in the IMS database: nothing "
            "to do.");
        goto out;
    }

    d.num_cand = candidates_of(policy, entry, f, d.cand, d.reason);
    if (!d.num_cand)
        goto out;
    for (i = 0; i < d.num_cand; i++)
        judge(&d.cand[i], f);
    walk_candidates(policy, &d);

 out:
    plan->policy = policy;
    plan->strategy = d.strategy;
    plan->outcome = d.outcome;
    plan->applied = d.outcome == LIBXL_PCI_IMS_OUTCOME_APPLIED
                    ? d.strategy : LIBXL_PCI_IMS_STRATEGY_NONE;
    plan->guest_needs = guest_needs_of(plan->applied, f);
    free(plan->reason);
    plan->reason = libxl__strdup(NOGC, d.reason);
    free(plan->warning);
    plan->warning = d.warning[0] ? libxl__strdup(NOGC, d.warning) : NULL;

    plan_candidates(gc, &d, plan);
    plan_match(gc, entry, plan);
}

/*
 * The reply of QMP device-list-properties for xen-pci-passthrough (its
 * "return" value): yes when it lists x-ims, no when it does not, unknown
 * when the reply is not a list of properties (bad input decides nothing).
 */
libxl_pci_ims_support libxl__ims_qmp_x_ims_support(
    const libxl__json_object *props)
{
    const libxl__json_object *prop;
    int i;

    if (!libxl__json_object_is_array(props))
        return LIBXL_PCI_IMS_SUPPORT_UNKNOWN;
    for (i = 0; (prop = libxl__json_array_get(props, i)); i++) {
        const libxl__json_object *name = libxl__json_map_get("name", prop,
                                                             JSON_STRING);
        if (!name)
            return LIBXL_PCI_IMS_SUPPORT_UNKNOWN;
        if (!strcmp(libxl__json_object_get_string(name), "x-ims"))
            return LIBXL_PCI_IMS_SUPPORT_YES;
    }
    return LIBXL_PCI_IMS_SUPPORT_NO;
}

/*
 * Finds the reply with "id": "ims" in a QMP transcript (one JSON object
 * per line) and judges it.  Pure, so it is tested on real QEMU output.
 */
libxl_pci_ims_support libxl__ims_qmp_transcript_support(libxl__gc *gc,
                                                        const char *out)
{
    char *copy = libxl__strdup(gc, out), *line, *save = NULL;

    for (line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        const libxl__json_object *o = libxl__json_parse(gc, line);
        const libxl__json_object *id, *ret;

        if (!o) continue;
        id = libxl__json_map_get("id", o, JSON_STRING);
        if (!id || strcmp(libxl__json_object_get_string(id), "ims"))
            continue;
        ret = libxl__json_map_get("return", o, JSON_ANY);
        return ret ? libxl__ims_qmp_x_ims_support(ret)
                   : LIBXL_PCI_IMS_SUPPORT_UNKNOWN;
    }
    return LIBXL_PCI_IMS_SUPPORT_UNKNOWN;
}

/* xenstore-chmod notation of an acl ("n0,r5": owner first), for people. */
static char *acl_string(libxl__gc *gc, const libxl_pci_ims_xs_entry *e)
{
    static const char letter[] = { [LIBXL_PCI_IMS_XS_PERM_NONE] = 'n',
                                   [LIBXL_PCI_IMS_XS_PERM_READ] = 'r',
                                   [LIBXL_PCI_IMS_XS_PERM_WRITE] = 'w',
                                   [LIBXL_PCI_IMS_XS_PERM_BOTH] = 'b' };
    char *s = "";

    for (int i = 0; i < e->num_acl; i++)
        s = GCSPRINTF("%s%s%c%u", s, i ? "," : "", letter[e->acl[i].perm],
                      e->acl[i].domid);
    return s;
}

/*
 * An entry owned by owner (no access for the others) and, when reader is
 * not INVALID_DOMID, readable by reader.
 */
static void add_xs(libxl__gc *gc, libxl_pci_ims_plan *plan,
                   const char *path, const char *value,
                   uint32_t owner, uint32_t reader)
{
    libxl_pci_ims_xs_entry *e;

    plan->xenstore = libxl__realloc(NOGC, plan->xenstore,
                                    sizeof(*e) * (plan->num_xenstore + 1));
    e = &plan->xenstore[plan->num_xenstore++];
    libxl_pci_ims_xs_entry_init(e);
    e->path = libxl__strdup(NOGC, path);
    e->value = libxl__strdup(NOGC, value);
    e->num_acl = reader == INVALID_DOMID ? 1 : 2;
    e->acl = libxl__calloc(NOGC, e->num_acl, sizeof(*e->acl));
    for (int i = 0; i < e->num_acl; i++)
        libxl_pci_ims_xs_acl_init(&e->acl[i]);
    e->acl[0].domid = owner;
    e->acl[0].perm = LIBXL_PCI_IMS_XS_PERM_NONE;
    if (reader != INVALID_DOMID) {
        e->acl[1].domid = reader;
        e->acl[1].perm = LIBXL_PCI_IMS_XS_PERM_READ;
    }
    e->perms = libxl__strdup(NOGC, acl_string(gc, e));
}

static void add_string(libxl__gc *gc, libxl_string_list *sl, const char *s)
{
    int n = libxl_string_list_length(sl);

    *sl = libxl__realloc(NOGC, *sl, sizeof(char *) * (n + 2));
    (*sl)[n] = libxl__strdup(NOGC, s);
    (*sl)[n + 1] = NULL;
}

static void add_kv(libxl__gc *gc, libxl_key_value_list *kvl, const char *k,
                   const char *v)
{
    int n = 0;

    while (*kvl && (*kvl)[n]) n += 2;
    *kvl = libxl__realloc(NOGC, *kvl, sizeof(char *) * (n + 3));
    (*kvl)[n] = libxl__strdup(NOGC, k);
    (*kvl)[n + 1] = libxl__strdup(NOGC, v);
    (*kvl)[n + 2] = NULL;
}

const char *libxl__ims_export_path(libxl__gc *gc, uint32_t domid,
                                   uint32_t vdevfn)
{
    return GCSPRINTF("/local/domain/%u/device/pci-ims/%x", domid, vdevfn);
}

const char *libxl__ims_toolstack_path(libxl__gc *gc,
                                      const libxl_device_pci *pci)
{
    return libxl__pci_info_xs_path(gc, pci, "ims_strategy");
}

void libxl__ims_plan_xen_action(const libxl_pci_ims_plan *plan,
                                libxl__ims_xen_action *a)
{
    bool active = plan->outcome == LIBXL_PCI_IMS_OUTCOME_APPLIED ||
                  plan->outcome == LIBXL_PCI_IMS_OUTCOME_PENDING;

    a->assign_flags = 0;
    a->reason = "no IMS flag (Xen programs MSI as usual)";
    if (!active || plan->strategy != LIBXL_PCI_IMS_STRATEGY_REMAP)
        return;
#ifdef XEN_DOMCTL_DEV_IMS_REMAP
    a->assign_flags = XEN_DOMCTL_DEV_IMS_REMAP;
#endif
    a->reason = "flag XEN_DOMCTL_DEV_IMS_REMAP";
}

void libxl__ims_plan_sinks(libxl__gc *gc, libxl_pci_ims_plan *plan,
                           const libxl_device_pci *pci, uint32_t domid,
                           uint32_t dm_domid, uint32_t vdevfn)
{
    libxl_pci_ims_strategy s = plan->strategy;
    bool active = plan->outcome == LIBXL_PCI_IMS_OUTCOME_APPLIED ||
                  plan->outcome == LIBXL_PCI_IMS_OUTCOME_PENDING;
    const char *dir = libxl__ims_export_path(gc, domid, vdevfn);
    libxl__ims_xen_action xen;

    libxl_key_value_list_dispose(&plan->qemu_props);
    for (int i = 0; i < plan->num_xenstore; i++)
        libxl_pci_ims_xs_entry_dispose(&plan->xenstore[i]);
    free(plan->xenstore);
    plan->xenstore = NULL;
    plan->num_xenstore = 0;
    libxl_string_list_dispose(&plan->hypervisor);

    if (s == LIBXL_PCI_IMS_STRATEGY_NONE ||
        plan->outcome == LIBXL_PCI_IMS_OUTCOME_REFUSED)
        return;

    /* The toolstack's own record, dom0 only: also kept when degraded. */
    add_xs(gc, plan, libxl__ims_toolstack_path(gc, pci),
           libxl_pci_ims_strategy_to_string(plan->applied), 0, INVALID_DOMID);
    if (!active)
        return;

    libxl__ims_plan_xen_action(plan, &xen);
    switch (s) {
    case LIBXL_PCI_IMS_STRATEGY_EXPOSE:
        add_kv(gc, &plan->qemu_props, "x-ims", "expose");
        add_string(gc, &plan->hypervisor,
                   GCSPRINTF("checked: interrupt remapping on (%s)",
                             source_of(plan->facts.intremap_source)));
        add_string(gc, &plan->hypervisor,
                   GCSPRINTF("assign: %s", xen.reason));
        break;
    case LIBXL_PCI_IMS_STRATEGY_EXPORT:
        add_kv(gc, &plan->qemu_props, "x-ims", "export");
        add_kv(gc, &plan->qemu_props, "x-ims-path", dir);
        /* Owned by the device model's domain, read by the guest, which
         * must never choose the values it is shown. */
        add_xs(gc, plan, libxl__strndup(gc, dir, strrchr(dir, '/') - dir),
               "", dm_domid, domid);
        add_xs(gc, plan, dir, "", dm_domid, domid);
        add_xs(gc, plan, GCSPRINTF("%s/strategy", dir), "export", dm_domid,
               domid);
        add_xs(gc, plan, GCSPRINTF("%s/iommu", dir),
               libxl_pci_ims_iommu_to_string(plan->facts.iommu), dm_domid,
               domid);
        add_xs(gc, plan, GCSPRINTF("%s/state", dir), "pending", dm_domid,
               domid);
        add_string(gc, &plan->hypervisor,
                   GCSPRINTF("assign: %s", xen.reason));
        break;
    case LIBXL_PCI_IMS_STRATEGY_REMAP:
        add_string(gc, &plan->hypervisor,
                   GCSPRINTF("checked: AMD IOMMU (%s), interrupt remapping "
                             "on (%s)",
                             source_of(plan->facts.iommu_source),
                             source_of(plan->facts.intremap_source)));
        add_string(gc, &plan->hypervisor,
                   GCSPRINTF("assign: %s", xen.reason));
        break;
    default:
        break;
    }
}

libxl_pci_ims_policy libxl__ims_effective_policy(libxl_pci_ims_policy p)
{
    return p == LIBXL_PCI_IMS_POLICY_DEFAULT ? LIBXL_PCI_IMS_POLICY_AUTO : p;
}

int libxl__ims_free_slot(const libxl__json_object *query_pci)
{
    const libxl__json_object *bus, *devices, *dev, *o;
    uint32_t used = 1; /* slot 0: the host bridge */
    int i, j, slot;

    for (i = 0; (bus = libxl__json_array_get(query_pci, i)); i++) {
        o = libxl__json_map_get("bus", bus, JSON_INTEGER);
        if (!o || libxl__json_object_get_integer(o) != 0)
            continue;
        devices = libxl__json_map_get("devices", bus, JSON_ARRAY);
        if (!devices)
            return -1;
        for (j = 0; (dev = libxl__json_array_get(devices, j)); j++) {
            o = libxl__json_map_get("slot", dev, JSON_INTEGER);
            if (!o)
                return -1;
            slot = libxl__json_object_get_integer(o);
            if (slot >= 0 && slot < 32)
                used |= 1U << slot;
        }
    }
    for (slot = 1; slot < 32; slot++)
        if (!(used & (1U << slot)))
            return slot;
    return -1;
}

/* The plan waits for the device model's answer (x-ims). */
bool libxl__ims_plan_needs_dm(const libxl_pci_ims_plan *plan)
{
    return plan->outcome == LIBXL_PCI_IMS_OUTCOME_PENDING &&
           (plan->strategy == LIBXL_PCI_IMS_STRATEGY_EXPOSE ||
            plan->strategy == LIBXL_PCI_IMS_STRATEGY_EXPORT);
}

/* The plan waits for Xen's answer to the remap flag. */
bool libxl__ims_plan_needs_hv(const libxl_pci_ims_plan *plan)
{
    return plan->outcome == LIBXL_PCI_IMS_OUTCOME_PENDING &&
           plan->strategy == LIBXL_PCI_IMS_STRATEGY_REMAP;
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
