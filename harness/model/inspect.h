/* What a model directory or safetensors file holds (config summary, parameter counts, tensor table). */
#ifndef HX_MODEL_INSPECT_H
#define HX_MODEL_INSPECT_H

#include <stdio.h>

/* Writes the report for `path` to `out`. `path` is a Hugging Face model
 * directory (config.json + safetensors: config summary, parameter count
 * total and non-embedding, tensor table), or a .safetensors file or a
 * model.safetensors.index.json (tensor table and parameter count only).
 * Parameter counts are element counts summed over the stored tensors
 * (a tied lm_head that is not stored counts once); non-embedding excludes
 * model.embed_tokens.weight and lm_head.weight. Tensors are listed by name
 * in natural order (layer 2 before layer 10). With `json`, one JSON object:
 * {"path", "config"?: {...}, "parameters": {"total", "non_embedding"},
 *  "tensors": [{"name", "dtype", "shape", "file"}]}.
 * For a directory, after the report, every tensor is checked against the
 * config with the loader's hx_weights_check (text mode: a "tensors against
 * the config:" section listing each mismatch, or "ok"). Errors: those of
 * hx_config_load and hx_st_open, and HX_EFORMAT from hx_weights_check (the
 * report is still written). */
int hx_inspect(const char *path, int json, FILE *out);

#endif
