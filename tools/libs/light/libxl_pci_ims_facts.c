/*
 * Facts for IMS-like devices: device identity, host IOMMU facts.
 * (skeleton: filled in by the facts work)
 */
#include "libxl_osdeps.h" /* must come before any other headers */
#include "libxl_ims.h"

const char *libxl__ims_host_path(libxl__gc *gc, const char *path)
{
    const char *root = getenv(LIBXL_IMS_ROOT_ENV);

    return root && *root ? GCSPRINTF("%s%s", root, path) : path;
}

int libxl__ims_host_facts(libxl__gc *gc, libxl_pci_ims_facts *f)
{
    return 0;
}

int libxl__ims_pci_identity(libxl__gc *gc, const libxl_device_pci *pci,
                            libxl_pci_ims_identity *id)
{
    return ERROR_FAIL;
}
