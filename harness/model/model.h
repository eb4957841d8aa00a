/* The parameters of a Llama/Mistral-family decoder held in one contiguous
 * fp32 buffer, with named views per tensor in Hugging Face order and layout.
 * A second hx_model with the same config serves as the gradient buffer. */
#ifndef HX_MODEL_MODEL_H
#define HX_MODEL_MODEL_H

#include "cpu/ops.h"
#include "model/config.h"

#include <stddef.h>

/* One decoder layer. Linear weights are row-major [out_features, in_features]
 * exactly as nn.Linear stores them (y = x W^T). */
typedef struct {
    float *input_layernorm;          /* [hidden_size] */
    float *q_proj;                   /* [num_attention_heads*head_dim, hidden_size] */
    float *k_proj;                   /* [num_key_value_heads*head_dim, hidden_size] */
    float *v_proj;                   /* [num_key_value_heads*head_dim, hidden_size] */
    float *o_proj;                   /* [hidden_size, num_attention_heads*head_dim] */
    float *post_attention_layernorm; /* [hidden_size] */
    float *gate_proj;                /* [intermediate_size, hidden_size] */
    float *up_proj;                  /* [intermediate_size, hidden_size] */
    float *down_proj;                /* [hidden_size, intermediate_size] */
} hx_layer;

/* bfloat16 copies of a model's linear weights, packed for forward-only
 * passes (model/bf16.c, kernels/cpu hx_linear_fwd_bf16). */
typedef struct {
    const uint16_t *q_proj, *k_proj, *v_proj, *o_proj, *gate_proj, *up_proj, *down_proj;
} hx_layer_bf16;

typedef struct {
    hx_layer_bf16 *layers;   /* [num_hidden_layers] */
    const uint16_t *lm_head; /* the tied embedding when tie_word_embeddings */
    uint16_t *buf;           /* the one allocation behind them */
} hx_model_bf16;

typedef struct {
    hx_config cfg;
    const hx_model_bf16 *bf16; /* NULL: fp32 everywhere; set (hx_model_bf16_pack): forward passes in
                                  HX_WS_INFER workspaces run their linear layers in bf16 */
    float *embed_tokens; /* [vocab_size, hidden_size] */
    hx_layer *layers;    /* [num_hidden_layers] */
    float *norm;         /* [hidden_size], final RMSNorm */
    float *lm_head;      /* [vocab_size, hidden_size]; == embed_tokens when tied */
    float *data;         /* the one buffer holding every parameter */
    size_t n_floats;     /* length of data (tied lm_head counted once) */
} hx_model;

typedef enum { HX_PARAM_EMBED, HX_PARAM_NORM, HX_PARAM_LINEAR, HX_PARAM_LM_HEAD } hx_param_kind;

/* A named view of one parameter tensor. `name` is the HF state-dict name
 * ("model.layers.3.self_attn.q_proj.weight"); vectors have cols == 0. */
typedef struct {
    char name[96];
    float *data;
    int rows, cols;
    hx_param_kind kind;
    int layer; /* -1 for embedding, final norm and lm_head */
} hx_param;

/* Allocates a zeroed model for `cfg` (validated with hx_config_validate).
 * With tie_word_embeddings, lm_head aliases embed_tokens. Errors: HX_EINVAL,
 * HX_ENOMEM. */
int hx_model_alloc(hx_model *m, const hx_config *cfg);
void hx_model_free(hx_model *m);

/* Binds the named views of a `cfg` model onto `data`, a buffer of
 * hx_config_param_count(cfg) floats in the layout hx_model_alloc uses (never
 * read here: a device buffer works, for offsets). Allocates only m->layers;
 * release it with free(m->layers), not hx_model_free. Errors: HX_EINVAL,
 * HX_ENOMEM. */
int hx_model_view(hx_model *m, const hx_config *cfg, float *data);

/* Packs every linear weight of `m` (the seven projections of each layer and
 * lm_head) as bfloat16 for hx_linear_fwd_bf16 into a fresh *out (about half
 * the fp32 parameter bytes). Set m->bf16 (or a copy's) to it to run
 * forward-only passes (HX_WS_INFER: teacher forwards, importance, eval) in
 * bf16; training passes stay fp32. Errors: HX_EINVAL when this CPU lacks
 * AVX512-BF16 (named), HX_ENOMEM. */
int hx_model_bf16_pack(const hx_model *m, hx_model_bf16 **out);
/* 1 when this CPU runs bf16 forward passes (AVX-512F and AVX512-BF16), so
 * that hx_model_bf16_pack succeeds; 0 otherwise. */
int hx_model_bf16_available(void);
void hx_model_bf16_free(hx_model_bf16 *p);

/* Number of distinct parameter tensors (a tied lm_head is not listed). */
int hx_model_num_params(const hx_config *cfg);

/* Fills `out` (room for hx_model_num_params entries) with views in HF order:
 * embed_tokens, then per layer input_layernorm, q/k/v/o_proj,
 * post_attention_layernorm, gate/up/down_proj, then norm and (untied) lm_head.
 * Returns the number of entries. */
int hx_model_params(const hx_model *m, hx_param *out);

/* The same views (names, shapes, kinds, layers) for a config alone, with
 * data NULL: what a checkpoint of `cfg` must hold. Returns the count. */
int hx_config_params(const hx_config *cfg, hx_param *out);

/* Parameter count in elements (tied embeddings counted once). */
size_t hx_config_param_count(const hx_config *cfg);

/* Whether transformers 5.x loads config `cfg` (it reads it; 4.x loads every
 * valid config). The one place that states the rule: transformers 5
 * LlamaConfig.validate_architecture (checked in 5.24) refuses hidden_size
 * not divisible by num_attention_heads, even with an explicit head_dim
 * (MistralConfig has no such check). Pruned widths can break it, since
 * head_dim never changes. Returns 1 when loadable; 0 otherwise, with a
 * one-line reason in why[0..len) when why is not NULL. */
int hx_config_hf5_loadable(const hx_config *cfg, char *why, size_t len);

/* The RoPE frequencies of `cfg` for the kernels (head_dim, rope_theta, and
 * the llama3 scaling fields when rope_type is HX_ROPE_LLAMA3). */
hx_rope_params hx_config_rope(const hx_config *cfg);

/* Checks internal consistency: positive sizes, num_key_value_heads divides
 * num_attention_heads, head_dim > 0 and even (RoPE). Error HX_EINVAL naming
 * the offending field. */
int hx_config_validate(const hx_config *cfg);

#endif
