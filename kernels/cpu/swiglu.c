/* SwiGLU activation of LlamaMLP: silu(gate) * up, forward and backward. The
 * exponentials of a block of elements are taken together (hx_exp_shifted,
 * the same bits as expf), then each element finishes in scalar order. */
#include "cpu/ops.h"

#define BLOCK 256

/* e[0..n) = exp(-g[0..n)) */
static void exp_neg(float *e, const float *g, long n)
{
    for (long k = 0; k < n; k++) e[k] = -g[k];
    hx_exp_shifted(e, e, 0.0f, n);
}

void hx_swiglu_fwd(float *h, const float *g, const float *u, long n)
{
#pragma omp parallel for schedule(static)
    for (long i0 = 0; i0 < n; i0 += BLOCK) {
        long m = n - i0 < BLOCK ? n - i0 : BLOCK;
        float e[BLOCK];
        exp_neg(e, g + i0, m);
        for (long k = 0; k < m; k++) {
            long i = i0 + k;
            float s = 1.0f / (1.0f + e[k]);
            h[i] = g[i] * s * u[i];
        }
    }
}

void hx_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, long n)
{
#pragma omp parallel for schedule(static)
    for (long i0 = 0; i0 < n; i0 += BLOCK) {
        long m = n - i0 < BLOCK ? n - i0 : BLOCK;
        float e[BLOCK];
        exp_neg(e, g + i0, m);
        for (long k = 0; k < m; k++) {
            long i = i0 + k;
            float s = 1.0f / (1.0f + e[k]);
            float d = dh[i];
            du[i] = d * g[i] * s;
            dg[i] = d * u[i] * s * (1.0f + g[i] * (1.0f - s));
        }
    }
}
