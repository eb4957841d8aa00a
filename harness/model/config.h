/* Model configuration of a Llama/Mistral-family decoder, read from and
 * written to Hugging Face config.json (field names as in transformers'
 * LlamaConfig / MistralConfig). */
#ifndef HX_MODEL_CONFIG_H
#define HX_MODEL_CONFIG_H

#include <stdint.h>

/* RoPE frequency scaling. HX_ROPE_LLAMA3 is transformers'
 * `_compute_llama3_parameters` (rope_type "llama3"). */
typedef enum { HX_ROPE_DEFAULT = 0, HX_ROPE_LLAMA3 = 1 } hx_rope_type;

#define HX_MAX_EXTRA_EOS 7

typedef struct {
    char model_type[32];           /* "llama" or "mistral" */
    int vocab_size;
    int hidden_size;               /* d_model, embedding channels */
    int intermediate_size;         /* MLP neurons (SwiGLU width) */
    int num_hidden_layers;
    int num_attention_heads;       /* query heads */
    int num_key_value_heads;       /* KV heads (GQA groups); divides num_attention_heads */
    int head_dim;                  /* explicit; never derived after pruning (field case C02) */
    int max_position_embeddings;
    float rms_norm_eps;
    double rope_theta;
    hx_rope_type rope_type;
    double rope_factor;                 /* llama3: factor */
    double rope_low_freq_factor;        /* llama3: low_freq_factor */
    double rope_high_freq_factor;       /* llama3: high_freq_factor */
    int rope_original_max_position;     /* llama3: original_max_position_embeddings */
    int tie_word_embeddings;       /* 1: lm_head shares embed_tokens */
    int bos_token_id, eos_token_id; /* -1 when absent; eos_token_id is the first of a list */
    int n_extra_eos;               /* further ids of an eos_token_id list (Llama-3 Instruct has 3), */
    int extra_eos[HX_MAX_EXTRA_EOS]; /* written back as the same list */
    int sliding_window;            /* Mistral; 0 = none (full causal attention) */
} hx_config;

#endif
