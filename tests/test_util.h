/* Shared includes and helpers for the cmocka test suites: small model
 * configs, a per-suite temporary directory, and the one NaN-aware array
 * comparison every suite uses (a NaN or Inf on either side is a failure). */
#ifndef HX_TEST_UTIL_H
#define HX_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/shard.h"
#include "model/config.h"

/* A Llama config with the given sizes: max_position_embeddings 64, RMSNorm
 * eps 1e-5, rope_theta 1e4, no BOS, EOS id 0. */
static inline hx_config hx_test_config(int vocab, int hidden, int intermediate, int layers, int heads, int kv,
                                       int head_dim, int tied)
{
    hx_config c;
    memset(&c, 0, sizeof c);
    strcpy(c.model_type, "llama");
    c.vocab_size = vocab;
    c.hidden_size = hidden;
    c.intermediate_size = intermediate;
    c.num_hidden_layers = layers;
    c.num_attention_heads = heads;
    c.num_key_value_heads = kv;
    c.head_dim = head_dim;
    c.max_position_embeddings = 64;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0;
    c.tie_word_embeddings = tied;
    c.bos_token_id = -1;
    c.eos_token_id = 0;
    return c;
}

/* Result of comparing an array with a reference (hx_test_compare_*). */
typedef struct {
    double max_abs; /* max |a[i] - ref[i]|; +INFINITY when any element of either side is non-finite */
    double max_ref; /* max |ref[i]| over the finite reference elements */
    double rel;     /* max_abs / max_ref (max_abs when max_ref is 0); +INFINITY with a non-finite element */
    size_t bad;     /* first index where a or ref is NaN or +-Inf; SIZE_MAX when all are finite */
} hx_test_cmp;

/* The one comparison loop behind hx_test_compare_{f,fd,d} and
 * hx_test_first_nonfinite: exactly one of af/ad is non-NULL, and at most one
 * of rf/rd (neither: only `a` is checked, against zeros). Unlike fmax or `d > m ? d : m`, a NaN
 * or Inf is never skipped: it sets max_abs and rel to +INFINITY and `bad`
 * to its index, and (when `what` is not NULL) prints "<what>: element <i> is
 * <value> (ours) / <value> (reference)" so a failing test names it. */
static inline hx_test_cmp hx_test_compare_impl(const float *af, const double *ad, const float *rf, const double *rd,
                                               size_t n, const char *what)
{
    hx_test_cmp c = {0, 0, 0, SIZE_MAX};
    for (size_t i = 0; i < n; i++) {
        double a = af ? (double)af[i] : ad[i], r = rf ? (double)rf[i] : rd ? rd[i] : 0.0;
        if (!isfinite(a) || !isfinite(r)) {
            if (c.bad == SIZE_MAX) {
                c.bad = i;
                if (what && (rf || rd)) printf("%s: element %zu is %g (ours) / %g (reference)\n", what, i, a, r);
                else if (what) printf("%s: element %zu is %g\n", what, i, a);
            }
            continue;
        }
        double d = fabs(a - r), m = fabs(r);
        if (d > c.max_abs) c.max_abs = d;
        if (m > c.max_ref) c.max_ref = m;
    }
    if (c.bad != SIZE_MAX) c.max_abs = INFINITY;
    c.rel = c.max_ref > 0 ? c.max_abs / c.max_ref : c.max_abs;
    return c;
}

/* a[0..n) against ref[0..n): float/float, float/double reference, double/double. */
static inline hx_test_cmp hx_test_compare_f(const float *a, const float *ref, size_t n, const char *what)
{
    return hx_test_compare_impl(a, NULL, ref, NULL, n, what);
}
static inline hx_test_cmp hx_test_compare_fd(const float *a, const double *ref, size_t n, const char *what)
{
    return hx_test_compare_impl(a, NULL, NULL, ref, n, what);
}
static inline hx_test_cmp hx_test_compare_d(const double *a, const double *ref, size_t n, const char *what)
{
    return hx_test_compare_impl(NULL, a, NULL, ref, n, what);
}

/* Index of the first NaN or Inf in a[0..n) (printed with `what` when not
 * NULL), or SIZE_MAX when every element is finite. */
static inline size_t hx_test_first_nonfinite(const float *a, size_t n, const char *what)
{
    return hx_test_compare_impl(a, NULL, NULL, NULL, n, what).bad;
}

/* A running maximum of errors that, unlike fmax, does not skip a NaN: a
 * non-finite `e` makes (and keeps) the result +INFINITY, so a following
 * `assert_true(worst < tol)` fails. */
static inline double hx_test_worst(double worst, double e) { return !isfinite(e) ? INFINITY : e > worst ? e : worst; }

/* A temporary directory per suite: hx_tmp_setup / hx_tmp_teardown as the
 * group setup and teardown, hx_tmp_path(name) for "<dir>/<name>" (four
 * rotating buffers, so a few can be used in one call). */
static char hx_tmpdir[64];

static inline int hx_tmp_setup(void **state)
{
    (void)state;
    strcpy(hx_tmpdir, "/tmp/hx_test_XXXXXX");
    return mkdtemp(hx_tmpdir) ? 0 : -1;
}

static inline int hx_tmp_teardown(void **state)
{
    (void)state;
    return hx_rm_rf(hx_tmpdir) == HX_OK ? 0 : -1;
}

static inline char *hx_tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", hx_tmpdir, name);
    return buf[k];
}

/* Writes `docs` learnable documents (ids counting up mod 31 from a random
 * start, 20..59 tokens each, vocabulary 32) as token shards into `dir`, with
 * a placeholder tokenizer hash. */
static inline void hx_test_write_counting_shards(const char *dir, uint64_t seed, int docs)
{
    hx_shard_writer *w;
    char sha[65];
    memset(sha, '0', 64);
    sha[64] = '\0';
    assert_int_equal(hx_shard_writer_open(dir, "part", sha, 32, HX_BOUNDARY_EOS_AFTER, 0, 4096, &w), HX_OK);
    hx_rng r;
    hx_rng_seed(&r, seed);
    int32_t ids[64];
    for (int d = 0; d < docs; d++) {
        int n = 20 + (int)hx_rng_below(&r, 40), s = (int)hx_rng_below(&r, 31);
        for (int i = 0; i < n; i++) ids[i] = 1 + (s + i) % 31;
        assert_int_equal(hx_shard_writer_add(w, ids, (size_t)n), HX_OK);
    }
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);
}

#endif
