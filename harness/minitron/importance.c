/* The calibration pass: hooked forward passes for width scores and Block
 * Importance, masked forward passes for depth losses. */
#include "minitron/importance.h"

#include "core/dist.h"
#include "core/err.h"
#include "core/util.h"
#include "model/engine.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

const char *const hx_depth_names[] = {"ppl", "bi", "block", NULL};
const char *const hx_neuron_names[] = {"pre", "post", NULL};

const char *hx_depth_metric_name(hx_depth_metric d) { return d <= HX_DEPTH_BLOCK ? hx_depth_names[d] : "?"; }

hx_importance_opts hx_importance_defaults(void)
{
    hx_importance_opts o = {HX_AGG_L2, HX_AGG_MEAN, 0, HX_DEPTH_PPL, 1, 0, 1, 0};
    return o;
}

/* Per-run accumulators shared with the layer hook. */
typedef struct {
    const hx_importance_opts *o;
    int B, T, L, H, hd;
    hx_agg_acc *head, *neuron, *channel; /* [L], [L], [2L] (attn and mlp norm of every layer) */
    double *bi_sum;                      /* [L] */
    float *head_norms;                   /* [T, H] scratch */
} acc_ctx;

/* Channels [lo, hi) of `width` that thread id of nt owns. */
#define RANGE(width, id, nt) (int)((long)(width) * (id) / (nt)), (int)((long)(width) * ((id) + 1) / (nt))

/* Adds layer l's activations of the B samples to the accumulators in one
 * parallel region (one fork per layer, not one per sample and axis); each
 * thread owns the same channel blocks as hx_agg_add_sample would give it. */
static int width_hook(void *vctx, int l, const hx_layer_acts *a, const hx_workspace *ws)
{
    acc_ctx *c = vctx;
    int hidden = ws->cfg.hidden_size, F = ws->cfg.intermediate_size, qw = c->H * c->hd, T = c->T, H = c->H;
    const float *neuron = c->o->neuron_post ? a->act : a->gate;
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        for (int b = 0; b < c->B; b++) {
            size_t row = (size_t)b * T;
            /* Head h's score per token: the L2 norm of its attention output. */
            const float *ao = a->attn_out + row * qw;
#pragma omp for schedule(static)
            for (int t = 0; t < T; t++)
                for (int h = 0; h < H; h++) {
                    double s = 0;
                    const float *v = ao + (size_t)t * qw + (size_t)h * c->hd;
                    for (int d = 0; d < c->hd; d++) s += (double)v[d] * v[d];
                    c->head_norms[(size_t)t * H + h] = (float)sqrt(s);
                }
            hx_agg_add_range(&c->head[l], c->head_norms, T, H, RANGE(H, id, nt));
            hx_agg_add_range(&c->neuron[l], neuron + row * F, T, F, RANGE(F, id, nt));
            hx_agg_add_range(&c->channel[2 * l], a->attn_norm + row * hidden, T, hidden, RANGE(hidden, id, nt));
            hx_agg_add_range(&c->channel[2 * l + 1], a->mlp_norm + row * hidden, T, hidden, RANGE(hidden, id, nt));
#pragma omp barrier /* head_norms is rewritten for the next sample */
        }
    }
    hx_agg_samples_added(&c->head[l], c->B);
    hx_agg_samples_added(&c->neuron[l], c->B);
    hx_agg_samples_added(&c->channel[2 * l], c->B);
    hx_agg_samples_added(&c->channel[2 * l + 1], c->B);
    c->bi_sum[l] += hx_block_importance_sum(a->x, a->out, c->B * T, hidden);
    return HX_OK;
}

/* Mean LM loss (nats/token) over all samples with the given layer mask. */
static int mean_loss(const hx_model *m, hx_workspace *ws, const int32_t *samples, int n, int T,
                     const unsigned char *active, int32_t *ids, int32_t *tgt, double *out)
{
    int B = ws->B;
    double total = 0;
    long count = 0;
    for (int s0 = B * hx_dist_rank(); s0 < n; s0 += B * hx_dist_size()) { /* data parallel: every N-th batch */
        for (int b = 0; b < B; b++) {
            int s = s0 + b < n ? s0 + b : n - 1; /* last batch: repeat a sample, not counted */
            memcpy(ids + (size_t)b * T, samples + (size_t)s * (T + 1), sizeof(int32_t) * (size_t)T);
            for (int t = 0; t < T; t++)
                tgt[(size_t)b * T + t] = s0 + b < n ? samples[(size_t)s * (T + 1) + t + 1] : HX_IGNORE_INDEX;
        }
        HX_TRY(hx_forward(m, ws, ids, active));
        double sum = 0;
        HX_TRY(hx_lm_loss(ws->logits, tgt, B * T, ws->cfg.vocab_size, HX_IGNORE_INDEX, 1.0, NULL, &sum));
        total += sum;
        for (int i = 0; i < B * T; i++) count += tgt[i] != HX_IGNORE_INDEX;
    }
    double sums[2] = {total, (double)count}; /* loss sum and token count over ranks */
    HX_TRY(hx_dist_allreduce_f64(sums, 2));
    *out = sums[1] > 0 ? sums[0] / sums[1] : 0.0;
    return HX_OK;
}

static void free_accs(acc_ctx *c)
{
    for (int l = 0; l < c->L && c->head; l++) hx_agg_free(&c->head[l]);
    for (int l = 0; l < c->L && c->neuron; l++) hx_agg_free(&c->neuron[l]);
    for (int l = 0; l < 2 * c->L && c->channel; l++) hx_agg_free(&c->channel[l]);
    free(c->head);
    free(c->neuron);
    free(c->channel);
    free(c->bi_sum);
    free(c->head_norms);
}

static int init_accs(acc_ctx *c, const hx_config *cfg, const hx_importance_opts *o, int T)
{
    memset(c, 0, sizeof *c);
    c->o = o;
    c->T = T;
    c->L = cfg->num_hidden_layers;
    c->H = cfg->num_attention_heads;
    c->hd = cfg->head_dim;
    c->head = hx_calloc((size_t)c->L, sizeof(hx_agg_acc));
    c->neuron = hx_calloc((size_t)c->L, sizeof(hx_agg_acc));
    c->channel = hx_calloc((size_t)c->L * 2, sizeof(hx_agg_acc));
    c->bi_sum = hx_calloc((size_t)c->L, sizeof(double));
    c->head_norms = hx_malloc(sizeof(float) * (size_t)T * c->H);
    if (!c->head || !c->neuron || !c->channel || !c->bi_sum || !c->head_norms) return HX_ENOMEM;
    for (int l = 0; l < c->L; l++) {
        HX_TRY(hx_agg_init(&c->head[l], c->H, o->batch_agg, o->seq_agg));
        HX_TRY(hx_agg_init(&c->neuron[l], cfg->intermediate_size, o->batch_agg, o->seq_agg));
        HX_TRY(hx_agg_init(&c->channel[2 * l], cfg->hidden_size, o->batch_agg, o->seq_agg));
        HX_TRY(hx_agg_init(&c->channel[2 * l + 1], cfg->hidden_size, o->batch_agg, o->seq_agg));
    }
    return HX_OK;
}

/* Hooked forward passes over samples [0, n) in batches of ws->B (n must be a
 * multiple of ws->B), adding the LM loss sum and token count. */
static int hooked_passes(const hx_model *m, hx_workspace *ws, acc_ctx *c, const int32_t *samples, int n,
                         int32_t *ids, int32_t *tgt, double *loss_sum, long *count)
{
    int T = c->T, rc = HX_OK;
    c->B = ws->B;
    ws->hook = width_hook;
    ws->hook_ctx = c;
    for (int s0 = ws->B * hx_dist_rank(); rc == HX_OK && s0 < n; s0 += ws->B * hx_dist_size()) { /* every N-th batch */
        for (int b = 0; b < ws->B; b++)
            for (int t = 0; t < T; t++) {
                ids[(size_t)b * T + t] = samples[(size_t)(s0 + b) * (T + 1) + t];
                tgt[(size_t)b * T + t] = samples[(size_t)(s0 + b) * (T + 1) + t + 1];
            }
        rc = hx_forward(m, ws, ids, NULL);
        double sum = 0;
        if (rc == HX_OK)
            rc = hx_lm_loss(ws->logits, tgt, ws->B * T, m->cfg.vocab_size, HX_IGNORE_INDEX, 1.0, NULL, &sum);
        *loss_sum += sum;
        *count += (long)ws->B * T;
    }
    ws->hook = NULL;
    return rc;
}

/* Data parallel: every accumulator's raw sums (sums of v and v^2 over
 * samples, and the sample counts), the Block Importance sums, the loss sum and
 * the token count added over ranks, so that the scores are those of one
 * process over all samples (up to the order of the additions). */
static int reduce_accs(acc_ctx *c, double *loss_sum, long *count)
{
    if (hx_dist_size() < 2) return HX_OK;
    hx_agg_acc *all[3] = {c->head, c->neuron, c->channel};
    int n[3] = {c->L, c->L, 2 * c->L};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < n[k]; i++) {
            hx_agg_acc *a = &all[k][i];
            double samples = (double)a->samples;
            HX_TRY(hx_dist_allreduce_f64(a->s1, (size_t)a->width));
            HX_TRY(hx_dist_allreduce_f64(a->s2, (size_t)a->width));
            HX_TRY(hx_dist_allreduce_f64(&samples, 1));
            a->samples = (long)samples;
        }
    HX_TRY(hx_dist_allreduce_f64(c->bi_sum, (size_t)c->L));
    double s[2] = {*loss_sum, (double)*count};
    HX_TRY(hx_dist_allreduce_f64(s, 2));
    *loss_sum = s[0];
    *count = (long)s[1];
    return HX_OK;
}

/* Turns the accumulators into per-axis scores. */
static int finish_scores(const acc_ctx *c, const hx_config *cfg, long count, hx_importance *r)
{
    double *tmp = hx_malloc(sizeof(double) * (size_t)cfg->hidden_size);
    if (!tmp) return HX_ENOMEM;
    for (int l = 0; l < c->L; l++) {
        hx_agg_finish(&c->head[l], r->scores.head + (size_t)l * c->H);
        hx_agg_finish(&c->neuron[l], r->scores.neuron + (size_t)l * cfg->intermediate_size);
        /* "Layer-wise scores are then summed up" (§2.1): aggregated per norm
         * module (input_layernorm and post_attention_layernorm of every layer,
         * as ModelOpt), then summed. */
        for (int k = 0; k < 2; k++) {
            hx_agg_finish(&c->channel[2 * l + k], tmp);
            for (int i = 0; i < cfg->hidden_size; i++) r->scores.channel[i] += tmp[i];
        }
        r->bi[l] = c->bi_sum[l] / (double)count;
    }
    free(tmp);
    return HX_OK;
}

/* Runs `passes` masked forward passes: pass i removes layers [i, i+len). */
static int removal_losses(const hx_model *m, hx_workspace *ws, const int32_t *samples, int n, int T, int len,
                          int passes, int32_t *ids, int32_t *tgt, double *out)
{
    int L = m->cfg.num_hidden_layers;
    unsigned char *active = hx_malloc((size_t)L);
    if (!active) return HX_ENOMEM;
    int rc = HX_OK;
    for (int i = 0; rc == HX_OK && i < passes; i++) {
        memset(active, 1, (size_t)L);
        memset(active + i, 0, (size_t)len);
        rc = mean_loss(m, ws, samples, n, T, active, ids, tgt, &out[i]);
    }
    free(active);
    return rc;
}

int hx_importance_run(const hx_model *m, const int32_t *samples, int n_samples, int seq_len,
                      const hx_importance_opts *o, hx_importance *r)
{
    memset(r, 0, sizeof *r);
    const hx_config *cfg = &m->cfg;
    int L = cfg->num_hidden_layers;
    if (n_samples < 1 || seq_len < 1 || o->micro_batch < 1)
        return HX_ERR(HX_EINVAL, "importance: need at least one calibration sample, seq_len >= 1 and micro_batch >= 1");
    if (o->block_len < 0 || o->block_len >= L)
        return HX_ERR(HX_EINVAL, "importance: block_len %d must be in [0, %d)", o->block_len, L);
    if (o->depth != HX_DEPTH_BI && !o->depth_loss)
        return HX_ERR(HX_EINVAL, "importance: depth metric '%s' needs the layer-removal passes (depth_loss)",
                      o->depth == HX_DEPTH_PPL ? "ppl" : "block");
    if (o->depth == HX_DEPTH_BLOCK && o->block_len == 0)
        return HX_ERR(HX_EINVAL, "importance: depth metric 'block' needs block_len > 0");
    hx_model_bf16 *pk = NULL;
    hx_model mb;
    if (o->bf16) { /* every pass below is forward-only: run it on a copy with packed bf16 weights */
        HX_TRY(hx_model_bf16_pack(m, &pk));
        mb = *m;
        mb.bf16 = pk;
        m = &mb;
    }
    double t0 = hx_now();
    int B = o->micro_batch < n_samples ? o->micro_batch : n_samples, rem = n_samples % B;
    acc_ctx c = {0};
    hx_workspace ws = {0}, ws1 = {0};
    int32_t *ids = hx_malloc(sizeof(int32_t) * (size_t)B * seq_len);
    int32_t *tgt = hx_malloc(sizeof(int32_t) * (size_t)B * seq_len);
    int rc = hx_scores_alloc(&r->scores, cfg);
    r->bi = hx_calloc((size_t)L, sizeof(double));
    if (rc == HX_OK && (!r->bi || !ids || !tgt)) rc = HX_ENOMEM;
    if (rc == HX_OK) rc = init_accs(&c, cfg, o, seq_len);
    if (rc == HX_OK) rc = hx_workspace_alloc(&ws, cfg, B, seq_len, HX_WS_INFER);
    double loss_sum = 0;
    long count = 0;
    if (rc == HX_OK) rc = hooked_passes(m, &ws, &c, samples, n_samples - rem, ids, tgt, &loss_sum, &count);
    if (rc == HX_OK && rem) { /* the remainder one sample at a time, into the same accumulators */
        rc = hx_workspace_alloc(&ws1, cfg, 1, seq_len, HX_WS_INFER);
        if (rc == HX_OK)
            rc = hooked_passes(m, &ws1, &c, samples + (size_t)(n_samples - rem) * (seq_len + 1), rem, ids, tgt,
                               &loss_sum, &count);
    }
    if (rc == HX_OK) rc = reduce_accs(&c, &loss_sum, &count);
    r->seconds_width = hx_now() - t0;
    r->base_loss = loss_sum / (double)count;
    r->tokens = count;
    if (rc == HX_OK) rc = finish_scores(&c, cfg, count, r);
    free_accs(&c);
    if (rc == HX_OK && o->depth_loss) {
        r->loss_drop = hx_calloc((size_t)L, sizeof(double));
        rc = r->loss_drop ? removal_losses(m, &ws, samples, n_samples, seq_len, 1, L, ids, tgt, r->loss_drop)
                          : HX_ENOMEM;
    }
    if (rc == HX_OK && o->block_len > 0) {
        r->n_blocks = L - o->block_len + 1;
        r->block_loss = hx_calloc((size_t)r->n_blocks, sizeof(double));
        rc = r->block_loss ? removal_losses(m, &ws, samples, n_samples, seq_len, o->block_len, r->n_blocks, ids, tgt,
                                            r->block_loss)
                           : HX_ENOMEM;
    }
    for (int l = 0; rc == HX_OK && l < L; l++) r->scores.layer[l] = o->depth == HX_DEPTH_BI ? r->bi[l] : r->loss_drop[l];
    if (rc == HX_OK) rc = hx_importance_check_finite(r);
    hx_workspace_free(&ws);
    hx_workspace_free(&ws1);
    free(ids);
    free(tgt);
    r->seconds = hx_now() - t0;
    hx_model_bf16_free(pk);
    if (rc != HX_OK) hx_importance_free(r);
    return rc;
}

int hx_importance_check_finite(const hx_importance *r)
{
    const hx_scores *s = &r->scores;
    size_t L = (size_t)s->num_layers;
    HX_TRY(hx_check_finite_d(s->layer, L, "importance: scores.layer"));
    HX_TRY(hx_check_finite_d(s->head, L * (size_t)s->num_heads, "importance: scores.head"));
    HX_TRY(hx_check_finite_d(s->neuron, L * (size_t)s->intermediate_size, "importance: scores.neuron"));
    HX_TRY(hx_check_finite_d(s->channel, (size_t)s->hidden_size, "importance: scores.channel"));
    if (r->bi) HX_TRY(hx_check_finite_d(r->bi, L, "importance: bi"));
    if (r->loss_drop) HX_TRY(hx_check_finite_d(r->loss_drop, L, "importance: loss_drop"));
    if (r->block_loss) HX_TRY(hx_check_finite_d(r->block_loss, (size_t)r->n_blocks, "importance: block_loss"));
    return hx_check_finite_d(&r->base_loss, 1, "importance: base_loss");
}

int hx_importance_best_block(const hx_importance *r)
{
    int best = -1;
    for (int i = 0; i < r->n_blocks; i++)
        if (best < 0 || r->block_loss[i] < r->block_loss[best]) best = i;
    return best;
}

void hx_importance_free(hx_importance *r)
{
    hx_scores_free(&r->scores);
    free(r->bi);
    free(r->loss_drop);
    free(r->block_loss);
    memset(r, 0, sizeof *r);
}
