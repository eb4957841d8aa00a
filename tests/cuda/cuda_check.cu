/* Self-checking program for the CUDA kernels (needs a GPU): every kernel of
 * kernels/cuda runs on seeded random inputs and is compared with the fp32 CPU
 * path (kernels/cpu: embedding, RMSNorm, RoPE, SwiGLU, cross-entropy) or, where
 * the CPU code needs OpenBLAS or the model structs (attention, GEMM, KL, AdamW:
 * the GPU image has no OpenBLAS), an fp64 host reference in this file, always
 * from the same bf16-rounded inputs. Prints one
 * "PASS name ..." / "FAIL name ..." line per check, then a small benchmark
 * (cuBLASLt bf16 GEMM TFLOP/s at 4096^3, attention fwd/bwd time at a
 * Llama-3.1-8B layer shape), and exits 1 if any check failed, 2 if the CUDA
 * setup failed. Tolerances: kernels/cuda/README.md.
 * Usage: cuda_check [--no-bench] */
#include "cuda/gemm.h"
#include "cuda/ops_cuda.h"

extern "C" {
#include "core/rng.h"
}

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

typedef std::vector<float> vec;

static int g_failed = 0, g_passed = 0;
static hx_rng g_rng;

/* Aborts the program on a setup failure (not a kernel mismatch). */
#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        int rc_ = (expr);                                                                \
        if (rc_ < 0) {                                                                   \
            fprintf(stderr, "SETUP ERROR %s: %s\n", hx_strstatus(rc_), hx_errmsg());     \
            exit(2);                                                                     \
        }                                                                                \
    } while (0)

/* ---- host/device buffers ---- */

/* n values uniform in [-scale, scale], rounded to bf16 (the values the GPU sees). */
static vec rand_bf16(size_t n, float scale)
{
    vec v(n);
    for (size_t i = 0; i < n; i++) v[i] = hx_bf16_round(scale * (float)(2.0 * hx_rng_uniform(&g_rng) - 1.0));
    return v;
}

static hx_bf16 *up_bf16(const vec &h)
{
    std::vector<hx_bf16> b(h.size());
    for (size_t i = 0; i < h.size(); i++) b[i] = hx_f32_to_bf16(h[i]);
    void *d;
    CHECK_OK(hx_cuda_malloc(&d, b.size() * 2 + 2));
    CHECK_OK(hx_cuda_upload(d, b.data(), b.size() * 2));
    return (hx_bf16 *)d;
}

template <typename T> static T *up(const std::vector<T> &h)
{
    void *d;
    CHECK_OK(hx_cuda_malloc(&d, h.size() * sizeof(T) + 4));
    CHECK_OK(hx_cuda_upload(d, h.data(), h.size() * sizeof(T)));
    return (T *)d;
}

template <typename T> static T *dev_alloc(size_t n)
{
    void *d;
    CHECK_OK(hx_cuda_malloc(&d, n * sizeof(T) + 4));
    return (T *)d;
}

static vec down_bf16(const hx_bf16 *d, size_t n)
{
    CHECK_OK(hx_cuda_sync(NULL));
    std::vector<hx_bf16> b(n);
    CHECK_OK(hx_cuda_download(b.data(), d, n * 2));
    vec v(n);
    for (size_t i = 0; i < n; i++) v[i] = hx_bf16_to_f32(b[i]);
    return v;
}

static vec down_f32(const float *d, size_t n)
{
    CHECK_OK(hx_cuda_sync(NULL));
    vec v(n);
    CHECK_OK(hx_cuda_download(v.data(), d, n * sizeof(float)));
    return v;
}

/* ---- comparison ---- */

/* Normalised max error max_i |got - ref| / max(max_i |ref|, 1e-30) against
 * tol; prints one PASS/FAIL line. */
static bool compare(const char *name, const vec &got, const vec &ref, double tol)
{
    double max_err = 0, max_ref = 0;
    size_t worst = 0;
    bool finite = got.size() == ref.size();
    for (size_t i = 0; finite && i < ref.size(); i++) {
        if (!isfinite(got[i])) finite = false;
        double e = fabs((double)got[i] - ref[i]);
        if (e > max_err) max_err = e, worst = i;
        max_ref = fmax(max_ref, fabs((double)ref[i]));
    }
    double rel = max_err / fmax(max_ref, 1e-30);
    bool ok = finite && rel <= tol;
    printf("%s %-34s norm_max_err %.3e (tol %.0e) max_abs_err %.3e max_ref %.3e n %zu", ok ? "PASS" : "FAIL",
           name, rel, tol, max_err, max_ref, ref.size());
    if (!ok && finite) printf(" worst[%zu] got %.6g ref %.6g", worst, got[worst], ref[worst]);
    if (!finite) printf(" (non-finite or size mismatch)");
    printf("\n");
    ok ? g_passed++ : g_failed++;
    return ok;
}

/* Bitwise equality of two runs (determinism). */
static void compare_exact(const char *name, const vec &a, const vec &b)
{
    bool ok = a.size() == b.size() && memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    printf("%s %-34s bitwise identical across two runs\n", ok ? "PASS" : "FAIL", name);
    ok ? g_passed++ : g_failed++;
}

/* ---- checks ---- */

static void check_embedding(void)
{
    const int V = 50, H = 96, N = 300;
    vec table = rand_bf16((size_t)V * H, 1.0f), dout = rand_bf16((size_t)N * H, 1.0f);
    std::vector<int32_t> ids(N);
    for (int t = 0; t < N; t++) ids[t] = (int32_t)hx_rng_below(&g_rng, V); /* many repeats */
    vec ref_out((size_t)N * H), dt0 = rand_bf16((size_t)V * H, 1.0f), ref_dt = dt0;
    hx_embedding_fwd(ref_out.data(), table.data(), ids.data(), N, H);
    hx_embedding_bwd(ref_dt.data(), dout.data(), ids.data(), N, H);
    hx_bf16 *d_table = up_bf16(table), *d_dout = up_bf16(dout), *d_out = dev_alloc<hx_bf16>((size_t)N * H);
    int32_t *d_ids = up(ids);
    float *d_dt = up(dt0);
    CHECK_OK(hx_cuda_embedding_fwd(d_out, d_table, d_ids, N, V, H, NULL));
    compare("embedding_fwd out", down_bf16(d_out, (size_t)N * H), ref_out, 0.0);
    CHECK_OK(hx_cuda_embedding_bwd(d_dt, d_dout, d_ids, N, V, H, NULL));
    vec got = down_f32(d_dt, (size_t)V * H);
    compare("embedding_bwd dtable (+=)", got, ref_dt, 1e-6);
    CHECK_OK(hx_cuda_upload(d_dt, dt0.data(), dt0.size() * sizeof(float)));
    CHECK_OK(hx_cuda_embedding_bwd(d_dt, d_dout, d_ids, N, V, H, NULL));
    compare_exact("embedding_bwd determinism", down_f32(d_dt, (size_t)V * H), got);
    hx_cuda_free(d_table), hx_cuda_free(d_dout), hx_cuda_free(d_out), hx_cuda_free(d_ids), hx_cuda_free(d_dt);
}

static void check_rmsnorm(void)
{
    const int N = 64, D = 320;
    const float eps = 1e-5f;
    vec x = rand_bf16((size_t)N * D, 2.0f), w = rand_bf16(D, 1.5f), dy = rand_bf16((size_t)N * D, 1.0f);
    vec dx0 = rand_bf16((size_t)N * D, 1.0f), dw0 = rand_bf16(D, 1.0f);
    vec y((size_t)N * D), rstd(N), dx = dx0, dw = dw0;
    hx_rmsnorm_fwd(y.data(), rstd.data(), x.data(), w.data(), N, D, eps);
    hx_rmsnorm_bwd(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), N, D);
    hx_bf16 *d_x = up_bf16(x), *d_w = up_bf16(w), *d_dy = up_bf16(dy), *d_y = dev_alloc<hx_bf16>((size_t)N * D);
    hx_bf16 *d_dx = up_bf16(dx0);
    float *d_rstd = dev_alloc<float>(N), *d_dw = up(dw0);
    CHECK_OK(hx_cuda_rmsnorm_fwd(d_y, d_rstd, d_x, d_w, N, D, eps, NULL));
    compare("rmsnorm_fwd y", down_bf16(d_y, (size_t)N * D), y, 1e-2);
    compare("rmsnorm_fwd rstd", down_f32(d_rstd, N), rstd, 1e-5);
    CHECK_OK(hx_cuda_rmsnorm_bwd(d_dx, d_dw, d_dy, d_x, d_w, d_rstd, N, D, NULL));
    compare("rmsnorm_bwd dx (+=)", down_bf16(d_dx, (size_t)N * D), dx, 1e-2);
    compare("rmsnorm_bwd dweight (+=)", down_f32(d_dw, D), dw, 1e-2);
    hx_cuda_free(d_x), hx_cuda_free(d_w), hx_cuda_free(d_dy), hx_cuda_free(d_y), hx_cuda_free(d_dx);
    hx_cuda_free(d_rstd), hx_cuda_free(d_dw);
}

static void check_rope(void)
{
    const int B = 2, T = 300, H = 4, HD = 64, N = B * T;
    hx_rope_params cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.head_dim = HD, cfg.theta = 500000.0, cfg.llama3 = 1, cfg.factor = 8.0;
    cfg.low_freq_factor = 1.0, cfg.high_freq_factor = 4.0, cfg.original_max_position = 8192;
    vec cos_t((size_t)T * HD / 2), sin_t(cos_t.size());
    hx_rope_table(cos_t.data(), sin_t.data(), &cfg, T);
    vec x = rand_bf16((size_t)N * H * HD, 1.0f), dy = rand_bf16(x.size(), 1.0f), y = x, dx = dy;
    hx_rope_fwd(y.data(), cos_t.data(), sin_t.data(), N, T, H, HD);
    hx_rope_bwd(dx.data(), cos_t.data(), sin_t.data(), N, T, H, HD);
    hx_bf16 *d_x = up_bf16(x), *d_dy = up_bf16(dy);
    float *d_cos = up(cos_t), *d_sin = up(sin_t);
    CHECK_OK(hx_cuda_rope_fwd(d_x, d_cos, d_sin, N, T, H, HD, NULL));
    compare("rope_fwd (llama3 scaling)", down_bf16(d_x, x.size()), y, 1e-2);
    CHECK_OK(hx_cuda_rope_bwd(d_dy, d_cos, d_sin, N, T, H, HD, NULL));
    compare("rope_bwd", down_bf16(d_dy, x.size()), dx, 1e-2);
    hx_cuda_free(d_x), hx_cuda_free(d_dy), hx_cuda_free(d_cos), hx_cuda_free(d_sin);
}

static void check_swiglu(void)
{
    const size_t n = 10007;
    vec g = rand_bf16(n, 6.0f), u = rand_bf16(n, 2.0f), dh = rand_bf16(n, 1.0f), h(n), dg(n), du(n);
    hx_swiglu_fwd(h.data(), g.data(), u.data(), (long)n);
    hx_swiglu_bwd(dg.data(), du.data(), dh.data(), g.data(), u.data(), (long)n);
    hx_bf16 *d_g = up_bf16(g), *d_u = up_bf16(u), *d_dh = up_bf16(dh), *d_h = dev_alloc<hx_bf16>(n);
    hx_bf16 *d_dg = dev_alloc<hx_bf16>(n), *d_du = dev_alloc<hx_bf16>(n);
    CHECK_OK(hx_cuda_swiglu_fwd(d_h, d_g, d_u, n, NULL));
    compare("swiglu_fwd h", down_bf16(d_h, n), h, 1e-2);
    CHECK_OK(hx_cuda_swiglu_bwd(d_dg, d_du, d_dh, d_g, d_u, n, NULL));
    compare("swiglu_bwd dgate", down_bf16(d_dg, n), dg, 1e-2);
    compare("swiglu_bwd dup", down_bf16(d_du, n), du, 1e-2);
    hx_cuda_free(d_g), hx_cuda_free(d_u), hx_cuda_free(d_dh), hx_cuda_free(d_h), hx_cuda_free(d_dg);
    hx_cuda_free(d_du);
}

/* Naive causal GQA attention forward and backward in double; keys j in
 * (i - window, i] when window > 0. */
static void attention_ref(const vec &q, const vec &k, const vec &v, const vec &dout, const hx_attn_shape &sh,
                          vec &out, vec &lse, vec &dq, vec &dk, vec &dv)
{
    int B = sh.B, T = sh.T, nh = sh.n_heads, nkv = sh.n_kv_heads, hd = sh.head_dim;
    int grp = nh / nkv;
    double scale = 1.0 / sqrt((double)hd);
    out.assign((size_t)B * T * nh * hd, 0.0f), lse.assign((size_t)B * nh * T, 0.0f);
    dq.assign(out.size(), 0.0f), dk.assign((size_t)B * T * nkv * hd, 0.0f), dv.assign(dk.size(), 0.0f);
    std::vector<double> p(T), dp(T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < nh; h++)
            for (int i = 0; i < T; i++) {
                int g = h / grp;
                const float *qi = &q[(((size_t)b * T + i) * nh + h) * hd];
                const float *doi = &dout[(((size_t)b * T + i) * nh + h) * hd];
                double m = -INFINITY, l = 0, sdp = 0;
                int j0 = sh.window ? (i - sh.window + 1 > 0 ? i - sh.window + 1 : 0) : 0;
                for (int j = j0; j <= i; j++) {
                    const float *kj = &k[(((size_t)b * T + j) * nkv + g) * hd];
                    double s = 0;
                    for (int d = 0; d < hd; d++) s += (double)qi[d] * kj[d];
                    p[j] = s * scale;
                    m = fmax(m, p[j]);
                }
                for (int j = j0; j <= i; j++) l += exp(p[j] - m);
                lse[((size_t)b * nh + h) * T + i] = (float)(m + log(l));
                for (int j = j0; j <= i; j++) {
                    p[j] = exp(p[j] - m) / l;
                    const float *vj = &v[(((size_t)b * T + j) * nkv + g) * hd];
                    double s = 0;
                    for (int d = 0; d < hd; d++) s += (double)doi[d] * vj[d];
                    dp[j] = s;
                    sdp += p[j] * s;
                }
                for (int d = 0; d < hd; d++) {
                    double o = 0;
                    for (int j = j0; j <= i; j++) o += p[j] * v[(((size_t)b * T + j) * nkv + g) * hd + d];
                    out[(((size_t)b * T + i) * nh + h) * hd + d] = (float)o;
                }
                for (int j = j0; j <= i; j++) {
                    double ds = p[j] * (dp[j] - sdp);
                    size_t kj = (((size_t)b * T + j) * nkv + g) * hd, qo = (((size_t)b * T + i) * nh + h) * hd;
                    for (int d = 0; d < hd; d++) {
                        dq[qo + d] += (float)(ds * scale * k[kj + d]);
                        dk[kj + d] += (float)(ds * scale * q[qo + d]);
                        dv[kj + d] += (float)(p[j] * dout[qo + d]);
                    }
                }
            }
}

static void check_attention_case(int B, int T, int nh, int nkv, int hd, int window)
{
    hx_attn_shape sh = {B, T, nh, nkv, hd, window};
    size_t nq = (size_t)B * T * nh * hd, nk = (size_t)B * T * nkv * hd;
    vec q = rand_bf16(nq, 1.0f), k = rand_bf16(nk, 1.0f), v = rand_bf16(nk, 1.0f), dout = rand_bf16(nq, 1.0f);
    vec out, lse, dq, dk, dv;
    attention_ref(q, k, v, dout, sh, out, lse, dq, dk, dv);
    hx_bf16 *d_q = up_bf16(q), *d_k = up_bf16(k), *d_v = up_bf16(v), *d_do = up_bf16(dout);
    hx_bf16 *d_o = dev_alloc<hx_bf16>(nq), *d_dq = dev_alloc<hx_bf16>(nq), *d_dk = dev_alloc<hx_bf16>(nk);
    hx_bf16 *d_dv = dev_alloc<hx_bf16>(nk);
    float *d_lse = dev_alloc<float>((size_t)B * nh * T);
    char name[96];
    snprintf(name, sizeof name, "B%d T%d nh%d nkv%d hd%d w%d", B, T, nh, nkv, hd, window);
    char what[160];
    CHECK_OK(hx_cuda_attention_fwd(d_o, d_lse, d_q, d_k, d_v, &sh, NULL));
    snprintf(what, sizeof what, "attention_fwd out %s", name);
    compare(what, down_bf16(d_o, nq), out, 1e-2);
    snprintf(what, sizeof what, "attention_fwd lse %s", name);
    compare(what, down_f32(d_lse, (size_t)B * nh * T), lse, 1e-4);
    CHECK_OK(hx_cuda_attention_bwd(d_dq, d_dk, d_dv, d_do, d_q, d_k, d_v, d_o, d_lse, &sh, NULL));
    snprintf(what, sizeof what, "attention_bwd dq %s", name);
    compare(what, down_bf16(d_dq, nq), dq, 2e-2);
    snprintf(what, sizeof what, "attention_bwd dk %s", name);
    vec got_dk = down_bf16(d_dk, nk);
    compare(what, got_dk, dk, 2e-2);
    snprintf(what, sizeof what, "attention_bwd dv %s", name);
    compare(what, down_bf16(d_dv, nk), dv, 2e-2);
    CHECK_OK(hx_cuda_attention_bwd(d_dq, d_dk, d_dv, d_do, d_q, d_k, d_v, d_o, d_lse, &sh, NULL));
    snprintf(what, sizeof what, "attention_bwd determinism %s", name);
    compare_exact(what, down_bf16(d_dk, nk), got_dk);
    hx_cuda_free(d_q), hx_cuda_free(d_k), hx_cuda_free(d_v), hx_cuda_free(d_do), hx_cuda_free(d_o);
    hx_cuda_free(d_dq), hx_cuda_free(d_dk), hx_cuda_free(d_dv), hx_cuda_free(d_lse);
}

static void check_attention(void)
{
    check_attention_case(1, 4, 4, 2, 32, 0);   /* field case C12 shape */
    check_attention_case(2, 77, 4, 2, 64, 0);  /* T not a multiple of the tiles */
    check_attention_case(1, 70, 6, 2, 128, 0); /* 3 query heads per KV head */
    check_attention_case(1, 45, 2, 1, 256, 0); /* > 48 KiB shared memory */
    check_attention_case(1, 33, 4, 4, 128, 0); /* MHA (n_kv_heads == n_heads) */
    check_attention_case(1, 100, 4, 2, 64, 20); /* Mistral sliding window */
}

/* Host log-sum-exp of scale * x[0..n) in double. */
static double lse_ref(const float *x, int n, double scale)
{
    double m = -INFINITY, s = 0;
    for (int i = 0; i < n; i++) m = fmax(m, scale * x[i]);
    for (int i = 0; i < n; i++) s += exp(scale * x[i] - m);
    return m + log(s);
}

static void check_cross_entropy(void)
{
    const int N = 37, V = 1000, IGN = HX_IGNORE_INDEX;
    const float norm = 50.0f; /* global count > local unmasked rows (C08) */
    vec logits = rand_bf16((size_t)N * V, 8.0f), dl((size_t)N * V);
    std::vector<int32_t> tg(N);
    for (int r = 0; r < N; r++) tg[r] = r % 5 == 3 ? IGN : (int32_t)hx_rng_below(&g_rng, V);
    double sum = 0;
    CHECK_OK(hx_cross_entropy(logits.data(), tg.data(), N, V, IGN, norm, dl.data(), &sum));
    hx_bf16 *d_logits = up_bf16(logits);
    int32_t *d_tg = up(tg);
    float *d_loss = dev_alloc<float>(1), *d_row = dev_alloc<float>(N), *d_lse = dev_alloc<float>(N);
    CHECK_OK(hx_cuda_cross_entropy_fwd(d_loss, d_row, d_lse, d_logits, d_tg, N, V, IGN, NULL));
    compare("cross_entropy_fwd loss_sum", down_f32(d_loss, 1), vec{(float)sum}, 1e-4);
    CHECK_OK(hx_cuda_cross_entropy_bwd(d_logits, d_logits, d_lse, d_tg, N, V, IGN, 1.0f, norm, NULL));
    compare("cross_entropy_bwd dlogits (in place)", down_bf16(d_logits, (size_t)N * V), dl, 1e-2);
    /* All rows ignored, norm_count 0: loss 0 and zero gradient, never NaN (C08). */
    std::vector<int32_t> all_ign(N, IGN);
    int32_t *d_ign = up(all_ign);
    CHECK_OK(hx_cuda_cross_entropy_fwd(d_loss, d_row, d_lse, d_logits, d_ign, N, V, IGN, NULL));
    CHECK_OK(hx_cuda_cross_entropy_bwd(d_logits, d_logits, d_lse, d_ign, N, V, IGN, 1.0f, 0.0f, NULL));
    vec z = down_f32(d_loss, 1), zg = down_bf16(d_logits, (size_t)N * V);
    bool ok = z[0] == 0.0f;
    for (float g : zg) ok = ok && g == 0.0f;
    printf("%s %-34s loss %g, gradient all zero: %s\n", ok ? "PASS" : "FAIL", "cross_entropy all-masked", z[0],
           ok ? "yes" : "no");
    ok ? g_passed++ : g_failed++;
    hx_cuda_free(d_logits), hx_cuda_free(d_tg), hx_cuda_free(d_loss), hx_cuda_free(d_row), hx_cuda_free(d_lse);
    hx_cuda_free(d_ign);
}

static void check_kl(float tau)
{
    const int N = 29, V = 777, SLD = 777, TLD = 801; /* teacher rows padded (C07) */
    const float norm = 31.0f, dloss = 1.3f;
    vec s = rand_bf16((size_t)N * SLD, 6.0f), t = rand_bf16((size_t)N * TLD, 6.0f);
    vec row(N, 0.0f), ds((size_t)N * SLD, 0.0f);
    std::vector<uint8_t> mask(N);
    double total = 0;
    for (int r = 0; r < N; r++) {
        mask[r] = r % 7 != 2;
        if (!mask[r]) continue;
        const float *sr = &s[(size_t)r * SLD], *tr = &t[(size_t)r * TLD];
        double ls = lse_ref(sr, V, 1.0 / tau), lt = lse_ref(tr, V, 1.0 / tau), kl = 0;
        for (int c = 0; c < V; c++) {
            double lp = tr[c] / tau - lt, lq = sr[c] / tau - ls;
            kl += exp(lp) * (lp - lq);
            ds[(size_t)r * SLD + c] = (float)(dloss / norm * tau * (exp(lq) - exp(lp)));
        }
        row[r] = (float)(tau * tau * kl);
        total += row[r];
    }
    vec loss = {(float)(total / norm)};
    hx_bf16 *d_s = up_bf16(s), *d_t = up_bf16(t), *d_ds = dev_alloc<hx_bf16>((size_t)N * SLD);
    uint8_t *d_mask = up(mask);
    float *d_loss = dev_alloc<float>(1), *d_row = dev_alloc<float>(N);
    float *d_ls = dev_alloc<float>(N), *d_lt = dev_alloc<float>(N);
    char what[96];
    CHECK_OK(hx_cuda_kl_fwd(d_loss, d_row, d_ls, d_lt, d_s, SLD, d_t, TLD, d_mask, N, V, tau, norm, NULL));
    snprintf(what, sizeof what, "kl_fwd loss tau=%g", tau);
    compare(what, down_f32(d_loss, 1), loss, 1e-3);
    snprintf(what, sizeof what, "kl_fwd row_loss tau=%g", tau);
    compare(what, down_f32(d_row, N), row, 1e-3);
    CHECK_OK(hx_cuda_kl_bwd(d_ds, d_s, SLD, d_t, TLD, d_ls, d_lt, d_mask, N, V, tau, dloss, norm, NULL));
    snprintf(what, sizeof what, "kl_bwd dstudent tau=%g", tau);
    compare(what, down_bf16(d_ds, (size_t)N * SLD), ds, 1e-2);
    hx_cuda_free(d_s), hx_cuda_free(d_t), hx_cuda_free(d_ds), hx_cuda_free(d_mask), hx_cuda_free(d_loss);
    hx_cuda_free(d_row), hx_cuda_free(d_ls), hx_cuda_free(d_lt);
}

static void check_adamw(void)
{
    const size_t n = 5003;
    const float lr = 1e-3f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f, gs = 0.5f;
    vec w = rand_bf16(n, 1.0f), m(n, 0.0f), v(n, 0.0f), w0 = w;
    float *d_w = up(w), *d_m = up(m), *d_v = up(v), *d_g = dev_alloc<float>(n);
    hx_bf16 *d_wb = dev_alloc<hx_bf16>(n);
    for (int step = 1; step <= 3; step++) {
        vec g = rand_bf16(n, 0.1f);
        CHECK_OK(hx_cuda_upload(d_g, g.data(), n * sizeof(float)));
        double bc1 = 1 - pow(b1, step), bc2 = 1 - pow(b2, step);
        for (size_t i = 0; i < n; i++) {
            double gi = (double)g[i] * gs, p = w[i];
            p -= (double)lr * wd * p;
            m[i] = (float)(b1 * m[i] + (1 - b1) * gi);
            v[i] = (float)(b2 * v[i] + (1 - b2) * gi * gi);
            p -= lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + eps);
            w[i] = (float)p;
        }
        CHECK_OK(hx_cuda_adamw(d_w, d_wb, d_g, d_m, d_v, NULL, n, lr, b1, b2, eps, wd, step, gs, NULL));
    }
    vec delta_ref(n), got = down_f32(d_w, n), delta_got(n);
    for (size_t i = 0; i < n; i++) delta_ref[i] = w[i] - w0[i], delta_got[i] = got[i] - w0[i];
    compare("adamw w (3 steps, update w - w0)", delta_got, delta_ref, 1e-4);
    compare("adamw m", down_f32(d_m, n), m, 1e-5);
    compare("adamw v", down_f32(d_v, n), v, 1e-5);
    compare("adamw w_bf16", down_bf16(d_wb, n), w, 1e-2);
    vec sq = rand_bf16(1000003, 1.0f);
    double ss = 0;
    for (float x : sq) ss += (double)x * x;
    float *d_sq = up(sq), *d_ss = dev_alloc<float>(1);
    CHECK_OK(hx_cuda_sumsq(d_ss, d_sq, sq.size(), NULL));
    compare("sumsq", down_f32(d_ss, 1), vec{(float)ss}, 1e-5);
    hx_cuda_free(d_w), hx_cuda_free(d_m), hx_cuda_free(d_v), hx_cuda_free(d_g), hx_cuda_free(d_wb);
    hx_cuda_free(d_sq), hx_cuda_free(d_ss);
}

static void check_gemm(hx_cuda_gemm *ctx)
{
    const int M = 96, K = 200, N = 136; /* rows, in_features, out_features */
    vec x = rand_bf16((size_t)M * K, 1.0f), w = rand_bf16((size_t)N * K, 1.0f), dy = rand_bf16((size_t)M * N, 1.0f);
    vec dw0 = rand_bf16((size_t)N * K, 1.0f), dx0 = rand_bf16((size_t)M * K, 1.0f), y((size_t)M * N);
    vec dx = dx0, dw = dw0;
    for (int i = 0; i < M; i++)
        for (int o = 0; o < N; o++) {
            double s = 0;
            for (int c = 0; c < K; c++) s += (double)x[(size_t)i * K + c] * w[(size_t)o * K + c];
            y[(size_t)i * N + o] = (float)s;
        }
    for (int i = 0; i < M; i++)
        for (int c = 0; c < K; c++) {
            double s = 0;
            for (int o = 0; o < N; o++) s += (double)dy[(size_t)i * N + o] * w[(size_t)o * K + c];
            dx[(size_t)i * K + c] += (float)s; /* beta = 1 */
        }
    for (int o = 0; o < N; o++)
        for (int c = 0; c < K; c++) {
            double s = 0;
            for (int i = 0; i < M; i++) s += (double)dy[(size_t)i * N + o] * x[(size_t)i * K + c];
            dw[(size_t)o * K + c] += (float)s;
        }
    hx_bf16 *d_x = up_bf16(x), *d_w = up_bf16(w), *d_dy = up_bf16(dy), *d_y = dev_alloc<hx_bf16>((size_t)M * N);
    hx_bf16 *d_dx = up_bf16(dx0);
    float *d_dw = up(dw0);
    CHECK_OK(hx_cuda_linear_fwd(ctx, d_y, d_x, d_w, M, K, N, 0.0f, NULL));
    compare("gemm linear_fwd y = x W^T", down_bf16(d_y, (size_t)M * N), y, 1e-2);
    CHECK_OK(hx_cuda_linear_bwd_input(ctx, d_dx, d_dy, d_w, M, K, N, 1.0f, NULL));
    compare("gemm linear_bwd_input dx += dy W", down_bf16(d_dx, (size_t)M * K), dx, 1e-2);
    CHECK_OK(hx_cuda_linear_bwd_weight(ctx, d_dw, d_dy, d_x, M, K, N, NULL));
    compare("gemm linear_bwd_weight dW += dy^T x", down_f32(d_dw, (size_t)N * K), dw, 1e-5);
    hx_cuda_free(d_x), hx_cuda_free(d_w), hx_cuda_free(d_dy), hx_cuda_free(d_y), hx_cuda_free(d_dx);
    hx_cuda_free(d_dw);
}

/* ---- benchmark ---- */

/* Mean milliseconds per call of fn over `iters` after 2 warm-up calls. */
template <typename F> static double time_ms(F fn, int iters)
{
    cudaEvent_t a, b;
    cudaEventCreate(&a), cudaEventCreate(&b);
    for (int i = 0; i < 2; i++) CHECK_OK(fn());
    cudaEventRecord(a);
    for (int i = 0; i < iters; i++) CHECK_OK(fn());
    cudaEventRecord(b);
    CHECK_OK(hx_cuda_sync(NULL));
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    cudaEventDestroy(a), cudaEventDestroy(b);
    return ms / iters;
}

static void bench(hx_cuda_gemm *ctx)
{
    const int S = 4096;
    hx_bf16 *a = dev_alloc<hx_bf16>((size_t)S * S), *b = dev_alloc<hx_bf16>((size_t)S * S);
    hx_bf16 *c = dev_alloc<hx_bf16>((size_t)S * S);
    CHECK_OK(hx_cuda_memset0(a, (size_t)S * S * 2, NULL));
    CHECK_OK(hx_cuda_memset0(b, (size_t)S * S * 2, NULL));
    double ms = time_ms([&] { return hx_cuda_linear_fwd(ctx, c, a, b, S, S, S, 0.0f, NULL); }, 20);
    printf("BENCH gemm bf16 %dx%dx%d (y = x W^T, fp32 compute): %.3f ms, %.1f TFLOP/s\n", S, S, S, ms,
           2.0 * S * S * (double)S / (ms * 1e9));
    hx_cuda_free(a), hx_cuda_free(b), hx_cuda_free(c);

    const int B = 1, T = 4096, nh = 32, nkv = 8, hd = 128; /* Llama-3.1-8B layer */
    size_t nq = (size_t)B * T * nh * hd, nk = (size_t)B * T * nkv * hd;
    vec hq = rand_bf16(nq, 1.0f), hk = rand_bf16(nk, 1.0f), hv = rand_bf16(nk, 1.0f);
    hx_bf16 *q = up_bf16(hq), *k = up_bf16(hk), *v = up_bf16(hv), *o = dev_alloc<hx_bf16>(nq);
    hx_bf16 *dq = dev_alloc<hx_bf16>(nq), *dk = dev_alloc<hx_bf16>(nk), *dv = dev_alloc<hx_bf16>(nk);
    float *lse = dev_alloc<float>((size_t)B * nh * T);
    hx_attn_shape sh = {B, T, nh, nkv, hd, 0};
    double flop = 2.0 * 2.0 * B * nh * (double)T * T / 2.0 * hd; /* causal QK^T and PV */
    double f = time_ms([&] { return hx_cuda_attention_fwd(o, lse, q, k, v, &sh, NULL); }, 3);
    printf("BENCH attention_fwd B%d T%d nh%d nkv%d hd%d: %.2f ms, %.2f TFLOP/s (causal)\n", B, T, nh, nkv, hd, f,
           flop / (f * 1e9));
    double bw = time_ms([&] {
        return hx_cuda_attention_bwd(dq, dk, dv, o, q, k, v, o, lse, &sh, NULL);
    }, 3);
    printf("BENCH attention_bwd B%d T%d nh%d nkv%d hd%d: %.2f ms, %.2f TFLOP/s (causal, 2.5x fwd FLOPs)\n", B, T,
           nh, nkv, hd, bw, 2.5 * flop / (bw * 1e9));
    hx_cuda_free(q), hx_cuda_free(k), hx_cuda_free(v), hx_cuda_free(o), hx_cuda_free(dq), hx_cuda_free(dk);
    hx_cuda_free(dv), hx_cuda_free(lse);
}

int main(int argc, char **argv)
{
    bool do_bench = !(argc > 1 && strcmp(argv[1], "--no-bench") == 0);
    char info[256];
    CHECK_OK(hx_cuda_device_info(info, sizeof info));
    printf("device: %s\n", info);
    hx_rng_seed(&g_rng, 20240611);
    hx_cuda_gemm *ctx;
    CHECK_OK(hx_cuda_gemm_create(&ctx, 0));

    check_embedding();
    check_rmsnorm();
    check_rope();
    check_swiglu();
    check_attention();
    check_cross_entropy();
    check_kl(1.0f);
    check_kl(2.0f);
    check_adamw();
    check_gemm(ctx);
    printf("SUMMARY %d passed, %d failed\n", g_passed, g_failed);
    if (do_bench) bench(ctx);
    hx_cuda_gemm_destroy(ctx);
    return g_failed ? 1 : 0;
}
