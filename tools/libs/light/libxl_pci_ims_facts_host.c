/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS-like PCI devices: the host facts, read from the host (files through
 * $LIBXL_IMS_ROOT, Xen's console ring) and recorded at boot.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

/* Bounds on what is read from the host. */
#define IMS_RECORD_MAX        (64 * 1024)
#define IMS_CPUINFO_MAX       (4 * 1024 * 1024)
#define IMS_CONRING_CHUNK     16384
#define IMS_CONRING_MAX       (16 * 1024 * 1024)

#define IMS_ACPI_TABLES_DIR   "/sys/firmware/acpi/tables"
#define IMS_CPUINFO_FILE      "/proc/cpuinfo"
#define IMS_BOOT_ID_FILE      "/proc/sys/kernel/random/boot_id"

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
        libxl__ims_set_string(gc, &to->iommu_source, from->iommu_source);
    }
    if (to->intremap == LIBXL_PCI_IMS_INTREMAP_UNKNOWN &&
        from->intremap != LIBXL_PCI_IMS_INTREMAP_UNKNOWN) {
        to->intremap = from->intremap;
        libxl__ims_set_string(gc, &to->intremap_source, from->intremap_source);
    }
    for (i = 0; from->evidence && from->evidence[i]; i++)
        libxl__ims_facts_add_evidence(gc, to, from->evidence[i]);

    libxl_pci_ims_facts_dispose(from);
    libxl_pci_ims_facts_init(from);
}

/* This boot's id (/proc/sys/kernel/random/boot_id), or NULL. */
/* Replace the host part of to with from's (its evidence moves); leave the
 * rest of to alone. */
static void take_host_part(libxl__gc *gc, libxl_pci_ims_facts *to,
                           libxl_pci_ims_facts *from)
{
    to->iommu = from->iommu;
    libxl__ims_set_string(gc, &to->iommu_source, from->iommu_source);
    to->intremap = from->intremap;
    libxl__ims_set_string(gc, &to->intremap_source, from->intremap_source);
    libxl_string_list_dispose(&to->evidence);
    to->evidence = from->evidence;
    from->evidence = NULL;
}

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
 * The facts recorded at boot (xl pci-ims-facts --record) into one, when
 * the record is there and can be used: written by root (or, outside an
 * attach, by the caller), in this boot.  False when there is none.
 */
static bool record_facts(libxl__gc *gc, const libxl__ims_env *env,
                         libxl_pci_ims_facts *one)
{
    const char *path = libxl__ims_env_path(gc, env, LIBXL_IMS_FACTS_FILE);
    const char *boot_id, *why;
    char *text;
    size_t len;
    bool truncated;
    struct stat st;
    int rc;

    if (read_text(gc, path, IMS_RECORD_MAX, true, &text, &len, &truncated,
                  &st))
        return false;
    boot_id = read_boot_id(gc, env);
    why = env->attach ? libxl__ims_untrusted(gc, path) : NULL;

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
                 GCSPRINTF("record %s", path), one, boot_id);
        if (rc == ERROR_NOTFOUND)
            LOG(WARN, "%s: not recorded in this boot, ignored "
                "(record again: xl pci-ims-facts --record)", path);
        else if (rc)
            LOG(WARN, "%s: malformed, ignored", path);
    }
    return true;
}

/* The facts Xen itself gives: its console ring, then its command line. */
static void xen_facts(libxl__gc *gc, libxl_pci_ims_facts *found,
                      libxl_pci_ims_facts *one)
{
    xen_commandline_t cmdline;
    char *text;

    /* An offline context has no hypervisor to ask. */
    if (!CTX->xch)
        return;
    if (!facts_complete(found) && !read_console_ring(gc, &text)) {
        libxl__ims_facts_from_xen_log(gc, text, "Xen console", one);
        merge_facts(gc, found, one);
    }
    if (facts_complete(found))
        return;
    memset(cmdline, 0, sizeof(cmdline));
    if (xc_version(CTX->xch, XENVER_commandline, &cmdline) < 0) {
        LOGE(WARN, "cannot read Xen's command line");
        return;
    }
    cmdline[sizeof(cmdline) - 1] = '\0';
    libxl__ims_facts_from_cmdline(gc, cmdline, "Xen command line", one);
    merge_facts(gc, found, one);
}

/*
 * At attach, a host file under a redirected root ($LIBXL_IMS_ROOT) counts
 * only if only root can change it; a file that does not is ignored, with
 * a warning that says why.
 */
static bool host_file_usable(libxl__gc *gc, const libxl__ims_env *env,
                             const char *path)
{
    const char *why;

    if (!env->attach || !env->root)
        return true;
    why = libxl__ims_untrusted(gc, path);
    if (why)
        LOG(WARN, "%s: %s: not used at attach, ignored", path, why);
    return !why;
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
    int n;

    libxl_pci_ims_facts_init(&found);
    libxl_pci_ims_facts_init(&one);

    if (use_record && record_facts(gc, env, &one))
        merge_facts(gc, &found, &one);

    xen_facts(gc, &found, &one);

    if (!facts_complete(&found)) {
        path = libxl__ims_env_path(gc, env, IMS_ACPI_TABLES_DIR);
        if (host_file_usable(gc, env, path) &&
            !read_acpi_tables(gc, path, &tables, &n)) {
            libxl__ims_facts_from_acpi(gc, tables, n, path, &one);
            merge_facts(gc, &found, &one);
        }
    }

    if (!facts_complete(&found)) {
        path = libxl__ims_env_path(gc, env, IMS_CPUINFO_FILE);
        if (host_file_usable(gc, env, path) &&
            !read_text(gc, path, IMS_CPUINFO_MAX, false, &text, &len,
                       &truncated, NULL)) {
            libxl__ims_facts_from_cpuinfo(gc, text, path, &one);
            merge_facts(gc, &found, &one);
        }
    }

    take_host_part(gc, f, &found);

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

/* text as the whole of path: readers see the old file or the new one,
 * never half of one. */
static int write_atomically(libxl__gc *gc, const char *path,
                            const char *text)
{
    char *tmp = GCSPRINTF("%s.tmpXXXXXX", path);
    int fd, rc;

    fd = mkstemp(tmp);
    if (fd < 0) {
        LOGE(ERROR, "cannot create %s", tmp);
        return ERROR_FAIL;
    }
    if (fchmod(fd, 0644)) {
        LOGE(ERROR, "cannot chmod %s", tmp);
        rc = ERROR_FAIL;
        goto out;
    }
    rc = libxl_write_exactly(CTX, fd, text, strlen(text), tmp,
                             "IMS host facts");
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
    return 0;

 out:
    if (fd >= 0) close(fd);
    unlink(tmp);
    return rc;
}

int libxl_pci_ims_record_host_facts(libxl_ctx *ctx, const char *path,
                                    libxl_pci_ims_facts *facts)
{
    GC_INIT(ctx);
    libxl_pci_ims_facts f;
    libxl__ims_env env;
    const char *boot_id;
    int rc;

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
    rc = write_atomically(gc, path, libxl__ims_facts_to_record(gc, &f,
                                                               boot_id));
    if (rc) goto out;
    LOG(DEBUG, "recorded IOMMU facts in %s", path);

    if (facts)
        take_host_part(gc, facts, &f);
    rc = 0;

 out:
    libxl_pci_ims_facts_dispose(&f);
    GC_FREE;
    return rc;
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
