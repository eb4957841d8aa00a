/* Training sampler (seeded per-epoch permutation of fixed windows, exact
 * resume from (epoch, position)) and sequential validation batches. */
#include "data/batch.h"

#include "core/err.h"
#include "core/rng.h"

#include <stdlib.h>
#include <string.h>

uint64_t hx_batch_windows(const hx_dataset *d, int seq_len)
{
    return seq_len > 0 && d->n_tokens > 0 ? (d->n_tokens - 1) / (uint64_t)seq_len : 0;
}

/* Reads window k and splits it into one row of x and y. */
static int read_window(const hx_dataset *d, int T, uint64_t k, int32_t *tmp, int32_t *x, int32_t *y)
{
    HX_TRY(hx_dataset_read(d, k * (uint64_t)T, (size_t)T + 1, tmp));
    memcpy(x, tmp, (size_t)T * sizeof *x);
    memcpy(y, tmp + 1, (size_t)T * sizeof *y);
    return HX_OK;
}

static void make_perm(hx_sampler *s)
{
    hx_rng base, r;
    hx_rng_seed(&base, s->seed);
    r = hx_rng_fork(&base, s->epoch);
    for (uint64_t i = 0; i < s->n_windows; i++) s->perm[i] = (uint32_t)i;
    hx_rng_shuffle_u32(&r, s->perm, (size_t)s->n_windows);
}

int hx_sampler_init(hx_sampler *s, const hx_dataset *d, int seq_len, int batch, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    if (seq_len < 1 || batch < 1) return HX_ERR(HX_EINVAL, "sampler: seq_len %d and batch %d must be >= 1", seq_len, batch);
    uint64_t w = hx_batch_windows(d, seq_len);
    if (w == 0)
        return HX_ERR(HX_EINVAL, "sampler: dataset of %llu tokens has no window of %d tokens",
                      (unsigned long long)d->n_tokens, seq_len + 1);
    if (w > UINT32_MAX) return HX_ERR(HX_EINVAL, "sampler: %llu windows exceed 2^32 - 1", (unsigned long long)w);
    s->perm = hx_malloc(w * sizeof *s->perm);
    s->window = hx_malloc(((size_t)seq_len + 1) * sizeof *s->window);
    s->last = hx_calloc((size_t)batch, sizeof *s->last);
    if (!s->perm || !s->window || !s->last) {
        hx_sampler_free(s);
        return HX_ENOMEM;
    }
    s->data = d;
    s->seq_len = seq_len;
    s->batch = batch;
    s->seed = seed;
    s->n_windows = w;
    make_perm(s);
    return HX_OK;
}

void hx_sampler_free(hx_sampler *s)
{
    free(s->perm);
    free(s->window);
    free(s->last);
    memset(s, 0, sizeof *s);
}

int hx_sampler_restore(hx_sampler *s, uint64_t epoch, uint64_t position)
{
    if (position >= s->n_windows)
        return HX_ERR(HX_EINVAL, "sampler: position %llu out of range (%llu windows)", (unsigned long long)position,
                      (unsigned long long)s->n_windows);
    if (epoch != s->epoch) {
        s->epoch = epoch;
        make_perm(s);
    }
    s->position = position;
    return HX_OK;
}

/* The window of row b of the next batch, moving to the next epoch's permutation at the end of one. */
static uint32_t advance(hx_sampler *s, int b)
{
    if (s->position == s->n_windows) {
        s->epoch++;
        s->position = 0;
        make_perm(s);
    }
    return s->last[b] = s->perm[s->position++];
}

int hx_sampler_next(hx_sampler *s, int32_t *x, int32_t *y)
{
    size_t T = (size_t)s->seq_len;
    for (int b = 0; b < s->batch; b++)
        HX_TRY(read_window(s->data, s->seq_len, advance(s, b), s->window, x + b * T, y + b * T));
    return HX_OK;
}

void hx_sampler_skip(hx_sampler *s)
{
    for (int b = 0; b < s->batch; b++) advance(s, b);
}

uint64_t hx_val_batches(const hx_dataset *d, int seq_len, int batch)
{
    return batch > 0 ? hx_batch_windows(d, seq_len) / (uint64_t)batch : 0;
}

int hx_val_batch(const hx_dataset *d, int seq_len, int batch, uint64_t index, int32_t *x, int32_t *y)
{
    uint64_t n = hx_val_batches(d, seq_len, batch);
    if (seq_len < 1 || index >= n)
        return HX_ERR(HX_EINVAL, "validation batch %llu out of range: the set has %llu batches of %d x %d tokens",
                      (unsigned long long)index, (unsigned long long)n, batch, seq_len);
    int32_t *tmp = hx_malloc(((size_t)seq_len + 1) * sizeof *tmp);
    if (!tmp) return HX_ENOMEM;
    int rc = HX_OK;
    size_t T = (size_t)seq_len;
    for (int b = 0; b < batch && rc == HX_OK; b++)
        rc = read_window(d, seq_len, index * (uint64_t)batch + (uint64_t)b, tmp, x + b * T, y + b * T);
    free(tmp);
    return rc;
}
