/* Tests for importance aggregation (every batch x sequence combination of
 * Table 11 on hand-computed values) and Block Importance (field case C06). */
#include "test_util.h"

#include "minitron/aggregate.h"

#include <math.h>

/* Two samples, T = 2 positions, one channel: sample A = (1, -3), B = (2, 2).
 * seq mean(abs): A 2, B 2;  seq L2: A sqrt(10), B sqrt(8);  seq var: A 4, B 0.
 * Then over the batch of those two values. */
static void test_all_nine_combinations(void **state)
{
    (void)state;
    const float A[2] = {1, -3}, B[2] = {2, 2};
    double seqv[3][2] = {{2, 2}, {sqrt(10.0), sqrt(8.0)}, {4, 0}};
    for (int b = 0; b < 3; b++)
        for (int s = 0; s < 3; s++) {
            hx_agg_acc acc;
            assert_int_equal(hx_agg_init(&acc, 1, (hx_agg)b, (hx_agg)s), 0);
            hx_agg_add_sample(&acc, A, 2, 1);
            hx_agg_add_sample(&acc, B, 2, 1);
            double got, x = seqv[s][0], y = seqv[s][1], want;
            hx_agg_finish(&acc, &got);
            if (b == HX_AGG_MEAN) want = (x + y) / 2;
            else if (b == HX_AGG_L2) want = sqrt(x * x + y * y);
            else want = ((x - (x + y) / 2) * (x - (x + y) / 2) + (y - (x + y) / 2) * (y - (x + y) / 2)) / 2;
            assert_true(fabs(got - want) < 1e-12);
            hx_agg_free(&acc);
        }
    assert_int_equal(hx_agg_parse("l2"), HX_AGG_L2);
    assert_int_equal(hx_agg_parse("variance"), HX_AGG_VAR);
    assert_int_equal(hx_agg_parse("median"), -1);
}

/* Channels are independent and the leading dimension is honoured. */
static void test_strided_channels(void **state)
{
    (void)state;
    const float x[2 * 3] = {1, 10, 99, -1, -10, 99}; /* T=2, ld=3, width=2 */
    hx_agg_acc acc;
    assert_int_equal(hx_agg_init(&acc, 2, HX_AGG_L2, HX_AGG_MEAN), 0);
    hx_agg_add_sample(&acc, x, 2, 3);
    double out[2];
    hx_agg_finish(&acc, out);
    assert_true(fabs(out[0] - 1.0) < 1e-12 && fabs(out[1] - 10.0) < 1e-12);
    hx_agg_free(&acc);
}

/* C06: nearly identical hidden states whose cosine rounds to 1 + eps give a
 * finite score of about 0; opposite vectors give 2; zero vectors are not NaN. */
static void test_c06_block_importance_clamped(void **state)
{
    (void)state;
    float a[4 * 64], b[4 * 64];
    for (int i = 0; i < 4 * 64; i++) {
        a[i] = 1e19f * (float)(1 + i % 7);
        b[i] = a[i] * (1.0f + 1e-7f * (float)(i % 3));
    }
    double bi = hx_block_importance_sum(a, b, 4, 64) / 4;
    assert_false(isnan(bi));
    assert_true(bi >= 0.0 && bi < 1e-6);
    /* These float vectors have an unclamped double cosine of 1 + 2^-52. */
    const float p[3] = {-0.42346224188804626f, -5.498758316040039f, -1.7550773620605469f};
    const float q[3] = {-0.4234622120857239f, -5.498757839202881f, -1.7550772428512573f};
    double ab = 0, aa = 0, bb = 0;
    for (int d = 0; d < 3; d++) {
        ab += (double)p[d] * q[d];
        aa += (double)p[d] * p[d];
        bb += (double)q[d] * q[d];
    }
    assert_true(ab / sqrt(aa * bb) > 1.0); /* the trigger is real */
    double s = hx_block_importance_sum(p, q, 1, 3);
    assert_true(s == 0.0); /* clamped: exactly 0, never negative or NaN */
    float u[2] = {1, 0}, v[2] = {-1, 0}, z[2] = {0, 0};
    assert_true(fabs(hx_block_importance_sum(u, v, 1, 2) - 2.0) < 1e-12);
    assert_true(hx_block_importance_sum(z, u, 1, 2) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_nine_combinations),
        cmocka_unit_test(test_strided_channels),
        cmocka_unit_test(test_c06_block_importance_clamped),
    };
    return cmocka_run_group_tests_name("aggregate", tests, NULL, NULL);
}
