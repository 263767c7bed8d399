/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The decision (libxl__ims_decide) over every combination of its inputs,
 * checked against the rules written out below on their own; then the
 * sinks (libxl__ims_plan_sinks) and the QMP probe judgement.
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))



static libxl_ctx *ctx;

static int setup(void **state)
{
    ctx = test_ctx_alloc_offline();
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    test_ctx_free(ctx);
    return 0;
}

/*----- the rules, written out independently of the code -----*/

/* Strategy lists as the database gives them. */
typedef struct {
    int n;
    libxl_pci_ims_strategy s[3];
} slist;

#define NONE_   LIBXL_PCI_IMS_STRATEGY_NONE
#define EXPOSE_ LIBXL_PCI_IMS_STRATEGY_EXPOSE
#define EXPORT_ LIBXL_PCI_IMS_STRATEGY_EXPORT
#define REMAP_  LIBXL_PCI_IMS_STRATEGY_REMAP

static const slist amd_lists[] = {
    { 1, { NONE_ } }, { 1, { EXPOSE_ } }, { 1, { EXPORT_ } },
    { 1, { REMAP_ } }, { 2, { REMAP_, EXPORT_ } },
    { 3, { REMAP_, EXPOSE_, EXPORT_ } }, { 2, { EXPOSE_, EXPORT_ } },
    { 2, { EXPORT_, REMAP_ } },
};
static const slist intel_lists[] = {
    { 1, { NONE_ } }, { 1, { EXPOSE_ } }, { 1, { EXPORT_ } },
    { 2, { EXPOSE_, EXPORT_ } },
};

static void set_list(libxl_pci_ims_strategy **l, int *n, const slist *from)
{
    free(*l);
    *l = calloc(3, sizeof(**l));
    memcpy(*l, from->s, sizeof(from->s));
    *n = from->n;
}

enum { OK, NO, UNK };

/* A candidate's prerequisites. */
static int usable(int cand, const libxl_pci_ims_facts *f)
{
    if (f->intremap != LIBXL_PCI_IMS_INTREMAP_ON)
        return NO;                       /* unknown counts as off */
    if (cand == REMAP_) {
        if (f->iommu != LIBXL_PCI_IMS_IOMMU_AMD ||
            f->hv_remap == LIBXL_PCI_IMS_SUPPORT_NO)
            return NO;
        if (f->hv_remap == LIBXL_PCI_IMS_SUPPORT_UNKNOWN)
            return UNK;         /* Xen is asked before anything else */
        if (f->guest_msi == LIBXL_PCI_IMS_GUEST_MSI_EVENT_CHANNEL)
            return NO;
        if (f->guest_msi == LIBXL_PCI_IMS_GUEST_MSI_UNKNOWN)
            return UNK;
        return OK;
    }
    if (f->qemu_ims == LIBXL_PCI_IMS_SUPPORT_NO) return NO;
    if (f->qemu_ims == LIBXL_PCI_IMS_SUPPORT_UNKNOWN) return UNK;
    return OK;
}

struct expect {
    int strategy, outcome;
    bool skipped;       /* auto passed over a candidate: a warning says why */
};

static struct expect expected(libxl_pci_ims_policy policy,
                              const libxl_pci_ims_db_entry *e,
                              bool db_error, const libxl_pci_ims_facts *f)
{
    struct expect x = { NONE_, LIBXL_PCI_IMS_OUTCOME_NONE, false };
    slist c = { 0 };
    bool forced = policy == LIBXL_PCI_IMS_POLICY_EXPOSE ||
                  policy == LIBXL_PCI_IMS_POLICY_EXPORT ||
                  policy == LIBXL_PCI_IMS_POLICY_REMAP;

    if (policy == LIBXL_PCI_IMS_POLICY_OFF ||
        f->guest_type != LIBXL_DOMAIN_TYPE_HVM)
        return x;
    if (!forced && db_error) {
        if (policy == LIBXL_PCI_IMS_POLICY_STRICT)
            x.outcome = LIBXL_PCI_IMS_OUTCOME_REFUSED;
        return x;
    }
    if (policy == LIBXL_PCI_IMS_POLICY_EXPOSE) c = (slist){ 1, { EXPOSE_ } };
    else if (policy == LIBXL_PCI_IMS_POLICY_EXPORT) c = (slist){ 1, { EXPORT_ } };
    else if (policy == LIBXL_PCI_IMS_POLICY_REMAP) c = (slist){ 1, { REMAP_ } };
    else if (!e) return x;
    else if (f->iommu == LIBXL_PCI_IMS_IOMMU_AMD) {
        c.n = e->num_amd; memcpy(c.s, e->amd, sizeof(c.s[0]) * c.n);
    } else if (f->iommu == LIBXL_PCI_IMS_IOMMU_INTEL) {
        c.n = e->num_intel; memcpy(c.s, e->intel, sizeof(c.s[0]) * c.n);
    } else if (e->amd[0] == NONE_ && e->intel[0] == NONE_) {
        return x;
    } else {
        c = (slist){ 1, { EXPORT_ } };
    }
    if (c.s[0] == NONE_)
        return x;

    for (int i = 0; i < c.n; i++) {
        int u = usable(c.s[i], f);

        if (u == OK || u == UNK) {
            x.strategy = c.s[i];
            x.outcome = u == OK ? LIBXL_PCI_IMS_OUTCOME_APPLIED
                                : LIBXL_PCI_IMS_OUTCOME_PENDING;
            return x;
        }
        if (policy != LIBXL_PCI_IMS_POLICY_AUTO) {
            x.strategy = c.s[i];
            x.outcome = LIBXL_PCI_IMS_OUTCOME_REFUSED;
            return x;
        }
        x.skipped = true;
    }
    x.strategy = c.s[0];
    x.outcome = LIBXL_PCI_IMS_OUTCOME_DEGRADED;
    return x;
}

/*----- every combination -----*/

static const libxl_pci_ims_policy policies[] = {
    LIBXL_PCI_IMS_POLICY_OFF, LIBXL_PCI_IMS_POLICY_AUTO,
    LIBXL_PCI_IMS_POLICY_STRICT, LIBXL_PCI_IMS_POLICY_EXPOSE,
    LIBXL_PCI_IMS_POLICY_EXPORT, LIBXL_PCI_IMS_POLICY_REMAP,
};
static const libxl_domain_type guests[] = {
    LIBXL_DOMAIN_TYPE_HVM, LIBXL_DOMAIN_TYPE_PV, LIBXL_DOMAIN_TYPE_PVH,
};

#define NR_ENTRIES (N(amd_lists) * N(intel_lists))

static void test_every_combination(void **state)
{
    libxl_pci_ims_db_entry entry;
    libxl_pci_ims_facts f;
    libxl_pci_ims_plan plan;
    unsigned pi, gi, ei, io, ir, qe, hv, gm, de, count = 0;
    unsigned seen[5] = { 0 };

    libxl_pci_ims_db_entry_init(&entry);
    entry.vendor = 0x17cb;
    entry.device = 0x1103;
    entry.file = strdup("/etc/xen/ims-quirks.cfg");
    entry.line = 7;
    entry.name = strdup("WCN6855");

    for (pi = 0; pi < N(policies); pi++)
    for (gi = 0; gi < N(guests); gi++)
    for (ei = 0; ei <= NR_ENTRIES; ei++)  /* NR_ENTRIES: no match */
    for (de = 0; de < 2; de++)
    for (io = 0; io < 3; io++)
    for (ir = 0; ir < 3; ir++)
    for (qe = 0; qe < 3; qe++)
    for (hv = 0; hv < 3; hv++)
    for (gm = 0; gm < 3; gm++) {
        const libxl_pci_ims_db_entry *e = ei < NR_ENTRIES ? &entry : NULL;
        const char *db_error = de ? "ims-quirks.d/90.cfg:2:7: bad" : NULL;
        struct expect x;

        if (e) {
            set_list(&entry.amd, &entry.num_amd,
                     &amd_lists[ei / N(intel_lists)]);
            set_list(&entry.intel, &entry.num_intel,
                     &intel_lists[ei % N(intel_lists)]);
        }
        libxl_pci_ims_facts_init(&f);
        f.guest_type = guests[gi];
        f.iommu = io;
        f.intremap = ir;
        f.qemu_ims = qe;
        f.hv_remap = hv;
        f.guest_msi = gm;
        libxl_pci_ims_plan_init(&plan);
        {
            GC_INIT(ctx);
            libxl__ims_decide(gc, policies[pi], e, db_error, &f, &plan);
            GC_FREE;
        }
        x = expected(policies[pi], e, de, &f);

        if ((int)plan.strategy != x.strategy ||
            (int)plan.outcome != x.outcome)
            fail_msg("policy %s guest %s entry %u%s db_error %u iommu %s "
                     "intremap %s qemu %s hv %s guest_msi %s: got %s/%s, "
                     "want %s/%s (%s)",
                     libxl_pci_ims_policy_to_string(policies[pi]),
                     libxl_domain_type_to_string(guests[gi]), ei,
                     e ? "" : " (no match)", de,
                     libxl_pci_ims_iommu_to_string(io),
                     libxl_pci_ims_intremap_to_string(ir),
                     libxl_pci_ims_support_to_string(qe),
                     libxl_pci_ims_support_to_string(hv),
                     libxl_pci_ims_guest_msi_to_string(gm),
                     libxl_pci_ims_strategy_to_string(plan.strategy),
                     libxl_pci_ims_outcome_to_string(plan.outcome),
                     libxl_pci_ims_strategy_to_string(x.strategy),
                     libxl_pci_ims_outcome_to_string(x.outcome),
                     plan.reason);

        /* Every result says why, and the plan's invariants hold. */
        assert_non_null(plan.reason);
        assert_true(strlen(plan.reason) > 10);
        assert_int_equal(plan.policy, policies[pi]);
        assert_int_equal(plan.applied,
                         plan.outcome == LIBXL_PCI_IMS_OUTCOME_APPLIED
                         ? plan.strategy : LIBXL_PCI_IMS_STRATEGY_NONE);
        if (x.skipped || plan.outcome == LIBXL_PCI_IMS_OUTCOME_DEGRADED)
            assert_non_null(plan.warning);
        else
            assert_null(plan.warning);
        assert_int_equal(plan.match.matched, e != NULL);
        if (e) {
            assert_string_equal(plan.match.file, "/etc/xen/ims-quirks.cfg");
            assert_int_equal(plan.match.line, 7);
            assert_int_equal(plan.match.num_amd, entry.num_amd);
        }
        if (db_error && plan.outcome != LIBXL_PCI_IMS_OUTCOME_NONE &&
            !(policies[pi] == LIBXL_PCI_IMS_POLICY_STRICT))
            assert_true(policies[pi] >= LIBXL_PCI_IMS_POLICY_EXPOSE);
        /* Non-negotiable: no strategy without remapping known on. */
        if (plan.applied != LIBXL_PCI_IMS_STRATEGY_NONE ||
            plan.outcome == LIBXL_PCI_IMS_OUTCOME_PENDING)
            assert_int_equal(f.intremap, LIBXL_PCI_IMS_INTREMAP_ON);
        /* Remap is applied only to guests whose MSIs carry a vector. */
        if (plan.applied == LIBXL_PCI_IMS_STRATEGY_REMAP)
            assert_int_equal(f.guest_msi, LIBXL_PCI_IMS_GUEST_MSI_VECTOR);
        /* The candidates the plan lists: the outcome's one is judged. */
        for (int c = 0; c < plan.num_candidates; c++)
            if (plan.candidates[c].strategy == plan.strategy &&
                plan.outcome != LIBXL_PCI_IMS_OUTCOME_NONE)
                assert_int_not_equal(plan.candidates[c].verdict,
                                     LIBXL_PCI_IMS_VERDICT_NOT_TRIED);

        seen[plan.outcome]++;
        count++;
        libxl_pci_ims_plan_dispose(&plan);
        libxl_pci_ims_facts_dispose(&f);
    }
    libxl_pci_ims_db_entry_dispose(&entry);

    assert_int_equal(count, N(policies) * N(guests) * (NR_ENTRIES + 1) * 2
                            * 243);
    for (pi = 0; pi < 5; pi++)
        assert_true(seen[pi] > 0);
    print_message("decided %u combinations: none %u applied %u degraded %u "
                  "refused %u pending %u\n", count, seen[0], seen[1],
                  seen[2], seen[3], seen[4]);
}

/*----- named scenarios, as a user meets them -----*/

/* The shipped database's entry for WCN6855 and its defaults. */
static const slist amd_default = { 2, { REMAP_, EXPORT_ } };
static const slist intel_default = { 2, { EXPOSE_, EXPORT_ } };

static void decide_full(libxl_pci_ims_policy policy, bool matched,
                        const slist *amd, int iommu, int intremap, int qemu,
                        int hv, int guest_msi, const char *db_error,
                        libxl_pci_ims_plan *plan)
{
    libxl_pci_ims_db_entry entry;
    libxl_pci_ims_facts f;
    GC_INIT(ctx);

    libxl_pci_ims_db_entry_init(&entry);
    entry.vendor = 0x17cb;
    entry.device = 0x1103;
    set_list(&entry.amd, &entry.num_amd, amd ? amd : &amd_default);
    set_list(&entry.intel, &entry.num_intel, &intel_default);
    entry.file = strdup("ims-quirks.cfg");
    entry.line = 3;
    libxl_pci_ims_facts_init(&f);
    f.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    f.iommu = iommu;
    f.intremap = intremap;
    f.intremap_source = strdup("Xen console");
    f.qemu_ims = qemu;
    f.qemu_ims_source = strdup("QMP");
    f.hv_remap = hv;
    f.guest_msi = guest_msi;
    f.guest_msi_source = strdup("domain 5");
    libxl_pci_ims_plan_init(plan);
    libxl__ims_decide(gc, policy, matched ? &entry : NULL, db_error, &f,
                      plan);
    libxl_pci_ims_facts_copy(ctx, &plan->facts, &f);
    libxl_pci_ims_facts_dispose(&f);
    libxl_pci_ims_db_entry_dispose(&entry);
    GC_FREE;
}

/* Hypervisor accepts remap and the guest's MSIs carry vectors. */
static void decide_one(libxl_pci_ims_policy policy, bool matched,
                       int iommu, int intremap, int qemu,
                       libxl_pci_ims_plan *plan)
{
    decide_full(policy, matched, NULL, iommu, intremap, qemu,
                LIBXL_PCI_IMS_SUPPORT_YES, LIBXL_PCI_IMS_GUEST_MSI_VECTOR,
                NULL, plan);
}

static void test_amd_remaps_for_an_unmodified_driver(void **state)
{
    libxl_pci_ims_plan plan;

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_REMAP);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    assert_int_equal(plan.guest_needs, LIBXL_PCI_IMS_GUEST_NEEDS_NOTHING);
    assert_non_null(strstr(plan.reason, "ims-quirks.cfg:3 says "
                                        "amd=remap|export"));
    assert_int_equal(plan.num_candidates, 2);
    assert_int_equal(plan.candidates[0].verdict,
                     LIBXL_PCI_IMS_VERDICT_USABLE);
    assert_int_equal(plan.candidates[1].verdict,
                     LIBXL_PCI_IMS_VERDICT_NOT_TRIED);
    assert_null(plan.warning);
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_amd_pirq_guest_falls_back_to_export(void **state)
{
    libxl_pci_ims_plan plan;

    /* Hot-plug into a domain with HVM pirqs: remap cannot serve it. */
    decide_full(LIBXL_PCI_IMS_POLICY_AUTO, true, NULL,
                LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON,
                LIBXL_PCI_IMS_SUPPORT_YES, LIBXL_PCI_IMS_SUPPORT_YES,
                LIBXL_PCI_IMS_GUEST_MSI_EVENT_CHANNEL, NULL, &plan);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_EXPORT);
    assert_int_equal(plan.guest_needs,
                     LIBXL_PCI_IMS_GUEST_NEEDS_EXPORT_READER);
    assert_non_null(strstr(plan.warning, "event channels"));
    assert_non_null(strstr(plan.warning, "hvm_pirq=0"));
    assert_int_equal(plan.candidates[0].verdict,
                     LIBXL_PCI_IMS_VERDICT_UNUSABLE);
    libxl_pci_ims_plan_dispose(&plan);

    /* strict refuses and says why. */
    decide_full(LIBXL_PCI_IMS_POLICY_STRICT, true, NULL,
                LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON,
                LIBXL_PCI_IMS_SUPPORT_YES, LIBXL_PCI_IMS_SUPPORT_YES,
                LIBXL_PCI_IMS_GUEST_MSI_EVENT_CHANNEL, NULL, &plan);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_REFUSED);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_REMAP);
    assert_non_null(strstr(plan.reason, "event channels"));
    libxl_pci_ims_plan_dispose(&plan);

    /* Debian's stock hypervisor lacks the flag: export, and why. */
    decide_full(LIBXL_PCI_IMS_POLICY_AUTO, true, NULL,
                LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON,
                LIBXL_PCI_IMS_SUPPORT_YES, LIBXL_PCI_IMS_SUPPORT_NO,
                LIBXL_PCI_IMS_GUEST_MSI_EVENT_CHANNEL, NULL, &plan);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_EXPORT);
    assert_non_null(strstr(plan.warning, "remap cannot be used"));
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_intel_exposes_for_an_unmodified_driver(void **state)
{
    libxl_pci_ims_plan plan;

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_INTEL,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    assert_int_equal(plan.guest_needs, LIBXL_PCI_IMS_GUEST_NEEDS_NOTHING);
    assert_non_null(strstr(plan.reason, "SHV cleared"));
    libxl_pci_ims_plan_dispose(&plan);

    /* Forced expose on AMD serves only drivers that read both back. */
    decide_one(LIBXL_PCI_IMS_POLICY_EXPOSE, true, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    assert_int_equal(plan.guest_needs,
                     LIBXL_PCI_IMS_GUEST_NEEDS_MSI_READBACK);
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_no_strategy_without_remapping(void **state)
{
    libxl_pci_ims_plan plan;

    /* auto: none of the list, with how to turn remapping on. */
    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_OFF, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_DEGRADED);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_NONE);
    assert_non_null(strstr(plan.warning, "no-intremap"));
    libxl_pci_ims_plan_dispose(&plan);

    /* Forced export (unknown vendor) is refused too. */
    decide_one(LIBXL_PCI_IMS_POLICY_EXPORT, false,
               LIBXL_PCI_IMS_IOMMU_UNKNOWN, LIBXL_PCI_IMS_INTREMAP_UNKNOWN,
               LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_REFUSED);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_NONE);
    assert_non_null(strstr(plan.reason, "not known to be on"));
    assert_non_null(strstr(plan.reason, "no-intremap"));
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_database_errors_fail_safe(void **state)
{
    libxl_pci_ims_plan plan;
    const char *err = "ims-quirks.d/90-local.cfg:2:11: bad strategy";

    decide_full(LIBXL_PCI_IMS_POLICY_AUTO, true, NULL,
                LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON,
                LIBXL_PCI_IMS_SUPPORT_YES, LIBXL_PCI_IMS_SUPPORT_YES,
                LIBXL_PCI_IMS_GUEST_MSI_VECTOR, err, &plan);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_NONE);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_NONE);
    assert_non_null(strstr(plan.reason, err));
    assert_int_equal(plan.num_xenstore, 0);
    libxl_pci_ims_plan_dispose(&plan);

    decide_full(LIBXL_PCI_IMS_POLICY_STRICT, true, NULL,
                LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON,
                LIBXL_PCI_IMS_SUPPORT_YES, LIBXL_PCI_IMS_SUPPORT_YES,
                LIBXL_PCI_IMS_GUEST_MSI_VECTOR, err, &plan);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_REFUSED);
    assert_non_null(strstr(plan.reason, "90-local.cfg:2:11"));
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_stock_qemu_degrades_or_refuses(void **state)
{
    libxl_pci_ims_plan plan;

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_INTEL,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_NO, &plan);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_DEGRADED);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_NONE);
    assert_non_null(strstr(plan.warning, "x-ims"));
    libxl_pci_ims_plan_dispose(&plan);

    decide_one(LIBXL_PCI_IMS_POLICY_EXPORT, false, LIBXL_PCI_IMS_IOMMU_INTEL,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_NO, &plan);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_REFUSED);
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_unlisted_device_untouched_unless_forced(void **state)
{
    libxl_pci_ims_plan plan;

    decide_one(LIBXL_PCI_IMS_POLICY_STRICT, false, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_NONE);
    assert_false(plan.match.matched);
    libxl_pci_ims_plan_dispose(&plan);

    decide_one(LIBXL_PCI_IMS_POLICY_EXPOSE, false, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    libxl_pci_ims_plan_dispose(&plan);
}

/*----- sinks -----*/

static const libxl_pci_ims_xs_entry *xs_find(const libxl_pci_ims_plan *p,
                                             const char *path)
{
    for (int i = 0; i < p->num_xenstore; i++)
        if (!strcmp(p->xenstore[i].path, path))
            return &p->xenstore[i];
    return NULL;
}

static const char *kv_get(libxl_key_value_list kvl, const char *k)
{
    for (int i = 0; kvl && kvl[i]; i += 2)
        if (!strcmp(kvl[i], k))
            return kvl[i + 1];
    return NULL;
}

static void sinks(libxl_pci_ims_plan *plan, uint32_t domid,
                  uint32_t dm_domid, uint32_t vdevfn)
{
    libxl_device_pci pci;
    GC_INIT(ctx);

    libxl_device_pci_init(&pci);
    pci.bus = 4;
    libxl__ims_plan_sinks(gc, plan, &pci, domid, dm_domid, vdevfn);
    GC_FREE;
}

static void test_sinks_export(void **state)
{
    libxl_pci_ims_plan plan;
    const libxl_pci_ims_xs_entry *e;

    decide_one(LIBXL_PCI_IMS_POLICY_EXPORT, true, LIBXL_PCI_IMS_IOMMU_INTEL,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    sinks(&plan, 5, 0, 0x28);
    assert_string_equal(kv_get(plan.qemu_props, "x-ims"), "export");
    assert_string_equal(kv_get(plan.qemu_props, "x-ims-path"),
                        "/local/domain/5/device/pci-ims/28");
    e = xs_find(&plan, "/local/domain/5/device/pci-ims/28/state");
    assert_non_null(e);
    assert_string_equal(e->value, "pending");
    assert_string_equal(e->perms, "n0,r5");
    e = xs_find(&plan, "/local/domain/5/device/pci-ims/28/strategy");
    assert_string_equal(e->value, "export");
    e = xs_find(&plan, "/local/domain/5/device/pci-ims/28/iommu");
    assert_string_equal(e->value, "intel");
    e = xs_find(&plan, "/libxl/pci/0000-04-00-0/ims_strategy");
    assert_string_equal(e->value, "export");
    assert_string_equal(e->perms, "n0");
    /* The directories are the device model's too, never the guest's. */
    e = xs_find(&plan, "/local/domain/5/device/pci-ims");
    assert_string_equal(e->perms, "n0,r5");
    e = xs_find(&plan, "/local/domain/5/device/pci-ims/28");
    assert_string_equal(e->perms, "n0,r5");
    assert_int_equal(plan.num_xenstore, 6);

    /* A stub domain runs the device model: it owns the entries. */
    sinks(&plan, 5, 6, 0x28);
    e = xs_find(&plan, "/local/domain/5/device/pci-ims/28/state");
    assert_string_equal(e->perms, "n6,r5");
    assert_int_equal(plan.num_xenstore, 6);
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_sinks_expose_refused_degraded(void **state)
{
    libxl_pci_ims_plan plan;

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_INTEL,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    sinks(&plan, 3, 0, 0x30);
    assert_string_equal(kv_get(plan.qemu_props, "x-ims"), "expose");
    assert_null(kv_get(plan.qemu_props, "x-ims-path"));
    assert_int_equal(plan.num_xenstore, 1); /* the toolstack record */
    assert_non_null(strstr(plan.hypervisor[0], "interrupt remapping on"));
    libxl_pci_ims_plan_dispose(&plan);

    decide_one(LIBXL_PCI_IMS_POLICY_STRICT, true, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_OFF, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    sinks(&plan, 3, 0, 0x30);
    assert_null(plan.qemu_props);
    assert_int_equal(plan.num_xenstore, 0);
    assert_null(plan.hypervisor);
    libxl_pci_ims_plan_dispose(&plan);

    decide_full(LIBXL_PCI_IMS_POLICY_AUTO, true, NULL,
                LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON,
                LIBXL_PCI_IMS_SUPPORT_NO, LIBXL_PCI_IMS_SUPPORT_NO,
                LIBXL_PCI_IMS_GUEST_MSI_VECTOR, NULL, &plan);
    sinks(&plan, 3, 0, 0x30);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_DEGRADED);
    assert_null(plan.qemu_props);
    assert_int_equal(plan.num_xenstore, 1);
    assert_string_equal(plan.xenstore[0].value, "none");
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_plan_json_keys(void **state)
{
    libxl_pci_ims_plan plan;
    char *json;

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_INTEL,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    sinks(&plan, 3, 0, 0x30);
    json = libxl_pci_ims_plan_to_json(ctx, &plan);
    assert_non_null(strstr(json, "\"guest_needs\": \"nothing\""));
    assert_non_null(strstr(json, "\"verdict\": \"usable\""));
    assert_non_null(strstr(json, "\"guest_msi\": \"vector\""));
    assert_non_null(strstr(json, "\"strategy\": \"expose\""));
    assert_non_null(strstr(json, "\"outcome\": \"applied\""));
    assert_non_null(strstr(json, "\"x-ims\": \"expose\""));
    assert_non_null(strstr(json, "\"intremap\": \"on\""));
    free(json);
    libxl_pci_ims_plan_dispose(&plan);
}

/*----- the QMP probe's judgement -----*/

static void test_qmp_stock_qemu_has_no_x_ims(void **state)
{
    char *t = test_read_file(
        test_fixture("qmp/debian-qemu-7.2-stock.txt"));
    GC_INIT(ctx);

    assert_non_null(t);
    assert_non_null(strstr(t, "hostaddr"));
    assert_int_equal(libxl__ims_qmp_transcript_support(gc, t),
                     LIBXL_PCI_IMS_SUPPORT_NO);
    free(t);
    GC_FREE;
}

static void test_qmp_replies(void **state)
{
    static const struct { const char *t; int want; } cases[] = {
        { "{\"return\": [{\"name\": \"hostaddr\", \"type\": \"str\"}, "
          "{\"name\": \"x-ims\", \"type\": \"str\"}], \"id\": \"ims\"}",
          LIBXL_PCI_IMS_SUPPORT_YES },
        { "{\"return\": [], \"id\": \"ims\"}", LIBXL_PCI_IMS_SUPPORT_NO },
        /* A reply to someone else, an error, garbage: decide nothing. */
        { "{\"return\": [{\"name\": \"x-ims\"}], \"id\": \"other\"}",
          LIBXL_PCI_IMS_SUPPORT_UNKNOWN },
        { "{\"error\": {\"class\": \"DeviceNotFound\"}, \"id\": \"ims\"}",
          LIBXL_PCI_IMS_SUPPORT_UNKNOWN },
        { "{\"return\": {\"x-ims\": 1}, \"id\": \"ims\"}",
          LIBXL_PCI_IMS_SUPPORT_UNKNOWN },
        { "{\"return\": [{\"type\": \"str\"}], \"id\": \"ims\"}",
          LIBXL_PCI_IMS_SUPPORT_UNKNOWN },
        { "{\"return\": [{\"name\": \"x-ims\"", LIBXL_PCI_IMS_SUPPORT_UNKNOWN },
        { "", LIBXL_PCI_IMS_SUPPORT_UNKNOWN },
    };
    GC_INIT(ctx);

    for (unsigned i = 0; i < N(cases); i++)
        assert_int_equal(libxl__ims_qmp_transcript_support(gc, cases[i].t),
                         cases[i].want);
    GC_FREE;
}

static void test_free_slot(void **state)
{
    static const struct { const char *reply; int want; } cases[] = {
        /* Debian's QEMU, a Xen HVM guest: host bridge, ISA, IDE, ... */
        { "[{\"bus\": 0, \"devices\": [{\"slot\": 0}, {\"slot\": 1},"
          " {\"slot\": 2}, {\"slot\": 3}]}]", 4 },
        { "[{\"bus\": 0, \"devices\": [{\"slot\": 0}, {\"slot\": 2}]}]",
          1 },
        /* Other buses do not count. */
        { "[{\"bus\": 1, \"devices\": [{\"slot\": 1}]},"
          " {\"bus\": 0, \"devices\": [{\"slot\": 0}]}]", 1 },
        { "[{\"bus\": 0, \"devices\": [{\"function\": 0}]}]", -1 },
        { "[{\"bus\": 0}]", -1 },
    };
    char full[4096] = "[{\"bus\": 0, \"devices\": [";
    GC_INIT(ctx);

    for (unsigned i = 0; i < N(cases); i++)
        assert_int_equal(libxl__ims_free_slot(
                             libxl__json_parse(gc, cases[i].reply)),
                         cases[i].want);
    for (int slot = 0; slot < 32; slot++)
        sprintf(full + strlen(full), "%s{\"slot\": %d}", slot ? ", " : "",
                slot);
    strcat(full, "]}]");
    assert_int_equal(libxl__ims_free_slot(libxl__json_parse(gc, full)), -1);
    GC_FREE;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_combination),
        cmocka_unit_test(test_amd_remaps_for_an_unmodified_driver),
        cmocka_unit_test(test_amd_pirq_guest_falls_back_to_export),
        cmocka_unit_test(test_intel_exposes_for_an_unmodified_driver),
        cmocka_unit_test(test_no_strategy_without_remapping),
        cmocka_unit_test(test_database_errors_fail_safe),
        cmocka_unit_test(test_stock_qemu_degrades_or_refuses),
        cmocka_unit_test(test_unlisted_device_untouched_unless_forced),
        cmocka_unit_test(test_sinks_export),
        cmocka_unit_test(test_sinks_expose_refused_degraded),
        cmocka_unit_test(test_plan_json_keys),
        cmocka_unit_test(test_qmp_stock_qemu_has_no_x_ims),
        cmocka_unit_test(test_qmp_replies),
        cmocka_unit_test(test_free_slot),
    };

    return cmocka_run_group_tests_name("ims_decide", tests, setup, teardown);
}
