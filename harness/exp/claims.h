/* The paper's claims that an experiment's arms test, each checked on the
 * final validation losses of its arms, paired by seed (exp/stats.h). One row
 * per claim, whether or not this manifest has the arms to test it. */
#ifndef HX_EXP_CLAIMS_H
#define HX_EXP_CLAIMS_H

#include "exp/plan.h"
#include "exp/stats.h"
#include "log/h5log.h"

typedef struct {
    const char *claim;  /* "Distillation beats conventional retraining (equal tokens)" */
    const char *source; /* where the paper says it, e.g. "[M-NIPS] T14, Best Practice #5" */
    const char *paper;  /* the paper's own numbers, as text */
    int tested;         /* 0: the manifest has no arm pair for it (left/right empty) */
    char left[128], right[128]; /* the arm groups compared (left is claimed lower in val loss) */
    hx_interval diff;   /* paired difference left - right of final val loss over shared seeds (nats) */
    hx_verdict verdict;
    char note[200];     /* conditions, e.g. "params 2.62M vs 2.71M (-3.3%)"; "" if none */
} hx_claim_row;

#define HX_N_CLAIMS 10 /* the paper's claims, in table order */

/* Evaluates every claim on the arms of `plan` that have eval rows in `log`
 * into rows[0..max), returning the number of rows: one per claim and
 * comparable pair of arm groups (arms of one group differ only by seed,
 * hx_arm.group), or one untested row for a claim without a pair. An arm's
 * value is the last val_loss of arms/<arm>/eval; the difference is taken per
 * seed run by both groups. Each left-hand group is paired with the first
 * right-hand group that has its token budget (or, for the equal-compute
 * claim, more tokens). Depth-vs-width rows need parameter counts within ±5%,
 * the equal-compute row training FLOPs (student + teacher forwards) within a
 * ratio of 0.8-1.25 (else the verdict is "within noise" with the mismatch in
 * the note). The
 * first row of each claim comes first in claim order: rows of claim k after
 * those of claim k - 1. */
int hx_claims_eval(hx_h5log *log, const hx_plan *plan, hx_claim_row *rows, int max);

/* Tokens (and FLOPs) a `scratch` arm needed to reach the final validation
 * loss of the `prune_kd` arm, against what prune_kd trained, read from their
 * eval curves (first seed of each): the paper's "up to 40x fewer training
 * tokens". Writes one sentence into buf; returns 0 when the manifest lacks
 * either arm (buf empty). */
int hx_claims_token_ratio(hx_h5log *log, const hx_plan *plan, char *buf, size_t len);

#endif
