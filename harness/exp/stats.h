/* Small-sample statistics for comparing arms across seeds: the mean and
 * its Student-t 95% interval, paired differences, verdicts on claims, and
 * the Wilson score interval of an accuracy. */
#ifndef HX_EXP_STATS_H
#define HX_EXP_STATS_H

/* The two-sided 95% quantile t_{0.975} of Student's t with df degrees of
 * freedom (df >= 1): the printed table for df <= 30 (Fisher & Yates,
 * Statistical Tables, 1938), then 1.96 + 2.4 / df (within 0.002 of the exact
 * value for every df > 30). NAN for df < 1. */
double hx_t975(int df);

/* Mean of n values with its spread: sd the sample standard deviation
 * (n - 1 in the denominator), [lo, hi] = mean -/+ t_{0.975, n-1} sd / sqrt(n),
 * the 95% confidence interval of the mean. With n == 1, sd, lo and hi are
 * NAN (one value has no spread); with n == 0 everything is NAN. */
typedef struct {
    int n;
    double mean, sd, lo, hi;
} hx_interval;
hx_interval hx_mean_interval(const double *x, int n);

/* Verdict on a paired difference d = left - right across seeds. */
typedef enum {
    HX_HOLDS = 0,        /* the interval excludes 0 on the claimed side */
    HX_DOES_NOT_HOLD,    /* the interval excludes 0 on the other side */
    HX_WITHIN_NOISE,     /* the interval contains 0, or one seed gives no interval */
} hx_verdict;

/* "holds", "does not hold", "within noise". */
const char *hx_verdict_name(hx_verdict v);

/* Claim "left < right" (e.g. a lower validation loss): HOLDS when hi < 0,
 * DOES_NOT_HOLD when lo > 0, WITHIN_NOISE otherwise (n < 2 included). For a
 * claim of no difference ("iterative pruning gives no benefit"), call with
 * no_difference = 1: HOLDS when the interval contains 0, DOES_NOT_HOLD
 * otherwise, WITHIN_NOISE with n < 2. */
hx_verdict hx_verdict_less(const hx_interval *d, int no_difference);

/* Wilson score interval (95%, z = 1.96) of a proportion of k successes in
 * n trials, in [0, 1] (Wilson 1927; what statsmodels' proportion_confint
 * method="wilson" computes). n <= 0 gives [0, 1]. */
void hx_wilson95(double k, double n, double *lo, double *hi);

#endif
