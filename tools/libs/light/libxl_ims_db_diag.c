/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS policy database: its diagnostics, shared by the parser and the
 * loader.  Past LIBXL_IMS_DB_MAX_DIAGS they are only counted and summed
 * up, so that a file of any size costs linear time and memory.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include "libxl_ims.h"

void libxl__ims_db_init(libxl__ims_db *db)
{
    memset(db, 0, sizeof(*db));
}

void libxl__ims_db_add_diag(libxl__gc *gc, libxl__ims_db *db,
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
void libxl__ims_db_add_hidden_summary(libxl__gc *gc, libxl__ims_db *db)
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

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
