/* Device buffer helpers, device bf16 conversions and device info for the
 * CUDA path; see cuda_common.h (host conversions: cpu/convert.c). */
#include "cuda/cuda_common.h"

#include <stdio.h>
#include <string.h>

extern "C" int hx_cuda_malloc(void **ptr, size_t bytes)
{
    *ptr = NULL;
    if (bytes == 0) return HX_OK;
    cudaError_t e = cudaMalloc(ptr, bytes);
    if (e != cudaSuccess) {
        *ptr = NULL;
        return HX_ERR(HX_ENOMEM, "cudaMalloc of %zu bytes: %s", bytes, cudaGetErrorString(e));
    }
    return HX_OK;
}

extern "C" void hx_cuda_free(void *ptr)
{
    if (ptr) cudaFree(ptr);
}

extern "C" int hx_cuda_upload(void *dst_dev, const void *src_host, size_t bytes)
{
    HX_CUDA_TRY(cudaMemcpy(dst_dev, src_host, bytes, cudaMemcpyHostToDevice));
    return HX_OK;
}

extern "C" int hx_cuda_download(void *dst_host, const void *src_dev, size_t bytes)
{
    HX_CUDA_TRY(cudaMemcpy(dst_host, src_dev, bytes, cudaMemcpyDeviceToHost));
    return HX_OK;
}

extern "C" int hx_cuda_memset0(void *dst_dev, size_t bytes, hx_stream stream)
{
    HX_CUDA_TRY(cudaMemsetAsync(dst_dev, 0, bytes, stream));
    return HX_OK;
}

extern "C" int hx_cuda_sync(hx_stream stream)
{
    HX_CUDA_TRY(cudaStreamSynchronize(stream));
    return HX_OK;
}

static __global__ void k_f32_to_bf16(hx_bf16 *dst, const float *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        hx_st(dst, i, src[i]);
}

static __global__ void k_bf16_to_f32(float *dst, const hx_bf16 *src, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = hx_ld(src, i);
}

extern "C" int hx_cuda_f32_to_bf16(hx_bf16 *dst, const float *src, size_t n, hx_stream stream)
{
    if (n == 0) return HX_OK;
    k_f32_to_bf16<<<hx_grid(n, 256), 256, 0, stream>>>(dst, src, n);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

extern "C" int hx_cuda_bf16_to_f32(float *dst, const hx_bf16 *src, size_t n, hx_stream stream)
{
    if (n == 0) return HX_OK;
    k_bf16_to_f32<<<hx_grid(n, 256), 256, 0, stream>>>(dst, src, n);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

extern "C" int hx_cuda_device_info(char *buf, size_t len)
{
    int dev;
    cudaDeviceProp p;
    HX_CUDA_TRY(cudaGetDevice(&dev));
    HX_CUDA_TRY(cudaGetDeviceProperties(&p, dev));
    snprintf(buf, len, "%s (sm_%d%d, %d SMs, %.1f GiB)", p.name, p.major, p.minor,
             p.multiProcessorCount, (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
    return HX_OK;
}
