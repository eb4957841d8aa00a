/* Decoding ids to text as HF tokenizers does (tokenizer/mod.rs decode,
 * decoders/{byte_fallback,fuse,strip,sequence}.rs, pre_tokenizers/
 * {byte_level,metaspace}.rs, normalizers/replace.rs): the ids' token texts
 * (added tokens included, special ones dropped with skip_special) go through
 * the decoder chain as a list of strings, then are joined; with no decoder
 * they are joined with " ". Invalid UTF-8 produced by ByteLevel becomes U+FFFD
 * per maximal invalid subsequence (Rust String::from_utf8_lossy). */
#include "data/tokenizer_internal.h"

#include "core/err.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- parsing ---- */

static int dup_text(hx_dec_step *st, json_t *v)
{
    st->text_len = json_string_length(v);
    st->text = hx_malloc(st->text_len + 1);
    if (!st->text) return HX_ENOMEM;
    memcpy(st->text, json_string_value(v), st->text_len + 1);
    return HX_OK;
}

static int one_char(json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || !*s) return 0;
    uint32_t cp;
    return (size_t)hx_utf8_next((const uint8_t *)s, json_string_length(v), &cp) == json_string_length(v);
}

static int parse_step(hx_dec_step *st, json_t *j, const char *ty, const char *field, const char *name)
{
    char sub[200];
    if (!strcmp(ty, "ByteLevel")) {
        st->kind = HX_DEC_BYTELEVEL;
    } else if (!strcmp(ty, "ByteFallback")) {
        st->kind = HX_DEC_BYTEFALLBACK;
    } else if (!strcmp(ty, "Fuse")) {
        st->kind = HX_DEC_FUSE;
    } else if (!strcmp(ty, "Metaspace")) {
        st->kind = HX_DEC_METASPACE;
        json_t *r = json_object_get(j, "replacement");
        if (!one_char(r)) return HX_ERR(HX_EFORMAT, "%s: %s.replacement: not one character", name, field);
        const char *scheme = json_string_value(json_object_get(j, "prepend_scheme"));
        st->drop_first = scheme ? strcmp(scheme, "never") != 0 : hx_json_bool(j, "add_prefix_space", 1);
        return dup_text(st, r);
    } else if (!strcmp(ty, "Replace")) {
        st->kind = HX_DEC_REPLACE;
        json_t *c = json_object_get(j, "content");
        if (!json_is_string(c)) return HX_ERR(HX_EFORMAT, "%s: %s.content: missing or not a string", name, field);
        snprintf(sub, sizeof(sub), "%s.pattern", field);
        HX_TRY(hx_json_pattern(json_object_get(j, "pattern"), sub, name, &st->re));
        return dup_text(st, c);
    } else if (!strcmp(ty, "Strip")) {
        st->kind = HX_DEC_STRIP;
        json_t *c = json_object_get(j, "content"), *a = json_object_get(j, "start"), *b = json_object_get(j, "stop");
        if (!one_char(c)) return HX_ERR(HX_EFORMAT, "%s: %s.content: not one character", name, field);
        if (!json_is_integer(a) || !json_is_integer(b) || json_integer_value(a) < 0 || json_integer_value(b) < 0 ||
            json_integer_value(a) > 1 << 20 || json_integer_value(b) > 1 << 20)
            return HX_ERR(HX_EFORMAT, "%s: %s.start/stop: not counts", name, field);
        st->start = (int)json_integer_value(a);
        st->stop = (int)json_integer_value(b);
        return dup_text(st, c);
    } else {
        return HX_ERR(HX_EFORMAT,
                      "%s: %s.type: '%s' is not supported (ByteLevel, Metaspace, ByteFallback, Fuse, Replace, "
                      "Strip, Sequence)",
                      name, field, ty);
    }
    return HX_OK;
}

static int add_step(void *ctx, json_t *j, const char *field, const char *name)
{
    hx_decoder *d = ctx;
    const char *ty = hx_json_type(j);
    if (!ty) return HX_ERR(HX_EFORMAT, "%s: %s.type: missing", name, field);
    if (!strcmp(ty, "Sequence")) return hx_json_sequence(j, "decoders", field, name, add_step, d);
    hx_dec_step *steps = realloc(d->steps, (size_t)(d->n + 1) * sizeof(*steps));
    if (!steps) return HX_ERR(HX_ENOMEM, "out of memory");
    d->steps = steps;
    memset(&steps[d->n], 0, sizeof(*steps));
    d->n++; /* counted before parsing so hx_decoder_free releases a half-parsed step */
    return parse_step(&steps[d->n - 1], j, ty, field, name);
}

int hx_decoder_parse(hx_decoder *d, json_t *json, const char *field, const char *name)
{
    if (!json || json_is_null(json)) return HX_OK;
    d->present = 1;
    return add_step(d, json, field, name);
}

void hx_decoder_free(hx_decoder *d)
{
    for (int i = 0; i < d->n; i++) {
        free(d->steps[i].text);
        pcre2_code_free(d->steps[i].re);
    }
    free(d->steps);
    memset(d, 0, sizeof(*d));
}

/* ---- a list of strings in one buffer ---- */

typedef struct {
    hx_buf text;
    size_t *off; /* token i is text.p[off[i] .. off[i+1]) */
    size_t n, cap;
} strlist;

/* Ends the token being appended to l->text (call after its bytes are added). */
static int end_token(strlist *l)
{
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        size_t *p = realloc(l->off, cap * sizeof(size_t));
        if (!p) return HX_ERR(HX_ENOMEM, "out of memory decoding");
        l->off = p;
        l->cap = cap;
    }
    if (l->n == 0) l->off[0] = 0;
    l->off[++l->n] = l->text.n;
    return HX_OK;
}

static int push(strlist *l, const char *s, size_t len)
{
    HX_TRY(hx_buf_add(&l->text, s, len));
    return end_token(l);
}

#define TOK(l, i) ((l)->text.p + (l)->off[i])
#define TOKLEN(l, i) ((l)->off[(i) + 1] - (l)->off[i])

/* Appends bytes with each maximal invalid UTF-8 subsequence as U+FFFD. */
static int add_lossy(hx_buf *out, const char *s, size_t len)
{
    while (len) {
        long bad = hx_utf8_invalid_offset(s, len);
        if (bad < 0) return hx_buf_add(out, s, len);
        HX_TRY(hx_buf_add(out, s, (size_t)bad));
        /* length of the maximal prefix of a valid sequence at s[bad] (Unicode 3.9 / WHATWG) */
        const uint8_t *p = (const uint8_t *)s + bad;
        size_t rest = len - (size_t)bad, k = 1;
        int need = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 1;
        while ((int)k < need && k < rest) {
            uint8_t lo = 0x80, hi = 0xBF;
            if (k == 1) {
                if (p[0] == 0xE0) lo = 0xA0;
                else if (p[0] == 0xED) hi = 0x9F;
                else if (p[0] == 0xF0) lo = 0x90;
                else if (p[0] == 0xF4) hi = 0x8F;
            }
            if (p[k] < lo || p[k] > hi) break;
            k++;
        }
        HX_TRY(hx_buf_add(out, "\xEF\xBF\xBD", 3));
        s += (size_t)bad + k;
        len = rest - k;
    }
    return HX_OK;
}

static int byte_level(const strlist *in, strlist *out)
{
    hx_buf raw = {0};
    int rc = HX_OK;
    for (size_t i = 0; rc >= 0 && i < in->n; i++) {
        size_t tl = TOKLEN(in, i);
        uint8_t stackbuf[256], *b = tl <= sizeof(stackbuf) ? stackbuf : hx_malloc(tl);
        if (!b) {
            rc = HX_ENOMEM;
            break;
        }
        long n = hx_bytelevel_decode(TOK(in, i), tl, b);
        rc = n >= 0 ? hx_buf_add(&raw, b, (size_t)n) : hx_buf_add(&raw, TOK(in, i), tl); /* outside the alphabet: as is */
        if (b != stackbuf) free(b);
    }
    if (rc >= 0) rc = add_lossy(&out->text, raw.p ? raw.p : "", raw.n);
    if (rc >= 0) rc = end_token(out);
    free(raw.p);
    return rc;
}

/* "<0xHH>" -> the byte, or -1 (Rust u8::from_str_radix(.., 16): an optional '+', hex digits). */
static int fallback_byte(const char *s, size_t len)
{
    if (len != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int v = 0;
    for (int i = (s[3] == '+' ? 4 : 3); i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

static int flush_bytes(hx_buf *bytes, strlist *out)
{
    if (!bytes->n) return HX_OK;
    if (hx_utf8_invalid_offset(bytes->p, bytes->n) < 0) {
        HX_TRY(push(out, bytes->p, bytes->n));
    } else {
        for (size_t k = 0; k < bytes->n; k++) HX_TRY(push(out, "\xEF\xBF\xBD", 3));
    }
    bytes->n = 0;
    return HX_OK;
}

static int byte_fallback(const strlist *in, strlist *out)
{
    hx_buf bytes = {0};
    int rc = HX_OK;
    for (size_t i = 0; rc >= 0 && i < in->n; i++) {
        int b = fallback_byte(TOK(in, i), TOKLEN(in, i));
        if (b >= 0) {
            uint8_t c = (uint8_t)b;
            rc = hx_buf_add(&bytes, &c, 1);
            continue;
        }
        rc = flush_bytes(&bytes, out);
        if (rc >= 0) rc = push(out, TOK(in, i), TOKLEN(in, i));
    }
    if (rc >= 0) rc = flush_bytes(&bytes, out);
    free(bytes.p);
    return rc;
}

/* Per token: Metaspace, Replace or Strip. */
static int per_token(const hx_dec_step *st, const char *s, size_t len, size_t index, strlist *out)
{
    if (st->kind == HX_DEC_REPLACE) {
        HX_TRY(hx_replace_all(st->re, st->text, st->text_len, s, len, &out->text));
        return end_token(out);
    }
    size_t cl = st->text_len;
    if (st->kind == HX_DEC_METASPACE) {
        for (size_t i = 0; i < len;) {
            if (len - i >= cl && !memcmp(s + i, st->text, cl)) {
                if (!(index == 0 && st->drop_first)) HX_TRY(hx_buf_add(&out->text, " ", 1));
                i += cl;
            } else {
                HX_TRY(hx_buf_add(&out->text, s + i, 1));
                i++;
            }
        }
        return end_token(out);
    }
    size_t a = 0, b = len;
    for (int k = 0; k < st->start && b - a >= cl && !memcmp(s + a, st->text, cl); k++) a += cl;
    for (int k = 0; k < st->stop && b - a >= cl && !memcmp(s + b - cl, st->text, cl); k++) b -= cl;
    return push(out, s + a, b - a);
}

static int apply(const hx_dec_step *st, const strlist *in, strlist *out)
{
    switch (st->kind) {
    case HX_DEC_BYTELEVEL: return byte_level(in, out);
    case HX_DEC_BYTEFALLBACK: return byte_fallback(in, out);
    case HX_DEC_FUSE: return push(out, in->text.p ? in->text.p : "", in->text.n);
    default:
        for (size_t i = 0; i < in->n; i++) HX_TRY(per_token(st, TOK(in, i), TOKLEN(in, i), i, out));
        return HX_OK;
    }
}

static void strlist_free(strlist *l)
{
    free(l->text.p);
    free(l->off);
}

static int decode_list(const hx_tokenizer *t, const int32_t *ids, size_t n, int skip_special, strlist *l)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_ids || !t->id_str[ids[i]])
            return HX_ERR(HX_EINVAL, "decode: ids[%zu] = %d is not a token id of this tokenizer", i, (int)ids[i]);
        if (skip_special && t->id_special[ids[i]]) continue;
        HX_TRY(push(l, t->id_str[ids[i]], t->id_len[ids[i]]));
    }
    for (int k = 0; k < t->dec.n; k++) {
        strlist next = {0};
        int rc = apply(&t->dec.steps[k], l, &next);
        strlist_free(l);
        *l = next;
        HX_TRY(rc);
    }
    return HX_OK;
}

int hx_tokenizer_decode(const hx_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **text,
                        size_t *len)
{
    strlist l = {0};
    hx_buf out = {0};
    int rc = decode_list(t, ids, n, skip_special, &l);
    for (size_t i = 0; rc >= 0 && i < l.n; i++) {
        if (i && !t->dec.present) rc = hx_buf_add(&out, " ", 1);
        if (rc >= 0) rc = hx_buf_add(&out, TOK(&l, i), TOKLEN(&l, i));
    }
    if (rc >= 0 && !out.p) rc = hx_buf_add(&out, "", 0);
    strlist_free(&l);
    if (rc < 0) {
        free(out.p);
        return rc;
    }
    *text = out.p;
    if (len) *len = out.n;
    return HX_OK;
}
