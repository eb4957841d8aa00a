/* Tests for the shared comparison helpers of tests/test_util.h: a NaN or
 * Inf injected into an otherwise identical array is a failure (relative
 * error +INFINITY, first bad index reported), on either side and for every
 * element type, and a running maximum never skips a NaN. */
#include "test_util.h"

#include <math.h>
#include <stdint.h>

enum { N = 40 };

static void fill_pair(float *a, float *b, double *ad, double *bd)
{
    for (int i = 0; i < N; i++) a[i] = b[i] = (float)(ad[i] = bd[i] = 0.25 * (i - 17));
}

static void test_identical_arrays_pass(void **state)
{
    (void)state;
    float a[N], b[N];
    double ad[N], bd[N];
    fill_pair(a, b, ad, bd);
    hx_test_cmp c = hx_test_compare_f(a, b, N, NULL);
    assert_true(c.rel == 0 && c.max_abs == 0 && c.bad == SIZE_MAX);
    assert_true(c.max_ref == 5.5); /* |0.25 * (39 - 17)| */
    /* A finite difference is measured, not hidden. */
    a[3] += 0.5f;
    c = hx_test_compare_f(a, b, N, NULL);
    assert_true(c.bad == SIZE_MAX && c.max_abs == 0.5 && fabs(c.rel - 0.5 / 5.5) < 1e-15);
    assert_true(hx_test_first_nonfinite(a, N, NULL) == SIZE_MAX);
}

/* A NaN or Inf at element 17 of ours, or of the reference, in each of the
 * three type pairs: rel = max_abs = +INFINITY, bad = 17. */
static void test_injected_nonfinite_fails(void **state)
{
    (void)state;
    const double poison[3] = {NAN, INFINITY, -INFINITY};
    for (int p = 0; p < 3; p++)
        for (int side = 0; side < 2; side++) {
            float a[N], b[N];
            double ad[N], bd[N];
            fill_pair(a, b, ad, bd);
            if (side == 0) a[17] = (float)poison[p], ad[17] = poison[p];
            else b[17] = (float)poison[p], bd[17] = poison[p];
            hx_test_cmp c[3] = {hx_test_compare_f(a, b, N, "float/float"), hx_test_compare_fd(a, bd, N, "float/double"),
                                hx_test_compare_d(ad, bd, N, "double/double")};
            for (int k = 0; k < 3; k++) {
                if (c[k].bad != 17 || !isinf(c[k].rel) || !isinf(c[k].max_abs))
                    fail_msg("poison %g on side %d, pair %d: bad %zu rel %g", poison[p], side, k, c[k].bad, c[k].rel);
                assert_false(c[k].rel < 1e-3); /* what every suite's assert sees */
            }
            assert_true(hx_test_first_nonfinite(side ? b : a, N, "first_nonfinite") == 17);
        }
    /* Two bad elements: the first is reported. */
    float a[N], b[N];
    double ad[N], bd[N];
    fill_pair(a, b, ad, bd);
    a[30] = NAN;
    b[5] = INFINITY;
    assert_true(hx_test_compare_f(a, b, N, NULL).bad == 5);
}

/* The gradient-check pattern: a running worst error over tensors. fmax
 * skips a NaN; hx_test_worst must not. */
static void test_worst_keeps_nan(void **state)
{
    (void)state;
    double w = hx_test_worst(0, 1e-4);
    assert_true(w == 1e-4);
    w = hx_test_worst(w, NAN);
    assert_true(isinf(w) && w > 0);
    w = hx_test_worst(w, 1e-6); /* a later finite error does not hide it */
    assert_false(w < 5e-3);
    assert_true(isinf(hx_test_worst(0, -INFINITY)));
    assert_true(fmax(1e-4, NAN) == 1e-4); /* why the helper exists */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_arrays_pass),
        cmocka_unit_test(test_injected_nonfinite_fails),
        cmocka_unit_test(test_worst_keeps_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
