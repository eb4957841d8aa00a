/* Feedback for the training loop: the status line (step, tokens, loss, lr,
 * tokens/s, ETA) shown through hx_progress, and the policy for non-finite
 * losses and gradient norms (stop, or skip the update and count it). */
#ifndef HX_TRAIN_MONITOR_H
#define HX_TRAIN_MONITOR_H

#include "core/util.h"

#include <stddef.h>
#include <stdint.h>

/* Formats the status line, e.g.
 *   "step 120 | tokens 491.5k/1.0M (48.0%) | loss 3.2100 | lr 3.00e-04 | 12.3k tok/s | ETA 41s"
 * total_tokens <= 0 omits the total, the percentage and the ETA; the ETA is
 * (total_tokens - tokens) / tokens_per_s and is shown as "?" when the rate is
 * not positive. Returns buf. */
char *hx_train_status(char *buf, size_t n, int64_t step, int64_t tokens, int64_t total_tokens, double loss, double lr,
                      double tokens_per_s);

/* Shows the status line through `p`: redrawn in place on a terminal, plain
 * lines every p->interval_s seconds otherwise; `force` shows it regardless
 * (e.g. for the final step). */
void hx_train_progress(hx_progress *p, int force, int64_t step, int64_t tokens, int64_t total_tokens, double loss,
                       double lr, double tokens_per_s);

/* "1h02m", "3m05s", "41s", "2d03h": a duration for humans. */
char *hx_format_duration(char *buf, size_t n, double seconds);

typedef enum {
    HX_NAN_STOP = 0, /* stop the run at the first non-finite loss or gradient norm */
    HX_NAN_SKIP = 1, /* skip the update (no optimizer step), count it, go on */
} hx_nan_policy;

typedef struct {
    hx_nan_policy policy;
    int max_consecutive; /* SKIP: stop after this many skipped steps in a row (<= 0: 10) */
    int64_t skipped;     /* steps skipped so far (logged as skipped_steps) */
    int consecutive;     /* current run of skipped steps */
} hx_nan_guard;

/* Checks the loss and pre-clip gradient norm of step `step` (1-based).
 * Returns HX_OK when both are finite (the update proceeds), 1 when the
 * update must be skipped (SKIP policy; skipped is incremented), or HX_ENAN
 * with a message naming the step, the offending value, and `last_ckpt`
 * (the last good checkpoint to resume from, or that none exists yet). */
int hx_nan_check(hx_nan_guard *g, int64_t step, double loss, double grad_norm, const char *last_ckpt);

#endif
