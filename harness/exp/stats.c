/* Student-t intervals, verdicts and Wilson intervals (see stats.h). */
#include "exp/stats.h"

#include <math.h>

double hx_t975(int df)
{
    static const double t[31] = {NAN,    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201, 2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
                                 2.074, 2.069,  2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1) return NAN;
    return df <= 30 ? t[df] : 1.96 + 2.4 / df;
}

hx_interval hx_mean_interval(const double *x, int n)
{
    hx_interval r = {n, NAN, NAN, NAN, NAN};
    if (n < 1) return r;
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    r.mean = s / n;
    if (n < 2) return r;
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (x[i] - r.mean) * (x[i] - r.mean);
    r.sd = sqrt(ss / (n - 1));
    double half = hx_t975(n - 1) * r.sd / sqrt((double)n);
    r.lo = r.mean - half;
    r.hi = r.mean + half;
    return r;
}

const char *hx_verdict_name(hx_verdict v)
{
    static const char *const names[] = {"holds", "does not hold", "within noise"};
    return names[v];
}

hx_verdict hx_verdict_less(const hx_interval *d, int no_difference)
{
    if (d->n < 2 || isnan(d->lo)) return HX_WITHIN_NOISE;
    if (no_difference) return d->lo <= 0 && d->hi >= 0 ? HX_HOLDS : HX_DOES_NOT_HOLD;
    return d->hi < 0 ? HX_HOLDS : d->lo > 0 ? HX_DOES_NOT_HOLD : HX_WITHIN_NOISE;
}

void hx_wilson95(double k, double n, double *lo, double *hi)
{
    if (n <= 0) {
        *lo = 0, *hi = 1;
        return;
    }
    const double z = 1.96, z2 = z * z, p = k / n;
    double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    double half = z / (1 + z2 / n) * sqrt(p * (1 - p) / n + z2 / (4 * n * n));
    *lo = fmax(0, centre - half);
    *hi = fmin(1, centre + half);
}
