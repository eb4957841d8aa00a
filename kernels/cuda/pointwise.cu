/* Elementwise kernels of the CUDA path: RoPE (rotate-half), SwiGLU, AdamW and
 * the sum of squares used for the gradient norm; see ops_cuda.h. */
#include "cuda/ops_cuda.h"

#include <math.h>

/* One thread per (token, head, i < half) pair; sign = +1 forward, -1 backward. */
static __global__ void k_rope(hx_bf16 *x, const float *cos_t, const float *sin_t, int T, int n_heads,
                              int half, size_t n_pairs, float sign)
{
    for (size_t p = blockIdx.x * (size_t)blockDim.x + threadIdx.x; p < n_pairs;
         p += (size_t)gridDim.x * blockDim.x) {
        int i = (int)(p % half);
        size_t th = p / half; /* token * n_heads + head */
        size_t t = (th / n_heads) % T;
        float c = cos_t[t * half + i], s = sign * sin_t[t * half + i];
        size_t base = th * 2 * half;
        float x1 = hx_ld(x, base + i), x2 = hx_ld(x, base + i + half);
        hx_st(x, base + i, x1 * c - x2 * s);
        hx_st(x, base + i + half, x2 * c + x1 * s);
    }
}

static int rope(const char *fn, hx_bf16 *x, const float *cos_t, const float *sin_t, int N, int T,
                int n_heads, int head_dim, float sign, hx_stream stream)
{
    if (N < 0 || T <= 0 || N % T || n_heads <= 0 || head_dim <= 0 || head_dim % 2)
        return HX_ERR(HX_EINVAL, "%s: bad sizes N=%d T=%d n_heads=%d head_dim=%d (need T | N, even head_dim)",
                      fn, N, T, n_heads, head_dim);
    size_t n_pairs = (size_t)N * n_heads * (head_dim / 2);
    if (n_pairs == 0) return HX_OK;
    k_rope<<<hx_grid(n_pairs, 256), 256, 0, stream>>>(x, cos_t, sin_t, T, n_heads, head_dim / 2, n_pairs,
                                                      sign);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

extern "C" int hx_cuda_rope_fwd(hx_bf16 *x, const float *cos_t, const float *sin_t, int N, int T,
                                int n_heads, int head_dim, hx_stream stream)
{
    return rope("rope_fwd", x, cos_t, sin_t, N, T, n_heads, head_dim, 1.0f, stream);
}

extern "C" int hx_cuda_rope_bwd(hx_bf16 *dx, const float *cos_t, const float *sin_t, int N, int T,
                                int n_heads, int head_dim, hx_stream stream)
{
    return rope("rope_bwd", dx, cos_t, sin_t, N, T, n_heads, head_dim, -1.0f, stream);
}

static __device__ __forceinline__ float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

static __global__ void k_swiglu_fwd(hx_bf16 *h, const hx_bf16 *gate, const hx_bf16 *up, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float g = hx_ld(gate, i);
        hx_st(h, i, g * sigmoid(g) * hx_ld(up, i));
    }
}

static __global__ void k_swiglu_bwd(hx_bf16 *dgate, hx_bf16 *dup, const hx_bf16 *dh,
                                    const hx_bf16 *gate, const hx_bf16 *up, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float g = hx_ld(gate, i), u = hx_ld(up, i), d = hx_ld(dh, i), s = sigmoid(g);
        hx_st(dgate, i, d * u * s * (1.0f + g * (1.0f - s)));
        hx_st(dup, i, d * g * s);
    }
}

extern "C" int hx_cuda_swiglu_fwd(hx_bf16 *h, const hx_bf16 *gate, const hx_bf16 *up, size_t n,
                                  hx_stream stream)
{
    if (n == 0) return HX_OK;
    k_swiglu_fwd<<<hx_grid(n, 256), 256, 0, stream>>>(h, gate, up, n);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

extern "C" int hx_cuda_swiglu_bwd(hx_bf16 *dgate, hx_bf16 *dup, const hx_bf16 *dh, const hx_bf16 *gate,
                                  const hx_bf16 *up, size_t n, hx_stream stream)
{
    if (n == 0) return HX_OK;
    k_swiglu_bwd<<<hx_grid(n, 256), 256, 0, stream>>>(dgate, dup, dh, gate, up, n);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

static __global__ void k_adamw(float *w, hx_bf16 *w_bf16, const float *grad, float *m, float *v,
                               const uint8_t *decay, size_t n, float lr, float beta1, float beta2, float eps, float wd,
                               float bc1, float bc2, float grad_scale)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float g = grad[i] * grad_scale, p = w[i];
        if (!decay || decay[i]) p -= lr * wd * p;
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        p -= lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
        m[i] = mi;
        v[i] = vi;
        w[i] = p;
        if (w_bf16) hx_st(w_bf16, i, p);
    }
}

extern "C" int hx_cuda_adamw(float *w, hx_bf16 *w_bf16, const float *grad, float *m, float *v,
                             const uint8_t *decay, size_t n,
                             float lr, float beta1, float beta2, float eps, float weight_decay, int step,
                             float grad_scale, hx_stream stream)
{
    if (step < 1) return HX_ERR(HX_EINVAL, "adamw: step must be >= 1, got %d", step);
    if (n == 0) return HX_OK;
    float bc1 = (float)(1.0 - pow((double)beta1, step)), bc2 = (float)(1.0 - pow((double)beta2, step));
    k_adamw<<<hx_grid(n, 256), 256, 0, stream>>>(w, w_bf16, grad, m, v, decay, n, lr, beta1, beta2, eps,
                                                 weight_decay, bc1, bc2, grad_scale);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

#define SUMSQ_BLOCKS 256
#define SUMSQ_THREADS 512

/* Stage 1: SUMSQ_BLOCKS fixed partial sums (fixed grid => fixed order);
 * stage 2: one block adds them. */
static __global__ void k_sumsq_partial(float *part, const float *x, size_t n)
{
    __shared__ float scratch[32];
    float acc = 0.0f;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        acc += x[i] * x[i];
    acc = hx_block_sum(acc, scratch);
    if (threadIdx.x == 0) part[blockIdx.x] = acc;
}

static __global__ void k_sum_final(float *out, const float *part, int n)
{
    __shared__ float scratch[32];
    float acc = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) acc += part[i];
    acc = hx_block_sum(acc, scratch);
    if (threadIdx.x == 0) *out = acc;
}

extern "C" int hx_cuda_sumsq(float *out, const float *x, size_t n, hx_stream stream)
{
    float *part = nullptr;
    HX_CUDA_TRY(cudaMallocAsync((void **)&part, SUMSQ_BLOCKS * sizeof(float), stream));
    k_sumsq_partial<<<SUMSQ_BLOCKS, SUMSQ_THREADS, 0, stream>>>(part, x, n);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) {
        k_sum_final<<<1, SUMSQ_BLOCKS, 0, stream>>>(out, part, SUMSQ_BLOCKS);
        e = cudaGetLastError();
    }
    cudaError_t f = cudaFreeAsync(part, stream);
    if (e == cudaSuccess) e = f;
    if (e != cudaSuccess) return HX_ERR(HX_EIO, "sumsq: CUDA error: %s", cudaGetErrorString(e));
    return HX_OK;
}
