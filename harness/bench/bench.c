/* The benchmark suite table and the run over the chosen suites (bench/bench.h). */
#include "bench/bench.h"

#include "core/cpu.h"
#include "core/err.h"
#include "core/util.h"
#include "bench/bench_minitron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const hx_bench_suite hx_bench_suites[] = {
    {"blas", hx_bench_blas, "2048^3 sgemm of every BLAS candidate (OpenBLAS kernels, BLIS, oneDNN) side by side", 0},
    {"sgemm", hx_bench_sgemm, "2048^3 sgemm of the OpenBLAS kernel in use (run per kernel by the blas suite)", 1},
    {"engine", hx_bench_engine, "fp32 CPU engine: sgemm peak and one training step of the mini model", 0},
    {"smollm2", hx_bench_smollm2, "training step and forward pass of the SmolLM2-135M shape (random weights)", 0},
    {"trainer", hx_bench_trainer_suite, "trainer tokens/s (AdamW, sampler, HDF5 rows) next to bare steps", 0},
    {"tokenizer", hx_bench_tokenizer_suite, "BPE encode MB/s on the embedded corpus next to HF tokenizers", 0},
    {"eval", hx_bench_eval, "multiple-choice scoring of the mini model: items/s vs choices and context length", 0},
    {"importance", hx_bench_importance, "importance pass (width; depth separately) vs plain forward passes, mini model", 0},
    {"kd", hx_bench_kd, "KD step vs student fwd+bwd plus teacher forward (pruned student, mini teacher)", 0},
    {NULL, NULL, NULL, 0},
};

static void print_plain(FILE *out, const char *suite, json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
        fprintf(out, "%s.%s = %s\n", suite, key, txt ? txt : "?");
        free(txt);
    }
}

int hx_bench_run(const char *const *names, int n, const hx_bench_opts *o, FILE *plain, json_t *all)
{
    for (int k = 0; k < n; k++) {
        const hx_bench_suite *s = hx_bench_suites;
        while (s->name && strcmp(s->name, names[k])) s++;
        if (!s->name) return HX_ERR(HX_EINVAL, "bench: unknown suite '%s'", names[k]);
    }
    hx_cpu_features cpu;
    char features[256];
    hx_cpu_detect(&cpu);
    hx_cpu_feature_string(&cpu, features, sizeof features);
    const char *wait = getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "spin";
    json_object_set_new(all, "machine",
                        json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "cpu", cpu.brand, "cpu_features", features, "blas",
                                  hx_blas_config(), "blas_core", hx_blas_core(), "threads", hx_threads(),
                                  "omp_wait", wait));
    if (plain)
        fprintf(plain, "machine: %s (%s); %s, kernel %s; %d threads, OpenMP waits %s\n", cpu.brand, features,
                hx_blas_config(), hx_blas_core(), hx_threads(), wait);
    int rc = HX_OK;
    for (const hx_bench_suite *s = hx_bench_suites; s->name && rc == HX_OK; s++) {
        int want = n == 0 && !s->on_request; /* the blas suite runs sgemm per kernel already */
        for (int k = 0; k < n; k++) want |= !strcmp(s->name, names[k]);
        if (!want) continue;
        json_t *obj = json_object();
        rc = s->fn(obj, o);
        if (rc == HX_OK && plain) print_plain(plain, s->name, obj);
        json_object_set_new(all, s->name, obj);
    }
    return rc;
}
