/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS policy database: the parser.  It is a pure function of a buffer
 * (libxl__ims_db_parse), so that it can be fuzzed and tested on every
 * kind of bad input; files, their ownership and their order are
 * libxl_ims_db_load.c's.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

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
        libxl__ims_db_add_diag((lp)->gc, (lp)->db,                      \
                               LIBXL_PCI_IMS_SEVERITY_ERROR, (lp)->file, \
                               (lp)->line, (int)(at) + 1, __VA_ARGS__); \
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

/* The length of the UTF-8 character at lp->pos in the value of key, or 0
 * after an error saying it is not valid UTF-8. */
static size_t utf8_at(line_parser *lp, const char *key)
{
    size_t n = libxl__ims_utf8_sequence(
        (const unsigned char *)lp->text + lp->pos, lp->len - lp->pos);

    if (!n)
        LP_ERROR(lp, lp->pos, "the value of `%s' is not valid UTF-8 "
                 "(byte 0x%02x): save the file as UTF-8", key,
                 (unsigned char)lp->text[lp->pos]);
    return n;
}

/* A quoted value, with \" and \\ unescaped. */
static bool read_quoted(line_parser *lp, const char *key, char **val_r)
{
    size_t start = lp->pos;
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
        n = utf8_at(lp, key);
        if (!n)
            return false;
        memcpy(out + o, lp->text + lp->pos, n);
        o += n;
        lp->pos += n;
    }
    out[o] = 0;
    *lp->arena_used += o + 1;
    *val_r = out;
    return true;
}

/* An unquoted value: up to a comma or the end, blanks only before them. */
static bool read_plain(line_parser *lp, const char *key, char **val_r)
{
    size_t start = lp->pos;
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
            size_t n = utf8_at(lp, key);

            if (!n)
                return false;
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
    return true;
}

/*
 * Reads one value: a double-quoted string (with \" and \\) or a bare run
 * of characters up to the next comma.  On success *val_r is the value
 * (gc-allocated, unescaped) and lp->pos is past it and past any blanks.
 */
static bool read_value(line_parser *lp, const char *key, char **val_r)
{
    bool ok = lp->pos < lp->len && lp->text[lp->pos] == '"'
              ? read_quoted(lp, key, val_r) : read_plain(lp, key, val_r);

    if (ok)
        skip_blanks(lp);
    return ok;
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
/* The vendor:device an entry starts with. */
static bool parse_ids(line_parser *lp, libxl_pci_ims_db_entry *e)
{
    size_t start = lp->pos, end;

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
    return true;
}

/*
 * The key of a field (after its comma) and its `=': the key's index, or
 * -1.  key_col holds where each key was seen first, or -1.
 */
static int parse_key(line_parser *lp, int *key_col)
{
    size_t key_start = lp->pos, key_end;
    int k;

    while (lp->pos < lp->len && lp->text[lp->pos] != '=' &&
           lp->text[lp->pos] != ',' && !is_blank(lp->text[lp->pos]))
        lp->pos++;
    key_end = lp->pos;
    if (key_end == key_start) {
        LP_ERROR(lp, key_start, "empty field: expected key=value "
                 "(keys: name, subsys, class, amd, intel)");
        return -1;
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
        return -1;
    }
    if (key_col[k] >= 0) {
        LP_ERROR(lp, key_start, "duplicate key `%s' (first at column "
                 "%d): give each key once per entry", key_names[k],
                 key_col[k] + 1);
        return -1;
    }
    key_col[k] = key_start;
    /* Blanks are ignored only around commas, as in xl's PCI spec
     * strings. */
    if (lp->pos < lp->len && is_blank(lp->text[lp->pos])) {
        LP_ERROR(lp, lp->pos, "whitespace after `%s': write %s=value "
                 "with no space around `='", key_names[k], key_names[k]);
        return -1;
    }
    if (lp->pos >= lp->len || lp->text[lp->pos] != '=') {
        LP_ERROR(lp, lp->pos, "expected `=' after `%s'", key_names[k]);
        return -1;
    }
    lp->pos++;
    if (lp->pos < lp->len && is_blank(lp->text[lp->pos])) {
        LP_ERROR(lp, lp->pos, "whitespace after `%s=': write %s=value "
                 "with no space around `=' (quote a value that starts "
                 "with a space)", key_names[k], key_names[k]);
        return -1;
    }
    return k;
}

/* Field k of e from its value val, which starts at column start. */
static bool set_field(line_parser *lp, libxl_pci_ims_db_entry *e, int k,
                      char *val, size_t start)
{
    const char *h = val;
    uint32_t v;

    switch (k) {
    case KEY_NAME:
        e->name = val;
        return true;
    case KEY_SUBSYS:
        if (!parse_id_pair(val, strlen(val), &e->subvendor,
                           &e->subdevice)) {
            LP_ERROR(lp, start, "bad subsys `%s': expected "
                     "subvendor:subdevice in hex, e.g. 17aa:9309", val);
            return false;
        }
        e->has_subsys = true;
        return true;
    case KEY_CLASS:
        if (!strncmp(h, "0x", 2) || !strncmp(h, "0X", 2))
            h += 2;
        if (!parse_hex(h, strlen(h), 6, &v)) {
            LP_ERROR(lp, start, "bad class `%s': expected the 24-bit "
                     "class code in hex, e.g. 0x028000", val);
            return false;
        }
        e->class_code = v;
        e->has_class = true;
        return true;
    case KEY_AMD:
        return parse_strategy_list(lp, true, val, start, &e->amd,
                                   &e->num_amd);
    default:
        return parse_strategy_list(lp, false, val, start, &e->intel,
                                   &e->num_intel);
    }
}

static bool parse_entry_line(line_parser *lp, libxl_pci_ims_db_entry *e)
{
    int key_col[NR_KEYS];

    for (int k = 0; k < NR_KEYS; k++)
        key_col[k] = -1;

    if (!parse_ids(lp, e))
        return false;

    while (lp->pos < lp->len) {
        size_t start;
        int k;
        char *val;

        if (lp->text[lp->pos] != ',') {
            LP_ERROR(lp, lp->pos, "expected `,' between fields, found "
                     "`%c'", lp->text[lp->pos]);
            return false;
        }
        lp->pos++;
        skip_blanks(lp);

        k = parse_key(lp, key_col);
        if (k < 0)
            return false;
        start = lp->pos;
        if (!read_value(lp, key_names[k], &val) ||
            !set_field(lp, e, k, val, start))
            return false;
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
            libxl__ims_db_add_diag(gc, db, LIBXL_PCI_IMS_SEVERITY_WARNING,
                                   file, by_match[i]->line, 1, "same device "
                                   "match as line %d, which this line "
                                   "replaces: remove one of them",
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

/*
 * A line's end (CRLF) and blanks at both ends trimmed; false, with an
 * error, when it is not a line of text (too long, a NUL byte).
 */
static bool line_is_text(line_parser *lp)
{
    const char *nul;

    if (lp->len && lp->text[lp->len - 1] == '\r')   /* CRLF */
        lp->len--;
    if (lp->len > LIBXL_IMS_DB_MAX_LINE) {
        LP_ERROR(lp, LIBXL_IMS_DB_MAX_LINE, "line longer than %d "
                 "bytes: split the entry or shorten its name",
                 LIBXL_IMS_DB_MAX_LINE);
        return false;
    }
    nul = memchr(lp->text, '\0', lp->len);
    if (nul) {
        LP_ERROR(lp, nul - lp->text, "NUL byte: this is not a text file");
        return false;
    }
    skip_blanks(lp);
    while (lp->len > lp->pos && is_blank(lp->text[lp->len - 1]))
        lp->len--;
    return true;
}

/* A clean file's entries into db. */
static void add_entries(libxl__gc *gc, libxl__ims_db *db, const char *file,
                        libxl_pci_ims_db_entry *found, int nr_found)
{
    char *file_copy;

    if (!nr_found)
        return;
    file_copy = libxl__strdup(gc, file);
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
        line_parser lp = {
            .gc = gc, .db = db, .file = file, .line = ++line,
            .text = buf + pos, .len = line_len,
            .arena = arena, .arena_used = &arena_used,
            .lists = lists, .lists_used = &lists_used,
        };
        libxl_pci_ims_db_entry *e;

        pos += line_len + (nl ? 1 : 0);

        if (!line_is_text(&lp)) {
            errors += lp.errors;
            continue;
        }
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
    add_entries(gc, db, file, found, nr_found);
    return 0;
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
