/* Causal grouped-query attention (HF eager semantics) with optional sliding
 * window, flash-style: each (batch, head) pair is processed in blocks of
 * ROW_BLOCK query rows against only the keys they may see (the causal upper
 * triangle is skipped); a block's scores live in per-thread scratch, and the
 * forward keeps one logsumexp per query row instead of the [T, T]
 * probability matrix, which the backward recomputes block by block. GEMMs are
 * single-threaded cblas_sgemm calls inside an OpenMP loop over independent
 * (batch, head) or (batch, KV head) tasks, so the result does not depend on
 * the thread count. */
#include "cpu/gemm.h"
#include "cpu/ops.h"

#include "core/err.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define ROW_BLOCK 64

/* First key that query row i may attend to. */
static int key_lo(int i, int window) { return window > 0 && i - window + 1 > 0 ? i - window + 1 : 0; }

static int check_shape(const hx_attn_shape *s)
{
    if (s->B <= 0 || s->T <= 0 || s->head_dim <= 0 || s->n_kv_heads <= 0 || s->n_heads % s->n_kv_heads != 0 ||
        s->window < 0)
        return HX_ERR(HX_EINVAL, "attention: bad shape B=%d T=%d heads=%d kv_heads=%d head_dim=%d window=%d", s->B,
                      s->T, s->n_heads, s->n_kv_heads, s->head_dim, s->window);
    return HX_OK;
}

int hx_attention_fwd(float *out, float *lse, const float *q, const float *k, const float *v, const hx_attn_shape *s)
{
    HX_TRY(check_shape(s));
    const int B = s->B, T = s->T, Hq = s->n_heads, Hkv = s->n_kv_heads, D = s->head_dim, W = s->window;
    const int group = Hq / Hkv, qs = Hq * D, kvs = Hkv * D;
    const float scale = 1.0f / sqrtf((float)D);
    float *scratch = hx_malloc(sizeof(float) * (size_t)omp_get_max_threads() * ROW_BLOCK * T);
    if (!scratch) return HX_ENOMEM;
    int nb = hx_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1)
    for (int bh = 0; bh < B * Hq; bh++) {
        int b = bh / Hq, h = bh % Hq, g = h / group;
        const float *qb = q + (size_t)b * T * qs + (size_t)h * D;
        const float *kb = k + (size_t)b * T * kvs + (size_t)g * D, *vb = v + (size_t)b * T * kvs + (size_t)g * D;
        float *ob = out + (size_t)b * T * qs + (size_t)h * D;
        float *P = scratch + (size_t)omp_get_thread_num() * ROW_BLOCK * T;
        for (int i0 = 0; i0 < T; i0 += ROW_BLOCK) {
            int i1 = i0 + ROW_BLOCK < T ? i0 + ROW_BLOCK : T, ks = key_lo(i0, W), nk = i1 - ks;
            /* P: rows i0..i1-1, columns keys ks..i1-1 (ld nk) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i1 - i0, nk, D, scale, qb + (size_t)i0 * qs, qs,
                        kb + (size_t)ks * kvs, kvs, 0.0f, P, nk);
            for (int i = i0; i < i1; i++) {
                float *p = P + (size_t)(i - i0) * nk - ks; /* p[j] for absolute key j */
                int lo = key_lo(i, W);
                float mx = -INFINITY;
                for (int j = lo; j <= i; j++) mx = p[j] > mx ? p[j] : mx;
                hx_exp_shifted(p + lo, p + lo, mx, i - lo + 1);
                float sum = 0;
                for (int j = lo; j <= i; j++) sum += p[j];
                float inv = 1.0f / sum;
                for (int j = lo; j <= i; j++) p[j] *= inv;
                memset(p + ks, 0, sizeof(float) * (size_t)(lo - ks));
                memset(p + i + 1, 0, sizeof(float) * (size_t)(i1 - i - 1));
                if (lse) lse[(size_t)bh * T + i] = mx + logf(sum);
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, i1 - i0, D, nk, 1.0f, P, nk,
                        vb + (size_t)ks * kvs, kvs, 0.0f, ob + (size_t)i0 * qs, qs);
        }
    }
    hx_blas_serial_end(nb);
    free(scratch);
    return HX_OK;
}

int hx_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                     const float *v, const float *out, const float *lse, const hx_attn_shape *s)
{
    HX_TRY(check_shape(s));
    const int B = s->B, T = s->T, Hq = s->n_heads, Hkv = s->n_kv_heads, D = s->head_dim, W = s->window;
    const int group = Hq / Hkv, qs = Hq * D, kvs = Hkv * D;
    const float scale = 1.0f / sqrtf((float)D);
    float *scratch = hx_malloc(sizeof(float) * (size_t)omp_get_max_threads() * 2 * ROW_BLOCK * T);
    if (!scratch) return HX_ENOMEM;
    memset(dk, 0, sizeof(float) * (size_t)B * T * kvs);
    memset(dv, 0, sizeof(float) * (size_t)B * T * kvs);
    int nb = hx_blas_serial_begin();
    /* One task per (batch, KV head): the group's query heads run in order
     * inside it, so their dK/dV contributions are summed without races. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int bg = 0; bg < B * Hkv; bg++) {
        int b = bg / Hkv, g = bg % Hkv;
        float *P = scratch + (size_t)omp_get_thread_num() * 2 * ROW_BLOCK * T, *dS = P + (size_t)ROW_BLOCK * T;
        const float *kb = k + (size_t)b * T * kvs + (size_t)g * D, *vb = v + (size_t)b * T * kvs + (size_t)g * D;
        float *dkb = dk + (size_t)b * T * kvs + (size_t)g * D, *dvb = dv + (size_t)b * T * kvs + (size_t)g * D;
        for (int h = g * group; h < (g + 1) * group; h++) {
            size_t off = (size_t)b * T * qs + (size_t)h * D;
            const float *qb = q + off, *dob = dout + off, *obh = out + off, *lh = lse + (size_t)(b * Hq + h) * T;
            float *dqb = dq + off;
            for (int i0 = 0; i0 < T; i0 += ROW_BLOCK) {
                int i1 = i0 + ROW_BLOCK < T ? i0 + ROW_BLOCK : T, ks = key_lo(i0, W), nk = i1 - ks, m = i1 - i0;
                /* P = exp(scale Q K^T - lse) recomputed (zero where masked); dP = dO V^T */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nk, D, scale, qb + (size_t)i0 * qs, qs,
                            kb + (size_t)ks * kvs, kvs, 0.0f, P, nk);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nk, D, 1.0f, dob + (size_t)i0 * qs, qs,
                            vb + (size_t)ks * kvs, kvs, 0.0f, dS, nk);
                for (int r = 0; r < m; r++) {
                    int i = i0 + r, lo = key_lo(i, W);
                    float *p = P + (size_t)r * nk - ks, *d = dS + (size_t)r * nk - ks; /* absolute key index */
                    /* dS = P * (dP - D_i) * scale with D_i = rowsum(P * dP) = dO_i . O_i */
                    const float *oi = obh + (size_t)i * qs, *doi = dob + (size_t)i * qs;
                    float di = 0, l = lh[i];
                    for (int e = 0; e < D; e++) di += doi[e] * oi[e];
                    hx_exp_shifted(p + lo, p + lo, l, i - lo + 1);
                    for (int j = ks; j < i1; j++) {
                        float pj = j >= lo && j <= i ? p[j] : 0.0f;
                        p[j] = pj;
                        d[j] = pj * (d[j] - di) * scale;
                    }
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, nk, 1.0f, dS, nk, kb + (size_t)ks * kvs,
                            kvs, 0.0f, dqb + (size_t)i0 * qs, qs);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, m, 1.0f, dS, nk, qb + (size_t)i0 * qs, qs,
                            1.0f, dkb + (size_t)ks * kvs, kvs);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, m, 1.0f, P, nk, dob + (size_t)i0 * qs, qs,
                            1.0f, dvb + (size_t)ks * kvs, kvs);
            }
        }
    }
    hx_blas_serial_end(nb);
    free(scratch);
    return HX_OK;
}
