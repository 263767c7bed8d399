/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS-like PCI devices: the dry-run queries (xl pci-ims-explain and
 * pci-ims-list): plans made without attaching anything.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

/*----- the device model binary, asked over QMP -----*/

#define IMS_PROBE_TIMEOUT_MS 10000
/* The answer is a few KiB; more means the binary is not a device model. */
#define IMS_PROBE_ANSWER_MAX (1024 * 1024)

typedef struct ims_dm_probe ims_dm_probe;
typedef void ims_dm_probe_callback(libxl__egc *egc, ims_dm_probe *dp);

/*
 * Dry run without a domain: the device model binary itself is asked, in
 * a child started with no machine and no accelerator (so this works
 * where Xen is not running), whether xen-pci-passthrough has x-ims.
 * The callback finds facts->qemu_ims and qemu_ims_source filled in.
 */
struct ims_dm_probe {
    /* caller fills in */
    libxl__ao *ao;
    const char *binary;
    libxl_pci_ims_facts *facts;
    ims_dm_probe_callback *callback;
    /* private */
    libxl__ev_child child;
    libxl__ev_fd answer;
    libxl__ev_time timeout;
    libxl__carefd *answer_fd;
    char *buf;
    size_t len, cap;
    bool discard; /* killed, or said too much: the answer is not used */
};

static void dm_probe_done(libxl__egc *egc, ims_dm_probe *dp)
{
    STATE_AO_GC(dp->ao);
    libxl_pci_ims_facts *f = dp->facts;

    if (libxl__ev_child_inuse(&dp->child) ||
        libxl__ev_fd_isregistered(&dp->answer))
        return;
    libxl__ev_time_deregister(gc, &dp->timeout);

    if (dp->buf && !dp->discard) {
        dp->buf[dp->len] = '\0';
        f->qemu_ims = libxl__ims_qmp_transcript_support(gc, dp->buf);
    }
    /* Unless the binary could not even be started (the reason is set). */
    if (!f->qemu_ims_source)
        f->qemu_ims_source = libxl__sprintf(NOGC,
            "QMP device-list-properties of %s%s", dp->binary,
            f->qemu_ims == LIBXL_PCI_IMS_SUPPORT_UNKNOWN
            ? " (no usable answer)" : "");
    dp->callback(egc, dp);
}

/* Stops listening and kills the child; the answer so far is dropped. */
static void dm_probe_stop(libxl__egc *egc, ims_dm_probe *dp)
{
    STATE_AO_GC(dp->ao);

    dp->discard = true;
    libxl__ev_fd_deregister(gc, &dp->answer);
    libxl__carefd_close(dp->answer_fd);
    dp->answer_fd = NULL;
    if (libxl__ev_child_inuse(&dp->child))
        kill(dp->child.pid, SIGKILL);
    dm_probe_done(egc, dp);
}

static void dm_probe_readable(libxl__egc *egc, libxl__ev_fd *ev, int fd,
                              short events, short revents)
{
    ims_dm_probe *dp = CONTAINER_OF(ev, *dp, answer);
    STATE_AO_GC(dp->ao);
    ssize_t r;

    for (;;) {
        if (dp->cap - dp->len < 4096) {
            if (dp->cap >= IMS_PROBE_ANSWER_MAX) {
                LOG(WARN, "%s: more than %d bytes on QMP: not a device "
                    "model's answer", dp->binary, IMS_PROBE_ANSWER_MAX);
                dm_probe_stop(egc, dp);
                return;
            }
            dp->cap = dp->cap ? dp->cap * 2 : 16384;
            dp->buf = libxl__realloc(gc, dp->buf, dp->cap);
        }
        r = read(fd, dp->buf + dp->len, dp->cap - dp->len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (r < 0) LOGE(WARN, "reading the QMP answer of %s", dp->binary);
        if (r <= 0) break;
        dp->len += r;
    }
    libxl__ev_fd_deregister(gc, &dp->answer);
    libxl__carefd_close(dp->answer_fd);
    dp->answer_fd = NULL;
    dm_probe_done(egc, dp);
}

static void dm_probe_timedout(libxl__egc *egc, libxl__ev_time *ev,
                              const struct timeval *requested_abs, int rc)
{
    ims_dm_probe *dp = CONTAINER_OF(ev, *dp, timeout);
    STATE_AO_GC(dp->ao);

    if (rc == ERROR_TIMEDOUT)
        LOG(WARN, "%s did not answer QMP in %d ms", dp->binary,
            IMS_PROBE_TIMEOUT_MS);
    dm_probe_stop(egc, dp);
}

static void dm_probe_exited(libxl__egc *egc, libxl__ev_child *child,
                            pid_t pid, int status)
{
    ims_dm_probe *dp = CONTAINER_OF(child, *dp, child);
    STATE_AO_GC(dp->ao);

    if (status && !dp->discard)
        libxl_report_child_exitstatus(CTX, XTL_DEBUG, dp->binary, pid,
                                      status);
    dm_probe_done(egc, dp);
}

static void dm_probe_start(libxl__egc *egc, ims_dm_probe *dp)
{
    STATE_AO_GC(dp->ao);
    /* Less than PIPE_BUF: written whole into the empty pipe. */
    static const char request[] =
        "{\"execute\":\"qmp_capabilities\"}\n"
        "{\"execute\":\"device-list-properties\","
        "\"arguments\":{\"typename\":\"xen-pci-passthrough\"},"
        "\"id\":\"ims\"}\n"
        "{\"execute\":\"quit\"}\n";
    const char *args[] = {
        dp->binary, "-machine", "none", "-accel", "qtest", "-nodefaults",
        "-display", "none", "-qmp", "stdio", NULL };
    libxl__carefd *dm_in = NULL, *dm_out = NULL, *to_dm = NULL;
    int in[2], out[2], r;
    pid_t pid;

    libxl__ev_child_init(&dp->child);
    libxl__ev_fd_init(&dp->answer);
    libxl__ev_time_init(&dp->timeout);
    dp->answer_fd = NULL;
    dp->buf = NULL;
    dp->len = dp->cap = 0;
    dp->discard = false;
    dp->facts->qemu_ims = LIBXL_PCI_IMS_SUPPORT_UNKNOWN;

    if (access(dp->binary, X_OK)) {
        dp->facts->qemu_ims_source = libxl__sprintf(NOGC,
            "device model %s: %s", dp->binary, strerror(errno));
        goto out;
    }

    libxl__carefd_begin();
    r = libxl_pipe(CTX, in);
    if (!r) {
        dm_in = libxl__carefd_record(CTX, in[0]);
        to_dm = libxl__carefd_record(CTX, in[1]);
        r = libxl_pipe(CTX, out);
        if (!r) {
            dp->answer_fd = libxl__carefd_record(CTX, out[0]);
            dm_out = libxl__carefd_record(CTX, out[1]);
        }
    }
    libxl__carefd_unlock();
    if (r) goto out;

    if (write(libxl__carefd_fd(to_dm), request, sizeof(request) - 1)
        != sizeof(request) - 1) {
        LOGE(WARN, "writing the QMP request to %s", dp->binary);
        goto out;
    }
    libxl__carefd_close(to_dm);
    to_dm = NULL;

    pid = libxl__ev_child_fork(gc, &dp->child, dm_probe_exited);
    if (pid < 0) goto out;
    if (!pid) {
        int null = open("/dev/null", O_WRONLY);

        libxl__exec(gc, libxl__carefd_fd(dm_in), libxl__carefd_fd(dm_out),
                    null, dp->binary, (char *const *)args, NULL);
    }
    libxl__carefd_close(dm_in);
    libxl__carefd_close(dm_out);
    dm_in = dm_out = NULL;

    if (libxl_fd_set_nonblock(CTX, libxl__carefd_fd(dp->answer_fd), 1) ||
        libxl__ev_fd_register(gc, &dp->answer, dm_probe_readable,
                              libxl__carefd_fd(dp->answer_fd), POLLIN) ||
        libxl__ev_time_register_rel(dp->ao, &dp->timeout, dm_probe_timedout,
                                    IMS_PROBE_TIMEOUT_MS)) {
        dm_probe_stop(egc, dp);
        return;
    }
    return;

 out:
    libxl__carefd_close(dm_in);
    libxl__carefd_close(dm_out);
    libxl__carefd_close(to_dm);
    libxl__carefd_close(dp->answer_fd);
    dp->answer_fd = NULL;
    dm_probe_done(egc, dp);
}

/*----- xl pci-ims-explain -----*/

typedef struct {
    libxl__ao *ao;
    libxl_device_pci pci;
    libxl__ims_env env;
    libxl__ims_request rq;
    libxl_pci_ims_plan *plan;
    uint32_t domid, dm_domid;
    bool probing_domain_dm; /* the binary is the domain's device model */
    ims_dm_probe probe;
} ims_explain_state;

/*
 * The device model of a running domain, for a dry run: the answer its
 * QMP gave at an earlier attach (cached in xenstore), else the binary
 * the domain was started with, asked the same way in a throwaway QEMU
 * (*binary_r, NULL when there is nothing to ask).  A stub domain's
 * device model can only be asked at attach.
 */
static int domain_dm_binary(libxl__gc *gc, uint32_t domid,
                            libxl_pci_ims_facts *f, const char **binary_r)
{
    libxl_domain_config d_config;
    const char *cached;
    int rc;

    libxl_domain_config_init(&d_config);
    *binary_r = NULL;
    f->qemu_ims = LIBXL_PCI_IMS_SUPPORT_UNKNOWN;

    rc = libxl__xs_read_checked(gc, XBT_NULL,
                                libxl__ims_dm_cache_path(gc, domid), &cached);
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
    *binary_r = libxl__strdup(gc, d_config.b_info.device_model ?:
                                  QEMU_XEN_PATH);

 out:
    libxl_domain_config_dispose(&d_config);
    return rc;
}

/*
 * The facts of the guest: a running domain's (its type, its device
 * model, its MSIs), or those of a new domain of guest_type.  *binary_r
 * is the device model binary still to be asked, or NULL.
 */
static int explain_guest_facts(libxl__gc *gc, ims_explain_state *es,
                               libxl_domain_type guest_type,
                               const char *device_model,
                               const char **binary_r)
{
    libxl_pci_ims_facts *f = &es->plan->facts;
    uint32_t domid = es->domid;
    int rc;

    *binary_r = NULL;
    if (domid == INVALID_DOMID) {
        if (guest_type == LIBXL_DOMAIN_TYPE_INVALID)
            guest_type = LIBXL_DOMAIN_TYPE_HVM;
        if (guest_type == LIBXL_DOMAIN_TYPE_HVM) {
            *binary_r = device_model ? libxl__strdup(gc, device_model)
                                     : QEMU_XEN_PATH;
            libxl__ims_guest_msi_new_domain(f);
        }
        f->guest_type = guest_type;
        return 0;
    }
    if (!CTX->xch) {
        LOG(ERROR, "domain %u: Xen is not running here", domid);
        return ERROR_INVAL;
    }
    guest_type = libxl__domain_type(gc, domid);
    if (guest_type == LIBXL_DOMAIN_TYPE_INVALID) {
        LOG(ERROR, "domain %u does not exist", domid);
        return ERROR_INVAL;
    }
    es->dm_domid = libxl_get_stubdom_id(CTX, domid);
    f->stubdomain = es->dm_domid != 0;
    if (guest_type == LIBXL_DOMAIN_TYPE_HVM) {
        rc = domain_dm_binary(gc, domid, f, binary_r);
        if (rc) return rc;
        es->probing_domain_dm = *binary_r != NULL;
        libxl__ims_guest_msi(gc, domid, false, f);
    }
    f->guest_type = guest_type;
    return 0;
}

/* Decides with every fact gathered, and completes the ao. */
static void explain_decide(libxl__egc *egc, ims_explain_state *es, int rc)
{
    STATE_AO_GC(es->ao);
    libxl__ims_request *rq = &es->rq;
    libxl_pci_ims_plan *plan = es->plan;
    bool have_domain = es->domid != INVALID_DOMID;
    libxl_pci_ims_policy recorded = LIBXL_PCI_IMS_POLICY_DEFAULT;
    uint32_t vdevfn = es->pci.vdevfn, attached_vdevfn = 0;

    if (rc) goto out;

    if (have_domain)
        rq->attached = libxl__ims_attached_device(gc, es->domid, &es->pci,
                                                  &recorded,
                                                  &attached_vdevfn);
    if (rq->attached && rq->policy == LIBXL_PCI_IMS_POLICY_DEFAULT)
        rq->policy = recorded;
    rq->policy = libxl__ims_effective_policy(rq->policy);
    libxl__ims_plan_decide(gc, rq, plan);

    /* The slot the guest sees it in, unless the caller names one. */
    if (!vdevfn && rq->attached)
        vdevfn = attached_vdevfn;
    libxl__ims_plan_sinks(gc, plan, &es->pci, have_domain ? es->domid : 0,
                          es->dm_domid, vdevfn);

 out:
    libxl_device_pci_dispose(&es->pci);
    libxl__ao_complete(egc, es->ao, rc);
}

static void explain_dm_answered(libxl__egc *egc, ims_dm_probe *dp)
{
    ims_explain_state *es = CONTAINER_OF(dp, *es, probe);
    STATE_AO_GC(es->ao);
    libxl_pci_ims_facts *f = &es->plan->facts;

    if (es->probing_domain_dm) {
        char *how = f->qemu_ims_source;

        f->qemu_ims_source = libxl__sprintf(NOGC, "%s (the device model of "
            "domain %u, probed as a binary)", how ? how : dp->binary,
            es->domid);
        free(how);
    }
    explain_decide(egc, es, 0);
}

int libxl_pci_ims_explain(libxl_ctx *ctx, uint32_t domid,
                          libxl_domain_type guest_type,
                          const char *device_model,
                          const libxl_device_pci *pci,
                          libxl_pci_ims_plan *plan,
                          const libxl_asyncop_how *ao_how)
{
    AO_CREATE(ctx, domid, ao_how);
    ims_explain_state *es;
    const char *binary = NULL;
    int rc;

    GCNEW(es);
    es->ao = ao;
    es->plan = plan;
    es->domid = domid;
    libxl_device_pci_init(&es->pci);
    libxl_device_pci_copy(CTX, &es->pci, pci);
    es->rq = (libxl__ims_request){
        .env = &es->env, .pci = &es->pci, .policy = pci->ims_policy,
        .domid = domid != INVALID_DOMID ? domid : DOMID_INVALID,
        .ask_xen = CTX->xch != NULL,
    };

    libxl_pci_ims_plan_dispose(plan);
    libxl_pci_ims_plan_init(plan);
    plan->bdf = libxl__sprintf(NOGC, PCI_BDF, pci->domain,
                               pci->bus, pci->dev, pci->func);

    libxl__ims_env_read(gc, &es->env, false);
    rc = libxl__ims_plan_gather(gc, &es->rq, plan);
    if (rc) goto out;
    rc = explain_guest_facts(gc, es, guest_type, device_model, &binary);
    if (rc) goto out;
    if (binary) {
        es->probe.ao = ao;
        es->probe.binary = binary;
        es->probe.facts = &plan->facts;
        es->probe.callback = explain_dm_answered;
        dm_probe_start(egc, &es->probe);
        return AO_INPROGRESS;
    }

 out:
    explain_decide(egc, es, rc);
    return AO_INPROGRESS;
}

/* list with one more device, dom:bus:dev.func, at its end (*n counts). */
static libxl_device_pci *add_host_device(libxl__gc *gc,
                                         libxl_device_pci *list, int *n,
                                         unsigned dom, unsigned bus,
                                         unsigned dev, unsigned func)
{
    list = libxl__realloc(gc, list, sizeof(*list) * (*n + 1));
    libxl_device_pci_init(&list[*n]);
    list[*n].domain = dom;
    list[*n].bus = bus;
    list[*n].dev = dev;
    list[*n].func = func;
    (*n)++;
    return list;
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
            list = add_host_device(gc, list, &n, dom, bus, dev, func);
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
            list = add_host_device(gc, list, &n, dom, bus, dev, func);
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
    libxl__ims_request rq = { 0 };
    int nr_host = 0, nr_assignable = 0, n = 0;

    *num = 0;
    libxl__ims_env_read(gc, &env, false);
    if (scan_host_pci(gc, &env, &host, &nr_host)) goto out;
    /* The database and the host facts once for all devices; Xen is not
     * asked (a list for a new domain, without a device in particular). */
    libxl__ims_db_load_env(gc, &env, NULL, 0, true, &db);
    libxl__ims_db_log_problems(gc, db);
    rq.env = &env;
    rq.policy = LIBXL_PCI_IMS_POLICY_AUTO;
    rq.domid = DOMID_INVALID;
    rq.db_error = libxl__ims_db_first_error(gc, db);
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
        p->bdf = libxl__sprintf(NOGC, PCI_BDF, host[i].domain,
                                host[i].bus, host[i].dev, host[i].func);
        p->identity = id;
        p->assignable = pci_in(assignable, nr_assignable, &host[i]);
        if (n == 1)
            libxl__ims_host_facts_env(gc, &env, &p->facts);
        else
            libxl_pci_ims_facts_copy(CTX, &p->facts, &plans[0].facts);
        p->facts.guest_type = LIBXL_DOMAIN_TYPE_HVM;
        libxl__ims_guest_msi_new_domain(&p->facts);
        rq.pci = &host[i];
        rq.entry = e;
        libxl__ims_plan_decide(gc, &rq, p);
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
        p->bdf = libxl__sprintf(NOGC, PCI_BDF, pcis[i].domain,
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

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
