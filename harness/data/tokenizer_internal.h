/* Internal state of the byte-level BPE tokenizer shared by tokenizer_*.c:
 * hash maps (byte strings -> id, 64-bit keys -> value), the GPT-2 byte<->unicode
 * table, the pre-tokenizer pipeline, and the hx_tokenizer struct itself. Not
 * part of the public API. */
#ifndef HX_DATA_TOKENIZER_INTERNAL_H
#define HX_DATA_TOKENIZER_INTERNAL_H

#include "data/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

/* Pre-tokenization regexes (HF tokenizers byte_level.rs; Meta Llama-3 tiktoken pat_str). */
#define HX_GPT2_REGEX "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define HX_LLAMA3_REGEX                                                                           \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

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

/* ---- pre-tokenizer pipeline ---- */

typedef enum { HX_PRE_SPLIT, HX_PRE_BYTELEVEL } hx_pre_kind;

typedef struct {
    hx_pre_kind kind;
    int add_prefix_space; /* ByteLevel */
    pcre2_code *re;       /* Split regex, or ByteLevel GPT-2 regex when use_regex; NULL otherwise */
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

/* Runs the pipeline on a segment of valid UTF-8. */
int hx_pretok_run(const hx_pretok *p, const char *s, size_t len, hx_pretok_cb cb, void *ctx);
void hx_pretok_free(hx_pretok *p);

/* Splits `text` on added-token occurrences (leftmost, longest first), calling
 * `seg` for plain segments (id -1) and added tokens (their id). */
typedef struct {
    char **content;
    size_t *len;
    int32_t *id;
    int *special;
    int n;
    uint8_t first[256]; /* 1 if some added token starts with this byte */
    int *order;         /* indices sorted by length, longest first */
} hx_added;

typedef int (*hx_added_cb)(void *ctx, const char *s, size_t len, int32_t id);
int hx_added_split(const hx_added *a, const char *text, size_t len, hx_added_cb cb, void *ctx);
void hx_added_free(hx_added *a);
/* Builds the first-byte table and length order after content is filled. */
int hx_added_index(hx_added *a);

/* ---- the tokenizer ---- */

struct hx_tokenizer {
    /* model */
    hx_strmap vocab;      /* raw bytes -> id (byte-level tokens only) */
    char **id_bytes;      /* id -> raw bytes (NULL for ids not in model.vocab) */
    uint32_t *id_len;
    uint8_t *id_special;  /* id -> 1 for special added tokens (skipped by decode with skip_special) */
    int n_ids;            /* max id + 1 over model vocab and added tokens */
    int32_t byte_id[256]; /* id of each single byte, -1 if absent */
    hx_u64map merges;     /* (left<<32|right) -> (rank<<32 | new id) */
    int ignore_merges;
    int32_t unk_id;       /* -1 if none */
    /* pipeline */
    hx_added added;
    hx_pretok pre;
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
