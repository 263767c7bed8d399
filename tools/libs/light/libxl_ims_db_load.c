/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS policy database: the lookup index, loading the files (with the
 * checks that only root can change them) and the public API.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include <dirent.h>

#include "libxl_ims.h"

/* Sort key: vendor:device, then load order (so no context is needed). */
typedef struct {
    uint32_t key;
    int index;
} db_order_key;

static int cmp_order(const void *a, const void *b)
{
    const db_order_key *ka = a, *kb = b;

    if (ka->key != kb->key)
        return ka->key < kb->key ? -1 : 1;
    return ka->index < kb->index ? -1 : ka->index > kb->index;
}

void libxl__ims_db_finish(libxl__gc *gc, libxl__ims_db *db)
{
    db_order_key *keys = libxl__calloc(gc, db->nr_entries + 1,
                                       sizeof(*keys));

    libxl__ims_db_add_hidden_summary(gc, db);

    for (int i = 0; i < db->nr_entries; i++) {
        keys[i].key = (uint32_t)db->entries[i].vendor << 16 |
                      db->entries[i].device;
        keys[i].index = i;
    }
    qsort(keys, db->nr_entries, sizeof(*keys), cmp_order);
    db->order = libxl__realloc(gc, NULL, sizeof(int) * (db->nr_entries + 1));
    for (int i = 0; i < db->nr_entries; i++)
        db->order[i] = keys[i].index;
}

static int specificity(const libxl_pci_ims_db_entry *e)
{
    return (e->has_subsys ? 2 : 0) + (e->has_class ? 1 : 0);
}

const libxl_pci_ims_db_entry *libxl__ims_db_lookup(
    const libxl__ims_db *db, uint16_t vendor, uint16_t device,
    uint16_t subvendor, uint16_t subdevice, uint32_t class_code)
{
    uint32_t key = (uint32_t)vendor << 16 | device;
    const libxl_pci_ims_db_entry *best = NULL;
    int lo = 0, hi = db->nr_entries, best_spec = -1;

    if (!db->order)
        return NULL;

    /* First index whose key is >= key. */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const libxl_pci_ims_db_entry *e = &db->entries[db->order[mid]];

        if (((uint32_t)e->vendor << 16 | e->device) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Equal keys are in load order, so ">=" lets the later one win. */
    for (; lo < db->nr_entries; lo++) {
        const libxl_pci_ims_db_entry *e = &db->entries[db->order[lo]];
        int spec;

        if (e->vendor != vendor || e->device != device)
            break;
        if (e->has_subsys &&
            (e->subvendor != subvendor || e->subdevice != subdevice))
            continue;
        if (e->has_class && e->class_code != class_code)
            continue;
        spec = specificity(e);
        if (spec >= best_spec) {
            best = e;
            best_spec = spec;
        }
    }
    return best;
}

/*
 * Only root may be able to change a database (libxl__ims_trust_check):
 * it decides what the toolstack tells the device model.  path has no
 * symbolic link left (realpath); link_note says what the name given was
 * a link to.  False when the file is refused.
 */
static bool check_owner_and_mode(libxl__gc *gc, libxl__ims_db *db,
                                 const char *file, const char *path,
                                 const struct stat *file_st,
                                 const char *link_note, bool strict_perms)
{
    libxl_pci_ims_severity sev = strict_perms
        ? LIBXL_PCI_IMS_SEVERITY_ERROR : LIBXL_PCI_IMS_SEVERITY_WARNING;
    const char *what = strict_perms ? "refused" : "would be refused "
        "as part of the system database";
    libxl__ims_trust t;

    if (libxl__ims_trust_check(gc, path, file_st, &t))
        return true;

    if (t.problem == LIBXL__IMS_TRUST_STAT) {
        libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, file,
                               0, 0, "cannot stat its directory %s: %s%s",
                               t.path, strerror(t.err), link_note);
        return false;
    }
    if (!t.dir && t.problem == LIBXL__IMS_TRUST_OWNER)
        libxl__ims_db_add_diag(gc, db, sev, file, 0, 0, "owned by uid %u, "
                               "not root: %s (fix: chown root:root %s)%s",
                               (unsigned)t.st.st_uid, what, path,
                               link_note);
    else if (!t.dir)
        libxl__ims_db_add_diag(gc, db, sev, file, 0, 0, "writable by %s: "
                               "%s (fix: chmod go-w %s)%s",
                               t.st.st_mode & S_IWOTH ? "everyone"
                                                      : "its group",
                               what, path, link_note);
    else if (t.problem == LIBXL__IMS_TRUST_OWNER)
        libxl__ims_db_add_diag(gc, db, sev, file, 0, 0, "its directory %s "
                               "is owned by uid %u, not root: %s (fix: "
                               "chown root %s, or move the file)%s", t.path,
                               (unsigned)t.st.st_uid, what, t.path,
                               link_note);
    else
        libxl__ims_db_add_diag(gc, db, sev, file, 0, 0, "its directory %s "
                               "can be written by others than root: %s "
                               "(fix: chown root %s; chmod go-w %s, or "
                               "move the file)%s", t.path, what, t.path,
                               t.path, link_note);
    return !strict_perms;
}

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a plain file";
}

/* All of fd (gc-allocated); false, with a diagnostic, on an error. */
static bool read_all(libxl__gc *gc, libxl__ims_db *db, int fd,
                     const char *shown, char **buf_r, size_t *len_r)
{
    char *buf = NULL;
    size_t len = 0, allocated = 0;

    for (;;) {
        ssize_t r;

        if (allocated - len < 4096) {
            allocated = allocated * 2 + 8192;
            buf = libxl__realloc(gc, buf, allocated);
        }
        r = read(fd, buf + len, allocated - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown,
                                   0, 0, "cannot read: %s", strerror(errno));
            return false;
        }
        if (r == 0) break;
        len += r;
    }
    *buf_r = buf;
    *len_r = len;
    return true;
}

/*
 * Loads one file.  missing_ok: a missing file is no problem (the system
 * database need not be installed).  A symbolic link is followed with
 * realpath() and the file it resolves to is checked where it lies; a FIFO
 * or a device is refused before it is opened, and the open neither blocks
 * nor follows a link swapped in meanwhile.
 */
static void load_file(libxl__gc *gc, libxl__ims_db *db, const char *file,
                      const char *shown, bool strict_perms, bool missing_ok)
{
    char *buf, *resolved;
    const char *link_note = "";
    size_t len;
    struct stat lst, st, fst;
    int fd = -1;

    if (lstat(file, &lst)) {
        if (errno == ENOENT && missing_ok)
            return;
        libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0,
                               0, "cannot open: %s", strerror(errno));
        return;
    }
    resolved = realpath(file, NULL);
    if (!resolved) {
        libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0,
                               0, "cannot open: %s%s", strerror(errno),
                               S_ISLNK(lst.st_mode) ? " (a symbolic link)" :
                               "");
        return;
    }
    libxl__ptr_add(gc, resolved);
    if (S_ISLNK(lst.st_mode))
        link_note = GCSPRINTF(" (%s is a symbolic link to %s)", shown,
                              resolved);

    if (stat(resolved, &st)) {
        libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0,
                               0, "cannot stat: %s%s", strerror(errno),
                               link_note);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0,
                               0, "not a regular file (%s)%s",
                               file_kind(st.st_mode), link_note);
        return;
    }
    fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                        O_NOFOLLOW);
    if (fd < 0) {
        libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0,
                               0, "cannot open: %s%s", strerror(errno),
                               link_note);
        return;
    }
    if (fstat(fd, &fst)) {
        libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0,
                               0, "cannot stat: %s", strerror(errno));
        goto out;
    }
    /* Replaced between stat() and open(): what was checked is gone. */
    if (!S_ISREG(fst.st_mode) || fst.st_dev != st.st_dev ||
        fst.st_ino != st.st_ino) {
        libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0,
                               0, "not a regular file (%s), or replaced while "
                               "opened%s", file_kind(fst.st_mode), link_note);
        goto out;
    }
    if (!check_owner_and_mode(gc, db, shown, resolved, &fst, link_note,
                              strict_perms))
        goto out;

    if (!read_all(gc, db, fd, shown, &buf, &len))
        goto out;
    libxl__ims_db_parse(gc, db, shown, buf, len);

 out:
    close(fd);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The drop-ins: *.cfg in lexical (byte) order; a missing directory is fine. */
static void load_dropins(libxl__gc *gc, const libxl__ims_env *env,
                         libxl__ims_db *db, bool strict_perms)
{
    const char *shown_dir = LIBXL_IMS_DB_DROPIN_DIR;
    const char *dir = libxl__ims_env_path(gc, env, shown_dir);
    char **names = NULL;
    int nr = 0, allocated = 0;
    struct dirent *de;
    DIR *d;

    d = opendir(dir);
    if (!d) {
        if (errno != ENOENT)
            libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR,
                                   shown_dir, 0, 0, "cannot open directory: "
                                   "%s", strerror(errno));
        return;
    }
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);

        if (de->d_name[0] == '.' || n < 5 ||
            strcmp(de->d_name + n - 4, ".cfg"))
            continue;
        if (nr == allocated) {
            allocated = allocated * 2 + 8;
            names = libxl__realloc(gc, names, sizeof(*names) * allocated);
        }
        names[nr++] = libxl__strdup(gc, de->d_name);
    }
    closedir(d);
    if (nr)
        qsort(names, nr, sizeof(*names), cmp_names);
    for (int i = 0; i < nr; i++)
        load_file(gc, db, GCSPRINTF("%s/%s", dir, names[i]),
                  GCSPRINTF("%s/%s", shown_dir, names[i]), strict_perms,
                  false);
}

int libxl__ims_db_load_env(libxl__gc *gc, const libxl__ims_env *env,
                           const char *const *files, int nr_files,
                           bool strict_perms, libxl__ims_db **db_r)
{
    libxl__ims_db *db = libxl__zalloc(gc, sizeof(*db));

    libxl__ims_db_init(db);
    if (files) {
        for (int i = 0; i < nr_files; i++)
            load_file(gc, db, files[i], files[i], strict_perms, false);
    } else if (env->db) {
        char *list = libxl__strdup(gc, env->db), *saveptr = NULL, *f;

        for (f = strtok_r(list, ":", &saveptr); f;
             f = strtok_r(NULL, ":", &saveptr))
            load_file(gc, db, f, f, strict_perms, false);
    } else {
        load_file(gc, db, libxl__ims_env_path(gc, env, LIBXL_IMS_DB_MAIN),
                  LIBXL_IMS_DB_MAIN, strict_perms, true);
        load_dropins(gc, env, db, strict_perms);
    }
    libxl__ims_db_finish(gc, db);
    *db_r = db;
    return db->nr_errors ? ERROR_INVAL : 0;
}

int libxl__ims_db_load(libxl__gc *gc, const char *const *files,
                       int nr_files, bool strict_perms,
                       libxl__ims_db **db_r)
{
    libxl__ims_env env;

    libxl__ims_env_read(gc, &env, false);
    return libxl__ims_db_load_env(gc, &env, files, nr_files, strict_perms,
                                  db_r);
}

int libxl_pci_ims_db_check(libxl_ctx *ctx, const char *const *files,
                           int nr_files,
                           libxl_pci_ims_db_entry **entries_r,
                           int *nr_entries_r,
                           libxl_pci_ims_diag **diags_r, int *nr_diags_r)
{
    GC_INIT(ctx);
    libxl__ims_db *db;
    int rc;

    /* Files named by the caller are checked, not trusted: warn only. */
    rc = libxl__ims_db_load(gc, files, nr_files, files == NULL, &db);

    *entries_r = db->nr_entries
        ? libxl__calloc(NOGC, db->nr_entries, sizeof(**entries_r)) : NULL;
    for (int i = 0; i < db->nr_entries; i++)
        libxl_pci_ims_db_entry_copy(ctx, &(*entries_r)[i], &db->entries[i]);
    *nr_entries_r = db->nr_entries;

    *diags_r = db->nr_diags
        ? libxl__calloc(NOGC, db->nr_diags, sizeof(**diags_r)) : NULL;
    for (int i = 0; i < db->nr_diags; i++)
        libxl_pci_ims_diag_copy(ctx, &(*diags_r)[i], &db->diags[i]);
    *nr_diags_r = db->nr_diags;

    GC_FREE;
    return rc;
}

void libxl_pci_ims_db_entry_list_free(libxl_pci_ims_db_entry *list, int nr)
{
    for (int i = 0; i < nr; i++)
        libxl_pci_ims_db_entry_dispose(&list[i]);
    free(list);
}

void libxl_pci_ims_diag_list_free(libxl_pci_ims_diag *list, int nr)
{
    for (int i = 0; i < nr; i++)
        libxl_pci_ims_diag_dispose(&list[i]);
    free(list);
}

void libxl__ims_db_log_problems(libxl__gc *gc, const libxl__ims_db *db)
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
const char *libxl__ims_db_first_error(libxl__gc *gc, const libxl__ims_db *db)
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
    libxl__ims_db_log_problems(gc, db);
    *db_error_r = libxl__ims_db_first_error(gc, db);
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
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
