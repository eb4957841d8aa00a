/* Sequence/batch aggregation of importance scores and Block Importance. */
#include "minitron/aggregate.h"

#include "core/err.h"
#include "core/parse.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

const char *const hx_agg_names[] = {"mean", "l2", "var", NULL};

int hx_agg_parse(const char *s)
{
    if (!strcmp(s, "L2")) return HX_AGG_L2;
    if (!strcmp(s, "variance")) return HX_AGG_VAR;
    return hx_parse_enum(hx_agg_names, s);
}

const char *hx_agg_name(hx_agg a) { return a <= HX_AGG_VAR ? hx_agg_names[a] : "?"; }

int hx_agg_init(hx_agg_acc *a, int width, hx_agg batch, hx_agg seq)
{
    memset(a, 0, sizeof *a);
    a->batch = batch;
    a->seq = seq;
    a->width = width;
    a->s1 = hx_calloc((size_t)width, sizeof(double));
    a->s2 = hx_calloc((size_t)width, sizeof(double));
    a->t1 = hx_calloc((size_t)width, sizeof(double));
    a->t2 = hx_calloc((size_t)width, sizeof(double));
    if (!a->s1 || !a->s2 || !a->t1 || !a->t2) {
        hx_agg_free(a);
        return HX_ENOMEM;
    }
    return HX_OK;
}

void hx_agg_free(hx_agg_acc *a)
{
    free(a->s1);
    free(a->s2);
    free(a->t1);
    free(a->t2);
    memset(a, 0, sizeof *a);
}

/* Final value of an aggregation from n, sum(v) [or sum|v|] and sum(v^2). */
static double reduce(hx_agg f, double n, double s1, double s2)
{
    if (n <= 0) return 0.0;
    switch (f) {
    case HX_AGG_MEAN: return s1 / n;
    case HX_AGG_L2: return sqrt(s2);
    default: {
        double m = s1 / n, v = s2 / n - m * m;
        return v > 0 ? v : 0.0;
    }
    }
}

void hx_agg_add_range(hx_agg_acc *a, const float *x, int T, int ld, int c0, int c1)
{
    double *p1 = a->t1, *p2 = a->t2;
    for (int c = c0; c < c1; c++) p1[c] = p2[c] = 0;
    /* only the sums the sequence aggregation reads: mean needs sum|v|, l2 sum v^2, var both */
    for (int t = 0; t < T; t++) {
        const float *row = x + (size_t)t * ld;
        switch (a->seq) {
        case HX_AGG_MEAN:
            for (int c = c0; c < c1; c++) p1[c] += fabs((double)row[c]);
            break;
        case HX_AGG_L2:
            for (int c = c0; c < c1; c++) p2[c] += (double)row[c] * row[c];
            break;
        default:
            for (int c = c0; c < c1; c++) {
                double v = row[c];
                p1[c] += v;
                p2[c] += v * v;
            }
        }
    }
    int babs = a->batch == HX_AGG_MEAN;
    for (int c = c0; c < c1; c++) {
        double v = reduce(a->seq, T, p1[c], p2[c]);
        a->s1[c] += babs ? fabs(v) : v;
        a->s2[c] += v * v;
    }
}

void hx_agg_samples_added(hx_agg_acc *a, int n) { a->samples += n; }

void hx_agg_add_sample(hx_agg_acc *a, const float *x, int T, int ld)
{
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        hx_agg_add_range(a, x, T, ld, (int)((long)a->width * id / nt), (int)((long)a->width * (id + 1) / nt));
    }
    hx_agg_samples_added(a, 1);
}

void hx_agg_finish(const hx_agg_acc *a, double *out)
{
    for (int c = 0; c < a->width; c++) out[c] = reduce(a->batch, (double)a->samples, a->s1[c], a->s2[c]);
}

double hx_block_importance_sum(const float *x_in, const float *x_out, int N, int D)
{
    double *tok = hx_malloc((size_t)(N > 0 ? N : 1) * sizeof(double));
    if (!tok) return NAN;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *a = x_in + (size_t)n * D, *b = x_out + (size_t)n * D;
        double ab = 0, aa = 0, bb = 0;
        for (int d = 0; d < D; d++) {
            ab += (double)a[d] * b[d];
            aa += (double)a[d] * a[d];
            bb += (double)b[d] * b[d];
        }
        double c = (aa > 0 && bb > 0) ? ab / sqrt(aa * bb) : 1.0;
        if (c > 1.0) c = 1.0;
        if (c < -1.0) c = -1.0;
        tok[n] = 1.0 - c;
    }
    double total = 0; /* summed in order: bit-identical for any thread count */
    for (int n = 0; n < N; n++) total += tok[n];
    free(tok);
    return total;
}
