/* Streaming byte-level BPE trainer: counts pre-tokens with a hash map, then
 * merges the most frequent pair repeatedly with incremental pair-count
 * updates (only words containing the merged pair are touched) and a max-heap
 * with lazy re-insertion of stale counts. The result is emitted as
 * tokenizer.json text and loaded back through the ordinary loader, so a
 * trained tokenizer and its saved file are the same object. Algorithm and
 * tie-breaking are documented in data/tokenizer.h. */
#include "data/tokenizer_internal.h"

#include "core/err.h"
#include "core/util.h"
#include "data/ingest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const HX_TOKENIZER_LLAMA3_REGEX = HX_LLAMA3_REGEX;

struct hx_bpe_trainer {
    int vocab_size, min_frequency;
    char **special;
    int n_special, bos; /* bos: index into special or -1 */
    char *pattern;
    hx_pretok pre;   /* one Split step */
    hx_added added;  /* special tokens, removed from the counted text */
    hx_strmap words; /* pre-token bytes -> index into counts */
    uint64_t *counts;
    size_t cap_counts;
};

void hx_bpe_trainer_free(hx_bpe_trainer *tr)
{
    if (!tr) return;
    for (int i = 0; i < tr->n_special; i++) free(tr->special[i]);
    free(tr->special);
    free(tr->pattern);
    hx_pretok_free(&tr->pre);
    hx_added_free(&tr->added);
    hx_strmap_free(&tr->words);
    free(tr->counts);
    free(tr);
}

static int trainer_init(hx_bpe_trainer *tr, int vocab_size, const char *const *special, int n_special,
                        const hx_bpe_train_opts *opts)
{
    if (n_special < 0 || vocab_size < 256 + n_special)
        return HX_ERR(HX_EINVAL, "BPE trainer: vocab_size %d is below 256 bytes + %d special tokens", vocab_size,
                      n_special);
    tr->vocab_size = vocab_size;
    tr->min_frequency = opts && opts->min_frequency > 0 ? opts->min_frequency : 2;
    tr->bos = -1;
    tr->pattern = strdup(opts && opts->pattern ? opts->pattern : HX_LLAMA3_REGEX);
    tr->special = hx_calloc((size_t)n_special + 1, sizeof(char *));
    hx_added *a = &tr->added;
    tr->pre.steps = hx_calloc(1, sizeof(hx_pre_step));
    if (!tr->pattern || !tr->special || hx_added_alloc(a, (size_t)n_special) < 0 || !tr->pre.steps)
        return HX_ERR(HX_ENOMEM, "out of memory");
    for (int i = 0; i < n_special; i++) {
        if (!special[i] || !special[i][0] || hx_utf8_invalid_offset(special[i], strlen(special[i])) >= 0)
            return HX_ERR(HX_EINVAL, "BPE trainer: special token %d is empty or not UTF-8", i);
        tr->special[i] = strdup(special[i]);
        a->content[i] = strdup(special[i]);
        if (!tr->special[i] || !a->content[i]) return HX_ERR(HX_ENOMEM, "out of memory");
        tr->n_special = a->n = i + 1;
        a->len[i] = strlen(special[i]);
        a->id[i] = i;
        a->special[i] = 1;
        if (opts && opts->bos_token && !strcmp(opts->bos_token, special[i])) tr->bos = i;
    }
    if (opts && opts->bos_token && tr->bos < 0)
        return HX_ERR(HX_EINVAL, "BPE trainer: bos_token '%s' is not among the special tokens", opts->bos_token);
    HX_TRY(hx_added_index(a));
    HX_TRY(hx_regex_compile(tr->pattern, 0, "BPE trainer pattern", &tr->pre.steps[0].re));
    tr->pre.steps[0].kind = HX_PRE_SPLIT;
    tr->pre.steps[0].match = HX_MATCH_REGEX;
    tr->pre.steps[0].behavior = HX_SPLIT_ISOLATED;
    tr->pre.n = 1;
    return hx_strmap_init(&tr->words, 1 << 14);
}

int hx_bpe_trainer_new(int vocab_size, const char *const *special_tokens, int n_special,
                       const hx_bpe_train_opts *opts, hx_bpe_trainer **out)
{
    hx_bpe_trainer *tr = hx_calloc(1, sizeof(*tr));
    if (!tr) return HX_ENOMEM;
    int rc = trainer_init(tr, vocab_size, special_tokens, n_special, opts);
    if (rc < 0) {
        hx_bpe_trainer_free(tr);
        return rc;
    }
    *out = tr;
    return HX_OK;
}

static int count_word(void *ctx, const char *w, size_t len)
{
    hx_bpe_trainer *tr = ctx;
    long e;
    int added;
    HX_TRY(hx_strmap_put(&tr->words, w, len, 0, &e, &added));
    if ((size_t)e >= tr->cap_counts) {
        size_t cap = tr->cap_counts ? tr->cap_counts * 2 : 1 << 14;
        uint64_t *c = realloc(tr->counts, cap * sizeof(uint64_t));
        if (!c) return HX_ERR(HX_ENOMEM, "out of memory counting words");
        tr->counts = c;
        tr->cap_counts = cap;
    }
    if (added) tr->counts[e] = 0;
    tr->counts[e]++;
    return HX_OK;
}

static int count_segment(void *ctx, const char *s, size_t len, int32_t id)
{
    hx_bpe_trainer *tr = ctx;
    return id >= 0 ? HX_OK : hx_pretok_run(&tr->pre, s, len, 1, count_word, tr);
}

int hx_bpe_trainer_add(hx_bpe_trainer *tr, const char *text, size_t len)
{
    long bad = hx_utf8_invalid_offset(text, len);
    if (bad >= 0) return HX_ERR(HX_EINVAL, "BPE trainer: invalid UTF-8 at byte offset %ld", bad);
    return hx_added_split(&tr->added, text, len, count_segment, tr);
}

/* ---- merge loop ---- */

typedef struct {
    uint32_t *w; /* indices of words that contained the pair (may repeat or be stale) */
    uint32_t n, cap;
    int64_t count;
    uint32_t a, b;
    uint32_t stamp; /* merge number that last queued this pair for the heap */
} pair_info;

typedef struct {
    int64_t count;
    uint32_t a, b;
} heap_ent;

typedef struct {
    /* words */
    uint32_t *sym;  /* all words' symbols, word i at sym[off[i] .. off[i]+len[i]) */
    size_t *off;
    uint32_t *len;
    uint64_t *wcount;
    uint32_t *wstamp;
    size_t nw;
    /* pairs */
    hx_u64map pair_idx; /* (a<<32|b) -> index into pairs */
    pair_info *pairs;
    size_t npairs, cap_pairs;
    heap_ent *heap;
    size_t nheap, cap_heap;
    uint32_t *touched;
    size_t ntouched, cap_touched;
} merge_state;

static int ent_before(const heap_ent *x, const heap_ent *y)
{
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static int heap_push(merge_state *m, heap_ent v)
{
    if (m->nheap == m->cap_heap) {
        size_t cap = m->cap_heap ? m->cap_heap * 2 : 1 << 16;
        heap_ent *h = realloc(m->heap, cap * sizeof(*h));
        if (!h) return HX_ERR(HX_ENOMEM, "out of memory (BPE heap)");
        m->heap = h;
        m->cap_heap = cap;
    }
    size_t i = m->nheap++;
    while (i > 0 && ent_before(&v, &m->heap[(i - 1) / 2])) {
        m->heap[i] = m->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    m->heap[i] = v;
    return HX_OK;
}

static heap_ent heap_pop(merge_state *m)
{
    heap_ent top = m->heap[0], v = m->heap[--m->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m->nheap) break;
        if (c + 1 < m->nheap && ent_before(&m->heap[c + 1], &m->heap[c])) c++;
        if (!ent_before(&m->heap[c], &v)) break;
        m->heap[i] = m->heap[c];
        i = c;
    }
    m->heap[i] = v;
    return top;
}

/* Pair index of (a,b), created with count 0 if absent; -1 on ENOMEM. */
static long pair_get(merge_state *m, uint32_t a, uint32_t b)
{
    uint64_t *v = hx_u64map_upsert(&m->pair_idx, ((uint64_t)a << 32) | b, m->npairs);
    if (!v) return HX_ERR(HX_ENOMEM, "out of memory (BPE pairs)");
    if (*v == m->npairs) {
        if (m->npairs == m->cap_pairs) {
            size_t cap = m->cap_pairs ? m->cap_pairs * 2 : 1 << 14;
            pair_info *p = realloc(m->pairs, cap * sizeof(*p));
            if (!p) return HX_ERR(HX_ENOMEM, "out of memory (BPE pairs)");
            m->pairs = p;
            m->cap_pairs = cap;
        }
        memset(&m->pairs[m->npairs], 0, sizeof(pair_info));
        m->pairs[m->npairs].a = a;
        m->pairs[m->npairs].b = b;
        m->npairs++;
    }
    return (long)*v;
}

/* Adds `delta` occurrences of (a,b) in word w; increments record the word and
 * queue the pair for the heap (merge number `stamp`). */
static int pair_add(merge_state *m, uint32_t a, uint32_t b, int64_t delta, uint32_t w, uint32_t stamp)
{
    long p = pair_get(m, a, b);
    if (p < 0) return (int)p;
    pair_info *pi = &m->pairs[p];
    pi->count += delta;
    if (delta <= 0) return HX_OK;
    if (pi->n == pi->cap) {
        uint32_t cap = pi->cap ? pi->cap * 2 : 4;
        uint32_t *ws = realloc(pi->w, cap * sizeof(uint32_t));
        if (!ws) return HX_ERR(HX_ENOMEM, "out of memory (BPE pair words)");
        pi->w = ws;
        pi->cap = cap;
    }
    if (!pi->n || pi->w[pi->n - 1] != w) pi->w[pi->n++] = w;
    if (pi->stamp != stamp) {
        pi->stamp = stamp;
        if (m->ntouched == m->cap_touched) {
            size_t cap = m->cap_touched ? m->cap_touched * 2 : 1024;
            uint32_t *t = realloc(m->touched, cap * sizeof(uint32_t));
            if (!t) return HX_ERR(HX_ENOMEM, "out of memory (BPE touched pairs)");
            m->touched = t;
            m->cap_touched = cap;
        }
        m->touched[m->ntouched++] = (uint32_t)p;
    }
    return HX_OK;
}

static void merge_state_free(merge_state *m)
{
    free(m->sym);
    free(m->off);
    free(m->len);
    free(m->wcount);
    free(m->wstamp);
    for (size_t i = 0; i < m->npairs; i++) free(m->pairs[i].w);
    free(m->pairs);
    hx_u64map_free(&m->pair_idx);
    free(m->heap);
    free(m->touched);
}

/* Queues every pair touched since the last call with its current count. */
static int flush_touched(merge_state *m, int min_frequency)
{
    for (size_t i = 0; i < m->ntouched; i++) {
        const pair_info *pi = &m->pairs[m->touched[i]];
        if (pi->count >= min_frequency) HX_TRY(heap_push(m, (heap_ent){pi->count, pi->a, pi->b}));
    }
    m->ntouched = 0;
    return HX_OK;
}

/* Replaces each (a,b) in word w by `nid`, updating pair counts. */
static int merge_word(merge_state *m, uint32_t w, uint32_t a, uint32_t b, uint32_t nid, uint32_t stamp)
{
    uint32_t *s = m->sym + m->off[w], n = m->len[w], j = 0;
    int64_t c = (int64_t)m->wcount[w];
    for (uint32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            if (j > 0) {
                HX_TRY(pair_add(m, s[j - 1], a, -c, w, stamp));
                HX_TRY(pair_add(m, s[j - 1], nid, c, w, stamp));
            }
            if (i + 2 < n) {
                HX_TRY(pair_add(m, b, s[i + 2], -c, w, stamp));
                HX_TRY(pair_add(m, nid, s[i + 2], c, w, stamp));
            }
            HX_TRY(pair_add(m, a, b, -c, w, stamp));
            s[j++] = nid;
            i += 2;
        } else {
            s[j++] = s[i++];
        }
    }
    m->len[w] = j;
    return HX_OK;
}

/* Learned vocabulary: token bytes by id, and merges in rank order. */
typedef struct {
    char **bytes;
    uint32_t *len;
    uint32_t *ma, *mb;
    int ntok, nmerges;
} learned;

static void learned_free(learned *l)
{
    for (int i = 0; i < l->ntok; i++) free(l->bytes[i]);
    free(l->bytes);
    free(l->len);
    free(l->ma);
    free(l->mb);
}

static int load_words(hx_bpe_trainer *tr, merge_state *m)
{
    m->nw = tr->words.n;
    size_t total = tr->words.arena_len;
    m->sym = hx_malloc((total + 1) * sizeof(uint32_t));
    m->off = hx_malloc((m->nw + 1) * sizeof(size_t));
    m->len = hx_malloc((m->nw + 1) * sizeof(uint32_t));
    m->wcount = hx_malloc((m->nw + 1) * sizeof(uint64_t));
    m->wstamp = hx_calloc(m->nw + 1, sizeof(uint32_t));
    if (!m->sym || !m->off || !m->len || !m->wcount || !m->wstamp) return HX_ENOMEM;
    HX_TRY(hx_u64map_init(&m->pair_idx, 1 << 16));
    size_t o = 0;
    for (size_t w = 0; w < m->nw; w++) {
        const uint8_t *k = (const uint8_t *)hx_strmap_key(&tr->words, (long)w);
        m->off[w] = o;
        m->len[w] = tr->words.key_len[w];
        m->wcount[w] = tr->counts[w];
        for (uint32_t i = 0; i < m->len[w]; i++) m->sym[o + i] = k[i];
        for (uint32_t i = 0; i + 1 < m->len[w]; i++)
            HX_TRY(pair_add(m, k[i], k[i + 1], (int64_t)m->wcount[w], (uint32_t)w, 1));
        o += m->len[w];
    }
    return flush_touched(m, tr->min_frequency);
}

static int run_merges(hx_bpe_trainer *tr, merge_state *m, learned *l)
{
    int target = tr->vocab_size - tr->n_special;
    l->bytes = hx_calloc((size_t)target, sizeof(char *));
    l->len = hx_calloc((size_t)target, sizeof(uint32_t));
    l->ma = hx_calloc((size_t)target, sizeof(uint32_t));
    l->mb = hx_calloc((size_t)target, sizeof(uint32_t));
    if (!l->bytes || !l->len || !l->ma || !l->mb) return HX_ENOMEM;
    for (int b = 0; b < 256; b++) {
        l->bytes[b] = hx_malloc(1);
        if (!l->bytes[b]) return HX_ENOMEM;
        l->bytes[b][0] = (char)b;
        l->len[b] = 1;
        l->ntok = b + 1;
    }
    HX_TRY(load_words(tr, m));
    for (uint32_t stamp = 2; l->ntok < target && m->nheap > 0;) {
        heap_ent top = heap_pop(m);
        long p = (long)*hx_u64map_get(&m->pair_idx, ((uint64_t)top.a << 32) | top.b);
        int64_t cur = m->pairs[p].count;
        if (cur != top.count) { /* stale: counts only fall, so re-queue with the current one */
            if (cur >= tr->min_frequency) HX_TRY(heap_push(m, (heap_ent){cur, top.a, top.b}));
            continue;
        }
        uint32_t nid = (uint32_t)l->ntok;
        size_t la = l->len[top.a], lb = l->len[top.b];
        l->bytes[nid] = hx_malloc(la + lb);
        if (!l->bytes[nid]) return HX_ENOMEM;
        memcpy(l->bytes[nid], l->bytes[top.a], la);
        memcpy(l->bytes[nid] + la, l->bytes[top.b], lb);
        l->len[nid] = (uint32_t)(la + lb);
        l->ma[l->nmerges] = top.a;
        l->mb[l->nmerges] = top.b;
        l->nmerges++;
        l->ntok++;
        for (uint32_t k = 0; k < m->pairs[p].n; k++) {
            uint32_t w = m->pairs[p].w[k]; /* re-read: merge_word may move m->pairs */
            if (m->wstamp[w] == stamp) continue;
            m->wstamp[w] = stamp;
            HX_TRY(merge_word(m, w, top.a, top.b, nid, stamp));
        }
        free(m->pairs[p].w);
        m->pairs[p].w = NULL;
        m->pairs[p].n = m->pairs[p].cap = 0;
        HX_TRY(flush_touched(m, tr->min_frequency));
        stamp++;
    }
    return HX_OK;
}

static json_t *token_json(const learned *l, uint32_t id)
{
    char *s = hx_bytelevel_encode((const uint8_t *)l->bytes[id], l->len[id]);
    json_t *j = s ? json_string_nocheck(s) : NULL;
    free(s);
    return j;
}

/* The tokenizer.json document of the learned vocabulary (NULL on ENOMEM). */
static json_t *build_json(const hx_bpe_trainer *tr, const learned *l)
{
    json_t *vocab = json_object(), *merges = json_array(), *added = json_array();
    for (int id = 0; id < l->ntok; id++) {
        char *s = hx_bytelevel_encode((const uint8_t *)l->bytes[id], l->len[id]);
        if (!s) break;
        json_object_set_new(vocab, s, json_integer(id));
        free(s);
    }
    for (int i = 0; i < l->nmerges; i++)
        json_array_append_new(merges, json_pack("[oo]", token_json(l, l->ma[i]), token_json(l, l->mb[i])));
    for (int i = 0; i < tr->n_special; i++)
        json_array_append_new(added, json_pack("{sI ss sb sb sb sb sb}", "id", (json_int_t)(l->ntok + i), "content",
                                               tr->special[i], "single_word", 0, "lstrip", 0, "rstrip", 0,
                                               "normalized", 0, "special", 1));
    json_t *post = json_null();
    if (tr->bos >= 0) {
        const char *bos = tr->special[tr->bos];
        post = json_pack("{ss s[{s{sssi}} {s{sssi}}] s[{s{sssi}} {s{sssi}} {s{sssi}} {s{sssi}}] s{s{ss s[I] s[s]}}}",
                         "type", "TemplateProcessing",
                         "single", "SpecialToken", "id", bos, "type_id", 0, "Sequence", "id", "A", "type_id", 0,
                         "pair", "SpecialToken", "id", bos, "type_id", 0, "Sequence", "id", "A", "type_id", 0,
                         "SpecialToken", "id", bos, "type_id", 1, "Sequence", "id", "B", "type_id", 1,
                         "special_tokens", bos, "id", bos, "ids", (json_int_t)(l->ntok + tr->bos), "tokens", bos);
    }
    return json_pack(
        "{ss sn sn so sn s{ss s[{ss s{ss} ss sb} {ss sb sb sb}]} so s{ss sb sb sb} "
        "s{ss sn sn sn sn sb sb sb so so}}",
        "version", "1.0", "truncation", "padding", "added_tokens", added, "normalizer",
        "pre_tokenizer", "type", "Sequence", "pretokenizers", "type", "Split", "pattern", "Regex", tr->pattern,
        "behavior", "Isolated", "invert", 0, "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
        "use_regex", 0, "post_processor", post, "decoder", "type", "ByteLevel", "add_prefix_space", 1,
        "trim_offsets", 1, "use_regex", 1, "model", "type", "BPE", "dropout", "unk_token",
        "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0, "ignore_merges", 0,
        "vocab", vocab, "merges", merges);
}

int hx_bpe_trainer_finish(hx_bpe_trainer *tr, hx_tokenizer **out)
{
    if (tr->words.n == 0) return HX_ERR(HX_EINVAL, "BPE trainer: no text was added");
    merge_state m = {0};
    learned l = {0};
    int rc = run_merges(tr, &m, &l);
    merge_state_free(&m);
    if (rc < 0) {
        learned_free(&l);
        return rc;
    }
    json_t *root = build_json(tr, &l);
    learned_free(&l);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text) return HX_ERR(HX_ENOMEM, "BPE trainer: cannot build tokenizer.json");
    rc = hx_tokenizer_from_json(text, strlen(text), "trained tokenizer", out);
    if (rc < 0) free(text);
    return rc;
}

int hx_bpe_train_files(int vocab, const char *out, const hx_bpe_train_opts *opts, const char *const *special,
                       int n_special, const char *text_field, const char *const *files, int n_files)
{
    hx_bpe_trainer *tr;
    double t0 = hx_now();
    size_t total = 0;
    HX_TRY(hx_bpe_trainer_new(vocab, special, n_special, opts, &tr));
    hx_ingest *in = NULL;
    hx_ingest_opts io = {.text_field = text_field, .progress = stderr};
    int rc = hx_ingest_open(files, (size_t)n_files, &io, &in);
    hx_doc d;
    while (rc >= 0) { /* one document per chunk: a pre-token never spans two */
        int r = hx_ingest_next(in, &d);
        if (r <= 0) {
            rc = r;
            break;
        }
        rc = hx_bpe_trainer_add(tr, d.text, d.len);
        if (rc < 0) hx_adderr(rc, "%s:%llu", d.source, (unsigned long long)d.line);
        total += d.len;
    }
    hx_ingest_close(in);
    hx_tokenizer *t = NULL;
    if (rc >= 0) rc = hx_bpe_trainer_finish(tr, &t);
    hx_bpe_trainer_free(tr);
    if (rc >= 0) rc = hx_tokenizer_save(t, out);
    if (rc >= 0)
        printf("trained %d tokens on %zu bytes in %.2f s; wrote %s (sha256 %s)\n", hx_tokenizer_vocab_size(t), total,
               hx_now() - t0, out, hx_tokenizer_sha256(t));
    hx_tokenizer_free(t);
    return rc;
}
