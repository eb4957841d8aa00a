/* BPE tokenizer compatible with Hugging Face tokenizer.json: load, encode,
 * decode, save, and a byte-level BPE trainer. Loads the HF tokenizers pipeline
 * for BPE models: byte-level ones (GPT-2, Llama-3, Qwen2, SmolLM) and
 * SentencePiece-style ones (Llama-2, Mistral, Gemma: Metaspace or Prepend/
 * Replace normalizers, byte_fallback). */
#ifndef HX_DATA_TOKENIZER_H
#define HX_DATA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct hx_tokenizer hx_tokenizer;

/* Loads a tokenizer.json. Token ids must lie in [0, 2^24 - 1]. Supported
 * (semantics of HF tokenizers 0.22/0.23, /work/shared/research/
 * gguf-and-tokenizers.md part 2):
 *   normalizer     null, Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip,
 *                  Prepend, Replace (String or Regex pattern)
 *   pre_tokenizer  null, Sequence, ByteLevel (add_prefix_space, use_regex;
 *                  must be last), Split (String/Regex, every behavior, invert),
 *                  Digits, Metaspace, Punctuation, Whitespace, WhitespaceSplit
 *   model          BPE: merges as "a b" or ["a","b"], byte_fallback, unk_token,
 *                  fuse_unk, ignore_merges, continuing_subword_prefix,
 *                  end_of_word_suffix; dropout null or 0
 *   added_tokens   special, normalized, lstrip, rstrip, single_word
 *   post_processor null, TemplateProcessing (single), ByteLevel, Sequence
 *   decoder        null, Sequence, ByteLevel, Metaspace, ByteFallback, Fuse,
 *                  Replace, Strip
 * Vocabulary strings are taken back to bytes (GPT-2 byte-level alphabet) only
 * when the pre-tokenizer has a ByteLevel step. Errors: HX_EIO, HX_EFORMAT
 * (names the file and the JSON field path of anything else: Unigram,
 * WordPiece, WordLevel, dropout, unknown types), HX_ENOMEM. */
int hx_tokenizer_load(const char *path, hx_tokenizer **out);
void hx_tokenizer_free(hx_tokenizer *t);

/* Encodes UTF-8 text of `len` bytes as HF `encode` does: non-normalized added
 * tokens are split off the raw text, each remaining piece is normalized and
 * split on the normalized added tokens, pre-tokenized, and BPE-encoded. With
 * add_special, the post-processor's special tokens (e.g. BOS) are added as
 * HF `encode(add_special_tokens=True)` does. *ids is malloc'd (caller frees),
 * *n its length in tokens. HF takes a str, so invalid UTF-8 has no HF
 * counterpart: it is refused here. Errors: HX_EINVAL (invalid UTF-8, with the
 * byte offset), HX_ENOMEM. */
int hx_tokenizer_encode(const hx_tokenizer *t, const char *text, size_t len, int add_special, int32_t **ids,
                        size_t *n);

/* Decodes ids as HF `decode` does: the token texts (special tokens dropped
 * with skip_special) go through the decoder chain and are concatenated (joined
 * with " " when there is no decoder). Bytes that do not form UTF-8 after the
 * ByteLevel decoder become U+FFFD (Rust from_utf8_lossy); an invalid
 * ByteFallback group becomes one U+FFFD per byte. *text is malloc'd and
 * NUL-terminated; *len in bytes. Errors: HX_EINVAL (an id that is not a token
 * of this tokenizer), HX_ENOMEM. */
int hx_tokenizer_decode(const hx_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **text,
                        size_t *len);

int hx_tokenizer_vocab_size(const hx_tokenizer *t);
int hx_tokenizer_bos_id(const hx_tokenizer *t); /* -1 when none */
int hx_tokenizer_eos_id(const hx_tokenizer *t); /* -1 when none */
/* 1 if encode(add_special=1) already prepends BOS (field case C10). */
int hx_tokenizer_adds_bos(const hx_tokenizer *t);
/* SHA-256 (64 hex chars) of the tokenizer.json bytes it was loaded from. */
const char *hx_tokenizer_sha256(const hx_tokenizer *t);

/* Id of a token given its text: an added token's content, or a model token's
 * key as encode looks it up: raw bytes for byte-level vocabularies (e.g.
 * " the"), else the vocabulary text (e.g. "\u2581the", "<0x0A>"). -1 when absent. */
int hx_tokenizer_token_id(const hx_tokenizer *t, const char *text);

/* Writes the tokenizer.json text this tokenizer was built from (loaded, or
 * produced by the trainer) to `path` atomically; Tokenizer.from_file of HF
 * tokenizers loads it and encodes identically. Errors: HX_EIO, HX_ENOSPC. */
int hx_tokenizer_save(const hx_tokenizer *t, const char *path);

/* ---- training (streaming byte-level BPE trainer) ----
 *
 * Usage: hx_bpe_trainer_new, then hx_bpe_trainer_add for each chunk of text
 * (chunks should end at document or line boundaries: a pre-token never spans
 * two chunks), then hx_bpe_trainer_finish. Memory is one hash entry (bytes +
 * count) per distinct pre-token, independent of the text size.
 *
 * Algorithm (Sennrich et al. 2016, "Neural Machine Translation of Rare Words
 * with Subword Units", sec. 3.2, as in HF tokenizers' BpeTrainer): the text is
 * split by the pre-tokenizer regex, special-token occurrences removed, and
 * distinct pre-tokens counted. The base vocabulary is the 256 bytes (ids 0..255
 * in byte order, as GPT-2 byte-level characters). Then, repeatedly, the most
 * frequent adjacent pair (summed over words x word count) is merged into a new
 * token with the next id; pair counts are updated incrementally only in the
 * words that contain the pair. Ties: equal counts are broken by the smaller
 * left id, then the smaller right id (deterministic for a given input).
 * Training stops at vocab_size tokens or when the best pair occurs fewer than
 * min_frequency times. Special tokens get the ids after the last merge (as
 * Llama 3 puts them after its base vocabulary), in the order given. */
typedef struct hx_bpe_trainer hx_bpe_trainer;

typedef struct {
    int min_frequency;     /* pairs seen fewer times are not merged; 0 means 2 */
    const char *pattern;   /* pre-tokenizer regex (PCRE2 syntax); NULL = Llama-3 (HX_TOKENIZER_LLAMA3_REGEX) */
    const char *bos_token; /* special token prepended by the TemplateProcessing post-processor; NULL = none */
} hx_bpe_train_opts;

/* Regex of Llama 3 (Meta tiktoken pat_str), the trainer's default pre-tokenizer. */
extern const char *const HX_TOKENIZER_LLAMA3_REGEX;

/* vocab_size counts base bytes, merges and special tokens; it must be at
 * least 256 + n_special. bos_token must be one of special_tokens.
 * Errors: HX_EINVAL, HX_ENOMEM. */
int hx_bpe_trainer_new(int vocab_size, const char *const *special_tokens, int n_special,
                       const hx_bpe_train_opts *opts, hx_bpe_trainer **out);
/* Counts the pre-tokens of `len` bytes of UTF-8 text. Errors: HX_EINVAL
 * (invalid UTF-8, with the byte offset within this chunk), HX_ENOMEM. */
int hx_bpe_trainer_add(hx_bpe_trainer *tr, const char *text, size_t len);
/* Runs the merges and builds the tokenizer (pre_tokenizer Sequence[Split(regex,
 * Isolated), ByteLevel(use_regex=false)], BPE model, special added tokens,
 * TemplateProcessing "<bos> $A" when bos_token is set, ByteLevel decoder).
 * The trainer can then only be freed. Errors: HX_EINVAL (no text), HX_ENOMEM. */
int hx_bpe_trainer_finish(hx_bpe_trainer *tr, hx_tokenizer **out);
void hx_bpe_trainer_free(hx_bpe_trainer *tr);

/* Trains a tokenizer of `vocab` tokens (special tokens and opts as
 * hx_bpe_trainer_new) on the documents of `files` (any ingest input,
 * data/ingest.h; JSONL text in field text_field, NULL: "text"), one chunk per
 * document, writes it to `out` (hx_tokenizer_save) and prints the vocabulary
 * size, bytes, time and SHA-256. Errors: those of ingestion (file:line
 * named), training and saving. */
int hx_bpe_train_files(int vocab, const char *out, const hx_bpe_train_opts *opts, const char *const *special,
                       int n_special, const char *text_field, const char *const *files, int n_files);

#endif
