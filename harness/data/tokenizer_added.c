/* Added tokens (HF tokenizer/added_vocabulary.rs find_matches): leftmost-
 * longest matching of a token set in a piece of text, with the single_word,
 * lstrip and rstrip options. A match failing single_word is dropped without
 * retrying a shorter token at that place (as HF's Aho-Corasick iterator). */
#include "data/tokenizer_internal.h"

#include "core/err.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

int hx_added_alloc(hx_added *a, size_t n)
{
    a->content = hx_calloc(n + 1, sizeof(char *));
    a->len = hx_calloc(n + 1, sizeof(size_t));
    a->id = hx_calloc(n + 1, sizeof(int32_t));
    a->special = hx_calloc(n + 1, sizeof(int));
    a->flags = hx_calloc(n + 1, 1);
    return a->content && a->len && a->id && a->special && a->flags ? HX_OK : HX_ENOMEM;
}

static int cmp_len_desc(const void *a, const void *b, void *arg)
{
    const hx_added *ad = arg;
    size_t la = ad->len[*(const int *)a], lb = ad->len[*(const int *)b];
    if (la != lb) return la > lb ? -1 : 1;
    return *(const int *)a - *(const int *)b;
}

int hx_added_index(hx_added *a)
{
    memset(a->first, 0, sizeof(a->first));
    free(a->order);
    a->order = hx_malloc((size_t)(a->n ? a->n : 1) * sizeof(int));
    if (!a->order) return HX_ENOMEM;
    for (int i = 0; i < a->n; i++) {
        a->order[i] = i;
        if (a->len[i]) a->first[(uint8_t)a->content[i][0]] = 1;
    }
    qsort_r(a->order, (size_t)a->n, sizeof(int), cmp_len_desc, a); /* ties: lower index first */
    return HX_OK;
}

/* The code point ending at s[end) (s[0..end) valid UTF-8, end > 0). */
static uint32_t last_char(const char *s, size_t end, size_t *start)
{
    size_t c = end - 1;
    while (c > 0 && ((uint8_t)s[c] & 0xC0) == 0x80) c--;
    uint32_t cp;
    hx_utf8_next((const uint8_t *)s + c, end - c, &cp);
    *start = c;
    return cp;
}

/* Whether the match [i, e) of token j stands as a word of its own. */
static int single_word_ok(const char *text, size_t len, size_t i, size_t e)
{
    size_t c;
    uint32_t cp;
    if (i > 0 && hx_uni_is_word(last_char(text, i, &c))) return 0;
    if (e < len) {
        hx_utf8_next((const uint8_t *)text + e, len - e, &cp);
        if (hx_uni_is_word(cp)) return 0;
    }
    return 1;
}

int hx_added_split(const hx_added *a, const char *text, size_t len, hx_added_cb cb, void *ctx)
{
    size_t start = 0;
    if (a->n > 0) {
        for (size_t i = 0; i < len; i++) {
            if (!a->first[(uint8_t)text[i]]) continue;
            for (int k = 0; k < a->n; k++) {
                int j = a->order[k];
                size_t l = a->len[j];
                if (l == 0 || l > len - i || memcmp(text + i, a->content[j], l)) continue;
                uint8_t fl = a->flags ? a->flags[j] : 0;
                size_t ms = i, me = i + l;
                if ((fl & HX_ADDED_SINGLE_WORD) && !single_word_ok(text, len, ms, me)) {
                    i = me - 1; /* skipped, the search resumes after it */
                    break;
                }
                if (fl & HX_ADDED_LSTRIP) {
                    size_t c;
                    while (ms > start && hx_uni_is_space(last_char(text, ms, &c))) ms = c;
                }
                if (fl & HX_ADDED_RSTRIP) {
                    uint32_t cp;
                    int n;
                    while (me < len && (n = hx_utf8_next((const uint8_t *)text + me, len - me, &cp)) &&
                           hx_uni_is_space(cp))
                        me += (size_t)n;
                }
                if (ms > start) HX_TRY(cb(ctx, text + start, ms - start, -1));
                HX_TRY(cb(ctx, text + ms, me - ms, a->id[j]));
                start = me;
                i = start - 1;
                break;
            }
        }
    }
    if (len > start) HX_TRY(cb(ctx, text + start, len - start, -1));
    return HX_OK;
}

void hx_added_free(hx_added *a)
{
    for (int i = 0; i < a->n; i++) free(a->content[i]);
    free(a->content);
    free(a->len);
    free(a->id);
    free(a->special);
    free(a->flags);
    free(a->order);
    memset(a, 0, sizeof(*a));
}
