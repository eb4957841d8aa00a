/* The FLOP model (see flops.h). */
#include "model/flops.h"

#include "model/model.h" // defines: hx_config_param_count

#include <string.h>

/* Nemotron's MLP is not gated (up and down projections only). */
static int mlp_matrices(const hx_config *c) { return strcmp(c->model_type, "nemotron") ? 3 : 2; }

size_t hx_plan_param_count(const hx_config *c)
{
    return hx_config_param_count(c) -
           (size_t)(3 - mlp_matrices(c)) * c->num_hidden_layers * c->hidden_size * c->intermediate_size;
}

double hx_flops_forward_per_token(const hx_config *c, int seq_len)
{
    double h = c->hidden_size, q = (double)c->num_attention_heads * c->head_dim;
    double kv = (double)c->num_key_value_heads * c->head_dim, f = c->intermediate_size, L = c->num_hidden_layers;
    double n_mm = L * (2 * h * q + 2 * h * kv + mlp_matrices(c) * h * f) + (double)c->vocab_size * h;
    return 2 * n_mm + 2 * L * q * (seq_len + 1);
}
