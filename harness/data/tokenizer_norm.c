/* Normalizers of HF tokenizers (normalizers/{unicode,utils,strip,prepend,
 * replace}.rs): NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace and
 * Sequence, applied to one piece of text; plus the Unicode character classes
 * the pipeline needs and the regex replace-all shared with the Replace decoder.
 * All Unicode data comes from utf8proc.
 *
 * Lowercase: HF uses Rust's char::to_lowercase (full case mapping, no final-
 * sigma rule). utf8proc_tolower is the simple mapping; the two differ only in
 * U+0130 (LATIN CAPITAL LETTER I WITH DOT ABOVE), whose full lowercase is
 * "i" + U+0307, handled here. Unicode versions may differ (utf8proc's vs
 * Rust's), which only matters for characters assigned in between. */
#include "data/tokenizer_internal.h"

#include "core/err.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int hx_uni_is_space(uint32_t cp)
{
    if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85) return 1;
    if (cp < 0xA0) return 0;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

int hx_uni_is_numeric(uint32_t cp)
{
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

int hx_uni_is_punct(uint32_t cp)
{
    if (cp < 0x80) return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
                          (cp >= 0x7B && cp <= 0x7E);
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

int hx_uni_is_word(uint32_t cp)
{
    if (cp == 0x200C || cp == 0x200D) return 1; /* Join_Control */
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ME) || c == UTF8PROC_CATEGORY_ND ||
           c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_PC;
}

int hx_buf_add(hx_buf *b, const void *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return HX_ERR(HX_ENOMEM, "out of memory for %zu bytes of text", cap);
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return HX_OK;
}

int hx_replace_all(const pcre2_code *re, const char *with, size_t with_len, const char *s, size_t len, hx_buf *out)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) return HX_ERR(HX_ENOMEM, "out of memory for regex match data");
    size_t o = 0, last = 0;
    int rc = HX_OK;
    while (rc >= 0 && o < len) {
        int m = pcre2_match(re, (PCRE2_SPTR)s, len, o, PCRE2_NO_UTF_CHECK, md, NULL);
        if (m == PCRE2_ERROR_NOMATCH) break;
        if (m < 0) {
            rc = HX_ERR(HX_EINVAL, "Replace regex match failed (PCRE2 error %d)", m);
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[1] == ov[0]) { /* empty match: step one character forward */
            o = ov[0] + 1;
            while (o < len && ((uint8_t)s[o] & 0xC0) == 0x80) o++;
            continue;
        }
        rc = hx_buf_add(out, s + last, ov[0] - last);
        if (rc >= 0) rc = hx_buf_add(out, with, with_len);
        last = o = ov[1];
    }
    pcre2_match_data_free(md);
    return rc < 0 ? rc : hx_buf_add(out, s + last, len - last);
}

/* ---- parsing ---- */

static int add_step(void *ctx, json_t *j, const char *field, const char *name)
{
    hx_norm *nm = ctx;
    const char *ty = hx_json_type(j);
    if (!ty) return HX_ERR(HX_EFORMAT, "%s: %s.type: missing", name, field);
    if (!strcmp(ty, "Sequence")) return hx_json_sequence(j, "normalizers", field, name, add_step, nm);
    static const char *const names[] = {"NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip", "Prepend", "Replace"};
    int k = 0;
    while (k < 8 && strcmp(ty, names[k])) k++;
    if (k == 8)
        return HX_ERR(HX_EFORMAT,
                      "%s: %s.type: '%s' is not supported (Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, "
                      "Prepend, Replace)",
                      name, field, ty);
    hx_norm_step st = {.kind = (hx_norm_kind)k};
    char sub[200];
    if (st.kind == HX_NORM_STRIP) {
        st.left = hx_json_bool(j, "strip_left", 1);
        st.right = hx_json_bool(j, "strip_right", 1);
    } else if (st.kind == HX_NORM_PREPEND || st.kind == HX_NORM_REPLACE) {
        const char *key = st.kind == HX_NORM_PREPEND ? "prepend" : "content";
        json_t *v = json_object_get(j, key);
        if (!json_is_string(v)) return HX_ERR(HX_EFORMAT, "%s: %s.%s: missing or not a string", name, field, key);
        st.text_len = json_string_length(v);
        st.text = hx_malloc(st.text_len + 1);
        if (!st.text) return HX_ENOMEM;
        memcpy(st.text, json_string_value(v), st.text_len + 1);
        if (st.kind == HX_NORM_REPLACE) {
            snprintf(sub, sizeof(sub), "%s.pattern", field);
            int rc = hx_json_pattern(json_object_get(j, "pattern"), sub, name, &st.re);
            if (rc < 0) {
                free(st.text);
                return rc;
            }
        }
    }
    hx_norm_step *steps = realloc(nm->steps, (size_t)(nm->n + 1) * sizeof(*steps));
    if (!steps) {
        free(st.text);
        pcre2_code_free(st.re);
        return HX_ERR(HX_ENOMEM, "out of memory");
    }
    nm->steps = steps;
    steps[nm->n++] = st;
    return HX_OK;
}

int hx_norm_parse(hx_norm *nm, json_t *json, const char *field, const char *name)
{
    if (!json || json_is_null(json)) return HX_OK;
    return add_step(nm, json, field, name);
}

void hx_norm_free(hx_norm *nm)
{
    for (int i = 0; i < nm->n; i++) {
        free(nm->steps[i].text);
        pcre2_code_free(nm->steps[i].re);
    }
    free(nm->steps);
    memset(nm, 0, sizeof(*nm));
}

/* ---- applying ---- */

static int lowercase(const char *s, size_t len, hx_buf *out)
{
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += (size_t)hx_utf8_next((const uint8_t *)s + i, len - i, &cp);
        char u[8];
        int n;
        if (cp == 0x130) {
            n = hx_utf8_put(u, 'i');
            n += hx_utf8_put(u + n, 0x307);
        } else {
            n = hx_utf8_put(u, (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp));
        }
        HX_TRY(hx_buf_add(out, u, (size_t)n));
    }
    return HX_OK;
}

static int strip(const char *s, size_t len, int left, int right, hx_buf *out)
{
    size_t a = 0, b = len;
    while (left && a < b) {
        uint32_t cp;
        int n = hx_utf8_next((const uint8_t *)s + a, b - a, &cp);
        if (!hx_uni_is_space(cp)) break;
        a += (size_t)n;
    }
    while (right && b > a) {
        size_t c = b - 1;
        while (c > a && ((uint8_t)s[c] & 0xC0) == 0x80) c--;
        uint32_t cp;
        hx_utf8_next((const uint8_t *)s + c, b - c, &cp);
        if (!hx_uni_is_space(cp)) break;
        b = c;
    }
    return hx_buf_add(out, s + a, b - a);
}

static int unicode_form(const char *s, size_t len, hx_norm_kind k, hx_buf *out)
{
    static const int opts[] = {
        [HX_NORM_NFC] = UTF8PROC_STABLE | UTF8PROC_COMPOSE,
        [HX_NORM_NFD] = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE,
        [HX_NORM_NFKC] = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT,
        [HX_NORM_NFKD] = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT,
    };
    size_t i = 0;
    while (i < len && (uint8_t)s[i] < 0x80) i++;
    if (i == len) return hx_buf_add(out, s, len); /* ASCII is invariant under all four forms */
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &dst,
                                      (utf8proc_option_t)opts[k]);
    if (n < 0) return HX_ERR(HX_ENOMEM, "Unicode normalization failed: %s", utf8proc_errmsg(n));
    int rc = hx_buf_add(out, dst, (size_t)n);
    free(dst);
    return rc;
}

static int apply_step(const hx_norm_step *st, const char *s, size_t len, hx_buf *out)
{
    switch (st->kind) {
    case HX_NORM_LOWER: return lowercase(s, len, out);
    case HX_NORM_STRIP: return strip(s, len, st->left, st->right, out);
    case HX_NORM_PREPEND:
        if (len) HX_TRY(hx_buf_add(out, st->text, st->text_len)); /* only non-empty pieces */
        return hx_buf_add(out, s, len);
    case HX_NORM_REPLACE: return hx_replace_all(st->re, st->text, st->text_len, s, len, out);
    default: return unicode_form(s, len, st->kind, out);
    }
}

int hx_norm_apply(const hx_norm *nm, const char *s, size_t len, hx_buf *out)
{
    out->n = 0;
    HX_TRY(hx_buf_add(out, s, len));
    hx_buf tmp = {0};
    int rc = HX_OK;
    for (int i = 0; rc >= 0 && i < nm->n; i++) {
        tmp.n = 0;
        rc = apply_step(&nm->steps[i], out->p, out->n, &tmp);
        hx_buf sw = *out;
        *out = tmp;
        tmp = sw;
    }
    free(tmp.p);
    return rc;
}
