/* Byte-level BPE tokenizer compatible with Hugging Face tokenizer.json
 * (GPT-2 and Llama-3 families): load, encode, decode, train, save. */
#ifndef HX_DATA_TOKENIZER_H
#define HX_DATA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct hx_tokenizer hx_tokenizer;

/* Loads a tokenizer.json. Errors: HX_EIO, HX_EFORMAT (names the file and the
 * offending field), HX_ENOMEM. */
int hx_tokenizer_load(const char *path, hx_tokenizer **out);
void hx_tokenizer_free(hx_tokenizer *t);

/* Encodes UTF-8 text of `len` bytes. With add_special, the post-processor's
 * special tokens (e.g. BOS) are added as HF `encode(add_special_tokens=True)`
 * does. *ids is malloc'd (caller frees), *n its length in tokens.
 * Errors: HX_EINVAL (invalid UTF-8, with the byte offset), HX_ENOMEM. */
int hx_tokenizer_encode(const hx_tokenizer *t, const char *text, size_t len, int add_special, int32_t **ids,
                        size_t *n);

/* Decodes ids to UTF-8 (special tokens included as their text unless
 * skip_special). *text is malloc'd and NUL-terminated; *len in bytes. */
int hx_tokenizer_decode(const hx_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **text,
                        size_t *len);

int hx_tokenizer_vocab_size(const hx_tokenizer *t);
int hx_tokenizer_bos_id(const hx_tokenizer *t); /* -1 when none */
int hx_tokenizer_eos_id(const hx_tokenizer *t); /* -1 when none */
/* 1 if encode(add_special=1) already prepends BOS (field case C10). */
int hx_tokenizer_adds_bos(const hx_tokenizer *t);
/* SHA-256 (64 hex chars) of the tokenizer.json bytes it was loaded from. */
const char *hx_tokenizer_sha256(const hx_tokenizer *t);

#endif
