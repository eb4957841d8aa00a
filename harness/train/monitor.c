/* Training status line and non-finite-loss policy. */
#include "train/monitor.h"

#include "core/err.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

/* 950 -> "950", 491520 -> "491.5k", 1048576 -> "1.0M", 2.5e9 -> "2.50G" */
static char *human(char *buf, size_t n, double v)
{
    if (v < 1e3) snprintf(buf, n, "%.0f", v);
    else if (v < 1e6) snprintf(buf, n, "%.1fk", v / 1e3);
    else if (v < 1e9) snprintf(buf, n, "%.1fM", v / 1e6);
    else snprintf(buf, n, "%.2fG", v / 1e9);
    return buf;
}

char *hx_format_duration(char *buf, size_t n, double s)
{
    if (!(s >= 0) || s > 1e9) snprintf(buf, n, "?");
    else if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else if (s < 86400) snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else snprintf(buf, n, "%dd%02dh", (int)(s / 86400), (int)fmod(s / 3600, 24));
    return buf;
}

char *hx_train_status(char *buf, size_t n, int64_t step, int64_t tokens, int64_t total_tokens, double loss, double lr,
                      double tokens_per_s)
{
    char t[16], tt[16], r[16], eta[16];
    human(t, sizeof t, (double)tokens);
    human(r, sizeof r, tokens_per_s);
    if (total_tokens > 0) {
        double left = (double)(total_tokens - tokens);
        hx_format_duration(eta, sizeof eta, tokens_per_s > 0 ? left / tokens_per_s : -1);
        snprintf(buf, n, "step %" PRId64 " | tokens %s/%s (%.1f%%) | loss %.4f | lr %.2e | %s tok/s | ETA %s", step, t,
                 human(tt, sizeof tt, (double)total_tokens), 100.0 * (double)tokens / (double)total_tokens, loss, lr,
                 r, eta);
    } else {
        snprintf(buf, n, "step %" PRId64 " | tokens %s | loss %.4f | lr %.2e | %s tok/s", step, t, loss, lr, r);
    }
    return buf;
}

void hx_train_progress(hx_progress *p, int force, int64_t step, int64_t tokens, int64_t total_tokens, double loss,
                       double lr, double tokens_per_s)
{
    char line[256];
    hx_progress_show(p, force, "%s", hx_train_status(line, sizeof line, step, tokens, total_tokens, loss, lr, tokens_per_s));
}

int hx_nan_check(hx_nan_guard *g, int64_t step, double loss, double grad_norm, const char *last_ckpt)
{
    if (isfinite(loss) && isfinite(grad_norm)) {
        g->consecutive = 0;
        return HX_OK;
    }
    const char *what = isfinite(loss) ? "gradient norm" : "loss";
    double val = isfinite(loss) ? grad_norm : loss;
    const char *ck = last_ckpt ? last_ckpt : "none yet (the run must restart from the beginning)";
    int limit = g->max_consecutive > 0 ? g->max_consecutive : 10;
    if (g->policy == HX_NAN_SKIP && g->consecutive < limit) {
        g->skipped++;
        g->consecutive++;
        fprintf(stderr, "warning: step %" PRId64 ": %s is %g; update skipped (%" PRId64 " skipped so far)\n", step,
                what, val, g->skipped);
        return 1;
    }
    if (g->policy == HX_NAN_SKIP)
        return HX_ERR(HX_ENAN, "step %" PRId64 ": %s is %g for %d steps in a row; stopping. Last good checkpoint: %s",
                      step, what, val, g->consecutive + 1, ck);
    return HX_ERR(HX_ENAN, "step %" PRId64 ": %s is %g; stopping. Last good checkpoint: %s", step, what, val, ck);
}
