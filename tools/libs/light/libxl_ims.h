/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Internal interfaces of libxl's support for IMS-like PCI devices: devices
 * whose driver reads the MSI address/data back from config space and hands
 * them to the device by another path (Qualcomm ath11k/ath12k Wi-Fi).
 *
 * One job per file, each calling only the ones listed above it:
 *
 *   libxl_ims_common.c          environment, root-only check, escaping
 *   libxl_pci_ims_identity.c    device identity (config space, libpci)
 *   libxl_pci_ims_facts.c       host facts: pure parsers, boot record
 *   libxl_pci_ims_facts_host.c  host facts: read from the host
 *   libxl_ims_db_diag.c         policy database: diagnostics
 *   libxl_ims_db.c              policy database: the parser (pure)
 *   libxl_ims_db_load.c         policy database: files, trust, lookup
 *   libxl_pci_ims_plan.c        facts -> plan -> sinks (pure)
 *   libxl_pci_ims_gather.c      Xen's facts; the plan at domain creation
 *   libxl_pci_ims_query.c       dry runs: explain, list
 *   libxl_pci_ims.c             the attach step: QMP, xenstore, Xen flag
 *
 * Decisions are pure functions of their arguments (no I/O, no global
 * state) so that they can be tested exhaustively; I/O stays at thin edges.
 * Strings stored in IDL structures (plans, facts, entries) are allocated
 * with NOGC, because the IDL's dispose functions free them.
 *
 * Copyright (C) 2026 xen-pci-ims developers
 */

#ifndef LIBXL_IMS_H
#define LIBXL_IMS_H

#include "libxl_internal.h"

/* Every host file is read through this prefix ($LIBXL_IMS_ROOT). */
#define LIBXL_IMS_ROOT_ENV       "LIBXL_IMS_ROOT"
/* Colon-separated database files replacing the default ones. */
#define LIBXL_IMS_DB_ENV         "LIBXL_IMS_DB"
/* An lspci -xxx dump read instead of sysfs (libpci's dump access). */
#define LIBXL_IMS_PCI_DUMP_ENV   "LIBXL_IMS_PCI_DUMP"

#define LIBXL_IMS_DB_MAIN        "/etc/xen/ims-quirks.cfg"
#define LIBXL_IMS_DB_DROPIN_DIR  "/etc/xen/ims-quirks.d"
#define LIBXL_IMS_FACTS_FILE     "/var/run/xen/ims-host-facts"

/* Longest database line accepted, in bytes, without its line end. */
#define LIBXL_IMS_DB_MAX_LINE    4096
/*
 * Diagnostics kept per load; the rest are counted (nr_errors still sees
 * every error) and summed up in one last diagnostic, so that a file of
 * any size costs linear time and memory.
 */
#define LIBXL_IMS_DB_MAX_DIAGS   100

/*
 * The environment, read once per call (libxl runs in its callers' threads:
 * no process-wide state) and passed down.  The variables are for tests and
 * dry runs; at a real attach (attach: the attach path, with a hypervisor)
 * the files they name, and the boot record, are used only under the
 * database's root-only rules (libxl__ims_untrusted), see xl-pci-ims(5).
 */
typedef struct libxl__ims_env {
    const char *root;       /* $LIBXL_IMS_ROOT, or NULL */
    const char *db;         /* $LIBXL_IMS_DB, or NULL */
    const char *pci_dump;   /* $LIBXL_IMS_PCI_DUMP, or NULL */
    bool attach;            /* a real attach: root-only rules */
} libxl__ims_env;

_hidden void libxl__ims_env_read(libxl__gc *gc, libxl__ims_env *env,
                                 bool attach);
/* env->root prepended to an absolute host path (gc-allocated). */
_hidden const char *libxl__ims_env_path(libxl__gc *gc,
                                        const libxl__ims_env *env,
                                        const char *path);
/*
 * NULL when only root can change what path names: it resolves to a file
 * or directory owned by root and not writable by others (nor by a group
 * other than root's), below directories of the same kind up to /.  Else
 * why not (gc-allocated).
 */
_hidden const char *libxl__ims_untrusted(libxl__gc *gc, const char *path);
typedef enum {
    LIBXL__IMS_TRUST_OK,
    LIBXL__IMS_TRUST_STAT,      /* a directory above cannot be stat()ed */
    LIBXL__IMS_TRUST_OWNER,     /* not owned by root */
    LIBXL__IMS_TRUST_WRITABLE,  /* writable by others than root */
} libxl__ims_trust_problem;

typedef struct libxl__ims_trust {
    libxl__ims_trust_problem problem;
    const char *path;   /* the file, or the directory above it, at fault */
    bool dir;           /* path is a directory above the one checked */
    struct stat st;     /* path's */
    int err;            /* errno, for TRUST_STAT */
} libxl__ims_trust;

/*
 * The one check behind libxl__ims_untrusted and the database's: true when
 * only root can change resolved (no symbolic link left; st its stat):
 * owned by root and not writable by others (nor by a group other than
 * root's), below directories of the same kind up to / (or sticky ones).
 * Else false, with *t saying what is at fault.
 */
_hidden bool libxl__ims_trust_check(libxl__gc *gc, const char *resolved,
                                    const struct stat *st,
                                    libxl__ims_trust *t);
/* Replaces a string owned by an IDL structure (NOGC: dispose frees it). */
_hidden void libxl__ims_set_string(libxl__gc *gc, char **dst, const char *s);
/*
 * s with what a terminal would act on escaped, for a message that quotes
 * a file's content: C0 controls, DEL and bytes that are not UTF-8 become
 * \xNN; C1 controls (U+0080-U+009F) and the bidi controls U+202A-U+202E
 * and U+2066-U+2069 become \u{NNNN}.  Other text is kept (gc-allocated).
 */
_hidden char *libxl__ims_escape(libxl__gc *gc, const char *s);
/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
_hidden size_t libxl__ims_utf8_sequence(const unsigned char *s, size_t n);

/*----- policy database (libxl_ims_db.c, libxl_ims_db_load.c) -----*/

/*
 * Precedence: a device matches an entry when vendor and device are equal
 * and, where the entry gives them, subsys and class are equal too.  Among
 * matching entries the most specific wins: subsys+class > subsys > class >
 * vendor:device only.  Among equally specific ones the later wins: later
 * line in a file, later file in load order (main file, then drop-ins in
 * lexical order).  amd= and intel= are lists of strategies in order of
 * preference; an entry that leaves one out takes the default for that
 * vendor: amd=remap|export, intel=expose|export.
 *
 * A file with an error contributes no entries at all (bad input changes
 * nothing); warnings do not reject a file.
 */
typedef struct libxl__ims_db {
    libxl_pci_ims_db_entry *entries;  /* gc-allocated */
    int nr_entries;
    libxl_pci_ims_diag *diags;        /* gc-allocated */
    int nr_diags;
    int nr_errors;                    /* all errors, shown or not */
    /* private to libxl_ims_db.c: diagnostics past LIBXL_IMS_DB_MAX_DIAGS */
    int nr_hidden_errors, nr_hidden_warnings;
    libxl_pci_ims_diag first_hidden;  /* where the summary points */
    const char *last_diag_file;       /* unescaped name of the last one */
    /* private to libxl_ims_db.c: lookup index */
    int *order;
    int allocated, diags_allocated;
} libxl__ims_db;

_hidden void libxl__ims_db_init(libxl__ims_db *db);

/*
 * Parses one file's contents (pure: no I/O) and appends its entries and
 * diagnostics to db.  file is the name used in diagnostics.  Returns the
 * number of errors found in this buffer.
 */
_hidden int libxl__ims_db_parse(libxl__gc *gc, libxl__ims_db *db,
                                const char *file,
                                const char *buf, size_t len);

/*
 * Loads files (or the system database when files is NULL), checking each
 * file's owner and mode; strict_perms makes a bad owner or mode an error
 * (else a warning).  Always returns a db (*db_r); returns 0 when the load
 * found no error, ERROR_INVAL otherwise.
 */
_hidden int libxl__ims_db_load(libxl__gc *gc, const char *const *files,
                               int nr_files, bool strict_perms,
                               libxl__ims_db **db_r);
_hidden int libxl__ims_db_load_env(libxl__gc *gc, const libxl__ims_env *env,
                                   const char *const *files, int nr_files,
                                   bool strict_perms, libxl__ims_db **db_r);

/* Appends a diagnostic (shown, or counted past LIBXL_IMS_DB_MAX_DIAGS). */
_hidden void libxl__ims_db_add_diag(libxl__gc *gc, libxl__ims_db *db,
                                    libxl_pci_ims_severity severity,
                                    const char *file, int line, int column,
                                    const char *fmt, ...)
    PRINTF_ATTRIBUTE(7, 8);
/* Sums up the diagnostics past LIBXL_IMS_DB_MAX_DIAGS in a last one. */
_hidden void libxl__ims_db_add_hidden_summary(libxl__gc *gc,
                                              libxl__ims_db *db);
/* Logs a loaded database's diagnostics. */
_hidden void libxl__ims_db_log_problems(libxl__gc *gc,
                                        const libxl__ims_db *db);
/* The database's first error, for a plan's reason, or NULL. */
_hidden const char *libxl__ims_db_first_error(libxl__gc *gc,
                                              const libxl__ims_db *db);

/* Builds the lookup index; called by load, and by callers of parse. */
_hidden void libxl__ims_db_finish(libxl__gc *gc, libxl__ims_db *db);

/* The winning entry for a device, or NULL. */
_hidden const libxl_pci_ims_db_entry *libxl__ims_db_lookup(
    const libxl__ims_db *db, uint16_t vendor, uint16_t device,
    uint16_t subvendor, uint16_t subdevice, uint32_t class_code);

/*----- facts (libxl_pci_ims_facts*.c, libxl_pci_ims_identity.c) -----*/

/*
 * Pure parsers of the evidence a dom0 can see.  Each fills only what its
 * text really says (iommu, intremap, their _source strings, evidence
 * lines) and leaves the rest as it is.  source names the place the text
 * came from, for the _source strings.
 */
/* Appends an evidence line (NOGC), once, up to a bound. */
_hidden void libxl__ims_facts_add_evidence(libxl__gc *gc,
                                           libxl_pci_ims_facts *f,
                                           const char *s);
_hidden void libxl__ims_facts_from_xen_log(libxl__gc *gc, const char *log,
                                           const char *source,
                                           libxl_pci_ims_facts *f);
_hidden void libxl__ims_facts_from_cmdline(libxl__gc *gc, const char *cmdline,
                                           const char *source,
                                           libxl_pci_ims_facts *f);
_hidden void libxl__ims_facts_from_acpi(libxl__gc *gc,
                                        const char *const *tables, int n,
                                        const char *source,
                                        libxl_pci_ims_facts *f);
_hidden void libxl__ims_facts_from_cpuinfo(libxl__gc *gc, const char *cpuinfo,
                                           const char *source,
                                           libxl_pci_ims_facts *f);
/*
 * The record written at boot: returns ERROR_INVAL on a malformed file;
 * with boot_id (this boot's), ERROR_NOTFOUND when the record's boot_id=
 * is another or missing.  NULL: the boot is not checked.
 */
_hidden int libxl__ims_facts_from_record(libxl__gc *gc, const char *text,
                                         const char *source,
                                         libxl_pci_ims_facts *f,
                                         const char *boot_id);
/* boot_id: the boot_id= line (this boot's id), or NULL for none. */
_hidden char *libxl__ims_facts_to_record(libxl__gc *gc,
                                         const libxl_pci_ims_facts *f,
                                         const char *boot_id);

/*
 * The host facts, best evidence first: the boot record, Xen's console
 * ring, Xen's command line, ACPI tables, CPU vendor.  Hypervisor queries
 * are skipped on an offline context.
 */
_hidden int libxl__ims_host_facts(libxl__gc *gc, libxl_pci_ims_facts *f);
_hidden int libxl__ims_host_facts_env(libxl__gc *gc,
                                      const libxl__ims_env *env,
                                      libxl_pci_ims_facts *f);

/* Device identity from a config space image (pure). */
_hidden int libxl__ims_identity_from_config(libxl__gc *gc,
                                            const uint8_t *cfg, size_t len,
                                            libxl_pci_ims_identity *id);
/* Device identity through libpci (sysfs, or $LIBXL_IMS_PCI_DUMP). */
_hidden int libxl__ims_pci_identity(libxl__gc *gc,
                                    const libxl_device_pci *pci,
                                    libxl_pci_ims_identity *id);
_hidden int libxl__ims_pci_identity_env(libxl__gc *gc,
                                        const libxl__ims_env *env,
                                        const libxl_device_pci *pci,
                                        libxl_pci_ims_identity *id);

/*----- plan (libxl_pci_ims_plan.c, _gather.c, _query.c) -----*/

/*
 * The decision, pure.  policy must not be DEFAULT; entry is the database
 * match or NULL; db_error names the database's first error (NULL when it
 * loaded cleanly).  Fills plan->policy, strategy, outcome, applied,
 * reason, warning, candidates, guest_needs and match; reads nothing else.
 *
 *  - off, PV and PVH guests, devices not in the database: no strategy;
 *    a database with errors: none under auto, refused under strict (a
 *    lost line may have been a restrictive one).
 *  - Candidates: a forced policy's strategy, else the entry's list for
 *    the host's IOMMU vendor (export when the vendor is unknown).
 *  - Each candidate needs interrupt remapping known to be on; remap needs
 *    an AMD IOMMU, Xen's acceptance of the flag and guest MSIs that carry
 *    a vector; expose and export a device model with x-ims.
 *  - auto takes the first usable candidate (degraded when none is);
 *    strict and forced policies judge the first only (refused when it is
 *    unusable).  A fact not known yet gives pending, never a guess.
 */
_hidden void libxl__ims_decide(libxl__gc *gc, libxl_pci_ims_policy policy,
                               const libxl_pci_ims_db_entry *entry,
                               const char *db_error,
                               const libxl_pci_ims_facts *facts,
                               libxl_pci_ims_plan *plan);

/* DEFAULT means auto. */
_hidden libxl_pci_ims_policy libxl__ims_effective_policy(
    libxl_pci_ims_policy p);
/* The plan waits for the device model's answer (x-ims), or Xen's (remap). */
_hidden bool libxl__ims_plan_needs_dm(const libxl_pci_ims_plan *plan);
_hidden bool libxl__ims_plan_needs_hv(const libxl_pci_ims_plan *plan);

/* Decides from a QMP device-list-properties "return" value (pure). */
_hidden libxl_pci_ims_support libxl__ims_qmp_x_ims_support(
    const libxl__json_object *props);
/* The same from a QMP transcript, reply "id": "ims" (pure). */
_hidden libxl_pci_ims_support libxl__ims_qmp_transcript_support(
    libxl__gc *gc, const char *transcript);

/* Where the guest-visible export of a device lives in xenstore. */
_hidden const char *libxl__ims_export_path(libxl__gc *gc, uint32_t domid,
                                           uint32_t vdevfn);
/* The toolstack's record of the strategy applied to a host device. */
_hidden const char *libxl__ims_toolstack_path(libxl__gc *gc,
                                              const libxl_device_pci *pci);

/*
 * What a decided plan asks of Xen at assignment (pure): the extra flags
 * for xc_assign_device() and why, the one source of both the flags libxl
 * passes and the plan's printed "assign:" line.
 */
typedef struct libxl__ims_xen_action {
    uint32_t assign_flags;
    const char *reason;             /* static */
} libxl__ims_xen_action;

_hidden void libxl__ims_plan_xen_action(const libxl_pci_ims_plan *plan,
                                        libxl__ims_xen_action *a);

/*
 * From a decided plan to what the sinks get (pure): the QEMU properties,
 * the xenstore entries with their permissions, and the hypervisor-side
 * actions.  dm_domid is the domain running the device model (0, or the
 * stub domain); it owns the guest-visible entries, which the guest may
 * read but never write.
 */
_hidden void libxl__ims_plan_sinks(libxl__gc *gc, libxl_pci_ims_plan *plan,
                                   const libxl_device_pci *pci,
                                   uint32_t domid, uint32_t dm_domid,
                                   uint32_t vdevfn);

/* The winning database entry for a device (system database), or NULL;
 * *db_error_r names the database's first error, or is NULL. */
_hidden const libxl_pci_ims_db_entry *libxl__ims_lookup_device(
    libxl__gc *gc, const libxl_pci_ims_identity *id,
    const char **db_error_r);
_hidden const libxl_pci_ims_db_entry *libxl__ims_lookup_device_env(
    libxl__gc *gc, const libxl__ims_env *env,
    const libxl_pci_ims_identity *id, const char **db_error_r);

/*
 * Whether domid's guest MSIs carry a vector (no HVM pirqs), from Xen
 * (guest_msi, guest_msi_source).  at_attach: a domain Xen cannot tell
 * about counts as one with pirqs.
 */
_hidden void libxl__ims_guest_msi(libxl__gc *gc, uint32_t domid,
                                  bool at_attach, libxl_pci_ims_facts *f);
/* The same for a domain yet to be created with the device in its config:
 * libxl creates it without HVM pirqs when a device's plan is remap. */
_hidden void libxl__ims_guest_msi_new_domain(libxl_pci_ims_facts *f);

/*
 * Whether pci is attached to domid and, if so, the policy it was attached
 * with and its slot in the guest (the backend's record).
 */
_hidden bool libxl__ims_attached_device(libxl__gc *gc, uint32_t domid,
                                        const libxl_device_pci *pci,
                                        libxl_pci_ims_policy *policy,
                                        uint32_t *vdevfn);
/* Where an attach caches the device model's answer about x-ims. */
_hidden const char *libxl__ims_dm_cache_path(libxl__gc *gc, uint32_t domid);

/*
 * What a plan is made from besides the facts held in the plan itself
 * (which the caller may have filled in part: the guest's type, its
 * device model's answer about x-ims, ...).
 */
typedef struct libxl__ims_request {
    const libxl__ims_env *env;
    const libxl_device_pci *pci;
    libxl_pci_ims_policy policy;    /* not DEFAULT */
    uint32_t domid;                 /* the guest; DOMID_INVALID: a new one */
    bool ask_xen;                   /* Xen may be asked about the flag */
    bool at_attach;                 /* what Xen cannot say counts as no */
    bool attached;                  /* pci is attached to domid already */
    /* the database's answer, from libxl__ims_plan_gather */
    const libxl_pci_ims_db_entry *entry;
    const char *db_error;           /* its first error, or NULL */
} libxl__ims_request;

/*
 * Gathers what does not depend on the guest: the device's identity, its
 * database entry (rq->entry, rq->db_error) and the host facts.  At
 * attach, under policy auto, a device whose identity cannot be read is
 * no IMS device we know: rq->policy becomes off.
 */
_hidden int libxl__ims_plan_gather(libxl__gc *gc, libxl__ims_request *rq,
                                   libxl_pci_ims_plan *plan);
/*
 * The one place a plan is decided (attach, explain, list, domain
 * creation): from rq and plan->facts.  Xen is asked about the remap flag
 * (rq->ask_xen) only when its answer decides.  A fact learned later (the
 * device model's answer at attach) is set in plan->facts and the plan
 * decided again by this same function.
 */
_hidden void libxl__ims_plan_decide(libxl__gc *gc,
                                    const libxl__ims_request *rq,
                                    libxl_pci_ims_plan *plan);

/* The lowest free slot on bus 0 in a QMP query-pci reply, or -1. */
_hidden int libxl__ims_free_slot(const libxl__json_object *query_pci);

/*
 * Writes the xenstore entries of a plan made for the guest domid, with
 * their permissions, in one transaction, replacing an earlier record of
 * pci's strategy.  Refuses (ERROR_FAIL) when the export directory exists
 * already and is not the guest's own making: it is another device's.
 */
_hidden int libxl__ims_xs_write(libxl__gc *gc, uint32_t domid,
                                const libxl_pci_ims_plan *plan,
                                const libxl_device_pci *pci);

/*
 * On detach, before the backend forgets the device: removes what this
 * feature wrote for pci in domid, the guest-visible export directory of
 * the device's slot (the backend's record, not the caller's vdevfn) and
 * its parent when empty, and the toolstack record.
 */
_hidden int libxl__ims_xs_remove(libxl__gc *gc, uint32_t domid,
                                 const libxl_device_pci *pci);

/*
 * Whether Xen would assign the device with XEN_DOMCTL_DEV_IMS_REMAP,
 * asked with XEN_DOMCTL_test_assign_device (no side effect).  Sets
 * hv_remap and hv_remap_source.  at_attach: an answer Xen cannot give
 * counts as no, as for the device model.
 */
_hidden void libxl__ims_probe_hv_remap(libxl__gc *gc, uint32_t domid,
                                       const libxl_device_pci *pci,
                                       bool at_attach,
                                       libxl_pci_ims_facts *f);

/*
 * At domain creation, before the build info's defaults: a domain whose
 * config has a device planned as remap (and that does not set hvm_pirq)
 * is created without HVM pirqs, so that the guest's MSIs carry vectors
 * Xen can remap.  Where remap is not planned (no flag in Xen, Intel, no
 * remapping, policy off), 4.17's default stays.
 */
_hidden void libxl__ims_choose_hvm_pirq(libxl__gc *gc,
                                        libxl_domain_config *d_config);

/*----- the attach step (libxl_pci_ims.c; libxl_pci.c calls these) -----*/

typedef struct libxl__ims_attach_state libxl__ims_attach_state;
typedef void libxl__ims_attach_cb(libxl__egc *egc,
                                  libxl__ims_attach_state *ims, int rc);

struct libxl__ims_attach_state {
    /* filled in by the caller */
    libxl__ao *ao;
    uint32_t domid;
    libxl_device_pci *pci;          /* export may set vdevfn */
    libxl__ims_attach_cb *callback;
    /* the result */
    libxl_pci_ims_plan plan;
    bool written;                   /* xenstore holds the plan's entries */
    /* private */
    libxl__ev_qmp qmp;
    libxl__ims_env env;
    libxl__ims_request rq;
    uint32_t dm_domid;
    bool dm_answered;               /* QMP said whether it has x-ims */
    bool dm_cached;                 /* ... and this attach cached that */
};

_hidden void libxl__ims_attach_init(libxl__ims_attach_state *ims);

/*
 * Before QEMU's device_add of an HVM guest's device: makes the plan (the
 * device model is asked over QMP whether it has x-ims, once per device
 * model), refuses (ERROR_FAIL, with the reason logged) when the policy
 * says so, and writes the xenstore entries.  A failure leaves nothing
 * written.
 */
_hidden void libxl__ims_attach_prepare(libxl__egc *egc,
                                       libxl__ims_attach_state *ims);

/* The plan's properties for QEMU's device_add. */
_hidden void libxl__ims_attach_qmp_args(libxl__gc *gc,
                                        const libxl__ims_attach_state *ims,
                                        libxl__json_object **args);

/*
 * Extra flags for xc_assign_device() (XEN_DOMCTL_DEV_IMS_REMAP when the
 * plan is remap); 0 when the plan needs nothing from Xen.
 */
_hidden uint32_t libxl__ims_assign_flags(const libxl__ims_attach_state *ims);

/* The attach failed after prepare: remove what prepare wrote. */
_hidden void libxl__ims_attach_undo(libxl__gc *gc,
                                    libxl__ims_attach_state *ims);

_hidden void libxl__ims_attach_dispose(libxl__gc *gc,
                                       libxl__ims_attach_state *ims);

#endif /* LIBXL_IMS_H */

/*
 * Local variables:
 * mode: C
 * c-basic-offset: 4
 * indent-tabs-mode: nil
 * End:
 */
