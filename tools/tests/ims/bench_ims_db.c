/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Policy database at scale (a benchmark: it prints figures, it does not
 * judge them): parse + index time, lookup time and memory for databases
 * of 10 to 100000 entries, loaded from a real file the way libxl loads
 * it at each attach (owner and mode checked, read, parsed, indexed).
 */
#include "libxl_osdeps.h"
#include "libxl_ims.h"

#include "harness.h"

#include <sys/resource.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static long maxrss_kib(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* n entries, a quarter of them with subsys and class, in shuffled order. */
static const char *write_db(int n)
{
    size_t cap = (size_t)n * 96 + 1, len = 0;
    char *text = malloc(cap), name[32];
    const char *path;

    for (int i = 0; i < n; i++) {
        uint32_t k = (uint32_t)(((uint64_t)i * 7919) % n);

        len += snprintf(text + len, cap - len,
                        "%04x:%04x,name=\"device %u\"%s,amd=expose,"
                        "intel=export\n", 0x1000 + (k >> 16), k & 0xffff, k,
                        k % 4 ? "" : ",subsys=17aa:9309,class=0x028000");
    }
    snprintf(name, sizeof(name), "db-%d.cfg", n);
    path = test_write_file(test_tmpdir(), name, text);
    free(text);
    return path;
}

static void bench(libxl_ctx *ctx, int n)
{
    const char *path = write_db(n);
    const int loads = n >= 100000 ? 5 : n >= 10000 ? 20 : 500;
    const int lookups = 200000;
    double t0, load_us, lookup_us;
    long rss_before = maxrss_kib();
    libxl__ims_db *db = NULL;
    int found = 0;
    uint32_t x = 1;

    setenv(LIBXL_IMS_DB_ENV, path, 1);
    t0 = now_us();
    for (int i = 0; i < loads; i++) {
        GC_INIT(ctx);
        libxl__ims_db_load(gc, NULL, 0, true, &db);
        if (db->nr_entries != n) {
            fprintf(stderr, "bench_ims_db: loaded %d of %d entries\n",
                    db->nr_entries, n);
            exit(1);
        }
        GC_FREE;
    }
    load_us = (now_us() - t0) / loads;

    {
        GC_INIT(ctx);
        libxl__ims_db_load(gc, NULL, 0, true, &db);
        t0 = now_us();
        for (int i = 0; i < lookups; i++) {
            uint32_t k;

            x = x * 1103515245u + 12345u;
            k = (x >> 8) % (n + n / 8);      /* some misses */
            found += !!libxl__ims_db_lookup(db, 0x1000 + (k >> 16),
                                            k & 0xffff, 0x17aa, 0x9309,
                                            0x028000);
        }
        lookup_us = (now_us() - t0) / lookups;
        GC_FREE;
    }
    printf("  %7d entries  load+index %10.1f us  (%6.2f us/entry)  "
           "lookup %6.3f us  hits %3d%%  maxrss %6ld KiB (+%ld)\n",
           n, load_us, load_us / n, lookup_us, found * 100 / lookups,
           maxrss_kib(), maxrss_kib() - rss_before);
}

/*
 * n bad lines: every one an error, all counted, the first
 * LIBXL_IMS_DB_MAX_DIAGS kept; the time must grow linearly with n.
 */
static void bench_bad_lines(libxl_ctx *ctx, int n)
{
    size_t cap = (size_t)n * 12 + 1, len = 0;
    char *text = malloc(cap), name[32];
    const char *path;
    double t0, us;
    libxl__ims_db *db;

    for (int i = 0; i < n; i++)
        len += snprintf(text + len, cap - len, "17cb:zzz%d\n", i % 10);
    snprintf(name, sizeof(name), "bad-%d.cfg", n);
    path = test_write_file(test_tmpdir(), name, text);
    free(text);

    setenv(LIBXL_IMS_DB_ENV, path, 1);
    {
        GC_INIT(ctx);
        t0 = now_us();
        libxl__ims_db_load(gc, NULL, 0, true, &db);
        us = now_us() - t0;
        printf("  %7d bad lines  load %10.1f us  (%6.2f us/line)  "
               "errors %d  diagnostics kept %d\n", n, us, us / n,
               db->nr_errors, db->nr_diags);
        GC_FREE;
    }
}

int main(void)
{
    libxl_ctx *ctx = test_ctx_alloc_offline();
    static const int sizes[] = { 10, 1000, 10000, 100000 };

    if (!ctx) return 1;
    printf("IMS policy database (file on tmpfs/disk, strict checks):\n");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        bench(ctx, sizes[i]);
    printf("IMS policy database, every line an error (diagnostics capped):\n");
    for (int n = 1000; n <= 400000; n *= 20)
        bench_bad_lines(ctx, n);
    test_ctx_free(ctx);
    test_tmpdir_cleanup();
    return 0;
}
