/* SwiGLU activation of LlamaMLP: silu(gate) * up, forward and backward. */
#include "cpu/ops.h"

#include <math.h>

void hx_swiglu_fwd(float *h, const float *g, const float *u, long n)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-g[i]));
        h[i] = g[i] * s * u[i];
    }
}

void hx_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, long n)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-g[i]));
        float d = dh[i];
        du[i] = d * g[i] * s;
        dg[i] = d * u[i] * s * (1.0f + g[i] * (1.0f - s));
    }
}
