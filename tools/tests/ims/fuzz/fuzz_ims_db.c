/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libFuzzer target for the policy database parser (libxl_ims_db.c, which
 * the Makefile compiles again with -fsanitize=fuzzer,address,undefined and
 * links before libxenlight.a, so the instrumented parser is the one run).
 *
 * Besides memory errors it checks the parser's promises on every input:
 * each diagnostic names a line and column inside the input, a buffer
 * with an error adds no entry, every entry is found again by lookup, and
 * names are valid UTF-8 without control characters.
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include <stdio.h>

static libxl_ctx *ctx;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_ims_db: broken promise: %s\n", what);
        abort();
    }
}

/* A strategy list as the parser may keep it: each once, none only alone. */
static bool valid_list(const libxl_pci_ims_strategy *list, int n)
{
    for (int i = 0; i < n; i++) {
        if (list[i] == LIBXL_PCI_IMS_STRATEGY_NONE && n > 1)
            return false;
        for (int j = i + 1; j < n; j++)
            if (list[i] == list[j])
                return false;
    }
    return true;
}

static bool valid_name(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2
              : (*s & 0xf0) == 0xe0 ? 3 : (*s & 0xf8) == 0xf0 ? 4 : 0;

        if (!n || (*s < 0x20 && *s != '\t') || *s == 0x7f)
            return false;
        for (int i = 1; i < n; i++)
            if ((s[i] & 0xc0) != 0x80)
                return false;
        s += n;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    libxl__gc gc_s, *gc = &gc_s;
    libxl__ims_db db;
    int errors, lines = 1;

    if (!ctx && libxl_ctx_alloc(&ctx, LIBXL_VERSION, LIBXL_CTX_OFFLINE,
                                NULL))
        abort();
    LIBXL_INIT_GC(gc_s, ctx);
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';

    libxl__ims_db_init(&db);
    errors = libxl__ims_db_parse(gc, &db, "fuzz.cfg", (const char *)data,
                                 size);
    libxl__ims_db_finish(gc, &db);

    check(errors == db.nr_errors, "returned error count");
    check(!errors || db.nr_entries == 0, "a bad file added entries");
    for (int i = 0; i < db.nr_diags; i++) {
        const libxl_pci_ims_diag *d = &db.diags[i];

        check(d->line >= 1 && d->line <= lines, "diagnostic line");
        check(d->column >= 1 && d->column <= LIBXL_IMS_DB_MAX_LINE + 1,
              "diagnostic column");
        check(d->message && *d->message, "diagnostic message");
    }
    for (int i = 0; i < db.nr_entries; i++) {
        const libxl_pci_ims_db_entry *e = &db.entries[i], *found;

        found = libxl__ims_db_lookup(&db, e->vendor, e->device,
                                     e->subvendor, e->subdevice,
                                     e->class_code);
        check(found != NULL, "entry not found by lookup");
        check(found->vendor == e->vendor && found->device == e->device,
              "lookup returned another device");
        check(!e->name || valid_name((const unsigned char *)e->name),
              "entry name not clean UTF-8");
        check(valid_list(e->amd, e->num_amd), "amd= list kept a repeat "
              "or a none that is not alone");
        check(valid_list(e->intel, e->num_intel), "intel= list kept a "
              "repeat or a none that is not alone");
        for (int j = 0; j < e->num_intel; j++)
            check(e->intel[j] != LIBXL_PCI_IMS_STRATEGY_REMAP,
                  "intel=remap kept");
    }
    libxl__free_all(gc);
    return 0;
}
