/* acc / acc_norm / acc_bytes over multiple-choice items. */
#include "eval/mc_metrics.h"

#include <math.h>
#include <stddef.h>

int hx_mc_argmax(const double *ll, const int *div, int n)
{
    int best = 0;
    double bv = -INFINITY;
    for (int i = 0; i < n; i++) {
        double v = div ? ll[i] / (double)(div[i] > 0 ? div[i] : 1) : ll[i];
        if (v > bv) {
            bv = v;
            best = i;
        }
    }
    return best;
}

void hx_mc_tally_add(hx_mc_tally *t, const double *ll, const int *len_chars, const int *len_bytes, int n, int gold)
{
    t->n++;
    t->acc += hx_mc_argmax(ll, NULL, n) == gold;
    t->acc_norm += hx_mc_argmax(ll, len_chars, n) == gold;
    t->acc_bytes += hx_mc_argmax(ll, len_bytes, n) == gold;
}

void hx_mc_mean_stderr(const hx_mc_tally *t, double sum, double *mean, double *se)
{
    double n = (double)t->n;
    *mean = n > 0 ? sum / n : 0.0;
    /* Outcomes are 0/1: sample variance = n/(n-1) * m(1-m). */
    *se = n > 1 ? sqrt(n / (n - 1) * *mean * (1 - *mean) / n) : 0.0;
}
