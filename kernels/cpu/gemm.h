/* Internal to kernels/cpu: row-major sgemm parallelised with OpenMP over
 * row blocks of C, each block a single-threaded cblas_sgemm, so GEMMs and
 * the elementwise kernels share one thread pool (OpenBLAS's own threads stay
 * idle instead of competing with OpenMP's). */
#ifndef HX_KERNELS_CPU_GEMM_H
#define HX_KERNELS_CPU_GEMM_H

#include <cblas.h>

/* Sets OpenBLAS to one thread for calls made inside OpenMP regions and
 * returns the previous count for hx_blas_serial_end. */
int hx_blas_serial_begin(void);
void hx_blas_serial_end(int prev);

/* C[M, N] = alpha * op(A) op(B) + beta * C, row-major, as cblas_sgemm, with
 * the M rows split into one contiguous block per OpenMP thread (multiples
 * of 16 rows). Bit-identical results for a given thread count. */
void hx_sgemm_par(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);

#endif
