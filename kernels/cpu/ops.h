/* fp32 CPU kernels of a Llama/Mistral-family decoder: linear layers
 * (cblas_sgemm), token embedding, RMSNorm, rotary position embedding (RoPE),
 * causal grouped-query attention, SwiGLU and cross-entropy, each with its
 * backward. Conventions follow Hugging Face transformers (modeling_llama.py,
 * modeling_mistral.py, modeling_rope_utils.py, loss_utils.py).
 *
 * Layout: activations are row-major with one row per token; a batch of B
 * sequences of T tokens has N = B*T rows, token (b, t) in row b*T + t.
 * Per-head tensors are [B, T, heads, head_dim], i.e. the [N, heads*head_dim]
 * output of a projection viewed per head, with no copy or transpose.
 *
 * Threading: non-GEMM loops use OpenMP with a partition that never splits a
 * floating-point reduction across threads, so results are bit-identical for
 * any thread count given the same BLAS results; GEMMs split their rows over
 * the same OpenMP threads, one single-threaded cblas_sgemm each (gemm.h).
 * Backward functions that produce parameter gradients ACCUMULATE (+=) into
 * them, so micro-batches can be summed; input gradients are documented per
 * function. */
#ifndef HX_KERNELS_CPU_OPS_H
#define HX_KERNELS_CPU_OPS_H

#include "core/labels.h"
#include <stddef.h>
#include <stdint.h>

/* ---- linear.c: y = x W^T with W row-major [out, in] as nn.Linear ---- */

/* y[N, out] = x[N, in] W^T + beta * y. beta = 0 overwrites y. */
void hx_linear_fwd(float *y, const float *x, const float *W, int N, int in, int out, float beta);
/* Input gradient: dx[N, in] = dy[N, out] W + beta * dx. */
void hx_linear_bwd_input(float *dx, const float *dy, const float *W, int N, int in, int out, float beta);
/* Weight gradient, accumulated: dW[out, in] += dy^T x. */
void hx_linear_bwd_weight(float *dW, const float *dy, const float *x, int N, int in, int out);

/* ---- linear_bf16.c: y = x W^T in bfloat16 (forward-only passes) ----
 * On CPUs with AVX512-BF16 (vdpbf16ps): x and W rounded to bfloat16 (round
 * to nearest even; x by vcvtne2ps2bf16, which flushes denormal inputs to
 * zero), products summed in fp32. Each output element is computed by one
 * thread in a fixed order, so results do not depend on the thread count.
 * Relative error against fp32 is that of bf16 inputs: about 2^-8 per
 * product, ~1e-3 relative on sums of a few hundred terms. */

/* Length in uint16 of W [out, in] packed for hx_linear_fwd_bf16. */
size_t hx_bf16_packed_len(int in, int out);
/* Packs W [out, in] (row-major, nn.Linear) as bfloat16 panels of 32 output
 * rows with input pairs interleaved: P[out/32][in/2][32][2], out rounded up
 * to 32 and in to 2 with zeros. P holds hx_bf16_packed_len(in, out). */
void hx_bf16_pack(uint16_t *P, const float *W, int in, int out);
/* 1 when this CPU can run hx_linear_fwd_bf16 (AVX-512F and AVX512-BF16). */
int hx_bf16_gemm_available(void);
/* y[N, out] = x[N, in] W^T + beta * y from Wp = hx_bf16_pack(W). xbuf is
 * scratch of N * (in rounded up to 2) uint16. Returns 0, or -1 (nothing
 * written) when the CPU lacks AVX512-BF16. */
int hx_linear_fwd_bf16(float *y, const float *x, const uint16_t *Wp, int N, int in, int out, float beta,
                       uint16_t *xbuf);

/* ---- vexp.c: expf over vectors ---- */

/* 1 when the AVX-512 path of hx_exp_shifted runs on this CPU (AVX-512F and
 * FMA usable); otherwise it loops over the scalar expf. */
int hx_vexp_available(void);
/* y[i] = expf(x[i] - shift) for i < n (the difference rounded to float),
 * bit for bit what the scalar expression gives with glibc's expf (the
 * AVX-512 path computes glibc's algorithm 16 lanes at a time). y may alias x. */
void hx_exp_shifted(float *y, const float *x, float shift, long n);

/* ---- embedding.c: nn.Embedding ---- */

/* out[N, H] = table[ids[i], :]. ids must lie in [0, V) (checked by callers). */
void hx_embedding_fwd(float *out, const float *table, const int32_t *ids, int N, int H);
/* dtable[ids[i], :] += dout[i, :] (rows summed in token order, so repeated
 * ids accumulate deterministically). */
void hx_embedding_bwd(float *dtable, const float *dout, const int32_t *ids, int N, int H);

/* ---- rmsnorm.c: LlamaRMSNorm, y = w * (x * rsqrt(mean(x^2) + eps)) in fp32 ---- */

/* y[N, H] from x[N, H] and w[H]; rstd[N] receives rsqrt(mean(x^2) + eps)
 * (the mean of squares is summed in double). */
void hx_rmsnorm_fwd(float *y, float *rstd, const float *x, const float *w, int N, int H, float eps);
/* Backward. With r = rstd[i] and g = w*dy:
 *   dx_j += r*g_j - r^3 * x_j * sum_k(g_k x_k) / H   (ADDED into dx: the residual
 *   stream's gradient already sits there),
 *   dw_j += sum_i dy_ij x_ij r_i                       (accumulated). */
void hx_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, int N,
                    int H);

/* ---- rope.c: rotary embedding, HF rotate-half convention ---- */

/* RoPE frequencies: head_dim and theta (config.json rope_theta), and with
 * llama3 set the scaling of transformers' _compute_llama3_parameters
 * (factor, low_freq_factor, high_freq_factor,
 * original_max_position_embeddings). The model layer fills it from its
 * config (hx_config_rope in model/model.h). */
typedef struct {
    int head_dim;
    double theta;
    int llama3;
    double factor, low_freq_factor, high_freq_factor;
    int original_max_position;
} hx_rope_params;

/* Inverse frequencies inv_freq[head_dim/2], computed in fp32 as HF does. */
void hx_rope_inv_freq(float *inv_freq, const hx_rope_params *p);
/* cos/sin tables [T, head_dim/2] for positions 0..T-1: angle = (float)t *
 * inv_freq[i] rounded to fp32 (as HF's fp32 product), then cos/sin. */
void hx_rope_table(float *cos_t, float *sin_t, const hx_rope_params *p, int T);
/* In place on x [B, T, heads, D] (N = B*T rows): with half = D/2 and
 * position t = row % T, for i < half:
 *   x'_i = x_i cos - x_{i+half} sin,   x'_{i+half} = x_{i+half} cos + x_i sin.
 * (q*cos + rotate_half(q)*sin, rotate_half(x) = cat(-x[half:], x[:half])). */
void hx_rope_fwd(float *x, const float *cos_t, const float *sin_t, int N, int T, int heads, int D);
/* In place on the gradient dx [B, T, heads, D]: applies the transposed
 * rotation, turning d(rotated) into d(unrotated). */
void hx_rope_bwd(float *dx, const float *cos_t, const float *sin_t, int N, int T, int heads, int D);

/* ---- attention.c: causal grouped-query attention (eager, HF semantics) ---- */

/* Shapes of one attention call. Query head h reads KV head h / (Hq/Hkv).
 * window > 0 restricts query t to keys in (t - window, t] (Mistral
 * sliding_window, transformers masking_utils.sliding_window_overlay);
 * window = 0 is plain causal attention. */
typedef struct {
    int B, T;
    int n_heads;    /* query heads Hq */
    int n_kv_heads; /* key/value heads Hkv; divides n_heads */
    int head_dim;   /* D */
    int window;     /* sliding window, 0 = none */
} hx_attn_shape;

/* out[B, T, Hq, D] = softmax(q k^T / sqrt(D) + causal mask) v per head, with
 * q [B, T, Hq, D] and k, v [B, T, Hkv, D] (never expanded to Hq heads).
 * lse [B, Hq, T] receives each query row's logsumexp of its scaled, masked
 * scores (nats) for the backward pass, or NULL for forward-only use; the
 * [T, T] probabilities are never stored (flash-style; the layout of the CUDA
 * tier's lse). Errors: HX_ENOMEM, HX_EINVAL (inconsistent shape). */
int hx_attention_fwd(float *out, float *lse, const float *q, const float *k, const float *v, const hx_attn_shape *s);
/* Backward from dout [B, T, Hq, D], the forward's out and lse: the
 * probabilities are recomputed block by block, P = exp(scale q k^T - lse),
 * and dS = P (dP - D_i) scale with D_i = dout_i . out_i (Dao et al. 2022,
 * FlashAttention, Alg. 4). dq [B, T, Hq, D] and dk, dv [B, T, Hkv, D] are
 * OVERWRITTEN; dk/dv of a KV head is the sum over the query heads of its
 * group (field case C12). Errors: HX_ENOMEM, HX_EINVAL. */
int hx_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                     const float *v, const float *out, const float *lse, const hx_attn_shape *s);

/* ---- swiglu.c: LlamaMLP activation h = silu(gate) * up ---- */

/* h[n] = silu(g) * u with silu(x) = x * sigmoid(x). h may alias neither input. */
void hx_swiglu_fwd(float *h, const float *g, const float *u, long n);
/* dg = dh * u * s * (1 + g (1 - s)), du = dh * silu(g), s = sigmoid(g).
 * OVERWRITES dg and du; dg may alias dh. */
void hx_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, long n);

/* ---- cross_entropy.c: token-level cross-entropy with an ignore index ---- */


/* HF causal-LM label shift (transformers loss_utils.ForCausalLMLoss): the
 * target of position t is labels[t+1] of the same sequence; the last position
 * of every sequence gets ignore_index. targets[B*T] from labels[B*T]; returns
 * the number of targets != ignore_index. */
long hx_shift_labels(int32_t *targets, const int32_t *labels, int B, int T, int ignore_index);

/* *loss_sum = sum over rows i with targets[i] != ignore_index of
 * -log softmax(logits[i])[targets[i]] (nats; exps in fp32, their sum and
 * the log in double).
 * If dlogits is non-NULL it receives d(sum / norm_count)/dlogits:
 * (softmax - onehot) / norm_count on counted rows, 0 on ignored rows, and 0
 * everywhere when norm_count <= 0. The caller chooses norm_count (e.g. the
 * unmasked tokens of the whole global batch, field case C08); an all-ignored
 * batch gives 0 with zero gradient, never NaN. dlogits may alias logits.
 * Errors: HX_EINVAL naming the first row whose target is outside [0, V) and
 * not ignore_index. */
int hx_cross_entropy(const float *logits, const int32_t *targets, int N, int V, int ignore_index, double norm_count,
                     float *dlogits, double *loss_sum);

#endif
