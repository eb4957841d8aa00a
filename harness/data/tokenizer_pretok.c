/* Pre-tokenization for byte-level BPE: UTF-8 validation, the GPT-2
 * bytes_to_unicode alphabet, added-token splitting of the raw text, and the
 * Split / ByteLevel pre-tokenizer pipeline (regexes through PCRE2 with
 * UTF+UCP, JIT-compiled when available). Semantics follow HF tokenizers
 * (added_vocabulary.rs, pre_tokenizers/split.rs, pre_tokenizers/byte_level.rs). */
#include "data/tokenizer_internal.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

/* GPT-2 bytes_to_unicode: printable bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF)
 * map to themselves; the other 68, in ascending order, to U+0100 onwards. */
static uint32_t g_b2u[256];
static int16_t g_u2b[0x200]; /* every alphabet code point is < 0x144 */

static void bytelevel_init(void)
{
    static int done;
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE)) return;
    uint32_t b2u[256];
    int16_t u2b[0x200];
    uint32_t next = 0x100;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        b2u[b] = printable ? (uint32_t)b : next++;
    }
    for (int i = 0; i < 0x200; i++) u2b[i] = -1;
    for (int b = 0; b < 256; b++) u2b[b2u[b]] = (int16_t)b;
    memcpy(g_b2u, b2u, sizeof(b2u)); /* identical contents if two threads race */
    memcpy(g_u2b, u2b, sizeof(u2b));
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
}

uint32_t hx_bytelevel_char(uint8_t b)
{
    bytelevel_init();
    return g_b2u[b];
}

int hx_bytelevel_byte(uint32_t cp)
{
    bytelevel_init();
    return cp < 0x200 ? g_u2b[cp] : -1;
}

/* Decodes one UTF-8 sequence at s[0..len) (assumed valid); returns its length. */
static int utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
{
    uint8_t c = s[0];
    if (c < 0x80 || len < 2) {
        *cp = c;
        return 1;
    }
    if (c < 0xE0) {
        *cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (c < 0xF0 || len < 4) {
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
          (s[3] & 0x3F);
    return 4;
}

long hx_bytelevel_decode(const char *s, size_t len, uint8_t *out)
{
    const uint8_t *p = (const uint8_t *)s;
    long n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += (size_t)utf8_next(p + i, len - i, &cp);
        int b = hx_bytelevel_byte(cp);
        if (b < 0) return -1;
        out[n++] = (uint8_t)b;
    }
    return n;
}

char *hx_bytelevel_encode(const uint8_t *b, size_t n)
{
    char *s = hx_malloc(2 * n + 1); /* every alphabet char is 1 or 2 UTF-8 bytes */
    if (!s) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = hx_bytelevel_char(b[i]);
        if (cp < 0x80) {
            s[o++] = (char)cp;
        } else {
            s[o++] = (char)(0xC0 | (cp >> 6));
            s[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    s[o] = '\0';
    return s;
}

long hx_utf8_invalid_offset(const char *str, size_t len)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) { /* ASCII fast path */
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int n;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07, min = 0x10000;
        else return (long)i;
        if (i + (size_t)n > len) return (long)i;
        for (int k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return (long)i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return (long)i;
        i += (size_t)n;
    }
    return -1;
}

int hx_regex_compile(const char *pattern, int literal, const char *field, pcre2_code **out)
{
    int err;
    PCRE2_SIZE off;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof(msg));
        return HX_ERR(HX_EFORMAT, "%s: regex does not compile at offset %zu: %s", field, (size_t)off,
                      (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is unavailable */
    *out = re;
    return HX_OK;
}

void hx_pretok_free(hx_pretok *p)
{
    for (int i = 0; i < p->n; i++) pcre2_code_free(p->steps[i].re);
    free(p->steps);
    memset(p, 0, sizeof(*p));
}

typedef struct {
    const hx_pretok *p;
    hx_pretok_cb cb;
    void *ctx;
    pcre2_match_data *md;
} pretok_state;

static int run_step(pretok_state *st, int step, const char *s, size_t len);

/* Isolated split: every match is a piece and so is every gap between matches. */
static int split_regex(pretok_state *st, int step, const pcre2_code *re, const char *s, size_t len)
{
    size_t o = 0, last = 0;
    while (o < len) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, len, o, PCRE2_NO_UTF_CHECK, st->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) return HX_ERR(HX_EINVAL, "pre-tokenizer regex match failed (PCRE2 error %d)", rc);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) { /* empty match: step one UTF-8 char forward */
            o = ms + 1;
            while (o < len && ((uint8_t)s[o] & 0xC0) == 0x80) o++;
            continue;
        }
        if (ms > last) HX_TRY(run_step(st, step + 1, s + last, ms - last));
        HX_TRY(run_step(st, step + 1, s + ms, me - ms));
        last = o = me;
    }
    if (last < len) HX_TRY(run_step(st, step + 1, s + last, len - last));
    return HX_OK;
}

static int run_step(pretok_state *st, int step, const char *s, size_t len)
{
    if (len == 0) return HX_OK;
    if (step == st->p->n) return st->cb(st->ctx, s, len);
    const hx_pre_step *ps = &st->p->steps[step];
    if (ps->kind == HX_PRE_BYTELEVEL && ps->add_prefix_space && s[0] != ' ') {
        char stackbuf[256], *buf = len + 1 <= sizeof(stackbuf) ? stackbuf : hx_malloc(len + 1);
        if (!buf) return HX_ENOMEM;
        buf[0] = ' ';
        memcpy(buf + 1, s, len);
        int rc = ps->re ? split_regex(st, step, ps->re, buf, len + 1) : run_step(st, step + 1, buf, len + 1);
        if (buf != stackbuf) free(buf);
        return rc;
    }
    if (ps->re) return split_regex(st, step, ps->re, s, len);
    return run_step(st, step + 1, s, len);
}

int hx_pretok_run(const hx_pretok *p, const char *s, size_t len, hx_pretok_cb cb, void *ctx)
{
    pretok_state st = {p, cb, ctx, pcre2_match_data_create(4, NULL)};
    if (!st.md) return HX_ERR(HX_ENOMEM, "out of memory for regex match data");
    int rc = run_step(&st, 0, s, len);
    pcre2_match_data_free(st.md);
    return rc;
}

/* ---- added tokens ---- */

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
                if (i > start) HX_TRY(cb(ctx, text + start, i - start, -1));
                HX_TRY(cb(ctx, text + i, l, a->id[j]));
                start = i + l;
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
    free(a->order);
    memset(a, 0, sizeof(*a));
}
