/* Activation-based importance estimation (Minitron NeurIPS 2024 §2.1-2.2;
 * [P] "Layer Importance") from forward passes over a calibration set:
 * width axes (attention heads, MLP neurons, embedding channels) through a
 * layer hook, and depth (Block Importance, LM loss with a layer removed,
 * LM loss with a contiguous block removed). */
#ifndef HX_MINITRON_IMPORTANCE_H
#define HX_MINITRON_IMPORTANCE_H

#include "minitron/aggregate.h"
#include "minitron/scores.h"
#include "model/model.h"

#include <stdint.h>

typedef enum {
    HX_DEPTH_PPL = 0,   /* layer score = LM loss with the layer removed (paper default for depth) */
    HX_DEPTH_BI = 1,    /* layer score = Block Importance (ShortGPT) */
    HX_DEPTH_BLOCK = 2, /* [P]: drop the contiguous block whose removal costs least (block_loss);
                           layer scores are then the per-layer removal losses */
} hx_depth_metric;

/* Names indexed by hx_depth_metric ("ppl", "bi", "block") and by
 * hx_importance_opts.neuron_post ("pre", "post"), NULL-terminated: the one
 * table the manifest, the command line and the HDF5 attributes use. */
extern const char *const hx_depth_names[];
extern const char *const hx_neuron_names[];
const char *hx_depth_metric_name(hx_depth_metric d);

typedef struct {
    hx_agg batch_agg, seq_agg; /* paper default: batch = L2, seq = mean */
    int neuron_post;           /* 0: pre-activation gate_proj output (paper); 1: input of down_proj (ModelOpt) */
    hx_depth_metric depth;     /* which depth metric fills scores.layer */
    int depth_loss;            /* 1: run the L extra passes for per-layer removal losses */
    int block_len;             /* > 0: also the loss with each contiguous block of this length removed */
    int micro_batch;           /* calibration samples per forward pass (>= 1) */
    int bf16;                  /* 1: forward passes in bf16 (CPUs with AVX512-BF16; model.h) */
} hx_importance_opts;

/* Defaults: batch L2, seq mean, pre-activation neurons, depth by loss with
 * layer removal, no block scan, micro-batch 1. */
hx_importance_opts hx_importance_defaults(void);

typedef struct {
    hx_scores scores;   /* per axis, higher = more important; scores.layer per opts.depth */
    double *bi;         /* [num_layers] Block Importance: 1 - mean clamped cosine(x_l, x_{l+1}) */
    double *loss_drop;  /* [num_layers] mean LM loss (nats/token) with layer l removed; NULL unless depth_loss */
    double *block_loss; /* [num_layers - block_len + 1] loss with layers [i, i+block_len) removed; NULL unless block_len */
    int n_blocks;
    double base_loss;   /* mean LM loss of the full model on the calibration set (nats/token) */
    long tokens;        /* calibration tokens scored (samples x seq_len) */
    double seconds;     /* wall time of the whole pass */
    double seconds_width; /* wall time of the width (hooked) forward passes alone */
} hx_importance;

/* Runs the importance pass.
 *   samples [n_samples, seq_len + 1]: packed token windows (no padding); the
 *   first seq_len tokens are the input, the next-token targets give the LM loss.
 * Accumulation is in fp32 activations with double sums. Bit for bit
 * deterministic for a fixed thread count and micro_batch. Across micro_batch
 * values the scores agree to a relative 1e-5 but not bit for bit (measured
 * 2.4e-7 in tests/test_importance.c): the BLAS kernels round differently for
 * different numbers of rows (OpenBLAS's Haswell sgemm: M = 8 vs 16 differ in
 * the last bits), and the loss and BI sums are grouped by micro-batch.
 * Errors: HX_EINVAL (bad options, ids out of range), HX_ENOMEM, HX_ENAN (a
 * non-finite score or loss, hx_importance_check_finite; nothing is returned). */
int hx_importance_run(const hx_model *m, const int32_t *samples, int n_samples, int seq_len,
                      const hx_importance_opts *o, hx_importance *out);
void hx_importance_free(hx_importance *r);

/* Refuses non-finite results before they are stored or used for ranking:
 * every element of scores (layer, head, neuron, channel), bi, loss_drop and
 * block_loss (when present) and base_loss must be finite. Errors: HX_ENAN
 * "importance: scores.<axis>: element <i> is nan" for the first bad one. */
int hx_importance_check_finite(const hx_importance *r);

/* First layer of the contiguous block whose removal gives the lowest loss
 * (ties: the earliest), or -1 when no block scan was run. */
int hx_importance_best_block(const hx_importance *r);

#endif
