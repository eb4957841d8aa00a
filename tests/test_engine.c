/* Engine behaviour beyond gradients: field case C04 (K/V shaped by the KV
 * head count at 64/8 heads, head_dim 128), C12 (GQA dK/dV equal the group
 * sum of an expanded multi-head run), C08 (micro-batch split with a global
 * normalisation count), bit-identical repeats, forward-only mode and layer
 * hooks, the layer-skip mask, deterministic initialisation, and the LM head
 * in chunks (the logits of a micro-batch never whole). */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "cpu/ops.h"
#include "model/forward.h"
#include "model/init.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hx_rng g_rng;

static void fill(float *f, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) f[i] = (float)(scale * hx_rng_normal(&g_rng));
}

/* max|a - b| / max|b|; +INFINITY when either side has a NaN or Inf. */
static double max_rel(const float *a, const float *b, size_t n) { return hx_test_compare_f(a, b, n, "max_rel").rel; }

/* Field case C04 as stated: 64 query heads, 8 KV heads, head_dim 128,
 * sequence 4096 (about 275 GFLOP of causal attention, a few seconds on 2
 * cores). K and V are allocated as exactly [T, 8, 128]; a sample of query
 * rows (including the last) of every head is checked against a naive double
 * computation that reads KV head h/8 from that layout. */
static void test_c04_kv_layout(void **state)
{
    (void)state;
    const int T = 4096, Hq = 64, Hkv = 8, D = 128;
    hx_attn_shape s = {1, T, Hq, Hkv, D, 0};
    size_t nq = (size_t)T * Hq * D, nkv = (size_t)T * Hkv * D;
    float *q = malloc(sizeof(float) * nq), *o = malloc(sizeof(float) * nq);
    float *k = malloc(sizeof(float) * nkv), *v = malloc(sizeof(float) * nkv);
    assert_true(q && o && k && v);
    fill(q, nq, 1.0);
    fill(k, nkv, 1.0);
    fill(v, nkv, 1.0);
    assert_int_equal(hx_attention_fwd(o, NULL, q, k, v, &s), HX_OK);
    const int rows[] = {0, 1, 63, 64, 500, 2049, 4095};
    double *p = malloc(sizeof(double) * T), worst = 0;
    for (size_t ri = 0; ri < sizeof rows / sizeof *rows; ri++)
        for (int h = 0; h < Hq; h++) {
            int i = rows[ri], g = h / (Hq / Hkv);
            const float *qi = q + ((size_t)i * Hq + h) * D;
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j <= i; j++) {
                const float *kj = k + ((size_t)j * Hkv + g) * D;
                double d = 0;
                for (int e = 0; e < D; e++) d += (double)qi[e] * kj[e];
                p[j] = d / sqrt((double)D);
                mx = fmax(mx, p[j]);
            }
            for (int j = 0; j <= i; j++) sum += (p[j] = exp(p[j] - mx));
            for (int e = 0; e < D; e++) {
                double ref = 0;
                for (int j = 0; j <= i; j++) ref += p[j] / sum * v[((size_t)j * Hkv + g) * D + e];
                worst = hx_test_worst(worst, fabs(o[((size_t)i * Hq + h) * D + e] - ref));
            }
        }
    printf("C04 T=%d Hq=%d Hkv=%d D=%d: max abs err %.3g\n", T, Hq, Hkv, D, worst);
    assert_true(worst < 1e-5);
    free(p), free(q), free(o), free(k), free(v);
}

/* C12 stated literally: GQA dK/dV of KV head g equal the sum over its query
 * heads of the dK/dV that plain multi-head attention computes when every
 * query head gets its own copy of K/V. */
static void test_c12_group_sum(void **state)
{
    (void)state;
    const int B = 1, T = 4, Hq = 4, Hkv = 2, D = 8, grp = Hq / Hkv;
    size_t nq = (size_t)B * T * Hq * D, nkv = (size_t)B * T * Hkv * D;
    float q[128], k[64], v[64], dout[128], o[128], lse[16], dq[128], dk[64], dv[64];
    float ke[128], ve[128], oe[128], lsee[16], dqe[128], dke[128], dve[128];
    fill(q, nq, 1.0);
    fill(k, nkv, 1.0);
    fill(v, nkv, 1.0);
    fill(dout, nq, 1.0);
    for (int t = 0; t < T; t++)
        for (int h = 0; h < Hq; h++) {
            memcpy(ke + ((size_t)t * Hq + h) * D, k + ((size_t)t * Hkv + h / grp) * D, sizeof(float) * D);
            memcpy(ve + ((size_t)t * Hq + h) * D, v + ((size_t)t * Hkv + h / grp) * D, sizeof(float) * D);
        }
    hx_attn_shape gqa = {B, T, Hq, Hkv, D, 0}, mha = {B, T, Hq, Hq, D, 0};
    assert_int_equal(hx_attention_fwd(o, lse, q, k, v, &gqa), HX_OK);
    assert_int_equal(hx_attention_fwd(oe, lsee, q, ke, ve, &mha), HX_OK);
    assert_memory_equal(o, oe, sizeof(float) * nq);
    assert_int_equal(hx_attention_bwd(dq, dk, dv, dout, q, k, v, o, lse, &gqa), HX_OK);
    assert_int_equal(hx_attention_bwd(dqe, dke, dve, dout, q, ke, ve, oe, lsee, &mha), HX_OK);
    assert_true(max_rel(dq, dqe, nq) < 1e-6);
    for (int t = 0; t < T; t++)
        for (int g = 0; g < Hkv; g++)
            for (int e = 0; e < D; e++) {
                double sk = 0, sv = 0;
                for (int h = g * grp; h < (g + 1) * grp; h++) {
                    sk += dke[((size_t)t * Hq + h) * D + e];
                    sv += dve[((size_t)t * Hq + h) * D + e];
                }
                assert_true(fabs(dk[((size_t)t * Hkv + g) * D + e] - sk) < 1e-5);
                assert_true(fabs(dv[((size_t)t * Hkv + g) * D + e] - sv) < 1e-5);
            }
}

static hx_config small_cfg(int layers)
{
    hx_config c = {0};
    snprintf(c.model_type, sizeof c.model_type, "llama");
    c.vocab_size = 64;
    c.hidden_size = 32;
    c.intermediate_size = 48;
    c.num_hidden_layers = layers;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 8;
    c.max_position_embeddings = 128;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0;
    c.bos_token_id = c.eos_token_id = -1;
    return c;
}

static void make_model(hx_model *m, const hx_config *c, uint64_t seed)
{
    assert_int_equal(hx_model_alloc(m, c), HX_OK);
    assert_int_equal(hx_model_init_random(m, seed), HX_OK);
    for (size_t i = 0; i < m->n_floats; i++) m->data[i] *= m->data[i] == 1.0f ? 1.0f : 8.0f;
}

/* Forward, CE over `count` targets, backward into g; returns the loss sum. */
static double train_step(hx_model *m, hx_workspace *ws, const int32_t *ids, const int32_t *targets, double count,
                         hx_model *g)
{
    int N = ws->B * ws->T, V = m->cfg.vocab_size;
    assert_int_equal(hx_forward(m, ws, ids, NULL), HX_OK);
    double sum;
    assert_int_equal(hx_cross_entropy(ws->logits, targets, N, V, HX_IGNORE_INDEX, count, ws->logits, &sum), HX_OK);
    assert_int_equal(hx_backward(m, ws, ws->logits, g), HX_OK);
    return sum;
}

/* Repeatability: the same forward+backward twice, same thread count, gives
 * bit-identical logits and gradients. */
static void test_repeat_bit_identical(void **state)
{
    (void)state;
    hx_config c = small_cfg(2);
    c.sliding_window = 20;
    hx_model m, g1, g2;
    make_model(&m, &c, 3);
    assert_int_equal(hx_model_alloc(&g1, &c), HX_OK);
    assert_int_equal(hx_model_alloc(&g2, &c), HX_OK);
    const int B = 3, T = 80, N = B * T; /* T > one 64-row attention block */
    int32_t *ids = malloc(sizeof(int32_t) * N), *tg = malloc(sizeof(int32_t) * N);
    for (int i = 0; i < N; i++) ids[i] = (int32_t)hx_rng_below(&g_rng, (uint64_t)c.vocab_size);
    long cnt = hx_shift_labels(tg, ids, B, T, HX_IGNORE_INDEX);
    hx_workspace ws;
    assert_int_equal(hx_workspace_alloc(&ws, &c, B, T, HX_WS_TRAIN), HX_OK);
    assert_int_equal(hx_forward(&m, &ws, ids, NULL), HX_OK);
    float *logits = malloc(sizeof(float) * (size_t)N * c.vocab_size);
    memcpy(logits, ws.logits, sizeof(float) * (size_t)N * c.vocab_size);
    double l1 = train_step(&m, &ws, ids, tg, (double)cnt, &g1);
    assert_int_equal(hx_forward(&m, &ws, ids, NULL), HX_OK);
    assert_memory_equal(logits, ws.logits, sizeof(float) * (size_t)N * c.vocab_size);
    double l2 = train_step(&m, &ws, ids, tg, (double)cnt, &g2);
    assert_true(l1 == l2);
    assert_memory_equal(g1.data, g2.data, sizeof(float) * g1.n_floats);
    free(ids), free(tg), free(logits);
    hx_workspace_free(&ws);
    hx_model_free(&m), hx_model_free(&g1), hx_model_free(&g2);
}

/* The LM head in chunks of 7 rows over 2 x 40 tokens (the last chunk 3 rows)
 * against the whole head: logits, loss and every gradient agree to fp32
 * rounding (OpenBLAS may run another kernel for another row count, and
 * lm_head's gradient is summed over chunks). The range and mode checks, and
 * the automatic row count. */
static void test_head_in_chunks(void **state)
{
    (void)state;
    hx_config c = small_cfg(2);
    hx_model m, g1, g2;
    make_model(&m, &c, 4);
    assert_int_equal(hx_model_alloc(&g1, &c), HX_OK);
    assert_int_equal(hx_model_alloc(&g2, &c), HX_OK);
    const int B = 2, T = 40, N = B * T, V = c.vocab_size, R = 7;
    int32_t ids[80], tg[80];
    for (int i = 0; i < N; i++) ids[i] = (int32_t)hx_rng_below(&g_rng, (uint64_t)V);
    long cnt = hx_shift_labels(tg, ids, B, T, HX_IGNORE_INDEX);
    hx_workspace whole, part;
    assert_int_equal(hx_workspace_alloc(&whole, &c, B, T, HX_WS_TRAIN), HX_OK);
    assert_int_equal(hx_workspace_alloc_rows(&part, &c, B, T, HX_WS_TRAIN, R), HX_OK);
    assert_int_equal(whole.head_rows, N);
    assert_int_equal(part.head_rows, R);
    assert_int_equal(hx_forward(&m, &whole, ids, NULL), HX_OK);
    float *logits = malloc(sizeof(float) * (size_t)N * V);
    memcpy(logits, whole.logits, sizeof(float) * (size_t)N * V);
    double l1 = train_step(&m, &whole, ids, tg, (double)cnt, &g1);
    assert_int_equal(hx_forward(&m, &part, ids, NULL), HX_OK);
    double l2 = 0;
    for (int r0 = 0; r0 < N; r0 += R) {
        int n = N - r0 < R ? N - r0 : R;
        double s;
        assert_int_equal(hx_head_logits(&m, &part, r0, n), HX_OK);
        assert_true(max_rel(part.logits, logits + (size_t)r0 * V, (size_t)n * V) < 1e-5);
        assert_int_equal(hx_cross_entropy(part.logits, tg + r0, n, V, HX_IGNORE_INDEX, (double)cnt, part.logits, &s),
                         HX_OK);
        assert_int_equal(hx_head_backward(&m, &part, r0, n, part.logits, &g2), HX_OK);
        l2 += s;
    }
    assert_int_equal(hx_backward_ex(&m, &part, NULL, NULL, &g2), HX_OK);
    assert_true(fabs(l1 - l2) <= 1e-6 * fabs(l1));
    size_t len = (size_t)V * c.hidden_size;
    double rel = max_rel(g2.lm_head, g1.lm_head, len), all = max_rel(g2.data, g1.data, g1.n_floats);
    printf("chunks of %d vs whole: loss %.9g vs %.9g; gradients max relative difference %.2e (lm_head %.2e)\n", R,
           l2, l1, all, rel);
    assert_true(all < 1e-4);
    /* misuse: whole-logits backward on a chunked workspace, rows past the end or over the chunk */
    assert_int_equal(hx_backward(&m, &part, logits, &g2), HX_EINVAL);
    assert_int_equal(hx_head_logits(&m, &part, N - 3, 4), HX_EINVAL);
    assert_int_equal(hx_head_logits(&m, &part, 0, R + 1), HX_EINVAL);
    hx_workspace inf;
    assert_int_equal(hx_workspace_alloc_rows(&inf, &c, B, T, HX_WS_INFER, R), HX_OK);
    assert_int_equal(hx_head_backward(&m, &inf, 0, R, logits, &g2), HX_EINVAL);
    /* the automatic count: whole within 512 MiB, else 16-row multiples that fit */
    assert_int_equal(hx_head_rows_auto(2048, 2048), 2048);
    assert_int_equal(hx_head_rows_auto(2048, 49152), 2048);
    assert_int_equal(hx_head_rows_auto(4096, 49152), 2720);
    assert_int_equal(hx_head_rows_auto(16384, 128256), 1040);
    assert_int_equal(hx_head_rows_auto(64, 1 << 30), 16);
    free(logits);
    hx_workspace_free(&whole), hx_workspace_free(&part), hx_workspace_free(&inf);
    hx_model_free(&m), hx_model_free(&g1), hx_model_free(&g2);
}

/* C08: one batch of 4 versus two micro-batches of 2, uneven ignored
 * positions, both normalised by the global unmasked count: equal loss and
 * gradients to rounding. An all-ignored micro-batch adds exactly nothing. */
static void test_c08_microbatch_split(void **state)
{
    (void)state;
    hx_config c = small_cfg(2);
    hx_model m, ga, gb;
    make_model(&m, &c, 5);
    assert_int_equal(hx_model_alloc(&ga, &c), HX_OK);
    assert_int_equal(hx_model_alloc(&gb, &c), HX_OK);
    const int T = 9, N = 4 * T;
    int32_t ids[36], labels[36], tg[36];
    for (int i = 0; i < N; i++) ids[i] = labels[i] = (int32_t)hx_rng_below(&g_rng, (uint64_t)c.vocab_size);
    for (int t = 0; t < 7; t++) labels[t] = HX_IGNORE_INDEX; /* sequence 0 mostly padding */
    labels[2 * T + 4] = HX_IGNORE_INDEX;
    long total = hx_shift_labels(tg, labels, 4, T, HX_IGNORE_INDEX);
    hx_workspace w4, w2;
    assert_int_equal(hx_workspace_alloc(&w4, &c, 4, T, HX_WS_TRAIN), HX_OK);
    assert_int_equal(hx_workspace_alloc(&w2, &c, 2, T, HX_WS_TRAIN), HX_OK);
    double la = train_step(&m, &w4, ids, tg, (double)total, &ga);
    double lb = train_step(&m, &w2, ids, tg, (double)total, &gb);
    lb += train_step(&m, &w2, ids + 2 * T, tg + 2 * T, (double)total, &gb);
    assert_true(fabs(la - lb) < 1e-6 * fabs(la));
    assert_true(max_rel(gb.data, ga.data, ga.n_floats) < 1e-5);
    /* All-masked micro-batch: zero loss, gradients unchanged. */
    int32_t none[18];
    for (int i = 0; i < 18; i++) none[i] = HX_IGNORE_INDEX;
    float *before = malloc(sizeof(float) * gb.n_floats);
    memcpy(before, gb.data, sizeof(float) * gb.n_floats);
    assert_true(train_step(&m, &w2, ids, none, 0.0, &gb) == 0.0);
    assert_memory_equal(before, gb.data, sizeof(float) * gb.n_floats);
    free(before);
    hx_workspace_free(&w4), hx_workspace_free(&w2);
    hx_model_free(&m), hx_model_free(&ga), hx_model_free(&gb);
}

/* Hook context: copies layer outputs seen during a forward. */
typedef struct {
    float *attn_out[3], *act[3], *out[3];
    size_t nq, nf, nh;
    int calls;
} hook_ctx;

static int copy_hook(void *p, int layer, const hx_layer_acts *a, const hx_workspace *ws)
{
    (void)ws;
    hook_ctx *h = p;
    memcpy(h->attn_out[layer], a->attn_out, sizeof(float) * h->nq);
    memcpy(h->act[layer], a->act, sizeof(float) * h->nf);
    memcpy(h->out[layer], a->out, sizeof(float) * h->nh);
    h->calls++;
    return HX_OK;
}

/* Forward-only mode gives the training forward's logits bit for bit, and its
 * hook sees each layer's intermediates exactly as the training workspace
 * stores them. */
static void test_infer_mode_and_hook(void **state)
{
    (void)state;
    hx_config c = small_cfg(3);
    hx_model m;
    make_model(&m, &c, 9);
    const int B = 2, T = 11, N = B * T;
    int32_t ids[22];
    for (int i = 0; i < N; i++) ids[i] = (int32_t)hx_rng_below(&g_rng, (uint64_t)c.vocab_size);
    hx_workspace wt, wi;
    assert_int_equal(hx_workspace_alloc(&wt, &c, B, T, HX_WS_TRAIN), HX_OK);
    assert_int_equal(hx_workspace_alloc(&wi, &c, B, T, HX_WS_INFER), HX_OK);
    hook_ctx h = {.nq = (size_t)N * 32, .nf = (size_t)N * 48, .nh = (size_t)N * 32};
    for (int l = 0; l < 3; l++) {
        h.attn_out[l] = malloc(sizeof(float) * h.nq);
        h.act[l] = malloc(sizeof(float) * h.nf);
        h.out[l] = malloc(sizeof(float) * h.nh);
    }
    wi.hook = copy_hook;
    wi.hook_ctx = &h;
    assert_int_equal(hx_forward(&m, &wt, ids, NULL), HX_OK);
    for (int rep = 0; rep < 2; rep++) { /* twice: the ping-pong buffers must reset */
        h.calls = 0;
        assert_int_equal(hx_forward(&m, &wi, ids, NULL), HX_OK);
        assert_int_equal(h.calls, 3);
        assert_memory_equal(wt.logits, wi.logits, sizeof(float) * (size_t)N * c.vocab_size);
    }
    for (int l = 0; l < 3; l++) {
        const hx_layer_acts *a = hx_ws_layer(&wt, l);
        assert_non_null(a);
        assert_memory_equal(a->attn_out, h.attn_out[l], sizeof(float) * h.nq);
        assert_memory_equal(a->act, h.act[l], sizeof(float) * h.nf);
        assert_memory_equal(a->out, h.out[l], sizeof(float) * h.nh);
        free(h.attn_out[l]), free(h.act[l]), free(h.out[l]);
    }
    assert_null(hx_ws_layer(&wi, 0));
    /* Backward on a forward-only workspace is refused. */
    hx_model g;
    assert_int_equal(hx_model_alloc(&g, &c), HX_OK);
    assert_int_equal(hx_backward(&m, &wi, wi.logits, &g), HX_EINVAL);
    hx_model_free(&g);
    hx_workspace_free(&wt), hx_workspace_free(&wi);
    hx_model_free(&m);
}

/* Skipping layer 0 of a 2-layer model equals the 1-layer model made of
 * layer 1 alone (same embeddings, norm, head), in both modes; backward then
 * leaves the skipped layer's gradient at zero. Bad ids are rejected. */
static void test_layer_skip_mask(void **state)
{
    (void)state;
    hx_config c2 = small_cfg(2), c1 = small_cfg(1);
    hx_model m2, m1;
    make_model(&m2, &c2, 11);
    assert_int_equal(hx_model_alloc(&m1, &c1), HX_OK);
    size_t vh = (size_t)c2.vocab_size * c2.hidden_size, lf = (size_t)(m2.layers[1].down_proj - m2.layers[1].input_layernorm) +
                                                               (size_t)c2.hidden_size * c2.intermediate_size;
    memcpy(m1.embed_tokens, m2.embed_tokens, sizeof(float) * vh);
    memcpy(m1.layers[0].input_layernorm, m2.layers[1].input_layernorm, sizeof(float) * lf);
    memcpy(m1.norm, m2.norm, sizeof(float) * c2.hidden_size);
    memcpy(m1.lm_head, m2.lm_head, sizeof(float) * vh);
    const int B = 2, T = 6, N = B * T;
    int32_t ids[12], tg[12];
    for (int i = 0; i < N; i++) ids[i] = (int32_t)hx_rng_below(&g_rng, (uint64_t)c2.vocab_size);
    unsigned char active[2] = {0, 1};
    hx_workspace w2, w1, wi;
    assert_int_equal(hx_workspace_alloc(&w2, &c2, B, T, HX_WS_TRAIN), HX_OK);
    assert_int_equal(hx_workspace_alloc(&wi, &c2, B, T, HX_WS_INFER), HX_OK);
    assert_int_equal(hx_workspace_alloc(&w1, &c1, B, T, HX_WS_TRAIN), HX_OK);
    assert_int_equal(hx_forward(&m2, &w2, ids, active), HX_OK);
    assert_int_equal(hx_forward(&m2, &wi, ids, active), HX_OK);
    assert_int_equal(hx_forward(&m1, &w1, ids, NULL), HX_OK);
    size_t nl = (size_t)N * c2.vocab_size;
    assert_memory_equal(w2.logits, w1.logits, sizeof(float) * nl);
    assert_memory_equal(wi.logits, w1.logits, sizeof(float) * nl);
    hx_model g2, g1;
    assert_int_equal(hx_model_alloc(&g2, &c2), HX_OK);
    assert_int_equal(hx_model_alloc(&g1, &c1), HX_OK);
    long cnt = hx_shift_labels(tg, ids, B, T, HX_IGNORE_INDEX);
    double sum;
    assert_int_equal(hx_cross_entropy(w2.logits, tg, N, c2.vocab_size, HX_IGNORE_INDEX, (double)cnt, w2.logits, &sum),
                     HX_OK);
    assert_int_equal(hx_cross_entropy(w1.logits, tg, N, c1.vocab_size, HX_IGNORE_INDEX, (double)cnt, w1.logits, &sum),
                     HX_OK);
    assert_int_equal(hx_backward(&m2, &w2, w2.logits, &g2), HX_OK);
    assert_int_equal(hx_backward(&m1, &w1, w1.logits, &g1), HX_OK);
    for (size_t i = 0; i < lf; i++) assert_true(g2.layers[0].input_layernorm[i] == 0.0f);
    assert_memory_equal(g2.layers[1].input_layernorm, g1.layers[0].input_layernorm, sizeof(float) * lf);
    assert_memory_equal(g2.embed_tokens, g1.embed_tokens, sizeof(float) * vh);
    ids[5] = c2.vocab_size;
    assert_int_equal(hx_forward(&m2, &w2, ids, NULL), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "position 5"));
    hx_workspace_free(&w2), hx_workspace_free(&w1), hx_workspace_free(&wi);
    hx_model_free(&m2), hx_model_free(&m1), hx_model_free(&g2), hx_model_free(&g1);
}

/* hx_model_init_random: same seed same values, norms ones, linear std 0.02,
 * a different seed differs. */
static void test_init_random(void **state)
{
    (void)state;
    hx_config c = small_cfg(2);
    hx_model a, b;
    assert_int_equal(hx_model_alloc(&a, &c), HX_OK);
    assert_int_equal(hx_model_alloc(&b, &c), HX_OK);
    assert_int_equal(hx_model_init_random(&a, 42), HX_OK);
    assert_int_equal(hx_model_init_random(&b, 42), HX_OK);
    assert_memory_equal(a.data, b.data, sizeof(float) * a.n_floats);
    for (int j = 0; j < c.hidden_size; j++) assert_true(a.norm[j] == 1.0f && a.layers[1].input_layernorm[j] == 1.0f);
    size_t n = (size_t)c.intermediate_size * c.hidden_size;
    double s2 = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        s += a.layers[0].gate_proj[i];
        s2 += (double)a.layers[0].gate_proj[i] * a.layers[0].gate_proj[i];
    }
    double sd = sqrt(s2 / n - (s / n) * (s / n));
    assert_true(fabs(sd - HX_INIT_STD) < 0.1 * HX_INIT_STD);
    assert_true(memcmp(a.layers[0].gate_proj, a.layers[0].up_proj, sizeof(float) * n) != 0);
    assert_int_equal(hx_model_init_random(&b, 43), HX_OK);
    assert_true(memcmp(a.data, b.data, sizeof(float) * a.n_floats) != 0);
    hx_model_free(&a), hx_model_free(&b);
}

int main(void)
{
    hx_threads_init();
    hx_rng_seed(&g_rng, 99);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c04_kv_layout),        cmocka_unit_test(test_c12_group_sum),
        cmocka_unit_test(test_repeat_bit_identical), cmocka_unit_test(test_c08_microbatch_split),
        cmocka_unit_test(test_infer_mode_and_hook),  cmocka_unit_test(test_layer_skip_mask),
        cmocka_unit_test(test_init_random),          cmocka_unit_test(test_head_in_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
