/* Internal state of the BPE tokenizer shared by tokenizer_*.c: hash maps
 * (byte strings -> id, 64-bit keys -> value), the GPT-2 byte<->unicode table,
 * UTF-8 and Unicode-class helpers, the normalizer, pre-tokenizer, added-token
 * and decoder pipelines, and the hx_tokenizer struct itself. Not part of the
 * public API. */
#ifndef HX_DATA_TOKENIZER_INTERNAL_H
#define HX_DATA_TOKENIZER_INTERNAL_H

#include "data/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

/* Pre-tokenization regexes (HF tokenizers byte_level.rs; Meta Llama-3 tiktoken pat_str). */
#define HX_GPT2_REGEX "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define HX_LLAMA3_REGEX                                                                           \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Longest continuing_subword_prefix / end_of_word_suffix accepted (bytes). */
#define HX_TOKENIZER_MAX_AFFIX 64

/* ---- hash maps (tokenizer_map.c) ---- */

uint64_t hx_hash_bytes(const void *p, size_t n);

/* Open-addressing map from byte strings to int32 values. Keys are copied into
 * an internal arena. */
typedef struct {
    uint32_t *slots; /* 0 = empty, else entry index + 1 */
    size_t cap;      /* power of two */
    size_t n;
    uint64_t *hashes;   /* per entry */
    size_t *key_off;    /* per entry, offset into arena */
    uint32_t *key_len;  /* per entry */
    int32_t *vals;      /* per entry */
    size_t ecap;
    char *arena;
    size_t arena_len, arena_cap;
} hx_strmap;

int hx_strmap_init(hx_strmap *m, size_t expect);
void hx_strmap_free(hx_strmap *m);
void hx_strmap_clear(hx_strmap *m);
/* Returns the entry index of `key` or -1. */
long hx_strmap_find(const hx_strmap *m, const void *key, size_t len);
/* Inserts `key` with `val` if absent; *idx gets the entry index, *added 1 if
 * new. Errors: HX_ENOMEM. */
int hx_strmap_put(hx_strmap *m, const void *key, size_t len, int32_t val, long *idx, int *added);
static inline const char *hx_strmap_key(const hx_strmap *m, long i) { return m->arena + m->key_off[i]; }

/* Open-addressing map from uint64 keys to uint64 values. */
typedef struct {
    uint64_t *keys;
    uint64_t *vals;
    uint8_t *used;
    size_t cap, n;
} hx_u64map;

int hx_u64map_init(hx_u64map *m, size_t expect);
void hx_u64map_free(hx_u64map *m);
/* Pointer to the value of `key`, or NULL. */
uint64_t *hx_u64map_get(const hx_u64map *m, uint64_t key);
/* Pointer to the value of `key`, inserting `init` first if absent. NULL on ENOMEM. */
uint64_t *hx_u64map_upsert(hx_u64map *m, uint64_t key, uint64_t init);

/* ---- byte-level alphabet (tokenizer_pretok.c) ---- */

/* GPT-2 bytes_to_unicode: code point for each byte. */
uint32_t hx_bytelevel_char(uint8_t b);
/* Inverse: byte for a code point, or -1 if not in the alphabet. */
int hx_bytelevel_byte(uint32_t cp);
/* Converts a byte-level token string (UTF-8) to raw bytes in `out` (room for
 * `len` bytes). Returns the byte count, or -1 if a char is outside the alphabet. */
long hx_bytelevel_decode(const char *s, size_t len, uint8_t *out);
/* Appends the byte-level UTF-8 form of raw bytes to a malloc'd NUL-terminated string. */
char *hx_bytelevel_encode(const uint8_t *b, size_t n);

/* Returns the offset of the first invalid UTF-8 byte, or -1 if valid. */
long hx_utf8_invalid_offset(const char *s, size_t len);

/* Decodes one UTF-8 sequence at s[0..len) (assumed valid); returns its length. */
int hx_utf8_next(const uint8_t *s, size_t len, uint32_t *cp);
/* Writes the UTF-8 form of cp to out (room for 4); returns its length. */
int hx_utf8_put(char *out, uint32_t cp);

/* ---- Unicode classes (tokenizer_norm.c, through utf8proc) ---- */

/* Rust char::is_whitespace (Unicode White_Space: Zs, Zl, Zp, U+0009..000D, U+0085). */
int hx_uni_is_space(uint32_t cp);
/* Rust char::is_numeric (general categories Nd, Nl, No). */
int hx_uni_is_numeric(uint32_t cp);
/* HF Punctuation pre-tokenizer: ASCII punctuation or a Unicode P* category. */
int hx_uni_is_punct(uint32_t cp);
/* Rust regex \w (HF single_word): letters, marks, Nd, Nl, connector
 * punctuation and the joiners U+200C/U+200D (categories stand in for the
 * Alphabetic property). */
int hx_uni_is_word(uint32_t cp);

/* ---- growable byte buffer ---- */

typedef struct {
    char *p;
    size_t n, cap;
} hx_buf;

/* Appends n bytes. Errors: HX_ENOMEM. */
int hx_buf_add(hx_buf *b, const void *s, size_t n);

/* Appends `s` with every non-overlapping, non-empty match of `re` (left to
 * right) replaced by `with` (HF normalizers/replace.rs, also the Replace
 * decoder). Errors: HX_EINVAL (match failure), HX_ENOMEM. */
int hx_replace_all(const pcre2_code *re, const char *with, size_t with_len, const char *s, size_t len, hx_buf *out);

/* ---- tokenizer.json helpers (tokenizer_load.c) ---- */

/* The "type" string of a JSON object, or NULL. */
const char *hx_json_type(json_t *o);
/* A boolean member, or dflt when absent or not a boolean. */
int hx_json_bool(json_t *o, const char *key, int dflt);
/* Calls fn(ctx, item, "<field>.<key>[i]", name) for each item of the array
 * member `key` of a Sequence object found at `field`, stopping at an error.
 * Errors: HX_EFORMAT when `key` is not an array, and those of fn. */
typedef int (*hx_json_item_fn)(void *ctx, json_t *item, const char *field, const char *name);
int hx_json_sequence(json_t *seq, const char *key, const char *field, const char *name, hx_json_item_fn fn,
                     void *ctx);
/* Compiles an HF pattern object {"String": s} (literal) or {"Regex": r} found
 * at `field`. Errors: HX_EFORMAT naming `name`: `field`. */
int hx_json_pattern(json_t *pat, const char *field, const char *name, pcre2_code **out);

/* ---- normalizers (tokenizer_norm.c; HF normalizers/) ---- */

typedef enum { HX_NORM_NFC, HX_NORM_NFD, HX_NORM_NFKC, HX_NORM_NFKD, HX_NORM_LOWER, HX_NORM_STRIP,
               HX_NORM_PREPEND, HX_NORM_REPLACE } hx_norm_kind;

typedef struct {
    hx_norm_kind kind;
    int left, right;  /* Strip */
    char *text;       /* Prepend: the prefix; Replace: the content */
    size_t text_len;
    pcre2_code *re;   /* Replace */
} hx_norm_step;

typedef struct {
    hx_norm_step *steps;
    int n;
} hx_norm;

/* Parses a tokenizer.json `normalizer` (null, one normalizer or a Sequence,
 * nested Sequences flattened) into `nm`. Errors: HX_EFORMAT naming `field`
 * under file `name`, HX_ENOMEM. */
int hx_norm_parse(hx_norm *nm, json_t *json, const char *field, const char *name);
/* Normalizes valid UTF-8 s[0..len) into *out (reset first; the result is
 * valid UTF-8). Errors: HX_ENOMEM. */
int hx_norm_apply(const hx_norm *nm, const char *s, size_t len, hx_buf *out);
void hx_norm_free(hx_norm *nm);

/* ---- pre-tokenizer pipeline (tokenizer_pretok.c; HF pre_tokenizers/) ---- */

typedef enum { HX_PRE_SPLIT, HX_PRE_BYTELEVEL, HX_PRE_METASPACE } hx_pre_kind;
/* HF SplitDelimiterBehavior. */
typedef enum { HX_SPLIT_REMOVED, HX_SPLIT_ISOLATED, HX_SPLIT_MERGED_PREV, HX_SPLIT_MERGED_NEXT,
               HX_SPLIT_CONTIGUOUS } hx_split_behavior;
/* What one match is: a regex match, or one character of a class. */
typedef enum { HX_MATCH_REGEX, HX_MATCH_DIGIT, HX_MATCH_PUNCT, HX_MATCH_SPACE, HX_MATCH_CHAR } hx_match_kind;
/* Metaspace prepend_scheme. */
typedef enum { HX_PREPEND_NEVER, HX_PREPEND_FIRST, HX_PREPEND_ALWAYS } hx_prepend_scheme;

typedef struct {
    hx_pre_kind kind;
    hx_match_kind match;
    hx_split_behavior behavior;
    int invert;
    pcre2_code *re;       /* HX_MATCH_REGEX: Split pattern, or the GPT-2 regex of ByteLevel(use_regex); NULL: no split */
    int add_prefix_space; /* ByteLevel */
    uint32_t cp;          /* HX_MATCH_CHAR: the character; Metaspace: the replacement */
    char repl[4];         /* Metaspace replacement, UTF-8 */
    int repl_len;
    hx_prepend_scheme prepend; /* Metaspace */
    int pass;             /* leaves text as it is (ByteLevel without regex or prefix space): skipped */
} hx_pre_step;

typedef struct {
    hx_pre_step *steps;
    int n;
} hx_pretok;

/* Compiles `pattern` with PCRE2_UTF|PCRE2_UCP (+JIT when available); `literal`
 * escapes it (HF Split String pattern). Errors: HX_EFORMAT naming `field`. */
int hx_regex_compile(const char *pattern, int literal, const char *field, pcre2_code **out);

/* Callback for each pre-token (raw UTF-8 bytes). Return <0 to stop. */
typedef int (*hx_pretok_cb)(void *ctx, const char *s, size_t len);

/* Runs the pipeline on a piece of valid UTF-8; at_start: the piece begins at
 * offset 0 of the original text (Metaspace prepend_scheme "first"). */
int hx_pretok_run(const hx_pretok *p, const char *s, size_t len, int at_start, hx_pretok_cb cb, void *ctx);
void hx_pretok_free(hx_pretok *p);

/* ---- added tokens (tokenizer_added.c; HF tokenizer/added_vocabulary.rs) ---- */

enum { HX_ADDED_LSTRIP = 1, HX_ADDED_RSTRIP = 2, HX_ADDED_SINGLE_WORD = 4 };

/* A set of added tokens matched leftmost-longest in a text. */
typedef struct {
    char **content; /* the text matched (normalized form for normalized tokens) */
    size_t *len;
    int32_t *id;
    int *special;
    uint8_t *flags;     /* HX_ADDED_* per token; NULL: none */
    int n;
    uint8_t first[256]; /* 1 if some added token starts with this byte */
    int *order;         /* indices sorted by length, longest first */
} hx_added;

/* Splits `text` on added-token occurrences (leftmost, longest first; a match
 * that fails single_word is skipped; lstrip/rstrip widen a match over
 * adjacent whitespace), calling `seg` for plain segments (id -1) and added
 * tokens (their id, with the swallowed whitespace). */
typedef int (*hx_added_cb)(void *ctx, const char *s, size_t len, int32_t id);
int hx_added_split(const hx_added *a, const char *text, size_t len, hx_added_cb cb, void *ctx);
/* Allocates room for n tokens (content, len, id, special, flags zeroed). Errors: HX_ENOMEM. */
int hx_added_alloc(hx_added *a, size_t n);
void hx_added_free(hx_added *a);
/* Builds the first-byte table and length order after content is filled. */
int hx_added_index(hx_added *a);

/* ---- decoders (tokenizer_decode.c; HF decoders/) ---- */

typedef enum { HX_DEC_BYTELEVEL, HX_DEC_METASPACE, HX_DEC_BYTEFALLBACK, HX_DEC_FUSE, HX_DEC_REPLACE,
               HX_DEC_STRIP } hx_dec_kind;

typedef struct {
    hx_dec_kind kind;
    pcre2_code *re;    /* Replace */
    char *text;        /* Replace: content; Strip, Metaspace: the character (UTF-8) */
    size_t text_len;
    int start, stop;   /* Strip */
    int drop_first;    /* Metaspace: prepend_scheme is not never */
} hx_dec_step;

typedef struct {
    hx_dec_step *steps;
    int n;
    int present; /* 0: no decoder (tokens joined with " ") */
} hx_decoder;

/* Parses a tokenizer.json `decoder` (null, one decoder or a Sequence).
 * Errors: HX_EFORMAT naming the field under file `name`, HX_ENOMEM. */
int hx_decoder_parse(hx_decoder *d, json_t *json, const char *field, const char *name);
void hx_decoder_free(hx_decoder *d);

/* ---- the tokenizer ---- */

struct hx_tokenizer {
    /* model */
    int bytelevel;        /* a ByteLevel pre-tokenizer: vocabulary keys are taken back to raw bytes */
    hx_strmap vocab;      /* encode form (raw bytes if bytelevel, else the token text) -> id */
    char **id_str;        /* id -> token text as in tokenizer.json (NULL for ids not in use) */
    uint32_t *id_len;
    uint8_t *id_special;  /* id -> 1 for special added tokens (skipped by decode with skip_special) */
    int n_ids;            /* max id + 1 over model vocab and added tokens */
    int32_t byte_id[256]; /* id of each one-byte key, -1 if absent */
    int32_t fallback_id[256]; /* id of "<0xXX>" for each byte when byte_fallback, else -1 */
    int byte_fallback, fuse_unk, ignore_merges;
    char *cont_prefix, *word_suffix; /* continuing_subword_prefix / end_of_word_suffix, encode form */
    size_t cont_prefix_len, word_suffix_len;
    hx_u64map merges;     /* (left<<32|right) -> (rank<<32 | new id) */
    int32_t unk_id;       /* -1 if none */
    /* pipeline */
    hx_norm norm;
    hx_added added;       /* matched in the raw text (normalized:false, or no normalizer) */
    hx_added added_norm;  /* matched in each normalized piece (normalized:true), by normalized content */
    hx_pretok pre;
    hx_decoder dec;
    int32_t *prefix, *suffix; /* post-processor ids around a single sequence */
    int n_prefix, n_suffix;
    int32_t bos_id, eos_id;
    /* provenance */
    char *json;      /* the tokenizer.json text it was built from */
    size_t json_len;
    char sha256[65];
    uint64_t gen;    /* unique per instance: keys the per-thread word cache */
};

/* Parses tokenizer.json text; `name` is used in messages (file path).
 * Takes ownership of `json` on success. */
int hx_tokenizer_from_json(char *json, size_t len, const char *name, hx_tokenizer **out);

#endif
