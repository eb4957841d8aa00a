/* BLAS comparison suite: OpenBLAS kernels, BLIS and oneDNN on one sgemm. */
#include "bench/bench.h"

#include "core/cpu.h"
#include "core/err.h"
#include "core/util.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* sgemm GFLOP/s of OpenBLAS forced to `core`, from a child bin/harness. */
static double openblas_core_gflops(const char *core, int steps)
{
    char exe[4096], cmd[4400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1); /* not in the shell popen starts */
    if (n <= 0) return 0;
    exe[n] = 0;
    snprintf(cmd, sizeof cmd, "HX_BLAS_CORE=%s '%s' bench --suite sgemm --json --steps %d 2>/dev/null", core, exe,
             steps);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    int ch;
    while (mem && (ch = fgetc(p)) != EOF) fputc(ch, mem);
    if (mem) fclose(mem);
    pclose(p);
    json_t *j = buf ? json_loads(buf, 0, NULL) : NULL;
    free(buf);
    json_t *s = j ? json_object_get(json_object_get(j, "sgemm"), "sgemm_gflops") : NULL;
    double g = s ? json_number_value(s) : 0;
    json_decref(j);
    return g;
}

typedef void (*f77_sgemm)(const char *, const char *, const int *, const int *, const int *, const float *,
                          const float *, const int *, const float *, const int *, const float *, float *, const int *);
typedef int (*dnnl_sgemm_fn)(char, char, long, long, long, float, const float *, long, const float *, long, float,
                             float *, long);

/* Row-major c = a b as column-major c^T = b^T a^T. */
static void blis_call(void *ctx, int n, const float *a, const float *b, float *c)
{
    const float one = 1, zero = 0;
    ((f77_sgemm)ctx)("N", "N", &n, &n, &n, &one, b, &n, a, &n, &zero, c, &n);
}

static void dnnl_call(void *ctx, int n, const float *a, const float *b, float *c)
{
    ((dnnl_sgemm_fn)ctx)('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* row-major, as documented */
}

/* GFLOP/s of `symbol` in the first of `libs` that loads, or 0 when none is installed. */
static double dl_gflops(const char *const *libs, const char *symbol, hx_sgemm_call call, int steps)
{
    for (int i = 0; libs[i]; i++) {
        void *h = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
        void *fn = h ? dlsym(h, symbol) : NULL;
        if (fn) return hx_bench_sgemm_gflops(steps, call, fn);
        if (h) dlclose(h);
    }
    return 0;
}

int hx_bench_blas(json_t *out, const hx_bench_opts *o)
{
    hx_cpu_features f;
    hx_cpu_detect(&f);
    char threads[16];
    snprintf(threads, sizeof threads, "%d", hx_threads());
    setenv("BLIS_NUM_THREADS", threads, 0); /* read when BLIS initialises */
    json_t *c = json_object();
    int avx512 = f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma;
    const struct {
        const char *core;
        int runs;
    } cores[] = {{"Haswell", f.avx2 && f.fma}, {"SkylakeX", avx512}, {"Cooperlake", avx512 && f.avx512_bf16}};
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++) {
        if (!cores[i].runs) continue; /* never a kernel the CPU cannot run */
        if (!o->quiet) fprintf(stderr, "bench blas: OpenBLAS %s\n", cores[i].core);
        char name[64];
        snprintf(name, sizeof name, "openblas-%s", cores[i].core);
        json_object_set_new(c, name, json_real(openblas_core_gflops(cores[i].core, o->steps)));
    }
    static const char *const blis[] = {"/usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so.4", "libblis.so.4", NULL};
    static const char *const dnnl[] = {"libdnnl.so.3", "libdnnl.so.2", NULL};
    if (!o->quiet) fprintf(stderr, "bench blas: BLIS, oneDNN (when installed)\n");
    double g = dl_gflops(blis, "sgemm_", blis_call, o->steps);
    if (g > 0) json_object_set_new(c, "blis", json_real(g));
    g = dl_gflops(dnnl, "dnnl_sgemm", dnnl_call, o->steps);
    if (g > 0) json_object_set_new(c, "onednn", json_real(g));
    const char *key, *best = NULL;
    json_t *v;
    json_object_foreach(c, key, v) if (!best || json_real_value(v) > json_real_value(json_object_get(c, best))) best = key;
    char chosen[64];
    snprintf(chosen, sizeof chosen, "openblas-%s", hx_blas_core());
    json_t *cv = json_object_get(c, chosen);
    json_object_set_new(out, "candidates", c);
    json_object_set_new(out, "best", json_string(best ? best : "none"));
    json_object_set_new(out, "chosen", json_string(chosen));
    if (cv && best) json_object_set_new(out, "chosen_vs_best", json_real(json_real_value(cv) / json_real_value(json_object_get(c, best))));
    return HX_OK;
}
