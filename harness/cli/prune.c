/* `harness prune`: a model pruned by stored importance (or at random) into
 * a new Hugging Face directory (minitron/ops.h, hx_prune_into). */
#include "core/args.h"         // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"         // defines: hx_cmd_prune
#include "core/err.h"         // defines: hx_report, HX_ERR
#include "core/util.h"        // defines: hx_path_join
#include "minitron/ops.h"     // defines: hx_prune_into, hx_prune_best_block
#include "minitron/targets.h" // defines: hx_budget_targets, HX_WIDTH_DIVISOR

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int hx_cmd_prune(int argc, char **argv)
{
    const char *model = NULL, *scores = NULL, *group = HX_IMPORTANCE_GROUP, *out = NULL, *log_path = NULL,
               *log_group = HX_PRUNE_GROUP;
    hx_prune_targets t = {0};
    hx_arg_ints drop = {0};
    int drop_block = 0, divisor = HX_WIDTH_DIVISOR, bf16 = 0;
    int64_t budget = 0;
    double tolerance = 0.05;
    hx_prune_into_opts po = {.seed = 1234, .dtype = HX_DT_F32};
    /* target sizes take any integer so that hx_prune_target_check reports bad ones */
    hx_arg args[] = {
        {"model", HX_ARG_STR, &model, "DIR", "source Hugging Face model directory", .required = 1},
        {"out", HX_ARG_STR, &out, "DIR", "pruned model directory (config.json, model.safetensors, tokenizer.json)",
         .required = 1},
        {"scores", HX_ARG_STR, &scores, "FILE.h5", "importance scores (harness importance)"},
        {"group", HX_ARG_STR, &group, "NAME", "group of the scores"},
        {"hidden-size", HX_ARG_INT, &t.hidden_size, "N", "target hidden_size (0 keeps the source's)"},
        {"intermediate-size", HX_ARG_INT, &t.intermediate_size, "N", "target intermediate_size"},
        {"num-attention-heads", HX_ARG_INT, &t.num_attention_heads, "N", "target num_attention_heads"},
        {"num-key-value-heads", HX_ARG_INT, &t.num_key_value_heads, "N", "target num_key_value_heads"},
        {"num-hidden-layers", HX_ARG_INT, &t.num_hidden_layers, "N", "keep the N most important layers"},
        {"drop-layers", HX_ARG_INTS, &drop, "3,4,5", "remove these layers (0-based)", 0, 1e9},
        {"drop-block", HX_ARG_INT, &drop_block, "K", "remove the contiguous block of K layers with the lowest block_loss",
         1, 1e9},
        {"param-budget", HX_ARG_COUNT, &budget, "N",
         "choose hidden/intermediate sizes for N parameters (rule: minitron/targets.h)", 1, 9e18},
        {"tolerance", HX_ARG_DOUBLE, &tolerance, "X", "parameter-budget tolerance as a fraction", 0, 1},
        {"divisor", HX_ARG_INT, &divisor, "D", "width grid of the parameter budget", 1, 1e9},
        {"random", HX_ARG_FLAG, &po.random, "", "random choices of the same shape (a control; no scores needed)",
         .set = 1},
        {"seed", HX_ARG_U64, &po.seed, NULL, "seed of --random"},
        {"head-residual", HX_ARG_FLAG, &po.head_residual, "", "paper's head-residual merging of pruned query heads",
         .set = 1},
        {"bf16", HX_ARG_FLAG, &bf16, "", "save weights as bfloat16 (default float32)", .set = 1},
        {"log", HX_ARG_STR, &log_path, "FILE.h5", "record the plan in this HDF5 file"},
        {"log-group", HX_ARG_STR, &log_group, "NAME", "group of the plan in --log"},
        {NULL},
    };
    hx_cli cli = {"prune", "Structured pruning (Minitron NeurIPS 2024 sec. 2.3) into a new Hugging Face model directory.",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    if (!scores && (!po.random || drop_block))
        code = hx_cli_fail(&cli, "--scores FILE.h5 is required (except with --random and without --drop-block)");
    else if (po.random && po.head_residual)
        code = hx_cli_fail(&cli, "--head-residual ranks heads by importance and cannot be used with --random");
    else if ((!!drop.n + !!drop_block + !!t.num_hidden_layers) > 1)
        code = hx_cli_fail(&cli, "give at most one of --num-hidden-layers, --drop-layers and --drop-block");
    if (code) {
        hx_cli_free(&cli);
        return code;
    }
    hx_cli_settings(&cli, stderr);
    t.drop_layers = drop.v;
    t.n_drop_layers = drop.n;
    po.dtype = bf16 ? HX_DT_BF16 : HX_DT_F32;
    hx_model src;
    hx_importance r = {0};
    hx_prune_plan plan = {0};
    char where[1024];
    snprintf(where, sizeof where, "%s:%s", scores ? scores : "", group);
    int *block = NULL, rc = hx_model_load(model, &src), loaded = rc == HX_OK;
    if (rc == HX_OK && scores) {
        rc = hx_importance_load(scores, group, &src.cfg, &r);
        po.scores = &r;
        po.scores_source = where;
    }
    if (rc == HX_OK && drop_block) rc = hx_prune_best_block(&r, src.cfg.num_hidden_layers, drop_block, where, &t, &block);
    if (rc == HX_OK && budget) rc = hx_budget_targets(&src.cfg, budget, tolerance, divisor, &t);
    char *tok = rc == HX_OK ? hx_path_join(model, "tokenizer.json") : NULL;
    if (rc == HX_OK && !tok) rc = HX_ERR(HX_ENOMEM, "out of memory");
    po.tokenizer = tok && access(tok, R_OK) == 0 ? tok : NULL;
    hx_h5log *log = NULL;
    if (rc == HX_OK && log_path) rc = hx_h5log_open(log_path, HX_H5LOG_APPEND, &log);
    if (rc == HX_OK) rc = hx_prune_into(&src, &t, &po, out, log, log_group, &plan);
    if (log) {
        int rc2 = hx_h5log_close(log);
        if (rc == HX_OK) rc = rc2;
    }
    if (rc == HX_OK) {
        const hx_config *s = &plan.src, *d = &plan.dst;
        printf("pruned %s -> %s (%s): %zu -> %zu parameters\n", model, out, po.random ? "random" : "importance",
               hx_config_param_count(s), hx_config_param_count(d));
        printf("  layers %d -> %d, hidden_size %d -> %d, intermediate_size %d -> %d, heads %d/%d -> %d/%d, head_dim %d\n",
               s->num_hidden_layers, d->num_hidden_layers, s->hidden_size, d->hidden_size, s->intermediate_size,
               d->intermediate_size, s->num_attention_heads, s->num_key_value_heads, d->num_attention_heads,
               d->num_key_value_heads, d->head_dim);
        hx_prune_plan_notes(stdout, "prune", &plan);
        hx_prune_plan_free(&plan);
    }
    free(tok);
    free(block);
    hx_importance_free(&r);
    if (loaded) hx_model_free(&src);
    hx_cli_free(&cli);
    return rc == HX_OK ? 0 : hx_report(rc);
}
