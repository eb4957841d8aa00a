/* The experiment runner behind `harness run MANIFEST`: prepares token shards,
 * trains (or loads) the teacher, estimates importance, prunes, trains every
 * arm (scratch, prune + CE, prune + KD, random + KD, depth + KD), evaluates
 * at the manifest's eval points and writes results/<experiment>/ (HDF5 log,
 * checkpoints, students, summary.md, plots). Artifacts shared across
 * manifests (token shards, trained teachers) live in outputs.cache_dir, keyed
 * by the content hash of their inputs. */
#ifndef HX_EXP_RUNNER_H
#define HX_EXP_RUNNER_H

#include "exp/plan.h"

typedef struct {
    int resume; /* 1: continue an interrupted run (arms already at their budget are kept) */
    int quiet;  /* 1: no training progress lines */
} hx_run_opts;

/* Runs the arms selected in `plan` (hx_plan_build). Errors name the stage
 * and the arm. Refuses (HX_EINVAL) what the runner does not support yet:
 * param_budget targets, intermediate-state KD losses, iterative_kd arms. An
 * existing results file is not overwritten without `resume`. */
int hx_run(const hx_plan *plan, const hx_run_opts *o);

#endif
