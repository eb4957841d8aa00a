/* The tokenizer of a GGUF file (tokenizer.ggml.* metadata) as a plain
 * struct, and its conversion to and from a Hugging Face tokenizer.json for
 * byte-level BPE (tokenizer.ggml.model "gpt2"). Keys and token types:
 * llama.cpp src/llama-arch.cpp, include/llama.h; pre-tokenizer regexes:
 * llama.cpp src/llama-vocab.cpp (shared/research/gguf-and-tokenizers.md
 * sections 1.8 and 2.7). */
#ifndef HX_DATA_TOKENIZER_GGUF_H
#define HX_DATA_TOKENIZER_GGUF_H

#include <stddef.h>
#include <stdint.h>

/* tokenizer.ggml.token_type values (llama.h llama_token_type). */
enum {
    HX_TOKTYPE_NORMAL = 1,
    HX_TOKTYPE_UNKNOWN = 2,
    HX_TOKTYPE_CONTROL = 3,
    HX_TOKTYPE_USER_DEFINED = 4,
    HX_TOKTYPE_UNUSED = 5,
    HX_TOKTYPE_BYTE = 6,
};

/* Everything malloc'd; free with hx_gguf_vocab_free. */
typedef struct {
    char *model;         /* tokenizer.ggml.model ("gpt2") */
    char *pre;           /* tokenizer.ggml.pre; NULL when absent ("default") */
    int n_tokens;
    char **tokens;       /* byte-level strings ("Ġthe"), id = index */
    int32_t *token_type; /* [n_tokens]; NULL when absent (all normal) */
    int n_merges;
    char **merges;       /* "a b", rank = index */
    int bos_id, eos_id, unk_id, pad_id; /* -1 when absent */
    int add_bos, add_eos;               /* -1 when absent (the pre-tokenizer's default applies) */
} hx_gguf_vocab;

/* Frees every field and zeroes the struct (a zeroed struct is fine). */
void hx_gguf_vocab_free(hx_gguf_vocab *v);

/* Builds a tokenizer.json (malloc'd NUL-terminated text, *len bytes) that
 * hx_tokenizer_load accepts: a BPE model (vocab = every token, merges split
 * at the first space after the first character; ignore_merges for the
 * Llama-3 family), control tokens (type 3) as special added tokens and
 * user-defined ones (type 4) as normal added tokens, the pre-tokenizer of
 * `pre` ("gpt-2"/"gpt2": ByteLevel with the GPT-2 regex; "smollm" and
 * "starcoder": Split(\p{N}) then ByteLevel; "llama-bpe"/"llama3"/"llama-v3"/
 * "falcon3": Split(Llama-3 regex) then ByteLevel without regex; "qwen2"/
 * "deepseek-r1-qwen": the same with \p{N} for \p{N}{1,3} (the NFC
 * normalizer of Qwen2 is left out: the loader takes none); "default" or
 * none: Splits on [\p{P}\$\+<=>\^~\|]+, the GPT-2 regex, \p{N}+ and
 * [0-9][0-9][0-9]), a TemplateProcessing post-processor adding BOS (EOS)
 * when add_bos (add_eos) is set (llama.cpp's default: set for the Llama-3
 * family only), else ByteLevel, and the ByteLevel decoder. Errors:
 * HX_EFORMAT naming the field (model other than "gpt2", in particular
 * SentencePiece "llama"; unknown pre; a duplicate token; a merge without a
 * space; a bos/eos id outside the vocabulary), HX_ENOMEM. */
int hx_gguf_vocab_to_json(const hx_gguf_vocab *v, char **json, size_t *len);

/* The reverse: reads a byte-level BPE tokenizer.json (one hx_tokenizer_load
 * accepts) into `v` for a GGUF file: tokens by id (ids missing from both
 * the vocab and the added tokens become "[PAD<id>]" of type unused, as
 * llama.cpp's converter writes them), special added tokens as control,
 * other added tokens as user-defined, merges as "a b", `pre` recognised by
 * comparing the pre-tokenizer with the ones hx_gguf_vocab_to_json builds,
 * add_bos/bos_id from a TemplateProcessing post-processor. bos/eos/unk/pad
 * ids are left -1 except a template's BOS/EOS. Errors: those of
 * hx_tokenizer_load, HX_EFORMAT when the pre-tokenizer matches none of the
 * known ones (naming it), HX_ENOMEM. */
int hx_gguf_vocab_from_json(const char *path, hx_gguf_vocab *v);

#endif
