/* bf16 linear layer for forward-only passes on CPUs with AVX512-BF16:
 * y = x W^T with x and W rounded to bfloat16 and products accumulated in
 * fp32 by vdpbf16ps, from a weight packed once (hx_bf16_pack). */
#include "cpu/ops.h"

#include "core/cpu.h"
#include "cpu/convert.h"

#include <immintrin.h>
#include <string.h>

#define PANEL 32 /* output columns per packed panel: two zmm registers */
#define ROWS 6   /* rows of x per register block: 12 accumulators */

static int round2(int k) { return (k + 1) & ~1; }

size_t hx_bf16_packed_len(int in, int out)
{
    return (size_t)((out + PANEL - 1) / PANEL) * PANEL * (size_t)round2(in);
}

void hx_bf16_pack(uint16_t *P, const float *W, int in, int out)
{
    int KP = round2(in) / 2, NB = (out + PANEL - 1) / PANEL;
#pragma omp parallel for schedule(static)
    for (int nb = 0; nb < NB; nb++)
        for (int kp = 0; kp < KP; kp++)
            for (int j = 0; j < PANEL; j++)
                for (int e = 0; e < 2; e++) {
                    int n = nb * PANEL + j, k = 2 * kp + e;
                    P[(((size_t)nb * KP + kp) * PANEL + j) * 2 + e] =
                        n < out && k < in ? hx_f32_to_bf16(W[(size_t)n * in + k]) : 0;
                }
}

int hx_bf16_gemm_available(void)
{
    static int have = -1;
    if (have < 0) {
        hx_cpu_features f;
        hx_cpu_detect(&f);
        have = f.avx512f && f.avx512_bf16;
    }
    return have;
}

/* x [N, in] fp32 -> xb [N, round2(in)] bf16 pairs (a zero pads an odd in). */
__attribute__((target("avx512f,avx512bf16"))) static void convert_rows(uint16_t *xb, const float *x, int N, int in)
{
    int K2 = round2(in);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        const float *s = x + (size_t)r * in;
        uint16_t *d = xb + (size_t)r * K2;
        int k = 0;
        for (; k + 32 <= in; k += 32)
            _mm512_storeu_si512(d + k, (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + k + 16), _mm512_loadu_ps(s + k)));
        for (; k < in; k++) d[k] = hx_f32_to_bf16(s[k]);
        if (K2 > in) d[in] = 0;
    }
}

/* c[i] += x row i . panel over KP input pairs, for rows i < R. Inlined into
 * both callers below: with R the constant ROWS the row loop unrolls and the
 * 12 accumulators stay in registers. */
__attribute__((target("avx512f,avx512bf16"), always_inline)) static inline void
accumulate(__m512 c[ROWS][2], const uint32_t *const xr[ROWS], const uint16_t *pb, int KP, int R)
{
    for (int kp = 0; kp < KP; kp++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(pb + (size_t)kp * 2 * PANEL);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(pb + (size_t)kp * 2 * PANEL + PANEL);
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)xr[i][kp]);
            c[i][0] = _mm512_dpbf16_ps(c[i][0], a, b0);
            c[i][1] = _mm512_dpbf16_ps(c[i][1], a, b1);
        }
    }
}

/* One block of R <= ROWS rows by one panel: c = x[m0 .. m0+R) . panel, then
 * y = c + beta y on the panel's valid columns [0, ncols). */
__attribute__((target("avx512f,avx512bf16"))) static void block(float *y, const uint16_t *xb, const uint16_t *pb, int R,
                                                                 int KP, int ldx, int ldy, int ncols, float beta)
{
    __m512 c[ROWS][2];
#pragma GCC unroll 6
    for (int i = 0; i < ROWS; i++) c[i][0] = c[i][1] = _mm512_setzero_ps();
    const uint32_t *xr[ROWS];
    for (int i = 0; i < ROWS; i++) xr[i] = (const uint32_t *)(xb + (size_t)(i < R ? i : 0) * ldx);
    if (R == ROWS) accumulate(c, xr, pb, KP, ROWS);
    else accumulate(c, xr, pb, KP, R);
    __mmask16 m0 = ncols >= 16 ? 0xffff : (__mmask16)((1u << ncols) - 1);
    __mmask16 m1 = ncols >= 32 ? 0xffff : ncols <= 16 ? 0 : (__mmask16)((1u << (ncols - 16)) - 1);
    for (int i = 0; i < R; i++) {
        float *yr = y + (size_t)i * ldy;
        if (beta != 0.0f) {
            __m512 vb = _mm512_set1_ps(beta);
            c[i][0] = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, yr), c[i][0]);
            c[i][1] = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, yr + 16), c[i][1]);
        }
        _mm512_mask_storeu_ps(yr, m0, c[i][0]);
        _mm512_mask_storeu_ps(yr + 16, m1, c[i][1]);
    }
}

int hx_linear_fwd_bf16(float *y, const float *x, const uint16_t *Wp, int N, int in, int out, float beta, uint16_t *xbuf)
{
    if (!hx_bf16_gemm_available()) return -1;
    convert_rows(xbuf, x, N, in);
    int K2 = round2(in), KP = K2 / 2, NB = (out + PANEL - 1) / PANEL, MB = (N + ROWS - 1) / ROWS;
    /* each output element is computed by one thread in a fixed order: the
     * result does not depend on the thread count */
#pragma omp parallel for collapse(2) schedule(static)
    for (int nb = 0; nb < NB; nb++)
        for (int mb = 0; mb < MB; mb++) {
            int m0 = mb * ROWS, R = N - m0 < ROWS ? N - m0 : ROWS, n0 = nb * PANEL;
            block(y + (size_t)m0 * out + n0, xbuf + (size_t)m0 * K2, Wp + (size_t)nb * KP * 2 * PANEL, R, KP, K2, out,
                  out - n0 < PANEL ? out - n0 : PANEL, beta);
        }
    return 0;
}
