/* Loading and saving a whole model as a Hugging Face directory
 * (config.json + safetensors), with the tied-embedding policy of field case C11. */
#ifndef HX_MODEL_WEIGHTS_H
#define HX_MODEL_WEIGHTS_H

#include "model/config.h"
#include "model/model.h"
#include "model/safetensors.h"

#include <stdint.h>

/* Reads `path` (a config.json) into `cfg`, applying the HF defaults
 * (num_key_value_heads = num_attention_heads, head_dim = hidden/heads only when
 * the key is absent, ...). Errors name the file and field. */
int hx_config_load(const char *path, hx_config *cfg);
/* Writes `cfg` as config.json (head_dim always explicit), atomically. */
int hx_config_save(const char *path, const hx_config *cfg);

/* Loads config.json and the safetensors weights of HF model directory `dir`
 * into a freshly allocated `m`. Every shape is checked against the config
 * (heads·head_dim, never hidden/heads). */
int hx_model_load(const char *dir, hx_model *m);

/* Writes `m` to `dir` (created if needed): config.json and safetensors in
 * `dtype` (HX_DT_F32 or HX_DT_BF16), sharded above max_shard_bytes (0 = one
 * file). A tied lm_head is not written. */
int hx_model_save(const char *dir, const hx_model *m, hx_dtype dtype, uint64_t max_shard_bytes);

#endif
