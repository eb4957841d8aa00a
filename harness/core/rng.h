/* Deterministic pseudo-random numbers: a 64-bit SplitMix generator with
 * uniform, normal and shuffle helpers. Same seed, same stream, on every
 * platform (integer arithmetic only; normals via Box-Muller in double). */
#ifndef HX_CORE_RNG_H
#define HX_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t state;
} hx_rng;

/* Seeds the generator. Different seeds give independent-looking streams. */
void hx_rng_seed(hx_rng *r, uint64_t seed);

/* Derives a child generator for a named sub-stream (e.g. one per tensor), so
 * that adding a stream does not shift the others. */
hx_rng hx_rng_fork(const hx_rng *r, uint64_t stream);

uint64_t hx_rng_u64(hx_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double hx_rng_uniform(hx_rng *r);
/* Uniform integer in [0, n), unbiased (rejection sampling); n > 0. */
uint64_t hx_rng_below(hx_rng *r, uint64_t n);
/* Standard normal N(0, 1) by Box-Muller (one value per call). */
double hx_rng_normal(hx_rng *r);
/* Fisher-Yates shuffle of n uint32 indices in place. */
void hx_rng_shuffle_u32(hx_rng *r, uint32_t *a, size_t n);

#endif
