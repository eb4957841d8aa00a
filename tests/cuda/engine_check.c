/* The CUDA engine (model/device.h) against the CPU oracle (model/engine.h) on
 * whole models, then (unless --no-bench) the distillation, training and
 * forward benchmarks at Llama-3.1-8B -> Minitron-4B shapes with random weights.
 *
 * Per fixture configuration (GQA, llama3 RoPE with a tied head, head_dim !=
 * hidden/heads, sliding window): logits, CE loss sum, KD loss sum and every
 * parameter's gradient from the same fp32 weights and tokens. Tolerances (the
 * GPU runs bf16 weights and activations with fp32 accumulation; bf16 keeps 8
 * bits of mantissa, relative rounding 2^-9 = 2e-3 per value):
 *   logits       normalised max error max|gpu - cpu| / max|cpu| <= 3e-2
 *                (a dozen bf16 roundings along the residual stream),
 *   loss sums    relative error <= 1e-2,
 *   gradients    cosine >= 0.999 per tensor (direction; the size of the bf16
 *                noise relative to the gradient) and norm ratio within 5%,
 *   AdamW        one step's weight change, cosine >= 0.999.
 * Determinism: the same step twice gives bitwise equal gradients; activation
 * recomputation gives bitwise the same gradients as keeping activations.
 * Prints "FAIL ..." per failed check, "SUMMARY n passed, m failed", and
 * "BENCH ..." lines; exit status 1 when a check failed, 2 on setup errors. */
#include "core/err.h"
#include "core/labels.h"
#include "core/util.h"
#include "exp/plan.h"
#include "model/device.h"
#include "model/engine.h"
#include "model/init.h"
#include "train/grad.h"

#include <cuda_runtime.h>
#include <math.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what, const char *cfg, double got, double limit)
{
    if (ok) passed++;
    else failed++;
    printf("%s %-14s %-34s %.3g (limit %.3g)\n", ok ? "ok  " : "FAIL", cfg, what, got, limit);
}

static double max_norm_err(const float *a, const float *b, size_t n)
{
    double e = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(a[i])) return INFINITY;
        e = fmax(e, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return m > 0 ? e / m : e;
}

static double cosine(const float *a, const float *b, size_t n, double *ratio)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    *ratio = bb > 0 ? sqrt(aa / bb) : (aa > 0 ? INFINITY : 1);
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1 : 0);
}

typedef struct {
    const char *name;
    hx_config cfg;
} fixture;

static hx_config base(void)
{
    hx_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.model_type, sizeof c.model_type, "llama");
    c.vocab_size = 512, c.hidden_size = 128, c.intermediate_size = 256, c.num_hidden_layers = 2;
    c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 32, c.max_position_embeddings = 256;
    c.rms_norm_eps = 1e-5f, c.rope_theta = 10000, c.bos_token_id = c.eos_token_id = -1;
    return c;
}

/* Compares the gradients of every parameter tensor. */
static void compare_grads(const char *name, const char *what, const hx_model *cpu, const hx_model *gpu)
{
    int np = hx_model_num_params(&cpu->cfg);
    hx_param *pc = hx_calloc((size_t)np, sizeof *pc), *pg = hx_calloc((size_t)np, sizeof *pg);
    hx_model_params(cpu, pc);
    hx_model_params(gpu, pg);
    double worst = 1, worst_ratio = 1;
    const char *wname = "";
    for (int i = 0; i < np; i++) {
        size_t n = (size_t)pc[i].rows * (pc[i].cols ? pc[i].cols : 1);
        double r, c = cosine(pg[i].data, pc[i].data, n, &r);
        if (c < worst) worst = c, wname = pc[i].name;
        if (fabs(r - 1) > fabs(worst_ratio - 1)) worst_ratio = r;
    }
    char label[160];
    snprintf(label, sizeof label, "%s grad cosine (worst %s)", what, wname);
    check(worst >= 0.999, label, name, worst, 0.999);
    snprintf(label, sizeof label, "%s grad norm ratio - 1", what);
    check(fabs(worst_ratio - 1) <= 0.05, label, name, fabs(worst_ratio - 1), 0.05);
    free(pc);
    free(pg);
}

#define SETUP(call)                                                                    \
    do {                                                                               \
        if ((call) < 0) {                                                              \
            fprintf(stderr, "SETUP %s:%d %s: %s\n", __FILE__, __LINE__, #call, hx_errmsg()); \
            exit(2);                                                                   \
        }                                                                              \
    } while (0)

static void check_fixture(const fixture *f)
{
    const hx_config *c = &f->cfg;
    const int B = 2, T = 64, N = B * T, V = c->vocab_size;
    const double tau = 2.0;
    hx_model m, t, g, gk, gd;
    SETUP(hx_model_alloc(&m, c));
    SETUP(hx_model_alloc(&t, c));
    SETUP(hx_model_alloc(&g, c));
    SETUP(hx_model_alloc(&gk, c));
    SETUP(hx_model_alloc(&gd, c));
    SETUP(hx_model_init_random(&m, 11));
    SETUP(hx_model_init_random(&t, 12));
    int32_t *ids = malloc(N * sizeof *ids), *tgt = malloc(N * sizeof *tgt);
    uint8_t *mask = malloc(N);
    for (int i = 0; i < N; i++) {
        ids[i] = (int32_t)((i * 7919u + 13) % (unsigned)V);
        tgt[i] = i % 17 == 5 ? HX_IGNORE_INDEX : (int32_t)((i * 104729u + 7) % (unsigned)V);
        mask[i] = tgt[i] != HX_IGNORE_INDEX;
    }
    /* CPU oracle: CE and KD gradients of the sums */
    hx_workspace ws, tws;
    SETUP(hx_workspace_alloc(&ws, c, B, T, HX_WS_TRAIN));
    SETUP(hx_workspace_alloc(&tws, c, B, T, HX_WS_INFER));
    SETUP(hx_forward(&m, &ws, ids, NULL));
    float *logits = malloc(sizeof(float) * N * V), *dev_logits = malloc(sizeof(float) * N * V);
    memcpy(logits, ws.logits, sizeof(float) * N * V);
    double ce, kd;
    SETUP(hx_lm_loss(ws.logits, tgt, N, V, HX_IGNORE_INDEX, 1.0, ws.logits, &ce));
    SETUP(hx_backward(&m, &ws, ws.logits, &g));
    SETUP(hx_forward(&t, &tws, ids, NULL));
    SETUP(hx_forward(&m, &ws, ids, NULL));
    kd = hx_kd_logits_loss(ws.logits, V, tws.logits, V, N, mask, tau, 0, 1.0, ws.logits, 1.0f);
    SETUP(hx_backward(&m, &ws, ws.logits, &gk));

    /* device */
    hx_dmodel_opts o = {.B = B, .T = T, .train = 1, .head_rows = 48, .adamw = hx_adamw_defaults()};
    hx_dmodel_opts ot = {.B = B, .T = T, .head_rows = 48};
    hx_dmodel *d, *dt, *dr;
    SETUP(hx_dmodel_create(&d, c, &m, &o));
    SETUP(hx_dmodel_create(&dt, c, &t, &ot));
    double dce, dkd, dce2;
    SETUP(hx_dmodel_zero_grad(d));
    SETUP(hx_dmodel_forward(d, ids));
    SETUP(hx_dmodel_logits(d, dev_logits));
    double e = max_norm_err(dev_logits, logits, (size_t)N * V);
    check(e <= 3e-2, "logits normalised max error", f->name, e, 3e-2);
    SETUP(hx_dmodel_loss(d, NULL, tgt, 1, 0, 1, &dce, NULL));
    check(fabs(dce - ce) / ce <= 1e-2, "CE loss sum relative error", f->name, fabs(dce - ce) / ce, 1e-2);
    SETUP(hx_dmodel_backward(d));
    SETUP(hx_dmodel_get(d, NULL, &gd, NULL));
    compare_grads(f->name, "CE", &g, &gd);

    /* determinism, and recomputation */
    hx_model gd2;
    SETUP(hx_model_alloc(&gd2, c));
    SETUP(hx_dmodel_zero_grad(d));
    SETUP(hx_dmodel_forward(d, ids));
    SETUP(hx_dmodel_loss(d, NULL, tgt, 1, 0, 1, &dce2, NULL));
    SETUP(hx_dmodel_backward(d));
    SETUP(hx_dmodel_get(d, NULL, &gd2, NULL));
    int same = dce2 == dce && memcmp(gd.data, gd2.data, gd.n_floats * sizeof(float)) == 0;
    check(same, "bitwise rerun (loss and gradients)", f->name, !same, 0);
    o.recompute = 1;
    SETUP(hx_dmodel_create(&dr, c, &m, &o));
    SETUP(hx_dmodel_zero_grad(dr));
    SETUP(hx_dmodel_forward(dr, ids));
    SETUP(hx_dmodel_loss(dr, NULL, tgt, 1, 0, 1, &dce2, NULL));
    SETUP(hx_dmodel_backward(dr));
    SETUP(hx_dmodel_get(dr, NULL, &gd2, NULL));
    same = dce2 == dce && memcmp(gd.data, gd2.data, gd.n_floats * sizeof(float)) == 0;
    check(same, "recompute == stored (bitwise)", f->name, !same, 0);
    hx_dmodel_free(dr);

    /* KD: forward KL at tau, the paper's w_ce = 0 */
    SETUP(hx_dmodel_zero_grad(d));
    SETUP(hx_dmodel_forward(dt, ids));
    SETUP(hx_dmodel_forward(d, ids));
    SETUP(hx_dmodel_loss(d, dt, tgt, tau, 0, 1, &dce2, &dkd));
    check(fabs(dkd - kd) / kd <= 1e-2, "KD loss sum relative error", f->name, fabs(dkd - kd) / kd, 1e-2);
    SETUP(hx_dmodel_backward(d));
    SETUP(hx_dmodel_get(d, NULL, &gd, NULL));
    compare_grads(f->name, "KD", &gk, &gd);

    /* one AdamW step from the CE gradients, normalised by the token count */
    double count = 0;
    for (int i = 0; i < N; i++) count += mask[i];
    hx_adamw opt;
    SETUP(hx_adamw_init(&opt, &o.adamw, &m));
    hx_model w0, w1;
    SETUP(hx_model_alloc(&w0, c));
    SETUP(hx_model_alloc(&w1, c));
    memcpy(w0.data, m.data, m.n_floats * sizeof(float));
    for (size_t i = 0; i < g.n_floats; i++) g.data[i] /= (float)count;
    double norm_cpu = hx_grad_norm(&g), norm_dev;
    hx_grad_clip(&g, 1.0);
    SETUP(hx_adamw_step(&opt, &m, &g, 1e-3));
    SETUP(hx_dmodel_zero_grad(d));
    SETUP(hx_dmodel_forward(d, ids));
    SETUP(hx_dmodel_loss(d, NULL, tgt, 1, 0, 1, &dce2, NULL));
    SETUP(hx_dmodel_backward(d));
    SETUP(hx_dmodel_grad_norm(d, count, &norm_dev));
    check(fabs(norm_dev / norm_cpu - 1) <= 0.05, "gradient norm ratio - 1", f->name, fabs(norm_dev / norm_cpu - 1), 0.05);
    SETUP(hx_dmodel_step(d, 1e-3, count, norm_dev, 1.0));
    SETUP(hx_dmodel_get(d, &w1, NULL, NULL));
    for (size_t i = 0; i < m.n_floats; i++) m.data[i] -= w0.data[i], w1.data[i] -= w0.data[i];
    double r, cs = cosine(w1.data, m.data, m.n_floats, &r);
    check(cs >= 0.999, "AdamW update cosine", f->name, cs, 0.999);

    hx_adamw_free(&opt);
    hx_dmodel_free(d);
    hx_dmodel_free(dt);
    hx_workspace_free(&ws);
    hx_workspace_free(&tws);
    hx_model *all[] = {&m, &t, &g, &gk, &gd, &gd2, &w0, &w1};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) hx_model_free(all[i]);
    free(ids), free(tgt), free(mask), free(logits), free(dev_logits);
}

/* Llama-3.1-8B (teacher) and Llama-3.1-Minitron-4B-Width (student) shapes. */
static hx_config llama31(int hidden, int inter, int heads)
{
    hx_config c = base();
    c.vocab_size = 128256, c.hidden_size = hidden, c.intermediate_size = inter, c.num_hidden_layers = 32;
    c.num_attention_heads = heads, c.num_key_value_heads = 8, c.head_dim = 128, c.max_position_embeddings = 131072;
    c.rope_theta = 500000, c.rope_type = HX_ROPE_LLAMA3, c.rope_factor = 8, c.rope_low_freq_factor = 1;
    c.rope_high_freq_factor = 4, c.rope_original_max_position = 8192;
    return c;
}

static void bench(double peak_tflops)
{
    const int T = 8192;
    hx_config tc = llama31(4096, 14336, 32), sc = llama31(3072, 9216, 32);
    hx_dmodel_opts ot = {.B = 1, .T = T, .head_rows = 2048};
    hx_dmodel_opts os = {.B = 1, .T = T, .train = 1, .head_rows = 2048, .adamw = hx_adamw_defaults()};
    hx_dmodel *t = NULL, *s = NULL;
    SETUP(hx_dmodel_create_random(&t, &tc, 1, &ot));
    if (hx_dmodel_create_random(&s, &sc, 2, &os) < 0) {
        printf("BENCH note: student without recomputation does not fit (%s); retrying with recompute\n", hx_errmsg());
        os.recompute = 1;
        SETUP(hx_dmodel_create_random(&s, &sc, 2, &os));
    }
    printf("BENCH memory: teacher %.1f GB, student %.1f GB (recompute %d)\n", hx_dmodel_bytes(t) / 1e9,
           hx_dmodel_bytes(s) / 1e9, os.recompute);
    int32_t *ids = malloc(T * sizeof *ids), *tgt = malloc(T * sizeof *tgt);
    for (int i = 0; i < T; i++) ids[i] = (int32_t)((i * 7919u) % 128000u), tgt[i] = (int32_t)((i * 104729u) % 128000u);
    double ft = hx_flops_forward_per_token(&tc, T), fs = hx_flops_forward_per_token(&sc, T);
    double train_flops = (3 + os.recompute) * fs * T; /* forward + backward (2x) + recomputed forward */
    const char *what[3] = {"kd_step", "train_step", "teacher_forward"};
    double flops[3] = {train_flops + ft * T, train_flops, ft * T};
    for (int k = 0; k < 3; k++) {
        double best = 1e30, ce, kd;
        for (int rep = 0; rep < 4; rep++) { /* the first is a warm-up */
            double t0 = hx_now();
            if (k == 2) {
                SETUP(hx_dmodel_forward(t, ids));
                SETUP(hx_dmodel_loss(t, NULL, tgt, 1, 0, 0, &ce, NULL));
            } else {
                SETUP(hx_dmodel_zero_grad(s));
                if (k == 0) SETUP(hx_dmodel_forward(t, ids));
                SETUP(hx_dmodel_forward(s, ids));
                SETUP(hx_dmodel_loss(s, k == 0 ? t : NULL, tgt, 1, 0, 1, &ce, &kd));
                SETUP(hx_dmodel_backward(s));
                double norm;
                SETUP(hx_dmodel_grad_norm(s, T, &norm));
                SETUP(hx_dmodel_step(s, 1e-5, T, norm, 1.0));
                SETUP(hx_dmodel_grad_norm(s, T, &norm)); /* waits for the step */
            }
            double dt = hx_now() - t0;
            if (rep > 0 && dt < best) best = dt;
        }
        double tflops = flops[k] / best / 1e12;
        printf("BENCH %s seq %d: %.3f s, %.0f tokens/s, %.0f TFLOP/s, MFU %.1f%% of %.0f TFLOP/s dense bf16\n", what[k],
               T, best, T / best, tflops, 100 * tflops / peak_tflops, peak_tflops);
    }
    free(ids), free(tgt);
    hx_dmodel_free(s);
    hx_dmodel_free(t);
}

/* NCCL on this machine: a one-GPU communicator all-reduces a buffer in place
 * (the sum over one rank is the identity), the path hx_dmodel_grad_allreduce
 * takes with several ranks. */
static void check_nccl(void)
{
    ncclComm_t comm;
    int dev = 0, ok = ncclCommInitAll(&comm, 1, &dev) == ncclSuccess;
    float host[1024], back[1024], *buf = NULL;
    for (int i = 0; i < 1024; i++) host[i] = (float)i * 0.5f;
    ok = ok && cudaMalloc((void **)&buf, sizeof host) == cudaSuccess &&
         cudaMemcpy(buf, host, sizeof host, cudaMemcpyHostToDevice) == cudaSuccess &&
         ncclAllReduce(buf, buf, 1024, ncclFloat, ncclSum, comm, 0) == ncclSuccess &&
         cudaMemcpy(back, buf, sizeof back, cudaMemcpyDeviceToHost) == cudaSuccess && !memcmp(host, back, sizeof host);
    check(ok, "NCCL all-reduce, 1 GPU", "nccl", !ok, 0);
    cudaFree(buf);
    if (ok) ncclCommDestroy(comm);
}

int main(int argc, char **argv)
{
    int checks = 1, do_bench = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-bench") == 0) do_bench = 0;
        else if (strcmp(argv[i], "--bench-only") == 0) checks = 0;
        else {
            fprintf(stderr, "usage: engine_check [--no-bench | --bench-only]\n");
            return 2;
        }
    }
    hx_device dev;
    if (hx_device_resolve(HX_DEVICE_CUDA, &dev) < 0) {
        fprintf(stderr, "SETUP %s\n", hx_errmsg());
        return 2;
    }
    if (checks) {
        fixture fx[4] = {{"gqa", base()}, {"llama3_tied", base()}, {"head_dim_ne", base()}, {"sliding", base()}};
        fx[1].cfg.rope_type = HX_ROPE_LLAMA3, fx[1].cfg.rope_factor = 8, fx[1].cfg.rope_low_freq_factor = 1;
        fx[1].cfg.rope_high_freq_factor = 4, fx[1].cfg.rope_original_max_position = 32;
        fx[1].cfg.tie_word_embeddings = 1;
        fx[2].cfg.hidden_size = 96, fx[2].cfg.num_key_value_heads = 1; /* 4 heads x 32 != 96 */
        fx[3].cfg.sliding_window = 16, fx[3].cfg.num_key_value_heads = 4;
        snprintf(fx[3].cfg.model_type, sizeof fx[3].cfg.model_type, "mistral");
        for (int i = 0; i < 4; i++) check_fixture(&fx[i]);
        check_nccl();
        printf("SUMMARY %d passed, %d failed\n", passed, failed);
        fflush(stdout);
    }
    if (do_bench) bench(989.0); /* H100/H200 SXM dense bf16 tensor-core peak (NVIDIA datasheet) */
    return failed ? 1 : 0;
}
