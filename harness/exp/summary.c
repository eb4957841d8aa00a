/* The per-arm results table (summary.md) built from the HDF5 log. */
#include "exp/summary.h"

#include "core/err.h"
#include "core/util.h"
#include "exp/claims.h"
#include "exp/stats.h"
#include "log/h5log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HX_MAX_TASKS_SUMMARY = 8 };

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

/* Mean ± sd over the seeds of each arm group with more than one seed, with
 * each seed's value (paired comparisons are in the claims table). */
static void seed_table(text *t, hx_h5log *log, const hx_plan *plan)
{
    const hx_manifest *m = plan->m;
    if (m->n_seeds < 2) return;
    add(t, "\nAcross seeds (%d seeds: each changes the student's initialisation, data order and calibration draw; "
           "the teacher is the same for all). Mean ± sample standard deviation, n seeds, then each seed's value.\n\n"
           "| arm | kind | params | tokens | n | val loss | per seed |", m->n_seeds);
    for (int k = 0; k < m->eval.n_tasks; k++) add(t, " %s acc_norm (%%) |", m->eval.tasks[k].name);
    add(t, "\n|---|---|---:|---:|---:|---:|---|");
    for (int k = 0; k < m->eval.n_tasks; k++) add(t, "---:|");
    add(t, "\n");
    for (int i = 0; i < plan->n_arms; i++) {
        const hx_arm *a = plan->arms[i].arm;
        int first = 1;
        for (int j = 0; j < i && first; j++) first = strcmp(plan->arms[j].arm->group, a->group) != 0;
        if (!first || a->kind == HX_ARM_TEACHER) continue;
        enum { MAX = 256 };
        double loss[MAX], acc[HX_MAX_TASKS_SUMMARY][MAX];
        int n = 0;
        text per = {0};
        for (int j = i; j < plan->n_arms && n < MAX; j++) {
            const hx_arm *b = plan->arms[j].arm;
            char table[300];
            snprintf(table, sizeof table, "arms/%s/eval", b->name);
            double v = strcmp(b->group, a->group) ? NAN : hx_h5log_last(log, table, "val_loss");
            if (isnan(v)) continue;
            for (int k = 0; k < m->eval.n_tasks && k < HX_MAX_TASKS_SUMMARY; k++) {
                char col[160];
                snprintf(col, sizeof col, "%s.acc_norm", m->eval.tasks[k].name);
                acc[k][n] = 100 * hx_h5log_last(log, table, col);
            }
            add(&per, "%s%llu: %.4f", n ? ", " : "", (unsigned long long)b->seed, v);
            loss[n++] = v;
        }
        if (n == 0) {
            free(per.p);
            continue;
        }
        hx_interval li = hx_mean_interval(loss, n);
        add(t, "| %s | %s | %.2fM | %lld | %d | %.4f ± %.4f | %s |", a->group, hx_arm_kind_name(a->kind),
            plan->arms[i].student_params / 1e6, (long long)a->train.tokens, n, li.mean, n > 1 ? li.sd : NAN, per.p);
        for (int k = 0; k < m->eval.n_tasks && k < HX_MAX_TASKS_SUMMARY; k++) {
            hx_interval ai = hx_mean_interval(acc[k], n);
            add(t, " %.1f ± %.1f |", ai.mean, n > 1 ? ai.sd : NAN);
        }
        add(t, "\n");
        free(per.p);
    }
}

/* One row per paper claim (exp/claims.h), then the token ratio. */
static void claims_table(text *t, hx_h5log *log, const hx_plan *plan)
{
    hx_claim_row rows[64];
    int nr = hx_claims_eval(log, plan, rows, 64);
    add(t, "\nClaims (final validation loss, nats/token; Δ = left − right paired by seed, mean with its 95%% "
           "t-interval; a claim **holds** when the interval excludes 0 on its side, and is **within noise** when it "
           "contains 0 or there is one seed):\n\n"
           "| claim | source | paper | left vs right | Δ val loss [95%% CI] (n) | verdict | note |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < nr; k++) {
        const hx_claim_row *r = &rows[k];
        add(t, "| %s | %s | %s |", r->claim, r->source, r->paper);
        if (!r->tested) {
            add(t, " – | – | not tested by this manifest | %s |\n", r->note);
            continue;
        }
        add(t, " %s vs %s | %+.4f", r->left, r->right, r->diff.mean);
        if (r->diff.n > 1) add(t, " [%+.4f, %+.4f]", r->diff.lo, r->diff.hi);
        add(t, " (%d) | **%s** | %s |\n", r->diff.n, hx_verdict_name(r->verdict), r->note);
    }
    char buf[700];
    if (hx_claims_token_ratio(log, plan, buf, sizeof buf)) add(t, "\n%s\n", buf);
}

int hx_write_summary(const char *h5, const char *dir, const hx_plan *plan, FILE *out)
{
    hx_h5log *log;
    HX_TRY(hx_h5log_open(h5, HX_H5LOG_APPEND, &log));
    const hx_manifest *m = plan->m;
    text t = {0};
    add(&t, "# %s\n\n%s\n\n", m->name, m->description ? m->description : "");
    char *commit = NULL, *cpu = NULL, *core = NULL;
    double threads = NAN;
    hx_h5log_get_attr_str(log, "/", "git_commit", &commit);
    hx_h5log_get_attr_str(log, "/", "cpu", &cpu);
    hx_h5log_get_attr_str(log, "/", "blas_core", &core);
    hx_h5log_get_attr_double(log, "/", "threads", &threads);
    hx_clearerr();
    add(&t, "Final metrics per arm (validation loss in nats/token on the same validation tokens for every arm).\n"
            "Source: `%s`. Made by commit %s on %s, OpenBLAS kernel %s, %.0f threads: the numbers are bit for bit "
            "reproducible with the same kernel and thread count; another kernel rounds differently and moves them in "
            "the third or fourth decimal.\n\n| arm | kind | params | tokens | val loss | perplexity |",
        h5, commit ? commit : "?", cpu ? cpu : "?", core ? core : "?", threads);
    free(commit), free(cpu), free(core);
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
        double loss = hx_h5log_last(log, table, "val_loss"), tokens = hx_h5log_last(log, table, "tokens");
        size_t params = a->kind == HX_ARM_TEACHER ? plan->teacher_params : plan->arms[i].student_params;
        add(&t, "| %s | %s | %.2fM |", a->name, hx_arm_kind_name(a->kind), params / 1e6);
        cell(&t, tokens, " %.0f |");
        cell(&t, loss, " %.4f |");
        cell(&t, isnan(loss) ? NAN : exp(loss), " %.2f |");
        for (int k = 0; k < m->eval.n_tasks; k++) {
            char col[160];
            snprintf(col, sizeof col, "%s.acc", m->eval.tasks[k].name);
            cell(&t, 100 * hx_h5log_last(log, table, col), " %.1f |");
            snprintf(col, sizeof col, "%s.acc_norm", m->eval.tasks[k].name);
            cell(&t, 100 * hx_h5log_last(log, table, col), " %.1f |");
        }
        add(&t, "\n");
        if ((int)a->kind < 8 && isnan(loss_of[a->kind])) {
            loss_of[a->kind] = loss;
            tokens_of[a->kind] = tokens;
        }
    }
    double kd = loss_of[HX_ARM_PRUNE_KD], ce = loss_of[HX_ARM_PRUNE_CE], sc = loss_of[HX_ARM_SCRATCH];
    if (!isnan(kd) && !isnan(ce) && !isnan(sc)) {
        hx_claim_row rows[64];
        int nr = hx_claims_eval(log, plan, rows, 64);
        /* the first row of claim 0 (KD vs CE) and of claim 1 (CE vs scratch) */
        const hx_claim_row *kc = &rows[0], *cs = NULL;
        for (int k = 0; k < nr && !cs; k++)
            if (rows[k].claim != rows[0].claim) cs = &rows[k];
        hx_verdict v = cs && kc->verdict == HX_HOLDS && cs->verdict == HX_HOLDS ? HX_HOLDS
                       : kc->verdict == HX_DOES_NOT_HOLD || (cs && cs->verdict == HX_DOES_NOT_HOLD) ? HX_DOES_NOT_HOLD
                                                                                                     : HX_WITHIN_NOISE;
        double tk = tokens_of[HX_ARM_PRUNE_KD], tc = tokens_of[HX_ARM_PRUNE_CE], ts = tokens_of[HX_ARM_SCRATCH];
        if (tk == tc && tc == ts)
            add(&t, "\nPaper's ordering at equal token budgets (%.0f tokens each)", tk);
        else
            add(&t, "\nPaper's ordering at these budgets (prune_kd %.0f, prune_ce %.0f, scratch %.0f tokens)", tk, tc,
                ts);
        add(&t,
            " (NeurIPS 2024 Table 14: distillation beats conventional retraining, which beats training from "
            "scratch): val loss prune_kd %.4f %s prune_ce %.4f %s scratch %.4f (first seed): **%s** (claims below).\n",
            kd, kd < ce ? "<" : ">=", ce, ce < sc ? "<" : ">=", sc, hx_verdict_name(v));
    }
    seed_table(&t, log, plan);
    claims_table(&t, log, plan);
    hx_h5log_close(log);
    char *path = hx_path_join(dir, "summary.md");
    int rc = path ? hx_write_file_atomic(path, t.p ? t.p : "", t.n) : HX_ENOMEM;
    if (rc == HX_OK && out) fprintf(out, "\n%s\nsummary: %s\n", t.p ? t.p : "", path);
    free(path);
    free(t.p);
    return rc;
}
