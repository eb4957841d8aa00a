/* Learning-rate schedules as a function of training progress: linear warm-up
 * followed by cosine, linear or constant, or warmup-stable-decay (WSD).
 * Progress is counted in one unit chosen by the caller (optimizer updates or
 * trained tokens); warmup and total are in that same unit. */
#ifndef HX_TRAIN_SCHEDULE_H
#define HX_TRAIN_SCHEDULE_H

#include <stdint.h>

typedef enum {
    HX_SCHED_CONSTANT = 0, /* warm-up, then peak_lr */
    HX_SCHED_COSINE = 1,   /* warm-up, then half a cosine from peak_lr to min_lr at `total` */
    HX_SCHED_LINEAR = 2,   /* warm-up, then a straight line from peak_lr to min_lr at `total` */
    HX_SCHED_WSD = 3,      /* warm-up, peak_lr, then decay to min_lr over the final decay_fraction */
} hx_sched_kind;

/* Shape of the WSD decay phase, r in [0, 1] the fraction of it elapsed:
 * LINEAR: f = 1 - r; SQRT ("1-sqrt", Hägele et al. 2024, "Scaling Laws and
 * Compute-Optimal Training Beyond Fixed Training Durations", §3): f = 1 - sqrt(r).
 * lr = min_lr + (peak_lr - min_lr) * f. */
typedef enum { HX_WSD_LINEAR = 0, HX_WSD_SQRT = 1 } hx_wsd_shape;

typedef struct {
    hx_sched_kind kind;
    double peak_lr, min_lr;
    int64_t warmup;        /* length of the linear warm-up (0: none) */
    int64_t total;         /* end of the decay; the lr stays at min_lr afterwards */
    double decay_fraction; /* WSD: the decay spans the last decay_fraction*total units */
    hx_wsd_shape wsd_shape;
} hx_schedule;

/* Checks the fields: 0 <= min_lr <= peak_lr, 0 <= warmup <= total, total > 0
 * for decaying kinds, 0 < decay_fraction <= 1 and warmup <= decay start for
 * WSD. Errors: HX_EINVAL naming the field. */
int hx_schedule_validate(const hx_schedule *s);

/* The learning rate for the update that brings progress to `pos` (1-based:
 * the first update has pos 1 when counting updates, or pos = tokens trained
 * after it when counting tokens). Convention of Megatron-LM's
 * OptimizerParamScheduler.get_lr:
 *   pos <= warmup:  peak_lr * pos / warmup
 *   then, with r = (pos - warmup) / (total - warmup) clamped to [0, 1]:
 *   COSINE: min_lr + (peak_lr - min_lr) * 0.5 * (1 + cos(pi r))
 *   LINEAR: min_lr + (peak_lr - min_lr) * (1 - r)
 *   CONSTANT: peak_lr
 *   WSD: peak_lr until d0 = total - round(decay_fraction * total), then the
 *        decay shape with r = (pos - d0) / (total - d0).
 * pos <= 0 gives 0 with warm-up, peak_lr without. */
double hx_schedule_lr(const hx_schedule *s, int64_t pos);

/* Names indexed by hx_sched_kind, NULL-terminated (the manifest's too). */
extern const char *const hx_sched_names[];

/* Parses "constant", "cosine", "linear", "wsd" into `kind`; HX_EINVAL otherwise. */
int hx_sched_kind_parse(const char *name, hx_sched_kind *kind);
const char *hx_sched_kind_name(hx_sched_kind kind);

#endif
