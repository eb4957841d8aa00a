/* The teacher-logit cache: fixed-size checked records in a sparse file (see logit_cache.h). */
#include "train/logit_cache.h"

#include "core/err.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct hx_logit_cache {
    int fd, T, k;
    uint64_t n_windows, hits, misses;
    size_t bytes; /* one record */
    unsigned char *buf;
    char *path;
};

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int hx_logit_cache_open(const char *dir, int T, int k, double tau, uint64_t n_windows, hx_logit_cache **out)
{
    *out = NULL;
    if (T < 1 || k < 1 || !(tau > 0) || n_windows == 0)
        return HX_ERR(HX_EINVAL, "logit cache: T %d, k %d, tau %g and %llu windows must be positive", T, k, tau,
                      (unsigned long long)n_windows);
    HX_TRY(hx_mkdir_p(dir));
    uint64_t tau_bits;
    memcpy(&tau_bits, &tau, sizeof tau_bits);
    char meta[200];
    int len = snprintf(meta, sizeof meta, "hx-logit-cache v1 %d %d %016llx %llu\n", T, k, (unsigned long long)tau_bits,
                       (unsigned long long)n_windows);
    char *mpath = hx_path_join(dir, "META"), *had = NULL;
    size_t hl = 0;
    if (!mpath) return HX_ENOMEM;
    int rc = HX_OK;
    if (access(mpath, F_OK) == 0) {
        rc = hx_read_file(mpath, &had, &hl);
        if (rc == HX_OK && (hl != (size_t)len || memcmp(had, meta, hl)))
            rc = HX_ERR(HX_EINVAL, "logit cache %s was made with other settings (%.*s), not (%.*s)", dir,
                        (int)(hl && had[hl - 1] == '\n' ? hl - 1 : hl), had, len - 1, meta);
    } else {
        rc = hx_write_file_atomic(mpath, meta, (size_t)len);
    }
    free(had);
    free(mpath);
    HX_TRY(rc);
    hx_logit_cache *c = hx_calloc(1, sizeof *c);
    if (!c) return HX_ENOMEM;
    c->T = T, c->k = k, c->n_windows = n_windows;
    c->bytes = 8 + 4 * (size_t)T + 8 * (size_t)T * k + 8;
    c->buf = hx_malloc(c->bytes);
    c->path = hx_path_join(dir, "topk.bin");
    c->fd = c->path ? open(c->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (!c->buf || !c->path || c->fd < 0) {
        rc = c->buf && c->path ? HX_ERR(HX_EIO, "%s: %s", c->path, strerror(errno)) : HX_ENOMEM;
        hx_logit_cache_close(c);
        return rc;
    }
    *out = c;
    return HX_OK;
}

void hx_logit_cache_close(hx_logit_cache *c)
{
    if (!c) return;
    if (c->fd >= 0) close(c->fd);
    free(c->buf);
    free(c->path);
    free(c);
}

/* Copies a record's lse [T], ids [T, k] and vals [T, k] between c->buf (after
 * its 8-byte tag) and the caller's arrays: into the buffer (to_buf = 1) or
 * out of it. */
static void move(hx_logit_cache *c, void *lse, void *ids, void *vals, int to_buf)
{
    size_t sizes[3] = {4 * (size_t)c->T, 4 * (size_t)c->T * c->k, 4 * (size_t)c->T * c->k};
    void *user[3] = {lse, ids, vals};
    unsigned char *at = c->buf + 8;
    for (int i = 0; i < 3; at += sizes[i], i++)
        if (to_buf) memcpy(at, user[i], sizes[i]);
        else memcpy(user[i], at, sizes[i]);
}

static int check_window(const hx_logit_cache *c, uint64_t w)
{
    if (w < c->n_windows) return HX_OK;
    return HX_ERR(HX_EINVAL, "logit cache: window %llu of %llu", (unsigned long long)w, (unsigned long long)c->n_windows);
}

int hx_logit_cache_get(hx_logit_cache *c, uint64_t w, int32_t *ids, float *vals, float *lse)
{
    HX_TRY(check_window(c, w));
    ssize_t got = pread(c->fd, c->buf, c->bytes, (off_t)(w * c->bytes));
    if (got < 0) return HX_ERR(HX_EIO, "%s: %s", c->path, strerror(errno));
    uint64_t tag, check;
    if ((size_t)got < c->bytes) return 0; /* past the end: never written */
    memcpy(&tag, c->buf, 8);
    memcpy(&check, c->buf + c->bytes - 8, 8);
    if (tag != w + 1 || check != fnv1a(c->buf, c->bytes - 8)) return 0;
    move(c, lse, ids, vals, 0);
    c->hits++;
    return 1;
}

int hx_logit_cache_put(hx_logit_cache *c, uint64_t w, const int32_t *ids, const float *vals, const float *lse)
{
    HX_TRY(check_window(c, w));
    uint64_t tag = w + 1;
    memcpy(c->buf, &tag, 8);
    move(c, (void *)lse, (void *)ids, (void *)vals, 1);
    uint64_t check = fnv1a(c->buf, c->bytes - 8);
    memcpy(c->buf + c->bytes - 8, &check, 8);
    ssize_t put = pwrite(c->fd, c->buf, c->bytes, (off_t)(w * c->bytes));
    if (put != (ssize_t)c->bytes)
        return HX_ERR(errno == ENOSPC ? HX_ENOSPC : HX_EIO, "%s: writing window %llu: %s", c->path,
                      (unsigned long long)w, put < 0 ? strerror(errno) : "short write");
    c->misses++;
    return HX_OK;
}

void hx_logit_cache_stats(const hx_logit_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c->hits;
    *misses = c->misses;
}
