/* SwiGLU activation of LlamaMLP: silu(gate) * up, forward and backward. The
 * sigmoids of a block of elements are taken together (the exponentials by
 * hx_exp_shifted, the same bits as expf), then each element finishes in
 * scalar order. */
#include "cpu/ops.h"

#define BLOCK 256

/* s[0..n) = sigmoid(g[0..n)) = 1 / (1 + exp(-g)) */
static void sigmoid(float *s, const float *g, long n)
{
    for (long k = 0; k < n; k++) s[k] = -g[k];
    hx_exp_shifted(s, s, 0.0f, n);
    for (long k = 0; k < n; k++) s[k] = 1.0f / (1.0f + s[k]);
}

/* Forward with dh NULL (out = h), else backward (out = dg, which may alias dh). */
static void swiglu(float *out, float *du, const float *dh, const float *g, const float *u, long n)
{
#pragma omp parallel for schedule(static)
    for (long i0 = 0; i0 < n; i0 += BLOCK) {
        long m = n - i0 < BLOCK ? n - i0 : BLOCK;
        float s[BLOCK];
        sigmoid(s, g + i0, m);
        for (long k = 0; k < m; k++) {
            long i = i0 + k;
            if (!dh) {
                out[i] = g[i] * s[k] * u[i];
                continue;
            }
            float d = dh[i];
            du[i] = d * g[i] * s[k];
            out[i] = d * u[i] * s[k] * (1.0f + g[i] * (1.0f - s[k]));
        }
    }
}

void hx_swiglu_fwd(float *h, const float *g, const float *u, long n) { swiglu(h, NULL, NULL, g, u, n); }

void hx_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, long n)
{
    swiglu(dg, du, dh, g, u, n);
}
