/* Lightweight architecture search (Minitron NeurIPS 2024 §2.3, Fig. 3,
 * Table 9): enumerate every architecture of a search space within ±p% of a
 * parameter budget, give each a short retraining (importance-pruned from the
 * teacher, then distilled from it or trained with cross-entropy for a token
 * budget), and rank them by final validation LM loss. */
#ifndef HX_MINITRON_SEARCH_H
#define HX_MINITRON_SEARCH_H

#include "minitron/importance.h"
#include "model/config.h"
#include "train/trainer.h"

#include <stdint.h>

/* Candidate values per axis; a list with n = 0 means "the teacher's value". */
typedef struct {
    const int *layers;
    int n_layers;
    const int *heads; /* num_attention_heads; multiples of the teacher's num_key_value_heads (C03) */
    int n_heads;
    const int *intermediate; /* intermediate_size */
    int n_intermediate;
    const int *hidden; /* hidden_size */
    int n_hidden;
} hx_search_space;

typedef struct {
    hx_config cfg;   /* the teacher's config with the candidate's four sizes */
    int64_t params;  /* hx_config_param_count(cfg) */
} hx_search_candidate;

/* Enumerates every combination of the space (loops nested layers, heads,
 * intermediate, hidden, each in list order) whose parameter count lies in
 * [budget·(1 − tolerance), budget·(1 + tolerance)], into a malloc'd array
 * (*out, *n; may be empty). KV heads are the teacher's. Errors (HX_EINVAL):
 * a value < 1 or larger than the teacher's, heads not a multiple of
 * num_key_value_heads (C03), budget <= 0 or tolerance < 0; HX_ENOMEM. */
int hx_search_enumerate(const hx_config *teacher, const hx_search_space *sp, int64_t budget, double tolerance,
                        hx_search_candidate **out, int *n);

typedef struct {
    const char *teacher_dir;       /* HF model directory of the teacher */
    const hx_importance *scores;   /* the teacher's importance (width scores and scores.layer) */
    const char *work_dir;          /* candidate models are written to work_dir/cand_<i> */
    const char *log_path;          /* HDF5 run log (required) */
    const char *group;             /* search group (NULL: "search") */
    int distill;                   /* 1: distil from the teacher (KL); 0: cross-entropy */
    hx_train_config train;         /* template: data, seq_len, micro_batch, grad_accum, token_budget,
                                      schedule, eval settings, seed, KD settings; init_from, arm,
                                      log_path and teacher are set per candidate */
} hx_search_opts;

typedef struct {
    int n;
    double *val_loss; /* [n] final validation loss (nats/token) of each candidate */
    int *ranking;     /* [n] candidate indices, lowest val_loss first (ties: lower index) */
} hx_search_result;

/* Retrains and ranks `cand[0..n)`. Candidate i is pruned from the teacher
 * with hx_prune_plan_build (scores of o->scores), saved to
 * work_dir/cand_<i>, and trained with hx_train as arm "search_<i>" (tables
 * arms/search_<i>/train and eval in the log, its config and parameter count
 * as attributes config and params of arms/search_<i>). Then writes group
 * search/: candidates [n, 5] int64 (num_hidden_layers, num_attention_heads,
 * num_key_value_heads, intermediate_size, hidden_size), params [n] int64,
 * val_loss [n] float64, ranking [n] int64, attributes budget, tolerance (as
 * given to record), token_budget, retrain ("kd"|"ce"), best (index) and
 * best_config (JSON). Errors: those of pruning, saving and training, with
 * the candidate named. */
int hx_search_run(const hx_search_opts *o, const hx_search_candidate *cand, int n, int64_t budget, double tolerance,
                  hx_search_result *res);
void hx_search_result_free(hx_search_result *r);

#endif
