/* Finite-difference checks of every CPU kernel's backward and of the whole
 * model. Each op's fp32 forward is compared with a naive double-precision
 * reference, and its fp32 analytic gradient with central differences of that
 * double reference (h = 1e-5, so the FD error is ~1e-10 and a 1e-4 tolerance
 * only absorbs fp32 rounding). The loss is sum(r * op(x)) with fixed random r.
 * The whole model is checked by directional derivatives of its fp32 loss. */
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

#define OP_TOL 1e-4

static hx_rng g_rng;

static void fill(float *f, double *d, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) {
        f[i] = (float)(scale * hx_rng_normal(&g_rng));
        if (d) d[i] = f[i];
    }
}

static double dot_d(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* max|a - b| / max|b| between fp32 results and a double reference;
 * +INFINITY (and the first bad index printed) when either side has a NaN or Inf. */
static double rel_err_fd(const float *a, const double *b, size_t n) { return hx_test_compare_fd(a, b, n, "rel_err_fd").rel; }

/* Central differences of loss(ctx) over every element of x (double), compared
 * with the analytic fp32 gradient. Returns the relative error, +INFINITY when
 * any FD or analytic element is NaN or Inf. */
static double fd_check(const char *what, double *x, size_t n, const float *grad, double (*loss)(void *), void *ctx)
{
    const double h = 1e-5;
    double *fd = malloc(sizeof(double) * n);
    assert_non_null(fd);
    for (size_t i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + h;
        double lp = loss(ctx);
        x[i] = x0 - h;
        double lm = loss(ctx);
        x[i] = x0;
        fd[i] = (lp - lm) / (2 * h);
    }
    double e = hx_test_compare_fd(grad, fd, n, what).rel; /* a non-finite FD or analytic element: +INFINITY */
    printf("%-40s FD rel err %.3g\n", what, e);
    free(fd);
    return e;
}

/* ---------------- RMSNorm ---------------- */

enum { RN_N = 3, RN_H = 8 };
typedef struct {
    double x[RN_N * RN_H], w[RN_H], r[RN_N * RN_H];
} rn_ctx;

static void rmsnorm_ref(double *y, const double *x, const double *w, int N, int H, double eps)
{
    for (int i = 0; i < N; i++) {
        double ss = 0;
        for (int j = 0; j < H; j++) ss += x[i * H + j] * x[i * H + j];
        double r = 1 / sqrt(ss / H + eps);
        for (int j = 0; j < H; j++) y[i * H + j] = w[j] * x[i * H + j] * r;
    }
}

static double rn_loss(void *p)
{
    rn_ctx *c = p;
    double y[RN_N * RN_H];
    rmsnorm_ref(y, c->x, c->w, RN_N, RN_H, 1e-5);
    return dot_d(y, c->r, RN_N * RN_H);
}

static void test_rmsnorm(void **state)
{
    (void)state;
    rn_ctx c;
    float x[RN_N * RN_H], w[RN_H], r[RN_N * RN_H], y[RN_N * RN_H], rstd[RN_N];
    fill(x, c.x, RN_N * RN_H, 1.0);
    fill(w, c.w, RN_H, 1.0);
    fill(r, c.r, RN_N * RN_H, 1.0);
    hx_rmsnorm_fwd(y, rstd, x, w, RN_N, RN_H, 1e-5f);
    double yr[RN_N * RN_H];
    rmsnorm_ref(yr, c.x, c.w, RN_N, RN_H, 1e-5);
    assert_true(rel_err_fd(y, yr, RN_N * RN_H) < 1e-6);
    float dx[RN_N * RN_H] = {0}, dw[RN_H] = {0};
    hx_rmsnorm_bwd(dx, dw, r, x, w, rstd, RN_N, RN_H);
    assert_true(fd_check("rmsnorm dx", c.x, RN_N * RN_H, dx, rn_loss, &c) < OP_TOL);
    assert_true(fd_check("rmsnorm dw", c.w, RN_H, dw, rn_loss, &c) < OP_TOL);
    /* dx is added to what is already there (the residual gradient). */
    float dx2[RN_N * RN_H], dw2[RN_H] = {0};
    for (int i = 0; i < RN_N * RN_H; i++) dx2[i] = 1.0f;
    hx_rmsnorm_bwd(dx2, dw2, r, x, w, rstd, RN_N, RN_H);
    for (int i = 0; i < RN_N * RN_H; i++) assert_float_equal(dx2[i], 1.0f + dx[i], 1e-6);
}

/* ---------------- RoPE (incl. llama3 scaling) ---------------- */

enum { RP_B = 2, RP_T = 5, RP_HEADS = 2, RP_D = 16, RP_N = RP_B * RP_T, RP_LEN = RP_N * RP_HEADS * RP_D };
typedef struct {
    double x[RP_LEN], r[RP_LEN];
    const float *cos_t, *sin_t;
} rp_ctx;

static void rope_ref(double *y, const double *x, const float *cos_t, const float *sin_t)
{
    int half = RP_D / 2;
    for (int row = 0; row < RP_N; row++)
        for (int h = 0; h < RP_HEADS; h++)
            for (int i = 0; i < half; i++) {
                size_t o = ((size_t)row * RP_HEADS + h) * RP_D;
                double c = cos_t[(row % RP_T) * half + i], s = sin_t[(row % RP_T) * half + i];
                y[o + i] = x[o + i] * c - x[o + i + half] * s;
                y[o + i + half] = x[o + i + half] * c + x[o + i] * s;
            }
}

static double rp_loss(void *p)
{
    rp_ctx *c = p;
    double y[RP_LEN];
    rope_ref(y, c->x, c->cos_t, c->sin_t);
    return dot_d(y, c->r, RP_LEN);
}

static hx_rope_params llama3_cfg(void)
{
    return (hx_rope_params){.head_dim = RP_D, .theta = 500000.0, .llama3 = 1, .factor = 8.0, .low_freq_factor = 1.0,
                            .high_freq_factor = 4.0, .original_max_position = 1024};
}

static void test_rope_llama3_freqs(void **state)
{
    (void)state;
    /* Independent double evaluation of _compute_llama3_parameters. With theta
     * 5e5, d 16, original 1024: wavelengths 2*pi*theta^(i/8) put i = 0..2 in
     * the kept band, i = 3 in the smoothed band and i >= 4 divided by 8. */
    hx_rope_params c = llama3_cfg();
    float inv[RP_D / 2];
    hx_rope_inv_freq(inv, &c);
    int bands[3] = {0, 0, 0};
    for (int i = 0; i < RP_D / 2; i++) {
        double f = 1.0 / pow(c.theta, 2.0 * i / RP_D), wl = 2 * M_PI / f, want;
        if (wl < 1024 / 4.0) {
            want = f;
            bands[0]++;
        } else if (wl > 1024 / 1.0) {
            want = f / 8.0;
            bands[2]++;
        } else {
            double s = (1024 / wl - 1.0) / (4.0 - 1.0);
            want = (1 - s) * f / 8.0 + s * f;
            bands[1]++;
        }
        assert_true(fabs(inv[i] - want) <= 2e-6 * want);
    }
    assert_int_equal(bands[0], 3);
    assert_int_equal(bands[1], 1);
    assert_int_equal(bands[2], 4);
    /* Default RoPE differs in the scaled bands only. */
    hx_rope_params d = c;
    d.llama3 = 0;
    float inv_d[RP_D / 2];
    hx_rope_inv_freq(inv_d, &d);
    assert_float_equal(inv_d[0], inv[0], 0);
    assert_true(fabs(inv_d[7] / inv[7] - 8.0) < 1e-5);
    /* Table: cos/sin of t * inv_freq. */
    float ct[RP_T * RP_D / 2], st[RP_T * RP_D / 2];
    hx_rope_table(ct, st, &c, RP_T);
    for (int t = 0; t < RP_T; t++)
        for (int i = 0; i < RP_D / 2; i++) {
            assert_true(fabs(ct[t * RP_D / 2 + i] - cos((double)t * inv[i])) < 1e-6);
            assert_true(fabs(st[t * RP_D / 2 + i] - sin((double)t * inv[i])) < 1e-6);
        }
}

static void test_rope(void **state)
{
    (void)state;
    hx_rope_params cfg = llama3_cfg();
    static float ct[RP_T * RP_D / 2], st[RP_T * RP_D / 2];
    hx_rope_table(ct, st, &cfg, RP_T);
    static rp_ctx c;
    c.cos_t = ct;
    c.sin_t = st;
    float x[RP_LEN], r[RP_LEN];
    fill(x, c.x, RP_LEN, 1.0);
    fill(r, c.r, RP_LEN, 1.0);
    double y[RP_LEN];
    rope_ref(y, c.x, ct, st);
    hx_rope_fwd(x, ct, st, RP_N, RP_T, RP_HEADS, RP_D);
    assert_true(rel_err_fd(x, y, RP_LEN) < 1e-6);
    hx_rope_bwd(r, ct, st, RP_N, RP_T, RP_HEADS, RP_D); /* r becomes d loss / d x */
    assert_true(fd_check("rope llama3 dx", c.x, RP_LEN, r, rp_loss, &c) < OP_TOL);
}

/* ---------------- attention ---------------- */

/* Naive causal GQA attention in double; query head h uses KV head h/(Hq/Hkv). */
static void attention_ref(double *out, const double *q, const double *k, const double *v, const hx_attn_shape *s)
{
    int T = s->T, Hq = s->n_heads, Hkv = s->n_kv_heads, D = s->head_dim, grp = Hq / Hkv;
    double *p = malloc(sizeof(double) * T);
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < Hq; h++)
            for (int i = 0; i < T; i++) {
                const double *qi = q + (((size_t)b * T + i) * Hq + h) * D;
                double mx = -INFINITY, sum = 0;
                int lo = s->window > 0 && i - s->window + 1 > 0 ? i - s->window + 1 : 0;
                for (int j = lo; j <= i; j++) {
                    const double *kj = k + (((size_t)b * T + j) * Hkv + h / grp) * D;
                    double d = 0;
                    for (int e = 0; e < D; e++) d += qi[e] * kj[e];
                    p[j] = d / sqrt((double)D);
                    mx = fmax(mx, p[j]);
                }
                for (int j = lo; j <= i; j++) sum += (p[j] = exp(p[j] - mx));
                double *o = out + (((size_t)b * T + i) * Hq + h) * D;
                for (int e = 0; e < D; e++) o[e] = 0;
                for (int j = lo; j <= i; j++) {
                    const double *vj = v + (((size_t)b * T + j) * Hkv + h / grp) * D;
                    for (int e = 0; e < D; e++) o[e] += p[j] / sum * vj[e];
                }
            }
    free(p);
}

typedef struct {
    hx_attn_shape s;
    double *q, *k, *v, *r;
    size_t nq, nkv;
} at_ctx;

static double at_loss(void *p)
{
    at_ctx *c = p;
    double *o = malloc(sizeof(double) * c->nq);
    attention_ref(o, c->q, c->k, c->v, &c->s);
    double l = dot_d(o, c->r, c->nq);
    free(o);
    return l;
}

static void check_attention(hx_attn_shape s, const char *name)
{
    at_ctx c = {s, NULL, NULL, NULL, NULL, (size_t)s.B * s.T * s.n_heads * s.head_dim,
                (size_t)s.B * s.T * s.n_kv_heads * s.head_dim};
    c.q = malloc(sizeof(double) * c.nq);
    c.r = malloc(sizeof(double) * c.nq);
    c.k = malloc(sizeof(double) * c.nkv);
    c.v = malloc(sizeof(double) * c.nkv);
    float *q = malloc(sizeof(float) * c.nq), *r = malloc(sizeof(float) * c.nq), *o = malloc(sizeof(float) * c.nq);
    float *k = malloc(sizeof(float) * c.nkv), *v = malloc(sizeof(float) * c.nkv);
    float *dq = malloc(sizeof(float) * c.nq), *dk = malloc(sizeof(float) * c.nkv), *dv = malloc(sizeof(float) * c.nkv);
    float *lse = malloc(sizeof(float) * (size_t)s.B * s.n_heads * s.T);
    fill(q, c.q, c.nq, 1.0);
    fill(k, c.k, c.nkv, 1.0);
    fill(v, c.v, c.nkv, 1.0);
    fill(r, c.r, c.nq, 1.0);
    assert_int_equal(hx_attention_fwd(o, lse, q, k, v, &s), HX_OK);
    double *oref = malloc(sizeof(double) * c.nq);
    attention_ref(oref, c.q, c.k, c.v, &s);
    double ef = rel_err_fd(o, oref, c.nq);
    printf("%-40s fwd rel err %.3g\n", name, ef);
    assert_true(ef < 1e-5);
    /* Forward-only mode (no lse) gives the same output bit for bit. */
    float *o2 = malloc(sizeof(float) * c.nq);
    assert_int_equal(hx_attention_fwd(o2, NULL, q, k, v, &s), HX_OK);
    assert_memory_equal(o, o2, sizeof(float) * c.nq);
    assert_int_equal(hx_attention_bwd(dq, dk, dv, r, q, k, v, o, lse, &s), HX_OK);
    char what[96];
    snprintf(what, sizeof what, "%s dq", name);
    assert_true(fd_check(what, c.q, c.nq, dq, at_loss, &c) < OP_TOL);
    snprintf(what, sizeof what, "%s dk", name);
    assert_true(fd_check(what, c.k, c.nkv, dk, at_loss, &c) < OP_TOL);
    snprintf(what, sizeof what, "%s dv", name);
    assert_true(fd_check(what, c.v, c.nkv, dv, at_loss, &c) < OP_TOL);
    free(c.q), free(c.k), free(c.v), free(c.r), free(q), free(r), free(o), free(o2), free(k), free(v);
    free(dq), free(dk), free(dv), free(lse), free(oref);
}

/* Field case C12: B=1, T=4, 4 query heads, 2 KV heads. */
static void test_attention_gqa_c12(void **state)
{
    (void)state;
    check_attention((hx_attn_shape){1, 4, 4, 2, 8, 0}, "attention C12 (T4 Hq4 Hkv2)");
}

/* Longer than one row block (64), several sequences, sliding window. */
static void test_attention_window_blocks(void **state)
{
    (void)state;
    check_attention((hx_attn_shape){1, 70, 2, 1, 4, 0}, "attention T70 causal");
    check_attention((hx_attn_shape){2, 70, 3, 1, 2, 9}, "attention B2 T70 window 9");
}

/* ---------------- SwiGLU, embedding ---------------- */

enum { SW_N = 24 };
typedef struct {
    double g[SW_N], u[SW_N], r[SW_N];
} sw_ctx;

static double sw_loss(void *p)
{
    sw_ctx *c = p;
    double l = 0;
    for (int i = 0; i < SW_N; i++) l += c->r[i] * c->g[i] / (1 + exp(-c->g[i])) * c->u[i];
    return l;
}

static void test_swiglu(void **state)
{
    (void)state;
    sw_ctx c;
    float g[SW_N], u[SW_N], r[SW_N], h[SW_N], dg[SW_N], du[SW_N];
    fill(g, c.g, SW_N, 2.0);
    fill(u, c.u, SW_N, 1.0);
    fill(r, c.r, SW_N, 1.0);
    hx_swiglu_fwd(h, g, u, SW_N);
    for (int i = 0; i < SW_N; i++) assert_true(fabs(h[i] - c.g[i] / (1 + exp(-c.g[i])) * c.u[i]) < 1e-6);
    hx_swiglu_bwd(dg, du, r, g, u, SW_N);
    assert_true(fd_check("swiglu dgate", c.g, SW_N, dg, sw_loss, &c) < OP_TOL);
    assert_true(fd_check("swiglu dup", c.u, SW_N, du, sw_loss, &c) < OP_TOL);
}

enum { EM_V = 5, EM_H = 3, EM_N = 7 };
typedef struct {
    double table[EM_V * EM_H], r[EM_N * EM_H];
    int32_t ids[EM_N];
} em_ctx;

static double em_loss(void *p)
{
    em_ctx *c = p;
    double l = 0;
    for (int i = 0; i < EM_N; i++)
        for (int j = 0; j < EM_H; j++) l += c->r[i * EM_H + j] * c->table[c->ids[i] * EM_H + j];
    return l;
}

static void test_embedding(void **state)
{
    (void)state;
    em_ctx c = {.ids = {3, 1, 3, 0, 4, 3, 1}}; /* repeated ids accumulate; id 2 unused */
    float table[EM_V * EM_H], r[EM_N * EM_H], out[EM_N * EM_H], dt[EM_V * EM_H] = {0};
    fill(table, c.table, EM_V * EM_H, 1.0);
    fill(r, c.r, EM_N * EM_H, 1.0);
    hx_embedding_fwd(out, table, c.ids, EM_N, EM_H);
    assert_memory_equal(out + 2 * EM_H, table + 3 * EM_H, sizeof(float) * EM_H);
    hx_embedding_bwd(dt, r, c.ids, EM_N, EM_H);
    assert_true(fd_check("embedding dtable", c.table, EM_V * EM_H, dt, em_loss, &c) < OP_TOL);
    for (int j = 0; j < EM_H; j++) assert_float_equal(dt[2 * EM_H + j], 0.0f, 0);
}

/* ---------------- cross-entropy ---------------- */

enum { CE_N = 5, CE_V = 7 };
typedef struct {
    double x[CE_N * CE_V];
    int32_t y[CE_N];
    double norm;
} ce_ctx;

static double ce_loss(void *p)
{
    ce_ctx *c = p;
    double l = 0;
    for (int i = 0; i < CE_N; i++) {
        if (c->y[i] == HX_IGNORE_INDEX) continue;
        double s = 0;
        for (int j = 0; j < CE_V; j++) s += exp(c->x[i * CE_V + j]);
        l += log(s) - c->x[i * CE_V + c->y[i]];
    }
    return l / c->norm;
}

static void test_cross_entropy(void **state)
{
    (void)state;
    ce_ctx c = {.y = {2, HX_IGNORE_INDEX, 6, 0, 2}, .norm = 11.0}; /* norm from a larger global batch */
    float x[CE_N * CE_V], d[CE_N * CE_V];
    fill(x, c.x, CE_N * CE_V, 2.0);
    double sum;
    assert_int_equal(hx_cross_entropy(x, c.y, CE_N, CE_V, HX_IGNORE_INDEX, c.norm, d, &sum), HX_OK);
    assert_true(fabs(sum / c.norm - ce_loss(&c)) < 1e-12 * 1e3);
    assert_true(fd_check("cross-entropy dlogits", c.x, CE_N * CE_V, d, ce_loss, &c) < OP_TOL);
    for (int j = 0; j < CE_V; j++) assert_float_equal(d[CE_V + j], 0.0f, 0); /* ignored row */
    /* All ignored: loss 0 and zero gradient, not NaN (C08). */
    int32_t none[CE_N] = {HX_IGNORE_INDEX, HX_IGNORE_INDEX, HX_IGNORE_INDEX, HX_IGNORE_INDEX, HX_IGNORE_INDEX};
    assert_int_equal(hx_cross_entropy(x, none, CE_N, CE_V, HX_IGNORE_INDEX, 0.0, d, &sum), HX_OK);
    assert_true(sum == 0.0);
    for (int i = 0; i < CE_N * CE_V; i++) assert_true(d[i] == 0.0f);
    /* Out-of-range target is an error naming the row. */
    int32_t badt[CE_N] = {0, 1, 7, 0, 0};
    assert_int_equal(hx_cross_entropy(x, badt, CE_N, CE_V, HX_IGNORE_INDEX, 1.0, NULL, &sum), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "row 2"));
}

static void test_shift_labels(void **state)
{
    (void)state;
    /* HF ForCausalLMLoss: target[t] = labels[t+1]; last position ignored. */
    int32_t labels[2 * 4] = {5, 6, HX_IGNORE_INDEX, 8, 1, 2, 3, 4}, t[8];
    long n = hx_shift_labels(t, labels, 2, 4, HX_IGNORE_INDEX);
    int32_t want[8] = {6, HX_IGNORE_INDEX, 8, HX_IGNORE_INDEX, 2, 3, 4, HX_IGNORE_INDEX};
    assert_memory_equal(t, want, sizeof want);
    assert_int_equal(n, 5);
}

/* ---------------- whole model ---------------- */

typedef struct {
    hx_model *m;
    hx_workspace *ws;
    int32_t *ids, *targets;
    long count;
} model_ctx;

static double model_loss(model_ctx *c)
{
    assert_int_equal(hx_forward(c->m, c->ws, c->ids, NULL), HX_OK);
    double sum;
    int V = c->m->cfg.vocab_size, N = c->ws->B * c->ws->T;
    assert_int_equal(hx_cross_entropy(c->ws->logits, c->targets, N, V, HX_IGNORE_INDEX, (double)c->count, NULL, &sum),
                     HX_OK);
    return sum / (double)c->count;
}

/* A tiny config exercising GQA, head_dim != hidden/heads, llama3 RoPE and a
 * sliding window at once. */
static hx_config tiny_cfg(void)
{
    hx_rope_params r = llama3_cfg();
    hx_config c = {0};
    c.rope_theta = r.theta;
    c.rope_type = HX_ROPE_LLAMA3;
    c.rope_factor = r.factor;
    c.rope_low_freq_factor = r.low_freq_factor;
    c.rope_high_freq_factor = r.high_freq_factor;
    c.rope_original_max_position = r.original_max_position;
    snprintf(c.model_type, sizeof c.model_type, "llama");
    c.vocab_size = 40;
    c.hidden_size = 16;
    c.intermediate_size = 24;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 6;
    c.max_position_embeddings = 64;
    c.rms_norm_eps = 1e-5f;
    c.sliding_window = 4;
    c.bos_token_id = c.eos_token_id = -1;
    return c;
}

/* Directional derivatives: for each parameter tensor, the loss along its
 * normalised gradient direction u changes at rate |g| (fp32 central
 * differences, h = 3e-3; a gradient 1% off fails the 5e-3 tolerance). */
static void test_model_gradcheck(void **state)
{
    (void)state;
    hx_config cfg = tiny_cfg();
    hx_model m, g;
    assert_int_equal(hx_model_alloc(&m, &cfg), HX_OK);
    assert_int_equal(hx_model_alloc(&g, &cfg), HX_OK);
    assert_int_equal(hx_model_init_random(&m, 7), HX_OK);
    int np = hx_model_num_params(&cfg);
    hx_param *pm = malloc(sizeof(hx_param) * np), *pg = malloc(sizeof(hx_param) * np);
    hx_model_params(&m, pm);
    hx_model_params(&g, pg);
    for (int t = 0; t < np; t++) /* linear std 0.3; norm weights 1 + N(0, 0.1^2) */
        for (int i = 0; i < pm[t].rows * (pm[t].cols ? pm[t].cols : 1); i++)
            pm[t].data[i] = pm[t].kind == HX_PARAM_NORM ? 1.0f + (float)(0.1 * hx_rng_normal(&g_rng))
                                                        : 15.0f * pm[t].data[i];
    const int B = 2, T = 7, N = B * T;
    hx_workspace ws;
    assert_int_equal(hx_workspace_alloc(&ws, &cfg, B, T, HX_WS_TRAIN), HX_OK);
    int32_t ids[14], labels[14], targets[14];
    for (int i = 0; i < N; i++) ids[i] = labels[i] = (int32_t)hx_rng_below(&g_rng, (uint64_t)cfg.vocab_size);
    labels[4] = HX_IGNORE_INDEX;
    model_ctx c = {&m, &ws, ids, targets, hx_shift_labels(targets, labels, B, T, HX_IGNORE_INDEX)};
    model_loss(&c);
    float *dl = malloc(sizeof(float) * (size_t)N * cfg.vocab_size);
    double sum;
    assert_int_equal(hx_cross_entropy(ws.logits, targets, N, cfg.vocab_size, HX_IGNORE_INDEX, (double)c.count, dl,
                                      &sum),
                     HX_OK);
    assert_int_equal(hx_backward(&m, &ws, dl, &g), HX_OK);
    const double h = 3e-3;
    double worst = 0;
    for (int t = 0; t < np; t++) {
        size_t n = (size_t)pm[t].rows * (pm[t].cols ? pm[t].cols : 1);
        double gn = 0;
        for (size_t i = 0; i < n; i++) gn += (double)pg[t].data[i] * pg[t].data[i];
        gn = sqrt(gn);
        float *orig = malloc(sizeof(float) * n);
        memcpy(orig, pm[t].data, sizeof(float) * n);
        for (size_t i = 0; i < n; i++) pm[t].data[i] = (float)(orig[i] + h * pg[t].data[i] / gn);
        double lp = model_loss(&c);
        for (size_t i = 0; i < n; i++) pm[t].data[i] = (float)(orig[i] - h * pg[t].data[i] / gn);
        double lm = model_loss(&c);
        memcpy(pm[t].data, orig, sizeof(float) * n);
        free(orig);
        double fd = (lp - lm) / (2 * h), e = fabs(fd - gn) / gn;
        printf("model %-44s |g| %.4g FD %.4g rel err %.2g\n", pm[t].name, gn, fd, e);
        if (hx_test_first_nonfinite(pg[t].data, n, pm[t].name) != SIZE_MAX || !isfinite(fd)) e = INFINITY;
        worst = hx_test_worst(worst, e);
    }
    assert_true(worst < 5e-3);
    free(pm), free(pg), free(dl);
    hx_workspace_free(&ws);
    hx_model_free(&m);
    hx_model_free(&g);
}

int main(void)
{
    hx_threads_init();
    hx_rng_seed(&g_rng, 2024);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rmsnorm),          cmocka_unit_test(test_rope_llama3_freqs),
        cmocka_unit_test(test_rope),             cmocka_unit_test(test_attention_gqa_c12),
        cmocka_unit_test(test_attention_window_blocks), cmocka_unit_test(test_swiglu),
        cmocka_unit_test(test_embedding),        cmocka_unit_test(test_cross_entropy),
        cmocka_unit_test(test_shift_labels),     cmocka_unit_test(test_model_gradcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
