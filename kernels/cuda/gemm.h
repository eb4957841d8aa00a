/* bf16 GEMMs through cuBLASLt (fp32 compute and scaling), with row-major
 * conventions: the nn.Linear forward y = x W^T and its two backward GEMMs. */
#ifndef HX_KERNELS_CUDA_GEMM_H
#define HX_KERNELS_CUDA_GEMM_H

#include "cuda/cuda_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A cuBLASLt handle plus its device workspace; one per stream/thread. */
typedef struct hx_cuda_gemm hx_cuda_gemm;

/* Element type of the GEMM output C. */
typedef enum { HX_CUDA_BF16 = 0, HX_CUDA_F32 = 1 } hx_cuda_dtype;

/* Creates a context with `workspace_bytes` of device workspace (0 picks
 * 32 MiB, what cuBLAS recommends for Hopper). Errors: HX_EIO, HX_ENOMEM. */
int hx_cuda_gemm_create(hx_cuda_gemm **ctx, size_t workspace_bytes);
void hx_cuda_gemm_destroy(hx_cuda_gemm *ctx);

/* Row-major C[m, n] = alpha * op(A) op(B) + beta * C, op(A) [m, k], op(B) [k, n].
 * A is stored [m, k] (trans_a = 0) or [k, m] (trans_a = 1); B is stored [k, n]
 * (trans_b = 0) or [n, k] (trans_b = 1); all dense. A and B are bf16; C is bf16
 * or fp32 (c_type) and with beta = 1 and fp32 accumulates in fp32. Compute
 * type CUBLAS_COMPUTE_32F. Errors: HX_EINVAL (sizes), HX_EIO (cuBLASLt). */
int hx_cuda_gemm_run(hx_cuda_gemm *ctx, int trans_a, int trans_b, int m, int n, int k, float alpha,
                     const hx_bf16 *a, const hx_bf16 *b, float beta, void *c, hx_cuda_dtype c_type,
                     hx_stream stream);

/* As kernels/cpu/ops.h's linear functions (nn.Linear without bias, W stored
 * [out, in], the HF layout), bf16 operands:
 * y[N, out] = x[N, in] W^T + beta * y (bf16 y; beta = 0 overwrites). */
int hx_cuda_linear_fwd(hx_cuda_gemm *ctx, hx_bf16 *y, const hx_bf16 *x, const hx_bf16 *w, int N, int in,
                       int out, float beta, hx_stream stream);

/* Input gradient dx[N, in] = dy[N, out] W + beta * dx (bf16). */
int hx_cuda_linear_bwd_input(hx_cuda_gemm *ctx, hx_bf16 *dx, const hx_bf16 *dy, const hx_bf16 *w, int N,
                             int in, int out, float beta, hx_stream stream);

/* Weight gradient, accumulated in fp32: dW[out, in] += dy^T x. */
int hx_cuda_linear_bwd_weight(hx_cuda_gemm *ctx, float *dw, const hx_bf16 *dy, const hx_bf16 *x, int N,
                              int in, int out, hx_stream stream);

#ifdef __cplusplus
}
#endif

#endif
