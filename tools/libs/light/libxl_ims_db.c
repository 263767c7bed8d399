/*
 * IMS policy database: load, validate, match.  Format and precedence are
 * described in libxl_ims.h and xl-pci-ims(5).
 *
 * The parser is a pure function of a buffer (libxl__ims_db_parse), so that
 * it can be fuzzed and tested on every kind of bad input; file access,
 * ownership checks and the order of files stay in libxl__ims_db_load.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 *
 * This program is free software; you can redistribute it and/or modify
 * it under the terms of the GNU Lesser General Public License as published
 * by the Free Software Foundation; version 2.1 only. with the special
 * exception on linking described in file LICENSE.
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include <dirent.h>

#include "libxl_ims.h"

void libxl__ims_db_init(libxl__ims_db *db)
{
    memset(db, 0, sizeof(*db));
}

/*----- diagnostics -----*/

static void add_diag(libxl__gc *gc, libxl__ims_db *db,
                     libxl_pci_ims_severity severity, const char *file,
                     int line, int column, const char *fmt, ...)
    PRINTF_ATTRIBUTE(7, 8);

static void add_diag(libxl__gc *gc, libxl__ims_db *db,
                     libxl_pci_ims_severity severity, const char *file,
                     int line, int column, const char *fmt, ...)
{
    libxl_pci_ims_diag *d;
    va_list ap;

    if (severity == LIBXL_PCI_IMS_SEVERITY_ERROR)
        db->nr_errors++;

    /*
     * Past the cap a diagnostic is only counted: each one kept costs gc
     * pointers, whose registration is linear in their number.
     */
    if (db->nr_diags >= LIBXL_IMS_DB_MAX_DIAGS) {
        if (!db->nr_hidden_errors && !db->nr_hidden_warnings) {
            d = &db->first_hidden;
            d->severity = severity;
            d->file = libxl__ims_escape(gc, file);
            d->line = line;
            d->column = column;
        }
        if (severity == LIBXL_PCI_IMS_SEVERITY_ERROR)
            db->nr_hidden_errors++;
        else
            db->nr_hidden_warnings++;
        return;
    }

    if (db->nr_diags == db->diags_allocated) {
        db->diags_allocated = db->diags_allocated * 2 + 8;
        db->diags = libxl__realloc(gc, db->diags,
                                   sizeof(*db->diags) * db->diags_allocated);
    }
    d = &db->diags[db->nr_diags++];
    libxl_pci_ims_diag_init(d);
    d->severity = severity;
    /* Diagnostics of one file share its name (they are gc-allocated). */
    if (db->nr_diags > 1 && db->last_diag_file &&
        !strcmp(db->last_diag_file, file)) {
        d->file = db->diags[db->nr_diags - 2].file;
    } else {
        db->last_diag_file = libxl__strdup(gc, file);
        d->file = libxl__ims_escape(gc, file);
    }
    d->line = line;
    d->column = column;
    /* Messages quote the file: its bytes must not reach a terminal raw. */
    va_start(ap, fmt);
    d->message = libxl__ims_escape(gc, libxl__vsprintf(gc, fmt, ap));
    va_end(ap);
}

/*
 * One diagnostic for all those past the cap, at the place of the first
 * of them; it is not counted again in nr_errors.
 */
static void add_hidden_summary(libxl__gc *gc, libxl__ims_db *db)
{
    libxl_pci_ims_diag *d;
    int errors = db->nr_hidden_errors, warnings = db->nr_hidden_warnings;

    if (!errors && !warnings)
        return;
    db->diags = libxl__realloc(gc, db->diags,
                               sizeof(*db->diags) * (db->nr_diags + 1));
    db->diags_allocated = db->nr_diags + 1;
    d = &db->diags[db->nr_diags++];
    *d = db->first_hidden;
    d->severity = errors ? LIBXL_PCI_IMS_SEVERITY_ERROR
                         : LIBXL_PCI_IMS_SEVERITY_WARNING;
    if (errors && warnings)
        d->message = GCSPRINTF("%d more errors and %d more warnings not "
                               "shown (only the first %d diagnostics are "
                               "kept)", errors, warnings,
                               LIBXL_IMS_DB_MAX_DIAGS);
    else
        d->message = GCSPRINTF("%d more %s not shown (only the first %d "
                               "diagnostics are kept)",
                               errors ? errors : warnings,
                               errors ? "errors" : "warnings",
                               LIBXL_IMS_DB_MAX_DIAGS);
    db->nr_hidden_errors = db->nr_hidden_warnings = 0;
}

/*----- the parser (pure) -----*/

/* State of one line while it is parsed. */
typedef struct {
    libxl__gc *gc;
    libxl__ims_db *db;
    const char *file;
    int line;
    const char *text;   /* the line, without its line end */
    size_t len;
    size_t pos;         /* next byte to read */
    int errors;
    /*
     * Values are copied here, not allocated one by one: libxl's gc scans
     * its pointer list on each allocation, which would make a large file
     * quadratic.  Sized for the whole buffer (a value and its NUL never
     * take more bytes than `=value' in the file).
     */
    char *arena;
    size_t *arena_used;
    /* Strategy lists, likewise: one slot per byte of the buffer is more
     * than any line can use (an entry and its two default lists take at
     * most 4 slots in at least 4 bytes; amd=a|b|c 3 slots in 11). */
    libxl_pci_ims_strategy *lists;
    size_t *lists_used;
} line_parser;

#define LP_ERROR(lp, at, ...) do {                                      \
        add_diag((lp)->gc, (lp)->db, LIBXL_PCI_IMS_SEVERITY_ERROR,       \
                 (lp)->file, (lp)->line, (int)(at) + 1, __VA_ARGS__);    \
        (lp)->errors++;                                                 \
    } while (0)

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void skip_blanks(line_parser *lp)
{
    while (lp->pos < lp->len && is_blank(lp->text[lp->pos]))
        lp->pos++;
}

/* 1..max_digits hex digits at s[0..n); returns false if they are not. */
static bool parse_hex(const char *s, size_t n, unsigned max_digits,
                      uint32_t *val_r)
{
    uint32_t v = 0;

    if (n == 0 || n > max_digits)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d;

        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return false;
        v = (v << 4) | d;
    }
    *val_r = v;
    return true;
}

/* "vvvv:dddd" at s[0..n). */
static bool parse_id_pair(const char *s, size_t n, uint16_t *a_r,
                          uint16_t *b_r)
{
    const char *colon = memchr(s, ':', n);
    uint32_t a, b;

    if (!colon ||
        !parse_hex(s, colon - s, 4, &a) ||
        !parse_hex(colon + 1, n - (colon + 1 - s), 4, &b))
        return false;
    *a_r = a;
    *b_r = b;
    return true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
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
        size_t n = utf8_sequence(p + i, len - i);
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
 * Reads one value: a double-quoted string (with \" and \\) or a bare run
 * of characters up to the next comma.  On success *val_r is the value
 * (gc-allocated, unescaped) and lp->pos is past it and past any blanks.
 */
static bool read_value(line_parser *lp, const char *key, char **val_r)
{
    size_t start = lp->pos;

    if (lp->pos < lp->len && lp->text[lp->pos] == '"') {
        char *out = lp->arena + *lp->arena_used;
        size_t o = 0;

        lp->pos++;
        for (;;) {
            unsigned char c;
            size_t n;

            if (lp->pos >= lp->len) {
                LP_ERROR(lp, start, "unterminated quoted value of `%s': "
                         "add the closing \"", key);
                return false;
            }
            c = lp->text[lp->pos];
            if (c == '"') {
                lp->pos++;
                break;
            }
            if (c == '\\') {
                if (lp->pos + 1 < lp->len &&
                    (lp->text[lp->pos + 1] == '"' ||
                     lp->text[lp->pos + 1] == '\\')) {
                    out[o++] = lp->text[lp->pos + 1];
                    lp->pos += 2;
                    continue;
                }
                LP_ERROR(lp, lp->pos, "bad escape in the value of `%s': "
                         "only \\\" and \\\\ are escapes", key);
                return false;
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                LP_ERROR(lp, lp->pos, "control character 0x%02x in the "
                         "value of `%s'", c, key);
                return false;
            }
            n = utf8_sequence((const unsigned char *)lp->text + lp->pos,
                              lp->len - lp->pos);
            if (!n) {
                LP_ERROR(lp, lp->pos, "the value of `%s' is not valid "
                         "UTF-8 (byte 0x%02x): save the file as UTF-8",
                         key, c);
                return false;
            }
            memcpy(out + o, lp->text + lp->pos, n);
            o += n;
            lp->pos += n;
        }
        out[o] = 0;
        *lp->arena_used += o + 1;
        *val_r = out;
    } else {
        size_t end;

        while (lp->pos < lp->len && lp->text[lp->pos] != ',') {
            unsigned char c = lp->text[lp->pos];

            if (is_blank(c)) {
                /* Blanks are allowed only before a comma or the end. */
                size_t p = lp->pos;

                while (p < lp->len && is_blank(lp->text[p]))
                    p++;
                if (p < lp->len && lp->text[p] != ',') {
                    LP_ERROR(lp, lp->pos, "whitespace inside the value of "
                             "`%s': quote values that contain spaces "
                             "(%s=\"...\")", key, key);
                    return false;
                }
                break;
            }
            if (c == '"') {
                LP_ERROR(lp, lp->pos, "stray \" in the value of `%s': "
                         "quote the whole value", key);
                return false;
            }
            if (c < 0x20 || c == 0x7f) {
                LP_ERROR(lp, lp->pos, "%s 0x%02x in the value of `%s'",
                         c == '\r' ? "carriage return" : "control character",
                         c, key);
                return false;
            }
            if (c >= 0x80) {
                size_t n = utf8_sequence((const unsigned char *)lp->text +
                                         lp->pos, lp->len - lp->pos);
                if (!n) {
                    LP_ERROR(lp, lp->pos, "the value of `%s' is not valid "
                             "UTF-8 (byte 0x%02x): save the file as UTF-8",
                             key, c);
                    return false;
                }
                lp->pos += n;
                continue;
            }
            lp->pos++;
        }
        end = lp->pos;
        *val_r = lp->arena + *lp->arena_used;
        memcpy(*val_r, lp->text + start, end - start);
        (*val_r)[end - start] = 0;
        *lp->arena_used += end - start + 1;
    }
    skip_blanks(lp);
    return true;
}

static bool parse_strategy(const char *s, size_t len,
                           libxl_pci_ims_strategy *st_r)
{
    static const struct {
        const char *name;
        libxl_pci_ims_strategy st;
    } names[] = {
        { "expose", LIBXL_PCI_IMS_STRATEGY_EXPOSE },
        { "export", LIBXL_PCI_IMS_STRATEGY_EXPORT },
        { "remap",  LIBXL_PCI_IMS_STRATEGY_REMAP },
        { "none",   LIBXL_PCI_IMS_STRATEGY_NONE },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
        if (strlen(names[i].name) == len && !memcmp(s, names[i].name, len)) {
            *st_r = names[i].st;
            return true;
        }
    }
    return false;
}

static libxl_pci_ims_strategy *list_slots(line_parser *lp, int n)
{
    libxl_pci_ims_strategy *l = lp->lists + *lp->lists_used;

    *lp->lists_used += n;
    return l;
}

/*
 * An amd= or intel= value: one strategy, or several in preference order
 * joined by `|'.  none only alone, each strategy once, remap only for amd.
 * at is the value's column, for diagnostics.
 */
static bool parse_strategy_list(line_parser *lp, bool amd, const char *val,
                                size_t at, libxl_pci_ims_strategy **list_r,
                                int *num_r)
{
    libxl_pci_ims_strategy st[3];
    const char *key = amd ? "amd" : "intel";
    const char *p = val;
    int n = 0;

    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        size_t col = at + (p - val);

        if (n == 3) {
            LP_ERROR(lp, col, "%s= lists more than three strategies", key);
            return false;
        }
        if (!parse_strategy(p, len, &st[n])) {
            LP_ERROR(lp, col, "bad strategy `%.*s' for %s: expected "
                     "%s, or several joined by `|' in order of preference "
                     "(e.g. %s)", (int)len, p, key,
                     amd ? "expose, export, remap or none"
                         : "expose, export or none",
                     amd ? "amd=remap|export" : "intel=expose|export");
            return false;
        }
        if (!amd && st[n] == LIBXL_PCI_IMS_STRATEGY_REMAP) {
            LP_ERROR(lp, col, "intel=remap: the remap strategy exists only "
                     "for AMD IOMMUs; use expose, export or none");
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (st[i] == st[n]) {
                LP_ERROR(lp, col, "%s= lists `%.*s' twice", key, (int)len,
                         p);
                return false;
            }
        }
        n++;
        if (!bar) break;
        p = bar + 1;
    }
    for (int i = 0; n > 1 && i < n; i++) {
        if (st[i] == LIBXL_PCI_IMS_STRATEGY_NONE) {
            LP_ERROR(lp, at, "%s=%s: none stands alone (it means no "
                     "strategy for this IOMMU vendor)", key, val);
            return false;
        }
    }
    *list_r = list_slots(lp, n);
    memcpy(*list_r, st, sizeof(st[0]) * n);
    *num_r = n;
    return true;
}

/* Lists for an entry that leaves amd= or intel= out. */
static void default_list(line_parser *lp, bool amd,
                         libxl_pci_ims_strategy **list_r, int *num_r)
{
    libxl_pci_ims_strategy *l = list_slots(lp, 2);

    l[0] = amd ? LIBXL_PCI_IMS_STRATEGY_REMAP : LIBXL_PCI_IMS_STRATEGY_EXPOSE;
    l[1] = LIBXL_PCI_IMS_STRATEGY_EXPORT;
    *list_r = l;
    *num_r = 2;
}

enum { KEY_NAME, KEY_SUBSYS, KEY_CLASS, KEY_AMD, KEY_INTEL, NR_KEYS };
static const char *const key_names[NR_KEYS] = {
    "name", "subsys", "class", "amd", "intel",
};

/*
 * Parses one non-empty, non-comment line into *e.  Returns true when the
 * line had no error.
 */
static bool parse_entry_line(line_parser *lp, libxl_pci_ims_db_entry *e)
{
    int key_col[NR_KEYS];
    size_t start, end;
    uint32_t v;

    for (int k = 0; k < NR_KEYS; k++)
        key_col[k] = -1;

    /* vendor:device */
    start = lp->pos;
    while (lp->pos < lp->len && lp->text[lp->pos] != ',' &&
           !is_blank(lp->text[lp->pos]))
        lp->pos++;
    end = lp->pos;
    if (!parse_id_pair(lp->text + start, end - start, &e->vendor,
                       &e->device)) {
        if (end == start || memchr(lp->text + start, '=', end - start))
            LP_ERROR(lp, start, "missing vendor:device: an entry starts "
                     "with the PCI IDs in hex, e.g. 17cb:1103");
        else
            LP_ERROR(lp, start, "bad vendor:device `%.*s': expected two "
                     "hex numbers of 1-4 digits, e.g. 17cb:1103",
                     (int)(end - start), lp->text + start);
        return false;
    }
    skip_blanks(lp);

    while (lp->pos < lp->len) {
        size_t key_start, key_end;
        int k;
        char *val;

        if (lp->text[lp->pos] != ',') {
            LP_ERROR(lp, lp->pos, "expected `,' between fields, found "
                     "`%c'", lp->text[lp->pos]);
            return false;
        }
        lp->pos++;
        skip_blanks(lp);

        key_start = lp->pos;
        while (lp->pos < lp->len && lp->text[lp->pos] != '=' &&
               lp->text[lp->pos] != ',' && !is_blank(lp->text[lp->pos]))
            lp->pos++;
        key_end = lp->pos;
        if (key_end == key_start) {
            LP_ERROR(lp, key_start, "empty field: expected key=value "
                     "(keys: name, subsys, class, amd, intel)");
            return false;
        }
        for (k = 0; k < NR_KEYS; k++)
            if (strlen(key_names[k]) == key_end - key_start &&
                !memcmp(key_names[k], lp->text + key_start,
                        key_end - key_start))
                break;
        if (k == NR_KEYS) {
            LP_ERROR(lp, key_start, "unknown key `%.*s': expected one of "
                     "name, subsys, class, amd, intel",
                     (int)(key_end - key_start), lp->text + key_start);
            return false;
        }
        if (key_col[k] >= 0) {
            LP_ERROR(lp, key_start, "duplicate key `%s' (first at column "
                     "%d): give each key once per entry", key_names[k],
                     key_col[k] + 1);
            return false;
        }
        key_col[k] = key_start;
        /* Blanks are ignored only around commas (DESIGN, xl spec style). */
        if (lp->pos < lp->len && is_blank(lp->text[lp->pos])) {
            LP_ERROR(lp, lp->pos, "whitespace after `%s': write %s=value "
                     "with no space around `='", key_names[k], key_names[k]);
            return false;
        }
        if (lp->pos >= lp->len || lp->text[lp->pos] != '=') {
            LP_ERROR(lp, lp->pos, "expected `=' after `%s'", key_names[k]);
            return false;
        }
        lp->pos++;
        if (lp->pos < lp->len && is_blank(lp->text[lp->pos])) {
            LP_ERROR(lp, lp->pos, "whitespace after `%s=': write %s=value "
                     "with no space around `=' (quote a value that starts "
                     "with a space)", key_names[k], key_names[k]);
            return false;
        }
        start = lp->pos;
        if (!read_value(lp, key_names[k], &val))
            return false;

        switch (k) {
        case KEY_NAME:
            e->name = val;
            break;
        case KEY_SUBSYS:
            if (!parse_id_pair(val, strlen(val), &e->subvendor,
                               &e->subdevice)) {
                LP_ERROR(lp, start, "bad subsys `%s': expected "
                         "subvendor:subdevice in hex, e.g. 17aa:9309", val);
                return false;
            }
            e->has_subsys = true;
            break;
        case KEY_CLASS: {
            const char *h = val;

            if (!strncmp(h, "0x", 2) || !strncmp(h, "0X", 2))
                h += 2;
            if (!parse_hex(h, strlen(h), 6, &v)) {
                LP_ERROR(lp, start, "bad class `%s': expected the 24-bit "
                         "class code in hex, e.g. 0x028000", val);
                return false;
            }
            e->class_code = v;
            e->has_class = true;
            break;
        }
        case KEY_AMD:
            if (!parse_strategy_list(lp, true, val, start, &e->amd,
                                     &e->num_amd))
                return false;
            break;
        case KEY_INTEL:
            if (!parse_strategy_list(lp, false, val, start, &e->intel,
                                     &e->num_intel))
                return false;
            break;
        }
    }

    if (key_col[KEY_AMD] < 0)
        default_list(lp, true, &e->amd, &e->num_amd);
    if (key_col[KEY_INTEL] < 0)
        default_list(lp, false, &e->intel, &e->num_intel);
    return true;
}

static bool same_match(const libxl_pci_ims_db_entry *a,
                       const libxl_pci_ims_db_entry *b)
{
    return a->vendor == b->vendor && a->device == b->device &&
           a->has_subsys == b->has_subsys && a->has_class == b->has_class &&
           (!a->has_subsys || (a->subvendor == b->subvendor &&
                               a->subdevice == b->subdevice)) &&
           (!a->has_class || a->class_code == b->class_code);
}

/* Orders entries by what they match, then by line. */
static int cmp_match(const void *a, const void *b)
{
    const libxl_pci_ims_db_entry *ea = *(libxl_pci_ims_db_entry *const *)a;
    const libxl_pci_ims_db_entry *eb = *(libxl_pci_ims_db_entry *const *)b;
    uint64_t ka = (uint64_t)ea->vendor << 48 | (uint64_t)ea->device << 32 |
                  (uint64_t)ea->has_subsys << 1 | ea->has_class;
    uint64_t kb = (uint64_t)eb->vendor << 48 | (uint64_t)eb->device << 32 |
                  (uint64_t)eb->has_subsys << 1 | eb->has_class;

    if (ka != kb)
        return ka < kb ? -1 : 1;
    ka = ea->has_subsys ? (uint32_t)ea->subvendor << 16 | ea->subdevice : 0;
    kb = eb->has_subsys ? (uint32_t)eb->subvendor << 16 | eb->subdevice : 0;
    if (ka != kb)
        return ka < kb ? -1 : 1;
    ka = ea->has_class ? ea->class_code : 0;
    kb = eb->has_class ? eb->class_code : 0;
    if (ka != kb)
        return ka < kb ? -1 : 1;
    return ea->line < eb->line ? -1 : ea->line > eb->line;
}

/*
 * Two entries of one file with the same match: the later replaces the
 * earlier, which is almost always a mistake.  Sorted, not compared pair
 * by pair, so that a file of any size is checked in n log n.
 */
static void warn_duplicates(libxl__gc *gc, libxl__ims_db *db,
                            const char *file,
                            libxl_pci_ims_db_entry *found, int nr_found)
{
    libxl_pci_ims_db_entry **by_match;

    if (nr_found < 2)
        return;
    by_match = libxl__calloc(gc, nr_found, sizeof(*by_match));
    for (int i = 0; i < nr_found; i++)
        by_match[i] = &found[i];
    qsort(by_match, nr_found, sizeof(*by_match), cmp_match);
    for (int i = 1; i < nr_found; i++)
        if (same_match(by_match[i - 1], by_match[i]))
            add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_WARNING, file,
                     by_match[i]->line, 1, "same device match as line %d, "
                     "which this line replaces: remove one of them",
                     by_match[i - 1]->line);
}

/* Diagnostics of one file in the order of its lines (stable). */
typedef struct {
    libxl_pci_ims_diag diag;
    int seq;
} diag_in_order;

static int cmp_diag(const void *a, const void *b)
{
    const diag_in_order *da = a, *db = b;

    if (da->diag.line != db->diag.line)
        return da->diag.line < db->diag.line ? -1 : 1;
    if (da->diag.column != db->diag.column)
        return da->diag.column < db->diag.column ? -1 : 1;
    return da->seq < db->seq ? -1 : da->seq > db->seq;
}

static void sort_diags(libxl__gc *gc, libxl__ims_db *db, int first)
{
    int n = db->nr_diags - first;
    diag_in_order *tmp;

    if (n < 2)
        return;
    tmp = libxl__calloc(gc, n, sizeof(*tmp));
    for (int i = 0; i < n; i++) {
        tmp[i].diag = db->diags[first + i];
        tmp[i].seq = i;
    }
    qsort(tmp, n, sizeof(*tmp), cmp_diag);
    for (int i = 0; i < n; i++)
        db->diags[first + i] = tmp[i].diag;
}

int libxl__ims_db_parse(libxl__gc *gc, libxl__ims_db *db, const char *file,
                        const char *buf, size_t len)
{
    libxl_pci_ims_db_entry *found = NULL;
    int nr_found = 0, found_allocated = 0, line = 0, errors = 0;
    int first_diag = db->nr_diags;
    size_t pos = 0, arena_used = 0, lists_used = 0;
    char *arena = libxl__malloc(gc, len + 1);
    libxl_pci_ims_strategy *lists = libxl__calloc(gc, len + 1,
                                                  sizeof(*lists));

    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t line_len = (nl ? (size_t)(nl - buf) : len) - pos;
        const char *nul;
        line_parser lp = {
            .gc = gc, .db = db, .file = file, .line = ++line,
            .text = buf + pos, .len = line_len,
            .arena = arena, .arena_used = &arena_used,
            .lists = lists, .lists_used = &lists_used,
        };
        libxl_pci_ims_db_entry *e;

        pos += line_len + (nl ? 1 : 0);

        if (lp.len && lp.text[lp.len - 1] == '\r')   /* CRLF */
            lp.len--;
        if (lp.len > LIBXL_IMS_DB_MAX_LINE) {
            LP_ERROR(&lp, LIBXL_IMS_DB_MAX_LINE, "line longer than %d "
                     "bytes: split the entry or shorten its name",
                     LIBXL_IMS_DB_MAX_LINE);
            errors += lp.errors;
            continue;
        }
        nul = memchr(lp.text, '\0', lp.len);
        if (nul) {
            LP_ERROR(&lp, nul - lp.text, "NUL byte: this is not a text "
                     "file");
            errors += lp.errors;
            continue;
        }

        skip_blanks(&lp);
        while (lp.len > lp.pos && is_blank(lp.text[lp.len - 1]))
            lp.len--;
        if (lp.pos == lp.len || lp.text[lp.pos] == '#')
            continue;

        if (nr_found == found_allocated) {
            found_allocated = found_allocated * 2 + 16;
            found = libxl__realloc(gc, found,
                                   sizeof(*found) * found_allocated);
        }
        e = &found[nr_found];
        libxl_pci_ims_db_entry_init(e);
        e->file = (char *)file;
        e->line = line;
        if (!parse_entry_line(&lp, e)) {
            errors += lp.errors;
            continue;
        }
        nr_found++;
    }

    warn_duplicates(gc, db, file, found, nr_found);
    sort_diags(gc, db, first_diag);

    /* A file with an error contributes nothing: bad input changes nothing. */
    if (errors)
        return errors;

    if (nr_found) {
        char *file_copy = libxl__strdup(gc, file);

        if (db->nr_entries + nr_found > db->allocated) {
            db->allocated = (db->nr_entries + nr_found) * 2;
            db->entries = libxl__realloc(gc, db->entries,
                                         sizeof(*db->entries) * db->allocated);
        }
        for (int i = 0; i < nr_found; i++) {
            found[i].file = file_copy;
            db->entries[db->nr_entries++] = found[i];
        }
    }
    return 0;
}

/*----- the index -----*/

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

    add_hidden_summary(gc, db);

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

/*----- files -----*/

/* Writable by a user other than root (group 0 holds only root). */
static bool writable_by_others(const struct stat *st)
{
    return (st->st_mode & S_IWOTH) ||
           ((st->st_mode & S_IWGRP) && st->st_gid != 0);
}

/*
 * Like sshd's StrictModes: a database decides what the toolstack tells
 * the device model, so only root may be able to change it: the file, and
 * every directory above it up to / (whoever can write one of them can put
 * another file in its place).  A sticky directory (/tmp) is the one
 * exception: there others cannot rename or remove root's entry below it,
 * which has already been checked to be root's.  path has no symbolic link
 * left (realpath); link_note says what the name given was a link to.
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
    struct stat st;
    char *dir, *slash;

    if (file_st->st_uid != 0) {
        add_diag(gc, db, sev, file, 0, 0, "owned by uid %u, not root: %s "
                 "(fix: chown root:root %s)%s", (unsigned)file_st->st_uid,
                 what, path, link_note);
        return !strict_perms;
    }
    if (writable_by_others(file_st)) {
        add_diag(gc, db, sev, file, 0, 0, "writable by %s: %s (fix: chmod "
                 "go-w %s)%s", file_st->st_mode & S_IWOTH ? "everyone"
                 : "its group", what, path, link_note);
        return !strict_perms;
    }

    dir = libxl__strdup(gc, path);
    for (;;) {
        slash = strrchr(dir, '/');
        if (!slash)
            break;
        if (slash == dir)
            slash[1] = 0;           /* "/" itself */
        else
            *slash = 0;
        if (stat(dir, &st)) {
            add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, file, 0, 0,
                     "cannot stat its directory %s: %s%s", dir,
                     strerror(errno), link_note);
            return false;
        }
        if (st.st_uid != 0) {
            add_diag(gc, db, sev, file, 0, 0, "its directory %s is owned "
                     "by uid %u, not root: %s (fix: chown root %s, or move "
                     "the file)%s", dir, (unsigned)st.st_uid, what, dir,
                     link_note);
            return !strict_perms;
        }
        if (writable_by_others(&st) && !(st.st_mode & S_ISVTX)) {
            add_diag(gc, db, sev, file, 0, 0, "its directory %s can be "
                     "written by others than root: %s (fix: chown root %s; "
                     "chmod go-w %s, or move the file)%s", dir, what, dir,
                     dir, link_note);
            return !strict_perms;
        }
        if (!strcmp(dir, "/"))
            break;
    }
    return true;
}

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a plain file";
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
    char *buf = NULL, *resolved;
    const char *link_note = "";
    size_t len = 0, allocated = 0;
    struct stat lst, st, fst;
    int fd = -1;

    if (lstat(file, &lst)) {
        if (errno == ENOENT && missing_ok)
            return;
        add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0, 0,
                 "cannot open: %s", strerror(errno));
        return;
    }
    resolved = realpath(file, NULL);
    if (!resolved) {
        add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0, 0,
                 "cannot open: %s%s", strerror(errno),
                 S_ISLNK(lst.st_mode) ? " (a symbolic link)" : "");
        return;
    }
    libxl__ptr_add(gc, resolved);
    if (S_ISLNK(lst.st_mode))
        link_note = GCSPRINTF(" (%s is a symbolic link to %s)", shown,
                              resolved);

    if (stat(resolved, &st)) {
        add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0, 0,
                 "cannot stat: %s%s", strerror(errno), link_note);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0, 0,
                 "not a regular file (%s)%s", file_kind(st.st_mode),
                 link_note);
        return;
    }
    fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                        O_NOFOLLOW);
    if (fd < 0) {
        add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0, 0,
                 "cannot open: %s%s", strerror(errno), link_note);
        return;
    }
    if (fstat(fd, &fst)) {
        add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0, 0,
                 "cannot stat: %s", strerror(errno));
        goto out;
    }
    /* Replaced between stat() and open(): what was checked is gone. */
    if (!S_ISREG(fst.st_mode) || fst.st_dev != st.st_dev ||
        fst.st_ino != st.st_ino) {
        add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0, 0,
                 "not a regular file (%s), or replaced while opened%s",
                 file_kind(fst.st_mode), link_note);
        goto out;
    }
    if (!check_owner_and_mode(gc, db, shown, resolved, &fst, link_note,
                              strict_perms))
        goto out;

    for (;;) {
        ssize_t r;

        if (allocated - len < 4096) {
            allocated = allocated * 2 + 8192;
            buf = libxl__realloc(gc, buf, allocated);
        }
        r = read(fd, buf + len, allocated - len);
        if (r < 0) {
            if (errno == EINTR) continue;
            add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown, 0, 0,
                     "cannot read: %s", strerror(errno));
            goto out;
        }
        if (r == 0) break;
        len += r;
    }
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
            add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_ERROR, shown_dir, 0, 0,
                     "cannot open directory: %s", strerror(errno));
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

/*----- public API -----*/

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

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
