/* A teacher-logit cache shared by every KD arm and seed of an experiment:
 * the teacher's top-k logits of each training window (data/batch.h's fixed
 * window grid), computed the first time any arm draws the window and read
 * back afterwards, so that the teacher's forward pass runs once per window
 * instead of once per arm and seed. One cache per (teacher, training data,
 * sequence length, k, tau): the caller names the directory by their hash.
 *
 * Layout: <dir>/META (one line: "hx-logit-cache v1 T k tau_bits n_windows")
 * and <dir>/topk.bin, a sparse file of fixed-size records, record w at byte
 * w * record_bytes: uint64 (w + 1), float lse[T], int32 ids[T][k],
 * float vals[T][k] (hx_kd_topk_extract's layout), uint64 FNV-1a of the
 * preceding bytes. A record whose check does not match (never written, or
 * cut short by a killed run) reads as absent and is computed again. */
#ifndef HX_TRAIN_LOGIT_CACHE_H
#define HX_TRAIN_LOGIT_CACHE_H

#include <stdint.h>

typedef struct hx_logit_cache hx_logit_cache;

/* Opens (creating when missing) the cache in `dir` for windows of T tokens,
 * k logits per token, temperature tau, over a training set of n_windows
 * windows. Errors: HX_EINVAL when an existing cache was made with other
 * settings (named), HX_EIO. */
int hx_logit_cache_open(const char *dir, int T, int k, double tau, uint64_t n_windows, hx_logit_cache **out);
void hx_logit_cache_close(hx_logit_cache *c);

/* Window w's record into ids [T, k], vals [T, k], lse [T]. Returns 1 when
 * present and intact, 0 when absent; errors: HX_EINVAL (w out of range),
 * HX_EIO. */
int hx_logit_cache_get(hx_logit_cache *c, uint64_t w, int32_t *ids, float *vals, float *lse);

/* Writes window w's record. Errors: HX_EINVAL, HX_EIO, HX_ENOSPC. */
int hx_logit_cache_put(hx_logit_cache *c, uint64_t w, const int32_t *ids, const float *vals, const float *lse);

/* Windows read from the cache and windows written to it since opening. */
void hx_logit_cache_stats(const hx_logit_cache *c, uint64_t *hits, uint64_t *misses);

#endif
