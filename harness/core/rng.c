/* SplitMix64 generator (Steele, Lea, Flood, OOPSLA 2014) and derived draws. */
#include "core/rng.h"

#include <math.h>

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void hx_rng_seed(hx_rng *r, uint64_t seed) { r->state = mix64(seed ^ 0x6A09E667F3BCC909ULL); }

hx_rng hx_rng_fork(const hx_rng *r, uint64_t stream)
{
    hx_rng c = {mix64(r->state ^ mix64(stream + 0x9E3779B97F4A7C15ULL))};
    return c;
}

uint64_t hx_rng_u64(hx_rng *r)
{
    r->state += 0x9E3779B97F4A7C15ULL;
    return mix64(r->state);
}

double hx_rng_uniform(hx_rng *r) { return (double)(hx_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t hx_rng_below(hx_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = hx_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double hx_rng_normal(hx_rng *r)
{
    double u1 = 1.0 - hx_rng_uniform(r); /* (0, 1] so log is finite */
    double u2 = hx_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void hx_rng_shuffle_u32(hx_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)hx_rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
