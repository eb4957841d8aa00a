/* CPU fp32 forward and backward passes of the decoder over an activation
 * workspace (see forward.h for the architecture and the stored tensors);
 * forward-only passes of a model with packed bf16 weights run their linear
 * layers in bf16 (model.h, hx_model_bf16_pack). */
#include "model/forward.h"

#include "core/err.h"
#include "cpu/ops.h"

#include <stdlib.h>
#include <string.h>

/* Sizes used everywhere below. */
typedef struct {
    size_t N, H, Q, KV, F, V, P; /* P: attention logsumexps of one layer */
    int L;
} dims;

static dims dims_of(const hx_config *c, int B, int T)
{
    dims d;
    d.N = (size_t)B * T;
    d.H = (size_t)c->hidden_size;
    d.Q = (size_t)c->num_attention_heads * c->head_dim;
    d.KV = (size_t)c->num_key_value_heads * c->head_dim;
    d.F = (size_t)c->intermediate_size;
    d.V = (size_t)c->vocab_size;
    d.P = (size_t)B * c->num_attention_heads * T; /* one logsumexp per query row */
    d.L = c->num_hidden_layers;
    return d;
}

/* Bump allocation out of ws->buf; with base == NULL it only counts. */
typedef struct {
    float *base;
    size_t used;
} bump;

static float *take(bump *b, size_t n)
{
    float *p = b->base ? b->base + b->used : NULL;
    b->used += n;
    return p;
}

static void layout(hx_workspace *ws, bump *b)
{
    dims d = dims_of(&ws->cfg, ws->B, ws->T);
    int train = ws->mode == HX_WS_TRAIN, nsets = train ? d.L : 1;
    ws->hidden = take(b, (train ? (size_t)d.L + 1 : 2) * d.N * d.H);
    for (int l = 0; l < nsets; l++) {
        hx_layer_acts *a = &ws->layers[l];
        a->attn_norm = take(b, d.N * d.H);
        a->attn_rstd = take(b, d.N);
        a->q = take(b, d.N * d.Q);
        a->k = take(b, d.N * d.KV);
        a->v = take(b, d.N * d.KV);
        a->lse = train ? take(b, d.P) : NULL;
        a->attn_out = take(b, d.N * d.Q);
        a->x_mid = take(b, d.N * d.H);
        a->mlp_norm = take(b, d.N * d.H);
        a->mlp_rstd = take(b, d.N);
        a->gate = take(b, d.N * d.F);
        a->up = take(b, d.N * d.F);
        a->act = take(b, d.N * d.F);
    }
    ws->final_norm = take(b, d.N * d.H);
    ws->final_rstd = take(b, d.N);
    ws->logits = take(b, (size_t)ws->head_rows * d.V);
    ws->rope_cos = take(b, (size_t)ws->T * (ws->cfg.head_dim / 2));
    ws->rope_sin = take(b, (size_t)ws->T * (ws->cfg.head_dim / 2));
    if (train) {
        ws->d_x = take(b, d.N * d.H);
        ws->d_norm = take(b, d.N * d.H);
        ws->d_ff1 = take(b, d.N * d.F);
        ws->d_ff2 = take(b, d.N * d.F);
        ws->d_q = take(b, d.N * d.Q);
        ws->d_k = take(b, d.N * d.KV);
        ws->d_v = take(b, d.N * d.KV);
        ws->d_attn = take(b, d.N * d.Q);
    }
}

/* TRAIN keeps every layer's input: layer l reads hidden[l] and writes
 * hidden[l+1]. (INFER alternates between two buffers, bound in hx_forward.) */
static void bind_hidden(hx_workspace *ws)
{
    dims d = dims_of(&ws->cfg, ws->B, ws->T);
    if (ws->mode != HX_WS_TRAIN) return;
    for (int l = 0; l < d.L; l++) {
        ws->layers[l].x = ws->hidden + (size_t)l * d.N * d.H;
        ws->layers[l].out = ws->hidden + (size_t)(l + 1) * d.N * d.H;
    }
    ws->final_x = ws->hidden + (size_t)d.L * d.N * d.H;
}

int hx_head_rows_auto(int N, int V)
{
    size_t fit = HX_LOGITS_BUDGET / (sizeof(float) * (size_t)(V > 0 ? V : 1));
    if ((size_t)N <= fit) return N;
    fit -= fit % 16;
    return fit < 16 ? 16 : (int)fit;
}

int hx_workspace_alloc(hx_workspace *ws, const hx_config *cfg, int B, int T, hx_ws_mode mode)
{
    return hx_workspace_alloc_rows(ws, cfg, B, T, mode, 0);
}

int hx_workspace_alloc_rows(hx_workspace *ws, const hx_config *cfg, int B, int T, hx_ws_mode mode, int head_rows)
{
    memset(ws, 0, sizeof *ws);
    HX_TRY(hx_config_validate(cfg));
    if (B <= 0 || T <= 0) return HX_ERR(HX_EINVAL, "workspace: batch %d x seq %d must be positive", B, T);
    if (cfg->sliding_window < 0)
        return HX_ERR(HX_EINVAL, "workspace: sliding_window must be >= 0 (got %d)", cfg->sliding_window);
    ws->cfg = *cfg;
    ws->B = B;
    ws->T = T;
    ws->mode = mode;
    ws->head_rows = head_rows > 0 && head_rows < B * T ? head_rows : B * T;
    int L = cfg->num_hidden_layers;
    ws->layers = hx_calloc(mode == HX_WS_TRAIN ? (size_t)L : 1, sizeof(hx_layer_acts));
    ws->ids = hx_calloc((size_t)B * T, sizeof(int32_t));
    ws->active = hx_calloc((size_t)L, 1);
    bump b = {NULL, 0};
    if (ws->layers) layout(ws, &b);
    ws->buf = ws->layers ? hx_malloc(sizeof(float) * b.used) : NULL;
    if (!ws->layers || !ws->ids || !ws->active || !ws->buf) {
        hx_workspace_free(ws);
        return HX_ENOMEM;
    }
    b = (bump){ws->buf, 0};
    layout(ws, &b);
    bind_hidden(ws);
    hx_rope_params rope = hx_config_rope(cfg);
    hx_rope_table(ws->rope_cos, ws->rope_sin, &rope, T);
    return HX_OK;
}

void hx_workspace_free(hx_workspace *ws)
{
    free(ws->layers);
    free(ws->ids);
    free(ws->active);
    free(ws->buf);
    free(ws->xbf16);
    memset(ws, 0, sizeof *ws);
}

const hx_layer_acts *hx_ws_layer(const hx_workspace *ws, int l)
{
    if (ws->mode != HX_WS_TRAIN || l < 0 || l >= ws->cfg.num_hidden_layers) return NULL;
    return &ws->layers[l];
}

/* The model must have exactly the workspace's architecture. */
static int check_arch(const hx_config *a, const hx_config *b, const char *what)
{
    if (a->vocab_size != b->vocab_size || a->hidden_size != b->hidden_size ||
        a->intermediate_size != b->intermediate_size || a->num_hidden_layers != b->num_hidden_layers ||
        a->num_attention_heads != b->num_attention_heads || a->num_key_value_heads != b->num_key_value_heads ||
        a->head_dim != b->head_dim || a->tie_word_embeddings != b->tie_word_embeddings ||
        a->sliding_window != b->sliding_window || a->rms_norm_eps != b->rms_norm_eps ||
        a->rope_theta != b->rope_theta || a->rope_type != b->rope_type || a->rope_factor != b->rope_factor ||
        a->rope_low_freq_factor != b->rope_low_freq_factor || a->rope_high_freq_factor != b->rope_high_freq_factor ||
        a->rope_original_max_position != b->rope_original_max_position)
        return HX_ERR(HX_EINVAL, "%s: configuration differs from the workspace's (sizes, RoPE, eps or window)", what);
    return HX_OK;
}

static hx_attn_shape attn_shape(const hx_workspace *ws)
{
    const hx_config *c = &ws->cfg;
    hx_attn_shape s = {ws->B, ws->T, c->num_attention_heads, c->num_key_value_heads, c->head_dim, c->sliding_window};
    return s;
}

/* y = x W^T + beta y: in bf16 from the packed copy when the model has one
 * (pk not NULL) and the pass is forward-only, else in fp32. */
static void linear(const hx_workspace *ws, const uint16_t *pk, float *y, const float *x, const float *W, int N, int in,
                   int out, float beta)
{
    if (pk && ws->mode == HX_WS_INFER && hx_linear_fwd_bf16(y, x, pk, N, in, out, beta, ws->xbf16) == 0) return;
    hx_linear_fwd(y, x, W, N, in, out, beta);
}

static int layer_fwd(const hx_layer *w, const hx_layer_bf16 *p, hx_layer_acts *a, const hx_workspace *ws)
{
    const hx_config *c = &ws->cfg;
    dims d = dims_of(c, ws->B, ws->T);
    int N = (int)d.N, H = (int)d.H, Q = (int)d.Q, KV = (int)d.KV, F = (int)d.F;
    hx_attn_shape s = attn_shape(ws);
    hx_rmsnorm_fwd(a->attn_norm, a->attn_rstd, a->x, w->input_layernorm, N, H, c->rms_norm_eps);
    linear(ws, p ? p->q_proj : NULL, a->q, a->attn_norm, w->q_proj, N, H, Q, 0.0f);
    linear(ws, p ? p->k_proj : NULL, a->k, a->attn_norm, w->k_proj, N, H, KV, 0.0f);
    linear(ws, p ? p->v_proj : NULL, a->v, a->attn_norm, w->v_proj, N, H, KV, 0.0f);
    hx_rope_fwd(a->q, ws->rope_cos, ws->rope_sin, N, ws->T, c->num_attention_heads, c->head_dim);
    hx_rope_fwd(a->k, ws->rope_cos, ws->rope_sin, N, ws->T, c->num_key_value_heads, c->head_dim);
    HX_TRY(hx_attention_fwd(a->attn_out, a->lse, a->q, a->k, a->v, &s));
    memcpy(a->x_mid, a->x, sizeof(float) * d.N * d.H);
    linear(ws, p ? p->o_proj : NULL, a->x_mid, a->attn_out, w->o_proj, N, Q, H, 1.0f);
    hx_rmsnorm_fwd(a->mlp_norm, a->mlp_rstd, a->x_mid, w->post_attention_layernorm, N, H, c->rms_norm_eps);
    linear(ws, p ? p->gate_proj : NULL, a->gate, a->mlp_norm, w->gate_proj, N, H, F, 0.0f);
    linear(ws, p ? p->up_proj : NULL, a->up, a->mlp_norm, w->up_proj, N, H, F, 0.0f);
    hx_swiglu_fwd(a->act, a->gate, a->up, (long)d.N * F);
    memcpy(a->out, a->x_mid, sizeof(float) * d.N * d.H);
    linear(ws, p ? p->down_proj : NULL, a->out, a->act, w->down_proj, N, F, H, 1.0f);
    return HX_OK;
}

int hx_forward(const hx_model *m, hx_workspace *ws, const int32_t *ids, const unsigned char *active)
{
    const hx_config *c = &ws->cfg;
    HX_TRY(check_arch(&m->cfg, c, "forward: model"));
    dims d = dims_of(c, ws->B, ws->T);
    for (size_t i = 0; i < d.N; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return HX_ERR(HX_EINVAL, "forward: token id %d at position %zu outside [0, %d)", (int)ids[i], i,
                          c->vocab_size);
    if (m->bf16 && ws->mode == HX_WS_INFER && !ws->xbf16) { /* the widest linear input, rounded up to a bf16 pair */
        size_t w = d.H > d.Q ? d.H : d.Q;
        w = w > d.F ? w : d.F;
        if (!(ws->xbf16 = hx_malloc(sizeof(uint16_t) * d.N * (w + 1)))) return HX_ENOMEM;
    }
    memcpy(ws->ids, ids, sizeof(int32_t) * d.N);
    for (int l = 0; l < d.L; l++) ws->active[l] = active ? active[l] != 0 : 1;
    int train = ws->mode == HX_WS_TRAIN;
    float *x = ws->hidden, *other = ws->hidden + d.N * d.H; /* INFER ping-pong pair */
    hx_embedding_fwd(x, m->embed_tokens, ids, (int)d.N, (int)d.H);
    for (int l = 0; l < d.L; l++) {
        hx_layer_acts *a = &ws->layers[train ? l : 0];
        if (!train) { /* ping-pong: this layer reads x and writes the other buffer */
            a->x = x;
            a->out = other;
        }
        if (ws->active[l]) {
            HX_TRY(layer_fwd(&m->layers[l], m->bf16 ? &m->bf16->layers[l] : NULL, a, ws));
            if (ws->hook) HX_TRY(ws->hook(ws->hook_ctx, l, a, ws));
        } else {
            memcpy(a->out, a->x, sizeof(float) * d.N * d.H);
        }
        if (!train) {
            other = x;
            x = a->out;
        }
    }
    if (!train) ws->final_x = x;
    hx_rmsnorm_fwd(ws->final_norm, ws->final_rstd, ws->final_x, m->norm, (int)d.N, (int)d.H, c->rms_norm_eps);
    return ws->head_rows == (int)d.N ? hx_head_logits(m, ws, 0, (int)d.N) : HX_OK;
}

static int check_rows(const hx_workspace *ws, int row0, int rows, const char *what)
{
    if (row0 < 0 || rows < 0 || rows > ws->head_rows || row0 > ws->B * ws->T - rows)
        return HX_ERR(HX_EINVAL, "%s: rows [%d, %d) outside the %d tokens or over the %d rows held", what, row0,
                      row0 + rows, ws->B * ws->T, ws->head_rows);
    return HX_OK;
}

int hx_head_logits(const hx_model *m, hx_workspace *ws, int row0, int rows)
{
    HX_TRY(check_rows(ws, row0, rows, "LM head"));
    int H = ws->cfg.hidden_size;
    linear(ws, m->bf16 ? m->bf16->lm_head : NULL, ws->logits, ws->final_norm + (size_t)row0 * H, m->lm_head, rows, H,
           ws->cfg.vocab_size, 0.0f);
    return HX_OK;
}

int hx_head_chunk(const hx_model *m, hx_workspace *ws, int row0)
{
    int N = ws->B * ws->T, n = N - row0 < ws->head_rows ? N - row0 : ws->head_rows;
    if (ws->head_rows == N) return row0 == 0 ? N : HX_ERR(HX_EINVAL, "LM head: row %d of a whole-head workspace", row0);
    HX_TRY(hx_head_logits(m, ws, row0, n));
    return n;
}

int hx_head_backward(const hx_model *m, hx_workspace *ws, int row0, int rows, const float *dlogits, hx_model *grads)
{
    if (ws->mode != HX_WS_TRAIN) return HX_ERR(HX_EINVAL, "LM head backward: workspace was allocated forward-only");
    HX_TRY(check_rows(ws, row0, rows, "LM head backward"));
    int H = ws->cfg.hidden_size, V = ws->cfg.vocab_size;
    hx_linear_bwd_input(ws->d_norm + (size_t)row0 * H, dlogits, m->lm_head, rows, H, V, 0.0f);
    hx_linear_bwd_weight(grads->lm_head, dlogits, ws->final_norm + (size_t)row0 * H, rows, H, V);
    return HX_OK;
}

/* dst[0..n) += src (src may be NULL). */
static void add_into(float *dst, const float *src, size_t n)
{
    if (!src) return;
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

/* d_attn, d_mlp: injected gradients of this layer's two norm outputs (may be NULL). */
static int layer_bwd(const hx_layer *w, const hx_layer_acts *a, hx_layer *g, hx_workspace *ws, const float *d_attn,
                     const float *d_mlp)
{
    const hx_config *c = &ws->cfg;
    dims d = dims_of(c, ws->B, ws->T);
    int N = (int)d.N, H = (int)d.H, Q = (int)d.Q, KV = (int)d.KV, F = (int)d.F;
    hx_attn_shape s = attn_shape(ws);
    /* MLP: out = x_mid + act Wd^T; ws->d_x holds d(out) and becomes d(x_mid). */
    hx_linear_bwd_input(ws->d_ff1, ws->d_x, w->down_proj, N, F, H, 0.0f);
    hx_linear_bwd_weight(g->down_proj, ws->d_x, a->act, N, F, H);
    hx_swiglu_bwd(ws->d_ff1, ws->d_ff2, ws->d_ff1, a->gate, a->up, (long)d.N * F);
    hx_linear_bwd_input(ws->d_norm, ws->d_ff1, w->gate_proj, N, H, F, 0.0f);
    hx_linear_bwd_input(ws->d_norm, ws->d_ff2, w->up_proj, N, H, F, 1.0f);
    hx_linear_bwd_weight(g->gate_proj, ws->d_ff1, a->mlp_norm, N, H, F);
    hx_linear_bwd_weight(g->up_proj, ws->d_ff2, a->mlp_norm, N, H, F);
    add_into(ws->d_norm, d_mlp, d.N * d.H);
    hx_rmsnorm_bwd(ws->d_x, g->post_attention_layernorm, ws->d_norm, a->x_mid, w->post_attention_layernorm,
                   a->mlp_rstd, N, H);
    /* Attention: x_mid = x + attn_out Wo^T; d_x becomes d(x). */
    hx_linear_bwd_input(ws->d_attn, ws->d_x, w->o_proj, N, Q, H, 0.0f);
    hx_linear_bwd_weight(g->o_proj, ws->d_x, a->attn_out, N, Q, H);
    HX_TRY(hx_attention_bwd(ws->d_q, ws->d_k, ws->d_v, ws->d_attn, a->q, a->k, a->v, a->attn_out, a->lse, &s));
    hx_rope_bwd(ws->d_q, ws->rope_cos, ws->rope_sin, N, ws->T, c->num_attention_heads, c->head_dim);
    hx_rope_bwd(ws->d_k, ws->rope_cos, ws->rope_sin, N, ws->T, c->num_key_value_heads, c->head_dim);
    hx_linear_bwd_input(ws->d_norm, ws->d_q, w->q_proj, N, H, Q, 0.0f);
    hx_linear_bwd_input(ws->d_norm, ws->d_k, w->k_proj, N, H, KV, 1.0f);
    hx_linear_bwd_input(ws->d_norm, ws->d_v, w->v_proj, N, H, KV, 1.0f);
    hx_linear_bwd_weight(g->q_proj, ws->d_q, a->attn_norm, N, H, Q);
    hx_linear_bwd_weight(g->k_proj, ws->d_k, a->attn_norm, N, H, KV);
    hx_linear_bwd_weight(g->v_proj, ws->d_v, a->attn_norm, N, H, KV);
    add_into(ws->d_norm, d_attn, d.N * d.H);
    hx_rmsnorm_bwd(ws->d_x, g->input_layernorm, ws->d_norm, a->x, w->input_layernorm, a->attn_rstd, N, H);
    return HX_OK;
}

int hx_backward(const hx_model *m, hx_workspace *ws, const float *dlogits, hx_model *grads)
{
    return hx_backward_ex(m, ws, dlogits, NULL, grads);
}

int hx_backward_ex(const hx_model *m, hx_workspace *ws, const float *dlogits, const hx_state_grads *extra,
                   hx_model *grads)
{
    if (ws->mode != HX_WS_TRAIN) return HX_ERR(HX_EINVAL, "backward: workspace was allocated forward-only");
    HX_TRY(check_arch(&m->cfg, &ws->cfg, "backward: model"));
    HX_TRY(check_arch(&grads->cfg, &ws->cfg, "backward: gradient buffer"));
    dims d = dims_of(&ws->cfg, ws->B, ws->T);
    int N = (int)d.N, H = (int)d.H;
    if (dlogits) HX_TRY(hx_head_backward(m, ws, 0, N, dlogits, grads));
    if (extra) add_into(ws->d_norm, extra->d_final_norm, d.N * d.H);
    memset(ws->d_x, 0, sizeof(float) * d.N * d.H);
    hx_rmsnorm_bwd(ws->d_x, grads->norm, ws->d_norm, ws->final_x, m->norm, ws->final_rstd, N, H);
    for (int l = d.L - 1; l >= 0; l--)
        if (ws->active[l])
            HX_TRY(layer_bwd(&m->layers[l], &ws->layers[l], &grads->layers[l], ws,
                             extra && extra->d_attn_norm ? extra->d_attn_norm[l] : NULL,
                             extra && extra->d_mlp_norm ? extra->d_mlp_norm[l] : NULL));
    hx_embedding_bwd(grads->embed_tokens, ws->d_x, ws->ids, N, H);
    return HX_OK;
}
