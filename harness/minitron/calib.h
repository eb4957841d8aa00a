/* Calibration samples for the importance pass (Minitron NeurIPS 2024 §2.1:
 * N samples of a fixed sequence length; ModelOpt's prune_minitron.py draws
 * 1024 by default): packed token windows from a token dataset, never padded. */
#ifndef HX_MINITRON_CALIB_H
#define HX_MINITRON_CALIB_H

#include "data/shard.h"

#include <stdint.h>

/* Draws n distinct windows of seq_len + 1 tokens from `d` into out
 * [n, seq_len + 1] (row-major). Windows lie on the grid of data/batch.h:
 * window k is stream tokens [k*seq_len, k*seq_len + seq_len], so documents
 * are packed back to back with their boundary tokens and a window may span
 * several documents. The window indices are chosen uniformly without
 * replacement (Floyd's algorithm) with hx_rng seeded by `seed`, and written
 * in ascending stream order; the result depends only on (dataset, n,
 * seq_len, seed). Errors: HX_EINVAL (n or seq_len < 1, or fewer than n
 * windows in the dataset, naming both counts), HX_ENOMEM. */
int hx_calib_draw(const hx_dataset *d, int n, int seq_len, uint64_t seed, int32_t *out);

#endif
