/* Common pieces of the CUDA path: the bf16 storage type and stream handle as
 * seen from C, device buffer helpers, host bf16 conversions, and (for .cu files
 * only) the macros that turn CUDA / cuBLAS failures into hx status codes with
 * file:line and the library's own error string (harness/core/err.h). */
#ifndef HX_KERNELS_CUDA_COMMON_H
#define HX_KERNELS_CUDA_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "core/err.h"
#include "cpu/convert.h"

/* bf16 as stored in memory (the upper 16 bits of an IEEE fp32). Device code
 * reinterprets it as __nv_bfloat16; C code only moves it around. */
typedef uint16_t hx_bf16;

/* A CUDA stream (same type as cudaStream_t, usable without CUDA headers).
 * NULL is the legacy default stream. */
struct CUstream_st;
typedef struct CUstream_st *hx_stream;

/* Host conversions (hx_f32_to_bf16, hx_bf16_to_f32, hx_bf16_round): cpu/convert.h. */

/* Device memory. hx_cuda_malloc allocates `bytes` on the current device into
 * *ptr (NULL for 0 bytes). Errors: HX_ENOMEM (message has the CUDA error). */
int hx_cuda_malloc(void **ptr, size_t bytes);
/* Frees a pointer from hx_cuda_malloc (NULL is a no-op). */
void hx_cuda_free(void *ptr);
/* Synchronous copies host->device and device->host of `bytes`. Errors: HX_EIO. */
int hx_cuda_upload(void *dst_dev, const void *src_host, size_t bytes);
int hx_cuda_download(void *dst_host, const void *src_dev, size_t bytes);
/* Zeroes `bytes` of device memory asynchronously on `stream`. Errors: HX_EIO. */
int hx_cuda_memset0(void *dst_dev, size_t bytes, hx_stream stream);
/* Waits for all work on `stream`; reports asynchronous kernel faults. Errors: HX_EIO. */
int hx_cuda_sync(hx_stream stream);
/* Device conversions of n elements: fp32 -> bf16 (round to nearest even) and
 * bf16 -> fp32. Errors: HX_EIO on launch failure. */
int hx_cuda_f32_to_bf16(hx_bf16 *dst, const float *src, size_t n, hx_stream stream);
int hx_cuda_bf16_to_f32(float *dst, const hx_bf16 *src, size_t n, hx_stream stream);
/* Name and compute capability of the current device into buf, e.g.
 * "NVIDIA H200 (sm_90, 132 SMs, 139.8 GiB)". Errors: HX_EIO (no device). */
int hx_cuda_device_info(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#ifdef __CUDACC__
#include <cuda_bf16.h>
#include <cuda_runtime.h>

/* Returns HX_EIO from the calling function, recording file:line, the failed
 * call and the CUDA error string, when `call` is not cudaSuccess. */
#define HX_CUDA_TRY(call)                                                            \
    do {                                                                             \
        cudaError_t hx_ce_ = (call);                                                 \
        if (hx_ce_ != cudaSuccess)                                                   \
            return hx_seterr(HX_EIO, __FILE__, __LINE__, "CUDA error in %s: %s (%s)", \
                             #call, cudaGetErrorString(hx_ce_), cudaGetErrorName(hx_ce_)); \
    } while (0)

/* Checks the launch of the kernel just issued (configuration errors, e.g. too
 * much shared memory); faults during execution surface at hx_cuda_sync. */
#define HX_CUDA_CHECK_LAUNCH() HX_CUDA_TRY(cudaGetLastError())

/* The same for cuBLAS / cuBLASLt status codes (cublasStatus_t); needs cublasLt.h. */
#define HX_CUBLAS_TRY(call)                                                          \
    do {                                                                             \
        cublasStatus_t hx_bs_ = (call);                                              \
        if (hx_bs_ != CUBLAS_STATUS_SUCCESS)                                         \
            return hx_seterr(HX_EIO, __FILE__, __LINE__, "cuBLAS error in %s: %s (%d)", \
                             #call, cublasLtGetStatusString(hx_bs_), (int)hx_bs_);   \
    } while (0)

/* Device view of the C storage type. */
static __device__ __forceinline__ float hx_ld(const hx_bf16 *p, size_t i)
{
    return __bfloat162float(reinterpret_cast<const __nv_bfloat16 *>(p)[i]);
}
static __device__ __forceinline__ void hx_st(hx_bf16 *p, size_t i, float v)
{
    reinterpret_cast<__nv_bfloat16 *>(p)[i] = __float2bfloat16_rn(v);
}
/* Rounds through bf16 (what storing and reloading a bf16 value gives). */
static __device__ __forceinline__ float hx_round_bf16(float v)
{
    return __bfloat162float(__float2bfloat16_rn(v));
}

/* Warp-wide sum and max of one float per lane (all 32 lanes must take part). */
static __device__ __forceinline__ float hx_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
static __device__ __forceinline__ float hx_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Block-wide sum; blockDim.x a multiple of 32 and at most 1024; `scratch` is
 * 32 floats of shared memory. Every thread gets the result. Fixed summation
 * order, so results are run-to-run deterministic. */
static __device__ __forceinline__ float hx_block_sum(float v, float *scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = hx_warp_sum(v);
    __syncthreads(); /* scratch may still be read by a previous call */
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nw ? scratch[lane] : 0.0f;
    return hx_warp_sum(v);
}
static __device__ __forceinline__ float hx_block_max(float v, float *scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = hx_warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nw ? scratch[lane] : -INFINITY;
    return hx_warp_max(v);
}

/* Grid size for n elements at `threads` per block, capped for grid-stride loops. */
static inline unsigned hx_grid(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b < 65535u * 16u ? (b ? b : 1) : 65535u * 16u);
}
#endif /* __CUDACC__ */

#endif
