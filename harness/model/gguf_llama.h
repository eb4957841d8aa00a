/* Llama models between GGUF (llama.cpp) and Hugging Face directories:
 * `harness import --gguf` and `harness export --gguf`. Tensor names,
 * metadata keys and the Q/K row permutation follow llama.cpp's
 * convert_hf_to_gguf.py and src/llama-arch.cpp, the config mapping
 * transformers' GGUF_CONFIG_MAPPING["llama"]
 * (shared/research/gguf-and-tokenizers.md sections 1.6-1.8). */
#ifndef HX_MODEL_GGUF_LLAMA_H
#define HX_MODEL_GGUF_LLAMA_H

#include "model/config.h"
#include "model/gguf.h"
#include "model/model.h"
#include "model/safetensors.h"

#include <stdio.h>

/* The llama.cpp name of an HF parameter name ("model.layers.3.self_attn.
 * q_proj.weight" -> "blk.3.attn_q.weight", "model.embed_tokens.weight" ->
 * "token_embd.weight", "model.norm.weight" -> "output_norm.weight",
 * "lm_head.weight" -> "output.weight") into buf. Returns 1, or 0 when the
 * name is not a Llama parameter. */
int hx_gguf_llama_name(const char *hf, char *buf, size_t len);

/* The Q/K row permutation of llama.cpp's converter on a [n_head*head_dim,
 * cols] row-major matrix: GGUF row h*hd + 2i + s holds HF row
 * h*hd + s*hd/2 + i (i < hd/2, s in {0, 1}), i.e. interleaved rotary pairs
 * instead of halves. to_gguf = 1 applies it (HF -> GGUF), 0 undoes it.
 * dst and src must not overlap; head_dim must be even. */
void hx_gguf_permute_qk(float *dst, const float *src, int n_head, int head_dim, int cols, int to_gguf);

/* The HF config of a GGUF file with general.architecture "llama":
 * hidden_size = llama.embedding_length, intermediate_size =
 * feed_forward_length, num_hidden_layers = block_count,
 * num_attention_heads = attention.head_count (a per-layer array is
 * refused), num_key_value_heads = attention.head_count_kv (default
 * head_count), rms_norm_eps = attention.layer_norm_rms_epsilon, rope_theta
 * = rope.freq_base (default 10000), max_position_embeddings =
 * context_length, head_dim = rope.dimension_count or attention.key_length
 * (they must agree; default hidden/heads), vocab_size = llama.vocab_size
 * or the token_embd rows, tie_word_embeddings when output.weight is absent,
 * bos/eos = tokenizer.ggml.bos/eos_token_id (-1 when absent). Refused
 * (HX_EFORMAT naming the key): another architecture, a missing required
 * key, rope scaling other than none, attention.value_length != head_dim.
 * A rope_freqs tensor (Llama 3.1: per-frequency divisors written by
 * llama.cpp's converter for rope_type llama3) becomes rope_type llama3 with
 * factor = its largest value, low_freq_factor 1 and high_freq_factor,
 * original_max_position_embeddings fitted to its smooth band (the llama3
 * formula depends on only those two combinations); factors that the fit
 * does not reproduce within 1e-4, or fewer than two in the smooth band, are
 * HX_EFORMAT. */
int hx_gguf_llama_config(const hx_gguf *g, hx_config *cfg);

/* Converts GGUF `path` into HF directory `out_dir` (created): config.json
 * (hx_gguf_llama_config), model.safetensors in `dtype` (HX_DT_F32 or
 * HX_DT_BF16) via hx_model_save, every tensor dequantised to fp32 (shape
 * checked: GGUF ne [in, out] is row-major [out, in]; q/k un-permuted;
 * non-finite values refused), and tokenizer.json from the tokenizer.ggml.*
 * metadata (data/tokenizer_gguf.h), checked by loading it with
 * hx_tokenizer_load. A tokenizer that cannot be converted (no metadata,
 * SentencePiece, an unknown pre-tokenizer) is not written and the reason is
 * reported; the import still succeeds. A summary (config, tensor types,
 * tokenizer) goes to `report` when not NULL. Errors: those of hx_gguf_open,
 * hx_gguf_llama_config, hx_model_save; HX_EFORMAT for a tensor that is
 * missing, misshapen, of a type that cannot be dequantised, or not a Llama
 * tensor (all named); HX_ENAN; HX_ENOMEM. */
int hx_gguf_import(const char *path, const char *out_dir, hx_dtype dtype, FILE *report);

/* Writes HF model directory `model_dir` (hx_model_load) as GGUF v3 file
 * `out`: general.architecture "llama", general.file_type, the llama.* keys
 * above (plus attention.key_length/value_length = head_dim and vocab_size),
 * general.quantization_version 2 for Q8_0; the tensors under llama.cpp
 * names in HF order with q/k permuted, 2-D weights as `type` (HX_GGML_F32,
 * F16, BF16 or Q8_0; a Q8_0 weight whose row length is not a multiple of 32
 * falls back to F16, reported), 1-D norms as F32; a tied lm_head is not
 * written (llama.cpp reuses token_embd). The tokenizer.ggml.* keys come
 * from model_dir/tokenizer.json when it is byte-level BPE with a
 * pre-tokenizer llama.cpp knows (hx_gguf_vocab_from_json); otherwise they
 * are left out and the reason reported. bos/eos_token_id are the config's,
 * else the tokenizer's. rope_type llama3 adds rope_freqs.weight (F32
 * [head_dim/2], the unscaled over the scaled inverse frequency, as
 * llama.cpp's converter writes it). Refused (HX_EINVAL): a Mistral sliding
 * window. A summary goes to `report` when not NULL. Errors: those of hx_model_load,
 * hx_gguf_write; HX_EINVAL (type). */
int hx_gguf_export(const char *model_dir, const char *out, uint32_t type, FILE *report);

#endif
