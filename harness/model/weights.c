/* Hugging Face model directory <-> hx_model: config.json plus safetensors
 * (single or sharded), with every tensor shape checked against the config
 * (field case C02) and the tied-embedding policy of field case C11. */
#include "model/weights.h"

#include "core/err.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX 700 /* characters of tensor names quoted in one error message */

/* Appends `name` to a ", "-separated list, counting what did not fit. */
static void list_add(char *buf, int *dropped, const char *name)
{
    size_t l = strlen(buf);
    if (l + strlen(name) + 3 >= LIST_MAX) {
        (*dropped)++;
        return;
    }
    snprintf(buf + l, LIST_MAX - l, "%s%s", l ? ", " : "", name);
}

static int ignorable(const char *name)
{
    size_t n = strlen(name), s = strlen(".rotary_emb.inv_freq");
    return n >= s && !strcmp(name + n - s, ".rotary_emb.inv_freq");
}

static void shape_str(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t o = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < ndim && o < len; d++) o += (size_t)snprintf(buf + o, len - o, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (o < len) snprintf(buf + o, len - o, "]");
}

/* Describes how tensor `t` contradicts the view `p` (dtype not F32/BF16/F16,
 * or another shape) into buf as "<file>: tensor '<name>' has ..."; returns 0
 * when it matches. */
static int tensor_mismatch(const hx_st *st, const hx_st_tensor *t, const hx_param *p, char *buf, size_t len)
{
    const char *file = strrchr(hx_st_path(st, t), '/');
    file = file ? file + 1 : hx_st_path(st, t);
    if (t->dtype != HX_DT_F32 && t->dtype != HX_DT_BF16 && t->dtype != HX_DT_F16) {
        snprintf(buf, len, "%s: tensor '%s' has dtype %s; weights must be F32, BF16 or F16", file, t->name,
                 hx_dtype_name(t->dtype));
        return 1;
    }
    int64_t want[2] = {p->rows, p->cols};
    int wnd = p->cols ? 2 : 1;
    if (t->ndim == wnd && t->shape[0] == want[0] && (wnd == 1 || t->shape[1] == want[1])) return 0;
    char got[128], exp[64];
    shape_str(got, sizeof got, t->ndim, t->shape);
    shape_str(exp, sizeof exp, wnd, want);
    snprintf(buf, len, "%s: tensor '%s' has shape %s but the config implies %s", file, t->name, got, exp);
    return 1;
}

int hx_weights_check(const char *dir, const hx_st *st, const hx_config *c, FILE *report)
{
    int np = hx_model_num_params(c), nt = hx_st_count(st), rc = HX_OK;
    hx_param *ps = hx_malloc((size_t)np * sizeof *ps);
    char *used = hx_calloc((size_t)(nt ? nt : 1), 1), missing[LIST_MAX] = "", extra[LIST_MAX] = "", bad[LIST_MAX] = "";
    int n_missing_dropped = 0, n_extra_dropped = 0, n_bad_dropped = 0, n_bad = 0;
    if (!ps || !used) {
        rc = HX_ENOMEM;
        goto done;
    }
    hx_config_params(c, ps);
    const hx_st_tensor *base = hx_st_get(st, 0), *lm = hx_st_find(st, "lm_head.weight");
    for (int i = 0; i <= np; i++) {
        /* i == np: a tied model's stored lm_head.weight, checked against embed_tokens' shape (C11). */
        const hx_st_tensor *t = i < np ? hx_st_find(st, ps[i].name) : c->tie_word_embeddings ? lm : NULL;
        if (!t) {
            if (i < np) list_add(missing, &n_missing_dropped, ps[i].name);
            continue;
        }
        used[t - base] = 1;
        char why[320];
        if (tensor_mismatch(st, t, i < np ? &ps[i] : &ps[0], why, sizeof why)) {
            n_bad++;
            list_add(bad, &n_bad_dropped, why);
            if (report) fprintf(report, "  %s\n", why);
        }
    }
    for (int i = 0; i < nt; i++)
        if (!used[i] && !ignorable(hx_st_get(st, i)->name)) {
            list_add(extra, &n_extra_dropped, hx_st_get(st, i)->name);
            if (report) fprintf(report, "  unexpected tensor '%s'\n", hx_st_get(st, i)->name);
        }
    if (bad[0]) {
        rc = HX_ERR(HX_EFORMAT,
                    "%s: %d tensor%s contradict%s the config (hidden_size %d, intermediate_size %d, "
                    "num_attention_heads %d x head_dim %d = %d, num_key_value_heads %d x head_dim %d = %d, "
                    "vocab_size %d): %s%s",
                    dir, n_bad, n_bad > 1 ? "s" : "", n_bad > 1 ? "" : "s", c->hidden_size, c->intermediate_size,
                    c->num_attention_heads, c->head_dim, c->num_attention_heads * c->head_dim, c->num_key_value_heads,
                    c->head_dim, c->num_key_value_heads * c->head_dim, c->vocab_size, bad,
                    n_bad_dropped ? " and more" : "");
        goto done;
    }
    if (missing[0]) {
        if (report) fprintf(report, "  missing tensors: %s%s\n", missing, n_missing_dropped ? " and more" : "");
        rc = HX_ERR(HX_EFORMAT, "%s: missing tensors: %s%s%s", dir, missing, n_missing_dropped ? " and more" : "",
                    !c->tie_word_embeddings && strstr(missing, "lm_head.weight")
                        ? " (tie_word_embeddings is false, so lm_head.weight is required)"
                        : "");
        goto done;
    }
    if (extra[0])
        rc = HX_ERR(HX_EFORMAT, "%s: unexpected tensors (not part of a %d-layer %s model): %s%s", dir,
                    c->num_hidden_layers, c->model_type, extra, n_extra_dropped ? " and more" : "");
done:
    free(ps);
    free(used);
    return rc;
}

/* C11 (b): tied config but the file also has lm_head.weight (shape-checked
 * by hx_weights_check). Policy: keep embed_tokens for both (what
 * transformers' tie_weights does on load) and warn with the largest
 * difference when the two tensors differ. */
static int check_tied_lm_head(const hx_st *st, const hx_st_tensor *lm, const hx_model *m)
{
    size_t n = hx_st_numel(lm);
    float *tmp = hx_malloc(n * sizeof(float));
    if (!tmp) return HX_ENOMEM;
    int rc = hx_st_read_f32(st, lm, tmp, n);
    double maxdiff = 0;
    for (size_t i = 0; rc >= 0 && i < n; i++) {
        double d = fabs((double)tmp[i] - (double)m->embed_tokens[i]);
        if (!(d <= maxdiff)) maxdiff = d; /* NaN counts as a difference */
    }
    free(tmp);
    if (rc >= 0 && maxdiff != 0)
        fprintf(stderr,
                "warning: %s: tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight "
                "(max |diff| = %g); using model.embed_tokens.weight for both, as transformers' tie_weights does\n",
                hx_st_path(st, lm), maxdiff);
    return rc;
}

static int load_weights(const char *dir, const hx_st *st, hx_model *m)
{
    HX_TRY(hx_weights_check(dir, st, &m->cfg, NULL));
    int np = hx_model_num_params(&m->cfg), rc = HX_OK;
    hx_param *ps = hx_malloc((size_t)np * sizeof *ps);
    if (!ps) return HX_ENOMEM;
    hx_model_params(m, ps);
    for (int i = 0; i < np && rc >= 0; i++) {
        const hx_st_tensor *t = hx_st_find(st, ps[i].name);
        rc = hx_st_read_f32_finite(st, t, ps[i].data, hx_st_numel(t)); /* a NaN/Inf weight is refused */
    }
    const hx_st_tensor *lm = hx_st_find(st, "lm_head.weight");
    if (rc >= 0 && m->cfg.tie_word_embeddings && lm) rc = check_tied_lm_head(st, lm, m);
    free(ps);
    return rc;
}

int hx_model_load(const char *dir, hx_model *m)
{
    memset(m, 0, sizeof *m);
    char *cfg_path = hx_path_join(dir, "config.json");
    if (!cfg_path) return HX_ENOMEM;
    hx_config cfg;
    int rc = hx_config_load(cfg_path, &cfg);
    free(cfg_path);
    HX_TRY(rc);
    hx_st *st;
    HX_TRY(hx_st_open(dir, &st));
    rc = hx_model_alloc(m, &cfg);
    if (rc >= 0) rc = load_weights(dir, st, m);
    hx_st_close(st);
    if (rc < 0) hx_model_free(m);
    return rc;
}

int hx_model_save(const char *dir, const hx_model *m, hx_dtype dtype, uint64_t max_shard_bytes)
{
    if (dtype != HX_DT_F32 && dtype != HX_DT_BF16)
        return HX_ERR(HX_EINVAL, "%s: models are saved as F32 or BF16, not %s", dir, hx_dtype_name(dtype));
    HX_TRY(hx_mkdir_p(dir));
    int np = hx_model_num_params(&m->cfg);
    hx_param *ps = hx_malloc((size_t)np * sizeof *ps);
    hx_st_entry *es = hx_calloc((size_t)np, sizeof *es);
    char *cfg_path = hx_path_join(dir, "config.json");
    int rc = ps && es && cfg_path ? HX_OK : HX_ENOMEM;
    if (rc >= 0) {
        hx_model_params(m, ps);
        for (int i = 0; i < np; i++) {
            es[i] = (hx_st_entry){.name = ps[i].name, .data = ps[i].data, .src = HX_DT_F32, .dtype = dtype,
                                  .ndim = ps[i].cols ? 2 : 1, .shape = {ps[i].rows, ps[i].cols}};
        }
        rc = hx_st_write(dir, NULL, es, np, max_shard_bytes);
    }
    if (rc >= 0) rc = hx_config_save_as(cfg_path, &m->cfg, dtype); /* last: a config means the weights are complete */
    free(ps);
    free(es);
    free(cfg_path);
    return rc;
}
