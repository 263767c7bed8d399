/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS-like PCI devices: pure parsers of the host facts a dom0 can see
 * (Xen's console log and command line, ACPI tables, CPU vendor) and of
 * the record written at boot.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

#define IMS_EVIDENCE_MAX      64

/* Appends an evidence line (NOGC), once, up to IMS_EVIDENCE_MAX lines. */
void libxl__ims_facts_add_evidence(libxl__gc *gc, libxl_pci_ims_facts *f,
                                   const char *s)
{
    int i, n = libxl_string_list_length(&f->evidence);

    for (i = 0; i < n; i++)
        if (!strcmp(f->evidence[i], s)) return;
    if (n >= IMS_EVIDENCE_MAX) return;

    f->evidence = libxl__realloc(NOGC, f->evidence,
                                 (n + 2) * sizeof(*f->evidence));
    f->evidence[n] = libxl__strdup(NOGC, s);
    f->evidence[n + 1] = NULL;
}

/* "source: detail", or the detail alone when there is no source. */
static const char *describe(libxl__gc *gc, const char *source,
                            const char *detail)
{
    return source && *source ? GCSPRINTF("%s: %s", source, detail) : detail;
}

static void set_iommu(libxl__gc *gc, libxl_pci_ims_facts *f,
                      libxl_pci_ims_iommu iommu, const char *why)
{
    f->iommu = iommu;
    libxl__ims_set_string(gc, &f->iommu_source, why);
    libxl__ims_facts_add_evidence(gc, f, why);
}

static void set_intremap(libxl__gc *gc, libxl_pci_ims_facts *f,
                         libxl_pci_ims_intremap intremap, const char *why)
{
    f->intremap = intremap;
    libxl__ims_set_string(gc, &f->intremap_source, why);
    libxl__ims_facts_add_evidence(gc, f, why);
}

/*
 * The next line of text at *pos: [*line, *line + *len), without its line
 * end (LF, CRLF or CR: serial captures have all three) and trailing
 * blanks.  Advances *pos; false at the end.
 */
static bool next_line(const char **pos, const char **line, size_t *len)
{
    const char *p = *pos, *eol;

    if (!p || !*p) return false;
    eol = p + strcspn(p, "\r\n");
    *line = p;
    *len = eol - p;
    while (*len && CTYPE(isspace, p[*len - 1]))
        (*len)--;
    if (*eol == '\r' && eol[1] == '\n') eol++;
    *pos = *eol ? eol + 1 : eol;
    return true;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);

    return len >= n && !memcmp(s, prefix, n);
}

/*
 * The messages Xen 4.17 prints about its IOMMU, exactly (after the
 * "(XEN) " prefix and optional timestamp).  '#' stands for one or more
 * decimal digits.  Xen prints the generic summary (iommu.c) after the
 * vendor driver's lines, and a later line overrides an earlier one, so
 * the summary has the last word.
 */
static const struct {
    const char *msg;
    libxl_pci_ims_iommu iommu;       /* UNKNOWN: says nothing about it */
    libxl_pci_ims_intremap intremap; /* UNKNOWN: says nothing about it */
} xen_messages[] = {
    /* xen/drivers/passthrough/amd/iommu_init.c:1105 */
    { "AMD-Vi: IOMMU # Enabled.",
      LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN },
    /* xen/drivers/passthrough/amd/iommu_init.c:1350 */
    { "AMD-Vi: SP5100 erratum 28 detected, disabling IOMMU.",
      LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_OFF },
    /* xen/drivers/passthrough/vtd/iommu.c:2735,2741 (P macro) */
    { "Intel VT-d Interrupt Remapping enabled.",
      LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_ON },
    { "Intel VT-d Interrupt Remapping not enabled.",
      LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_OFF },
    /* xen/drivers/passthrough/vtd/intremap.c:684 (VTDPREFIX "[VT-D]") */
    { "[VT-D] Platform firmware does not support interrupt remapping",
      LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_OFF },
    /* xen/arch/x86/apic.c:916 */
    { "Failed to enable Interrupt Remapping",
      LIBXL_PCI_IMS_IOMMU_UNKNOWN, LIBXL_PCI_IMS_INTREMAP_OFF },
    /* xen/drivers/passthrough/iommu.c:576 */
    { "I/O virtualisation enabled",
      LIBXL_PCI_IMS_IOMMU_UNKNOWN, LIBXL_PCI_IMS_INTREMAP_UNKNOWN },
    { "I/O virtualisation disabled",
      LIBXL_PCI_IMS_IOMMU_UNKNOWN, LIBXL_PCI_IMS_INTREMAP_OFF },
    /* xen/drivers/passthrough/iommu.c:594 */
    { "Interrupt remapping enabled",
      LIBXL_PCI_IMS_IOMMU_UNKNOWN, LIBXL_PCI_IMS_INTREMAP_ON },
    { "Interrupt remapping disabled",
      LIBXL_PCI_IMS_IOMMU_UNKNOWN, LIBXL_PCI_IMS_INTREMAP_OFF },
};

/* Whether msg[0..len) is pattern exactly ('#': one or more digits). */
static bool message_is(const char *pattern, const char *msg, size_t len)
{
    const char *end = msg + len;

    for (; *pattern; pattern++) {
        if (*pattern == '#') {
            if (msg == end || !CTYPE(isdigit, *msg)) return false;
            while (msg < end && CTYPE(isdigit, *msg))
                msg++;
        } else {
            if (msg == end || *msg != *pattern) return false;
            msg++;
        }
    }
    return msg == end;
}

/*
 * Skips a timestamp "[...] " at *p: Xen's console_timestamps formats
 * (xen/drivers/char/console.c, printk_start_of_line) or one added by
 * whatever captured the log.  Only digits, hex digits, blanks and ".:-"
 * may appear between the brackets, so "[VT-D]" is not one.
 */
static bool skip_timestamp(const char **p, const char *end)
{
    const char *q = *p;

    if (q == end || *q != '[') return false;
    for (q++; q < end && *q != ']'; q++)
        if (!CTYPE(isxdigit, *q) && !strchr(" .:-", *q)) return false;
    if (q == end) return false;
    q++;
    while (q < end && *q == ' ')
        q++;
    *p = q;
    return true;
}

/*
 * The message of a line Xen printed: after "(XEN) " and an optional
 * timestamp, or a whole line without any prefix.  Lines of other origin
 * are refused: a guest's "(d1) ..." and a dom0 kernel's "[   4.37] ..."
 * (in a log that mixes them with Xen's, as a serial console does).
 */
static bool xen_message(const char *line, size_t len,
                        const char **msg, size_t *mlen)
{
    const char *p = line, *end = line + len;
    bool outer = skip_timestamp(&p, end);

    if (starts_with(p, end - p, "(XEN)")) {
        p += 5;
        while (p < end && *p == ' ')
            p++;
        skip_timestamp(&p, end);
    } else if (outer || *p == '(' || *p == '[') {
        return false;
    }
    *msg = p;
    *mlen = end - p;
    return true;
}

void libxl__ims_facts_from_xen_log(libxl__gc *gc, const char *log,
                                   const char *source,
                                   libxl_pci_ims_facts *f)
{
    const char *pos = log, *line, *msg;
    size_t len, mlen;
    unsigned i;

    while (next_line(&pos, &line, &len)) {
        if (!xen_message(line, len, &msg, &mlen)) continue;

        for (i = 0; i < ARRAY_SIZE(xen_messages); i++) {
            const char *why;

            if (!message_is(xen_messages[i].msg, msg, mlen)) continue;

            while (len && CTYPE(isspace, *line)) {
                line++;
                len--;
            }
            why = describe(gc, source, libxl__strndup(gc, line, len));
            if (xen_messages[i].iommu != LIBXL_PCI_IMS_IOMMU_UNKNOWN)
                set_iommu(gc, f, xen_messages[i].iommu, why);
            if (xen_messages[i].intremap != LIBXL_PCI_IMS_INTREMAP_UNKNOWN)
                set_intremap(gc, f, xen_messages[i].intremap, why);
            libxl__ims_facts_add_evidence(gc, f, why);
            break;
        }
    }
}

/* xen/common/kernel.c:parse_bool(), for [s, e). */
static int xen_parse_bool(const char *s, const char *e)
{
    static const char *const yes[] = { "1", "on", "yes", "true", "enable" };
    static const char *const no[] = { "0", "no", "off", "false", "disable" };
    size_t len = e - s;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(yes); i++)
        if (len == strlen(yes[i]) && !memcmp(s, yes[i], len)) return 1;
    for (i = 0; i < ARRAY_SIZE(no); i++)
        if (len == strlen(no[i]) && !memcmp(s, no[i], len)) return 0;
    return -1;
}

/* xen/common/kernel.c:parse_boolean(): name, no-name, name=<bool>. */
static int xen_parse_boolean(const char *name, const char *s, const char *e)
{
    size_t nlen = strlen(name);
    bool neg = e - s >= 3 && !memcmp(s, "no-", 3);

    if (neg) s += 3;
    if ((size_t)(e - s) < nlen || memcmp(s, name, nlen)) return -1;
    if ((size_t)(e - s) == nlen) return !neg;
    if (neg || s[nlen] != '=') return -1;
    return xen_parse_bool(s + nlen + 1, e);
}

/*
 * Xen 4.17's iommu= option (xen/drivers/passthrough/iommu.c,
 * parse_iommu_param(); docs/misc/xen-command-line.pandoc, "iommu"):
 * a boolean turns the IOMMU on or off, "intremap" (or "no-intremap",
 * "intremap=<bool>") the interrupt remapping; each later one overrides.
 * A disabled IOMMU leaves interrupt remapping off (iommu_setup()).  The
 * command line can prove remapping off, never on: an enabled option only
 * asks for it and the hardware may still refuse.  Nothing after " -- "
 * is Xen's (it is dom0's).
 */
void libxl__ims_facts_from_cmdline(libxl__gc *gc, const char *cmdline,
                                   const char *source,
                                   libxl_pci_ims_facts *f)
{
    const char *p = cmdline, *tok, *end, *item, *iend;
    const char *enable_tok = NULL, *intremap_tok = NULL;
    int enable = -1, intremap = -1, val;

    if (!cmdline) return;

    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        tok = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        end = p;

        if (end - tok == 2 && !memcmp(tok, "--", 2)) break;
        if (end - tok == 8 && !memcmp(tok, "no-iommu", 8)) {
            enable = 0;
            enable_tok = libxl__strndup(gc, tok, end - tok);
            continue;
        }
        if (end - tok < 6 || memcmp(tok, "iommu=", 6)) continue;

        for (item = tok + 6; item <= end; item = iend + 1) {
            iend = memchr(item, ',', end - item);
            if (!iend) iend = end;

            if ((val = xen_parse_bool(item, iend)) >= 0) {
                enable = val;
                enable_tok = libxl__strndup(gc, tok, end - tok);
            } else if ((val = xen_parse_boolean("intremap", item, iend)) >= 0) {
                intremap = val;
                intremap_tok = libxl__strndup(gc, tok, end - tok);
            }
        }
    }

    if (enable == 0)
        set_intremap(gc, f, LIBXL_PCI_IMS_INTREMAP_OFF,
                     describe(gc, source, enable_tok));
    else if (intremap == 0)
        set_intremap(gc, f, LIBXL_PCI_IMS_INTREMAP_OFF,
                     describe(gc, source, intremap_tok));
}

/* Whether name is sig, or sig followed by an instance number (Linux). */
static bool table_is(const char *name, const char *sig)
{
    size_t n = strlen(sig);

    if (strncmp(name, sig, n)) return false;
    for (name += n; *name; name++)
        if (!CTYPE(isdigit, *name)) return false;
    return true;
}

/*
 * The ACPI tables dom0 can see.  The IVRS table describes AMD-Vi; Xen
 * 4.17 leaves it visible to a PV dom0.  The DMAR table describes VT-d;
 * Xen renames it "RMAD" once it has parsed it, so that dom0 does not
 * drive VT-d itself (xen/drivers/passthrough/vtd/dmar.c:1049,
 * acpi_dmar_zap()), and a PVH dom0 sees neither table (dom0_build.c,
 * pvh_acpi_table_allowed()).  Tables prove hardware, not that Xen enabled
 * interrupt remapping: only the vendor is learned.
 */
void libxl__ims_facts_from_acpi(libxl__gc *gc, const char *const *tables,
                                int n, const char *source,
                                libxl_pci_ims_facts *f)
{
    const char *amd = NULL, *intel = NULL;
    int i;

    for (i = 0; i < n; i++) {
        if (!tables[i]) continue;
        if (table_is(tables[i], "IVRS"))
            amd = "ACPI IVRS table";
        else if (table_is(tables[i], "RMAD"))
            intel = "ACPI DMAR table (renamed RMAD by Xen)";
        else if (table_is(tables[i], "DMAR") && !intel)
            intel = "ACPI DMAR table";
    }

    if (amd && intel) {
        libxl__ims_facts_add_evidence(gc, f, describe(gc, source,
            GCSPRINTF("both %s and %s", amd, intel)));
        return;
    }
    if (amd || intel) {
        const char *what = amd ? amd : intel;

        set_iommu(gc, f,
                  amd ? LIBXL_PCI_IMS_IOMMU_AMD : LIBXL_PCI_IMS_IOMMU_INTEL,
                  source && *source ? GCSPRINTF("%s in %s", what, source)
                                    : what);
    }
}

/*
 * /proc/cpuinfo's vendor_id: the weakest hint (a CPU vendor does not say
 * which IOMMU is present, let alone enabled).  Hygon uses AMD-Vi.
 */
void libxl__ims_facts_from_cpuinfo(libxl__gc *gc, const char *cpuinfo,
                                   const char *source,
                                   libxl_pci_ims_facts *f)
{
    const char *pos = cpuinfo, *line, *v, *what;
    size_t len;
    libxl_pci_ims_iommu iommu;

    while (next_line(&pos, &line, &len)) {
        if (!starts_with(line, len, "vendor_id")) continue;
        v = line + 9;
        while (v < line + len && CTYPE(isblank, *v))
            v++;
        if (v == line + len || *v != ':') continue;
        v++;
        while (v < line + len && CTYPE(isblank, *v))
            v++;

        len -= v - line;
        if (len == 12 && !memcmp(v, "AuthenticAMD", 12))
            iommu = LIBXL_PCI_IMS_IOMMU_AMD;
        else if (len == 12 && !memcmp(v, "HygonGenuine", 12))
            iommu = LIBXL_PCI_IMS_IOMMU_AMD;
        else if (len == 12 && !memcmp(v, "GenuineIntel", 12))
            iommu = LIBXL_PCI_IMS_IOMMU_INTEL;
        else
            return;

        what = GCSPRINTF("CPU vendor %.*s", (int)len, v);
        set_iommu(gc, f, iommu, source && *source
                            ? GCSPRINTF("%s in %s", what, source) : what);
        return;
    }
}

/*
 * The record, written by libxl__ims_facts_to_record():
 *
 *   # comment
 *   boot_id=ID                       (the boot that wrote it, once)
 *   iommu=amd|intel|unknown          (required, once)
 *   iommu_source=TEXT                (optional, once)
 *   intremap=on|off|unknown          (required, once)
 *   intremap_source=TEXT             (optional, once)
 *   source=TEXT                      (optional, once: for both facts)
 *   evidence=TEXT                    (any number)
 *
 * Anything else is malformed.  With a source, the facts' sources say
 * "SOURCE: RECORDED SOURCE"; with none, they are the recorded ones.
 */
/* A boot record being read: what its lines have said so far. */
typedef struct {
    const char *where;              /* for messages */
    bool have_iommu, have_intremap;
    libxl_pci_ims_iommu iommu;
    libxl_pci_ims_intremap intremap;
    const char *iommu_src, *intremap_src, *both_src, *boot_id;
    const char **evidence;
    int nr_evidence;
} record;

/* One key=value line of a record; ERROR_INVAL when it is not one. */
static int record_line(libxl__gc *gc, record *r, int lineno,
                       const char *key, const char *value)
{
    const char **dst = NULL;

    if (!strcmp(key, "iommu")) {
        if (r->have_iommu ||
            libxl_pci_ims_iommu_from_string(value, &r->iommu)) {
            LOG(ERROR, "%s:%d: %s iommu=%s", r->where, lineno,
                r->have_iommu ? "duplicate" : "bad value", value);
            return ERROR_INVAL;
        }
        r->have_iommu = true;
    } else if (!strcmp(key, "intremap")) {
        if (r->have_intremap ||
            libxl_pci_ims_intremap_from_string(value, &r->intremap)) {
            LOG(ERROR, "%s:%d: %s intremap=%s", r->where, lineno,
                r->have_intremap ? "duplicate" : "bad value", value);
            return ERROR_INVAL;
        }
        r->have_intremap = true;
    } else if (!strcmp(key, "iommu_source")) {
        dst = &r->iommu_src;
    } else if (!strcmp(key, "intremap_source")) {
        dst = &r->intremap_src;
    } else if (!strcmp(key, "source")) {
        dst = &r->both_src;
    } else if (!strcmp(key, "boot_id")) {
        dst = &r->boot_id;
    } else if (!strcmp(key, "evidence")) {
        if (r->nr_evidence < IMS_EVIDENCE_MAX) {
            GCREALLOC_ARRAY(r->evidence, r->nr_evidence + 1);
            r->evidence[r->nr_evidence++] = value;
        }
    } else {
        LOG(ERROR, "%s:%d: unknown key \"%s\"", r->where, lineno, key);
        return ERROR_INVAL;
    }

    if (dst) {
        if (*dst) {
            LOG(ERROR, "%s:%d: duplicate %s", r->where, lineno, key);
            return ERROR_INVAL;
        }
        *dst = value;
    }
    return 0;
}

/* A well-formed record's facts into f. */
static void record_apply(libxl__gc *gc, const record *r, const char *source,
                         libxl_pci_ims_facts *f)
{
    const char *iommu_src = r->iommu_src, *intremap_src = r->intremap_src;
    const char *both_src = r->both_src;

    if (!iommu_src || !*iommu_src) iommu_src = both_src;
    if (!intremap_src || !*intremap_src) intremap_src = both_src;
    if (source && *source) {
        iommu_src = iommu_src && *iommu_src
                    ? GCSPRINTF("%s: %s", source, iommu_src) : source;
        intremap_src = intremap_src && *intremap_src
                       ? GCSPRINTF("%s: %s", source, intremap_src) : source;
    }
    if (iommu_src && !*iommu_src) iommu_src = NULL;
    if (intremap_src && !*intremap_src) intremap_src = NULL;

    f->iommu = r->iommu;
    libxl__ims_set_string(gc, &f->iommu_source, iommu_src);
    f->intremap = r->intremap;
    libxl__ims_set_string(gc, &f->intremap_source, intremap_src);
    for (int i = 0; i < r->nr_evidence; i++)
        if (*r->evidence[i])
            libxl__ims_facts_add_evidence(gc, f, r->evidence[i]);
}

int libxl__ims_facts_from_record(libxl__gc *gc, const char *text,
                                 const char *source,
                                 libxl_pci_ims_facts *f,
                                 const char *boot_id)
{
    const char *pos = text, *line, *eq;
    record r = {
        .iommu = LIBXL_PCI_IMS_IOMMU_UNKNOWN,
        .intremap = LIBXL_PCI_IMS_INTREMAP_UNKNOWN,
    };
    int lineno = 0, rc;
    size_t len;
    char *key, *value;

    r.where = source && *source ? source : "IMS host facts record";
    if (!text) {
        LOG(ERROR, "%s: no record", r.where);
        return ERROR_INVAL;
    }

    while (next_line(&pos, &line, &len)) {
        lineno++;
        while (len && CTYPE(isspace, *line)) {
            line++;
            len--;
        }
        if (!len || *line == '#') continue;

        eq = memchr(line, '=', len);
        if (!eq) {
            LOG(ERROR, "%s:%d: not a key=value line", r.where, lineno);
            return ERROR_INVAL;
        }
        /* Shown by xl and in logs: no raw control reaches a terminal. */
        key = libxl__ims_escape(gc, libxl__strndup(gc, line, eq - line));
        value = libxl__ims_escape(gc, libxl__strndup(gc, eq + 1,
                                                     len - (eq + 1 - line)));
        rc = record_line(gc, &r, lineno, key, value);
        if (rc) return rc;
    }

    if (!r.have_iommu || !r.have_intremap) {
        LOG(ERROR, "%s: no %s= line", r.where,
            r.have_iommu ? "intremap" : "iommu");
        return ERROR_INVAL;
    }

    /* Facts hold for the boot that recorded them, no other. */
    if (boot_id && !r.boot_id) {
        LOG(WARN, "%s: no boot_id= line, so not known to be of this boot",
            r.where);
        return ERROR_NOTFOUND;
    }
    if (boot_id && strcmp(r.boot_id, boot_id)) {
        LOG(WARN, "%s: recorded in another boot (boot_id=%s, this boot "
            "is %s)", r.where, r.boot_id, boot_id);
        return ERROR_NOTFOUND;
    }

    /* Well formed: only now change f. */
    record_apply(gc, &r, source, f);
    return 0;
}

/* A value on one line: line ends become blanks. */
static const char *one_line(libxl__gc *gc, const char *s)
{
    char *r = libxl__strdup(gc, s), *p;

    for (p = r; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return r;
}

char *libxl__ims_facts_to_record(libxl__gc *gc,
                                 const libxl_pci_ims_facts *f,
                                 const char *boot_id)
{
    char *r;
    int i;

    r = libxl__strdup(gc, "# IOMMU facts recorded at boot by "
                      "\"xl pci-ims-facts --record\"; see xl-pci-ims(5).\n");
    if (boot_id)
        r = GCSPRINTF("%sboot_id=%s\n", r, one_line(gc, boot_id));
    r = GCSPRINTF("%siommu=%s\n", r, libxl_pci_ims_iommu_to_string(f->iommu));
    if (f->iommu_source && *f->iommu_source)
        r = GCSPRINTF("%siommu_source=%s\n", r,
                      one_line(gc, f->iommu_source));
    r = GCSPRINTF("%sintremap=%s\n", r,
                  libxl_pci_ims_intremap_to_string(f->intremap));
    if (f->intremap_source && *f->intremap_source)
        r = GCSPRINTF("%sintremap_source=%s\n", r,
                      one_line(gc, f->intremap_source));
    for (i = 0; f->evidence && f->evidence[i]; i++)
        r = GCSPRINTF("%sevidence=%s\n", r, one_line(gc, f->evidence[i]));
    return r;
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
