/* Rotary position embedding in the HF rotate-half convention, with the
 * `llama3` frequency scaling of transformers' _compute_llama3_parameters. */
#include "cpu/ops.h"

#include <math.h>

void hx_rope_inv_freq(float *inv_freq, const hx_rope_params *c)
{
    int d = c->head_dim, half = d / 2;
    for (int i = 0; i < half; i++) {
        /* HF: 1.0 / (base ** (arange(0, dim, 2).float() / dim)) in fp32. */
        float e = (float)(2 * i) / (float)d;
        float f = 1.0f / (float)pow(c->theta, (double)e);
        if (c->llama3) {
            float factor = (float)c->factor, lo = (float)c->low_freq_factor;
            float hi = (float)c->high_freq_factor, old = (float)c->original_max_position;
            float lo_wl = old / lo, hi_wl = old / hi;
            float wl = (float)(2 * M_PI) / f;
            if (wl > lo_wl) {
                f = f / factor;
            } else if (!(wl < hi_wl)) {
                float s = (old / wl - lo) / (hi - lo);
                f = (1 - s) * f / factor + s * f;
            }
        }
        inv_freq[i] = f;
    }
}

void hx_rope_table(float *cos_t, float *sin_t, const hx_rope_params *c, int T)
{
    int half = c->head_dim / 2;
    float inv[half];
    hx_rope_inv_freq(inv, c);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            float a = (float)t * inv[i];
            cos_t[(size_t)t * half + i] = (float)cos((double)a);
            sin_t[(size_t)t * half + i] = (float)sin((double)a);
        }
}

/* Rotates every head of every row by +angle (sign = 1) or -angle (sign = -1,
 * the transpose used by the backward pass). */
static void rotate(float *x, const float *cos_t, const float *sin_t, int N, int T, int heads, int D, float sign)
{
    int half = D / 2;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) {
        const float *c = cos_t + (size_t)(r % T) * half, *s = sin_t + (size_t)(r % T) * half;
        for (int h = 0; h < heads; h++) {
            float *a = x + ((size_t)r * heads + h) * D, *b = a + half;
            for (int i = 0; i < half; i++) {
                float sn = sign * s[i], xa = a[i], xb = b[i];
                a[i] = xa * c[i] - xb * sn;
                b[i] = xb * c[i] + xa * sn;
            }
        }
    }
}

void hx_rope_fwd(float *x, const float *cos_t, const float *sin_t, int N, int T, int heads, int D)
{
    rotate(x, cos_t, sin_t, N, T, heads, D, 1.0f);
}

void hx_rope_bwd(float *dx, const float *cos_t, const float *sin_t, int N, int T, int heads, int D)
{
    rotate(dx, cos_t, sin_t, N, T, heads, D, -1.0f);
}
