/* RMSNorm forward and backward (transformers LlamaRMSNorm semantics, bf16
 * in/out, fp32 statistics) for the CUDA path; see ops_cuda.h. */
#include "cuda/ops_cuda.h"

#define RMS_THREADS 256

/* One block per row. */
static __global__ void k_rmsnorm_fwd(hx_bf16 *y, float *rstd, const hx_bf16 *x, const hx_bf16 *w,
                                     int dim, float eps)
{
    __shared__ float scratch[32];
    size_t base = (size_t)blockIdx.x * dim;
    float ss = 0.0f;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        float v = hx_ld(x, base + c);
        ss += v * v;
    }
    ss = hx_block_sum(ss, scratch);
    float r = rsqrtf(ss / (float)dim + eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
    for (int c = threadIdx.x; c < dim; c += blockDim.x)
        hx_st(y, base + c, hx_ld(w, c) * hx_round_bf16(hx_ld(x, base + c) * r));
}

/* dx per row: one block per row. */
static __global__ void k_rmsnorm_bwd_dx(hx_bf16 *dx, const hx_bf16 *dy, const hx_bf16 *x,
                                        const hx_bf16 *w, const float *rstd, int dim)
{
    __shared__ float scratch[32];
    size_t base = (size_t)blockIdx.x * dim;
    float r = rstd[blockIdx.x], dot = 0.0f;
    for (int c = threadIdx.x; c < dim; c += blockDim.x)
        dot += hx_ld(dy, base + c) * hx_ld(w, c) * hx_ld(x, base + c) * r;
    float mean = hx_block_sum(dot, scratch) / (float)dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        float xhat = hx_ld(x, base + c) * r;
        hx_st(dx, base + c, hx_ld(dx, base + c) + r * (hx_ld(dy, base + c) * hx_ld(w, c) - xhat * mean));
    }
}

/* dweight: block (32, 32) owns 32 columns; threadIdx.y strides over rows and the
 * 32 partial sums per column are added in a fixed order. */
static __global__ void k_rmsnorm_bwd_dw(float *dw, const hx_bf16 *dy, const hx_bf16 *x,
                                        const float *rstd, int n_rows, int dim)
{
    __shared__ float part[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float acc = 0.0f;
    if (c < dim)
        for (int r = threadIdx.y; r < n_rows; r += 32) {
            size_t i = (size_t)r * dim + c;
            acc += hx_ld(dy, i) * hx_round_bf16(hx_ld(x, i) * rstd[r]);
        }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < dim) {
        float s = 0.0f;
        for (int k = 0; k < 32; k++) s += part[k][threadIdx.x];
        dw[c] += s;
    }
}

static int check_sizes(const char *fn, int n_rows, int dim)
{
    if (n_rows < 0 || dim <= 0)
        return HX_ERR(HX_EINVAL, "%s: bad sizes n_rows=%d dim=%d", fn, n_rows, dim);
    return HX_OK;
}

extern "C" int hx_cuda_rmsnorm_fwd(hx_bf16 *y, float *rstd, const hx_bf16 *x, const hx_bf16 *weight,
                                   int n_rows, int dim, float eps, hx_stream stream)
{
    HX_TRY(check_sizes("rmsnorm_fwd", n_rows, dim));
    if (n_rows == 0) return HX_OK;
    k_rmsnorm_fwd<<<n_rows, RMS_THREADS, 0, stream>>>(y, rstd, x, weight, dim, eps);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

extern "C" int hx_cuda_rmsnorm_bwd(hx_bf16 *dx, float *dweight, const hx_bf16 *dy, const hx_bf16 *x,
                                   const hx_bf16 *weight, const float *rstd, int n_rows, int dim,
                                   hx_stream stream)
{
    HX_TRY(check_sizes("rmsnorm_bwd", n_rows, dim));
    if (n_rows == 0) return HX_OK;
    k_rmsnorm_bwd_dw<<<(dim + 31) / 32, dim3(32, 32), 0, stream>>>(dweight, dy, x, rstd, n_rows, dim);
    HX_CUDA_CHECK_LAUNCH();
    k_rmsnorm_bwd_dx<<<n_rows, RMS_THREADS, 0, stream>>>(dx, dy, x, weight, rstd, dim);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}
