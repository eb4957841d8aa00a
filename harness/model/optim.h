/* AdamW with decoupled weight decay over the parameters of an hx_model.
 * The moment buffers m and v are contiguous fp32 arrays laid out exactly like
 * hx_model.data, so element i of m/v belongs to element i of the parameters. */
#ifndef HX_TRAIN_OPTIM_H
#define HX_TRAIN_OPTIM_H

#include "model/model.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double beta1, beta2;  /* moment decay rates, e.g. 0.9 and 0.95 */
    double eps;           /* added to sqrt(v_hat), e.g. 1e-8 */
    double weight_decay;  /* decoupled decay coefficient lambda (multiplied by lr) */
    int decay_norms;      /* 1: RMSNorm weights are decayed too (default 0) */
    int decay_embeddings; /* 1: embed_tokens and an untied lm_head are decayed (default 1) */
} hx_adamw_config;

/* The state of AdamW for one model. `t` counts the updates applied so far
 * (the bias corrections use t+1 on the next update). */
typedef struct {
    hx_adamw_config cfg;
    size_t n;     /* number of parameters (== hx_model.n_floats) */
    float *m, *v; /* first and second moments, [n], zero-initialised */
    uint8_t *decay; /* [n] 1 where weight decay applies (from the parameter kinds) */
    int64_t t;
} hx_adamw;

/* Defaults: beta1 0.9, beta2 0.95, eps 1e-8, weight_decay 0.1, norms not
 * decayed, embeddings decayed (Megatron-LM / Minitron settings). */
hx_adamw_config hx_adamw_defaults(void);

/* Allocates zeroed moments for the parameters of `params` and records which
 * elements are decayed, from the kinds given by hx_model_params: LINEAR always,
 * NORM when cfg.decay_norms, EMBED and LM_HEAD when cfg.decay_embeddings.
 * Errors: HX_EINVAL (betas outside [0,1), eps or weight_decay negative),
 * HX_ENOMEM. */
int hx_adamw_init(hx_adamw *opt, const hx_adamw_config *cfg, const hx_model *params);
void hx_adamw_free(hx_adamw *opt);

/* Applies one update with learning rate `lr` to `params`, given gradients
 * `grads` (an hx_model of the same config; its data is read only). Per element,
 * in this order (torch.optim.AdamW, Loshchilov & Hutter 2019, Algorithm 2):
 *   p <- p * (1 - lr*wd)                      (decayed elements only)
 *   m <- m + (1-beta1) (g - m)               (one fused multiply-add, as torch's lerp_)
 *   v <- beta2 v + (1-beta2) g^2              (fused multiply-add, as addcmul_)
 *   p <- p - lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps)
 * with t the 1-based update count, in fp32 with the scalars rounded once.
 * Matches torch 2.x CPU to within 2e-7 relative per element (fixture test). Elementwise, so the result does not depend
 * on the thread count. Errors: HX_EINVAL when the sizes differ. */
int hx_adamw_step(hx_adamw *opt, hx_model *params, const hx_model *grads, double lr);

/* AdamW over a flat parameter array of n floats outside any hx_model (e.g.
 * the learned map of the intermediate-state KD loss): zeroed moments, every
 * element decayed when `decay` is 1. Errors as hx_adamw_init. */
int hx_adamw_init_flat(hx_adamw *opt, const hx_adamw_config *cfg, size_t n, int decay);

/* The update of hx_adamw_step on params[0..opt->n) with grads[0..opt->n). */
void hx_adamw_step_flat(hx_adamw *opt, float *params, const float *grads, double lr);

#endif
