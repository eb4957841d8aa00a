/* Knowledge-distillation settings (Minitron NeurIPS 2024 §3): which hidden
 * states L_is compares, the weight alpha, and hx_kd_opts as the manifest binds
 * it and the trainer reads it. The losses (KL of logits at temperature tau,
 * cosine of states through a learned map) are the backend's: model/engine.h. */
#ifndef HX_TRAIN_KD_H
#define HX_TRAIN_KD_H

#include <stddef.h>
#include <stdint.h>

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
    int teacher_bf16;       /* 1: the teacher's forward passes in bf16 (CPUs with AVX512-BF16; model.h) */
    int top_k;              /* > 0: top-k KL against the teacher's k largest logits plus the remaining mass
                               (hx_kd_topk_loss), read from the teacher-logit cache when the trainer has one;
                               0: KL over the whole vocabulary (the paper's choice: K <= 100 hurts, NeurIPS §4) */
} hx_kd_opts;

/* Names indexed by hx_kd_state, NULL-terminated (the manifest's too). */
extern const char *const hx_kd_state_names[];
/* Name of a state kind ("block_output", "embedding", "mlp_input"). */
const char *hx_kd_state_name(hx_kd_state s);

/* Dynamic weight alpha = L_logits / L_is (Minitron §3), 0 when L_is == 0. */
double hx_kd_alpha(double loss_logits, double loss_is);

#endif
