/* The experiment runner behind `harness run MANIFEST`: prepares token shards,
 * trains (or loads, and optionally corrects) the teacher, estimates
 * importance, prunes, trains every arm (scratch, prune + CE, prune + KD,
 * random + KD, depth + KD, iterative prune + KD), evaluates
 * at the manifest's eval points and writes results/<experiment>/ (HDF5 log,
 * checkpoints, students, summary.md, plots). Artifacts shared across
 * manifests (token shards, trained teachers) live in outputs.cache_dir, keyed
 * by the content hash of their inputs. */
#ifndef HX_EXP_RUNNER_H
#define HX_EXP_RUNNER_H

#include "exp/plan.h"

typedef struct {
    int resume; /* 1: continue the run in outputs.dir (arms already at their budget are kept) */
    int fresh;  /* 1: delete the previous results in outputs.dir first (excludes resume) */
    int quiet;  /* 1: no training progress lines */
    /* Data parallelism (core/dist.h): every rank runs the runner; training,
     * importance and evaluation are collective, and the ranks other than 0
     * write their HDF5 log, pruned students and other outputs into a
     * private outputs.dir (set by the caller) while reading the checkpoints
     * under shared_dir, rank 0's outputs.dir (NULL: outputs.dir). Only rank 0
     * writes the shared cache, the checkpoints, the summary and the plots. */
    const char *shared_dir;
} hx_run_opts;

/* Checks, before any work, what `plan` needs that the runner cannot do:
 * token budgets (teacher, teacher correction, arms) that are not multiples
 * of micro_batch x seq_len; iterative_kd arms with drop_layers, random
 * pruning, depth=block layer removal, or fewer micro-batches than rounds;
 * on device cuda, hx_run_check_device with the GPU's memory.
 * Errors: HX_EINVAL naming the arm and field. */
int hx_run_check(const hx_plan *plan);

/* The CUDA tier's checks of every arm of `plan`: KD settings that run on the
 * CPU only (kd.intermediate, reverse KL), and, when gpu_bytes > 0, the arm's
 * device memory plan (hx_plan_device_memory, with the manifest's recompute)
 * against gpu_bytes. Errors: HX_EINVAL naming the arm, the GB needed and
 * what would make it fit: recompute: true, micro_batch 1, or ZeRO-1 across
 * ranks. */
int hx_run_check_device(const hx_plan *plan, double gpu_bytes);

/* Runs the arms selected in `plan` (hx_plan_build): data, teacher (trained
 * or loaded), teacher correction (teacher.correction.tokens > 0: arm
 * `teacher_correction`; KD arms then distil from the corrected teacher while
 * importance stays the original teacher's), then every arm. prune.param_budget
 * picks hidden_size/intermediate_size with hx_budget_targets; kd.intermediate
 * pairs go to the trainer's L_is; iterative_kd arms run `iterations` rounds
 * of prune-then-distil (see run_iterative in runner.c). Errors name the stage
 * and the arm; hx_run_check's refusals come first.
 * The results folder holds one experiment. A folder that already holds
 * results (its HDF5 file, checkpoints/ or students/) is refused unless
 * `resume` continues them or `fresh` deletes them first; another
 * experiment's HDF5 file there is always refused. Under `resume`, every
 * reused artifact must come from the same inputs: each arm's HDF5 group and
 * checkpoint folder carry the arm's content hash (attribute content_hash,
 * file INPUTS), the teacher's its TEACHER hash, and a mismatch is refused
 * before anything is trained. */
int hx_run(const hx_plan *plan, const hx_run_opts *o);

#endif
