/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS-like PCI devices: the dry-run queries (xl pci-ims-explain and
 * pci-ims-list): plans made without attaching anything.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

#define IMS_PROBE_TIMEOUT_MS 10000

/*
 * What the device model says on fd until it closes it (NUL-terminated,
 * gc-allocated), or NULL; killed when it says nothing for
 * IMS_PROBE_TIMEOUT_MS.
 */
static char *read_answer(libxl__gc *gc, int fd, const char *binary,
                         pid_t pid)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
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
        r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += r;
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

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
    char *buf;
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

    buf = read_answer(gc, out[0], binary, pid);
    if (buf)
        f->qemu_ims = libxl__ims_qmp_transcript_support(gc, buf);
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

/*
 * The facts of the guest: a running domain's (its type, its device
 * model, its MSIs), or those of a new domain of guest_type.
 */
static int explain_guest_facts(libxl__gc *gc, uint32_t domid,
                               libxl_domain_type guest_type,
                               const char *device_model, uint32_t *dm_domid,
                               libxl_pci_ims_facts *f)
{
    int rc;

    if (domid == INVALID_DOMID) {
        if (guest_type == LIBXL_DOMAIN_TYPE_INVALID)
            guest_type = LIBXL_DOMAIN_TYPE_HVM;
        if (guest_type == LIBXL_DOMAIN_TYPE_HVM) {
            probe_dm_binary(gc, device_model ? device_model
                                             : QEMU_XEN_PATH, f);
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
    *dm_domid = libxl_get_stubdom_id(CTX, domid);
    f->stubdomain = *dm_domid != 0;
    if (guest_type == LIBXL_DOMAIN_TYPE_HVM) {
        rc = libxl__ims_probe_domain_dm(gc, domid, f);
        if (rc) return rc;
        libxl__ims_guest_msi(gc, domid, false, f);
    }
    f->guest_type = guest_type;
    return 0;
}

int libxl_pci_ims_explain(libxl_ctx *ctx, uint32_t domid,
                          libxl_domain_type guest_type,
                          const char *device_model,
                          const libxl_device_pci *pci,
                          libxl_pci_ims_plan *plan)
{
    GC_INIT(ctx);
    bool have_domain = domid != INVALID_DOMID;
    libxl_pci_ims_policy recorded = LIBXL_PCI_IMS_POLICY_DEFAULT;
    uint32_t vdevfn = pci->vdevfn, attached_vdevfn = 0;
    uint32_t dm_domid = 0;
    libxl__ims_env env;
    libxl__ims_request rq = {
        .env = &env, .pci = pci, .policy = pci->ims_policy,
        .domid = have_domain ? domid : DOMID_INVALID,
        .ask_xen = CTX->xch != NULL,
    };
    int rc;

    libxl_pci_ims_plan_dispose(plan);
    libxl_pci_ims_plan_init(plan);
    plan->bdf = libxl__sprintf(NOGC, PCI_BDF, pci->domain,
                               pci->bus, pci->dev, pci->func);

    libxl__ims_env_read(gc, &env, false);
    rc = libxl__ims_plan_gather(gc, &rq, plan);
    if (rc) goto out;
    rc = explain_guest_facts(gc, domid, guest_type, device_model, &dm_domid,
                             &plan->facts);
    if (rc) goto out;

    if (have_domain)
        rq.attached = libxl__ims_attached_device(gc, domid, pci, &recorded,
                                                 &attached_vdevfn);
    if (rq.attached && rq.policy == LIBXL_PCI_IMS_POLICY_DEFAULT)
        rq.policy = recorded;
    rq.policy = libxl__ims_effective_policy(rq.policy);
    libxl__ims_plan_decide(gc, &rq, plan);

    /* The slot the guest sees it in, unless the caller names one. */
    if (!vdevfn && rq.attached)
        vdevfn = attached_vdevfn;
    libxl__ims_plan_sinks(gc, plan, pci, have_domain ? domid : 0, dm_domid,
                          vdevfn);
    rc = 0;

 out:
    GC_FREE;
    return rc;
}

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
