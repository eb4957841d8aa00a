/* Experiment figures from the HDF5 results file (see report.h). */
#include "exp/report.h"

#include "core/err.h"
#include "core/home.h"
#include "core/util.h"
#include "log/h5log.h"
#include "exp/plot.h"
#include "exp/stats.h"

#include <glob.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The results file of a directory: its only *.h5. */
static int find_h5(const char *dir, char **out)
{
    char pat[1024];
    snprintf(pat, sizeof pat, "%s/*.h5", dir);
    glob_t g;
    if (glob(pat, 0, NULL, &g) != 0) return HX_ERR(HX_EIO, "%s: no results file (*.h5)", dir);
    int rc = HX_OK;
    if (g.gl_pathc != 1) rc = HX_ERR(HX_EIO, "%s: %zu *.h5 files; expected one", dir, (size_t)g.gl_pathc);
    else *out = strdup(g.gl_pathv[0]);
    globfree(&g);
    return rc;
}

/* Per-arm curves read from arms/<arm>/eval, with the attributes that group
 * seeds and place the curve on a FLOP axis. */
typedef struct {
    char *name, *group;
    int teacher;
    int64_t n;
    double *tokens, *loss, *acc; /* acc: the chosen task's acc_norm in percent, or NULL */
    double flops0, flops_per_token; /* FLOPs at token 0 (importance) and per trained token (train + teacher) */
    double items, chance;           /* the task's scored items and chance level (percent), NAN if unknown */
} arm_curve;

static void free_curves(arm_curve *a, int n)
{
    for (int i = 0; i < n; i++) {
        free(a[i].name);
        free(a[i].group);
        free(a[i].tokens);
        free(a[i].loss);
        free(a[i].acc);
    }
    free(a);
}

/* The tasks with an "<task>.acc_norm" column in the first arm's eval table
 * that has any, in column order (malloc'd names, *n of them). */
static char **list_tasks(hx_h5log *log, char **arms, int n_arms, int *n)
{
    *n = 0;
    for (int i = 0; i < n_arms; i++) {
        char table[300], **cols;
        int nc;
        snprintf(table, sizeof table, "arms/%s/eval", arms[i]);
        if (hx_h5log_list(log, table, &cols, &nc) < 0) continue;
        char **tasks = hx_calloc((size_t)nc + 1, sizeof *tasks);
        for (int k = 0; tasks && k < nc; k++) {
            char *dot = strstr(cols[k], ".acc_norm");
            if (dot && !dot[9]) tasks[(*n)++] = strndup(cols[k], (size_t)(dot - cols[k]));
        }
        hx_h5log_free_list(cols, nc);
        if (*n > 0 || !tasks) return tasks;
        free(tasks);
    }
    hx_clearerr();
    return NULL;
}

/* A double attribute, or NAN (no error left set). */
static double attr_or_nan(hx_h5log *log, const char *obj, const char *name)
{
    double v; /* integer attributes read as doubles too */
    if (hx_h5log_get_attr_double(log, obj, name, &v) == HX_OK) return v;
    hx_clearerr();
    return NAN;
}

static int read_curve(hx_h5log *log, const char *arm, arm_curve *c)
{
    char table[300], grp[300], *kind = NULL, *group = NULL;
    snprintf(table, sizeof table, "arms/%s/eval", arm);
    snprintf(grp, sizeof grp, "arms/%s", arm);
    c->name = strdup(arm);
    c->teacher = hx_h5log_get_attr_str(log, grp, "kind", &kind) == HX_OK ? !strcmp(kind, "teacher") : !strcmp(arm, "teacher");
    free(kind);
    c->group = hx_h5log_get_attr_str(log, grp, "group", &group) == HX_OK ? group : strdup(arm);
    hx_clearerr();
    if (!c->name || !c->group) return HX_ENOMEM;
    int64_t rows;
    HX_TRY(hx_h5log_read_column(log, table, "tokens", &c->tokens, &c->n));
    HX_TRY(hx_h5log_read_column(log, table, "val_loss", &c->loss, &rows));
    double budget = attr_or_nan(log, grp, "token_budget");
    c->flops0 = attr_or_nan(log, grp, "flops_importance");
    c->flops_per_token = (attr_or_nan(log, grp, "flops_train") + attr_or_nan(log, grp, "flops_teacher_forward")) / budget;
    return HX_OK;
}

/* Loads task `task`'s acc_norm curve (percent), items and chance into c. */
static void read_task(hx_h5log *log, arm_curve *c, const char *task)
{
    char table[300], col[300];
    int64_t na;
    snprintf(table, sizeof table, "arms/%s/eval", c->name);
    free(c->acc);
    c->acc = NULL;
    snprintf(col, sizeof col, "%s.acc_norm", task);
    if (hx_h5log_read_column(log, table, col, &c->acc, &na) == HX_OK)
        for (int64_t j = 0; j < na; j++) c->acc[j] *= 100.0;
    snprintf(col, sizeof col, "%s.items", task);
    c->items = attr_or_nan(log, table, col);
    snprintf(col, sizeof col, "%s.chance", task);
    c->chance = 100 * attr_or_nan(log, table, col);
    hx_clearerr();
}

static int read_curves(hx_h5log *log, arm_curve **out, int *n_out, char ***tasks, int *n_tasks)
{
    char **arms;
    int n;
    HX_TRY(hx_h5log_list(log, "arms", &arms, &n));
    *tasks = list_tasks(log, arms, n, n_tasks);
    arm_curve *a = hx_calloc((size_t)n + 1, sizeof *a);
    int k = 0, rc = a ? HX_OK : HX_ENOMEM;
    for (int i = 0; rc == HX_OK && i < n; i++) {
        char table[300];
        snprintf(table, sizeof table, "arms/%s/eval", arms[i]);
        int64_t rows = 0;
        if (hx_h5log_rows(log, table, &rows) < 0 || rows == 0) continue;
        rc = read_curve(log, arms[i], &a[k++]);
    }
    hx_h5log_free_list(arms, n);
    if (rc != HX_OK) {
        free_curves(a, k);
        return rc;
    }
    *out = a;
    *n_out = k;
    return HX_OK;
}

/* One group's curve: the mean over its seeds at each eval point, with a
 * band (loss: mean -/+ one sample standard deviation) or interval (accuracy:
 * the Wilson interval of the pooled items x seeds), on a token or FLOP axis.
 * The arms of a group share their eval points (same budget and schedule). */
typedef struct {
    const char *name;
    int n_seeds;
    size_t n;
    double *x, *xf, *loss, *llo, *lhi, *acc, *alo, *ahi; /* xf: FLOPs */
} group_curve;

static void free_groups(group_curve *g, int n)
{
    for (int i = 0; i < n; i++) {
        free(g[i].x), free(g[i].xf), free(g[i].loss), free(g[i].llo), free(g[i].lhi);
        free(g[i].acc), free(g[i].alo), free(g[i].ahi);
    }
    free(g);
}

static int make_group(const arm_curve *a, int n_arms, const char *name, group_curve *g)
{
    memset(g, 0, sizeof *g);
    g->name = name;
    const arm_curve *first = NULL;
    size_t n = SIZE_MAX;
    for (int i = 0; i < n_arms; i++)
        if (!strcmp(a[i].group, name)) {
            first = first ? first : &a[i];
            n = (size_t)a[i].n < n ? (size_t)a[i].n : n;
            g->n_seeds++;
        }
    g->n = n;
    double **arr[8] = {&g->x, &g->xf, &g->loss, &g->llo, &g->lhi, &g->acc, &g->alo, &g->ahi};
    for (int k = 0; k < 8; k++)
        if (!(*arr[k] = hx_calloc(n ? n : 1, sizeof(double)))) return HX_ENOMEM;
    int has_acc = 1;
    for (int i = 0; i < n_arms; i++)
        if (!strcmp(a[i].group, name) && !a[i].acc) has_acc = 0;
    if (!has_acc) free(g->acc), g->acc = NULL;
    for (size_t j = 0; j < n; j++) {
        double ls[256], ac[256];
        int m = 0;
        for (int i = 0; i < n_arms && m < 256; i++)
            if (!strcmp(a[i].group, name)) {
                ls[m] = a[i].loss[j];
                ac[m++] = has_acc ? a[i].acc[j] : 0;
            }
        hx_interval li = hx_mean_interval(ls, m);
        g->x[j] = first->tokens[j];
        g->xf[j] = (isnan(first->flops0) ? 0 : first->flops0) + first->flops_per_token * first->tokens[j];
        g->loss[j] = li.mean;
        g->llo[j] = m > 1 ? li.mean - li.sd : li.mean;
        g->lhi[j] = m > 1 ? li.mean + li.sd : li.mean;
        if (has_acc) {
            hx_interval ai = hx_mean_interval(ac, m);
            double trials = (isnan(first->items) ? 100 : first->items) * m, lo, hi;
            hx_wilson95(ai.mean / 100 * trials, trials, &lo, &hi);
            g->acc[j] = ai.mean, g->alo[j] = 100 * lo, g->ahi[j] = 100 * hi;
        }
    }
    return HX_OK;
}

/* The distinct student groups of `a`, in file order. */
static int student_groups(const arm_curve *a, int n, group_curve **out, int *n_out)
{
    group_curve *g = hx_calloc((size_t)n + 1, sizeof *g);
    int k = 0, rc = g ? HX_OK : HX_ENOMEM;
    for (int i = 0; rc == HX_OK && i < n; i++) {
        if (a[i].teacher) continue; /* its x axis is the teacher's own training */
        int seen = 0;
        for (int j = 0; j < k && !seen; j++) seen = !strcmp(g[j].name, a[i].group);
        if (!seen) rc = make_group(a, n, a[i].group, &g[k++]);
    }
    if (rc != HX_OK) {
        free_groups(g, k);
        return rc;
    }
    *out = g;
    *n_out = k;
    return HX_OK;
}

/* Whether the final accuracy intervals of the groups leave them unseparated:
 * every pair overlaps (the note on the accuracy panel). */
static int unseparated(const group_curve *g, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            if (!g[i].acc || !g[j].acc) continue;
            size_t a = g[i].n - 1, b = g[j].n - 1;
            if (g[i].ahi[a] < g[j].alo[b] || g[j].ahi[b] < g[i].alo[a]) return 0;
        }
    return 1;
}

/* Importance figures when the file holds importance/. */
static int importance_plots(hx_h5log *log, const char *out)
{
    int64_t dims[8];
    int nd;
    double *head = NULL;
    if (hx_h5log_read_array(log, "importance/head", HX_H5_F64, (void **)&head, &nd, dims) < 0 || nd != 2) {
        hx_clearerr();
        free(head);
        return HX_OK;
    }
    size_t L = (size_t)dims[0], H = (size_t)dims[1];
    float *f = hx_malloc(sizeof(float) * L * H);
    int rc = f ? HX_OK : HX_ENOMEM;
    for (size_t i = 0; rc == HX_OK && i < L * H; i++) f[i] = (float)head[i];
    if (rc == HX_OK)
        rc = hx_plot_importance_heads(out, "importance_heads", "attention-head importance (L2 norm of head output)",
                                      f, L, H, HX_PLOT_ALL);
    free(f);
    free(head);
    const char *names[2];
    const double *cols[2];
    double *bi = NULL, *drop = NULL;
    int n = 0;
    if (hx_h5log_read_array(log, "importance/bi", HX_H5_F64, (void **)&bi, &nd, dims) == HX_OK)
        names[n] = "block_importance", cols[n++] = bi;
    if (hx_h5log_read_array(log, "importance/loss_drop", HX_H5_F64, (void **)&drop, &nd, dims) == HX_OK)
        names[n] = "val_loss_with_layer_removed", cols[n++] = drop;
    hx_clearerr();
    if (rc == HX_OK && n > 0)
        rc = hx_plot_importance_layers(out, "importance_layers", "per-layer importance", names, cols, (size_t)n, L,
                                       HX_PLOT_ALL);
    free(bi);
    free(drop);
    return rc;
}

/* The accuracy figure of task `task` (NULL: none; the reference panel alone):
 * each student group's mean acc_norm over seeds with Wilson intervals, the
 * task's chance level, the teacher's accuracy, and a note when the final
 * intervals do not separate the groups. */
static int accuracy_figure(hx_h5log *log, const char *out, const char *stem, const char *task, arm_curve *a, int n,
                           const char *baselines_dir)
{
    hx_plot_refs ar = {NAN, NAN, NULL};
    for (int i = 0; task && i < n; i++) {
        read_task(log, &a[i], task);
        if (a[i].teacher && a[i].acc) ar.teacher = a[i].acc[a[i].n - 1];
        if (!a[i].teacher && isfinite(a[i].chance)) ar.chance = a[i].chance;
    }
    group_curve *g = NULL;
    int ng = 0, na = 0;
    int rc = task ? student_groups(a, n, &g, &ng) : HX_OK;
    hx_plot_series *acc = hx_calloc((size_t)ng + 1, sizeof *acc);
    if (rc == HX_OK && !acc) rc = HX_ENOMEM;
    for (int i = 0; rc == HX_OK && i < ng; i++)
        if (g[i].acc) acc[na++] = (hx_plot_series){g[i].name, g[i].n, g[i].x, g[i].acc, g[i].alo, g[i].ahi};
    char note[200];
    snprintf(note, sizeof note, "error bars: 95%% Wilson intervals (items x seeds pooled)%s",
             na > 1 && unseparated(g, ng) ? "; too few items to separate the arms" : "");
    ar.note = note;
    if (rc == HX_OK)
        rc = hx_plot_accuracy(out, stem, task ? task : "none", acc, (size_t)na, NULL, 0, baselines_dir, &ar, HX_PLOT_ALL);
    free(acc);
    free_groups(g, ng);
    return rc;
}

int hx_report_plots(const char *dir, const char *baselines_dir)
{
    char *h5 = NULL;
    HX_TRY(find_h5(dir, &h5));
    hx_h5log *log;
    int rc = hx_h5log_open(h5, HX_H5LOG_APPEND, &log);
    free(h5);
    HX_TRY(rc);
    char *out = hx_path_join(dir, "plots"), **tasks = NULL;
    arm_curve *a = NULL;
    group_curve *g = NULL;
    int n = 0, ng = 0, nt = 0;
    rc = out ? hx_mkdir_p(out) : HX_ENOMEM;
    if (rc == HX_OK) rc = read_curves(log, &a, &n, &tasks, &nt);
    if (rc == HX_OK) rc = student_groups(a, n, &g, &ng);
    hx_plot_series *loss = hx_calloc((size_t)ng + 1, sizeof *loss), *lossf = hx_calloc((size_t)ng + 1, sizeof *lossf);
    const char **labels = hx_calloc((size_t)n + 1, sizeof *labels);
    double *final = hx_calloc((size_t)n + 1, sizeof *final);
    if (rc == HX_OK && (!loss || !lossf || !labels || !final)) rc = HX_ENOMEM;
    hx_plot_refs lr = {NAN, NAN, NULL};
    int nb = 0, seeds = 1;
    for (int i = 0; rc == HX_OK && i < n; i++) {
        labels[nb] = a[i].name;
        final[nb++] = a[i].loss[a[i].n - 1];
        if (a[i].teacher) lr.teacher = a[i].loss[a[i].n - 1];
    }
    for (int i = 0; rc == HX_OK && i < ng; i++) {
        group_curve *c = &g[i];
        seeds = c->n_seeds > seeds ? c->n_seeds : seeds;
        loss[i] = (hx_plot_series){c->name, c->n, c->x, c->loss, c->llo, c->lhi};
        lossf[i] = (hx_plot_series){c->name, c->n, c->xf, c->loss, c->llo, c->lhi};
    }
    char note[200];
    snprintf(note, sizeof note, "mean over %d seeds, band: -/+ 1 standard deviation", seeds);
    lr.note = seeds > 1 ? note : NULL;
    if (rc == HX_OK && ng > 0) rc = hx_plot_val_loss(out, "val_loss_vs_tokens", NULL, loss, (size_t)ng, &lr, HX_PLOT_ALL);
    int have_flops = ng > 0;
    for (int i = 0; i < ng; i++) have_flops = have_flops && isfinite(g[i].xf[0]) && g[i].xf[g[i].n - 1] > 0;
    if (rc == HX_OK && have_flops)
        rc = hx_plot_val_loss(out, "val_loss_vs_flops",
                              "FLOPs (training + teacher forwards + importance; harness/exp/plan.h)", lossf,
                              (size_t)ng, &lr, HX_PLOT_ALL);
    /* one accuracy figure per task: accuracy_vs_tokens for the first, accuracy_vs_tokens_<task> for the others */
    for (int k = 0; rc == HX_OK && k < (nt > 0 ? nt : 1); k++) {
        char stem[200];
        snprintf(stem, sizeof stem, k ? "accuracy_vs_tokens_%s" : "accuracy_vs_tokens", nt ? tasks[k] : "");
        rc = accuracy_figure(log, out, stem, nt ? tasks[k] : NULL, a, n, baselines_dir);
    }
    if (rc == HX_OK) rc = importance_plots(log, out);
    if (rc == HX_OK && nb > 0)
        rc = hx_plot_ablation(out, "final_val_loss", "final validation loss per arm", "validation loss (nats/token)",
                              labels, final, NULL, (size_t)nb, HX_PLOT_ALL);
    if (rc == HX_OK) printf("plots: %s/{val_loss_vs_tokens,%saccuracy_vs_tokens%s,importance_heads,importance_layers,"
                            "final_val_loss}.{png,svg,pdf}\n", out, have_flops ? "val_loss_vs_flops," : "",
                            nt > 1 ? "[_<task>]" : "");
    free(loss);
    free(lossf);
    free(labels);
    free(final);
    for (int k = 0; k < nt; k++) free(tasks[k]);
    free(tasks);
    free_groups(g, ng);
    free_curves(a, n);
    free(out);
    hx_h5log_close(log);
    return rc;
}
