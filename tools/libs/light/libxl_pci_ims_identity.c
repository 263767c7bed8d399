/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * IMS-like PCI devices: a device's identity (IDs, class, MSI capability)
 * from its config space, read through libpci.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#include "libxl_osdeps.h" /* must come before any other headers */

#include <setjmp.h>
#include <pci/pci.h>

#include "libxl_ims.h"

#define IMS_SYSFS_PCI_DIR     "/sys/bus/pci"

static uint16_t cfg16(const uint8_t *cfg, unsigned off)
{
    return cfg[off] | (cfg[off + 1] << 8);
}

static uint32_t cfg32(const uint8_t *cfg, unsigned off)
{
    return cfg16(cfg, off) | ((uint32_t)cfg16(cfg, off + 2) << 16);
}

/* 1 << field, the reserved encodings (6, 7) counted as 32 vectors. */
static uint8_t msi_vectors(unsigned field)
{
    return 1u << (field > 5 ? 5 : field);
}

/*
 * Walks the capability list of cfg (limit bytes): where MSI is (0: none),
 * whether there is MSI-X, and a bridge's subsystem IDs.  Bounded (48
 * entries fit) and loop-proof (each dword once).
 */
static int walk_caps(libxl__gc *gc, const uint8_t *cfg, size_t limit,
                     unsigned hdr, libxl_pci_ims_identity *id,
                     unsigned *msi_at_r, bool *msix_r)
{
    bool seen[256 / 4];
    unsigned ptr = 0, n, need;
    uint16_t ctrl;

    FILLZERO(seen);
    if (cfg16(cfg, PCI_STATUS) & PCI_STATUS_CAP_LIST)
        ptr = cfg[hdr == PCI_HEADER_TYPE_CARDBUS ? PCI_CB_CAPABILITY_LIST
                                                 : PCI_CAPABILITY_LIST];
    for (n = 0; ptr && n < ARRAY_SIZE(seen); n++) {
        ptr &= ~3u;
        if (ptr < 0x40 || ptr + 2 > limit) {
            LOG(WARN, "PCI capability pointer %#x out of range", ptr);
            break;
        }
        if (seen[ptr / 4]) {
            LOG(WARN, "PCI capability list loops at %#x", ptr);
            break;
        }
        seen[ptr / 4] = true;

        switch (cfg[ptr + PCI_CAP_LIST_ID]) {
        case PCI_CAP_ID_MSI:
            if (*msi_at_r) break;
            if (ptr + PCI_MSI_FLAGS + 2 > limit) {
                LOG(ERROR, "MSI capability at %#x runs off config space",
                    ptr);
                return ERROR_INVAL;
            }
            ctrl = cfg16(cfg, ptr + PCI_MSI_FLAGS);
            need = (ctrl & PCI_MSI_FLAGS_64BIT ? PCI_MSI_DATA_64
                                               : PCI_MSI_DATA_32) + 2;
            if (ptr + need > limit) {
                LOG(ERROR, "MSI capability at %#x runs off config space",
                    ptr);
                return ERROR_INVAL;
            }
            *msi_at_r = ptr;
            break;
        case PCI_CAP_ID_MSIX:
            *msix_r = true;
            break;
        case PCI_CAP_ID_SSVID:
            /* A bridge's subsystem IDs. */
            if (hdr == PCI_HEADER_TYPE_BRIDGE && ptr + 8 <= limit) {
                id->subvendor = cfg16(cfg, ptr + PCI_SSVID_VENDOR);
                id->subdevice = cfg16(cfg, ptr + PCI_SSVID_DEVICE);
            }
            break;
        }
        ptr = cfg[ptr + PCI_CAP_LIST_NEXT];
    }
    return 0;
}

/* The MSI capability at msi_at (0: none) as the identity shows it. */
static void set_msi(libxl_pci_ims_identity *id, const uint8_t *cfg,
                    unsigned msi_at)
{
    bool msi_found = msi_at != 0;
    uint16_t ctrl = msi_found ? cfg16(cfg, msi_at + PCI_MSI_FLAGS) : 0;

    id->msi_offset = msi_at;
    id->msi_64bit = msi_found && (ctrl & PCI_MSI_FLAGS_64BIT);
    id->msi_maskable = msi_found && (ctrl & PCI_MSI_FLAGS_MASK_BIT);
    id->msi_enabled = msi_found && (ctrl & PCI_MSI_FLAGS_ENABLE);
    id->msi_vectors_capable = msi_found ? msi_vectors((ctrl >> 1) & 7) : 0;
    id->msi_vectors_enabled = msi_found ? msi_vectors((ctrl >> 4) & 7) : 0;
    id->msi_address = 0;
    id->msi_data = 0;
    if (!msi_found)
        return;
    id->msi_address = cfg32(cfg, msi_at + PCI_MSI_ADDRESS_LO);
    if (ctrl & PCI_MSI_FLAGS_64BIT) {
        id->msi_address |=
            (uint64_t)cfg32(cfg, msi_at + PCI_MSI_ADDRESS_HI) << 32;
        id->msi_data = cfg16(cfg, msi_at + PCI_MSI_DATA_64);
    } else {
        id->msi_data = cfg16(cfg, msi_at + PCI_MSI_DATA_32);
    }
}

int libxl__ims_identity_from_config(libxl__gc *gc,
                                    const uint8_t *cfg, size_t len,
                                    libxl_pci_ims_identity *id)
{
    /* Capabilities of the standard header live in 0x40..0xff. */
    size_t limit = len < 256 ? len : 256;
    unsigned hdr, msi_at = 0;
    bool msix = false;
    int rc;

    if (!cfg || len < 64) {
        LOG(ERROR, "PCI config space image too short (%zu bytes, need 64)",
            cfg ? len : 0);
        return ERROR_INVAL;
    }
    if (cfg16(cfg, PCI_VENDOR_ID) == 0xffff ||
        cfg16(cfg, PCI_VENDOR_ID) == 0x0000) {
        LOG(ERROR, "no PCI device in config space image (vendor ID %04x)",
            cfg16(cfg, PCI_VENDOR_ID));
        return ERROR_NOTFOUND;
    }

    hdr = cfg[PCI_HEADER_TYPE] & 0x7f;
    id->subvendor = id->subdevice = 0;
    rc = walk_caps(gc, cfg, limit, hdr, id, &msi_at, &msix);
    if (rc) return rc;

    id->vendor = cfg16(cfg, PCI_VENDOR_ID);
    id->device = cfg16(cfg, PCI_DEVICE_ID);
    id->revision = cfg[PCI_REVISION_ID];
    id->class_code = cfg[PCI_CLASS_PROG] | (cfg[PCI_CLASS_PROG + 1] << 8) |
                     (cfg[PCI_CLASS_PROG + 2] << 16);
    if (hdr == PCI_HEADER_TYPE_NORMAL) {
        id->subvendor = cfg16(cfg, PCI_SUBSYSTEM_VENDOR_ID);
        id->subdevice = cfg16(cfg, PCI_SUBSYSTEM_ID);
    } else if (hdr == PCI_HEADER_TYPE_CARDBUS) {
        id->subvendor = cfg16(cfg, PCI_CB_SUBSYSTEM_VENDOR_ID);
        id->subdevice = cfg16(cfg, PCI_CB_SUBSYSTEM_ID);
    }
    set_msi(id, cfg, msi_at);
    id->msix = msix;
    return 0;
}

/*
 * libpci calls its error callback on fatal errors and expects it not to
 * return (the default one exits the process); the callbacks get no
 * context.  Ours jump back to the pci_read_config() running in this
 * thread, through the context that call keeps on its own stack: nothing
 * is shared between calls, nor between the threads libxl runs in.
 */
typedef struct pci_call {
    jmp_buf jmp;
    char msg[256];                  /* libpci's last word */
} pci_call;

static __thread pci_call *this_call;

static void pci_error(char *msg, ...) PRINTF_ATTRIBUTE(1, 2)
                                      __attribute__((noreturn));
static void pci_error(char *msg, ...)
{
    va_list ap;

    va_start(ap, msg);
    vsnprintf(this_call->msg, sizeof(this_call->msg), msg, ap);
    va_end(ap);
    longjmp(this_call->jmp, 1);
}

static void pci_warning(char *msg, ...) PRINTF_ATTRIBUTE(1, 2);

static void pci_warning(char *msg, ...)
{
    va_list ap;

    va_start(ap, msg);
    vsnprintf(this_call->msg, sizeof(this_call->msg), msg, ap);
    va_end(ap);
}

static void pci_debug(char *msg, ...) PRINTF_ATTRIBUTE(1, 2);

static void pci_debug(char *msg, ...)
{
}

/* A libpci access to sysfs, or to the lspci -xxx dump when dump is set. */
static struct pci_access *pci_open(const char *dump, const char *sysfs)
{
    struct pci_access *acc = pci_alloc();

    acc->error = pci_error;
    acc->warning = pci_warning;
    acc->debug = pci_debug;
    if (dump) {
        acc->method = PCI_ACCESS_DUMP;
        pci_set_param(acc, (char *)"dump.name", (char *)dump);
    } else {
        acc->method = PCI_ACCESS_SYS_BUS_PCI;
        pci_set_param(acc, (char *)"sysfs.path", (char *)sysfs);
    }
    pci_init(acc);
    return acc;
}

/* The device pci in the dump read by acc (on acc's list once read). */
static int pci_dump_dev(libxl__gc *gc, struct pci_access *acc,
                        const libxl_device_pci *pci, const char *bdf,
                        const char *what, struct pci_dev **dev_r)
{
    struct pci_dev *d;
    int nr_devs = 0;

    *dev_r = NULL;
    for (d = acc->devices; d; d = d->next) {
        nr_devs++;
        if (d->domain == pci->domain && d->bus == pci->bus &&
            d->dev == pci->dev && d->func == pci->func)
            *dev_r = d;
    }
    if (!nr_devs) {
        LOG(ERROR, "%s: no device in it (not an lspci -xxx dump?)", what);
        return ERROR_INVAL;
    }
    if (!*dev_r) {
        LOG(ERROR, "PCI device %s not found in %s", bdf, what);
        return ERROR_NOTFOUND;
    }
    return 0;
}

/* The whole config space (256 bytes) of dev, or why not. */
static int pci_read_all(libxl__gc *gc, struct pci_dev *dev,
                        const char *bdf, const char *what, bool dump,
                        const char *libpci_msg, uint8_t *cfg)
{
    if (pci_read_block(dev, 0, cfg, 256))
        return 0;
    if (pci_read_block(dev, 0, cfg, 64)) {
        LOG(ERROR, "%s: only 64 bytes of the config space of %s %s",
            what, bdf, dump ? "(use lspci -xxx, not lspci -x)"
                            : "are readable (not root?)");
    } else {
        LOG(ERROR, "%s: cannot read the config space of %s%s%s", what,
            bdf, libpci_msg[0] ? ": " : "", libpci_msg);
    }
    return dump ? ERROR_INVAL : ERROR_FAIL;
}

/*
 * The config space (256 bytes) of the device at bdf, through libpci:
 * sysfs, or the lspci -xxx dump when dump is not NULL.
 */
static int pci_read_config(libxl__gc *gc, const libxl_device_pci *pci,
                           const char *bdf, const char *dump,
                           const char *sysfs, uint8_t *cfg)
{
    struct pci_access *volatile acc = NULL;
    struct pci_dev *volatile dev = NULL;
    struct pci_dev *d;
    pci_call call;
    const char *what;
    int rc;
    struct stat st;

    if (dump) {
        what = GCSPRINTF("PCI dump %s", dump);
    } else {
        what = GCSPRINTF("%s/devices/%s", sysfs, bdf);
        if (stat(what, &st)) {
            if (errno == ENOENT) {
                LOG(ERROR, "PCI device %s not found (no %s)", bdf, what);
                return ERROR_NOTFOUND;
            }
            LOGE(ERROR, "PCI device %s: cannot access %s", bdf, what);
            return ERROR_FAIL;
        }
    }

    call.msg[0] = '\0';
    this_call = &call;
    if (setjmp(call.jmp)) {
        LOG(ERROR, "%s: libpci: %s", what, call.msg);
        rc = dump ? ERROR_INVAL : ERROR_FAIL;
        goto out;
    }

    acc = pci_open(dump, sysfs);
    if (dump) {
        rc = pci_dump_dev(gc, acc, pci, bdf, what, &d);
        if (rc) goto out;
    } else {
        /* Ours to free, unlike a dump's devices. */
        d = dev = pci_get_dev(acc, pci->domain, pci->bus, pci->dev,
                              pci->func);
    }
    rc = pci_read_all(gc, d, bdf, what, dump, call.msg, cfg);

 out:
    if (dev) pci_free_dev(dev);
    if (acc) pci_cleanup(acc);
    this_call = NULL;
    return rc;
}

int libxl__ims_pci_identity_env(libxl__gc *gc, const libxl__ims_env *env,
                                const libxl_device_pci *pci,
                                libxl_pci_ims_identity *id)
{
    const char *dump = env->pci_dump;
    const char *sysfs = libxl__ims_env_path(gc, env, IMS_SYSFS_PCI_DIR);
    const char *bdf, *why;
    uint8_t cfg[256];
    int rc;

    bdf = GCSPRINTF(PCI_BDF, pci->domain, pci->bus, pci->dev,
                    pci->func);

    /* At attach, what the identity is read from must be root's. */
    if (env->attach && (dump || env->root)) {
        why = libxl__ims_untrusted(gc, dump ? dump : sysfs);
        if (why) {
            LOG(ERROR, "PCI device %s: %s %s: %s: refused at attach (only "
                "root may be able to change it, as for the database)", bdf,
                dump ? "$" LIBXL_IMS_PCI_DUMP_ENV : "$" LIBXL_IMS_ROOT_ENV,
                dump ? dump : sysfs, why);
            return ERROR_FAIL;
        }
    }

    rc = pci_read_config(gc, pci, bdf, dump, sysfs, cfg);
    if (rc) return rc;

    rc = libxl__ims_identity_from_config(gc, cfg, sizeof(cfg), id);
    if (rc) {
        LOG(ERROR, "PCI device %s: no usable config space", bdf);
        return rc;
    }

    libxl__ims_set_string(gc, &id->source, dump ? GCSPRINTF("libpci dump %s, "
                          "%s" , dump, bdf)                     : GCSPRINTF(
                          "libpci sysfs %s" , bdf));
    return 0;
}

int libxl__ims_pci_identity(libxl__gc *gc, const libxl_device_pci *pci,
                            libxl_pci_ims_identity *id)
{
    libxl__ims_env env;

    libxl__ims_env_read(gc, &env, false);
    return libxl__ims_pci_identity_env(gc, &env, pci, id);
}

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
