/* Llama GGUF import and export (see gguf_llama.h): metadata <-> hx_config,
 * tensor names and the Q/K permutation, tokenizer metadata through
 * data/tokenizer_gguf.h; weights go through hx_model_save / hx_model_load. */
#include "model/gguf_llama.h"

#include "core/err.h"
#include "core/util.h"
#include "cpu/quant.h"
#include "data/tokenizer.h"
#include "data/tokenizer_gguf.h"
#include "model/weights.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
    const char *hf, *gguf;
} layer_names[] = {
    {"input_layernorm", "attn_norm"},  {"self_attn.q_proj", "attn_q"},        {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"},    {"self_attn.o_proj", "attn_output"},   {"post_attention_layernorm", "ffn_norm"},
    {"mlp.gate_proj", "ffn_gate"},     {"mlp.up_proj", "ffn_up"},             {"mlp.down_proj", "ffn_down"},
};

int hx_gguf_llama_name(const char *hf, char *buf, size_t len)
{
    static const struct {
        const char *hf, *gguf;
    } top[] = {{"model.embed_tokens.weight", "token_embd.weight"},
               {"model.norm.weight", "output_norm.weight"},
               {"lm_head.weight", "output.weight"}};
    for (size_t i = 0; i < sizeof top / sizeof *top; i++)
        if (!strcmp(hf, top[i].hf)) return snprintf(buf, len, "%s", top[i].gguf), 1;
    int layer, pos = 0;
    if (sscanf(hf, "model.layers.%d.%n", &layer, &pos) != 1 || !pos) return 0;
    for (size_t i = 0; i < sizeof layer_names / sizeof *layer_names; i++) {
        size_t n = strlen(layer_names[i].hf);
        if (!strncmp(hf + pos, layer_names[i].hf, n) && !strcmp(hf + pos + n, ".weight"))
            return snprintf(buf, len, "blk.%d.%s.weight", layer, layer_names[i].gguf), 1;
    }
    return 0;
}

void hx_gguf_permute_qk(float *dst, const float *src, int n_head, int head_dim, int cols, int to_gguf)
{
    int half = head_dim / 2;
    for (int h = 0; h < n_head; h++)
        for (int i = 0; i < half; i++)
            for (int s = 0; s < 2; s++) {
                size_t g = (size_t)h * head_dim + 2 * i + s, f = (size_t)h * head_dim + s * half + i;
                size_t to = to_gguf ? g : f, from = to_gguf ? f : g;
                memcpy(dst + to * cols, src + from * cols, (size_t)cols * sizeof(float));
            }
}

/* llama.cpp's rope_freqs of a llama3 rope: the unscaled inverse frequency
 * over the scaled one (both from hx_rope_inv_freq), [head_dim/2], so that
 * llama.cpp's angle pos * freq / factor equals transformers'. */
static int rope_factors(const hx_config *c, float *out)
{
    int half = c->head_dim / 2;
    hx_rope_params p = hx_config_rope(c), base = p;
    base.llama3 = 0;
    float *f = hx_malloc((size_t)half * sizeof(float));
    if (!f) return HX_ENOMEM;
    hx_rope_inv_freq(f, &base);
    hx_rope_inv_freq(out, &p);
    for (int i = 0; i < half; i++) out[i] = f[i] / out[i];
    free(f);
    return HX_OK;
}

/* The llama3 rope parameters that give the factors r[head_dim/2] of a
 * rope_freqs tensor: factor = max r; in the smooth band 1/r = (1 - s)/factor
 * + s with s = a/wavelen - b, a = original_max_position / (high - low),
 * b = low / (high - low), fitted by least squares; only a and b matter, so
 * low_freq_factor is taken as 1 (Llama 3.1's). Checked by recomputing the
 * factors (relative error at most 1e-4); all factors 1 mean no scaling. */
static int rope_from_factors(const char *path, const float *r, hx_config *c)
{
    int half = c->head_dim / 2, n = 0;
    float factor = 1, *chk = hx_malloc((size_t)half * 2 * sizeof(float)), *base = chk + half;
    if (!chk) return HX_ENOMEM;
    for (int i = 0; i < half; i++) factor = r[i] > factor ? r[i] : factor;
    hx_rope_params p = hx_config_rope(c);
    p.llama3 = 0;
    hx_rope_inv_freq(base, &p);
    double sx = 0, ss = 0, sxx = 0, sxs = 0;
    for (int i = 0; i < half; i++)
        if (r[i] > 1 + 1e-6 && r[i] < factor * (1 - 1e-6)) {
            double x = base[i] / (2 * M_PI), s = (1.0 / r[i] - 1.0 / factor) / (1 - 1.0 / factor);
            sx += x, ss += s, sxx += x * x, sxs += x * s, n++;
        }
    int rc = HX_OK;
    if (factor > 1 && n < 2) {
        rc = HX_ERR(HX_EFORMAT, "%s: tensor 'rope_freqs.weight': %d factors between 1 and %g, 2 are needed to "
                    "recover the llama3 rope parameters", path, n, factor);
    } else if (factor > 1) {
        double a = (n * sxs - sx * ss) / (n * sxx - sx * sx), b = a * sx / n - ss / n;
        if (!(a > 0) || !(b > 0) || !(a / b < INT_MAX)) {
            free(chk);
            return HX_ERR(HX_EFORMAT, "%s: tensor 'rope_freqs.weight': the factors do not follow llama3 rope "
                          "scaling (fit slope %g, intercept %g)", path, a, -b);
        }
        c->rope_type = HX_ROPE_LLAMA3;
        c->rope_factor = factor;
        c->rope_low_freq_factor = 1;
        c->rope_high_freq_factor = round(1e4 * (1 + 1 / b)) / 1e4;
        c->rope_original_max_position = (int)lround(a / b);
        rc = rope_factors(c, chk);
        double worst = 0;
        for (int i = 0; i < half && rc == HX_OK; i++) worst = fmax(worst, fabs(chk[i] - r[i]) / r[i]);
        if (rc == HX_OK && !(worst <= 1e-4))
            rc = HX_ERR(HX_EFORMAT, "%s: tensor 'rope_freqs.weight': the factors do not follow llama3 rope scaling "
                        "(best fit factor %g, high_freq_factor %g, original_max_position %d: relative error %g)",
                        path, factor, c->rope_high_freq_factor, c->rope_original_max_position, worst);
    }
    free(chk);
    return rc;
}

/* ---- GGUF -> HF ---- */

/* A required positive integer key that fits an int. */
static int req_int(const hx_gguf *g, const char *key, int *v)
{
    uint32_t u;
    int rc = hx_gguf_get_u32(g, key, &u);
    if (rc < 0) return rc;
    if (rc == 0) return HX_ERR(HX_EFORMAT, "%s: %s: missing (required for a llama model)", hx_gguf_path(g), key);
    if (u == 0 || u > INT_MAX) return HX_ERR(HX_EFORMAT, "%s: %s: %u is not a positive size", hx_gguf_path(g), key, u);
    *v = (int)u;
    return HX_OK;
}

/* An optional integer key: *v keeps its default when absent. */
static int opt_int(const hx_gguf *g, const char *key, int *v)
{
    int32_t i;
    int rc = hx_gguf_get_i32(g, key, &i);
    if (rc == 1) *v = i;
    return rc < 0 ? rc : HX_OK;
}

int hx_gguf_llama_config(const hx_gguf *g, hx_config *c)
{
    const char *path = hx_gguf_path(g), *s;
    size_t n;
    memset(c, 0, sizeof *c);
    int rc = hx_gguf_get_str(g, "general.architecture", &s, &n);
    if (rc < 0) return rc;
    if (rc == 0) return HX_ERR(HX_EFORMAT, "%s: general.architecture: missing", path);
    if (n != 5 || memcmp(s, "llama", 5))
        return HX_ERR(HX_EFORMAT, "%s: general.architecture: '%.*s' is not supported (only llama)", path, (int)n, s);
    strcpy(c->model_type, "llama");
    const hx_gguf_kv *hc = hx_gguf_find_kv(g, "llama.attention.head_count");
    if (hc && hc->type == HX_GGUF_ARRAY)
        return HX_ERR(HX_EFORMAT, "%s: llama.attention.head_count: per-layer head counts are not supported", path);
    HX_TRY(req_int(g, "llama.embedding_length", &c->hidden_size));
    HX_TRY(req_int(g, "llama.feed_forward_length", &c->intermediate_size));
    HX_TRY(req_int(g, "llama.block_count", &c->num_hidden_layers));
    HX_TRY(req_int(g, "llama.attention.head_count", &c->num_attention_heads));
    HX_TRY(req_int(g, "llama.context_length", &c->max_position_embeddings));
    c->num_key_value_heads = c->num_attention_heads;
    if (hx_gguf_find_kv(g, "llama.attention.head_count_kv"))
        HX_TRY(req_int(g, "llama.attention.head_count_kv", &c->num_key_value_heads));
    rc = hx_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &c->rms_norm_eps);
    if (rc < 0) return rc;
    if (rc == 0) return HX_ERR(HX_EFORMAT, "%s: llama.attention.layer_norm_rms_epsilon: missing", path);
    c->rope_theta = 10000.0;
    HX_TRY(hx_gguf_get_f64(g, "llama.rope.freq_base", &c->rope_theta));
    int rot = 0, key = 0, val = 0;
    HX_TRY(opt_int(g, "llama.rope.dimension_count", &rot));
    HX_TRY(opt_int(g, "llama.attention.key_length", &key));
    HX_TRY(opt_int(g, "llama.attention.value_length", &val));
    if (rot && key && rot != key)
        return HX_ERR(HX_EFORMAT, "%s: llama.rope.dimension_count %d differs from llama.attention.key_length %d", path,
                      rot, key);
    c->head_dim = rot ? rot : key ? key : c->hidden_size / c->num_attention_heads;
    if (val && val != c->head_dim)
        return HX_ERR(HX_EFORMAT, "%s: llama.attention.value_length %d differs from the head dimension %d", path, val,
                      c->head_dim);
    rc = hx_gguf_get_str(g, "llama.rope.scaling.type", &s, &n);
    if (rc < 0) return rc;
    if (rc == 1 && !(n == 4 && !memcmp(s, "none", 4)))
        return HX_ERR(HX_EFORMAT, "%s: llama.rope.scaling.type: '%.*s' is not supported (only none)", path, (int)n, s);
    const hx_gguf_tensor *emb = hx_gguf_find_tensor(g, "token_embd.weight");
    if (!emb) return HX_ERR(HX_EFORMAT, "%s: tensor 'token_embd.weight': missing", path);
    c->vocab_size = emb->ndim == 2 && emb->ne[1] <= INT_MAX ? (int)emb->ne[1] : 0;
    int vs = c->vocab_size;
    HX_TRY(opt_int(g, "llama.vocab_size", &vs));
    if (vs != c->vocab_size)
        return HX_ERR(HX_EFORMAT, "%s: llama.vocab_size %d differs from the rows of token_embd.weight (%d)", path, vs,
                      c->vocab_size);
    c->tie_word_embeddings = !hx_gguf_find_tensor(g, "output.weight");
    c->bos_token_id = c->eos_token_id = -1;
    HX_TRY(opt_int(g, "tokenizer.ggml.bos_token_id", &c->bos_token_id));
    HX_TRY(opt_int(g, "tokenizer.ggml.eos_token_id", &c->eos_token_id));
    rc = hx_config_validate(c);
    if (rc < 0) return hx_adderr(HX_EFORMAT, "%s", path);
    const hx_gguf_tensor *rf = hx_gguf_find_tensor(g, "rope_freqs.weight");
    if (!rf) return HX_OK;
    if (rf->ndim != 1 || rf->ne[0] != (uint64_t)c->head_dim / 2)
        return HX_ERR(HX_EFORMAT, "%s: tensor 'rope_freqs.weight': ne[0] = %llu (%d dims), head_dim/2 = %d expected",
                      path, (unsigned long long)rf->ne[0], rf->ndim, c->head_dim / 2);
    float *r = hx_malloc((size_t)c->head_dim / 2 * sizeof(float));
    if (!r) return HX_ENOMEM;
    rc = hx_gguf_read_f32(g, rf, r, (size_t)c->head_dim / 2);
    if (rc == HX_OK) rc = hx_check_finite(r, (size_t)c->head_dim / 2, "%s: tensor 'rope_freqs.weight'", path);
    if (rc == HX_OK) rc = rope_from_factors(path, r, c);
    free(r);
    return rc;
}

/* Reads GGUF tensor `gname` into parameter p (un-permuting q/k). */
static int read_param(const hx_gguf *g, const hx_param *p, const char *gname, const hx_config *c, int *type_count)
{
    const char *path = hx_gguf_path(g);
    const hx_gguf_tensor *t = hx_gguf_find_tensor(g, gname);
    if (!t) return HX_ERR(HX_EFORMAT, "%s: tensor '%s' (%s): missing", path, gname, p->name);
    uint64_t want0 = p->cols ? (uint64_t)p->cols : (uint64_t)p->rows, want1 = p->cols ? (uint64_t)p->rows : 1;
    if (t->ndim != (p->cols ? 2 : 1) || t->ne[0] != want0 || t->ne[1] != want1)
        return HX_ERR(HX_EFORMAT, "%s: tensor '%s': ne [%llu, %llu] (%d dims), the config implies [%llu, %llu]", path,
                      gname, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], t->ndim,
                      (unsigned long long)want0, (unsigned long long)want1);
    size_t n = (size_t)t->numel;
    int heads = strstr(gname, ".attn_q.") ? c->num_attention_heads : strstr(gname, ".attn_k.") ? c->num_key_value_heads : 0;
    float *tmp = heads ? hx_malloc(n * sizeof(float)) : p->data;
    if (!tmp) return HX_ENOMEM;
    int rc = hx_gguf_read_f32(g, t, tmp, n);
    if (rc == HX_OK && heads) hx_gguf_permute_qk(p->data, tmp, heads, c->head_dim, p->cols, 0);
    if (heads) free(tmp);
    if (rc == HX_OK) rc = hx_check_finite(p->data, n, "%s: tensor '%s'", path, gname);
    if (rc == HX_OK) type_count[t->type < 64 ? t->type : 63]++;
    return rc;
}

static int read_vocab(const hx_gguf *g, hx_gguf_vocab *v)
{
    const char *path = hx_gguf_path(g), *s;
    size_t n;
    v->bos_id = v->eos_id = v->unk_id = v->pad_id = -1;
    v->add_bos = v->add_eos = -1;
    int rc = hx_gguf_get_str(g, "tokenizer.ggml.model", &s, &n);
    if (rc <= 0) return rc < 0 ? rc : HX_ERR(HX_EFORMAT, "%s: tokenizer.ggml.model: missing", path);
    if (!(v->model = strndup(s, n))) return HX_ERR(HX_ENOMEM, "out of memory");
    rc = hx_gguf_get_str(g, "tokenizer.ggml.pre", &s, &n);
    if (rc < 0) return rc;
    if (rc == 1 && !(v->pre = strndup(s, n))) return HX_ERR(HX_ENOMEM, "out of memory");
    const hx_gguf_kv *kv;
    rc = hx_gguf_get_arr(g, "tokenizer.ggml.tokens", HX_GGUF_STRING, &kv);
    if (rc <= 0) return rc < 0 ? rc : HX_ERR(HX_EFORMAT, "%s: tokenizer.ggml.tokens: missing", path);
    if (kv->n > (1 << 24)) return HX_ERR(HX_EFORMAT, "%s: tokenizer.ggml.tokens: %llu tokens", path, (unsigned long long)kv->n);
    v->tokens = hx_calloc(kv->n + 1, sizeof(char *));
    if (!v->tokens) return HX_ENOMEM;
    for (uint64_t i = 0; i < kv->n; i++) {
        if (!(v->tokens[i] = strndup(kv->str[i], (size_t)kv->len[i]))) return HX_ERR(HX_ENOMEM, "out of memory");
        v->n_tokens = (int)i + 1;
        if (strlen(v->tokens[i]) != kv->len[i])
            return HX_ERR(HX_EFORMAT, "%s: tokenizer.ggml.tokens[%llu]: contains a NUL byte", path, (unsigned long long)i);
    }
    rc = hx_gguf_get_arr(g, "tokenizer.ggml.token_type", HX_GGUF_I64, &kv);
    if (rc < 0) return rc;
    if (rc == 1) {
        if (kv->n != (uint64_t)v->n_tokens)
            return HX_ERR(HX_EFORMAT, "%s: tokenizer.ggml.token_type: %llu entries for %d tokens", path,
                          (unsigned long long)kv->n, v->n_tokens);
        if (!(v->token_type = hx_malloc((kv->n + 1) * sizeof(int32_t)))) return HX_ENOMEM;
        for (uint64_t i = 0; i < kv->n; i++) v->token_type[i] = (int32_t)hx_gguf_arr_int(kv, i);
    }
    rc = hx_gguf_get_arr(g, "tokenizer.ggml.merges", HX_GGUF_STRING, &kv);
    if (rc < 0) return rc;
    if (rc == 1) {
        if (kv->n > INT_MAX) return HX_ERR(HX_EFORMAT, "%s: tokenizer.ggml.merges: too many", path);
        if (!(v->merges = hx_calloc(kv->n + 1, sizeof(char *)))) return HX_ENOMEM;
        for (uint64_t i = 0; i < kv->n; i++, v->n_merges++)
            if (!(v->merges[i] = strndup(kv->str[i], (size_t)kv->len[i]))) return HX_ERR(HX_ENOMEM, "out of memory");
    }
    HX_TRY(opt_int(g, "tokenizer.ggml.bos_token_id", &v->bos_id));
    HX_TRY(opt_int(g, "tokenizer.ggml.eos_token_id", &v->eos_id));
    HX_TRY(opt_int(g, "tokenizer.ggml.unknown_token_id", &v->unk_id));
    HX_TRY(opt_int(g, "tokenizer.ggml.padding_token_id", &v->pad_id));
    rc = hx_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &v->add_bos);
    if (rc >= 0) rc = hx_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &v->add_eos);
    return rc < 0 ? rc : HX_OK;
}

/* Writes out_dir/tokenizer.json from the GGUF metadata and loads it back. */
static int import_tokenizer(const hx_gguf *g, const char *out_dir, FILE *report)
{
    hx_gguf_vocab v;
    memset(&v, 0, sizeof v);
    char *json = NULL, *path = hx_path_join(out_dir, "tokenizer.json");
    size_t len = 0;
    int rc = path ? read_vocab(g, &v) : HX_ENOMEM;
    if (rc == HX_OK) rc = hx_gguf_vocab_to_json(&v, &json, &len);
    if (rc == HX_OK) rc = hx_write_file_atomic(path, json, len);
    hx_tokenizer *t = NULL;
    if (rc == HX_OK && (rc = hx_tokenizer_load(path, &t)) < 0) remove(path);
    if (report && rc == HX_OK)
        fprintf(report, "tokenizer: %s (%s, pre %s, %d tokens, %d merges, BOS %s)\n", path, v.model,
                v.pre ? v.pre : "default", v.n_tokens, v.n_merges, hx_tokenizer_adds_bos(t) ? "added" : "not added");
    else if (report)
        fprintf(report, "tokenizer: not written: %s\n", hx_errtext());
    hx_tokenizer_free(t);
    hx_gguf_vocab_free(&v);
    free(json);
    free(path);
    return rc == HX_ENOMEM ? rc : HX_OK;
}

int hx_gguf_import(const char *path, const char *out_dir, hx_dtype dtype, FILE *report)
{
    if (dtype != HX_DT_F32 && dtype != HX_DT_BF16)
        return HX_ERR(HX_EINVAL, "gguf import: dtype %s (F32 or BF16)", hx_dtype_name(dtype));
    hx_gguf *g;
    HX_TRY(hx_gguf_open(path, &g));
    hx_config c;
    hx_model m;
    memset(&m, 0, sizeof m);
    hx_param *params = NULL;
    int type_count[64] = {0};
    int rc = hx_gguf_llama_config(g, &c);
    if (rc == HX_OK) rc = hx_model_alloc(&m, &c);
    if (rc == HX_OK && !(params = hx_malloc((size_t)hx_model_num_params(&c) * sizeof *params))) rc = HX_ENOMEM;
    int np = rc == HX_OK ? hx_model_params(&m, params) : 0, used = 0;
    for (int i = 0; i < np && rc == HX_OK; i++) {
        char gname[96];
        hx_gguf_llama_name(params[i].name, gname, sizeof gname);
        rc = read_param(g, &params[i], gname, &c, type_count);
        used++;
    }
    if (rc == HX_OK && used + !!hx_gguf_find_tensor(g, "rope_freqs.weight") != hx_gguf_n_tensors(g))
        for (int i = 0; i < hx_gguf_n_tensors(g) && rc == HX_OK; i++) {
            const char *name = hx_gguf_tensor_at(g, i)->name;
            int known = !strcmp(name, "rope_freqs.weight"); /* read by hx_gguf_llama_config */
            for (int k = 0; k < np && !known; k++) {
                char gname[96];
                hx_gguf_llama_name(params[k].name, gname, sizeof gname);
                known = !strcmp(gname, name);
            }
            if (!known) rc = HX_ERR(HX_EFORMAT, "%s: tensor '%s': not a llama tensor this importer knows", path, name);
        }
    if (rc == HX_OK) rc = hx_mkdir_p(out_dir);
    if (rc == HX_OK) rc = hx_model_save(out_dir, &m, dtype, 0);
    if (rc == HX_OK && report) {
        fprintf(report, "config: llama, vocab %d, hidden %d, intermediate %d, layers %d, heads %d/%d, head_dim %d%s\n",
                c.vocab_size, c.hidden_size, c.intermediate_size, c.num_hidden_layers, c.num_attention_heads,
                c.num_key_value_heads, c.head_dim, c.tie_word_embeddings ? ", tied embeddings" : "");
        fprintf(report, "tensors: %d from GGUF v%u:", used, hx_gguf_version(g));
        for (int t = 0; t < 64; t++)
            if (type_count[t]) fprintf(report, " %d %s", type_count[t], hx_ggml_type_name((uint32_t)t));
        fprintf(report, "; written as %s\n", hx_dtype_name(dtype));
    }
    if (rc == HX_OK) rc = import_tokenizer(g, out_dir, report);
    free(params);
    hx_model_free(&m);
    hx_gguf_close(g);
    return rc;
}

/* ---- HF -> GGUF ---- */

/* llama.cpp general.file_type (LLAMA_FTYPE) of a weight type. */
static uint32_t file_type(uint32_t type)
{
    switch (type) {
    case HX_GGML_F16: return 1;
    case HX_GGML_Q8_0: return 7;
    case HX_GGML_BF16: return 32;
    default: return 0;
    }
}

static int put_config(hx_gguf_writer *w, const hx_config *c, uint32_t type)
{
    HX_TRY(hx_gguf_put_str(w, "general.architecture", "llama"));
    HX_TRY(hx_gguf_put_u32(w, "general.file_type", file_type(type)));
    if (type == HX_GGML_Q8_0) HX_TRY(hx_gguf_put_u32(w, "general.quantization_version", 2));
    HX_TRY(hx_gguf_put_u32(w, "llama.context_length", (uint32_t)c->max_position_embeddings));
    HX_TRY(hx_gguf_put_u32(w, "llama.embedding_length", (uint32_t)c->hidden_size));
    HX_TRY(hx_gguf_put_u32(w, "llama.block_count", (uint32_t)c->num_hidden_layers));
    HX_TRY(hx_gguf_put_u32(w, "llama.feed_forward_length", (uint32_t)c->intermediate_size));
    HX_TRY(hx_gguf_put_u32(w, "llama.rope.dimension_count", (uint32_t)c->head_dim));
    HX_TRY(hx_gguf_put_u32(w, "llama.attention.head_count", (uint32_t)c->num_attention_heads));
    HX_TRY(hx_gguf_put_u32(w, "llama.attention.head_count_kv", (uint32_t)c->num_key_value_heads));
    HX_TRY(hx_gguf_put_u32(w, "llama.attention.key_length", (uint32_t)c->head_dim));
    HX_TRY(hx_gguf_put_u32(w, "llama.attention.value_length", (uint32_t)c->head_dim));
    HX_TRY(hx_gguf_put_f32(w, "llama.attention.layer_norm_rms_epsilon", c->rms_norm_eps));
    HX_TRY(hx_gguf_put_f32(w, "llama.rope.freq_base", (float)c->rope_theta));
    return hx_gguf_put_u32(w, "llama.vocab_size", (uint32_t)c->vocab_size);
}

/* tokenizer.ggml.bos/eos_token_id: the config's, else the tokenizer's (-1: none). */
static int put_ids(hx_gguf_writer *w, const hx_config *c, int tok_bos, int tok_eos)
{
    int bos = c->bos_token_id >= 0 ? c->bos_token_id : tok_bos, eos = c->eos_token_id >= 0 ? c->eos_token_id : tok_eos;
    if (bos >= 0) HX_TRY(hx_gguf_put_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)bos));
    if (eos >= 0) HX_TRY(hx_gguf_put_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eos));
    return HX_OK;
}

/* The tokenizer.ggml.* keys from dir/tokenizer.json; a tokenizer that
 * cannot be expressed is reported and left out (the BOS/EOS ids of the
 * config are written in any case). */
static int put_tokenizer(hx_gguf_writer *w, const char *dir, const hx_config *c, FILE *report)
{
    char *path = hx_path_join(dir, "tokenizer.json");
    if (!path) return HX_ENOMEM;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (report) fprintf(report, "tokenizer: none (%s is absent)\n", path);
        free(path);
        return put_ids(w, c, -1, -1);
    }
    hx_gguf_vocab v;
    int rc = hx_gguf_vocab_from_json(path, &v);
    if (rc < 0) {
        if (report) fprintf(report, "tokenizer: not exported: %s\n", hx_errtext());
        free(path);
        return rc == HX_ENOMEM ? rc : put_ids(w, c, -1, -1);
    }
    rc = hx_gguf_put_str(w, "tokenizer.ggml.model", v.model);
    if (rc == HX_OK) rc = hx_gguf_put_str(w, "tokenizer.ggml.pre", v.pre);
    if (rc == HX_OK) rc = hx_gguf_put_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v.tokens, (size_t)v.n_tokens);
    if (rc == HX_OK) rc = hx_gguf_put_arr_i32(w, "tokenizer.ggml.token_type", v.token_type, (size_t)v.n_tokens);
    if (rc == HX_OK) rc = hx_gguf_put_arr_str(w, "tokenizer.ggml.merges", (const char *const *)v.merges, (size_t)v.n_merges);
    if (rc == HX_OK) rc = put_ids(w, c, v.bos_id, v.eos_id);
    if (rc == HX_OK) rc = hx_gguf_put_bool(w, "tokenizer.ggml.add_bos_token", v.add_bos > 0);
    if (rc == HX_OK) rc = hx_gguf_put_bool(w, "tokenizer.ggml.add_eos_token", v.add_eos > 0);
    if (rc == HX_OK && report)
        fprintf(report, "tokenizer: %s (gpt2, pre %s, %d tokens, %d merges)\n", path, v.pre, v.n_tokens, v.n_merges);
    hx_gguf_vocab_free(&v);
    free(path);
    return rc;
}

int hx_gguf_export(const char *model_dir, const char *out, uint32_t type, FILE *report)
{
    if (type != HX_GGML_F32 && type != HX_GGML_F16 && type != HX_GGML_BF16 && type != HX_GGML_Q8_0)
        return HX_ERR(HX_EINVAL, "gguf export: type %s is not supported (f32, f16, bf16, q8_0)",
                      hx_ggml_type_name(type) ? hx_ggml_type_name(type) : "unknown");
    hx_model m;
    HX_TRY(hx_model_load(model_dir, &m));
    const hx_config *c = &m.cfg;
    int rc = HX_OK;
    if (c->sliding_window > 0)
        rc = HX_ERR(HX_EINVAL, "%s: sliding_window %d cannot be expressed in a llama GGUF", model_dir, c->sliding_window);
    int np = hx_model_num_params(c), fallback = 0;
    hx_param *params = hx_malloc((size_t)np * sizeof *params);
    float **perm = hx_calloc((size_t)np, sizeof(float *));
    hx_gguf_writer *w = NULL;
    if (rc == HX_OK && (!params || !perm)) rc = HX_ENOMEM;
    if (rc == HX_OK) rc = hx_gguf_writer_new(0, &w);
    if (rc == HX_OK) rc = put_config(w, c, type);
    if (rc == HX_OK) rc = put_tokenizer(w, model_dir, c, report);
    if (rc == HX_OK) hx_model_params(&m, params);
    for (int i = 0; i < np && rc == HX_OK; i++) {
        const hx_param *p = &params[i];
        char gname[96];
        hx_gguf_llama_name(p->name, gname, sizeof gname);
        uint64_t ne[2] = {p->cols ? (uint64_t)p->cols : (uint64_t)p->rows, (uint64_t)p->rows};
        uint32_t t = !p->cols ? HX_GGML_F32 : type;
        if (t == HX_GGML_Q8_0 && p->cols % 32) t = HX_GGML_F16, fallback++;
        const float *src = p->data;
        int heads = strstr(gname, ".attn_q.") ? c->num_attention_heads : strstr(gname, ".attn_k.") ? c->num_key_value_heads : 0;
        if (heads) {
            if (!(perm[i] = hx_malloc((size_t)p->rows * (size_t)p->cols * sizeof(float)))) rc = HX_ENOMEM;
            else hx_gguf_permute_qk(perm[i], p->data, heads, c->head_dim, p->cols, 1);
            src = perm[i];
        }
        if (rc == HX_OK) rc = hx_gguf_add_tensor(w, gname, t, p->cols ? 2 : 1, ne, src);
    }
    float *freqs = c->rope_type == HX_ROPE_LLAMA3 ? hx_malloc((size_t)c->head_dim / 2 * sizeof(float)) : NULL;
    if (rc == HX_OK && c->rope_type == HX_ROPE_LLAMA3) {
        uint64_t ne = (uint64_t)c->head_dim / 2;
        rc = freqs ? rope_factors(c, freqs) : HX_ENOMEM;
        if (rc == HX_OK) rc = hx_gguf_add_tensor(w, "rope_freqs.weight", HX_GGML_F32, 1, &ne, freqs);
    }
    if (rc == HX_OK) rc = hx_gguf_write(w, out);
    free(freqs);
    if (rc == HX_OK && report) {
        fprintf(report, "gguf: %s: %d tensors, weights %s, norms F32%s\n", out, np, hx_ggml_type_name(type),
                c->tie_word_embeddings ? ", lm_head tied to token_embd" : "");
        if (fallback)
            fprintf(report, "gguf: %d weights with rows not a multiple of 32 written as F16 instead of Q8_0\n", fallback);
    }
    for (int i = 0; perm && i < np; i++) free(perm[i]);
    free(perm);
    free(params);
    hx_gguf_writer_free(w);
    hx_model_free(&m);
    return rc;
}
