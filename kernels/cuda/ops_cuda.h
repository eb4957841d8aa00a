/* bf16 training kernels of the CUDA path (fp32 accumulation), C-callable.
 * They mirror the fp32 CPU reference ops (kernels/cpu) for a Llama-family
 * decoder: embedding, RMSNorm, RoPE, SwiGLU, causal GQA attention, the
 * cross-entropy and KL-distillation losses, and AdamW.
 *
 * Conventions, for every function here:
 * - All pointers are device pointers unless a parameter says "host". Tensors
 *   are dense and row-major; "[N, D]" means N rows of D contiguous elements.
 * - Activations and activation gradients are bf16 (hx_bf16) and are
 *   overwritten. Weight gradients are fp32 and are ACCUMULATED (+=), so that
 *   micro-batches add up; zero them at the start of a step.
 * - Everything is enqueued on `stream` and returns without waiting. The return
 *   value is HX_OK, HX_EINVAL for bad sizes (message names the argument) or
 *   HX_EIO for a CUDA launch/allocation failure (message has the CUDA error);
 *   faults during execution surface at the next hx_cuda_sync.
 * - Reductions run in a fixed order: results are bitwise run-to-run
 *   deterministic on one GPU model, and no kernel uses floating atomics. */
#ifndef HX_KERNELS_CUDA_OPS_CUDA_H
#define HX_KERNELS_CUDA_OPS_CUDA_H

#include "cuda/cuda_common.h"

#ifdef __cplusplus
extern "C" {
#endif
#include "cpu/ops.h" /* hx_attn_shape, hx_rope_table: the CPU path these kernels mirror */

/* ---- Token embedding (nn.Embedding) ---- */

/* out[t, :] = table[ids[t], :] for t < n_tokens. table: [vocab_size, hidden_size],
 * out: [n_tokens, hidden_size], ids: [n_tokens] int32. An id outside
 * [0, vocab_size) yields a zero row (the data loader validates ids). */
int hx_cuda_embedding_fwd(hx_bf16 *out, const hx_bf16 *table, const int32_t *ids, int n_tokens,
                          int vocab_size, int hidden_size, hx_stream stream);

/* dtable[v, :] += sum over t with ids[t] == v of dout[t, :] (fp32). Atomic-free:
 * tokens are stably sorted by id (CUB radix sort) and each id's run is summed
 * by one thread per channel in token order, so the sum order equals a serial
 * loop over t. Out-of-range ids are skipped. Uses 12 bytes per token plus
 * CUB's temporary storage of stream-ordered scratch (cudaMallocAsync).
 * dtable: [vocab_size, hidden_size] fp32. */
int hx_cuda_embedding_bwd(float *dtable, const hx_bf16 *dout, const int32_t *ids, int n_tokens,
                          int vocab_size, int hidden_size, hx_stream stream);

/* ---- RMSNorm (transformers LlamaRMSNorm) ---- */

/* Per row r of x [n_rows, dim]: rstd[r] = 1/sqrt(mean(x_r^2) + eps) in fp32,
 * y = weight * bf16(x * rstd), with the cast to bf16 BEFORE the multiply by
 * weight (LlamaRMSNorm.forward: hidden_states.to(input_dtype) then weight *).
 * rstd: [n_rows] fp32, saved for the backward. */
int hx_cuda_rmsnorm_fwd(hx_bf16 *y, float *rstd, const hx_bf16 *x, const hx_bf16 *weight,
                        int n_rows, int dim, float eps, hx_stream stream);

/* Backward of hx_cuda_rmsnorm_fwd with xhat = x*rstd and g = dy*weight:
 * dx += rstd * (g - xhat * mean(g * xhat)) (bf16, ADDED into dx like
 * hx_rmsnorm_bwd: the residual stream's gradient already sits there),
 * dweight[j] += sum_r dy[r, j] * bf16(xhat[r, j]) (fp32). dx must not alias dy. */
int hx_cuda_rmsnorm_bwd(hx_bf16 *dx, float *dweight, const hx_bf16 *dy, const hx_bf16 *x,
                        const hx_bf16 *weight, const float *rstd, int n_rows, int dim,
                        hx_stream stream);

/* ---- Rotary position embedding (transformers apply_rotary_pos_emb) ---- */

/* As hx_rope_fwd (kernels/cpu/ops.h): in place on x [B, T, n_heads, head_dim]
 * (N = B*T rows; q or k), position t = row % T, half = head_dim/2, for i < half
 * with c = cos_t[t, i], s = sin_t[t, i]:
 *   x'[i] = x[i]*c - x[i+half]*s,  x'[i+half] = x[i+half]*c + x[i]*s
 * (rotate-half / NeoX layout, what HF safetensors weights expect).
 * cos_t, sin_t: [T, head_dim/2] fp32 device copies of hx_rope_table's output
 * (rope_theta and the llama3 scaling applied there). head_dim must be even. */
int hx_cuda_rope_fwd(hx_bf16 *x, const float *cos_t, const float *sin_t, int N, int T, int n_heads,
                     int head_dim, hx_stream stream);

/* Backward (in place on dx, same layout): the transposed rotation, i.e. the
 * forward with sin negated. */
int hx_cuda_rope_bwd(hx_bf16 *dx, const float *cos_t, const float *sin_t, int N, int T, int n_heads,
                     int head_dim, hx_stream stream);

/* ---- SwiGLU (LlamaMLP: down(silu(gate(x)) * up(x))) ---- */

/* h = silu(gate) * up elementwise over n elements, silu(g) = g / (1 + exp(-g)). */
int hx_cuda_swiglu_fwd(hx_bf16 *h, const hx_bf16 *gate, const hx_bf16 *up, size_t n,
                       hx_stream stream);

/* dgate = dh * up * silu'(gate), dup = dh * silu(gate), with
 * silu'(g) = s * (1 + g * (1 - s)), s = sigmoid(g). */
int hx_cuda_swiglu_bwd(hx_bf16 *dgate, hx_bf16 *dup, const hx_bf16 *dh, const hx_bf16 *gate,
                       const hx_bf16 *up, size_t n, hx_stream stream);

/* ---- Causal grouped-query attention (LlamaAttention, eager path) ---- */

/* Shapes as hx_attention_fwd (kernels/cpu/ops.h, hx_attn_shape, sliding window
 * included): q [B, T, n_heads, head_dim]; k, v [B, T, n_kv_heads, head_dim]
 * (shaped by num_key_value_heads; query head h reads KV head h / (n_heads/n_kv_heads)).
 * out[b, i, h] = sum_j softmax_j(q_i . k_j / sqrt(head_dim)) v_j over the visible
 * keys j <= i (and j > i - window when window > 0), same layout as q.
 * lse: [B, n_heads, T] fp32 natural-log log-sum-exp of the scaled scores, saved
 * for the backward instead of the CPU path's probabilities. Requirements:
 * n_kv_heads divides n_heads; head_dim is one of 32, 64, 128, 256. A tiled fp32
 * kernel (online softmax), not FlashAttention. */
int hx_cuda_attention_fwd(hx_bf16 *out, float *lse, const hx_bf16 *q, const hx_bf16 *k,
                          const hx_bf16 *v, const hx_attn_shape *shape, hx_stream stream);

/* Backward of hx_cuda_attention_fwd (FlashAttention-2 recomputation, Dao 2023
 * Alg. 2, without atomics): with P recomputed from lse and D_i = dout_i . out_i,
 * dS = P (dout v^T - D), dq = dS k / sqrt(d), dk = dS^T q / sqrt(d), dv = P^T dout.
 * dq, dk, dv are OVERWRITTEN; dk and dv of a KV head sum over the query heads of
 * its group (field case C12), in one pass per key row (deterministic). Uses
 * B*n_heads*T*4 bytes of stream-ordered scratch. */
int hx_cuda_attention_bwd(hx_bf16 *dq, hx_bf16 *dk, hx_bf16 *dv, const hx_bf16 *dout,
                          const hx_bf16 *q, const hx_bf16 *k, const hx_bf16 *v,
                          const hx_bf16 *out, const float *lse, const hx_attn_shape *shape,
                          hx_stream stream);

/* ---- Losses over logits [n_rows, vocab] ---- */

/* Token cross-entropy (nats), as hx_cross_entropy (kernels/cpu/ops.h):
 * row_loss[r] = lse[r] - logits[r, targets[r]] with lse[r] = logsumexp(logits[r, :])
 * (fp32); rows whose target is ignore_index (or outside [0, vocab)) get 0.
 * *loss_sum (one device float) = sum_r row_loss[r] in a fixed order; the caller
 * divides by its count of unmasked tokens in the GLOBAL batch (field case C08). */
int hx_cuda_cross_entropy_fwd(float *loss_sum, float *row_loss, float *lse, const hx_bf16 *logits,
                              const int32_t *targets, int n_rows, int vocab, int ignore_index,
                              hx_stream stream);

/* dlogits = dloss / norm_count * (softmax(logits) - onehot(target)) on counted
 * rows, 0 on ignored rows and everywhere when norm_count <= 0 (never NaN). dloss
 * is the upstream gradient of loss_sum / norm_count (host float, e.g. the CE
 * weight; 1 gives hx_cross_entropy's dlogits). dlogits may alias logits. */
int hx_cuda_cross_entropy_bwd(hx_bf16 *dlogits, const hx_bf16 *logits, const float *lse,
                              const int32_t *targets, int n_rows, int vocab, int ignore_index,
                              float dloss, float norm_count, hx_stream stream);

/* Forward KL(teacher || student) at temperature tau, as hx_kd_logits_loss
 * (harness/train/kd.h) with reverse = 0: per row over the first `vocab` ids
 * (rows may be longer, strides teacher_ld and student_ld: a padded vocabulary,
 * field case C07), p = softmax(teacher/tau), log q = log_softmax(student/tau),
 *   row_loss[r] = tau^2 * sum_v p_v (log p_v - log q_v)   (nats; tau^2 as Hinton
 * et al. 2015 and ModelOpt's LogitsDistillationLoss; rows with mask[r] == 0 get 0;
 * mask NULL counts every row).
 * *loss = sum_r row_loss[r] / norm_count (0 when norm_count <= 0).
 * lse_student, lse_teacher: [n_rows] fp32 logsumexp of the tau-scaled logits,
 * saved for the backward. */
int hx_cuda_kl_fwd(float *loss, float *row_loss, float *lse_student, float *lse_teacher,
                   const hx_bf16 *student, int student_ld, const hx_bf16 *teacher, int teacher_ld,
                   const uint8_t *mask, int n_rows, int vocab, float tau, float norm_count,
                   hx_stream stream);

/* Gradient with respect to the student logits: dstudent[r, v] =
 * dloss / norm_count * tau * (q_v - p_v) for v < vocab on counted rows, 0
 * elsewhere (columns vocab..student_ld-1 included). dstudent has stride
 * student_ld and may alias student. */
int hx_cuda_kl_bwd(hx_bf16 *dstudent, const hx_bf16 *student, int student_ld,
                   const hx_bf16 *teacher, int teacher_ld, const float *lse_student,
                   const float *lse_teacher, const uint8_t *mask, int n_rows, int vocab, float tau,
                   float dloss, float norm_count, hx_stream stream);

/* ---- Optimizer ---- */

/* AdamW (torch.optim.AdamW, decoupled weight decay; Loshchilov & Hutter 2019)
 * on fp32 master weights w, fp32 moments m and v, n elements, step >= 1:
 *   g = grad * grad_scale; w -= lr * weight_decay * w (where decay[i] != 0;
 *   decay [n] NULL decays every element, as hx_adamw's per-parameter flags);
 *   m = beta1 m + (1-beta1) g; v = beta2 v + (1-beta2) g^2;
 *   w -= lr * (m / (1-beta1^step)) / (sqrt(v / (1-beta2^step)) + eps).
 * grad_scale folds in gradient clipping (e.g. min(1, max_norm/norm)). When
 * w_bf16 is not NULL it receives bf16(w) for the next forward. */
int hx_cuda_adamw(float *w, hx_bf16 *w_bf16, const float *grad, float *m, float *v, const uint8_t *decay, size_t n,
                  float lr, float beta1, float beta2, float eps, float weight_decay, int step,
                  float grad_scale, hx_stream stream);

/* *out (one device float) = sum_i x[i]^2 over n fp32 elements, in a fixed order
 * (for the global gradient norm before clipping). */
int hx_cuda_sumsq(float *out, const float *x, size_t n, hx_stream stream);

#ifdef __cplusplus
}
#endif

#endif
