/* BPE encode: added-token extraction, normalization, pre-tokenization, then per
 * pre-token: with ignore_merges a token already in the vocabulary is emitted
 * directly; otherwise the units (bytes, or characters when not byte-level)
 * start as symbols in a linked list and the lowest-rank adjacent pair
 * (leftmost on ties) is merged until none is left, using a binary heap of
 * candidate merges invalidated lazily (as HF tokenizers models/bpe/word.rs).
 * Results are memoised in a per-thread word cache keyed by the pre-token bytes. */
#include "data/tokenizer_internal.h"

#include "core/err.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-thread word cache ---- */

#define CACHE_MAX_WORD 64       /* longer pre-tokens are not cached (bytes) */
#define CACHE_MAX_ENTRIES 65536 /* cleared when full */

typedef struct {
    uint64_t gen; /* tokenizer instance the entries belong to */
    hx_strmap map; /* pre-token bytes -> offset into ids (entry value) */
    int32_t *ids;  /* ids[off] = count, ids[off+1..] = token ids */
    size_t n_ids, cap_ids;
} word_cache;

static pthread_key_t g_cache_key;
static pthread_once_t g_cache_once = PTHREAD_ONCE_INIT;

static void cache_destroy(void *p)
{
    word_cache *c = p;
    hx_strmap_free(&c->map);
    free(c->ids);
    free(c);
}

static void cache_key_init(void) { pthread_key_create(&g_cache_key, cache_destroy); }

/* The calling thread's cache for tokenizer `t` (NULL if it cannot be made). */
static word_cache *cache_get(const hx_tokenizer *t)
{
    pthread_once(&g_cache_once, cache_key_init);
    word_cache *c = pthread_getspecific(g_cache_key);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c || hx_strmap_init(&c->map, 1024) < 0) {
            free(c);
            return NULL;
        }
        pthread_setspecific(g_cache_key, c);
    }
    if (c->gen != t->gen || c->map.n >= CACHE_MAX_ENTRIES) {
        hx_strmap_clear(&c->map);
        c->n_ids = 0;
        c->gen = t->gen;
    }
    return c;
}

static void cache_put(word_cache *c, const char *w, size_t len, const int32_t *ids, size_t n)
{
    if (c->n_ids + n + 1 > c->cap_ids) {
        size_t cap = c->cap_ids ? c->cap_ids * 2 : 4096;
        while (cap < c->n_ids + n + 1) cap *= 2;
        int32_t *p = realloc(c->ids, cap * sizeof(int32_t));
        if (!p) return; /* caching is best effort */
        c->ids = p;
        c->cap_ids = cap;
    }
    if (hx_strmap_put(&c->map, w, len, (int32_t)c->n_ids, NULL, NULL) < 0) {
        hx_clearerr();
        return;
    }
    c->ids[c->n_ids] = (int32_t)n;
    memcpy(c->ids + c->n_ids + 1, ids, n * sizeof(int32_t));
    c->n_ids += n + 1;
}

/* ---- output buffer ---- */

typedef struct {
    const hx_tokenizer *t;
    int32_t *ids;
    size_t n, cap;
    word_cache *cache;
    const char *text;      /* the text being encoded */
    const char *norm_base; /* the normalized piece being split on added tokens */
    int norm_at_start;     /* that piece starts the text */
    hx_buf norm;           /* normalizer output */
    /* scratch for bpe_word */
    int32_t *sym, *prev, *next;
    uint64_t *heap;
    size_t scratch_cap;
} enc_state;

static int push_ids(enc_state *e, const int32_t *ids, size_t n)
{
    if (n == 0) return HX_OK;
    if (e->n + n > e->cap) {
        size_t cap = e->cap ? e->cap : 256;
        while (cap < e->n + n) cap *= 2;
        int32_t *p = realloc(e->ids, cap * sizeof(int32_t));
        if (!p) return HX_ERR(HX_ENOMEM, "out of memory for %zu token ids", cap);
        e->ids = p;
        e->cap = cap;
    }
    memcpy(e->ids + e->n, ids, n * sizeof(int32_t));
    e->n += n;
    return HX_OK;
}

/* Heap of candidate merges packed as rank<<32 | position: ordering the u64
 * orders by (rank, position), i.e. lowest rank first, leftmost on ties. */
static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], v = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return top;
}

/* Rank<<32|new_id of merging symbols a and b, or UINT64_MAX. */
static inline uint64_t merge_of(const hx_tokenizer *t, int32_t a, int32_t b)
{
    const uint64_t *v = hx_u64map_get(&t->merges, ((uint64_t)(uint32_t)a << 32) | (uint32_t)b);
    return v ? *v : UINT64_MAX;
}

/* Fills key[] with unit u[0..ul) of a pre-token with the continuing_subword_
 * prefix (not on the first unit) and the end_of_word_suffix (on the last). */
static size_t unit_key(const hx_tokenizer *t, const char *u, size_t ul, int first, int last, char *key)
{
    size_t k = 0; /* an unset prefix or suffix is NULL with length 0 */
    if (!first && t->cont_prefix_len) memcpy(key, t->cont_prefix, t->cont_prefix_len), k = t->cont_prefix_len;
    memcpy(key + k, u, ul);
    k += ul;
    if (last && t->word_suffix_len) memcpy(key + k, t->word_suffix, t->word_suffix_len), k += t->word_suffix_len;
    return k;
}

/* The <0xXX> tokens of the UTF-8 bytes of a key's vocabulary text (its byte-
 * level characters when byte-level) into out; 0 unless all of them exist. */
static size_t fallback_ids(const hx_tokenizer *t, const char *key, size_t kl, int32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < kl; i++) {
        char u[4];
        int m = 1;
        if (t->bytelevel) m = hx_utf8_put(u, hx_bytelevel_char((uint8_t)key[i]));
        else u[0] = key[i];
        for (int k = 0; k < m; k++) {
            int32_t id = t->fallback_id[(uint8_t)u[k]];
            if (id < 0) return 0;
            out[n++] = id;
        }
    }
    return n;
}

/* The initial symbols of pre-token w into e->sym (HF models/bpe/model.rs
 * merge_word): one per unit (byte when byte-level, else character), looked up
 * with prefix/suffix; a unit not in the vocabulary becomes its <0xXX> tokens
 * with byte_fallback (when all exist), else unk_token (a run fused into one
 * with fuse_unk; the fallback tokens of a later unit go before a held unk, as
 * in HF), else nothing. */
static size_t initial_symbols(enc_state *e, const char *w, size_t len)
{
    const hx_tokenizer *t = e->t;
    int32_t *sym = e->sym;
    size_t ns = 0;
    int held_unk = 0, plain = !t->cont_prefix_len && !t->word_suffix_len;
    char key[HX_TOKENIZER_MAX_AFFIX * 2 + 4];
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t ul = t->bytelevel ? 1 : (size_t)hx_utf8_next((const uint8_t *)w + i, len - i, &cp);
        const char *k = w + i;
        size_t kl = ul;
        int32_t id;
        if (plain && ul == 1) {
            id = t->byte_id[(uint8_t)w[i]];
        } else {
            if (!plain) kl = unit_key(t, w + i, ul, i == 0, i + ul == len, key), k = key;
            long f = hx_strmap_find(&t->vocab, k, kl);
            id = f < 0 ? -1 : t->vocab.vals[f];
        }
        i += ul;
        if (id >= 0) {
            if (held_unk) sym[ns++] = t->unk_id, held_unk = 0;
            sym[ns++] = id;
            continue;
        }
        size_t nf = t->byte_fallback ? fallback_ids(t, k, kl, sym + ns) : 0;
        if (nf) {
            ns += nf;
        } else if (t->unk_id >= 0) {
            if (held_unk && !t->fuse_unk) sym[ns++] = t->unk_id;
            held_unk = 1;
        }
    }
    if (held_unk) sym[ns++] = t->unk_id;
    return ns;
}

/* Appends the BPE tokens of one pre-token (raw bytes). */
static int bpe_word(enc_state *e, const char *w, size_t len)
{
    const hx_tokenizer *t = e->t;
    /* a unit gives at most 1 + prefix + suffix fallback bytes, each up to 2 UTF-8 bytes when byte-level */
    size_t need = len * (2 * (t->cont_prefix_len + t->word_suffix_len) + 4) + 8;
    if (need > e->scratch_cap) {
        size_t cap = need * 2;
        int32_t *s = realloc(e->sym, cap * 3 * sizeof(int32_t));
        /* the merge heap of ns symbols holds up to 2(ns-1) entries (the first pairs, then at most one
         * more per merge); cap = 2 need >= 2 ns */
        uint64_t *h = realloc(e->heap, cap * sizeof(uint64_t));
        if (s) e->sym = s;
        if (h) e->heap = h;
        if (!s || !h) return HX_ERR(HX_ENOMEM, "out of memory for a %zu-byte pre-token", len);
        e->prev = e->sym + cap;
        e->next = e->sym + 2 * cap;
        e->scratch_cap = cap;
    }
    int32_t *sym = e->sym, *prev = e->prev, *next = e->next;
    uint64_t *heap = e->heap;
    size_t nh = 0, ns = 0;
    ns = initial_symbols(e, w, len);
    for (size_t i = 0; i < ns; i++) {
        prev[i] = (int32_t)i - 1;
        next[i] = (int32_t)i + 1;
    }
    if (ns == 0) return HX_OK;
    next[ns - 1] = -1;
    for (size_t i = 0; i + 1 < ns; i++) {
        uint64_t m = merge_of(t, sym[i], sym[i + 1]);
        if (m != UINT64_MAX) heap_push(heap, &nh, (m & 0xFFFFFFFF00000000ULL) | i);
    }
    while (nh) {
        uint64_t top = heap_pop(heap, &nh);
        int32_t pos = (int32_t)(top & 0xFFFFFFFFu), nx = next[pos];
        if (sym[pos] < 0 || nx < 0) continue; /* merged away, or no right neighbour any more */
        uint64_t m = merge_of(t, sym[pos], sym[nx]);
        if (m == UINT64_MAX || (m >> 32) != (top >> 32)) continue; /* stale entry */
        sym[pos] = (int32_t)(m & 0xFFFFFFFFu);
        sym[nx] = -1;
        next[pos] = next[nx];
        if (next[nx] >= 0) prev[next[nx]] = pos;
        if (prev[pos] >= 0) {
            uint64_t pm = merge_of(t, sym[prev[pos]], sym[pos]);
            if (pm != UINT64_MAX) heap_push(heap, &nh, (pm & 0xFFFFFFFF00000000ULL) | (uint32_t)prev[pos]);
        }
        if (next[pos] >= 0) {
            uint64_t nm = merge_of(t, sym[pos], sym[next[pos]]);
            if (nm != UINT64_MAX) heap_push(heap, &nh, (nm & 0xFFFFFFFF00000000ULL) | (uint32_t)pos);
        }
    }
    size_t start = e->n, k = 0;
    for (int32_t i = 0; i >= 0; i = next[i]) sym[k++] = sym[i];
    HX_TRY(push_ids(e, sym, k));
    if (e->cache && len <= CACHE_MAX_WORD) cache_put(e->cache, w, len, e->ids + start, k);
    return HX_OK;
}

static int on_pretoken(void *ctx, const char *w, size_t len)
{
    enc_state *e = ctx;
    const hx_tokenizer *t = e->t;
    if (t->ignore_merges) {
        long i = hx_strmap_find(&t->vocab, w, len);
        if (i >= 0) return push_ids(e, &t->vocab.vals[i], 1);
    }
    if (e->cache && len <= CACHE_MAX_WORD) {
        long i = hx_strmap_find(&e->cache->map, w, len);
        if (i >= 0) {
            const int32_t *c = e->cache->ids + e->cache->map.vals[i];
            return push_ids(e, c + 1, (size_t)c[0]);
        }
    }
    return bpe_word(e, w, len);
}

/* A piece of normalized text between normalized added tokens. */
static int on_norm_segment(void *ctx, const char *s, size_t len, int32_t id)
{
    enc_state *e = ctx;
    if (id >= 0) return push_ids(e, &id, 1);
    return hx_pretok_run(&e->t->pre, s, len, e->norm_at_start && s == e->norm_base, on_pretoken, e);
}

/* A piece of the raw text between raw-matched added tokens: normalized, then
 * split on the normalized added tokens (HF AddedVocabulary::extract_and_normalize). */
static int on_segment(void *ctx, const char *s, size_t len, int32_t id)
{
    enc_state *e = ctx;
    const hx_tokenizer *t = e->t;
    if (id >= 0) return push_ids(e, &id, 1);
    int at_start = s == e->text;
    if (!t->norm.n && !t->added_norm.n) return hx_pretok_run(&t->pre, s, len, at_start, on_pretoken, e);
    e->norm_base = s;
    if (t->norm.n) {
        HX_TRY(hx_norm_apply(&t->norm, s, len, &e->norm));
        e->norm_base = e->norm.p;
        len = e->norm.n;
    }
    e->norm_at_start = at_start;
    return hx_added_split(&t->added_norm, e->norm_base, len, on_norm_segment, e);
}

int hx_tokenizer_encode(const hx_tokenizer *t, const char *text, size_t len, int add_special, int32_t **ids,
                        size_t *n)
{
    *ids = NULL;
    *n = 0;
    long bad = hx_utf8_invalid_offset(text, len);
    if (bad >= 0) return HX_ERR(HX_EINVAL, "encode: invalid UTF-8 at byte offset %ld", bad);
    enc_state e = {.t = t, .cache = cache_get(t), .text = text};
    int rc = HX_OK;
    if (add_special) rc = push_ids(&e, t->prefix, (size_t)t->n_prefix);
    if (rc >= 0) rc = hx_added_split(&t->added, text, len, on_segment, &e);
    if (rc >= 0 && add_special) rc = push_ids(&e, t->suffix, (size_t)t->n_suffix);
    if (rc >= 0 && !e.ids) {
        e.ids = malloc(sizeof(int32_t)); /* a valid pointer for an empty result */
        if (!e.ids) rc = HX_ERR(HX_ENOMEM, "out of memory");
    }
    free(e.sym);
    free(e.heap);
    free(e.norm.p);
    if (rc < 0) {
        free(e.ids);
        return rc;
    }
    *ids = e.ids;
    *n = e.n;
    return HX_OK;
}
