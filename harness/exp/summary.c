/* The per-arm results table (summary.md) built from the HDF5 log. */
#include "exp/summary.h"

#include "core/err.h"
#include "core/util.h"
#include "log/h5log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Last value of a column of `table`, NAN when absent. */
static double last_of(hx_h5log *log, const char *table, const char *col)
{
    double *v = NULL;
    int64_t n = 0;
    if (hx_h5log_read_column(log, table, col, &v, &n) < 0 || n == 0) {
        hx_clearerr();
        free(v);
        return NAN;
    }
    double x = v[n - 1];
    free(v);
    return x;
}

/* Appends printf-style text to a growing buffer. */
typedef struct {
    char *p;
    size_t n;
} text;
static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int k = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    char *np = realloc(t->p, t->n + (size_t)k + 1);
    if (np) {
        memcpy(np + t->n, s, (size_t)k + 1);
        t->p = np;
        t->n += (size_t)k;
    }
    free(s);
}

static void cell(text *t, double v, const char *fmt)
{
    if (isnan(v)) add(t, " – |");
    else add(t, fmt, v);
}

int hx_write_summary(const char *h5, const char *dir, const hx_plan *plan, FILE *out)
{
    hx_h5log *log;
    HX_TRY(hx_h5log_open(h5, HX_H5LOG_APPEND, &log));
    const hx_manifest *m = plan->m;
    text t = {0};
    add(&t, "# %s\n\n%s\n\n", m->name, m->description ? m->description : "");
    add(&t, "Final metrics per arm (validation loss in nats/token on the same validation tokens for every arm).\n"
            "Source: `%s`.\n\n| arm | kind | params | tokens | val loss | perplexity |", h5);
    for (int k = 0; k < m->eval.n_tasks; k++) add(&t, " %s acc | %s acc_norm |", m->eval.tasks[k].name, m->eval.tasks[k].name);
    add(&t, "\n|---|---|---:|---:|---:|---:|");
    for (int k = 0; k < m->eval.n_tasks; k++) add(&t, "---:|---:|");
    add(&t, "\n");
    double loss_of[8], tokens_of[8];
    for (int i = 0; i < 8; i++) loss_of[i] = tokens_of[i] = NAN;
    for (int i = 0; i < plan->n_arms; i++) {
        const hx_arm *a = plan->arms[i].arm;
        char table[200];
        snprintf(table, sizeof table, "arms/%s/eval", a->name);
        int64_t rows = 0;
        if (hx_h5log_rows(log, table, &rows) < 0 || rows == 0) { /* not run (yet) */
            hx_clearerr();
            continue;
        }
        double loss = last_of(log, table, "val_loss"), tokens = last_of(log, table, "tokens");
        size_t params = a->kind == HX_ARM_TEACHER ? plan->teacher_params : plan->arms[i].student_params;
        add(&t, "| %s | %s | %.2fM |", a->name, hx_arm_kind_name(a->kind), params / 1e6);
        cell(&t, tokens, " %.0f |");
        cell(&t, loss, " %.4f |");
        cell(&t, isnan(loss) ? NAN : exp(loss), " %.2f |");
        for (int k = 0; k < m->eval.n_tasks; k++) {
            char col[160];
            snprintf(col, sizeof col, "%s.acc", m->eval.tasks[k].name);
            cell(&t, 100 * last_of(log, table, col), " %.1f |");
            snprintf(col, sizeof col, "%s.acc_norm", m->eval.tasks[k].name);
            cell(&t, 100 * last_of(log, table, col), " %.1f |");
        }
        add(&t, "\n");
        if ((int)a->kind < 8 && isnan(loss_of[a->kind])) {
            loss_of[a->kind] = loss;
            tokens_of[a->kind] = tokens;
        }
    }
    double kd = loss_of[HX_ARM_PRUNE_KD], ce = loss_of[HX_ARM_PRUNE_CE], sc = loss_of[HX_ARM_SCRATCH];
    if (!isnan(kd) && !isnan(ce) && !isnan(sc)) {
        int holds = kd < ce && ce < sc;
        double tk = tokens_of[HX_ARM_PRUNE_KD], tc = tokens_of[HX_ARM_PRUNE_CE], ts = tokens_of[HX_ARM_SCRATCH];
        if (tk == tc && tc == ts)
            add(&t, "\nPaper's ordering at equal token budgets (%.0f tokens each)", tk);
        else
            add(&t, "\nPaper's ordering at these budgets (prune_kd %.0f, prune_ce %.0f, scratch %.0f tokens)", tk, tc,
                ts);
        add(&t,
            " (NeurIPS 2024 Table 14: distillation beats conventional retraining, which beats training from "
            "scratch): val loss prune_kd %.4f %s prune_ce %.4f %s scratch %.4f: **%s**.\n",
            kd, kd < ce ? "<" : ">=", ce, ce < sc ? "<" : ">=", sc, holds ? "holds" : "does not hold");
    }
    hx_h5log_close(log);
    char *path = hx_path_join(dir, "summary.md");
    int rc = path ? hx_write_file_atomic(path, t.p ? t.p : "", t.n) : HX_ENOMEM;
    if (rc == HX_OK && out) fprintf(out, "\n%s\nsummary: %s\n", t.p ? t.p : "", path);
    free(path);
    free(t.p);
    return rc;
}
