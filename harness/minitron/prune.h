/* Structured pruning of a Llama-family model (Minitron NeurIPS 2024 §2.3,
 * "trimming"): rank every axis by importance, choose what to keep, and slice
 * the weights into a smaller hx_model. */
#ifndef HX_MINITRON_PRUNE_H
#define HX_MINITRON_PRUNE_H

#include "core/rng.h"
#include "minitron/scores.h"
#include "model/model.h"
#include "model/safetensors.h"

#include <stdio.h>

/* Target sizes. A field left at 0 keeps the source size. drop_layers, when
 * given, lists source layer indices to remove and excludes num_hidden_layers. */
typedef struct {
    int hidden_size;
    int intermediate_size;
    int num_attention_heads;
    int num_key_value_heads; /* 0: keep every KV head (the default, as in the paper) */
    int num_hidden_layers;
    const int *drop_layers;
    int n_drop_layers;
} hx_prune_targets;

/* What to keep, in source indices (all ascending within their scope):
 *   keep_layers   [dst.num_hidden_layers]                       source layer of each new layer
 *   keep_channels [dst.hidden_size]                             embedding channels, shared by all layers
 *   keep_heads    [dst.num_hidden_layers * dst.num_attention_heads] query heads of each new layer,
 *                 group-major: new head j belongs to new KV group j / (heads per group)
 *   keep_kv       [dst.num_hidden_layers * dst.num_key_value_heads] KV heads of each new layer
 *   keep_neurons  [dst.num_hidden_layers * dst.intermediate_size] MLP neurons of each new layer */
typedef enum { HX_AXIS_LAYER = 0, HX_AXIS_CHANNEL, HX_AXIS_KV_GROUP, HX_AXIS_HEAD, HX_AXIS_NEURON } hx_prune_axis;

/* Name of an axis ("layer", "channel", "kv_group", "head", "neuron"). */
const char *hx_prune_axis_name(hx_prune_axis a);

/* Two candidates on either side of a pruning cut whose scores are equal or
 * nearly equal: |kept - dropped| <= HX_PRUNE_TIE_RTOL * max(|kept|, |dropped|).
 * The tie-break rule: the higher score is kept; within the tolerance the
 * sort still orders by score, and exactly equal scores keep the lower index.
 * `layer` is the source layer (-1 for the layer and channel axes); indices
 * are source indices (heads: global query-head index). */
#define HX_PRUNE_TIE_RTOL 1e-6
typedef struct {
    hx_prune_axis axis;
    int layer, kept, dropped;
    double kept_score, dropped_score;
} hx_prune_tie;

typedef struct {
    hx_config src, dst;
    int *keep_layers, *keep_channels, *keep_heads, *keep_kv, *keep_neurons;
    int n_ties;          /* ties at the cuts of this plan (not for random plans) */
    hx_prune_tie *ties;
} hx_prune_plan;

/* The source layers that `p` removes, ascending, into out[0..n) (out holds
 * src.num_hidden_layers ints); returns n. */
int hx_prune_removed_layers(const hx_prune_plan *p, int *out);

/* Prints, for the plan of `name`, the removed layers (source indices, or
 * "none") and a warning for each tie at a cut (at most 8, then a count). */
void hx_prune_plan_notes(FILE *f, const char *name, const hx_prune_plan *p);

/* Checks `t` against `src` and writes the resulting student config to `dst`.
 * head_dim never changes (field case C02). Errors (HX_EINVAL) for a target
 * larger than the source, a non-positive value, query heads that do not split
 * evenly over the kept KV heads (C03), more query heads per KV group than
 * the source's groups have, or an invalid drop list. The manifest planner,
 * the runner and `harness prune` all validate targets here. */
int hx_prune_target_config(const hx_config *src, const hx_prune_targets *t, hx_config *dst);

/* hx_prune_target_config that also names the target at fault: on error
 * *field (if non-NULL) receives "hidden_size", "intermediate_size",
 * "num_attention_heads", "num_key_value_heads", "num_hidden_layers",
 * "drop_layers", or NULL when the resulting config itself is invalid. The
 * manifest validator uses it to point at the offending line and column. */
int hx_prune_target_check(const hx_config *src, const hx_prune_targets *t, hx_config *dst, const char **field);

/* Builds a plan that keeps the highest-scoring elements of each axis.
 * Layers: the num_hidden_layers highest `layer` scores (ties: lower index), or
 * everything but drop_layers. Query heads are ranked within their KV group and
 * every group keeps the same count (C01, C03); KV heads are kept unless
 * num_key_value_heads is set, then whole groups are ranked by the sum of their
 * heads' scores. Errors as hx_prune_target_config, HX_ENOMEM. */
int hx_prune_plan_build(const hx_config *src, const hx_scores *s, const hx_prune_targets *t, hx_prune_plan *p);

/* A control: the same plan shape with uniformly random choices from `rng`. */
int hx_prune_plan_random(const hx_config *src, const hx_prune_targets *t, hx_rng *rng, hx_prune_plan *p);

void hx_prune_plan_free(hx_prune_plan *p);

/* Slices `src` into a freshly allocated `dst` following `p`: embedding table
 * columns, every norm weight, the inputs of q/k/v/gate/up and outputs of
 * o/down, and the LM-head input (tied heads stay tied: one table, sliced once,
 * C11); layers renumbered 0..n-1 (C05). When residual_scores is non-NULL the
 * paper's head "residual" merging (§2.3) is applied using those head scores
 * (see merge_head_residual in prune.c for its documented ambiguities); NULL
 * (the default) slices only. When the student's config is one transformers
 * 5.x refuses (hx_config_hf5_loadable: llama with hidden_size not a multiple
 * of num_attention_heads) a warning saying so goes to stderr; the model is
 * still built (the harness and transformers 4.x load it). Errors: HX_ENOMEM. */
int hx_prune_apply(const hx_model *src, const hx_prune_plan *p, const hx_scores *residual_scores, hx_model *dst);

/* Prunes `src` by `p` (hx_prune_apply, with residual_scores as there) into
 * the Hugging Face directory `dir` (hx_model_save in `dtype`: HX_DT_F32 or
 * HX_DT_BF16), with a copy of the tokenizer.json at `tokenizer` (NULL: none):
 * the one "prune into a directory" of the runner, `harness prune` and the
 * architecture search. Errors: those of hx_prune_apply, hx_model_save and
 * hx_copy_file. */
int hx_prune_save(const hx_model *src, const hx_prune_plan *p, const hx_scores *residual_scores, hx_dtype dtype,
                  const char *tokenizer, const char *dir);

#endif
