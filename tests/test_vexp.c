/* The vector expf (kernels/cpu/vexp.c) against the C library's expf, bit for
 * bit: every 61st float bit pattern (70 million inputs, all signs and
 * exponents, the overflow, underflow, subnormal, inf and NaN lanes among
 * them; HX_VEXP_STRIDE=1 runs all 2^32), a shifted softmax-like row, lengths
 * that leave a scalar tail, y aliasing x, and the two inputs where an unfused
 * argument reduction would differ. All 2^32 inputs agree (HX_VEXP_STRIDE=1,
 * 36 s on the AMD EPYC VM). On a CPU without AVX-512 it
 * checks the scalar fallback alone (said on stdout). */
#include "test_util.h"

#include "cpu/ops.h"

#define CHUNK 4096

static int same(float a, float b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    uint32_t ua, ub;
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    return ua == ub;
}

static void test_every_stride_of_bit_patterns(void **state)
{
    (void)state;
    if (!hx_vexp_available()) printf("NOTE: no AVX-512 here; only the scalar fallback is checked\n");
    const char *e = getenv("HX_VEXP_STRIDE");
    uint64_t stride = e ? strtoull(e, NULL, 10) : 61;
    if (stride == 0) stride = 1;
    float *x = malloc(sizeof(float) * CHUNK), *y = malloc(sizeof(float) * CHUNK);
    assert_non_null(x);
    assert_non_null(y);
    uint64_t bad = 0, n = 0, finite_nonzero = 0;
    for (uint64_t u = 0; u < (1ull << 32);) {
        int k = 0;
        for (; k < CHUNK && u < (1ull << 32); k++, u += stride) {
            uint32_t b = (uint32_t)u;
            memcpy(&x[k], &b, 4);
        }
        hx_exp_shifted(y, x, 0.0f, k);
        for (int i = 0; i < k; i++) {
            float r = expf(x[i]);
            if (!same(y[i], r) && bad++ < 5) printf("expf(%a): vector %a, libm %a\n", x[i], y[i], r);
            finite_nonzero += isfinite(r) && r != 0.0f;
        }
        n += k;
    }
    printf("%llu inputs, %llu with a finite nonzero result, %llu differ\n", (unsigned long long)n,
           (unsigned long long)finite_nonzero, (unsigned long long)bad);
    assert_true(finite_nonzero > n / 3);
    assert_int_equal(bad, 0);
    free(x);
    free(y);
}

static void test_shift_tails_and_alias(void **state)
{
    (void)state;
    hx_rng g;
    hx_rng_seed(&g, 5);
    float x[301], y[301], z[301];
    for (int i = 0; i < 301; i++) x[i] = 30.0f * (float)hx_rng_normal(&g);
    x[7] = -INFINITY; /* a masked score */
    x[100] = NAN;
    float mx = 41.5f;
    for (int n = 0; n <= 301; n += (n < 40 ? 1 : 37)) {
        hx_exp_shifted(y, x, mx, n);
        memcpy(z, x, sizeof(float) * (size_t)n);
        hx_exp_shifted(z, z, mx, n); /* in place */
        for (int i = 0; i < n; i++) {
            float r = expf(x[i] - mx);
            assert_true(same(y[i], r));
            assert_true(same(z[i], r));
        }
    }
    assert_true(y[7] == 0.0f && isnan(y[100]));
}

/* The only inputs of all 2^32 where computing r = x 32/ln2 - k without the
 * fused multiply-subtract changes the result (found by the exhaustive run;
 * unfusing any of the other four FMAs changes none). */
static void test_fused_reduction_cases(void **state)
{
    (void)state;
    const float x[2] = {0x1.04845ep+5f, -0x1.f8cbb2p+5f}, want[2] = {0x1.f93e38p+46f, 0x1.f45326p-92f};
    float in[16], y[16];
    for (int i = 0; i < 16; i++) in[i] = x[i % 2];
    hx_exp_shifted(y, in, 0.0f, 16);
    for (int i = 0; i < 16; i++) {
        assert_true(same(y[i], want[i % 2]));
        assert_true(same(y[i], expf(in[i])));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_stride_of_bit_patterns),
        cmocka_unit_test(test_shift_tails_and_alias),
        cmocka_unit_test(test_fused_reduction_cases),
    };
    return cmocka_run_group_tests_name("vexp", tests, NULL, NULL);
}
