/* The embedded corpus's multiple-choice task (method in corpus_task.h) and
 * `harness make-corpus-task`. */
#include "eval/corpus_task.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/ingest.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SRC_KJV = 0, SRC_JARGON = 1, MIN_WORDS = 8, MAX_WORDS = 30 };

typedef struct {
    int doc, source, cont_words;
    char *context, *cont, *label;
} candidate;

typedef struct {
    candidate *c;
    int n, cap;
} pool;

static void pool_free(pool *p)
{
    for (int i = 0; i < p->n; i++) free(p->c[i].context), free(p->c[i].cont), free(p->c[i].label);
    free(p->c);
}

/* Collapses whitespace runs of s[0..len) to single spaces and trims. */
static char *collapse(const char *s, size_t len)
{
    char *o = hx_malloc(len + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (isspace((unsigned char)s[i])) {
            if (k > 0 && o[k - 1] != ' ') o[k++] = ' ';
        } else {
            o[k++] = s[i];
        }
    }
    while (k > 0 && o[k - 1] == ' ') k--;
    o[k] = 0;
    return o;
}

/* Adds sentence `s` (collapsed, single spaces) as a candidate when it has
 * MIN_WORDS..MAX_WORDS words: context = first w/2 words, continuation = rest. */
static int add_candidate(pool *p, int doc, int source, const char *s, const char *label)
{
    int w = 1;
    for (const char *q = s; *q; q++) w += *q == ' ';
    if (!*s || w < MIN_WORDS || w > MAX_WORDS) return HX_OK;
    int k = w / 2;
    const char *split = s;
    for (int i = 0; i < k; split++)
        if (*split == ' ') i++;
    /* split points just past the k-th space */
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 256;
        candidate *g = realloc(p->c, sizeof(candidate) * (size_t)cap);
        if (!g) return HX_ERR(HX_ENOMEM, "out of memory");
        p->c = g;
        p->cap = cap;
    }
    candidate *c = &p->c[p->n];
    c->doc = doc;
    c->source = source;
    c->cont_words = w - k;
    c->context = strndup(s, (size_t)(split - 1 - s));
    c->cont = strdup(split);
    c->label = strdup(label);
    if (!c->context || !c->cont || !c->label) {
        free(c->context), free(c->cont), free(c->label);
        return HX_ERR(HX_ENOMEM, "out of memory");
    }
    p->n++;
    return HX_OK;
}

/* KJV chapter: "Book N\n\n1 verse\n2 verse...". */
static int kjv_doc(pool *p, int doc, const char *t, size_t len)
{
    const char *nl = memchr(t, '\n', len), *end = t + len;
    char heading[64];
    snprintf(heading, sizeof heading, "%.*s", (int)((nl ? nl : end) - t), t);
    for (const char *line = nl ? nl + 1 : end; line < end;) {
        const char *e = memchr(line, '\n', (size_t)(end - line));
        if (!e) e = end;
        const char *q = line;
        while (q < e && isdigit((unsigned char)*q)) q++;
        if (q > line && q < e && *q == ' ') {
            char label[96], *s = collapse(q + 1, (size_t)(e - q - 1));
            if (!s) return HX_ENOMEM;
            snprintf(label, sizeof label, "kjv:%s:%.*s", heading, (int)(q - line), line);
            int rc = add_candidate(p, doc, SRC_KJV, s, label);
            free(s);
            HX_TRY(rc);
        }
        line = e + 1;
    }
    return HX_OK;
}

/* Jargon entry: ":name: ...\n\nbody"; the body's first sentence. */
static int jargon_doc(pool *p, int doc, const char *t, size_t len)
{
    const char *nl = memchr(t, '\n', len), *end = t + len;
    if (!nl) return HX_OK;
    const char *close = memchr(t + 1, ':', (size_t)(nl - t - 1));
    char label[96];
    snprintf(label, sizeof label, "jargon:%.*s", close ? (int)(close - t - 1) : 0, t + 1);
    char *body = collapse(nl + 1, (size_t)(end - nl - 1));
    if (!body) return HX_ENOMEM;
    for (char *q = body; *q; q++)
        if (strchr(".?!", *q) && (q[1] == ' ' || q[1] == 0)) {
            q[1] = 0;
            break;
        }
    int rc = add_candidate(p, doc, SRC_JARGON, body, label);
    free(body);
    return rc;
}

static int read_pool(const char *valid, pool *p)
{
    hx_ingest *in;
    HX_TRY(hx_ingest_open(&valid, 1, NULL, &in));
    hx_doc d;
    int rc, doc = 0;
    while ((rc = hx_ingest_next(in, &d)) == 1) {
        rc = d.len > 0 && d.text[0] == ':' ? jargon_doc(p, doc, d.text, d.len) : kjv_doc(p, doc, d.text, d.len);
        if (rc < 0) break;
        doc++;
    }
    hx_ingest_close(in);
    return rc;
}

/* Draws k distractor indices for candidate i into out (see the header). */
static int draw_distractors(const pool *p, int i, int k, hx_rng *r, int *out, int *elig)
{
    const candidate *c = &p->c[i];
    for (int d = 1; d <= MAX_WORDS; d++) {
        int n = 0;
        for (int j = 0; j < p->n; j++) {
            const candidate *o = &p->c[j];
            if (o->doc == c->doc || o->source != c->source || abs(o->cont_words - c->cont_words) > d ||
                !strcmp(o->cont, c->cont))
                continue;
            int dup = 0; /* the same text as an earlier eligible one */
            for (int e = 0; e < n && !dup; e++) dup = !strcmp(p->c[elig[e]].cont, o->cont);
            if (!dup) elig[n++] = j;
        }
        if (n < k) continue;
        for (int m = 0; m < k; m++) { /* partial Fisher-Yates */
            int pick = m + (int)hx_rng_below(r, (uint64_t)(n - m));
            int t = elig[m];
            elig[m] = elig[pick];
            elig[pick] = t;
            out[m] = elig[m];
        }
        return HX_OK;
    }
    return HX_ERR(HX_EINVAL, "corpus task: too few other %s documents to draw %d distractors for %s",
                  c->source == SRC_KJV ? "kjv" : "jargon", k, c->label);
}

/* Space-separated words of s into w (pointers into a copy *buf); returns the count. */
static int split_words(const char *s, char **buf, char **w, int max)
{
    *buf = hx_strfmt("%s", s);
    int n = 0;
    char *save = NULL;
    for (char *tok = *buf ? strtok_r(*buf, " ", &save) : NULL; tok && n < max; tok = strtok_r(NULL, " ", &save))
        w[n++] = tok;
    return n;
}

/* Whether the continuation's words have at least k + 1 distinct orders
 * (k distractors besides the true order): w distinct words have w! orders. */
static int enough_orders(const char *cont, int k)
{
    char *buf, *w[MAX_WORDS + 1];
    int n = split_words(cont, &buf, w, MAX_WORDS + 1), distinct = 0;
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = !strcmp(w[i], w[j]);
        distinct += !seen;
    }
    free(buf);
    double orders = 1;
    for (int i = 2; i <= distinct && orders <= k + 1; i++) orders *= i;
    return orders >= k + 1;
}

/* k scrambled copies of `cont` into out[0..k) (malloc'd strings), all
 * different from `cont` and from each other. */
static int scramble(const char *cont, int k, hx_rng *r, char **out)
{
    char *buf, *w[MAX_WORDS + 1];
    int n = split_words(cont, &buf, w, MAX_WORDS + 1), rc = buf ? HX_OK : HX_ENOMEM;
    for (int m = 0; rc == HX_OK && m < k; m++) {
        for (;;) {
            for (int i = n - 1; i > 0; i--) {
                int j = (int)hx_rng_below(r, (uint64_t)i + 1);
                char *t = w[i];
                w[i] = w[j];
                w[j] = t;
            }
            size_t len = 0;
            for (int i = 0; i < n; i++) len += strlen(w[i]) + 1;
            char *s = hx_malloc(len + 1);
            if (!s) {
                rc = HX_ENOMEM;
                break;
            }
            s[0] = 0;
            for (int i = 0; i < n; i++) strcat(strcat(s, i ? " " : ""), w[i]);
            int dup = !strcmp(s, cont);
            for (int e = 0; e < m && !dup; e++) dup = !strcmp(s, out[e]);
            if (!dup) {
                out[m] = s;
                break;
            }
            free(s);
        }
    }
    free(buf);
    return rc;
}

int hx_corpus_task_build(const char *valid, const hx_corpus_task_opts *o, char **out, size_t *len, int *n_items)
{
    if (o->choices < 2 || o->n < 1)
        return HX_ERR(HX_EINVAL, "corpus task: choices must be >= 2 and n >= 1 (got %d, %d)", o->choices, o->n);
    pool p = {0};
    int rc = read_pool(valid, &p);
    if (rc == HX_OK && p.n == 0) rc = HX_ERR(HX_EINVAL, "corpus task: %s has no usable verse or sentence", valid);
    uint32_t *order = rc == HX_OK ? hx_malloc(sizeof(uint32_t) * (size_t)p.n) : NULL;
    int *elig = rc == HX_OK ? hx_malloc(sizeof(int) * (size_t)p.n) : NULL;
    int *dis = rc == HX_OK ? hx_malloc(sizeof(int) * (size_t)o->choices) : NULL;
    if (rc == HX_OK && (!order || !elig || !dis)) rc = HX_ENOMEM;
    hx_rng r;
    hx_rng_seed(&r, o->seed);
    int n = o->n < p.n ? o->n : p.n;
    if (rc == HX_OK) {
        int m = 0;
        for (int i = 0; i < p.n; i++)
            if (!o->scrambled || enough_orders(p.c[i].cont, o->choices - 1)) order[m++] = (uint32_t)i;
        hx_rng_shuffle_u32(&r, order, (size_t)m);
        if (n > m) n = m;
        /* back to corpus order: sort the first n indices */
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && order[j - 1] > order[j]; j--) {
                uint32_t t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
    }
    char *buf = NULL;
    size_t blen = 0;
    FILE *mem = rc == HX_OK ? open_memstream(&buf, &blen) : NULL;
    if (rc == HX_OK && !mem) rc = HX_ERR(HX_ENOMEM, "out of memory");
    for (int i = 0; rc == HX_OK && i < n; i++) {
        const candidate *c = &p.c[order[i]];
        char *scr[26] = {0};
        rc = o->scrambled ? scramble(c->cont, o->choices - 1, &r, scr)
                          : draw_distractors(&p, (int)order[i], o->choices - 1, &r, dis, elig);
        if (rc < 0) break;
        int gold = (int)hx_rng_below(&r, (uint64_t)o->choices);
        json_t *choices = json_array();
        for (int k = 0, d = 0; k < o->choices; k++)
            json_array_append_new(choices, json_string(k == gold        ? c->cont
                                                       : o->scrambled ? scr[d++]
                                                                      : p.c[dis[d++]].cont));
        for (int k = 0; k < o->choices - 1; k++) free(scr[k]);
        json_t *item = json_pack("{s:s,s:o,s:i,s:s}", "context", c->context, "choices", choices, "gold", gold, "doc",
                                 c->label);
        char *line = item ? json_dumps(item, JSON_COMPACT) : NULL;
        if (!line) rc = HX_ERR(HX_ENOMEM, "out of memory");
        else fprintf(mem, "%s\n", line);
        free(line);
        json_decref(item);
    }
    if (mem) fclose(mem);
    free(order);
    free(elig);
    free(dis);
    pool_free(&p);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = blen;
    *n_items = n;
    return HX_OK;
}
