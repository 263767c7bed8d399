/*
 * The decision (libxl__ims_decide) over every combination of its inputs,
 * checked against DESIGN section 4 written as tables below; then the
 * sinks (libxl__ims_plan_sinks) and the QMP probe judgement.
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { ANY = -1 };

/* Policy classes of the tables. */
enum { P_AUTO = 100, P_NOT_AUTO = 101 };

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

/*----- the rules as tables -----*/

/* Rule 4 for a database match: the vendor's field of the entry. */
static int candidate(int iommu, const libxl_pci_ims_db_entry *e)
{
    static const struct { int iommu; int field; } rule4[] = {
        { LIBXL_PCI_IMS_IOMMU_AMD,   'a' },
        { LIBXL_PCI_IMS_IOMMU_INTEL, 'i' },
        { LIBXL_PCI_IMS_IOMMU_UNKNOWN, 'u' }, /* export, unless none+none */
    };
    unsigned i;

    for (i = 0; i < N(rule4); i++) {
        if (rule4[i].iommu != iommu) continue;
        switch (rule4[i].field) {
        case 'a': return e->amd;
        case 'i': return e->intel;
        default:
            return e->amd == LIBXL_PCI_IMS_STRATEGY_NONE &&
                   e->intel == LIBXL_PCI_IMS_STRATEGY_NONE
                   ? LIBXL_PCI_IMS_STRATEGY_NONE
                   : LIBXL_PCI_IMS_STRATEGY_EXPORT;
        }
    }
    fail();
    return -1;
}

/* Rules 5 and 7: first matching row wins; REFUSE ends, else next cand. */
#define REFUSE (-2)
static const struct prereq {
    int cand, policy, iommu, intremap, hv, next;
} prereq[] = {
    { LIBXL_PCI_IMS_STRATEGY_REMAP, ANY, LIBXL_PCI_IMS_IOMMU_AMD,
      LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES,
      LIBXL_PCI_IMS_STRATEGY_REMAP },
    { LIBXL_PCI_IMS_STRATEGY_REMAP, ANY, LIBXL_PCI_IMS_IOMMU_AMD,
      LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_UNKNOWN,
      LIBXL_PCI_IMS_STRATEGY_REMAP },
    { LIBXL_PCI_IMS_STRATEGY_REMAP, P_AUTO, ANY, ANY, ANY,
      LIBXL_PCI_IMS_STRATEGY_EXPOSE },
    { LIBXL_PCI_IMS_STRATEGY_REMAP, P_NOT_AUTO, ANY, ANY, ANY, REFUSE },
    { LIBXL_PCI_IMS_STRATEGY_EXPOSE, ANY, ANY,
      LIBXL_PCI_IMS_INTREMAP_ON, ANY, LIBXL_PCI_IMS_STRATEGY_EXPOSE },
    { LIBXL_PCI_IMS_STRATEGY_EXPOSE, P_AUTO, ANY, ANY, ANY,
      LIBXL_PCI_IMS_STRATEGY_EXPORT },
    { LIBXL_PCI_IMS_STRATEGY_EXPOSE, P_NOT_AUTO, ANY, ANY, ANY, REFUSE },
    { LIBXL_PCI_IMS_STRATEGY_EXPORT, ANY, ANY, ANY, ANY,
      LIBXL_PCI_IMS_STRATEGY_EXPORT },
};

/* Rule 6 (device model) and rule 7's "known at assignment". */
static const struct outcome {
    int strategy, policy, qemu, hv, outcome;
} outcomes[] = {
    { LIBXL_PCI_IMS_STRATEGY_REMAP, ANY, ANY, LIBXL_PCI_IMS_SUPPORT_YES,
      LIBXL_PCI_IMS_OUTCOME_APPLIED },
    { LIBXL_PCI_IMS_STRATEGY_REMAP, ANY, ANY, LIBXL_PCI_IMS_SUPPORT_UNKNOWN,
      LIBXL_PCI_IMS_OUTCOME_PENDING },
    { ANY, ANY, LIBXL_PCI_IMS_SUPPORT_YES, ANY,
      LIBXL_PCI_IMS_OUTCOME_APPLIED },
    { ANY, ANY, LIBXL_PCI_IMS_SUPPORT_UNKNOWN, ANY,
      LIBXL_PCI_IMS_OUTCOME_PENDING },
    { ANY, P_AUTO, LIBXL_PCI_IMS_SUPPORT_NO, ANY,
      LIBXL_PCI_IMS_OUTCOME_DEGRADED },
    { ANY, P_NOT_AUTO, LIBXL_PCI_IMS_SUPPORT_NO, ANY,
      LIBXL_PCI_IMS_OUTCOME_REFUSED },
};

static bool policy_matches(int row, libxl_pci_ims_policy p)
{
    if (row == ANY) return true;
    if (row == P_AUTO) return p == LIBXL_PCI_IMS_POLICY_AUTO;
    if (row == P_NOT_AUTO) return p != LIBXL_PCI_IMS_POLICY_AUTO;
    return row == (int)p;
}

#define M(row, v) ((row) == ANY || (row) == (int)(v))

struct expect {
    int strategy, outcome;
    bool fell_back;
};

static struct expect expected(libxl_pci_ims_policy policy,
                              const libxl_pci_ims_db_entry *e,
                              const libxl_pci_ims_facts *f)
{
    struct expect x = { LIBXL_PCI_IMS_STRATEGY_NONE,
                        LIBXL_PCI_IMS_OUTCOME_NONE, false };
    int cand;
    unsigned i;

    /* Rules 1-4 */
    if (policy == LIBXL_PCI_IMS_POLICY_OFF ||
        f->guest_type == LIBXL_DOMAIN_TYPE_PV ||
        f->guest_type == LIBXL_DOMAIN_TYPE_PVH)
        return x;
    switch (policy) {
    case LIBXL_PCI_IMS_POLICY_EXPOSE: cand = LIBXL_PCI_IMS_STRATEGY_EXPOSE; break;
    case LIBXL_PCI_IMS_POLICY_EXPORT: cand = LIBXL_PCI_IMS_STRATEGY_EXPORT; break;
    case LIBXL_PCI_IMS_POLICY_REMAP:  cand = LIBXL_PCI_IMS_STRATEGY_REMAP; break;
    default:
        if (!e) return x;
        cand = candidate(f->iommu, e);
    }
    if (cand == LIBXL_PCI_IMS_STRATEGY_NONE)
        return x;

    /* Rules 5 and 7 */
    x.strategy = cand;
    for (;;) {
        for (i = 0; i < N(prereq); i++) {
            const struct prereq *r = &prereq[i];
            if (r->cand == cand && policy_matches(r->policy, policy) &&
                M(r->iommu, f->iommu) && M(r->intremap, f->intremap) &&
                M(r->hv, f->hv_remap))
                break;
        }
        assert_true(i < N(prereq));
        if (prereq[i].next == REFUSE) {
            x.outcome = LIBXL_PCI_IMS_OUTCOME_REFUSED;
            return x;
        }
        if (prereq[i].next == cand) break;
        cand = prereq[i].next;
        x.fell_back = true;
    }
    x.strategy = cand;

    /* Rules 6 and 7 */
    for (i = 0; i < N(outcomes); i++) {
        const struct outcome *r = &outcomes[i];
        if (M(r->strategy, cand) && policy_matches(r->policy, policy) &&
            (cand == LIBXL_PCI_IMS_STRATEGY_REMAP ? M(r->hv, f->hv_remap)
                                                   && r->hv != ANY
                                                 : M(r->qemu, f->qemu_ims)
                                                   && r->qemu != ANY))
            break;
    }
    assert_true(i < N(outcomes));
    x.outcome = outcomes[i].outcome;
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
static const libxl_pci_ims_strategy strategies[] = {
    LIBXL_PCI_IMS_STRATEGY_NONE, LIBXL_PCI_IMS_STRATEGY_EXPOSE,
    LIBXL_PCI_IMS_STRATEGY_EXPORT, LIBXL_PCI_IMS_STRATEGY_REMAP,
};

static void test_every_combination(void **state)
{
    libxl_pci_ims_db_entry entry;
    libxl_pci_ims_facts f;
    libxl_pci_ims_plan plan;
    unsigned pi, gi, ei, io, ir, qe, hv, count = 0;
    unsigned seen[5] = { 0 };

    libxl_pci_ims_db_entry_init(&entry);
    entry.vendor = 0x17cb;
    entry.device = 0x1103;
    entry.file = strdup("/etc/xen/ims-quirks.cfg");
    entry.line = 7;
    entry.name = strdup("WCN6855");

    for (pi = 0; pi < N(policies); pi++)
    for (gi = 0; gi < N(guests); gi++)
    for (ei = 0; ei <= 16; ei++)  /* 16: no match */
    for (io = 0; io < 3; io++)
    for (ir = 0; ir < 3; ir++)
    for (qe = 0; qe < 3; qe++)
    for (hv = 0; hv < 3; hv++) {
        const libxl_pci_ims_db_entry *e = ei < 16 ? &entry : NULL;
        struct expect x;

        if (e) {
            entry.amd = strategies[ei / 4];
            entry.intel = strategies[ei % 4];
        }
        libxl_pci_ims_facts_init(&f);
        f.guest_type = guests[gi];
        f.iommu = io;
        f.intremap = ir;
        f.qemu_ims = qe;
        f.hv_remap = hv;
        libxl_pci_ims_plan_init(&plan);
        {
            GC_INIT(ctx);
            libxl__ims_decide(gc, policies[pi], e, &f, &plan);
            GC_FREE;
        }
        x = expected(policies[pi], e, &f);

        if ((int)plan.strategy != x.strategy ||
            (int)plan.outcome != x.outcome)
            fail_msg("policy %s guest %s entry amd=%s intel=%s%s iommu %s "
                     "intremap %s qemu %s hv %s: got %s/%s, want %s/%s "
                     "(%s)",
                     libxl_pci_ims_policy_to_string(policies[pi]),
                     libxl_domain_type_to_string(guests[gi]),
                     libxl_pci_ims_strategy_to_string(entry.amd),
                     libxl_pci_ims_strategy_to_string(entry.intel),
                     e ? "" : " (no match)",
                     libxl_pci_ims_iommu_to_string(io),
                     libxl_pci_ims_intremap_to_string(ir),
                     libxl_pci_ims_support_to_string(qe),
                     libxl_pci_ims_support_to_string(hv),
                     libxl_pci_ims_strategy_to_string(plan.strategy),
                     libxl_pci_ims_outcome_to_string(plan.outcome),
                     libxl_pci_ims_strategy_to_string(x.strategy),
                     libxl_pci_ims_outcome_to_string(x.outcome),
                     plan.reason);

        /* Rule 8 and the plan's invariants. */
        assert_non_null(plan.reason);
        assert_true(strlen(plan.reason) > 10);
        assert_int_equal(plan.policy, policies[pi]);
        assert_int_equal(plan.applied,
                         plan.outcome == LIBXL_PCI_IMS_OUTCOME_APPLIED
                         ? plan.strategy : LIBXL_PCI_IMS_STRATEGY_NONE);
        if (x.fell_back || plan.outcome == LIBXL_PCI_IMS_OUTCOME_DEGRADED)
            assert_non_null(plan.warning);
        else
            assert_null(plan.warning);
        assert_int_equal(plan.match.matched, e != NULL);
        if (e) {
            assert_string_equal(plan.match.file, "/etc/xen/ims-quirks.cfg");
            assert_int_equal(plan.match.line, 7);
        }
        /* Non-negotiable: never expose without remapping known on. */
        if (plan.applied == LIBXL_PCI_IMS_STRATEGY_EXPOSE ||
            plan.strategy == LIBXL_PCI_IMS_STRATEGY_EXPOSE)
            if (plan.outcome != LIBXL_PCI_IMS_OUTCOME_REFUSED)
                assert_int_equal(f.intremap, LIBXL_PCI_IMS_INTREMAP_ON);

        seen[plan.outcome]++;
        count++;
        libxl_pci_ims_plan_dispose(&plan);
        libxl_pci_ims_facts_dispose(&f);
    }
    libxl_pci_ims_db_entry_dispose(&entry);

    assert_int_equal(count, 6 * 3 * 17 * 81);
    /* Every outcome is reachable. */
    for (pi = 0; pi < 5; pi++)
        assert_true(seen[pi] > 0);
    print_message("decided %u combinations: none %u applied %u degraded %u "
                  "refused %u pending %u\n", count, seen[0], seen[1],
                  seen[2], seen[3], seen[4]);
}

/*----- named scenarios, as a user meets them -----*/

static void decide_one(libxl_pci_ims_policy policy, bool matched,
                       int iommu, int intremap, int qemu,
                       libxl_pci_ims_plan *plan)
{
    libxl_pci_ims_db_entry entry;
    libxl_pci_ims_facts f;
    GC_INIT(ctx);

    libxl_pci_ims_db_entry_init(&entry);
    entry.vendor = 0x17cb;
    entry.device = 0x1103;
    entry.amd = LIBXL_PCI_IMS_STRATEGY_EXPOSE;
    entry.intel = LIBXL_PCI_IMS_STRATEGY_EXPORT;
    entry.file = strdup("ims-quirks.cfg");
    entry.line = 3;
    libxl_pci_ims_facts_init(&f);
    f.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    f.iommu = iommu;
    f.intremap = intremap;
    f.intremap_source = strdup("Xen console");
    f.qemu_ims = qemu;
    f.qemu_ims_source = strdup("QMP");
    libxl_pci_ims_plan_init(plan);
    libxl__ims_decide(gc, policy, matched ? &entry : NULL, &f, plan);
    libxl_pci_ims_facts_copy(ctx, &plan->facts, &f);
    libxl_pci_ims_facts_dispose(&f);
    libxl_pci_ims_db_entry_dispose(&entry);
    GC_FREE;
}

static void test_amd_with_remapping_exposes(void **state)
{
    libxl_pci_ims_plan plan;

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPOSE);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    assert_non_null(strstr(plan.reason, "ims-quirks.cfg:3"));
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_amd_without_remapping_falls_back_to_export(void **state)
{
    libxl_pci_ims_plan plan;

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_OFF, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPORT);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_APPLIED);
    assert_non_null(strstr(plan.warning, "interrupt remapping"));
    libxl_pci_ims_plan_dispose(&plan);

    /* Unknown counts as off; strict refuses, and says what to do. */
    decide_one(LIBXL_PCI_IMS_POLICY_STRICT, true, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_UNKNOWN, LIBXL_PCI_IMS_SUPPORT_YES,
               &plan);
    assert_int_equal(plan.outcome, LIBXL_PCI_IMS_OUTCOME_REFUSED);
    assert_int_equal(plan.applied, LIBXL_PCI_IMS_STRATEGY_NONE);
    assert_non_null(strstr(plan.reason, "not known to be on"));
    assert_non_null(strstr(plan.reason, "no-intremap"));
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_stock_qemu_degrades_or_refuses(void **state)
{
    libxl_pci_ims_plan plan;

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_INTEL,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_NO, &plan);
    assert_int_equal(plan.strategy, LIBXL_PCI_IMS_STRATEGY_EXPORT);
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

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_INTEL,
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

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_AMD,
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

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_NO, &plan);
    sinks(&plan, 3, 0, 0x30);
    assert_null(plan.qemu_props);
    assert_int_equal(plan.num_xenstore, 1);
    assert_string_equal(plan.xenstore[0].value, "none");
    libxl_pci_ims_plan_dispose(&plan);
}

static void test_plan_json_keys(void **state)
{
    libxl_pci_ims_plan plan;
    char *json;

    decide_one(LIBXL_PCI_IMS_POLICY_AUTO, true, LIBXL_PCI_IMS_IOMMU_AMD,
               LIBXL_PCI_IMS_INTREMAP_ON, LIBXL_PCI_IMS_SUPPORT_YES, &plan);
    sinks(&plan, 3, 0, 0x30);
    json = libxl_pci_ims_plan_to_json(ctx, &plan);
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
        cmocka_unit_test(test_amd_with_remapping_exposes),
        cmocka_unit_test(test_amd_without_remapping_falls_back_to_export),
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
