/* Knowledge-distillation losses (Minitron NeurIPS 2024 §3): KL divergence
 * between teacher and student logits at temperature tau, and the cosine loss
 * between intermediate hidden states through a learned linear map, with
 * their gradients. All losses are sums over counted tokens divided by a
 * caller-supplied count, so a trainer can normalise over the unmasked tokens
 * of the whole global batch (field case C08). */
#ifndef HX_TRAIN_KD_H
#define HX_TRAIN_KD_H

#include <stddef.h>
#include <stdint.h>

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

/* Intermediate-state loss L_is through a learned linear map:
 *   u = h_s W^T with h_s [N, ds] student states, W [dt, ds], h_t [N, dt] teacher
 *   states; loss = sum over counted tokens of (1 - cos(u_n, h_t,n)) / norm_count.
 *   Cosine is taken with norms clamped below by 1e-8.
 *   dh_s [N, ds] and dW [dt, ds] (either may be NULL) are ACCUMULATED with
 *   d(loss)/d(.) * scale (use scale = alpha for L = L_logits + alpha * L_is).
 *   Errors: none (returns the loss); allocation failure returns NAN. */
double hx_kd_cosine_loss(const float *h_s, int ds, const float *W, const float *h_t, int dt, int N,
                         const uint8_t *mask, double norm_count, float *dh_s, float *dW, float scale);

/* Hidden states compared by L_is (NeurIPS 2024 App. A.6: "always post
 * LayerNorm"), for 0-based layer l of a model with L layers:
 *   HX_KD_BLOCK_OUTPUT  the output of block l as seen through a norm: layer
 *                       l+1's input_layernorm output, or the final norm
 *                       output when l = L-1;
 *   HX_KD_EMBEDDING     the embedding output through layer 0's
 *                       input_layernorm (l ignored);
 *   HX_KD_MLP_INPUT     layer l's post_attention_layernorm output. */
typedef enum { HX_KD_BLOCK_OUTPUT = 0, HX_KD_EMBEDDING = 1, HX_KD_MLP_INPUT = 2 } hx_kd_state;

/* One student state matched to one teacher state. */
typedef struct {
    hx_kd_state state;
    int teacher_layer, student_layer;
} hx_kd_pair;

/* alpha of L = w_ce·L_CE + L_logits + α·L_is: dynamic (α = L_logits / L_is of
 * each micro-batch, detached) or a constant. */
typedef enum { HX_ALPHA_DYNAMIC = 0, HX_ALPHA_CONST = 1 } hx_alpha_mode;

/* Distillation settings (NeurIPS 2024 §3), one struct from the manifest (which
 * binds to it field by field) to the trainer: the loss of a micro-batch is
 *   w_ce * sum CE + sum tau^2 KL(p_t || p_s)   (reverse KL with reverse_kl)
 *   + alpha * L_is over the n_intermediate state pairs (App. A.6),
 * L_is = sum over pairs of mean over counted tokens of 1 - cos(h_s W^T, h_t). */
typedef struct {
    double temperature;     /* tau (default 1) */
    double w_ce;            /* weight of the CE term next to KL ([P]: 0, the default) */
    int reverse_kl;         /* 1: reverse KL(p_s || p_t) */
    int n_intermediate;     /* state pairs for L_is (0: logits only) */
    hx_kd_pair *intermediate;
    hx_alpha_mode alpha;    /* HX_ALPHA_DYNAMIC: alpha = L_logits / L_is every micro-batch */
    double alpha_value;     /* HX_ALPHA_CONST: the fixed alpha */
} hx_kd_opts;

/* Names indexed by hx_kd_state, NULL-terminated (the manifest's too). */
extern const char *const hx_kd_state_names[];
/* Name of a state kind ("block_output", "embedding", "mlp_input"). */
const char *hx_kd_state_name(hx_kd_state s);

/* Dynamic weight alpha = L_logits / L_is (Minitron §3), 0 when L_is == 0. */
double hx_kd_alpha(double loss_logits, double loss_is);

#endif
