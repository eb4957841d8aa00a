/* The CUDA tier of the engine (model/device.h): the decoder of
 * model/forward.c on one GPU in bf16 with fp32 master weights, gradients and
 * AdamW, the LM head and its losses in chunks of tokens. Same layer order and
 * the same kernels' semantics as the CPU oracle, so that per-tensor results
 * compare within bf16 tolerances (tests/cuda/engine_check.cu). */
#include "model/device.h"

extern "C" {
#include "core/dist.h"     // defines: hx_dist_rank, hx_dist_size
#include "core/labels.h"   // defines: HX_IGNORE_INDEX
}
#include "cuda/gemm.h"     // defines: hx_cuda_gemm, hx_cuda_linear_fwd/_bwd_input/_bwd_weight
#include "cuda/ops_cuda.h" // defines: hx_cuda_rmsnorm_fwd, hx_cuda_attention_fwd, hx_cuda_kl_fwd, hx_cuda_adamw, ...

#include <cuda_runtime.h>
#include <math.h>
#define OMPI_SKIP_MPICXX 1 /* the C API only */
#include <mpi.h>
#include <nccl.h>
#include <stdlib.h>
#include <string.h>


extern "C" int hx_device_resolve(hx_device want, hx_device *out)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    int have = e == cudaSuccess && n > 0;
    if (want == HX_DEVICE_CPU || (want == HX_DEVICE_AUTO && !have)) {
        *out = HX_DEVICE_CPU;
        return HX_OK;
    }
    if (!have)
        return HX_ERR(HX_EINVAL, "device cuda: no GPU answers (%s); use device: cpu",
                      e == cudaSuccess ? "0 devices" : cudaGetErrorString(e));
    *out = HX_DEVICE_CUDA;
    return HX_OK;
}

extern "C" size_t hx_device_memory(void)
{
    size_t free_b = 0, total = 0;
    return cudaMemGetInfo(&free_b, &total) == cudaSuccess ? total : 0;
}

/* One layer's activations (bf16 unless noted). */
typedef struct {
    hx_bf16 *x, *an, *q, *k, *v, *ao, *xm, *mn, *gate, *up, *act, *out;
    float *ar, *mr, *lse; /* norms' 1/rms [N], attention logsumexp [B, heads, T] */
} dacts;

struct hx_dmodel {
    hx_config cfg;
    hx_dmodel_opts o;
    size_t N, H, Q, KV, F, V, n; /* n: parameter count */
    int R;                       /* head_rows */
    hx_stream s;
    hx_cuda_gemm *gemm;
    hx_model view;               /* parameter views: offsets into the flat buffers below */
    float *master, *grad, *m1, *m2;
    uint8_t *decay;
    hx_bf16 *w;
    int64_t t;
    dacts *layers;               /* [L] (train without recompute) or [1] */
    hx_bf16 *hidden;             /* (L+1) (train) or 2 (forward-only) residual-stream buffers */
    hx_bf16 *final_x, *final_norm, *d_x, *d_norm, *d_ff1, *d_ff2, *d_q, *d_k, *d_v, *d_attn, *scratch_out;
    float *final_rstd;
    hx_bf16 *logits, *logits2;   /* [R, V]; logits2 only for a CE + KD mix */
    hx_bf16 *tlogits;            /* [R, V_t] the teacher's chunk (sized at the first KD loss) */
    size_t tlogits_cap;
    float *row_loss, *lse, *lse_s, *lse_t, *sums, *sumsq;
    int32_t *ids, *targets;
    uint8_t *mask;
    float *rope_cos, *rope_sin;
    void *arena;
    size_t bytes;
};

/* Device pointer of a parameter's bf16 copy / fp32 gradient from its view. */
static hx_bf16 *W(const hx_dmodel *d, const float *view) { return d->w + (view - d->view.data); }
static float *G(const hx_dmodel *d, const float *view) { return d->grad + (view - d->view.data); }

/* Bump allocation out of the arena (256-byte aligned); with base NULL it counts. */
typedef struct {
    char *base;
    size_t used;
} bump;

static void *take(bump *b, size_t bytes)
{
    void *p = b->base ? b->base + b->used : NULL;
    b->used += (bytes + 255) & ~(size_t)255;
    return p;
}
#define TAKE(b, ptr, n) ((ptr) = (decltype(ptr))take((b), sizeof(*(ptr)) * (n)))

static void layout(hx_dmodel *d, bump *b)
{
    const hx_config *c = &d->cfg;
    int L = c->num_hidden_layers, train = d->o.train, sets = train && !d->o.recompute ? L : 1;
    size_t N = d->N, P = (size_t)d->o.B * c->num_attention_heads * d->o.T, hd2 = (size_t)c->head_dim / 2;
    TAKE(b, d->w, d->n);
    if (train) {
        TAKE(b, d->master, d->n);
        TAKE(b, d->grad, d->n);
        TAKE(b, d->m1, d->n);
        TAKE(b, d->m2, d->n);
        TAKE(b, d->decay, d->n);
    }
    TAKE(b, d->hidden, (train ? (size_t)L + 1 : 2) * N * d->H);
    for (int l = 0; l < sets; l++) {
        dacts *a = &d->layers[l];
        TAKE(b, a->an, N * d->H);
        TAKE(b, a->ar, N);
        TAKE(b, a->q, N * d->Q);
        TAKE(b, a->k, N * d->KV);
        TAKE(b, a->v, N * d->KV);
        TAKE(b, a->lse, P);
        TAKE(b, a->ao, N * d->Q);
        TAKE(b, a->xm, N * d->H);
        TAKE(b, a->mn, N * d->H);
        TAKE(b, a->mr, N);
        TAKE(b, a->gate, N * d->F);
        TAKE(b, a->up, N * d->F);
        TAKE(b, a->act, N * d->F);
    }
    TAKE(b, d->final_norm, N * d->H);
    TAKE(b, d->final_rstd, N);
    TAKE(b, d->logits, (size_t)d->R * d->V);
    TAKE(b, d->row_loss, d->R);
    TAKE(b, d->lse, d->R);
    TAKE(b, d->lse_s, d->R);
    TAKE(b, d->lse_t, d->R);
    TAKE(b, d->sums, 2 * ((N + d->R - 1) / d->R));
    TAKE(b, d->sumsq, 1);
    TAKE(b, d->ids, N);
    TAKE(b, d->targets, N);
    TAKE(b, d->mask, N);
    TAKE(b, d->rope_cos, (size_t)d->o.T * hd2);
    TAKE(b, d->rope_sin, (size_t)d->o.T * hd2);
    if (train) {
        TAKE(b, d->logits2, (size_t)d->R * d->V);
        TAKE(b, d->d_x, N * d->H);
        TAKE(b, d->d_norm, N * d->H);
        TAKE(b, d->d_ff1, N * d->F);
        TAKE(b, d->d_ff2, N * d->F);
        TAKE(b, d->d_q, N * d->Q);
        TAKE(b, d->d_k, N * d->KV);
        TAKE(b, d->d_v, N * d->KV);
        TAKE(b, d->d_attn, N * d->Q);
        if (d->o.recompute) TAKE(b, d->scratch_out, N * d->H);
    }
}

/* Layer inputs and outputs in the residual-stream buffers (train: layer l
 * reads hidden[l] and writes hidden[l+1]). */
static void bind_hidden(hx_dmodel *d)
{
    int L = d->cfg.num_hidden_layers;
    size_t NH = d->N * d->H;
    if (!d->o.train) return;
    if (!d->o.recompute)
        for (int l = 0; l < L; l++) {
            d->layers[l].x = d->hidden + l * NH;
            d->layers[l].out = d->hidden + (l + 1) * NH;
        }
    d->final_x = d->hidden + L * NH;
}

static __global__ void k_init(float *wf, hx_bf16 *wb, size_t n, uint64_t seed, float half_width)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint64_t z = seed + 0x9E3779B97F4A7C15ull * (i + 1); /* splitmix64 */
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        float u = (float)(z >> 40) * (1.0f / 16777216.0f); /* [0, 1) */
        float v = (2.0f * u - 1.0f) * half_width;
        if (wf) wf[i] = v;
        if (wb) hx_st(wb, i, v);
    }
}

static __global__ void k_fill(float *wf, hx_bf16 *wb, size_t n, float v)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        if (wf) wf[i] = v;
        if (wb) hx_st(wb, i, v);
    }
}

static int random_weights(hx_dmodel *d, uint64_t seed)
{
    const float hw = 0.02f * sqrtf(3.0f); /* uniform with standard deviation 0.02 */
    k_init<<<hx_grid(d->n, 256), 256, 0, d->s>>>(d->master, d->w, d->n, seed, hw);
    HX_CUDA_CHECK_LAUNCH();
    size_t h = d->H;
    for (int l = 0; l <= d->cfg.num_hidden_layers; l++) {
        const float *norms[2] = {l < d->cfg.num_hidden_layers ? d->view.layers[l].input_layernorm : d->view.norm,
                                 l < d->cfg.num_hidden_layers ? d->view.layers[l].post_attention_layernorm : NULL};
        for (int k = 0; k < 2 && norms[k]; k++) {
            k_fill<<<hx_grid(h, 256), 256, 0, d->s>>>(d->master ? d->master + (norms[k] - d->view.data) : NULL,
                                                        W(d, norms[k]), h, 1.0f);
            HX_CUDA_CHECK_LAUNCH();
        }
    }
    return HX_OK;
}

/* Per-element weight-decay flags, as hx_adamw_init (model/optim.c). */
static int upload_decay(hx_dmodel *d)
{
    hx_adamw opt;
    HX_TRY(hx_adamw_init(&opt, &d->o.adamw, &d->view));
    int rc = hx_cuda_upload(d->decay, opt.decay, d->n);
    hx_adamw_free(&opt);
    return rc;
}

static int create(hx_dmodel **out, const hx_config *cfg, const hx_model *m, uint64_t seed, const hx_dmodel_opts *o)
{
    *out = NULL;
    HX_TRY(hx_config_validate(cfg));
    if (o->B <= 0 || o->T <= 0) return HX_ERR(HX_EINVAL, "device model: batch %d x seq %d must be positive", o->B, o->T);
    if (o->recompute && !o->train) return HX_ERR(HX_EINVAL, "device model: recompute applies to training only");
    if (m && m->n_floats != hx_config_param_count(cfg))
        return HX_ERR(HX_EINVAL, "device model: weights hold %zu floats, the config %zu", m->n_floats,
                      hx_config_param_count(cfg));
    hx_dmodel *d = (hx_dmodel *)hx_calloc(1, sizeof *d);
    if (!d) return HX_ENOMEM;
    d->cfg = *cfg;
    d->o = *o;
    d->N = (size_t)o->B * o->T;
    d->H = cfg->hidden_size;
    d->Q = (size_t)cfg->num_attention_heads * cfg->head_dim;
    d->KV = (size_t)cfg->num_key_value_heads * cfg->head_dim;
    d->F = cfg->intermediate_size;
    d->V = cfg->vocab_size;
    d->n = hx_config_param_count(cfg);
    d->R = o->head_rows > 0 ? o->head_rows : 1024;
    if ((size_t)d->R > d->N) d->R = (int)d->N;
    int sets = o->train && !o->recompute ? cfg->num_hidden_layers : 1;
    d->layers = (dacts *)hx_calloc((size_t)sets, sizeof(dacts));
    int rc = d->layers ? HX_OK : HX_ENOMEM;
    bump b = {NULL, 0};
    if (rc == HX_OK) {
        layout(d, &b);
        d->bytes = b.used;
        rc = hx_cuda_malloc(&d->arena, b.used);
        if (rc < 0) hx_adderr(rc, "device model: %.2f GB for weights, optimizer and activations", b.used / 1e9);
    }
    if (rc == HX_OK) {
        b = (bump){(char *)d->arena, 0};
        layout(d, &b);
        bind_hidden(d);
        /* views for offsets only: on the master copy, or (forward-only) the bf16 buffer's address */
        rc = hx_model_view(&d->view, cfg, d->master ? d->master : (float *)d->w);
    }
    if (rc == HX_OK) rc = hx_cuda_gemm_create(&d->gemm, 0);
    if (rc == HX_OK) {
        hx_rope_params rp = hx_config_rope(cfg);
        size_t tn = (size_t)o->T * (cfg->head_dim / 2);
        float *cs = (float *)hx_malloc(2 * tn * sizeof(float));
        rc = cs ? HX_OK : HX_ENOMEM;
        if (cs) {
            hx_rope_table(cs, cs + tn, &rp, o->T);
            rc = hx_cuda_upload(d->rope_cos, cs, tn * sizeof(float));
            if (rc == HX_OK) rc = hx_cuda_upload(d->rope_sin, cs + tn, tn * sizeof(float));
            free(cs);
        }
    }
    if (rc == HX_OK && o->train) rc = upload_decay(d);
    if (rc == HX_OK) rc = m ? hx_dmodel_set(d, m, NULL) : random_weights(d, seed);
    if (rc == HX_OK) rc = hx_cuda_sync(d->s);
    if (rc != HX_OK) {
        hx_dmodel_free(d);
        return rc;
    }
    *out = d;
    return HX_OK;
}

extern "C" int hx_dmodel_create(hx_dmodel **d, const hx_config *cfg, const hx_model *m, const hx_dmodel_opts *o)
{
    return create(d, cfg, m, 0, o);
}

extern "C" int hx_dmodel_create_random(hx_dmodel **d, const hx_config *cfg, uint64_t seed, const hx_dmodel_opts *o)
{
    return create(d, cfg, NULL, seed, o);
}

extern "C" void hx_dmodel_free(hx_dmodel *d)
{
    if (!d) return;
    hx_cuda_gemm_destroy(d->gemm);
    hx_cuda_free(d->tlogits);
    hx_cuda_free(d->arena);
    free(d->view.layers);
    free(d->layers);
    free(d);
}

extern "C" size_t hx_dmodel_bytes(const hx_dmodel *d) { return d->bytes + d->tlogits_cap * sizeof(hx_bf16); }

extern "C" int hx_dmodel_set(hx_dmodel *d, const hx_model *m, const hx_adamw *opt)
{
    if (m->n_floats != d->n) return HX_ERR(HX_EINVAL, "device model: weights hold %zu floats, expected %zu", m->n_floats, d->n);
    if (d->master) {
        HX_TRY(hx_cuda_upload(d->master, m->data, d->n * sizeof(float)));
        HX_TRY(hx_cuda_f32_to_bf16(d->w, d->master, d->n, d->s));
    } else { /* forward-only: round on the host, no fp32 copy on the device */
        const size_t chunk = (size_t)1 << 24;
        hx_bf16 *tmp = (hx_bf16 *)hx_malloc(chunk * sizeof(hx_bf16));
        if (!tmp) return HX_ENOMEM;
        int rc = HX_OK;
        for (size_t i = 0; i < d->n && rc == HX_OK; i += chunk) {
            size_t len = d->n - i < chunk ? d->n - i : chunk;
            for (size_t j = 0; j < len; j++) tmp[j] = hx_f32_to_bf16(m->data[i + j]);
            rc = hx_cuda_upload(d->w + i, tmp, len * sizeof(hx_bf16));
        }
        free(tmp);
        HX_TRY(rc);
    }
    if (opt && d->master) {
        if (opt->n != d->n) return HX_ERR(HX_EINVAL, "device model: optimizer state holds %zu floats, expected %zu", opt->n, d->n);
        HX_TRY(hx_cuda_upload(d->m1, opt->m, d->n * sizeof(float)));
        HX_TRY(hx_cuda_upload(d->m2, opt->v, d->n * sizeof(float)));
        d->t = opt->t;
    }
    return hx_cuda_sync(d->s);
}

extern "C" int hx_dmodel_get(const hx_dmodel *d, hx_model *m, hx_model *grads, hx_adamw *opt)
{
    if (!d->master) return HX_ERR(HX_EINVAL, "device model: a forward-only model keeps no fp32 state to copy back");
    HX_TRY(hx_cuda_sync(d->s));
    if (m) HX_TRY(hx_cuda_download(m->data, d->master, d->n * sizeof(float)));
    if (grads) HX_TRY(hx_cuda_download(grads->data, d->grad, d->n * sizeof(float)));
    if (opt) {
        HX_TRY(hx_cuda_download(opt->m, d->m1, d->n * sizeof(float)));
        HX_TRY(hx_cuda_download(opt->v, d->m2, d->n * sizeof(float)));
        opt->t = d->t;
    }
    return HX_OK;
}

static hx_attn_shape attn_shape(const hx_dmodel *d)
{
    const hx_config *c = &d->cfg;
    hx_attn_shape s = {d->o.B, d->o.T, c->num_attention_heads, c->num_key_value_heads, c->head_dim, c->sliding_window};
    return s;
}

static int copy(hx_bf16 *dst, const hx_bf16 *src, size_t n, hx_stream s)
{
    HX_CUDA_TRY(cudaMemcpyAsync(dst, src, n * sizeof(hx_bf16), cudaMemcpyDeviceToDevice, s));
    return HX_OK;
}

/* One decoder layer, as layer_fwd in model/forward.c. */
static int layer_fwd(hx_dmodel *d, const hx_layer *w, dacts *a)
{
    const hx_config *c = &d->cfg;
    int N = (int)d->N, H = (int)d->H, Q = (int)d->Q, KV = (int)d->KV, F = (int)d->F, T = d->o.T;
    hx_attn_shape sh = attn_shape(d);
    hx_stream s = d->s;
    hx_cuda_gemm *g = d->gemm;
    float eps = (float)c->rms_norm_eps;
    HX_TRY(hx_cuda_rmsnorm_fwd(a->an, a->ar, a->x, W(d, w->input_layernorm), N, H, eps, s));
    HX_TRY(hx_cuda_linear_fwd(g, a->q, a->an, W(d, w->q_proj), N, H, Q, 0.0f, s));
    HX_TRY(hx_cuda_linear_fwd(g, a->k, a->an, W(d, w->k_proj), N, H, KV, 0.0f, s));
    HX_TRY(hx_cuda_linear_fwd(g, a->v, a->an, W(d, w->v_proj), N, H, KV, 0.0f, s));
    HX_TRY(hx_cuda_rope_fwd(a->q, d->rope_cos, d->rope_sin, N, T, c->num_attention_heads, c->head_dim, s));
    HX_TRY(hx_cuda_rope_fwd(a->k, d->rope_cos, d->rope_sin, N, T, c->num_key_value_heads, c->head_dim, s));
    HX_TRY(hx_cuda_attention_fwd(a->ao, a->lse, a->q, a->k, a->v, &sh, s));
    HX_TRY(copy(a->xm, a->x, d->N * d->H, s));
    HX_TRY(hx_cuda_linear_fwd(g, a->xm, a->ao, W(d, w->o_proj), N, Q, H, 1.0f, s));
    HX_TRY(hx_cuda_rmsnorm_fwd(a->mn, a->mr, a->xm, W(d, w->post_attention_layernorm), N, H, eps, s));
    HX_TRY(hx_cuda_linear_fwd(g, a->gate, a->mn, W(d, w->gate_proj), N, H, F, 0.0f, s));
    HX_TRY(hx_cuda_linear_fwd(g, a->up, a->mn, W(d, w->up_proj), N, H, F, 0.0f, s));
    HX_TRY(hx_cuda_swiglu_fwd(a->act, a->gate, a->up, d->N * d->F, s));
    HX_TRY(copy(a->out, a->xm, d->N * d->H, s));
    return hx_cuda_linear_fwd(g, a->out, a->act, W(d, w->down_proj), N, F, H, 1.0f, s);
}

extern "C" int hx_dmodel_forward(hx_dmodel *d, const int32_t *ids)
{
    const hx_config *c = &d->cfg;
    for (size_t i = 0; i < d->N; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return HX_ERR(HX_EINVAL, "device forward: token id %d at position %zu outside [0, %d)", (int)ids[i], i,
                          c->vocab_size);
    HX_TRY(hx_cuda_upload(d->ids, ids, d->N * sizeof(int32_t)));
    size_t NH = d->N * d->H;
    int L = c->num_hidden_layers, keep = d->o.train && !d->o.recompute;
    HX_TRY(hx_cuda_embedding_fwd(d->hidden, W(d, d->view.embed_tokens), d->ids, (int)d->N, c->vocab_size, (int)d->H, d->s));
    hx_bf16 *x = d->hidden;
    for (int l = 0; l < L; l++) {
        dacts *a = &d->layers[keep ? l : 0];
        if (!keep) { /* forward-only ping-pong, or (recompute) the inputs kept in hidden[l] */
            a->x = d->o.train ? d->hidden + l * NH : x;
            a->out = d->o.train ? d->hidden + (l + 1) * NH : (x == d->hidden ? d->hidden + NH : d->hidden);
        }
        HX_TRY(layer_fwd(d, &d->view.layers[l], a));
        x = a->out;
    }
    d->final_x = x;
    return hx_cuda_rmsnorm_fwd(d->final_norm, d->final_rstd, d->final_x, W(d, d->view.norm), (int)d->N, (int)d->H,
                               (float)c->rms_norm_eps, d->s);
}

extern "C" int hx_dmodel_logits(hx_dmodel *d, float *logits)
{
    size_t RV = (size_t)d->R * d->V;
    hx_bf16 *tmp = (hx_bf16 *)hx_malloc(RV * sizeof(hx_bf16));
    if (!tmp) return HX_ENOMEM;
    int rc = HX_OK;
    for (size_t r0 = 0; r0 < d->N && rc == HX_OK; r0 += d->R) {
        int rows = (int)(d->N - r0 < (size_t)d->R ? d->N - r0 : (size_t)d->R);
        rc = hx_cuda_linear_fwd(d->gemm, d->logits, d->final_norm + r0 * d->H, W(d, d->view.lm_head), rows,
                                (int)d->H, (int)d->V, 0.0f, d->s);
        if (rc == HX_OK) rc = hx_cuda_sync(d->s);
        if (rc == HX_OK) rc = hx_cuda_download(tmp, d->logits, (size_t)rows * d->V * sizeof(hx_bf16));
        for (size_t i = 0; rc == HX_OK && i < (size_t)rows * d->V; i++) logits[r0 * d->V + i] = hx_bf16_to_f32(tmp[i]);
    }
    free(tmp);
    return rc;
}

/* The teacher's logits of rows [r0, r0+rows) into d->tlogits (grown on first use). */
static int teacher_chunk(hx_dmodel *d, const hx_dmodel *t, size_t r0, int rows)
{
    size_t need = (size_t)d->R * t->V;
    if (d->tlogits_cap < need) {
        hx_cuda_free(d->tlogits);
        d->tlogits = NULL;
        d->tlogits_cap = 0;
        HX_TRY(hx_cuda_malloc((void **)&d->tlogits, need * sizeof(hx_bf16)));
        d->tlogits_cap = need;
    }
    return hx_cuda_linear_fwd(t->gemm, d->tlogits, t->final_norm + r0 * t->H, W(t, t->view.lm_head), rows, (int)t->H,
                              (int)t->V, 0.0f, t->s);
}

extern "C" int hx_dmodel_loss(hx_dmodel *d, const hx_dmodel *t, const int32_t *targets, double tau, double w_ce,
                              int backward, double *ce_sum, double *kd_sum)
{
    if (backward && !d->o.train) return HX_ERR(HX_EINVAL, "device loss: backward on a forward-only model");
    if (t && (t->N != d->N)) return HX_ERR(HX_EINVAL, "device loss: teacher batch %zu tokens, student %zu", t->N, d->N);
    int V = (int)d->V, Vs = t && t->V < d->V ? (int)t->V : V;
    uint8_t *mask = (uint8_t *)hx_malloc(d->N);
    if (!mask) return HX_ENOMEM;
    for (size_t i = 0; i < d->N; i++) mask[i] = targets[i] != HX_IGNORE_INDEX;
    for (size_t i = 0; i < d->N; i++)
        if (mask[i] && (targets[i] < 0 || targets[i] >= V)) {
            free(mask);
            return HX_ERR(HX_EINVAL, "device loss: target %d at position %zu outside [0, %d)", (int)targets[i], i, V);
        }
    int rc = hx_cuda_upload(d->targets, targets, d->N * sizeof(int32_t));
    if (rc == HX_OK) rc = hx_cuda_upload(d->mask, mask, d->N);
    free(mask);
    HX_TRY(rc);
    size_t chunks = (d->N + d->R - 1) / d->R;
    HX_TRY(hx_cuda_memset0(d->sums, 2 * chunks * sizeof(float), d->s));
    hx_cuda_gemm *g = d->gemm;
    int H = (int)d->H;
    const float *head = d->view.lm_head;
    for (size_t c = 0, r0 = 0; r0 < d->N; c++, r0 += d->R) {
        int rows = (int)(d->N - r0 < (size_t)d->R ? d->N - r0 : (size_t)d->R);
        const hx_bf16 *xin = d->final_norm + r0 * d->H;
        HX_TRY(hx_cuda_linear_fwd(g, d->logits, xin, W(d, head), rows, H, V, 0.0f, d->s));
        HX_TRY(hx_cuda_cross_entropy_fwd(d->sums + 2 * c, d->row_loss, d->lse, d->logits, d->targets + r0, rows, V,
                                         HX_IGNORE_INDEX, d->s));
        if (t) {
            HX_TRY(teacher_chunk(d, t, r0, rows));
            HX_TRY(hx_cuda_kl_fwd(d->sums + 2 * c + 1, d->row_loss, d->lse_s, d->lse_t, d->logits, V, d->tlogits,
                                  (int)t->V, d->mask + r0, rows, Vs, (float)tau, 1.0f, d->s));
        }
        if (!backward) continue;
        int mix = t && w_ce != 0;
        if (mix) /* the CE part, scaled by w_ce, into the second buffer; the KL part in place */
            HX_TRY(hx_cuda_cross_entropy_bwd(d->logits2, d->logits, d->lse, d->targets + r0, rows, V, HX_IGNORE_INDEX,
                                             (float)w_ce, 1.0f, d->s));
        if (t)
            HX_TRY(hx_cuda_kl_bwd(d->logits, d->logits, V, d->tlogits, (int)t->V, d->lse_s, d->lse_t, d->mask + r0, rows,
                                  Vs, (float)tau, 1.0f, 1.0f, d->s));
        else
            HX_TRY(hx_cuda_cross_entropy_bwd(d->logits, d->logits, d->lse, d->targets + r0, rows, V, HX_IGNORE_INDEX,
                                             1.0f, 1.0f, d->s));
        HX_TRY(hx_cuda_linear_bwd_input(g, d->d_norm + r0 * d->H, d->logits, W(d, head), rows, H, V, 0.0f, d->s));
        HX_TRY(hx_cuda_linear_bwd_weight(g, G(d, head), d->logits, xin, rows, H, V, d->s));
        if (mix) {
            HX_TRY(hx_cuda_linear_bwd_input(g, d->d_norm + r0 * d->H, d->logits2, W(d, head), rows, H, V, 1.0f, d->s));
            HX_TRY(hx_cuda_linear_bwd_weight(g, G(d, head), d->logits2, xin, rows, H, V, d->s));
        }
    }
    float *sums = (float *)hx_malloc(2 * chunks * sizeof(float));
    if (!sums) return HX_ENOMEM;
    rc = hx_cuda_sync(d->s);
    if (rc == HX_OK) rc = hx_cuda_download(sums, d->sums, 2 * chunks * sizeof(float));
    double ce = 0, kd = 0;
    for (size_t c = 0; c < chunks; c++) ce += sums[2 * c], kd += sums[2 * c + 1];
    free(sums);
    *ce_sum = ce;
    if (kd_sum) *kd_sum = kd;
    return rc;
}

/* One layer's backward, as layer_bwd in model/forward.c: d->d_x holds
 * d(out) and becomes d(x). */
static int layer_bwd(hx_dmodel *d, const hx_layer *w, const dacts *a)
{
    const hx_config *c = &d->cfg;
    int N = (int)d->N, H = (int)d->H, Q = (int)d->Q, KV = (int)d->KV, F = (int)d->F, T = d->o.T;
    hx_attn_shape sh = attn_shape(d);
    hx_stream s = d->s;
    hx_cuda_gemm *g = d->gemm;
    HX_TRY(hx_cuda_linear_bwd_input(g, d->d_ff1, d->d_x, W(d, w->down_proj), N, F, H, 0.0f, s));
    HX_TRY(hx_cuda_linear_bwd_weight(g, G(d, w->down_proj), d->d_x, a->act, N, F, H, s));
    HX_TRY(hx_cuda_swiglu_bwd(d->d_ff1, d->d_ff2, d->d_ff1, a->gate, a->up, d->N * d->F, s));
    HX_TRY(hx_cuda_linear_bwd_input(g, d->d_norm, d->d_ff1, W(d, w->gate_proj), N, H, F, 0.0f, s));
    HX_TRY(hx_cuda_linear_bwd_input(g, d->d_norm, d->d_ff2, W(d, w->up_proj), N, H, F, 1.0f, s));
    HX_TRY(hx_cuda_linear_bwd_weight(g, G(d, w->gate_proj), d->d_ff1, a->mn, N, H, F, s));
    HX_TRY(hx_cuda_linear_bwd_weight(g, G(d, w->up_proj), d->d_ff2, a->mn, N, H, F, s));
    HX_TRY(hx_cuda_rmsnorm_bwd(d->d_x, G(d, w->post_attention_layernorm), d->d_norm, a->xm,
                               W(d, w->post_attention_layernorm), a->mr, N, H, s));
    HX_TRY(hx_cuda_linear_bwd_input(g, d->d_attn, d->d_x, W(d, w->o_proj), N, Q, H, 0.0f, s));
    HX_TRY(hx_cuda_linear_bwd_weight(g, G(d, w->o_proj), d->d_x, a->ao, N, Q, H, s));
    HX_TRY(hx_cuda_attention_bwd(d->d_q, d->d_k, d->d_v, d->d_attn, a->q, a->k, a->v, a->ao, a->lse, &sh, s));
    HX_TRY(hx_cuda_rope_bwd(d->d_q, d->rope_cos, d->rope_sin, N, T, c->num_attention_heads, c->head_dim, s));
    HX_TRY(hx_cuda_rope_bwd(d->d_k, d->rope_cos, d->rope_sin, N, T, c->num_key_value_heads, c->head_dim, s));
    HX_TRY(hx_cuda_linear_bwd_input(g, d->d_norm, d->d_q, W(d, w->q_proj), N, H, Q, 0.0f, s));
    HX_TRY(hx_cuda_linear_bwd_input(g, d->d_norm, d->d_k, W(d, w->k_proj), N, H, KV, 1.0f, s));
    HX_TRY(hx_cuda_linear_bwd_input(g, d->d_norm, d->d_v, W(d, w->v_proj), N, H, KV, 1.0f, s));
    HX_TRY(hx_cuda_linear_bwd_weight(g, G(d, w->q_proj), d->d_q, a->an, N, H, Q, s));
    HX_TRY(hx_cuda_linear_bwd_weight(g, G(d, w->k_proj), d->d_k, a->an, N, H, KV, s));
    HX_TRY(hx_cuda_linear_bwd_weight(g, G(d, w->v_proj), d->d_v, a->an, N, H, KV, s));
    return hx_cuda_rmsnorm_bwd(d->d_x, G(d, w->input_layernorm), d->d_norm, a->x, W(d, w->input_layernorm), a->ar, N,
                               H, s);
}

extern "C" int hx_dmodel_backward(hx_dmodel *d)
{
    if (!d->o.train) return HX_ERR(HX_EINVAL, "device backward: the model was created forward-only");
    const hx_config *c = &d->cfg;
    int N = (int)d->N, H = (int)d->H;
    size_t NH = d->N * d->H;
    HX_TRY(hx_cuda_memset0(d->d_x, NH * sizeof(hx_bf16), d->s));
    HX_TRY(hx_cuda_rmsnorm_bwd(d->d_x, G(d, d->view.norm), d->d_norm, d->final_x, W(d, d->view.norm), d->final_rstd, N,
                               H, d->s));
    for (int l = c->num_hidden_layers - 1; l >= 0; l--) {
        dacts *a = &d->layers[d->o.recompute ? 0 : l];
        if (d->o.recompute) { /* rerun the layer from its kept input; its output goes to scratch */
            a->x = d->hidden + l * NH;
            a->out = d->scratch_out;
            HX_TRY(layer_fwd(d, &d->view.layers[l], a));
        }
        HX_TRY(layer_bwd(d, &d->view.layers[l], a));
    }
    return hx_cuda_embedding_bwd(G(d, d->view.embed_tokens), d->d_x, d->ids, N, c->vocab_size, H, d->s);
}

extern "C" int hx_dmodel_zero_grad(hx_dmodel *d)
{
    if (!d->o.train) return HX_ERR(HX_EINVAL, "device model: forward-only, no gradients");
    return hx_cuda_memset0(d->grad, d->n * sizeof(float), d->s);
}

extern "C" int hx_dmodel_grad_norm(hx_dmodel *d, double count, double *norm)
{
    if (!d->o.train) return HX_ERR(HX_EINVAL, "device model: forward-only, no gradients");
    float ss = 0;
    HX_TRY(hx_cuda_sumsq(d->sumsq, d->grad, d->n, d->s));
    HX_TRY(hx_cuda_sync(d->s));
    HX_TRY(hx_cuda_download(&ss, d->sumsq, sizeof ss));
    *norm = sqrt((double)ss) / (count > 0 ? count : 1);
    return HX_OK;
}

extern "C" int hx_dmodel_step(hx_dmodel *d, double lr, double count, double norm, double max_norm)
{
    if (!d->o.train) return HX_ERR(HX_EINVAL, "device model: forward-only, no optimizer");
    double scale = 1.0 / (count > 0 ? count : 1);
    if (max_norm > 0 && isfinite(norm) && norm > max_norm) scale *= max_norm / (norm + 1e-6);
    const hx_adamw_config *a = &d->o.adamw;
    d->t++;
    return hx_cuda_adamw(d->master, d->w, d->grad, d->m1, d->m2, d->decay, d->n, (float)lr, (float)a->beta1,
                         (float)a->beta2, (float)a->eps, (float)a->weight_decay, (int)d->t, (float)scale, d->s);
}

/* ---- data parallelism over NCCL, bootstrapped by MPI ---- */

static ncclComm_t g_nccl;

#define HX_NCCL_TRY(call)                                                                                  \
    do {                                                                                                   \
        ncclResult_t hx_nr_ = (call);                                                                      \
        if (hx_nr_ != ncclSuccess)                                                                         \
            return hx_seterr(HX_EIO, __FILE__, __LINE__, "NCCL error in %s: %s", #call, ncclGetErrorString(hx_nr_)); \
    } while (0)

extern "C" int hx_dmodel_dist_init(void)
{
    int ranks = hx_dist_size();
    if (ranks < 2 || g_nccl) return HX_OK;
    int n_dev = 0;
    HX_CUDA_TRY(cudaGetDeviceCount(&n_dev));
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (!local) local = getenv("SLURM_LOCALID");
    int lr = local ? atoi(local) : hx_dist_rank();
    HX_CUDA_TRY(cudaSetDevice(n_dev > 0 ? lr % n_dev : 0));
    ncclUniqueId id;
    if (hx_dist_rank() == 0) HX_NCCL_TRY(ncclGetUniqueId(&id));
    MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, MPI_COMM_WORLD);
    HX_NCCL_TRY(ncclCommInitRank(&g_nccl, ranks, id, hx_dist_rank()));
    return HX_OK;
}

extern "C" int hx_dmodel_grad_allreduce(hx_dmodel *d)
{
    if (!g_nccl) return HX_OK;
    if (!d->o.train) return HX_ERR(HX_EINVAL, "device model: forward-only, no gradients");
    HX_NCCL_TRY(ncclAllReduce(d->grad, d->grad, d->n, ncclFloat, ncclSum, g_nccl, d->s));
    return HX_OK;
}
