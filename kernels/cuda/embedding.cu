/* Token embedding gather (forward) and its deterministic, atomic-free
 * scatter-add (backward) for the CUDA path; see ops_cuda.h. */
#include "cuda/ops_cuda.h"

#include <cub/device/device_radix_sort.cuh>

static __global__ void k_embedding_fwd(hx_bf16 *out, const hx_bf16 *table, const int32_t *ids,
                                       int vocab_size, int hidden_size)
{
    int t = blockIdx.x;
    int id = ids[t];
    bool ok = id >= 0 && id < vocab_size;
    const hx_bf16 *row = table + (size_t)(ok ? id : 0) * hidden_size;
    hx_bf16 *dst = out + (size_t)t * hidden_size;
    for (int c = threadIdx.x; c < hidden_size; c += blockDim.x) dst[c] = ok ? row[c] : (hx_bf16)0;
}

extern "C" int hx_cuda_embedding_fwd(hx_bf16 *out, const hx_bf16 *table, const int32_t *ids,
                                     int n_tokens, int vocab_size, int hidden_size, hx_stream stream)
{
    if (n_tokens < 0 || vocab_size <= 0 || hidden_size <= 0)
        return HX_ERR(HX_EINVAL, "embedding_fwd: bad sizes n_tokens=%d vocab_size=%d hidden_size=%d",
                      n_tokens, vocab_size, hidden_size);
    if (n_tokens == 0) return HX_OK;
    k_embedding_fwd<<<n_tokens, 256, 0, stream>>>(out, table, ids, vocab_size, hidden_size);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

static __global__ void k_iota(int32_t *x, int n)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) x[i] = i;
}

/* One block per sorted position i; only the first position of each run of
 * equal ids works: it sums the run's rows in token order (the sort is stable). */
static __global__ void k_embedding_bwd(float *dtable, const hx_bf16 *dout, const int32_t *sorted_ids,
                                       const int32_t *order, int n_tokens, int vocab_size,
                                       int hidden_size)
{
    int i = blockIdx.x;
    int id = sorted_ids[i];
    if (id < 0 || id >= vocab_size || (i > 0 && sorted_ids[i - 1] == id)) return;
    int end = i + 1;
    while (end < n_tokens && sorted_ids[end] == id) end++;
    float *dst = dtable + (size_t)id * hidden_size;
    for (int c = threadIdx.x; c < hidden_size; c += blockDim.x) {
        float acc = 0.0f;
        for (int j = i; j < end; j++) acc += hx_ld(dout, (size_t)order[j] * hidden_size + c);
        dst[c] += acc;
    }
}

extern "C" int hx_cuda_embedding_bwd(float *dtable, const hx_bf16 *dout, const int32_t *ids,
                                     int n_tokens, int vocab_size, int hidden_size, hx_stream stream)
{
    if (n_tokens < 0 || vocab_size <= 0 || hidden_size <= 0)
        return HX_ERR(HX_EINVAL, "embedding_bwd: bad sizes n_tokens=%d vocab_size=%d hidden_size=%d",
                      n_tokens, vocab_size, hidden_size);
    if (n_tokens == 0) return HX_OK;
    size_t temp_bytes = 0;
    HX_CUDA_TRY(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, ids, (int32_t *)nullptr,
                                                (const int32_t *)nullptr, (int32_t *)nullptr,
                                                n_tokens, 0, 32, stream));
    size_t n = (size_t)n_tokens, arrays = 3 * n * sizeof(int32_t);
    arrays = (arrays + 255) & ~(size_t)255;
    char *scratch = nullptr;
    HX_CUDA_TRY(cudaMallocAsync((void **)&scratch, arrays + temp_bytes, stream));
    int32_t *iota = (int32_t *)scratch, *sorted_ids = iota + n, *order = sorted_ids + n;
    int rc = HX_OK;
    k_iota<<<hx_grid(n, 256), 256, 0, stream>>>(iota, n_tokens);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess)
        e = cub::DeviceRadixSort::SortPairs(scratch + arrays, temp_bytes, ids, sorted_ids, iota, order,
                                            n_tokens, 0, 32, stream);
    if (e == cudaSuccess) {
        k_embedding_bwd<<<n_tokens, 256, 0, stream>>>(dtable, dout, sorted_ids, order, n_tokens,
                                                     vocab_size, hidden_size);
        e = cudaGetLastError();
    }
    if (e != cudaSuccess)
        rc = HX_ERR(HX_EIO, "embedding_bwd: CUDA error: %s", cudaGetErrorString(e));
    cudaError_t f = cudaFreeAsync(scratch, stream);
    if (rc == HX_OK && f != cudaSuccess)
        rc = HX_ERR(HX_EIO, "embedding_bwd: cudaFreeAsync: %s", cudaGetErrorString(f));
    return rc;
}
