/* summary.md of an experiment: a paper-style table of each arm's final
 * metrics, read back from the HDF5 results file alone. */
#ifndef HX_EXP_SUMMARY_H
#define HX_EXP_SUMMARY_H

#include "exp/plan.h"

#include <stdio.h>

/* Writes <dir>/summary.md from the arms of `plan` that have eval rows in
 * `h5` (arms not run yet are left out): kind,
 * parameters, trained tokens, validation loss and perplexity at the last eval
 * point, and `<task>.acc` / `<task>.acc_norm` columns of the manifest's eval
 * tasks when present; then the paper's expected ordering (NeurIPS 2024 T14:
 * val loss prune_kd < prune_ce < scratch) checked on these numbers. The same
 * text goes to `out` (may be NULL). Errors: HX_EIO. */
int hx_write_summary(const char *h5, const char *dir, const hx_plan *plan, FILE *out);

#endif
