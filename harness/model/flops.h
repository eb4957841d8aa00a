/* The FLOP model of the compute ledger and the plans (Kaplan et al. 2020
 * §2.1 / Chinchilla App. F convention, with the causal mask counted): the
 * parameters that enter matrix products, and the forward FLOPs per token.
 * exp/plan.h states how the runner builds training, KD, importance and
 * evaluation costs from them. */
#ifndef HX_MODEL_FLOPS_H
#define HX_MODEL_FLOPS_H

#include "model/config.h" // defines: hx_config

#include <stddef.h>

/* Parameter count of `c` in elements: hx_config_param_count, with the
 * non-gated MLP of model_type "nemotron" (2·h·f per layer instead of 3·h·f). */
size_t hx_plan_param_count(const hx_config *c);

/* Forward FLOPs per token of `c` at sequence length T:
 *   2 · (L·(2·h·q + 2·h·kv + 3·h·f) + V·h) + 2·L·q·(T+1)
 * (q = heads·head_dim, kv = kv_heads·head_dim; 2·h·f for Nemotron; the LM
 * head counts, the embedding lookup and the norms do not; attention: QKᵀ and
 * A·V over (T+1)/2 positions on average). Training is 3× this per token. */
double hx_flops_forward_per_token(const hx_config *c, int seq_len);

#endif
