/* Gradient reduction, global norm and clipping. */
#include "train/grad.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NORM_BLOCK 4096

int hx_grad_reduce(const hx_comm *comm, hx_model *grads, double *sums, int n_sums)
{
    if (n_sums < 1) return HX_ERR(HX_EINVAL, "grad_reduce: need at least the unmasked-token count in sums[0]");
    if (!(sums[0] >= 0)) return HX_ERR(HX_EINVAL, "grad_reduce: negative unmasked-token count %g", sums[0]);
    if (comm && comm->allreduce_f32) HX_TRY(comm->allreduce_f32(comm->ctx, grads->data, grads->n_floats));
    if (comm && comm->allreduce_f64) HX_TRY(comm->allreduce_f64(comm->ctx, sums, (size_t)n_sums));
    const double count = sums[0];
    if (count == 0) {
        hx_grad_zero(grads);
        return HX_OK;
    }
    const float inv = (float)(1.0 / count);
    float *g = grads->data;
    const long n = (long)grads->n_floats;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) g[i] *= inv;
    return HX_OK;
}

static double block_sumsq(const float *g, long b, long n)
{
    long end = (b + 1) * NORM_BLOCK < n ? (b + 1) * NORM_BLOCK : n;
    double s = 0;
    for (long i = b * NORM_BLOCK; i < end; i++) s += (double)g[i] * g[i];
    return s;
}

/* sum of squares of g[0..n), in fixed blocks (deterministic for any thread count). */
static double sumsq(const float *g, long n)
{
    const long nb = (n + NORM_BLOCK - 1) / NORM_BLOCK;
    double *part = malloc((size_t)(nb ? nb : 1) * sizeof(double));
    double total = 0;
    if (!part) { /* no room for the block sums: the same blocks and order, serially */
        for (long b = 0; b < nb; b++) total += block_sumsq(g, b, n);
        return total;
    }
#pragma omp parallel for schedule(static)
    for (long b = 0; b < nb; b++) part[b] = block_sumsq(g, b, n);
    for (long b = 0; b < nb; b++) total += part[b];
    free(part);
    return total;
}

double hx_grad_norm(const hx_model *grads) { return sqrt(sumsq(grads->data, (long)grads->n_floats)); }

static void scale(float *g, long n, float coef)
{
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) g[i] *= coef;
}

double hx_grad_clip_with(hx_model *grads, float *extra, size_t n_extra, double max_norm)
{
    double ss = sumsq(grads->data, (long)grads->n_floats);
    double norm = extra && n_extra ? sqrt(ss + sumsq(extra, (long)n_extra)) : sqrt(ss);
    if (max_norm > 0 && isfinite(norm) && norm > max_norm) {
        const float coef = (float)(max_norm / (norm + 1e-6));
        scale(grads->data, (long)grads->n_floats, coef);
        if (extra) scale(extra, (long)n_extra, coef);
    }
    return norm;
}

double hx_grad_clip(hx_model *grads, double max_norm) { return hx_grad_clip_with(grads, NULL, 0, max_norm); }

void hx_grad_zero(hx_model *grads)
{
    memset(grads->data, 0, grads->n_floats * sizeof(float));
}
