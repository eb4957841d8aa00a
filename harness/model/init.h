/* Deterministic random initialisation of a model's parameters. */
#ifndef HX_MODEL_INIT_H
#define HX_MODEL_INIT_H

#include "model/model.h"

#include <stdint.h>

/* Standard deviation of the normal initialisation: transformers'
 * LlamaConfig.initializer_range default. */
#define HX_INIT_STD 0.02

/* Fills `m` as transformers' LlamaPreTrainedModel._init_weights does:
 *   embed_tokens, q/k/v/o_proj, gate/up/down_proj, lm_head: N(0, HX_INIT_STD^2);
 *   input_layernorm, post_attention_layernorm, norm: ones.
 * Deterministic: the generator seeded with `seed` is forked once per tensor,
 * stream = the tensor's index in hx_model_params order, and each tensor is
 * filled row-major, so a value depends only on (seed, tensor index, position)
 * and not on thread count or on other tensors' sizes. A tied lm_head shares
 * embed_tokens' values. Errors: HX_ENOMEM. */
int hx_model_init_random(hx_model *m, uint64_t seed);

#endif
