/* expf over 16 floats at a time with AVX-512F, bit for bit the scalar expf of
 * glibc on x86-64 (2.28 and later select __expf_fma on any CPU with FMA, and
 * every AVX-512 CPU has FMA), so the kernels that use it give the same
 * results as their scalar form. The algorithm is glibc's
 * (sysdeps/ieee754/flt-32/e_expf.c, Szabolcs Nagy 2017): in double precision,
 * k = round(x * 32/ln2), r = x * 32/ln2 - k, 2^(k/32) from a 32-entry table
 * and the exponent bits, times a degree-3 polynomial in r; the fused
 * multiply-adds are the ones glibc's FMA build emits (read off its
 * disassembly). Lanes with |x| >= 88, inf or NaN take the scalar expf, which
 * handles overflow, underflow and NaN. tests/test_vexp.c checks it against
 * expf on a stride of every float bit pattern. */
#include "cpu/ops.h"

#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

/* T[i] = bits(2^(i/32)) - (i << 47): adding k << 47 to T[k mod 32] gives the
 * bits of 2^(k/32) (glibc's __exp2f_data.tab). */
static uint64_t T[32];
static int have_avx512;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void)
{
    for (int i = 0; i < 32; i++) { /* 2^(i/32) in 64-bit long double, rounded once to double */
        double d = (double)exp2l((long double)i / 32.0L);
        uint64_t u;
        memcpy(&u, &d, sizeof u);
        T[i] = u - ((uint64_t)i << 47);
    }
    __builtin_cpu_init(); /* GCC's cpuid reader: counts AVX-512 only when the OS saves the ZMM state */
    have_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

int hx_vexp_available(void)
{
    pthread_once(&once, init);
    return have_avx512;
}

/* 8 lanes: x (converted to double) -> expf(x) for |x| < 88. */
__attribute__((target("avx512f"))) static __m256 exp8(__m256 xf, __m512i t0, __m512i t1, __m512i t2, __m512i t3)
{
    const __m512d inv_ln2_n = _mm512_set1_pd(0x1.71547652b82fep+5), shift = _mm512_set1_pd(0x1.8p+52);
    const __m512d c0 = _mm512_set1_pd(0x1.c6af84b912394p-20), c1 = _mm512_set1_pd(0x1.ebfce50fac4f3p-13);
    const __m512d c2 = _mm512_set1_pd(0x1.62e42ff0c52d6p-6), one = _mm512_set1_pd(1.0);
    __m512d x = _mm512_cvtps_pd(xf);
    __m512d kd = _mm512_fmadd_pd(inv_ln2_n, x, shift);
    __m512i ki = _mm512_castpd_si512(kd);
    kd = _mm512_sub_pd(kd, shift);
    __m512d r = _mm512_fmsub_pd(inv_ln2_n, x, kd);
    __m512i idx = _mm512_and_si512(ki, _mm512_set1_epi64(31));
    __m512i lo = _mm512_permutex2var_epi64(t0, idx, t1), hi = _mm512_permutex2var_epi64(t2, idx, t3);
    __m512i tab = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(idx, _mm512_set1_epi64(16)), lo, hi);
    __m512d s = _mm512_castsi512_pd(_mm512_add_epi64(tab, _mm512_slli_epi64(ki, 47)));
    __m512d z = _mm512_fmadd_pd(r, c0, c1), r2 = _mm512_mul_pd(r, r), y = _mm512_fmadd_pd(r, c2, one);
    y = _mm512_fmadd_pd(z, r2, y);
    return _mm512_cvtpd_ps(_mm512_mul_pd(y, s));
}

__attribute__((target("avx512f"))) static void exp_avx512(float *y, const float *x, float shift, long n)
{
    const __m512i t0 = _mm512_loadu_si512(T), t1 = _mm512_loadu_si512(T + 8);
    const __m512i t2 = _mm512_loadu_si512(T + 16), t3 = _mm512_loadu_si512(T + 24);
    const __m512 sh = _mm512_set1_ps(shift);
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_sub_ps(_mm512_loadu_ps(x + i), sh);
        __m512i top = _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(v), 20), _mm512_set1_epi32(0x7ff));
        __mmask16 slow = _mm512_cmpge_epu32_mask(top, _mm512_set1_epi32(0x42b)); /* |v| >= 88, inf, NaN */
        __m256 a = exp8(_mm512_castps512_ps256(v), t0, t1, t2, t3);
        __m256 b = exp8(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)), t0, t1, t2, t3);
        if (slow) {
            float in[16], out[16];
            _mm512_storeu_ps(in, v);
            _mm256_storeu_ps(out, a);
            _mm256_storeu_ps(out + 8, b);
            for (int j = 0; j < 16; j++)
                if (slow >> j & 1) out[j] = expf(in[j]);
            memcpy(y + i, out, sizeof out);
        } else {
            _mm256_storeu_ps(y + i, a);
            _mm256_storeu_ps(y + i + 8, b);
        }
    }
    for (; i < n; i++) y[i] = expf(x[i] - shift);
}

void hx_exp_shifted(float *y, const float *x, float shift, long n)
{
    if (hx_vexp_available()) {
        exp_avx512(y, x, shift, n);
        return;
    }
    for (long i = 0; i < n; i++) y[i] = expf(x[i] - shift);
}
