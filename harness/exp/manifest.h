/* Experiment manifests: one YAML file (parsed with libyaml) describing a whole
 * Minitron experiment — seed, teacher, data, importance settings, prune
 * targets, the arms with their token budgets, eval tasks and outputs — read
 * into typed structs with every default applied, validated (errors name the
 * file, line, column and field path), sweeps expanded into one arm per grid
 * point, and content hashes of the artifacts each stage produces (cache keys).
 * The field reference with defaults is experiments/README.md. */
#ifndef HX_EXP_MANIFEST_H
#define HX_EXP_MANIFEST_H

#include "minitron/aggregate.h"  /* hx_agg */
#include "minitron/importance.h"  /* hx_importance_opts, hx_depth_metric */
#include "model/config.h"
#include "model/device.h"      /* hx_device */
#include "train/kd.h"       /* hx_kd_state */
#include "train/schedule.h" /* hx_sched_kind */

#include <stdint.h>
#include <stdio.h>

typedef enum { HX_PRUNE_IMPORTANCE = 0, HX_PRUNE_RANDOM = 1 } hx_prune_method;
/* Intermediate states for the L_is cosine loss (NeurIPS App. A.6). */
typedef enum { HX_METRIC_ACC_NORM = 0, HX_METRIC_ACC = 1 } hx_task_metric;

/* What an arm does:
 *  teacher       evaluate the teacher (no training; tokens must be 0)
 *  scratch       the student architecture from random init, cross-entropy
 *  prune_ce      prune the teacher, retrain with cross-entropy
 *  prune_kd      prune the teacher, distill from it
 *  random_kd     random pruning (control), then distill
 *  depth_kd      depth pruning (layers removed), then distill
 *  iterative_kd  `iterations` rounds of prune-then-distill (NeurIPS §2.3) */
typedef enum {
    HX_ARM_TEACHER = 0,
    HX_ARM_SCRATCH,
    HX_ARM_PRUNE_CE,
    HX_ARM_PRUNE_KD,
    HX_ARM_RANDOM_KD,
    HX_ARM_DEPTH_KD,
    HX_ARM_ITERATIVE_KD,
} hx_arm_kind;

/* Optimisation settings of one training run. Token counts are in tokens;
 * the global batch is micro_batch × grad_accum sequences of data.seq_len. */
typedef struct {
    int64_t tokens;        /* budget; the run stops at exactly this many trained tokens */
    int64_t eval_every;    /* validation every N tokens (default tokens/10) */
    double lr, min_lr;     /* peak and final learning rate (min_lr default lr/10) */
    int warmup_steps;      /* linear warm-up, in optimizer steps */
    hx_sched_kind schedule;
    double decay_fraction; /* wsd: fraction of the steps spent in the final decay */
    int micro_batch;       /* sequences per micro-batch */
    int grad_accum;        /* micro-batches per optimizer step */
    double weight_decay;   /* AdamW, decoupled */
    double grad_clip;      /* global-norm clip; 0 = off */
    double beta1, beta2;
    int decay_norms_embeddings; /* bool: apply weight decay to norms and embeddings */
} hx_train_spec;

/* An arm's importance pass: the calibration draw, and the stage's own
 * options (minitron/importance.h) bound field by field (micro_batch,
 * batch_agg, seq_agg, neuron, depth, block_len; depth_loss follows depth and
 * is set by the runner). opts.block_len 0 with depth=block: the number of
 * layers the arm removes. */
typedef struct {
    int samples;             /* calibration samples (paper: 1024) */
    int seq_len;             /* tokens per sample (default data.seq_len) */
    hx_importance_opts opts;
} hx_importance_spec;

/* Prune targets; 0 (or an empty list) keeps the teacher's value. */
typedef struct {
    int hidden_size, intermediate_size, num_attention_heads, num_key_value_heads, num_hidden_layers;
    int n_drop_layers;
    int *drop_layers;        /* explicit layer indices to remove (0-based, teacher numbering) */
    int64_t param_budget;    /* parameters; exclusive with explicit targets (architecture search) */
    double budget_tolerance; /* ± fraction around param_budget (paper: 0.05) */
    hx_prune_method method;
    int head_residual;       /* bool: NeurIPS §2.3 head-residual merge (off by default) */
} hx_prune_spec;


typedef struct {
    const char *name;      /* unique; sweep-expanded arms are "<base>@<path>=<value>,..." */
    const char *base_name; /* the name as written in the manifest */
    const char *group;     /* the name without its seed: the arms of one group differ only in `seed` (seeds:),
                              and are compared across groups paired by seed */
    hx_arm_kind kind;
    uint64_t seed;
    int iterations;        /* iterative_kd: rounds (≥ 2); 1 otherwise */
    hx_train_spec train;
    hx_kd_opts kd;         /* the trainer's own struct (train/kd.h) */
    hx_importance_spec importance;
    hx_prune_spec prune;
    int src_index;         /* index of the arm in the manifest's `arms` list */
    int line;              /* line of the arm in the manifest (1-based) */
    void *marks_;          /* private: where each field was set */
} hx_arm;

typedef struct {
    const char *name;
    const char *path;   /* JSONL task file (lm-eval style multiple choice) */
    int n_shot;
    int limit;          /* items; 0 = all */
    hx_task_metric metric;
} hx_task_spec;

typedef struct {
    const char *model;       /* HF model directory to load, or NULL when trained */
    const char *config_file; /* a config.json for the architecture, or NULL */
    int has_config;          /* 1 when `config:` was given inline */
    hx_config config;        /* the inline architecture (defaults applied) */
    int trained;             /* 1: the teacher is trained here with `train` */
    hx_train_spec train;
    int64_t correction_tokens;  /* teacher correction ([P]); 0 = off */
    double correction_lr_scale; /* fraction of the teacher's peak lr */
    int correction_warmup_steps;
} hx_teacher_spec;

typedef struct {
    int n_train, n_validation, n_calibration;
    const char **train, **validation, **calibration; /* corpus files, globs or shard dirs */
    const char *tokenizer; /* tokenizer.json */
    int seq_len;           /* tokens per training sequence */
    const char *text_field;
} hx_data_spec;

typedef struct {
    int perplexity;     /* bool: validation loss / perplexity at every eval point */
    int64_t val_tokens; /* validation tokens per eval point */
    int n_tasks;
    hx_task_spec *tasks;
} hx_eval_spec;

typedef struct {
    const char *dir;           /* default results/<name> */
    const char *cache_dir;     /* content-hashed artifacts shared across manifests */
    int64_t checkpoint_every;  /* tokens; 0 = at the end only */
    int keep_last;
} hx_outputs_spec;

typedef struct {
    const char *path;        /* the manifest file */
    char *text;              /* its bytes */
    size_t text_len;
    char sha256[65];         /* of the bytes */
    const char *name;        /* default: file name without extension */
    const char *description;
    uint64_t seed;
    int n_seeds;             /* `seeds:` given: every arm runs once per seed (arm names get "seed=<s>") */
    uint64_t *seeds;
    int threads;             /* 0 = HX_THREADS / all cores */
    hx_device device;        /* where training runs (model/device.h); `harness run` stores the resolved one */
    int recompute;           /* bool, CUDA tier: recompute activations in the backward (same result, less memory) */
    int logit_top_k;         /* teacher_logits.top_k: > 0, every KD arm distils from the cached top-k logits */
    hx_teacher_spec teacher;
    hx_data_spec data;
    hx_eval_spec eval;
    hx_outputs_spec outputs;
    int n_arms;
    hx_arm *arms;            /* after sweep expansion, in manifest order */
    void *priv_;             /* private: allocations and marks */
} hx_manifest;

/* Parses and validates the manifest at `path` into `m` (every field filled).
 * `${VAR}` and `${VAR:-default}` in string values expand from the environment.
 * Errors: HX_EIO (unreadable), HX_EFORMAT (malformed YAML, with libyaml's
 * line:column), HX_EINVAL (unknown key with the closest known key suggested,
 * wrong type, out of range, inconsistent fields); each message reads
 * "<file>:<line>:<column>: <field path>: <what>". On error `m` is freed. */
int hx_manifest_load(const char *path, hx_manifest *m);

/* The same, from a buffer; `name` stands for the file in messages. */
int hx_manifest_parse(const char *name, const char *text, size_t len, hx_manifest *m);

void hx_manifest_free(hx_manifest *m);

/* Index of the arm named `name` (exact), or -1. */
int hx_manifest_find_arm(const hx_manifest *m, const char *name);

/* Enum names as written in manifests ("prune_kd", "l2", "cosine", ...). */
const char *hx_arm_kind_name(hx_arm_kind k);

/* 1 if arms of this kind distill from the teacher. */
int hx_arm_uses_kd(hx_arm_kind k);
/* 1 if arms of this kind need a pruned student (everything but teacher). */
int hx_arm_needs_student(hx_arm_kind k);

/* The artifacts of an experiment, each cached under a content hash of its
 * inputs. Each hash covers its parent's hash, so a change upstream changes
 * everything downstream:
 *   TEACHER    teacher spec (model path or config + training settings,
 *              + teacher.correction when its tokens > 0: the teacher KD arms
 *              distil from), training data, tokenizer, seq_len, text_field, seed
 *   IMPORTANCE TEACHER + the arm's importance settings + calibration data
 *   STUDENT    IMPORTANCE + the arm's prune spec + arm kind and seed (random
 *              pruning, iterations)
 *   ARM        STUDENT + the arm's training and KD settings + validation data
 *              + eval settings */
typedef enum { HX_ART_TEACHER = 0, HX_ART_IMPORTANCE, HX_ART_STUDENT, HX_ART_ARM } hx_artifact;

/* Writes the stable SHA-256 (64 hex chars) of the canonicalised inputs of
 * `what` for `arm` (ignored for HX_ART_TEACHER; may then be NULL). The
 * canonical form is built from the typed, defaults-applied structs, so key
 * order, formatting and explicitly written defaults do not change it; any
 * value change does. Every input path that exists is replaced by the SHA-256
 * of its contents (a directory: of the sorted "relpath sha256" listing of
 * every file under it), so moving data keeps the hash and editing a single
 * byte changes it; a path that does not exist yet is hashed as text.
 * Errors: HX_EIO (a file could not be read). */
int hx_manifest_hash(const hx_manifest *m, const hx_arm *arm, hx_artifact what, char out[65]);

/* Writes the canonical text that hx_manifest_hash digests (for debugging and
 * provenance). Same arguments; the caller frees *text. */
int hx_manifest_canonical(const hx_manifest *m, const hx_arm *arm, hx_artifact what, char **text);

/* Every key path the manifest accepts ("teacher.config.hidden_size",
 * "arms[].kd.temperature", ...), one per call: returns NULL past the end.
 * Used to check that experiments/README.md documents every field. */
const char *hx_manifest_key(int i);

#endif
