/* The seam between the stages and a compute backend. The trainer,
 * importance, distillation and evaluation reach the engine only through this
 * header: the model's weights (hx_model, model/model.h), the workspace and
 * the forward and backward passes (hx_workspace, hx_forward, hx_backward,
 * model/forward.h), the optimizer step (hx_adamw, model/optim.h), and the
 * losses below. The CPU backend implements them today (model/forward.c,
 * model/optim.c, model/losses.c over kernels/cpu). The CUDA tier
 * (model/device.h, hx_dmodel) keeps a model, its optimizer and its losses on
 * one GPU and is driven by the same stages when a run's device is cuda. tests/check-floors.sh refuses a
 * stage file that includes a kernel header or one of the headers above
 * directly. */
#ifndef HX_MODEL_ENGINE_H
#define HX_MODEL_ENGINE_H

#include "core/labels.h"   // defines: HX_IGNORE_INDEX
#include "model/device.h"  // defines: hx_device, hx_dmodel (the CUDA tier)
#include "model/forward.h" // defines: hx_workspace, hx_forward, hx_backward, hx_backward_ex
#include "model/model.h"   // defines: hx_model, hx_param
#include "model/optim.h"   // defines: hx_adamw, hx_adamw_step

#include <stddef.h>
#include <stdint.h>

/* Token-level cross-entropy of logits [N, V] (row-major) against targets
 * [N]: *loss_sum = sum over rows with targets[i] != ignore_index of
 * -log softmax(logits[i])[targets[i]] in nats. With dlogits non-NULL it
 * receives d(sum / norm_count)/dlogits ((softmax - onehot) / norm_count on
 * counted rows, 0 elsewhere; 0 everywhere when norm_count <= 0; it may alias
 * logits). The caller chooses norm_count (the unmasked tokens of the global
 * batch, field case C08). Errors: HX_EINVAL naming the first row whose
 * target is outside [0, V) and not ignore_index. */
int hx_lm_loss(const float *logits, const int32_t *targets, int N, int V, int ignore_index, double norm_count,
               float *dlogits, double *loss_sum);

/* Logit distillation loss.
 *   student [N, Vs] and teacher [N, Vt] logits, row-major (N tokens).
 *   The divergence is taken over the shared first V = min(Vs, Vt) ids, both
 *   distributions renormalised over them (field case C07: a padded vocabulary);
 *   student logits >= V get zero gradient. Callers must check that the two
 *   tokenizers agree on the shared ids.
 *   mask [N] (NULL = all counted): 1 where the token counts.
 *   Forward KL(p_t || p_s) = sum_v p_t (log p_t - log p_s), or reverse KL(p_s || p_t)
 *   with `reverse`; p = softmax(z / tau); each token's divergence is scaled by
 *   tau^2 (Hinton et al. 2015, as ModelOpt's LogitsDistillationLoss) so gradient
 *   magnitudes do not shrink with tau.
 *   Returns sum over counted tokens / norm_count in nats (0 when norm_count == 0;
 *   NAN on allocation failure). One exp per logit and distribution.
 *   dstudent [N, Vs] (NULL to skip) is overwritten with d(loss)/d(student) * scale;
 *   it may be `student` itself (each row is read before it is written).
 *   Deterministic for a fixed thread count. */
double hx_kd_logits_loss(const float *student, int Vs, const float *teacher, int Vt, int N, const uint8_t *mask,
                         double tau, int reverse, double norm_count, float *dstudent, float scale);

/* The teacher's top-k logits for the cached top-k KL (hx_kd_topk_loss): per
 * row n of teacher [N, Vt], the k largest of its first V ids (V <= Vt, the
 * vocabulary shared with the student, C07) in descending order into
 * ids [N, k] and vals [N, k] (raw logits), and lse[n] = logsumexp of those V
 * logits divided by tau (nats), so that p_i = exp(vals_i / tau - lse) and the
 * mass outside the k ids is 1 - sum p_i. Returns 0, or -1 when k is outside
 * [1, V] or V > Vt. */
int hx_kd_topk_extract(const float *teacher, int Vt, int V, int N, int k, double tau, int32_t *ids, float *vals,
                       float *lse);

/* Top-k logit distillation (ModelOpt's logit_kl_topk, with the remaining
 * mass kept as one bucket): per counted token, the forward KL at temperature
 * tau between k + 1 buckets, the teacher's k ids and "the rest",
 *   KL = sum_i p_i log(p_i / q_i) + p_r log(p_r / q_r),
 * p from the cached (ids, vals, lse) of hx_kd_topk_extract, q = softmax(s/tau)
 * of the student's logits [N, Vs] (the whole vocabulary), p_r = 1 - sum p_i,
 * q_r = 1 - sum q_i; scaled by tau^2 like hx_kd_logits_loss. With k equal to
 * the vocabulary it is that full KL. Returns sum / norm_count (nats; NAN on
 * allocation failure); dstudent [N, Vs] (NULL to skip; may be `student`) is
 * overwritten with d(loss)/d(student) * scale = tau (q_j - t_j) / norm_count,
 * t_j = p_j on the k ids and p_r q_j / q_r elsewhere. */
double hx_kd_topk_loss(const float *student, int Vs, const int32_t *ids, const float *vals, const float *lse, int k,
                       int N, const uint8_t *mask, double tau, double norm_count, float *dstudent, float scale);

/* Intermediate-state loss L_is through a learned linear map:
 *   u = h_s W^T with h_s [N, ds] student states, W [dt, ds], h_t [N, dt] teacher
 *   states; loss = sum over counted tokens of (1 - cos(u_n, h_t,n)) / norm_count.
 *   Cosine is taken with norms clamped below by 1e-8.
 *   dh_s [N, ds] and dW [dt, ds] (either may be NULL) are ACCUMULATED with
 *   d(loss)/d(.) * scale (use scale = alpha for L = L_logits + alpha * L_is).
 *   Errors: none (returns the loss); allocation failure returns NAN. */
double hx_kd_cosine_loss(const float *h_s, int ds, const float *W, const float *h_t, int dt, int N,
                         const uint8_t *mask, double norm_count, float *dh_s, float *dW, float scale);

#endif
