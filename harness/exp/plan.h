/* The execution plan of a validated manifest: the teacher, the importance
 * passes, each arm's student architecture, parameter count, eval points and
 * estimated compute (FLOPs) and time. `harness run --dry-run` prints it; the
 * runner walks the same arms.
 *
 * FLOP model (per token; Kaplan et al. 2020 §2.1 / Chinchilla App. F
 * convention, with the causal mask counted):
 *   N_mm     = matmul parameters = L·(2·h·q + 2·h·kv + 3·h·f) + V·h
 *              (2·h·f for Nemotron's non-gated MLP)
 *              (q = heads·head_dim, kv = kv_heads·head_dim; the LM head
 *              counts, the embedding lookup and norms do not)
 *   attn     = 2·L·q·(T+1)      (QKᵀ and A·V: 2·2·q multiply-adds per
 *              attended position, a token attends (T+1)/2 positions on average)
 *   forward  = 2·N_mm + attn
 *   training = 3·forward        (backward = 2 × forward), i.e. 6·N·D + attention
 *   KD arm   = training(student) + forward(teacher) per token
 *   eval     = eval points × eval.val_tokens × forward(model)
 *   importance pass = samples·seq_len × forward(teacher) × passes, with
 *              passes = 1 (width scores and BI), + L (depth=ppl: one forward
 *              per removed layer), or + (L − block_len + 1) (depth=block)
 * Time = FLOPs / (GFLOP/s · 1e9). The GFLOP/s figure is a rough prior
 * (HX_PLAN_DEFAULT_GFLOPS) until `harness bench` measures the machine. */
#ifndef HX_EXP_PLAN_H
#define HX_EXP_PLAN_H

#include "model/flops.h" /* hx_plan_param_count, hx_flops_forward_per_token */
#include "exp/manifest.h"
#include "minitron/prune.h"
#include "model/config.h"

#include <stddef.h>
#include <stdio.h>

/* Effective fp32 throughput assumed for time estimates when none is given:
 * 2 CPU cores running small OpenBLAS GEMMs plus the non-GEMM ops, in GFLOP/s.
 * Measured: `make demo` (1.73e13 FLOP by this model) took 403 s on the 2-core
 * development VM, about 43 GFLOP/s. */
#define HX_PLAN_DEFAULT_GFLOPS 40.0

typedef struct {
    double train;      /* student (or teacher) forward+backward */
    double teacher;    /* teacher forwards for KD */
    double importance; /* importance passes first needed by this arm */
    double eval;       /* validation at every eval point */
    double total;
} hx_flops;

typedef struct {
    const hx_arm *arm;
    hx_config student;   /* the (final) student architecture */
    size_t student_params;
    int n_eval_points;   /* including token 0 and the final budget */
    int importance_shared_with; /* index into hx_plan.arms of the arm whose pass is reused, or -1 */
    char hash[65];       /* HX_ART_ARM content hash (inputs digested by content) */
    hx_flops flops;
    double seconds;
} hx_arm_plan;

typedef struct {
    const hx_manifest *m;
    int teacher_known;    /* 0: architecture read from config.json at run time */
    hx_config teacher;
    size_t teacher_params;
    char teacher_hash[65];
    double teacher_flops; /* training + correction + its evals (0 when loaded) */
    double gflops;
    const char *unsupported; /* why `run` must refuse, or NULL */
    int n_arms;
    hx_arm_plan *arms;    /* the selected arms */
    double total_flops, total_seconds;
} hx_plan;

/* Device memory of one training arm on one GPU of the CUDA tier (issue
 * [5/7]), in bytes: bf16 weights, fp32 gradients, fp32 master weights and
 * fp32 AdamW moments for the student; the teacher's bf16 weights and one
 * layer of forward-only activations for KD; activations saved for the
 * backward pass in bf16 per layer and token: x, both norm outputs, x_mid,
 * q, k, v, the attention output, gate, up and the SwiGLU output, plus an
 * fp32 logsumexp per head ((4 h + 2 q + 2 kv + 3 f) x 2 + 4 heads bytes);
 * with recomputation only each layer's input (2 h bytes) and one layer's
 * activations while it is recomputed. Logits are never
 * materialised whole: student logits, their gradient and the teacher's
 * logits exist for HX_LOGIT_CHUNK tokens at a time in fp32. A fixed
 * reserve covers the CUDA context and cuBLASLt/cuDNN workspaces. */
#define HX_LOGIT_CHUNK 1024
#define HX_DEVICE_RESERVE 2e9
typedef struct {
    double teacher_weights, student_weights, gradients, master, optimizer;
    double activations, teacher_activations, logits, reserve, total;
} hx_mem_plan;

/* The plan above for a student `s` trained on micro_batch x seq_len tokens
 * per pass, distilled from `teacher` when it is not NULL. */
hx_mem_plan hx_plan_device_memory(const hx_config *s, const hx_config *teacher, int micro_batch, int seq_len,
                                  int recompute);


/* The prune targets of arm spec `p` on `teacher` into `t`: as written, or
 * for a param_budget the hidden_size and intermediate_size that
 * hx_budget_targets picks on the hx_width_divisor(teacher) grid. `student`
 * (may be NULL) receives the student architecture. Validated by
 * hx_prune_target_config, the rule the pruner applies, so an impossible
 * target fails here, before any work starts. Errors: those of
 * hx_budget_targets and hx_prune_target_config. */
int hx_plan_targets(const hx_config *teacher, const hx_prune_spec *p, hx_prune_targets *t, hx_config *student);

/* Architecture after round r (0-based) of T iterative rounds: every pruned
 * axis moves linearly, d_s − (r+1)·(d_s − d_t)/T (NeurIPS 2024 §2.3), query
 * heads rounded down to a multiple of the KV heads. */
void hx_iterative_config(const hx_config *teacher, const hx_config *target, int r, int T, hx_config *out);

/* Builds the plan for the arms of `m` selected by `only` (NULL: all; else an
 * exact arm name or a base name, selecting all its sweep points) at `gflops`
 * (≤ 0: HX_PLAN_DEFAULT_GFLOPS). Errors: HX_EINVAL (no arm matches `only`),
 * HX_ENOMEM. */
int hx_plan_build(const hx_manifest *m, const char *only, double gflops, hx_plan *p);

/* Human-readable plan: teacher, importance, prune targets and student
 * configs, per arm kind/budget/eval points/FLOPs/time, then the totals. */
void hx_plan_print(FILE *out, const hx_plan *p);

void hx_plan_free(hx_plan *p);

#endif
