/* safetensors reader (mmap, full header validation, sharded sets through
 * model.safetensors.index.json) and writer (F32/BF16/I32, single file or
 * shards + index, atomic). Layout rules follow the reference reader
 * huggingface/safetensors safetensors/src/tensor.rs (see
 * shared/research/formats-and-ecosystem.md §1.1). */
#include "model/safetensors.h"

#include "core/err.h"
#include "core/util.h"
#include "cpu/convert.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HX_ST_MAX_HEADER 100000000ULL /* MAX_HEADER_SIZE of the reference reader */

typedef struct {
    char *path;
    uint8_t *map;       /* whole file, read-only mapping (NULL for an empty buffer) */
    size_t size;        /* file size in bytes */
    const uint8_t *buf; /* start of the data buffer: map + 8 + header length */
    uint64_t buf_len;   /* bytes in the data buffer */
} st_file;

struct hx_st {
    int nfiles;
    st_file *files;
    int n, cap;
    hx_st_tensor *t; /* in file order, then offset order */
    int *by_name;    /* indices into t sorted by name */
};

static const struct {
    const char *name;
    hx_dtype dt;
    int size;
} dtypes[] = {
    {"F32", HX_DT_F32, 4}, {"BF16", HX_DT_BF16, 2}, {"F16", HX_DT_F16, 2}, {"I32", HX_DT_I32, 4}, {"I64", HX_DT_I64, 8},
};

const char *hx_dtype_name(hx_dtype dt)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dt == dt) return dtypes[i].name;
    return "?";
}

int hx_dtype_size(hx_dtype dt)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dt == dt) return dtypes[i].size;
    return 0;
}

static int dtype_parse(const char *s, hx_dtype *dt)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(dtypes[i].name, s)) {
            *dt = dtypes[i].dt;
            return 1;
        }
    return 0;
}

/* ---- reading ---- */

static void st_file_unmap(st_file *f)
{
    hx_unmap_file(f->map, f->size);
    free(f->path);
    memset(f, 0, sizeof *f);
}

void hx_st_close(hx_st *st)
{
    if (!st) return;
    for (int i = 0; i < st->nfiles; i++) st_file_unmap(&st->files[i]);
    for (int i = 0; i < st->n; i++) free(st->t[i].name);
    free(st->files);
    free(st->t);
    free(st->by_name);
    free(st);
}

static int map_file(const char *path, st_file *f)
{
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path) return HX_ERR(HX_ENOMEM, "out of memory");
    void *p;
    HX_TRY(hx_map_file(path, &p, &f->size));
    f->map = p;
    if (f->size < 8)
        return HX_ERR(HX_EFORMAT, "%s: file is %zu bytes, too short for the 8-byte header length", path, f->size);
    return HX_OK;
}

static int add_tensor(hx_st *st, hx_st_tensor *t)
{
    if (st->n == st->cap) {
        int cap = st->cap ? 2 * st->cap : 64;
        hx_st_tensor *nt = realloc(st->t, (size_t)cap * sizeof *nt);
        if (!nt) return HX_ERR(HX_ENOMEM, "out of memory");
        st->t = nt;
        st->cap = cap;
    }
    st->t[st->n++] = *t;
    return HX_OK;
}

/* Reads a non-negative JSON integer into *v; returns 0 if it is not one. */
static int json_u64(const json_t *j, uint64_t *v)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0) return 0;
    *v = (uint64_t)json_integer_value(j);
    return 1;
}

static int parse_entry(const char *path, const char *name, json_t *e, int file, uint64_t buf_len, hx_st_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->file = file;
    if (!json_is_object(e)) return HX_ERR(HX_EFORMAT, "%s: tensor '%s': header entry is not a JSON object", path, name);
    json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape"), *jo = json_object_get(e, "data_offsets");
    if (!json_is_string(jd)) return HX_ERR(HX_EFORMAT, "%s: tensor '%s': missing or non-string \"dtype\"", path, name);
    if (!dtype_parse(json_string_value(jd), &t->dtype))
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': unknown or unsupported dtype '%s' (supported: F32, BF16, F16, I32, I64)",
                      path, name, json_string_value(jd));
    if (!json_is_array(js)) return HX_ERR(HX_EFORMAT, "%s: tensor '%s': missing or non-array \"shape\"", path, name);
    if (json_array_size(js) > 8)
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': %zu dimensions (at most 8 supported)", path, name, json_array_size(js));
    t->ndim = (int)json_array_size(js);
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        uint64_t v;
        if (!json_u64(json_array_get(js, (size_t)d), &v))
            return HX_ERR(HX_EFORMAT, "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name, d);
        if (v != 0 && numel > UINT64_MAX / v)
            return HX_ERR(HX_EFORMAT, "%s: tensor '%s': shape product overflows", path, name);
        numel *= v;
        t->shape[d] = (int64_t)v;
    }
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_u64(json_array_get(jo, 0), &t->begin) ||
        !json_u64(json_array_get(jo, 1), &t->end))
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': \"data_offsets\" must be [begin, end] non-negative integers", path,
                      name);
    if (t->end < t->begin)
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': data_offsets end %llu < begin %llu", path, name,
                      (unsigned long long)t->end, (unsigned long long)t->begin);
    uint64_t es = (uint64_t)hx_dtype_size(t->dtype);
    if (numel > UINT64_MAX / es) return HX_ERR(HX_EFORMAT, "%s: tensor '%s': byte size overflows", path, name);
    if (numel * es != t->end - t->begin)
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': shape x dtype gives %llu bytes but data_offsets [%llu, %llu] span %llu",
                      path, name, (unsigned long long)(numel * es), (unsigned long long)t->begin,
                      (unsigned long long)t->end, (unsigned long long)(t->end - t->begin));
    if (t->end > buf_len)
        return HX_ERR(HX_EFORMAT,
                      "%s: tensor '%s': data_offsets [%llu, %llu] run past the %llu-byte data buffer (truncated file or bad "
                      "offsets)",
                      path, name, (unsigned long long)t->begin, (unsigned long long)t->end,
                      (unsigned long long)buf_len);
    t->name = strdup(name);
    if (!t->name) return HX_ERR(HX_ENOMEM, "out of memory");
    return HX_OK;
}

static int cmp_begin(const void *a, const void *b)
{
    const hx_st_tensor *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* Maps one file, parses and validates its header, appends its tensors. */
static int open_file(hx_st *st, const char *path)
{
    st_file *nf = realloc(st->files, (size_t)(st->nfiles + 1) * sizeof *nf);
    if (!nf) return HX_ERR(HX_ENOMEM, "out of memory");
    st->files = nf;
    int fi = st->nfiles++;
    st_file *f = &st->files[fi];
    HX_TRY(map_file(path, f));
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | f->map[i];
    if (hlen > HX_ST_MAX_HEADER)
        return HX_ERR(HX_EFORMAT, "%s: header length %llu exceeds the 100000000-byte limit", path,
                      (unsigned long long)hlen);
    if (hlen > f->size - 8)
        return HX_ERR(HX_EFORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", path,
                      (unsigned long long)hlen, f->size);
    if (hlen < 2 || f->map[8] != '{')
        return HX_ERR(HX_EFORMAT, "%s: header does not start with '{' (not a safetensors file?)", path);
    f->buf = f->map + 8 + hlen;
    f->buf_len = f->size - 8 - hlen;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)f->map + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) return HX_ERR(HX_EFORMAT, "%s: malformed JSON header: %s (column %d)", path, jerr.text, jerr.column);
    if (!json_is_object(root)) {
        json_decref(root);
        return HX_ERR(HX_EFORMAT, "%s: header is not a JSON object", path);
    }
    int first = st->n, rc = HX_OK;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (!strcmp(key, "__metadata__")) continue;
        hx_st_tensor t;
        if ((rc = parse_entry(path, key, val, fi, f->buf_len, &t)) < 0 || (rc = add_tensor(st, &t)) < 0) {
            free(t.name); /* NULL unless parse_entry succeeded */
            break;
        }
    }
    json_decref(root);
    HX_TRY(rc);
    int n = st->n - first;
    if (n == 0) return HX_OK; /* a header with only __metadata__; st->t may still be NULL */
    hx_st_tensor *ts = st->t + first;
    qsort(ts, (size_t)n, sizeof *ts, cmp_begin);
    for (int i = 1; i < n; i++)
        if (ts[i].begin < ts[i - 1].end)
            return HX_ERR(HX_EFORMAT, "%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] have overlapping data_offsets",
                          path, ts[i - 1].name, (unsigned long long)ts[i - 1].begin,
                          (unsigned long long)ts[i - 1].end, ts[i].name, (unsigned long long)ts[i].begin,
                          (unsigned long long)ts[i].end);
    return HX_OK;
}

static int cmp_name_idx(const void *a, const void *b, void *ctx)
{
    const hx_st *st = ctx;
    return strcmp(st->t[*(const int *)a].name, st->t[*(const int *)b].name);
}

/* Builds the by-name index; rejects a tensor name present twice (two shards). */
static int build_name_index(hx_st *st)
{
    st->by_name = malloc((size_t)(st->n ? st->n : 1) * sizeof(int));
    if (!st->by_name) return HX_ERR(HX_ENOMEM, "out of memory");
    for (int i = 0; i < st->n; i++) st->by_name[i] = i;
    qsort_r(st->by_name, (size_t)st->n, sizeof(int), cmp_name_idx, st);
    for (int i = 1; i < st->n; i++) {
        const hx_st_tensor *a = &st->t[st->by_name[i - 1]], *b = &st->t[st->by_name[i]];
        if (!strcmp(a->name, b->name))
            return HX_ERR(HX_EFORMAT, "tensor '%s' is in both %s and %s", a->name, st->files[a->file].path,
                          st->files[b->file].path);
    }
    return HX_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Opens every shard named in an index.json and checks the weight_map against
 * the shards' own headers. */
static int open_index(hx_st *st, const char *index_path)
{
    json_error_t jerr;
    json_t *root = json_load_file(index_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return HX_ERR(errno == ENOENT ? HX_EIO : HX_EFORMAT, "%s: %s (line %d, column %d)", index_path, jerr.text,
                      jerr.line, jerr.column);
    int rc = HX_OK;
    char *dir = strdup(index_path);
    json_t *wm = json_object_get(root, "weight_map"), *shards = json_array();
    if (!dir || !shards) {
        rc = HX_ERR(HX_ENOMEM, "out of memory");
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = '\0'; /* "a/b/x.json" -> "a/b", "/x.json" -> "/" */
    else
        strcpy(dir, ".");
    if (!json_is_object(wm)) {
        rc = HX_ERR(HX_EFORMAT, "%s: missing or non-object \"weight_map\"", index_path);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(wm, key, val)
    {
        const char *fn = json_string_value(val);
        if (!fn || !*fn || strchr(fn, '/')) {
            rc = HX_ERR(HX_EFORMAT, "%s: weight_map entry for '%s' is not a plain file name", index_path, key);
            goto done;
        }
        size_t i;
        json_t *s;
        int seen = 0;
        json_array_foreach(shards, i, s) seen |= !strcmp(json_string_value(s), fn);
        if (!seen) json_array_append_new(shards, json_string(fn));
    }
    size_t i;
    json_t *s;
    json_array_foreach(shards, i, s)
    {
        char *p = hx_path_join(dir, json_string_value(s));
        if (!p) {
            rc = HX_ENOMEM;
            goto done;
        }
        int first = st->n;
        rc = open_file(st, p);
        free(p);
        if (rc < 0) goto done;
        const char *fpath = st->files[st->nfiles - 1].path;
        for (int k = first; k < st->n; k++) {
            const char *want = json_string_value(json_object_get(wm, st->t[k].name));
            if (!want) {
                rc = HX_ERR(HX_EFORMAT, "%s: tensor '%s' is not listed in the weight_map of %s", fpath, st->t[k].name,
                            index_path);
                goto done;
            }
            if (strcmp(want, json_string_value(s))) {
                rc = HX_ERR(HX_EFORMAT, "%s: tensor '%s' is here but %s maps it to %s", fpath, st->t[k].name,
                            index_path, want);
                goto done;
            }
        }
    }
    if ((rc = build_name_index(st)) < 0) goto done;
    json_object_foreach(wm, key, val) if (!hx_st_find(st, key))
    {
        rc = HX_ERR(HX_EFORMAT, "%s: tensor '%s' is mapped to %s, which does not contain it", index_path, key,
                    json_string_value(val));
        goto done;
    }
done:
    json_decref(shards);
    json_decref(root);
    free(dir);
    return rc;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

int hx_st_open(const char *path, hx_st **out)
{
    *out = NULL;
    hx_st *st = calloc(1, sizeof *st);
    if (!st) return HX_ERR(HX_ENOMEM, "out of memory");
    struct stat sb;
    int rc;
    if (stat(path, &sb) != 0) {
        rc = HX_ERR(HX_EIO, "%s: %s", path, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        char *idx = hx_path_join(path, "model.safetensors.index.json");
        char *one = hx_path_join(path, "model.safetensors");
        if (!idx || !one) {
            rc = HX_ENOMEM;
        } else if (file_exists(one)) {
            rc = open_file(st, one);
            if (rc >= 0) rc = build_name_index(st);
        } else if (file_exists(idx)) {
            rc = open_index(st, idx);
        } else {
            rc = HX_ERR(HX_EIO, "%s: no model.safetensors or model.safetensors.index.json in this directory", path);
        }
        free(idx);
        free(one);
    } else if (ends_with(path, ".json")) {
        rc = open_index(st, path);
    } else {
        rc = open_file(st, path);
        if (rc >= 0) rc = build_name_index(st);
    }
    if (rc < 0) {
        hx_st_close(st);
        return rc;
    }
    *out = st;
    return HX_OK;
}

int hx_st_count(const hx_st *st) { return st->n; }

const hx_st_tensor *hx_st_get(const hx_st *st, int i) { return i >= 0 && i < st->n ? &st->t[i] : NULL; }

const char *hx_st_path(const hx_st *st, const hx_st_tensor *t) { return st->files[t->file].path; }

const hx_st_tensor *hx_st_find(const hx_st *st, const char *name)
{
    int lo = 0, hi = st->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(st->t[st->by_name[mid]].name, name);
        if (c == 0) return &st->t[st->by_name[mid]];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

size_t hx_st_numel(const hx_st_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

static int check_n(const hx_st *st, const hx_st_tensor *t, size_t n)
{
    if (n != hx_st_numel(t))
        return HX_ERR(HX_EINVAL, "%s: tensor '%s' has %zu elements, destination holds %zu", hx_st_path(st, t), t->name,
                      hx_st_numel(t), n);
    return HX_OK;
}

/* Element i of a tensor's raw little-endian bytes (safe at any alignment). */
static uint16_t ld_u16(const uint8_t *p, size_t i)
{
    uint16_t v;
    memcpy(&v, p + 2 * i, 2);
    return v;
}
static int32_t ld_i32(const uint8_t *p, size_t i)
{
    int32_t v;
    memcpy(&v, p + 4 * i, 4);
    return v;
}
static int64_t ld_i64(const uint8_t *p, size_t i)
{
    int64_t v;
    memcpy(&v, p + 8 * i, 8);
    return v;
}

int hx_st_read_f32(const hx_st *st, const hx_st_tensor *t, float *dst, size_t n)
{
    HX_TRY(check_n(st, t, n));
    const uint8_t *src = st->files[t->file].buf + t->begin;
    switch (t->dtype) {
    case HX_DT_F32: memcpy(dst, src, n * 4); break;
    case HX_DT_BF16:
        for (size_t i = 0; i < n; i++) dst[i] = hx_bf16_to_f32(ld_u16(src, i));
        break;
    case HX_DT_F16:
        for (size_t i = 0; i < n; i++) dst[i] = hx_f16_to_f32(ld_u16(src, i));
        break;
    case HX_DT_I32:
        for (size_t i = 0; i < n; i++) dst[i] = (float)ld_i32(src, i);
        break;
    case HX_DT_I64:
        for (size_t i = 0; i < n; i++) dst[i] = (float)ld_i64(src, i);
        break;
    }
    return HX_OK;
}

int hx_st_read_f32_finite(const hx_st *st, const hx_st_tensor *t, float *dst, size_t n)
{
    HX_TRY(hx_st_read_f32(st, t, dst, n));
    return hx_check_finite(dst, n, "%s: tensor '%s'", hx_st_path(st, t), t->name);
}

int hx_st_read_i32(const hx_st *st, const hx_st_tensor *t, int32_t *dst, size_t n)
{
    HX_TRY(check_n(st, t, n));
    const uint8_t *src = st->files[t->file].buf + t->begin;
    if (t->dtype == HX_DT_I32) {
        memcpy(dst, src, n * 4);
    } else if (t->dtype == HX_DT_I64) {
        for (size_t i = 0; i < n; i++) {
            int64_t v = ld_i64(src, i);
            if (v < INT32_MIN || v > INT32_MAX)
                return HX_ERR(HX_EFORMAT, "%s: tensor '%s': element %zu = %lld does not fit in int32", hx_st_path(st, t),
                              t->name, i, (long long)v);
            dst[i] = (int32_t)v;
        }
    } else {
        return HX_ERR(HX_EINVAL, "%s: tensor '%s' has dtype %s, not an integer type", hx_st_path(st, t), t->name,
                      hx_dtype_name(t->dtype));
    }
    return HX_OK;
}

/* ---- writing ---- */

static uint64_t entry_numel(const hx_st_entry *e)
{
    uint64_t n = 1;
    for (int d = 0; d < e->ndim; d++) n *= (uint64_t)e->shape[d];
    return n;
}

static int check_entry(const hx_st_entry *e)
{
    if (!e->name || !*e->name || !strcmp(e->name, "__metadata__"))
        return HX_ERR(HX_EINVAL, "safetensors write: invalid tensor name '%s'", e->name ? e->name : "(null)");
    int ok = (e->src == HX_DT_F32 && (e->dtype == HX_DT_F32 || e->dtype == HX_DT_BF16)) ||
             (e->src == HX_DT_I32 && e->dtype == HX_DT_I32);
    if (!ok)
        return HX_ERR(HX_EINVAL, "safetensors write: tensor '%s': cannot store %s data as %s", e->name,
                      hx_dtype_name(e->src), hx_dtype_name(e->dtype));
    if (e->ndim < 0 || e->ndim > 8) return HX_ERR(HX_EINVAL, "safetensors write: tensor '%s': ndim %d", e->name, e->ndim);
    for (int d = 0; d < e->ndim; d++)
        if (e->shape[d] < 0)
            return HX_ERR(HX_EINVAL, "safetensors write: tensor '%s': negative shape[%d]", e->name, d);
    if (entry_numel(e) && !e->data) return HX_ERR(HX_EINVAL, "safetensors write: tensor '%s': NULL data", e->name);
    return HX_OK;
}

/* Data order inside a file: larger element size first, then by name, as the
 * reference writer does, so every tensor is naturally aligned. */
static int cmp_entry(const void *a, const void *b, void *ctx)
{
    const hx_st_entry *entries = ctx, *x = &entries[*(const int *)a], *y = &entries[*(const int *)b];
    int sx = hx_dtype_size(x->dtype), sy = hx_dtype_size(y->dtype);
    if (sx != sy) return sy - sx;
    return strcmp(x->name, y->name);
}

static void store(const hx_st_entry *e, uint8_t *dst)
{
    size_t n = (size_t)entry_numel(e);
    if (e->dtype == HX_DT_BF16) {
        const float *src = e->data;
        for (size_t i = 0; i < n; i++) {
            uint16_t h = hx_f32_to_bf16(src[i]);
            memcpy(dst + 2 * i, &h, 2);
        }
    } else if (n) {
        memcpy(dst, e->data, n * 4); /* F32 or I32 as is (little-endian host) */
    }
}

/* Writes the tensors idx[0..k) of `entries` as one safetensors file. */
static int write_one(const char *path, const hx_st_entry *entries, int *idx, int k)
{
    qsort_r(idx, (size_t)k, sizeof *idx, cmp_entry, (void *)entries);
    json_t *hdr = json_object(), *meta = json_object();
    if (!hdr || !meta) return HX_ERR(HX_ENOMEM, "out of memory");
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(hdr, "__metadata__", meta);
    uint64_t off = 0;
    for (int i = 0; i < k; i++) {
        const hx_st_entry *e = &entries[idx[i]];
        json_t *shape = json_array();
        for (int d = 0; d < e->ndim; d++) json_array_append_new(shape, json_integer(e->shape[d]));
        uint64_t end = off + entry_numel(e) * (uint64_t)hx_dtype_size(e->dtype);
        json_object_set_new(hdr, e->name,
                            json_pack("{s:s, s:o, s:[I,I]}", "dtype", hx_dtype_name(e->dtype), "shape", shape,
                                      "data_offsets", (json_int_t)off, (json_int_t)end));
        off = end;
    }
    char *js = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(hdr);
    if (!js) return HX_ERR(HX_ENOMEM, "%s: cannot serialise the header", path);
    size_t jl = strlen(js), hl = (jl + 7) / 8 * 8; /* pad with spaces so the buffer starts 8-aligned */
    uint8_t *buf = hx_malloc(8 + hl + off);
    if (!buf) {
        free(js);
        return HX_ENOMEM;
    }
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, js, jl);
    memset(buf + 8 + jl, ' ', hl - jl);
    free(js);
    off = 0;
    for (int i = 0; i < k; i++) {
        const hx_st_entry *e = &entries[idx[i]];
        store(e, buf + 8 + hl + off);
        off += entry_numel(e) * (uint64_t)hx_dtype_size(e->dtype);
    }
    int rc = hx_write_file_atomic(path, buf, 8 + hl + off);
    free(buf);
    return rc;
}

int hx_json_write_atomic(const char *path, const struct json_t *root)
{
    char *js = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!js) return HX_ERR(HX_ENOMEM, "%s: cannot serialise JSON", path);
    size_t l = strlen(js);
    char *buf = realloc(js, l + 2);
    if (!buf) {
        free(js);
        return HX_ERR(HX_ENOMEM, "out of memory");
    }
    buf[l] = '\n';
    int rc = hx_write_file_atomic(path, buf, l + 1);
    free(buf);
    return rc;
}

static int remove_stale(const char *dir, const char *name)
{
    char *p = hx_path_join(dir, name);
    if (!p) return HX_ENOMEM;
    int rc = unlink(p) != 0 && errno != ENOENT ? HX_ERR(HX_EIO, "%s: cannot remove stale file: %s", p, strerror(errno))
                                                : HX_OK;
    free(p);
    return rc;
}

int hx_st_write(const char *dir, const char *basename, const hx_st_entry *entries, int n, uint64_t max_shard_bytes)
{
    const char *base = basename ? basename : "model";
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        HX_TRY(check_entry(&entries[i]));
        for (int j = 0; j < i; j++)
            if (!strcmp(entries[i].name, entries[j].name))
                return HX_ERR(HX_EINVAL, "safetensors write: tensor '%s' given twice", entries[i].name);
        total += entry_numel(&entries[i]) * (uint64_t)hx_dtype_size(entries[i].dtype);
    }
    int *idx = hx_malloc((size_t)(n ? n : 1) * sizeof *idx), *shard_of = hx_malloc((size_t)(n ? n : 1) * sizeof *idx);
    char name[512], index_name[512];
    snprintf(index_name, sizeof index_name, "%s.safetensors.index.json", base);
    int rc = HX_OK;
    if (!idx || !shard_of) {
        rc = HX_ENOMEM;
        goto done;
    }
    /* Greedy sharding in the given order, as transformers' save_pretrained. */
    int nshards = 1;
    uint64_t cur = 0;
    for (int i = 0; i < n; i++) {
        uint64_t b = entry_numel(&entries[i]) * (uint64_t)hx_dtype_size(entries[i].dtype);
        if (max_shard_bytes && cur > 0 && cur + b > max_shard_bytes) {
            nshards++;
            cur = 0;
        }
        cur += b;
        shard_of[i] = nshards - 1;
    }
    if (nshards == 1) {
        for (int i = 0; i < n; i++) idx[i] = i;
        snprintf(name, sizeof name, "%s.safetensors", base);
        char *p = hx_path_join(dir, name);
        rc = p ? write_one(p, entries, idx, n) : HX_ENOMEM;
        free(p);
        if (rc >= 0) rc = remove_stale(dir, index_name);
        goto done;
    }
    json_t *wm = json_object();
    for (int s = 0; s < nshards && rc >= 0; s++) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (shard_of[i] == s) idx[k++] = i;
        snprintf(name, sizeof name, "%s-%05d-of-%05d.safetensors", base, s + 1, nshards);
        for (int i = 0; i < k; i++) json_object_set_new(wm, entries[idx[i]].name, json_string(name));
        char *p = hx_path_join(dir, name);
        rc = p ? write_one(p, entries, idx, k) : HX_ENOMEM;
        free(p);
    }
    if (rc >= 0) {
        json_t *root = json_pack("{s:{s:I}, s:o}", "metadata", "total_size", (json_int_t)total, "weight_map", wm);
        char *p = hx_path_join(dir, index_name);
        rc = root && p ? hx_json_write_atomic(p, root) : HX_ERR(HX_ENOMEM, "out of memory");
        json_decref(root);
        free(p);
        snprintf(name, sizeof name, "%s.safetensors", base);
        if (rc >= 0) rc = remove_stale(dir, name);
    } else {
        json_decref(wm);
    }
done:
    free(idx);
    free(shard_of);
    return rc;
}
