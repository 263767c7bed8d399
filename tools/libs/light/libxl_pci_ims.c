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

/*
 * The prerequisites of one candidate.  Every strategy gives the device or
 * the guest physical interrupt values, which stay valid only while
 * interrupt remapping is on: unknown counts as off.  A fact that is only
 * not known yet (a dry run) makes the verdict unknown, never a guess.
 */
static void judge(judged *c, const libxl_pci_ims_facts *f)
{
    bool unknown = false;

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
        if (f->iommu != LIBXL_PCI_IMS_IOMMU_AMD) {
            snprintf(c->why, sizeof(c->why), "remap needs an AMD IOMMU "
                     "(IOMMU %s from %s)",
                     libxl_pci_ims_iommu_to_string(f->iommu),
                     source_of(f->iommu_source));
            return;
        }
        if (f->hv_remap == LIBXL_PCI_IMS_SUPPORT_NO) {
            snprintf(c->why, sizeof(c->why), "%s", f->hv_remap_source
                     ? f->hv_remap_source
                     : "this hypervisor lacks IMS remap support "
                       "(XEN_DOMCTL_DEV_IMS_REMAP)");
            return;
        }
        /* Xen's answer first: where it lacks the flag, hvm_pirq=0 is
         * no advice (such a Xen refuses it too). */
        if (f->hv_remap == LIBXL_PCI_IMS_SUPPORT_UNKNOWN) {
            snprintf(c->why, sizeof(c->why), "whether Xen accepts "
                     "XEN_DOMCTL_DEV_IMS_REMAP for this device is known "
                     "only at assignment (%s)",
                     source_of(f->hv_remap_source));
            unknown = true;
        } else if (f->guest_msi == LIBXL_PCI_IMS_GUEST_MSI_EVENT_CHANNEL) {
            snprintf(c->why, sizeof(c->why), "the guest's MSIs are Xen "
                     "event channels (%s), which carry no vector for Xen "
                     "to remap: create the domain with hvm_pirq=0 or with "
                     "the device in its config",
                     source_of(f->guest_msi_source));
            return;
        } else if (f->guest_msi == LIBXL_PCI_IMS_GUEST_MSI_UNKNOWN) {
            snprintf(c->why, sizeof(c->why), "whether the guest's MSIs "
                     "carry a vector is not known (%s)",
                     source_of(f->guest_msi_source));
            unknown = true;
        } else {
            snprintf(c->why, sizeof(c->why), "Xen remaps the guest's own "
                     "MSI data to the device's interrupt (AMD IOMMU, "
                     "interrupt remapping on; %s)",
                     source_of(f->guest_msi_source));
        }
        break;
    case LIBXL_PCI_IMS_STRATEGY_EXPOSE:
    case LIBXL_PCI_IMS_STRATEGY_EXPORT:
        if (f->qemu_ims == LIBXL_PCI_IMS_SUPPORT_NO) {
            snprintf(c->why, sizeof(c->why), "the device model (%s) has "
                     "no x-ims property: install a device model with the "
                     "xen-pci-ims QEMU patches (or point "
                     "device_model_override at one)",
                     source_of(f->qemu_ims_source));
            return;
        }
        if (f->qemu_ims == LIBXL_PCI_IMS_SUPPORT_UNKNOWN) {
            snprintf(c->why, sizeof(c->why), "whether the device model "
                     "supports x-ims is not known (%s)",
                     source_of(f->qemu_ims_source));
            unknown = true;
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
        break;
    default:
        snprintf(c->why, sizeof(c->why), "no such strategy");
        return;
    }
    c->verdict = unknown ? LIBXL_PCI_IMS_VERDICT_UNKNOWN
                         : LIBXL_PCI_IMS_VERDICT_USABLE;
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

    for (i = 0; i < plan->num_candidates; i++)
        libxl_pci_ims_candidate_dispose(&plan->candidates[i]);
    free(plan->candidates);
    plan->candidates = d.num_cand
        ? libxl__calloc(NOGC, d.num_cand, sizeof(*plan->candidates)) : NULL;
    plan->num_candidates = d.num_cand;
    for (i = 0; i < d.num_cand; i++) {
        libxl_pci_ims_candidate *c = &plan->candidates[i];

        libxl_pci_ims_candidate_init(c);
        c->strategy = d.cand[i].strategy;
        c->verdict = LIBXL_PCI_IMS_VERDICT_NOT_TRIED;
        if (i < d.judged) {
            c->verdict = d.cand[i].verdict;
            c->reason = libxl__strdup(NOGC, d.cand[i].why);
        }
    }

    libxl_pci_ims_match_dispose(&plan->match);
    libxl_pci_ims_match_init(&plan->match);
    if (entry) {
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
}

/*----- device model support for x-ims (QMP) -----*/

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

#define IMS_PROBE_TIMEOUT_MS 10000

/*
 * Dry run without a domain: ask the device model binary itself.  It is
 * started with no machine and no accelerator, so this works where Xen is
 * not running.  Synchronous on purpose: only the dry run uses it.
 */
static void probe_dm_binary(libxl__gc *gc, const char *binary,
                            libxl_pci_ims_facts *f)
{
    static const char qmp_in[] =
        "{\"execute\":\"qmp_capabilities\"}\n"
        "{\"execute\":\"device-list-properties\","
        "\"arguments\":{\"typename\":\"xen-pci-passthrough\"},"
        "\"id\":\"ims\"}\n"
        "{\"execute\":\"quit\"}\n";
    int in[2] = { -1, -1 }, out[2] = { -1, -1 };
    pid_t pid = -1;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int status;

    f->qemu_ims = LIBXL_PCI_IMS_SUPPORT_UNKNOWN;
    if (access(binary, X_OK)) {
        f->qemu_ims_source = libxl__sprintf(NOGC, "device model %s: %s",
                                            binary, strerror(errno));
        return;
    }
    if (pipe(in) || pipe(out)) {
        LOGE(ERROR, "pipe");
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        LOGE(ERROR, "fork");
        goto out;
    }
    if (!pid) {
        int null = open("/dev/null", O_RDWR);

        dup2(in[0], 0);
        dup2(out[1], 1);
        if (null >= 0) dup2(null, 2);
        execl(binary, binary, "-machine", "none", "-accel", "qtest",
              "-nodefaults", "-display", "none", "-qmp", "stdio",
              (char *)NULL);
        _exit(127);
    }
    close(in[0]); in[0] = -1;
    close(out[1]); out[1] = -1;
    if (write(in[1], qmp_in, sizeof(qmp_in) - 1) != sizeof(qmp_in) - 1)
        LOGE(WARN, "writing to %s", binary);
    close(in[1]); in[1] = -1;

    for (;;) {
        struct pollfd pfd = { .fd = out[0], .events = POLLIN };
        ssize_t r;

        if (poll(&pfd, 1, IMS_PROBE_TIMEOUT_MS) <= 0) {
            LOG(WARN, "%s did not answer QMP in time", binary);
            kill(pid, SIGKILL);
            break;
        }
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 16384;
            buf = libxl__realloc(gc, buf, cap);
        }
        r = read(out[0], buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += r;
    }
    if (buf) {
        buf[len] = '\0';
        f->qemu_ims = libxl__ims_qmp_transcript_support(gc, buf);
    }
    f->qemu_ims_source = libxl__sprintf(NOGC,
        "QMP device-list-properties of %s%s", binary,
        f->qemu_ims == LIBXL_PCI_IMS_SUPPORT_UNKNOWN ? " (no usable answer)"
                                                     : "");

 out:
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    if (in[0] >= 0) close(in[0]);
    if (in[1] >= 0) close(in[1]);
    if (out[0] >= 0) close(out[0]);
    if (out[1] >= 0) close(out[1]);
}

/*----- plan -> sinks (pure) -----*/

static void add_xs(libxl__gc *gc, libxl_pci_ims_plan *plan,
                   const char *path, const char *value, const char *perms)
{
    libxl_pci_ims_xs_entry *e;

    plan->xenstore = libxl__realloc(NOGC, plan->xenstore,
                                    sizeof(*e) * (plan->num_xenstore + 1));
    e = &plan->xenstore[plan->num_xenstore++];
    libxl_pci_ims_xs_entry_init(e);
    e->path = libxl__strdup(NOGC, path);
    e->value = libxl__strdup(NOGC, value);
    e->perms = libxl__strdup(NOGC, perms);
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
    return GCSPRINTF("/libxl/pci/%04x-%02x-%02x-%01x/ims_strategy",
                     pci->domain, pci->bus, pci->dev, pci->func);
}

void libxl__ims_plan_sinks(libxl__gc *gc, libxl_pci_ims_plan *plan,
                           const libxl_device_pci *pci, uint32_t domid,
                           uint32_t dm_domid, uint32_t vdevfn)
{
    libxl_pci_ims_strategy s = plan->strategy;
    bool active = plan->outcome == LIBXL_PCI_IMS_OUTCOME_APPLIED ||
                  plan->outcome == LIBXL_PCI_IMS_OUTCOME_PENDING;
    const char *dir = libxl__ims_export_path(gc, domid, vdevfn);
    const char *owner_guest_reads = GCSPRINTF("n%u,r%u", dm_domid, domid);

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
           libxl_pci_ims_strategy_to_string(plan->applied), "n0");
    if (!active)
        return;

    switch (s) {
    case LIBXL_PCI_IMS_STRATEGY_EXPOSE:
        add_kv(gc, &plan->qemu_props, "x-ims", "expose");
        add_string(gc, &plan->hypervisor,
                   GCSPRINTF("checked: interrupt remapping on (%s)",
                             source_of(plan->facts.intremap_source)));
        add_string(gc, &plan->hypervisor,
                   "assign: no IMS flag (Xen programs MSI as usual)");
        break;
    case LIBXL_PCI_IMS_STRATEGY_EXPORT:
        add_kv(gc, &plan->qemu_props, "x-ims", "export");
        add_kv(gc, &plan->qemu_props, "x-ims-path", dir);
        add_xs(gc, plan, libxl__strndup(gc, dir, strrchr(dir, '/') - dir),
               "", owner_guest_reads);
        add_xs(gc, plan, dir, "", owner_guest_reads);
        add_xs(gc, plan, GCSPRINTF("%s/strategy", dir), "export",
               owner_guest_reads);
        add_xs(gc, plan, GCSPRINTF("%s/iommu", dir),
               libxl_pci_ims_iommu_to_string(plan->facts.iommu),
               owner_guest_reads);
        add_xs(gc, plan, GCSPRINTF("%s/state", dir), "pending",
               owner_guest_reads);
        add_string(gc, &plan->hypervisor,
                   "assign: no IMS flag (Xen programs MSI as usual)");
        break;
    case LIBXL_PCI_IMS_STRATEGY_REMAP:
        add_string(gc, &plan->hypervisor,
                   GCSPRINTF("checked: AMD IOMMU (%s), interrupt remapping "
                             "on (%s)",
                             source_of(plan->facts.iommu_source),
                             source_of(plan->facts.intremap_source)));
        add_string(gc, &plan->hypervisor,
                   "assign: flag XEN_DOMCTL_DEV_IMS_REMAP");
        break;
    default:
        break;
    }
}

/*----- the hypervisor -----*/

static bool needs_hypervisor(const libxl_pci_ims_plan *plan);

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

/*----- dry run -----*/

static libxl_pci_ims_policy effective_policy(libxl_pci_ims_policy p)
{
    return p == LIBXL_PCI_IMS_POLICY_DEFAULT ? LIBXL_PCI_IMS_POLICY_AUTO : p;
}

static void log_db_problems(libxl__gc *gc, const libxl__ims_db *db)
{
    for (int i = 0; i < db->nr_diags; i++) {
        const libxl_pci_ims_diag *d = &db->diags[i];

        LIBXL__LOG(CTX, d->severity == LIBXL_PCI_IMS_SEVERITY_ERROR
                        ? XTL_ERROR : XTL_WARN,
            "%s:%d:%d: %s: %s", d->file, d->line, d->column,
            libxl_pci_ims_severity_to_string(d->severity), d->message);
    }
}

/* The database's first error, for a plan's reason, or NULL. */
static const char *db_first_error(libxl__gc *gc, const libxl__ims_db *db)
{
    const char *more = db->nr_errors > 1
                       ? GCSPRINTF(", and %d more", db->nr_errors - 1) : "";

    if (!db->nr_errors)
        return NULL;
    for (int i = 0; i < db->nr_diags; i++) {
        const libxl_pci_ims_diag *d = &db->diags[i];

        if (d->severity == LIBXL_PCI_IMS_SEVERITY_ERROR)
            return GCSPRINTF("%s:%d:%d: %s%s", d->file, d->line, d->column,
                             d->message, more);
    }
    return GCSPRINTF("%d errors", db->nr_errors);
}

/*
 * Database lookup for a device: logs the database's own problems.  When
 * the database has errors, *db_error_r names the first one (else NULL).
 */
const libxl_pci_ims_db_entry *libxl__ims_lookup_device_env(libxl__gc *gc,
    const libxl__ims_env *env, const libxl_pci_ims_identity *id,
    const char **db_error_r)
{
    libxl__ims_db *db;

    libxl__ims_db_load_env(gc, env, NULL, 0, true, &db);
    log_db_problems(gc, db);
    *db_error_r = db_first_error(gc, db);
    return libxl__ims_db_lookup(db, id->vendor, id->device, id->subvendor,
                                id->subdevice, id->class_code);
}

const libxl_pci_ims_db_entry *libxl__ims_lookup_device(libxl__gc *gc,
    const libxl_pci_ims_identity *id, const char **db_error_r)
{
    libxl__ims_env env;

    libxl__ims_env_read(gc, &env, false);
    return libxl__ims_lookup_device_env(gc, &env, id, db_error_r);
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
static bool attached_device(libxl__gc *gc, uint32_t domid,
                            const libxl_device_pci *pci,
                            libxl_pci_ims_policy *policy, uint32_t *vdevfn)
{
    libxl_device_pci *list;
    bool attached = false;
    int n = 0;

    list = libxl_device_pci_list(CTX, domid, &n);
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

/*
 * Xen answers the remap probe only for an assignable device; for one
 * attached with remap, the attach's record says that Xen accepted the flag.
 */
static void remap_recorded_at_attach(libxl__gc *gc,
                                     const libxl_device_pci *pci,
                                     libxl_pci_ims_facts *f)
{
    const char *path = libxl__ims_toolstack_path(gc, pci);
    const char *recorded = libxl__xs_read(gc, XBT_NULL, path);

    if (!recorded || strcmp(recorded, "remap"))
        return;
    f->hv_remap = LIBXL_PCI_IMS_SUPPORT_YES;
    free(f->hv_remap_source);
    f->hv_remap_source = libxl__sprintf(NOGC, "Xen accepted "
        "XEN_DOMCTL_DEV_IMS_REMAP at attach (%s = \"remap\")", path);
}

int libxl_pci_ims_explain(libxl_ctx *ctx, uint32_t domid,
                          libxl_domain_type guest_type,
                          const char *device_model,
                          const libxl_device_pci *pci,
                          libxl_pci_ims_plan *plan)
{
    GC_INIT(ctx);
    const libxl_pci_ims_db_entry *entry;
    const char *db_error;
    bool have_domain = domid != INVALID_DOMID;
    libxl_pci_ims_policy policy = pci->ims_policy;
    libxl_pci_ims_policy recorded = LIBXL_PCI_IMS_POLICY_DEFAULT;
    uint32_t vdevfn = pci->vdevfn, attached_vdevfn = 0;
    bool attached = false;
    uint32_t dm_domid = 0;
    libxl__ims_env env;
    int rc;

    libxl_pci_ims_plan_dispose(plan);
    libxl_pci_ims_plan_init(plan);
    plan->bdf = libxl__sprintf(NOGC, "%04x:%02x:%02x.%u", pci->domain,
                               pci->bus, pci->dev, pci->func);

    libxl__ims_env_read(gc, &env, false);
    rc = libxl__ims_pci_identity_env(gc, &env, pci, &plan->identity);
    if (rc) goto out;

    entry = libxl__ims_lookup_device_env(gc, &env, &plan->identity,
                                         &db_error);

    rc = libxl__ims_host_facts_env(gc, &env, &plan->facts);
    if (rc) goto out;

    if (have_domain) {
        if (!CTX->xch) {
            LOG(ERROR, "domain %u: Xen is not running here", domid);
            rc = ERROR_INVAL;
            goto out;
        }
        guest_type = libxl__domain_type(gc, domid);
        if (guest_type == LIBXL_DOMAIN_TYPE_INVALID) {
            LOG(ERROR, "domain %u does not exist", domid);
            rc = ERROR_INVAL;
            goto out;
        }
        dm_domid = libxl_get_stubdom_id(CTX, domid);
        plan->facts.stubdomain = dm_domid != 0;
        if (guest_type == LIBXL_DOMAIN_TYPE_HVM) {
            rc = libxl__ims_probe_domain_dm(gc, domid, &plan->facts);
            if (rc) goto out;
            libxl__ims_guest_msi(gc, domid, false, &plan->facts);
        }
    } else {
        if (guest_type == LIBXL_DOMAIN_TYPE_INVALID)
            guest_type = LIBXL_DOMAIN_TYPE_HVM;
        if (guest_type == LIBXL_DOMAIN_TYPE_HVM) {
            probe_dm_binary(gc, device_model ? device_model
                                             : QEMU_XEN_PATH, &plan->facts);
            libxl__ims_guest_msi_new_domain(&plan->facts);
        }
    }
    plan->facts.guest_type = guest_type;

    if (have_domain)
        attached = attached_device(gc, domid, pci, &recorded,
                                   &attached_vdevfn);
    if (attached && policy == LIBXL_PCI_IMS_POLICY_DEFAULT)
        policy = recorded;
    policy = effective_policy(policy);
    libxl__ims_decide(gc, policy, entry, db_error, &plan->facts, plan);
    if (needs_hypervisor(plan) && CTX->xch) {
        libxl__ims_probe_hv_remap(gc, have_domain ? domid : DOMID_INVALID,
                                  pci, false, &plan->facts);
        if (attached && plan->facts.hv_remap == LIBXL_PCI_IMS_SUPPORT_UNKNOWN)
            remap_recorded_at_attach(gc, pci, &plan->facts);
        libxl__ims_decide(gc, policy, entry, db_error, &plan->facts, plan);
    }
    /* The slot the guest sees it in, unless the caller names one. */
    if (!vdevfn && attached)
        vdevfn = attached_vdevfn;
    libxl__ims_plan_sinks(gc, plan, pci, have_domain ? domid : 0, dm_domid,
                          vdevfn);
    rc = 0;

 out:
    GC_FREE;
    return rc;
}

static const char *dm_cache_path(libxl__gc *gc, uint32_t domid);

/*
 * The device model of a running domain, for a dry run: the answer its
 * QMP gave at an earlier attach (cached in xenstore), else the binary
 * the domain was started with, asked the same way in a throwaway QEMU.
 * A stub domain's device model can only be asked at attach.
 */
int libxl__ims_probe_domain_dm(libxl__gc *gc, uint32_t domid,
                               libxl_pci_ims_facts *f)
{
    libxl_domain_config d_config;
    const char *cached, *binary;
    int rc;

    libxl_domain_config_init(&d_config);
    f->qemu_ims = LIBXL_PCI_IMS_SUPPORT_UNKNOWN;

    rc = libxl__xs_read_checked(gc, XBT_NULL, dm_cache_path(gc, domid),
                                &cached);
    if (rc) goto out;
    if (cached && !libxl_pci_ims_support_from_string(cached, &f->qemu_ims)) {
        f->qemu_ims_source = libxl__sprintf(NOGC,
            "QMP device-list-properties of domain %u's device model "
            "(cached at an earlier attach)", domid);
        goto out;
    }
    if (f->stubdomain) {
        f->qemu_ims_source = libxl__sprintf(NOGC,
            "device model in the stub domain of domain %u: asked over QMP "
            "at attach", domid);
        goto out;
    }

    rc = libxl__get_domain_configuration(gc, domid, &d_config);
    if (rc) {
        LOGD(ERROR, domid, "cannot read the domain's configuration to find "
             "its device model");
        goto out;
    }
    /* As libxl__domain_device_model(), without its defaults asserted. */
    binary = d_config.b_info.device_model ?: QEMU_XEN_PATH;
    probe_dm_binary(gc, binary, f);
    {
        char *how = f->qemu_ims_source;

        f->qemu_ims_source = libxl__sprintf(NOGC, "%s (the device model of "
            "domain %u, probed as a binary)", how ? how : binary, domid);
        free(how);
    }

 out:
    libxl_domain_config_dispose(&d_config);
    return rc;
}

/*
 * The host's PCI devices: the device headers of the lspci dump in
 * $LIBXL_IMS_PCI_DUMP, else sysfs (through $LIBXL_IMS_ROOT).
 */
static int scan_host_pci(libxl__gc *gc, const libxl__ims_env *env,
                         libxl_device_pci **list_r, int *n_r)
{
    const char *dump = env->pci_dump;
    libxl_device_pci *list = NULL;
    int n = 0, rc;

    if (dump && *dump) {
        char *text, *line, *save = NULL;
        int len;

        rc = libxl_read_file_contents(CTX, dump, (void **)&text, &len);
        if (rc) {
            LOGE(ERROR, "%s: cannot read the PCI dump", dump);
            return ERROR_INVAL;
        }
        libxl__ptr_add(gc, text);
        text = libxl__realloc(gc, text, len + 1);
        text[len] = '\0';
        for (line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            unsigned dom = 0, bus, dev, func;
            char c;

            if (sscanf(line, "%x:%x:%x.%u%c", &dom, &bus, &dev, &func, &c)
                != 5 &&
                (dom = 0, sscanf(line, "%x:%x.%u%c", &bus, &dev, &func, &c)
                 != 4))
                continue;
            if (c != ' ' || func > 7 || dev > 31 || bus > 255)
                continue;
            list = libxl__realloc(gc, list, sizeof(*list) * (n + 1));
            libxl_device_pci_init(&list[n]);
            list[n].domain = dom;
            list[n].bus = bus;
            list[n].dev = dev;
            list[n].func = func;
            n++;
        }
    } else {
        const char *dir = libxl__ims_env_path(gc, env, "/sys/bus/pci/devices");
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d) {
            LOGE(ERROR, "%s", dir);
            return ERROR_FAIL;
        }
        while ((de = readdir(d))) {
            unsigned dom, bus, dev, func;

            if (sscanf(de->d_name, "%x:%x:%x.%u", &dom, &bus, &dev,
                       &func) != 4)
                continue;
            list = libxl__realloc(gc, list, sizeof(*list) * (n + 1));
            libxl_device_pci_init(&list[n]);
            list[n].domain = dom;
            list[n].bus = bus;
            list[n].dev = dev;
            list[n].func = func;
            n++;
        }
        closedir(d);
    }
    *list_r = list;
    *n_r = n;
    return 0;
}

static bool pci_in(const libxl_device_pci *list, int n,
                   const libxl_device_pci *pci)
{
    for (int i = 0; i < n; i++)
        if (COMPARE_PCI(&list[i], pci))
            return true;
    return false;
}

libxl_pci_ims_plan *libxl_pci_ims_list_host(libxl_ctx *ctx, int *num)
{
    GC_INIT(ctx);
    libxl_device_pci *host, *assignable = NULL;
    libxl_pci_ims_plan *plans = NULL;
    libxl__ims_db *db;
    libxl__ims_env env;
    int nr_host = 0, nr_assignable = 0, n = 0;

    *num = 0;
    libxl__ims_env_read(gc, &env, false);
    if (scan_host_pci(gc, &env, &host, &nr_host)) goto out;
    libxl__ims_db_load_env(gc, &env, NULL, 0, true, &db);
    log_db_problems(gc, db);
    if (CTX->xsh)
        assignable = libxl_device_pci_assignable_list(ctx, &nr_assignable);

    for (int i = 0; i < nr_host; i++) {
        libxl_pci_ims_identity id;
        const libxl_pci_ims_db_entry *e;
        libxl_pci_ims_plan *p;

        libxl_pci_ims_identity_init(&id);
        if (libxl__ims_pci_identity_env(gc, &env, &host[i], &id) ||
            !(e = libxl__ims_db_lookup(db, id.vendor, id.device,
                                       id.subvendor, id.subdevice,
                                       id.class_code))) {
            libxl_pci_ims_identity_dispose(&id);
            continue;
        }
        plans = libxl__realloc(NOGC, plans, sizeof(*plans) * (n + 1));
        p = &plans[n++];
        libxl_pci_ims_plan_init(p);
        p->bdf = libxl__sprintf(NOGC, "%04x:%02x:%02x.%u", host[i].domain,
                                host[i].bus, host[i].dev, host[i].func);
        p->identity = id;
        p->assignable = pci_in(assignable, nr_assignable, &host[i]);
        if (n == 1)
            libxl__ims_host_facts_env(gc, &env, &p->facts);
        else
            libxl_pci_ims_facts_copy(CTX, &p->facts, &plans[0].facts);
        p->facts.guest_type = LIBXL_DOMAIN_TYPE_HVM;
        libxl__ims_guest_msi_new_domain(&p->facts);
        libxl__ims_decide(gc, LIBXL_PCI_IMS_POLICY_AUTO, e,
                          db_first_error(gc, db), &p->facts, p);
    }
    *num = n;

 out:
    if (assignable)
        libxl_device_pci_assignable_list_free(assignable, nr_assignable);
    GC_FREE;
    return plans;
}

libxl_pci_ims_plan *libxl_pci_ims_list_applied(libxl_ctx *ctx,
                                               uint32_t domid, int *num)
{
    GC_INIT(ctx);
    libxl_device_pci *pcis;
    libxl_pci_ims_plan *plans = NULL;
    int nr_pcis = 0, n = 0;

    *num = 0;
    if (!CTX->xsh) goto out;
    pcis = libxl_device_pci_list(ctx, domid, &nr_pcis);
    for (int i = 0; i < nr_pcis; i++) {
        const char *s = libxl__xs_read(gc, XBT_NULL,
                            libxl__ims_toolstack_path(gc, &pcis[i]));
        libxl_pci_ims_plan *p;

        if (!s) continue;
        plans = libxl__realloc(NOGC, plans, sizeof(*plans) * (n + 1));
        p = &plans[n++];
        libxl_pci_ims_plan_init(p);
        p->bdf = libxl__sprintf(NOGC, "%04x:%02x:%02x.%u", pcis[i].domain,
                                pcis[i].bus, pcis[i].dev, pcis[i].func);
        p->policy = pcis[i].ims_policy;
        libxl_pci_ims_strategy_from_string(s, &p->applied);
        p->strategy = p->applied;
        p->outcome = p->applied == LIBXL_PCI_IMS_STRATEGY_NONE
                     ? LIBXL_PCI_IMS_OUTCOME_DEGRADED
                     : LIBXL_PCI_IMS_OUTCOME_APPLIED;
    }
    libxl_device_pci_list_free(pcis, nr_pcis);
    *num = n;

 out:
    GC_FREE;
    return plans;
}

void libxl_pci_ims_plan_list_free(libxl_pci_ims_plan *list, int num)
{
    for (int i = 0; i < num; i++)
        libxl_pci_ims_plan_dispose(&list[i]);
    free(list);
}

/*----- xenstore (thin I/O) -----*/

/* "n0,r5" -> xs_permissions; returns the count, 0 on a malformed string. */
static unsigned int parse_perms(libxl__gc *gc, const char *s,
                                struct xs_permissions **perms_r)
{
    struct xs_permissions *perms = NULL;
    unsigned int n = 0;
    char *copy = libxl__strdup(gc, s), *tok, *save = NULL, *end;

    for (tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned long id;
        unsigned int p;

        switch (tok[0]) {
        case 'n': p = XS_PERM_NONE; break;
        case 'r': p = XS_PERM_READ; break;
        case 'w': p = XS_PERM_WRITE; break;
        case 'b': p = XS_PERM_READ | XS_PERM_WRITE; break;
        default: return 0;
        }
        errno = 0;
        id = strtoul(tok + 1, &end, 10);
        if (errno || end == tok + 1 || *end || id >= DOMID_FIRST_RESERVED)
            return 0;
        perms = libxl__realloc(gc, perms, sizeof(*perms) * (n + 1));
        perms[n].id = id;
        perms[n].perms = p;
        n++;
    }
    *perms_r = perms;
    return n;
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

/* Whether the guest owns dir (.../local/domain/<guest>/device/...). */
static bool made_by_guest(libxl__gc *gc, xs_transaction_t t,
                          const char *dir)
{
    struct xs_permissions *perms;
    unsigned int n = 0, guest;
    bool guests = false;

    if (sscanf(dir, "/local/domain/%u/", &guest) != 1)
        return false;
    perms = xs_get_permissions(CTX->xsh, t, dir, &n);
    if (perms && n)
        guests = perms[0].id == guest;
    free(perms);
    return guests;
}

int libxl__ims_xs_write(libxl__gc *gc, const libxl_pci_ims_plan *plan,
                        const libxl_device_pci *pci)
{
    const char *dir = plan_export_dir(gc, plan);
    const char *record = libxl__ims_toolstack_path(gc, pci);
    xs_transaction_t t = XBT_NULL;
    int rc, i;

    for (i = 0; i < plan->num_xenstore; i++) {
        struct xs_permissions *perms;

        if (!parse_perms(gc, plan->xenstore[i].perms, &perms)) {
            LOG(ERROR, "bad xenstore permissions \"%s\" for %s",
                plan->xenstore[i].perms, plan->xenstore[i].path);
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
            if (there && !made_by_guest(gc, t, dir)) {
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
            unsigned int n = parse_perms(gc, e->perms, &perms);

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
    uint32_t vdevfn;

    /* The slot is the attach's own (the backend's record), not the
     * caller's, which is 0 for a device named by its BDF alone. */
    if (!attached_device(gc, domid, pci, &policy, &vdevfn)) {
        LOGD(DEBUG, domid, "PCI device %04x:%02x:%02x.%u: not in the "
             "backend; only its IMS record is removed", pci->domain,
             pci->bus, pci->dev, pci->func);
        return xs_remove_dir(gc, domid, pci, NULL);
    }
    return xs_remove_dir(gc, domid, pci,
                         libxl__ims_export_path(gc, domid, vdevfn));
}

/*----- domain creation -----*/

/*
 * The plan a device in a new domain's config would get, for
 * libxl__ims_choose_hvm_pirq (identity, database, host facts and Xen's
 * answer to the remap flag, with the guest's MSIs as a new domain's).
 */
static libxl_pci_ims_strategy new_domain_strategy(libxl__gc *gc,
                                                  libxl_device_pci *pci)
{
    libxl_pci_ims_policy policy = effective_policy(pci->ims_policy);
    const libxl_pci_ims_db_entry *entry = NULL;
    const char *db_error = NULL;
    libxl_pci_ims_strategy applied = LIBXL_PCI_IMS_STRATEGY_NONE;
    libxl_pci_ims_plan plan;

    libxl_pci_ims_plan_init(&plan);
    if (policy == LIBXL_PCI_IMS_POLICY_OFF)
        goto out;
    if (libxl__ims_pci_identity(gc, pci, &plan.identity))
        goto out;
    entry = libxl__ims_lookup_device(gc, &plan.identity, &db_error);
    if (libxl__ims_host_facts(gc, &plan.facts))
        goto out;
    plan.facts.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    libxl__ims_guest_msi_new_domain(&plan.facts);
    libxl__ims_decide(gc, policy, entry, db_error, &plan.facts, &plan);
    if (needs_hypervisor(&plan)) {
        libxl__ims_probe_hv_remap(gc, DOMID_INVALID, pci, true, &plan.facts);
        libxl__ims_decide(gc, policy, entry, db_error, &plan.facts, &plan);
    }
    applied = plan.applied;
 out:
    libxl_pci_ims_plan_dispose(&plan);
    return applied;
}

void libxl__ims_choose_hvm_pirq(libxl__gc *gc, libxl_domain_config *d_config)
{
    libxl_domain_build_info *b_info = &d_config->b_info;

    if (d_config->c_info.type != LIBXL_DOMAIN_TYPE_HVM ||
        b_info->type != LIBXL_DOMAIN_TYPE_HVM ||
        !libxl_defbool_is_default(b_info->u.hvm.pirq))
        return;
    for (int i = 0; i < d_config->num_pcidevs; i++) {
        libxl_device_pci *pci = &d_config->pcidevs[i];

        if (new_domain_strategy(gc, pci) != LIBXL_PCI_IMS_STRATEGY_REMAP)
            continue;
        LOG(INFO, "PCI device %04x:%02x:%02x.%u is planned as IMS remap: "
            "the domain is created without HVM pirqs (hvm_pirq=0), so that "
            "the guest's MSIs carry vectors Xen can remap", pci->domain,
            pci->bus, pci->dev, pci->func);
        libxl_defbool_set(&b_info->u.hvm.pirq, false);
        return;
    }
}

/*----- the attach step -----*/

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

static bool needs_device_model(const libxl_pci_ims_plan *plan)
{
    return plan->outcome == LIBXL_PCI_IMS_OUTCOME_PENDING &&
           (plan->strategy == LIBXL_PCI_IMS_STRATEGY_EXPOSE ||
            plan->strategy == LIBXL_PCI_IMS_STRATEGY_EXPORT);
}

static bool needs_hypervisor(const libxl_pci_ims_plan *plan)
{
    return plan->outcome == LIBXL_PCI_IMS_OUTCOME_PENDING &&
           plan->strategy == LIBXL_PCI_IMS_STRATEGY_REMAP;
}

uint32_t libxl__ims_assign_flags(const libxl__ims_attach_state *ims)
{
#ifdef XEN_DOMCTL_DEV_IMS_REMAP
    if (ims->plan.applied == LIBXL_PCI_IMS_STRATEGY_REMAP)
        return XEN_DOMCTL_DEV_IMS_REMAP;
#endif
    return 0;
}

static const char *dm_cache_path(libxl__gc *gc, uint32_t domid)
{
    return GCSPRINTF("%s/ims-dm-x-ims", libxl__xs_libxl_path(gc, domid));
}

void libxl__ims_attach_prepare(libxl__egc *egc, libxl__ims_attach_state *ims)
{
    STATE_AO_GC(ims->ao);
    libxl_pci_ims_plan *plan = &ims->plan;
    libxl_device_pci *pci = ims->pci;
    libxl_pci_ims_policy policy = effective_policy(pci->ims_policy);
    const char *cached;
    libxl__json_object *args = NULL;
    libxl__ims_env env;
    int rc;

    libxl__ims_env_read(gc, &env, true);
    plan->bdf = libxl__sprintf(NOGC, "%04x:%02x:%02x.%u", pci->domain,
                               pci->bus, pci->dev, pci->func);
    ims->dm_domid = libxl_get_stubdom_id(CTX, ims->domid);
    plan->facts.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    plan->facts.stubdomain = ims->dm_domid != 0;
    plan->facts.hv_remap = LIBXL_PCI_IMS_SUPPORT_UNKNOWN;

    /* Policy off costs nothing: no identity, no database, no probe. */
    if (policy != LIBXL_PCI_IMS_POLICY_OFF) {
        rc = libxl__ims_pci_identity_env(gc, &env, pci, &plan->identity);
        if (rc) {
            if (policy != LIBXL_PCI_IMS_POLICY_AUTO) goto out;
            /* A device libpci cannot read is no IMS device we know. */
            LOGD(WARN, ims->domid, "%s: cannot read its identity, so no IMS "
                 "handling (policy auto)", plan->bdf);
            policy = LIBXL_PCI_IMS_POLICY_OFF;
        } else {
            ims->entry = libxl__ims_lookup_device_env(gc, &env,
                                                      &plan->identity,
                                                      &ims->db_error);
            rc = libxl__ims_host_facts_env(gc, &env, &plan->facts);
            if (rc) goto out;
            libxl__ims_guest_msi(gc, ims->domid, true, &plan->facts);
        }
    }

    libxl__ims_decide(gc, policy, ims->entry, ims->db_error, &plan->facts,
                      plan);
    if (needs_hypervisor(plan)) {
        /* Asked before the device model holds the device: auto can still
         * take the next candidate. */
        libxl__ims_probe_hv_remap(gc, ims->domid, pci, true, &plan->facts);
        libxl__ims_decide(gc, policy, ims->entry, ims->db_error, &plan->facts,
                      plan);
    }
    if (!needs_device_model(plan)) {
        attach_decided(egc, ims);
        return;
    }

    /* Rule 6: ask the device model, once per device model. */
    rc = libxl__xs_read_checked(gc, XBT_NULL, dm_cache_path(gc, ims->domid),
                                &cached);
    if (rc) goto out;
    if (cached && !libxl_pci_ims_support_from_string(cached,
                                                    &plan->facts.qemu_ims)) {
        plan->facts.qemu_ims_source = libxl__sprintf(NOGC,
            "QMP device-list-properties of domain %u's device model "
            "(cached)", ims->domid);
        libxl__ims_decide(gc, policy, ims->entry, ims->db_error, &plan->facts,
                      plan);
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
    libxl__ims_decide(gc, ims->plan.policy, ims->entry, ims->db_error, f,
                      &ims->plan);
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
    rc = libxl__ims_xs_write(gc, &ims->plan, ims->pci);
    if (rc) goto out;
    ims->written = ims->plan.num_xenstore > 0;
    if (ims->dm_answered) {
        rc = libxl__xs_write_checked(gc, XBT_NULL,
                 dm_cache_path(gc, ims->domid),
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
        libxl__xs_rm_checked(gc, XBT_NULL, dm_cache_path(gc, ims->domid)))
        LOGD(ERROR, ims->domid, "could not remove %s",
             dm_cache_path(gc, ims->domid));
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
