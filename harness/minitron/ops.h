/* The Minitron stage's operations, each written once and called by the
 * runner (exp/), the command line (cli/) and the search: importance from
 * calibration shards into the run log, the best block to drop, and pruning
 * a model into a Hugging Face directory with its plan in the run log. The
 * run log arrives already open (log/h5log.h); NULL means "do not record". */
#ifndef HX_MINITRON_OPS_H
#define HX_MINITRON_OPS_H

#include "minitron/importance.h" // defines: hx_importance, hx_importance_opts
#include "minitron/prune.h"      // defines: hx_prune_targets, hx_prune_plan
#include "minitron/store.h"      // defines: hx_importance_meta, hx_h5log
#include "model/weights.h"       // defines: hx_model, hx_dtype

/* Draws src->samples packed calibration windows of src->seq_len + 1 tokens
 * from the token shards src->data with src->seed (minitron/calib.h; shards of
 * another tokenizer are refused when tokenizer_sha256 is not NULL), runs the
 * importance pass of `m` (hx_importance_run with `o`) into a fresh *out, and
 * writes it to group `group` of `log` with src as provenance
 * (hx_importance_write). Memory: seq_len + 1 int32 per sample besides the
 * pass. Errors: those of hx_dataset_open, hx_calib_draw, hx_importance_run
 * and hx_importance_write, with the data or model named; *out is freed on
 * error. */
int hx_importance_from_shards(const hx_model *m, const hx_importance_meta *src, const char *tokenizer_sha256,
                              const hx_importance_opts *o, hx_h5log *log, const char *group, hx_importance *out);

/* Sets t->drop_layers to the contiguous block of k layers whose removal
 * costs least (lowest block_loss of `im`, hx_importance_best_block) in a
 * fresh malloc'd array *block (the caller frees it), t->n_drop_layers = k
 * and t->num_hidden_layers = 0. Errors: HX_EINVAL when `im` holds no block
 * losses or losses for another block length (from `where`, e.g. the scores
 * file, named), HX_ENOMEM. */
int hx_prune_best_block(const hx_importance *im, int num_hidden_layers, int k, const char *where,
                        hx_prune_targets *t, int **block);

/* How hx_prune_into chooses and saves. */
typedef struct {
    const hx_importance *scores; /* importance ranking (NULL only with random) */
    int random;                  /* 1: random choices of the same shape (the control arm) */
    uint64_t seed;               /* random plans */
    int head_residual;           /* paper §2.3 head-residual merging (needs scores) */
    hx_dtype dtype;              /* saved weights: HX_DT_F32 or HX_DT_BF16 */
    const char *tokenizer;       /* tokenizer.json copied into the directory (NULL: none) */
    const char *scores_source;   /* "FILE.h5:group" recorded with the plan (NULL: none) */
} hx_prune_into_opts;

/* Plans the pruning of `src` to targets `t` (hx_prune_plan_build from the
 * scores, or hx_prune_plan_random), slices and saves it into `out_dir`
 * (hx_prune_save: config.json, model.safetensors, tokenizer.json) and records
 * the plan under group `group` of `log` (hx_prune_plan_write). *plan
 * receives the plan (the caller frees it with hx_prune_plan_free).
 * Errors: those of the planning, saving and writing, HX_EINVAL when neither
 * scores nor random are given. */
int hx_prune_into(const hx_model *src, const hx_prune_targets *t, const hx_prune_into_opts *o, const char *out_dir,
                  hx_h5log *log, const char *group, hx_prune_plan *plan);

#endif
