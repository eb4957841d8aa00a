/* Parameter storage: one contiguous buffer and the named per-tensor views. */
#include "model/model.h"

#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hx_config_validate(const hx_config *c)
{
#define POS(f) \
    if (c->f <= 0) return HX_ERR(HX_EINVAL, "config: " #f " must be positive (got %d)", c->f)
    POS(vocab_size);
    POS(hidden_size);
    POS(intermediate_size);
    POS(num_hidden_layers);
    POS(num_attention_heads);
    POS(num_key_value_heads);
    POS(head_dim);
#undef POS
    if (c->num_attention_heads % c->num_key_value_heads != 0)
        return HX_ERR(HX_EINVAL,
                      "config: num_key_value_heads (%d) must divide num_attention_heads (%d)",
                      c->num_key_value_heads, c->num_attention_heads);
    if (c->head_dim % 2 != 0) return HX_ERR(HX_EINVAL, "config: head_dim (%d) must be even for RoPE", c->head_dim);
    if (!(c->rms_norm_eps > 0)) return HX_ERR(HX_EINVAL, "config: rms_norm_eps must be positive");
    if (!(c->rope_theta > 0)) return HX_ERR(HX_EINVAL, "config: rope_theta must be positive");
    return HX_OK;
}

int hx_config_hf5_loadable(const hx_config *c, char *why, size_t len)
{
    if (strcmp(c->model_type, "llama") != 0 || c->num_attention_heads <= 0 || c->hidden_size % c->num_attention_heads == 0)
        return 1;
    if (why)
        snprintf(why, len,
                 "hidden_size %d is not a multiple of num_attention_heads %d: transformers 4.x loads this llama config "
                 "(head_dim %d is explicit), transformers 5.x refuses it (LlamaConfig.validate_architecture)",
                 c->hidden_size, c->num_attention_heads, c->head_dim);
    return 0;
}

hx_rope_params hx_config_rope(const hx_config *c)
{
    return (hx_rope_params){c->head_dim,           c->rope_theta,           c->rope_type == HX_ROPE_LLAMA3,
                            c->rope_factor,        c->rope_low_freq_factor, c->rope_high_freq_factor,
                            c->rope_original_max_position};
}

static size_t layer_floats(const hx_config *c)
{
    size_t h = (size_t)c->hidden_size, q = (size_t)c->num_attention_heads * c->head_dim;
    size_t kv = (size_t)c->num_key_value_heads * c->head_dim, f = (size_t)c->intermediate_size;
    return 2 * h + q * h + 2 * kv * h + h * q + 3 * f * h;
}

size_t hx_config_param_count(const hx_config *c)
{
    size_t vh = (size_t)c->vocab_size * c->hidden_size;
    return vh * (c->tie_word_embeddings ? 1 : 2) + (size_t)c->num_hidden_layers * layer_floats(c) + c->hidden_size;
}

int hx_model_view(hx_model *m, const hx_config *cfg, float *data)
{
    memset(m, 0, sizeof *m);
    HX_TRY(hx_config_validate(cfg));
    m->cfg = *cfg;
    m->n_floats = hx_config_param_count(cfg);
    m->data = data;
    m->layers = hx_calloc((size_t)cfg->num_hidden_layers, sizeof(hx_layer));
    if (!m->layers) return HX_ENOMEM;
    size_t h = (size_t)cfg->hidden_size, q = (size_t)cfg->num_attention_heads * cfg->head_dim;
    size_t kv = (size_t)cfg->num_key_value_heads * cfg->head_dim, f = (size_t)cfg->intermediate_size;
    float *p = data;
#define TAKE(dst, n) (dst = p, p += (n))
    TAKE(m->embed_tokens, (size_t)cfg->vocab_size * h);
    for (int l = 0; l < cfg->num_hidden_layers; l++) {
        hx_layer *L = &m->layers[l];
        TAKE(L->input_layernorm, h);
        TAKE(L->q_proj, q * h);
        TAKE(L->k_proj, kv * h);
        TAKE(L->v_proj, kv * h);
        TAKE(L->o_proj, h * q);
        TAKE(L->post_attention_layernorm, h);
        TAKE(L->gate_proj, f * h);
        TAKE(L->up_proj, f * h);
        TAKE(L->down_proj, h * f);
    }
    TAKE(m->norm, h);
    if (cfg->tie_word_embeddings)
        m->lm_head = m->embed_tokens;
    else
        TAKE(m->lm_head, (size_t)cfg->vocab_size * h);
#undef TAKE
    return HX_OK;
}

int hx_model_alloc(hx_model *m, const hx_config *cfg)
{
    HX_TRY(hx_config_validate(cfg));
    float *data = hx_calloc(hx_config_param_count(cfg), sizeof(float));
    if (!data) return HX_ENOMEM;
    int rc = hx_model_view(m, cfg, data);
    if (rc != HX_OK) {
        free(data);
        memset(m, 0, sizeof *m);
    }
    return rc;
}

void hx_model_free(hx_model *m)
{
    free(m->data);
    free(m->layers);
    memset(m, 0, sizeof *m);
}

int hx_model_num_params(const hx_config *cfg)
{
    return 1 + 9 * cfg->num_hidden_layers + 1 + (cfg->tie_word_embeddings ? 0 : 1);
}

static void set(hx_param *p, const char *name, float *data, int rows, int cols, hx_param_kind kind, int layer)
{
    snprintf(p->name, sizeof p->name, "%s", name);
    p->data = data;
    p->rows = rows;
    p->cols = cols;
    p->kind = kind;
    p->layer = layer;
}

int hx_config_params(const hx_config *cfg, hx_param *out)
{
    hx_model m;
    memset(&m, 0, sizeof m);
    m.cfg = *cfg;
    return hx_model_params(&m, out);
}

int hx_model_params(const hx_model *m, hx_param *out)
{
    const hx_config *c = &m->cfg;
    int h = c->hidden_size, q = c->num_attention_heads * c->head_dim, kv = c->num_key_value_heads * c->head_dim;
    int f = c->intermediate_size, n = 0;
    char name[96];
    set(&out[n++], "model.embed_tokens.weight", m->embed_tokens, c->vocab_size, h, HX_PARAM_EMBED, -1);
    for (int l = 0; l < c->num_hidden_layers; l++) {
        const hx_layer *L = m->layers ? &m->layers[l] : NULL; /* NULL: views without data (hx_config_params) */
#define P(suffix, member, r, cc, kind)                                     \
    do {                                                                   \
        snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, suffix); \
        set(&out[n++], name, L ? L->member : NULL, r, cc, kind, l);        \
    } while (0)
        P("input_layernorm", input_layernorm, h, 0, HX_PARAM_NORM);
        P("self_attn.q_proj", q_proj, q, h, HX_PARAM_LINEAR);
        P("self_attn.k_proj", k_proj, kv, h, HX_PARAM_LINEAR);
        P("self_attn.v_proj", v_proj, kv, h, HX_PARAM_LINEAR);
        P("self_attn.o_proj", o_proj, h, q, HX_PARAM_LINEAR);
        P("post_attention_layernorm", post_attention_layernorm, h, 0, HX_PARAM_NORM);
        P("mlp.gate_proj", gate_proj, f, h, HX_PARAM_LINEAR);
        P("mlp.up_proj", up_proj, f, h, HX_PARAM_LINEAR);
        P("mlp.down_proj", down_proj, h, f, HX_PARAM_LINEAR);
#undef P
    }
    set(&out[n++], "model.norm.weight", m->norm, h, 0, HX_PARAM_NORM, -1);
    if (!c->tie_word_embeddings) set(&out[n++], "lm_head.weight", m->lm_head, c->vocab_size, h, HX_PARAM_LM_HEAD, -1);
    return n;
}
