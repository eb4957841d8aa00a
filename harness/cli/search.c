/* `harness search`: candidates within a parameter budget, each pruned from
 * the teacher, briefly retrained and ranked (minitron/search.h). */
#include "core/args.h"       // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"       // defines: hx_cmd_search
#include "core/err.h"       // defines: hx_report, HX_ERR
#include "core/util.h"      // defines: hx_path_join
#include "minitron/search.h" // defines: hx_search_enumerate, hx_search_run
#include "minitron/store.h" // defines: hx_importance_load, HX_IMPORTANCE_GROUP
#include "model/weights.h"  // defines: hx_config_load

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* `harness search` owns its run log: provenance before the candidates train
 * (the trainer writes no run-level attributes), end_time once all are done. */
static int own_run_log(const char *path, int finish)
{
    hx_h5log *log;
    HX_TRY(hx_h5log_open(path, HX_H5LOG_APPEND, &log));
    int rc = finish ? hx_h5log_finish(log) : hx_h5log_set_provenance(log, "(no manifest: harness search)");
    int rc2 = hx_h5log_close(log);
    return rc < 0 ? rc : rc2;
}

int hx_cmd_search(int argc, char **argv)
{
    hx_arg_ints layers = {0}, heads = {0}, inter = {0}, hidden = {0};
    hx_search_opts so = {.distill = 1, .train = hx_train_defaults()};
    so.train.seq_len = 256;
    so.train.seed = 1234;
    so.train.schedule.peak_lr = 1e-4;
    so.train.quiet = 1;
    const char *scores = NULL, *group = HX_IMPORTANCE_GROUP;
    int64_t budget = 0;
    double tol = 0.05;
    int dry = 0;
    hx_arg args[] = {
        {"model", HX_ARG_STR, &so.teacher_dir, "DIR", "the teacher (Hugging Face directory)", .required = 1},
        {"param-budget", HX_ARG_COUNT, &budget, "N", "target parameter count", 1, 9e18, .required = 1},
        {"tolerance", HX_ARG_DOUBLE, &tol, "X", "candidates within +-X of the budget (a fraction)", 0, 1},
        {"layers", HX_ARG_INTS, &layers, NULL, "num_hidden_layers values (default: the teacher's)", 1, 1e9},
        {"heads", HX_ARG_INTS, &heads, NULL, "num_attention_heads values (multiples of num_key_value_heads)", 1, 1e9},
        {"intermediate-sizes", HX_ARG_INTS, &inter, NULL, "intermediate_size values", 1, 1e9},
        {"hidden-sizes", HX_ARG_INTS, &hidden, NULL, "hidden_size values", 1, 1e9},
        {"scores", HX_ARG_STR, &scores, "FILE.h5", "the teacher's importance scores"},
        {"group", HX_ARG_STR, &group, "NAME", "group of the scores"},
        {"train", HX_ARG_STR, &so.train.train_data, "SPEC", "training token shards"},
        {"val", HX_ARG_STR, &so.train.val_data, "SPEC", "validation token shards (the ranking)"},
        {"tokens", HX_ARG_COUNT, &so.train.token_budget, "N", "retraining tokens per candidate", 1, 9e18},
        {"seq-len", HX_ARG_INT, &so.train.seq_len, "T", "tokens per sequence", 1, 1e9},
        {"micro-batch", HX_ARG_INT, &so.train.micro_batch, "B", "sequences per micro-batch", 1, 1e9},
        {"lr", HX_ARG_DOUBLE, &so.train.schedule.peak_lr, NULL, "peak learning rate (final: lr/10)", 0, 1e9},
        {"eval-batches", HX_ARG_INT, &so.train.eval_batches, "N", "validation micro-batches", 1, 1e9},
        {"seed", HX_ARG_U64, &so.train.seed, NULL, "init and data order"},
        {"ce", HX_ARG_FLAG, &so.distill, "", "retrain with cross-entropy instead of distillation", .set = 0},
        {"kd-temperature", HX_ARG_DOUBLE, &so.train.kd.temperature, "TAU", "KD temperature", 0, 1e9},
        {"work", HX_ARG_STR, &so.work_dir, "DIR", "candidate models go to DIR/cand_<i>"},
        {"log", HX_ARG_STR, &so.log_path, "FILE.h5", "HDF5 run log (group search/ and arms/search_<i>)"},
        {"dry-run", HX_ARG_FLAG, &dry, "", "only list the candidates", .set = 1},
        {NULL},
    };
    hx_cli cli = {"search",
                  "Lightweight architecture search (Minitron NeurIPS 2024 sec. 2.3): every candidate of the space within\n"
                  "+-tolerance of the budget is importance-pruned from the teacher, retrained for --tokens tokens\n"
                  "(distilled from the teacher, or --ce), and ranked by final validation loss (HDF5 group search/).",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    if (!dry && (!scores || !so.train.train_data || !so.train.val_data || !so.train.token_budget || !so.work_dir ||
                 !so.log_path)) {
        hx_cli_free(&cli);
        return hx_cli_fail(&cli, "--scores, --train, --val, --tokens, --work and --log are required (or --dry-run)");
    }
    hx_cli_settings(&cli, stderr);
    hx_search_space sp = {layers.v, layers.n, heads.v, heads.n, inter.v, inter.n, hidden.v, hidden.n};
    so.train.schedule.min_lr = so.train.schedule.peak_lr / 10;
    hx_config teacher;
    hx_search_candidate *cand = NULL;
    int n = 0, rc;
    char *cfg_path = hx_path_join(so.teacher_dir, "config.json");
    rc = cfg_path ? hx_config_load(cfg_path, &teacher) : HX_ERR(HX_ENOMEM, "out of memory");
    free(cfg_path);
    if (rc == HX_OK) rc = hx_search_enumerate(&teacher, &sp, budget, tol, &cand, &n);
    if (rc == HX_OK) {
        printf("%d candidates within %.1f%% of %" PRId64 " parameters:\n", n, 100 * tol, budget);
        for (int i = 0; i < n; i++)
            printf("  [%d] layers %d, heads %d, intermediate %d, hidden %d: %" PRId64 " parameters\n", i,
                   cand[i].cfg.num_hidden_layers, cand[i].cfg.num_attention_heads, cand[i].cfg.intermediate_size,
                   cand[i].cfg.hidden_size, cand[i].params);
    }
    hx_importance imp = {0};
    hx_search_result res = {0};
    if (rc == HX_OK && !dry && n > 0) {
        rc = hx_importance_load(scores, group, &teacher, &imp);
        so.scores = &imp;
        if (rc == HX_OK) rc = own_run_log(so.log_path, 0);
        if (rc == HX_OK) rc = hx_search_run(&so, cand, n, budget, tol, &res);
        if (rc == HX_OK) rc = own_run_log(so.log_path, 1);
        for (int i = 0; rc == HX_OK && i < n; i++)
            printf("%s#%d candidate %d: val loss %.4f\n", i ? "" : "ranking (best first):\n", i + 1, res.ranking[i],
                   res.val_loss[res.ranking[i]]);
    }
    hx_search_result_free(&res);
    hx_importance_free(&imp);
    free(cand);
    hx_cli_free(&cli);
    return rc == HX_OK ? 0 : hx_report(rc);
}
