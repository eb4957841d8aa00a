/* Hash maps for the tokenizer: byte strings -> int32 (vocabulary, word
 * counts, word cache) and uint64 -> uint64 (merge pairs, pair statistics).
 * Both use open addressing with linear probing and power-of-two capacity. */
#include "data/tokenizer_internal.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t hx_hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0x100000001b3ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ mix64(w)) * 0x100000001b3ULL;
        b += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, b, n);
    return mix64(h ^ w ^ ((uint64_t)n << 59));
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

int hx_strmap_init(hx_strmap *m, size_t expect)
{
    memset(m, 0, sizeof(*m));
    m->cap = pow2_at_least(expect * 2);
    m->slots = hx_calloc(m->cap, sizeof(uint32_t));
    return m->slots ? HX_OK : HX_ENOMEM;
}

void hx_strmap_free(hx_strmap *m)
{
    free(m->slots);
    free(m->hashes);
    free(m->key_off);
    free(m->key_len);
    free(m->vals);
    free(m->arena);
    memset(m, 0, sizeof(*m));
}

void hx_strmap_clear(hx_strmap *m)
{
    memset(m->slots, 0, m->cap * sizeof(uint32_t));
    m->n = 0;
    m->arena_len = 0;
}

long hx_strmap_find(const hx_strmap *m, const void *key, size_t len)
{
    uint64_t h = hx_hash_bytes(key, len);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (!s) return -1;
        size_t e = s - 1;
        if (m->hashes[e] == h && m->key_len[e] == len && !memcmp(m->arena + m->key_off[e], key, len))
            return (long)e;
    }
}

static int grow_array(void **p, size_t elem, size_t n)
{
    void *q = realloc(*p, elem * n);
    if (!q) return HX_ERR(HX_ENOMEM, "out of memory growing a hash map to %zu entries", n);
    *p = q;
    return HX_OK;
}

static int strmap_rehash(hx_strmap *m, size_t cap)
{
    uint32_t *slots = hx_calloc(cap, sizeof(uint32_t));
    if (!slots) return HX_ENOMEM;
    for (size_t e = 0; e < m->n; e++) {
        size_t i = m->hashes[e] & (cap - 1);
        while (slots[i]) i = (i + 1) & (cap - 1);
        slots[i] = (uint32_t)(e + 1);
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return HX_OK;
}

int hx_strmap_put(hx_strmap *m, const void *key, size_t len, int32_t val, long *idx, int *added)
{
    uint64_t h = hx_hash_bytes(key, len);
    size_t mask = m->cap - 1, i;
    for (i = h & mask; m->slots[i]; i = (i + 1) & mask) {
        size_t e = m->slots[i] - 1;
        if (m->hashes[e] == h && m->key_len[e] == len && !memcmp(m->arena + m->key_off[e], key, len)) {
            if (idx) *idx = (long)e;
            if (added) *added = 0;
            return HX_OK;
        }
    }
    if (m->n == m->ecap) {
        size_t ne = m->ecap ? m->ecap * 2 : 64;
        HX_TRY(grow_array((void **)&m->hashes, sizeof(uint64_t), ne));
        HX_TRY(grow_array((void **)&m->key_off, sizeof(size_t), ne));
        HX_TRY(grow_array((void **)&m->key_len, sizeof(uint32_t), ne));
        HX_TRY(grow_array((void **)&m->vals, sizeof(int32_t), ne));
        m->ecap = ne;
    }
    if (m->arena_len + len + 1 > m->arena_cap) {
        size_t na = m->arena_cap ? m->arena_cap : 4096;
        while (na < m->arena_len + len + 1) na *= 2;
        HX_TRY(grow_array((void **)&m->arena, 1, na));
        m->arena_cap = na;
    }
    size_t e = m->n++;
    m->hashes[e] = h;
    m->key_off[e] = m->arena_len;
    m->key_len[e] = (uint32_t)len;
    m->vals[e] = val;
    if (len) memcpy(m->arena + m->arena_len, key, len);
    m->arena[m->arena_len + len] = '\0';
    m->arena_len += len + 1;
    m->slots[i] = (uint32_t)(e + 1);
    if (m->n * 2 > m->cap) HX_TRY(strmap_rehash(m, m->cap * 2));
    if (idx) *idx = (long)e;
    if (added) *added = 1;
    return HX_OK;
}

int hx_u64map_init(hx_u64map *m, size_t expect)
{
    memset(m, 0, sizeof(*m));
    m->cap = pow2_at_least(expect * 2);
    m->keys = hx_malloc(m->cap * sizeof(uint64_t));
    m->vals = hx_malloc(m->cap * sizeof(uint64_t));
    m->used = hx_calloc(m->cap, 1);
    if (!m->keys || !m->vals || !m->used) {
        hx_u64map_free(m);
        return HX_ENOMEM;
    }
    return HX_OK;
}

void hx_u64map_free(hx_u64map *m)
{
    free(m->keys);
    free(m->vals);
    free(m->used);
    memset(m, 0, sizeof(*m));
}

uint64_t *hx_u64map_get(const hx_u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    for (size_t i = mix64(key) & mask; m->used[i]; i = (i + 1) & mask)
        if (m->keys[i] == key) return &m->vals[i];
    return NULL;
}

uint64_t *hx_u64map_upsert(hx_u64map *m, uint64_t key, uint64_t init)
{
    uint64_t *v = hx_u64map_get(m, key);
    if (v) return v;
    if ((m->n + 1) * 2 > m->cap) {
        hx_u64map big;
        if (hx_u64map_init(&big, m->cap) < 0) return NULL;
        for (size_t i = 0; i < m->cap; i++)
            if (m->used[i]) *hx_u64map_upsert(&big, m->keys[i], m->vals[i]) = m->vals[i];
        hx_u64map_free(m);
        *m = big;
    }
    size_t mask = m->cap - 1, i = mix64(key) & mask;
    while (m->used[i]) i = (i + 1) & mask;
    m->used[i] = 1;
    m->keys[i] = key;
    m->vals[i] = init;
    m->n++;
    return &m->vals[i];
}
