/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Facts (libxl_pci_ims_facts.c): the parsers of what dom0 can see about
 * Xen's IOMMU (console log, command line, ACPI tables, cpuinfo, the boot
 * record), their precedence in libxl__ims_host_facts() on fake host
 * trees ($LIBXL_IMS_ROOT), recording, and device identity through libpci
 * on real-device dumps ($LIBXL_IMS_PCI_DUMP) and a fake sysfs.
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#include <sys/wait.h>

#include <sys/stat.h>

/*----- helpers -----*/

static libxl_ctx *ctx;
static libxl__gc test_gc_s, *test_gc = &test_gc_s;

#define GCSPRINTF_T(fmt, ...) libxl__sprintf(test_gc, (fmt), __VA_ARGS__)
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

static int setup(void **state)
{
    ctx = test_ctx_alloc_offline();
    assert_non_null(ctx);
    LIBXL_INIT_GC(test_gc_s, ctx);
    test_xen_console = NULL;
    test_xen_cmdline = NULL;
    test_xc_readconsolering_calls = 0;
    test_xc_version_calls = 0;
    return 0;
}

static int teardown(void **state)
{
    libxl__free_all(test_gc);
    ctx->xch = NULL;
    test_ctx_free(ctx);
    ctx = NULL;
    unsetenv(LIBXL_IMS_ROOT_ENV);
    unsetenv(LIBXL_IMS_PCI_DUMP_ENV);
    test_tmpdir_cleanup();
    return 0;
}

static char *fixture_text(const char *rel)
{
    char *text = test_read_file(test_fixture(rel));

    if (!text) fail_msg("cannot read fixture %s", rel);
    return text;
}

static bool has_evidence(const libxl_pci_ims_facts *f, const char *s)
{
    int i;

    for (i = 0; f->evidence && f->evidence[i]; i++)
        if (!strcmp(f->evidence[i], s)) return true;
    return false;
}

static void assert_facts(const libxl_pci_ims_facts *f,
                         libxl_pci_ims_iommu iommu,
                         libxl_pci_ims_intremap intremap)
{
    assert_string_equal(libxl_pci_ims_iommu_to_string(f->iommu),
                        libxl_pci_ims_iommu_to_string(iommu));
    assert_string_equal(libxl_pci_ims_intremap_to_string(f->intremap),
                        libxl_pci_ims_intremap_to_string(intremap));
    /* A known fact always says where it came from. */
    if (iommu != LIBXL_PCI_IMS_IOMMU_UNKNOWN)
        assert_non_null(f->iommu_source);
    if (intremap != LIBXL_PCI_IMS_INTREMAP_UNKNOWN)
        assert_non_null(f->intremap_source);
}

static void assert_prefix(const char *s, const char *prefix)
{
    assert_non_null(s);
    if (strncmp(s, prefix, strlen(prefix)))
        fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

static void assert_contains(const char *s, const char *part)
{
    assert_non_null(s);
    if (!strstr(s, part))
        fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

/* mkdir -p */
static void make_dirs(const char *path)
{
    char buf[4096], *p;

    snprintf(buf, sizeof(buf), "%s", path);
    for (p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(buf, 0755);
        *p = '/';
    }
    mkdir(buf, 0755);
}

#define BOOT_ID       TEST_BOOT_ID
#define OTHER_BOOT_ID "0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b"
#define BOOT_LINE     "boot_id=" BOOT_ID "\n"

static void root_file(const char *root, const char *dir, const char *name,
                      const char *contents);

/* A fresh fake host root, made $LIBXL_IMS_ROOT, with a boot id. */
static const char *fake_root(void)
{
    const char *root = test_tmpdir();

    setenv(LIBXL_IMS_ROOT_ENV, root, 1);
    root_file(root, "/proc/sys/kernel/random", "boot_id", BOOT_ID "\n");
    return root;
}

static void root_file(const char *root, const char *dir, const char *name,
                      const char *contents)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s%s", root, dir);
    make_dirs(path);
    free((char *)test_write_file(path, name, contents));
}

static void root_acpi(const char *root, const char *const *tables, int n)
{
    int i;

    for (i = 0; i < n; i++)
        root_file(root, "/sys/firmware/acpi/tables", tables[i], "");
}

static const char *const record_intel_on =
    BOOT_LINE
    "iommu=intel\n"
    "iommu_source=Xen console: (XEN) Intel VT-d Interrupt Remapping "
    "enabled.\n"
    "intremap=on\n"
    "intremap_source=Xen console: (XEN) Interrupt remapping enabled\n"
    "evidence=Xen console: (XEN) I/O virtualisation enabled\n";

static const char *const cpuinfo_amd =
    "processor\t: 0\n"
    "vendor_id\t: AuthenticAMD\n"
    "cpu family\t: 25\n"
    "model\t\t: 80\n"
    "model name\t: AMD Ryzen 7 5800U with Radeon Graphics\n";

static const char *const cpuinfo_intel =
    "processor\t: 0\n"
    "vendor_id\t: GenuineIntel\n"
    "cpu family\t: 6\n"
    "model\t\t: 140\n"
    "model name\t: 11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz\n";

/* Tables a PV dom0 lists in /sys/firmware/acpi/tables under Xen 4.17. */
static const char *const acpi_amd[] = {
    "APIC", "DSDT", "FACP", "FACS", "HPET", "IVRS", "MCFG", "SSDT1",
    "SSDT2", "WAET",
};
static const char *const acpi_intel[] = {
    "APIC", "DSDT", "FACP", "FACS", "HPET", "MCFG", "RMAD", "WAET",
};
static const char *const acpi_none[] = {
    "APIC", "DSDT", "FACP", "FACS", "HPET", "MCFG", "WAET",
};

/*----- Xen console log -----*/

static void parse_log(const char *text, libxl_pci_ims_facts *f)
{
    libxl_pci_ims_facts_init(f);
    libxl__ims_facts_from_xen_log(test_gc, text, "Xen console", f);
}

static void test_log_real_amd(void **state)
{
    static const char *const logs[] = {
        "xen-logs/q35-amd-iommu-intremap.log",
        "xen-logs/q35-amd-iommu-hvm-edu-ims-experiment-rid.log",
        "xen-logs/q35-amd-iommu-hvm-edu-msi-experiment.log",
        "xen-logs/q35-amd-iommu-hvm-guest-edu-passthrough.log",
    };
    libxl_pci_ims_facts f;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(logs); i++) {
        char *text = fixture_text(logs[i]);

        parse_log(text, &f);
        assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON);
        assert_string_equal(f.iommu_source,
                            "Xen console: (XEN) AMD-Vi: IOMMU 0 Enabled.");
        assert_string_equal(f.intremap_source,
                            "Xen console: (XEN) Interrupt remapping enabled");
        assert_true(has_evidence(&f,
                        "Xen console: (XEN) I/O virtualisation enabled"));
        /* dom0's "[ 4.37] AMD-Vi: AMD IOMMUv2 ..." is no evidence. */
        assert_false(has_evidence(&f, "Xen console: [    4.377857] AMD-Vi: "
                     "AMD IOMMUv2 functionality not available on this "
                     "system - This is not a bug."));
        assert_int_equal(libxl_string_list_length(&f.evidence), 3);
        libxl_pci_ims_facts_dispose(&f);
        free(text);
    }
}

static void test_log_real_intel(void **state)
{
    static const char *const logs[] = {
        "xen-logs/q35-intel-iommu-intremap.log",
        "xen-logs/q35-intel-iommu-hvm-edu-ims-experiment-rid.log",
    };
    libxl_pci_ims_facts f;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(logs); i++) {
        char *text = fixture_text(logs[i]);

        /*
         * These logs also hold dom0's "AMD-Vi: AMD IOMMUv2 functionality
         * not available" (and the CPU is an AMD one): still VT-d.
         */
        assert_non_null(strstr(text, "] AMD-Vi: AMD IOMMUv2 functionality"));
        parse_log(text, &f);
        assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL,
                     LIBXL_PCI_IMS_INTREMAP_ON);
        assert_string_equal(f.iommu_source, "Xen console: (XEN) Intel VT-d "
                            "Interrupt Remapping enabled.");
        assert_string_equal(f.intremap_source,
                            "Xen console: (XEN) Interrupt remapping enabled");
        libxl_pci_ims_facts_dispose(&f);
        free(text);
    }
}

/* Lines that are not Xen's, or not exactly Xen's, say nothing. */
static void test_log_not_xen(void **state)
{
    static const char *const texts[] = {
        /* dom0 kernel (Linux's drivers/iommu/amd/init.c wording) */
        "[    4.377857] AMD-Vi: AMD IOMMUv2 functionality not available on "
        "this system - This is not a bug.\n"
        "[    0.512000] AMD-Vi: Interrupt remapping enabled\n"
        "[    0.512000] Interrupt remapping enabled\n"
        "[    0.512000] AMD-Vi: IOMMU 0 Enabled.\n",
        /* a guest's console lines */
        "(d1) (XEN) Interrupt remapping enabled\n"
        "(d1) AMD-Vi: IOMMU 0 Enabled.\n"
        "(d2) Intel VT-d Interrupt Remapping enabled.\n",
        /* near misses */
        "(XEN) Interrupt remapping enabled!\n"
        "(XEN) Interrupt remapping enabled for HPET\n"
        "(XEN) AMD-Vi: IOMMU Enabled.\n"
        "(XEN) AMD-Vi: IOMMU x Enabled.\n"
        "(XEN) AMD-Vi: IOMMU 0 Enabled\n"
        "(XEN) Intel VT-d Interrupt Remapping enabled\n"
        "(XEN) (XEN) Interrupt remapping enabled trailing\n"
        "(XEN) AMD-Vi: Interrupt remapping enabled\n"
        "(XEN) [VT-D] Interrupt Remapping enabled.\n",
        /* a ring that wrapped: the IOMMU lines are gone */
        "(XEN) Brought up 2 CPUs\n(XEN) Scheduling granularity: cpu\n",
        "",
    };
    libxl_pci_ims_facts f;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(texts); i++) {
        parse_log(texts[i], &f);
        assert_facts(&f, LIBXL_PCI_IMS_IOMMU_UNKNOWN,
                     LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
        assert_null(f.iommu_source);
        assert_null(f.intremap_source);
        assert_int_equal(libxl_string_list_length(&f.evidence), 0);
        libxl_pci_ims_facts_dispose(&f);
    }
}

/* The tail of a real log after a wrap: nothing, not a guess. */
static void test_log_wrapped_real(void **state)
{
    char *text = fixture_text("xen-logs/q35-amd-iommu-intremap.log");
    const char *tail = strstr(text, "(XEN) nr_sockets:");
    libxl_pci_ims_facts f;

    assert_non_null(tail);
    parse_log(tail, &f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_UNKNOWN,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);
    free(text);
}

/*
 * Remapping off, in Xen 4.17's exact words (Xen sources cited), with the
 * prefixes a console can carry: "(XEN) ", console_timestamps= formats
 * (xen/drivers/char/console.c, printk_start_of_line()), CRLF.
 */
static void test_log_off_variants(void **state)
{
    static const struct {
        const char *text;
        libxl_pci_ims_iommu iommu;
        libxl_pci_ims_intremap intremap;
        const char *intremap_line;
    } cases[] = {
        /*
         * VT-d with iommu=no-intremap, or hardware without it:
         * vtd/iommu.c:2735,2741 P(iommu_intremap, "Interrupt Remapping")
         * and iommu.c:594 "Interrupt remapping %sabled".
         */
        { "(XEN) Intel VT-d Queued Invalidation enabled.\n"
          "(XEN) Intel VT-d Interrupt Remapping not enabled.\n"
          "(XEN) Intel VT-d Posted Interrupt not enabled.\n"
          "(XEN) I/O virtualisation enabled\n"
          "(XEN)  - Dom0 mode: Relaxed\n"
          "(XEN) Interrupt remapping disabled\n",
          LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_OFF,
          "(XEN) Interrupt remapping disabled" },
        /* AMD-Vi with iommu=no-intremap: amd/iommu_init.c:1105, iommu.c:594 */
        { "(XEN) AMD-Vi: IOMMU 0 Enabled.\r\n"
          "(XEN) I/O virtualisation enabled\r\n"
          "(XEN)  - Dom0 mode: Relaxed\r\n"
          "(XEN) Interrupt remapping disabled\r\n",
          LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_OFF,
          "(XEN) Interrupt remapping disabled" },
        /* iommu=0: iommu.c:576 "I/O virtualisation %sabled" */
        { "(XEN) I/O virtualisation disabled\n",
          LIBXL_PCI_IMS_IOMMU_UNKNOWN, LIBXL_PCI_IMS_INTREMAP_OFF,
          "(XEN) I/O virtualisation disabled" },
        /* enabled by the driver, then the IOMMU failed: the last word */
        { "(XEN) [2026-11-04 16:52:28] AMD-Vi: IOMMU 0 Enabled.\n"
          "(XEN) [2026-11-04 16:52:28] I/O virtualisation disabled\n",
          LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_OFF,
          "(XEN) [2026-11-04 16:52:28] I/O virtualisation disabled" },
        /* amd/iommu_init.c:1350 */
        { "(XEN) AMD-Vi: SP5100 erratum 28 detected, disabling IOMMU.\n"
          "(XEN) If possible, disable SATA Combined mode in BIOS or "
          "contact your vendor for BIOS update.\n",
          LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_OFF,
          "(XEN) AMD-Vi: SP5100 erratum 28 detected, disabling IOMMU." },
        /* vtd/intremap.c:684: VTDPREFIX " Platform firmware ..." */
        { "(XEN) [   1.234567] [VT-D] Platform firmware does not support "
          "interrupt remapping\n",
          LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_OFF,
          "(XEN) [   1.234567] [VT-D] Platform firmware does not support "
          "interrupt remapping" },
        { "(XEN) [VT-D] Platform firmware does not support interrupt "
          "remapping\n",
          LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_OFF,
          "(XEN) [VT-D] Platform firmware does not support interrupt "
          "remapping" },
        /* arch/x86/apic.c:916 */
        { "(XEN) [00000012a05f2000] Failed to enable Interrupt Remapping\n",
          LIBXL_PCI_IMS_IOMMU_UNKNOWN, LIBXL_PCI_IMS_INTREMAP_OFF,
          "(XEN) [00000012a05f2000] Failed to enable Interrupt Remapping" },
        /* and on, with a boot-time stamp and an outer capture stamp */
        { "[12:00:01.5] (XEN) [    2.000100] AMD-Vi: IOMMU 1 Enabled.\n"
          "[12:00:01.5] (XEN) [    2.000200] Interrupt remapping enabled\n",
          LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON,
          "[12:00:01.5] (XEN) [    2.000200] Interrupt remapping enabled" },
        /* a later boot in the same capture wins */
        { "(XEN) Intel VT-d Interrupt Remapping enabled.\n"
          "(XEN) Interrupt remapping enabled\n"
          "(XEN) Xen version 4.17.7\n"
          "(XEN) Intel VT-d Interrupt Remapping not enabled.\n"
          "(XEN) Interrupt remapping disabled\n",
          LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_OFF,
          "(XEN) Interrupt remapping disabled" },
        /* lines without any prefix (xl dmesg piped through cut) */
        { "Intel VT-d Interrupt Remapping enabled.\n"
          "Interrupt remapping enabled\n",
          LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_ON,
          "Interrupt remapping enabled" },
    };
    libxl_pci_ims_facts f;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        parse_log(cases[i].text, &f);
        assert_facts(&f, cases[i].iommu, cases[i].intremap);
        assert_string_equal(f.intremap_source,
                            GCSPRINTF_T("Xen console: %s",
                                        cases[i].intremap_line));
        assert_true(has_evidence(&f, f.intremap_source));
        libxl_pci_ims_facts_dispose(&f);
    }
}

/* A parser fills what its text says and leaves the rest. */
static void test_log_leaves_rest(void **state)
{
    libxl_pci_ims_facts f;

    libxl_pci_ims_facts_init(&f);
    f.iommu = LIBXL_PCI_IMS_IOMMU_INTEL;
    f.iommu_source = strdup("earlier");
    f.qemu_ims = LIBXL_PCI_IMS_SUPPORT_YES;
    libxl__ims_facts_from_xen_log(test_gc,
                                  "(XEN) Interrupt remapping enabled\n",
                                  NULL, &f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_ON);
    assert_string_equal(f.iommu_source, "earlier");
    assert_string_equal(f.intremap_source,
                        "(XEN) Interrupt remapping enabled");
    assert_int_equal(f.qemu_ims, LIBXL_PCI_IMS_SUPPORT_YES);
    libxl_pci_ims_facts_dispose(&f);
}

/*----- Xen command line -----*/

static void test_cmdline(void **state)
{
    /* docs/misc/xen-command-line.pandoc, "### iommu" (Xen 4.17) */
    static const struct {
        const char *cmdline;
        libxl_pci_ims_intremap intremap;
        const char *token;
    } cases[] = {
        { "console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all "
          "iommu=verbose dom0_mem=1024M cpuidle=0",
          LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "iommu=no-intremap", LIBXL_PCI_IMS_INTREMAP_OFF,
          "iommu=no-intremap" },
        { "dom0_mem=1G iommu=verbose,intremap=0 console=vga",
          LIBXL_PCI_IMS_INTREMAP_OFF, "iommu=verbose,intremap=0" },
        { "iommu=intremap=off", LIBXL_PCI_IMS_INTREMAP_OFF,
          "iommu=intremap=off" },
        { "iommu=intremap=false", LIBXL_PCI_IMS_INTREMAP_OFF,
          "iommu=intremap=false" },
        { "iommu=0", LIBXL_PCI_IMS_INTREMAP_OFF, "iommu=0" },
        { "iommu=off", LIBXL_PCI_IMS_INTREMAP_OFF, "iommu=off" },
        { "iommu=no", LIBXL_PCI_IMS_INTREMAP_OFF, "iommu=no" },
        { "iommu=false", LIBXL_PCI_IMS_INTREMAP_OFF, "iommu=false" },
        { "iommu=disable", LIBXL_PCI_IMS_INTREMAP_OFF, "iommu=disable" },
        { "no-iommu", LIBXL_PCI_IMS_INTREMAP_OFF, "no-iommu" },
        { "iommu=verbose,0,intremap", LIBXL_PCI_IMS_INTREMAP_OFF,
          "iommu=verbose,0,intremap" },
        /* a later option overrides an earlier one */
        { "iommu=0 iommu=1", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "iommu=no-intremap iommu=intremap",
          LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "iommu=intremap iommu=no-intremap", LIBXL_PCI_IMS_INTREMAP_OFF,
          "iommu=no-intremap" },
        /* asking for remapping does not prove it is on */
        { "iommu=1,intremap", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "iommu=required", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "iommu=force,intremap=1", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        /* not Xen's iommu= option, or not valid in it */
        { "iommu=no-intremapx", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "iommu=no-intremap=0", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "iommu=amd-iommu-perdev-intremap=0",
          LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "xiommu=0 dom0-iommu=none iommu_inclusive_mapping=0",
          LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "iommu", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "iommu=", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        /* after " -- " the options are dom0's */
        { "console=com1 -- iommu=0", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
        { "", LIBXL_PCI_IMS_INTREMAP_UNKNOWN, NULL },
    };
    libxl_pci_ims_facts f;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        libxl_pci_ims_facts_init(&f);
        libxl__ims_facts_from_cmdline(test_gc, cases[i].cmdline,
                                      "Xen command line", &f);
        if (f.intremap != cases[i].intremap)
            fail_msg("\"%s\": intremap=%s", cases[i].cmdline,
                     libxl_pci_ims_intremap_to_string(f.intremap));
        /* The command line never says which IOMMU. */
        assert_int_equal(f.iommu, LIBXL_PCI_IMS_IOMMU_UNKNOWN);
        if (cases[i].token) {
            assert_string_equal(f.intremap_source,
                                GCSPRINTF_T("Xen command line: %s",
                                            cases[i].token));
            assert_true(has_evidence(&f, f.intremap_source));
        } else {
            assert_null(f.intremap_source);
        }
        libxl_pci_ims_facts_dispose(&f);
    }
}

/*----- ACPI tables, cpuinfo -----*/

static void test_acpi(void **state)
{
    static const char *const ivrs_instance[] = { "APIC", "IVRS1" };
    static const char *const dmar_bare[] = { "DMAR", "APIC" };
    static const char *const both[] = { "IVRS", "RMAD" };
    static const char *const near[] = { "IVRSX", "XDMAR", "RMADS", "ivrs" };
    libxl_pci_ims_facts f;

    libxl_pci_ims_facts_init(&f);
    libxl__ims_facts_from_acpi(test_gc, acpi_amd, ARRAY_SIZE(acpi_amd),
                               NULL, &f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_string_equal(f.iommu_source, "ACPI IVRS table");
    assert_null(f.intremap_source);
    libxl_pci_ims_facts_dispose(&f);

    /* Xen 4.17 renames DMAR to RMAD (vtd/dmar.c:1049 acpi_dmar_zap) */
    libxl_pci_ims_facts_init(&f);
    libxl__ims_facts_from_acpi(test_gc, acpi_intel, ARRAY_SIZE(acpi_intel),
                               "/sys/firmware/acpi/tables", &f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_prefix(f.iommu_source, "ACPI DMAR table (renamed RMAD by Xen)");
    assert_contains(f.iommu_source, "/sys/firmware/acpi/tables");
    libxl_pci_ims_facts_dispose(&f);

    libxl_pci_ims_facts_init(&f);
    libxl__ims_facts_from_acpi(test_gc, dmar_bare, 2, NULL, &f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_string_equal(f.iommu_source, "ACPI DMAR table");
    libxl_pci_ims_facts_dispose(&f);

    libxl_pci_ims_facts_init(&f);
    libxl__ims_facts_from_acpi(test_gc, ivrs_instance, 2, NULL, &f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);

    /* contradictory or absent: no vendor */
    libxl_pci_ims_facts_init(&f);
    libxl__ims_facts_from_acpi(test_gc, both, 2, NULL, &f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_UNKNOWN,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl__ims_facts_from_acpi(test_gc, near, 4, NULL, &f);
    libxl__ims_facts_from_acpi(test_gc, acpi_none, ARRAY_SIZE(acpi_none),
                               NULL, &f);
    libxl__ims_facts_from_acpi(test_gc, NULL, 0, NULL, &f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_UNKNOWN,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_null(f.iommu_source);
    libxl_pci_ims_facts_dispose(&f);
}

static void test_cpuinfo(void **state)
{
    static const struct {
        const char *text;
        libxl_pci_ims_iommu iommu;
        const char *source;
    } cases[] = {
        { cpuinfo_amd, LIBXL_PCI_IMS_IOMMU_AMD,
          "CPU vendor AuthenticAMD in /proc/cpuinfo" },
        { cpuinfo_intel, LIBXL_PCI_IMS_IOMMU_INTEL,
          "CPU vendor GenuineIntel in /proc/cpuinfo" },
        { "processor\t: 0\r\nvendor_id\t: HygonGenuine\r\n",
          LIBXL_PCI_IMS_IOMMU_AMD, "CPU vendor HygonGenuine in /proc/cpuinfo" },
        { "processor\t: 0\nvendor_id\t: CentaurHauls\n",
          LIBXL_PCI_IMS_IOMMU_UNKNOWN, NULL },
        { "processor\t: 0\nmodel name\t: GenuineIntel\n",
          LIBXL_PCI_IMS_IOMMU_UNKNOWN, NULL },
        { "vendor_id\t: AuthenticAMDx\n", LIBXL_PCI_IMS_IOMMU_UNKNOWN, NULL },
        /* arm64 has no vendor_id */
        { "processor\t: 0\nBogoMIPS\t: 38.40\nCPU implementer\t: 0x51\n",
          LIBXL_PCI_IMS_IOMMU_UNKNOWN, NULL },
        { "", LIBXL_PCI_IMS_IOMMU_UNKNOWN, NULL },
    };
    libxl_pci_ims_facts f;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        libxl_pci_ims_facts_init(&f);
        libxl__ims_facts_from_cpuinfo(test_gc, cases[i].text,
                                      "/proc/cpuinfo", &f);
        assert_facts(&f, cases[i].iommu, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
        if (cases[i].source)
            assert_string_equal(f.iommu_source, cases[i].source);
        else
            assert_null(f.iommu_source);
        assert_null(f.intremap_source);
        libxl_pci_ims_facts_dispose(&f);
    }
}

/*----- the boot record -----*/

static void assert_same_facts(const libxl_pci_ims_facts *a,
                              const libxl_pci_ims_facts *b)
{
    int i;

    assert_int_equal(a->iommu, b->iommu);
    assert_int_equal(a->intremap, b->intremap);
    if (a->iommu_source || b->iommu_source)
        assert_string_equal(a->iommu_source, b->iommu_source);
    if (a->intremap_source || b->intremap_source)
        assert_string_equal(a->intremap_source, b->intremap_source);
    assert_int_equal(libxl_string_list_length(&a->evidence),
                     libxl_string_list_length(&b->evidence));
    for (i = 0; a->evidence && a->evidence[i]; i++)
        assert_string_equal(a->evidence[i], b->evidence[i]);
}

static void test_record_round_trip(void **state)
{
    char *text = fixture_text("xen-logs/q35-amd-iommu-intremap.log");
    libxl_pci_ims_facts f, back;
    const char *rec, *rec2;

    /* Facts as a boot would find them. */
    parse_log(text, &f);
    rec = libxl__ims_facts_to_record(test_gc, &f, NULL);
    assert_contains(rec, "\niommu=amd\n");
    assert_contains(rec, "\nintremap=on\n");
    assert_contains(rec, "\niommu_source=Xen console: (XEN) AMD-Vi: IOMMU 0 "
                    "Enabled.\n");
    assert_contains(rec, "\nevidence=Xen console: (XEN) I/O virtualisation "
                    "enabled\n");

    libxl_pci_ims_facts_init(&back);
    assert_int_equal(libxl__ims_facts_from_record(test_gc, rec, NULL, &back, NULL),
                     0);
    assert_same_facts(&f, &back);
    rec2 = libxl__ims_facts_to_record(test_gc, &back, NULL);
    assert_string_equal(rec, rec2);
    libxl_pci_ims_facts_dispose(&back);

    /* Read back from a file: the sources say so. */
    libxl_pci_ims_facts_init(&back);
    assert_int_equal(libxl__ims_facts_from_record(test_gc, rec,
                         "record /var/run/xen/ims-host-facts", &back, NULL), 0);
    assert_facts(&back, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON);
    assert_string_equal(back.intremap_source,
                        "record /var/run/xen/ims-host-facts: Xen console: "
                        "(XEN) Interrupt remapping enabled");
    assert_true(has_evidence(&back, "Xen console: (XEN) I/O virtualisation "
                             "enabled"));
    libxl_pci_ims_facts_dispose(&back);
    libxl_pci_ims_facts_dispose(&f);

    /* Unknown facts and no sources round-trip too. */
    libxl_pci_ims_facts_init(&f);
    libxl_pci_ims_facts_init(&back);
    rec = libxl__ims_facts_to_record(test_gc, &f, NULL);
    assert_int_equal(libxl__ims_facts_from_record(test_gc, rec, NULL, &back, NULL),
                     0);
    assert_same_facts(&f, &back);
    libxl_pci_ims_facts_dispose(&back);

    /* A line end in a source cannot forge a line of the record. */
    f.iommu = LIBXL_PCI_IMS_IOMMU_INTEL;
    f.iommu_source = strdup("x\nintremap=on");
    libxl_pci_ims_facts_init(&back);
    rec = libxl__ims_facts_to_record(test_gc, &f, NULL);
    assert_int_equal(libxl__ims_facts_from_record(test_gc, rec, NULL, &back, NULL),
                     0);
    assert_int_equal(back.intremap, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_string_equal(back.iommu_source, "x intremap=on");
    libxl_pci_ims_facts_dispose(&back);
    libxl_pci_ims_facts_dispose(&f);
    free(text);
}

static void test_record_forms(void **state)
{
    libxl_pci_ims_facts f;

    /* Comments, blank lines, CRLF, a shared source= */
    libxl_pci_ims_facts_init(&f);
    assert_int_equal(libxl__ims_facts_from_record(test_gc,
                         "# recorded at boot\r\n\r\n"
                         "  iommu=intel\r\n"
                         "intremap=off\r\n"
                         "source=by hand\r\n", "rec", &f, NULL), 0);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_OFF);
    assert_string_equal(f.iommu_source, "rec: by hand");
    assert_string_equal(f.intremap_source, "rec: by hand");
    libxl_pci_ims_facts_dispose(&f);

    /* No recorded source: the record itself is the source. */
    libxl_pci_ims_facts_init(&f);
    assert_int_equal(libxl__ims_facts_from_record(test_gc,
                         "iommu=unknown\nintremap=unknown\n", "rec", &f, NULL), 0);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_UNKNOWN,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);
}

/* What the record says is shown by xl: escaped, never raw controls. */
static void test_record_escapes_controls(void **state)
{
    libxl_pci_ims_facts f;

    libxl_pci_ims_facts_init(&f);
    assert_int_equal(libxl__ims_facts_from_record(test_gc,
                         "iommu=amd\nintremap=on\n"
                         "iommu_source=\x1b[2J\xe2\x80\xaeXen\n"
                         "evidence=(XEN) \x07\xc2\x9b\x9c ok\n", NULL, &f, NULL),
                     0);
    assert_string_equal(f.iommu_source, "\\x1b[2J\\u{202E}Xen");
    assert_string_equal(f.evidence[0], "(XEN) \\x07\\u{009B}\\x9c ok");
    libxl_pci_ims_facts_dispose(&f);
}

static void test_record_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "# nothing\n",
        "iommu=amd\n",
        "intremap=on\n",
        "iommu=sparc\nintremap=on\n",
        "iommu=amd\nintremap=maybe\n",
        "iommu=\nintremap=on\n",
        "iommu=amd\niommu=intel\nintremap=on\n",
        "iommu=amd\nintremap=on\nintremap=off\n",
        "iommu=amd\nintremap=on\nbogus=1\n",
        "iommu=amd\nintremap=on\ngarbage\n",
        "iommu = amd\nintremap=on\n",
        "iommu=amd\nintremap=on\nsource=a\nsource=b\n",
        "iommu=amd\nintremap=on\niommu_source=a\niommu_source=b\n",
        "(XEN) Interrupt remapping enabled\n",
    };
    libxl_pci_ims_facts f;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        libxl_pci_ims_facts_init(&f);
        f.iommu = LIBXL_PCI_IMS_IOMMU_INTEL;
        if (libxl__ims_facts_from_record(test_gc, bad[i], "rec", &f, NULL) !=
            ERROR_INVAL)
            fail_msg("accepted: \"%s\"", bad[i]);
        /* Bad input changes nothing. */
        assert_int_equal(f.iommu, LIBXL_PCI_IMS_IOMMU_INTEL);
        assert_int_equal(f.intremap, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
        assert_null(f.iommu_source);
        assert_int_equal(libxl_string_list_length(&f.evidence), 0);
        libxl_pci_ims_facts_dispose(&f);
    }
}

/*----- precedence: libxl__ims_host_facts() -----*/

static void host_facts(libxl_pci_ims_facts *f)
{
    libxl_pci_ims_facts_init(f);
    assert_int_equal(libxl__ims_host_facts(test_gc, f), 0);
}

static void test_host_record_wins(void **state)
{
    const char *root = fake_root();
    libxl_pci_ims_facts f;

    root_file(root, "/var/run/xen", "ims-host-facts", record_intel_on);
    root_acpi(root, acpi_amd, ARRAY_SIZE(acpi_amd));
    root_file(root, "/proc", "cpuinfo", cpuinfo_amd);

    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_ON);
    assert_prefix(f.iommu_source, GCSPRINTF_T("record %s/var/run/xen/"
                                              "ims-host-facts: ", root));
    assert_contains(f.iommu_source, "Intel VT-d Interrupt Remapping");
    assert_prefix(f.intremap_source, "record ");
    /* Complete: the weaker sources were not even consulted. */
    assert_false(has_evidence(&f, GCSPRINTF_T("ACPI IVRS table in "
                 "%s/sys/firmware/acpi/tables", root)));
    assert_true(has_evidence(&f, "Xen console: (XEN) I/O virtualisation "
                             "enabled"));
    libxl_pci_ims_facts_dispose(&f);
}

/*
 * The record holds for the boot that wrote it (/var/run may survive a
 * reboot, or be copied): another boot's record, or one without a boot
 * id, is ignored and the other evidence decides.
 */
static void test_host_record_of_this_boot_only(void **state)
{
    const char *root = fake_root();
    libxl_pci_ims_facts f;

    root_acpi(root, acpi_amd, ARRAY_SIZE(acpi_amd));
    root_file(root, "/var/run/xen", "ims-host-facts", record_intel_on);
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_ON);
    libxl_pci_ims_facts_dispose(&f);

    root_file(root, "/var/run/xen", "ims-host-facts",
              "boot_id=" OTHER_BOOT_ID "\niommu=intel\nintremap=on\n");
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);

    root_file(root, "/var/run/xen", "ims-host-facts",
              "iommu=intel\nintremap=on\n");
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);

    /* This boot's id cannot be read: no record can be tied to it. */
    root_file(root, "/var/run/xen", "ims-host-facts", record_intel_on);
    assert_int_equal(unlink(GCSPRINTF_T("%s/proc/sys/kernel/random/boot_id",
                                        root)), 0);
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);
}

/* The record is a regular file, not a link, not a FIFO (which hung). */
static void test_host_record_link_or_fifo(void **state)
{
    const char *root = fake_root();
    const char *rec = GCSPRINTF_T("%s/var/run/xen/ims-host-facts", root);
    libxl_pci_ims_facts f;
    pid_t pid;
    int status;

    root_acpi(root, acpi_amd, ARRAY_SIZE(acpi_amd));
    root_file(root, "/var/run/xen", "real-facts", record_intel_on);
    assert_int_equal(symlink("real-facts", rec), 0);
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);

    assert_int_equal(unlink(rec), 0);
    assert_int_equal(mkfifo(rec, 0644), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        alarm(5);
        libxl_pci_ims_facts_init(&f);
        libxl__ims_host_facts(test_gc, &f);
        _exit(f.iommu == LIBXL_PCI_IMS_IOMMU_AMD &&
              f.intremap == LIBXL_PCI_IMS_INTREMAP_UNKNOWN ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("reading a FIFO record hangs (killed by signal %d)",
                 WTERMSIG(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_host_hints(void **state)
{
    const char *root = fake_root();
    libxl_pci_ims_facts f;

    /* Nothing at all: unknown, and not an error. */
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_UNKNOWN,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);

    /* cpuinfo alone */
    root_file(root, "/proc", "cpuinfo", cpuinfo_intel);
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_string_equal(f.iommu_source,
                        GCSPRINTF_T("CPU vendor GenuineIntel in "
                                    "%s/proc/cpuinfo", root));
    libxl_pci_ims_facts_dispose(&f);

    /* ACPI beats cpuinfo; interrupt remapping stays unknown */
    root_acpi(root, acpi_amd, ARRAY_SIZE(acpi_amd));
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_string_equal(f.iommu_source,
                        GCSPRINTF_T("ACPI IVRS table in "
                                    "%s/sys/firmware/acpi/tables", root));
    assert_null(f.intremap_source);
    libxl_pci_ims_facts_dispose(&f);
}

static void test_host_record_partial_or_bad(void **state)
{
    const char *root = fake_root();
    libxl_pci_ims_facts f;

    root_acpi(root, acpi_intel, ARRAY_SIZE(acpi_intel));
    root_file(root, "/proc", "cpuinfo", cpuinfo_amd);

    /* The record knows remapping is off, not the vendor: ACPI adds it. */
    root_file(root, "/var/run/xen", "ims-host-facts",
              BOOT_LINE "iommu=unknown\nintremap=off\n"
              "intremap_source=Xen console: (XEN) Interrupt remapping "
              "disabled\n");
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_OFF);
    assert_prefix(f.intremap_source, "record ");
    assert_prefix(f.iommu_source, "ACPI DMAR table (renamed RMAD by Xen)");
    libxl_pci_ims_facts_dispose(&f);

    /* A record others could have written is not trusted. */
    root_file(root, "/var/run/xen", "ims-host-facts", record_intel_on);
    chmod(GCSPRINTF_T("%s/var/run/xen/ims-host-facts", root), 0666);
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_prefix(f.iommu_source, "ACPI DMAR table");
    libxl_pci_ims_facts_dispose(&f);
    chmod(GCSPRINTF_T("%s/var/run/xen/ims-host-facts", root), 0644);

    /* A malformed record is ignored, not trusted. */
    root_file(root, "/var/run/xen", "ims-host-facts",
              BOOT_LINE "iommu=amd\nintremap=yes please\n");
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_prefix(f.iommu_source, "ACPI DMAR table");
    libxl_pci_ims_facts_dispose(&f);
}

/* host facts replace the host part of f, and only that. */
static void test_host_replaces_host_part(void **state)
{
    const char *root = fake_root();
    libxl_pci_ims_facts f;

    root_file(root, "/proc", "cpuinfo", cpuinfo_amd);
    libxl_pci_ims_facts_init(&f);
    f.iommu = LIBXL_PCI_IMS_IOMMU_INTEL;
    f.iommu_source = strdup("stale");
    f.intremap = LIBXL_PCI_IMS_INTREMAP_ON;
    f.intremap_source = strdup("stale");
    f.evidence = calloc(2, sizeof(char *));
    f.evidence[0] = strdup("stale");
    f.guest_type = LIBXL_DOMAIN_TYPE_HVM;
    f.qemu_ims = LIBXL_PCI_IMS_SUPPORT_NO;
    f.qemu_ims_source = strdup("QMP");

    assert_int_equal(libxl__ims_host_facts(test_gc, &f), 0);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_null(f.intremap_source);
    assert_false(has_evidence(&f, "stale"));
    assert_int_equal(f.guest_type, LIBXL_DOMAIN_TYPE_HVM);
    assert_int_equal(f.qemu_ims, LIBXL_PCI_IMS_SUPPORT_NO);
    assert_string_equal(f.qemu_ims_source, "QMP");
    libxl_pci_ims_facts_dispose(&f);
}

/* An offline context never reaches the hypervisor. */
static void test_host_offline_no_hypervisor(void **state)
{
    const char *root = fake_root();
    char *text = fixture_text("xen-logs/q35-intel-iommu-intremap.log");
    libxl_pci_ims_facts f;

    root_file(root, "/proc", "cpuinfo", cpuinfo_amd);
    test_xen_console = text;
    test_xen_cmdline = "iommu=no-intremap";
    assert_null(ctx->xch);

    host_facts(&f);
    assert_int_equal(test_xc_readconsolering_calls, 0);
    assert_int_equal(test_xc_version_calls, 0);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);
    free(text);
}

/* With a hypervisor handle: the console ring and the command line. */
static char fake_xch;

static void test_host_console_ring(void **state)
{
    const char *root = fake_root();
    char *text = fixture_text("xen-logs/q35-amd-iommu-intremap.log");
    libxl_pci_ims_facts f;

    ctx->xch = (xc_interface *)&fake_xch;
    root_file(root, "/proc", "cpuinfo", cpuinfo_intel);
    root_acpi(root, acpi_intel, ARRAY_SIZE(acpi_intel));

    /* No record: the ring (read in pieces, it is > 16 KiB) beats hints. */
    assert_true(strlen(text) > 16384);
    test_xen_console = text;
    host_facts(&f);
    assert_true(test_xc_readconsolering_calls > 1);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON);
    assert_string_equal(f.iommu_source,
                        "Xen console: (XEN) AMD-Vi: IOMMU 0 Enabled.");
    assert_string_equal(f.intremap_source,
                        "Xen console: (XEN) Interrupt remapping enabled");
    /* Complete after the ring: the command line was not needed. */
    assert_int_equal(test_xc_version_calls, 0);
    libxl_pci_ims_facts_dispose(&f);

    /* A record wins over the ring without reading it. */
    root_file(root, "/var/run/xen", "ims-host-facts", record_intel_on);
    test_xc_readconsolering_calls = 0;
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_ON);
    assert_prefix(f.intremap_source, "record ");
    assert_int_equal(test_xc_readconsolering_calls, 0);
    libxl_pci_ims_facts_dispose(&f);
    free(text);
}

static void test_host_console_wrapped(void **state)
{
    const char *root = fake_root();
    char *text = fixture_text("xen-logs/q35-amd-iommu-intremap.log");
    libxl_pci_ims_facts f;

    ctx->xch = (xc_interface *)&fake_xch;
    root_acpi(root, acpi_intel, ARRAY_SIZE(acpi_intel));
    test_xen_console = strstr(text, "(XEN) nr_sockets:");
    assert_non_null(test_xen_console);

    /* The record says AMD, on; the wrapped ring must not undo it. */
    root_file(root, "/var/run/xen", "ims-host-facts",
              BOOT_LINE "iommu=amd\nintremap=on\nsource=boot\n");
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_ON);
    assert_prefix(f.iommu_source, "record ");
    libxl_pci_ims_facts_dispose(&f);

    /* Without a record: the ring says nothing; the command line says off,
     * ACPI says the vendor. */
    unlink(GCSPRINTF_T("%s/var/run/xen/ims-host-facts", root));
    test_xen_cmdline = "console=com1 iommu=verbose,no-intremap";
    test_xc_readconsolering_calls = 0;
    host_facts(&f);
    assert_true(test_xc_readconsolering_calls > 0);
    assert_true(test_xc_version_calls > 0);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL, LIBXL_PCI_IMS_INTREMAP_OFF);
    assert_string_equal(f.intremap_source,
                        "Xen command line: iommu=verbose,no-intremap");
    assert_prefix(f.iommu_source, "ACPI DMAR table");
    libxl_pci_ims_facts_dispose(&f);

    /* Neither readable (no privilege): hints only. */
    test_xen_console = NULL;
    test_xen_cmdline = NULL;
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_INTEL,
                 LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);
    free(text);
}

/*----- recording -----*/

static void test_record_host_facts(void **state)
{
    const char *root = fake_root();
    const char *path = GCSPRINTF_T("%s/var/run/xen/ims-host-facts", root);
    libxl_pci_ims_facts f, back;
    char *written;
    DIR *d;
    struct dirent *de;
    int n;

    root_acpi(root, acpi_amd, ARRAY_SIZE(acpi_amd));
    root_file(root, "/proc", "cpuinfo", cpuinfo_intel);

    /* /var/run/xen does not exist yet: created. */
    libxl_pci_ims_facts_init(&f);
    assert_int_equal(libxl_pci_ims_record_host_facts(ctx, NULL, &f), 0);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    written = test_read_file(path);
    assert_non_null(written);
    assert_contains(written, "\niommu=amd\n");
    assert_contains(written, "\nintremap=unknown\n");
    assert_contains(written, "\n" BOOT_LINE);
    libxl_pci_ims_facts_init(&back);
    assert_int_equal(libxl__ims_facts_from_record(test_gc, written, NULL,
                                                  &back, NULL), 0);
    assert_same_facts(&f, &back);
    libxl_pci_ims_facts_dispose(&back);
    libxl_pci_ims_facts_dispose(&f);
    free(written);

    /* Computed from the live sources, not from the existing record. */
    root_file(root, "/var/run/xen", "ims-host-facts", record_intel_on);
    libxl_pci_ims_facts_init(&f);
    assert_int_equal(libxl_pci_ims_record_host_facts(ctx, NULL, &f), 0);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    libxl_pci_ims_facts_dispose(&f);
    written = test_read_file(path);
    assert_contains(written, "\niommu=amd\n");
    free(written);

    /* What is read afterwards is the record. */
    host_facts(&f);
    assert_facts(&f, LIBXL_PCI_IMS_IOMMU_AMD, LIBXL_PCI_IMS_INTREMAP_UNKNOWN);
    assert_prefix(f.iommu_source, "record ");
    libxl_pci_ims_facts_dispose(&f);

    /* Nothing left behind but the record. */
    d = opendir(GCSPRINTF_T("%s/var/run/xen", root));
    assert_non_null(d);
    n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        assert_string_equal(de->d_name, "ims-host-facts");
        n++;
    }
    closedir(d);
    assert_int_equal(n, 1);

    /* An explicit path, and facts not wanted back. */
    assert_int_equal(libxl_pci_ims_record_host_facts(ctx,
                         GCSPRINTF_T("%s/elsewhere", root), NULL), 0);
    written = test_read_file(GCSPRINTF_T("%s/elsewhere", root));
    assert_non_null(written);
    assert_contains(written, "\niommu=amd\n");
    free(written);

    /* A directory that cannot be written: an error. */
    assert_int_not_equal(libxl_pci_ims_record_host_facts(ctx,
                             GCSPRINTF_T("%s/no/such/dir/facts", root),
                             NULL), 0);
}

/*----- device identity -----*/

static const libxl__json_object *jget(const libxl__json_object *o,
                                      const char *key)
{
    return libxl__json_map_get(key, o, JSON_ANY);
}

static unsigned long jhex(const libxl__json_object *o, const char *key,
                          unsigned long dflt)
{
    const libxl__json_object *v = jget(o, key);

    if (!v) return dflt;
    assert_true(libxl__json_object_is_string(v));
    return strtoul(libxl__json_object_get_string(v), NULL, 16);
}

static void set_bdf(libxl_device_pci *pci, const char *bdf)
{
    unsigned bus, dev, func;

    libxl_device_pci_init(pci);
    assert_int_equal(sscanf(bdf, "%x:%x.%u", &bus, &dev, &func), 3);
    pci->domain = 0;
    pci->bus = bus;
    pci->dev = dev;
    pci->func = func;
}

/* The identity must be what the fixture's JSON says the device is. */
static void check_identity(const libxl__json_object *spec,
                           const libxl_pci_ims_identity *id)
{
    const libxl__json_object *caps = jget(spec, "caps"), *cap;
    bool msi = false, msix = false;
    int i;

    assert_int_equal(id->vendor, jhex(spec, "vendor", 0));
    assert_int_equal(id->device, jhex(spec, "device", 0));
    assert_int_equal(id->subvendor, jhex(spec, "subvendor", 0));
    assert_int_equal(id->subdevice, jhex(spec, "subdevice", 0));
    assert_int_equal(id->class_code, jhex(spec, "class", 0));
    assert_int_equal(id->revision, jhex(spec, "revision", 0));

    for (i = 0; (cap = libxl__json_array_get(caps, i)) != NULL; i++) {
        const char *kind = libxl__json_object_get_string(jget(cap, "kind"));
        uint64_t addr;

        if (!strcmp(kind, "msix")) msix = true;
        if (strcmp(kind, "msi")) continue;
        msi = true;
        assert_int_equal(id->msi_offset, jhex(cap, "at", 0));
        assert_int_equal(id->msi_vectors_capable,
                         libxl__json_object_get_integer(jget(cap, "capable")));
        assert_int_equal(id->msi_vectors_enabled,
                         jget(cap, "enabled_vectors")
                         ? libxl__json_object_get_integer(
                               jget(cap, "enabled_vectors")) : 1);
        assert_int_equal(id->msi_enabled,
                         libxl__json_object_get_bool(jget(cap, "enable")));
        assert_int_equal(id->msi_maskable,
                         libxl__json_object_get_bool(jget(cap, "maskable")));
        assert_int_equal(id->msi_64bit,
                         libxl__json_object_get_bool(jget(cap, "is64")));
        addr = strtoull(jget(cap, "address")
                        ? libxl__json_object_get_string(jget(cap, "address"))
                        : "0", NULL, 16);
        assert_int_equal(id->msi_address, addr);
        assert_int_equal(id->msi_data, jhex(cap, "data", 0));
    }
    if (!msi) assert_int_equal(id->msi_offset, 0);
    assert_int_equal(id->msix, msix);
}

static void test_identity_fixtures(void **state)
{
    static const char *const names[] = {
        "wcn6855-lenovo", "wcn6855-qcom-arm", "rtl8111-lenovo",
    };
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(names); i++) {
        char *json = fixture_text(GCSPRINTF_T("pci/%s.json", names[i]));
        char *dump = strdup(test_fixture(GCSPRINTF_T("pci/%s.lspci",
                                                     names[i])));
        const libxl__json_object *spec = libxl__json_parse(test_gc, json);
        libxl_pci_ims_identity id;
        libxl_device_pci pci;

        assert_non_null(spec);
        set_bdf(&pci, libxl__json_object_get_string(jget(spec, "bdf")));
        setenv(LIBXL_IMS_PCI_DUMP_ENV, dump, 1);
        libxl_pci_ims_identity_init(&id);
        assert_int_equal(libxl__ims_pci_identity(test_gc, &pci, &id), 0);
        check_identity(spec, &id);
        assert_contains(id.source, dump);
        libxl_pci_ims_identity_dispose(&id);
        libxl_device_pci_dispose(&pci);
        free(dump);
        free(json);
    }
}

static void test_identity_wcn6855_values(void **state)
{
    libxl_pci_ims_identity id;
    libxl_device_pci pci;

    /* The values, spelled out once (check_identity reads the JSON). */
    setenv(LIBXL_IMS_PCI_DUMP_ENV,
           test_fixture("pci/wcn6855-lenovo.lspci"), 1);
    set_bdf(&pci, "04:00.0");
    libxl_pci_ims_identity_init(&id);
    assert_int_equal(libxl__ims_pci_identity(test_gc, &pci, &id), 0);
    assert_int_equal(id.vendor, 0x17cb);
    assert_int_equal(id.device, 0x1103);
    assert_int_equal(id.subvendor, 0x17aa);
    assert_int_equal(id.subdevice, 0x9309);
    assert_int_equal(id.class_code, 0x028000);
    assert_int_equal(id.revision, 0x01);
    assert_int_equal(id.msi_offset, 0x50);
    assert_false(id.msi_64bit);
    assert_true(id.msi_maskable);
    assert_int_equal(id.msi_vectors_capable, 32);
    assert_int_equal(id.msi_vectors_enabled, 32);
    assert_true(id.msi_enabled);
    assert_int_equal(id.msi_address, 0xfee00000);
    assert_int_equal(id.msi_data, 0x0021);
    assert_false(id.msix);
    libxl_pci_ims_identity_dispose(&id);
}

/* Points $LIBXL_IMS_PCI_DUMP at a new file with these contents. */
static void dump_env(const char *dir, const char *name, const char *contents)
{
    char *path = (char *)test_write_file(dir, name, contents);

    setenv(LIBXL_IMS_PCI_DUMP_ENV, path, 1);
    free(path);
}

static void test_identity_errors(void **state)
{
    const char *dir = test_tmpdir();
    libxl_pci_ims_identity id;
    libxl_device_pci pci;

    libxl_pci_ims_identity_init(&id);

    /* A BDF the dump does not have. */
    setenv(LIBXL_IMS_PCI_DUMP_ENV,
           test_fixture("pci/wcn6855-lenovo.lspci"), 1);
    set_bdf(&pci, "09:00.0");
    assert_int_equal(libxl__ims_pci_identity(test_gc, &pci, &id),
                     ERROR_NOTFOUND);

    set_bdf(&pci, "04:00.0");

    /* Dumps that do not parse. */
    dump_env(dir, "bad-hex.lspci",
             "04:00.0 Network controller: Qualcomm\n"
             "00: cb 17 03 11 zz 04 10 00 01 00 80 02 00 00 00 00\n");
    assert_int_equal(libxl__ims_pci_identity(test_gc, &pci, &id),
                     ERROR_INVAL);

    dump_env(dir, "prose.lspci",
             "This is not a dump of anything.\n");
    assert_int_equal(libxl__ims_pci_identity(test_gc, &pci, &id),
                     ERROR_INVAL);

    setenv(LIBXL_IMS_PCI_DUMP_ENV, GCSPRINTF_T("%s/missing.lspci", dir), 1);
    assert_int_equal(libxl__ims_pci_identity(test_gc, &pci, &id),
                     ERROR_INVAL);

    /* lspci -x (64 bytes): the MSI capability is not in it. */
    dump_env(dir, "short.lspci",
             "04:00.0 Network controller: Qualcomm\n"
             "00: cb 17 03 11 06 04 10 00 01 00 80 02 00 00 00 00\n"
             "10: 04 00 00 b0 00 00 00 00 00 00 00 00 00 00 00 00\n"
             "20: 00 00 00 00 00 00 00 00 00 00 00 00 aa 17 09 93\n"
             "30: 00 00 00 00 40 00 00 00 00 00 00 00 00 01 00 00\n");
    assert_int_equal(libxl__ims_pci_identity(test_gc, &pci, &id),
                     ERROR_INVAL);

    /* Nothing was filled in. */
    assert_int_equal(id.vendor, 0);
    assert_null(id.source);
    libxl_pci_ims_identity_dispose(&id);
}

/* Reads an lspci -xxx dump into bytes (the test's own little parser). */
static void dump_bytes(const char *path, uint8_t cfg[256])
{
    char *text = test_read_file(path), *line, *save = NULL, *p, *end;
    unsigned long off, b;

    assert_non_null(text);
    memset(cfg, 0, 256);
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        off = strtoul(line, &end, 16);
        if (end != line + 2 || *end != ':') continue;
        for (p = end + 1; off < 256; p = end) {
            b = strtoul(p, &end, 16);
            if (end == p) break;
            cfg[off++] = b;
        }
    }
    free(text);
}

/* Through sysfs, in a fake root: the same identity as the dump. */
static void test_identity_sysfs(void **state)
{
    const char *root = fake_root();
    const char *devdir = GCSPRINTF_T("%s/sys/bus/pci/devices/0000:04:00.0",
                                     root);
    uint8_t cfg[256];
    libxl_pci_ims_identity id;
    libxl_device_pci pci;
    FILE *f;

    dump_bytes(test_fixture("pci/wcn6855-lenovo.lspci"), cfg);
    make_dirs(devdir);
    f = fopen(GCSPRINTF_T("%s/config", devdir), "w");
    assert_non_null(f);
    assert_int_equal(fwrite(cfg, 1, sizeof(cfg), f), sizeof(cfg));
    fclose(f);

    set_bdf(&pci, "04:00.0");
    libxl_pci_ims_identity_init(&id);
    assert_int_equal(libxl__ims_pci_identity(test_gc, &pci, &id), 0);
    assert_int_equal(id.vendor, 0x17cb);
    assert_int_equal(id.subdevice, 0x9309);
    assert_int_equal(id.msi_offset, 0x50);
    assert_int_equal(id.msi_address, 0xfee00000);
    assert_int_equal(id.msi_data, 0x0021);
    assert_contains(id.source, "sysfs");
    libxl_pci_ims_identity_dispose(&id);

    /* Not there. */
    set_bdf(&pci, "05:00.0");
    libxl_pci_ims_identity_init(&id);
    assert_int_equal(libxl__ims_pci_identity(test_gc, &pci, &id),
                     ERROR_NOTFOUND);
    libxl_pci_ims_identity_dispose(&id);

    /* Only 64 bytes readable (as for a non-root reader). */
    devdir = GCSPRINTF_T("%s/sys/bus/pci/devices/0000:06:00.0", root);
    make_dirs(devdir);
    f = fopen(GCSPRINTF_T("%s/config", devdir), "w");
    assert_non_null(f);
    assert_int_equal(fwrite(cfg, 1, 64, f), 64);
    fclose(f);
    set_bdf(&pci, "06:00.0");
    libxl_pci_ims_identity_init(&id);
    assert_int_not_equal(libxl__ims_pci_identity(test_gc, &pci, &id), 0);
    libxl_pci_ims_identity_dispose(&id);
}

/*----- identity from a config space image (pure) -----*/

static void cfg_header(uint8_t *cfg, uint8_t cap_ptr)
{
    memset(cfg, 0, 256);
    cfg[0x00] = 0xcb; cfg[0x01] = 0x17;        /* 17cb */
    cfg[0x02] = 0x07; cfg[0x03] = 0x11;        /* 1107 */
    cfg[0x06] = cap_ptr ? 0x10 : 0x00;         /* capabilities list */
    cfg[0x08] = 0x02;
    cfg[0x09] = 0x00; cfg[0x0a] = 0x80; cfg[0x0b] = 0x02;
    cfg[0x2c] = 0xcb; cfg[0x2d] = 0x17;
    cfg[0x2e] = 0x08; cfg[0x2f] = 0x01;
    cfg[0x34] = cap_ptr;
}

static void test_identity_from_config(void **state)
{
    uint8_t cfg[256];
    libxl_pci_ims_identity id;

    libxl_pci_ims_identity_init(&id);

    /* 64-bit MSI: address hi:lo, data at +12; 4 capable, 2 enabled. */
    cfg_header(cfg, 0x40);
    cfg[0x40] = 0x01; cfg[0x41] = 0x50;        /* PM -> 0x50 */
    cfg[0x50] = 0x05; cfg[0x51] = 0xb0;        /* MSI -> 0xb0 */
    cfg[0x52] = 0x95; cfg[0x53] = 0x01;        /* en, 4 cap, 2 en, 64, mask */
    cfg[0x54] = 0x00; cfg[0x55] = 0x10; cfg[0x56] = 0xe0; cfg[0x57] = 0xfe;
    cfg[0x58] = 0x01; cfg[0x59] = 0x00; cfg[0x5a] = 0x00; cfg[0x5b] = 0x00;
    cfg[0x5c] = 0x21; cfg[0x5d] = 0x40;
    cfg[0xb0] = 0x11; cfg[0xb1] = 0x00;        /* MSI-X, end */
    assert_int_equal(libxl__ims_identity_from_config(test_gc, cfg, 256, &id),
                     0);
    assert_int_equal(id.vendor, 0x17cb);
    assert_int_equal(id.device, 0x1107);
    assert_int_equal(id.subvendor, 0x17cb);
    assert_int_equal(id.subdevice, 0x0108);
    assert_int_equal(id.class_code, 0x028000);
    assert_int_equal(id.revision, 2);
    assert_int_equal(id.msi_offset, 0x50);
    assert_true(id.msi_64bit);
    assert_true(id.msi_maskable);
    assert_true(id.msi_enabled);
    assert_int_equal(id.msi_vectors_capable, 4);
    assert_int_equal(id.msi_vectors_enabled, 2);
    assert_int_equal(id.msi_address, 0x1fee01000ULL);
    assert_int_equal(id.msi_data, 0x4021);
    assert_true(id.msix);

    /* A list that loops (0x40 -> 0x50 -> 0x40) ends; MSI still found. */
    cfg[0x51] = 0x40;
    assert_int_equal(libxl__ims_identity_from_config(test_gc, cfg, 256, &id),
                     0);
    assert_int_equal(id.msi_offset, 0x50);
    assert_false(id.msix);

    /* A capability pointing at itself. */
    cfg_header(cfg, 0x40);
    cfg[0x40] = 0x01; cfg[0x41] = 0x40;
    assert_int_equal(libxl__ims_identity_from_config(test_gc, cfg, 256, &id),
                     0);
    assert_int_equal(id.msi_offset, 0);
    assert_int_equal(id.msi_vectors_capable, 0);

    /* No capability list in the status register: the pointer is junk. */
    cfg_header(cfg, 0x50);
    cfg[0x06] = 0;
    cfg[0x50] = 0x05; cfg[0x52] = 0x01;
    assert_int_equal(libxl__ims_identity_from_config(test_gc, cfg, 256, &id),
                     0);
    assert_int_equal(id.msi_offset, 0);
    assert_false(id.msi_enabled);

    /* A pointer into the header is not followed. */
    cfg_header(cfg, 0x10);
    assert_int_equal(libxl__ims_identity_from_config(test_gc, cfg, 256, &id),
                     0);
    assert_int_equal(id.msi_offset, 0);

    /* An MSI capability that runs off config space. */
    cfg_header(cfg, 0xf8);
    cfg[0xf8] = 0x05; cfg[0xfa] = 0x80;        /* 64-bit: needs 14 bytes */
    assert_int_equal(libxl__ims_identity_from_config(test_gc, cfg, 256, &id),
                     ERROR_INVAL);

    /* Too short, or no device. */
    cfg_header(cfg, 0);
    assert_int_equal(libxl__ims_identity_from_config(test_gc, cfg, 32, &id),
                     ERROR_INVAL);
    assert_int_equal(libxl__ims_identity_from_config(test_gc, NULL, 0, &id),
                     ERROR_INVAL);
    memset(cfg, 0xff, sizeof(cfg));
    assert_int_equal(libxl__ims_identity_from_config(test_gc, cfg, 256, &id),
                     ERROR_NOTFOUND);
    libxl_pci_ims_identity_dispose(&id);
}

/*
 * The environment is read once into a libxl__ims_env; only an attach
 * with a hypervisor applies the root-only rules, and there a dump a user
 * owns is refused while a dry run reads it.
 */
static void test_env_attach_rules(void **state)
{
    const char *dir = test_tmpdir();
    const char *dump = GCSPRINTF_T("%s/user.lspci", dir);
    libxl__ims_env env;
    libxl_device_pci pci;
    libxl_pci_ims_identity id;
    char *cmd;

    if (geteuid() != 0)
        skip();
    setenv(LIBXL_IMS_PCI_DUMP_ENV, dump, 1);
    libxl__ims_env_read(test_gc, &env, true);
    assert_string_equal(env.pci_dump, dump);
    assert_false(env.attach);           /* an offline context */

    assert_true(asprintf(&cmd, "cp '%s' '%s' && chown 65534 '%s'",
                         test_fixture("pci/wcn6855-lenovo.lspci"), dump,
                         dump) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    set_bdf(&pci, "04:00.0");
    libxl_pci_ims_identity_init(&id);
    assert_int_equal(libxl__ims_pci_identity_env(test_gc, &env, &pci, &id),
                     0);
    assert_int_equal(id.vendor, 0x17cb);
    libxl_pci_ims_identity_dispose(&id);

    env.attach = true;
    libxl_pci_ims_identity_init(&id);
    assert_int_equal(libxl__ims_pci_identity_env(test_gc, &env, &pci, &id),
                     ERROR_FAIL);
    libxl_pci_ims_identity_dispose(&id);
    assert_non_null(libxl__ims_untrusted(test_gc, dump));
    assert_null(libxl__ims_untrusted(test_gc, dir));
    libxl_device_pci_dispose(&pci);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_log_real_amd),
        T(test_log_real_intel),
        T(test_log_not_xen),
        T(test_log_wrapped_real),
        T(test_log_off_variants),
        T(test_log_leaves_rest),
        T(test_cmdline),
        T(test_acpi),
        T(test_cpuinfo),
        T(test_record_round_trip),
        T(test_record_forms),
        T(test_record_escapes_controls),
        T(test_record_malformed),
        T(test_host_record_wins),
        T(test_host_hints),
        T(test_host_record_partial_or_bad),
        T(test_host_record_of_this_boot_only),
        T(test_host_record_link_or_fifo),
        T(test_host_replaces_host_part),
        T(test_host_offline_no_hypervisor),
        T(test_host_console_ring),
        T(test_host_console_wrapped),
        T(test_record_host_facts),
        T(test_identity_fixtures),
        T(test_identity_wcn6855_values),
        T(test_identity_errors),
        T(test_identity_sysfs),
        T(test_identity_from_config),
        T(test_env_attach_rules),
    };

    return cmocka_run_group_tests_name("ims_facts", tests, NULL, NULL);
}
