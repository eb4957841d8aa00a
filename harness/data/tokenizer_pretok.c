/* Pre-tokenization: UTF-8 validation and coding, the GPT-2 bytes_to_unicode
 * alphabet, and the pre-tokenizer pipeline (Split by regex or character class
 * with every HF split behaviour, ByteLevel, Metaspace; regexes through PCRE2
 * with UTF+UCP, JIT-compiled when available). Semantics follow HF tokenizers
 * (pre_tokenizers/{split,byte_level,metaspace,digits,punctuation,whitespace}.rs,
 * tokenizer/normalizer.rs split). */
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

int hx_utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
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

int hx_utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | (cp >> 6)), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

long hx_bytelevel_decode(const char *s, size_t len, uint8_t *out)
{
    const uint8_t *p = (const uint8_t *)s;
    long n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += (size_t)hx_utf8_next(p + i, len - i, &cp);
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
        o += (size_t)hx_utf8_put(s + o, hx_bytelevel_char(b[i]));
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
    uint32_t opts = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP); /* LITERAL refuses UCP */
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


/* ---- the pipeline: each step splits a piece and hands the parts to the next ---- */

typedef struct {
    const hx_pretok *p;
    hx_pretok_cb cb;
    void *ctx;
    pcre2_match_data *md;
} pretok_state;

static int run_step(pretok_state *st, int step, const char *s, size_t len, int at_start);

/* The next non-empty match at or after `from` ([*ms, *me)): 1, 0 for none, <0 on error. */
static int next_match(pretok_state *st, const hx_pre_step *ps, const char *s, size_t len, size_t from, size_t *ms,
                      size_t *me)
{
    if (ps->match == HX_MATCH_REGEX) {
        while (from < len) {
            int rc = pcre2_match(ps->re, (PCRE2_SPTR)s, len, from, PCRE2_NO_UTF_CHECK, st->md, NULL);
            if (rc == PCRE2_ERROR_NOMATCH) return 0;
            if (rc < 0) return HX_ERR(HX_EINVAL, "pre-tokenizer regex match failed (PCRE2 error %d)", rc);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
            if (ov[1] > ov[0]) {
                *ms = ov[0], *me = ov[1];
                return 1;
            }
            from = ov[0] + 1; /* empty match: step one UTF-8 char forward */
            while (from < len && ((uint8_t)s[from] & 0xC0) == 0x80) from++;
        }
        return 0;
    }
    for (size_t i = from; i < len;) {
        uint32_t cp;
        int n = hx_utf8_next((const uint8_t *)s + i, len - i, &cp);
        int hit = ps->match == HX_MATCH_DIGIT   ? hx_uni_is_numeric(cp)
                  : ps->match == HX_MATCH_PUNCT ? hx_uni_is_punct(cp)
                  : ps->match == HX_MATCH_SPACE ? hx_uni_is_space(cp)
                                                : cp == ps->cp;
        if (hit) {
            *ms = i, *me = i + (size_t)n;
            return 1;
        }
        i += (size_t)n;
    }
    return 0;
}

/* A part held back until the next one shows whether the two merge. */
typedef struct {
    size_t a, b;
    int match, have;
} pending;

static int emit(pretok_state *st, int step, const char *s, size_t a, size_t b, int at_start)
{
    return run_step(st, step + 1, s + a, b - a, at_start && a == 0);
}

/* Routes part [a, b) (a match or the gap between matches) through the split
 * behaviour (HF tokenizer/normalizer.rs NormalizedString::split). */
static int feed(pretok_state *st, int step, const hx_pre_step *ps, const char *s, pending *pd, size_t a, size_t b,
                int match, int at_start)
{
    match ^= ps->invert;
    if (ps->behavior == HX_SPLIT_REMOVED) return match ? HX_OK : emit(st, step, s, a, b, at_start);
    if (ps->behavior == HX_SPLIT_ISOLATED) return emit(st, step, s, a, b, at_start);
    int merge = pd->have && (ps->behavior == HX_SPLIT_CONTIGUOUS    ? pd->match && match
                             : ps->behavior == HX_SPLIT_MERGED_PREV ? match && !pd->match
                                                                    : pd->match && !match);
    if (merge) {
        pd->b = b;
        pd->match = match;
        return HX_OK;
    }
    if (pd->have) HX_TRY(emit(st, step, s, pd->a, pd->b, at_start));
    *pd = (pending){a, b, match, 1};
    return HX_OK;
}

static int split(pretok_state *st, int step, const char *s, size_t len, int at_start)
{
    const hx_pre_step *ps = &st->p->steps[step];
    if (ps->match == HX_MATCH_REGEX && !ps->re) return run_step(st, step + 1, s, len, at_start);
    pending pd = {0};
    size_t o = 0, ms = 0, me = 0;
    int r, isolated = ps->behavior == HX_SPLIT_ISOLATED; /* the common case: every part goes on as it is */
    while ((r = next_match(st, ps, s, len, o, &ms, &me)) > 0) {
        if (isolated) {
            if (ms > o) HX_TRY(run_step(st, step + 1, s + o, ms - o, at_start && o == 0));
            HX_TRY(run_step(st, step + 1, s + ms, me - ms, at_start && ms == 0));
        } else {
            if (ms > o) HX_TRY(feed(st, step, ps, s, &pd, o, ms, 0, at_start));
            HX_TRY(feed(st, step, ps, s, &pd, ms, me, 1, at_start));
        }
        o = me;
    }
    HX_TRY(r);
    if (o < len) HX_TRY(feed(st, step, ps, s, &pd, o, len, 0, at_start));
    return pd.have ? emit(st, step, s, pd.a, pd.b, at_start) : HX_OK;
}

/* Metaspace (HF pre_tokenizers/metaspace.rs): ' ' -> replacement, then the
 * replacement prepended per prepend_scheme, then the split. */
static int metaspace(pretok_state *st, int step, const char *s, size_t len, int at_start)
{
    const hx_pre_step *ps = &st->p->steps[step];
    size_t rl = (size_t)ps->repl_len, cap = (len + 1) * rl + 1;
    char stackbuf[512], *buf = cap <= sizeof(stackbuf) ? stackbuf : hx_malloc(cap);
    if (!buf) return HX_ENOMEM;
    size_t o = 0;
    int starts = len >= rl && !memcmp(s, ps->repl, rl); /* a leading ' ' becomes the replacement too */
    starts |= s[0] == ' ';
    if (!starts && (ps->prepend == HX_PREPEND_ALWAYS || (ps->prepend == HX_PREPEND_FIRST && at_start))) {
        memcpy(buf, ps->repl, rl);
        o = rl;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            memcpy(buf + o, ps->repl, rl);
            o += rl;
        } else {
            buf[o++] = s[i];
        }
    }
    int rc = split(st, step, buf, o, at_start);
    if (buf != stackbuf) free(buf);
    return rc;
}

static int run_step(pretok_state *st, int step, const char *s, size_t len, int at_start)
{
    if (len == 0) return HX_OK;
    while (step < st->p->n && st->p->steps[step].pass) step++;
    if (step == st->p->n) return st->cb(st->ctx, s, len);
    const hx_pre_step *ps = &st->p->steps[step];
    if (ps->kind == HX_PRE_METASPACE) return metaspace(st, step, s, len, at_start);
    if (ps->kind == HX_PRE_BYTELEVEL && ps->add_prefix_space && s[0] != ' ') {
        char stackbuf[256], *buf = len + 1 <= sizeof(stackbuf) ? stackbuf : hx_malloc(len + 1);
        if (!buf) return HX_ENOMEM;
        buf[0] = ' ';
        memcpy(buf + 1, s, len);
        int rc = split(st, step, buf, len + 1, at_start);
        if (buf != stackbuf) free(buf);
        return rc;
    }
    return split(st, step, s, len, at_start);
}

int hx_pretok_run(const hx_pretok *p, const char *s, size_t len, int at_start, hx_pretok_cb cb, void *ctx)
{
    pretok_state st = {p, cb, ctx, pcre2_match_data_create(4, NULL)};
    if (!st.md) return HX_ERR(HX_ENOMEM, "out of memory for regex match data");
    int rc = run_step(&st, 0, s, len, at_start);
    pcre2_match_data_free(st.md);
    return rc;
}
