/* Architecture search: candidate enumeration within a parameter budget, and
 * short retraining of each importance-pruned candidate, ranked by val loss. */
#include "minitron/search.h"

#include "core/err.h"
#include "core/util.h"
#include "model/flops.h"
#include "log/h5log.h"
#include "minitron/ops.h"
#include "model/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks one axis list against the teacher's value; an empty list becomes {teacher}. */
static int axis(const char *name, const int *v, int n, int teacher, int multiple, const int **out, int *n_out,
                int *fallback)
{
    for (int i = 0; i < n; i++) {
        if (v[i] < 1 || v[i] > teacher)
            return HX_ERR(HX_EINVAL, "search space: %s = %d must be in [1, %d] (the teacher's)", name, v[i], teacher);
        if (v[i] % multiple)
            return HX_ERR(HX_EINVAL,
                          "search space: %s = %d is not a multiple of num_key_value_heads = %d: every KV group must "
                          "keep the same number of query heads",
                          name, v[i], multiple);
    }
    *fallback = teacher;
    *out = n ? v : fallback;
    *n_out = n ? n : 1;
    return HX_OK;
}

int hx_search_enumerate(const hx_config *t, const hx_search_space *sp, int64_t budget, double tol,
                        hx_search_candidate **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (budget <= 0 || tol < 0)
        return HX_ERR(HX_EINVAL, "search: param budget %lld must be positive and tolerance %g >= 0", (long long)budget, tol);
    const int *L, *H, *F, *D;
    int nL, nH, nF, nD, fL, fH, fF, fD;
    HX_TRY(axis("num_hidden_layers", sp->layers, sp->n_layers, t->num_hidden_layers, 1, &L, &nL, &fL));
    HX_TRY(axis("num_attention_heads", sp->heads, sp->n_heads, t->num_attention_heads, t->num_key_value_heads, &H,
                &nH, &fH));
    HX_TRY(axis("intermediate_size", sp->intermediate, sp->n_intermediate, t->intermediate_size, 1, &F, &nF, &fF));
    HX_TRY(axis("hidden_size", sp->hidden, sp->n_hidden, t->hidden_size, 1, &D, &nD, &fD));
    hx_search_candidate *c = hx_malloc(sizeof *c * (size_t)nL * nH * nF * nD);
    if (!c) return HX_ENOMEM;
    double lo = (double)budget * (1 - tol), hi = (double)budget * (1 + tol);
    int n = 0;
    for (int a = 0; a < nL; a++)
        for (int b = 0; b < nH; b++)
            for (int k = 0; k < nF; k++)
                for (int d = 0; d < nD; d++) {
                    hx_config cfg = *t;
                    cfg.num_hidden_layers = L[a];
                    cfg.num_attention_heads = H[b];
                    cfg.intermediate_size = F[k];
                    cfg.hidden_size = D[d];
                    double p = (double)hx_config_param_count(&cfg);
                    if (p < lo || p > hi) continue;
                    c[n].cfg = cfg;
                    c[n].params = (int64_t)p;
                    n++;
                }
    *out = c;
    *n_out = n;
    return HX_OK;
}

void hx_search_result_free(hx_search_result *r)
{
    free(r->val_loss);
    free(r->ranking);
    memset(r, 0, sizeof *r);
}

/* Prunes the teacher to candidate `c` and saves it to `dir`. */
static int prune_candidate(const hx_model *teacher, const hx_importance *s, const hx_config *c, const char *dir)
{
    hx_prune_targets t = {.hidden_size = c->hidden_size,
                          .intermediate_size = c->intermediate_size,
                          .num_attention_heads = c->num_attention_heads,
                          .num_hidden_layers = c->num_hidden_layers};
    hx_prune_into_opts o = {.scores = s, .dtype = HX_DT_F32};
    hx_prune_plan plan;
    HX_TRY(hx_prune_into(teacher, &t, &o, dir, NULL, NULL, &plan));
    hx_prune_plan_free(&plan);
    return HX_OK;
}

/* The candidate's attributes, with its share of the compute ledger: its
 * retraining (3 forward passes' FLOPs per token) and, when distilled, the
 * teacher's forwards (model/flops.h). */
static int record_arm(const char *log_path, int i, const hx_search_candidate *c, const hx_config *teacher,
                      const hx_train_config *tc)
{
    hx_h5log *log;
    HX_TRY(hx_h5log_open(log_path, HX_H5LOG_APPEND, &log));
    char grp[64], *js = hx_config_json(&c->cfg);
    snprintf(grp, sizeof grp, "arms/search_%d", i);
    int rc = js ? hx_h5log_attr_str(log, grp, "config", js) : HX_ERR(HX_ENOMEM, "out of memory");
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, grp, "params", c->params);
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, grp, "candidate", i);
    double tokens = (double)tc->token_budget, train = 3 * hx_flops_forward_per_token(&c->cfg, tc->seq_len) * tokens;
    double fwd_t = tc->teacher ? hx_flops_forward_per_token(teacher, tc->seq_len) * tokens : 0;
    if (rc == HX_OK) rc = hx_h5log_attr_double(log, grp, "flops_train", train);
    if (rc == HX_OK) rc = hx_h5log_attr_double(log, grp, "flops_teacher_forward", fwd_t);
    if (rc == HX_OK) rc = hx_h5log_attr_double(log, grp, "flops_total", train + fwd_t);
    free(js);
    int rc2 = hx_h5log_close(log);
    return rc < 0 ? rc : rc2;
}

static const double *g_loss;
static int by_loss(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    double x = g_loss[i], y = g_loss[j];
    int xn = isnan(x), yn = isnan(y);
    if (xn != yn) return xn - yn; /* NaN last */
    if (!xn && x != y) return x < y ? -1 : 1;
    return i - j;
}

static int record_search(const hx_search_opts *o, const hx_search_candidate *c, int n, int64_t budget, double tol,
                         const hx_search_result *r)
{
    const char *g = o->group ? o->group : "search";
    int64_t *cand = hx_malloc(sizeof(int64_t) * (size_t)(n ? n : 1) * 5), *params = hx_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    int64_t *rank = hx_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    hx_h5log *log = NULL;
    int rc = cand && params && rank ? HX_OK : HX_ENOMEM;
    for (int i = 0; rc == HX_OK && i < n; i++) {
        const hx_config *k = &c[i].cfg;
        int64_t row[5] = {k->num_hidden_layers, k->num_attention_heads, k->num_key_value_heads, k->intermediate_size,
                          k->hidden_size};
        memcpy(cand + 5 * i, row, sizeof row);
        params[i] = c[i].params;
        rank[i] = r->ranking[i];
    }
    if (rc == HX_OK) rc = hx_h5log_open(o->log_path, HX_H5LOG_APPEND, &log);
    char path[256];
    int64_t d2[2] = {n, 5}, d1 = n;
#define PUT(name, type, nd, dims, data)                                      \
    if (rc == HX_OK) {                                                       \
        snprintf(path, sizeof path, "%s/%s", g, name);                       \
        rc = hx_h5log_write_array(log, path, type, nd, dims, data);          \
    }
    PUT("candidates", HX_H5_I64, 2, d2, cand);
    PUT("params", HX_H5_I64, 1, &d1, params);
    PUT("val_loss", HX_H5_F64, 1, &d1, r->val_loss);
    PUT("ranking", HX_H5_I64, 1, &d1, rank);
#undef PUT
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, g, "budget", budget);
    if (rc == HX_OK) rc = hx_h5log_attr_double(log, g, "tolerance", tol);
    if (rc == HX_OK) rc = hx_h5log_attr_int(log, g, "token_budget", o->train.token_budget);
    if (rc == HX_OK) rc = hx_h5log_attr_str(log, g, "retrain", o->distill ? "kd" : "ce");
    if (rc == HX_OK && n > 0) {
        rc = hx_h5log_attr_int(log, g, "best", r->ranking[0]);
        char *js = hx_config_json(&c[r->ranking[0]].cfg);
        if (rc == HX_OK) rc = js ? hx_h5log_attr_str(log, g, "best_config", js) : HX_ERR(HX_ENOMEM, "out of memory");
        free(js);
    }
    int rc2 = log ? hx_h5log_close(log) : HX_OK;
    free(cand);
    free(params);
    free(rank);
    return rc < 0 ? rc : rc2;
}

int hx_search_run(const hx_search_opts *o, const hx_search_candidate *c, int n, int64_t budget, double tol,
                  hx_search_result *r)
{
    memset(r, 0, sizeof *r);
    if (!o->log_path || !o->work_dir || !o->teacher_dir || !o->scores)
        return HX_ERR(HX_EINVAL, "search: teacher_dir, scores, work_dir and log_path are required");
    if (!o->train.val_data) return HX_ERR(HX_EINVAL, "search: validation data (train.val_data) is required to rank candidates");
    hx_model teacher;
    HX_TRY(hx_model_load(o->teacher_dir, &teacher));
    r->n = n;
    r->val_loss = hx_malloc(sizeof(double) * (size_t)(n ? n : 1));
    r->ranking = hx_malloc(sizeof(int) * (size_t)(n ? n : 1));
    int rc = r->val_loss && r->ranking ? HX_OK : HX_ENOMEM;
    for (int i = 0; rc == HX_OK && i < n; i++) {
        char sub[32], arm[32];
        snprintf(sub, sizeof sub, "cand_%d", i);
        snprintf(arm, sizeof arm, "search_%d", i);
        char *dir = hx_path_join(o->work_dir, sub);
        if (!dir) rc = HX_ERR(HX_ENOMEM, "out of memory");
        if (rc == HX_OK) rc = prune_candidate(&teacher, o->scores, &c[i].cfg, dir);
        hx_train_config tc = o->train;
        tc.init_from = dir;
        tc.arm = arm;
        tc.log_path = o->log_path;
        tc.teacher = o->distill ? o->teacher_dir : NULL;
        hx_train_result tr;
        if (rc == HX_OK) rc = hx_train(&tc, &tr);
        if (rc == HX_OK) {
            r->val_loss[i] = tr.last_val_loss;
            rc = record_arm(o->log_path, i, &c[i], &teacher.cfg, &tc);
        }
        if (rc < 0) rc = hx_adderr(rc, "search candidate %d (%d layers, %d heads, intermediate %d, hidden %d)", i,
                                   c[i].cfg.num_hidden_layers, c[i].cfg.num_attention_heads,
                                   c[i].cfg.intermediate_size, c[i].cfg.hidden_size);
        free(dir);
    }
    hx_model_free(&teacher);
    if (rc == HX_OK) {
        for (int i = 0; i < n; i++) r->ranking[i] = i;
        g_loss = r->val_loss;
        qsort(r->ranking, (size_t)n, sizeof(int), by_loss);
        rc = record_search(o, c, n, budget, tol, r);
    }
    if (rc < 0) hx_search_result_free(r);
    return rc;
}
