/* Causal grouped-query attention, forward and backward, bf16 in/out with fp32
 * scores and accumulation, for the CUDA path; see ops_cuda.h.
 *
 * Scheme (one warp per query row in the forward and dq passes, one warp per
 * key row in the dk/dv pass; blocks of ATT_WARPS rows share 32-row tiles of
 * the other operand in shared memory): lane j computes the score against row
 * j of the tile, the warp does an online softmax (Milakov & Gimelshein 2018)
 * across lanes, and each lane accumulates the head_dim/32 output channels
 * lane, lane+32, ... It uses CUDA cores, not tensor cores: a correct
 * baseline, not FlashAttention speed. */
#include "cuda/ops_cuda.h"

#include <math.h>

#define ATT_WARPS 8
#define ATT_TILE 32

typedef struct {
    int T, nh, nkv, group; /* group = nh / nkv query heads per KV head */
    int window;            /* sliding window (0 = plain causal) */
    float scale;           /* 1/sqrt(head_dim) */
} att_dims;

/* Whether query i sees key j: causal, and within the sliding window if any. */
static __device__ __forceinline__ bool visible(int i, int j, int window)
{
    return j <= i && (window == 0 || j > i - window);
}

/* First key any query row >= r0 can see. */
static __device__ __forceinline__ int first_key(int r0, int window)
{
    return window ? max(0, r0 - window + 1) : 0;
}

/* Offsets of row (b, t, head) in [B, T, heads, hd]. */
static __device__ __forceinline__ size_t row_off(int b, int t, int head, int heads, int T, int hd)
{
    return (((size_t)b * T + t) * heads + head) * hd;
}

/* Loads rows [r0, r0+ATT_TILE) of head `head` into tile[ATT_TILE][hd+1] (zeros past T). */
static __device__ void load_tile(float *tile, const hx_bf16 *src, int b, int r0, int head, int heads,
                                 int T, int hd)
{
    for (int idx = threadIdx.x; idx < ATT_TILE * hd; idx += blockDim.x) {
        int j = idx / hd, d = idx % hd, r = r0 + j;
        tile[j * (hd + 1) + d] = r < T ? hx_ld(src, row_off(b, r, head, heads, T, hd) + d) : 0.0f;
    }
}

/* Loads one row per warp into rows[ATT_WARPS][hd] (zeros for rows past T). */
static __device__ void load_rows(float *rows, const hx_bf16 *src, int b, int r0, int head, int heads,
                                 int T, int hd)
{
    for (int idx = threadIdx.x; idx < ATT_WARPS * hd; idx += blockDim.x) {
        int w = idx / hd, d = idx % hd, r = r0 + w;
        rows[idx] = r < T ? hx_ld(src, row_off(b, r, head, heads, T, hd) + d) : 0.0f;
    }
}

/* Dot product of a broadcast row (same for all lanes) and this lane's tile row. */
template <int HD>
static __device__ __forceinline__ float dot_row(const float *bcast, const float *tile_row)
{
    float s = 0.0f;
#pragma unroll 8
    for (int d = 0; d < HD; d++) s += bcast[d] * tile_row[d];
    return s;
}

/* Forward: grid (ceil(T/ATT_WARPS), nh, B). Shared: K and V tiles, query rows. */
template <int NC>
static __global__ void __launch_bounds__(ATT_WARPS * 32)
k_attn_fwd(hx_bf16 *out, float *lse, const hx_bf16 *q, const hx_bf16 *k, const hx_bf16 *v, att_dims a)
{
    constexpr int HD = NC * 32;
    extern __shared__ float sm[];
    float *Ks = sm, *Vs = Ks + ATT_TILE * (HD + 1), *Qs = Vs + ATT_TILE * (HD + 1);
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    int b = blockIdx.z, h = blockIdx.y, g = h / a.group, r0 = blockIdx.x * ATT_WARPS;
    int i = r0 + w;
    bool valid = i < a.T;
    load_rows(Qs, q, b, r0, h, a.nh, a.T, HD);
    const float *qrow = Qs + w * HD;

    float m = -INFINITY, l = 0.0f, acc[NC];
#pragma unroll
    for (int c = 0; c < NC; c++) acc[c] = 0.0f;
    int last = min(a.T - 1, r0 + ATT_WARPS - 1);
    for (int kt = first_key(r0, a.window); kt <= last; kt += ATT_TILE) {
        __syncthreads();
        load_tile(Ks, k, b, kt, g, a.nkv, a.T, HD);
        load_tile(Vs, v, b, kt, g, a.nkv, a.T, HD);
        __syncthreads();
        /* Skip tiles with no visible key, so the tile maximum below is finite. */
        if (!valid || kt > i || (a.window && kt + ATT_TILE - 1 <= i - a.window)) continue;
        int j = kt + lane;
        bool vis = visible(i, j, a.window);
        float s = vis ? dot_row<HD>(qrow, Ks + lane * (HD + 1)) * a.scale : -INFINITY;
        float m_new = fmaxf(m, hx_warp_max(s));
        float p = vis ? expf(s - m_new) : 0.0f, corr = expf(m - m_new);
        l = l * corr + hx_warp_sum(p);
#pragma unroll
        for (int c = 0; c < NC; c++) acc[c] *= corr;
        int nj = min(ATT_TILE, i - kt + 1);
        for (int jj = 0; jj < nj; jj++) {
            float pj = __shfl_sync(0xffffffffu, p, jj);
            const float *vr = Vs + jj * (HD + 1);
#pragma unroll
            for (int c = 0; c < NC; c++) acc[c] += pj * vr[lane + 32 * c];
        }
        m = m_new;
    }
    if (!valid) return;
    size_t o = row_off(b, i, h, a.nh, a.T, HD);
    float inv_l = 1.0f / l;
#pragma unroll
    for (int c = 0; c < NC; c++) hx_st(out, o + lane + 32 * c, acc[c] * inv_l);
    if (lane == 0) lse[((size_t)b * a.nh + h) * a.T + i] = m + logf(l);
}

/* dq pass, also writes D_i = dout_i . out_i. Grid as the forward. */
template <int NC>
static __global__ void __launch_bounds__(ATT_WARPS * 32)
k_attn_bwd_dq(hx_bf16 *dq, float *Dbuf, const hx_bf16 *dout, const hx_bf16 *q, const hx_bf16 *k,
              const hx_bf16 *v, const hx_bf16 *out, const float *lse, att_dims a)
{
    constexpr int HD = NC * 32;
    extern __shared__ float sm[];
    float *Ks = sm, *Vs = Ks + ATT_TILE * (HD + 1), *Qs = Vs + ATT_TILE * (HD + 1), *dOs = Qs + ATT_WARPS * HD;
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    int b = blockIdx.z, h = blockIdx.y, g = h / a.group, r0 = blockIdx.x * ATT_WARPS;
    int i = r0 + w;
    bool valid = i < a.T;
    load_rows(Qs, q, b, r0, h, a.nh, a.T, HD);
    load_rows(dOs, dout, b, r0, h, a.nh, a.T, HD);
    const float *qrow = Qs + w * HD, *dorow = dOs + w * HD;

    float D = 0.0f, L = 0.0f;
    size_t stat = ((size_t)b * a.nh + h) * a.T + i;
    if (valid) {
        size_t o = row_off(b, i, h, a.nh, a.T, HD);
#pragma unroll
        for (int c = 0; c < NC; c++) D += hx_ld(dout, o + lane + 32 * c) * hx_ld(out, o + lane + 32 * c);
        D = hx_warp_sum(D);
        L = lse[stat];
        if (lane == 0) Dbuf[stat] = D;
    }
    float acc[NC];
#pragma unroll
    for (int c = 0; c < NC; c++) acc[c] = 0.0f;
    int last = min(a.T - 1, r0 + ATT_WARPS - 1);
    for (int kt = first_key(r0, a.window); kt <= last; kt += ATT_TILE) {
        __syncthreads();
        load_tile(Ks, k, b, kt, g, a.nkv, a.T, HD);
        load_tile(Vs, v, b, kt, g, a.nkv, a.T, HD);
        __syncthreads();
        if (!valid || kt > i) continue;
        int j = kt + lane;
        float ds = 0.0f;
        if (visible(i, j, a.window)) {
            float p = expf(dot_row<HD>(qrow, Ks + lane * (HD + 1)) * a.scale - L);
            float dp = dot_row<HD>(dorow, Vs + lane * (HD + 1));
            ds = p * (dp - D);
        }
        int nj = min(ATT_TILE, i - kt + 1);
        for (int jj = 0; jj < nj; jj++) {
            float dsj = __shfl_sync(0xffffffffu, ds, jj);
            const float *kr = Ks + jj * (HD + 1);
#pragma unroll
            for (int c = 0; c < NC; c++) acc[c] += dsj * kr[lane + 32 * c];
        }
    }
    if (!valid) return;
    size_t o = row_off(b, i, h, a.nh, a.T, HD);
#pragma unroll
    for (int c = 0; c < NC; c++) hx_st(dq, o + lane + 32 * c, acc[c] * a.scale);
}

/* dk/dv pass: grid (ceil(T/ATT_WARPS), nkv, B); warp w owns key row j of KV head
 * g and loops over the group's query heads and the query rows i >= j. */
template <int NC>
static __global__ void __launch_bounds__(ATT_WARPS * 32)
k_attn_bwd_dkv(hx_bf16 *dk, hx_bf16 *dv, const hx_bf16 *dout, const hx_bf16 *q, const hx_bf16 *k,
               const hx_bf16 *v, const float *lse, const float *Dbuf, att_dims a)
{
    constexpr int HD = NC * 32;
    extern __shared__ float sm[];
    float *Qs = sm, *dOs = Qs + ATT_TILE * (HD + 1), *Kr = dOs + ATT_TILE * (HD + 1);
    float *Vr = Kr + ATT_WARPS * HD, *Ls = Vr + ATT_WARPS * HD, *Ds = Ls + ATT_TILE;
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    int b = blockIdx.z, g = blockIdx.y, r0 = blockIdx.x * ATT_WARPS;
    int j = r0 + w;
    bool valid = j < a.T;
    load_rows(Kr, k, b, r0, g, a.nkv, a.T, HD);
    load_rows(Vr, v, b, r0, g, a.nkv, a.T, HD);
    const float *krow = Kr + w * HD, *vrow = Vr + w * HD;

    float dk_acc[NC], dv_acc[NC];
#pragma unroll
    for (int c = 0; c < NC; c++) dk_acc[c] = dv_acc[c] = 0.0f;
    for (int h = g * a.group; h < (g + 1) * a.group; h++) {
        const float *lse_h = lse + ((size_t)b * a.nh + h) * a.T, *D_h = Dbuf + ((size_t)b * a.nh + h) * a.T;
        int q_end = a.window ? min(a.T, r0 + ATT_WARPS - 1 + a.window) : a.T;
        for (int qt = r0; qt < q_end; qt += ATT_TILE) {
            __syncthreads();
            load_tile(Qs, q, b, qt, h, a.nh, a.T, HD);
            load_tile(dOs, dout, b, qt, h, a.nh, a.T, HD);
            if (threadIdx.x < ATT_TILE) {
                int i = qt + threadIdx.x;
                Ls[threadIdx.x] = i < a.T ? lse_h[i] : 0.0f;
                Ds[threadIdx.x] = i < a.T ? D_h[i] : 0.0f;
            }
            __syncthreads();
            if (!valid) continue;
            int i = qt + lane;
            float p = 0.0f, ds = 0.0f;
            if (i < a.T && visible(i, j, a.window)) {
                p = expf(dot_row<HD>(krow, Qs + lane * (HD + 1)) * a.scale - Ls[lane]);
                ds = p * (dot_row<HD>(vrow, dOs + lane * (HD + 1)) - Ds[lane]);
            }
            for (int ii = max(0, j - qt); ii < ATT_TILE; ii++) {
                float pi = __shfl_sync(0xffffffffu, p, ii), dsi = __shfl_sync(0xffffffffu, ds, ii);
                const float *qr = Qs + ii * (HD + 1), *dor = dOs + ii * (HD + 1);
#pragma unroll
                for (int c = 0; c < NC; c++) {
                    dv_acc[c] += pi * dor[lane + 32 * c];
                    dk_acc[c] += dsi * qr[lane + 32 * c];
                }
            }
        }
    }
    if (!valid) return;
    size_t o = row_off(b, j, g, a.nkv, a.T, HD);
#pragma unroll
    for (int c = 0; c < NC; c++) {
        hx_st(dk, o + lane + 32 * c, dk_acc[c] * a.scale);
        hx_st(dv, o + lane + 32 * c, dv_acc[c]);
    }
}

static int check_dims(const char *fn, const hx_attn_shape *s, att_dims *a)
{
    int hd = s->head_dim;
    if (s->B < 0 || s->T < 0 || s->n_heads <= 0 || s->n_kv_heads <= 0 || s->n_heads % s->n_kv_heads ||
        s->window < 0 || (hd != 32 && hd != 64 && hd != 128 && hd != 256))
        return HX_ERR(HX_EINVAL,
                      "%s: bad shape B=%d T=%d n_heads=%d n_kv_heads=%d head_dim=%d window=%d "
                      "(need n_kv_heads | n_heads, head_dim in {32,64,128,256}, window >= 0)",
                      fn, s->B, s->T, s->n_heads, s->n_kv_heads, hd, s->window);
    a->T = s->T;
    a->nh = s->n_heads;
    a->nkv = s->n_kv_heads;
    a->group = s->n_heads / s->n_kv_heads;
    a->window = s->window;
    a->scale = 1.0f / sqrtf((float)hd);
    return HX_OK;
}

/* Launches kern with `smem` bytes of dynamic shared memory, raising the
 * kernel's limit above the 48 KiB default when needed. */
template <typename K, typename... Args>
static int launch(const char *fn, K kern, dim3 grid, size_t smem, hx_stream stream, Args... args)
{
    if (smem > 48 * 1024) {
        cudaError_t e = cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess)
            return HX_ERR(HX_EIO, "%s: %zu bytes of shared memory: %s", fn, smem, cudaGetErrorString(e));
    }
    kern<<<grid, ATT_WARPS * 32, smem, stream>>>(args...);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return HX_ERR(HX_EIO, "%s: launch failed: %s", fn, cudaGetErrorString(e));
    return HX_OK;
}

template <int NC>
static int fwd(hx_bf16 *out, float *lse, const hx_bf16 *q, const hx_bf16 *k, const hx_bf16 *v, int batch,
               att_dims a, hx_stream stream)
{
    constexpr int HD = NC * 32;
    size_t smem = (2 * ATT_TILE * (HD + 1) + ATT_WARPS * HD) * sizeof(float);
    dim3 grid((a.T + ATT_WARPS - 1) / ATT_WARPS, a.nh, batch);
    return launch("attention_fwd", k_attn_fwd<NC>, grid, smem, stream, out, lse, q, k, v, a);
}

template <int NC>
static int bwd(hx_bf16 *dq, hx_bf16 *dk, hx_bf16 *dv, float *Dbuf, const hx_bf16 *dout, const hx_bf16 *q,
               const hx_bf16 *k, const hx_bf16 *v, const hx_bf16 *out, const float *lse, int batch, att_dims a,
               hx_stream stream)
{
    constexpr int HD = NC * 32;
    size_t smem = (2 * ATT_TILE * (HD + 1) + 2 * ATT_WARPS * HD) * sizeof(float);
    size_t smem_kv = (2 * ATT_TILE * (HD + 1) + 2 * ATT_WARPS * HD + 2 * ATT_TILE) * sizeof(float);
    unsigned rows = (a.T + ATT_WARPS - 1) / ATT_WARPS;
    HX_TRY(launch("attention_bwd (dq)", k_attn_bwd_dq<NC>, dim3(rows, a.nh, batch), smem, stream, dq, Dbuf,
                  dout, q, k, v, out, lse, a));
    return launch("attention_bwd (dk, dv)", k_attn_bwd_dkv<NC>, dim3(rows, a.nkv, batch), smem_kv, stream,
                  dk, dv, dout, q, k, v, lse, (const float *)Dbuf, a);
}

extern "C" int hx_cuda_attention_fwd(hx_bf16 *out, float *lse, const hx_bf16 *q, const hx_bf16 *k,
                                     const hx_bf16 *v, const hx_attn_shape *s, hx_stream stream)
{
    att_dims a;
    HX_TRY(check_dims("attention_fwd", s, &a));
    if (s->B == 0 || s->T == 0) return HX_OK;
    switch (s->head_dim) {
    case 32: return fwd<1>(out, lse, q, k, v, s->B, a, stream);
    case 64: return fwd<2>(out, lse, q, k, v, s->B, a, stream);
    case 128: return fwd<4>(out, lse, q, k, v, s->B, a, stream);
    default: return fwd<8>(out, lse, q, k, v, s->B, a, stream);
    }
}

extern "C" int hx_cuda_attention_bwd(hx_bf16 *dq, hx_bf16 *dk, hx_bf16 *dv, const hx_bf16 *dout,
                                     const hx_bf16 *q, const hx_bf16 *k, const hx_bf16 *v,
                                     const hx_bf16 *out, const float *lse, const hx_attn_shape *s,
                                     hx_stream stream)
{
    att_dims a;
    HX_TRY(check_dims("attention_bwd", s, &a));
    if (s->B == 0 || s->T == 0) return HX_OK;
    float *Dbuf = nullptr;
    HX_CUDA_TRY(cudaMallocAsync((void **)&Dbuf, (size_t)s->B * s->n_heads * s->T * sizeof(float), stream));
    int rc, B = s->B;
    switch (s->head_dim) {
    case 32: rc = bwd<1>(dq, dk, dv, Dbuf, dout, q, k, v, out, lse, B, a, stream); break;
    case 64: rc = bwd<2>(dq, dk, dv, Dbuf, dout, q, k, v, out, lse, B, a, stream); break;
    case 128: rc = bwd<4>(dq, dk, dv, Dbuf, dout, q, k, v, out, lse, B, a, stream); break;
    default: rc = bwd<8>(dq, dk, dv, Dbuf, dout, q, k, v, out, lse, B, a, stream); break;
    }
    cudaError_t e = cudaFreeAsync(Dbuf, stream);
    if (rc == HX_OK && e != cudaSuccess)
        rc = HX_ERR(HX_EIO, "attention_bwd: cudaFreeAsync: %s", cudaGetErrorString(e));
    return rc;
}
