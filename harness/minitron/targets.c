/* Parameter-budget target selection and the iterative pruning schedule. */
#include "minitron/targets.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>

int hx_round_divisor(double x, int divisor, int lo, int hi)
{
    long v = (long)floor(x / divisor + 0.5) * divisor;
    if (v < lo) v = ((lo + divisor - 1) / divisor) * divisor;
    if (v > hi) v = (hi / divisor) * divisor;
    if (v < lo || v > hi) v = x < lo ? lo : x > hi ? hi : (long)floor(x + 0.5);
    return (int)v;
}

/* Grid of candidate sizes for one axis: the source size when fixed, else
 * every multiple of divisor up to it plus the source size. Returns the count. */
static int axis_grid(int src, int fixed, int divisor, int *out)
{
    if (fixed) {
        out[0] = fixed;
        return 1;
    }
    int n = 0;
    for (int v = divisor; v < src; v += divisor) out[n++] = v;
    out[n++] = src;
    return n;
}

int hx_budget_targets(const hx_config *src, int64_t budget, double tol, int divisor, hx_prune_targets *t)
{
    if (budget <= 0 || tol < 0 || divisor < 1)
        return HX_ERR(HX_EINVAL, "param budget %lld, tolerance %g and divisor %d must be positive", (long long)budget,
                      tol, divisor);
    if (t->hidden_size && t->intermediate_size)
        return HX_ERR(HX_EINVAL, "a param budget needs hidden_size or intermediate_size left free, but both are given");
    hx_config base;
    HX_TRY(hx_prune_target_config(src, t, &base));
    int *hs = hx_malloc(sizeof(int) * (size_t)(src->hidden_size / divisor + 2));
    int *fs = hx_malloc(sizeof(int) * (size_t)(src->intermediate_size / divisor + 2));
    if (!hs || !fs) {
        free(hs);
        free(fs);
        return HX_ENOMEM;
    }
    int nh = axis_grid(src->hidden_size, t->hidden_size, divisor, hs);
    int nf = axis_grid(src->intermediate_size, t->intermediate_size, divisor, fs);
    double lo = (double)budget * (1 - tol), hi = (double)budget * (1 + tol);
    double best_skew = INFINITY, best_dist = INFINITY, pmin = INFINITY, pmax = 0;
    int bh = 0, bf = 0;
    for (int i = 0; i < nh; i++)
        for (int j = 0; j < nf; j++) {
            hx_config c = base;
            c.hidden_size = hs[i];
            c.intermediate_size = fs[j];
            double p = (double)hx_config_param_count(&c);
            pmin = fmin(pmin, p);
            pmax = fmax(pmax, p);
            if (p < lo || p > hi) continue;
            double skew = fabs(log((double)hs[i] / src->hidden_size) - log((double)fs[j] / src->intermediate_size));
            double dist = fabs(p - (double)budget);
            if (t->hidden_size || t->intermediate_size) skew = 0;
            int better = skew < best_skew - 1e-12 ||
                         (fabs(skew - best_skew) <= 1e-12 && (dist < best_dist || (dist == best_dist && hs[i] > bh)));
            if (better) best_skew = skew, best_dist = dist, bh = hs[i], bf = fs[j];
        }
    free(hs);
    free(fs);
    if (!bh)
        return HX_ERR(HX_EINVAL,
                      "no hidden_size/intermediate_size on the multiple-of-%d grid gives %lld parameters +-%.1f%% "
                      "(with the other targets fixed, reachable counts are %.0f..%.0f)",
                      divisor, (long long)budget, 100 * tol, pmin, pmax);
    t->hidden_size = bh;
    t->intermediate_size = bf;
    return HX_OK;
}

static double lerp(int s, int d, int i, int T) { return s - (double)i * (s - d) / T; }

int hx_iterative_schedule(const hx_config *src, const hx_config *dst, int T, int divisor, hx_config *out)
{
    if (T < 1 || divisor < 1) return HX_ERR(HX_EINVAL, "iterative schedule: rounds %d and divisor %d must be >= 1", T, divisor);
    const int sv[5] = {src->hidden_size, src->intermediate_size, src->num_attention_heads, src->num_key_value_heads,
                       src->num_hidden_layers};
    const int dv[5] = {dst->hidden_size, dst->intermediate_size, dst->num_attention_heads, dst->num_key_value_heads,
                       dst->num_hidden_layers};
    static const char *const names[5] = {"hidden_size", "intermediate_size", "num_attention_heads",
                                         "num_key_value_heads", "num_hidden_layers"};
    for (int a = 0; a < 5; a++)
        if (dv[a] > sv[a] || dv[a] < 1)
            return HX_ERR(HX_EINVAL, "iterative schedule: target %s = %d must be in [1, %d]", names[a], dv[a], sv[a]);
    for (int i = 1; i <= T; i++) {
        hx_config *c = &out[i - 1];
        *c = *dst;
        if (i == T) break;
        c->hidden_size = hx_round_divisor(lerp(sv[0], dv[0], i, T), divisor, dv[0], sv[0]);
        c->intermediate_size = hx_round_divisor(lerp(sv[1], dv[1], i, T), divisor, dv[1], sv[1]);
        c->num_key_value_heads = hx_round_divisor(lerp(sv[3], dv[3], i, T), 1, dv[3], sv[3]);
        int kv = c->num_key_value_heads;
        c->num_attention_heads = hx_round_divisor(lerp(sv[2], dv[2], i, T), kv, kv, sv[2]);
        c->num_hidden_layers = hx_round_divisor(lerp(sv[4], dv[4], i, T), 1, dv[4], sv[4]);
    }
    return HX_OK;
}

int hx_width_divisor(const hx_config *teacher)
{
    int d = HX_WIDTH_DIVISOR;
    while (d > 1 && teacher->hidden_size / d < 8) d /= 2;
    return d;
}
