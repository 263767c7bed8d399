/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy database (libxl_ims_db.c): the parser on every kind of bad input
 * (each error names file:line:column), precedence, the index, loading
 * (LIBXL_IMS_DB, the main file and drop-ins under $LIBXL_IMS_ROOT),
 * owner and mode checks, the public libxl_pci_ims_db_check() and the
 * shipped tools/examples/ims-quirks.cfg.
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#include <sys/stat.h>
#include <sys/wait.h>

static libxl_ctx *ctx;
static libxl__gc test_gc_s, *gc = &test_gc_s;

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

static int setup(void **state)
{
    ctx = test_ctx_alloc_offline();
    assert_non_null(ctx);
    LIBXL_INIT_GC(test_gc_s, ctx);
    unsetenv(LIBXL_IMS_DB_ENV);
    unsetenv(LIBXL_IMS_ROOT_ENV);
    return 0;
}

static int teardown(void **state)
{
    libxl__free_all(gc);
    test_ctx_free(ctx);
    ctx = NULL;
    unsetenv(LIBXL_IMS_DB_ENV);
    unsetenv(LIBXL_IMS_ROOT_ENV);
    test_tmpdir_cleanup();
    return 0;
}

static libxl__ims_db *parse(const char *text)
{
    libxl__ims_db *db = libxl__zalloc(gc, sizeof(*db));

    libxl__ims_db_init(db);
    libxl__ims_db_parse(gc, db, "t.cfg", text, strlen(text));
    libxl__ims_db_finish(gc, db);
    return db;
}

/* Prints the diagnostics when a test fails, so the reason is visible. */
static void dump_diags(const libxl__ims_db *db)
{
    for (int i = 0; i < db->nr_diags; i++)
        print_message("  %s:%d:%d: %s: %s\n", db->diags[i].file,
                      db->diags[i].line, db->diags[i].column,
                      libxl_pci_ims_severity_to_string(db->diags[i].severity),
                      db->diags[i].message);
}

static void assert_clean(const libxl__ims_db *db)
{
    if (db->nr_diags) {
        dump_diags(db);
        fail_msg("expected no diagnostics, got %d", db->nr_diags);
    }
}

/* True when some diagnostic has this severity, place and text. */
static bool has_diag(const libxl__ims_db *db, libxl_pci_ims_severity sev,
                     const char *file, int line, int column,
                     const char *substring)
{
    for (int i = 0; i < db->nr_diags; i++) {
        const libxl_pci_ims_diag *d = &db->diags[i];

        if (d->severity == sev && d->line == line && d->column == column &&
            (!file || !strcmp(d->file, file)) &&
            strstr(d->message, substring))
            return true;
    }
    return false;
}

static void assert_diag(const libxl__ims_db *db, libxl_pci_ims_severity sev,
                        const char *file, int line, int column,
                        const char *substring)
{
    if (!has_diag(db, sev, file, line, column, substring)) {
        dump_diags(db);
        fail_msg("no %s at %s:%d:%d containing \"%s\"",
                 libxl_pci_ims_severity_to_string(sev), file ? file : "*",
                 line, column, substring);
    }
}

#define ERR  LIBXL_PCI_IMS_SEVERITY_ERROR
#define WARN LIBXL_PCI_IMS_SEVERITY_WARNING

static const libxl_pci_ims_db_entry *lookup(const libxl__ims_db *db,
                                            uint16_t v, uint16_t d,
                                            uint16_t sv, uint16_t sd,
                                            uint32_t class_code)
{
    return libxl__ims_db_lookup(db, v, d, sv, sd, class_code);
}

/*----- the format -----*/

static void test_good_file(void **state)
{
    libxl__ims_db *db = parse(
        "# comment\n"
        "   # indented comment\n"
        "\n"
        "  \t\n"
        "17cb:1103,name=\"Qualcomm WCN6855 (ath11k), rev \\\"2\\\"\","
        "amd=expose,intel=export\n"
        "  17CB:1101 , name=QCA6390 ,\tamd=none\t\n"
        "17cb:1104,subsys=17aa:9309,class=0x028000,intel=none\r\n"
        "8086:2725,name=\"Intel AX210 \xc3\xa9\xe2\x82\xac\",class=028000\n"
        "1:2");               /* no final newline */
    const libxl_pci_ims_db_entry *e;

    assert_clean(db);
    assert_int_equal(db->nr_entries, 5);

    e = &db->entries[0];
    assert_int_equal(e->vendor, 0x17cb);
    assert_int_equal(e->device, 0x1103);
    assert_string_equal(e->name, "Qualcomm WCN6855 (ath11k), rev \"2\"");
    assert_string_equal(test_strategy_list(e->amd, e->num_amd), "expose");
    assert_string_equal(test_strategy_list(e->intel, e->num_intel), "export");
    assert_string_equal(e->file, "t.cfg");
    assert_int_equal(e->line, 5);

    /* Blanks around commas are fine; intel takes its default. */
    e = &db->entries[1];
    assert_int_equal(e->device, 0x1101);
    assert_string_equal(e->name, "QCA6390");
    assert_string_equal(test_strategy_list(e->amd, e->num_amd), "none");
    assert_string_equal(test_strategy_list(e->intel, e->num_intel), "expose|export");

    /* CRLF; amd takes its default. */
    e = &db->entries[2];
    assert_true(e->has_subsys);
    assert_int_equal(e->subvendor, 0x17aa);
    assert_int_equal(e->subdevice, 0x9309);
    assert_true(e->has_class);
    assert_int_equal(e->class_code, 0x028000);
    assert_string_equal(test_strategy_list(e->amd, e->num_amd), "remap|export");
    assert_string_equal(test_strategy_list(e->intel, e->num_intel), "none");
    assert_null(e->name);

    /* UTF-8 names are kept as they are; class without 0x. */
    e = &db->entries[3];
    assert_string_equal(e->name, "Intel AX210 \xc3\xa9\xe2\x82\xac");
    assert_int_equal(e->class_code, 0x028000);

    e = &db->entries[4];
    assert_int_equal(e->vendor, 1);
    assert_int_equal(e->device, 2);
    assert_int_equal(e->line, 9);
}

static void test_empty_and_comment_only(void **state)
{
    libxl__ims_db *db = parse("");

    assert_clean(db);
    assert_int_equal(db->nr_entries, 0);
    assert_null(lookup(db, 0x17cb, 0x1103, 0, 0, 0));

    db = parse("# nothing\r\n\r\n   \n#17cb:1103\n");
    assert_clean(db);
    assert_int_equal(db->nr_entries, 0);
}

/* One bad line per case: where the error points and what it says. */
static const struct bad_case {
    const char *text;
    int line, column;
    const char *says;
} bad_cases[] = {
    { "name=\"x\",amd=expose\n", 1, 1, "missing vendor:device" },
    { ",amd=expose\n", 1, 1, "missing vendor:device" },
    { "17cb\n", 1, 1, "bad vendor:device `17cb'" },
    { "17cb:11030\n", 1, 1, "bad vendor:device" },
    { "17cg:1103\n", 1, 1, "bad vendor:device `17cg:1103'" },
    { "  17cb:\n", 1, 3, "bad vendor:device" },
    { "17cb:1103 amd=expose\n", 1, 11, "expected `,' between fields" },
    { "17cb:1103,,amd=expose\n", 1, 11, "empty field" },
    { "17cb:1103,\n", 1, 11, "empty field" },
    { "17cb:1103,vendor=1\n", 1, 11, "unknown key `vendor'" },
    { "17cb:1103,Name=x\n", 1, 11, "unknown key `Name'" },
    { "17cb:1103,amd=expose,amd=none\n", 1, 22,
      "duplicate key `amd' (first at column 11)" },
    { "17cb:1103,name\n", 1, 15, "expected `=' after `name'" },
    { "17cb:1103,name =x\n", 1, 15, "whitespace after `name'" },
    { "17cb:1103,amd= expose\n", 1, 15, "whitespace after `amd='" },
    { "17cb:1103,amd =\n", 1, 14, "whitespace after `amd'" },
    { "17cb:1103,amd=exposed\n", 1, 15,
      "bad strategy `exposed' for amd: expected expose, export, remap or "
      "none" },
    { "17cb:1103,intel=\n", 1, 17, "bad strategy `' for intel" },
    { "17cb:1103,intel=remap\n", 1, 17, "exists only for AMD" },
    { "17cb:1103,subsys=17aa\n", 1, 18, "bad subsys `17aa'" },
    { "17cb:1103,subsys=17aa:93090\n", 1, 18, "bad subsys" },
    { "17cb:1103,class=0x0280000\n", 1, 17, "bad class `0x0280000'" },
    { "17cb:1103,class=net\n", 1, 17, "bad class `net'" },
    { "17cb:1103,name=\"abc\n", 1, 16, "unterminated quoted value" },
    { "17cb:1103,name=\"a\\nb\"\n", 1, 18, "bad escape" },
    { "17cb:1103,name=two words\n", 1, 19, "whitespace inside the value" },
    { "17cb:1103,name=a\"b\"\n", 1, 17, "stray \"" },
    { "17cb:1103,name=\"x\"y\n", 1, 19, "expected `,' between fields" },
    { "17cb:1103,name=\"a\x01\"\n", 1, 18, "control character 0x01" },
    { "17cb:1103,name=a\x7f\n", 1, 17, "control character 0x7f" },
    /* Found by the fuzzer: DEL was let through inside quotes. */
    { "17cb:1103,name=\"(\x7f)\"\n", 1, 18, "control character 0x7f" },
    { "17cb:1103,name=a\rb\n", 1, 17, "carriage return" },
    { "17cb:1103,name=\"caf\xe9\"\n", 1, 20, "not valid UTF-8 (byte 0xe9)" },
    { "17cb:1103,name=caf\xc3\n", 1, 19, "not valid UTF-8" },
    { "17cb:1103,name=\"\xc0\xaf\"\n", 1, 17, "not valid UTF-8" },
    { "17cb:1103,name=\"\xed\xa0\x80\"\n", 1, 17, "not valid UTF-8" },
    { "# ok\n\n17cb:1103,amd=bad\n", 3, 15, "bad strategy" },
    /* Strategy lists: the column of the offending strategy. */
    { "17cb:1103,amd=remap|exprt\n", 1, 21, "bad strategy `exprt' for amd" },
    { "17cb:1103,amd=remap|\n", 1, 21, "bad strategy `' for amd" },
    { "17cb:1103,amd=remap|export|remap\n", 1, 28, "lists `remap' twice" },
    { "17cb:1103,amd=none|export\n", 1, 15, "none stands alone" },
    { "17cb:1103,amd=export|none\n", 1, 15, "none stands alone" },
    { "17cb:1103,intel=expose|remap\n", 1, 24, "exists only for AMD" },
    { "17cb:1103,amd=remap|expose|export|none\n", 1, 35,
      "more than three strategies" },
};

static void test_strategy_lists(void **state)
{
    libxl__ims_db *db = parse(
        "17cb:1103,amd=remap|export,intel=expose|export\n"
        "17cb:1104,amd=\"remap|expose|export\",intel=export\n"
        "17cb:1105,amd=export|remap\n");
    const libxl_pci_ims_db_entry *e;

    assert_clean(db);
    assert_int_equal(db->nr_entries, 3);
    e = &db->entries[0];
    assert_string_equal(test_strategy_list(e->amd, e->num_amd),
                        "remap|export");
    assert_string_equal(test_strategy_list(e->intel, e->num_intel),
                        "expose|export");
    e = &db->entries[1];
    assert_string_equal(test_strategy_list(e->amd, e->num_amd),
                        "remap|expose|export");
    assert_string_equal(test_strategy_list(e->intel, e->num_intel),
                        "export");
    /* Order is the administrator's. */
    e = &db->entries[2];
    assert_string_equal(test_strategy_list(e->amd, e->num_amd),
                        "export|remap");
}

static void test_every_bad_line(void **state)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        libxl__ims_db *db = parse(c->text);

        if (db->nr_errors != 1 || db->nr_entries != 0 ||
            !has_diag(db, ERR, "t.cfg", c->line, c->column, c->says)) {
            dump_diags(db);
            fail_msg("case %zu (%s): want one error at %d:%d with \"%s\"",
                     i, c->text, c->line, c->column, c->says);
        }
    }
}

static void test_nul_byte(void **state)
{
    static const char text[] = "17cb:1103,name=a\0b\n17cb:1104\n";
    libxl__ims_db *db = libxl__zalloc(gc, sizeof(*db));

    libxl__ims_db_init(db);
    assert_int_equal(libxl__ims_db_parse(gc, db, "t.cfg", text,
                                         sizeof(text) - 1), 1);
    assert_diag(db, ERR, "t.cfg", 1, 17, "NUL byte");
    assert_int_equal(db->nr_entries, 0);
}

static void test_line_length_limit(void **state)
{
    size_t n = LIBXL_IMS_DB_MAX_LINE;
    char *ok = libxl__zalloc(gc, n + 8), *bad = libxl__zalloc(gc, n + 8);
    libxl__ims_db *db;

    /* Exactly the limit (without the CRLF) is fine... */
    memcpy(ok, "17cb:1103,name=", 15);
    memset(ok + 15, 'x', n - 15);
    strcpy(ok + n, "\r\n");
    db = parse(ok);
    assert_clean(db);
    assert_int_equal(db->nr_entries, 1);
    assert_int_equal(strlen(db->entries[0].name), n - 15);

    /* ...one byte more is not. */
    memcpy(bad, "17cb:1103,name=", 15);
    memset(bad + 15, 'x', n + 1 - 15);
    strcpy(bad + n + 1, "\n");
    db = parse(bad);
    assert_int_equal(db->nr_errors, 1);
    assert_diag(db, ERR, "t.cfg", 1, LIBXL_IMS_DB_MAX_LINE + 1,
                "line longer than 4096 bytes");
    assert_int_equal(db->nr_entries, 0);
}

static void test_every_problem_is_reported(void **state)
{
    libxl__ims_db *db = parse(
        "17cb:1103,amd=expose\n"
        "17cb:zzzz\n"
        "17cb:1104,foo=1\n"
        "17cb:1105,amd=expose,amd=none\n"
        "17cb:1107\n");

    assert_int_equal(db->nr_errors, 3);
    assert_diag(db, ERR, "t.cfg", 2, 1, "bad vendor:device");
    assert_diag(db, ERR, "t.cfg", 3, 11, "unknown key");
    assert_diag(db, ERR, "t.cfg", 4, 22, "duplicate key");
    /* Bad input changes nothing: not even the good lines count. */
    assert_int_equal(db->nr_entries, 0);
    assert_null(lookup(db, 0x17cb, 0x1103, 0, 0, 0));
}

/*
 * A message quotes file content only escaped: no terminal control (C0,
 * DEL, C1 as raw bytes or as UTF-8) and no bidi override reaches the
 * reader's terminal.
 */
static void assert_inert(const char *msg)
{
    const unsigned char *m = (const unsigned char *)msg;

    for (size_t i = 0; m[i]; i++) {
        if (m[i] < 0x20 || m[i] == 0x7f || (m[i] >= 0x80 && m[i] <= 0x9f &&
                                            (i == 0 || m[i - 1] != 0xc2)))
            fail_msg("raw byte 0x%02x in \"%s\"", m[i], msg);
        if (m[i] == 0xc2 && m[i + 1] >= 0x80 && m[i + 1] <= 0x9f)
            fail_msg("C1 control U+%04X in \"%s\"", m[i + 1], msg);
        if (m[i] == 0xe2 && ((m[i + 1] == 0x80 && m[i + 2] >= 0xaa &&
                              m[i + 2] <= 0xae) ||
                             (m[i + 1] == 0x81 && m[i + 2] >= 0xa6 &&
                              m[i + 2] <= 0xa9)))
            fail_msg("bidi control in \"%s\"", msg);
    }
}

static void test_messages_escape_file_content(void **state)
{
    libxl__ims_db *db = parse(
        "\x1b]0;owned\x07:1103\n"
        "17cb:1103,k\x1b[31m\xc2\x9b\xe2\x80\xae\x85=1\n"
        "17cb:1103,subsys=\xe2\x81\xa6\xc2\x85" "ab:cd\n"
        "17cb:1103 \x90x\n"
        "17cb:1104,name=\"caf\xc3\xa9\",class=\xe2\x80\xaa" "0x02\n");

    assert_int_equal(db->nr_errors, 5);
    for (int i = 0; i < db->nr_diags; i++)
        assert_inert(db->diags[i].message);
    assert_diag(db, ERR, "t.cfg", 1, 1, "`\\x1b]0;owned\\x07:1103'");
    assert_diag(db, ERR, "t.cfg", 2, 11,
                "`k\\x1b[31m\\u{009B}\\u{202E}\\x85'");
    assert_diag(db, ERR, "t.cfg", 3, 18, "`\\u{2066}\\u{0085}ab:cd'");
    assert_diag(db, ERR, "t.cfg", 4, 11, "found `\\x90'");
    assert_diag(db, ERR, "t.cfg", 5, 30, "`\\u{202A}0x02'");
}

static void test_duplicate_entry_warns(void **state)
{
    libxl__ims_db *db = parse(
        "17cb:1103,amd=expose\n"
        "17cb:1103,subsys=17aa:9309\n"
        "17cb:1103,amd=none\n"
        "17cb:1103,subsys=17AA:9309,intel=none\n"
        "17cb:1103,subsys=17aa:930a\n");
    const libxl_pci_ims_db_entry *e;

    assert_int_equal(db->nr_errors, 0);
    assert_int_equal(db->nr_diags, 2);
    assert_diag(db, WARN, "t.cfg", 3, 1, "same device match as line 1");
    assert_diag(db, WARN, "t.cfg", 4, 1, "same device match as line 2");
    /* The file still counts, and the later line wins. */
    assert_int_equal(db->nr_entries, 5);
    e = lookup(db, 0x17cb, 0x1103, 0, 0, 0x028000);
    assert_int_equal(e->line, 3);
    e = lookup(db, 0x17cb, 0x1103, 0x17aa, 0x9309, 0x028000);
    assert_int_equal(e->line, 4);
}

/*----- precedence -----*/

static void test_most_specific_wins(void **state)
{
    /* Specific entries first, so file order cannot be what decides. */
    libxl__ims_db *db = parse(
        "17cb:1103,subsys=17aa:9309,class=0x028000,name=both\n"
        "17cb:1103,subsys=17aa:9309,name=subsys\n"
        "17cb:1103,class=0x028000,name=class\n"
        "17cb:1103,name=plain\n"
        "17cb:1104,class=0x028000,name=other\n");

    assert_clean(db);
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0x17aa, 0x9309,
                               0x028000)->name, "both");
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0x17aa, 0x9309,
                               0x020000)->name, "subsys");
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0x1028, 0x0001,
                               0x028000)->name, "class");
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0x1028, 0x0001,
                               0x020000)->name, "plain");
    /* An entry whose class does not match does not match at all. */
    assert_null(lookup(db, 0x17cb, 0x1104, 0, 0, 0x020000));
    assert_string_equal(lookup(db, 0x17cb, 0x1104, 0, 0, 0x028000)->name,
                        "other");
    /* Neighbours in the index are not confused with the device. */
    assert_null(lookup(db, 0x17cb, 0x1102, 0x17aa, 0x9309, 0x028000));
    assert_null(lookup(db, 0x17cb, 0x1105, 0, 0, 0x028000));
    assert_null(lookup(db, 0x17ca, 0x1103, 0, 0, 0x028000));
}

static void test_later_file_wins(void **state)
{
    libxl__ims_db *db = libxl__zalloc(gc, sizeof(*db));
    static const char a[] = "17cb:1103,name=a1\n17cb:1103,class=0x028000,name=a2\n";
    static const char b[] = "17cb:1103,name=b1\n";

    libxl__ims_db_init(db);
    libxl__ims_db_parse(gc, db, "a.cfg", a, strlen(a));
    libxl__ims_db_parse(gc, db, "b.cfg", b, strlen(b));
    libxl__ims_db_finish(gc, db);
    assert_clean(db);
    /* Among equals, the later file; a more specific one beats both. */
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0, 0, 0)->file, "b.cfg");
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0, 0, 0x028000)->name,
                        "a2");
}

/* No fixed limit: many entries, in a random order, all found. */
/*
 * Diagnostics are capped (LIBXL_IMS_DB_MAX_DIAGS per load, then one
 * summary), so that a file of any size costs linear time; every error is
 * still counted, and the summary says how many were not shown.
 */
static void test_diagnostics_are_capped(void **state)
{
    const int n = 400000;
    size_t cap = (size_t)n * 12 + 64, len = 0;
    char *text = libxl__zalloc(gc, cap);
    libxl__ims_db *db;
    const libxl_pci_ims_diag *last;

    for (int i = 0; i < n; i++)
        len += snprintf(text + len, cap - len, "17cb:zzz%d\n", i % 10);
    db = parse(text);
    assert_int_equal(db->nr_errors, n);
    assert_int_equal(db->nr_entries, 0);
    assert_int_equal(db->nr_diags, LIBXL_IMS_DB_MAX_DIAGS + 1);
    assert_diag(db, ERR, "t.cfg", 1, 1, "bad vendor:device");
    last = &db->diags[db->nr_diags - 1];
    assert_int_equal(last->line, LIBXL_IMS_DB_MAX_DIAGS + 1);
    if (!strstr(last->message, libxl__sprintf(gc, "%d more errors not shown",
                                              n - LIBXL_IMS_DB_MAX_DIAGS)))
        fail_msg("summary: \"%s\"", last->message);

    /* Errors and warnings hidden together: both counted in the summary. */
    len = 0;
    for (int i = 0; i < 150; i++)
        len += snprintf(text + len, cap - len, "17cb:1103\n");
    len += snprintf(text + len, cap - len, "17cb:zz\n");
    db = parse(text);
    assert_int_equal(db->nr_errors, 1);
    assert_int_equal(db->nr_diags, LIBXL_IMS_DB_MAX_DIAGS + 1);
    last = &db->diags[db->nr_diags - 1];
    if (!strstr(last->message, "not shown"))
        fail_msg("summary: \"%s\"", last->message);
}

static void test_many_entries(void **state)
{
    const int n = 100000;
    size_t cap = (size_t)n * 40, len = 0;
    char *text = libxl__zalloc(gc, cap);
    libxl__ims_db *db;
    uint32_t x = 12345;

    for (int i = 0; i < n; i++) {
        /* A permutation of 0..n-1 (n is coprime with 7919). */
        uint32_t k = ((uint32_t)i * 7919u) % n;

        len += snprintf(text + len, cap - len, "%x:%x,name=e%u\n",
                        0x1000 + (k >> 16), k & 0xffff, k);
    }
    db = parse(text);
    assert_clean(db);
    assert_int_equal(db->nr_entries, n);
    for (int i = 0; i < 2000; i++) {
        char want[16];
        const libxl_pci_ims_db_entry *e;
        uint32_t k;

        x = x * 1103515245u + 12345u;
        k = (x >> 8) % n;
        e = lookup(db, 0x1000 + (k >> 16), k & 0xffff, 0, 0, 0);
        assert_non_null(e);
        snprintf(want, sizeof(want), "e%u", k);
        assert_string_equal(e->name, want);
    }
    assert_null(lookup(db, 0x1000 + (n >> 16) + 1, 0, 0, 0, 0));
}

/*----- files -----*/

static const char *write_mode(const char *dir, const char *name,
                              const char *text, mode_t mode)
{
    const char *path = test_write_file(dir, name, text);

    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static const char *make_dir(const char *rel, mode_t mode)
{
    const char *dir = libxl__sprintf(gc, "%s/%s", test_tmpdir(), rel);
    char *cmd = libxl__sprintf(gc, "mkdir -p '%s'", dir);

    assert_int_equal(system(cmd), 0);
    assert_int_equal(chmod(dir, mode), 0);
    return dir;
}

static libxl__ims_db *load_env(const char *list, bool strict)
{
    libxl__ims_db *db;

    setenv(LIBXL_IMS_DB_ENV, list, 1);
    libxl__ims_db_load(gc, NULL, 0, strict, &db);
    return db;
}

static void test_env_list_in_order(void **state)
{
    const char *dir = make_dir("env", 0755);
    const char *a = write_mode(dir, "a.cfg", "17cb:1103,name=a\n", 0644);
    const char *b = write_mode(dir, "b.cfg", "17cb:1103,name=b\n", 0644);
    libxl__ims_db *db;

    db = load_env(libxl__sprintf(gc, "%s:%s", a, b), true);
    assert_clean(db);
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0, 0, 0)->name, "b");
    db = load_env(libxl__sprintf(gc, "%s::%s", b, a), true);
    assert_clean(db);
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0, 0, 0)->name, "a");

    /* A named file that is missing is an error, unlike the system one. */
    db = load_env(libxl__sprintf(gc, "%s:%s/nope.cfg", a, dir), true);
    assert_diag(db, ERR, libxl__sprintf(gc, "%s/nope.cfg", dir), 0, 0,
                "cannot open: No such file");
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0, 0, 0)->name, "a");

    /* A directory is not a database. */
    db = load_env(dir, true);
    assert_diag(db, ERR, dir, 0, 0, "not a regular file");
}

static void test_system_database_and_dropins(void **state)
{
    const char *etc = make_dir("root/etc/xen", 0755);
    const char *dropins = make_dir("root/etc/xen/ims-quirks.d", 0755);
    libxl__ims_db *db;
    const libxl_pci_ims_db_entry *e;

    setenv(LIBXL_IMS_ROOT_ENV,
           libxl__sprintf(gc, "%s/root", test_tmpdir()), 1);

    /* Nothing installed: an empty database, and no complaint. */
    unlink(libxl__sprintf(gc, "%s/ims-quirks.cfg", etc));
    rmdir(dropins);
    libxl__ims_db_load(gc, NULL, 0, true, &db);
    assert_clean(db);
    assert_int_equal(db->nr_entries, 0);

    /* Main file only; the drop-in directory is still missing. */
    write_mode(etc, "ims-quirks.cfg",
               "17cb:1103,name=main\n17cb:1104,name=main\n"
               "17cb:1105,name=main\n", 0644);
    libxl__ims_db_load(gc, NULL, 0, true, &db);
    assert_clean(db);
    assert_int_equal(db->nr_entries, 3);

    /* Drop-ins in byte order, after the main file; others ignored. */
    dropins = make_dir("root/etc/xen/ims-quirks.d", 0755);
    write_mode(dropins, "50-b.cfg", "17cb:1103,name=50-b\n", 0644);
    write_mode(dropins, "10-a.cfg",
               "17cb:1103,name=10-a\n17cb:1104,name=10-a\n", 0644);
    write_mode(dropins, "Z.cfg", "17cb:1106,name=Z\n", 0644);
    write_mode(dropins, "90-c.cfg.dpkg-old", "17cb:1103,name=old\n", 0644);
    write_mode(dropins, ".hidden.cfg", "17cb:1103,name=hidden\n", 0644);
    write_mode(dropins, "README", "not a database\n", 0644);
    libxl__ims_db_load(gc, NULL, 0, true, &db);
    assert_clean(db);
    assert_int_equal(db->nr_entries, 7);
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0, 0, 0)->name, "50-b");
    assert_string_equal(lookup(db, 0x17cb, 0x1104, 0, 0, 0)->name, "10-a");
    assert_string_equal(lookup(db, 0x17cb, 0x1105, 0, 0, 0)->name, "main");
    e = lookup(db, 0x17cb, 0x1106, 0, 0, 0);
    /* Diagnostics and matches name the file as the host knows it. */
    assert_string_equal(e->file, "/etc/xen/ims-quirks.d/Z.cfg");
    assert_int_equal(e->line, 1);

    /* A bad drop-in is reported and skipped; the others still count. */
    write_mode(dropins, "60-bad.cfg", "17cb:1103,name=bad,amd=maybe\n",
               0644);
    libxl__ims_db_load(gc, NULL, 0, true, &db);
    assert_diag(db, ERR, "/etc/xen/ims-quirks.d/60-bad.cfg", 1, 24,
                "bad strategy `maybe'");
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0, 0, 0)->name, "50-b");

    /* LIBXL_IMS_DB replaces both. */
    db = load_env(libxl__sprintf(gc, "%s/10-a.cfg", dropins), true);
    assert_clean(db);
    assert_int_equal(db->nr_entries, 2);
}

static void test_owner_and_mode(void **state)
{
    const char *dir = make_dir("perms", 0755);
    const char *open_dir = make_dir("perms/open", 0777);
    const char *sticky = make_dir("perms/sticky", 01777);
    const char *p;
    libxl__ims_db *db;

    if (geteuid() != 0)
        skip();

    p = write_mode(dir, "ok.cfg", "17cb:1103\n", 0644);
    assert_clean(load_env(p, true));
    p = write_mode(dir, "ro.cfg", "17cb:1103\n", 0400);
    assert_clean(load_env(p, true));

    /* Group-writable is fine when the group is root's. */
    p = write_mode(dir, "g0.cfg", "17cb:1103\n", 0664);
    assert_int_equal(chown(p, 0, 0), 0);
    assert_clean(load_env(p, true));
    assert_int_equal(chown(p, 0, 100), 0);
    db = load_env(p, true);
    assert_diag(db, ERR, p, 0, 0, "writable by its group: refused");
    assert_diag(db, ERR, p, 0, 0, "chmod go-w");
    assert_int_equal(db->nr_entries, 0);

    p = write_mode(dir, "world.cfg", "17cb:1103\n", 0646);
    db = load_env(p, true);
    assert_diag(db, ERR, p, 0, 0, "writable by everyone: refused");
    assert_int_equal(db->nr_entries, 0);

    p = write_mode(dir, "user.cfg", "17cb:1103\n", 0644);
    assert_int_equal(chown(p, 65534, 0), 0);
    db = load_env(p, true);
    assert_diag(db, ERR, p, 0, 0, "owned by uid 65534, not root: refused");
    assert_diag(db, ERR, p, 0, 0, "chown root:root");
    assert_int_equal(db->nr_entries, 0);

    /* Not strict (a file named on xl's command line): warn, and read it. */
    db = load_env(p, false);
    assert_int_equal(db->nr_errors, 0);
    assert_diag(db, WARN, p, 0, 0, "would be refused");
    assert_int_equal(db->nr_entries, 1);

    /* Whoever can write the directory can replace the file. */
    p = write_mode(open_dir, "a.cfg", "17cb:1103\n", 0644);
    db = load_env(p, true);
    assert_diag(db, ERR, p, 0, 0, "its directory");
    assert_int_equal(db->nr_entries, 0);
    /* A sticky directory (/tmp): others can add files but not rename or
     * remove root's, so root's file there is root's alone... */
    p = write_mode(sticky, "a.cfg", "17cb:1103\n", 0644);
    db = load_env(p, true);
    assert_clean(db);
    assert_int_equal(db->nr_entries, 1);
    /* ...and a file someone else made there is theirs: refused. */
    p = write_mode(sticky, "b.cfg", "17cb:1103\n", 0644);
    assert_int_equal(chown(p, 65534, 0), 0);
    db = load_env(p, true);
    assert_diag(db, ERR, p, 0, 0, "owned by uid 65534, not root: refused");
    assert_int_equal(db->nr_entries, 0);
}

/*
 * Every directory above a database file, up to /, must be root's and
 * closed to others (or sticky, as /tmp): whoever can rename any of them
 * can put another file in its place.
 */
static void test_every_ancestor_is_checked(void **state)
{
    const char *p;
    libxl__ims_db *db;

    if (geteuid() != 0)
        skip();

    make_dir("anc", 0755);
    make_dir("anc/open", 0777);
    make_dir("anc/open/closed", 0755);
    p = write_mode(libxl__sprintf(gc, "%s/anc/open/closed", test_tmpdir()),
                   "a.cfg", "17cb:1103\n", 0644);
    db = load_env(p, true);
    assert_diag(db, ERR, p, 0, 0, "anc/open can be written by others "
                "than root: refused");
    assert_int_equal(db->nr_entries, 0);

    make_dir("anc/user", 0755);
    assert_int_equal(chown(libxl__sprintf(gc, "%s/anc/user", test_tmpdir()),
                           65534, 0), 0);
    make_dir("anc/user/x", 0755);
    p = write_mode(libxl__sprintf(gc, "%s/anc/user/x", test_tmpdir()),
                   "a.cfg", "17cb:1103\n", 0644);
    db = load_env(p, true);
    assert_diag(db, ERR, p, 0, 0, "anc/user is owned by uid 65534");
    assert_int_equal(db->nr_entries, 0);
    /* Checked, not trusted: a warning. */
    db = load_env(p, false);
    assert_int_equal(db->nr_errors, 0);
    assert_diag(db, WARN, p, 0, 0, "would be refused");
}

/* A symbolic link counts as the file it resolves to, where it lies. */
static void test_symlinks(void **state)
{
    const char *dropins, *user, *safe, *p;
    libxl__ims_db *db;

    if (geteuid() != 0)
        skip();

    make_dir("root/etc/xen", 0755);
    dropins = make_dir("root/etc/xen/ims-quirks.d", 0755);
    setenv(LIBXL_IMS_ROOT_ENV,
           libxl__sprintf(gc, "%s/root", test_tmpdir()), 1);
    user = make_dir("home/user", 0755);
    assert_int_equal(chown(user, 65534, 65534), 0);
    p = write_mode(user, "evil.cfg", "17cb:1103,name=evil\n", 0644);
    assert_int_equal(symlink(p, libxl__sprintf(gc, "%s/10-evil.cfg",
                                               dropins)), 0);
    libxl__ims_db_load(gc, NULL, 0, true, &db);
    assert_diag(db, ERR, "/etc/xen/ims-quirks.d/10-evil.cfg", 0, 0,
                "home/user is owned by uid 65534");
    assert_diag(db, ERR, "/etc/xen/ims-quirks.d/10-evil.cfg", 0, 0,
                "a symbolic link to ");
    assert_int_equal(db->nr_entries, 0);

    /* A link to a file in a tree only root can change is that file. */
    assert_int_equal(unlink(libxl__sprintf(gc, "%s/10-evil.cfg", dropins)),
                     0);
    safe = make_dir("usr/share/ims", 0755);
    p = write_mode(safe, "ok.cfg", "17cb:1103,name=ok\n", 0644);
    assert_int_equal(symlink(p, libxl__sprintf(gc, "%s/20-ok.cfg",
                                               dropins)), 0);
    libxl__ims_db_load(gc, NULL, 0, true, &db);
    assert_clean(db);
    assert_string_equal(lookup(db, 0x17cb, 0x1103, 0, 0, 0)->name, "ok");
}

/* A FIFO (or a device) is refused before anything reads it: no hang. */
static void test_fifo_is_refused(void **state)
{
    const char *dir = make_dir("fifo", 0755);
    const char *p = libxl__sprintf(gc, "%s/db.cfg", dir);
    pid_t pid;
    int status;

    assert_int_equal(mkfifo(p, 0644), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        libxl__ims_db *db;

        alarm(5);
        db = load_env(p, true);
        _exit(has_diag(db, ERR, p, 0, 0, "not a regular file (a FIFO)") &&
              db->nr_entries == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("loading a FIFO hangs (killed by signal %d)",
                 WTERMSIG(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_unreadable_dropin_dir(void **state)
{
    const char *dropins;
    libxl__ims_db *db;

    make_dir("root/etc/xen", 0755);
    dropins = make_dir("root/etc/xen/ims-quirks.d", 0755);
    setenv(LIBXL_IMS_ROOT_ENV,
           libxl__sprintf(gc, "%s/root", test_tmpdir()), 1);
    /* A file where the directory should be: an error, not silence. */
    assert_int_equal(rmdir(dropins), 0);
    test_write_file(libxl__sprintf(gc, "%s/root/etc/xen", test_tmpdir()),
                    "ims-quirks.d", "oops\n");
    libxl__ims_db_load(gc, NULL, 0, true, &db);
    assert_diag(db, ERR, "/etc/xen/ims-quirks.d", 0, 0,
                "cannot open directory: Not a directory");
}

/*----- the public API and the shipped database -----*/

static void test_public_check(void **state)
{
    const char *dir = make_dir("api", 0755);
    const char *good = write_mode(dir, "good.cfg",
                                  "17cb:1103,name=\"WCN6855\"\n", 0644);
    const char *bad = write_mode(dir, "bad.cfg",
                                 "17cb:1104,amd=x\n17cb:1105,y=1\n", 0644);
    const char *files[] = { good, bad };
    libxl_pci_ims_db_entry *entries;
    libxl_pci_ims_diag *diags;
    int nr_entries, nr_diags;

    assert_int_equal(libxl_pci_ims_db_check(ctx, files, 1, &entries,
                                            &nr_entries, &diags, &nr_diags),
                     0);
    assert_int_equal(nr_entries, 1);
    assert_string_equal(entries[0].name, "WCN6855");
    assert_string_equal(entries[0].file, good);
    assert_int_equal(nr_diags, 0);
    libxl_pci_ims_db_entry_list_free(entries, nr_entries);
    libxl_pci_ims_diag_list_free(diags, nr_diags);

    assert_int_equal(libxl_pci_ims_db_check(ctx, files, 2, &entries,
                                            &nr_entries, &diags, &nr_diags),
                     ERROR_INVAL);
    assert_int_equal(nr_entries, 1);       /* the good file still counts */
    assert_int_equal(nr_diags, 2);
    assert_string_equal(diags[0].file, bad);
    assert_int_equal(diags[0].line, 1);
    assert_int_equal(diags[0].column, 15);
    assert_int_equal(diags[1].line, 2);
    assert_int_equal(diags[1].column, 11);
    libxl_pci_ims_db_entry_list_free(entries, nr_entries);
    libxl_pci_ims_diag_list_free(diags, nr_diags);
}

static void test_shipped_database(void **state)
{
    const char *top = getenv("IMS_TOP");
    const char *path = libxl__sprintf(gc, "%s/../../examples/ims-quirks.cfg",
                                      top ? top : ".");
    static const uint16_t ath[] = { 0x1101, 0x1103, 0x1104, 0x1107, 0x1109 };
    libxl__ims_db *db;

    if (access(path, R_OK))
        fail_msg("shipped database not found at %s", path);
    db = load_env(path, false);
    assert_clean(db);
    for (size_t i = 0; i < sizeof(ath) / sizeof(ath[0]); i++) {
        const libxl_pci_ims_db_entry *e =
            lookup(db, 0x17cb, ath[i], 0x17aa, 0x9309, 0x028000);

        if (!e) fail_msg("17cb:%04x missing from the shipped database", ath[i]);
        assert_non_null(e->name);
        assert_string_equal(test_strategy_list(e->amd, e->num_amd), "remap|export");
        assert_string_equal(test_strategy_list(e->intel, e->num_intel), "expose|export");
    }
    /* Intel's own Wi-Fi uses MSI-X the ordinary way: not listed. */
    assert_null(lookup(db, 0x8086, 0x2725, 0, 0, 0x028000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_good_file),
        T(test_empty_and_comment_only),
        T(test_strategy_lists),
        T(test_every_bad_line),
        T(test_nul_byte),
        T(test_line_length_limit),
        T(test_every_problem_is_reported),
        T(test_messages_escape_file_content),
        T(test_duplicate_entry_warns),
        T(test_most_specific_wins),
        T(test_later_file_wins),
        T(test_many_entries),
        T(test_diagnostics_are_capped),
        T(test_env_list_in_order),
        T(test_system_database_and_dropins),
        T(test_owner_and_mode),
        T(test_every_ancestor_is_checked),
        T(test_symlinks),
        T(test_fifo_is_refused),
        T(test_unreadable_dropin_dir),
        T(test_public_check),
        T(test_shipped_database),
    };

    return cmocka_run_group_tests_name("ims_db", tests, NULL, NULL);
}
