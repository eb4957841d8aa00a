/* Loading an HF tokenizer.json with a BPE model into an hx_tokenizer:
 * normalizer (tokenizer_norm.c), pre_tokenizer (ByteLevel, Split, Digits,
 * Metaspace, Punctuation, Whitespace, WhitespaceSplit, Sequence), model (vocab,
 * merges in "a b" or ["a","b"] form, ignore_merges, byte_fallback, unk_token,
 * fuse_unk, continuing_subword_prefix, end_of_word_suffix), added_tokens (with
 * lstrip, rstrip, single_word, normalized, special), post_processor
 * (TemplateProcessing / ByteLevel / Sequence) and decoder (tokenizer_decode.c).
 * The vocabulary is keyed by raw bytes when a ByteLevel pre-tokenizer is
 * present, else by the token text. Anything else is rejected with HX_EFORMAT
 * naming the field. Field semantics: huggingface/tokenizers (see
 * /work/shared/research/gguf-and-tokenizers.md part 2). */
#include "data/tokenizer_internal.h"

#include "core/err.h"
#include "core/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_next_gen = 1;

/* Ids index per-id tables (and, downstream, embedding rows): above this bound a
 * file is refused rather than allocated for (real vocabularies stay below 2^18). */
#define MAX_TOKEN_ID ((1 << 24) - 1)

const char *hx_json_type(json_t *o) { return json_string_value(json_object_get(o, "type")); }

/* 1 if `o` lacks `key` or has it null, false or "" (disabled feature). */
static int is_off(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return !v || json_is_null(v) || json_is_false(v) || (json_is_string(v) && !json_string_length(v));
}

int hx_json_sequence(json_t *seq, const char *key, const char *field, const char *name, hx_json_item_fn fn,
                     void *ctx)
{
    json_t *arr = json_object_get(seq, key), *v;
    if (!json_is_array(arr)) return HX_ERR(HX_EFORMAT, "%s: %s.%s: not an array", name, field, key);
    size_t i;
    json_array_foreach(arr, i, v) {
        char sub[200];
        snprintf(sub, sizeof(sub), "%s.%s[%zu]", field, key, i);
        HX_TRY(fn(ctx, v, sub, name));
    }
    return HX_OK;
}

int hx_json_pattern(json_t *pat, const char *field, const char *name, pcre2_code **out)
{
    const char *re = json_string_value(json_object_get(pat, "Regex"));
    const char *lit = json_string_value(json_object_get(pat, "String"));
    if (!re && !lit) return HX_ERR(HX_EFORMAT, "%s: %s: neither Regex nor String", name, field);
    char msg[300];
    snprintf(msg, sizeof(msg), "%s: %s", name, field);
    return hx_regex_compile(re ? re : lit, !re, msg, out);
}

int hx_json_bool(json_t *o, const char *key, int dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* The id of a token given its text as in model.vocab; -1 if absent. */
static int32_t vocab_id(json_t *vocab, const char *s, size_t len)
{
    char stackbuf[256], *k = len < sizeof(stackbuf) ? stackbuf : malloc(len + 1);
    if (!k) return -1;
    memcpy(k, s, len);
    k[len] = '\0';
    json_t *v = json_object_get(vocab, k);
    if (k != stackbuf) free(k);
    return json_is_integer(v) ? (int32_t)json_integer_value(v) : -1;
}

static int set_id_str(hx_tokenizer *t, int32_t id, const char *s, size_t n)
{
    free(t->id_str[id]);
    t->id_str[id] = hx_malloc(n + 1);
    if (!t->id_str[id]) return HX_ENOMEM;
    memcpy(t->id_str[id], s, n);
    t->id_str[id][n] = '\0';
    t->id_len[id] = (uint32_t)n;
    return HX_OK;
}

/* The encode form of a vocabulary text: raw bytes when byte-level (*n = -1
 * if a character is outside the byte-level alphabet), else the text. `out`
 * has room for len bytes. */
static void encode_form(const hx_tokenizer *t, const char *s, size_t len, uint8_t *out, long *n)
{
    if (t->bytelevel) {
        *n = hx_bytelevel_decode(s, len, out);
    } else {
        memcpy(out, s, len);
        *n = (long)len;
    }
}

/* continuing_subword_prefix / end_of_word_suffix in encode form. */
static int load_affix(hx_tokenizer *t, json_t *model, const char *key, char **out, size_t *out_len, const char *name)
{
    json_t *v = json_object_get(model, key);
    if (is_off(model, key)) return HX_OK;
    if (!json_is_string(v) || json_string_length(v) > HX_TOKENIZER_MAX_AFFIX)
        return HX_ERR(HX_EFORMAT, "%s: model.%s: not a string of at most %d bytes", name, key,
                      HX_TOKENIZER_MAX_AFFIX);
    *out = hx_malloc(json_string_length(v) + 1);
    if (!*out) return HX_ENOMEM;
    long n;
    encode_form(t, json_string_value(v), json_string_length(v), (uint8_t *)*out, &n);
    if (n < 0) return HX_ERR(HX_EFORMAT, "%s: model.%s: outside the byte-level alphabet", name, key);
    *out_len = (size_t)n;
    return HX_OK;
}

static int load_vocab(hx_tokenizer *t, json_t *vocab, json_t *added, const char *name)
{
    json_int_t max_id = -1;
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) > MAX_TOKEN_ID)
            return HX_ERR(HX_EFORMAT, "%s: model.vocab[\"%s\"]: id is not an integer in [0, %d]", name, key,
                          MAX_TOKEN_ID);
        if (json_integer_value(val) > max_id) max_id = json_integer_value(val);
    }
    size_t i;
    json_array_foreach(added, i, val) {
        json_t *id = json_object_get(val, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > MAX_TOKEN_ID)
            return HX_ERR(HX_EFORMAT, "%s: added_tokens[%zu].id: not an integer in [0, %d]", name, i, MAX_TOKEN_ID);
        if (json_integer_value(id) > max_id) max_id = json_integer_value(id);
    }
    t->n_ids = (int)(max_id + 1);
    t->id_str = hx_calloc((size_t)t->n_ids + 1, sizeof(char *));
    t->id_len = hx_calloc((size_t)t->n_ids + 1, sizeof(uint32_t));
    t->id_special = hx_calloc((size_t)t->n_ids + 1, 1);
    if (!t->id_str || !t->id_len || !t->id_special) return HX_ENOMEM;
    HX_TRY(hx_strmap_init(&t->vocab, json_object_size(vocab)));
    for (int b = 0; b < 256; b++) t->byte_id[b] = t->fallback_id[b] = -1;
    json_object_foreach(vocab, key, val) {
        int32_t id = (int32_t)json_integer_value(val);
        size_t klen = strlen(key);
        HX_TRY(set_id_str(t, id, key, klen));
        uint8_t *buf = hx_malloc(klen + 1);
        if (!buf) return HX_ENOMEM;
        long n, e;
        int is_new = 1, rc = HX_OK;
        encode_form(t, key, klen, buf, &n);
        if (n >= 0) rc = hx_strmap_put(&t->vocab, buf, (size_t)n, id, &e, &is_new); /* else never produced by encode */
        if (rc >= 0 && !is_new) rc = HX_ERR(HX_EFORMAT, "%s: model.vocab[\"%s\"]: duplicate token bytes", name, key);
        if (n == 1) t->byte_id[buf[0]] = id;
        free(buf);
        HX_TRY(rc);
    }
    return HX_OK;
}

static int load_merges(hx_tokenizer *t, json_t *model, json_t *vocab, const char *name)
{
    json_t *merges = json_object_get(model, "merges"), *val;
    if (!json_is_array(merges)) return HX_ERR(HX_EFORMAT, "%s: model.merges: missing or not an array", name);
    json_t *pv = json_object_get(model, "continuing_subword_prefix");
    size_t plen = json_is_string(pv) ? json_string_length(pv) : 0, i, rank = 0;
    HX_TRY(hx_u64map_init(&t->merges, json_array_size(merges)));
    json_array_foreach(merges, i, val) {
        const char *a, *b;
        size_t la, lb;
        if (json_is_string(val)) {
            const char *s = json_string_value(val);
            if (s[0] == '#' && i == 0) continue; /* "#version: ..." header of merges.txt */
            const char *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' '))
                return HX_ERR(HX_EFORMAT, "%s: model.merges[%zu]: \"%s\" is not two tokens separated by one space",
                              name, i, s);
            a = s, la = (size_t)(sp - s), b = sp + 1, lb = strlen(b);
        } else if (json_is_array(val) && json_array_size(val) == 2 && json_is_string(json_array_get(val, 0)) &&
                   json_is_string(json_array_get(val, 1))) {
            a = json_string_value(json_array_get(val, 0)), la = strlen(a);
            b = json_string_value(json_array_get(val, 1)), lb = strlen(b);
        } else {
            return HX_ERR(HX_EFORMAT, "%s: model.merges[%zu]: neither \"a b\" nor [\"a\", \"b\"]", name, i);
        }
        /* the merged token drops the right part's continuing_subword_prefix (HF models/bpe/model.rs) */
        size_t cut = plen <= lb ? plen : lb;
        char *ab = hx_malloc(la + lb + 1);
        if (!ab) return HX_ENOMEM;
        memcpy(ab, a, la);
        memcpy(ab + la, b + cut, lb - cut);
        int32_t ia = vocab_id(vocab, a, la), ib = vocab_id(vocab, b, lb), iab = vocab_id(vocab, ab, la + lb - cut);
        if (ia < 0 || ib < 0 || iab < 0) {
            int rc = HX_ERR(HX_EFORMAT, "%s: model.merges[%zu]: token '%.*s' is not in model.vocab", name, i,
                            (int)(ia < 0 ? la : ib < 0 ? lb : la + lb - cut), ia < 0 ? a : ib < 0 ? b : ab);
            free(ab);
            return rc;
        }
        free(ab);
        uint64_t *slot = hx_u64map_upsert(&t->merges, ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib, UINT64_MAX);
        if (!slot) return HX_ENOMEM;
        if (*slot == UINT64_MAX) *slot = ((uint64_t)rank << 32) | (uint32_t)iab; /* first (lowest) rank wins */
        rank++;
    }
    return HX_OK;
}

static int load_model(hx_tokenizer *t, json_t *model, json_t *added, const char *name)
{
    if (!json_is_object(model)) return HX_ERR(HX_EFORMAT, "%s: model: missing or not an object", name);
    const char *ty = hx_json_type(model);
    if (ty && strcmp(ty, "BPE"))
        return HX_ERR(HX_EFORMAT, "%s: model.type: '%s' is not supported (only BPE)", name, ty);
    if (!is_off(model, "dropout") && json_number_value(json_object_get(model, "dropout")) != 0.0)
        return HX_ERR(HX_EFORMAT, "%s: model.dropout: BPE dropout is not supported", name);
    t->ignore_merges = hx_json_bool(model, "ignore_merges", 0);
    t->byte_fallback = hx_json_bool(model, "byte_fallback", 0);
    t->fuse_unk = hx_json_bool(model, "fuse_unk", 0);
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab)) return HX_ERR(HX_EFORMAT, "%s: model.vocab: missing or not an object", name);
    HX_TRY(load_vocab(t, vocab, added, name));
    HX_TRY(load_affix(t, model, "continuing_subword_prefix", &t->cont_prefix, &t->cont_prefix_len, name));
    HX_TRY(load_affix(t, model, "end_of_word_suffix", &t->word_suffix, &t->word_suffix_len, name));
    if (t->byte_fallback)
        for (int b = 0; b < 256; b++) {
            char k[8];
            snprintf(k, sizeof(k), "<0x%02X>", b);
            t->fallback_id[b] = vocab_id(vocab, k, 6);
        }
    t->unk_id = -1;
    json_t *unk = json_object_get(model, "unk_token");
    if (json_is_string(unk)) {
        t->unk_id = vocab_id(vocab, json_string_value(unk), json_string_length(unk));
        if (t->unk_id < 0)
            return HX_ERR(HX_EFORMAT, "%s: model.unk_token: '%s' is not in model.vocab", name, json_string_value(unk));
    }
    return load_merges(t, model, vocab, name);
}

/* Added tokens: normalized ones (matched after normalization, by their
 * normalized content) into t->added_norm, the others into t->added. */
static int load_added(hx_tokenizer *t, json_t *added, const char *name)
{
    size_t n = json_array_size(added), i;
    HX_TRY(hx_added_alloc(&t->added, n));
    HX_TRY(hx_added_alloc(&t->added_norm, n));
    hx_buf nb = {0};
    json_t *tok;
    json_array_foreach(added, i, tok) {
        json_t *c = json_object_get(tok, "content");
        if (!json_is_string(c) || !json_string_length(c))
            return HX_ERR(HX_EFORMAT, "%s: added_tokens[%zu].content: missing or empty", name, i);
        int32_t id = (int32_t)json_integer_value(json_object_get(tok, "id"));
        int special = hx_json_bool(tok, "special", 0);
        int normalized = hx_json_bool(tok, "normalized", !special);
        hx_added *a = normalized ? &t->added_norm : &t->added;
        const char *text = json_string_value(c);
        size_t len = json_string_length(c);
        if (normalized && t->norm.n) {
            int rc = hx_norm_apply(&t->norm, text, len, &nb);
            if (rc < 0) {
                free(nb.p);
                return rc;
            }
            text = nb.p, len = nb.n;
        }
        int k = a->n;
        a->content[k] = hx_malloc(len + 1);
        if (!a->content[k]) {
            free(nb.p);
            return HX_ENOMEM;
        }
        memcpy(a->content[k], text, len + 1);
        a->len[k] = len;
        a->id[k] = id;
        a->special[k] = special;
        a->flags[k] = (uint8_t)((hx_json_bool(tok, "lstrip", 0) ? HX_ADDED_LSTRIP : 0) |
                                (hx_json_bool(tok, "rstrip", 0) ? HX_ADDED_RSTRIP : 0) |
                                (hx_json_bool(tok, "single_word", 0) ? HX_ADDED_SINGLE_WORD : 0));
        a->n = k + 1;
        t->id_special[id] = (uint8_t)special;
        int rc = set_id_str(t, id, json_string_value(c), json_string_length(c));
        if (rc < 0) {
            free(nb.p);
            return rc;
        }
    }
    free(nb.p);
    HX_TRY(hx_added_index(&t->added));
    return hx_added_index(&t->added_norm);
}

/* Rust regex \w as a PCRE2 class body (as hx_uni_is_word). */
#define RUST_WORD "\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}"

/* HF SplitDelimiterBehavior names. */
static int parse_behavior(json_t *pt, hx_split_behavior dflt, const char *field, const char *name,
                          hx_split_behavior *out)
{
    static const char *const names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
    const char *beh = json_string_value(json_object_get(pt, "behavior"));
    *out = dflt;
    if (!beh) return json_object_get(pt, "behavior") ? HX_ERR(HX_EFORMAT, "%s: %s.behavior: not a string", name, field)
                                                      : HX_OK;
    for (int k = 0; k < 5; k++)
        if (!strcmp(beh, names[k])) return *out = (hx_split_behavior)k, HX_OK;
    return HX_ERR(HX_EFORMAT,
                  "%s: %s.behavior: '%s' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, "
                  "Contiguous",
                  name, field, beh);
}

static int parse_pre_step(hx_pre_step *st, json_t *pt, const char *ty, const char *field, const char *name)
{
    char sub[200];
    st->match = HX_MATCH_REGEX;
    st->behavior = HX_SPLIT_ISOLATED;
    if (!strcmp(ty, "ByteLevel")) {
        st->kind = HX_PRE_BYTELEVEL;
        st->add_prefix_space = hx_json_bool(pt, "add_prefix_space", 1);
        snprintf(sub, sizeof(sub), "%s.use_regex", field);
        return hx_json_bool(pt, "use_regex", 1) ? hx_regex_compile(HX_GPT2_REGEX, 0, sub, &st->re) : HX_OK;
    }
    if (!strcmp(ty, "Split")) {
        st->invert = hx_json_bool(pt, "invert", 0);
        HX_TRY(parse_behavior(pt, HX_SPLIT_ISOLATED, field, name, &st->behavior));
        if (!json_object_get(pt, "behavior"))
            return HX_ERR(HX_EFORMAT, "%s: %s.behavior: missing", name, field);
        snprintf(sub, sizeof(sub), "%s.pattern", field);
        return hx_json_pattern(json_object_get(pt, "pattern"), sub, name, &st->re);
    }
    if (!strcmp(ty, "Digits")) {
        st->match = HX_MATCH_DIGIT;
        st->behavior = hx_json_bool(pt, "individual_digits", 0) ? HX_SPLIT_ISOLATED : HX_SPLIT_CONTIGUOUS;
        return HX_OK;
    }
    if (!strcmp(ty, "Punctuation")) {
        st->match = HX_MATCH_PUNCT;
        return parse_behavior(pt, HX_SPLIT_ISOLATED, field, name, &st->behavior);
    }
    if (!strcmp(ty, "WhitespaceSplit")) {
        st->match = HX_MATCH_SPACE;
        st->behavior = HX_SPLIT_REMOVED;
        return HX_OK;
    }
    if (!strcmp(ty, "Whitespace")) {
        /* keeps the matches of \w+|[^\w\s]+ with Rust regex's Unicode \w (Alphabetic, M, Nd, Pc,
         * Join_Control), spelled out: PCRE2 10.42's \w lacks marks and joiners */
        st->behavior = HX_SPLIT_REMOVED;
        st->invert = 1;
        snprintf(sub, sizeof(sub), "%s (Whitespace)", field);
        return hx_regex_compile("[" RUST_WORD "]+|[^" RUST_WORD "\\s]+", 0, sub, &st->re);
    }
    if (!strcmp(ty, "Metaspace")) {
        st->kind = HX_PRE_METASPACE;
        json_t *r = json_object_get(pt, "replacement");
        const char *rs = json_string_value(r);
        if (!rs || !*rs || json_string_length(r) > 4 ||
            (size_t)hx_utf8_next((const uint8_t *)rs, json_string_length(r), &st->cp) != json_string_length(r))
            return HX_ERR(HX_EFORMAT, "%s: %s.replacement: not one character", name, field);
        memcpy(st->repl, rs, json_string_length(r));
        st->repl_len = (int)json_string_length(r);
        const char *scheme = json_string_value(json_object_get(pt, "prepend_scheme"));
        if (!scheme) st->prepend = hx_json_bool(pt, "add_prefix_space", 1) ? HX_PREPEND_ALWAYS : HX_PREPEND_NEVER;
        else if (!strcmp(scheme, "always")) st->prepend = HX_PREPEND_ALWAYS;
        else if (!strcmp(scheme, "first")) st->prepend = HX_PREPEND_FIRST;
        else if (!strcmp(scheme, "never")) st->prepend = HX_PREPEND_NEVER;
        else return HX_ERR(HX_EFORMAT, "%s: %s.prepend_scheme: '%s' is not always, first or never", name, field, scheme);
        if (hx_json_bool(pt, "split", 1)) st->match = HX_MATCH_CHAR, st->behavior = HX_SPLIT_MERGED_NEXT;
        return HX_OK;
    }
    return HX_ERR(HX_EFORMAT,
                  "%s: %s.type: '%s' is not supported (ByteLevel, Split, Digits, Metaspace, Punctuation, Whitespace, "
                  "WhitespaceSplit, Sequence)",
                  name, field, ty);
}

static int add_pre_step(void *ctx, json_t *pt, const char *field, const char *name)
{
    hx_tokenizer *t = ctx;
    const char *ty = hx_json_type(pt);
    if (!ty) return HX_ERR(HX_EFORMAT, "%s: %s.type: missing", name, field);
    if (!strcmp(ty, "Sequence")) return hx_json_sequence(pt, "pretokenizers", field, name, add_pre_step, t);
    hx_pre_step *steps = realloc(t->pre.steps, (size_t)(t->pre.n + 1) * sizeof(*steps));
    if (!steps) return HX_ERR(HX_ENOMEM, "out of memory");
    t->pre.steps = steps;
    memset(&steps[t->pre.n], 0, sizeof(*steps));
    t->pre.n++; /* counted first so that hx_pretok_free releases a half-parsed step */
    return parse_pre_step(&steps[t->pre.n - 1], pt, ty, field, name);
}

static int load_pretok(hx_tokenizer *t, json_t *pt, const char *name)
{
    if (!pt || json_is_null(pt)) return HX_OK;
    HX_TRY(add_pre_step(t, pt, "pre_tokenizer", name));
    for (int i = 0; i < t->pre.n; i++) {
        hx_pre_step *st = &t->pre.steps[i];
        st->pass = st->kind == HX_PRE_BYTELEVEL && !st->re && !st->add_prefix_space;
    }
    for (int i = 0; i < t->pre.n; i++)
        if (t->pre.steps[i].kind == HX_PRE_BYTELEVEL) {
            if (i != t->pre.n - 1)
                return HX_ERR(HX_EFORMAT, "%s: pre_tokenizer: ByteLevel must be the last step", name);
            t->bytelevel = 1;
        }
    return HX_OK;
}

static int push_ids(int32_t **arr, int *n, json_t *ids, const hx_tokenizer *t, const char *field, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        json_int_t id = json_integer_value(v);
        if (!json_is_integer(v) || id < 0 || id >= t->n_ids)
            return HX_ERR(HX_EFORMAT, "%s: %s.ids[%zu]: not a token id of this tokenizer", name, field, i);
        int32_t *p = realloc(*arr, (size_t)(*n + 1) * sizeof(int32_t));
        if (!p) return HX_ERR(HX_ENOMEM, "out of memory");
        *arr = p;
        p[(*n)++] = (int32_t)id;
    }
    return HX_OK;
}

static int load_template(hx_tokenizer *t, json_t *pp, const char *field, const char *name)
{
    json_t *single = json_object_get(pp, "single"), *specials = json_object_get(pp, "special_tokens"), *item;
    if (!json_is_array(single)) return HX_ERR(HX_EFORMAT, "%s: %s.single: missing or not an array", name, field);
    int seen_seq = 0;
    size_t i;
    json_array_foreach(single, i, item) {
        json_t *sp = json_object_get(item, "SpecialToken");
        if (json_object_get(item, "Sequence")) {
            seen_seq = 1;
            continue;
        }
        const char *sname = json_string_value(json_object_get(sp, "id"));
        if (!sname) return HX_ERR(HX_EFORMAT, "%s: %s.single[%zu]: neither SpecialToken nor Sequence", name, field, i);
        json_t *ids = json_object_get(json_object_get(specials, sname), "ids");
        if (!json_is_array(ids))
            return HX_ERR(HX_EFORMAT, "%s: %s.special_tokens[\"%s\"].ids: missing", name, field, sname);
        char sub[160];
        snprintf(sub, sizeof(sub), "%s.special_tokens[\"%s\"]", field, sname);
        if (seen_seq) HX_TRY(push_ids(&t->suffix, &t->n_suffix, ids, t, sub, name));
        else HX_TRY(push_ids(&t->prefix, &t->n_prefix, ids, t, sub, name));
    }
    if (!seen_seq) return HX_ERR(HX_EFORMAT, "%s: %s.single: no Sequence $A", name, field);
    return HX_OK;
}

static int load_post(void *ctx, json_t *pp, const char *field, const char *name)
{
    hx_tokenizer *t = ctx;
    if (!pp || json_is_null(pp)) return HX_OK;
    const char *ty = hx_json_type(pp);
    if (!ty) return HX_ERR(HX_EFORMAT, "%s: %s.type: missing", name, field);
    if (!strcmp(ty, "ByteLevel")) return HX_OK; /* offsets only; no ids */
    if (!strcmp(ty, "TemplateProcessing")) return load_template(t, pp, field, name);
    if (!strcmp(ty, "Sequence")) return hx_json_sequence(pp, "processors", field, name, load_post, t);
    return HX_ERR(HX_EFORMAT, "%s: %s.type: '%s' is not supported (TemplateProcessing, ByteLevel, Sequence)", name,
                  field, ty);
}

/* The added special token with one of `names`, or -1. */
static int32_t find_special(const hx_tokenizer *t, const char *const *names)
{
    for (; *names; names++)
        for (int i = 0; i < t->n_ids; i++)
            if (t->id_special[i] && t->id_str[i] && !strcmp(t->id_str[i], *names)) return i;
    return -1;
}

static int build(hx_tokenizer *t, json_t *root, const char *name)
{
    if (!json_is_object(root)) return HX_ERR(HX_EFORMAT, "%s: top level is not a JSON object", name);
    json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_array(added)) return HX_ERR(HX_EFORMAT, "%s: added_tokens: not an array", name);
    HX_TRY(hx_norm_parse(&t->norm, json_object_get(root, "normalizer"), "normalizer", name));
    HX_TRY(load_pretok(t, json_object_get(root, "pre_tokenizer"), name));
    HX_TRY(load_model(t, json_object_get(root, "model"), added, name));
    HX_TRY(load_added(t, added, name));
    HX_TRY(load_post(t, json_object_get(root, "post_processor"), "post_processor", name));
    HX_TRY(hx_decoder_parse(&t->dec, json_object_get(root, "decoder"), "decoder", name));
    static const char *const bos_names[] = {"<|begin_of_text|>", "<s>", "<bos>", "<|startoftext|>", "<|endoftext|>",
                                            NULL};
    static const char *const eos_names[] = {"<|end_of_text|>", "</s>", "<eos>", "<|endoftext|>", NULL};
    t->bos_id = t->n_prefix ? t->prefix[0] : find_special(t, bos_names);
    t->eos_id = t->n_suffix ? t->suffix[t->n_suffix - 1] : find_special(t, eos_names);
    return HX_OK;
}

int hx_tokenizer_from_json(char *json, size_t len, const char *name, hx_tokenizer **out)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return HX_ERR(HX_EFORMAT, "%s: invalid JSON at line %d column %d: %s", name, jerr.line, jerr.column,
                      jerr.text);
    hx_tokenizer *t = hx_calloc(1, sizeof(*t));
    if (!t) {
        json_decref(root);
        return HX_ENOMEM;
    }
    int rc = build(t, root, name);
    json_decref(root);
    if (rc < 0) {
        hx_tokenizer_free(t);
        return rc;
    }
    t->json = json;
    t->json_len = len;
    hx_sha256_hex(json, len, t->sha256);
    t->gen = __atomic_fetch_add(&g_next_gen, 1, __ATOMIC_RELAXED);
    *out = t;
    return HX_OK;
}

int hx_tokenizer_load(const char *path, hx_tokenizer **out)
{
    char *json;
    size_t len;
    HX_TRY(hx_read_file(path, &json, &len));
    int rc = hx_tokenizer_from_json(json, len, path, out);
    if (rc < 0) free(json);
    return rc;
}

void hx_tokenizer_free(hx_tokenizer *t)
{
    if (!t) return;
    hx_strmap_free(&t->vocab);
    for (int i = 0; t->id_str && i < t->n_ids; i++) free(t->id_str[i]);
    free(t->id_str);
    free(t->id_len);
    free(t->id_special);
    free(t->cont_prefix);
    free(t->word_suffix);
    hx_u64map_free(&t->merges);
    hx_norm_free(&t->norm);
    hx_added_free(&t->added);
    hx_added_free(&t->added_norm);
    hx_pretok_free(&t->pre);
    hx_decoder_free(&t->dec);
    free(t->prefix);
    free(t->suffix);
    free(t->json);
    free(t);
}

int hx_tokenizer_vocab_size(const hx_tokenizer *t) { return t->n_ids; }
int hx_tokenizer_bos_id(const hx_tokenizer *t) { return t->bos_id; }
int hx_tokenizer_eos_id(const hx_tokenizer *t) { return t->eos_id; }
int hx_tokenizer_adds_bos(const hx_tokenizer *t) { return t->n_prefix > 0 && t->prefix[0] == t->bos_id; }
const char *hx_tokenizer_sha256(const hx_tokenizer *t) { return t->sha256; }

int hx_tokenizer_token_id(const hx_tokenizer *t, const char *text)
{
    size_t len = strlen(text);
    const hx_added *sets[] = {&t->added, &t->added_norm};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < sets[k]->n; i++)
            if (t->id_len[sets[k]->id[i]] == len && !memcmp(t->id_str[sets[k]->id[i]], text, len))
                return sets[k]->id[i];
    long e = hx_strmap_find(&t->vocab, text, len);
    return e < 0 ? -1 : t->vocab.vals[e];
}
