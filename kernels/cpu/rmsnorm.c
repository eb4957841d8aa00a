/* RMSNorm as transformers' LlamaRMSNorm (fp32), forward and backward. */
#include "cpu/ops.h"

#include <math.h>
#include <omp.h>

void hx_rmsnorm_fwd(float *y, float *rstd, const float *x, const float *w, int N, int H, float eps)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * H;
        float *yi = y + (size_t)i * H;
        double ss = 0;
        for (int j = 0; j < H; j++) ss += (double)xi[j] * xi[j];
        float var = (float)(ss / H);
        float r = 1.0f / sqrtf(var + eps);
        rstd[i] = r;
        for (int j = 0; j < H; j++) yi[j] = w[j] * (xi[j] * r);
    }
}

void hx_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, int N,
                    int H)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * H, *gi = dy + (size_t)i * H;
        float *dxi = dx + (size_t)i * H;
        double dot = 0;
        for (int j = 0; j < H; j++) dot += (double)gi[j] * w[j] * xi[j];
        float r = rstd[i];
        float c = (float)((double)r * r * r * dot / H);
        for (int j = 0; j < H; j++) dxi[j] += r * w[j] * gi[j] - c * xi[j];
    }
    /* dw: columns split across threads, rows summed in order (no races). */
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int j0 = (int)((long)H * t / nt), j1 = (int)((long)H * (t + 1) / nt);
        for (int i = 0; i < N; i++) {
            const float *xi = x + (size_t)i * H, *gi = dy + (size_t)i * H;
            float r = rstd[i];
            for (int j = j0; j < j1; j++) dw[j] += gi[j] * (xi[j] * r);
        }
    }
}
