/* Loading and saving a whole model as a Hugging Face directory
 * (config.json + safetensors), with the tied-embedding policy of field case C11. */
#ifndef HX_MODEL_WEIGHTS_H
#define HX_MODEL_WEIGHTS_H

#include "model/config.h"
#include "model/model.h"
#include "model/safetensors.h"

#include <stdint.h>
#include <stdio.h>

/* Reads `path` (a config.json) into `cfg`, applying the HF defaults
 * (num_key_value_heads = num_attention_heads, head_dim = hidden/heads only when
 * the key is absent, ...). Errors name the file and field.
 * Accepted: model_type "llama"/"mistral" (or architectures
 * LlamaForCausalLM/MistralForCausalLM). Defaults as transformers 5.24
 * LlamaConfig/MistralConfig: num_key_value_heads absent -> num_attention_heads
 * (Mistral: 8) and null -> num_attention_heads; head_dim absent or null ->
 * hidden_size/num_attention_heads, an explicit value always wins;
 * rms_norm_eps 1e-6; rope_theta 10000; max_position_embeddings 2048 (Mistral
 * 131072); tie_word_embeddings false; bos/eos 1/2 when absent, -1 when null,
 * the first id when a list; Mistral sliding_window 4096 when absent, 0 when
 * null. RoPE from rope_parameters (transformers 5) or rope_scaling (4), type
 * key rope_type or type: "default" or "llama3" (factor, low_freq_factor,
 * high_freq_factor, original_max_position_embeddings all required); any
 * other type is HX_EFORMAT. rope_theta: top level or in rope_parameters; a
 * null rope_theta with none in rope_parameters is an error.
 * Deviations: the shape fields (vocab_size, hidden_size, intermediate_size,
 * num_hidden_layers, num_attention_heads) are required, and hidden_act other
 * than silu, attention_bias/mlp_bias true, and heterogeneous layers (a
 * non-empty per_layer_config or block_configs) are refused naming the field. Then
 * hx_config_validate (error prefixed with the path). Errors: HX_EIO (cannot
 * open), HX_EFORMAT (JSON or field), HX_EINVAL (inconsistent config). */
int hx_config_load(const char *path, hx_config *cfg);
/* Writes `cfg` as config.json, atomically, with sorted keys: architectures,
 * model_type, all sizes, head_dim always explicit, rope_theta at top level,
 * rope_scaling (llama3 block, or null), tie_word_embeddings, bos/eos (null
 * when -1), sliding_window for Mistral, and torch_dtype plus dtype naming
 * `dtype` (float32/bfloat16) so transformers 4.x and 5.x both load it.
 * hx_config_save writes dtype float32. Errors: HX_EINVAL (invalid cfg),
 * HX_EIO, HX_ENOSPC. */
int hx_config_save_as(const char *path, const hx_config *cfg, hx_dtype dtype);
int hx_config_save(const char *path, const hx_config *cfg);

/* The same config.json content (dtype float32) as one compact JSON string
 * with sorted keys, malloc'd (free with free()); NULL when out of memory.
 * Used to record configs as HDF5 attributes. */
char *hx_config_json(const hx_config *cfg);

/* The loader's tensor check, on its own (hx_model_load and `harness
 * inspect` both call it): every tensor that a model of config `c` needs
 * must be in `st` with dtype F32, BF16 or F16 and exactly the shape the
 * config implies (q_proj rows = num_attention_heads*head_dim, k/v rows =
 * num_key_value_heads*head_dim, never hidden/heads; C02), a tied model's
 * stored lm_head.weight included; nothing else may be there but
 * "*.rotary_emb.inv_freq". Reads no data. When `report` is not NULL every
 * contradiction is also written to it as one line ("  <file>: tensor '<name>'
 * has shape [a, b] but the config implies [c, d]", "  unexpected tensor
 * '<name>'", "  missing tensors: ..."). Returns HX_OK or HX_EFORMAT with
 * `dir` and, in this order of precedence: every dtype/shape contradiction
 * (as many as fit in the message, then "and more") with the config's
 * sizes; the missing tensors; the unexpected ones. HX_ENOMEM. */
int hx_weights_check(const char *dir, const hx_st *st, const hx_config *c, FILE *report);

/* Loads config.json and the safetensors weights (F32, BF16 or F16; single
 * file or sharded) of HF model directory `dir` into a freshly allocated `m`
 * (free with hx_model_free). Every tensor is checked against the config
 * first (hx_weights_check: a shape mismatch is HX_EFORMAT naming the file,
 * the tensor and both shapes; missing and unexpected tensors are listed;
 * "*.rotary_emb.inv_freq" buffers are ignored). Tied embeddings (field case
 * C11): with tie_word_embeddings true, lm_head aliases embed_tokens; if the
 * file also holds lm_head.weight it is shape-checked and, when it differs,
 * a warning naming both tensors and the max |difference| goes to stderr and
 * embed_tokens is kept (what transformers' tie_weights does). Untied without
 * lm_head.weight is an error. Every weight must be finite after conversion
 * to fp32: a NaN or Inf is HX_ENAN "<file>: tensor '<name>': element <i> is
 * nan". On error `m` is left zeroed. */
int hx_model_load(const char *dir, hx_model *m);

/* Writes `m` to `dir` (created if needed): the safetensors (in HF tensor
 * order, sharded above max_shard_bytes, 0 = one file) in `dtype` (HX_DT_F32,
 * or HX_DT_BF16 by round-to-nearest-even), then config.json via
 * hx_config_save_as (last, so a config means complete weights). A tied
 * lm_head is not written. Errors: HX_EINVAL (dtype), HX_ENOMEM, HX_EIO,
 * HX_ENOSPC. */
int hx_model_save(const char *dir, const hx_model *m, hx_dtype dtype, uint64_t max_shard_bytes);

#endif
