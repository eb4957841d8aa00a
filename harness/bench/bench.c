/* `harness bench`: suite table and command-line front end. */
#include "bench/bench.h"

#include "core/cpu.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"
#include "bench/bench_minitron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hx_bench_suite suites[] = {
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

static void usage(FILE *f)
{
    fprintf(f, "usage: harness bench [--suite NAME]... [--json] [--steps N]\n\n"
               "Runs benchmark suites (default: all but sgemm, which the blas suite runs per kernel) on HX_THREADS threads.\n"
               "  --suite NAME  run only this suite (repeatable)\n"
               "  --json        print one JSON object {suite: {key: value}}\n"
               "  --steps N     timed repetitions per measurement (default 3)\n\nsuites:\n");
    for (const hx_bench_suite *s = suites; s->name; s++) fprintf(f, "  %-10s %s\n", s->name, s->summary);
}

static void print_plain(const char *suite, json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
        printf("%s.%s = %s\n", suite, key, txt ? txt : "?");
        free(txt);
    }
}

int hx_cmd_bench(int argc, char **argv)
{
    hx_bench_opts o = {3, 0};
    int json = 0, nsel = 0;
    const char *sel[16];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--suite") && i + 1 < argc && nsel < 16) {
            sel[nsel++] = argv[++i];
        } else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            int rc = hx_opt_int("steps", argv[++i], 1, 1 << 20, &o.steps);
            if (rc < 0) return hx_report(rc);
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    for (int k = 0; k < nsel; k++) {
        const hx_bench_suite *s = suites;
        while (s->name && strcmp(s->name, sel[k])) s++;
        if (!s->name) return hx_report(HX_ERR(HX_EINVAL, "bench: unknown suite '%s'", sel[k]));
    }
    json_t *all = json_object();
    hx_cpu_features cpu;
    char features[256];
    hx_cpu_detect(&cpu);
    hx_cpu_feature_string(&cpu, features, sizeof features);
    json_object_set_new(all, "machine",
                        json_pack("{s:s, s:s, s:s, s:s, s:i}", "cpu", cpu.brand, "cpu_features", features, "blas",
                                  hx_blas_config(), "blas_core", hx_blas_core(), "threads", hx_threads()));
    if (!json)
        printf("machine: %s (%s); %s, kernel %s; %d threads\n", cpu.brand, features, hx_blas_config(), hx_blas_core(),
               hx_threads());
    int rc = HX_OK;
    for (const hx_bench_suite *s = suites; s->name && rc == HX_OK; s++) {
        int want = nsel == 0 && !s->on_request; /* the blas suite runs sgemm per kernel already */
        for (int k = 0; k < nsel; k++) want |= !strcmp(s->name, sel[k]);
        if (!want) continue;
        json_t *obj = json_object();
        rc = s->fn(obj, &o);
        if (rc == HX_OK && !json) print_plain(s->name, obj);
        json_object_set_new(all, s->name, obj);
    }
    if (rc == HX_OK && json) {
        char *txt = json_dumps(all, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        printf("%s\n", txt);
        free(txt);
    }
    json_decref(all);
    return rc == HX_OK ? 0 : hx_report(rc);
}
