/* HDF5 storage of the Minitron stages' results in the run log
 * (schema: results/README.md, sections "importance/" and "prune/"):
 * importance scores with their settings, read back for pruning, and prune
 * plans with the source and target configs. */
#ifndef HX_MINITRON_STORE_H
#define HX_MINITRON_STORE_H

#include "log/h5log.h"
#include "minitron/importance.h"
#include "minitron/prune.h"

#include <stdint.h>

#define HX_IMPORTANCE_GROUP "importance"
#define HX_PRUNE_GROUP "prune"

/* Where the calibration data came from (recorded as attributes; strings may be NULL). */
typedef struct {
    const char *model;   /* source model directory */
    const char *data;    /* calibration data spec (hx_dataset_open) */
    int samples;         /* calibration samples */
    int seq_len;         /* tokens per sample (input positions) */
    uint64_t seed;       /* sample draw seed (hx_calib_draw) */
} hx_importance_meta;

/* Writes `r` into group `group` (NULL: "importance") of `log`:
 *   datasets (float64) layer [L], head [L, H], neuron [L, F], channel [hidden],
 *   bi [L], loss_drop [L] (when computed), block_loss [n_blocks] (when computed);
 *   attributes batch_agg, seq_agg ("mean"|"l2"|"var"), neuron ("pre"|"post"),
 *   depth ("ppl"|"bi"|"block"), depth_loss, block_len, micro_batch, samples,
 *   seq_len, seed, tokens, seconds, seconds_width, base_loss (nats/token),
 *   model, data, and where the paper and ModelOpt differ: neuron_convention
 *   and depth_convention ("paper"|"modelopt") and convention ("paper" when
 *   both follow the paper, "modelopt" when both follow ModelOpt, else "mixed").
 * Errors: HX_EIO, HX_ENOMEM. */
int hx_importance_write(hx_h5log *log, const char *group, const hx_importance *r, const hx_importance_opts *o,
                        const hx_importance_meta *meta);

/* Reads a group written by hx_importance_write into a freshly allocated `r`
 * (scores, bi, loss_drop and block_loss when present, n_blocks, base_loss,
 * tokens, seconds). Shapes are checked against each other, and against `cfg`
 * when it is not NULL (scores of another model are refused with HX_EINVAL
 * naming the dataset). Non-finite values are refused
 * (hx_importance_check_finite). Errors: HX_EINVAL (missing dataset or shape
 * mismatch), HX_ENAN, HX_EIO, HX_ENOMEM. */
int hx_importance_read(hx_h5log *log, const char *group, const hx_config *cfg, hx_importance *r);

/* hx_importance_read of group `group` in the existing HDF5 file `path`
 * (opened and closed here). Errors: HX_EIO when the file cannot be read, and
 * those of hx_importance_read, with the file and group named. */
int hx_importance_load(const char *path, const char *group, const hx_config *cfg, hx_importance *r);

/* How a plan was made (recorded as attributes). */
typedef struct {
    int random;         /* 1: random plan (control), 0: importance */
    uint64_t seed;      /* random plans */
    int head_residual;  /* 1: paper §2.3 head-residual merging applied */
    const char *scores; /* "FILE.h5:group" the scores came from (may be NULL) */
} hx_prune_meta;

/* Writes `p` into group `group` (NULL: "prune"): int64 datasets keep_layers
 * [L'], keep_channels [hidden'], keep_heads [L', H'], keep_kv [L', KV'],
 * keep_neurons [L', F'] (source indices), attributes source_config and
 * target_config (config.json as JSON strings), method ("importance"|"random"),
 * seed, head_residual, source_params and target_params (elements,
 * hx_config_param_count), scores, transformers5_loadable (0/1,
 * hx_config_hf5_loadable of the target). Errors: HX_EIO, HX_ENOMEM. */
int hx_prune_plan_write(hx_h5log *log, const char *group, const hx_prune_plan *p, const hx_prune_meta *meta);

#endif
