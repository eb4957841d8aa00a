/* The Minitron stage's operations (minitron/ops.h): importance from
 * shards, the best block to drop, and pruning into a directory. */
#include "minitron/ops.h"

#include "core/err.h"     // defines: HX_ERR, HX_TRY, hx_malloc
#include "core/rng.h"     // defines: hx_rng
#include "data/shard.h"   // defines: hx_dataset_open
#include "minitron/calib.h" // defines: hx_calib_draw

#include <stdlib.h>

int hx_importance_from_shards(const hx_model *m, const hx_importance_meta *src, const char *tokenizer_sha256,
                              const hx_importance_opts *o, hx_h5log *log, const char *group, hx_importance *out)
{
    hx_dataset d;
    int rc = hx_dataset_open(src->data, tokenizer_sha256, &d);
    if (rc < 0) return hx_adderr(rc, "calibration data %s", src->data);
    int32_t *win = hx_malloc(sizeof(int32_t) * ((size_t)src->seq_len + 1) * (size_t)src->samples);
    rc = win ? hx_calib_draw(&d, src->samples, src->seq_len, src->seed, win) : HX_ENOMEM;
    hx_dataset_close(&d);
    if (rc < 0) rc = hx_adderr(rc, "calibration data %s", src->data);
    if (rc == HX_OK) {
        rc = hx_importance_run(m, win, src->samples, src->seq_len, o, out);
        if (rc < 0) rc = hx_adderr(rc, "importance of %s", src->model ? src->model : "the model");
    }
    free(win);
    if (rc == HX_OK && log) {
        rc = hx_importance_write(log, group, out, o, src);
        if (rc < 0) hx_importance_free(out);
    }
    return rc;
}

int hx_prune_best_block(const hx_importance *im, int num_hidden_layers, int k, const char *where,
                        hx_prune_targets *t, int **block)
{
    int first = hx_importance_best_block(im);
    if (first < 0 || im->n_blocks != num_hidden_layers - k + 1)
        return HX_ERR(HX_EINVAL, "dropping a block of %d layers: %s has %s (compute importance with --block-len %d, in a manifest block_len: %d)", k,
                      where, first < 0 ? "no block_loss" : "block losses for another block length", k, k);
    int *b = hx_malloc(sizeof(int) * (size_t)k);
    if (!b) return HX_ENOMEM;
    for (int i = 0; i < k; i++) b[i] = first + i;
    t->num_hidden_layers = 0;
    t->drop_layers = b;
    t->n_drop_layers = k;
    *block = b;
    return HX_OK;
}

int hx_prune_into(const hx_model *src, const hx_prune_targets *t, const hx_prune_into_opts *o, const char *out_dir,
                  hx_h5log *log, const char *group, hx_prune_plan *plan)
{
    if (!o->random && !o->scores) return HX_ERR(HX_EINVAL, "pruning needs importance scores or a random plan");
    if (o->random) {
        hx_rng g;
        hx_rng_seed(&g, o->seed);
        HX_TRY(hx_prune_plan_random(&src->cfg, t, &g, plan));
    } else {
        HX_TRY(hx_prune_plan_build(&src->cfg, &o->scores->scores, t, plan));
    }
    int residual = o->head_residual && o->scores && !o->random;
    int rc = hx_prune_save(src, plan, residual ? &o->scores->scores : NULL, o->dtype, o->tokenizer, out_dir);
    if (rc == HX_OK && log) {
        hx_prune_meta meta = {o->random, o->seed, residual, o->scores_source};
        rc = hx_prune_plan_write(log, group, plan, &meta);
    }
    if (rc < 0) hx_prune_plan_free(plan);
    return rc;
}
