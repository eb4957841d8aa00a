/* GGUF writer (see gguf.h): metadata pairs are serialised as they are
 * added; tensors are encoded and laid out at hx_gguf_write, in call order,
 * each padded to the alignment, and the file is written atomically. */
#include "model/gguf.h"

#include "core/err.h"
#include "core/util.h"
#include "cpu/quant.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    uint32_t type;
    int ndim;
    uint64_t ne[4];
    const float *src;     /* encoded at write time, or */
    const uint8_t *bytes; /* copied as is */
    uint64_t nbytes;
} wtensor;

struct hx_gguf_writer {
    uint32_t alignment;
    uint8_t *kv; /* serialised pairs */
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    wtensor *t;
    int n_t, cap_t;
};

static int grow(hx_gguf_writer *w, size_t more)
{
    if (w->kv_len + more <= w->kv_cap) return HX_OK;
    size_t cap = w->kv_cap ? w->kv_cap : 4096;
    while (cap < w->kv_len + more) cap *= 2;
    uint8_t *p = realloc(w->kv, cap);
    if (!p) return HX_ERR(HX_ENOMEM, "out of memory");
    w->kv = p;
    w->kv_cap = cap;
    return HX_OK;
}

static int put_le(hx_gguf_writer *w, uint64_t v, int n)
{
    HX_TRY(grow(w, (size_t)n));
    for (int i = 0; i < n; i++) w->kv[w->kv_len++] = (uint8_t)(v >> (8 * i));
    return HX_OK;
}

static int put_string(hx_gguf_writer *w, const char *s)
{
    size_t n = strlen(s);
    HX_TRY(put_le(w, n, 8));
    HX_TRY(grow(w, n));
    memcpy(w->kv + w->kv_len, s, n);
    w->kv_len += n;
    return HX_OK;
}

/* key and value type: the start of every pair. */
static int put_head(hx_gguf_writer *w, const char *key, hx_gguf_vtype t)
{
    w->n_kv++;
    HX_TRY(put_string(w, key));
    return put_le(w, (uint64_t)t, 4);
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

int hx_gguf_put_u32(hx_gguf_writer *w, const char *key, uint32_t v)
{
    HX_TRY(put_head(w, key, HX_GGUF_U32));
    return put_le(w, v, 4);
}

int hx_gguf_put_i32(hx_gguf_writer *w, const char *key, int32_t v)
{
    HX_TRY(put_head(w, key, HX_GGUF_I32));
    return put_le(w, (uint32_t)v, 4);
}

int hx_gguf_put_f32(hx_gguf_writer *w, const char *key, float v)
{
    HX_TRY(put_head(w, key, HX_GGUF_F32));
    return put_le(w, f32_bits(v), 4);
}

int hx_gguf_put_bool(hx_gguf_writer *w, const char *key, int v)
{
    HX_TRY(put_head(w, key, HX_GGUF_BOOL));
    return put_le(w, v != 0, 1);
}

int hx_gguf_put_str(hx_gguf_writer *w, const char *key, const char *s)
{
    HX_TRY(put_head(w, key, HX_GGUF_STRING));
    return put_string(w, s);
}

static int put_arr_head(hx_gguf_writer *w, const char *key, hx_gguf_vtype elem, size_t n)
{
    HX_TRY(put_head(w, key, HX_GGUF_ARRAY));
    HX_TRY(put_le(w, (uint64_t)elem, 4));
    return put_le(w, n, 8);
}

int hx_gguf_put_arr_str(hx_gguf_writer *w, const char *key, const char *const *s, size_t n)
{
    HX_TRY(put_arr_head(w, key, HX_GGUF_STRING, n));
    for (size_t i = 0; i < n; i++) HX_TRY(put_string(w, s[i]));
    return HX_OK;
}

int hx_gguf_put_arr_i32(hx_gguf_writer *w, const char *key, const int32_t *v, size_t n)
{
    HX_TRY(put_arr_head(w, key, HX_GGUF_I32, n));
    for (size_t i = 0; i < n; i++) HX_TRY(put_le(w, (uint32_t)v[i], 4));
    return HX_OK;
}

int hx_gguf_put_arr_f32(hx_gguf_writer *w, const char *key, const float *v, size_t n)
{
    HX_TRY(put_arr_head(w, key, HX_GGUF_F32, n));
    for (size_t i = 0; i < n; i++) HX_TRY(put_le(w, f32_bits(v[i]), 4));
    return HX_OK;
}

int hx_gguf_writer_new(uint32_t alignment, hx_gguf_writer **out)
{
    *out = NULL;
    if (alignment & (alignment - 1))
        return HX_ERR(HX_EINVAL, "gguf write: alignment %u is not a power of two", alignment);
    hx_gguf_writer *w = hx_calloc(1, sizeof *w);
    if (!w) return HX_ENOMEM;
    w->alignment = alignment ? alignment : HX_GGUF_DEFAULT_ALIGNMENT;
    if (alignment && alignment != HX_GGUF_DEFAULT_ALIGNMENT) {
        int rc = hx_gguf_put_u32(w, "general.alignment", alignment);
        if (rc < 0) {
            hx_gguf_writer_free(w);
            return rc;
        }
    }
    *out = w;
    return HX_OK;
}

void hx_gguf_writer_free(hx_gguf_writer *w)
{
    if (!w) return;
    for (int i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->t);
    free(w->kv);
    free(w);
}

static int add(hx_gguf_writer *w, const char *name, uint32_t type, int ndim, const uint64_t *ne, const float *src,
               const void *bytes)
{
    const char *tn = hx_ggml_type_name(type);
    int blk = hx_ggml_block_size(type);
    if (!blk) return HX_ERR(HX_EINVAL, "gguf write: tensor '%s': type %u has no known layout", name, type);
    if (ndim < 1 || ndim > 4) return HX_ERR(HX_EINVAL, "gguf write: tensor '%s': ndim %d", name, ndim);
    if (ne[0] % (uint64_t)blk)
        return HX_ERR(HX_EINVAL, "gguf write: tensor '%s': ne[0] = %llu is not a multiple of the %s block size %d",
                      name, (unsigned long long)ne[0], tn, blk);
    if (w->n_t == w->cap_t) {
        int cap = w->cap_t ? 2 * w->cap_t : 64;
        wtensor *p = realloc(w->t, (size_t)cap * sizeof *p);
        if (!p) return HX_ERR(HX_ENOMEM, "out of memory");
        w->t = p;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) return HX_ERR(HX_ENOMEM, "out of memory");
    t->type = type;
    t->ndim = ndim;
    uint64_t numel = 1;
    for (int d = 0; d < ndim; d++) numel *= (t->ne[d] = ne[d]);
    t->nbytes = numel / (uint64_t)blk * (uint64_t)hx_ggml_block_bytes(type);
    t->src = src;
    t->bytes = bytes;
    w->n_t++;
    return HX_OK;
}

int hx_gguf_add_tensor(hx_gguf_writer *w, const char *name, uint32_t type, int ndim, const uint64_t *ne,
                       const float *src)
{
    if (type != HX_GGML_F32 && type != HX_GGML_F16 && type != HX_GGML_BF16 && type != HX_GGML_Q8_0)
        return HX_ERR(HX_EINVAL, "gguf write: tensor '%s': cannot encode type %s (F32, F16, BF16, Q8_0)", name,
                      hx_ggml_type_name(type) ? hx_ggml_type_name(type) : "unknown");
    return add(w, name, type, ndim, ne, src, NULL);
}

int hx_gguf_add_tensor_raw(hx_gguf_writer *w, const char *name, uint32_t type, int ndim, const uint64_t *ne,
                           const void *bytes)
{
    return add(w, name, type, ndim, ne, NULL, bytes);
}

static uint64_t pad(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

int hx_gguf_write(hx_gguf_writer *w, const char *path)
{
    /* Tensor infos go into the same growing buffer after the pairs. */
    size_t kv_end = w->kv_len;
    uint64_t off = 0;
    for (int i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        HX_TRY(put_string(w, t->name));
        HX_TRY(put_le(w, (uint64_t)t->ndim, 4));
        for (int d = 0; d < t->ndim; d++) HX_TRY(put_le(w, t->ne[d], 8));
        HX_TRY(put_le(w, t->type, 4));
        HX_TRY(put_le(w, off, 8));
        off += pad(t->nbytes, w->alignment);
    }
    size_t head = 24 + w->kv_len, data_start = (size_t)pad(head, w->alignment), total = data_start + (size_t)off;
    uint8_t *buf = hx_calloc(total ? total : 1, 1);
    int rc = buf ? HX_OK : HX_ENOMEM;
    if (rc == HX_OK) {
        memcpy(buf, "GGUF", 4);
        uint64_t fields[3] = {3, (uint64_t)w->n_t, w->n_kv};
        for (int i = 0; i < 4; i++) buf[4 + i] = (uint8_t)(fields[0] >> (8 * i));
        for (int f = 1; f < 3; f++)
            for (int i = 0; i < 8; i++) buf[8 * f + i] = (uint8_t)(fields[f] >> (8 * i));
        memcpy(buf + 24, w->kv, w->kv_len);
        off = 0;
        for (int i = 0; i < w->n_t && rc == HX_OK; i++) {
            const wtensor *t = &w->t[i];
            uint8_t *dst = buf + data_start + off;
            if (t->bytes) memcpy(dst, t->bytes, t->nbytes);
            else {
                uint64_t n = 1;
                for (int d = 0; d < t->ndim; d++) n *= t->ne[d];
                rc = hx_ggml_quantize(t->type, t->src, dst, (size_t)n);
                if (rc < 0) hx_adderr(rc, "gguf write: tensor '%s'", t->name);
            }
            off += pad(t->nbytes, w->alignment);
        }
    }
    if (rc == HX_OK) rc = hx_write_file_atomic(path, buf, total);
    free(buf);
    w->kv_len = kv_end; /* the infos are rebuilt by the next write */
    return rc;
}
