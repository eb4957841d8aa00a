/* GGUF tokenizer metadata <-> HF tokenizer.json for byte-level BPE (see
 * tokenizer_gguf.h). The pre-tokenizers of llama.cpp's `tokenizer.ggml.pre`
 * names live in one table; the export direction recognises a
 * tokenizer.json's pre-tokenizer by comparing it with what that table
 * builds. */
#include "data/tokenizer_gguf.h"

#include "core/err.h"
#include "core/util.h"
#include "data/tokenizer.h"
#include "data/tokenizer_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The Llama-3 regex with \p{N} for \p{N}{1,3} (llama.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2). */
#define QWEN2_REGEX                                                                                         \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* One llama.cpp pre-tokenizer: regex passes (Split, Isolated) in order, then
 * ByteLevel with or without its own GPT-2 regex; the Llama-3 family also
 * sets ignore_merges and adds BOS by default (llama-vocab.cpp). */
typedef struct {
    const char *const *names; /* the first is written on export */
    const char *splits[4];
    int bytelevel_regex, ignore_merges, add_bos;
} pre_def;

static const char *const gpt2_names[] = {"gpt-2", "gpt2", "phi-2", "roberta-bpe", NULL};
static const char *const smollm_names[] = {"smollm", "starcoder", NULL};
static const char *const llama3_names[] = {"llama-bpe", "llama3", "llama-v3", "falcon3", NULL};
static const char *const qwen2_names[] = {"qwen2", "deepseek-r1-qwen", "megrez", NULL};
static const char *const default_names[] = {"default", NULL};

static const pre_def pres[] = {
    {gpt2_names, {NULL}, 1, 0, 0},
    {smollm_names, {"\\p{N}"}, 1, 0, 0},
    {llama3_names, {HX_LLAMA3_REGEX}, 0, 1, 1},
    {qwen2_names, {QWEN2_REGEX}, 0, 0, 0},
    {default_names, {"[\\p{P}\\$\\+<=>\\^~\\|]+", HX_GPT2_REGEX, "\\p{N}+", "[0-9][0-9][0-9]"}, 0, 0, 0},
};
#define N_PRES (sizeof pres / sizeof pres[0])
#define KNOWN_PRES "gpt-2, smollm, starcoder, llama-bpe, llama3, qwen2, default"

static const pre_def *find_pre(const char *name)
{
    if (!name) name = "default";
    for (size_t i = 0; i < N_PRES; i++)
        for (const char *const *n = pres[i].names; *n; n++)
            if (!strcmp(*n, name)) return &pres[i];
    return NULL;
}

static json_t *bytelevel(int use_regex)
{
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
                     "use_regex", use_regex);
}

static json_t *pre_json(const pre_def *d)
{
    json_t *steps = json_array();
    for (int i = 0; i < 4 && d->splits[i]; i++)
        json_array_append_new(steps, json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex",
                                               d->splits[i], "behavior", "Isolated", "invert", 0));
    json_array_append_new(steps, bytelevel(d->bytelevel_regex));
    if (json_array_size(steps) == 1) {
        json_t *one = json_incref(json_array_get(steps, 0));
        json_decref(steps);
        return one;
    }
    return json_pack("{s:s, s:o}", "type", "Sequence", "pretokenizers", steps);
}

/* What a pre-tokenizer does, as text: "S:<regex>\n" per Split (a Digits
 * with individual_digits counts as Split(\p{N})), "B:<use_regex>\n" for
 * ByteLevel, "?\n" for anything else. Appended to buf (cap bytes). */
static void signature(json_t *pt, char *buf, size_t cap)
{
    const char *ty = json_string_value(json_object_get(pt, "type"));
    size_t n = strlen(buf);
    if (ty && !strcmp(ty, "Sequence")) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(pt, "pretokenizers"), i, p) signature(p, buf, cap);
    } else if (ty && !strcmp(ty, "Split") && json_is_string(json_object_get(json_object_get(pt, "pattern"), "Regex"))) {
        snprintf(buf + n, cap - n, "S:%s\n", json_string_value(json_object_get(json_object_get(pt, "pattern"), "Regex")));
    } else if (ty && !strcmp(ty, "Digits") && json_is_true(json_object_get(pt, "individual_digits"))) {
        snprintf(buf + n, cap - n, "S:\\p{N}\n");
    } else if (ty && !strcmp(ty, "ByteLevel")) {
        snprintf(buf + n, cap - n, "B:%d\n", !json_is_false(json_object_get(pt, "use_regex")));
    } else {
        snprintf(buf + n, cap - n, "?\n");
    }
}

void hx_gguf_vocab_free(hx_gguf_vocab *v)
{
    for (int i = 0; v->tokens && i < v->n_tokens; i++) free(v->tokens[i]);
    for (int i = 0; v->merges && i < v->n_merges; i++) free(v->merges[i]);
    free(v->tokens);
    free(v->merges);
    free(v->token_type);
    free(v->model);
    free(v->pre);
    memset(v, 0, sizeof *v);
}

/* Adds `tok` with id to the TemplateProcessing's special_tokens. */
static void template_special(json_t *specials, const char *tok, int id)
{
    json_object_set_new(specials, tok, json_pack("{s:s, s:[i], s:[s]}", "id", tok, "ids", id, "tokens", tok));
}

static json_t *special_piece(const char *tok, int type_id)
{
    return json_pack("{s:{s:s, s:i}}", "SpecialToken", "id", tok, "type_id", type_id);
}

static json_t *seq_piece(const char *id, int type_id)
{
    return json_pack("{s:{s:s, s:i}}", "Sequence", "id", id, "type_id", type_id);
}

static json_t *post_json(const hx_gguf_vocab *v, int add_bos, int add_eos)
{
    if (!add_bos && !add_eos)
        return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 0,
                         "use_regex", 1);
    json_t *single = json_array(), *pair = json_array(), *specials = json_object();
    const char *bos = add_bos ? v->tokens[v->bos_id] : NULL, *eos = add_eos ? v->tokens[v->eos_id] : NULL;
    for (int s = 0; s < 2; s++) {
        json_t *arr = s ? pair : single;
        for (int part = 0; part <= s; part++) {
            if (bos) json_array_append_new(arr, special_piece(bos, part));
            json_array_append_new(arr, seq_piece(part ? "B" : "A", part));
            if (eos) json_array_append_new(arr, special_piece(eos, part));
        }
    }
    if (bos) template_special(specials, bos, v->bos_id);
    if (eos) template_special(specials, eos, v->eos_id);
    return json_pack("{s:s, s:o, s:o, s:o}", "type", "TemplateProcessing", "single", single, "pair", pair,
                     "special_tokens", specials);
}

static int build_model(const hx_gguf_vocab *v, const pre_def *d, json_t **out)
{
    json_t *vocab = json_object(), *merges = json_array();
    *out = json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout", "unk_token",
                     "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0,
                     "ignore_merges", d->ignore_merges, "vocab", vocab, "merges", merges);
    if (!*out) return HX_ERR(HX_ENOMEM, "out of memory");
    for (int i = 0; i < v->n_tokens; i++) {
        json_t *prev = json_object_get(vocab, v->tokens[i]);
        if (prev)
            return HX_ERR(HX_EFORMAT, "tokenizer.ggml.tokens[%d]: '%s' duplicates token %lld", i, v->tokens[i],
                          (long long)json_integer_value(prev));
        if (json_object_set_new(vocab, v->tokens[i], json_integer(i)))
            return HX_ERR(HX_EFORMAT, "tokenizer.ggml.tokens[%d]: not valid UTF-8", i);
    }
    for (int i = 0; i < v->n_merges; i++) {
        const char *m = v->merges[i], *sp = m[0] ? strchr(m + 1, ' ') : NULL;
        if (!sp) return HX_ERR(HX_EFORMAT, "tokenizer.ggml.merges[%d]: '%s' is not two tokens split by a space", i, m);
        json_t *a = json_stringn(m, (size_t)(sp - m)), *b = json_string(sp + 1);
        if (!a || !b) {
            json_decref(a);
            json_decref(b);
            return HX_ERR(HX_EFORMAT, "tokenizer.ggml.merges[%d]: not valid UTF-8", i);
        }
        json_array_append_new(merges, json_pack("[o, o]", a, b));
    }
    return HX_OK;
}

static int build_added(const hx_gguf_vocab *v, json_t *added)
{
    for (int i = 0; v->token_type && i < v->n_tokens; i++) {
        int ty = v->token_type[i];
        if (ty != HX_TOKTYPE_CONTROL && ty != HX_TOKTYPE_USER_DEFINED) continue;
        json_array_append_new(added, json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", i, "content",
                                               v->tokens[i], "single_word", 0, "lstrip", 0, "rstrip", 0,
                                               "normalized", ty == HX_TOKTYPE_USER_DEFINED, "special",
                                               ty == HX_TOKTYPE_CONTROL));
    }
    return HX_OK;
}

int hx_gguf_vocab_to_json(const hx_gguf_vocab *v, char **json, size_t *len)
{
    *json = NULL;
    if (!v->model || strcmp(v->model, "gpt2"))
        return HX_ERR(HX_EFORMAT, "tokenizer.ggml.model: '%s' is not supported (only 'gpt2', byte-level BPE%s)",
                      v->model ? v->model : "(missing)",
                      v->model && !strcmp(v->model, "llama") ? "; SentencePiece 'llama' is not converted yet" : "");
    const pre_def *d = find_pre(v->pre);
    if (!d) return HX_ERR(HX_EFORMAT, "tokenizer.ggml.pre: '%s' is not supported (%s)", v->pre, KNOWN_PRES);
    int add_bos = v->add_bos >= 0 ? v->add_bos : d->add_bos, add_eos = v->add_eos > 0;
    if (add_bos && (v->bos_id < 0 || v->bos_id >= v->n_tokens))
        return HX_ERR(HX_EFORMAT, "tokenizer.ggml.bos_token_id: %d is not a token id (BOS is to be added)", v->bos_id);
    if (add_eos && (v->eos_id < 0 || v->eos_id >= v->n_tokens))
        return HX_ERR(HX_EFORMAT, "tokenizer.ggml.eos_token_id: %d is not a token id (EOS is to be added)", v->eos_id);
    json_t *model = NULL;
    int rc = build_model(v, d, &model);
    json_t *added = json_array();
    if (rc == HX_OK) rc = build_added(v, added);
    json_t *root = rc == HX_OK ? json_pack("{s:s, s:n, s:n, s:o, s:n, s:o, s:o, s:o, s:o}", "version", "1.0",
                                           "truncation", "padding", "added_tokens", added, "normalizer",
                                           "pre_tokenizer", pre_json(d), "post_processor",
                                           post_json(v, add_bos, add_eos), "decoder", bytelevel(1), "model", model)
                               : NULL;
    if (rc < 0) {
        json_decref(model);
        json_decref(added);
        return rc;
    }
    if (!root) return HX_ERR(HX_ENOMEM, "out of memory building tokenizer.json");
    *json = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!*json) return HX_ERR(HX_ENOMEM, "out of memory writing tokenizer.json");
    *len = strlen(*json);
    return HX_OK;
}

/* ---- tokenizer.json -> GGUF metadata ---- */

static int set_token(hx_gguf_vocab *v, json_int_t id, const char *s, int type)
{
    if (id < 0 || id >= v->n_tokens) return HX_OK; /* the loader already checked the range */
    free(v->tokens[id]);
    v->tokens[id] = strdup(s);
    if (!v->tokens[id]) return HX_ERR(HX_ENOMEM, "out of memory");
    v->token_type[id] = type;
    return HX_OK;
}

static int read_json(const char *path, json_t *root, hx_gguf_vocab *v)
{
    json_t *model = json_object_get(root, "model"), *vocab = json_object_get(model, "vocab"),
           *merges = json_object_get(model, "merges"), *added = json_object_get(root, "added_tokens"), *val;
    const char *key;
    size_t i;
    json_int_t max_id = -1;
    json_object_foreach(vocab, key, val) if (json_integer_value(val) > max_id) max_id = json_integer_value(val);
    json_array_foreach(added, i, val) {
        json_int_t id = json_integer_value(json_object_get(val, "id"));
        if (id > max_id) max_id = id;
    }
    v->n_tokens = (int)(max_id + 1);
    v->tokens = hx_calloc((size_t)v->n_tokens + 1, sizeof(char *));
    v->token_type = hx_calloc((size_t)v->n_tokens + 1, sizeof(int32_t));
    v->merges = hx_calloc(json_array_size(merges) + 1, sizeof(char *));
    if (!v->tokens || !v->token_type || !v->merges) return HX_ENOMEM;
    json_object_foreach(vocab, key, val) HX_TRY(set_token(v, json_integer_value(val), key, HX_TOKTYPE_NORMAL));
    json_array_foreach(added, i, val) {
        int special = json_is_true(json_object_get(val, "special"));
        HX_TRY(set_token(v, json_integer_value(json_object_get(val, "id")),
                         json_string_value(json_object_get(val, "content")),
                         special ? HX_TOKTYPE_CONTROL : HX_TOKTYPE_USER_DEFINED));
    }
    for (int id = 0; id < v->n_tokens; id++)
        if (!v->tokens[id]) {
            v->tokens[id] = hx_strfmt("[PAD%d]", id);
            if (!v->tokens[id]) return HX_ENOMEM;
            v->token_type[id] = HX_TOKTYPE_UNUSED;
        }
    json_array_foreach(merges, i, val) {
        const char *s = json_string_value(val);
        if (s && s[0] == '#' && i == 0) continue; /* "#version" line */
        char *m = s ? strdup(s)
                    : hx_strfmt("%s %s", json_string_value(json_array_get(val, 0)),
                                json_string_value(json_array_get(val, 1)));
        if (!m) return HX_ERR(HX_ENOMEM, "out of memory");
        v->merges[v->n_merges++] = m;
    }
    char want[4096] = "", have[4096] = "";
    signature(json_object_get(root, "pre_tokenizer"), have, sizeof have);
    for (size_t k = 0; k < N_PRES; k++) {
        json_t *pt = pre_json(&pres[k]);
        want[0] = '\0';
        signature(pt, want, sizeof want);
        json_decref(pt);
        if (!strcmp(want, have)) {
            v->pre = strdup(pres[k].names[0]);
            return v->pre ? HX_OK : HX_ERR(HX_ENOMEM, "out of memory");
        }
    }
    return HX_ERR(HX_EFORMAT, "%s: pre_tokenizer: matches none of llama.cpp's pre-tokenizers (%s)", path, KNOWN_PRES);
}

int hx_gguf_vocab_from_json(const char *path, hx_gguf_vocab *v)
{
    memset(v, 0, sizeof *v);
    v->bos_id = v->eos_id = v->unk_id = v->pad_id = -1;
    hx_tokenizer *t;
    HX_TRY(hx_tokenizer_load(path, &t));
    v->add_bos = hx_tokenizer_adds_bos(t);
    v->add_eos = 0;
    v->bos_id = hx_tokenizer_bos_id(t);
    v->eos_id = hx_tokenizer_eos_id(t);
    hx_tokenizer_free(t);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) return HX_ERR(HX_EFORMAT, "%s: %s", path, jerr.text);
    v->model = strdup("gpt2");
    int rc = v->model ? read_json(path, root, v) : HX_ERR(HX_ENOMEM, "out of memory");
    json_decref(root);
    if (rc < 0) hx_gguf_vocab_free(v);
    return rc;
}
