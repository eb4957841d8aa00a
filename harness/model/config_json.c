/* Hugging Face config.json <-> hx_config for LlamaForCausalLM and
 * MistralForCausalLM, with the defaults of transformers' LlamaConfig /
 * MistralConfig (transformers 5.24, models/{llama,mistral}/configuration_*.py)
 * and both RoPE spellings (v4 `rope_scaling` + top-level `rope_theta`, v5
 * `rope_parameters` holding `rope_theta`). */
#include "model/weights.h"

#include "core/err.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads integer field `key` of `o` into *out. Absent -> *out = def (error if
 * def is -2, "required"); null -> *out = null_val. */
#define REQUIRED (-2)
static int get_int(const char *path, const json_t *o, const char *key, int def, int null_val, int *out)
{
    json_t *j = json_object_get(o, key);
    if (!j) {
        if (def == REQUIRED) return HX_ERR(HX_EFORMAT, "%s: required field \"%s\" is missing", path, key);
        *out = def;
        return HX_OK;
    }
    if (json_is_null(j)) {
        if (null_val == REQUIRED) return HX_ERR(HX_EFORMAT, "%s: field \"%s\" is null", path, key);
        *out = null_val;
        return HX_OK;
    }
    if (!json_is_integer(j)) return HX_ERR(HX_EFORMAT, "%s: field \"%s\" must be an integer", path, key);
    json_int_t v = json_integer_value(j);
    if (v < -1 || v > 0x7fffffff) return HX_ERR(HX_EFORMAT, "%s: field \"%s\" = %lld is out of range", path, key, (long long)v);
    *out = (int)v;
    return HX_OK;
}

/* Reads number field `key` (integer or real). Absent -> def; null -> error. */
static int get_num(const char *path, const char *where, const json_t *o, const char *key, int required, double def,
                   double *out)
{
    json_t *j = json_object_get(o, key);
    if (!j) {
        if (required) return HX_ERR(HX_EFORMAT, "%s: required field \"%s%s\" is missing", path, where, key);
        *out = def;
        return HX_OK;
    }
    if (!json_is_number(j)) return HX_ERR(HX_EFORMAT, "%s: field \"%s%s\" must be a number", path, where, key);
    *out = json_number_value(j);
    return HX_OK;
}

/* A token id field: an int, a list of ints (the first is kept), or null (-1). */
/* A token id, or a list of them: the first into *out, the others (at most
 * max_extra) into extra[0..*n_extra); with extra NULL only the first is read
 * (bos_token_id lists: a sequence starts with one BOS). */
static int get_token(const char *path, const json_t *o, const char *key, int def, int *out, int *extra, int *n_extra,
                     int max_extra)
{
    json_t *j = json_object_get(o, key);
    if (n_extra) *n_extra = 0;
    if (!json_is_array(j)) return get_int(path, o, key, def, -1, out);
    size_t n = json_array_size(j);
    *out = -1;
    if (!extra && n > 1) n = 1;
    if (n > 1 + (size_t)max_extra)
        return HX_ERR(HX_EFORMAT, "%s: field \"%s\" lists %zu ids (at most %d)", path, key, n, 1 + max_extra);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(j, i);
        if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 0x7fffffff)
            return HX_ERR(HX_EFORMAT, "%s: field \"%s\" must hold integers in [-1, 2^31 - 1]", path, key);
        if (i == 0) *out = (int)json_integer_value(v);
        else extra[(*n_extra)++] = (int)json_integer_value(v);
    }
    return HX_OK;
}

static int get_bool(const char *path, const json_t *o, const char *key, int def, int *out)
{
    json_t *j = json_object_get(o, key);
    if (!j || json_is_null(j)) {
        *out = def;
        return HX_OK;
    }
    if (!json_is_boolean(j)) return HX_ERR(HX_EFORMAT, "%s: field \"%s\" must be true or false", path, key);
    *out = json_is_true(j);
    return HX_OK;
}

/* RoPE: `rope_parameters` (v5) or `rope_scaling` (v4), type key `rope_type`
 * or `type`; rope_theta at top level or inside rope_parameters. */
static int parse_rope(const char *path, const json_t *root, hx_config *c)
{
    json_t *rp = json_object_get(root, "rope_parameters");
    const char *where = "rope_parameters.";
    if (!rp || json_is_null(rp)) {
        rp = json_object_get(root, "rope_scaling");
        where = "rope_scaling.";
    }
    if (rp && !json_is_null(rp) && !json_is_object(rp))
        return HX_ERR(HX_EFORMAT, "%s: field \"%.*s\" must be an object or null", path, (int)strlen(where) - 1, where);
    if (json_is_null(rp)) rp = NULL;

    json_t *top = json_object_get(root, "rope_theta"), *inner = rp ? json_object_get(rp, "rope_theta") : NULL;
    if (inner && !json_is_null(inner)) {
        HX_TRY(get_num(path, where, rp, "rope_theta", 1, 0, &c->rope_theta));
    } else if (top && json_is_null(top)) {
        return HX_ERR(HX_EFORMAT, "%s: \"rope_theta\" is null and no rope_parameters.rope_theta is given", path);
    } else {
        HX_TRY(get_num(path, "", root, "rope_theta", 0, 10000.0, &c->rope_theta)); /* LlamaConfig default */
    }

    c->rope_type = HX_ROPE_DEFAULT;
    if (!rp) return HX_OK;
    json_t *jt = json_object_get(rp, "rope_type");
    if (!jt) jt = json_object_get(rp, "type");
    const char *type = json_string_value(jt);
    if (!type) return HX_ERR(HX_EFORMAT, "%s: \"%srope_type\" is missing or not a string", path, where);
    if (!strcmp(type, "default")) return HX_OK;
    if (strcmp(type, "llama3"))
        return HX_ERR(HX_EFORMAT, "%s: \"%srope_type\" = \"%s\" is not supported (only \"default\" and \"llama3\")", path,
                      where, type);
    c->rope_type = HX_ROPE_LLAMA3;
    double orig = 0;
    HX_TRY(get_num(path, where, rp, "factor", 1, 0, &c->rope_factor));
    HX_TRY(get_num(path, where, rp, "low_freq_factor", 1, 0, &c->rope_low_freq_factor));
    HX_TRY(get_num(path, where, rp, "high_freq_factor", 1, 0, &c->rope_high_freq_factor));
    HX_TRY(get_num(path, where, rp, "original_max_position_embeddings", 1, 0, &orig));
    if (!(c->rope_factor > 0) || !(c->rope_low_freq_factor > 0) ||
        !(c->rope_high_freq_factor > c->rope_low_freq_factor) || orig != floor(orig) || !(orig > 0) ||
        orig > 0x7fffffff)
        return HX_ERR(HX_EFORMAT,
                      "%s: llama3 %s: need factor > 0, high_freq_factor > low_freq_factor > 0 and a positive integer "
                      "original_max_position_embeddings (at most 2^31 - 1)",
                      path, where);
    c->rope_original_max_position = (int)orig;
    return HX_OK;
}

static int is_supported_arch(const char *a) { return a && (!strcmp(a, "LlamaForCausalLM") || !strcmp(a, "MistralForCausalLM")); }

static int parse_config(const char *path, const json_t *root, hx_config *c)
{
    if (!json_is_object(root)) return HX_ERR(HX_EFORMAT, "%s: not a JSON object", path);
    /* Model family: model_type, else the architectures list. */
    const char *mt = json_string_value(json_object_get(root, "model_type"));
    json_t *arch = json_object_get(root, "architectures");
    if (arch && !json_is_null(arch)) {
        if (!json_is_array(arch)) return HX_ERR(HX_EFORMAT, "%s: field \"architectures\" must be a list", path);
        const char *found = NULL;
        for (size_t i = 0; i < json_array_size(arch) && !found; i++) {
            const char *a = json_string_value(json_array_get(arch, i));
            if (is_supported_arch(a)) found = a;
        }
        if (!found)
            return HX_ERR(HX_EFORMAT, "%s: \"architectures\" names no supported class (LlamaForCausalLM, MistralForCausalLM)",
                          path);
        if (!mt) mt = strncmp(found, "Mistral", 7) ? "llama" : "mistral";
    }
    if (!mt) return HX_ERR(HX_EFORMAT, "%s: neither \"model_type\" nor \"architectures\" is given", path);
    if (strcmp(mt, "llama") && strcmp(mt, "mistral"))
        return HX_ERR(HX_EFORMAT, "%s: \"model_type\" = \"%s\" is not supported (llama, mistral)", path, mt);
    int mistral = !strcmp(mt, "mistral");
    snprintf(c->model_type, sizeof c->model_type, "%s", mt);

    /* Shape fields are required: transformers would silently use 7B-sized
     * defaults, which is never what a checkpoint directory means. */
    HX_TRY(get_int(path, root, "vocab_size", REQUIRED, REQUIRED, &c->vocab_size));
    HX_TRY(get_int(path, root, "hidden_size", REQUIRED, REQUIRED, &c->hidden_size));
    HX_TRY(get_int(path, root, "intermediate_size", REQUIRED, REQUIRED, &c->intermediate_size));
    HX_TRY(get_int(path, root, "num_hidden_layers", REQUIRED, REQUIRED, &c->num_hidden_layers));
    HX_TRY(get_int(path, root, "num_attention_heads", REQUIRED, REQUIRED, &c->num_attention_heads));
    /* LlamaConfig: absent or null -> num_attention_heads. MistralConfig: absent -> 8, null -> heads. */
    HX_TRY(get_int(path, root, "num_key_value_heads", mistral ? 8 : c->num_attention_heads, c->num_attention_heads,
                   &c->num_key_value_heads));
    if (c->num_attention_heads <= 0) return HX_ERR(HX_EFORMAT, "%s: \"num_attention_heads\" must be positive", path);
    /* head_dim: an explicit value always wins; absent or null -> hidden_size / num_attention_heads. */
    HX_TRY(get_int(path, root, "head_dim", 0, 0, &c->head_dim));
    if (c->head_dim == 0) {
        if (c->hidden_size % c->num_attention_heads)
            return HX_ERR(HX_EFORMAT,
                          "%s: \"head_dim\" is not given and hidden_size %d is not divisible by num_attention_heads %d",
                          path, c->hidden_size, c->num_attention_heads);
        c->head_dim = c->hidden_size / c->num_attention_heads;
    }
    HX_TRY(get_int(path, root, "max_position_embeddings", mistral ? 4096 * 32 : 2048, REQUIRED,
                   &c->max_position_embeddings));
    double eps = 0;
    HX_TRY(get_num(path, "", root, "rms_norm_eps", 0, 1e-6, &eps));
    c->rms_norm_eps = (float)eps;
    HX_TRY(parse_rope(path, root, c));
    HX_TRY(get_bool(path, root, "tie_word_embeddings", 0, &c->tie_word_embeddings));
    HX_TRY(get_token(path, root, "bos_token_id", 1, &c->bos_token_id, NULL, NULL, 0));
    HX_TRY(get_token(path, root, "eos_token_id", 2, &c->eos_token_id, c->extra_eos, &c->n_extra_eos,
                     HX_MAX_EXTRA_EOS));
    c->sliding_window = 0;
    if (mistral) HX_TRY(get_int(path, root, "sliding_window", 4096, 0, &c->sliding_window));

    /* Features this engine does not implement: refuse instead of ignoring. */
    const char *act = json_string_value(json_object_get(root, "hidden_act"));
    if (act && strcmp(act, "silu"))
        return HX_ERR(HX_EFORMAT, "%s: \"hidden_act\" = \"%s\" is not supported (only silu)", path, act);
    int bias;
    HX_TRY(get_bool(path, root, "attention_bias", 0, &bias));
    if (bias) return HX_ERR(HX_EFORMAT, "%s: \"attention_bias\" = true is not supported", path);
    HX_TRY(get_bool(path, root, "mlp_bias", 0, &bias));
    if (bias) return HX_ERR(HX_EFORMAT, "%s: \"mlp_bias\" = true is not supported", path);
    /* Heterogeneous layers (transformers 5 per_layer_config, DeciLM / Nemotron-NAS
     * block_configs): every layer here has the config's sizes, and hx_config
     * has nowhere to keep per-layer overrides, so they would be dropped on save. */
    static const char *const hetero[] = {"per_layer_config", "block_configs"};
    for (size_t i = 0; i < sizeof hetero / sizeof hetero[0]; i++) {
        json_t *h = json_object_get(root, hetero[i]);
        int empty = !h || json_is_null(h) || (json_is_object(h) && json_object_size(h) == 0) ||
                    (json_is_array(h) && json_array_size(h) == 0);
        if (!empty)
            return HX_ERR(HX_EFORMAT,
                          "%s: \"%s\" (heterogeneous layers, Nemotron/DeciLM-style) is not supported: every layer "
                          "must have the config's sizes",
                          path, hetero[i]);
    }
    return HX_OK;
}

int hx_config_load(const char *path, hx_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        FILE *f = fopen(path, "r");
        if (!f) return HX_ERR(HX_EIO, "%s: cannot open: %s", path, strerror(errno));
        fclose(f);
        return HX_ERR(HX_EFORMAT, "%s: malformed JSON: %s (line %d, column %d)", path, jerr.text, jerr.line, jerr.column);
    }
    int rc = parse_config(path, root, cfg);
    json_decref(root);
    if (rc < 0) return rc;
    rc = hx_config_validate(cfg);
    if (rc < 0) return hx_adderr(rc, "%s", path);
    return HX_OK;
}

/* The double whose shortest decimal form is that of float `f` (1e-05f ->
 * 1e-05), so config.json shows the value as written, not its binary widening. */
static double float_as_decimal(float f)
{
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

static json_t *token_json(int id) { return id >= 0 ? json_integer(id) : json_null(); }

/* The config.json object of `c` (fields as hx_config_save_as), or NULL when out of memory. */
static json_t *config_object(const hx_config *c, hx_dtype dtype)
{
    int mistral = !strcmp(c->model_type, "mistral");
    const char *dt = dtype == HX_DT_BF16 ? "bfloat16" : dtype == HX_DT_F16 ? "float16" : "float32";
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "architectures", json_pack("[s]", mistral ? "MistralForCausalLM" : "LlamaForCausalLM"));
    json_object_set_new(o, "model_type", json_string(mistral ? "mistral" : "llama"));
    json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(o, "hidden_size", json_integer(c->hidden_size));
    json_object_set_new(o, "intermediate_size", json_integer(c->intermediate_size));
    json_object_set_new(o, "num_hidden_layers", json_integer(c->num_hidden_layers));
    json_object_set_new(o, "num_attention_heads", json_integer(c->num_attention_heads));
    json_object_set_new(o, "num_key_value_heads", json_integer(c->num_key_value_heads));
    json_object_set_new(o, "head_dim", json_integer(c->head_dim));
    json_object_set_new(o, "max_position_embeddings", json_integer(c->max_position_embeddings));
    json_object_set_new(o, "rms_norm_eps", json_real(float_as_decimal(c->rms_norm_eps)));
    json_object_set_new(o, "rope_theta", json_real(c->rope_theta));
    if (c->rope_type == HX_ROPE_LLAMA3)
        json_object_set_new(o, "rope_scaling",
                            json_pack("{s:s, s:f, s:f, s:f, s:i}", "rope_type", "llama3", "factor", c->rope_factor,
                                      "low_freq_factor", c->rope_low_freq_factor, "high_freq_factor",
                                      c->rope_high_freq_factor, "original_max_position_embeddings",
                                      c->rope_original_max_position));
    else
        json_object_set_new(o, "rope_scaling", json_null());
    json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    json_object_set_new(o, "bos_token_id", token_json(c->bos_token_id));
    json_t *eos = token_json(c->eos_token_id);
    if (c->n_extra_eos > 0 && c->eos_token_id >= 0) { /* a list stays a list */
        json_t *list = json_array();
        json_array_append_new(list, eos);
        for (int i = 0; i < c->n_extra_eos; i++) json_array_append_new(list, json_integer(c->extra_eos[i]));
        eos = list;
    }
    json_object_set_new(o, "eos_token_id", eos);
    json_object_set_new(o, "hidden_act", json_string("silu"));
    json_object_set_new(o, "attention_bias", json_false());
    json_object_set_new(o, "mlp_bias", json_false());
    if (mistral) json_object_set_new(o, "sliding_window", c->sliding_window > 0 ? json_integer(c->sliding_window) : json_null());
    json_object_set_new(o, "torch_dtype", json_string(dt)); /* transformers 4.x */
    json_object_set_new(o, "dtype", json_string(dt));       /* transformers 5.x */
    return o;
}

int hx_config_save_as(const char *path, const hx_config *c, hx_dtype dtype)
{
    HX_TRY(hx_config_validate(c));
    json_t *o = config_object(c, dtype);
    if (!o) return HX_ERR(HX_ENOMEM, "out of memory");
    int rc = hx_json_write_atomic(path, o);
    json_decref(o);
    return rc;
}

char *hx_config_json(const hx_config *c)
{
    json_t *o = config_object(c, HX_DT_F32);
    char *s = o ? json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

int hx_config_save(const char *path, const hx_config *cfg) { return hx_config_save_as(path, cfg, HX_DT_F32); }
