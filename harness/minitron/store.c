/* Importance scores and prune plans in the HDF5 run log (layout in store.h
 * and results/README.md). */
#include "minitron/store.h"

#include "core/err.h"
#include "model/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* Writes a float64 array of 1 or 2 dimensions at group/name. */
static int put(hx_h5log *log, const char *group, const char *name, const double *v, int64_t d0, int64_t d1)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", group, name);
    int64_t dims[2] = {d0, d1};
    return hx_h5log_write_array(log, path, HX_H5_F64, d1 > 0 ? 2 : 1, dims, v);
}

int hx_importance_write(hx_h5log *log, const char *g, const hx_importance *r, const hx_importance_opts *o,
                        const hx_importance_meta *meta)
{
    if (!g) g = HX_IMPORTANCE_GROUP;
    const hx_scores *s = &r->scores;
    HX_TRY(put(log, g, "layer", s->layer, s->num_layers, 0));
    HX_TRY(put(log, g, "head", s->head, s->num_layers, s->num_heads));
    HX_TRY(put(log, g, "neuron", s->neuron, s->num_layers, s->intermediate_size));
    HX_TRY(put(log, g, "channel", s->channel, s->hidden_size, 0));
    HX_TRY(put(log, g, "bi", r->bi, s->num_layers, 0));
    if (r->loss_drop) HX_TRY(put(log, g, "loss_drop", r->loss_drop, s->num_layers, 0));
    if (r->block_loss) HX_TRY(put(log, g, "block_loss", r->block_loss, r->n_blocks, 0));
    /* Paper (NeurIPS 2024 §2.1-2.2, [P]): pre-activation neurons, depth by LM
     * loss or contiguous block; ModelOpt: down_proj input, Block Importance. */
    const char *nconv = o->neuron_post ? "modelopt" : "paper", *dconv = o->depth == HX_DEPTH_BI ? "modelopt" : "paper";
    HX_TRY(hx_h5log_attr_str(log, g, "batch_agg", hx_agg_name(o->batch_agg)));
    HX_TRY(hx_h5log_attr_str(log, g, "seq_agg", hx_agg_name(o->seq_agg)));
    HX_TRY(hx_h5log_attr_str(log, g, "neuron", o->neuron_post ? "post" : "pre"));
    HX_TRY(hx_h5log_attr_str(log, g, "neuron_convention", nconv));
    HX_TRY(hx_h5log_attr_str(log, g, "depth", hx_depth_metric_name(o->depth)));
    HX_TRY(hx_h5log_attr_str(log, g, "depth_convention", dconv));
    HX_TRY(hx_h5log_attr_str(log, g, "convention", !strcmp(nconv, dconv) ? nconv : "mixed"));
    HX_TRY(hx_h5log_attr_int(log, g, "depth_loss", o->depth_loss));
    HX_TRY(hx_h5log_attr_int(log, g, "block_len", o->block_len));
    HX_TRY(hx_h5log_attr_int(log, g, "micro_batch", o->micro_batch));
    HX_TRY(hx_h5log_attr_int(log, g, "bf16", o->bf16));
    HX_TRY(hx_h5log_attr_int(log, g, "tokens", r->tokens));
    HX_TRY(hx_h5log_attr_double(log, g, "seconds", r->seconds));
    HX_TRY(hx_h5log_attr_double(log, g, "seconds_width", r->seconds_width));
    HX_TRY(hx_h5log_attr_double(log, g, "base_loss", r->base_loss));
    if (meta) {
        HX_TRY(hx_h5log_attr_int(log, g, "samples", meta->samples));
        HX_TRY(hx_h5log_attr_int(log, g, "seq_len", meta->seq_len));
        HX_TRY(hx_h5log_attr_int(log, g, "seed", (int64_t)meta->seed));
        if (meta->model) HX_TRY(hx_h5log_attr_str(log, g, "model", meta->model));
        if (meta->data) HX_TRY(hx_h5log_attr_str(log, g, "data", meta->data));
    }
    return HX_OK;
}

/* Reads group/name as float64 into a fresh array that must have the given
 * shape (d1 = 0: one dimension; d0 < 0: any length, returned in *d0_out). */
static int get(hx_h5log *log, const char *group, const char *name, int64_t d0, int64_t d1, double **out,
               int64_t *d0_out)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", group, name);
    int nd;
    int64_t dims[8];
    void *buf;
    HX_TRY(hx_h5log_read_array(log, path, HX_H5_F64, &buf, &nd, dims));
    int ok = nd == (d1 > 0 ? 2 : 1) && (d0 < 0 || dims[0] == d0) && (d1 <= 0 || dims[1] == d1);
    if (!ok) {
        free(buf);
        return HX_ERR(HX_EINVAL, "importance scores %s: shape does not match the model (expected [%lld%s%lld])", path,
                      (long long)d0, d1 > 0 ? ", " : "", d1 > 0 ? (long long)d1 : 0LL);
    }
    if (d0_out) *d0_out = dims[0];
    *out = buf;
    return HX_OK;
}

static int read_all(hx_h5log *log, const char *g, const hx_config *cfg, hx_importance *r)
{
    hx_scores *s = &r->scores;
    int64_t L, H = 0, F = 0, D;
    double *p;
    /* The layer array fixes L; head and neuron arrays give H and F. */
    HX_TRY(get(log, g, "layer", cfg ? cfg->num_hidden_layers : -1, 0, &s->layer, &L));
    char path[256];
    int nd;
    int64_t dims[8];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", g, k ? "neuron" : "head");
        HX_TRY(hx_h5log_read_array(log, path, HX_H5_F64, (void **)&p, &nd, dims));
        int want = cfg ? (k ? cfg->intermediate_size : cfg->num_attention_heads) : (int)(nd == 2 ? dims[1] : -1);
        if (nd != 2 || dims[0] != L || dims[1] != want) {
            free(p);
            return HX_ERR(HX_EINVAL, "importance scores %s: expected shape [%lld, %d]", path, (long long)L, want);
        }
        if (k) s->neuron = p, F = dims[1];
        else s->head = p, H = dims[1];
    }
    HX_TRY(get(log, g, "channel", cfg ? cfg->hidden_size : -1, 0, &s->channel, &D));
    s->num_layers = (int)L;
    s->num_heads = (int)H;
    s->intermediate_size = (int)F;
    s->hidden_size = (int)D;
    HX_TRY(get(log, g, "bi", L, 0, &r->bi, NULL));
    snprintf(path, sizeof path, "%s/loss_drop", g);
    if (hx_h5log_read_array(log, path, HX_H5_F64, (void **)&p, &nd, dims) == HX_OK) {
        r->loss_drop = p;
        if (nd != 1 || dims[0] != L) return HX_ERR(HX_EINVAL, "importance scores %s: expected shape [%lld]", path, (long long)L);
    }
    hx_clearerr();
    int64_t nb;
    if (get(log, g, "block_loss", -1, 0, &r->block_loss, &nb) == HX_OK) {
        r->n_blocks = (int)nb;
        if (nb < 1 || nb > L) return HX_ERR(HX_EINVAL, "importance scores %s/block_loss: %lld blocks for %lld layers", g, (long long)nb, (long long)L);
    }
    hx_clearerr();
    double v;
    if (hx_h5log_get_attr_double(log, g, "base_loss", &v) == HX_OK) r->base_loss = v;
    if (hx_h5log_get_attr_double(log, g, "tokens", &v) == HX_OK) r->tokens = (long)v;
    if (hx_h5log_get_attr_double(log, g, "seconds", &v) == HX_OK) r->seconds = v;
    hx_clearerr();
    return HX_OK;
}

int hx_importance_read(hx_h5log *log, const char *group, const hx_config *cfg, hx_importance *r)
{
    memset(r, 0, sizeof *r);
    const char *g = group ? group : HX_IMPORTANCE_GROUP;
    int rc = read_all(log, g, cfg, r);
    if (rc == HX_OK && (rc = hx_importance_check_finite(r)) < 0) hx_adderr(rc, "%s", g);
    if (rc < 0) hx_importance_free(r);
    return rc;
}

/* Writes n ints as an int64 dataset of shape [d0] or [d0, d1]. */
static int put_idx(hx_h5log *log, const char *group, const char *name, const int *v, int64_t d0, int64_t d1)
{
    size_t n = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    int64_t *buf = hx_malloc((n ? n : 1) * sizeof(int64_t));
    if (!buf) return HX_ENOMEM;
    for (size_t i = 0; i < n; i++) buf[i] = v[i];
    char path[256];
    snprintf(path, sizeof path, "%s/%s", group, name);
    int64_t dims[2] = {d0, d1};
    int rc = hx_h5log_write_array(log, path, HX_H5_I64, d1 > 0 ? 2 : 1, dims, buf);
    free(buf);
    return rc;
}

static int put_config(hx_h5log *log, const char *g, const char *name, const hx_config *c)
{
    char *js = hx_config_json(c);
    if (!js) return HX_ERR(HX_ENOMEM, "out of memory");
    int rc = hx_h5log_attr_str(log, g, name, js);
    free(js);
    return rc;
}

int hx_prune_plan_write(hx_h5log *log, const char *g, const hx_prune_plan *p, const hx_prune_meta *meta)
{
    if (!g) g = HX_PRUNE_GROUP;
    const hx_config *d = &p->dst;
    int L = d->num_hidden_layers;
    HX_TRY(put_idx(log, g, "keep_layers", p->keep_layers, L, 0));
    HX_TRY(put_idx(log, g, "keep_channels", p->keep_channels, d->hidden_size, 0));
    HX_TRY(put_idx(log, g, "keep_heads", p->keep_heads, L, d->num_attention_heads));
    HX_TRY(put_idx(log, g, "keep_kv", p->keep_kv, L, d->num_key_value_heads));
    HX_TRY(put_idx(log, g, "keep_neurons", p->keep_neurons, L, d->intermediate_size));
    HX_TRY(put_config(log, g, "source_config", &p->src));
    HX_TRY(put_config(log, g, "target_config", d));
    HX_TRY(hx_h5log_attr_int(log, g, "source_params", (int64_t)hx_config_param_count(&p->src)));
    HX_TRY(hx_h5log_attr_int(log, g, "target_params", (int64_t)hx_config_param_count(d)));
    HX_TRY(hx_h5log_attr_int(log, g, "transformers5_loadable", hx_config_hf5_loadable(d, NULL, 0)));
    HX_TRY(hx_h5log_attr_str(log, g, "method", meta && meta->random ? "random" : "importance"));
    HX_TRY(hx_h5log_attr_int(log, g, "head_residual", meta ? meta->head_residual : 0));
    if (meta && meta->random) HX_TRY(hx_h5log_attr_int(log, g, "seed", (int64_t)meta->seed));
    if (meta && meta->scores) HX_TRY(hx_h5log_attr_str(log, g, "scores", meta->scores));
    int *removed = hx_malloc(sizeof(int) * (size_t)(p->src.num_hidden_layers + 1));
    if (!removed) return HX_ENOMEM;
    int rc = put_idx(log, g, "removed_layers", removed, hx_prune_removed_layers(p, removed), 0);
    free(removed);
    HX_TRY(rc);
    HX_TRY(hx_h5log_attr_int(log, g, "n_ties", p->n_ties));
    HX_TRY(hx_h5log_attr_str(log, g, "tie_rule",
                             "higher score kept; scores within a relative 1e-6 of each other across the cut are "
                             "recorded in ties; exactly equal scores keep the lower index"));
    if (p->n_ties == 0) return HX_OK;
    int64_t *t = hx_malloc(sizeof(int64_t) * 4 * (size_t)p->n_ties);
    double *v = hx_malloc(sizeof(double) * 2 * (size_t)p->n_ties);
    rc = t && v ? HX_OK : HX_ENOMEM;
    for (int i = 0; rc == HX_OK && i < p->n_ties; i++) {
        const hx_prune_tie *x = &p->ties[i];
        t[4 * i] = x->axis;
        t[4 * i + 1] = x->layer;
        t[4 * i + 2] = x->kept;
        t[4 * i + 3] = x->dropped;
        v[2 * i] = x->kept_score;
        v[2 * i + 1] = x->dropped_score;
    }
    char path[256];
    int64_t dims[2] = {p->n_ties, 4};
    snprintf(path, sizeof path, "%s/ties", g);
    if (rc == HX_OK) rc = hx_h5log_write_array(log, path, HX_H5_I64, 2, dims, t);
    dims[1] = 2;
    snprintf(path, sizeof path, "%s/tie_scores", g);
    if (rc == HX_OK) rc = hx_h5log_write_array(log, path, HX_H5_F64, 2, dims, v);
    free(t);
    free(v);
    return rc;
}

int hx_importance_load(const char *path, const char *group, const hx_config *cfg, hx_importance *r)
{
    if (access(path, R_OK) != 0) return HX_ERR(HX_EIO, "%s: cannot read the scores file", path);
    hx_h5log *log;
    HX_TRY(hx_h5log_open(path, HX_H5LOG_APPEND, &log));
    int rc = hx_importance_read(log, group, cfg, r);
    hx_h5log_close(log);
    return rc < 0 ? hx_adderr(rc, "reading importance scores from %s:%s", path, group) : HX_OK;
}
