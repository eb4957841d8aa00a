/* Row-block parallel sgemm over OpenMP threads (see gemm.h). */
#include "cpu/gemm.h"

#include <omp.h>

int hx_blas_serial_begin(void)
{
    int n = openblas_get_num_threads();
    if (n != 1) openblas_set_num_threads(1);
    return n;
}

void hx_blas_serial_end(int prev)
{
    if (prev != 1) openblas_set_num_threads(prev);
}

void hx_sgemm_par(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc)
{
    int prev = hx_blas_serial_begin();
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int blocks = (M + 15) / 16;
        int m0 = (int)((long)blocks * t / nt) * 16, m1 = (int)((long)blocks * (t + 1) / nt) * 16;
        if (m1 > M) m1 = M;
        if (m1 > m0) {
            const float *a = ta == CblasNoTrans ? A + (size_t)m0 * lda : A + m0;
            cblas_sgemm(CblasRowMajor, ta, tb, m1 - m0, N, K, alpha, a, lda, B, ldb, beta, C + (size_t)m0 * ldc, ldc);
        }
    }
    hx_blas_serial_end(prev);
}
