/* Experiment figures from the HDF5 results file (see report.h). */
#include "exp/report.h"

#include "core/err.h"
#include "core/home.h"
#include "core/util.h"
#include "log/h5log.h"
#include "exp/plot.h"

#include <glob.h>
#include <math.h>
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

/* Per-arm curves read from arms/<arm>/eval. */
typedef struct {
    char *name;
    int teacher;
    int64_t n;
    double *tokens, *loss, *acc; /* acc: the chosen task's acc_norm in percent, or NULL */
} arm_curve;

static void free_curves(arm_curve *a, int n)
{
    for (int i = 0; i < n; i++) {
        free(a[i].name);
        free(a[i].tokens);
        free(a[i].loss);
        free(a[i].acc);
    }
    free(a);
}

/* The first "<task>.acc_norm" column of any arm's eval table (malloc'd task name), or NULL. */
static char *first_task(hx_h5log *log, char **arms, int n_arms)
{
    for (int i = 0; i < n_arms; i++) {
        char table[300], **cols;
        int nc;
        snprintf(table, sizeof table, "arms/%s/eval", arms[i]);
        if (hx_h5log_list(log, table, &cols, &nc) < 0) continue;
        char *task = NULL;
        for (int k = 0; k < nc && !task; k++) {
            char *dot = strstr(cols[k], ".acc_norm");
            if (dot && !dot[9]) task = strndup(cols[k], (size_t)(dot - cols[k]));
        }
        hx_h5log_free_list(cols, nc);
        if (task) return task;
    }
    return NULL;
}

static int read_curves(hx_h5log *log, arm_curve **out, int *n_out, char **task)
{
    char **arms;
    int n;
    HX_TRY(hx_h5log_list(log, "arms", &arms, &n));
    *task = first_task(log, arms, n);
    arm_curve *a = hx_calloc((size_t)n + 1, sizeof *a);
    int k = 0, rc = a ? HX_OK : HX_ENOMEM;
    for (int i = 0; rc == HX_OK && i < n; i++) {
        char table[300], grp[300], *kind = NULL;
        snprintf(table, sizeof table, "arms/%s/eval", arms[i]);
        snprintf(grp, sizeof grp, "arms/%s", arms[i]);
        int64_t rows = 0;
        if (hx_h5log_rows(log, table, &rows) < 0 || rows == 0) continue;
        arm_curve *c = &a[k];
        c->name = strdup(arms[i]);
        c->teacher = hx_h5log_get_attr_str(log, grp, "kind", &kind) == HX_OK ? !strcmp(kind, "teacher")
                                                                             : !strcmp(arms[i], "teacher");
        free(kind);
        hx_clearerr();
        rc = hx_h5log_read_column(log, table, "tokens", &c->tokens, &c->n);
        if (rc == HX_OK) rc = hx_h5log_read_column(log, table, "val_loss", &c->loss, &rows);
        if (rc == HX_OK && *task) {
            char col[300];
            int64_t na;
            snprintf(col, sizeof col, "%s.acc_norm", *task);
            if (hx_h5log_read_column(log, table, col, &c->acc, &na) == HX_OK)
                for (int64_t j = 0; j < na; j++) c->acc[j] *= 100.0;
            hx_clearerr();
        }
        k++;
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

int hx_report_plots(const char *dir, const char *baselines_dir)
{
    char *h5 = NULL;
    HX_TRY(find_h5(dir, &h5));
    hx_h5log *log;
    int rc = hx_h5log_open(h5, HX_H5LOG_APPEND, &log);
    free(h5);
    HX_TRY(rc);
    char *out = hx_path_join(dir, "plots"), *task = NULL;
    arm_curve *a = NULL;
    int n = 0;
    rc = out ? hx_mkdir_p(out) : HX_ENOMEM;
    if (rc == HX_OK) rc = read_curves(log, &a, &n, &task);
    hx_plot_series *loss = hx_calloc((size_t)n + 1, sizeof *loss), *acc = hx_calloc((size_t)n + 1, sizeof *acc);
    const char **labels = hx_calloc((size_t)n + 1, sizeof *labels);
    double *final = hx_calloc((size_t)n + 1, sizeof *final);
    if (rc == HX_OK && (!loss || !acc || !labels || !final)) rc = HX_ENOMEM;
    int ns = 0, na = 0, nb = 0;
    for (int i = 0; rc == HX_OK && i < n; i++) {
        labels[nb] = a[i].name;
        final[nb++] = a[i].loss[a[i].n - 1];
        if (a[i].teacher) continue; /* its x axis is the teacher's own training */
        loss[ns++] = (hx_plot_series){a[i].name, (size_t)a[i].n, a[i].tokens, a[i].loss};
        if (a[i].acc) acc[na++] = (hx_plot_series){a[i].name, (size_t)a[i].n, a[i].tokens, a[i].acc};
    }
    if (rc == HX_OK && ns > 0) rc = hx_plot_val_loss(out, loss, (size_t)ns, HX_PLOT_ALL);
    if (rc == HX_OK)
        rc = hx_plot_accuracy(out, task ? task : "none", acc, (size_t)na, NULL, 0, baselines_dir, HX_PLOT_ALL);
    if (rc == HX_OK) rc = importance_plots(log, out);
    if (rc == HX_OK && nb > 0)
        rc = hx_plot_ablation(out, "final_val_loss", "final validation loss per arm", "validation loss (nats/token)",
                              labels, final, NULL, (size_t)nb, HX_PLOT_ALL);
    if (rc == HX_OK) printf("plots: %s/{val_loss_vs_tokens,accuracy_vs_tokens,importance_heads,importance_layers,"
                            "final_val_loss}.{png,svg,pdf}\n", out);
    free(loss);
    free(acc);
    free(labels);
    free(final);
    free(task);
    free_curves(a, n);
    free(out);
    hx_h5log_close(log);
    return rc;
}
