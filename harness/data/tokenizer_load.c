/* Loading an HF tokenizer.json (byte-level BPE, GPT-2 and Llama-3 families)
 * into an hx_tokenizer: model (vocab, merges in "a b" or ["a","b"] form,
 * ignore_merges), added_tokens, pre_tokenizer (ByteLevel, or Sequence of Split
 * and ByteLevel), post_processor (TemplateProcessing / ByteLevel / Sequence)
 * and decoder (ByteLevel). Anything else is rejected with HX_EFORMAT naming the
 * field. Field semantics: huggingface/tokenizers (see
 * /work/shared/research/formats-and-ecosystem.md section 2). */
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

static const char *type_of(json_t *o) { return json_string_value(json_object_get(o, "type")); }

/* 1 if `o` lacks `key` or has it null, false or "" (disabled feature). */
static int is_off(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return !v || json_is_null(v) || json_is_false(v) || (json_is_string(v) && !json_string_length(v));
}

static int get_bool(json_t *o, const char *key, int dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* Looks up a byte-level token string in the vocabulary; -1 if absent. */
static int32_t token_id(const hx_tokenizer *t, const char *s, size_t len)
{
    uint8_t stackbuf[256], *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
    if (!buf) return -1;
    long n = hx_bytelevel_decode(s, len, buf);
    long e = n < 0 ? -1 : hx_strmap_find(&t->vocab, buf, (size_t)n);
    if (buf != stackbuf) free(buf);
    return e < 0 ? -1 : t->vocab.vals[e];
}

static int set_id_bytes(hx_tokenizer *t, int32_t id, const void *b, size_t n)
{
    free(t->id_bytes[id]);
    t->id_bytes[id] = hx_malloc(n + 1);
    if (!t->id_bytes[id]) return HX_ENOMEM;
    memcpy(t->id_bytes[id], b, n);
    t->id_bytes[id][n] = '\0';
    t->id_len[id] = (uint32_t)n;
    return HX_OK;
}

static int load_model(hx_tokenizer *t, json_t *model, json_t *added, const char *name)
{
    if (!json_is_object(model)) return HX_ERR(HX_EFORMAT, "%s: model: missing or not an object", name);
    const char *ty = type_of(model);
    if (ty && strcmp(ty, "BPE"))
        return HX_ERR(HX_EFORMAT, "%s: model.type: '%s' is not supported (only BPE)", name, ty);
    if (!is_off(model, "dropout") && json_number_value(json_object_get(model, "dropout")) != 0.0)
        return HX_ERR(HX_EFORMAT, "%s: model.dropout: BPE dropout is not supported", name);
    static const char *const off_fields[] = {"byte_fallback", "continuing_subword_prefix", "end_of_word_suffix"};
    for (size_t i = 0; i < sizeof(off_fields) / sizeof(*off_fields); i++)
        if (!is_off(model, off_fields[i]))
            return HX_ERR(HX_EFORMAT, "%s: model.%s: not supported (must be null/false)", name, off_fields[i]);
    t->ignore_merges = get_bool(model, "ignore_merges", 0);

    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab)) return HX_ERR(HX_EFORMAT, "%s: model.vocab: missing or not an object", name);
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
    t->id_bytes = hx_calloc((size_t)t->n_ids + 1, sizeof(char *));
    t->id_len = hx_calloc((size_t)t->n_ids + 1, sizeof(uint32_t));
    t->id_special = hx_calloc((size_t)t->n_ids + 1, 1);
    if (!t->id_bytes || !t->id_len || !t->id_special) return HX_ENOMEM;
    HX_TRY(hx_strmap_init(&t->vocab, json_object_size(vocab)));
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    json_object_foreach(vocab, key, val) {
        int32_t id = (int32_t)json_integer_value(val);
        size_t klen = strlen(key);
        uint8_t *buf = hx_malloc(klen + 1);
        if (!buf) return HX_ENOMEM;
        long n = hx_bytelevel_decode(key, klen, buf);
        int rc = HX_OK;
        if (n < 0) { /* not in the byte-level alphabet: never produced by encode; decodes as-is */
            rc = set_id_bytes(t, id, key, klen);
        } else {
            long e;
            int is_new;
            rc = hx_strmap_put(&t->vocab, buf, (size_t)n, id, &e, &is_new);
            if (rc >= 0 && !is_new)
                rc = HX_ERR(HX_EFORMAT, "%s: model.vocab[\"%s\"]: duplicate token bytes", name, key);
            if (rc >= 0) rc = set_id_bytes(t, id, buf, (size_t)n);
            if (rc >= 0 && n == 1) t->byte_id[buf[0]] = id;
        }
        free(buf);
        HX_TRY(rc);
    }

    t->unk_id = -1;
    json_t *unk = json_object_get(model, "unk_token");
    if (json_is_string(unk)) {
        json_t *u = json_object_get(vocab, json_string_value(unk));
        if (!json_is_integer(u))
            return HX_ERR(HX_EFORMAT, "%s: model.unk_token: '%s' is not in model.vocab", name, json_string_value(unk));
        t->unk_id = (int32_t)json_integer_value(u);
    }

    json_t *merges = json_object_get(model, "merges");
    if (!json_is_array(merges)) return HX_ERR(HX_EFORMAT, "%s: model.merges: missing or not an array", name);
    HX_TRY(hx_u64map_init(&t->merges, json_array_size(merges)));
    size_t rank = 0;
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
        int32_t ia = token_id(t, a, la), ib = token_id(t, b, lb);
        char *ab = hx_malloc(la + lb + 1);
        if (!ab) return HX_ENOMEM;
        memcpy(ab, a, la);
        memcpy(ab + la, b, lb);
        ab[la + lb] = '\0';
        int32_t iab = token_id(t, ab, la + lb);
        if (ia < 0 || ib < 0 || iab < 0) {
            int rc = HX_ERR(HX_EFORMAT, "%s: model.merges[%zu]: token '%.*s' is not in model.vocab", name, i,
                            (int)(ia < 0 ? la : ib < 0 ? lb : la + lb), ia < 0 ? a : ib < 0 ? b : ab);
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

static int load_added(hx_tokenizer *t, json_t *added, const char *name)
{
    size_t n = json_array_size(added), i;
    hx_added *a = &t->added;
    a->content = hx_calloc(n + 1, sizeof(char *));
    a->len = hx_calloc(n + 1, sizeof(size_t));
    a->id = hx_calloc(n + 1, sizeof(int32_t));
    a->special = hx_calloc(n + 1, sizeof(int));
    if (!a->content || !a->len || !a->id || !a->special) return HX_ENOMEM;
    json_t *tok;
    json_array_foreach(added, i, tok) {
        const char *c = json_string_value(json_object_get(tok, "content"));
        if (!c || !*c) return HX_ERR(HX_EFORMAT, "%s: added_tokens[%zu].content: missing or empty", name, i);
        static const char *const opts[] = {"single_word", "lstrip", "rstrip"};
        for (size_t k = 0; k < 3; k++)
            if (get_bool(tok, opts[k], 0))
                return HX_ERR(HX_EFORMAT, "%s: added_tokens[%zu].%s: true is not supported", name, i, opts[k]);
        int32_t id = (int32_t)json_integer_value(json_object_get(tok, "id"));
        a->content[i] = strdup(c);
        if (!a->content[i]) return HX_ERR(HX_ENOMEM, "out of memory");
        a->len[i] = strlen(c);
        a->id[i] = id;
        a->special[i] = get_bool(tok, "special", 0);
        a->n = (int)i + 1;
        t->id_special[id] = (uint8_t)a->special[i];
        HX_TRY(set_id_bytes(t, id, c, a->len[i]));
    }
    return hx_added_index(a);
}

static int add_step(hx_tokenizer *t, json_t *pt, const char *field, const char *name)
{
    hx_pre_step st = {0};
    const char *ty = type_of(pt);
    if (!ty) return HX_ERR(HX_EFORMAT, "%s: %s.type: missing", name, field);
    char sub[128];
    if (!strcmp(ty, "ByteLevel")) {
        st.kind = HX_PRE_BYTELEVEL;
        st.add_prefix_space = get_bool(pt, "add_prefix_space", 1);
        if (get_bool(pt, "use_regex", 1)) {
            snprintf(sub, sizeof(sub), "%s.use_regex", field);
            HX_TRY(hx_regex_compile(HX_GPT2_REGEX, 0, sub, &st.re));
        }
    } else if (!strcmp(ty, "Split")) {
        st.kind = HX_PRE_SPLIT;
        const char *beh = json_string_value(json_object_get(pt, "behavior"));
        if (!beh || strcmp(beh, "Isolated"))
            return HX_ERR(HX_EFORMAT, "%s: %s.behavior: '%s' is not supported (only Isolated)", name, field,
                          beh ? beh : "(missing)");
        if (get_bool(pt, "invert", 0))
            return HX_ERR(HX_EFORMAT, "%s: %s.invert: true is not supported", name, field);
        json_t *pat = json_object_get(pt, "pattern");
        const char *re = json_string_value(json_object_get(pat, "Regex"));
        const char *lit = json_string_value(json_object_get(pat, "String"));
        snprintf(sub, sizeof(sub), "%s.pattern", field);
        if (!re && !lit) return HX_ERR(HX_EFORMAT, "%s: %s: neither Regex nor String", name, sub);
        char msg[300];
        snprintf(msg, sizeof(msg), "%s: %s", name, sub);
        HX_TRY(hx_regex_compile(re ? re : lit, !re, msg, &st.re));
    } else {
        return HX_ERR(HX_EFORMAT, "%s: %s.type: '%s' is not supported (ByteLevel, Split, Sequence)", name, field,
                      ty);
    }
    hx_pre_step *steps = realloc(t->pre.steps, (size_t)(t->pre.n + 1) * sizeof(*steps));
    if (!steps) {
        pcre2_code_free(st.re);
        return HX_ERR(HX_ENOMEM, "out of memory");
    }
    t->pre.steps = steps;
    steps[t->pre.n++] = st;
    return HX_OK;
}

static int load_pretok(hx_tokenizer *t, json_t *pt, const char *name)
{
    const char *ty = type_of(pt);
    if (!json_is_object(pt) || !ty)
        return HX_ERR(HX_EFORMAT, "%s: pre_tokenizer: missing (byte-level BPE needs a ByteLevel pre-tokenizer)", name);
    if (!strcmp(ty, "Sequence")) {
        json_t *arr = json_object_get(pt, "pretokenizers"), *p;
        if (!json_is_array(arr)) return HX_ERR(HX_EFORMAT, "%s: pre_tokenizer.pretokenizers: not an array", name);
        size_t i;
        json_array_foreach(arr, i, p) {
            char field[64];
            snprintf(field, sizeof(field), "pre_tokenizer.pretokenizers[%zu]", i);
            HX_TRY(add_step(t, p, field, name));
        }
    } else {
        HX_TRY(add_step(t, pt, "pre_tokenizer", name));
    }
    for (int i = 0; i < t->pre.n; i++)
        if (t->pre.steps[i].kind == HX_PRE_BYTELEVEL && i != t->pre.n - 1)
            return HX_ERR(HX_EFORMAT, "%s: pre_tokenizer: ByteLevel must be the last step", name);
    if (t->pre.steps[t->pre.n - 1].kind != HX_PRE_BYTELEVEL)
        return HX_ERR(HX_EFORMAT, "%s: pre_tokenizer: no ByteLevel step (only byte-level BPE is supported)", name);
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

static int load_post(hx_tokenizer *t, json_t *pp, const char *field, const char *name)
{
    if (!pp || json_is_null(pp)) return HX_OK;
    const char *ty = type_of(pp);
    if (!ty) return HX_ERR(HX_EFORMAT, "%s: %s.type: missing", name, field);
    if (!strcmp(ty, "ByteLevel")) return HX_OK; /* offsets only; no ids */
    if (!strcmp(ty, "TemplateProcessing")) return load_template(t, pp, field, name);
    if (!strcmp(ty, "Sequence")) {
        json_t *arr = json_object_get(pp, "processors"), *p;
        size_t i;
        if (!json_is_array(arr)) return HX_ERR(HX_EFORMAT, "%s: %s.processors: not an array", name, field);
        json_array_foreach(arr, i, p) {
            char sub[96];
            snprintf(sub, sizeof(sub), "%s.processors[%zu]", field, i);
            HX_TRY(load_post(t, p, sub, name));
        }
        return HX_OK;
    }
    return HX_ERR(HX_EFORMAT, "%s: %s.type: '%s' is not supported (TemplateProcessing, ByteLevel, Sequence)", name,
                  field, ty);
}

/* The added special token with one of `names`, or -1. */
static int32_t find_special(const hx_tokenizer *t, const char *const *names)
{
    for (; *names; names++)
        for (int i = 0; i < t->added.n; i++)
            if (t->added.special[i] && !strcmp(t->added.content[i], *names)) return t->added.id[i];
    return -1;
}

static int build(hx_tokenizer *t, json_t *root, const char *name)
{
    if (!json_is_object(root)) return HX_ERR(HX_EFORMAT, "%s: top level is not a JSON object", name);
    json_t *norm = json_object_get(root, "normalizer");
    if (norm && !json_is_null(norm))
        return HX_ERR(HX_EFORMAT, "%s: normalizer: type '%s' is not supported (only null)", name,
                      type_of(norm) ? type_of(norm) : "?");
    json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_array(added)) return HX_ERR(HX_EFORMAT, "%s: added_tokens: not an array", name);
    HX_TRY(load_model(t, json_object_get(root, "model"), added, name));
    HX_TRY(load_added(t, added, name));
    HX_TRY(load_pretok(t, json_object_get(root, "pre_tokenizer"), name));
    HX_TRY(load_post(t, json_object_get(root, "post_processor"), "post_processor", name));
    json_t *dec = json_object_get(root, "decoder");
    if (!type_of(dec) || strcmp(type_of(dec), "ByteLevel"))
        return HX_ERR(HX_EFORMAT, "%s: decoder: '%s' is not supported (only ByteLevel)", name,
                      type_of(dec) ? type_of(dec) : "null");
    static const char *const bos_names[] = {"<|begin_of_text|>", "<s>", "<|startoftext|>", "<|endoftext|>", NULL};
    static const char *const eos_names[] = {"<|end_of_text|>", "</s>", "<|endoftext|>", NULL};
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
    for (int i = 0; t->id_bytes && i < t->n_ids; i++) free(t->id_bytes[i]);
    free(t->id_bytes);
    free(t->id_len);
    free(t->id_special);
    hx_u64map_free(&t->merges);
    hx_added_free(&t->added);
    hx_pretok_free(&t->pre);
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
    for (int i = 0; i < t->added.n; i++)
        if (t->added.len[i] == len && !memcmp(t->added.content[i], text, len)) return t->added.id[i];
    long e = hx_strmap_find(&t->vocab, text, len);
    return e < 0 ? -1 : t->vocab.vals[e];
}
