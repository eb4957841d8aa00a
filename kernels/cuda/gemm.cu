/* cuBLASLt GEMMs for the CUDA path (bf16 inputs, fp32 compute), mapping the
 * row-major API of gemm.h onto cuBLAS's column-major one; see gemm.h. */
#include "cuda/gemm.h"

#include <cublasLt.h>
#include <stdlib.h>

struct hx_cuda_gemm {
    cublasLtHandle_t lt;
    void *workspace;
    size_t workspace_bytes;
};

extern "C" int hx_cuda_gemm_create(hx_cuda_gemm **ctx, size_t workspace_bytes)
{
    *ctx = NULL;
    hx_cuda_gemm *g = (hx_cuda_gemm *)hx_calloc(1, sizeof *g);
    if (!g) return HX_ENOMEM;
    g->workspace_bytes = workspace_bytes ? workspace_bytes : (size_t)32 << 20;
    cublasStatus_t s = cublasLtCreate(&g->lt);
    if (s != CUBLAS_STATUS_SUCCESS) {
        free(g);
        return HX_ERR(HX_EIO, "cublasLtCreate: %s", cublasLtGetStatusString(s));
    }
    int rc = hx_cuda_malloc(&g->workspace, g->workspace_bytes);
    if (rc < 0) {
        cublasLtDestroy(g->lt);
        free(g);
        return rc;
    }
    *ctx = g;
    return HX_OK;
}

extern "C" void hx_cuda_gemm_destroy(hx_cuda_gemm *ctx)
{
    if (!ctx) return;
    hx_cuda_free(ctx->workspace);
    cublasLtDestroy(ctx->lt);
    free(ctx);
}

/* The descriptors of one call, released together. */
typedef struct {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulPreference_t pref;
} lt_call;

static void lt_call_release(lt_call *d)
{
    if (d->pref) cublasLtMatmulPreferenceDestroy(d->pref);
    if (d->c) cublasLtMatrixLayoutDestroy(d->c);
    if (d->b) cublasLtMatrixLayoutDestroy(d->b);
    if (d->a) cublasLtMatrixLayoutDestroy(d->a);
    if (d->op) cublasLtMatmulDescDestroy(d->op);
}

/* Column-major D[m, n] = alpha op(A) op(B) + beta C, all leading dimensions
 * given; A and B bf16, C fp32 or bf16. */
static int lt_matmul(hx_cuda_gemm *g, lt_call *d, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                     int k, float alpha, const void *a, int lda, const void *b, int ldb, float beta, void *c,
                     int ldc, cudaDataType_t ctype, hx_stream stream)
{
    HX_CUBLAS_TRY(cublasLtMatmulDescCreate(&d->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    HX_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    HX_CUBLAS_TRY(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    /* Stored shapes (before op): A is m x k or k x m, B is k x n or n x k. */
    HX_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&d->a, CUDA_R_16BF, ta == CUBLAS_OP_N ? m : k,
                                             ta == CUBLAS_OP_N ? k : m, lda));
    HX_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&d->b, CUDA_R_16BF, tb == CUBLAS_OP_N ? k : n,
                                             tb == CUBLAS_OP_N ? n : k, ldb));
    HX_CUBLAS_TRY(cublasLtMatrixLayoutCreate(&d->c, ctype, m, n, ldc));
    HX_CUBLAS_TRY(cublasLtMatmulPreferenceCreate(&d->pref));
    HX_CUBLAS_TRY(cublasLtMatmulPreferenceSetAttribute(d->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                       &g->workspace_bytes, sizeof g->workspace_bytes));
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    HX_CUBLAS_TRY(cublasLtMatmulAlgoGetHeuristic(g->lt, d->op, d->a, d->b, d->c, d->c, d->pref, 1, &heur, &found));
    if (found < 1)
        return HX_ERR(HX_EIO, "cuBLASLt has no algorithm for bf16 GEMM m=%d n=%d k=%d (C %s)", m, n, k,
                      ctype == CUDA_R_32F ? "fp32" : "bf16");
    HX_CUBLAS_TRY(cublasLtMatmul(g->lt, d->op, &alpha, a, d->a, b, d->b, &beta, c, d->c, c, d->c, &heur.algo,
                                 g->workspace, g->workspace_bytes, stream));
    return HX_OK;
}

extern "C" int hx_cuda_gemm_run(hx_cuda_gemm *ctx, int trans_a, int trans_b, int m, int n, int k, float alpha,
                                const hx_bf16 *a, const hx_bf16 *b, float beta, void *c, hx_cuda_dtype c_type,
                                hx_stream stream)
{
    if (m < 0 || n < 0 || k < 0)
        return HX_ERR(HX_EINVAL, "gemm: negative size m=%d n=%d k=%d", m, n, k);
    if (m == 0 || n == 0) return HX_OK;
    /* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the
     * operands; a row-major [r, c] matrix is a column-major c x r one with ld c. */
    cublasOperation_t tb = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, ta = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    lt_call d = {};
    int rc = lt_matmul(ctx, &d, ta, tb, n, m, k, alpha, b, trans_b ? k : n, a, trans_a ? m : k, beta, c, n,
                       c_type == HX_CUDA_F32 ? CUDA_R_32F : CUDA_R_16BF, stream);
    lt_call_release(&d);
    return rc;
}

extern "C" int hx_cuda_linear_fwd(hx_cuda_gemm *ctx, hx_bf16 *y, const hx_bf16 *x, const hx_bf16 *w, int N,
                                  int in, int out, float beta, hx_stream stream)
{
    return hx_cuda_gemm_run(ctx, 0, 1, N, out, in, 1.0f, x, w, beta, y, HX_CUDA_BF16, stream);
}

extern "C" int hx_cuda_linear_bwd_input(hx_cuda_gemm *ctx, hx_bf16 *dx, const hx_bf16 *dy, const hx_bf16 *w,
                                        int N, int in, int out, float beta, hx_stream stream)
{
    return hx_cuda_gemm_run(ctx, 0, 0, N, in, out, 1.0f, dy, w, beta, dx, HX_CUDA_BF16, stream);
}

extern "C" int hx_cuda_linear_bwd_weight(hx_cuda_gemm *ctx, float *dw, const hx_bf16 *dy, const hx_bf16 *x,
                                         int N, int in, int out, hx_stream stream)
{
    return hx_cuda_gemm_run(ctx, 1, 0, out, in, N, 1.0f, dy, x, 1.0f, dw, HX_CUDA_F32, stream);
}
