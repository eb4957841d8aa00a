/* Checkpoint directories: safe writes (temporary name, fsync, COMPLETE
 * marker, rename), keeping the last K, finding the latest complete one, and
 * the trainer state stored beside the Hugging Face model directory.
 *
 * Layout of one checkpoint, <root>/step-00000123/:
 *   config.json, model.safetensors (or shards + index)  the HF model dir (hx_model_save)
 *   tokenizer.json                                     copied by the caller when it has one
 *   optimizer.safetensors   AdamW moments, F32: "<param name>.exp_avg" and
 *                           "<param name>.exp_avg_sq", shaped like the parameter
 *   trainer_state.json      step, tokens, skipped_steps, optimizer_step, rng,
 *                           sampler position, last lr, run config
 *   COMPLETE                written last: "<sha256>  <file>" per file (sha256sum -c format)
 * While being written the directory is step-00000123.tmp-<pid>; it is renamed
 * to its final name only after COMPLETE is on disk, so a final name always
 * means a complete checkpoint. */
#ifndef HX_TRAIN_CKPT_H
#define HX_TRAIN_CKPT_H

#include "model/model.h"
#include "model/engine.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A checkpoint being written. */
typedef struct {
    char *root;      /* the checkpoint root directory */
    char *tmp_dir;   /* <root>/step-XXXXXXXX.tmp-<pid>: write files here */
    char *final_dir; /* <root>/step-XXXXXXXX */
    int64_t step;
} hx_ckpt_tx;

/* Creates <root> (and parents) and a fresh temporary directory for `step`,
 * removing temporary directories left by processes that no longer run.
 * Errors: HX_EINVAL (step < 0), HX_EIO/HX_ENOSPC naming the directory. */
int hx_ckpt_begin(const char *root, int64_t step, hx_ckpt_tx *tx);

/* Completes a checkpoint: hashes and fsyncs every file in tmp_dir, writes
 * COMPLETE, fsyncs the directory, renames it to final_dir (an existing
 * checkpoint of the same step is replaced), fsyncs root, then deletes all but
 * the newest `keep_last` complete checkpoints (keep_last <= 0 keeps all).
 * On failure the temporary directory is removed and earlier checkpoints are
 * untouched. Frees tx in all cases. Errors: HX_EIO, HX_ENOSPC. */
int hx_ckpt_commit(hx_ckpt_tx *tx, int keep_last);

/* Deletes all but the newest `keep_last` complete checkpoints under `root`
 * (keep_last <= 0 keeps all), as hx_ckpt_commit does after each commit; for a
 * run killed between its last commit and that deletion, which would otherwise
 * keep one checkpoint too many for good. Each is renamed aside before it is
 * removed, so a kill during the removal never leaves a half-deleted step
 * directory. Errors: HX_EIO. */
int hx_ckpt_prune(const char *root, int keep_last);

/* Removes the temporary directory and frees tx. */
void hx_ckpt_abort(hx_ckpt_tx *tx);

/* Writes the caller's files into `dir` (the temporary checkpoint directory). */
typedef int (*hx_ckpt_write_fn)(const char *dir, void *ctx);

/* begin + fn(tmp_dir, ctx) + commit, or abort when fn fails. `saved`, when
 * non-NULL, receives the final directory (caller frees). */
int hx_ckpt_save(const char *root, int64_t step, int keep_last, hx_ckpt_write_fn fn, void *ctx, char **saved);

/* Finds the complete checkpoint with the highest step under `root`.
 * Returns 1 and sets *path (caller frees) and *step when found, 0 when there
 * is none (including a missing root), or a negative status. Directories
 * without COMPLETE and temporary directories are skipped. */
int hx_ckpt_latest(const char *root, char **path, int64_t *step);

/* Checks that `dir` is a complete checkpoint: COMPLETE exists and lists
 * files that exist; with `verify` also re-hashes each and compares.
 * Errors: HX_EFORMAT with a message saying the checkpoint is incomplete or
 * corrupt and must not be resumed from. */
int hx_ckpt_check(const char *dir, int verify);

/* Writes the AdamW moments of `opt` (for the parameters of `params`) as
 * <dir>/optimizer.safetensors. Errors: HX_EIO, HX_ENOSPC. */
int hx_ckpt_write_optim(const char *dir, const hx_adamw *opt, const hx_model *params);

/* ZeRO-1's layout of the same moments: one file per data-parallel rank,
 * <dir>/optimizer-<r>-of-<N>.safetensors with 1-D tensors exp_avg and
 * exp_avg_sq over that rank's shard [lo, hi) of the flat parameters
 * (core/dist.h's hx_dist_shard partition), and the manifest
 * <dir>/optimizer.json: {"format": "zero1", "world_size": N, "n_floats":
 * n, "shards": [{"file", "offset", "length"}, ...]}. `opt` holds the full
 * moments (gathered by the caller). Errors: HX_EIO, HX_ENOSPC. */
int hx_ckpt_write_optim_shards(const char *dir, const hx_adamw *opt, int world_size);

/* Reads the moments written by hx_ckpt_write_optim, or the shards of
 * hx_ckpt_write_optim_shards (any world size: they are laid out again into
 * the flat arrays, so a run resumes with another number of ranks), into
 * `opt` (already initialised for `params`); every tensor must be present
 * with its shape. Errors: HX_EIO, HX_EFORMAT naming the tensor or the
 * manifest field, HX_ENAN for a non-finite element (named). */
int hx_ckpt_read_optim(const char *dir, hx_adamw *opt, const hx_model *params);

/* Trainer state beside the model. */
typedef struct {
    int64_t step;           /* optimizer steps taken (including skipped ones) */
    int64_t tokens;         /* trained tokens */
    int64_t skipped_steps;  /* steps skipped by the non-finite-loss policy */
    int64_t optimizer_step; /* AdamW update count t */
    uint64_t rng_state;     /* hx_rng state of the trainer */
    double lr;              /* learning rate of the last update */
    json_t *sampler;        /* data sampler position (owned; may be NULL) */
    json_t *config;         /* run configuration (owned; may be NULL) */
} hx_train_state;

/* Writes <dir>/trainer_state.json (atomic, fsynced); the rng state is a
 * 16-digit hex string so no precision is lost. Errors: HX_EIO, HX_ENOSPC. */
int hx_ckpt_write_state(const char *dir, const hx_train_state *st);

/* Reads <dir>/trainer_state.json into `st` (sampler and config are new
 * references the caller releases with hx_train_state_clear). Errors: HX_EIO,
 * HX_EFORMAT naming the field. */
int hx_ckpt_read_state(const char *dir, hx_train_state *st);
void hx_train_state_clear(hx_train_state *st);

/* Test hook: replaces the function that writes trainer_state.json and
 * COMPLETE (default hx_write_file_atomic), e.g. to simulate a full disk.
 * NULL restores the default. */
void hx_ckpt_set_write_hook(int (*fn)(const char *path, const void *data, size_t len));

#endif
