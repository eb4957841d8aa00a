/* Execution plan of a manifest: student architectures, parameter counts, eval
 * points, FLOP and time estimates (formulas in plan.h), and its printout. */
#include "exp/plan.h"

#include "core/err.h"
#include "core/util.h"
#include "minitron/targets.h"
#include "model/weights.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hx_plan_targets(const hx_config *teacher, const hx_prune_spec *p, hx_prune_targets *t, hx_config *student)
{
    *t = (hx_prune_targets){p->hidden_size, p->intermediate_size, p->num_attention_heads, p->num_key_value_heads,
                            p->n_drop_layers ? 0 : p->num_hidden_layers, p->drop_layers, p->n_drop_layers};
    if (p->param_budget > 0)
        HX_TRY(hx_budget_targets(teacher, p->param_budget, p->budget_tolerance, hx_width_divisor(teacher), t));
    hx_config s;
    return hx_prune_target_config(teacher, t, student ? student : &s);
}

hx_mem_plan hx_plan_device_memory(const hx_config *s, const hx_config *teacher, int micro_batch, int seq_len,
                                  int recompute)
{
    hx_mem_plan m = {0};
    double N = (double)micro_batch * seq_len, P = (double)hx_plan_param_count(s);
    double h = s->hidden_size, q = (double)s->num_attention_heads * s->head_dim;
    double kv = (double)s->num_key_value_heads * s->head_dim, f = s->intermediate_size;
    m.student_weights = 2 * P;
    m.gradients = 4 * P;
    m.master = 4 * P;
    m.optimizer = 8 * P;
    double layer = (4 * h + 2 * q + 2 * kv + 3 * f) * 2 + 4.0 * s->num_attention_heads; /* bytes per token */
    m.activations = N * h * 2 * 2; /* the final norm's input and output */
    if (recompute) /* each layer's input, and one layer's activations while it is recomputed */
        m.activations += N * (2 * h * s->num_hidden_layers + layer);
    else
        m.activations += N * layer * s->num_hidden_layers;
    double chunk = N < HX_LOGIT_CHUNK ? N : HX_LOGIT_CHUNK;
    m.logits = 2 * chunk * s->vocab_size * 4.0; /* logits and their gradient */
    if (teacher) {
        double th = teacher->hidden_size, tq = (double)teacher->num_attention_heads * teacher->head_dim;
        double tkv = (double)teacher->num_key_value_heads * teacher->head_dim, tf = teacher->intermediate_size;
        m.teacher_weights = 2 * (double)hx_plan_param_count(teacher);
        m.teacher_activations = N * (3 * th + 2 * tq + 2 * tkv + 3 * tf) * 2; /* one layer, two residual buffers */
        m.logits += chunk * teacher->vocab_size * 4.0;
    }
    m.reserve = HX_DEVICE_RESERVE;
    m.total = m.teacher_weights + m.student_weights + m.gradients + m.master + m.optimizer + m.activations +
              m.teacher_activations + m.logits + m.reserve;
    return m;
}

static int lerp_axis(int s, int t, int r, int T) { return s - (int)((int64_t)(r + 1) * (s - t) / T); }

void hx_iterative_config(const hx_config *t, const hx_config *target, int r, int T, hx_config *out)
{
    *out = *target;
    out->hidden_size = lerp_axis(t->hidden_size, target->hidden_size, r, T);
    out->intermediate_size = lerp_axis(t->intermediate_size, target->intermediate_size, r, T);
    out->num_hidden_layers = lerp_axis(t->num_hidden_layers, target->num_hidden_layers, r, T);
    out->num_key_value_heads = lerp_axis(t->num_key_value_heads, target->num_key_value_heads, r, T);
    int heads = lerp_axis(t->num_attention_heads, target->num_attention_heads, r, T);
    int kv = out->num_key_value_heads;
    out->num_attention_heads = heads / kv * kv < target->num_attention_heads ? target->num_attention_heads
                                                                              : heads / kv * kv;
}

static int eval_points(int64_t tokens, int64_t every)
{
    if (tokens <= 0) return 1;
    if (every <= 0) return 2;
    return 1 + (int)(tokens / every) + (tokens % every ? 1 : 0);
}

/* Forward passes over the calibration set for one importance pass. */
static int importance_passes(const hx_importance_spec *s, const hx_prune_spec *p, int layers)
{
    int removed = p->num_hidden_layers ? layers - p->num_hidden_layers : 0;
    if (!removed || p->n_drop_layers) return 1; /* width scores and BI come from one pass */
    int block = s->opts.block_len ? s->opts.block_len : removed;
    switch (s->opts.depth) {
    case HX_DEPTH_PPL: return 1 + layers;
    case HX_DEPTH_BLOCK: return 1 + (layers - block + 1);
    default: return 1;
    }
}

static const char *unsupported_reason(const hx_manifest *m)
{
    if (m->teacher.has_config && !strcmp(m->teacher.config.model_type, "nemotron"))
        return "the teacher's model_type is 'nemotron': this needs the Nemotron architecture, which the harness "
               "does not implement yet (only Llama/Mistral-family decoders); the manifest is valid, but `run` refuses";
    return NULL;
}

static int selected(const hx_arm *a, const char *only)
{
    return !only || !strcmp(a->name, only) || !strcmp(a->base_name, only);
}

/* The teacher's architecture when it is known before the run: the inline
 * `config`, else the config.json named by config_file or found in the
 * model directory (a model directory that does not exist yet leaves it
 * unknown; the runner then checks the targets once the teacher is loaded). */
static int teacher_config(const hx_manifest *m, hx_plan *p)
{
    const hx_teacher_spec *ts = &m->teacher;
    if (ts->has_config) {
        p->teacher = ts->config;
        p->teacher_known = 1;
        return HX_OK;
    }
    char *path = ts->config_file ? strdup(ts->config_file) : hx_path_join(ts->model, "config.json");
    if (!path) return HX_ERR(HX_ENOMEM, "out of memory");
    int rc = HX_OK;
    if (ts->config_file || access(path, R_OK) == 0) {
        rc = hx_config_load(path, &p->teacher);
        p->teacher_known = rc == HX_OK;
        if (rc < 0) hx_adderr(rc, "teacher.%s", ts->config_file ? "config_file" : "model");
    }
    free(path);
    return rc;
}

int hx_plan_build(const hx_manifest *m, const char *only, double gflops, hx_plan *p)
{
    memset(p, 0, sizeof *p);
    p->m = m;
    p->gflops = gflops > 0 ? gflops : HX_PLAN_DEFAULT_GFLOPS;
    p->unsupported = unsupported_reason(m);
    HX_TRY(hx_manifest_hash(m, NULL, HX_ART_TEACHER, p->teacher_hash));
    p->arms = hx_calloc((size_t)m->n_arms, sizeof *p->arms);
    if (!p->arms) return HX_ENOMEM;
    const hx_teacher_spec *ts = &m->teacher;
    int T = m->data.seq_len;
    double fwd_t = 0;
    HX_TRY(teacher_config(m, p));
    if (p->teacher_known) {
        p->teacher_params = hx_plan_param_count(&p->teacher);
        fwd_t = hx_flops_forward_per_token(&p->teacher, T);
        if (ts->trained)
            p->teacher_flops = 3 * fwd_t * (double)ts->train.tokens +
                               fwd_t * (double)m->eval.val_tokens * eval_points(ts->train.tokens, ts->train.eval_every);
        p->teacher_flops += 3 * fwd_t * (double)ts->correction_tokens;
    }
    char (*imp_hash)[65] = hx_calloc((size_t)m->n_arms, sizeof *imp_hash);
    if (!imp_hash) {
        hx_plan_free(p);
        return HX_ENOMEM;
    }
    for (int i = 0; i < m->n_arms; i++) {
        const hx_arm *a = &m->arms[i];
        if (!selected(a, only)) continue;
        hx_arm_plan *ap = &p->arms[p->n_arms];
        ap->arm = a;
        ap->importance_shared_with = -1;
        int rc = hx_manifest_hash(m, a, HX_ART_ARM, ap->hash);
        if (rc >= 0) rc = hx_manifest_hash(m, a, HX_ART_IMPORTANCE, imp_hash[p->n_arms]);
        if (rc < 0) {
            free(imp_hash);
            hx_plan_free(p);
            return rc;
        }
        ap->n_eval_points = eval_points(a->train.tokens, a->train.eval_every);
        if (!p->teacher_known) {
            p->n_arms++;
            continue;
        }
        ap->student = p->teacher;
        hx_prune_targets tg;
        if (a->kind != HX_ARM_TEACHER && (rc = hx_plan_targets(&p->teacher, &a->prune, &tg, &ap->student)) < 0) {
            free(imp_hash);
            hx_plan_free(p);
            return hx_adderr(rc, "arm %s: prune targets against the teacher's config", a->name);
        }
        double D = (double)a->train.tokens;
        ap->student_params = hx_plan_param_count(&ap->student);
        double fwd_s = hx_flops_forward_per_token(&ap->student, T);
        int needs_importance = a->kind != HX_ARM_TEACHER && a->kind != HX_ARM_SCRATCH && a->prune.method == HX_PRUNE_IMPORTANCE;
        if (needs_importance) {
            for (int j = 0; j < p->n_arms && ap->importance_shared_with < 0; j++)
                if (p->arms[j].flops.importance > 0 && !strcmp(imp_hash[j], imp_hash[p->n_arms]))
                    ap->importance_shared_with = j;
            if (ap->importance_shared_with < 0)
                ap->flops.importance = fwd_t * (double)a->importance.samples * a->importance.seq_len *
                                       importance_passes(&a->importance, &a->prune, p->teacher.num_hidden_layers);
        }
        if (a->kind == HX_ARM_ITERATIVE_KD) {
            /* Rounds share the budget; each trains the round's architecture
             * and re-scores the previous round's model. */
            hx_config prev = p->teacher;
            for (int r = 0; r < a->iterations; r++) {
                hx_config cr;
                hx_iterative_config(&p->teacher, &ap->student, r, a->iterations, &cr);
                double Dr = D / a->iterations;
                double fr = hx_flops_forward_per_token(&cr, T);
                ap->flops.train += 3 * fr * Dr;
                ap->flops.teacher += fwd_t * Dr;
                if (r > 0)
                    ap->flops.importance += hx_flops_forward_per_token(&prev, T) * (double)a->importance.samples *
                                            a->importance.seq_len;
                prev = cr;
            }
        } else if (a->kind != HX_ARM_TEACHER) {
            ap->flops.train = 3 * fwd_s * D;
            if (hx_arm_uses_kd(a->kind)) ap->flops.teacher = fwd_t * D;
        }
        ap->flops.eval = fwd_s * (double)m->eval.val_tokens * ap->n_eval_points;
        ap->flops.total = ap->flops.train + ap->flops.teacher + ap->flops.importance + ap->flops.eval;
        ap->seconds = ap->flops.total / (p->gflops * 1e9);
        p->total_flops += ap->flops.total;
        p->n_arms++;
    }
    free(imp_hash);
    if (!p->n_arms) {
        int rc = HX_ERR(HX_EINVAL, "%s: no arm named '%s' (arms: %s%s)", m->path, only ? only : "",
                        m->n_arms ? m->arms[0].name : "", m->n_arms > 1 ? ", ..." : "");
        hx_plan_free(p);
        return rc;
    }
    p->total_flops += p->teacher_flops;
    p->total_seconds = p->total_flops / (p->gflops * 1e9);
    return HX_OK;
}

void hx_plan_free(hx_plan *p)
{
    free(p->arms);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------- printing */

static const char *human(double v, char *buf, size_t n)
{
    static const char *const suffix[] = {"", "k", "M", "B", "T"};
    int s = 0;
    while (fabs(v) >= 1000 && s < 4) v /= 1000, s++;
    snprintf(buf, n, s ? "%.3g%s" : "%.0f%s", v, suffix[s]);
    return buf;
}

static const char *duration(double s, char *buf, size_t n)
{
    if (s < 90)
        snprintf(buf, n, "%.0f s", s);
    else if (s < 5400)
        snprintf(buf, n, "%.1f min", s / 60);
    else if (s < 172800)
        snprintf(buf, n, "%.1f h", s / 3600);
    else
        snprintf(buf, n, "%.1f days", s / 86400);
    return buf;
}

static void print_config(FILE *out, const hx_config *c)
{
    fprintf(out,
            "%s, vocab %d, hidden %d, intermediate %d, layers %d, heads %d (%d KV), head_dim %d%s", c->model_type,
            c->vocab_size, c->hidden_size, c->intermediate_size, c->num_hidden_layers, c->num_attention_heads,
            c->num_key_value_heads, c->head_dim, c->tie_word_embeddings ? ", tied embeddings" : "");
}

static void print_prune(FILE *out, const hx_prune_spec *s, const hx_config *t)
{
    char b[32];
    int any = 0;
#define TARGET(f)                                                                                          \
    if (s->f) fprintf(out, "%s" #f " %d -> %d", any++ ? ", " : "", t ? t->f : 0, s->f);
    TARGET(hidden_size);
    TARGET(intermediate_size);
    TARGET(num_attention_heads);
    TARGET(num_key_value_heads);
    TARGET(num_hidden_layers);
#undef TARGET
    if (s->n_drop_layers) {
        fprintf(out, "%sdrop layers", any++ ? ", " : "");
        for (int i = 0; i < s->n_drop_layers; i++) fprintf(out, "%s%d", i ? "," : " ", s->drop_layers[i]);
    }
    if (s->param_budget)
        fprintf(out, "%sparam_budget %s ±%.0f%% (architecture search)", any++ ? ", " : "",
                human((double)s->param_budget, b, sizeof b), 100 * s->budget_tolerance);
}

/* One arm's device memory plan on the CUDA tier (hx_plan_device_memory),
 * with and without activation recomputation, against a 141 GB GPU. */
static void print_memory(FILE *out, const hx_plan *p, const hx_arm_plan *ap)
{
    const hx_arm *a = ap->arm;
    const hx_config *t = hx_arm_uses_kd(a->kind) ? &p->teacher : NULL;
    hx_mem_plan m = hx_plan_device_memory(&ap->student, t, a->train.micro_batch, p->m->data.seq_len, 0);
    hx_mem_plan r = hx_plan_device_memory(&ap->student, t, a->train.micro_batch, p->m->data.seq_len, 1);
    const double G = 1e9, H200 = 141e9;
    fprintf(out,
            "    GPU memory (CUDA tier, one device, micro-batch %d x %d): %.1f GB = teacher %.1f + student bf16 %.1f + "
            "fp32 grads %.1f + master %.1f + AdamW %.1f + activations %.1f + teacher layer %.1f + logit chunks %.1f + "
            "reserve %.1f; %s a 141 GB GPU%s\n",
            a->train.micro_batch, p->m->data.seq_len, m.total / G, m.teacher_weights / G, m.student_weights / G,
            m.gradients / G, m.master / G, m.optimizer / G, m.activations / G, m.teacher_activations / G, m.logits / G,
            m.reserve / G, m.total <= H200 ? "fits" : "does not fit",
            m.total <= H200 ? ""
            : r.total <= H200 ? " (fits with activation recomputation)"
                              : " (even with recomputation: use ZeRO-1 across ranks or a smaller model)");
}

void hx_plan_print(FILE *out, const hx_plan *p)
{
    const hx_manifest *m = p->m;
    char b1[32], b2[32], b3[32];
    fprintf(out, "plan: %s  (%s, sha256 %.12s)\n", m->name, m->path, m->sha256);
    if (m->description) fprintf(out, "  %s\n", m->description);
    fprintf(out, "  seed %llu, threads %s, outputs %s, cache %s\n", (unsigned long long)m->seed,
            m->threads ? human(m->threads, b1, sizeof b1) : "HX_THREADS/all", m->outputs.dir, m->outputs.cache_dir);
    fprintf(out, "  data: %d train, %d validation, %d calibration source(s), tokenizer %s, seq_len %d\n",
            m->data.n_train, m->data.n_validation, m->data.n_calibration, m->data.tokenizer, m->data.seq_len);

    const hx_teacher_spec *t = &m->teacher;
    fprintf(out, "\nteacher: ");
    if (t->model)
        fprintf(out, "loaded from %s", t->model);
    else
        fprintf(out, "trained here for %s tokens (lr %g, %s)", human((double)t->train.tokens, b1, sizeof b1),
                t->train.lr, hx_sched_kind_name(t->train.schedule));
    fprintf(out, "  [cache key %.16s]\n", p->teacher_hash);
    if (p->teacher_known) {
        fprintf(out, "  config: ");
        print_config(out, &p->teacher);
        fprintf(out, "\n  params: %s (%zu)\n", human((double)p->teacher_params, b1, sizeof b1), p->teacher_params);
    } else {
        fprintf(out, "  config: read from %s at run time (no inline `config`; estimates below are incomplete)\n",
                t->config_file ? t->config_file : t->model);
    }
    if (t->correction_tokens)
        fprintf(out, "  teacher correction: %s tokens at %g x lr\n", human((double)t->correction_tokens, b1, sizeof b1),
                t->correction_lr_scale);
    if (p->teacher_flops > 0)
        fprintf(out, "  cost: %.3g FLOP, ~%s\n", p->teacher_flops, duration(p->teacher_flops / (p->gflops * 1e9), b1, sizeof b1));

    fprintf(out, "\narms (%d):\n", p->n_arms);
    for (int i = 0; i < p->n_arms; i++) {
        const hx_arm_plan *ap = &p->arms[i];
        const hx_arm *a = ap->arm;
        fprintf(out, "- %s: kind %s", a->name, hx_arm_kind_name(a->kind));
        if (a->kind == HX_ARM_TEACHER)
            fprintf(out, ", evaluation only\n");
        else
            fprintf(out, ", %s tokens, eval every %s (%d eval points), lr %g -> %g %s, batch %d x %d x %d tokens\n",
                    human((double)a->train.tokens, b1, sizeof b1), human((double)a->train.eval_every, b2, sizeof b2),
                    ap->n_eval_points, a->train.lr, a->train.min_lr, hx_sched_kind_name(a->train.schedule),
                    a->train.micro_batch, a->train.grad_accum, m->data.seq_len);
        if (hx_arm_needs_student(a->kind)) {
            fprintf(out, "    prune: ");
            print_prune(out, &a->prune, p->teacher_known ? &p->teacher : NULL);
            if (a->kind == HX_ARM_SCRATCH)
                fprintf(out, " (the architecture only: random init)");
            else
                fprintf(out, "; method %s%s", a->prune.method == HX_PRUNE_RANDOM ? "random" : "importance",
                        a->prune.head_residual ? ", head-residual merge" : "");
            fprintf(out, "\n");
            if (a->kind != HX_ARM_SCRATCH && a->prune.method == HX_PRUNE_IMPORTANCE) {
                fprintf(out, "    importance: %d samples x %d tokens, batch=%s seq=%s, neuron %s, depth %s",
                        a->importance.samples, a->importance.seq_len, hx_agg_name(a->importance.opts.batch_agg),
                        hx_agg_name(a->importance.opts.seq_agg), hx_neuron_names[a->importance.opts.neuron_post],
                        hx_depth_metric_name(a->importance.opts.depth));
                if (a->importance.opts.bf16) fprintf(out, ", bf16");
                if (ap->importance_shared_with >= 0)
                    fprintf(out, " (shared with %s)", p->arms[ap->importance_shared_with].arm->name);
                fprintf(out, "\n");
            }
        }
        if (hx_arm_uses_kd(a->kind)) {
            fprintf(out, "    kd: %s KL, tau %g, w_ce %g, %d intermediate state(s)%s", a->kd.reverse_kl ? "reverse" : "forward",
                    a->kd.temperature, a->kd.w_ce, a->kd.n_intermediate,
                    a->kd.n_intermediate ? (a->kd.alpha == HX_ALPHA_DYNAMIC ? ", dynamic alpha" : ", constant alpha") : "");
            if (a->kind == HX_ARM_ITERATIVE_KD) fprintf(out, ", %d rounds", a->iterations);
            if (a->kd.teacher_bf16) fprintf(out, ", teacher forwards in bf16");
            fprintf(out, "\n");
        }
        if (!p->teacher_known) {
            fprintf(out, "    student: depends on the teacher's config.json\n");
            continue;
        }
        if (hx_arm_needs_student(a->kind)) {
            fprintf(out, "    student: ");
            print_config(out, &ap->student);
            fprintf(out, "\n    params: %s (%.1f%% of the teacher)\n", human((double)ap->student_params, b1, sizeof b1),
                    100.0 * (double)ap->student_params / (double)p->teacher_params);
        }
        fprintf(out, "    FLOPs: %.3g total = %.3g train + %.3g teacher forwards + %.3g importance + %.3g eval; ~%s\n",
                ap->flops.total, ap->flops.train, ap->flops.teacher, ap->flops.importance, ap->flops.eval,
                duration(ap->seconds, b3, sizeof b3));
        if (a->kind != HX_ARM_TEACHER) print_memory(out, p, ap);
    }
    fprintf(out, "\neval: %s%s tokens of validation per eval point, %d task(s)", m->eval.perplexity ? "perplexity on " : "",
            human((double)m->eval.val_tokens, b1, sizeof b1), m->eval.n_tasks);
    for (int i = 0; i < m->eval.n_tasks; i++)
        fprintf(out, "%s%s (%d-shot)", i ? ", " : ": ", m->eval.tasks[i].name, m->eval.tasks[i].n_shot);
    fprintf(out, "\n");
    if (p->teacher_known)
        fprintf(out, "total: %.3g FLOP, ~%s at %g GFLOP/s (6·N·D training + 2·N_teacher·D KD forwards + attention; "
                     "see harness/exp/plan.h)\n",
                p->total_flops, duration(p->total_seconds, b1, sizeof b1), p->gflops);
    else
        fprintf(out, "total: unknown until the teacher's config.json is read\n");
    if (p->unsupported) fprintf(out, "NOTE: %s\n", p->unsupported);
}
