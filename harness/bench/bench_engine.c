/* Engine benchmark suites: measured sgemm peak and one full training step
 * (forward, cross-entropy, backward) of the mini configuration and of the
 * SmolLM2-135M shape (with its forward pass alone), with model FLOPs counted
 * analytically (formula in bench.h). */
#include "bench/bench.h"

#include "core/cpu.h"
#include "core/err.h"
#include "core/home.h"
#include "core/rng.h"
#include "core/util.h"
#include "cpu/ops.h"
#include "model/forward.h"
#include "model/init.h"
#include "model/weights.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MINI_BATCH = 8, MINI_SEQ = 256, SMOL_BATCH = 2, SMOL_SEQ = 512, SGEMM_N = 2048 };

hx_config hx_bench_mini_config(void)
{
    hx_config c = {0};
    snprintf(c.model_type, sizeof c.model_type, "llama");
    c.vocab_size = 2048;
    c.hidden_size = 256;
    c.intermediate_size = 768;
    c.num_hidden_layers = 6;
    c.num_attention_heads = 8;
    c.num_key_value_heads = 4;
    c.head_dim = 32;
    c.max_position_embeddings = MINI_SEQ;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0;
    c.bos_token_id = c.eos_token_id = -1;
    return c;
}

/* Forward matmul FLOPs of a batch (see bench.h); a step is 3x this. */
static double forward_flops(const hx_config *c, int B, int T)
{
    double H = c->hidden_size, q = (double)c->num_attention_heads * c->head_dim;
    double kv = (double)c->num_key_value_heads * c->head_dim, F = c->intermediate_size, V = c->vocab_size;
    double per_token = c->num_hidden_layers * 2 * H * (q + 2 * kv + q + 3 * F) + 2 * H * V;
    double attn = (double)B * c->num_hidden_layers * 2 * (2.0 * c->head_dim * c->num_attention_heads * T * (T + 1) / 2);
    return (double)B * T * per_token + attn;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void openblas_sgemm(void *ctx, int n, const float *a, const float *b, float *c)
{
    (void)ctx;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
}

double hx_bench_sgemm_gflops(int reps, hx_sgemm_call call, void *ctx)
{
    size_t n = SGEMM_N;
    float *a = hx_malloc(sizeof(float) * n * n), *b = hx_malloc(sizeof(float) * n * n), *c = hx_malloc(sizeof(float) * n * n);
    double best = 0;
    if (a && b && c) {
        hx_rng r;
        hx_rng_seed(&r, 1);
        for (size_t i = 0; i < n * n; i++) {
            a[i] = (float)hx_rng_uniform(&r);
            b[i] = (float)hx_rng_uniform(&r);
        }
        for (int k = 0; k <= reps; k++) { /* k = 0 warms up */
            double t0 = hx_now();
            call(ctx, (int)n, a, b, c);
            double g = 2.0 * n * n * n / (hx_now() - t0) / 1e9;
            if (k > 0 && g > best) best = g;
        }
    }
    free(a), free(b), free(c);
    return best;
}

int hx_bench_sgemm(json_t *out, const hx_bench_opts *o)
{
    json_object_set_new(out, "blas_core", json_string(hx_blas_core()));
    json_object_set_new(out, "sgemm_gflops", json_real(hx_bench_sgemm_gflops(o->steps, openblas_sgemm, NULL)));
    return HX_OK;
}

int hx_bench_step_seconds(const hx_config *cfg, int B, int T, int steps, int quiet, double *median)
{
    const int N = B * T;
    hx_model m, g;
    hx_workspace ws;
    HX_TRY(hx_model_alloc(&m, cfg));
    int rc = hx_model_alloc(&g, cfg);
    if (rc < 0) {
        hx_model_free(&m);
        return rc;
    }
    rc = hx_workspace_alloc(&ws, cfg, B, T, HX_WS_TRAIN);
    int32_t *ids = hx_malloc(sizeof(int32_t) * N), *tg = hx_malloc(sizeof(int32_t) * N);
    double *times = hx_malloc(sizeof(double) * (size_t)steps);
    if (rc == HX_OK && (!ids || !tg || !times)) rc = HX_ENOMEM;
    if (rc == HX_OK) rc = hx_model_init_random(&m, 1);
    if (rc == HX_OK) {
        hx_rng r;
        hx_rng_seed(&r, 2);
        for (int i = 0; i < N; i++) ids[i] = (int32_t)hx_rng_below(&r, (uint64_t)cfg->vocab_size);
        long count = hx_shift_labels(tg, ids, B, T, HX_IGNORE_INDEX);
        for (int k = 0; k <= steps && rc == HX_OK; k++) { /* k = 0 warms up */
            double t0 = hx_now(), loss;
            memset(g.data, 0, sizeof(float) * g.n_floats);
            rc = hx_forward(&m, &ws, ids, NULL);
            if (rc == HX_OK)
                rc = hx_cross_entropy(ws.logits, tg, N, cfg->vocab_size, HX_IGNORE_INDEX, (double)count, ws.logits, &loss);
            if (rc == HX_OK) rc = hx_backward(&m, &ws, ws.logits, &g);
            if (k > 0) times[k - 1] = hx_now() - t0;
            if (!quiet) fprintf(stderr, "bench: training step %d/%d %.3f s\n", k, steps, hx_now() - t0);
        }
        if (rc == HX_OK) {
            qsort(times, (size_t)steps, sizeof(double), cmp_double);
            *median = times[steps / 2];
        }
    }
    free(ids), free(tg), free(times);
    hx_workspace_free(&ws);
    hx_model_free(&m);
    hx_model_free(&g);
    return rc;
}

hx_config hx_bench_smollm2_config(void)
{
    hx_config c = hx_bench_mini_config();
    c.vocab_size = 49152;
    c.hidden_size = 576;
    c.intermediate_size = 1536;
    c.num_hidden_layers = 30;
    c.num_attention_heads = 9;
    c.num_key_value_heads = 3;
    c.head_dim = 64;
    c.max_position_embeddings = 8192;
    c.rope_theta = 100000.0;
    c.tie_word_embeddings = 1;
    return c;
}

/* Median seconds of `steps` forward passes (inference workspace, logits
 * included) of a random model of `cfg` on B x T random tokens; with bf16,
 * from packed bf16 weights (model.h). */
static int forward_seconds(const hx_config *cfg, int B, int T, int steps, int bf16, double *median)
{
    hx_model m;
    hx_workspace ws;
    hx_model_bf16 *pk = NULL;
    HX_TRY(hx_model_alloc(&m, cfg));
    int rc = hx_workspace_alloc(&ws, cfg, B, T, HX_WS_INFER), have_ws = rc == HX_OK;
    int32_t *ids = hx_malloc(sizeof(int32_t) * (size_t)B * T);
    double *times = hx_malloc(sizeof(double) * (size_t)steps);
    if (rc == HX_OK && (!ids || !times)) rc = HX_ENOMEM;
    if (rc == HX_OK) rc = hx_model_init_random(&m, 1);
    if (rc == HX_OK && bf16 && (rc = hx_model_bf16_pack(&m, &pk)) == HX_OK) m.bf16 = pk;
    hx_rng r;
    hx_rng_seed(&r, 2);
    for (int i = 0; rc == HX_OK && i < B * T; i++) ids[i] = (int32_t)hx_rng_below(&r, (uint64_t)cfg->vocab_size);
    for (int k = 0; k <= steps && rc == HX_OK; k++) { /* k = 0 warms up */
        double t0 = hx_now();
        rc = hx_forward(&m, &ws, ids, NULL);
        if (k > 0) times[k - 1] = hx_now() - t0;
    }
    if (rc == HX_OK) {
        qsort(times, (size_t)steps, sizeof(double), cmp_double);
        *median = times[steps / 2];
    }
    free(ids), free(times);
    if (have_ws) hx_workspace_free(&ws);
    hx_model_bf16_free(pk);
    hx_model_free(&m);
    return rc;
}

/* PyTorch's numbers for `config` from tools/bench_torch.py on the same
 * threads (the "torch_engine" object), or NULL when the interpreter
 * ($HX_PYTHON, else python3) lacks torch and transformers. */
static json_t *torch_side(const char *config, int steps, int quiet)
{
    char *script = hx_home_path("tools/bench_torch.py");
    const char *py = getenv("HX_PYTHON") && *getenv("HX_PYTHON") ? getenv("HX_PYTHON") : "python3";
    char *cmd = script ? hx_strfmt("HX_THREADS=%d '%s' '%s' --config %s --steps %d --json 2>/dev/null", hx_threads(),
                                   py, script, config, steps)
                       : NULL;
    free(script);
    hx_clearerr();
    if (!cmd) return NULL;
    if (!quiet) fprintf(stderr, "bench: PyTorch on the same threads (%s)\n", py);
    FILE *p = popen(cmd, "r");
    free(cmd);
    json_t *j = p ? json_loadf(p, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    if (p) pclose(p);
    json_t *t = j ? json_incref(json_object_get(j, "torch_engine")) : NULL;
    json_decref(j);
    return t;
}

/* Adds PyTorch's measurements and the ratios to `out`: vs_torch_step (and
 * vs_torch_forward) = our tokens/s over PyTorch's, peak_gflops = the best
 * sgemm of either library, step_vs_peak = our step GFLOP/s over it. */
static void add_torch(json_t *out, const char *config, const hx_bench_opts *o, int forward)
{
    json_t *t = torch_side(config, o->steps, o->quiet);
    double peak = json_real_value(json_object_get(out, "sgemm_gflops"));
    if (!t) {
        json_object_set_new(out, "torch_note", json_string("python3 with torch and transformers not available "
                                                           "(set HX_PYTHON); no side-by-side ratios"));
    } else {
        double tp = json_number_value(json_object_get(t, "sgemm_gflops"));
        if (tp > peak) peak = tp;
        json_object_set_new(out, "vs_torch_step", json_real(json_real_value(json_object_get(out, "step_tokens_per_s")) /
                                                            json_number_value(json_object_get(t, "step_tokens_per_s"))));
        if (forward)
            json_object_set_new(out, "vs_torch_forward",
                                json_real(json_real_value(json_object_get(out, "forward_tokens_per_s")) /
                                          json_number_value(json_object_get(t, "forward_tokens_per_s"))));
        json_object_set_new(out, "torch", t);
    }
    json_object_set_new(out, "peak_gflops", json_real(peak));
    json_object_set_new(out, "step_vs_peak", json_real(json_real_value(json_object_get(out, "step_gflops")) / peak));
}

/* The engine measurements of one configuration into `out` (keys in bench.h). */
static int engine_config(json_t *out, const hx_bench_opts *o, const hx_config *cfg, int B, int T, int forward)
{
    const int N = B * T;
    if (!o->quiet) fprintf(stderr, "bench: sgemm %d^3 on %d threads\n", SGEMM_N, hx_threads());
    double peak = hx_bench_sgemm_gflops(o->steps, openblas_sgemm, NULL), sec = 0, fsec = 0;
    HX_TRY(hx_bench_step_seconds(cfg, B, T, o->steps, o->quiet, &sec));
    double bsec = 0;
    if (forward) HX_TRY(forward_seconds(cfg, B, T, o->steps, 0, &fsec));
    if (forward && hx_bf16_gemm_available()) HX_TRY(forward_seconds(cfg, B, T, o->steps, 1, &bsec));
    double flops = 3 * forward_flops(cfg, B, T);
    char *js = hx_config_json(cfg); /* the config.json fields, as the model is saved */
    json_t *c = js ? json_loads(js, 0, NULL) : NULL;
    free(js);
    if (!c) return HX_ERR(HX_ENOMEM, "out of memory");
    json_object_set_new(c, "seq", json_integer(T));
    json_object_set_new(c, "batch", json_integer(B));
    json_object_set_new(out, "config", c);
    json_object_set_new(out, "threads", json_integer(hx_threads()));
    json_object_set_new(out, "sgemm_gflops", json_real(peak));
    json_object_set_new(out, "step_seconds", json_real(sec));
    json_object_set_new(out, "step_flops", json_real(flops));
    json_object_set_new(out, "step_gflops", json_real(flops / sec / 1e9));
    json_object_set_new(out, "step_tokens_per_s", json_real(N / sec));
    json_object_set_new(out, "step_efficiency", json_real(peak > 0 ? flops / sec / 1e9 / peak : 0));
    if (forward) {
        json_object_set_new(out, "forward_seconds", json_real(fsec));
        json_object_set_new(out, "forward_tokens_per_s", json_real(N / fsec));
    }
    if (bsec > 0) { /* the bf16 path (AVX512-BF16 CPUs only) */
        json_object_set_new(out, "bf16_forward_tokens_per_s", json_real(N / bsec));
        json_object_set_new(out, "bf16_forward_speedup", json_real(fsec / bsec));
    }
    return HX_OK;
}

int hx_bench_engine(json_t *out, const hx_bench_opts *o)
{
    hx_config cfg = hx_bench_mini_config();
    HX_TRY(engine_config(out, o, &cfg, MINI_BATCH, MINI_SEQ, 0));
    add_torch(out, "mini", o, 0);
    return HX_OK;
}

int hx_bench_smollm2(json_t *out, const hx_bench_opts *o)
{
    hx_config cfg = hx_bench_smollm2_config();
    HX_TRY(engine_config(out, o, &cfg, SMOL_BATCH, SMOL_SEQ, 1));
    add_torch(out, "smollm2", o, 1);
    return HX_OK;
}
