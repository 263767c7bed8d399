/*
 * IMS policy database: load, validate, match.  See libxl_ims.h.
 * (skeleton: filled in by the database work)
 */
#include "libxl_osdeps.h" /* must come before any other headers */
#include "libxl_ims.h"

void libxl__ims_db_init(libxl__ims_db *db)
{
    memset(db, 0, sizeof(*db));
}

int libxl__ims_db_load(libxl__gc *gc, const char *const *files,
                       int nr_files, bool strict_perms,
                       libxl__ims_db **db_r)
{
    libxl__ims_db *db = libxl__zalloc(gc, sizeof(*db));
    libxl__ims_db_init(db);
    *db_r = db;
    return ERROR_FAIL;
}

const libxl_pci_ims_db_entry *libxl__ims_db_lookup(
    const libxl__ims_db *db, uint16_t vendor, uint16_t device,
    uint16_t subvendor, uint16_t subdevice, uint32_t class_code)
{
    return NULL;
}
