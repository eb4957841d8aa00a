/* Learning-rate schedules (warm-up + cosine / linear / constant / WSD). */
#include "train/schedule.h"

#include "core/err.h"
#include "core/parse.h"

#include <math.h>
#include <string.h>

const char *const hx_sched_names[] = {"constant", "cosine", "linear", "wsd", NULL};

int hx_sched_kind_parse(const char *name, hx_sched_kind *kind)
{
    int i = hx_parse_enum(hx_sched_names, name);
    if (i < 0) return HX_ERR(HX_EINVAL, "schedule: unknown kind '%s' (expected constant, cosine, linear or wsd)", name);
    *kind = (hx_sched_kind)i;
    return HX_OK;
}

const char *hx_sched_kind_name(hx_sched_kind kind) { return (unsigned)kind <= HX_SCHED_WSD ? hx_sched_names[kind] : "unknown"; }

static int64_t wsd_decay_start(const hx_schedule *s)
{
    return s->total - (int64_t)llround(s->decay_fraction * (double)s->total);
}

int hx_schedule_validate(const hx_schedule *s)
{
    if ((unsigned)s->kind > HX_SCHED_WSD) return HX_ERR(HX_EINVAL, "schedule: invalid kind %d", (int)s->kind);
    if (!(s->peak_lr >= 0) || !(s->min_lr >= 0) || s->min_lr > s->peak_lr)
        return HX_ERR(HX_EINVAL, "schedule: need 0 <= min_lr (%g) <= peak_lr (%g)", s->min_lr, s->peak_lr);
    if (s->warmup < 0) return HX_ERR(HX_EINVAL, "schedule: warmup must be >= 0 (got %lld)", (long long)s->warmup);
    if (s->kind != HX_SCHED_CONSTANT && s->total <= 0)
        return HX_ERR(HX_EINVAL, "schedule: total must be positive for %s (got %lld)", hx_sched_names[s->kind],
                      (long long)s->total);
    if (s->kind != HX_SCHED_CONSTANT && s->warmup > s->total)
        return HX_ERR(HX_EINVAL, "schedule: warmup (%lld) exceeds total (%lld)", (long long)s->warmup,
                      (long long)s->total);
    if (s->kind == HX_SCHED_WSD) {
        if (!(s->decay_fraction > 0 && s->decay_fraction <= 1))
            return HX_ERR(HX_EINVAL, "schedule: wsd decay_fraction must lie in (0, 1] (got %g)", s->decay_fraction);
        if (wsd_decay_start(s) < s->warmup)
            return HX_ERR(HX_EINVAL, "schedule: wsd decay starts at %lld, before the end of warmup (%lld)",
                          (long long)wsd_decay_start(s), (long long)s->warmup);
        if ((unsigned)s->wsd_shape > HX_WSD_SQRT) return HX_ERR(HX_EINVAL, "schedule: invalid wsd shape");
    }
    return HX_OK;
}

static double ratio(int64_t pos, int64_t start, int64_t end)
{
    if (end <= start) return pos >= end ? 1.0 : 0.0;
    double r = (double)(pos - start) / (double)(end - start);
    return r < 0 ? 0 : r > 1 ? 1 : r;
}

double hx_schedule_lr(const hx_schedule *s, int64_t pos)
{
    if (s->warmup > 0 && pos <= s->warmup) return pos <= 0 ? 0.0 : s->peak_lr * (double)pos / (double)s->warmup;
    double span = s->peak_lr - s->min_lr, r;
    switch (s->kind) {
    case HX_SCHED_CONSTANT: return s->peak_lr;
    case HX_SCHED_COSINE:
        r = ratio(pos, s->warmup, s->total);
        return s->min_lr + span * 0.5 * (1.0 + cos(M_PI * r));
    case HX_SCHED_LINEAR:
        r = ratio(pos, s->warmup, s->total);
        return s->min_lr + span * (1.0 - r);
    case HX_SCHED_WSD: {
        int64_t d0 = wsd_decay_start(s);
        if (pos <= d0) return s->peak_lr;
        r = ratio(pos, d0, s->total);
        return s->min_lr + span * (s->wsd_shape == HX_WSD_SQRT ? 1.0 - sqrt(r) : 1.0 - r);
    }
    }
    return s->peak_lr;
}
