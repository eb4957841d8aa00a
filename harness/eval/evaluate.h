/* One evaluation of a model on a configured set: sliding-window perplexity
 * over a validation corpus (documents via the ingest reader) and/or token
 * shards, and a list of lm-eval-style multiple-choice tasks (acc, acc_norm,
 * acc_bytes with standard errors). Also the trainer's eval-hook adapter and
 * the writer of the evaluation settings as HDF5 attributes. Methods:
 * formats-and-ecosystem.md §3 (lm-evaluation-harness); column and attribute
 * names: results/README.md. */
#ifndef HX_EVAL_EVALUATE_H
#define HX_EVAL_EVALUATE_H

#include "data/tokenizer.h"
#include "eval/loglik.h"
#include "eval/perplexity.h"
#include "eval/tasks.h"
#include "log/h5log.h"
#include "model/model.h"

#include <stdint.h>

/* Longest task name (bytes, without NUL). */
#define HX_EVAL_NAME_MAX 63

/* One multiple-choice task. */
typedef struct {
    const char *name;             /* column prefix: [A-Za-z0-9_.-]+, unique in a config */
    hx_task_kind kind;            /* JSONL layout */
    const char *path;             /* task file */
    int n_shot;                   /* few-shot examples (lm-eval num_fewshot) */
    int limit;                    /* first `limit` documents of the file; 0 = all */
    uint64_t seed;                /* few-shot sampler seed */
    const char *target_delimiter; /* NULL = " " (lm-eval default) */
    hx_ll_opts ll;                /* add_bos (C10), max_length (0 = model maximum), batch */
} hx_eval_task;

/* What to evaluate. Perplexity runs when `n_texts` > 0 or `shards` is set
 * (both: their documents are summed together). */
typedef struct {
    const char *const *texts; /* ingest inputs (files, dirs, .jsonl(.zst), ...) */
    int n_texts;
    const char *text_field;   /* JSONL field; NULL = "text" */
    const char *shards;       /* hx_dataset_open spec; documents split at the boundary token */
    long doc_limit;           /* documents per source (texts, shards); 0 = all */
    hx_ppl_opts ppl;          /* window (0 = model maximum), stride (0 = window), add_bos */
    const hx_eval_task *tasks;
    int n_tasks;
} hx_eval_config;

/* Per-task result. Means over n items; stderr = sqrt(var_sample / n)
 * (hx_mc_mean_stderr). */
typedef struct {
    char name[HX_EVAL_NAME_MAX + 1];
    long n;
    double acc, acc_stderr, acc_norm, acc_norm_stderr, acc_bytes, acc_bytes_stderr;
    long requests;  /* log-likelihood requests scored (n items x choices) */
    long truncated; /* requests that lost context tokens to max_length */
    long fallbacks; /* requests whose continuation was encoded alone (C09) */
} hx_eval_task_result;

typedef struct {
    int has_ppl;
    long ppl_docs;        /* documents scored */
    hx_ppl_sums ppl_sums;
    hx_ppl_metrics ppl;   /* loss (nats/token), perplexity, bits_per_byte, word_perplexity */
    hx_eval_task_result *tasks; /* [n_tasks], malloc'd */
    int n_tasks;
} hx_eval_result;

void hx_eval_result_free(hx_eval_result *r);

/* A prepared evaluation: task files loaded, SHA-256 taken and prompts built
 * once, so that repeated runs (the eval hook) only score. */
typedef struct hx_evaluator hx_evaluator;

/* Checks the configuration (task names valid and unique, n_shot/limit >= 0,
 * stride <= window) and loads every task. The config's strings are copied.
 * Errors: HX_EINVAL naming the task or field, those of hx_task_load and
 * hx_task_build_item (naming the task), HX_ENOMEM. */
int hx_evaluator_open(const hx_eval_config *cfg, const hx_tokenizer *tok, hx_evaluator **out);
void hx_evaluator_close(hx_evaluator *ev);

/* Evaluates model m (its vocabulary must cover the tokenizer's ids).
 * Shards must have been made with this tokenizer (SHA-256 checked). A
 * perplexity window or task max_length above the model's
 * max_position_embeddings is refused (HX_EINVAL naming the setting and its
 * `harness eval` option). A non-finite result is refused, never returned:
 * HX_ENAN naming the metric ("eval: ppl.loss is nan") or the task, item and
 * choice whose log-likelihood is not finite. Errors: HX_EINVAL (lengths,
 * vocabulary), those of ingest, shards, perplexity and loglik with the
 * source named, HX_ENAN. */
int hx_evaluator_run(hx_evaluator *ev, const hx_model *m, hx_eval_result *res);

/* The configuration as loaded (copied strings). */
const hx_eval_config *hx_evaluator_config(const hx_evaluator *ev);
/* Items (documents kept after `limit`) and the file's SHA-256 of task i. */
int hx_evaluator_task_items(const hx_evaluator *ev, int i);
const char *hx_evaluator_task_sha256(const hx_evaluator *ev, int i);

/* open + run + close. */
int hx_evaluate(const hx_model *m, const hx_tokenizer *tok, const hx_eval_config *cfg, hx_eval_result *res);

/* The metric names of every task, in column order. */
extern const char *const hx_eval_task_metrics[3]; /* "acc", "acc_norm", "acc_bytes" */

/* Result columns, in this order: per task "<task>.acc", "<task>.acc_norm",
 * "<task>.acc_bytes"; then, when the config has perplexity sources,
 * "ppl.loss" (nats/token), "ppl.perplexity", "ppl.bits_per_byte",
 * "ppl.word_perplexity". hx_eval_column_names allocates the names (free with
 * hx_eval_names_free); hx_eval_column_values writes a result's values in the
 * same order and returns their count (HX_EINVAL when above max_cols). */
int hx_eval_column_names(const hx_eval_config *cfg, char ***names, int *n);
void hx_eval_names_free(char **names, int n);
int hx_eval_column_values(const hx_eval_result *res, double *values, int max_cols);

/* Eval-hook adapter for hx_train_config.eval_hook (eval_hook_ctx = an
 * hx_eval_hook). Each call runs the evaluator on the current model and
 * returns the columns above; the names belong to the hook and stay valid
 * until hx_eval_hook_free. Returns the column count, HX_EINVAL when it
 * exceeds max_cols, or an evaluation error. `tokens` is not used (the
 * trainer writes its own tokens column). */
typedef struct {
    hx_evaluator *ev;
    char **names;
    int n_names;
} hx_eval_hook;

int hx_eval_hook_init(hx_eval_hook *h, const hx_eval_config *cfg, const hx_tokenizer *tok);
int hx_eval_hook_fn(void *ctx, const hx_model *m, int64_t tokens, const char **names, double *values, int max_cols);
void hx_eval_hook_free(hx_eval_hook *h);

/* Records the settings of `ev` as attributes on `obj` (e.g.
 * "arms/<arm>/eval"): eval_tasks (comma-separated names),
 * tokenizer_sha256, and per task "<task>.layout", ".path", ".sha256",
 * ".n_shot", ".limit", ".items", ".seed", ".target_delimiter", ".metrics"
 * ("acc,acc_norm,acc_bytes"), ".add_bos" (C10: 1 = exactly one BOS),
 * ".max_length" (tokens; the model's maximum when the setting is 0 and
 * model_cfg is given), ".truncation" (the rule); for perplexity
 * "ppl.sources", "ppl.window", "ppl.stride", "ppl.add_bos", "ppl.doc_limit".
 * Errors: HX_EIO. */
int hx_eval_log_settings(hx_h5log *log, const char *obj, const hx_evaluator *ev, const hx_config *model_cfg);

/* Parses a --task spec NAME=LAYOUT:PATH[:NSHOT[:LIMIT]] into t (name and
 * path point into `buf`, a modifiable copy the caller keeps alive; the other
 * fields of t are left as they were). LAYOUT as hx_task_kind_parse; PATH
 * must not contain ':'; NSHOT (default 0) and LIMIT (default 0 = all) are
 * decimal integers >= 0. Errors: HX_EINVAL naming the spec and what is
 * wrong (the name itself is checked later by hx_evaluator_open). */
int hx_eval_parse_task(char *buf, hx_eval_task *t);

/* Appends one row to table `table` of `log`: column tokens (= `tokens`),
 * then hx_eval_column_names with the values of `r`; and writes the settings
 * attributes of hx_eval_log_settings on the same group. Errors: those of
 * hx_h5log_append (HX_ENAN for a non-finite value) and of the attributes,
 * HX_ENOMEM. */
int hx_eval_log_row(hx_h5log *log, const char *table, int64_t tokens, const hx_evaluator *ev,
                    const hx_eval_result *r, const hx_config *model_cfg);

#endif
