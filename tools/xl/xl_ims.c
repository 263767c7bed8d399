/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * xl pci-ims-* commands: IMS-like PCI devices (xl-pci-ims(5)).
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

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <libxlutil.h>

#include "xl.h"
#include "xl_utils.h"
#include "xl_parse.h"

static void print_json_array_begin(int *first)
{
    *first = 1;
    printf("[\n");
}

static void print_json_item(int *first, char *json)
{
    printf("%s%s", *first ? "" : ",\n", json);
    *first = 0;
    free(json);
}

/* "remap|export", as in the database. */
static const char *strategy_list(char *buf, size_t len,
                                 const libxl_pci_ims_strategy *l, int n)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "|" : "",
                 libxl_pci_ims_strategy_to_string(l[i]));
    return buf;
}

static void print_entry(const libxl_pci_ims_db_entry *e)
{
    char amd[64], intel[64];

    printf("%s:%d: %04x:%04x", e->file, e->line, e->vendor, e->device);
    if (e->has_subsys)
        printf(",subsys=%04x:%04x", e->subvendor, e->subdevice);
    if (e->has_class)
        printf(",class=0x%06x", e->class_code);
    printf(",amd=%s,intel=%s",
           strategy_list(amd, sizeof(amd), e->amd, e->num_amd),
           strategy_list(intel, sizeof(intel), e->intel, e->num_intel));
    if (e->name)
        printf(",name=\"%s\"", e->name);
    printf("\n");
}

int main_pci_ims_db_check(int argc, char **argv)
{
    static struct option opts[] = {
        COMMON_LONG_OPTS
    };
    libxl_pci_ims_db_entry *entries = NULL;
    libxl_pci_ims_diag *diags = NULL;
    int opt, verbose = 0, json = 0, nr_entries = 0, nr_diags = 0, rc, i;
    int errors = 0, first;

    SWITCH_FOREACH_OPT(opt, "vj", opts, "pci-ims-db-check", 0) {
    case 'v':
        verbose = 1;
        break;
    case 'j':
        json = 1;
        break;
    }

    rc = libxl_pci_ims_db_check(ctx,
                                optind < argc
                                ? (const char *const *)&argv[optind] : NULL,
                                argc - optind, &entries, &nr_entries,
                                &diags, &nr_diags);
    for (i = 0; i < nr_diags; i++) {
        const libxl_pci_ims_diag *d = &diags[i];

        if (d->line)
            fprintf(stderr, "%s:%d:%d: ", d->file, d->line, d->column);
        else    /* about the whole file: its access or its owner */
            fprintf(stderr, "%s: ", d->file);
        fprintf(stderr, "%s: %s\n",
                libxl_pci_ims_severity_to_string(d->severity), d->message);
        if (d->severity == LIBXL_PCI_IMS_SEVERITY_ERROR)
            errors++;
    }
    if (rc && !errors)
        fprintf(stderr, "pci-ims-db-check: the database could not be "
                "loaded (%d)\n", rc);

    if (json) {
        print_json_array_begin(&first);
        for (i = 0; i < nr_entries; i++)
            print_json_item(&first,
                libxl_pci_ims_db_entry_to_json(ctx, &entries[i]));
        printf("\n]\n");
    } else if (verbose) {
        for (i = 0; i < nr_entries; i++)
            print_entry(&entries[i]);
    }
    if (!json)
        fprintf(rc ? stderr : stdout, "%d entr%s, %d error%s, %d "
                "warning%s\n", nr_entries, nr_entries == 1 ? "y" : "ies",
                errors, errors == 1 ? "" : "s", nr_diags - errors,
                nr_diags - errors == 1 ? "" : "s");

    libxl_pci_ims_db_entry_list_free(entries, nr_entries);
    libxl_pci_ims_diag_list_free(diags, nr_diags);
    return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}

static const char *src(const char *s)
{
    return s && *s ? s : "no evidence";
}

static void print_facts_host(const libxl_pci_ims_facts *f)
{
    printf("  IOMMU:               %s (%s)\n",
           libxl_pci_ims_iommu_to_string(f->iommu), src(f->iommu_source));
    printf("  interrupt remapping: %s (%s)%s\n",
           libxl_pci_ims_intremap_to_string(f->intremap),
           src(f->intremap_source),
           f->intremap == LIBXL_PCI_IMS_INTREMAP_UNKNOWN
           ? " -- counts as off" : "");
}

/* What the guest must do, as a user reads it. */
static const char *guest_needs_words(const libxl_pci_ims_plan *p)
{
    if (p->applied == LIBXL_PCI_IMS_STRATEGY_NONE)
        return p->outcome == LIBXL_PCI_IMS_OUTCOME_PENDING
               ? "depends on the strategy (pending)"
               : "nothing can help without a strategy";
    switch (p->guest_needs) {
    case LIBXL_PCI_IMS_GUEST_NEEDS_NOTHING:
        return "nothing: an unmodified driver gets its interrupts";
    case LIBXL_PCI_IMS_GUEST_NEEDS_MSI_READBACK:
        return "a driver that reads both MSI address and data back from "
               "config space (ath11k/ath12k take the data from msi_desc "
               "and are not served)";
    case LIBXL_PCI_IMS_GUEST_NEEDS_EXPORT_READER:
        return "a driver that reads device/pci-ims/<slot> in xenstore (the "
               "patched ath11k/ath12k)";
    default:
        return "unknown";
    }
}

static void print_plan(const libxl_pci_ims_plan *p)
{
    const libxl_pci_ims_identity *id = &p->identity;
    const libxl_pci_ims_facts *f = &p->facts;
    char amd[64], intel[64];
    int i;

    printf("Device %s: %04x:%04x subsystem %04x:%04x class %06x rev %02x\n",
           p->bdf, id->vendor, id->device, id->subvendor, id->subdevice,
           id->class_code, id->revision);
    if (id->msi_offset)
        printf("  MSI at 0x%02x: %s, %s, %u/%u vectors, %s, address "
               "0x%"PRIx64" data 0x%04x\n", id->msi_offset,
               id->msi_64bit ? "64-bit" : "32-bit",
               id->msi_maskable ? "maskable" : "not maskable",
               id->msi_vectors_enabled, id->msi_vectors_capable,
               id->msi_enabled ? "enabled" : "disabled",
               id->msi_address, id->msi_data);
    else
        printf("  no MSI capability\n");
    printf("  MSI-X: %s\n", id->msix ? "yes" : "no");
    if (id->source)
        printf("  (read from %s)\n", id->source);

    if (p->match.matched)
        printf("Database: %s:%d%s%s%s amd=%s intel=%s\n", p->match.file,
               p->match.line, p->match.name ? " \"" : "",
               p->match.name ? p->match.name : "",
               p->match.name ? "\"" : "",
               strategy_list(amd, sizeof(amd), p->match.amd,
                             p->match.num_amd),
               strategy_list(intel, sizeof(intel), p->match.intel,
                             p->match.num_intel));
    else
        printf("Database: no entry for this device\n");

    printf("Facts:\n");
    print_facts_host(f);
    printf("  device model x-ims:  %s (%s)\n",
           libxl_pci_ims_support_to_string(f->qemu_ims),
           src(f->qemu_ims_source));
    /* Asked only when a plan needs the hypervisor (remap). */
    if (f->hv_remap_source)
        printf("  Xen IMS remap:       %s (%s)\n",
               libxl_pci_ims_support_to_string(f->hv_remap),
               f->hv_remap_source);
    printf("  guest:               %s%s\n",
           libxl_domain_type_to_string(f->guest_type),
           f->stubdomain ? ", device model in a stub domain" : "");
    if (f->guest_msi_source)
        printf("  guest MSIs:          %s (%s)\n",
               libxl_pci_ims_guest_msi_to_string(f->guest_msi),
               f->guest_msi_source);

    printf("Plan:\n");
    printf("  policy:   %s\n", libxl_pci_ims_policy_to_string(p->policy));
    printf("  strategy: %s\n", libxl_pci_ims_strategy_to_string(p->strategy));
    printf("  outcome:  %s\n", libxl_pci_ims_outcome_to_string(p->outcome));
    for (i = 0; i < p->num_candidates; i++)
        printf("  candidate %d: %s: %s%s%s\n", i + 1,
               libxl_pci_ims_strategy_to_string(p->candidates[i].strategy),
               libxl_pci_ims_verdict_to_string(p->candidates[i].verdict),
               p->candidates[i].reason ? ": " : "",
               p->candidates[i].reason ? p->candidates[i].reason : "");
    printf("  guest needs: %s\n", guest_needs_words(p));
    for (i = 0; p->qemu_props && p->qemu_props[i]; i += 2)
        printf("  QEMU:       %s=%s\n", p->qemu_props[i], p->qemu_props[i + 1]);
    for (i = 0; i < p->num_xenstore; i++)
        printf("  xenstore:   %s = \"%s\" (%s)\n", p->xenstore[i].path,
               p->xenstore[i].value, p->xenstore[i].perms);
    for (i = 0; p->hypervisor && p->hypervisor[i]; i++)
        printf("  hypervisor: %s\n", p->hypervisor[i]);
    printf("Why: %s\n", p->reason);
    if (p->warning)
        printf("Warning: %s\n", p->warning);
}

int main_pci_ims_explain(int argc, char **argv)
{
    static struct option opts[] = {
        {"pv", 0, 0, 0x100},
        {"hvm", 0, 0, 0x101},
        {"device-model", 1, 0, 'm'},
        COMMON_LONG_OPTS
    };
    libxl_domain_type type = LIBXL_DOMAIN_TYPE_HVM;
    libxl_pci_ims_policy policy = LIBXL_PCI_IMS_POLICY_DEFAULT;
    uint32_t domid = INVALID_DOMID;
    const char *domain = NULL, *device_model = NULL;
    libxl_device_pci pci;
    libxl_pci_ims_plan plan;
    int opt, json = 0, rc = EXIT_FAILURE;

    SWITCH_FOREACH_OPT(opt, "jp:d:m:", opts, "pci-ims-explain", 1) {
    case 'm':
        device_model = optarg;
        break;
    case 'j':
        json = 1;
        break;
    case 'p':
        if (libxl_pci_ims_policy_from_string(optarg, &policy) ||
            policy == LIBXL_PCI_IMS_POLICY_DEFAULT) {
            fprintf(stderr, "pci-ims-explain: unknown policy \"%s\" "
                    "(expected off, auto, strict, expose, export or "
                    "remap)\n", optarg);
            return EXIT_FAILURE;
        }
        break;
    case 'd':
        domain = optarg;
        break;
    case 0x100:
        type = LIBXL_DOMAIN_TYPE_PV;
        break;
    case 0x101:
        type = LIBXL_DOMAIN_TYPE_HVM;
        break;
    }

    libxl_device_pci_init(&pci);
    libxl_pci_ims_plan_init(&plan);
    if (optind != argc - 1) {
        help("pci-ims-explain");
        goto out;
    }
    if (xlu_pci_parse_bdf(NULL, &pci, argv[optind])) {
        fprintf(stderr, "pci-ims-explain: \"%s\" is not a PCI address "
                "(expected [DDDD:]BB:DD.F)\n", argv[optind]);
        goto out;
    }
    pci.ims_policy = policy;
    if (domain) {
        if (xl_offline) {
            fprintf(stderr, "pci-ims-explain: -d needs Xen running\n");
            goto out;
        }
        domid = find_domain(domain);
    }

    if (libxl_pci_ims_explain(ctx, domid, type, device_model, &pci,
                              &plan, NULL)) {
        fprintf(stderr, "pci-ims-explain: no plan for %s (see the "
                "messages above)\n", argv[optind]);
        goto out;
    }

    if (json) {
        char *s = libxl_pci_ims_plan_to_json(ctx, &plan);
        printf("%s\n", s);
        free(s);
    } else {
        print_plan(&plan);
    }
    rc = EXIT_SUCCESS;

 out:
    libxl_pci_ims_plan_dispose(&plan);
    libxl_device_pci_dispose(&pci);
    return rc;
}

int main_pci_ims_facts(int argc, char **argv)
{
    static struct option opts[] = {
        {"record", 0, 0, 0x100},
        COMMON_LONG_OPTS
    };
    libxl_pci_ims_facts facts;
    int opt, json = 0, record = 0, rc, i;

    SWITCH_FOREACH_OPT(opt, "j", opts, "pci-ims-facts", 0) {
    case 'j':
        json = 1;
        break;
    case 0x100:
        record = 1;
        break;
    }

    libxl_pci_ims_facts_init(&facts);
    rc = record ? libxl_pci_ims_record_host_facts(ctx, NULL, &facts)
                : libxl_pci_ims_host_facts(ctx, &facts);
    if (rc) {
        fprintf(stderr, "pci-ims-facts: %s failed (see the messages "
                "above)\n", record ? "recording the host facts"
                                   : "reading the host facts");
        libxl_pci_ims_facts_dispose(&facts);
        return EXIT_FAILURE;
    }

    if (json) {
        char *s = libxl_pci_ims_facts_to_json(ctx, &facts);
        printf("%s\n", s);
        free(s);
    } else {
        printf("Host facts%s:\n", xl_offline ? " (Xen is not running)" : "");
        print_facts_host(&facts);
        if (facts.evidence && facts.evidence[0]) {
            printf("Evidence:\n");
            for (i = 0; facts.evidence[i]; i++)
                printf("  %s\n", facts.evidence[i]);
        }
    }
    libxl_pci_ims_facts_dispose(&facts);
    return EXIT_SUCCESS;
}

/*
 * The domain a device given to DOMID serves: a stub domain holds its
 * guest's devices (libxl records them only in the stub domain's backend).
 */
static uint32_t served_domain(uint32_t domid)
{
    uint32_t target;

    return libxl_is_stubdom(ctx, domid, &target) ? target : domid;
}

/* "dom N" for a device passed through to domain N, else "no". */
static const char *assigned_to(const char *bdf, const libxl_dominfo *doms,
                               int nr_doms, char *buf, size_t len)
{
    const char *answer = "no";
    libxl_device_pci dev;

    libxl_device_pci_init(&dev);
    if (xlu_pci_parse_bdf(NULL, &dev, bdf))
        goto out;
    for (int i = 0; i < nr_doms && answer != buf; i++) {
        libxl_device_pci *pcis;
        int n = 0;

        pcis = libxl_device_pci_list(ctx, doms[i].domid, &n);
        for (int j = 0; j < n; j++) {
            if (pcis[j].domain == dev.domain && pcis[j].bus == dev.bus &&
                pcis[j].dev == dev.dev && pcis[j].func == dev.func) {
                snprintf(buf, len, "dom %u", served_domain(doms[i].domid));
                answer = buf;
            }
        }
        libxl_device_pci_list_free(pcis, n);
    }
 out:
    libxl_device_pci_dispose(&dev);
    return answer;
}

int main_pci_ims_list(int argc, char **argv)
{
    libxl_pci_ims_plan *host = NULL, *applied;
    libxl_dominfo *dominfo = NULL;
    int opt, json = 0, nr_host = 0, nr_doms = 0, nr_applied, i, j, first;

    SWITCH_FOREACH_OPT(opt, "j", NULL, "pci-ims-list", 0) {
    case 'j':
        json = 1;
        break;
    }

    host = libxl_pci_ims_list_host(ctx, &nr_host);
    if (!xl_offline)
        dominfo = libxl_list_domain(ctx, &nr_doms);
    if (json) {
        printf("{\n\"host\": ");
        print_json_array_begin(&first);
        for (i = 0; i < nr_host; i++)
            print_json_item(&first, libxl_pci_ims_plan_to_json(ctx,
                                                               &host[i]));
        printf("\n],\n\"domains\": {");
    } else {
        printf("%-14s %-9s %-10s %-10s %-9s %s\n", "Device", "ID",
               "Assignable", "Strategy", "Outcome", "Database");
        for (i = 0; i < nr_host; i++) {
            const libxl_pci_ims_plan *p = &host[i];
            char id[16], owner[16];

            snprintf(id, sizeof(id), "%04x:%04x", p->identity.vendor,
                     p->identity.device);
            printf("%-14s %-9s %-10s %-10s %-9s %s:%d\n", p->bdf, id,
                   p->assignable ? "yes"
                   : assigned_to(p->bdf, dominfo, nr_doms, owner,
                                 sizeof(owner)),
                   libxl_pci_ims_strategy_to_string(p->strategy),
                   libxl_pci_ims_outcome_to_string(p->outcome),
                   p->match.file, p->match.line);
        }
        if (!nr_host)
            printf("(no host device matches the IMS database)\n");
    }

    for (i = 0, first = 1; i < nr_doms; i++) {
        applied = libxl_pci_ims_list_applied(ctx, dominfo[i].domid,
                                             &nr_applied);
        if (!nr_applied) continue;
        if (json) {
            int f2;

            printf("%s\n\"%u\": ", first ? "" : ",",
                   served_domain(dominfo[i].domid));
            first = 0;
            print_json_array_begin(&f2);
            for (j = 0; j < nr_applied; j++)
                print_json_item(&f2, libxl_pci_ims_plan_to_json(ctx,
                                                           &applied[j]));
            printf("\n]");
        } else {
            printf("\nDomain %u:\n", served_domain(dominfo[i].domid));
            for (j = 0; j < nr_applied; j++)
                printf("  %-14s policy %-7s applied %s\n", applied[j].bdf,
                       libxl_pci_ims_policy_to_string(applied[j].policy),
                       libxl_pci_ims_strategy_to_string(applied[j].applied));
        }
        libxl_pci_ims_plan_list_free(applied, nr_applied);
    }
    if (json)
        printf("\n}\n}\n");
    else if (xl_offline)
        printf("\n(Xen is not running: no domains)\n");

    if (dominfo)
        libxl_dominfo_list_free(dominfo, nr_doms);
    libxl_pci_ims_plan_list_free(host, nr_host);
    return EXIT_SUCCESS;
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
