/* Seeded, packed calibration windows from a token dataset. */
#include "minitron/calib.h"

#include "core/err.h"
#include "core/rng.h"
#include "data/batch.h"

#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int hx_calib_draw(const hx_dataset *d, int n, int seq_len, uint64_t seed, int32_t *out)
{
    if (n < 1 || seq_len < 1) return HX_ERR(HX_EINVAL, "calibration: need n >= 1 samples and seq_len >= 1");
    uint64_t W = hx_batch_windows(d, seq_len);
    if (W < (uint64_t)n)
        return HX_ERR(HX_EINVAL,
                      "calibration: the dataset has %llu windows of %d+1 tokens (%llu tokens), fewer than the %d "
                      "samples asked for",
                      (unsigned long long)W, seq_len, (unsigned long long)d->n_tokens, n);
    uint64_t *idx = hx_malloc(sizeof(uint64_t) * (size_t)n);
    if (!idx) return HX_ENOMEM;
    /* Floyd: for j = W-n .. W-1 pick t in [0, j]; take t unless already taken, else j. */
    hx_rng r;
    hx_rng_seed(&r, seed);
    int k = 0;
    for (uint64_t j = W - (uint64_t)n; j < W; j++) {
        uint64_t t = hx_rng_below(&r, j + 1);
        for (int i = 0; i < k; i++)
            if (idx[i] == t) {
                t = j;
                break;
            }
        idx[k++] = t;
    }
    qsort(idx, (size_t)n, sizeof(uint64_t), cmp_u64);
    int rc = HX_OK;
    for (int i = 0; i < n && rc == HX_OK; i++)
        rc = hx_dataset_read(d, idx[i] * (uint64_t)seq_len, (size_t)seq_len + 1, out + (size_t)i * (seq_len + 1));
    free(idx);
    return rc;
}
