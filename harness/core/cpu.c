/* cpuid/xgetbv feature detection, the OpenBLAS core choice and the OpenMP
 * wait policy for the machine's load. */
#include "core/cpu.h"

#include <cblas.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

void hx_cpu_detect(hx_cpu_features *f)
{
    memset(f, 0, sizeof *f);
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return;
    unsigned max = a;
    memcpy(f->vendor, &b, 4);
    memcpy(f->vendor + 4, &d, 4);
    memcpy(f->vendor + 8, &c, 4);
    unsigned ext = __get_cpuid_max(0x80000000u, NULL);
    for (unsigned i = 0; ext >= 0x80000004u && i < 3; i++) {
        __get_cpuid(0x80000002u + i, &a, &b, &c, &d);
        unsigned r[4] = {a, b, c, d};
        memcpy(f->brand + 16 * i, r, 16);
    }
    __get_cpuid(1, &a, &b, &c, &d);
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0, tiles = (xcr0 & 0x60000) == 0x60000;
    if (max < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    f->avx2 = avx && ymm && ((b >> 5) & 1);
    f->fma = avx && ymm && fma;
    f->avx512f = zmm && ((b >> 16) & 1);
    f->avx512dq = zmm && ((b >> 17) & 1);
    f->avx512bw = zmm && ((b >> 30) & 1);
    f->avx512vl = zmm && ((b >> 31) & 1);
    f->amx_bf16 = tiles && ((d >> 22) & 1);
    f->amx_tile = tiles && ((d >> 24) & 1);
    __cpuid_count(7, 1, a, b, c, d);
    f->avx512_bf16 = zmm && ((a >> 5) & 1);
}
#else
void hx_cpu_detect(hx_cpu_features *f) { memset(f, 0, sizeof *f); }
#endif

const char *hx_cpu_openblas_core(const hx_cpu_features *f)
{
    if (f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq && f->fma) return "SkylakeX";
    if (f->avx2 && f->fma) return "Haswell";
    return NULL;
}

void hx_cpu_feature_string(const hx_cpu_features *f, char *buf, size_t n)
{
    const struct {
        int on;
        const char *name;
    } all[] = {{f->avx2, "avx2"},         {f->fma, "fma"},           {f->avx512f, "avx512f"},
               {f->avx512bw, "avx512bw"}, {f->avx512vl, "avx512vl"}, {f->avx512dq, "avx512dq"},
               {f->avx512_bf16, "avx512_bf16"}, {f->amx_tile, "amx_tile"}, {f->amx_bf16, "amx_bf16"}};
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0] && o < n; i++)
        if (all[i].on) o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? " " : "", all[i].name);
}

/* procs_running of /proc/stat, or -1. */
static int procs_running(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (n < 0 && fgets(line, sizeof line, f))
        if (sscanf(line, "procs_running %d", &n) != 1) n = -1;
    fclose(f);
    return n;
}

/* This process's threads in state R (OpenBLAS's pool spins after it starts). */
static int own_running(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return 1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            char path[300], buf[512];
            snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
            FILE *f = fopen(path, "r");
            if (!f) continue;
            size_t len = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[len] = 0;
            const char *paren = strrchr(buf, ')'); /* "tid (comm) S ..." */
            n += paren && paren[1] == ' ' && paren[2] == 'R';
        }
    closedir(d);
    return n > 0 ? n : 1;
}

int hx_cpu_others_running(int samples, int ms)
{
    int fewest = -1;
    for (int i = 0; i < samples; i++) {
        if (i) nanosleep(&(struct timespec){0, (long)ms * 1000000L}, NULL);
        int n = procs_running();
        if (n < 0) return 0;
        n -= own_running();
        if (fewest < 0 || n < fewest) fewest = n;
    }
    return fewest > 0 ? fewest : 0;
}

const char *hx_cpu_wait_policy(int others_running, int cores, int threads)
{
    return others_running > cores - threads ? "passive" : NULL;
}

const char *hx_blas_config(void) { return openblas_get_config(); }

const char *hx_blas_core(void) { return openblas_get_corename(); }
