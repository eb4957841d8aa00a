/* Multiple-choice metrics as lm-evaluation-harness computes them:
 * acc (argmax of summed log-likelihood), acc_norm (argmax of log-likelihood
 * divided by the choice's length in characters), acc_bytes (divided by the
 * UTF-8 byte length), with standard errors sqrt(var_sample / n). */
#ifndef HX_EVAL_MC_METRICS_H
#define HX_EVAL_MC_METRICS_H

typedef struct {
    long n;
    double acc, acc_norm, acc_bytes;          /* sums of 0/1 outcomes */
} hx_mc_tally;

/* Index of the best choice by ll[i] / div[i] (div NULL = 1); ties go to the
 * lowest index, as numpy.argmax. */
int hx_mc_argmax(const double *ll, const int *div, int n);

/* Scores one item from per-choice log-likelihoods (nats) and lengths. */
void hx_mc_tally_add(hx_mc_tally *t, const double *ll, const int *len_chars, const int *len_bytes, int n_choices,
                     int gold);

/* Mean and standard error (sample stddev with n-1, over sqrt(n)) of a metric
 * whose outcome sum is `sum` over t->n items. */
void hx_mc_mean_stderr(const hx_mc_tally *t, double sum, double *mean, double *stderr_out);

#endif
