/* Token shard writer (streaming, atomic per shard), memory-mapped reader
 * with header validation, and datasets as ordered lists of shards. */
#include "data/shard.h"

#include "core/err.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int is_hex64(const char *s)
{
    if (!s || strlen(s) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!strchr("0123456789abcdef", s[i])) return 0;
    return 1;
}

int hx_shard_boundary(int eos_id, int bos_id, hx_boundary_rule *rule, uint32_t *token)
{
    if (eos_id >= 0) {
        *rule = HX_BOUNDARY_EOS_AFTER;
        *token = (uint32_t)eos_id;
    } else if (bos_id >= 0) {
        *rule = HX_BOUNDARY_BOS_BEFORE;
        *token = (uint32_t)bos_id;
    } else {
        return HX_ERR(HX_EINVAL, "tokenizer has neither an EOS nor a BOS token to mark document boundaries");
    }
    return HX_OK;
}

/* ---- writer ----------------------------------------------------------- */

struct hx_shard_writer {
    char *dir, *prefix;
    char sha[65];
    uint32_t vocab_size, boundary, dtype_bytes;
    hx_boundary_rule rule;
    uint64_t max_tokens;
    FILE *f;            /* open shard, or NULL */
    char *tmp_path;     /* its temporary name */
    uint64_t index;     /* number of the open (or next) shard */
    uint64_t tokens, docs;             /* in the open shard */
    uint64_t total_tokens, total_docs; /* in completed shards */
};

static void header_bytes(const hx_shard_writer *w, unsigned char h[HX_SHARD_HEADER_BYTES])
{
    memset(h, 0, HX_SHARD_HEADER_BYTES);
    memcpy(h, HX_SHARD_MAGIC, 8);
    put_u32(h + 8, HX_SHARD_VERSION);
    put_u32(h + 12, w->dtype_bytes);
    put_u64(h + 16, w->tokens);
    put_u64(h + 24, w->docs);
    put_u32(h + 32, HX_SHARD_HEADER_BYTES);
    put_u32(h + 36, w->vocab_size);
    put_u32(h + 40, w->boundary);
    put_u32(h + 44, (uint32_t)w->rule);
    memcpy(h + 48, w->sha, 64);
}

static char *shard_name(const hx_shard_writer *w, uint64_t index)
{
    size_t n = strlen(w->dir) + strlen(w->prefix) + 48;
    char *p = hx_malloc(n);
    if (p) snprintf(p, n, "%s/%s-%05llu%s", w->dir, w->prefix, (unsigned long long)index, HX_SHARD_EXT);
    return p;
}

static int start_shard(hx_shard_writer *w)
{
    char *final = shard_name(w, w->index);
    if (!final) return HX_ENOMEM;
    size_t n = strlen(final) + 32;
    w->tmp_path = hx_malloc(n);
    if (!w->tmp_path) {
        free(final);
        return HX_ENOMEM;
    }
    snprintf(w->tmp_path, n, "%s.tmp.%d", final, (int)getpid());
    free(final);
    w->f = fopen(w->tmp_path, "wb");
    if (!w->f) return HX_ERR(HX_EIO, "%s: cannot create: %s", w->tmp_path, strerror(errno));
    w->tokens = w->docs = 0;
    unsigned char h[HX_SHARD_HEADER_BYTES];
    header_bytes(w, h);
    if (fwrite(h, 1, sizeof h, w->f) != sizeof h)
        return HX_ERR(HX_EIO, "%s: write failed: %s", w->tmp_path, strerror(errno));
    return HX_OK;
}

static int write_fail(const hx_shard_writer *w)
{
    int e = errno;
    return HX_ERR(e == ENOSPC ? HX_ENOSPC : HX_EIO, "%s: write failed: %s", w->tmp_path, strerror(e));
}

/* Rewrites the header with the final counts, syncs, renames into place. */
static int finish_shard(hx_shard_writer *w)
{
    unsigned char h[HX_SHARD_HEADER_BYTES];
    header_bytes(w, h);
    if (fflush(w->f) != 0 || fseek(w->f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, w->f) != sizeof h ||
        fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
        return write_fail(w);
    int rc = fclose(w->f);
    w->f = NULL;
    if (rc != 0) return write_fail(w);
    char *final = shard_name(w, w->index);
    if (!final) return HX_ENOMEM;
    if (rename(w->tmp_path, final) != 0) {
        rc = HX_ERR(HX_EIO, "%s: rename failed: %s", final, strerror(errno));
        free(final);
        return rc;
    }
    free(final);
    free(w->tmp_path);
    w->tmp_path = NULL;
    w->total_tokens += w->tokens;
    w->total_docs += w->docs;
    w->index++;
    return HX_OK;
}

int hx_shard_writer_open(const char *dir, const char *prefix, const char *tokenizer_sha256, uint32_t vocab_size,
                         hx_boundary_rule rule, uint32_t boundary_token, uint64_t max_tokens,
                         hx_shard_writer **out)
{
    *out = NULL;
    if (!is_hex64(tokenizer_sha256))
        return HX_ERR(HX_EINVAL, "shard writer: tokenizer hash must be 64 lowercase hex chars");
    if (max_tokens == 0 || vocab_size == 0 || boundary_token >= vocab_size)
        return HX_ERR(HX_EINVAL, "shard writer: need max_tokens > 0 and boundary token %u < vocab_size %u",
                      boundary_token, vocab_size);
    HX_TRY(hx_mkdir_p(dir));
    /* Stale shards of an earlier run would silently join the dataset. */
    size_t pl = strlen(dir) + strlen(prefix) + 16;
    char *pat = hx_malloc(pl);
    if (!pat) return HX_ENOMEM;
    snprintf(pat, pl, "%s/%s-*%s", dir, prefix, HX_SHARD_EXT);
    glob_t g;
    int found = glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0;
    if (found) globfree(&g);
    if (found) {
        int rc = HX_ERR(HX_EINVAL, "%s: shards already exist; remove them or choose another directory or prefix", pat);
        free(pat);
        return rc;
    }
    free(pat);
    hx_shard_writer *w = hx_calloc(1, sizeof *w);
    if (!w) return HX_ENOMEM;
    w->dir = strdup(dir);
    w->prefix = strdup(prefix);
    if (!w->dir || !w->prefix) {
        hx_shard_writer_abort(w);
        return HX_ERR(HX_ENOMEM, "out of memory");
    }
    memcpy(w->sha, tokenizer_sha256, 65);
    w->vocab_size = vocab_size;
    w->dtype_bytes = vocab_size <= 65536 ? 2 : 4;
    w->rule = rule;
    w->boundary = boundary_token;
    w->max_tokens = max_tokens;
    *out = w;
    return HX_OK;
}

/* Writes ids[0..n), dtype_bytes wide each, opening shards as needed and
 * completing each one as it fills. Boundary tokens also count documents. */
static int put_tokens(hx_shard_writer *w, const uint32_t *ids, size_t n, int boundary)
{
    unsigned char buf[4096 * 4];
    for (size_t i = 0; i < n;) {
        if (!w->f) HX_TRY(start_shard(w));
        uint64_t room = w->max_tokens - w->tokens;
        size_t take = n - i < 4096 ? n - i : 4096;
        if (take > room) take = (size_t)room;
        for (size_t k = 0; k < take; k++) {
            if (w->dtype_bytes == 2) {
                buf[2 * k] = (unsigned char)ids[i + k];
                buf[2 * k + 1] = (unsigned char)(ids[i + k] >> 8);
            } else {
                put_u32(buf + 4 * k, ids[i + k]);
            }
        }
        if (fwrite(buf, w->dtype_bytes, take, w->f) != take) return write_fail(w);
        w->tokens += take;
        if (boundary) w->docs += take;
        i += take;
        if (w->tokens == w->max_tokens) HX_TRY(finish_shard(w));
    }
    return HX_OK;
}

int hx_shard_writer_add(hx_shard_writer *w, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= w->vocab_size)
            return HX_ERR(HX_EINVAL, "token id %d at position %zu is outside the vocabulary [0, %u)", ids[i], i,
                          w->vocab_size);
    uint32_t b = w->boundary;
    if (w->rule == HX_BOUNDARY_BOS_BEFORE) HX_TRY(put_tokens(w, &b, 1, 1));
    for (size_t i = 0; i < n; i += 4096) {
        uint32_t chunk[4096];
        size_t m = n - i < 4096 ? n - i : 4096;
        for (size_t k = 0; k < m; k++) chunk[k] = (uint32_t)ids[i + k];
        HX_TRY(put_tokens(w, chunk, m, 0));
    }
    if (w->rule == HX_BOUNDARY_EOS_AFTER) HX_TRY(put_tokens(w, &b, 1, 1));
    return HX_OK;
}

void hx_shard_writer_abort(hx_shard_writer *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    if (w->tmp_path) unlink(w->tmp_path);
    free(w->tmp_path);
    free(w->dir);
    free(w->prefix);
    free(w);
}

int hx_shard_writer_close(hx_shard_writer *w, uint64_t *n_shards, uint64_t *n_tokens, uint64_t *n_docs)
{
    int rc = HX_OK;
    if (!w->f && w->index == 0) rc = start_shard(w);
    if (rc == HX_OK && w->f) rc = finish_shard(w);
    if (rc == HX_OK) {
        if (n_shards) *n_shards = w->index;
        if (n_tokens) *n_tokens = w->total_tokens;
        if (n_docs) *n_docs = w->total_docs;
    }
    hx_shard_writer_abort(w);
    return rc;
}

/* ---- reader ----------------------------------------------------------- */

void hx_shard_close(hx_shard *s)
{
    if (s->map) munmap(s->map, s->map_bytes);
    free(s->path);
    memset(s, 0, sizeof *s);
}

static int shard_validate(hx_shard *s, const unsigned char *h, uint64_t size)
{
    const char *p = s->path;
    if (size < HX_SHARD_HEADER_BYTES)
        return HX_ERR(HX_EFORMAT, "%s: truncated shard: %llu bytes, shorter than the %d-byte header", p,
                      (unsigned long long)size, HX_SHARD_HEADER_BYTES);
    if (memcmp(h, HX_SHARD_MAGIC, 8) != 0) return HX_ERR(HX_EFORMAT, "%s: not a token shard (bad magic)", p);
    uint32_t version = get_u32(h + 8);
    if (version != HX_SHARD_VERSION)
        return HX_ERR(HX_EFORMAT, "%s: shard version %u, this build reads version %d", p, version, HX_SHARD_VERSION);
    s->dtype_bytes = get_u32(h + 12);
    s->n_tokens = get_u64(h + 16);
    s->n_docs = get_u64(h + 24);
    uint32_t hb = get_u32(h + 32);
    s->vocab_size = get_u32(h + 36);
    s->boundary_token = get_u32(h + 40);
    uint32_t rule = get_u32(h + 44);
    memcpy(s->tokenizer_sha256, h + 48, 64);
    s->tokenizer_sha256[64] = '\0';
    if (s->dtype_bytes != 2 && s->dtype_bytes != 4)
        return HX_ERR(HX_EFORMAT, "%s: token dtype width %u (expected 2 or 4)", p, s->dtype_bytes);
    if (hb != HX_SHARD_HEADER_BYTES) return HX_ERR(HX_EFORMAT, "%s: header_bytes %u (expected %d)", p, hb, HX_SHARD_HEADER_BYTES);
    if (rule > 1 || !is_hex64(s->tokenizer_sha256) || s->boundary_token >= s->vocab_size ||
        s->vocab_size > INT32_MAX)
        return HX_ERR(HX_EFORMAT, "%s: corrupt header (boundary rule, token or tokenizer hash)", p);
    s->rule = (hx_boundary_rule)rule;
    if (s->n_tokens > (UINT64_MAX - hb) / s->dtype_bytes || hb + s->n_tokens * s->dtype_bytes != size)
        return HX_ERR(HX_EFORMAT, "%s: truncated or corrupt shard: header says %llu tokens (%llu bytes), file has %llu bytes",
                      p, (unsigned long long)s->n_tokens,
                      (unsigned long long)(hb + s->n_tokens * s->dtype_bytes), (unsigned long long)size);
    return HX_OK;
}

int hx_shard_open(const char *path, const char *expect_sha256, hx_shard *out)
{
    memset(out, 0, sizeof *out);
    if (!(out->path = strdup(path))) return HX_ERR(HX_ENOMEM, "out of memory");
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        int rc = HX_ERR(HX_EIO, "%s: cannot open shard: %s", path, strerror(errno));
        hx_shard_close(out);
        return rc;
    }
    struct stat st;
    int rc = HX_OK;
    if (fstat(fd, &st) != 0) rc = HX_ERR(HX_EIO, "%s: cannot stat: %s", path, strerror(errno));
    if (rc == HX_OK && st.st_size > 0) {
        out->map_bytes = (size_t)st.st_size;
        out->map = mmap(NULL, out->map_bytes, PROT_READ, MAP_SHARED, fd, 0);
        if (out->map == MAP_FAILED) {
            out->map = NULL;
            rc = HX_ERR(HX_EIO, "%s: cannot mmap: %s", path, strerror(errno));
        }
    }
    close(fd);
    static const unsigned char none[HX_SHARD_HEADER_BYTES];
    if (rc == HX_OK) rc = shard_validate(out, out->map ? out->map : none, (uint64_t)st.st_size);
    if (rc == HX_OK && expect_sha256 && strcmp(expect_sha256, out->tokenizer_sha256) != 0)
        rc = HX_ERR(HX_EINVAL,
                    "%s: made with a different tokenizer (tokenizer.json sha256 %s; the tokenizer in use has %s); "
                    "re-run `harness tokenize` with this tokenizer",
                    path, out->tokenizer_sha256, expect_sha256);
    if (rc < 0) {
        hx_shard_close(out);
        return rc;
    }
    out->tokens = (const unsigned char *)out->map + HX_SHARD_HEADER_BYTES;
    return HX_OK;
}

/* ---- dataset ---------------------------------------------------------- */

void hx_dataset_close(hx_dataset *d)
{
    for (size_t i = 0; i < d->n_shards; i++) hx_shard_close(&d->shards[i]);
    free(d->shards);
    free(d->first);
    memset(d, 0, sizeof *d);
}

int hx_dataset_open(const char *spec, const char *expect_sha256, hx_dataset *out)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    glob_t g;
    int grc;
    if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *pat = hx_path_join(spec, "*" HX_SHARD_EXT);
        if (!pat) return HX_ENOMEM;
        grc = glob(pat, 0, NULL, &g);
        free(pat);
    } else {
        grc = glob(spec, GLOB_NOCHECK, NULL, &g); /* a plain file name comes back as itself */
    }
    if (grc != 0 || g.gl_pathc == 0) {
        if (grc == 0) globfree(&g);
        return HX_ERR(HX_EIO, "%s: no token shards (*%s) found", spec, HX_SHARD_EXT);
    }
    int rc = HX_OK;
    out->shards = hx_calloc(g.gl_pathc, sizeof *out->shards);
    out->first = hx_calloc(g.gl_pathc + 1, sizeof *out->first);
    if (!out->shards || !out->first) rc = HX_ENOMEM;
    for (size_t i = 0; rc == HX_OK && i < g.gl_pathc; i++) { /* glob sorts by name */
        rc = hx_shard_open(g.gl_pathv[i], expect_sha256, &out->shards[i]);
        if (rc < 0) break;
        out->n_shards++;
        const hx_shard *s0 = &out->shards[0], *s = &out->shards[i];
        if (strcmp(s->tokenizer_sha256, s0->tokenizer_sha256) != 0 || s->vocab_size != s0->vocab_size)
            rc = HX_ERR(HX_EINVAL, "%s: tokenizer (sha256 %s, vocab %u) differs from %s (sha256 %s, vocab %u)", s->path,
                        s->tokenizer_sha256, s->vocab_size, s0->path, s0->tokenizer_sha256, s0->vocab_size);
        out->first[i] = out->n_tokens;
        out->n_tokens += s->n_tokens;
        out->n_docs += s->n_docs;
    }
    globfree(&g);
    if (rc < 0) {
        hx_dataset_close(out);
        return rc;
    }
    out->first[out->n_shards] = out->n_tokens;
    return HX_OK;
}

int hx_dataset_read(const hx_dataset *d, uint64_t start, size_t n, int32_t *out)
{
    if (start > d->n_tokens || n > d->n_tokens - start)
        return HX_ERR(HX_EINVAL, "dataset read [%llu, %llu) past its %llu tokens", (unsigned long long)start,
                      (unsigned long long)(start + n), (unsigned long long)d->n_tokens);
    /* Shard holding `start`: binary search over first[]. */
    size_t lo = 0, hi = d->n_shards;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (d->first[mid] <= start) lo = mid;
        else hi = mid;
    }
    size_t done = 0;
    for (size_t s = lo; done < n; s++) {
        const hx_shard *sh = &d->shards[s];
        uint64_t off = start + done - d->first[s];
        for (; off < sh->n_tokens && done < n; off++) {
            uint32_t id = hx_shard_token(sh, off);
            if (id >= sh->vocab_size) /* ids index embedding rows: never let one past the vocabulary through */
                return HX_ERR(HX_EFORMAT, "%s: token %llu has id %u, not below the shard's vocab_size %u (corrupt shard)",
                              sh->path, (unsigned long long)off, id, sh->vocab_size);
            out[done++] = (int32_t)id;
        }
    }
    return HX_OK;
}
