/* The training loop (see trainer.h): one optimizer step = grad_accum
 * micro-batches whose summed gradients go through hx_grad_reduce once, on the
 * CPU engine or the CUDA tier (model/device.h), in one process or across
 * data-parallel ranks (core/dist.h, with ZeRO-1 on the CPU tier). */
#include "train/trainer.h"

#include "core/dist.h"
#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "model/engine.h"
#include "data/batch.h"
#include "log/h5log.h"
#include "train/kd.h"
#include "model/init.h"
#include "model/weights.h"
#include "train/ckpt.h"
#include "train/grad.h"
#include "train/kd_is.h"
#include "train/logit_cache.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hx_train_config hx_train_defaults(void)
{
    return (hx_train_config){.micro_batch = 1, .grad_accum = 1,
                             .schedule = {.kind = HX_SCHED_COSINE, .decay_fraction = 0.2},
                             .adamw = hx_adamw_defaults(), .grad_clip = 1.0, .eval_batches = 4, .keep_last = 2,
                             .arm = "train", .progress_interval_s = 30, .kd.temperature = 1.0};
}

typedef struct {
    const hx_train_config *cfg;
    hx_model m, g;
    hx_adamw opt;
    hx_workspace ws;
    hx_model teacher;      /* loaded when cfg->teacher is set */
    hx_model_bf16 *teacher_bf16; /* its packed bf16 weights (kd.teacher_bf16) */
    hx_workspace tws;      /* the teacher's forward-only workspace */
    float *dkd;            /* [head_rows, V_student] KD gradient scratch (only when kd.w_ce != 0) */
    int head_rows;         /* tokens per chunk of the LM head and its losses (CPU) */
    uint8_t *mask;         /* [N] 1 where the target counts */
    hx_kd_is is;           /* intermediate-state loss (when cfg->kd.n_intermediate > 0) */
    hx_dataset train, val;
    int has_val;
    hx_sampler smp;
    int32_t *x, *y;
    hx_h5log *log;
    char table[160], eval_table[160];
    hx_schedule sched;
    hx_nan_guard guard;
    hx_rng rng;
    int64_t step, tokens, micro_total;
    double lr;
    char *last_ckpt;
    hx_dmodel *dev, *tdev; /* device cuda: the student (training) and the teacher (forward only) */
    hx_logit_cache *cache; /* kd.top_k with cfg->logit_cache */
    int32_t *tk_ids;       /* [N, k] the teacher's top-k ids, logits and [N] logsumexp of one micro-batch */
    float *tk_vals, *tk_lse;
    int rank, ranks;       /* data parallelism (core/dist.h) */
    int zero;              /* ZeRO-1: zopt holds this rank's moments of parameters [zlo, zhi) */
    size_t zlo, zhi;
    hx_adamw zopt;
} trainer;

static json_t *run_identity(const hx_train_config *c)
{
    return json_pack("{s:I, s:i, s:i, s:i}", "seed", (json_int_t)c->seed, "seq_len", c->seq_len, "micro_batch",
                     c->micro_batch, "grad_accum", c->grad_accum);
}

static int write_ckpt(const char *dir, void *p)
{
    trainer *t = p;
    HX_TRY(hx_model_save(dir, &t->m, HX_DT_F32, 0));
    /* ZeRO-1: one file per rank's shard and a manifest; otherwise one file */
    HX_TRY(t->zero ? hx_ckpt_write_optim_shards(dir, &t->opt, t->ranks) : hx_ckpt_write_optim(dir, &t->opt, &t->m));
    if (t->cfg->kd.n_intermediate > 0) HX_TRY(hx_kd_is_save(&t->is, dir));
    hx_train_state st = {.step = t->step, .tokens = t->tokens, .skipped_steps = t->guard.skipped,
                         .optimizer_step = t->opt.t, .rng_state = t->rng.state, .lr = t->lr,
                         .sampler = json_pack("{s:I, s:I}", "epoch", (json_int_t)t->smp.epoch, "position",
                                              (json_int_t)t->smp.position),
                         .config = run_identity(t->cfg)};
    int rc = hx_ckpt_write_state(dir, &st);
    hx_train_state_clear(&st);
    return rc;
}

/* ZeRO-1: every rank's moments gathered into rank 0's full t->opt (gather =
 * 1, for a checkpoint; the other ranks keep only their shards), or released
 * again (gather = 0). */
static int zero_gather(trainer *t, int gather)
{
    free(t->opt.m), free(t->opt.v);
    t->opt.m = t->opt.v = NULL;
    if (!gather) return HX_OK;
    size_t n = t->m.n_floats;
    if (t->rank == 0) {
        t->opt.m = hx_malloc(n * sizeof(float));
        t->opt.v = hx_malloc(n * sizeof(float));
        if (!t->opt.m || !t->opt.v) return HX_ENOMEM; /* a failed rank ends the job (main) */
    }
    t->opt.t = t->zopt.t;
    HX_TRY(hx_dist_gather_f32(t->zopt.m, t->opt.m, n));
    return hx_dist_gather_f32(t->zopt.v, t->opt.v, n);
}

static int save(trainer *t)
{
    if (!t->cfg->ckpt_dir) return HX_OK;
    if (t->dev) HX_TRY(hx_dmodel_get(t->dev, &t->m, NULL, &t->opt)); /* the checkpoint is written from the host */
    if (t->zero) HX_TRY(zero_gather(t, 1));
    int rc = HX_OK;
    if (t->rank == 0) { /* rank 0 writes; the weights are the same on every rank */
        char *path = NULL;
        rc = hx_ckpt_save(t->cfg->ckpt_dir, t->step, t->cfg->keep_last, write_ckpt, t, &path);
        if (rc == HX_OK) {
            free(t->last_ckpt);
            t->last_ckpt = path;
        }
    }
    if (t->zero) zero_gather(t, 0);
    hx_dist_barrier();
    return rc;
}

/* Loads the latest complete checkpoint: weights, moments, counters, data position. */
static int resume(trainer *t)
{
    const hx_train_config *c = t->cfg;
    char *dir;
    int64_t step;
    int found = hx_ckpt_latest(c->ckpt_dir, &dir, &step);
    HX_TRY(found);
    if (!found) return HX_ERR(HX_EINVAL, "resume: no complete checkpoint under %s", c->ckpt_dir);
    int rc = hx_ckpt_check(dir, 1);
    hx_model loaded;
    if (rc == HX_OK) rc = hx_model_load(dir, &loaded);
    if (rc == HX_OK) {
        if (loaded.n_floats != t->m.n_floats)
            rc = HX_ERR(HX_EINVAL, "resume: %s holds %zu parameters, the run's model %zu", dir, loaded.n_floats,
                        t->m.n_floats);
        else memcpy(t->m.data, loaded.data, t->m.n_floats * sizeof(float));
        hx_model_free(&loaded);
    }
    if (rc == HX_OK) rc = hx_ckpt_read_optim(dir, &t->opt, &t->m);
    if (rc == HX_OK && c->kd.n_intermediate > 0) rc = hx_kd_is_load(&t->is, dir);
    hx_train_state st = {0};
    if (rc == HX_OK) rc = hx_ckpt_read_state(dir, &st);
    if (rc == HX_OK) {
        json_t *id = run_identity(c);
        if (!json_equal(id, st.config))
            rc = HX_ERR(HX_EINVAL, "resume: %s was written by a run with a different seed, seq_len, micro_batch "
                                   "or grad_accum; refusing to continue it",
                        dir);
        json_decref(id);
    }
    if (rc == HX_OK)
        rc = hx_sampler_restore(&t->smp, (uint64_t)json_integer_value(json_object_get(st.sampler, "epoch")),
                                (uint64_t)json_integer_value(json_object_get(st.sampler, "position")));
    if (rc == HX_OK) {
        t->step = st.step;
        t->tokens = st.tokens;
        t->guard.skipped = st.skipped_steps;
        t->opt.t = st.optimizer_step;
        t->is.opt.t = st.optimizer_step; /* the map is updated on exactly the model's steps */
        t->rng.state = st.rng_state;
        t->lr = st.lr;
        t->last_ckpt = dir;
        dir = NULL;
    }
    hx_train_state_clear(&st);
    free(dir);
    if (rc < 0) hx_adderr(rc, "resuming from %s", c->ckpt_dir);
    return rc;
}

/* The summed token loss of one validation batch x -> y, on either tier. */
typedef int (*batch_loss_fn)(void *ctx, const int32_t *x, const int32_t *y, double *sum);

/* Mean token loss over the first `batches` validation batches of B x T. */
static int val_loss(const hx_dataset *val, int B, int T, int batches, int32_t *x, int32_t *y, batch_loss_fn f,
                    void *ctx, double *loss)
{
    uint64_t avail = hx_val_batches(val, T, B);
    uint64_t nb = (uint64_t)batches < avail ? (uint64_t)batches : avail;
    if (nb == 0) return HX_ERR(HX_EINVAL, "validation data too short for one batch of %d x %d tokens", B, T);
    double sum = 0; /* data parallel: rank r takes batches i % N == r, the sums are added over ranks */
    for (uint64_t i = (uint64_t)hx_dist_rank(); i < nb; i += (uint64_t)hx_dist_size()) {
        double s;
        HX_TRY(hx_val_batch(val, T, B, i, x, y));
        HX_TRY(f(ctx, x, y, &s));
        sum += s;
    }
    HX_TRY(hx_dist_allreduce_f64(&sum, 1));
    *loss = sum / ((double)nb * B * T);
    return HX_OK;
}

typedef struct {
    const hx_model *m;
    hx_workspace *ws;
} cpu_ctx;

static int cpu_batch_loss(void *ctx, const int32_t *x, const int32_t *y, double *sum)
{
    cpu_ctx *c = ctx;
    HX_TRY(hx_forward(c->m, c->ws, x, NULL));
    *sum = 0;
    for (int r0 = 0, n; r0 < c->ws->B * c->ws->T; r0 += n) { /* one chunk unless the logits exceed their budget */
        double s;
        HX_TRY(n = hx_head_chunk(c->m, c->ws, r0));
        HX_TRY(hx_lm_loss(c->ws->logits, y + r0, n, c->m->cfg.vocab_size, HX_IGNORE_INDEX, 0, NULL, &s));
        *sum += s;
    }
    return HX_OK;
}

static int device_batch_loss(void *ctx, const int32_t *x, const int32_t *y, double *sum)
{
    hx_dmodel *d = ctx;
    HX_TRY(hx_dmodel_forward(d, x));
    return hx_dmodel_loss(d, NULL, y, 1, 0, 0, sum, NULL);
}

int hx_val_loss(const hx_model *m, hx_workspace *ws, const hx_dataset *val, int batches, int32_t *x, int32_t *y,
                double *loss)
{
    cpu_ctx c = {m, ws};
    return val_loss(val, ws->B, ws->T, batches, x, y, cpu_batch_loss, &c, loss);
}

/* Appends one row to `table` (hx_h5log_append refuses a non-finite value
 * with HX_ENAN, naming the column), with the step as context. */
static int append_row(trainer *t, const char *table, const char **cols, const double *v, int n)
{
    int rc = hx_h5log_append(t->log, table, cols, v, n);
    return rc < 0 ? hx_adderr(rc, "step %" PRId64, t->step) : rc;
}

static int evaluate(trainer *t, double *vloss)
{
    const hx_train_config *c = t->cfg;
    int rc = t->dev ? val_loss(&t->val, c->micro_batch, c->seq_len, c->eval_batches, t->x, t->y, device_batch_loss,
                               t->dev, vloss)
                    : hx_val_loss(&t->m, &t->ws, &t->val, c->eval_batches, t->x, t->y, vloss);
    if (rc == HX_OK) rc = hx_check_finite_d(vloss, 1, "step %" PRId64 ": validation loss", t->step);
    if (rc < 0) return hx_adderr(rc, "%s", c->val_data);
    if (!c->log_path) return HX_OK; /* every rank evaluates the hook's tasks (their requests split), rank 0 logs */
    enum { BASE = 4, MAX = 64 };
    const char *cols[MAX] = {"step", "tokens", "val_loss", "perplexity"};
    int64_t tokens = t->tokens + c->log_token_offset;
    double v[MAX] = {(double)t->step, (double)tokens, *vloss, exp(*vloss)};
    int extra = 0;
    if (c->eval_hook) {
        if (t->dev) HX_TRY(hx_dmodel_get(t->dev, &t->m, NULL, NULL)); /* the hook reads the host weights */
        extra = c->eval_hook(c->eval_hook_ctx, &t->m, tokens, cols + BASE, v + BASE, MAX - BASE);
        HX_TRY(extra);
    }
    return t->log ? append_row(t, t->eval_table, cols, v, BASE + extra) : HX_OK;
}

/* The teacher's top-k logits of the micro-batch in t->x (kd.top_k): each
 * row from the cache when it holds the row's window, else from one teacher
 * forward of the micro-batch, written back for every later arm and seed. */
static int teacher_topk(trainer *t)
{
    const hx_train_config *c = t->cfg;
    int B = c->micro_batch, T = c->seq_len, k = c->kd.top_k, missing = !t->cache;
    size_t Tk = (size_t)T * k;
    for (int b = 0; b < B && t->cache; b++) {
        int got = hx_logit_cache_get(t->cache, t->smp.last[b], t->tk_ids + b * Tk, t->tk_vals + b * Tk, t->tk_lse + (size_t)b * T);
        HX_TRY(got);
        missing |= !got;
    }
    if (!missing) return HX_OK;
    HX_TRY(hx_forward(&t->teacher, &t->tws, t->x, NULL));
    int Vs = t->m.cfg.vocab_size, Vt = t->teacher.cfg.vocab_size;
    for (int r0 = 0, n; r0 < B * T; r0 += n) {
        HX_TRY(n = hx_head_chunk(&t->teacher, &t->tws, r0));
        if (hx_kd_topk_extract(t->tws.logits, Vt, Vs < Vt ? Vs : Vt, n, k, c->kd.temperature, t->tk_ids + (size_t)r0 * k,
                               t->tk_vals + (size_t)r0 * k, t->tk_lse + r0) < 0)
            return HX_ERR(HX_EINVAL, "kd.top_k %d exceeds the shared vocabulary (%d ids)", k, Vs < Vt ? Vs : Vt);
    }
    for (int b = 0; b < B && t->cache; b++)
        HX_TRY(hx_logit_cache_put(t->cache, t->smp.last[b], t->tk_ids + b * Tk, t->tk_vals + b * Tk, t->tk_lse + (size_t)b * T));
    return HX_OK;
}

/* The KD loss sum of rows [r0, r0+n) (full or top-k KL; the student's and,
 * for the full KL, the teacher's logits of those rows in ws/tws.logits) with
 * its gradient into `grad`. */
static double kd_loss(trainer *t, int r0, int n, float *grad)
{
    const hx_train_config *c = t->cfg;
    int V = t->m.cfg.vocab_size, k = c->kd.top_k;
    if (k > 0)
        return hx_kd_topk_loss(t->ws.logits, V, t->tk_ids + (size_t)r0 * k, t->tk_vals + (size_t)r0 * k,
                               t->tk_lse + r0, k, n, t->mask + r0, c->kd.temperature, 1.0, grad, 1.0f);
    return hx_kd_logits_loss(t->ws.logits, V, t->tws.logits, t->teacher.cfg.vocab_size, n, t->mask + r0,
                             c->kd.temperature, c->kd.reverse_kl, 1.0, grad, 1.0f);
}

/* Loss sums of rows [r0, r0+n) whose student logits are in t->ws.logits,
 * leaving d(loss sum)/d(logits) there: CE alone, or with a teacher
 * kd.w_ce * CE + KL. */
static int chunk_loss(trainer *t, int r0, int n, double *ce, double *kd)
{
    const hx_train_config *c = t->cfg;
    int V = t->m.cfg.vocab_size;
    float *z = t->ws.logits;
    const int32_t *y = t->y + r0;
    *kd = 0;
    if (!c->teacher) return hx_lm_loss(z, y, n, V, HX_IGNORE_INDEX, 1.0, z, ce);
    if (c->kd.top_k == 0) HX_TRY(hx_head_chunk(&t->teacher, &t->tws, r0)); /* the same rows as the student's */
    if (c->kd.w_ce == 0) { /* the paper's setting: CE only logged, the KD gradient written in place */
        HX_TRY(hx_lm_loss(z, y, n, V, HX_IGNORE_INDEX, 1.0, NULL, ce));
        *kd = kd_loss(t, r0, n, z);
    } else { /* CE gradient (scaled by kd.w_ce) plus the KD gradient, into the logits buffer */
        *kd = kd_loss(t, r0, n, t->dkd);
        HX_TRY(hx_lm_loss(z, y, n, V, HX_IGNORE_INDEX, 1.0, z, ce));
        float w = (float)c->kd.w_ce;
        for (size_t i = 0; i < (size_t)n * V; i++) z[i] = w * z[i] + t->dkd[i];
    }
    return HX_OK;
}

/* Loss sums of one micro-batch after the student's forward pass, with the
 * LM head's backward done (into t->ws.d_norm and t->g): CE alone, or with a
 * teacher kd.w_ce * CE + KL, over chunks of ws.head_rows tokens (one chunk
 * unless the logits exceed their budget), plus alpha * L_is with state pairs
 * (its state gradients in t->is.inject). All sums, normalised later by
 * hx_grad_reduce (C08). is[0] = L_is sum, is[1] = alpha * L_is sum. */
static int micro_loss(trainer *t, int N, double *ce, double *kd, double is[2])
{
    const hx_train_config *c = t->cfg;
    *ce = *kd = is[0] = is[1] = 0;
    if (c->teacher) {
        if (c->kd.top_k > 0) HX_TRY(teacher_topk(t));
        else HX_TRY(hx_forward(&t->teacher, &t->tws, t->x, NULL));
        if (c->kd.n_intermediate > 0) hx_kd_is_capture_final(&t->is, &t->tws);
        for (int i = 0; i < N; i++) t->mask[i] = t->y[i] != HX_IGNORE_INDEX;
    }
    for (int r0 = 0, n; r0 < N; r0 += n) {
        double ce_c, kd_c;
        HX_TRY(n = hx_head_chunk(&t->m, &t->ws, r0));
        HX_TRY(chunk_loss(t, r0, n, &ce_c, &kd_c));
        HX_TRY(hx_head_backward(&t->m, &t->ws, r0, n, t->ws.logits, &t->g));
        *ce += ce_c;
        *kd += kd_c;
    }
    if (c->kd.n_intermediate > 0) {
        double alpha;
        HX_TRY(hx_kd_is_micro(&t->is, &t->ws, t->mask, (c->kd.alpha == HX_ALPHA_CONST), c->kd.alpha_value, *kd, &is[0], &alpha));
        is[1] = alpha * is[0];
    }
    return HX_OK;
}

/* One micro-batch on the CUDA tier: the same losses as micro_loss (KL at
 * kd.temperature plus kd.w_ce * CE with a teacher), chunked over the
 * vocabulary on the device, then the backward. */
static int device_micro(trainer *t, double *ce, double *kd)
{
    const hx_train_config *c = t->cfg;
    HX_TRY(hx_dmodel_forward(t->dev, t->x));
    if (t->tdev) HX_TRY(hx_dmodel_forward(t->tdev, t->x));
    HX_TRY(hx_dmodel_loss(t->dev, t->tdev, t->y, c->kd.temperature, c->kd.w_ce, 1, ce, kd));
    return hx_dmodel_backward(t->dev);
}

/* The collectives of hx_comm over core/dist.h (ctx unused). */
static int all_f32(void *ctx, float *buf, size_t n) { return (void)ctx, hx_dist_allreduce_f32(buf, n); }
static int all_f64(void *ctx, double *buf, size_t n) { return (void)ctx, hx_dist_allreduce_f64(buf, n); }

/* ZeRO-1's reduction: this rank's shard of the gradient summed over ranks
 * (reduce-scatter), the step's sums added over ranks, and the shard divided
 * once by the global unmasked-token count (hx_grad_reduce's contract). */
static int zero_reduce(trainer *t, double *sums)
{
    HX_TRY(hx_dist_reduce_scatter_f32(t->g.data, t->g.n_floats));
    HX_TRY(hx_dist_allreduce_f64(sums, 5));
    float inv = sums[0] > 0 ? (float)(1.0 / sums[0]) : 0.0f;
    for (size_t i = t->zlo; i < t->zhi; i++) t->g.data[i] *= inv;
    return HX_OK;
}

/* ZeRO-1's clipping: the global norm from every rank's shard (sum of squares
 * in double, added over ranks), the shard scaled as hx_grad_clip_with does. */
static int zero_clip(trainer *t, double max_norm, double *norm)
{
    double ss = 0;
    for (size_t i = t->zlo; i < t->zhi; i++) ss += (double)t->g.data[i] * t->g.data[i];
    HX_TRY(hx_dist_allreduce_f64(&ss, 1));
    *norm = sqrt(ss);
    if (max_norm > 0 && isfinite(*norm) && *norm > max_norm) {
        const float coef = (float)(max_norm / (*norm + 1e-6));
        for (size_t i = t->zlo; i < t->zhi; i++) t->g.data[i] *= coef;
    }
    return HX_OK;
}

/* ZeRO-1 set-up after the (fresh or resumed) full optimizer state exists:
 * this rank keeps the moments of its shard of the parameters and drops the rest. */
static int zero_setup(trainer *t)
{
    hx_dist_shard(t->m.n_floats, t->rank, t->ranks, &t->zlo, &t->zhi);
    size_t len = t->zhi - t->zlo;
    HX_TRY(hx_adamw_init_flat(&t->zopt, &t->cfg->adamw, len, 1));
    memcpy(t->zopt.decay, t->opt.decay + t->zlo, len);
    memcpy(t->zopt.m, t->opt.m + t->zlo, len * sizeof(float));
    memcpy(t->zopt.v, t->opt.v + t->zlo, len * sizeof(float));
    t->zopt.t = t->opt.t;
    t->zero = 1;
    return zero_gather(t, 0);
}

/* One optimizer step over up to grad_accum micro-batches. */
static int train_step(trainer *t, hx_train_result *res, hx_progress *prog)
{
    const hx_train_config *c = t->cfg;
    const int N = c->micro_batch * c->seq_len;
    int64_t micro_done = t->tokens / N, left = t->micro_total - micro_done;
    int n_micro = left < c->grad_accum ? (int)left : c->grad_accum;
    /* unmasked tokens, CE sum, KD sum, L_is sum, alpha-weighted L_is sum */
    double t0 = hx_now(), sums[5] = {0, 0, 0, 0, 0};
    int use_is = c->kd.n_intermediate > 0;
    size_t wn = use_is ? (size_t)t->is.dt * t->is.ds : 0;
    if (t->dev) HX_TRY(hx_dmodel_zero_grad(t->dev));
    else hx_grad_zero(&t->g);
    if (use_is) memset(t->is.dW, 0, sizeof(float) * wn);
    for (int a = 0; a < n_micro; a++) {
        if (a % t->ranks != t->rank) { /* another rank's micro-batch of this global batch */
            hx_sampler_skip(&t->smp);
            continue;
        }
        HX_TRY(hx_sampler_next(&t->smp, t->x, t->y));
        double ce, kd, is[2] = {0, 0};
        if (t->dev) HX_TRY(device_micro(t, &ce, &kd));
        else {
            HX_TRY(hx_forward(&t->m, &t->ws, t->x, NULL));
            HX_TRY(micro_loss(t, N, &ce, &kd, is));
            HX_TRY(hx_backward_ex(&t->m, &t->ws, NULL, use_is ? &t->is.inject : NULL, &t->g));
        }
        for (int i = 0; i < N; i++) sums[0] += t->y[i] != HX_IGNORE_INDEX;
        sums[1] += ce;
        sums[2] += kd;
        sums[3] += is[0];
        sums[4] += is[1];
    }
    hx_comm comm = {NULL, all_f32, all_f64};
    if (t->dev && t->ranks > 1) { /* NCCL sums the device gradients, MPI the step's sums */
        HX_TRY(hx_dmodel_grad_allreduce(t->dev));
        HX_TRY(hx_dist_allreduce_f64(sums, 5));
    }
    if (t->zero) HX_TRY(zero_reduce(t, sums));
    else if (!t->dev) HX_TRY(hx_grad_reduce(t->ranks > 1 ? &comm : NULL, &t->g, sums, 5)); /* the device normalises in its step */
    if (use_is) { /* the map's gradient, normalised by the same global count */
        float inv = sums[0] > 0 ? (float)(1.0 / sums[0]) : 0.0f;
        for (size_t k = 0; k < wn; k++) t->is.dW[k] *= inv;
    }
    double cnt = sums[0] > 0 ? sums[0] : 1;
    double loss_ce = sums[1] / cnt, loss_kd = sums[2] / cnt, loss_is = sums[3] / cnt;
    double alpha = sums[3] != 0 ? sums[4] / sums[3] : ((c->kd.alpha == HX_ALPHA_CONST) ? c->kd.alpha_value : 0);
    double loss = c->teacher ? c->kd.w_ce * loss_ce + loss_kd + sums[4] / cnt : loss_ce;
    double norm;
    if (t->dev) HX_TRY(hx_dmodel_grad_norm(t->dev, sums[0], &norm));
    else if (t->zero) HX_TRY(zero_clip(t, c->grad_clip, &norm));
    else norm = hx_grad_clip_with(&t->g, use_is ? t->is.dW : NULL, wn, c->grad_clip);
    t->step++;
    t->tokens += (int64_t)n_micro * N;
    int skip = hx_nan_check(&t->guard, t->step, loss, norm, t->last_ckpt);
    HX_TRY(skip);
    t->lr = hx_schedule_lr(&t->sched, t->step);
    if (!skip && t->dev) HX_TRY(hx_dmodel_step(t->dev, t->lr, sums[0], norm, c->grad_clip));
    else if (!skip && t->zero) { /* this rank's shard, then every rank's shard to every rank */
        hx_adamw_step_flat(&t->zopt, t->m.data + t->zlo, t->g.data + t->zlo, t->lr);
        HX_TRY(hx_dist_allgather_f32(t->m.data, t->m.n_floats));
    } else if (!skip) HX_TRY(hx_adamw_step(&t->opt, &t->m, &t->g, t->lr));
    if (!skip && use_is) hx_adamw_step_flat(&t->is.opt, t->is.W, t->is.dW, t->lr);
    double tps = (double)n_micro * N / (hx_now() - t0);
    res->last_loss = loss;
    res->tokens_per_s = tps;
    /* A skipped update (non-finite loss or gradient norm, SKIP policy) writes
     * no row: NaN never enters the table; the next row's skipped_steps counts it. */
    if (t->log && !skip) {
        const char *cols[] = {"step", "tokens",       "loss",          "loss_ce", "loss_kd", "lr",
                              "grad_norm", "tokens_per_s", "skipped_steps", "loss_is", "alpha"};
        double v[] = {(double)t->step, (double)(t->tokens + c->log_token_offset), loss, loss_ce, loss_kd, t->lr,
                      norm, tps, (double)t->guard.skipped, loss_is, alpha};
        HX_TRY(append_row(t, t->table, cols, v, use_is ? 11 : 9));
    }
    if (!c->quiet && t->rank == 0) hx_train_progress(prog, 0, t->step, t->tokens, c->token_budget, loss, t->lr, tps);
    return HX_OK;
}

static int check_config(const hx_train_config *c)
{
    if (!c->train_data) return HX_ERR(HX_EINVAL, "train: train_data is required");
    if (c->seq_len < 1 || c->micro_batch < 1 || c->grad_accum < 1)
        return HX_ERR(HX_EINVAL, "train: seq_len (%d), micro_batch (%d) and grad_accum (%d) must be positive",
                      c->seq_len, c->micro_batch, c->grad_accum);
    int64_t per_micro = (int64_t)c->seq_len * c->micro_batch;
    if (c->token_budget <= 0 || c->token_budget % per_micro != 0)
        return HX_ERR(HX_EINVAL,
                      "train: token_budget (%" PRId64 ") must be a positive multiple of micro_batch*seq_len (%" PRId64
                      "), e.g. %" PRId64,
                      c->token_budget, per_micro, (c->token_budget / per_micro + 1) * per_micro);
    if (c->resume && !c->ckpt_dir) return HX_ERR(HX_EINVAL, "train: resume needs ckpt_dir");
    if (c->kd.n_intermediate > 0 && (!c->teacher || !c->kd.intermediate))
        return HX_ERR(HX_EINVAL, "train: kd intermediate-state pairs need a teacher");
    if (c->kd.top_k > 0 && (c->kd.reverse_kl || c->kd.n_intermediate > 0 || c->device == HX_DEVICE_CUDA))
        return HX_ERR(HX_EINVAL, "train: kd top_k (the teacher-logit cache) takes forward KL on logits alone, on the "
                                 "CPU tier: no reverse KL, intermediate states or device cuda");
    if (c->log_token_offset < 0) return HX_ERR(HX_EINVAL, "train: log_token_offset must be >= 0");
    return HX_OK;
}

static void trainer_free(trainer *t)
{
    hx_adamw_free(&t->zopt);
    hx_dmodel_free(t->dev);
    hx_dmodel_free(t->tdev);
    hx_logit_cache_close(t->cache);
    free(t->tk_ids);
    free(t->tk_vals);
    free(t->tk_lse);
    hx_h5log_close(t->log);
    free(t->x);
    free(t->y);
    free(t->last_ckpt);
    hx_sampler_free(&t->smp);
    if (t->has_val) hx_dataset_close(&t->val);
    hx_dataset_close(&t->train);
    hx_workspace_free(&t->ws);
    hx_workspace_free(&t->tws);
    hx_model_bf16_free(t->teacher_bf16);
    hx_model_free(&t->teacher);
    free(t->dkd);
    free(t->mask);
    hx_kd_is_free(&t->is);
    hx_adamw_free(&t->opt);
    hx_model_free(&t->g);
    hx_model_free(&t->m);
}

/* Records the distillation settings on the arm group (schema: results/README.md). */
static int log_kd_settings(trainer *t)
{
    const hx_train_config *c = t->cfg;
    char grp[160];
    snprintf(grp, sizeof grp, "arms/%s", c->arm);
    int vs = t->m.cfg.vocab_size, vt = t->teacher.cfg.vocab_size;
    HX_TRY(hx_h5log_attr_str(t->log, grp, "kd_teacher", c->teacher));
    HX_TRY(hx_h5log_attr_str(t->log, grp, "kd_loss", c->kd.reverse_kl ? "reverse_kl" : "forward_kl"));
    HX_TRY(hx_h5log_attr_double(t->log, grp, "kd_temperature", c->kd.temperature));
    HX_TRY(hx_h5log_attr_double(t->log, grp, "kd_w_ce", c->kd.w_ce));
    HX_TRY(hx_h5log_attr_int(t->log, grp, "kd_vocab_shared", vs < vt ? vs : vt));
    HX_TRY(hx_h5log_attr_int(t->log, grp, "kd_teacher_bf16", c->kd.teacher_bf16));
    HX_TRY(hx_h5log_attr_int(t->log, grp, "kd_top_k", c->kd.top_k));
    if (c->logit_cache && c->kd.top_k > 0) HX_TRY(hx_h5log_attr_str(t->log, grp, "kd_logit_cache", c->logit_cache));
    if (c->kd.n_intermediate == 0) return HX_OK;
    /* "state:teacher_layer->student_layer" per pair, comma-separated */
    char pairs[1024] = "";
    size_t len = 0;
    for (int i = 0; i < c->kd.n_intermediate && len < sizeof pairs; i++)
        len += (size_t)snprintf(pairs + len, sizeof pairs - len, "%s%s:%d->%d", i ? "," : "",
                                hx_kd_state_name(c->kd.intermediate[i].state), c->kd.intermediate[i].teacher_layer,
                                c->kd.intermediate[i].student_layer);
    HX_TRY(hx_h5log_attr_str(t->log, grp, "kd_intermediate", pairs));
    HX_TRY(hx_h5log_attr_str(t->log, grp, "kd_alpha_mode", (c->kd.alpha == HX_ALPHA_CONST) ? "const" : "dynamic"));
    if ((c->kd.alpha == HX_ALPHA_CONST)) HX_TRY(hx_h5log_attr_double(t->log, grp, "kd_alpha", c->kd.alpha_value));
    HX_TRY(hx_h5log_attr_str(t->log, grp, "kd_map_init", t->is.ds == t->is.dt ? "identity" : "normal(0,1/sqrt(ds))"));
    return HX_OK;
}

/* Tokens per chunk of the LM head for logits over V ids (hx_train_config.head_rows). */
static int head_rows(const hx_train_config *c, int V)
{
    return c->head_rows > 0 ? c->head_rows : hx_head_rows_auto(c->micro_batch * c->seq_len, V);
}

static int setup_teacher(trainer *t, const hx_train_config *c)
{
    int rc = hx_model_load(c->teacher, &t->teacher);
    if (rc < 0) return hx_adderr(rc, "loading the KD teacher");
    if (c->kd.teacher_bf16 && c->device != HX_DEVICE_CUDA) {
        HX_TRY(hx_model_bf16_pack(&t->teacher, &t->teacher_bf16));
        t->teacher.bf16 = t->teacher_bf16;
    }
    int vs = t->m.cfg.vocab_size, vt = t->teacher.cfg.vocab_size;
    if (vs != vt && !c->quiet)
        fprintf(stderr,
                "note: teacher vocab_size %d != student %d; KL runs over the shared first %d ids (field case C07), "
                "assuming the same tokenizer with padding rows\n",
                vt, vs, vs < vt ? vs : vt);
    if (c->device == HX_DEVICE_CUDA) return HX_OK; /* the teacher runs on the GPU (device_setup) */
    size_t N = (size_t)c->micro_batch * c->seq_len;
    t->head_rows = head_rows(c, vs > vt ? vs : vt);
    HX_TRY(hx_workspace_alloc_rows(&t->tws, &t->teacher.cfg, c->micro_batch, c->seq_len, HX_WS_INFER, t->head_rows));
    t->dkd = c->kd.w_ce != 0 ? hx_malloc((size_t)t->tws.head_rows * vs * sizeof(float)) : NULL; /* to mix in CE */
    t->mask = hx_malloc(N);
    if ((c->kd.w_ce != 0 && !t->dkd) || !t->mask) return HX_ENOMEM;
    if (c->kd.top_k > 0) {
        t->tk_ids = hx_malloc(N * (size_t)c->kd.top_k * sizeof(int32_t));
        t->tk_vals = hx_malloc(N * (size_t)c->kd.top_k * sizeof(float));
        t->tk_lse = hx_malloc(N * sizeof(float));
        if (!t->tk_ids || !t->tk_vals || !t->tk_lse) return HX_ENOMEM;
    }
    if (c->kd.n_intermediate == 0) return HX_OK;
    HX_TRY(hx_kd_is_init(&t->is, c->kd.intermediate, c->kd.n_intermediate, &t->m.cfg, &t->teacher.cfg, (int)N, &c->adamw, c->seed));
    t->tws.hook = hx_kd_is_capture;
    t->tws.hook_ctx = &t->is;
    return HX_OK;
}

/* Moves the run to the GPU after the host state is complete (fresh or
 * resumed): the student with its AdamW moments, and the teacher. */
static int device_setup(trainer *t, const hx_train_config *c)
{
    if (c->kd.n_intermediate > 0)
        return HX_ERR(HX_EINVAL, "device cuda: intermediate-state distillation (kd.intermediate) runs on the CPU tier only");
    if (c->teacher && c->kd.reverse_kl)
        return HX_ERR(HX_EINVAL, "device cuda: reverse KL runs on the CPU tier only (kd.loss: forward_kl on cuda)");
    hx_dmodel_opts o = {.B = c->micro_batch, .T = c->seq_len, .train = 1, .recompute = c->recompute, .adamw = c->adamw};
    HX_TRY(hx_dmodel_create(&t->dev, &t->m.cfg, &t->m, &o));
    HX_TRY(hx_dmodel_set(t->dev, &t->m, &t->opt));
    if (!c->teacher) return HX_OK;
    hx_dmodel_opts ot = {.B = c->micro_batch, .T = c->seq_len};
    return hx_dmodel_create(&t->tdev, &t->teacher.cfg, &t->teacher, &ot);
}

static int setup(trainer *t, const hx_train_config *c)
{
    t->cfg = c;
    t->rank = hx_dist_rank();
    t->ranks = hx_dist_size();
    if (t->ranks > 1 && (c->grad_accum % t->ranks != 0 || c->kd.n_intermediate > 0))
        return HX_ERR(HX_EINVAL,
                      "train: with %d ranks, grad_accum (%d) must be a multiple of the rank count (each rank takes an "
                      "equal share of every global batch), without kd.intermediate",
                      t->ranks, c->grad_accum);
    if (t->ranks > 1 && c->device == HX_DEVICE_CUDA) HX_TRY(hx_dmodel_dist_init()); /* NCCL, one GPU per rank */
    t->guard.policy = c->nan_policy;
    hx_rng_seed(&t->rng, c->seed);
    if (c->init_from) HX_TRY(hx_model_load(c->init_from, &t->m));
    else {
        HX_TRY(hx_model_alloc(&t->m, &c->model));
        HX_TRY(hx_model_init_random(&t->m, c->seed));
    }
    HX_TRY(hx_model_alloc(&t->g, &t->m.cfg));
    HX_TRY(hx_adamw_init(&t->opt, &c->adamw, &t->m));
    if (c->teacher) HX_TRY(setup_teacher(t, c)); /* sets head_rows for the larger vocabulary */
    if (c->device != HX_DEVICE_CUDA) {
        if (!t->head_rows) t->head_rows = head_rows(c, t->m.cfg.vocab_size);
        HX_TRY(hx_workspace_alloc_rows(&t->ws, &t->m.cfg, c->micro_batch, c->seq_len, HX_WS_TRAIN, t->head_rows));
    }
    HX_TRY(hx_dataset_open(c->train_data, NULL, &t->train));
    if (c->val_data) {
        HX_TRY(hx_dataset_open(c->val_data, NULL, &t->val));
        t->has_val = 1;
    }
    HX_TRY(hx_sampler_init(&t->smp, &t->train, c->seq_len, c->micro_batch, c->seed));
    if (c->teacher && c->kd.top_k > 0 && c->logit_cache)
        HX_TRY(hx_logit_cache_open(c->logit_cache, c->seq_len, c->kd.top_k, c->kd.temperature, t->smp.n_windows, &t->cache));
    size_t N = (size_t)c->micro_batch * c->seq_len;
    t->x = hx_malloc(N * sizeof(int32_t));
    t->y = hx_malloc(N * sizeof(int32_t));
    if (!t->x || !t->y) return HX_ENOMEM;
    t->micro_total = c->token_budget / (int64_t)N;
    t->sched = c->schedule;
    if (t->sched.total <= 0) t->sched.total = (t->micro_total + c->grad_accum - 1) / c->grad_accum;
    HX_TRY(hx_schedule_validate(&t->sched));
    if (c->resume) HX_TRY(resume(t));
    if (c->device == HX_DEVICE_CUDA) HX_TRY(device_setup(t, c));
    if (t->ranks > 1 && !c->no_zero1 && c->device != HX_DEVICE_CUDA) HX_TRY(zero_setup(t)); /* CPU tier */
    if (c->log_path && t->rank == 0) { /* rank 0 writes the log */
        snprintf(t->table, sizeof t->table, "arms/%s/train", c->arm);
        snprintf(t->eval_table, sizeof t->eval_table, "arms/%s/eval", c->arm);
        HX_TRY(hx_h5log_open(c->log_path, HX_H5LOG_APPEND, &t->log));
        if (c->run_provenance) HX_TRY(hx_h5log_set_provenance(t->log, c->run_provenance));
        /* rows logged after the checkpoint we continue from are re-logged; a fresh start clears the arm */
        HX_TRY(hx_h5log_truncate_tokens(t->log, t->table, t->tokens + c->log_token_offset));
        HX_TRY(hx_h5log_truncate_tokens(t->log, t->eval_table, t->tokens + c->log_token_offset));
        if (c->teacher) HX_TRY(log_kd_settings(t));
        char grp[160];
        snprintf(grp, sizeof grp, "arms/%s", c->arm);
        HX_TRY(hx_h5log_attr_str(t->log, grp, "device", c->device == HX_DEVICE_CUDA ? "cuda" : "cpu"));
        HX_TRY(hx_h5log_attr_int(t->log, grp, "ranks", t->ranks));
        HX_TRY(hx_h5log_attr_int(t->log, grp, "zero1", t->zero));
    }
    return HX_OK;
}

int hx_train(const hx_train_config *c, hx_train_result *res)
{
    memset(res, 0, sizeof *res);
    HX_TRY(check_config(c));
    trainer t;
    memset(&t, 0, sizeof t);
    int rc = setup(&t, c);
    hx_progress prog;
    hx_progress_init(&prog, stderr, c->progress_interval_s > 0 ? c->progress_interval_s : 30);
    double t0 = hx_now();
    int64_t start_tokens = t.tokens;
    /* A fresh run logs the starting point (a pruned student's loss before retraining). */
    if (rc == HX_OK && t.has_val && t.tokens == 0) rc = evaluate(&t, &res->last_val_loss);
    while (rc == HX_OK && t.tokens < c->token_budget) {
        int64_t before = t.tokens;
        rc = train_step(&t, res, &prog);
        int last = t.tokens >= c->token_budget, stop = c->stop_after_steps > 0 && t.step >= c->stop_after_steps;
        if (rc == HX_OK && t.has_val &&
            (last || (c->eval_every_tokens > 0 && t.tokens / c->eval_every_tokens > before / c->eval_every_tokens)))
            rc = evaluate(&t, &res->last_val_loss);
        if (rc == HX_OK && (last || stop || (c->ckpt_every_steps > 0 && t.step % c->ckpt_every_steps == 0)))
            rc = save(&t);
        if (stop) break;
    }
    if (!c->quiet && t.rank == 0 && rc == HX_OK)
        hx_train_progress(&prog, 1, t.step, t.tokens, c->token_budget, res->last_loss, t.lr, res->tokens_per_s);
    if (!c->quiet && t.rank == 0) hx_progress_done(&prog);
    if (t.cache && !c->quiet && t.rank == 0) {
        uint64_t hits, misses;
        hx_logit_cache_stats(t.cache, &hits, &misses);
        fprintf(stderr, "teacher-logit cache: %llu windows read, %llu computed (%s)\n", (unsigned long long)hits,
                (unsigned long long)misses, c->logit_cache);
    }
    if (rc == HX_OK && t.log && c->run_provenance && t.tokens >= c->token_budget) rc = hx_h5log_finish(t.log);
    res->steps = t.step;
    res->tokens = t.tokens;
    res->skipped_steps = t.guard.skipped;
    if (hx_now() > t0 && t.tokens > start_tokens) res->tokens_per_s = (double)(t.tokens - start_tokens) / (hx_now() - t0);
    trainer_free(&t);
    return rc;
}
