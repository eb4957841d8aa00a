/* The training loop: random init or a Hugging Face checkpoint, token shards,
 * gradient accumulation, an exact token budget, AdamW with a learning-rate
 * schedule, clipping, validation loss every N tokens, HDF5 logging, safe
 * checkpoints and bit-exact resume (fixed thread count, CPU fp32 engine). */
#ifndef HX_TRAIN_TRAINER_H
#define HX_TRAIN_TRAINER_H

#include "model/config.h"
#include "data/shard.h"
#include "model/engine.h"
#include "model/model.h"
#include "train/kd.h"
#include "train/monitor.h"
#include "train/schedule.h"

#include <stdint.h>

typedef struct {
    /* model: `init_from` (HF directory) or, when NULL, `model` with random
     * init from `seed` (hx_model_init_random). */
    const char *init_from;
    hx_config model;
    uint64_t seed;           /* model init and data order */
    /* data (hx_dataset_open specs); val_data may be NULL (no evaluation) */
    const char *train_data, *val_data;
    int seq_len, micro_batch, grad_accum;
    /* Trained tokens at which the run stops, exactly. One optimizer step takes
     * micro_batch*seq_len*grad_accum tokens; the last step takes fewer
     * micro-batches when needed, so the budget must be a multiple of
     * micro_batch*seq_len (tokens per micro-batch). */
    int64_t token_budget;
    /* The schedule counts optimizer steps; warmup/total are in steps. total
     * <= 0 is replaced by the number of steps of the budget. */
    hx_schedule schedule;
    hx_adamw_config adamw;
    double grad_clip;           /* max global norm; <= 0: no clipping */
    int64_t eval_every_tokens;  /* <= 0: only at the end */
    int eval_batches;           /* validation batches per evaluation (micro_batch rows each) */
    const char *ckpt_dir;       /* checkpoint root; NULL: no checkpoints */
    int64_t ckpt_every_steps;   /* <= 0: only at the end */
    int keep_last;              /* checkpoints kept (<= 0: all) */
    const char *log_path;       /* HDF5 run log; NULL: none */
    const char *arm;            /* arm name in the log (tables arms/<arm>/train, eval) */
    /* Run-level attributes of the log (on "/": provenance, start, resume
     * and end times) belong to the owner of the run. Set run_provenance (the
     * text recorded as the manifest) when this training is the whole run
     * (`harness train`); leave it NULL when a caller that owns the log (the
     * runner, the search) writes them: the trainer then writes its arm's
     * groups only, so an unfinished experiment never looks finished. */
    const char *run_provenance;
    hx_nan_policy nan_policy;
    int resume;                 /* 1: continue from the latest complete checkpoint in ckpt_dir */
    int64_t stop_after_steps;   /* > 0: stop (with a checkpoint) after this step, as if interrupted */
    double progress_interval_s; /* plain progress lines off a terminal; <= 0: 30 s */
    int quiet;                  /* 1: no progress output */
    /* Knowledge distillation (Minitron NeurIPS 2024 §3; train/kd.h). With
     * `teacher` set, the loss of a micro-batch is
     *   kd.w_ce * sum CE + sum tau^2 KL(p_t || p_s)   (reverse KL with kd.reverse_kl)
     * over its unmasked tokens, divided once by the global batch's unmasked
     * count (field case C08). The teacher runs forward only. A vocabulary size
     * mismatch uses the shared first min(V_s, V_t) ids (C07) and is logged. */
    /* Optional extra metrics at every evaluation point (e.g. task accuracy):
     * called with the current model after the validation loss; it writes up
     * to max_cols column names (pointers that stay valid for the whole run)
     * and values, appended to the same row of arms/<arm>/eval, and returns
     * how many it wrote or a negative error. */
    int (*eval_hook)(void *ctx, const hx_model *m, int64_t tokens, const char **names, double *values,
                     int max_cols);
    void *eval_hook_ctx;
    const char *teacher;        /* HF model directory; NULL: plain cross-entropy */
    /* The distillation settings (train/kd.h, as the manifest binds them).
     * With kd.n_intermediate > 0 the states are the post-norm ones of
     * hx_kd_state and ONE shared learned map W [teacher hidden, student hidden]
     * (train/kd_is.h: init, trained by its own AdamW with the same lr
     * schedule, weight decay and clipping as the model, saved as
     * kd_map.safetensors in each checkpoint). The train table then gains
     * loss_is (L_is) and alpha (the effective weight: sum alpha_m L_is,m /
     * sum L_is,m, so loss = w_ce * loss_ce + loss_kd + alpha * loss_is). */
    hx_kd_opts kd;
    /* Added to the `tokens` column of every logged row (train and eval) and
     * to the truncation point on resume, so consecutive runs (rounds of
     * iterative pruning) log one cumulative curve into the same arm. The
     * budget, schedule and checkpoints still count this run's tokens only. */
    int64_t log_token_offset;
    /* Where the passes run (model/device.h): HX_DEVICE_CUDA trains on the GPU
     * in bf16 (fp32 master weights, gradients and AdamW), the teacher forward
     * in bf16, the evaluation hook on the host copy of the weights; AUTO and
     * CPU run the fp32 CPU engine. recompute (CUDA only): recompute each
     * layer's activations in the backward instead of keeping them. */
    hx_device device;
    int recompute;
    /* CPU: tokens per chunk of the LM head and its losses, so that the logits
     * of a whole micro-batch never exist (0: hx_head_rows_auto in
     * model/forward.h: all at once while the student's and the teacher's
     * logits fit in 512 MiB each, as before). */
    int head_rows;
    /* With kd.top_k > 0: the directory of the teacher-logit cache shared by
     * every KD arm and seed (train/logit_cache.h; the caller names it by the
     * teacher, the training data, seq_len, k and tau), or NULL to extract the
     * top-k logits from a teacher forward at every micro-batch. */
    const char *logit_cache;
    /* Data parallelism (core/dist.h: mpirun or srun): rank r of N takes the
     * micro-batches a with a % N == r of every optimizer step, so that each
     * global batch holds the same windows for any N (grad_accum must be a
     * multiple of N); gradients and loss sums are summed over ranks before the
     * one normalisation by the global token count. With ZeRO-1 (the default
     * when N > 1; no_zero1 = 1 turns it off) the gradients are reduce-scattered,
     * each rank runs AdamW on its shard of the parameters with its shard of the
     * moments, and the weights are all-gathered. Rank 0 alone writes the log
     * and the checkpoints (the whole model and the gathered moments, so that a
     * run resumes with any N). */
    int no_zero1;
} hx_train_config;

/* Defaults: micro_batch 1, grad_accum 1, cosine schedule with min_lr =
 * peak_lr/10, AdamW defaults, clip 1.0, eval 4 batches, keep_last 2,
 * arm "train", no teacher, KD temperature 1 and CE weight 0. The caller fills the model, data, budget and peak_lr. */
hx_train_config hx_train_defaults(void);

/* What a run did (for the caller and tests). */
typedef struct {
    int64_t steps, tokens, skipped_steps;
    double last_loss, last_val_loss;
    double tokens_per_s;
} hx_train_result;

/* Runs (or resumes) training as configured. On a non-finite loss with the
 * STOP policy returns HX_ENAN naming the step and the last checkpoint; with
 * the SKIP policy the skipped update writes no train row (the next row's
 * skipped_steps counts it). No non-finite value is ever logged: a NaN or Inf
 * validation loss or eval-hook value is HX_ENAN naming the step and column.
 * Errors: HX_EINVAL (inconsistent configuration, naming the field), I/O and
 * engine errors with their messages. */
int hx_train(const hx_train_config *cfg, hx_train_result *res);

/* Validation LM loss (nats/token): the mean cross-entropy over the first
 * `batches` in-order validation batches of `val` (hx_val_batch), shaped by the
 * workspace (ws->B sequences of ws->T tokens); x and y are [B*T] scratch.
 * This is the loss every arm logs, so arms are compared on the same tokens.
 * Errors: HX_EINVAL (validation data shorter than one batch), engine errors. */
int hx_val_loss(const hx_model *m, hx_workspace *ws, const hx_dataset *val, int batches, int32_t *x, int32_t *y,
                double *loss);

#endif
