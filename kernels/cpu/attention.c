/* Causal grouped-query attention (HF eager semantics) with optional sliding
 * window. Each (batch, head) pair is processed in blocks of query rows; a
 * block only multiplies against the keys it may see, so the causal upper
 * triangle is skipped. GEMMs are single-threaded cblas_sgemm calls inside
 * an OpenMP loop over independent (batch, head) or (batch, KV head) tasks,
 * so the result does not depend on the thread count. */
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

int hx_attention_fwd(float *out, float *probs, const float *q, const float *k, const float *v,
                     const hx_attn_shape *s)
{
    HX_TRY(check_shape(s));
    const int B = s->B, T = s->T, Hq = s->n_heads, Hkv = s->n_kv_heads, D = s->head_dim, W = s->window;
    const int group = Hq / Hkv, qs = Hq * D, kvs = Hkv * D;
    const float scale = 1.0f / sqrtf((float)D);
    float *scratch = NULL;
    if (!probs) {
        scratch = hx_malloc(sizeof(float) * (size_t)omp_get_max_threads() * ROW_BLOCK * T);
        if (!scratch) return HX_ENOMEM;
    }
    int nb = hx_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1)
    for (int bh = 0; bh < B * Hq; bh++) {
        int b = bh / Hq, h = bh % Hq, g = h / group;
        const float *qb = q + (size_t)b * T * qs + (size_t)h * D;
        const float *kb = k + (size_t)b * T * kvs + (size_t)g * D, *vb = v + (size_t)b * T * kvs + (size_t)g * D;
        float *ob = out + (size_t)b * T * qs + (size_t)h * D;
        for (int i0 = 0; i0 < T; i0 += ROW_BLOCK) {
            int i1 = i0 + ROW_BLOCK < T ? i0 + ROW_BLOCK : T, ks = key_lo(i0, W), nk = i1 - ks;
            /* P: rows i0..i1-1 (row stride T), columns = absolute key positions. */
            float *P = probs ? probs + ((size_t)bh * T + i0) * T
                             : scratch + (size_t)omp_get_thread_num() * ROW_BLOCK * T;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, i1 - i0, nk, D, scale, qb + (size_t)i0 * qs, qs,
                        kb + (size_t)ks * kvs, kvs, 0.0f, P + ks, T);
            for (int i = i0; i < i1; i++) {
                float *p = P + (size_t)(i - i0) * T;
                int lo = key_lo(i, W);
                float mx = -INFINITY;
                for (int j = lo; j <= i; j++) mx = p[j] > mx ? p[j] : mx;
                float sum = 0;
                for (int j = lo; j <= i; j++) {
                    p[j] = expf(p[j] - mx);
                    sum += p[j];
                }
                float inv = 1.0f / sum;
                for (int j = lo; j <= i; j++) p[j] *= inv;
                if (probs) {
                    memset(p, 0, sizeof(float) * (size_t)lo);
                    memset(p + i + 1, 0, sizeof(float) * (size_t)(T - i - 1));
                } else {
                    memset(p + ks, 0, sizeof(float) * (size_t)(lo - ks));
                    memset(p + i + 1, 0, sizeof(float) * (size_t)(i1 - i - 1));
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, i1 - i0, D, nk, 1.0f, P + ks, T,
                        vb + (size_t)ks * kvs, kvs, 0.0f, ob + (size_t)i0 * qs, qs);
        }
    }
    hx_blas_serial_end(nb);
    free(scratch);
    return HX_OK;
}

int hx_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *probs, const float *q,
                     const float *k, const float *v, const hx_attn_shape *s)
{
    HX_TRY(check_shape(s));
    const int B = s->B, T = s->T, Hq = s->n_heads, Hkv = s->n_kv_heads, D = s->head_dim, W = s->window;
    const int group = Hq / Hkv, qs = Hq * D, kvs = Hkv * D;
    const float scale = 1.0f / sqrtf((float)D);
    float *scratch = hx_malloc(sizeof(float) * (size_t)omp_get_max_threads() * ROW_BLOCK * T);
    if (!scratch) return HX_ENOMEM;
    memset(dk, 0, sizeof(float) * (size_t)B * T * kvs);
    memset(dv, 0, sizeof(float) * (size_t)B * T * kvs);
    int nb = hx_blas_serial_begin();
    /* One task per (batch, KV head): the group's query heads run in order
     * inside it, so their dK/dV contributions are summed without races. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int bg = 0; bg < B * Hkv; bg++) {
        int b = bg / Hkv, g = bg % Hkv;
        float *dS = scratch + (size_t)omp_get_thread_num() * ROW_BLOCK * T;
        const float *kb = k + (size_t)b * T * kvs + (size_t)g * D, *vb = v + (size_t)b * T * kvs + (size_t)g * D;
        float *dkb = dk + (size_t)b * T * kvs + (size_t)g * D, *dvb = dv + (size_t)b * T * kvs + (size_t)g * D;
        for (int h = g * group; h < (g + 1) * group; h++) {
            size_t off = (size_t)b * T * qs + (size_t)h * D;
            const float *qb = q + off, *dob = dout + off;
            float *dqb = dq + off;
            for (int i0 = 0; i0 < T; i0 += ROW_BLOCK) {
                int i1 = i0 + ROW_BLOCK < T ? i0 + ROW_BLOCK : T, ks = key_lo(i0, W), nk = i1 - ks, m = i1 - i0;
                const float *P = probs + ((size_t)(b * Hq + h) * T + i0) * T + ks; /* [m, nk], ld T */
                /* dP = dO V^T, then dS = P * (dP - rowsum(P * dP)) * scale. */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nk, D, 1.0f, dob + (size_t)i0 * qs, qs,
                            vb + (size_t)ks * kvs, kvs, 0.0f, dS, nk);
                for (int r = 0; r < m; r++) {
                    const float *p = P + (size_t)r * T;
                    float *d = dS + (size_t)r * nk;
                    float dot = 0;
                    for (int j = 0; j < nk; j++) dot += p[j] * d[j];
                    for (int j = 0; j < nk; j++) d[j] = p[j] * (d[j] - dot) * scale;
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, nk, 1.0f, dS, nk, kb + (size_t)ks * kvs,
                            kvs, 0.0f, dqb + (size_t)i0 * qs, qs);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, m, 1.0f, dS, nk, qb + (size_t)i0 * qs, qs,
                            1.0f, dkb + (size_t)ks * kvs, kvs);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, m, 1.0f, P, T, dob + (size_t)i0 * qs, qs,
                            1.0f, dvb + (size_t)ks * kvs, kvs);
            }
        }
    }
    hx_blas_serial_end(nb);
    free(scratch);
    return HX_OK;
}
