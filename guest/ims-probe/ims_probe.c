/* ims-probe: run in the HVM guest of the xen-pci-ims proof.  Plays an
 * IMS-style driver (ath11k/ath12k) on QEMU's edu device (1234:11e8):
 * MSI is enabled, the message address/data are read back from config
 * space, and the device is told (edu's DMA engine) to write that message.
 * Did the interrupt arrive?  One machine-readable line per cell:
 *
 *   IMS-PROOF: cell=<name> values=<virtual|physical> addr=0x.. data=0x.. result=delivered|lost
 *
 * (The guest cannot see *why* a write was lost; the proof's host side
 * turns "lost" into "blocked" when the outer QEMU's IOMMU logged it.)
 *
 * Modes:
 *   --mode driver  MSI enabled by the guest kernel's own MSI path:
 *                  ims_probe_drv.ko (kmod/) is bound to the device and has
 *                  done pci_alloc_irq_vectors(PCI_IRQ_MSI) + request_irq;
 *                  arrival = its interrupt count
 *                  (/sys/module/ims_probe_drv/parameters/irqs).
 *   --mode raw     MSI enabled by raw config writes through sysfs
 *                  (address 0xfee00000, data 0x55, then the 16-bit control
 *                  word in one access); arrival = the guest kernel's
 *                  "No irq handler for vector" count.
 * Cells per mode: <prefix>-<mode>-control (edu raises its own MSI),
 * <prefix>-<mode>-readback (DMA of the values read back from config space),
 * and, when the guest's xenstore has device/pci-ims/<vdevfn>/state=bound
 * (x-ims=export), <prefix>-<mode>-export (DMA of the exported values);
 * <prefix>-<mode>-ath11k: what ath11k really does - address from config
 * space, data from the kernel's cached message (msi_desc->msg.data).
 *
 * usage: ims-probe --mode driver|raw [--bdf DDDD:BB:DD.F] [--cell PREFIX]
 *                  [--timeout-ms N] [--no-export]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "ims_msi.h"

static char devdir[320];
static int timeout_ms = 3000;
static const char *mode = "raw";
static const char *prefix = "cell";

static void msleep(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int find_edu(char *out, size_t len)
{
    DIR *d = opendir("/sys/bus/pci/devices");
    struct dirent *e;
    int found = -1;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        char p[400], v[32] = "", dv[32] = "";
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor", e->d_name);
        if ((f = fopen(p, "r"))) { if (!fgets(v, sizeof(v), f)) v[0] = 0; fclose(f); }
        snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device", e->d_name);
        if ((f = fopen(p, "r"))) { if (!fgets(dv, sizeof(dv), f)) dv[0] = 0; fclose(f); }
        if (!strncmp(v, "0x1234", 6) && !strncmp(dv, "0x11e8", 6)) {
            snprintf(out, len, "/sys/bus/pci/devices/%s", e->d_name);
            found = 0;
            break;
        }
    }
    closedir(d);
    return found;
}

static int cfg_read(uint8_t *buf, size_t len)
{
    char p[400];
    int fd, n;

    snprintf(p, sizeof(p), "%s/config", devdir);
    if ((fd = open(p, O_RDONLY)) < 0)
        return -1;
    n = pread(fd, buf, len, 0);
    close(fd);
    return n;
}

/* one access of `width` bytes (sysfs config honours aligned 1/2/4) */
static int cfg_write(unsigned int off, unsigned int width, uint32_t val)
{
    char p[400];
    uint8_t b[4];
    int fd, n;

    ims_msi_payload(val, b);
    snprintf(p, sizeof(p), "%s/config", devdir);
    if ((fd = open(p, O_WRONLY)) < 0)
        return -1;
    n = pwrite(fd, b, width, off);
    close(fd);
    return n == (int)width ? 0 : -1;
}

static volatile uint8_t *bar0;

static void edu_w64(unsigned int off, uint64_t v) { *(volatile uint64_t *)(bar0 + off) = v; }
static uint64_t edu_r64(unsigned int off) { return *(volatile uint64_t *)(bar0 + off); }
static void edu_w32(unsigned int off, uint32_t v) { *(volatile uint32_t *)(bar0 + off) = v; }

static int map_bar0(void)
{
    char p[400];
    int fd;

    snprintf(p, sizeof(p), "%s/resource0", devdir);
    if ((fd = open(p, O_RDWR | O_SYNC)) < 0) {
        fprintf(stderr, "ims-probe: open %s: %s\n", p, strerror(errno));
        return -1;
    }
    bar0 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (bar0 == MAP_FAILED) {
        fprintf(stderr, "ims-probe: mmap resource0: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* A locked page of our memory and its guest-physical (= DMA) address. */
static uint8_t *dmapage;
static uint64_t dmaphys;

static int dma_page(void)
{
    uint64_t ent;
    int fd;

    dmapage = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
    if (dmapage == MAP_FAILED)
        return -1;
    memset(dmapage, 0, 4096);
    if ((fd = open("/proc/self/pagemap", O_RDONLY)) < 0)
        return -1;
    if (pread(fd, &ent, 8, (off_t)((uintptr_t)dmapage / 4096) * 8) != 8) {
        close(fd);
        return -1;
    }
    close(fd);
    if (!(ent & (1ull << 63)) || !(ent & ((1ull << 55) - 1)))
        return -1;
    dmaphys = (ent & ((1ull << 55) - 1)) * 4096;
    return 0;
}

static int edu_dma(const struct ims_edu_dma *s)
{
    int i;

    edu_w64(IMS_EDU_REG_SRC, s->src);
    edu_w64(IMS_EDU_REG_DST, s->dst);
    edu_w64(IMS_EDU_REG_CNT, s->cnt);
    edu_w64(IMS_EDU_REG_CMD, s->cmd);
    for (i = 0; i < 500; i++) {     /* edu runs it on a 100 ms timer */
        if (!(edu_r64(IMS_EDU_REG_CMD) & IMS_EDU_CMD_RUN))
            return 0;
        msleep(20);
    }
    return -1;
}

/* the interrupt count this mode watches */
static unsigned long count_irqs(void)
{
    if (!strcmp(mode, "driver")) {
        FILE *f = fopen("/sys/module/ims_probe_drv/parameters/irqs", "r");
        unsigned long n = 0;

        if (f) { if (fscanf(f, "%lu", &n) != 1) n = 0; fclose(f); }
        return n;
    } else {
        int size = klogctl(10, NULL, 0), n;
        unsigned long c = 0;
        char *buf, *q;
        const char *pat = "No irq handler for vector";

        if (size <= 0) size = 1 << 20;
        buf = malloc(size + 1);
        if (!buf) return 0;
        n = klogctl(3, buf, size);
        if (n < 0) n = 0;
        buf[n] = 0;
        for (q = buf; (q = strstr(q, pat)); q += strlen(pat))
            c++;
        free(buf);
        return c;
    }
}

static unsigned long wait_more(unsigned long before)
{
    int waited = 0;
    unsigned long n;

    while ((n = count_irqs()) <= before && waited < timeout_ms) {
        msleep(50);
        waited += 50;
    }
    return n;
}

static void line(const char *cell, const char *values, uint64_t a, uint32_t d,
                 const char *result, const char *detail)
{
    char buf[512], name[128];

    snprintf(name, sizeof(name), "%s-%s-%s", prefix, mode, cell);
    ims_format_line(buf, sizeof(buf), name, values, a, d, result, detail);
    printf("%s\n", buf);
    fflush(stdout);
}

static void dma_cell(const char *cell, const char *values, uint64_t a, uint32_t d)
{
    struct ims_edu_dma s[2];
    unsigned long before, after;
    char detail[128];

    if (ims_edu_dma_plan(dmaphys, a, s)) {
        line(cell, values, a, d, "skipped", "reason=address-outside-msi-window");
        return;
    }
    ims_msi_payload(d, dmapage);
    before = count_irqs();
    if (edu_dma(&s[0]) || edu_dma(&s[1])) {
        line(cell, values, a, d, "error", "reason=edu-dma-timeout");
        return;
    }
    after = wait_more(before);
    snprintf(detail, sizeof(detail), "irqs_before=%lu irqs_after=%lu", before, after);
    line(cell, values, a, d, ims_classify(before, after), detail);
}

static int xs_read(const char *path, char *out, size_t len)
{
    char cmd[300];
    FILE *p;
    int ok = -1;

    snprintf(cmd, sizeof(cmd), "xenstore-read %s 2>/dev/null", path);
    if (!(p = popen(cmd, "r")))
        return -1;
    if (fgets(out, len, p)) {
        out[strcspn(out, "\n")] = 0;
        ok = 0;
    }
    if (pclose(p) != 0)
        ok = -1;
    return ok;
}

/* device/pci-ims/<vdevfn>/ in the guest's own xenstore home, once bound */
static int export_values(uint64_t *a, uint32_t *d)
{
    char dir[128] = "", v[64], path[200];
    FILE *p;
    int i;

    if (!(p = popen("xenstore-list device/pci-ims 2>/dev/null", "r")))
        return -1;
    if (!fgets(dir, sizeof(dir), p))
        dir[0] = 0;
    pclose(p);
    dir[strcspn(dir, "\n")] = 0;
    if (!dir[0])
        return -1;
    for (i = 0; i < 50; i++) {
        snprintf(path, sizeof(path), "device/pci-ims/%s/state", dir);
        if (!xs_read(path, v, sizeof(v)) && !strcmp(v, "bound"))
            break;
        msleep(200);
    }
    if (i == 50)
        return -1;
    snprintf(path, sizeof(path), "device/pci-ims/%s/msi-address-lo", dir);
    if (xs_read(path, v, sizeof(v))) return -1;
    *a = strtoull(v, NULL, 0);
    snprintf(path, sizeof(path), "device/pci-ims/%s/msi-address-hi", dir);
    if (xs_read(path, v, sizeof(v))) return -1;
    *a |= strtoull(v, NULL, 0) << 32;
    snprintf(path, sizeof(path), "device/pci-ims/%s/msi-data", dir);
    if (xs_read(path, v, sizeof(v))) return -1;
    *d = (uint32_t)strtoul(v, NULL, 0);
    return 0;
}

static uint64_t read_hex_file(const char *p, int *ok)
{
    char v[64] = "";
    FILE *f = fopen(p, "r");

    *ok = 0;
    if (f) { if (fgets(v, sizeof(v), f)) *ok = 1; fclose(f); }
    if (!*ok || strncmp(v, "0x", 2)) { *ok = 0; return 0; }
    return strtoull(v, NULL, 16);
}

int main(int argc, char **argv)
{
    uint8_t cfg[256];
    struct ims_msi_cap cap;
    uint64_t want_a = 0xfee00000, a, ea;
    uint32_t want_d = 0x55, ed;
    const char *bdf = NULL, *values;
    int i, no_export = 0, ok1, ok2;
    unsigned long before, after;
    char detail[160];

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mode") && i + 1 < argc) mode = argv[++i];
        else if (!strcmp(argv[i], "--bdf") && i + 1 < argc) bdf = argv[++i];
        else if (!strcmp(argv[i], "--cell") && i + 1 < argc) prefix = argv[++i];
        else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) timeout_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-export")) no_export = 1;
        else { fprintf(stderr, "usage: ims-probe --mode driver|raw [--bdf BDF] [--cell PREFIX] [--timeout-ms N] [--no-export]\n"); return 2; }
    }
    if (strcmp(mode, "driver") && strcmp(mode, "raw")) {
        fprintf(stderr, "ims-probe: --mode driver|raw\n");
        return 2;
    }
    if (bdf) snprintf(devdir, sizeof(devdir), "/sys/bus/pci/devices/%s", bdf);
    else if (find_edu(devdir, sizeof(devdir))) {
        line("setup", "none", 0, 0, "error", "reason=no-edu-device");
        return 1;
    }
    if (map_bar0() || dma_page()) {
        line("setup", "none", 0, 0, "error", "reason=bar0-or-dma-page");
        return 1;
    }
    printf("ims-probe: device %s mode %s dma page at 0x%" PRIx64 "\n", devdir, mode, dmaphys);

    if (!strcmp(mode, "raw")) {
        if (cfg_read(cfg, sizeof(cfg)) < 64 || ims_msi_parse(cfg, sizeof(cfg), &cap)) {
            line("setup", "none", 0, 0, "error", "reason=no-msi-capability");
            return 1;
        }
        cfg_write(0x04, 2, 0x0006);                      /* memory + bus master */
        cfg_write(cap.addr_lo_off, 4, (uint32_t)want_a);
        if (cap.is64) cfg_write(cap.addr_hi_off, 4, 0);
        cfg_write(cap.data_off, 2, want_d);
        cfg_write(cap.ctrl_off, 2, ims_msi_enable_ctrl(cap.ctrl));   /* one access */
        msleep(500);
    } else {
        want_a = read_hex_file("/sys/module/ims_probe_drv/parameters/msg_addr", &ok1);
        want_d = (uint32_t)read_hex_file("/sys/module/ims_probe_drv/parameters/msg_data", &ok2);
        if (!ok1 || !ok2) {
            line("setup", "none", 0, 0, "error", "reason=ims_probe_drv-not-bound");
            return 1;
        }
    }
    if (cfg_read(cfg, sizeof(cfg)) < 64 || ims_msi_parse(cfg, sizeof(cfg), &cap) || !cap.enabled) {
        line("setup", "none", 0, 0, "error", "reason=msi-not-enabled");
        return 1;
    }
    a = ims_msi_address(&cap);
    values = (a == want_a && cap.data == (uint16_t)want_d) ? "virtual" : "physical";
    printf("ims-probe: guest wrote/composed addr=0x%" PRIx64 " data=0x%x; config space reads addr=0x%" PRIx64
           " data=0x%x ctrl=0x%04x vectors=%u/%u\n", want_a, want_d, a, cap.data, cap.ctrl,
           cap.vectors_enabled, cap.vectors_capable);

    /* control: edu raises its own MSI (QEMU's msi_notify, the device's
     * requester ID, the message Xen programmed) */
    before = count_irqs();
    edu_w32(IMS_EDU_REG_IRQ_RAISE, 1);
    after = wait_more(before);
    edu_w32(IMS_EDU_REG_IRQ_ACK, 1);
    snprintf(detail, sizeof(detail), "irqs_before=%lu irqs_after=%lu", before, after);
    line("control", values, a, cap.data, ims_classify(before, after), detail);

    /* what an IMS driver does: the values read back from config space */
    dma_cell("readback", values, a, cap.data);

    /* exactly what ath11k/ath12k do: the address read back from config
     * space (ath11k_pci_get_msi_address), the data from the kernel's own
     * message (msi_desc->msg.data, i.e. what the guest composed/wrote) */
    dma_cell("ath11k", (a == want_a && cap.data == (uint16_t)want_d) ? "virtual" :
             a == want_a ? "virtual" : "addr-physical", a, want_d);

    /* x-ims=export: the values the device model published */
    if (!no_export && !export_values(&ea, &ed))
        dma_cell("export", "physical", ea, ed);

    if (!strcmp(mode, "raw"))
        cfg_write(cap.ctrl_off, 2, cap.ctrl & ~IMS_MSI_CTRL_ENABLE);
    return 0;
}
