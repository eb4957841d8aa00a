/* Choosing prune targets: by a parameter budget, and the intermediate
 * architectures of iterative pruning (Minitron NeurIPS 2024 §2.3, T12). */
#ifndef HX_MINITRON_TARGETS_H
#define HX_MINITRON_TARGETS_H

#include "minitron/prune.h"

#include <stdint.h>

/* ModelOpt's (v0.2x "MO-old") divisor for hidden_size and intermediate_size. */
#define HX_WIDTH_DIVISOR 64

/* Width divisor for budget targets and iterative schedules: ModelOpt's
 * HX_WIDTH_DIVISOR (64), halved while the teacher's hidden_size has fewer
 * than 8 multiples of it, so mini-scale models (hidden 32..256) still get a
 * grid of candidate widths; paper-scale models keep 64. */
int hx_width_divisor(const hx_config *teacher);

/* Nearest multiple of `divisor` to x (halves round up), clamped into
 * [lo, hi]; when no multiple lies in [lo, hi] the clamped x itself. */
int hx_round_divisor(double x, int divisor, int lo, int hi);

/* Parameter-budget targets. The axes fixed in `t` (layers, query and KV
 * heads, and hidden_size or intermediate_size when given) are kept as given
 * (0 keeps the source size: the paper's preference for keeping attention
 * heads, [P] Insight General.3, and depth). The free axes among hidden_size
 * and intermediate_size are chosen on the grid of multiples of `divisor`
 * (plus the source size itself) not above the source, as follows:
 *   1. keep the pairs (hidden, intermediate) whose hx_config_param_count is
 *      within budget·(1 ± tolerance);
 *   2. among them take the most uniform shrink: the smallest
 *      |ln(hidden/hidden_src) − ln(intermediate/intermediate_src)|
 *      (0 when only one axis is free);
 *   3. ties: the count closest to the budget, then the larger hidden_size.
 * Writes the choice into t->hidden_size and t->intermediate_size.
 * Deterministic. Errors (HX_EINVAL): budget <= 0, tolerance < 0,
 * divisor < 1, no free axis, targets rejected by hx_prune_target_config, or
 * no pair within the tolerance (the message gives the reachable range). */
int hx_budget_targets(const hx_config *src, int64_t budget, double tolerance, int divisor, hx_prune_targets *t);

/* Iterative pruning schedule (NeurIPS 2024 §2.3, Table 12): for T rounds
 * from `src` to `dst`, round i = 1..T prunes to d_s − i·(d_s − d_t)/T on
 * every axis, rounded to the nearest allowed value: hidden_size and
 * intermediate_size to multiples of `divisor`, num_attention_heads to
 * multiples of that round's num_key_value_heads (C03), layers and KV heads
 * to integers; each value clamped into [d_t, d_s], and round T is exactly
 * `dst`. out[0..T) receives the T target configs (every other field as
 * `dst`). The runner prunes round i's model from round i−1's (importance
 * recomputed) and distils in between. Errors (HX_EINVAL): T < 1,
 * divisor < 1, `dst` larger than `src` on some axis. */
int hx_iterative_schedule(const hx_config *src, const hx_config *dst, int T, int divisor, hx_config *out);

#endif
