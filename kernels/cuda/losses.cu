/* Cross-entropy and forward-KL distillation losses over bf16 logits with fp32
 * accumulation, and their gradients, for the CUDA path; see ops_cuda.h. */
#include "cuda/ops_cuda.h"

#define LOSS_THREADS 512

static __device__ __forceinline__ bool row_masked(const uint8_t *mask, int r)
{
    return mask && !mask[r];
}

/* logsumexp of scale * row[0..n) (two passes: max, then sum of exp). */
static __device__ float row_lse(const hx_bf16 *row, int n, float scale, float *scratch)
{
    float m = -INFINITY;
    for (int v = threadIdx.x; v < n; v += blockDim.x) m = fmaxf(m, scale * hx_ld(row, v));
    m = hx_block_max(m, scratch);
    float s = 0.0f;
    for (int v = threadIdx.x; v < n; v += blockDim.x) s += expf(scale * hx_ld(row, v) - m);
    return m + logf(hx_block_sum(s, scratch));
}

/* *loss = sum(row_loss) / norm_count, one block, fixed order. */
static __global__ void k_loss_final(float *loss, const float *row_loss, int n_rows, float norm_count)
{
    __shared__ float scratch[32];
    float acc = 0.0f;
    for (int r = threadIdx.x; r < n_rows; r += blockDim.x) acc += row_loss[r];
    acc = hx_block_sum(acc, scratch);
    if (threadIdx.x == 0) *loss = norm_count > 0.0f ? acc / norm_count : 0.0f;
}

static __global__ void k_ce_fwd(float *row_loss, float *lse, const hx_bf16 *logits,
                                const int32_t *targets, int vocab, int ignore_index)
{
    __shared__ float scratch[32];
    int r = blockIdx.x, t = targets[r];
    if (t == ignore_index || t < 0 || t >= vocab) {
        if (threadIdx.x == 0) row_loss[r] = lse[r] = 0.0f;
        return;
    }
    const hx_bf16 *row = logits + (size_t)r * vocab;
    float l = row_lse(row, vocab, 1.0f, scratch);
    if (threadIdx.x == 0) {
        lse[r] = l;
        row_loss[r] = l - hx_ld(row, t);
    }
}

static __global__ void k_ce_bwd(hx_bf16 *dlogits, const hx_bf16 *logits, const float *lse,
                                const int32_t *targets, int vocab, int ignore_index, float scale)
{
    int r = blockIdx.x, t = targets[r];
    bool masked = t == ignore_index || t < 0 || t >= vocab;
    size_t base = (size_t)r * vocab;
    float l = masked ? 0.0f : lse[r];
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        float g = masked ? 0.0f : scale * (expf(hx_ld(logits, base + v) - l) - (v == t ? 1.0f : 0.0f));
        hx_st(dlogits, base + v, g);
    }
}

static int check_rows(const char *fn, int n_rows, int vocab)
{
    if (n_rows < 0 || vocab <= 0)
        return HX_ERR(HX_EINVAL, "%s: bad sizes n_rows=%d vocab=%d", fn, n_rows, vocab);
    return HX_OK;
}

static int finish_loss(float *loss, const float *row_loss, int n_rows, float norm_count,
                       hx_stream stream)
{
    k_loss_final<<<1, 1024, 0, stream>>>(loss, row_loss, n_rows, norm_count);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

extern "C" int hx_cuda_cross_entropy_fwd(float *loss_sum, float *row_loss, float *lse, const hx_bf16 *logits,
                                         const int32_t *targets, int n_rows, int vocab, int ignore_index,
                                         hx_stream stream)
{
    HX_TRY(check_rows("cross_entropy_fwd", n_rows, vocab));
    if (n_rows > 0) {
        k_ce_fwd<<<n_rows, LOSS_THREADS, 0, stream>>>(row_loss, lse, logits, targets, vocab, ignore_index);
        HX_CUDA_CHECK_LAUNCH();
    }
    return finish_loss(loss_sum, row_loss, n_rows, 1.0f, stream);
}

extern "C" int hx_cuda_cross_entropy_bwd(hx_bf16 *dlogits, const hx_bf16 *logits, const float *lse,
                                         const int32_t *targets, int n_rows, int vocab, int ignore_index,
                                         float dloss, float norm_count, hx_stream stream)
{
    HX_TRY(check_rows("cross_entropy_bwd", n_rows, vocab));
    if (n_rows == 0) return HX_OK;
    float scale = norm_count > 0.0f ? dloss / norm_count : 0.0f;
    k_ce_bwd<<<n_rows, LOSS_THREADS, 0, stream>>>(dlogits, logits, lse, targets, vocab, ignore_index, scale);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}

static __global__ void k_kl_fwd(float *row_loss, float *lse_s, float *lse_t, const hx_bf16 *student,
                                int student_ld, const hx_bf16 *teacher, int teacher_ld,
                                const uint8_t *mask, int vocab, float tau)
{
    __shared__ float scratch[32];
    int r = blockIdx.x;
    float inv_tau = 1.0f / tau;
    if (row_masked(mask, r)) {
        if (threadIdx.x == 0) row_loss[r] = lse_s[r] = lse_t[r] = 0.0f;
        return;
    }
    const hx_bf16 *s = student + (size_t)r * student_ld, *t = teacher + (size_t)r * teacher_ld;
    float ls = row_lse(s, vocab, inv_tau, scratch);
    float lt = row_lse(t, vocab, inv_tau, scratch);
    float kl = 0.0f;
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        float log_p = inv_tau * hx_ld(t, v) - lt, log_q = inv_tau * hx_ld(s, v) - ls;
        kl += expf(log_p) * (log_p - log_q);
    }
    kl = hx_block_sum(kl, scratch);
    if (threadIdx.x == 0) {
        row_loss[r] = tau * tau * kl;
        lse_s[r] = ls;
        lse_t[r] = lt;
    }
}

static __global__ void k_kl_bwd(hx_bf16 *ds, const hx_bf16 *student, int student_ld,
                                const hx_bf16 *teacher, int teacher_ld, const float *lse_s,
                                const float *lse_t, const uint8_t *mask, int vocab, float inv_tau,
                                float scale)
{
    int r = blockIdx.x;
    bool masked = row_masked(mask, r);
    size_t sb = (size_t)r * student_ld, tb = (size_t)r * teacher_ld;
    for (int v = threadIdx.x; v < student_ld; v += blockDim.x) {
        float g = 0.0f;
        if (!masked && v < vocab) {
            float q = expf(inv_tau * hx_ld(student, sb + v) - lse_s[r]);
            float p = expf(inv_tau * hx_ld(teacher, tb + v) - lse_t[r]);
            g = scale * (q - p);
        }
        hx_st(ds, sb + v, g);
    }
}

static int check_kl(const char *fn, int n_rows, int vocab, int student_ld, int teacher_ld, float tau)
{
    if (n_rows < 0 || vocab <= 0 || student_ld < vocab || teacher_ld < vocab || !(tau > 0.0f))
        return HX_ERR(HX_EINVAL,
                      "%s: bad arguments n_rows=%d vocab=%d student_ld=%d teacher_ld=%d tau=%g "
                      "(need strides >= vocab, tau > 0)",
                      fn, n_rows, vocab, student_ld, teacher_ld, (double)tau);
    return HX_OK;
}

extern "C" int hx_cuda_kl_fwd(float *loss, float *row_loss, float *lse_student, float *lse_teacher,
                              const hx_bf16 *student, int student_ld, const hx_bf16 *teacher,
                              int teacher_ld, const uint8_t *mask, int n_rows, int vocab, float tau,
                              float norm_count, hx_stream stream)
{
    HX_TRY(check_kl("kl_fwd", n_rows, vocab, student_ld, teacher_ld, tau));
    if (n_rows > 0) {
        k_kl_fwd<<<n_rows, LOSS_THREADS, 0, stream>>>(row_loss, lse_student, lse_teacher, student,
                                                      student_ld, teacher, teacher_ld, mask, vocab, tau);
        HX_CUDA_CHECK_LAUNCH();
    }
    return finish_loss(loss, row_loss, n_rows, norm_count, stream);
}

extern "C" int hx_cuda_kl_bwd(hx_bf16 *dstudent, const hx_bf16 *student, int student_ld,
                              const hx_bf16 *teacher, int teacher_ld, const float *lse_student,
                              const float *lse_teacher, const uint8_t *mask, int n_rows, int vocab,
                              float tau, float dloss, float norm_count, hx_stream stream)
{
    HX_TRY(check_kl("kl_bwd", n_rows, vocab, student_ld, teacher_ld, tau));
    if (n_rows == 0) return HX_OK;
    float scale = norm_count > 0.0f ? dloss * tau / norm_count : 0.0f; /* d(tau^2 KL)/dz = tau (q - p) */
    k_kl_bwd<<<n_rows, LOSS_THREADS, 0, stream>>>(dstudent, student, student_ld, teacher, teacher_ld,
                                                  lse_student, lse_teacher, mask, vocab, 1.0f / tau, scale);
    HX_CUDA_CHECK_LAUNCH();
    return HX_OK;
}
