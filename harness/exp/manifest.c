/* Experiment manifests: the Minitron schema. Every field is described once,
 * in the tables below (key, type, offset, default, range), which the binder
 * (exp/bind.h) walks for parsing, defaults, sweeps and the key list and
 * exp/canon.h for the canonical form behind the content hashes; here are the
 * checks across fields, arm building with sweep expansion and the choice of
 * fields each artifact's hash covers. */
#include "exp/manifest.h"

#include "core/err.h"
#include "core/util.h"
#include "exp/bind.h"
#include "exp/canon.h"
#include "minitron/prune.h"
#include "model/model.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ------------------------------------------------------------------ tables */

/* The stages' own name tables serve for their enums (hx_agg_names,
 * hx_depth_names, hx_neuron_names, hx_sched_names, hx_kd_state_names). */
static const char *const method_names[] = {"importance", "random", NULL};
static const char *const alpha_names[] = {"dynamic", "const", NULL};
static const char *const metric_names[] = {"acc_norm", "acc", NULL};
static const char *const kind_names[] = {"teacher",   "scratch",   "prune_ce",     "prune_kd",
                                         "random_kd", "depth_kd", "iterative_kd", NULL};
static const char *const model_type_names[] = {"llama", "mistral", "nemotron", NULL};
static const char *const rope_names[] = {"default", "llama3", NULL};

#define C(f) offsetof(hx_config, f)
static const hx_bind_field rope_fields[] = {
    {"rope_type", K_ENUM, C(rope_type), 0, "default", NONE, rope_names, NULL, 0, 0, 0},
    {"factor", K_DOUBLE, C(rope_factor), 0, "8", 0, INF, 1, NULL, NULL, 0, 0, 0},
    {"low_freq_factor", K_DOUBLE, C(rope_low_freq_factor), 0, "1", 0, INF, 1, NULL, NULL, 0, 0, 0},
    {"high_freq_factor", K_DOUBLE, C(rope_high_freq_factor), 0, "4", 0, INF, 1, NULL, NULL, 0, 0, 0},
    {"original_max_position_embeddings", K_INT, C(rope_original_max_position), 0, "8192", 1, INF, 0, NULL, NULL,
     0, 0, 0},
};
TABLE(rope_table, rope_fields);

static const hx_bind_field config_fields[] = {
    {"model_type", K_CSTR, C(model_type), 0, "llama", NONE, model_type_names, NULL, sizeof(((hx_config *)0)->model_type),
     0, 0},
    {"vocab_size", K_INT, C(vocab_size), 0, NULL, 1, INF, 0, NULL, NULL, 0, 1, 0},
    {"hidden_size", K_INT, C(hidden_size), 0, NULL, 1, INF, 0, NULL, NULL, 0, 1, 0},
    {"intermediate_size", K_INT, C(intermediate_size), 0, NULL, 1, INF, 0, NULL, NULL, 0, 1, 0},
    {"num_hidden_layers", K_INT, C(num_hidden_layers), 0, NULL, 1, INF, 0, NULL, NULL, 0, 1, 0},
    {"num_attention_heads", K_INT, C(num_attention_heads), 0, NULL, 1, INF, 0, NULL, NULL, 0, 1, 0},
    /* -1: derived (HF defaults: num_attention_heads; hidden_size / num_attention_heads). */
    {"num_key_value_heads", K_INT, C(num_key_value_heads), 0, "-1", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"head_dim", K_INT, C(head_dim), 0, "-1", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"max_position_embeddings", K_INT, C(max_position_embeddings), 0, "4096", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"rms_norm_eps", K_FLOAT, C(rms_norm_eps), 0, "1e-5", 0, 1, 1, NULL, NULL, 0, 0, 0},
    {"rope_theta", K_DOUBLE, C(rope_theta), 0, "10000", 0, INF, 1, NULL, NULL, 0, 0, 0},
    {"rope_scaling", K_SECTION, 0, 0, NULL, NONE, NULL, &rope_table, 0, 0, 0},
    {"tie_word_embeddings", K_BOOL, C(tie_word_embeddings), 0, "false", NONE, NULL, NULL, 0, 0, 0},
    {"bos_token_id", K_INT, C(bos_token_id), 0, "-1", -1, INF, 0, NULL, NULL, 0, 0, 0},
    {"eos_token_id", K_INT, C(eos_token_id), 0, "-1", -1, INF, 0, NULL, NULL, 0, 0, 0},
    {"sliding_window", K_INT, C(sliding_window), 0, "0", 0, INF, 0, NULL, NULL, 0, 0, 0},
};
#undef C
TABLE(config_table, config_fields);

#define T(f) offsetof(hx_train_spec, f)
static const hx_bind_field train_fields[] = {
    {"tokens", K_COUNT, T(tokens), 0, "0", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"eval_every", K_COUNT, T(eval_every), 0, "-1", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"lr", K_DOUBLE, T(lr), 0, "1e-3", 0, 10, 1, NULL, NULL, 0, 0, 0},
    {"min_lr", K_DOUBLE, T(min_lr), 0, "-1", 0, 10, 0, NULL, NULL, 0, 0, 0},
    {"warmup_steps", K_INT, T(warmup_steps), 0, "20", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"schedule", K_ENUM, T(schedule), 0, "cosine", NONE, hx_sched_names, NULL, 0, 0, 0},
    {"decay_fraction", K_DOUBLE, T(decay_fraction), 0, "0.2", 0, 1, 0, NULL, NULL, 0, 0, 0},
    {"micro_batch", K_INT, T(micro_batch), 0, "8", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"grad_accum", K_INT, T(grad_accum), 0, "1", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"weight_decay", K_DOUBLE, T(weight_decay), 0, "0.1", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"grad_clip", K_DOUBLE, T(grad_clip), 0, "1.0", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"beta1", K_DOUBLE, T(beta1), 0, "0.9", 0, 0.999999, 0, NULL, NULL, 0, 0, 0},
    {"beta2", K_DOUBLE, T(beta2), 0, "0.95", 0, 0.999999, 0, NULL, NULL, 0, 0, 0},
    {"decay_norms_embeddings", K_BOOL, T(decay_norms_embeddings), 0, "false", NONE, NULL, NULL, 0, 0, 0},
};
#undef T
TABLE(train_table, train_fields);

#define I(f) offsetof(hx_importance_spec, f)
#define IO(f) offsetof(hx_importance_opts, f)
static const hx_bind_field importance_opts_fields[] = {
    {"micro_batch", K_INT, IO(micro_batch), 0, "8", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"batch_agg", K_ENUM, IO(batch_agg), 0, "l2", NONE, hx_agg_names, NULL, 0, 0, 0},
    {"seq_agg", K_ENUM, IO(seq_agg), 0, "mean", NONE, hx_agg_names, NULL, 0, 0, 0},
    {"neuron", K_ENUM, IO(neuron_post), 0, "pre", NONE, hx_neuron_names, NULL, 0, 0, 0},
    {"depth", K_ENUM, IO(depth), 0, "ppl", NONE, hx_depth_names, NULL, 0, 0, 0},
    {"block_len", K_INT, IO(block_len), 0, "0", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"bf16", K_BOOL, IO(bf16), 0, "false", NONE, NULL, NULL, 0, 0, 0},
};
#undef IO
TABLE(importance_opts_table, importance_opts_fields);

static const hx_bind_field importance_fields[] = {
    {"samples", K_INT, I(samples), 0, "1024", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"seq_len", K_INT, I(seq_len), 0, "0", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"opts", K_INLINE, I(opts), 0, NULL, NONE, NULL, &importance_opts_table, 0, 0, 0},
};
#undef I
TABLE(importance_table, importance_fields);

#define P(f) offsetof(hx_prune_spec, f)
static const hx_bind_field prune_fields[] = {
    {"hidden_size", K_INT, P(hidden_size), 0, "0", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"intermediate_size", K_INT, P(intermediate_size), 0, "0", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"num_attention_heads", K_INT, P(num_attention_heads), 0, "0", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"num_key_value_heads", K_INT, P(num_key_value_heads), 0, "0", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"num_hidden_layers", K_INT, P(num_hidden_layers), 0, "0", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"drop_layers", K_INTLIST, P(drop_layers), P(n_drop_layers), NULL, 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"param_budget", K_COUNT, P(param_budget), 0, "0", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"budget_tolerance", K_DOUBLE, P(budget_tolerance), 0, "0.05", 0, 1, 0, NULL, NULL, 0, 0, 0},
    {"method", K_ENUM, P(method), 0, "importance", NONE, method_names, NULL, 0, 0, 0},
    {"head_residual", K_BOOL, P(head_residual), 0, "false", NONE, NULL, NULL, 0, 0, 0},
};
#undef P
TABLE(prune_table, prune_fields);

#define S(f) offsetof(hx_kd_pair, f)
static const hx_bind_field is_fields[] = {
    {"state", K_ENUM, S(state), 0, "block_output", NONE, hx_kd_state_names, NULL, 0, 0, 0},
    {"teacher_layer", K_INT, S(teacher_layer), 0, "-1", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"student_layer", K_INT, S(student_layer), 0, "-1", 0, INF, 0, NULL, NULL, 0, 0, 0},
};
#undef S
TABLE(is_table, is_fields);

#define D(f) offsetof(hx_kd_opts, f)
static const hx_bind_field kd_fields[] = {
    {"temperature", K_DOUBLE, D(temperature), 0, "1.0", 0, INF, 1, NULL, NULL, 0, 0, 0},
    {"w_ce", K_DOUBLE, D(w_ce), 0, "0", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"reverse_kl", K_BOOL, D(reverse_kl), 0, "false", NONE, NULL, NULL, 0, 0, 0},
    {"intermediate", K_LIST, D(intermediate), D(n_intermediate), NULL, NONE, NULL, &is_table, sizeof(hx_kd_pair), 0,
     0},
    {"alpha", K_ENUM, D(alpha), 0, "dynamic", NONE, alpha_names, NULL, 0, 0, 0},
    {"alpha_value", K_DOUBLE, D(alpha_value), 0, "1.0", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"teacher_bf16", K_BOOL, D(teacher_bf16), 0, "false", NONE, NULL, NULL, 0, 0, 0},
};
#undef D
TABLE(kd_table, kd_fields);

#define A(f) offsetof(hx_arm, f)
static const hx_bind_field arm_fields[] = {
    {"name", K_STR, A(name), 0, NULL, NONE, NULL, NULL, 0, 1, 0},
    {"kind", K_ENUM, A(kind), 0, NULL, NONE, kind_names, NULL, 0, 1, 0},
    {"seed", K_SEED, A(seed), 0, NULL, NONE, NULL, NULL, 0, 0, 0},
    {"iterations", K_INT, A(iterations), 0, "1", 1, 64, 0, NULL, NULL, 0, 0, 0},
    {"train", K_INLINE, A(train), 0, NULL, NONE, NULL, &train_table, 0, 0, 0},
    {"kd", K_SECTION, A(kd), 0, NULL, NONE, NULL, &kd_table, 0, 0, 0},
    {"importance", K_SECTION, A(importance), 0, NULL, NONE, NULL, &importance_table, 0, 0, 0},
    {"prune", K_SECTION, A(prune), 0, NULL, NONE, NULL, &prune_table, 0, 0, 0},
    {"sweep", K_DEFER, 0, 0, NULL, NONE, NULL, NULL, 0, 0, 0},
};
#undef A
TABLE(arm_table, arm_fields);

#define H(f) offsetof(hx_teacher_spec, f)
static const hx_bind_field correction_fields[] = {
    {"tokens", K_COUNT, H(correction_tokens), 0, "0", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"lr_scale", K_DOUBLE, H(correction_lr_scale), 0, "0.2", 0, 1, 1, NULL, NULL, 0, 0, 0},
    {"warmup_steps", K_INT, H(correction_warmup_steps), 0, "120", 0, INF, 0, NULL, NULL, 0, 0, 0},
};
TABLE(correction_table, correction_fields);

static const hx_bind_field teacher_fields[] = {
    {"model", K_STR, H(model), 0, NULL, NONE, NULL, NULL, 0, 0, 1},
    {"config", K_SECTION, H(config), 0, NULL, NONE, NULL, &config_table, 0, 0, 0},
    {"config_file", K_STR, H(config_file), 0, NULL, NONE, NULL, NULL, 0, 0, 1},
    {"train", K_SECTION, H(train), 0, NULL, NONE, NULL, &train_table, 0, 0, 0},
    {"correction", K_SECTION, 0, 0, NULL, NONE, NULL, &correction_table, 0, 0, 0},
};
#undef H
TABLE(teacher_table, teacher_fields);

#define DA(f) offsetof(hx_data_spec, f)
static const hx_bind_field data_fields[] = {
    {"train", K_STRLIST, DA(train), DA(n_train), NULL, NONE, NULL, NULL, 0, 1, 1},
    {"validation", K_STRLIST, DA(validation), DA(n_validation), NULL, NONE, NULL, NULL, 0, 1, 1},
    {"calibration", K_STRLIST, DA(calibration), DA(n_calibration), NULL, NONE, NULL, NULL, 0, 0, 1},
    {"tokenizer", K_STR, DA(tokenizer), 0, NULL, NONE, NULL, NULL, 0, 0, 1},
    {"seq_len", K_INT, DA(seq_len), 0, "256", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"text_field", K_STR, DA(text_field), 0, "text", NONE, NULL, NULL, 0, 0, 0},
};
#undef DA
TABLE(data_table, data_fields);

#define TK(f) offsetof(hx_task_spec, f)
static const hx_bind_field task_fields[] = {
    {"name", K_STR, TK(name), 0, NULL, NONE, NULL, NULL, 0, 1, 0},
    {"path", K_STR, TK(path), 0, NULL, NONE, NULL, NULL, 0, 1, 1},
    {"n_shot", K_INT, TK(n_shot), 0, "0", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"limit", K_INT, TK(limit), 0, "0", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"metric", K_ENUM, TK(metric), 0, "acc_norm", NONE, metric_names, NULL, 0, 0, 0},
};
#undef TK
TABLE(task_table, task_fields);

#define E(f) offsetof(hx_eval_spec, f)
static const hx_bind_field eval_fields[] = {
    {"perplexity", K_BOOL, E(perplexity), 0, "true", NONE, NULL, NULL, 0, 0, 0},
    {"val_tokens", K_COUNT, E(val_tokens), 0, "65536", 1, INF, 0, NULL, NULL, 0, 0, 0},
    {"tasks", K_LIST, E(tasks), E(n_tasks), NULL, NONE, NULL, &task_table, sizeof(hx_task_spec), 0, 0},
};
#undef E
TABLE(eval_table, eval_fields);

#define O(f) offsetof(hx_outputs_spec, f)
static const hx_bind_field outputs_fields[] = {
    {"dir", K_STR, O(dir), 0, NULL, NONE, NULL, NULL, 0, 0, 0},
    {"cache_dir", K_STR, O(cache_dir), 0, "results/cache", NONE, NULL, NULL, 0, 0, 0},
    {"checkpoint_every", K_COUNT, O(checkpoint_every), 0, "0", 0, INF, 0, NULL, NULL, 0, 0, 0},
    {"keep_last", K_INT, O(keep_last), 0, "2", 1, INF, 0, NULL, NULL, 0, 0, 0},
};
#undef O
TABLE(outputs_table, outputs_fields);

/* The teacher-logit cache shared by every KD arm and seed. */
#define LG(f) offsetof(hx_manifest, f)
static const hx_bind_field logits_fields[] = {
    {"top_k", K_INT, LG(logit_top_k), 0, "0", 0, 1 << 20, 0, NULL, NULL, 0, 0, 0},
};
#undef LG
TABLE(logits_table, logits_fields);

/* The root. The arm-level sections given at the root (train, kd, importance,
 * prune) are defaults for every arm and are applied when each arm is built. */
#define M(f) offsetof(hx_manifest, f)
static const hx_bind_field root_fields[] = {
    {"name", K_STR, M(name), 0, NULL, NONE, NULL, NULL, 0, 0, 0},
    {"description", K_STR, M(description), 0, NULL, NONE, NULL, NULL, 0, 0, 0},
    {"seed", K_SEED, M(seed), 0, "1234", NONE, NULL, NULL, 0, 0, 0},
    {"seeds", K_DEFER, 0, 0, NULL, NONE, NULL, NULL, 0, 0, 0},
    {"threads", K_INT, M(threads), 0, "0", 0, 4096, 0, NULL, NULL, 0, 0, 0},
    {"device", K_ENUM, M(device), 0, "auto", NONE, hx_device_names, NULL, 0, 0, 0},
    {"recompute", K_BOOL, M(recompute), 0, "false", NONE, NULL, NULL, 0, 0, 0},
    {"teacher_logits", K_SECTION, 0, 0, NULL, NONE, NULL, &logits_table, 0, 0, 0},
    {"teacher", K_SECTION, M(teacher), 0, NULL, NONE, NULL, &teacher_table, 0, 1, 0},
    {"data", K_SECTION, M(data), 0, NULL, NONE, NULL, &data_table, 0, 1, 0},
    {"eval", K_SECTION, M(eval), 0, NULL, NONE, NULL, &eval_table, 0, 0, 0},
    {"outputs", K_SECTION, M(outputs), 0, NULL, NONE, NULL, &outputs_table, 0, 0, 0},
    {"train", K_DEFER, 0, 0, NULL, NONE, NULL, &train_table, 0, 0, 0},
    {"kd", K_DEFER, 0, 0, NULL, NONE, NULL, &kd_table, 0, 0, 0},
    {"importance", K_DEFER, 0, 0, NULL, NONE, NULL, &importance_table, 0, 0, 0},
    {"prune", K_DEFER, 0, 0, NULL, NONE, NULL, &prune_table, 0, 0, 0},
    {"arms", K_DEFER, 0, 0, NULL, NONE, NULL, &arm_table, 0, 1, 0},
    {"sweep", K_DEFER, 0, 0, NULL, NONE, NULL, NULL, 0, 0, 0},
};
#undef M
TABLE(root_table, root_fields);

/* ----------------------------------------------------------- validation */

/* Error about a field of an arm, at the position where its value was set
 * (the arm's own entry, an inherited root section, or the arm itself when
 * the value is a default). */
static int aerr(const hx_manifest *m, const hx_arm *a, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int aerr(const hx_manifest *m, const hx_arm *a, const char *rel, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const hx_bind_mark *k = hx_bind_marks_find(a->marks_, rel);
    if (k)
        return HX_ERR(HX_EINVAL, "%s:%d:%d: %s: %s (%sarm '%s')", m->path, k->line, k->col, k->disp, msg,
                      k->top ? "inherited by " : "", a->name);
    return HX_ERR(HX_EINVAL, "%s:%d:1: arms[%d].%s: %s (arm '%s', default value)", m->path, a->line, a->src_index, rel,
                  msg, a->name);
}

/* Error about a root-level field, at its recorded position. */
static int rerr(const hx_manifest *m, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rerr(const hx_manifest *m, const char *path, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const hx_bind_priv *p = m->priv_;
    /* The field itself, else the closest enclosing section that was written. */
    char probe[96];
    snprintf(probe, sizeof probe, "%s", path);
    const hx_bind_mark *k = hx_bind_marks_find(&p->root_marks, probe);
    for (char *dot; !k && (dot = strrchr(probe, '.'));) {
        *dot = '\0';
        k = hx_bind_marks_find(&p->root_marks, probe);
    }
    return HX_ERR(HX_EINVAL, "%s:%d:%d: %s: %s", m->path, k ? k->line : 1, k ? k->col : 1, path, msg);
}

static int root_has(const hx_manifest *m, const char *path)
{
    return hx_bind_marks_find(&((const hx_bind_priv *)m->priv_)->root_marks, path) != NULL;
}

static void finalize_train(hx_train_spec *t)
{
    if (t->min_lr < 0) t->min_lr = t->lr / 10;
    if (t->eval_every < 0) t->eval_every = t->tokens / 10 > 0 ? t->tokens / 10 : t->tokens;
}

static int validate_train(const hx_manifest *m, const hx_arm *a, const hx_train_spec *t, const char *prefix)
{
    char p[128];
    snprintf(p, sizeof p, "%smin_lr", prefix);
    if (t->min_lr > t->lr) {
        if (a) return aerr(m, a, p, "min_lr (%g) is larger than lr (%g)", t->min_lr, t->lr);
        return rerr(m, p, "min_lr (%g) is larger than lr (%g)", t->min_lr, t->lr);
    }
    return HX_OK;
}

static int validate_teacher(hx_manifest *m)
{
    hx_teacher_spec *t = &m->teacher;
    t->has_config = root_has(m, "teacher.config");
    t->trained = root_has(m, "teacher.train");
    if (!!t->model == !!t->trained)
        return rerr(m, "teacher",
                    t->model ? "give either `model` (load a model directory) or `train` (train one here), not both"
                             : "give `model` (a model directory to load) or `train` (train one here)");
    if (t->has_config && t->config_file) return rerr(m, "teacher.config_file", "give `config` or `config_file`, not both");
    if (t->trained && !t->has_config && !t->config_file)
        return rerr(m, "teacher.train", "a trained teacher needs its architecture: `config` or `config_file`");
    if (t->trained) {
        if (t->train.tokens <= 0) return rerr(m, "teacher.train.tokens", "expected a positive token budget");
        finalize_train(&t->train);
        HX_TRY(validate_train(m, NULL, &t->train, "teacher.train."));
    } else {
        finalize_train(&t->train); /* a loaded teacher's correction scales the default lr and min_lr */
    }
    if (t->has_config) {
        hx_config *c = &t->config;
        if (c->num_attention_heads <= 0) /* `config:` given but empty (null): nothing was applied */
            return rerr(m, "teacher.config", "expected the architecture (hidden_size, num_attention_heads, ...), got nothing");
        if (c->num_key_value_heads < 0) c->num_key_value_heads = c->num_attention_heads;
        if (c->head_dim < 0) c->head_dim = c->hidden_size / c->num_attention_heads;
        if (hx_config_validate(c) < 0) { /* the model's own rules, at the config's position */
            char msg[800];
            snprintf(msg, sizeof msg, "%s", hx_errtext());
            return rerr(m, "teacher.config", "%s", msg);
        }
        if (m->data.seq_len > c->max_position_embeddings)
            return rerr(m, "data.seq_len", "seq_len %d exceeds the teacher's max_position_embeddings %d",
                        m->data.seq_len, c->max_position_embeddings);
    }
    return HX_OK;
}

/* Whether an arm's prune spec changes anything. */
static int prunes_something(const hx_prune_spec *p)
{
    return p->hidden_size || p->intermediate_size || p->num_attention_heads || p->num_key_value_heads ||
           p->num_hidden_layers || p->n_drop_layers || p->param_budget;
}

static int validate_prune(const hx_manifest *m, const hx_arm *a)
{
    const hx_prune_spec *p = &a->prune;
    int explicit_targets = p->hidden_size || p->intermediate_size || p->num_attention_heads ||
                           p->num_key_value_heads || p->num_hidden_layers || p->n_drop_layers;
    if (p->param_budget && explicit_targets)
        return aerr(m, a, "prune.param_budget", "give either a param_budget or explicit targets, not both");
    for (int i = 0; i < p->n_drop_layers; i++)
        for (int j = 0; j < i; j++)
            if (p->drop_layers[i] == p->drop_layers[j])
                return aerr(m, a, "prune.drop_layers", "layer %d is listed twice", p->drop_layers[i]);
    if (!m->teacher.has_config) return HX_OK; /* checked against config.json at run time */
    const hx_config *t = &m->teacher.config;
    /* The pruner's own rule (hx_prune_target_check), at the field's position. */
    hx_prune_targets tg = {p->hidden_size, p->intermediate_size, p->num_attention_heads, p->num_key_value_heads,
                           p->n_drop_layers ? 0 : p->num_hidden_layers, p->drop_layers, p->n_drop_layers};
    hx_config dst;
    const char *bad = NULL;
    if (hx_prune_target_check(t, &tg, &dst, &bad) < 0) {
        char msg[800], field[64];
        snprintf(msg, sizeof msg, "%s", hx_errtext());
        snprintf(field, sizeof field, "prune%s%s", bad ? "." : "", bad ? bad : "");
        return aerr(m, a, field, "%s", msg);
    }
    if (p->n_drop_layers && p->num_hidden_layers &&
        p->num_hidden_layers != t->num_hidden_layers - p->n_drop_layers)
        return aerr(m, a, "prune.num_hidden_layers", "%d disagrees with dropping %d of %d layers", p->num_hidden_layers,
                    p->n_drop_layers, t->num_hidden_layers);
    if (p->param_budget && (size_t)p->param_budget >= hx_config_param_count(t))
        return aerr(m, a, "prune.param_budget", "budget %lld is not below the teacher's %zu parameters",
                    (long long)p->param_budget, hx_config_param_count(t));
    if (a->importance.opts.block_len > t->num_hidden_layers)
        return aerr(m, a, "importance.block_len", "block of %d layers is longer than the teacher's %d",
                    a->importance.opts.block_len, t->num_hidden_layers);
    int student_layers = p->n_drop_layers ? t->num_hidden_layers - p->n_drop_layers
                         : p->num_hidden_layers ? p->num_hidden_layers : t->num_hidden_layers;
    for (int i = 0; i < a->kd.n_intermediate; i++) {
        const hx_kd_pair *q = &a->kd.intermediate[i];
        char path[64];
        snprintf(path, sizeof path, "kd.intermediate[%d].teacher_layer", i);
        if (q->state == HX_KD_EMBEDDING) continue;
        if (q->teacher_layer < 0 || q->teacher_layer >= t->num_hidden_layers)
            return aerr(m, a, path, "teacher layer %d is not in [0, %d)", q->teacher_layer, t->num_hidden_layers);
        snprintf(path, sizeof path, "kd.intermediate[%d].student_layer", i);
        if (q->student_layer < 0 || q->student_layer >= student_layers)
            return aerr(m, a, path, "student layer %d is not in [0, %d)", q->student_layer, student_layers);
    }
    return HX_OK;
}

static int validate_arm(const hx_manifest *m, hx_arm *a)
{
    finalize_train(&a->train);
    if (a->importance.seq_len == 0) a->importance.seq_len = m->data.seq_len;
    if (strchr(a->base_name, '@') || strchr(a->base_name, '/'))
        return aerr(m, a, "name", "arm names may not contain '@' or '/' (got \"%s\")", a->base_name);
    if (a->kind == HX_ARM_TEACHER) {
        const hx_bind_mark *k = hx_bind_marks_find(a->marks_, "tokens");
        if (k && k->top) a->train.tokens = a->train.eval_every = 0; /* root budgets are for students */
        if (a->train.tokens)
            return aerr(m, a, "tokens", "a teacher arm evaluates the teacher and trains nothing; leave tokens at 0");
    } else if (a->train.tokens <= 0) {
        return aerr(m, a, "tokens", "expected a positive token budget, got %lld", (long long)a->train.tokens);
    }
    HX_TRY(validate_train(m, a, &a->train, ""));
    if (a->kind == HX_ARM_ITERATIVE_KD && a->iterations < 2)
        return aerr(m, a, "iterations", "an iterative_kd arm needs at least 2 iterations");
    if (a->kind != HX_ARM_ITERATIVE_KD && a->iterations != 1)
        return aerr(m, a, "iterations", "only iterative_kd arms take iterations");
    if (a->kind == HX_ARM_RANDOM_KD) a->prune.method = HX_PRUNE_RANDOM;
    if (hx_arm_needs_student(a->kind) && !prunes_something(&a->prune))
        return aerr(m, a, "prune", "arm kind %s needs prune targets (prune.hidden_size, ...)", hx_arm_kind_name(a->kind));
    if (a->kind == HX_ARM_DEPTH_KD && !a->prune.num_hidden_layers && !a->prune.n_drop_layers)
        return aerr(m, a, "prune", "a depth_kd arm needs prune.num_hidden_layers or prune.drop_layers");
    return validate_prune(m, a);
}

/* ------------------------------------------------------------ arm building */

#define MAX_AXES 8

static int build_arm(hx_bind_ctx *c, hx_manifest *m, const yaml_node_t *root, const yaml_node_t *an, int src,
                     const hx_bind_sweep_axis *ax, int nax, const int *pick, hx_arm *a)
{
    memset(a, 0, sizeof *a);
    hx_bind_marks *ms = calloc(1, sizeof *ms);
    if (!ms) return HX_ERR(HX_ENOMEM, "out of memory");
    a->marks_ = ms;
    hx_bind_apply_defaults(&arm_table, (char *)a);
    a->seed = m->seed;
    a->src_index = src;
    a->line = hx_bind_node_line(an);
    c->ms = ms;
    /* Root-level defaults for every arm; an arm's own `prune` replaces the root's. */
    static const char *const inherited[] = {"train", "kd", "importance", "prune"};
    const yaml_node_t *own_prune = hx_bind_map_get(c, an, "prune");
    for (int i = 0; i < 4; i++) {
        const yaml_node_t *sn = hx_bind_map_get(c, root, inherited[i]);
        if (!sn || (i == 3 && own_prune)) continue;
        const hx_bind_field *f = hx_bind_field_by_key(&arm_table, inherited[i]);
        c->top = 1;
        snprintf(c->disp, sizeof c->disp, "%s", inherited[i]);
        /* The root `train` keys are arm-level keys ("tokens"), the others keep their section. */
        c->rel = f->k == K_INLINE ? strlen(c->disp) + 1 : 0;
        int rc = f->k == K_INLINE
                     ? (hx_bind_is_null(sn) ? HX_OK : hx_bind_apply_mapping(c, f->sub, (char *)a + f->off, sn))
                     : hx_bind_apply_field(c, f, (char *)a, sn);
        c->top = 0;
        HX_TRY(rc);
    }
    snprintf(c->disp, sizeof c->disp, "arms[%d]", src);
    c->rel = strlen(c->disp) + 1;
    HX_TRY(hx_bind_apply_mapping(c, &arm_table, (char *)a, an));
    a->base_name = a->name;
    char name[512];
    snprintf(name, sizeof name, "%s", a->name);
    for (int i = 0; i < nax; i++) {
        const yaml_node_t *vn = hx_bind_node_at(c, ax[i].values->data.sequence.items.start[pick[i]]);
        const hx_bind_field *f = NULL;
        char *b = NULL;
        snprintf(c->disp, sizeof c->disp, "%.31s.%.95s[%d]", ax[i].where, ax[i].path, pick[i]);
        HX_TRY(hx_bind_resolve_path(c, &arm_table, &ax[i], (char *)a, &f, &b));
        /* Record the value under its field path so later checks point at it;
         * positions inside a swept section go to a scratch list. */
        HX_TRY(hx_bind_marks_add(ms, ax[i].path, c->disp, hx_bind_node_line(vn), hx_bind_node_col(vn), 0));
        hx_bind_marks *keep = c->ms;
        hx_bind_marks scratch = {0};
        c->ms = &scratch;
        c->rel = 0;
        int rc = hx_bind_apply_field(c, f, b, vn);
        free(scratch.v);
        c->ms = keep;
        HX_TRY(rc);
        if (!strcmp(ax[i].where, "seeds")) a->group = hx_bind_pstrdup(c->pv, name); /* the seed axis is last */
        size_t o = strlen(name);
        snprintf(name + o, sizeof name - o, "%s%.95s=", i ? "," : "@", ax[i].path);
        hx_bind_render(c, vn, name, sizeof name);
    }
    a->name = hx_bind_pstrdup(c->pv, name);
    if (!a->group) a->group = a->name;
    return a->name && a->group ? HX_OK : HX_ENOMEM;
}

static void free_arm_marks(hx_manifest *m)
{
    for (int i = 0; i < m->n_arms; i++) {
        hx_bind_marks *ms = m->arms[i].marks_;
        if (ms) free(ms->v);
        free(ms);
        m->arms[i].marks_ = NULL;
    }
}

/* `seeds: [s1, s2, ...]`: distinct seeds, kept in m->seeds, and a sweep axis over each arm's seed. */
static int seeds_axis(hx_bind_ctx *c, hx_manifest *m, const yaml_node_t *root, hx_bind_sweep_axis *ax, int *has)
{
    const yaml_node_t *sn = hx_bind_map_get(c, root, "seeds");
    *has = 0;
    if (!sn || hx_bind_is_null(sn)) return HX_OK;
    if (sn->type != YAML_SEQUENCE_NODE || sn->data.sequence.items.top == sn->data.sequence.items.start)
        return hx_bind_perr(c, sn, "seeds", "expected a non-empty list of seeds, e.g. [1, 2, 3]");
    int n = (int)(sn->data.sequence.items.top - sn->data.sequence.items.start);
    m->seeds = hx_bind_palloc(c->pv, sizeof(uint64_t) * (size_t)n);
    if (!m->seeds) return HX_ERR(HX_ENOMEM, "out of memory");
    static const hx_bind_field f = {"seeds", K_SEED, 0, 0, NULL, NONE, NULL, NULL, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        const yaml_node_t *vn = hx_bind_node_at(c, sn->data.sequence.items.start[i]);
        snprintf(c->disp, sizeof c->disp, "seeds[%d]", i);
        c->rel = 0;
        HX_TRY(hx_bind_apply_field(c, &f, (char *)&m->seeds[i], vn));
        for (int j = 0; j < i; j++)
            if (m->seeds[j] == m->seeds[i]) return hx_bind_perr(c, vn, c->disp, "seed %llu listed twice",
                                                                (unsigned long long)m->seeds[i]);
    }
    m->n_seeds = n;
    memset(ax, 0, sizeof *ax);
    snprintf(ax->path, sizeof ax->path, "seed");
    snprintf(ax->where, sizeof ax->where, "seeds");
    ax->values = sn;
    ax->key = sn;
    *has = 1;
    return HX_OK;
}

static int build_arms(hx_bind_ctx *c, hx_manifest *m, const yaml_node_t *root)
{
    const yaml_node_t *arms = hx_bind_map_get(c, root, "arms");
    if (!arms) return hx_bind_perr(c, root, "(top level)", "missing required key 'arms'");
    if (arms->type != YAML_SEQUENCE_NODE || arms->data.sequence.items.top == arms->data.sequence.items.start)
        return hx_bind_perr(c, arms, "arms", "expected a non-empty list of arms");
    hx_bind_sweep_axis root_ax[MAX_AXES];
    int n_root = 0;
    HX_TRY(hx_bind_collect_sweep(c, hx_bind_map_get(c, root, "sweep"), "sweep", root_ax, &n_root, MAX_AXES));
    hx_bind_sweep_axis seed_ax;
    int has_seeds = 0;
    HX_TRY(seeds_axis(c, m, root, &seed_ax, &has_seeds));
    int n_src = (int)(arms->data.sequence.items.top - arms->data.sequence.items.start);
    int cap = 0;
    for (int s = 0; s < n_src; s++) {
        const yaml_node_t *an = hx_bind_node_at(c, arms->data.sequence.items.start[s]);
        snprintf(c->disp, sizeof c->disp, "arms[%d]", s);
        if (an->type != YAML_MAPPING_NODE)
            return hx_bind_perr(c, an, c->disp, "expected a mapping (name, kind, tokens, ...), got %s",
                                hx_bind_node_kind_name(an));
        hx_bind_sweep_axis ax[MAX_AXES];
        int nax = n_root;
        memcpy(ax, root_ax, sizeof(hx_bind_sweep_axis) * (size_t)n_root);
        char where[64];
        snprintf(where, sizeof where, "arms[%d].sweep", s);
        HX_TRY(hx_bind_collect_sweep(c, hx_bind_map_get(c, an, "sweep"), where, ax, &nax, MAX_AXES));
        const yaml_node_t *kn = hx_bind_map_get(c, an, "kind");
        int teacher = kn && kn->type == YAML_SCALAR_NODE && !strcmp((const char *)kn->data.scalar.value, "teacher");
        if (has_seeds && !teacher) { /* the last axis: arms of one group are adjacent, in seed order; the
                                        teacher is evaluated once */
            for (int i = 0; i < nax; i++)
                if (!strcmp(ax[i].path, "seed"))
                    return hx_bind_perr(c, ax[i].key, ax[i].where, "sweep over seed and seeds: exclude each other");
            if (nax == MAX_AXES) return hx_bind_perr(c, an, c->disp, "too many sweep axes (at most %d)", MAX_AXES);
            ax[nax++] = seed_ax;
        }
        int total = 1;
        for (int i = 0; i < nax; i++) {
            total *= (int)(ax[i].values->data.sequence.items.top - ax[i].values->data.sequence.items.start);
            if (total > 4096) return hx_bind_perr(c, an, c->disp, "sweep expands to more than 4096 arms");
        }
        if (m->n_arms + total > cap) {
            cap = 2 * (m->n_arms + total);
            hx_arm *na = realloc(m->arms, (size_t)cap * sizeof *na);
            if (!na) return HX_ERR(HX_ENOMEM, "out of memory");
            m->arms = na;
        }
        int pick[MAX_AXES] = {0};
        for (int g = 0; g < total; g++) {
            /* Odometer over the axes, the last axis fastest. */
            for (int i = nax - 1, r = g; i >= 0; i--) {
                int len = (int)(ax[i].values->data.sequence.items.top - ax[i].values->data.sequence.items.start);
                pick[i] = r % len;
                r /= len;
            }
            hx_arm *a = &m->arms[m->n_arms++];
            int rc = build_arm(c, m, root, an, s, ax, nax, pick, a);
            if (rc < 0) return rc;
        }
    }
    for (int i = 0; i < m->n_arms; i++) {
        HX_TRY(validate_arm(m, &m->arms[i]));
        for (int j = 0; j < i; j++)
            if (!strcmp(m->arms[i].name, m->arms[j].name))
                return aerr(m, &m->arms[i], "name", "duplicate arm name '%s' (also arms[%d])", m->arms[i].name,
                            m->arms[j].src_index);
    }
    return HX_OK;
}

/* ------------------------------------------------------------- top level */

static int parse_doc(const char *name, const char *text, size_t len, hx_manifest *m, hx_bind_priv *pv)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return HX_ERR(HX_ENOMEM, "%s: cannot initialise the YAML parser", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = HX_ERR(HX_EFORMAT, "%s:%zu:%zu: malformed YAML: %s%s%s", name, parser.problem_mark.line + 1,
                        parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error",
                        parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_parser_delete(&parser);
    hx_bind_ctx c = {.file = name, .doc = &doc, .pv = pv, .ms = &pv->root_marks};
    int rc = HX_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = HX_ERR(HX_EINVAL, "%s:1:1: the manifest is empty", name);
        goto out;
    }
    rc = hx_bind_apply_mapping(&c, &root_table, (char *)m, root);
    if (rc < 0) goto out;
    /* Type-check the root-level arm sections even where every arm overrides them. */
    if (!m->name) {
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        const char *dot = strchr(base, '.');
        m->name = hx_bind_pstrndup(pv, base, dot ? (size_t)(dot - base) : strlen(base));
    }
    if (!m->outputs.dir) {
        char dir[512];
        snprintf(dir, sizeof dir, "results/%s", m->name);
        m->outputs.dir = hx_bind_pstrdup(pv, dir);
    }
    if (!m->data.n_calibration) {
        m->data.n_calibration = m->data.n_train;
        m->data.calibration = m->data.train;
    }
    if (!m->data.tokenizer) {
        if (!m->teacher.model) {
            rc = rerr(m, "data", "missing required key 'tokenizer' (only a loaded teacher supplies its own)");
            goto out;
        }
        char *tok = hx_path_join(m->teacher.model, "tokenizer.json");
        m->data.tokenizer = tok ? hx_bind_pstrdup(pv, tok) : NULL;
        free(tok);
    }
    rc = validate_teacher(m);
    if (rc < 0) goto out;
    rc = build_arms(&c, m, root);
out:
    yaml_document_delete(&doc);
    return rc;
}

int hx_manifest_parse(const char *name, const char *text, size_t len, hx_manifest *m)
{
    memset(m, 0, sizeof *m);
    hx_bind_priv *pv = calloc(1, sizeof *pv);
    if (!pv) return HX_ERR(HX_ENOMEM, "out of memory");
    m->priv_ = pv;
    hx_bind_apply_defaults(&root_table, (char *)m);
    m->path = hx_bind_pstrdup(pv, name);
    m->text = hx_bind_pstrndup(pv, text, len);
    m->text_len = len;
    if (!m->path || !m->text) {
        hx_manifest_free(m);
        return HX_ENOMEM;
    }
    hx_sha256_hex(text, len, m->sha256);
    int rc = parse_doc(m->path, text, len, m, pv);
    if (rc < 0) hx_manifest_free(m);
    return rc;
}

int hx_manifest_load(const char *path, hx_manifest *m)
{
    char *text;
    size_t len;
    memset(m, 0, sizeof *m);
    HX_TRY(hx_read_file(path, &text, &len));
    int rc = hx_manifest_parse(path, text, len, m);
    free(text);
    return rc;
}

void hx_manifest_free(hx_manifest *m)
{
    free_arm_marks(m);
    free(m->arms);
    hx_bind_priv_free(m->priv_);
    memset(m, 0, sizeof *m);
}

int hx_manifest_find_arm(const hx_manifest *m, const char *name)
{
    for (int i = 0; i < m->n_arms; i++)
        if (!strcmp(m->arms[i].name, name)) return i;
    return -1;
}

const char *hx_arm_kind_name(hx_arm_kind k) { return k <= HX_ARM_ITERATIVE_KD ? kind_names[k] : "?"; }

int hx_arm_uses_kd(hx_arm_kind k)
{
    return k == HX_ARM_PRUNE_KD || k == HX_ARM_RANDOM_KD || k == HX_ARM_DEPTH_KD || k == HX_ARM_ITERATIVE_KD;
}

int hx_arm_needs_student(hx_arm_kind k) { return k != HX_ARM_TEACHER; }

/* ------------------------------------------------------------- hashing */

static int canon_write(FILE *f, const hx_manifest *m, const hx_arm *a, hx_artifact what)
{
    const char *d = (const char *)&m->data;
    if (what == HX_ART_TEACHER) {
        fputs("artifact=teacher\n", f);
        const hx_teacher_spec *t = &m->teacher;
        HX_TRY(hx_canon_one(f, &teacher_table, (const char *)t, "teacher", "model"));
        HX_TRY(hx_canon_one(f, &teacher_table, (const char *)t, "teacher", "config_file"));
        if (t->has_config) HX_TRY(hx_canon_one(f, &teacher_table, (const char *)t, "teacher", "config"));
        if (!t->trained && !t->correction_tokens) return HX_OK; /* a loaded teacher is its files */
        fprintf(f, "harness=%s\n", HX_VERSION); /* the code that trains it */
        if (t->trained) HX_TRY(hx_canon_one(f, &teacher_table, (const char *)t, "teacher", "train"));
        /* only an active correction changes the teacher, so a manifest with
         * tokens: 0 shares the uncorrected teacher's cache entry */
        if (t->correction_tokens) HX_TRY(hx_canon_one(f, &teacher_table, (const char *)t, "teacher", "correction"));
        if (m->device == HX_DEVICE_CUDA) fputs("device=cuda\n", f); /* bf16 on a GPU: another result */
        static const char *const keys[] = {"train", "validation", "tokenizer", "seq_len", "text_field"};
        for (int i = 0; i < 5; i++) HX_TRY(hx_canon_one(f, &data_table, d, "data", keys[i]));
        fprintf(f, "seed=%llu\n", (unsigned long long)m->seed);
        return HX_OK;
    }
    char parent[65];
    HX_TRY(hx_manifest_hash(m, a, (hx_artifact)(what - 1), parent));
    static const char *const art[] = {"teacher", "importance", "student", "arm"};
    fprintf(f, "artifact=%s\nparent=%s\n", art[what], parent);
    const char *ab = (const char *)a;
    if (what == HX_ART_IMPORTANCE) {
        HX_TRY(hx_canon_one(f, &arm_table, ab, "", "importance"));
        static const char *const keys[] = {"calibration", "tokenizer", "text_field"};
        for (int i = 0; i < 3; i++) HX_TRY(hx_canon_one(f, &data_table, d, "data", keys[i]));
        fprintf(f, "seed=%llu\n", (unsigned long long)a->seed);
    } else if (what == HX_ART_STUDENT) {
        HX_TRY(hx_canon_one(f, &arm_table, ab, "", "prune"));
        /* prune_ce, prune_kd and depth_kd share the pruned student; scratch
         * and random pruning depend on the seed, iterative on its rounds. */
        fprintf(f, "init=%s\n", a->kind == HX_ARM_SCRATCH ? "random" : "pruned");
        if (a->kind == HX_ARM_SCRATCH || a->prune.method == HX_PRUNE_RANDOM)
            fprintf(f, "seed=%llu\n", (unsigned long long)a->seed);
        if (a->kind == HX_ARM_ITERATIVE_KD) fprintf(f, "iterations=%d\n", a->iterations);
    } else {
        HX_TRY(hx_canon_one(f, &arm_table, ab, "", "train"));
        HX_TRY(hx_canon_one(f, &arm_table, ab, "", "kd"));
        if (m->logit_top_k > 0 && hx_arm_uses_kd(a->kind)) fprintf(f, "kd.top_k=%d\n", m->logit_top_k);
        if (m->device == HX_DEVICE_CUDA) fputs("device=cuda\n", f);
        static const char *const keys[] = {"train", "validation", "seq_len"};
        for (int i = 0; i < 3; i++) HX_TRY(hx_canon_one(f, &data_table, d, "data", keys[i]));
        HX_TRY(hx_canon_table(f, &eval_table, (const char *)&m->eval, "eval"));
    }
    return HX_OK;
}

int hx_manifest_canonical(const hx_manifest *m, const hx_arm *a, hx_artifact what, char **text)
{
    if (what != HX_ART_TEACHER && !a) return HX_ERR(HX_EINVAL, "hx_manifest_canonical: this artifact needs an arm");
    size_t len;
    *text = NULL;
    FILE *f = open_memstream(text, &len);
    if (!f) return HX_ERR(HX_ENOMEM, "out of memory");
    int rc = canon_write(f, m, a, what);
    fclose(f);
    if (rc < 0) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

int hx_manifest_hash(const hx_manifest *m, const hx_arm *a, hx_artifact what, char out[65])
{
    char *text;
    HX_TRY(hx_manifest_canonical(m, a, what, &text));
    hx_sha256_hex(text, strlen(text), out);
    free(text);
    return HX_OK;
}

/* ------------------------------------------------------------- key list */

const char *hx_manifest_key(int want)
{
    static _Thread_local char buf[256];
    int i = 0;
    return want >= 0 && hx_bind_key_walk(&root_table, &arm_table, "", &i, want, buf, sizeof buf) ? buf : NULL;
}
