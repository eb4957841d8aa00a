/* GGUF files (llama.cpp / ggml): a strict reader (versions 2 and 3,
 * little-endian) with typed metadata getters and dequantisation of tensors
 * to fp32, and a writer of version 3 files. Layout: magic "GGUF", version
 * u32, n_tensors u64, n_kv u64, the key/value pairs (key string, value type
 * u32, value), the tensor infos (name string, n_dims u32, ne[n_dims] u64,
 * ggml type u32, offset u64), zero padding to general.alignment (default
 * 32), then the data; tensor i lives at data_start + offset_i. Strings are a
 * u64 length and bytes (no NUL); arrays are element type u32, count u64,
 * elements. ne[0] is the fastest-varying dimension, so GGUF ne [in, out] is
 * the same bytes as a row-major [out, in] matrix. Source: ggml docs/gguf.md,
 * src/gguf.cpp (shared/research/gguf-and-tokenizers.md part 1). */
#ifndef HX_MODEL_GGUF_H
#define HX_MODEL_GGUF_H

#include <stddef.h>
#include <stdint.h>

/* Metadata value types (ggml include/gguf.h). */
typedef enum {
    HX_GGUF_U8 = 0,
    HX_GGUF_I8 = 1,
    HX_GGUF_U16 = 2,
    HX_GGUF_I16 = 3,
    HX_GGUF_U32 = 4,
    HX_GGUF_I32 = 5,
    HX_GGUF_F32 = 6,
    HX_GGUF_BOOL = 7,
    HX_GGUF_STRING = 8,
    HX_GGUF_ARRAY = 9,
    HX_GGUF_U64 = 10,
    HX_GGUF_I64 = 11,
    HX_GGUF_F64 = 12,
} hx_gguf_vtype;

#define HX_GGUF_DEFAULT_ALIGNMENT 32

/* One metadata pair. For a scalar, n is 1 and elem_type == type; for an
 * array, type is HX_GGUF_ARRAY, elem_type the element type and n the count.
 * `data` points into the mapped file at the value (an array's first
 * element); for strings `str` holds each element's start (after its
 * length) and `len` its length in bytes. */
typedef struct {
    char *key;
    hx_gguf_vtype type, elem_type;
    uint64_t n;
    const uint8_t *data;
    const char **str;
    uint64_t *len;
} hx_gguf_kv;

/* One tensor info. ne[0] is the fastest dimension; ne[d] = 1 for d >= ndim. */
typedef struct {
    char *name;
    uint32_t type; /* ggml type id (cpu/quant.h) */
    int ndim;      /* 1..4 */
    uint64_t ne[4];
    uint64_t offset; /* from the start of the data section */
    uint64_t nbytes;
    uint64_t numel;
} hx_gguf_tensor;

typedef struct hx_gguf hx_gguf;

/* Opens and validates a GGUF file (memory-mapped, read-only). Checked: the
 * magic; the version (2 or 3; 1 and big-endian files are refused by name);
 * n_kv and n_tensors against what the file can hold; every key (non-empty,
 * unique, length inside the file), value type, nested arrays (refused),
 * array count and string length against the bytes left (overflow-safe);
 * general.alignment (UINT32, a power of two); every tensor name (non-empty,
 * at most 63 bytes, unique), n_dims (1..4), ne (each < 2^63, the element
 * count overflow-checked), type (a ggml type whose block layout is known),
 * ne[0] a multiple of the block size, offset a multiple of the alignment,
 * data inside the file and not overlapping another tensor. Errors: HX_EIO
 * (open/mmap), HX_EFORMAT "<path>: <key or tensor>: <what is wrong>",
 * HX_ENOMEM. */
int hx_gguf_open(const char *path, hx_gguf **out);
/* Unmaps the file and frees everything (NULL is fine); pointers obtained
 * from the getters die with it. */
void hx_gguf_close(hx_gguf *g);

/* The file's version (2 or 3), data alignment in bytes (general.alignment
 * or 32) and the path it was opened from. */
uint32_t hx_gguf_version(const hx_gguf *g);
uint32_t hx_gguf_alignment(const hx_gguf *g);
const char *hx_gguf_path(const hx_gguf *g);

/* Metadata pairs in file order, and lookup by key (NULL when absent). */
int hx_gguf_n_kv(const hx_gguf *g);
const hx_gguf_kv *hx_gguf_kv_at(const hx_gguf *g, int i);
const hx_gguf_kv *hx_gguf_find_kv(const hx_gguf *g, const char *key);

/* Typed getters. Each returns 1 when the key exists and was read, 0 when it
 * is absent (*v untouched), or HX_EFORMAT "<path>: <key>: ..." when it has
 * another type or its value does not fit. Integer getters accept any
 * integer type (and bool) whose value fits; get_f64 accepts F32 and F64;
 * get_str gives a pointer into the file and the length (not NUL-terminated). */
int hx_gguf_get_u64(const hx_gguf *g, const char *key, uint64_t *v);
int hx_gguf_get_i64(const hx_gguf *g, const char *key, int64_t *v);
int hx_gguf_get_u32(const hx_gguf *g, const char *key, uint32_t *v);
int hx_gguf_get_i32(const hx_gguf *g, const char *key, int32_t *v);
int hx_gguf_get_f64(const hx_gguf *g, const char *key, double *v);
int hx_gguf_get_f32(const hx_gguf *g, const char *key, float *v);
int hx_gguf_get_bool(const hx_gguf *g, const char *key, int *v);
int hx_gguf_get_str(const hx_gguf *g, const char *key, const char **s, size_t *len);
/* An array of element type `elem` (HX_GGUF_STRING, or any integer type when
 * `elem` is HX_GGUF_I64, or F32/F64 when `elem` is HX_GGUF_F64): 1 with *kv
 * set, 0 when absent, HX_EFORMAT when not such an array. */
int hx_gguf_get_arr(const hx_gguf *g, const char *key, hx_gguf_vtype elem, const hx_gguf_kv **kv);
/* Element i of an integer array (any integer element type), of a float
 * array (F32/F64). No bounds or type check beyond what get_arr did. */
int64_t hx_gguf_arr_int(const hx_gguf_kv *kv, uint64_t i);
double hx_gguf_arr_float(const hx_gguf_kv *kv, uint64_t i);

/* Tensors in file order and lookup by name (NULL when absent). */
int hx_gguf_n_tensors(const hx_gguf *g);
const hx_gguf_tensor *hx_gguf_tensor_at(const hx_gguf *g, int i);
const hx_gguf_tensor *hx_gguf_find_tensor(const hx_gguf *g, const char *name);
/* The tensor's packed bytes (t->nbytes of them) inside the mapping. */
const void *hx_gguf_tensor_data(const hx_gguf *g, const hx_gguf_tensor *t);

/* Dequantises tensor `t` into dst[0..n) as fp32 in GGUF element order (ne[0]
 * fastest, i.e. row-major [ne[ndim-1], ..., ne[0]]). n must equal t->numel.
 * Errors: HX_EINVAL (n), HX_EFORMAT naming the tensor and its type when the
 * type cannot be dequantized (cpu/quant.h lists the supported ones). */
int hx_gguf_read_f32(const hx_gguf *g, const hx_gguf_tensor *t, float *dst, size_t n);

/* ---- writing (version 3, little-endian), model/gguf_write.c ---- */

typedef struct hx_gguf_writer hx_gguf_writer;

/* A writer with data alignment `alignment` (a power of two; 0 = 32, and any
 * other value is also written as general.alignment). Errors: HX_EINVAL,
 * HX_ENOMEM. */
int hx_gguf_writer_new(uint32_t alignment, hx_gguf_writer **out);
/* Frees the writer (NULL is fine); tensor sources are the caller's. */
void hx_gguf_writer_free(hx_gguf_writer *w);

/* Appends one metadata pair, in call order (keys are not checked for
 * uniqueness: that is the caller's job). Strings are written without NUL.
 * Errors: HX_ENOMEM. */
int hx_gguf_put_u32(hx_gguf_writer *w, const char *key, uint32_t v);
int hx_gguf_put_i32(hx_gguf_writer *w, const char *key, int32_t v);
int hx_gguf_put_f32(hx_gguf_writer *w, const char *key, float v);
int hx_gguf_put_bool(hx_gguf_writer *w, const char *key, int v);
int hx_gguf_put_str(hx_gguf_writer *w, const char *key, const char *s);
int hx_gguf_put_arr_str(hx_gguf_writer *w, const char *key, const char *const *s, size_t n);
int hx_gguf_put_arr_i32(hx_gguf_writer *w, const char *key, const int32_t *v, size_t n);
int hx_gguf_put_arr_f32(hx_gguf_writer *w, const char *key, const float *v, size_t n);

/* Appends a tensor of `ndim` dims ne[0..ndim) (ne[0] fastest) whose fp32
 * elements `src` are encoded as ggml `type` when the file is written (F32,
 * F16, BF16 or Q8_0; cpu/quant.h hx_ggml_quantize). `src` must stay valid
 * until hx_gguf_write. Errors: HX_EINVAL (type, ne[0] not a multiple of the
 * block, ndim), HX_ENOMEM. */
int hx_gguf_add_tensor(hx_gguf_writer *w, const char *name, uint32_t type, int ndim, const uint64_t *ne,
                       const float *src);
/* The same with already packed bytes of any ggml type whose layout is known
 * (nbytes = ne[0]/block * bytes * ne[1] * ...), copied as is. */
int hx_gguf_add_tensor_raw(hx_gguf_writer *w, const char *name, uint32_t type, int ndim, const uint64_t *ne,
                           const void *bytes);

/* Writes the file to `path` atomically: header (version 3), the pairs, the
 * tensor infos with offsets in call order, each tensor padded with zeros to
 * the alignment (as ggml's writer). Built in memory. Errors: HX_ENOMEM,
 * HX_EIO, HX_ENOSPC. */
int hx_gguf_write(hx_gguf_writer *w, const char *path);

#endif
