/* Batches of next-token-prediction windows from a token dataset.
 *
 * Windows: the dataset's token stream (all shards in order, documents packed
 * back to back with their boundary tokens, see shard.h) is cut into
 * n_windows = (n_tokens - 1) / T windows; window k covers stream tokens
 * [k*T, k*T + T] (T + 1 tokens): inputs x = tokens k*T .. k*T+T-1 and
 * targets y = tokens k*T+1 .. k*T+T. Consecutive windows share one token, so
 * every token after the first is a target exactly once per epoch. Windows
 * cross document boundaries as packing does; the model sees the boundary
 * token in the stream (no attention mask between documents).
 *
 * Training order: each epoch visits all windows once in a permutation
 * drawn from (seed, epoch) with hx_rng (Fisher-Yates); a batch that runs
 * past an epoch's end continues in the next epoch's permutation. The state
 * (epoch, position = windows consumed in the epoch) is all that is needed
 * to resume: restoring it gives the same batches as an uninterrupted run.
 *
 * Validation order: batch i holds windows i*B .. i*B+B-1 in stream order,
 * the same on every call. */
#ifndef HX_DATA_BATCH_H
#define HX_DATA_BATCH_H

#include "data/shard.h"

#include <stdint.h>

typedef struct {
    const hx_dataset *data;
    int seq_len;       /* T: tokens per input row */
    int batch;         /* B: rows per batch */
    uint64_t seed;
    uint64_t n_windows;
    uint64_t epoch;    /* current epoch (0-based) */
    uint64_t position; /* windows of this epoch already used */
    uint32_t *perm;    /* this epoch's window order, n_windows entries */
    int32_t *window;   /* scratch: T + 1 tokens */
    uint32_t *last;    /* [batch] the window index of each row of the last batch (e.g. a teacher-logit cache key) */
} hx_sampler;

/* Number of windows of T + 1 tokens in a dataset: (n_tokens - 1) / T, or 0. */
uint64_t hx_batch_windows(const hx_dataset *d, int seq_len);

/* Sets up a shuffled training sampler at (epoch 0, position 0).
 * Errors: HX_EINVAL (seq_len or batch < 1, no complete window, more than
 * 2^32 - 1 windows), HX_ENOMEM. */
int hx_sampler_init(hx_sampler *s, const hx_dataset *d, int seq_len, int batch, uint64_t seed);
void hx_sampler_free(hx_sampler *s);

/* Fills the next batch: x and y are [batch][seq_len] row-major token ids
 * (y = x shifted by one token). Advances the state by `batch` windows. */
int hx_sampler_next(hx_sampler *s, int32_t *x, int32_t *y);

/* Advances the state by one batch as hx_sampler_next does, without reading
 * the tokens (the batch another data-parallel rank takes); `last` is set. */
void hx_sampler_skip(hx_sampler *s);

/* Moves the sampler to a saved state (epoch, position < n_windows), as
 * read from a checkpoint. Errors: HX_EINVAL for a position out of range. */
int hx_sampler_restore(hx_sampler *s, uint64_t epoch, uint64_t position);

/* Number of whole validation batches: n_windows / batch. */
uint64_t hx_val_batches(const hx_dataset *d, int seq_len, int batch);

/* Validation batch `index` (< hx_val_batches), x and y as for
 * hx_sampler_next. Errors: HX_EINVAL naming the index and the count. */
int hx_val_batch(const hx_dataset *d, int seq_len, int batch, uint64_t index, int32_t *x, int32_t *y);

#endif
