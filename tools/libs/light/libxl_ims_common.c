/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS-like PCI devices: what every layer shares.  The environment that
 * redirects host files (for tests and dry runs), the check that only
 * root can change a file, and escaping of quoted file content.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

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

/* Writable by a user other than root (group 0 holds only root). */
static bool others_can_write(const struct stat *st)
{
    return (st->st_mode & S_IWOTH) ||
           ((st->st_mode & S_IWGRP) && st->st_gid != 0);
}

/* What of st makes it not root's alone, or TRUST_OK. */
static libxl__ims_trust_problem trust_problem(const struct stat *st,
                                              bool below)
{
    if (st->st_uid != 0)
        return LIBXL__IMS_TRUST_OWNER;
    /* A sticky directory keeps root's entry (checked already) root's. */
    if (others_can_write(st) && !(below && (st->st_mode & S_ISVTX)))
        return LIBXL__IMS_TRUST_WRITABLE;
    return LIBXL__IMS_TRUST_OK;
}

/*
 * Like sshd's StrictModes: what decides what the toolstack tells the
 * device model may be changeable by root only: the file itself, and
 * every directory above it up to / (whoever can write one of them can
 * put another file in its place).  A sticky directory (/tmp) is the one
 * exception: there others cannot rename or remove root's entry below it,
 * which has already been checked to be root's.
 */
bool libxl__ims_trust_check(libxl__gc *gc, const char *resolved,
                            const struct stat *st, libxl__ims_trust *t)
{
    char *dir = libxl__strdup(gc, resolved), *slash;

    memset(t, 0, sizeof(*t));
    t->path = dir;
    t->st = *st;
    for (;;) {
        t->problem = trust_problem(&t->st, t->dir);
        if (t->problem != LIBXL__IMS_TRUST_OK)
            return false;
        if (!strcmp(dir, "/"))
            return true;
        slash = strrchr(dir, '/');
        if (!slash)
            return true;
        dir = libxl__strdup(gc, dir);
        slash = dir + (slash - t->path);
        if (slash == dir)
            slash[1] = '\0';           /* "/" itself */
        else
            *slash = '\0';
        t->path = dir;
        t->dir = true;
        if (stat(dir, &t->st)) {
            t->problem = LIBXL__IMS_TRUST_STAT;
            t->err = errno;
            return false;
        }
    }
}

const char *libxl__ims_untrusted(libxl__gc *gc, const char *path)
{
    char *resolved = realpath(path, NULL);
    libxl__ims_trust t;
    struct stat st;

    if (!resolved)
        return GCSPRINTF("cannot resolve %s: %s", path, strerror(errno));
    libxl__ptr_add(gc, resolved);
    if (stat(resolved, &st))
        return GCSPRINTF("cannot stat %s: %s", resolved, strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return GCSPRINTF("%s is not a regular file", resolved);
    if (libxl__ims_trust_check(gc, resolved, &st, &t))
        return NULL;
    switch (t.problem) {
    case LIBXL__IMS_TRUST_STAT:
        return GCSPRINTF("cannot stat %s: %s", t.path, strerror(t.err));
    case LIBXL__IMS_TRUST_OWNER:
        return GCSPRINTF("%s is owned by uid %u, not root", t.path,
                         (unsigned)t.st.st_uid);
    default:
        return GCSPRINTF("%s can be written by others than root", t.path);
    }
}

/* Replaces a string owned by an IDL structure (NOGC: dispose frees it). */
void libxl__ims_set_string(libxl__gc *gc, char **dst, const char *s)
{
    free(*dst);
    *dst = s ? libxl__strdup(NOGC, s) : NULL;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
size_t libxl__ims_utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) { len = 2; cp = s[0] & 0x1f; }
    else if (s[0] >= 0xe0 && s[0] <= 0xef) { len = 3; cp = s[0] & 0x0f; }
    else if (s[0] >= 0xf0 && s[0] <= 0xf4) { len = 4; cp = s[0] & 0x07; }
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

char *libxl__ims_escape(libxl__gc *gc, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), o = 0;
    /* At most 10 bytes ("\\u{NNNN}") for each input byte. */
    char *out = libxl__malloc(gc, len * 10 + 1);

    for (size_t i = 0; i < len; ) {
        size_t n = libxl__ims_utf8_sequence(p + i, len - i);
        uint32_t cp = 0;

        if (!n || p[i] < 0x20 || p[i] == 0x7f) {
            o += sprintf(out + o, "\\x%02x", p[i]);
            i++;
            continue;
        }
        if (n == 1) {
            out[o++] = p[i++];
            continue;
        }
        cp = p[i] & (0xff >> (n + 1));
        for (size_t k = 1; k < n; k++)
            cp = (cp << 6) | (p[i + k] & 0x3f);
        if ((cp >= 0x80 && cp <= 0x9f) ||
            (cp >= 0x202a && cp <= 0x202e) ||
            (cp >= 0x2066 && cp <= 0x2069)) {
            o += sprintf(out + o, "\\u{%04X}", (unsigned)cp);
        } else {
            memcpy(out + o, p + i, n);
            o += n;
        }
        i += n;
    }
    out[o] = 0;
    return out;
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
