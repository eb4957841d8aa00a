/* Token shards: the on-disk form of a tokenized corpus, written by
 * `harness tokenize` and memory-mapped by the batch loader.
 *
 * File layout (version 1, all integers little-endian):
 *   offset  size  field
 *        0     8  magic "HXSHARD\0"
 *        8     4  version (1)
 *       12     4  token dtype width in bytes: 2 (uint16) when vocab_size <= 65536, else 4 (uint32)
 *       16     8  n_tokens
 *       24     8  n_docs: document boundary tokens in this shard (one per document)
 *       32     4  header_bytes (128): token ids start here
 *       36     4  vocab_size of the tokenizer
 *       40     4  boundary token id
 *       44     4  boundary rule: 0 = EOS after each document, 1 = BOS before each document
 *       48    64  SHA-256 of the tokenizer.json bytes, lowercase hex (no NUL)
 *      112    16  reserved, zero
 *      128     .  n_tokens ids, dtype-wide each
 *
 * Document boundaries: if the tokenizer has an EOS token, every document is
 * followed by EOS; otherwise, if it has a BOS token, every document is
 * preceded by BOS; a tokenizer with neither cannot make shards (HX_EINVAL).
 * Documents are packed back to back and may continue into the next shard.
 * A dataset is an ordered list of shards read as one token stream. */
#ifndef HX_DATA_SHARD_H
#define HX_DATA_SHARD_H

#include <stddef.h>
#include <stdint.h>

#define HX_SHARD_MAGIC "HXSHARD"
#define HX_SHARD_VERSION 1
#define HX_SHARD_HEADER_BYTES 128
#define HX_SHARD_EXT ".hxs"

typedef enum { HX_BOUNDARY_EOS_AFTER = 0, HX_BOUNDARY_BOS_BEFORE = 1 } hx_boundary_rule;

/* Picks the boundary rule from the tokenizer's special ids (-1 = none):
 * EOS after if eos_id >= 0, else BOS before if bos_id >= 0.
 * Errors: HX_EINVAL when both are -1. */
int hx_shard_boundary(int eos_id, int bos_id, hx_boundary_rule *rule, uint32_t *token);

typedef struct hx_shard_writer hx_shard_writer;

/* Starts writing shards "<dir>/<prefix>-00000.hxs", "-00001", ... each
 * holding at most max_tokens tokens (> 0). Each shard is written to a
 * temporary file in `dir` and renamed into place when complete, so a
 * reader never sees a partial shard. `dir` is created if missing; if it
 * already holds "<prefix>-*.hxs" files the writer refuses (HX_EINVAL), as
 * stale shards would join the dataset. tokenizer_sha256: 64 hex chars.
 * Errors: HX_EINVAL, HX_EIO, HX_ENOMEM. */
int hx_shard_writer_open(const char *dir, const char *prefix, const char *tokenizer_sha256, uint32_t vocab_size,
                         hx_boundary_rule rule, uint32_t boundary_token, uint64_t max_tokens,
                         hx_shard_writer **out);

/* Appends one document's `n` token ids plus its boundary token.
 * Errors: HX_EINVAL (an id outside [0, vocab_size), naming it), HX_EIO, HX_ENOSPC. */
int hx_shard_writer_add(hx_shard_writer *w, const int32_t *ids, size_t n);

/* Completes the last shard (an empty shard is written if nothing was
 * added) and frees the writer. Totals over all shards go to the optional
 * outputs. On error the unfinished shard's temporary file is removed. */
int hx_shard_writer_close(hx_shard_writer *w, uint64_t *n_shards, uint64_t *n_tokens, uint64_t *n_docs);

/* Removes the unfinished shard's temporary file and frees the writer
 * (shards already completed stay). NULL is allowed. */
void hx_shard_writer_abort(hx_shard_writer *w);

/* One memory-mapped shard. */
typedef struct {
    char *path;
    void *map;
    size_t map_bytes;
    uint32_t dtype_bytes; /* 2 or 4 */
    uint64_t n_tokens, n_docs;
    uint32_t vocab_size, boundary_token;
    hx_boundary_rule rule;
    char tokenizer_sha256[65];
    const unsigned char *tokens; /* n_tokens little-endian ids */
} hx_shard;

/* Maps and validates a shard: magic, version, dtype, header size, and that
 * the file size equals header + n_tokens * dtype (a truncated or padded
 * shard is HX_EFORMAT naming the file and both sizes). If expect_sha256 is
 * not NULL and differs from the shard's tokenizer hash: HX_EINVAL naming
 * the file and both hashes. Errors: HX_EIO, HX_EFORMAT, HX_EINVAL. */
int hx_shard_open(const char *path, const char *expect_sha256, hx_shard *out);
void hx_shard_close(hx_shard *s);

/* Token i (< n_tokens) of a shard. */
static inline uint32_t hx_shard_token(const hx_shard *s, uint64_t i)
{
    const unsigned char *p = s->tokens + i * s->dtype_bytes;
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    if (s->dtype_bytes == 4) v |= (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return v;
}

/* A dataset: shards read in order as one stream of n_tokens tokens. */
typedef struct {
    hx_shard *shards;
    size_t n_shards;
    uint64_t *first; /* first[i] = stream index of shard i's token 0; first[n_shards] = n_tokens */
    uint64_t n_tokens, n_docs;
} hx_dataset;

/* Opens a dataset from `spec`: a directory (every *.hxs in it, sorted by
 * name), a glob pattern ("out/train-*.hxs", sorted), or one shard file.
 * All shards must share one tokenizer hash and vocab size; if expect_sha256
 * is not NULL it must be that hash (HX_EINVAL otherwise). No shard found is
 * HX_EIO naming the spec. */
int hx_dataset_open(const char *spec, const char *expect_sha256, hx_dataset *out);
void hx_dataset_close(hx_dataset *d);

/* Copies stream tokens [start, start + n) into out (crossing shards).
 * Errors: HX_EINVAL if the range passes n_tokens. */
int hx_dataset_read(const hx_dataset *d, uint64_t start, size_t n, int32_t *out);

#endif
