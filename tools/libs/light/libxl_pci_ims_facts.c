/*
 * Facts for IMS-like PCI devices: the device's identity and MSI
 * capability (libpci), and the host's IOMMU facts (which IOMMU Xen set
 * up, and whether interrupt remapping is on).  See libxl_ims.h and
 * xl-pci-ims(5).
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

#include <pthread.h>
#include <setjmp.h>
#include <pci/pci.h>

/* Bounds on what is read from the host. */
#define IMS_RECORD_MAX        (64 * 1024)
#define IMS_CPUINFO_MAX       (4 * 1024 * 1024)
#define IMS_CONRING_CHUNK     16384
#define IMS_CONRING_MAX       (16 * 1024 * 1024)
#define IMS_EVIDENCE_MAX      64

#define IMS_ACPI_TABLES_DIR   "/sys/firmware/acpi/tables"
#define IMS_CPUINFO_FILE      "/proc/cpuinfo"
#define IMS_BOOT_ID_FILE      "/proc/sys/kernel/random/boot_id"
#define IMS_SYSFS_PCI_DIR     "/sys/bus/pci"

static const char *env_value(libxl__gc *gc, const char *name)
{
    const char *v = getenv(name);

    return v && *v ? libxl__strdup(gc, v) : NULL;
}

void libxl__ims_env_read(libxl__gc *gc, libxl__ims_env *env, bool attach)
{
    memset(env, 0, sizeof(*env));
    env->root = env_value(gc, LIBXL_IMS_ROOT_ENV);
    env->db = env_value(gc, LIBXL_IMS_DB_ENV);
    env->pci_dump = env_value(gc, LIBXL_IMS_PCI_DUMP_ENV);
    /* An offline context (xl without Xen, a test) attaches nothing. */
    env->attach = attach && CTX->xch;
}

const char *libxl__ims_env_path(libxl__gc *gc, const libxl__ims_env *env,
                                const char *path)
{
    return env->root ? GCSPRINTF("%s%s", env->root, path) : path;
}

const char *libxl__ims_host_path(libxl__gc *gc, const char *path)
{
    libxl__ims_env env;

    libxl__ims_env_read(gc, &env, false);
    return libxl__ims_env_path(gc, &env, path);
}

static bool others_can_write(const struct stat *st)
{
    return (st->st_mode & S_IWOTH) ||
           ((st->st_mode & S_IWGRP) && st->st_gid != 0);
}

const char *libxl__ims_untrusted(libxl__gc *gc, const char *path)
{
    char *resolved = realpath(path, NULL), *dir, *slash;
    struct stat st;

    if (!resolved)
        return GCSPRINTF("cannot resolve %s: %s", path, strerror(errno));
    libxl__ptr_add(gc, resolved);
    if (stat(resolved, &st))
        return GCSPRINTF("cannot stat %s: %s", resolved, strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return GCSPRINTF("%s is not a regular file", resolved);
    dir = libxl__strdup(gc, resolved);
    for (bool below = false;; below = true) {
        if (st.st_uid != 0)
            return GCSPRINTF("%s is owned by uid %u, not root", dir,
                             (unsigned)st.st_uid);
        /* A sticky directory keeps root's entry (checked already) root's. */
        if (others_can_write(&st) && !(below && (st.st_mode & S_ISVTX)))
            return GCSPRINTF("%s can be written by others than root", dir);
        if (!strcmp(dir, "/"))
            return NULL;
        slash = strrchr(dir, '/');
        if (!slash)
            return NULL;
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (stat(dir, &st))
            return GCSPRINTF("cannot stat %s: %s", dir, strerror(errno));
    }
}

/*----- facts: helpers -----*/

/* Replaces a string owned by an IDL structure (NOGC: dispose frees it). */
static void set_string(libxl__gc *gc, char **dst, const char *s)
{
    free(*dst);
    *dst = s ? libxl__strdup(NOGC, s) : NULL;
}

/* Appends an evidence line (NOGC), once, up to IMS_EVIDENCE_MAX lines. */
static void add_evidence(libxl__gc *gc, libxl_pci_ims_facts *f,
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
    set_string(gc, &f->iommu_source, why);
    add_evidence(gc, f, why);
}

static void set_intremap(libxl__gc *gc, libxl_pci_ims_facts *f,
                         libxl_pci_ims_intremap intremap, const char *why)
{
    f->intremap = intremap;
    set_string(gc, &f->intremap_source, why);
    add_evidence(gc, f, why);
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

/*----- facts: Xen's console log -----*/

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
            add_evidence(gc, f, why);
            break;
        }
    }
}

/*----- facts: Xen's command line -----*/

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

/*----- facts: ACPI tables and CPU vendor (hints) -----*/

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
        add_evidence(gc, f, describe(gc, source,
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

/*----- facts: the boot record -----*/

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
int libxl__ims_facts_from_record(libxl__gc *gc, const char *text,
                                 const char *source,
                                 libxl_pci_ims_facts *f,
                                 const char *boot_id)
{
    const char *pos = text, *line, *eq, *where;
    const char *iommu_src = NULL, *intremap_src = NULL, *both_src = NULL;
    const char *rec_boot_id = NULL;
    bool have_iommu = false, have_intremap = false;
    libxl_pci_ims_iommu iommu = LIBXL_PCI_IMS_IOMMU_UNKNOWN;
    libxl_pci_ims_intremap intremap = LIBXL_PCI_IMS_INTREMAP_UNKNOWN;
    const char **evidence = NULL;
    int nr_evidence = 0, lineno = 0, i;
    size_t len;
    char *key, *value;

    where = source && *source ? source : "IMS host facts record";
    if (!text) {
        LOG(ERROR, "%s: no record", where);
        return ERROR_INVAL;
    }

    while (next_line(&pos, &line, &len)) {
        const char **dst = NULL;

        lineno++;
        while (len && CTYPE(isspace, *line)) {
            line++;
            len--;
        }
        if (!len || *line == '#') continue;

        eq = memchr(line, '=', len);
        if (!eq) {
            LOG(ERROR, "%s:%d: not a key=value line", where, lineno);
            return ERROR_INVAL;
        }
        /* Shown by xl and in logs: no raw control reaches a terminal. */
        key = libxl__ims_escape(gc, libxl__strndup(gc, line, eq - line));
        value = libxl__ims_escape(gc, libxl__strndup(gc, eq + 1,
                                                     len - (eq + 1 - line)));

        if (!strcmp(key, "iommu")) {
            if (have_iommu ||
                libxl_pci_ims_iommu_from_string(value, &iommu)) {
                LOG(ERROR, "%s:%d: %s iommu=%s", where, lineno,
                    have_iommu ? "duplicate" : "bad value", value);
                return ERROR_INVAL;
            }
            have_iommu = true;
        } else if (!strcmp(key, "intremap")) {
            if (have_intremap ||
                libxl_pci_ims_intremap_from_string(value, &intremap)) {
                LOG(ERROR, "%s:%d: %s intremap=%s", where, lineno,
                    have_intremap ? "duplicate" : "bad value", value);
                return ERROR_INVAL;
            }
            have_intremap = true;
        } else if (!strcmp(key, "iommu_source")) {
            dst = &iommu_src;
        } else if (!strcmp(key, "intremap_source")) {
            dst = &intremap_src;
        } else if (!strcmp(key, "source")) {
            dst = &both_src;
        } else if (!strcmp(key, "boot_id")) {
            dst = &rec_boot_id;
        } else if (!strcmp(key, "evidence")) {
            if (nr_evidence < IMS_EVIDENCE_MAX) {
                GCREALLOC_ARRAY(evidence, nr_evidence + 1);
                evidence[nr_evidence++] = value;
            }
        } else {
            LOG(ERROR, "%s:%d: unknown key \"%s\"", where, lineno, key);
            return ERROR_INVAL;
        }

        if (dst) {
            if (*dst) {
                LOG(ERROR, "%s:%d: duplicate %s", where, lineno, key);
                return ERROR_INVAL;
            }
            *dst = value;
        }
    }

    if (!have_iommu || !have_intremap) {
        LOG(ERROR, "%s: no %s= line", where,
            have_iommu ? "intremap" : "iommu");
        return ERROR_INVAL;
    }

    /* Facts hold for the boot that recorded them, no other. */
    if (boot_id && !rec_boot_id) {
        LOG(WARN, "%s: no boot_id= line, so not known to be of this boot",
            where);
        return ERROR_NOTFOUND;
    }
    if (boot_id && strcmp(rec_boot_id, boot_id)) {
        LOG(WARN, "%s: recorded in another boot (boot_id=%s, this boot "
            "is %s)", where, rec_boot_id, boot_id);
        return ERROR_NOTFOUND;
    }

    /* Well formed: only now change f. */
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

    f->iommu = iommu;
    set_string(gc, &f->iommu_source, iommu_src);
    f->intremap = intremap;
    set_string(gc, &f->intremap_source, intremap_src);
    for (i = 0; i < nr_evidence; i++)
        if (*evidence[i]) add_evidence(gc, f, evidence[i]);

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

/*----- facts: the host -----*/

/*
 * Reads a whole file, at most max bytes (*truncated says if there was
 * more), NUL-terminated; st_r, if not NULL, gets its fstat().
 * ERROR_NOTFOUND, silently, when it does not exist.
 */
static int read_text(libxl__gc *gc, const char *path, size_t max,
                     bool no_link, char **text_r, size_t *len_r,
                     bool *truncated_r, struct stat *st_r)
{
    int fd = -1, rc;
    size_t used = 0, size = 4096;
    char *buf = libxl__malloc(gc, size + 1);
    struct stat st;
    ssize_t r;

    *truncated_r = false;
    /* O_NONBLOCK: a FIFO in its place must not hang the toolstack. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                    (no_link ? O_NOFOLLOW : 0));
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            rc = ERROR_NOTFOUND;
            goto out;
        }
        if (no_link && errno == ELOOP)
            LOG(WARN, "%s: a symbolic link, not a file: ignored", path);
        else
            LOGE(WARN, "cannot open %s", path);
        rc = ERROR_FAIL;
        goto out;
    }
    if (fstat(fd, &st)) {
        LOGE(WARN, "cannot stat %s", path);
        rc = ERROR_FAIL;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        LOG(WARN, "%s: not a regular file (%s): ignored", path,
            S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode)
            ? "a directory" : "a device or socket");
        rc = ERROR_FAIL;
        goto out;
    }
    if (st_r) *st_r = st;

    for (;;) {
        if (used == size) {
            if (size >= max) {
                *truncated_r = true;
                break;
            }
            size = size * 2 > max ? max : size * 2;
            buf = libxl__realloc(gc, buf, size + 1);
        }
        r = read(fd, buf + used, size - used);
        if (r < 0) {
            if (errno == EINTR) continue;
            LOGE(WARN, "cannot read %s", path);
            rc = ERROR_FAIL;
            goto out;
        }
        if (!r) break;
        used += r;
    }
    buf[used] = '\0';
    *text_r = buf;
    *len_r = used;
    rc = 0;

 out:
    if (fd >= 0) close(fd);
    return rc;
}

/* The names of the ACPI tables in dir (gc-allocated), or ERROR_*. */
static int read_acpi_tables(libxl__gc *gc, const char *dir,
                            const char ***tables_r, int *n_r)
{
    DIR *d;
    struct dirent *de;
    const char **tables = NULL;
    int n = 0;

    d = opendir(dir);
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return ERROR_NOTFOUND;
        LOGE(WARN, "cannot list %s", dir);
        return ERROR_FAIL;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        GCREALLOC_ARRAY(tables, n + 1);
        tables[n++] = libxl__strdup(gc, de->d_name);
    }
    closedir(d);

    *tables_r = tables;
    *n_r = n;
    return 0;
}

/* The whole of Xen's console ring (gc-allocated). */
static int read_console_ring(libxl__gc *gc, char **text_r)
{
    char *buf = NULL;
    size_t used = 0;
    uint32_t index = 0;
    unsigned int count;
    int r;

    for (;;) {
        buf = libxl__realloc(gc, buf, used + IMS_CONRING_CHUNK + 1);
        count = IMS_CONRING_CHUNK;
        r = xc_readconsolering(CTX->xch, buf + used, &count, 0, 1, &index);
        if (r < 0) {
            LOGE(WARN, "cannot read Xen's console ring");
            return ERROR_FAIL;
        }
        if (!count || count > IMS_CONRING_CHUNK) break;
        used += count;
        if (used >= IMS_CONRING_MAX) break;
    }
    buf[used] = '\0';
    *text_r = buf;
    return 0;
}

static bool facts_complete(const libxl_pci_ims_facts *f)
{
    return f->iommu != LIBXL_PCI_IMS_IOMMU_UNKNOWN &&
           f->intremap != LIBXL_PCI_IMS_INTREMAP_UNKNOWN;
}

/*
 * Takes from a weaker source what the stronger ones left unknown, and
 * its evidence; empties from.
 */
static void merge_facts(libxl__gc *gc, libxl_pci_ims_facts *to,
                        libxl_pci_ims_facts *from)
{
    int i;

    if (to->iommu == LIBXL_PCI_IMS_IOMMU_UNKNOWN &&
        from->iommu != LIBXL_PCI_IMS_IOMMU_UNKNOWN) {
        to->iommu = from->iommu;
        set_string(gc, &to->iommu_source, from->iommu_source);
    }
    if (to->intremap == LIBXL_PCI_IMS_INTREMAP_UNKNOWN &&
        from->intremap != LIBXL_PCI_IMS_INTREMAP_UNKNOWN) {
        to->intremap = from->intremap;
        set_string(gc, &to->intremap_source, from->intremap_source);
    }
    for (i = 0; from->evidence && from->evidence[i]; i++)
        add_evidence(gc, to, from->evidence[i]);

    libxl_pci_ims_facts_dispose(from);
    libxl_pci_ims_facts_init(from);
}

/* This boot's id (/proc/sys/kernel/random/boot_id), or NULL. */
static const char *read_boot_id(libxl__gc *gc, const libxl__ims_env *env)
{
    const char *path = libxl__ims_env_path(gc, env, IMS_BOOT_ID_FILE);
    char *text, *p;
    size_t len;
    bool truncated;

    if (read_text(gc, path, 256, false, &text, &len, &truncated, NULL))
        return NULL;
    for (p = text; *p && !CTYPE(isspace, *p); p++)
        if (!CTYPE(isxdigit, *p) && *p != '-')
            return NULL;
    *p = '\0';
    return *text ? text : NULL;
}

/*
 * The host facts, best evidence first; use_record says whether the boot
 * record counts (not when writing it).  Fills only the host part of f.
 */
static void host_facts(libxl__gc *gc, const libxl__ims_env *env,
                       bool use_record, libxl_pci_ims_facts *f)
{
    libxl_pci_ims_facts found, one;
    const char *path, **tables;
    char *text;
    size_t len;
    bool truncated;
    struct stat st;
    int n;

    libxl_pci_ims_facts_init(&found);
    libxl_pci_ims_facts_init(&one);

    if (use_record) {
        path = libxl__ims_env_path(gc, env, LIBXL_IMS_FACTS_FILE);
        if (!read_text(gc, path, IMS_RECORD_MAX, true, &text, &len,
                       &truncated, &st)) {
            const char *boot_id = read_boot_id(gc, env);
            const char *why = env->attach ? libxl__ims_untrusted(gc, path)
                                          : NULL;
            int rc;

            /* It can enable "expose": only its writer may have made it. */
            if ((st.st_uid != 0 && (env->attach || st.st_uid != geteuid()))
                || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                LOG(WARN, "%s: writable by others than its owner or not "
                    "owned by root, ignored", path);
            } else if (why) {
                LOG(WARN, "%s: %s: not used at attach, ignored (the "
                    "database's root-only rules)", path, why);
            } else if (truncated || strlen(text) != len) {
                LOG(WARN, "%s: not a record of host facts, ignored", path);
            } else if (!boot_id) {
                LOG(WARN, "%s: this boot's id (%s) cannot be read, so the "
                    "record cannot be tied to this boot: ignored", path,
                    libxl__ims_env_path(gc, env, IMS_BOOT_ID_FILE));
            } else {
                rc = libxl__ims_facts_from_record(gc, text,
                         GCSPRINTF("record %s", path), &one, boot_id);
                if (rc == ERROR_NOTFOUND)
                    LOG(WARN, "%s: not recorded in this boot, ignored "
                        "(record again: xl pci-ims-facts --record)", path);
                else if (rc)
                    LOG(WARN, "%s: malformed, ignored", path);
            }
            merge_facts(gc, &found, &one);
        }
    }

    /* An offline context has no hypervisor to ask. */
    if (!facts_complete(&found) && CTX->xch &&
        !read_console_ring(gc, &text)) {
        libxl__ims_facts_from_xen_log(gc, text, "Xen console", &one);
        merge_facts(gc, &found, &one);
    }

    if (!facts_complete(&found) && CTX->xch) {
        xen_commandline_t cmdline;

        memset(cmdline, 0, sizeof(cmdline));
        if (xc_version(CTX->xch, XENVER_commandline, &cmdline) < 0) {
            LOGE(WARN, "cannot read Xen's command line");
        } else {
            cmdline[sizeof(cmdline) - 1] = '\0';
            libxl__ims_facts_from_cmdline(gc, cmdline, "Xen command line",
                                          &one);
            merge_facts(gc, &found, &one);
        }
    }

    if (!facts_complete(&found)) {
        path = libxl__ims_env_path(gc, env, IMS_ACPI_TABLES_DIR);
        if (env->attach && env->root && libxl__ims_untrusted(gc, path)) {
            LOG(WARN, "%s: %s: not used at attach, ignored", path,
                libxl__ims_untrusted(gc, path));
        } else if (!read_acpi_tables(gc, path, &tables, &n)) {
            libxl__ims_facts_from_acpi(gc, tables, n, path, &one);
            merge_facts(gc, &found, &one);
        }
    }

    if (!facts_complete(&found)) {
        path = libxl__ims_env_path(gc, env, IMS_CPUINFO_FILE);
        if (env->attach && env->root && libxl__ims_untrusted(gc, path)) {
            LOG(WARN, "%s: %s: not used at attach, ignored", path,
                libxl__ims_untrusted(gc, path));
        } else if (!read_text(gc, path, IMS_CPUINFO_MAX, false, &text, &len,
                              &truncated, NULL)) {
            libxl__ims_facts_from_cpuinfo(gc, text, path, &one);
            merge_facts(gc, &found, &one);
        }
    }

    /* Replace the host part of f; leave the rest alone. */
    f->iommu = found.iommu;
    set_string(gc, &f->iommu_source, found.iommu_source);
    f->intremap = found.intremap;
    set_string(gc, &f->intremap_source, found.intremap_source);
    libxl_string_list_dispose(&f->evidence);
    f->evidence = found.evidence;
    found.evidence = NULL;

    libxl_pci_ims_facts_dispose(&found);
    libxl_pci_ims_facts_dispose(&one);
}

int libxl__ims_host_facts_env(libxl__gc *gc, const libxl__ims_env *env,
                              libxl_pci_ims_facts *f)
{
    host_facts(gc, env, true, f);
    return 0;
}

int libxl__ims_host_facts(libxl__gc *gc, libxl_pci_ims_facts *f)
{
    libxl__ims_env env;

    libxl__ims_env_read(gc, &env, false);
    return libxl__ims_host_facts_env(gc, &env, f);
}

int libxl_pci_ims_host_facts(libxl_ctx *ctx, libxl_pci_ims_facts *facts)
{
    GC_INIT(ctx);
    int rc;

    rc = libxl__ims_host_facts(gc, facts);

    GC_FREE;
    return rc;
}

/* mkdir -p of path's parent directory. */
static int make_parent_dir(libxl__gc *gc, const char *path)
{
    char *dir = libxl__strdup(gc, path), *slash, *p;

    slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';

    for (p = dir + 1; ; p++) {
        if (*p != '/' && *p) continue;
        {
            char c = *p;

            *p = '\0';
            if (mkdir(dir, 0755) && errno != EEXIST) {
                LOGE(ERROR, "cannot create directory %s", dir);
                return ERROR_FAIL;
            }
            *p = c;
        }
        if (!*p) break;
    }
    return 0;
}

int libxl_pci_ims_record_host_facts(libxl_ctx *ctx, const char *path,
                                    libxl_pci_ims_facts *facts)
{
    GC_INIT(ctx);
    libxl_pci_ims_facts f;
    libxl__ims_env env;
    const char *text, *boot_id;
    char *tmp = NULL;
    int fd = -1, rc;
    size_t len;

    libxl_pci_ims_facts_init(&f);
    libxl__ims_env_read(gc, &env, false);

    if (!path) {
        path = libxl__ims_env_path(gc, &env, LIBXL_IMS_FACTS_FILE);
        rc = make_parent_dir(gc, path);
        if (rc) goto out;
    }

    host_facts(gc, &env, false, &f);
    boot_id = read_boot_id(gc, &env);
    if (!boot_id)
        LOG(WARN, "cannot read this boot's id (%s): the record will be "
            "ignored", libxl__ims_env_path(gc, &env, IMS_BOOT_ID_FILE));
    text = libxl__ims_facts_to_record(gc, &f, boot_id);
    len = strlen(text);

    /* Readers see the old record or the new one, never half of one. */
    tmp = GCSPRINTF("%s.tmpXXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        LOGE(ERROR, "cannot create %s", tmp);
        tmp = NULL;
        rc = ERROR_FAIL;
        goto out;
    }
    if (fchmod(fd, 0644)) {
        LOGE(ERROR, "cannot chmod %s", tmp);
        rc = ERROR_FAIL;
        goto out;
    }
    rc = libxl_write_exactly(ctx, fd, text, len, tmp, "IMS host facts");
    if (rc) goto out;
    if (fsync(fd)) {
        LOGE(ERROR, "cannot sync %s", tmp);
        rc = ERROR_FAIL;
        goto out;
    }
    if (close(fd)) {
        fd = -1;
        LOGE(ERROR, "cannot close %s", tmp);
        rc = ERROR_FAIL;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path)) {
        LOGE(ERROR, "cannot rename %s to %s", tmp, path);
        rc = ERROR_FAIL;
        goto out;
    }
    tmp = NULL;
    LOG(DEBUG, "recorded IOMMU facts in %s", path);

    if (facts) {
        facts->iommu = f.iommu;
        set_string(gc, &facts->iommu_source, f.iommu_source);
        facts->intremap = f.intremap;
        set_string(gc, &facts->intremap_source, f.intremap_source);
        libxl_string_list_dispose(&facts->evidence);
        facts->evidence = f.evidence;
        f.evidence = NULL;
    }
    rc = 0;

 out:
    if (fd >= 0) close(fd);
    if (tmp) unlink(tmp);
    libxl_pci_ims_facts_dispose(&f);
    GC_FREE;
    return rc;
}

/*----- device identity -----*/

static uint16_t cfg16(const uint8_t *cfg, unsigned off)
{
    return cfg[off] | (cfg[off + 1] << 8);
}

static uint32_t cfg32(const uint8_t *cfg, unsigned off)
{
    return cfg16(cfg, off) | ((uint32_t)cfg16(cfg, off + 2) << 16);
}

/* 1 << field, the reserved encodings (6, 7) counted as 32 vectors. */
static uint8_t msi_vectors(unsigned field)
{
    return 1u << (field > 5 ? 5 : field);
}

int libxl__ims_identity_from_config(libxl__gc *gc,
                                    const uint8_t *cfg, size_t len,
                                    libxl_pci_ims_identity *id)
{
    /* Capabilities of the standard header live in 0x40..0xff. */
    size_t limit = len < 256 ? len : 256;
    bool seen[256 / 4];
    unsigned ptr, hdr, n;
    bool msi_found = false, msix = false;
    uint16_t ctrl = 0;
    unsigned msi_at = 0, need;

    if (!cfg || len < 64) {
        LOG(ERROR, "PCI config space image too short (%zu bytes, need 64)",
            cfg ? len : 0);
        return ERROR_INVAL;
    }
    if (cfg16(cfg, PCI_VENDOR_ID) == 0xffff ||
        cfg16(cfg, PCI_VENDOR_ID) == 0x0000) {
        LOG(ERROR, "no PCI device in config space image (vendor ID %04x)",
            cfg16(cfg, PCI_VENDOR_ID));
        return ERROR_NOTFOUND;
    }

    hdr = cfg[PCI_HEADER_TYPE] & 0x7f;
    id->subvendor = id->subdevice = 0;
    FILLZERO(seen);
    ptr = 0;
    if (cfg16(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST)
        ptr = cfg[hdr == PCI_HEADER_TYPE_CARDBUS ? PCI_CB_CAPABILITY_LIST
                                                 : PCI_CAPABILITY_LIST];

    /* Bounded (48 entries fit) and loop-proof (each dword once). */
    for (n = 0; ptr && n < ARRAY_SIZE(seen); n++) {
        ptr &= ~3u;
        if (ptr < 0x40 || ptr + 2 > limit) {
            LOG(WARN, "PCI capability pointer %#x out of range", ptr);
            break;
        }
        if (seen[ptr / 4]) {
            LOG(WARN, "PCI capability list loops at %#x", ptr);
            break;
        }
        seen[ptr / 4] = true;

        switch (cfg[ptr + PCI_CAP_LIST_ID]) {
        case PCI_CAP_ID_MSI:
            if (msi_found) break;
            if (ptr + PCI_MSI_FLAGS + 2 > limit) {
                LOG(ERROR, "MSI capability at %#x runs off config space",
                    ptr);
                return ERROR_INVAL;
            }
            ctrl = cfg16(cfg, ptr + PCI_MSI_FLAGS);
            need = (ctrl & PCI_MSI_FLAGS_64BIT ? PCI_MSI_DATA_64
                                               : PCI_MSI_DATA_32) + 2;
            if (ptr + need > limit) {
                LOG(ERROR, "MSI capability at %#x runs off config space",
                    ptr);
                return ERROR_INVAL;
            }
            msi_found = true;
            msi_at = ptr;
            break;
        case PCI_CAP_ID_MSIX:
            msix = true;
            break;
        case PCI_CAP_ID_SSVID:
            /* A bridge's subsystem IDs. */
            if (hdr == PCI_HEADER_TYPE_BRIDGE && ptr + 8 <= limit) {
                id->subvendor = cfg16(cfg, ptr + PCI_SSVID_VENDOR);
                id->subdevice = cfg16(cfg, ptr + PCI_SSVID_DEVICE);
            }
            break;
        }
        ptr = cfg[ptr + PCI_CAP_LIST_NEXT];
    }

    id->vendor = cfg16(cfg, PCI_VENDOR_ID);
    id->device = cfg16(cfg, PCI_DEVICE_ID);
    id->revision = cfg[PCI_REVISION_ID];
    id->class_code = cfg[PCI_CLASS_PROG] | (cfg[PCI_CLASS_PROG + 1] << 8) |
                     (cfg[PCI_CLASS_PROG + 2] << 16);
    if (hdr == PCI_HEADER_TYPE_NORMAL) {
        id->subvendor = cfg16(cfg, PCI_SUBSYSTEM_VENDOR_ID);
        id->subdevice = cfg16(cfg, PCI_SUBSYSTEM_ID);
    } else if (hdr == PCI_HEADER_TYPE_CARDBUS) {
        id->subvendor = cfg16(cfg, PCI_CB_SUBSYSTEM_VENDOR_ID);
        id->subdevice = cfg16(cfg, PCI_CB_SUBSYSTEM_ID);
    }

    id->msi_offset = msi_at;
    id->msi_64bit = msi_found && (ctrl & PCI_MSI_FLAGS_64BIT);
    id->msi_maskable = msi_found && (ctrl & PCI_MSI_FLAGS_MASK_BIT);
    id->msi_enabled = msi_found && (ctrl & PCI_MSI_FLAGS_ENABLE);
    id->msi_vectors_capable = msi_found ? msi_vectors((ctrl >> 1) & 7) : 0;
    id->msi_vectors_enabled = msi_found ? msi_vectors((ctrl >> 4) & 7) : 0;
    id->msi_address = 0;
    id->msi_data = 0;
    if (msi_found) {
        id->msi_address = cfg32(cfg, msi_at + PCI_MSI_ADDRESS_LO);
        if (ctrl & PCI_MSI_FLAGS_64BIT) {
            id->msi_address |=
                (uint64_t)cfg32(cfg, msi_at + PCI_MSI_ADDRESS_HI) << 32;
            id->msi_data = cfg16(cfg, msi_at + PCI_MSI_DATA_64);
        } else {
            id->msi_data = cfg16(cfg, msi_at + PCI_MSI_DATA_32);
        }
    }
    id->msix = msix;

    return 0;
}

/*
 * libpci calls its error callback on fatal errors and expects it not to
 * return (the default one exits the process).  Ours jumps back to
 * pci_read_config(); libpci is used by one thread at a time.
 */
static pthread_mutex_t pci_lock = PTHREAD_MUTEX_INITIALIZER;
static jmp_buf pci_jmp;          /* under pci_lock */
static char pci_msg[256];        /* under pci_lock: libpci's last word */

static void pci_error(char *msg, ...) PRINTF_ATTRIBUTE(1, 2)
                                      __attribute__((noreturn));
static void pci_error(char *msg, ...)
{
    va_list ap;

    va_start(ap, msg);
    vsnprintf(pci_msg, sizeof(pci_msg), msg, ap);
    va_end(ap);
    longjmp(pci_jmp, 1);
}

static void pci_warning(char *msg, ...) PRINTF_ATTRIBUTE(1, 2);
static void pci_warning(char *msg, ...)
{
    va_list ap;

    va_start(ap, msg);
    vsnprintf(pci_msg, sizeof(pci_msg), msg, ap);
    va_end(ap);
}

static void pci_debug(char *msg, ...) PRINTF_ATTRIBUTE(1, 2);
static void pci_debug(char *msg, ...)
{
}

/*
 * The config space (256 bytes) of the device at bdf, through libpci:
 * sysfs, or the lspci -xxx dump when dump is not NULL.
 */
static int pci_read_config(libxl__gc *gc, const libxl_device_pci *pci,
                           const char *bdf, const char *dump,
                           const char *sysfs, uint8_t *cfg)
{
    struct pci_access *volatile acc = NULL;
    struct pci_dev *volatile dev = NULL;
    volatile bool own_dev = false;
    struct pci_dev *d;
    const char *what;
    int rc, nr_devs = 0;
    struct stat st;

    if (dump) {
        what = GCSPRINTF("PCI dump %s", dump);
    } else {
        what = GCSPRINTF("%s/devices/%s", sysfs, bdf);
        if (stat(what, &st)) {
            if (errno == ENOENT) {
                LOG(ERROR, "PCI device %s not found (no %s)", bdf, what);
                return ERROR_NOTFOUND;
            }
            LOGE(ERROR, "PCI device %s: cannot access %s", bdf, what);
            return ERROR_FAIL;
        }
    }

    pthread_mutex_lock(&pci_lock);
    pci_msg[0] = '\0';

    if (setjmp(pci_jmp)) {
        LOG(ERROR, "%s: libpci: %s", what, pci_msg);
        rc = dump ? ERROR_INVAL : ERROR_FAIL;
        goto out;
    }

    acc = pci_alloc();
    acc->error = pci_error;
    acc->warning = pci_warning;
    acc->debug = pci_debug;
    if (dump) {
        acc->method = PCI_ACCESS_DUMP;
        pci_set_param(acc, (char *)"dump.name", (char *)dump);
    } else {
        acc->method = PCI_ACCESS_SYS_BUS_PCI;
        pci_set_param(acc, (char *)"sysfs.path", (char *)sysfs);
    }
    pci_init(acc);

    if (dump) {
        /* The dump's devices are on acc's list once it is read. */
        for (d = acc->devices; d; d = d->next) {
            nr_devs++;
            if (d->domain == pci->domain && d->bus == pci->bus &&
                d->dev == pci->dev && d->func == pci->func)
                dev = d;
        }
        if (!nr_devs) {
            LOG(ERROR, "%s: no device in it (not an lspci -xxx dump?)",
                what);
            rc = ERROR_INVAL;
            goto out;
        }
        if (!dev) {
            LOG(ERROR, "PCI device %s not found in %s", bdf, what);
            rc = ERROR_NOTFOUND;
            goto out;
        }
    } else {
        dev = pci_get_dev(acc, pci->domain, pci->bus, pci->dev, pci->func);
        own_dev = true;
    }

    if (!pci_read_block(dev, 0, cfg, 256)) {
        if (pci_read_block(dev, 0, cfg, 64)) {
            LOG(ERROR, "%s: only 64 bytes of the config space of %s %s",
                what, bdf, dump ? "(use lspci -xxx, not lspci -x)"
                                : "are readable (not root?)");
        } else {
            LOG(ERROR, "%s: cannot read the config space of %s%s%s", what,
                bdf, pci_msg[0] ? ": " : "", pci_msg);
        }
        rc = dump ? ERROR_INVAL : ERROR_FAIL;
        goto out;
    }
    rc = 0;

 out:
    if (dev && own_dev) pci_free_dev(dev);
    if (acc) pci_cleanup(acc);
    pthread_mutex_unlock(&pci_lock);
    return rc;
}

int libxl__ims_pci_identity_env(libxl__gc *gc, const libxl__ims_env *env,
                                const libxl_device_pci *pci,
                                libxl_pci_ims_identity *id)
{
    const char *dump = env->pci_dump;
    const char *sysfs = libxl__ims_env_path(gc, env, IMS_SYSFS_PCI_DIR);
    const char *bdf, *why;
    uint8_t cfg[256];
    int rc;

    bdf = GCSPRINTF("%04x:%02x:%02x.%u", pci->domain, pci->bus, pci->dev,
                    pci->func);

    /* At attach, what the identity is read from must be root's. */
    if (env->attach && (dump || env->root)) {
        why = libxl__ims_untrusted(gc, dump ? dump : sysfs);
        if (why) {
            LOG(ERROR, "PCI device %s: %s %s: %s: refused at attach (only "
                "root may be able to change it, as for the database)", bdf,
                dump ? "$" LIBXL_IMS_PCI_DUMP_ENV : "$" LIBXL_IMS_ROOT_ENV,
                dump ? dump : sysfs, why);
            return ERROR_FAIL;
        }
    }

    rc = pci_read_config(gc, pci, bdf, dump, sysfs, cfg);
    if (rc) return rc;

    rc = libxl__ims_identity_from_config(gc, cfg, sizeof(cfg), id);
    if (rc) {
        LOG(ERROR, "PCI device %s: no usable config space", bdf);
        return rc;
    }

    set_string(gc, &id->source,
               dump ? GCSPRINTF("libpci dump %s, %s", dump, bdf)
                    : GCSPRINTF("libpci sysfs %s", bdf));
    return 0;
}

int libxl__ims_pci_identity(libxl__gc *gc, const libxl_device_pci *pci,
                            libxl_pci_ims_identity *id)
{
    libxl__ims_env env;

    libxl__ims_env_read(gc, &env, false);
    return libxl__ims_pci_identity_env(gc, &env, pci, id);
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
