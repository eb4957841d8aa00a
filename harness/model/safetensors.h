/* safetensors reading and writing (single file and sharded with
 * model.safetensors.index.json), with full validation of the header.
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the byte buffer; offsets are relative to the buffer start. */
#ifndef HX_MODEL_SAFETENSORS_H
#define HX_MODEL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { HX_DT_F32 = 0, HX_DT_BF16 = 1, HX_DT_F16 = 2, HX_DT_I32 = 3, HX_DT_I64 = 4 } hx_dtype;

/* One tensor's entry in a safetensors header. */
typedef struct {
    char *name;
    hx_dtype dtype;
    int ndim;
    int64_t shape[8];
    uint64_t begin, end; /* byte offsets into the data buffer */
    int file;            /* index of the shard that holds it */
} hx_st_tensor;

/* An opened safetensors file or sharded set (memory-mapped, read-only). */
typedef struct hx_st hx_st;

/* Opens `path`: a .safetensors file, a model.safetensors.index.json, or a
 * directory holding either (model.safetensors is preferred when both exist,
 * as transformers does). Validates, per file: the header length against the
 * file size and the 100 MB limit of the reference reader, the JSON (duplicate
 * keys rejected), every dtype (F32, BF16, F16, I32, I64; others are refused),
 * shape x dtype size == end - begin, offsets inside the buffer (a truncated
 * file fails here) and non-overlapping (sorted by begin; gaps are tolerated);
 * "__metadata__" is ignored. For an index: every shard in weight_map is
 * opened once, each tensor must sit in the shard the index names, every
 * mapped tensor must exist, and no name may appear in two shards. Errors
 * (HX_EIO, HX_EFORMAT) name the file and the tensor. Data is read through
 * memcpy, so unaligned tensors are fine. */
int hx_st_open(const char *path, hx_st **out);
void hx_st_close(hx_st *st);

int hx_st_count(const hx_st *st);
const hx_st_tensor *hx_st_get(const hx_st *st, int i);
/* Path of the file (shard) that holds tensor `t`, for error messages. */
const char *hx_st_path(const hx_st *st, const hx_st_tensor *t);
/* Looks a tensor up by name (binary search); NULL if absent. */
const hx_st_tensor *hx_st_find(const hx_st *st, const char *name);
/* Number of elements of a tensor (product of its shape). */
size_t hx_st_numel(const hx_st_tensor *t);

/* Copies a tensor into `dst` as float32 (converting BF16/F16 exactly;
 * I32/I64 by rounding to the nearest float). `n` must equal hx_st_numel(t),
 * else HX_EINVAL naming the file and tensor. */
int hx_st_read_f32(const hx_st *st, const hx_st_tensor *t, float *dst, size_t n);
/* hx_st_read_f32, then refuses a non-finite element (after the dtype
 * conversion): HX_ENAN "<file>: tensor '<name>': element <i> is nan" (or
 * inf, -inf) for the first one. Used for everything loaded as weights or
 * optimizer state. Errors: those of hx_st_read_f32, HX_ENAN. */
int hx_st_read_f32_finite(const hx_st *st, const hx_st_tensor *t, float *dst, size_t n);
/* Copies an integer tensor (I32 or I64) into int32 `dst`. Errors:
 * HX_EINVAL (size mismatch or a float dtype), HX_EFORMAT (an I64 value
 * outside int32, naming the element). */
int hx_st_read_i32(const hx_st *st, const hx_st_tensor *t, int32_t *dst, size_t n);

/* A tensor to write: float32 data, written as `dtype` (F32 or BF16, BF16 by
 * round-to-nearest-even) or int32 data written as I32. */
typedef struct {
    const char *name;
    const void *data;
    hx_dtype src;   /* HX_DT_F32 or HX_DT_I32: what `data` holds */
    hx_dtype dtype; /* what to store */
    int ndim;
    int64_t shape[8];
} hx_st_entry;

/* Writes tensors into existing directory `dir`: one model.safetensors when
 * the total is at most max_shard_bytes (0 = no limit), else
 * model-0000k-of-0000n.safetensors plus model.safetensors.index.json
 * ({"metadata": {"total_size": bytes}, "weight_map": {...}}). Shards are
 * filled greedily in the given order (as save_pretrained); a tensor larger
 * than the limit gets a shard of its own. Inside a file tensors are laid out
 * by element size, then name (the reference writer's order), the header is
 * padded with spaces to a multiple of 8 bytes, and "__metadata__" is
 * {"format": "pt"}. Each file is built in memory (one shard at a time) and
 * written atomically (temp + rename); the index or single file left by an
 * earlier save of the other kind is removed. `basename` replaces "model"
 * when non-NULL. Errors: HX_EINVAL (bad entry: name, dtype pair, shape,
 * duplicate), HX_ENOMEM, HX_EIO, HX_ENOSPC. */
int hx_st_write(const char *dir, const char *basename, const hx_st_entry *entries, int n, uint64_t max_shard_bytes);

/* Dtype name as in the safetensors header ("F32", "BF16", ...) and element
 * size in bytes (0 for an unknown value). */
const char *hx_dtype_name(hx_dtype dt);
int hx_dtype_size(hx_dtype dt);

/* Writes a JSON value to `path` atomically, indented by 2 with sorted keys
 * (as transformers writes config.json and index.json) and a final newline.
 * Errors: HX_ENOMEM, HX_EIO, HX_ENOSPC. */
struct json_t;
int hx_json_write_atomic(const char *path, const struct json_t *root);

#endif
