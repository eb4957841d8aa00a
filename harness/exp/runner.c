/* The experiment runner: data -> teacher -> importance -> prune -> arms ->
 * summary, with content-hashed caching and resumable arms. */
#include "exp/runner.h"

#include "core/dist.h"
#include "core/err.h"
#include "core/home.h"
#include "core/util.h"
#include "data/batch.h"
#include "data/tokenize.h"
#include "data/tokenizer.h"
#include "eval/evaluate.h"
#include "exp/baselines.h"
#include "log/h5log.h"
#include "exp/plot.h"
#include "exp/report.h"
#include "exp/summary.h"
#include "minitron/ops.h"
#include "minitron/targets.h"
#include "model/weights.h"
#include "train/ckpt.h"
#include "train/trainer.h"

#include <glob.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const hx_plan *plan;
    const hx_manifest *m;
    const hx_run_opts *o;
    char dir[512], h5[600], cache[512];
    char *baselines;           /* the project's baselines/ (core/home.h) */
    char tokenizer[512];       /* tokenizer.json used for every stage */
    char tok_sha[65];
    char *train, *val, *calib; /* token shard specs */
    char data_key[3][65];      /* content keys of the train, validation and calibration shards */
    char teacher_dir[700];     /* HF directory of the teacher (importance, pruning, teacher arm) */
    char kd_teacher_dir[800];  /* what KD arms distil from: teacher_dir, or the corrected teacher */
    char logit_cache[800];     /* the teacher-logit cache of the current KD arm (teacher_logits.top_k) */
    char ckpt_base[512];       /* where checkpoints/ lives: rank 0's outputs.dir (hx_run_opts.shared_dir) */
    int lead;                  /* rank 0: writes everything shared */
    hx_model teacher;
    hx_tokenizer *tok;
    hx_eval_task *tasks;       /* the manifest's eval tasks (evaluate.h) */
    hx_eval_config eval_cfg;
    hx_eval_hook hook;         /* task metrics at every eval point */
    int has_hook;
    int n_imp;                 /* importance passes done */
    struct {
        hx_importance_spec spec;
        uint64_t seed;           /* the calibration draw's */
        hx_importance result;
    } imp[64];
} runner;


static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

/* ---- artifacts reused under --resume: made from the same inputs ---- */

static int refuse_stale(const char *what, const char *had, const char *key)
{
    return HX_ERR(HX_EINVAL,
                  "%s was made from other inputs (content hash %.16s, now %.16s: the manifest's settings, seed, data, "
                  "tokenizer or teacher changed): rerun with --fresh to start over, or give this manifest its own "
                  "outputs.dir",
                  what, had, key);
}

/* The HDF5 group `group` records the content hash of the inputs that made
 * it (attribute content_hash): an existing one must equal `key`. */
static int claim_group(runner *r, const char *group, const char *key)
{
    hx_h5log *log;
    HX_TRY(hx_h5log_open(r->h5, HX_H5LOG_APPEND, &log));
    char *had = NULL;
    int rc = HX_OK;
    if (hx_h5log_get_attr_str(log, group, "content_hash", &had) < 0) hx_clearerr(); /* a new group */
    if (had && strcmp(had, key)) {
        char what[800];
        snprintf(what, sizeof what, "%s: %s", r->h5, group);
        rc = refuse_stale(what, had, key);
    }
    if (rc == HX_OK && !had) rc = hx_h5log_attr_str(log, group, "content_hash", key);
    free(had);
    int rc2 = hx_h5log_close(log);
    return rc < 0 ? rc : rc2;
}

/* A checkpoint folder records the content hash of its inputs in INPUTS:
 * an existing one must equal `key`; a folder holding checkpoints (step-*)
 * but no INPUTS cannot be trusted and is refused too. */
static int claim_dir(const char *dir, const char *key)
{
    HX_TRY(hx_mkdir_p(dir));
    char *stamp = hx_path_join(dir, "INPUTS");
    if (!stamp) return HX_ENOMEM;
    char *had = NULL;
    size_t n = 0;
    int rc = HX_OK;
    if (exists(stamp)) {
        rc = hx_read_file(stamp, &had, &n);
        if (rc == HX_OK && (n < 64 || strncmp(had, key, 64))) {
            had[n < 64 ? n : 64] = 0;
            rc = refuse_stale(dir, had, key);
        }
    } else {
        glob_t g;
        char *pat = hx_strfmt("%s/step-*", dir); /* checkpoints, complete or not (not a killed INPUTS.tmp) */
        int found = pat && glob(pat, 0, NULL, &g) == 0;
        if (found) globfree(&g);
        free(pat);
        if (found)
            rc = HX_ERR(HX_EINVAL, "%s holds checkpoints with no record of their inputs (no INPUTS file): rerun with "
                                   "--fresh, or remove that folder", dir);
        else {
            char line[66];
            snprintf(line, sizeof line, "%s\n", key);
            rc = hx_write_file_atomic(stamp, line, 65);
        }
    }
    free(had);
    free(stamp);
    return rc;
}

/* ---- data: corpus files -> token shards (cached by content) ---- */

/* A spec that already names shards: a directory holding *.hxs files. */
static int is_shard_dir(const char *p)
{
    if (!is_dir(p)) return 0;
    char *pat = hx_strfmt("%s/*.hxs", p);
    glob_t g;
    int found = pat && glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0;
    if (pat && found) globfree(&g);
    free(pat);
    return found;
}

/* Token shards for `files` into *spec, with their content key in `key`:
 * shard directories given as such are keyed by their bytes; corpus files are
 * tokenized once into cache/shards-<key>, keyed by the tokenizer, the text
 * field and every input's bytes. */
static int shards_for(runner *r, const char *const *files, int n, const char *what, char **spec, char key[65])
{
    if (n == 1 && is_shard_dir(files[0])) {
        HX_TRY(hx_sha256_dir(files[0], key));
        *spec = strdup(files[0]);
        return *spec ? HX_OK : HX_ERR(HX_ENOMEM, "out of memory");
    }
    /* Key: tokenizer, text field and every input's bytes. */
    char *key_text = hx_strfmt("%s|%s", r->tok_sha, r->m->data.text_field ? r->m->data.text_field : "text");
    for (int i = 0; key_text && i < n; i++) {
        char sha[65];
        int rc = hx_sha256_file(files[i], sha);
        if (rc < 0) {
            free(key_text);
            return hx_adderr(rc, "data.%s", what);
        }
        char *k = hx_strfmt("%s|%s", key_text, sha);
        free(key_text);
        key_text = k;
    }
    if (!key_text) return HX_ENOMEM;
    hx_sha256_hex(key_text, strlen(key_text), key);
    free(key_text);
    char *out = hx_strfmt("%s/shards-%.16s", r->cache, key), *done = out ? hx_strfmt("%s/COMPLETE", out) : NULL;
    if (!done) {
        free(out);
        return HX_ENOMEM;
    }
    int rc = HX_OK;
    if (exists(done)) {
        printf("data: %s shards reused from %s\n", what, out);
    } else {
        printf("data: tokenizing %s (%d file%s) into %s\n", what, n, n == 1 ? "" : "s", out);
        fflush(stdout);
        rc = hx_rm_rf(out);
        hx_ingest_opts io = {.text_field = r->m->data.text_field, .progress = stderr};
        if (rc == HX_OK) rc = hx_tokenize_files(r->tokenizer, out, "tokens", &io, (uint64_t)1 << 28, files, n);
        if (rc == HX_OK) rc = hx_write_file_atomic(done, "ok\n", 3);
    }
    free(done);
    if (rc == HX_OK) *spec = out;
    else free(out);
    return rc < 0 ? hx_adderr(rc, "preparing data.%s", what) : rc;
}

static int prepare_data(runner *r)
{
    const hx_data_spec *d = &r->m->data;
    HX_TRY(hx_tokenizer_load(d->tokenizer, &r->tok));
    snprintf(r->tokenizer, sizeof r->tokenizer, "%s", d->tokenizer);
    snprintf(r->tok_sha, sizeof r->tok_sha, "%s", hx_tokenizer_sha256(r->tok));
    HX_TRY(shards_for(r, d->train, d->n_train, "train", &r->train, r->data_key[0]));
    HX_TRY(shards_for(r, d->validation, d->n_validation, "validation", &r->val, r->data_key[1]));
    if (d->n_calibration > 0)
        HX_TRY(shards_for(r, d->calibration, d->n_calibration, "calibration", &r->calib, r->data_key[2]));
    else if ((r->calib = strdup(r->train)))
        memcpy(r->data_key[2], r->data_key[0], 65);
    else
        return HX_ERR(HX_ENOMEM, "out of memory");
    /* What every cache key covered, for the provenance of the results file. */
    hx_h5log *log;
    HX_TRY(hx_h5log_open(r->h5, HX_H5LOG_APPEND, &log));
    static const char *const names[] = {"train_data_key", "validation_data_key", "calibration_data_key"};
    int rc = hx_h5log_attr_str(log, "/", "tokenizer_sha256", r->tok_sha);
    for (int i = 0; i < 3 && rc == HX_OK; i++) rc = hx_h5log_attr_str(log, "/", names[i], r->data_key[i]);
    if (rc == HX_OK) rc = hx_h5log_attr_str(log, "/", "teacher_key", r->plan->teacher_hash);
    int rc2 = hx_h5log_close(log);
    return rc < 0 ? rc : rc2;
}

/* ---- evaluation tasks ---- */

/* The manifest's multiple-choice tasks as an evaluator hook: the layout comes
 * from the task name (hellaswag, arc_easy, ..., mmlu), anything else is the
 * generic {context, choices, gold} layout (e.g. data/corpus-mc.jsonl). */
static int prepare_eval(runner *r)
{
    const hx_eval_spec *e = &r->m->eval;
    if (e->n_tasks == 0) return HX_OK;
    r->tasks = hx_calloc((size_t)e->n_tasks, sizeof *r->tasks);
    if (!r->tasks) return HX_ENOMEM;
    for (int i = 0; i < e->n_tasks; i++) {
        const hx_task_spec *t = &e->tasks[i];
        int kind = hx_task_kind_parse(t->name);
        r->tasks[i] = (hx_eval_task){.name = t->name, .kind = kind < 0 ? HX_TASK_GENERIC : (hx_task_kind)kind,
                                     .path = t->path, .n_shot = t->n_shot, .limit = t->limit, .seed = r->m->seed,
                                     .ll = {.add_bos = 1, .max_length = 0, .batch = 8}};
    }
    r->eval_cfg = (hx_eval_config){.tasks = r->tasks, .n_tasks = e->n_tasks};
    HX_TRY(hx_eval_hook_init(&r->hook, &r->eval_cfg, r->tok));
    r->has_hook = 1;
    return HX_OK;
}

/* Records the eval settings on arms/<arm>/eval. */
static int log_eval_settings(runner *r, const char *arm, const hx_config *cfg)
{
    if (!r->has_hook) return HX_OK;
    hx_h5log *log;
    HX_TRY(hx_h5log_open(r->h5, HX_H5LOG_APPEND, &log));
    char obj[200];
    snprintf(obj, sizeof obj, "arms/%s/eval", arm);
    int rc = hx_eval_log_settings(log, obj, r->hook.ev, cfg);
    int rc2 = hx_h5log_close(log);
    return rc < 0 ? rc : rc2;
}

/* ---- training runs ---- */

static int eval_batches(const runner *r, int micro_batch)
{
    int64_t per = (int64_t)micro_batch * r->m->data.seq_len;
    int64_t nb = (r->m->eval.val_tokens + per - 1) / per;
    return nb < 1 ? 1 : (int)nb;
}

/* Fills the trainer settings shared by the teacher and every arm. */
static hx_train_config train_config(runner *r, const hx_train_spec *s, uint64_t seed, const char *arm,
                                    const char *ckpt_dir)
{
    hx_train_config c = hx_train_defaults();
    c.seed = seed;
    c.train_data = r->train;
    c.val_data = r->m->eval.perplexity ? r->val : NULL;
    c.seq_len = r->m->data.seq_len;
    c.micro_batch = s->micro_batch;
    c.grad_accum = s->grad_accum;
    c.token_budget = s->tokens;
    c.schedule.kind = s->schedule;
    c.schedule.peak_lr = s->lr;
    c.schedule.min_lr = s->min_lr;
    c.schedule.warmup = s->warmup_steps;
    c.schedule.decay_fraction = s->decay_fraction;
    c.adamw.weight_decay = s->weight_decay;
    c.adamw.beta1 = s->beta1;
    c.adamw.beta2 = s->beta2;
    c.adamw.decay_norms = c.adamw.decay_embeddings = s->decay_norms_embeddings;
    c.grad_clip = s->grad_clip;
    c.eval_every_tokens = s->eval_every;
    c.eval_batches = eval_batches(r, s->micro_batch);
    c.ckpt_dir = ckpt_dir;
    int64_t per_step = (int64_t)s->micro_batch * s->grad_accum * r->m->data.seq_len;
    c.ckpt_every_steps = r->m->outputs.checkpoint_every > 0 ? r->m->outputs.checkpoint_every / per_step : 0;
    c.keep_last = r->m->outputs.keep_last;
    c.log_path = r->h5;
    c.arm = arm;
    c.quiet = r->o->quiet;
    c.device = r->m->device;
    c.recompute = r->m->recompute;
    if (r->has_hook) {
        c.eval_hook = hx_eval_hook_fn;
        c.eval_hook_ctx = (void *)&r->hook;
    }
    return c;
}

/* Token count of the latest complete checkpoint under `root` (0 if none). */
static int64_t done_tokens(const char *root)
{
    char *path = NULL;
    int64_t step = 0;
    if (!is_dir(root) || hx_ckpt_latest(root, &path, &step) < 0 || !path) {
        hx_clearerr();
        return 0;
    }
    hx_train_state st;
    memset(&st, 0, sizeof st);
    int64_t tokens = hx_ckpt_read_state(path, &st) == HX_OK ? st.tokens : 0;
    hx_train_state_clear(&st);
    free(path);
    return tokens;
}

/* Runs hx_train, resuming from a checkpoint when one exists, skipping runs
 * already at their budget. `final` receives the final checkpoint directory. */
static int train_to_budget(const char *what, hx_train_config *c, char *final, size_t final_len)
{
    int64_t have = done_tokens(c->ckpt_dir);
    if (have < c->token_budget) {
        c->resume = have > 0;
        printf("%s: training %" PRId64 " tokens%s\n", what, c->token_budget, c->resume ? " (resuming)" : "");
        fflush(stdout);
        hx_train_result res;
        int rc = hx_train(c, &res);
        if (rc < 0) return hx_adderr(rc, "%s", what);
        printf("%s: %" PRId64 " steps, last loss %.4f, val loss %.4f, %.0f tokens/s\n", what, res.steps,
               res.last_loss, res.last_val_loss, res.tokens_per_s);
    } else {
        printf("%s: already trained (%" PRId64 " tokens)\n", what, have);
        if (hx_dist_rank() == 0) /* killed after its last commit: one too many */
            HX_TRY(hx_ckpt_prune(c->ckpt_dir, c->keep_last));
    }
    char *path = NULL;
    int64_t step;
    HX_TRY(hx_ckpt_latest(c->ckpt_dir, &path, &step));
    snprintf(final, final_len, "%s", path);
    free(path);
    return HX_OK;
}

/* ---- teacher ---- */

/* Cache key of the uncorrected teacher: the TEACHER hash of the manifest
 * with teacher correction off (so it is shared with manifests that do not
 * correct it); plan->teacher_hash covers the correction. */
static int base_teacher_hash(const runner *r, char out[65])
{
    hx_manifest base = *r->m;
    base.teacher.correction_tokens = 0;
    return hx_manifest_hash(&base, NULL, HX_ART_TEACHER, out);
}

static int copy_tokenizer(const runner *r, const char *model_dir)
{
    char *tk = hx_path_join(model_dir, "tokenizer.json");
    int rc = tk ? hx_copy_file(r->tokenizer, tk) : HX_ENOMEM;
    free(tk);
    return rc;
}

static int prepare_teacher(runner *r)
{
    const hx_teacher_spec *t = &r->m->teacher;
    if (t->model) {
        snprintf(r->teacher_dir, sizeof r->teacher_dir, "%s", t->model);
    } else {
        char key[65];
        HX_TRY(base_teacher_hash(r, key));
        char *root = hx_strfmt("%s/teacher-%.16s/ckpt", r->cache, key);
        if (!root) return HX_ENOMEM;
        HX_TRY(hx_mkdir_p(root));
        hx_train_config c = train_config(r, &t->train, r->m->seed, "teacher", root);
        c.model = r->plan->teacher;
        c.keep_last = 1;
        HX_TRY(claim_group(r, "arms/teacher", key));
        HX_TRY(log_eval_settings(r, "teacher", &c.model));
        int rc = train_to_budget("teacher", &c, r->teacher_dir, sizeof r->teacher_dir);
        free(root);
        HX_TRY(rc);
        if (r->lead) HX_TRY(copy_tokenizer(r, r->teacher_dir));
    }
    printf("teacher: %s\n", r->teacher_dir);
    snprintf(r->kd_teacher_dir, sizeof r->kd_teacher_dir, "%s", r->teacher_dir);
    HX_TRY(hx_model_load(r->teacher_dir, &r->teacher));
    /* Every arm's targets against the loaded config, before any arm runs
     * (the planner already did so when the config was known up front). */
    for (int i = 0; i < r->plan->n_arms; i++) {
        const hx_arm *a = r->plan->arms[i].arm;
        hx_prune_targets t;
        int rc = a->kind == HX_ARM_TEACHER ? HX_OK : hx_plan_targets(&r->teacher.cfg, &a->prune, &t, NULL);
        if (rc < 0) return hx_adderr(rc, "arm %s: prune targets against %s", a->name, r->teacher_dir);
    }
    return HX_OK;
}

/* Teacher correction ([P] §3 / Fig. 5): fine-tunes the teacher on the
 * distillation (train) data for teacher.correction.tokens at
 * lr = lr_scale x the teacher's peak (and final) lr with its own warm-up,
 * logged as arm `teacher_correction` and cached under the corrected
 * TEACHER hash. KD arms then distil from the corrected teacher, while
 * importance and pruning keep using the original teacher: [P] Fig. 5 shows
 * that pruning the original and distilling from the corrected teacher works
 * as well, and it keeps one importance pass shared with uncorrected runs. */
/* Teacher correction's training settings ([P]): the teacher's, for its
 * token count, at lr_scale of its rates, with its own warm-up; evaluated at
 * the end (or as often as the teacher's eval_every says). */
static hx_train_spec correction_spec(const hx_teacher_spec *t)
{
    hx_train_spec s = t->train;
    s.tokens = t->correction_tokens;
    s.lr = t->correction_lr_scale * t->train.lr;
    s.min_lr = t->correction_lr_scale * t->train.min_lr;
    s.warmup_steps = t->correction_warmup_steps;
    if (s.eval_every <= 0 || s.eval_every > s.tokens) s.eval_every = s.tokens;
    return s;
}

static int correct_teacher(runner *r)
{
    const hx_teacher_spec *t = &r->m->teacher;
    if (t->correction_tokens <= 0) return HX_OK;
    char *root = hx_strfmt("%s/teacher-%.16s/ckpt", r->cache, r->plan->teacher_hash);
    if (!root) return HX_ENOMEM;
    hx_train_spec s = correction_spec(t);
    int rc = hx_mkdir_p(root);
    hx_train_config c = train_config(r, &s, r->m->seed, "teacher_correction", root);
    c.init_from = r->teacher_dir;
    c.keep_last = 1;
    if (rc == HX_OK) rc = claim_group(r, "arms/teacher_correction", r->plan->teacher_hash);
    if (rc == HX_OK) rc = log_eval_settings(r, "teacher_correction", &r->teacher.cfg);
    if (rc == HX_OK) rc = train_to_budget("teacher_correction", &c, r->kd_teacher_dir, sizeof r->kd_teacher_dir);
    free(root);
    HX_TRY(rc);
    if (r->lead) HX_TRY(copy_tokenizer(r, r->kd_teacher_dir));
    printf("teacher_correction: KD arms distil from %s (importance still from %s)\n", r->kd_teacher_dir,
           r->teacher_dir);
    return HX_OK;
}

/* ---- importance and pruning ---- */

static int same_importance(const hx_importance_spec *a, const hx_importance_spec *b)
{
    const hx_importance_opts *x = &a->opts, *y = &b->opts;
    return a->samples == b->samples && a->seq_len == b->seq_len && x->micro_batch == y->micro_batch &&
           x->batch_agg == y->batch_agg && x->seq_agg == y->seq_agg && x->neuron_post == y->neuron_post &&
           x->depth == y->depth && x->block_len == y->block_len;
}

/* An arm's importance settings with depth=block's default block length filled
 * in: the number of layers the arm removes. */
static hx_importance_spec arm_importance(const runner *r, const hx_arm *a)
{
    hx_importance_spec s = a->importance;
    int L = r->teacher.cfg.num_hidden_layers;
    if (s.opts.depth == HX_DEPTH_BLOCK && s.opts.block_len <= 0)
        s.opts.block_len = a->prune.n_drop_layers > 0 ? a->prune.n_drop_layers
                      : a->prune.num_hidden_layers > 0 ? L - a->prune.num_hidden_layers : 1;
    return s;
}

/* Importance of `model` (saved in model_dir) with spec `s` on the
 * calibration shards drawn with `seed` (the arm's: each seed of a `seeds:`
 * run draws its own calibration windows), logged under `group`. */
static int compute_importance(runner *r, const hx_model *model, const char *model_dir, const hx_importance_spec *s,
                              uint64_t seed, const char *group, hx_importance *im)
{
    hx_importance_opts o = s->opts; /* the manifest bound the stage's struct; two settings follow depth */
    o.depth_loss = o.depth != HX_DEPTH_BI;
    if (o.depth != HX_DEPTH_BLOCK) o.block_len = 0;
    printf("importance: %d samples x %d tokens (batch %s, seq %s, neuron %s, depth %s)\n", s->samples, s->seq_len,
           hx_agg_name(o.batch_agg), hx_agg_name(o.seq_agg), hx_neuron_names[o.neuron_post],
           hx_depth_metric_name(o.depth));
    fflush(stdout);
    hx_importance_meta src = {model_dir, r->calib, s->samples, s->seq_len, seed};
    hx_h5log *log;
    HX_TRY(hx_h5log_open(r->h5, HX_H5LOG_APPEND, &log));
    int rc = hx_importance_from_shards(model, &src, r->tok_sha, &o, log, group, im);
    int rc2 = hx_h5log_close(log);
    if (rc == HX_OK && rc2 < 0) {
        hx_importance_free(im);
        rc = rc2;
    }
    if (rc == HX_OK)
        printf("importance: %.1f s (width pass %.1f s), calibration loss %.4f\n", im->seconds, im->seconds_width,
               im->base_loss);
    return rc;
}

/* The teacher's importance result for spec `s` and calibration seed `seed`,
 * computed once per distinct pair. */
static int importance_for(runner *r, const hx_importance_spec *s, uint64_t seed, const hx_importance **out)
{
    for (int i = 0; i < r->n_imp; i++)
        if (same_importance(&r->imp[i].spec, s) && r->imp[i].seed == seed) {
            *out = &r->imp[i].result;
            return HX_OK;
        }
    if (r->n_imp == (int)(sizeof r->imp / sizeof r->imp[0]))
        return HX_ERR(HX_EINVAL, "too many distinct importance settings (max %d)", r->n_imp);
    char group[64];
    snprintf(group, sizeof group, r->n_imp == 0 ? "importance" : "importance_%d", r->n_imp);
    hx_importance *im = &r->imp[r->n_imp].result;
    HX_TRY(compute_importance(r, &r->teacher, r->teacher_dir, s, seed, group, im));
    r->imp[r->n_imp].spec = *s;
    r->imp[r->n_imp].seed = seed;
    r->n_imp++;
    *out = im;
    return HX_OK;
}

/* The arm's prune targets on the teacher: as written, or for
 * prune.param_budget the hidden_size/intermediate_size chosen by
 * hx_budget_targets on the hx_width_divisor grid (the other axes as written), printed and recorded as
 * attributes param_budget, budget_tolerance, budget_hidden_size and
 * budget_intermediate_size on prune/<arm> (by the caller, via *budget). */
static int arm_targets(runner *r, const hx_arm *arm, hx_prune_targets *t, int *budget)
{
    const hx_prune_spec *ps = &arm->prune;
    *budget = ps->param_budget > 0;
    hx_config dst;
    int rc = hx_plan_targets(&r->teacher.cfg, ps, t, &dst);
    if (rc < 0) return hx_adderr(rc, "arm %s: prune targets", arm->name);
    if (*budget)
        printf("%s: param_budget %" PRId64 " (+-%.0f%%) -> hidden_size %d, intermediate_size %d, %d heads, %d layers: "
               "%zu parameters\n",
               arm->name, ps->param_budget, 100 * ps->budget_tolerance, dst.hidden_size, dst.intermediate_size,
               dst.num_attention_heads, dst.num_hidden_layers, hx_config_param_count(&dst));
    return HX_OK;
}

static int log_budget(runner *r, const char *group, const hx_arm *arm, const hx_config *dst)
{
    hx_h5log *log;
    HX_TRY(hx_h5log_open(r->h5, HX_H5LOG_APPEND, &log));
    int rc = hx_h5log_attr_int(log, group, "param_budget", arm->prune.param_budget);
    if (rc == HX_OK) rc = hx_h5log_attr_double(log, group, "budget_tolerance", arm->prune.budget_tolerance);
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, group, "budget_divisor", hx_width_divisor(&r->teacher.cfg));
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, group, "budget_hidden_size", dst->hidden_size);
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, group, "budget_intermediate_size", dst->intermediate_size);
    int rc2 = hx_h5log_close(log);
    return rc < 0 ? rc : rc2;
}

/* Prunes `src` to targets `t` (at random, or by `im`) into `dir` (HF
 * directory with the tokenizer), recording the plan under prune/<name>. */
static int save_pruned(runner *r, const char *name, const hx_model *src, const hx_prune_targets *t,
                       const hx_importance *im, const hx_arm *arm, int random, const char *dir, hx_prune_plan *plan)
{
    hx_prune_into_opts o = {im, random, arm->seed, arm->prune.head_residual, HX_DT_F32, r->tokenizer, NULL};
    char g[200];
    snprintf(g, sizeof g, "prune/%s", name);
    hx_h5log *log;
    HX_TRY(hx_h5log_open(r->h5, HX_H5LOG_APPEND, &log));
    int rc = hx_prune_into(src, t, &o, dir, log, g, plan);
    int rc2 = hx_h5log_close(log);
    if (rc == HX_OK && rc2 < 0) {
        hx_prune_plan_free(plan);
        rc = rc2;
    }
    if (rc == HX_OK) {
        printf("%s: pruned %zu -> %zu parameters (%s) into %s\n", name, hx_config_param_count(&plan->src),
               hx_config_param_count(&plan->dst), random ? "random" : "importance", dir);
        fflush(stdout);
        hx_prune_plan_notes(stdout, name, plan);
    }
    return rc;
}

/* Prunes the teacher for `arm` into results/<exp>/students/<arm>/; *dst
 * receives the student architecture. */
static int make_student(runner *r, const hx_arm *arm, char *dir, size_t dir_len, hx_config *dst)
{
    const hx_prune_spec *ps = &arm->prune;
    hx_prune_targets t;
    int budget;
    HX_TRY(arm_targets(r, arm, &t, &budget));
    const hx_importance *im = NULL;
    int random = ps->method == HX_PRUNE_RANDOM || arm->kind == HX_ARM_RANDOM_KD;
    int *block = NULL, rc = HX_OK;
    if (!random) {
        hx_importance_spec spec = arm_importance(r, arm);
        HX_TRY(importance_for(r, &spec, arm->seed, &im));
        if (spec.opts.depth == HX_DEPTH_BLOCK && ps->num_hidden_layers > 0) {
            /* [P]: drop the contiguous block whose removal costs least. */
            int L = r->teacher.cfg.num_hidden_layers, k = L - ps->num_hidden_layers;
            rc = hx_prune_best_block(im, L, k, "the teacher's importance (depth=block)", &t, &block);
            if (rc == HX_OK)
                printf("%s: dropping the contiguous block of layers [%d, %d) (half-open)\n", arm->name, block[0],
                       block[0] + k);
        }
    }
    snprintf(dir, dir_len, "%s/students/%s", r->dir, arm->name);
    hx_prune_plan plan;
    if (rc == HX_OK) rc = save_pruned(r, arm->name, &r->teacher, &t, im, arm, random, dir, &plan);
    free(block);
    if (rc == HX_OK) {
        *dst = plan.dst;
        char g[200];
        snprintf(g, sizeof g, "prune/%s", arm->name);
        if (budget) rc = log_budget(r, g, arm, &plan.dst);
        hx_prune_plan_free(&plan);
    }
    return rc < 0 ? hx_adderr(rc, "arm %s: pruning", arm->name) : rc;
}

/* ---- arms ---- */

/* The teacher arm: its validation loss at its own budget (when it was not
 * trained in this results file, where its curve already is). */
static int run_teacher_arm(runner *r, const hx_arm *arm)
{
    hx_h5log *log;
    HX_TRY(hx_h5log_open(r->h5, HX_H5LOG_APPEND, &log));
    char table[160];
    snprintf(table, sizeof table, "arms/%s/eval", arm->name);
    int64_t rows = 0;
    int rc = hx_h5log_rows(log, table, &rows);
    double agreed = (double)rows; /* data parallel: rank 0's log decides (the others keep no training rows) */
    if (rc == HX_OK) rc = hx_dist_bcast_f64(&agreed, 1);
    rows = (int64_t)agreed;
    if (rc == HX_OK && rows == 0 && r->m->eval.perplexity) {
        hx_dataset val;
        hx_workspace ws;
        int B = r->m->teacher.train.micro_batch > 0 ? r->m->teacher.train.micro_batch : 1, T = r->m->data.seq_len;
        rc = hx_dataset_open(r->val, r->tok_sha, &val);
        if (rc == HX_OK) {
            int32_t *x = hx_malloc(sizeof(int32_t) * (size_t)B * T), *y = hx_malloc(sizeof(int32_t) * (size_t)B * T);
            double loss = 0;
            rc = x && y ? hx_workspace_alloc(&ws, &r->teacher.cfg, B, T, HX_WS_INFER) : HX_ENOMEM;
            if (rc == HX_OK) {
                rc = hx_val_loss(&r->teacher, &ws, &val, eval_batches(r, B), x, y, &loss);
                hx_workspace_free(&ws);
            }
            int64_t tokens = r->m->teacher.trained ? r->m->teacher.train.tokens : 0;
            const char *cols[64] = {"step", "tokens", "val_loss", "perplexity"};
            double v[64] = {0, (double)tokens, loss, exp(loss)};
            int extra = rc == HX_OK && r->has_hook ? hx_eval_hook_fn(&r->hook, &r->teacher, tokens, cols + 4, v + 4, 60) : 0;
            if (extra < 0) rc = extra;
            if (rc == HX_OK) rc = hx_h5log_append(log, table, cols, v, 4 + extra);
            if (rc == HX_OK) printf("%s: val loss %.4f\n", arm->name, loss);
            free(x);
            free(y);
            hx_dataset_close(&val);
        }
    }
    char grp[160];
    snprintf(grp, sizeof grp, "arms/%s", arm->name);
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, grp, "params", (int64_t)hx_config_param_count(&r->teacher.cfg));
    if (rc == HX_OK) rc = hx_h5log_attr_str(log, grp, "kind", "teacher");
    int rc2 = hx_h5log_close(log);
    return rc < 0 ? rc : rc2;
}

/* The compute ledger of arm `ap` (exp/plan.h's FLOP model), attributes of arms/<arm>:
 * its training, the teacher's forwards for KD, the importance pass its
 * pruning used (counted for every arm that uses a shared pass), evaluation. */
static int log_ledger(runner *r, hx_h5log *log, const char *g, const hx_arm_plan *ap)
{
    double imp = ap->flops.importance;
    if (ap->importance_shared_with >= 0) imp = r->plan->arms[ap->importance_shared_with].flops.importance;
    const char *names[] = {"flops_train", "flops_teacher_forward", "flops_importance", "flops_eval", "flops_total"};
    double v[] = {ap->flops.train, ap->flops.teacher, imp, ap->flops.eval,
                  ap->flops.train + ap->flops.teacher + imp + ap->flops.eval};
    int rc = HX_OK;
    for (int i = 0; i < 5 && rc == HX_OK; i++) rc = hx_h5log_attr_double(log, g, names[i], v[i]);
    return rc;
}

static int arm_attrs(runner *r, const hx_arm_plan *ap, const hx_config *student, const char *init)
{
    const hx_arm *arm = ap->arm;
    hx_h5log *log;
    HX_TRY(hx_h5log_open(r->h5, HX_H5LOG_APPEND, &log));
    char g[160];
    snprintf(g, sizeof g, "arms/%s", arm->name);
    int rc = hx_h5log_attr_str(log, g, "kind", hx_arm_kind_name(arm->kind));
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, g, "params", (int64_t)hx_config_param_count(student));
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, g, "token_budget", arm->train.tokens);
    if (rc == HX_OK) rc = hx_h5log_attr_str(log, g, "init", init);
    if (rc == HX_OK && arm->kind == HX_ARM_ITERATIVE_KD) rc = hx_h5log_attr_int(log, g, "iterations", arm->iterations);
    if (rc == HX_OK) rc = hx_h5log_attr_str(log, g, "group", arm->group);
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, g, "seed", (int64_t)arm->seed);
    if (rc == HX_OK) rc = log_ledger(r, log, g, ap);
    int rc2 = hx_h5log_close(log);
    return rc < 0 ? rc : rc2;
}

/* KD arms distil from the (corrected) teacher with the arm's settings, which
 * the manifest bound to the trainer's own struct. */
static void kd_settings(runner *r, const hx_arm *arm, hx_train_config *c)
{
    if (!hx_arm_uses_kd(arm->kind)) return;
    c->teacher = r->kd_teacher_dir;
    c->kd = arm->kd;
    c->kd.top_k = r->m->logit_top_k;
    if (c->kd.top_k <= 0) return;
    /* one cache per (teacher, training data, seq_len, k, tau), shared by every KD arm and seed */
    char id[400], key[65];
    int n = snprintf(id, sizeof id, "teacher=%s train=%s seq_len=%d top_k=%d tau=%.17g", r->plan->teacher_hash,
                     r->data_key[0], r->m->data.seq_len, c->kd.top_k, c->kd.temperature);
    hx_sha256_hex(id, (size_t)n, key);
    snprintf(r->logit_cache, sizeof r->logit_cache, "%s/teacher-logits-%.16s", r->cache, key);
    c->logit_cache = r->logit_cache;
}

/* Round r's prune targets from `src` to `dst` (0 keeps the source value). */
static hx_prune_targets round_targets(const hx_config *src, const hx_config *dst)
{
    hx_prune_targets t = {0};
    if (dst->hidden_size != src->hidden_size) t.hidden_size = dst->hidden_size;
    if (dst->intermediate_size != src->intermediate_size) t.intermediate_size = dst->intermediate_size;
    if (dst->num_attention_heads != src->num_attention_heads) t.num_attention_heads = dst->num_attention_heads;
    if (dst->num_key_value_heads != src->num_key_value_heads) t.num_key_value_heads = dst->num_key_value_heads;
    if (dst->num_hidden_layers != src->num_hidden_layers) t.num_hidden_layers = dst->num_hidden_layers;
    return t;
}

/* One round of an iterative_kd arm: prunes `src` (the teacher in round 0,
 * else the previous round's model, whose importance is recomputed with the
 * arm's importance settings on the teacher's calibration samples) to
 * `target`, then distils it from the (corrected) teacher for `tokens`,
 * logging under arms/<arm> with tokens counted from `offset`. */
static int iterative_round(runner *r, const hx_arm *arm, int round, const hx_model *src, const char *src_dir,
                           const hx_config *target, int64_t tokens, int64_t offset, char *final, size_t final_len)
{
    char name[200], dir[800];
    snprintf(name, sizeof name, "%s/round%d", arm->name, round);
    snprintf(dir, sizeof dir, "%s/students/%s", r->dir, name);
    hx_importance_spec spec = arm_importance(r, arm);
    const hx_importance *im;
    hx_importance own;
    memset(&own, 0, sizeof own);
    if (round == 0) {
        HX_TRY(importance_for(r, &spec, arm->seed, &im));
    } else {
        char group[240];
        snprintf(group, sizeof group, "importance_rounds/%s", name);
        HX_TRY(compute_importance(r, src, src_dir, &spec, arm->seed, group, &own));
        im = &own;
    }
    hx_prune_targets t = round_targets(&src->cfg, target);
    hx_prune_plan plan;
    int rc = save_pruned(r, name, src, &t, im, arm, 0, dir, &plan);
    if (rc == HX_OK) hx_prune_plan_free(&plan);
    hx_importance_free(&own);
    if (rc < 0) return hx_adderr(rc, "arm %s: pruning round %d", arm->name, round);
    char *root = hx_strfmt("%s/checkpoints/%s", r->ckpt_base, name);
    if (!root) return HX_ENOMEM;
    hx_train_config c = train_config(r, &arm->train, arm->seed, arm->name, root);
    c.init_from = dir;
    c.token_budget = tokens;
    c.log_token_offset = offset;
    kd_settings(r, arm, &c);
    rc = train_to_budget(name, &c, final, final_len);
    free(root);
    return rc;
}

/* iterative_kd (NeurIPS 2024 §2.3, T12): T = iterations rounds through the
 * intermediate architectures of hx_iterative_schedule (divisor
 * width_divisor); the arm's token budget is split evenly in units of
 * micro_batch x seq_len (the last round takes the remainder, so the total is
 * exact); each round runs its own lr schedule (warm-up and decay) over its
 * share; rows of all rounds form one curve under arms/<arm> (each round
 * also logs the pruned model's loss at its first token count); plans go to
 * prune/<arm>/round<r>, checkpoints to checkpoints/<arm>/round<r>. */
static int run_iterative(runner *r, const hx_arm *arm, const hx_config *target)
{
    int T = arm->iterations;
    hx_config *rounds = hx_calloc((size_t)T, sizeof *rounds);
    if (!rounds) return HX_ENOMEM;
    int rc = hx_iterative_schedule(&r->teacher.cfg, target, T, hx_width_divisor(&r->teacher.cfg), rounds);
    int64_t per = (int64_t)arm->train.micro_batch * r->m->data.seq_len, units = arm->train.tokens / per;
    int64_t offset = 0;
    char prev[800] = "", final[800];
    for (int k = 0; rc == HX_OK && k < T; k++) {
        int64_t tokens = k < T - 1 ? units / T * per : arm->train.tokens - offset;
        printf("%s: round %d/%d -> hidden_size %d, intermediate_size %d, %d heads, %d layers, %" PRId64 " tokens\n",
               arm->name, k + 1, T, rounds[k].hidden_size, rounds[k].intermediate_size, rounds[k].num_attention_heads,
               rounds[k].num_hidden_layers, tokens);
        hx_model src;
        memset(&src, 0, sizeof src);
        if (k > 0) rc = hx_model_load(prev, &src);
        if (rc == HX_OK)
            rc = iterative_round(r, arm, k, k ? &src : &r->teacher, k ? prev : r->teacher_dir, &rounds[k], tokens,
                                 offset, final, sizeof final);
        hx_model_free(&src);
        if (rc == HX_OK && tokens <= 0)
            rc = HX_ERR(HX_EINVAL, "arm %s: %" PRId64 " tokens leave round %d empty", arm->name, arm->train.tokens, k);
        offset += tokens;
        snprintf(prev, sizeof prev, "%s", final);
    }
    free(rounds);
    return rc;
}

static int run_arm(runner *r, const hx_arm_plan *ap)
{
    const hx_arm *arm = ap->arm;
    char group[160];
    snprintf(group, sizeof group, "arms/%s", arm->name);
    if (arm->kind == HX_ARM_TEACHER) {
        char key[65];
        HX_TRY(base_teacher_hash(r, key));
        HX_TRY(claim_group(r, group, key));
        HX_TRY(log_eval_settings(r, arm->name, &r->teacher.cfg));
        return run_teacher_arm(r, arm);
    }
    HX_TRY(claim_group(r, group, ap->hash));
    char *ckpts = hx_strfmt("%s/checkpoints/%s", r->ckpt_base, arm->name);
    int claimed = !ckpts ? HX_ENOMEM : r->lead ? claim_dir(ckpts, ap->hash) : HX_OK; /* rank 0 owns the stamp */
    free(ckpts);
    HX_TRY(claimed);
    char student[700] = "", final[800];
    hx_config scfg = ap->student;
    if (arm->kind == HX_ARM_ITERATIVE_KD || (arm->kind == HX_ARM_SCRATCH && arm->prune.param_budget > 0)) {
        /* the architecture (from the targets or the parameter budget) without a pruned model */
        hx_prune_targets t;
        int budget;
        HX_TRY(arm_targets(r, arm, &t, &budget));
        HX_TRY(hx_prune_target_config(&r->teacher.cfg, &t, &scfg));
    }
    if (arm->kind == HX_ARM_ITERATIVE_KD) {
        HX_TRY(arm_attrs(r, ap, &scfg, "iterative"));
        HX_TRY(log_eval_settings(r, arm->name, &scfg));
        return run_iterative(r, arm, &scfg);
    }
    if (arm->kind != HX_ARM_SCRATCH) HX_TRY(make_student(r, arm, student, sizeof student, &scfg));
    char *root = hx_strfmt("%s/checkpoints/%s", r->ckpt_base, arm->name);
    if (!root) return HX_ENOMEM;
    hx_train_config c = train_config(r, &arm->train, arm->seed, arm->name, root);
    if (arm->kind == HX_ARM_SCRATCH) c.model = scfg;
    else c.init_from = student;
    kd_settings(r, arm, &c);
    int rc = arm_attrs(r, ap, &scfg, arm->kind == HX_ARM_SCRATCH ? "random" : student);
    if (rc == HX_OK) rc = log_eval_settings(r, arm->name, &scfg);
    if (rc == HX_OK) rc = train_to_budget(arm->name, &c, final, sizeof final);
    free(root);
    return rc;
}

/* What the runner cannot do, refused before any work starts. */
static int check_budget(const char *what, const hx_train_spec *s, int seq_len)
{
    int64_t per = (int64_t)s->micro_batch * seq_len;
    if (s->tokens % per != 0)
        return HX_ERR(HX_EINVAL,
                      "%s: tokens (%" PRId64 ") must be a multiple of micro_batch x seq_len (%" PRId64
                      ") so the run stops at exactly that many tokens; e.g. %" PRId64 " or %" PRId64,
                      what, s->tokens, per, s->tokens / per * per, (s->tokens / per + 1) * per);
    int64_t steps = (s->tokens / per + s->grad_accum - 1) / s->grad_accum;
    if (s->warmup_steps > steps)
        return HX_ERR(HX_EINVAL, "%s: warmup_steps (%d) exceeds the %" PRId64 " optimizer steps of its %" PRId64
                                 " tokens",
                      what, s->warmup_steps, steps, s->tokens);
    return HX_OK;
}

static int check_iterative(const hx_arm *a, int seq_len)
{
    const hx_prune_spec *ps = &a->prune;
    if (ps->n_drop_layers > 0)
        return HX_ERR(HX_EINVAL, "arm %s: iterative_kd with prune.drop_layers is not supported (layer indices change "
                                 "between rounds); give prune.num_hidden_layers instead", a->name);
    if (ps->method == HX_PRUNE_RANDOM)
        return HX_ERR(HX_EINVAL, "arm %s: iterative_kd prunes by importance; prune.method random is not supported",
                      a->name);
    if (a->importance.opts.depth == HX_DEPTH_BLOCK && ps->num_hidden_layers > 0)
        return HX_ERR(HX_EINVAL, "arm %s: iterative_kd with importance.depth block is not supported; use ppl or bi",
                      a->name);
    int64_t per = (int64_t)a->train.micro_batch * seq_len;
    if (a->train.tokens / per < a->iterations)
        return HX_ERR(HX_EINVAL, "arm %s: train.tokens (%" PRId64 ") is less than one micro-batch (%" PRId64
                                 " tokens) per round for %d rounds", a->name, a->train.tokens, per, a->iterations);
    /* Each round runs its own schedule over its share of the budget. */
    int64_t round_steps = (a->train.tokens / per / a->iterations + a->train.grad_accum - 1) / a->train.grad_accum;
    if (a->train.warmup_steps > round_steps)
        return HX_ERR(HX_EINVAL, "arm %s: warmup_steps (%d) exceeds the %" PRId64 " optimizer steps of each of its %d "
                                 "rounds", a->name, a->train.warmup_steps, round_steps, a->iterations);
    return HX_OK;
}

int hx_run_check_device(const hx_plan *p, double gpu_bytes)
{
    int seq = p->m->data.seq_len, rc = p->m->recompute;
    for (int i = 0; i < p->n_arms; i++) {
        const hx_arm_plan *ap = &p->arms[i];
        const hx_arm *a = ap->arm;
        int kd = hx_arm_uses_kd(a->kind), mb = a->train.micro_batch;
        if (a->kind == HX_ARM_TEACHER) continue; /* evaluated, not trained */
        if (kd && (a->kd.n_intermediate > 0 || a->kd.reverse_kl))
            return HX_ERR(HX_EINVAL, "arm %s: kd.intermediate and reverse KL run on the CPU tier only (device: cpu)",
                          a->name);
        if (gpu_bytes <= 0) continue;
        const hx_config *t = kd ? &p->teacher : NULL;
        hx_mem_plan m = hx_plan_device_memory(&ap->student, t, mb, seq, rc);
        if (m.total <= gpu_bytes) continue;
        hx_mem_plan r = hx_plan_device_memory(&ap->student, t, mb, seq, 1);
        hx_mem_plan one = hx_plan_device_memory(&ap->student, t, 1, seq, 1);
        return HX_ERR(HX_EINVAL, "arm %s: the device memory plan needs %.1f GB, the GPU has %.1f GB; %s", a->name,
                      m.total / 1e9, gpu_bytes / 1e9,
                      !rc && r.total <= gpu_bytes ? "set recompute: true"
                      : mb > 1 && one.total <= gpu_bytes
                          ? "set train.micro_batch: 1 (raise grad_accum to keep the batch) and recompute: true"
                          : "shard the optimizer state with ZeRO-1 across ranks, or train a smaller student");
    }
    return HX_OK;
}

int hx_run_check(const hx_plan *p)
{
    int seq = p->m->data.seq_len;
    if (p->m->device == HX_DEVICE_CUDA) HX_TRY(hx_run_check_device(p, (double)hx_device_memory()));
    if (p->m->teacher.trained) HX_TRY(check_budget("teacher.train", &p->m->teacher.train, seq));
    if (p->m->teacher.correction_tokens > 0) {
        hx_train_spec s = correction_spec(&p->m->teacher);
        HX_TRY(check_budget("teacher.correction", &s, seq));
    }
    for (int i = 0; i < p->n_arms; i++) {
        const hx_arm *a = p->arms[i].arm;
        if (a->kind == HX_ARM_TEACHER) continue;
        char what[160];
        snprintf(what, sizeof what, "arm %s", a->name);
        HX_TRY(check_budget(what, &a->train, seq));
        if (a->kind == HX_ARM_ITERATIVE_KD) HX_TRY(check_iterative(a, seq));
        if ((a->importance.opts.bf16 || a->kd.teacher_bf16) && !hx_model_bf16_available())
            return HX_ERR(HX_EINVAL, "%s: importance.bf16 / kd.teacher_bf16 need a CPU with AVX512-BF16; this one has "
                                     "none (set them to false)", what);
    }
    return HX_OK;
}

static void runner_free(runner *r)
{
    for (int i = 0; i < r->n_imp; i++) hx_importance_free(&r->imp[i].result);
    hx_model_free(&r->teacher);
    if (r->has_hook) hx_eval_hook_free(&r->hook);
    free(r->tasks);
    hx_tokenizer_free(r->tok);
    free(r->train);
    free(r->val);
    free(r->calib);
    free(r->baselines);
}

/* What a run writes into its results folder besides <name>.h5. */
static const char *const run_outputs[] = {"checkpoints", "students", "plots", "summary.md", NULL};

/* One experiment per results folder: another experiment's HDF5 file is
 * refused; this experiment's earlier results need --resume (continue) or
 * --fresh (deleted first). */
static int check_results_dir(runner *r)
{
    char *pat = hx_strfmt("%s/*.h5", r->dir);
    if (!pat) return HX_ENOMEM;
    glob_t g;
    int rc = HX_OK, n = glob(pat, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
    for (int i = 0; i < n && rc == HX_OK; i++)
        if (strcmp(g.gl_pathv[i], r->h5))
            rc = HX_ERR(HX_EINVAL, "%s holds the results of another experiment (%s): give manifest '%s' its own "
                                   "outputs.dir, or remove that file",
                        r->dir, g.gl_pathv[i], r->m->name);
    if (n) globfree(&g);
    free(pat);
    HX_TRY(rc);
    char found[600] = "";
    if (exists(r->h5)) snprintf(found, sizeof found, "%s", r->h5);
    for (int i = 0; !*found && run_outputs[i]; i++) {
        char *p = hx_path_join(r->dir, run_outputs[i]);
        if (p && exists(p)) snprintf(found, sizeof found, "%s", p);
        free(p);
    }
    if (!*found || r->o->resume) return HX_OK;
    if (!r->o->fresh)
        return HX_ERR(HX_EINVAL, "%s already holds results (%s): --resume continues that run, --fresh deletes its "
                                 "results and starts over",
                      r->dir, found);
    printf("run: --fresh: deleting the previous results in %s\n", r->dir);
    rc = hx_rm_rf(r->h5);
    for (int i = 0; rc == HX_OK && run_outputs[i]; i++) {
        char *p = hx_path_join(r->dir, run_outputs[i]);
        rc = p ? hx_rm_rf(p) : HX_ENOMEM;
        free(p);
    }
    return rc;
}

static int open_results(runner *r)
{
    const hx_manifest *m = r->m;
    snprintf(r->dir, sizeof r->dir, "%s", m->outputs.dir);
    snprintf(r->h5, sizeof r->h5, "%s/%s.h5", r->dir, m->name);
    snprintf(r->cache, sizeof r->cache, "%s", m->outputs.cache_dir);
    HX_TRY(check_results_dir(r));
    HX_TRY(hx_mkdir_p(r->dir));
    HX_TRY(hx_mkdir_p(r->cache));
    hx_h5log *log;
    HX_TRY(hx_h5log_open(r->h5, HX_H5LOG_APPEND, &log));
    int rc = hx_h5log_set_provenance(log, m->text);
    if (rc == HX_OK) rc = hx_h5log_attr_str(log, "/", "experiment", m->name);
    /* the teacher's share of the compute ledger: its training, correction and evals (0 when loaded) */
    if (rc == HX_OK) rc = hx_h5log_attr_double(log, "/", "flops_teacher", r->plan->teacher_flops);
    int rc2 = hx_h5log_close(log);
    return rc < 0 ? rc : rc2;
}

int hx_run(const hx_plan *plan, const hx_run_opts *o)
{
    runner r;
    memset(&r, 0, sizeof r);
    r.plan = plan;
    r.m = plan->m;
    r.o = o;
    double t0 = hx_now();
    int rc = hx_run_check(plan);
    /* The project's own resources, checked before any work (core/home.h). */
    if (rc == HX_OK) rc = (r.baselines = hx_home_path("baselines")) ? hx_baselines_check(r.baselines) : HX_EIO;
    if (rc == HX_OK && access(hx_plot_scripts_dir(), R_OK) != 0)
        rc = HX_ERR(HX_EIO, "%s: the gnuplot scripts are missing (set HX_HOME or HX_PLOTS_DIR)", hx_plot_scripts_dir());
    r.lead = hx_dist_rank() == 0;
    snprintf(r.ckpt_base, sizeof r.ckpt_base, "%s", o->shared_dir ? o->shared_dir : plan->m->outputs.dir);
    if (rc == HX_OK) rc = open_results(&r);
    /* With several ranks, rank 0 fills the shared data cache first; each stage then starts together, so
     * every rank sees the same cache and checkpoints when it decides what to train (core/dist.h). */
    if (!r.lead) hx_dist_barrier();
    if (rc == HX_OK) rc = prepare_data(&r);
    if (r.lead) hx_dist_barrier();
    if (rc == HX_OK) rc = prepare_eval(&r);
    hx_dist_barrier();
    if (rc == HX_OK) rc = prepare_teacher(&r);
    hx_dist_barrier();
    if (rc == HX_OK) rc = correct_teacher(&r);
    for (int i = 0; rc == HX_OK && i < plan->n_arms; i++) {
        hx_dist_barrier();
        rc = run_arm(&r, &plan->arms[i]);
    }
    if (rc == HX_OK) {
        hx_h5log *log;
        rc = hx_h5log_open(r.h5, HX_H5LOG_APPEND, &log);
        if (rc == HX_OK) rc = hx_h5log_finish(log);
        int rc2 = rc == HX_OK ? hx_h5log_close(log) : HX_OK;
        if (rc == HX_OK) rc = rc2;
    }
    if (rc == HX_OK && r.lead) { /* the summary covers every arm of the manifest, also those run with --only before */
        hx_plan all;
        rc = hx_plan_build(plan->m, NULL, plan->gflops, &all);
        if (rc == HX_OK) {
            rc = hx_write_summary(r.h5, r.dir, &all, stdout);
            hx_plan_free(&all);
        }
    }
    if (rc == HX_OK && r.lead) rc = hx_report_plots(r.dir, r.baselines);
    if (rc == HX_OK) printf("run: done in %.1f s; results in %s\n", hx_now() - t0, r.dir);
    runner_free(&r);
    return rc;
}
