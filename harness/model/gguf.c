/* GGUF reader (see gguf.h): the file is memory-mapped and parsed with a
 * bounds-checked cursor; every count, length and offset is checked against
 * the bytes left before it is used, so a corrupt file is refused with a
 * message naming the key or tensor, never read past its end. */
#include "model/gguf.h"

#include "core/err.h"
#include "core/util.h"
#include "cpu/quant.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NAME 63 /* GGML_MAX_NAME 64 with its NUL */

struct hx_gguf {
    char *path;
    uint8_t *map;
    size_t size;
    uint32_t version, alignment;
    int n_kv, n_t;
    hx_gguf_kv *kv;
    hx_gguf_tensor *t;
    const uint8_t *data; /* start of the data section */
};

/* The parsing cursor: pos never exceeds size. */
typedef struct {
    const hx_gguf *g;
    size_t pos;
} cur;

static uint64_t ld(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static size_t left(const cur *c) { return c->g->size - c->pos; }

/* Reads an n-byte little-endian integer; HX_EFORMAT naming `what` at the end of the file. */
static int rd(cur *c, int n, uint64_t *v, const char *what)
{
    *v = 0;
    if (left(c) < (size_t)n)
        return HX_ERR(HX_EFORMAT, "%s: %s: file ends at byte %zu (truncated)", c->g->path, what, c->g->size);
    *v = ld(c->g->map + c->pos, n);
    c->pos += (size_t)n;
    return HX_OK;
}

/* Reads a string: its u64 length must fit in what is left of the file. */
static int rd_str(cur *c, const char **s, uint64_t *len, const char *what)
{
    HX_TRY(rd(c, 8, len, what));
    if (*len > left(c))
        return HX_ERR(HX_EFORMAT, "%s: %s: string length %llu runs past the end of the file (%zu bytes left)",
                      c->g->path, what, (unsigned long long)*len, left(c));
    *s = (const char *)c->g->map + c->pos;
    c->pos += (size_t)*len;
    return HX_OK;
}

static int scalar_size(hx_gguf_vtype t)
{
    static const int sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return (unsigned)t < sizeof sz / sizeof *sz ? sz[t] : -1;
}

static const char *vtype_name(hx_gguf_vtype t)
{
    static const char *const names[] = {"UINT8", "INT8",   "UINT16", "INT16", "UINT32", "INT32",  "FLOAT32",
                                        "BOOL",  "STRING", "ARRAY",  "UINT64", "INT64", "FLOAT64"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "unknown";
}

/* Reads one value of type `t` (not an array) at the cursor into kv element storage. */
static int rd_value(cur *c, hx_gguf_kv *kv, hx_gguf_vtype t, uint64_t n, const char *key)
{
    kv->data = c->g->map + c->pos;
    if (t == HX_GGUF_STRING) {
        if (n > left(c) / 8)
            return HX_ERR(HX_EFORMAT, "%s: %s: array of %llu strings is more than the file can hold", c->g->path,
                          key, (unsigned long long)n);
        kv->str = hx_malloc(n ? n * sizeof(char *) : 1);
        kv->len = hx_malloc(n ? n * sizeof(uint64_t) : 1);
        if (!kv->str || !kv->len) return HX_ENOMEM;
        for (uint64_t i = 0; i < n; i++) HX_TRY(rd_str(c, &kv->str[i], &kv->len[i], key));
        return HX_OK;
    }
    int sz = scalar_size(t);
    if (sz <= 0)
        return HX_ERR(HX_EFORMAT, "%s: %s: value type %u is not a GGUF type%s", c->g->path, key, (unsigned)t,
                      t == HX_GGUF_ARRAY ? " (nested arrays are not allowed)" : "");
    if (n > left(c) / (size_t)sz)
        return HX_ERR(HX_EFORMAT, "%s: %s: %llu values of type %s run past the end of the file (%zu bytes left)",
                      c->g->path, key, (unsigned long long)n, vtype_name(t), left(c));
    c->pos += (size_t)n * (size_t)sz;
    return HX_OK;
}

static int rd_kv(cur *c, hx_gguf_kv *kv, uint64_t i)
{
    char what[64];
    snprintf(what, sizeof what, "key of metadata pair %llu", (unsigned long long)i);
    const char *k;
    uint64_t klen, t;
    HX_TRY(rd_str(c, &k, &klen, what));
    if (!klen) return HX_ERR(HX_EFORMAT, "%s: %s is empty", c->g->path, what);
    kv->key = strndup(k, (size_t)klen);
    if (!kv->key) return HX_ERR(HX_ENOMEM, "out of memory");
    if (strlen(kv->key) != klen) return HX_ERR(HX_EFORMAT, "%s: %s: key contains a NUL byte", c->g->path, kv->key);
    HX_TRY(rd(c, 4, &t, kv->key));
    if (scalar_size((hx_gguf_vtype)t) < 0)
        return HX_ERR(HX_EFORMAT, "%s: %s: value type %llu is not a GGUF type (0..12)", c->g->path, kv->key,
                      (unsigned long long)t);
    kv->type = kv->elem_type = (hx_gguf_vtype)t;
    kv->n = 1;
    if (t == HX_GGUF_ARRAY) {
        uint64_t et;
        HX_TRY(rd(c, 4, &et, kv->key));
        HX_TRY(rd(c, 8, &kv->n, kv->key));
        if (scalar_size((hx_gguf_vtype)et) < 0 || et == HX_GGUF_ARRAY)
            return HX_ERR(HX_EFORMAT, "%s: %s: array element type %llu is not allowed%s", c->g->path, kv->key,
                          (unsigned long long)et, et == HX_GGUF_ARRAY ? " (nested arrays)" : "");
        kv->elem_type = (hx_gguf_vtype)et;
    }
    return rd_value(c, kv, kv->elem_type, kv->n, kv->key);
}

static int cmp_offset(const void *a, const void *b, void *ctx)
{
    const hx_gguf_tensor *t = ctx, *x = &t[*(const int *)a], *y = &t[*(const int *)b];
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int rd_tensor(cur *c, hx_gguf_tensor *t, uint64_t i)
{
    const hx_gguf *g = c->g;
    char what[64];
    snprintf(what, sizeof what, "name of tensor %llu", (unsigned long long)i);
    const char *s;
    uint64_t len, v;
    HX_TRY(rd_str(c, &s, &len, what));
    if (!len || len > MAX_NAME)
        return HX_ERR(HX_EFORMAT, "%s: %s: length %llu is not in 1..%d", g->path, what, (unsigned long long)len,
                      MAX_NAME);
    t->name = strndup(s, (size_t)len);
    if (!t->name) return HX_ERR(HX_ENOMEM, "out of memory");
    if (strlen(t->name) != len) return HX_ERR(HX_EFORMAT, "%s: %s: name contains a NUL byte", g->path, what);
    HX_TRY(rd(c, 4, &v, t->name));
    if (v < 1 || v > 4)
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': n_dims %llu is not in 1..4", g->path, t->name,
                      (unsigned long long)v);
    t->ndim = (int)v;
    t->numel = 1;
    for (int d = 0; d < 4; d++) {
        t->ne[d] = 1;
        if (d < t->ndim) HX_TRY(rd(c, 8, &t->ne[d], t->name));
        if (t->ne[d] > (uint64_t)INT64_MAX || (t->ne[d] && t->numel > (uint64_t)INT64_MAX / t->ne[d]))
            return HX_ERR(HX_EFORMAT, "%s: tensor '%s': ne[%d] = %llu overflows the element count", g->path, t->name,
                          d, (unsigned long long)t->ne[d]);
        t->numel *= t->ne[d];
    }
    HX_TRY(rd(c, 4, &v, t->name));
    t->type = (uint32_t)v;
    const char *tn = hx_ggml_type_name(t->type);
    int blk = hx_ggml_block_size(t->type), bytes = hx_ggml_block_bytes(t->type);
    if (!tn || v > UINT32_MAX)
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': type %llu is not a ggml type", g->path, t->name,
                      (unsigned long long)v);
    if (!blk)
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': type %s is not supported (its block layout is not known here)",
                      g->path, t->name, tn);
    if (t->ne[0] % (uint64_t)blk)
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': ne[0] = %llu is not a multiple of the %s block size %d", g->path,
                      t->name, (unsigned long long)t->ne[0], tn, blk);
    if (t->numel / (uint64_t)blk > UINT64_MAX / (uint64_t)bytes)
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': data size overflows (%llu elements of %s)", g->path, t->name,
                      (unsigned long long)t->numel, tn);
    t->nbytes = t->numel / (uint64_t)blk * (uint64_t)bytes;
    HX_TRY(rd(c, 8, &t->offset, t->name));
    return HX_OK;
}

static int check_unique_keys(const hx_gguf *g)
{
    for (int i = 0; i < g->n_kv; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(g->kv[i].key, g->kv[j].key))
                return HX_ERR(HX_EFORMAT, "%s: %s: duplicate key (pairs %d and %d)", g->path, g->kv[i].key, j, i);
    return HX_OK;
}

static int parse(hx_gguf *g)
{
    cur c = {g, 0};
    uint64_t magic, version, n_t, n_kv;
    if (g->size < 24)
        return HX_ERR(HX_EFORMAT, "%s: file is %zu bytes, too short for the 24-byte GGUF header", g->path, g->size);
    HX_TRY(rd(&c, 4, &magic, "magic"));
    if (memcmp(g->map, "GGUF", 4))
        return HX_ERR(HX_EFORMAT, "%s: magic: not a GGUF file (first bytes %02x %02x %02x %02x, want \"GGUF\")",
                      g->path, g->map[0], g->map[1], g->map[2], g->map[3]);
    HX_TRY(rd(&c, 4, &version, "version"));
    if (version && !(version & 0xFFFF))
        return HX_ERR(HX_EFORMAT, "%s: version: big-endian GGUF files are not supported", g->path);
    if (version != 2 && version != 3)
        return HX_ERR(HX_EFORMAT, "%s: version: %llu is not supported (2 and 3 are; version 1 used 32-bit counts)",
                      g->path, (unsigned long long)version);
    g->version = (uint32_t)version;
    HX_TRY(rd(&c, 8, &n_t, "n_tensors"));
    HX_TRY(rd(&c, 8, &n_kv, "n_kv"));
    /* A pair takes at least 13 bytes (key length, one key byte, type, a 1-byte
     * value); a tensor info at least 33 (name length and one byte, n_dims, one
     * ne, type, offset). */
    if (n_kv > left(&c) / 13)
        return HX_ERR(HX_EFORMAT, "%s: n_kv: %llu pairs is more than the file's %zu bytes can hold", g->path,
                      (unsigned long long)n_kv, g->size);
    if (n_t > left(&c) / 33)
        return HX_ERR(HX_EFORMAT, "%s: n_tensors: %llu tensors is more than the file's %zu bytes can hold", g->path,
                      (unsigned long long)n_t, g->size);
    g->kv = hx_calloc(n_kv + 1, sizeof *g->kv);
    g->t = hx_calloc(n_t + 1, sizeof *g->t);
    if (!g->kv || !g->t) return HX_ENOMEM;
    for (uint64_t i = 0; i < n_kv; i++) {
        g->n_kv = (int)i + 1;
        HX_TRY(rd_kv(&c, &g->kv[i], i));
    }
    HX_TRY(check_unique_keys(g));
    g->alignment = HX_GGUF_DEFAULT_ALIGNMENT;
    const hx_gguf_kv *al = hx_gguf_find_kv(g, "general.alignment");
    if (al) {
        if (al->type != HX_GGUF_U32)
            return HX_ERR(HX_EFORMAT, "%s: general.alignment: type %s, must be UINT32", g->path,
                          vtype_name(al->type));
        g->alignment = (uint32_t)ld(al->data, 4);
        if (!g->alignment || (g->alignment & (g->alignment - 1)))
            return HX_ERR(HX_EFORMAT, "%s: general.alignment: %u is not a power of two", g->path, g->alignment);
    }
    for (uint64_t i = 0; i < n_t; i++) {
        g->n_t = (int)i + 1;
        HX_TRY(rd_tensor(&c, &g->t[i], i));
        for (uint64_t j = 0; j < i; j++)
            if (!strcmp(g->t[i].name, g->t[j].name))
                return HX_ERR(HX_EFORMAT, "%s: tensor '%s': duplicate name (tensors %llu and %llu)", g->path,
                              g->t[i].name, (unsigned long long)j, (unsigned long long)i);
    }
    size_t start = c.pos % g->alignment ? c.pos + (g->alignment - c.pos % g->alignment) : c.pos;
    if (n_t && start > g->size)
        return HX_ERR(HX_EFORMAT, "%s: data section: starts at byte %zu, past the end of the file (%zu bytes)",
                      g->path, start, g->size);
    g->data = g->map + (start <= g->size ? start : g->size);
    uint64_t avail = start <= g->size ? g->size - start : 0;
    int *order = hx_malloc((n_t + 1) * sizeof(int));
    if (!order) return HX_ENOMEM;
    for (int i = 0; i < g->n_t; i++) order[i] = i;
    qsort_r(order, (size_t)g->n_t, sizeof *order, cmp_offset, g->t);
    int rc = HX_OK;
    for (int k = 0; k < g->n_t && rc == HX_OK; k++) {
        const hx_gguf_tensor *t = &g->t[order[k]];
        if (t->offset % g->alignment)
            rc = HX_ERR(HX_EFORMAT, "%s: tensor '%s': offset %llu is not a multiple of the alignment %u", g->path,
                        t->name, (unsigned long long)t->offset, g->alignment);
        else if (t->offset > avail || t->nbytes > avail - t->offset)
            rc = HX_ERR(HX_EFORMAT,
                        "%s: tensor '%s': data [%llu, +%llu bytes) runs past the end of the file (%llu data bytes)",
                        g->path, t->name, (unsigned long long)t->offset, (unsigned long long)t->nbytes,
                        (unsigned long long)avail);
        else if (k && g->t[order[k - 1]].offset + g->t[order[k - 1]].nbytes > t->offset)
            rc = HX_ERR(HX_EFORMAT, "%s: tensor '%s': data at offset %llu overlaps tensor '%s'", g->path, t->name,
                        (unsigned long long)t->offset, g->t[order[k - 1]].name);
    }
    free(order);
    return rc;
}

int hx_gguf_open(const char *path, hx_gguf **out)
{
    *out = NULL;
    hx_gguf *g = hx_calloc(1, sizeof *g);
    if (!g) return HX_ENOMEM;
    g->path = strdup(path);
    void *map = NULL;
    int rc = g->path ? hx_map_file(path, &map, &g->size) : HX_ERR(HX_ENOMEM, "out of memory");
    g->map = map;
    if (rc == HX_OK) rc = parse(g);
    if (rc < 0) {
        hx_gguf_close(g);
        return rc;
    }
    *out = g;
    return HX_OK;
}

void hx_gguf_close(hx_gguf *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str);
        free(g->kv[i].len);
    }
    for (int i = 0; i < g->n_t; i++) free(g->t[i].name);
    free(g->kv);
    free(g->t);
    hx_unmap_file(g->map, g->size);
    free(g->path);
    free(g);
}

uint32_t hx_gguf_version(const hx_gguf *g) { return g->version; }
uint32_t hx_gguf_alignment(const hx_gguf *g) { return g->alignment; }
const char *hx_gguf_path(const hx_gguf *g) { return g->path; }
int hx_gguf_n_kv(const hx_gguf *g) { return g->n_kv; }
const hx_gguf_kv *hx_gguf_kv_at(const hx_gguf *g, int i) { return &g->kv[i]; }
int hx_gguf_n_tensors(const hx_gguf *g) { return g->n_t; }
const hx_gguf_tensor *hx_gguf_tensor_at(const hx_gguf *g, int i) { return &g->t[i]; }
const void *hx_gguf_tensor_data(const hx_gguf *g, const hx_gguf_tensor *t) { return g->data + t->offset; }

const hx_gguf_kv *hx_gguf_find_kv(const hx_gguf *g, const char *key)
{
    for (int i = 0; i < g->n_kv; i++)
        if (!strcmp(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const hx_gguf_tensor *hx_gguf_find_tensor(const hx_gguf *g, const char *name)
{
    for (int i = 0; i < g->n_t; i++)
        if (!strcmp(g->t[i].name, name)) return &g->t[i];
    return NULL;
}

/* ---- typed getters ---- */

static int is_int(hx_gguf_vtype t) { return t <= HX_GGUF_I32 || t == HX_GGUF_BOOL || t == HX_GGUF_U64 || t == HX_GGUF_I64; }
static int is_signed(hx_gguf_vtype t) { return t == HX_GGUF_I8 || t == HX_GGUF_I16 || t == HX_GGUF_I32 || t == HX_GGUF_I64; }

/* Element i of an integer-typed value as (u, negative). */
static void int_at(hx_gguf_vtype t, const uint8_t *p, uint64_t i, uint64_t *u, int *neg)
{
    int sz = scalar_size(t);
    uint64_t v = ld(p + i * (uint64_t)sz, sz);
    *neg = 0;
    if (is_signed(t) && (v >> (8 * sz - 1)) & 1) {
        *neg = 1;
        v = sz == 8 ? v : v | ~((1ULL << (8 * sz)) - 1); /* sign-extend */
    }
    *u = v;
}

int64_t hx_gguf_arr_int(const hx_gguf_kv *kv, uint64_t i)
{
    uint64_t u;
    int neg;
    int_at(kv->elem_type, kv->data, i, &u, &neg);
    return (int64_t)u;
}

double hx_gguf_arr_float(const hx_gguf_kv *kv, uint64_t i)
{
    if (kv->elem_type == HX_GGUF_F64) {
        uint64_t u = ld(kv->data + 8 * i, 8);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    uint32_t u = (uint32_t)ld(kv->data + 4 * i, 4);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int scalar(const hx_gguf *g, const char *key, const hx_gguf_kv **kv)
{
    *kv = hx_gguf_find_kv(g, key);
    if (!*kv) return 0;
    if ((*kv)->type == HX_GGUF_ARRAY)
        return HX_ERR(HX_EFORMAT, "%s: %s: is an array, a single value was expected", g->path, key);
    return 1;
}

/* An integer key whose value lies in [lo, hi] (lo as signed, hi as unsigned). */
static int get_int(const hx_gguf *g, const char *key, int64_t lo, uint64_t hi, uint64_t *u, int *neg)
{
    const hx_gguf_kv *kv;
    int rc = scalar(g, key, &kv);
    if (rc <= 0) return rc;
    if (!is_int(kv->type))
        return HX_ERR(HX_EFORMAT, "%s: %s: type %s, an integer was expected", g->path, key, vtype_name(kv->type));
    int_at(kv->type, kv->data, 0, u, neg);
    if ((*neg && (lo >= 0 || (int64_t)*u < lo)) || (!*neg && *u > hi))
        return *neg ? HX_ERR(HX_EFORMAT, "%s: %s: value %lld is out of range", g->path, key, (long long)(int64_t)*u)
                    : HX_ERR(HX_EFORMAT, "%s: %s: value %llu is out of range", g->path, key, (unsigned long long)*u);
    return 1;
}

int hx_gguf_get_u64(const hx_gguf *g, const char *key, uint64_t *v)
{
    uint64_t u;
    int neg, rc = get_int(g, key, 0, UINT64_MAX, &u, &neg);
    if (rc == 1) *v = u;
    return rc;
}

int hx_gguf_get_i64(const hx_gguf *g, const char *key, int64_t *v)
{
    uint64_t u;
    int neg, rc = get_int(g, key, INT64_MIN, INT64_MAX, &u, &neg);
    if (rc == 1) *v = (int64_t)u;
    return rc;
}

int hx_gguf_get_u32(const hx_gguf *g, const char *key, uint32_t *v)
{
    uint64_t u;
    int neg, rc = get_int(g, key, 0, UINT32_MAX, &u, &neg);
    if (rc == 1) *v = (uint32_t)u;
    return rc;
}

int hx_gguf_get_i32(const hx_gguf *g, const char *key, int32_t *v)
{
    uint64_t u;
    int neg, rc = get_int(g, key, INT32_MIN, INT32_MAX, &u, &neg);
    if (rc == 1) *v = (int32_t)(int64_t)u;
    return rc;
}

int hx_gguf_get_f64(const hx_gguf *g, const char *key, double *v)
{
    const hx_gguf_kv *kv;
    int rc = scalar(g, key, &kv);
    if (rc <= 0) return rc;
    if (kv->type != HX_GGUF_F32 && kv->type != HX_GGUF_F64)
        return HX_ERR(HX_EFORMAT, "%s: %s: type %s, a float was expected", g->path, key, vtype_name(kv->type));
    *v = hx_gguf_arr_float(kv, 0);
    return 1;
}

int hx_gguf_get_f32(const hx_gguf *g, const char *key, float *v)
{
    double d = 0;
    int rc = hx_gguf_get_f64(g, key, &d);
    if (rc == 1) *v = (float)d;
    return rc;
}

int hx_gguf_get_bool(const hx_gguf *g, const char *key, int *v)
{
    const hx_gguf_kv *kv;
    int rc = scalar(g, key, &kv);
    if (rc <= 0) return rc;
    if (kv->type != HX_GGUF_BOOL)
        return HX_ERR(HX_EFORMAT, "%s: %s: type %s, a bool was expected", g->path, key, vtype_name(kv->type));
    *v = kv->data[0] != 0; /* ggml reads a bool as int8, any non-zero is true */
    return 1;
}

int hx_gguf_get_str(const hx_gguf *g, const char *key, const char **s, size_t *len)
{
    const hx_gguf_kv *kv;
    int rc = scalar(g, key, &kv);
    if (rc <= 0) return rc;
    if (kv->type != HX_GGUF_STRING)
        return HX_ERR(HX_EFORMAT, "%s: %s: type %s, a string was expected", g->path, key, vtype_name(kv->type));
    *s = kv->str[0];
    *len = (size_t)kv->len[0];
    return 1;
}

int hx_gguf_get_arr(const hx_gguf *g, const char *key, hx_gguf_vtype elem, const hx_gguf_kv **out)
{
    const hx_gguf_kv *kv = hx_gguf_find_kv(g, key);
    if (!kv) return 0;
    hx_gguf_vtype e = kv->elem_type;
    int ok = kv->type == HX_GGUF_ARRAY &&
             (elem == HX_GGUF_I64   ? is_int(e)
              : elem == HX_GGUF_F64 ? (e == HX_GGUF_F32 || e == HX_GGUF_F64)
                                    : e == elem);
    if (!ok)
        return HX_ERR(HX_EFORMAT, "%s: %s: %s%s, an array of %s was expected", g->path, key,
                      kv->type == HX_GGUF_ARRAY ? "array of " : "type ", vtype_name(e),
                      elem == HX_GGUF_I64 ? "integers" : elem == HX_GGUF_F64 ? "floats" : vtype_name(elem));
    *out = kv;
    return 1;
}

int hx_gguf_read_f32(const hx_gguf *g, const hx_gguf_tensor *t, float *dst, size_t n)
{
    if (n != t->numel)
        return HX_ERR(HX_EINVAL, "%s: tensor '%s': %llu elements, the buffer holds %zu", g->path, t->name,
                      (unsigned long long)t->numel, n);
    int rc = hx_ggml_dequantize(t->type, hx_gguf_tensor_data(g, t), dst, n);
    /* An unsupported type is a property of the file: HX_EFORMAT. */
    return rc < 0 ? hx_adderr(HX_EFORMAT, "%s: tensor '%s'", g->path, t->name) : HX_OK;
}
