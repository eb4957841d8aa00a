/* Command-line front ends of the importance pass, pruning and the
 * architecture search. */
#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"
#include "data/shard.h"
#include "minitron/calib.h"
#include "minitron/minitron_cmds.h"
#include "minitron/search.h"
#include "minitron/store.h"
#include "minitron/targets.h"
#include "model/weights.h"

#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_existing(const char *path, hx_h5log **log)
{
    if (access(path, R_OK) != 0) return HX_ERR(HX_EIO, "%s: cannot read the scores file", path);
    return hx_h5log_open(path, HX_H5LOG_APPEND, log);
}

/* Reads importance group `group` of `path` for a model with config `cfg`. */
static int load_scores(const char *path, const char *group, const hx_config *cfg, hx_importance *r)
{
    hx_h5log *log;
    HX_TRY(open_existing(path, &log));
    int rc = hx_importance_read(log, group, cfg, r);
    hx_h5log_close(log);
    if (rc < 0) return hx_adderr(rc, "reading importance scores from %s:%s", path, group);
    return HX_OK;
}

/* ---- importance ---- */

static void importance_usage(FILE *f)
{
    fprintf(f,
            "usage: harness importance --model DIR --data SHARDS --out FILE.h5 [options]\n"
            "Activation-based importance (Minitron NeurIPS 2024 sec. 2.1-2.2) of every attention head, MLP neuron,\n"
            "embedding channel and layer, from forward passes over packed calibration windows.\n"
            "  --model DIR         Hugging Face model directory\n"
            "  --data SPEC         token shards (directory, glob or .hxs file)\n"
            "  --samples N         calibration windows (default 1024)\n"
            "  --seq-len T         tokens per window (default min(4096, max_position_embeddings))\n"
            "  --seed S            window draw seed (default 1234)\n"
            "  --micro-batch B     windows per forward pass (default 1); scores agree across B to a relative\n"
            "                      1e-5, bit for bit only at equal B (BLAS rounding depends on the row count)\n"
            "  --batch-agg A       l2|mean|var over samples (default l2, the paper's)\n"
            "  --seq-agg A         l2|mean|var over positions (default mean)\n"
            "  --neuron pre|post   gate_proj output (paper, default) or down_proj input (ModelOpt)\n"
            "  --depth ppl|bi|block  layer score: LM loss without the layer (default), Block Importance,\n"
            "                      or per-layer losses plus the contiguous-block scan\n"
            "  --block-len K       also the LM loss with every block of K consecutive layers removed\n"
            "  --no-depth-loss     skip the per-layer removal passes (only with --depth bi)\n"
            "  --out FILE.h5       HDF5 file (created, or added to) ; --group NAME (default importance)\n");
}

static void print_layers(const hx_importance *r)
{
    int L = r->scores.num_layers;
    int *idx = hx_malloc(sizeof(int) * (size_t)L);
    if (!idx) return;
    for (int i = 0; i < L; i++) idx[i] = i;
    for (int i = 1; i < L; i++) /* insertion sort by descending score */
        for (int j = i; j > 0 && r->scores.layer[idx[j]] > r->scores.layer[idx[j - 1]]; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    int k = L < 3 ? L : 3;
    printf("most important layers:");
    for (int i = 0; i < k; i++) printf(" %d (%.4g)", idx[i], r->scores.layer[idx[i]]);
    printf("\nleast important layers:");
    for (int i = L - k; i < L; i++) printf(" %d (%.4g)", idx[i], r->scores.layer[idx[i]]);
    printf("\n");
    free(idx);
}

int hx_cmd_importance(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},      {"data", 1, 0, 'd'},        {"samples", 1, 0, 'n'},  {"seq-len", 1, 0, 'T'},
        {"seed", 1, 0, 'S'},       {"micro-batch", 1, 0, 'B'}, {"batch-agg", 1, 0, 'b'}, {"seq-agg", 1, 0, 's'},
        {"neuron", 1, 0, 'N'},     {"depth", 1, 0, 'D'},       {"block-len", 1, 0, 'k'}, {"no-depth-loss", 0, 0, 'x'},
        {"out", 1, 0, 'o'},        {"group", 1, 0, 'g'},       {"help", 0, 0, 'h'},     {0, 0, 0, 0},
    };
    hx_importance_opts io = hx_importance_defaults();
    const char *model = NULL, *data = NULL, *out = NULL, *group = HX_IMPORTANCE_GROUP;
    int samples = 1024, seq_len = 0, o, rc = HX_OK, a;
    uint64_t seed = 1234;
    optind = 1;
    while (rc == HX_OK && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case 'n': rc = hx_opt_int("samples", optarg, 1, 1000000000, &samples); break;
        case 'T': rc = hx_opt_int("seq-len", optarg, 1, 1000000000, &seq_len); break;
        case 'S': rc = hx_opt_u64("seed", optarg, &seed); break;
        case 'B': rc = hx_opt_int("micro-batch", optarg, 1, 1000000000, &io.micro_batch); break;
        case 'b':
        case 's':
            a = hx_agg_parse(optarg);
            if (a < 0) rc = hx_opt_enum(o == 'b' ? "batch-agg" : "seq-agg", optarg, hx_agg_names, &a);
            else if (o == 'b') io.batch_agg = (hx_agg)a;
            else io.seq_agg = (hx_agg)a;
            break;
        case 'N': rc = hx_opt_enum("neuron", optarg, hx_neuron_names, &io.neuron_post); break;
        case 'D':
            if ((rc = hx_opt_enum("depth", optarg, hx_depth_names, &a)) == HX_OK) io.depth = (hx_depth_metric)a;
            break;
        case 'k': rc = hx_opt_int("block-len", optarg, 1, 1000000000, &io.block_len); break;
        case 'x': io.depth_loss = 0; break;
        case 'o': out = optarg; break;
        case 'g': group = optarg; break;
        case 'h': importance_usage(stdout); return 0;
        default: importance_usage(stderr); return 2;
        }
    }
    if (rc < 0) return hx_report(rc);
    if (!model || !data || !out || optind < argc) {
        fprintf(stderr, "harness importance: --model, --data and --out are required\n\n");
        importance_usage(stderr);
        return 2;
    }
    hx_model m;
    rc = hx_model_load(model, &m);
    if (rc < 0) return hx_report(rc);
    if (!seq_len) seq_len = m.cfg.max_position_embeddings < 4096 ? m.cfg.max_position_embeddings : 4096;
    hx_dataset ds;
    int32_t *win = NULL;
    hx_importance r = {0};
    rc = hx_dataset_open(data, NULL, &ds);
    if (rc == HX_OK) {
        win = hx_malloc(sizeof(int32_t) * (size_t)samples * (seq_len + 1));
        rc = win ? hx_calib_draw(&ds, samples, seq_len, seed, win) : HX_ENOMEM;
        hx_dataset_close(&ds);
    }
    if (rc == HX_OK) rc = hx_importance_run(&m, win, samples, seq_len, &io, &r);
    hx_h5log *log = NULL;
    if (rc == HX_OK) rc = hx_h5log_open(out, HX_H5LOG_APPEND, &log);
    hx_importance_meta meta = {model, data, samples, seq_len, seed};
    if (rc == HX_OK) rc = hx_importance_write(log, group, &r, &io, &meta);
    if (log) {
        int rc2 = hx_h5log_close(log);
        if (rc == HX_OK) rc = rc2;
    }
    if (rc == HX_OK) {
        printf("importance of %s: %d samples x %d tokens, base loss %.4f nats/token\n", model, samples, seq_len,
               r.base_loss);
        print_layers(&r);
        int best = hx_importance_best_block(&r);
        if (best >= 0)
            printf("best block of %d layers to drop: layers [%d, %d) (half-open; loss %.4f)\n", io.block_len, best,
                   best + io.block_len, r.block_loss[best]);
        printf("time %.2f s (width pass %.2f s, %.0f tokens/s); scores in %s:%s\n", r.seconds, r.seconds_width,
               r.seconds_width > 0 ? (double)r.tokens / r.seconds_width : 0.0, out, group);
    }
    hx_importance_free(&r);
    free(win);
    hx_model_free(&m);
    return rc == HX_OK ? 0 : hx_report(rc);
}

/* ---- prune ---- */

static void prune_usage(FILE *f)
{
    fprintf(f,
            "usage: harness prune --model DIR (--scores FILE.h5 | --random) [targets] --out DIR [options]\n"
            "Structured pruning (Minitron NeurIPS 2024 sec. 2.3) into a new Hugging Face model directory.\n"
            "  --scores FILE.h5         importance scores (harness importance); --group NAME (default importance)\n"
            "targets (0 or absent keeps the source size):\n"
            "  --hidden-size N --intermediate-size N --num-attention-heads N --num-key-value-heads N\n"
            "  --num-hidden-layers N    keep the N most important layers\n"
            "  --drop-layers 3,4,5      remove these layers (0-based)\n"
            "  --drop-block K           remove the contiguous block of K layers with the lowest stored block_loss\n"
            "  --param-budget N         choose hidden/intermediate sizes for N parameters (rule: minitron/targets.h)\n"
            "  --tolerance X            budget tolerance as a fraction (default 0.05); --divisor D (default 64)\n"
            "other:\n"
            "  --random --seed S        random choices of the same shape (a control; no scores needed)\n"
            "  --head-residual          paper's head-residual merging of pruned query heads (off by default)\n"
            "  --bf16                   save weights as bfloat16 (default float32)\n"
            "  --log FILE.h5            record the plan (group prune, or --log-group NAME)\n");
}

/* Copies tokenizer.json from the source directory when it exists. */

typedef struct {
    const char *model, *scores, *group, *out, *log, *log_group;
    hx_prune_targets t;
    int *drop, n_drop, drop_block, random, head_residual, bf16, divisor;
    int64_t budget;
    uint64_t seed;
    double tolerance;
} prune_args;

static int prune_run(prune_args *a)
{
    hx_model src;
    HX_TRY(hx_model_load(a->model, &src));
    hx_importance r = {0};
    hx_prune_plan plan = {0};
    int rc = HX_OK, *block = NULL;
    if (a->scores) rc = load_scores(a->scores, a->group, &src.cfg, &r);
    if (rc == HX_OK && a->drop_block) {
        int L = src.cfg.num_hidden_layers, best = hx_importance_best_block(&r);
        if (best < 0 || r.n_blocks != L - a->drop_block + 1)
            rc = HX_ERR(HX_EINVAL,
                        "--drop-block %d: %s:%s has %s; run harness importance with --block-len %d", a->drop_block,
                        a->scores, a->group, best < 0 ? "no block_loss" : "block losses for another block length",
                        a->drop_block);
        block = hx_malloc(sizeof(int) * (size_t)a->drop_block);
        if (rc == HX_OK && !block) rc = HX_ENOMEM;
        for (int i = 0; rc == HX_OK && i < a->drop_block; i++) block[i] = best + i;
        a->t.drop_layers = block;
        a->t.n_drop_layers = a->drop_block;
    }
    if (rc == HX_OK && a->budget) rc = hx_budget_targets(&src.cfg, a->budget, a->tolerance, a->divisor, &a->t);
    if (rc == HX_OK && a->random) {
        hx_rng g;
        hx_rng_seed(&g, a->seed);
        rc = hx_prune_plan_random(&src.cfg, &a->t, &g, &plan);
    } else if (rc == HX_OK) {
        rc = hx_prune_plan_build(&src.cfg, &r.scores, &a->t, &plan);
    }
    char *tok = hx_path_join(a->model, "tokenizer.json");
    if (rc == HX_OK && !tok) rc = HX_ERR(HX_ENOMEM, "out of memory");
    if (rc == HX_OK)
        rc = hx_prune_save(&src, &plan, a->head_residual ? &r.scores : NULL, a->bf16 ? HX_DT_BF16 : HX_DT_F32,
                           access(tok, R_OK) == 0 ? tok : NULL, a->out);
    free(tok);
    if (rc == HX_OK && a->log) {
        hx_h5log *log;
        char where[1024];
        snprintf(where, sizeof where, "%s:%s", a->scores ? a->scores : "", a->group);
        hx_prune_meta meta = {a->random, a->seed, a->head_residual, a->scores ? where : NULL};
        rc = hx_h5log_open(a->log, HX_H5LOG_APPEND, &log);
        if (rc == HX_OK) {
            rc = hx_prune_plan_write(log, a->log_group, &plan, &meta);
            int rc2 = hx_h5log_close(log);
            if (rc == HX_OK) rc = rc2;
        }
    }
    if (rc == HX_OK) {
        const hx_config *s = &plan.src, *d = &plan.dst;
        printf("pruned %s -> %s (%s): %zu -> %zu parameters\n", a->model, a->out, a->random ? "random" : "importance",
               hx_config_param_count(s), hx_config_param_count(d));
        printf("  layers %d -> %d, hidden_size %d -> %d, intermediate_size %d -> %d, heads %d/%d -> %d/%d, head_dim %d\n",
               s->num_hidden_layers, d->num_hidden_layers, s->hidden_size, d->hidden_size, s->intermediate_size,
               d->intermediate_size, s->num_attention_heads, s->num_key_value_heads, d->num_attention_heads,
               d->num_key_value_heads, d->head_dim);
        hx_prune_plan_notes(stdout, "prune", &plan);
    }
    free(block);
    hx_prune_plan_free(&plan);
    hx_importance_free(&r);
    hx_model_free(&src);
    return rc;
}

int hx_cmd_prune(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},         {"scores", 1, 0, 's'},       {"group", 1, 0, 'g'},
        {"hidden-size", 1, 0, 'H'},   {"intermediate-size", 1, 0, 'F'}, {"num-attention-heads", 1, 0, 'A'},
        {"num-key-value-heads", 1, 0, 'K'}, {"num-hidden-layers", 1, 0, 'L'}, {"drop-layers", 1, 0, 'd'},
        {"drop-block", 1, 0, 'b'},    {"param-budget", 1, 0, 'P'}, {"tolerance", 1, 0, 't'},
        {"divisor", 1, 0, 'v'},       {"random", 0, 0, 'r'},       {"seed", 1, 0, 'S'},
        {"head-residual", 0, 0, 'R'}, {"bf16", 0, 0, 'f'},         {"out", 1, 0, 'o'},
        {"log", 1, 0, 'l'},           {"log-group", 1, 0, 'G'},    {"help", 0, 0, 'h'},
        {0, 0, 0, 0},
    };
    prune_args a = {.group = HX_IMPORTANCE_GROUP, .log_group = HX_PRUNE_GROUP, .tolerance = 0.05,
                    .divisor = HX_WIDTH_DIVISOR, .seed = 1234};
    int o, rc = HX_OK;
    optind = 1;
    /* Target values are parsed as any integer so that hx_prune_target_config reports bad ones. */
    while (rc == HX_OK && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm': a.model = optarg; break;
        case 's': a.scores = optarg; break;
        case 'g': a.group = optarg; break;
        case 'H': rc = hx_opt_int("hidden-size", optarg, -1000000000, 1000000000, &a.t.hidden_size); break;
        case 'F': rc = hx_opt_int("intermediate-size", optarg, -1000000000, 1000000000, &a.t.intermediate_size); break;
        case 'A': rc = hx_opt_int("num-attention-heads", optarg, -1000000000, 1000000000, &a.t.num_attention_heads); break;
        case 'K': rc = hx_opt_int("num-key-value-heads", optarg, -1000000000, 1000000000, &a.t.num_key_value_heads); break;
        case 'L': rc = hx_opt_int("num-hidden-layers", optarg, -1000000000, 1000000000, &a.t.num_hidden_layers); break;
        case 'd': rc = hx_opt_int_list("drop-layers", optarg, 0, 1000000000, &a.drop, &a.n_drop); break;
        case 'b': rc = hx_opt_int("drop-block", optarg, 1, 1000000000, &a.drop_block); break;
        case 'P': rc = hx_opt_i64("param-budget", optarg, 1, INT64_MAX, &a.budget); break;
        case 't': rc = hx_opt_double("tolerance", optarg, 0, 1, &a.tolerance); break;
        case 'v': rc = hx_opt_int("divisor", optarg, 1, 1000000000, &a.divisor); break;
        case 'r': a.random = 1; break;
        case 'S': rc = hx_opt_u64("seed", optarg, &a.seed); break;
        case 'R': a.head_residual = 1; break;
        case 'f': a.bf16 = 1; break;
        case 'o': a.out = optarg; break;
        case 'l': a.log = optarg; break;
        case 'G': a.log_group = optarg; break;
        case 'h': prune_usage(stdout); return 0;
        default: prune_usage(stderr); return 2;
        }
    }
    if (rc == HX_OK && (!a.model || !a.out || optind < argc))
        rc = HX_ERR(HX_EINVAL, "prune: --model and --out are required");
    if (rc == HX_OK && !a.scores && (!a.random || a.drop_block))
        rc = HX_ERR(HX_EINVAL, "prune: --scores FILE.h5 is required (except with --random and without --drop-block)");
    if (rc == HX_OK && a.random && a.head_residual)
        rc = HX_ERR(HX_EINVAL, "prune: --head-residual ranks heads by importance and cannot be used with --random");
    if (rc == HX_OK && (!!a.n_drop + !!a.drop_block + !!a.t.num_hidden_layers) > 1)
        rc = HX_ERR(HX_EINVAL, "prune: give at most one of --num-hidden-layers, --drop-layers and --drop-block");
    a.t.drop_layers = a.drop;
    a.t.n_drop_layers = a.n_drop;
    if (rc == HX_OK) rc = prune_run(&a);
    free(a.drop);
    return rc == HX_OK ? 0 : hx_report(rc);
}

/* ---- search ---- */

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

static void search_usage(FILE *f)
{
    fprintf(f,
            "usage: harness search --model DIR --scores FILE.h5 --param-budget N --train SHARDS --val SHARDS\n"
            "                      --tokens N --work DIR --log FILE.h5 [options]\n"
            "Lightweight architecture search (Minitron NeurIPS 2024 sec. 2.3): every candidate of the space within\n"
            "+-tolerance of the budget is importance-pruned from the teacher, retrained for --tokens tokens\n"
            "(distilled from the teacher, or --ce), and ranked by final validation loss (HDF5 group search/).\n"
            "  --layers 29,30,...     num_hidden_layers values (default: the teacher's)\n"
            "  --heads 24,32          num_attention_heads values (multiples of num_key_value_heads)\n"
            "  --intermediate-sizes   intermediate_size values; --hidden-sizes hidden_size values\n"
            "  --tolerance X          fraction (default 0.05); --group NAME scores group (default importance)\n"
            "  --seq-len T (default 256) --micro-batch B (default 1) --lr X (default 1e-4, min lr/10)\n"
            "  --eval-batches N (default 4) --seed S (default 1234) --ce --kd-temperature X\n"
            "  --dry-run              only list the candidates\n");
}

int hx_cmd_search(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},   {"scores", 1, 0, 's'},  {"group", 1, 0, 'g'},        {"param-budget", 1, 0, 'P'},
        {"tolerance", 1, 0, 't'}, {"layers", 1, 0, 'L'}, {"heads", 1, 0, 'A'},       {"intermediate-sizes", 1, 0, 'F'},
        {"hidden-sizes", 1, 0, 'H'}, {"train", 1, 0, 'd'}, {"val", 1, 0, 'V'},       {"tokens", 1, 0, 'n'},
        {"seq-len", 1, 0, 'T'}, {"micro-batch", 1, 0, 'B'}, {"lr", 1, 0, 'l'},       {"eval-batches", 1, 0, 'E'},
        {"seed", 1, 0, 'S'},    {"ce", 0, 0, 'c'},      {"kd-temperature", 1, 0, 'X'}, {"work", 1, 0, 'w'},
        {"log", 1, 0, 'o'},     {"dry-run", 0, 0, 'y'}, {"help", 0, 0, 'h'},         {0, 0, 0, 0},
    };
    hx_search_space sp = {0};
    int *lists[4] = {NULL, NULL, NULL, NULL};
    hx_search_opts so = {.distill = 1, .train = hx_train_defaults()};
    so.train.seq_len = 256;
    so.train.seed = 1234;
    so.train.schedule.peak_lr = 1e-4;
    so.train.quiet = 1;
    const char *scores = NULL, *group = HX_IMPORTANCE_GROUP;
    int64_t budget = 0;
    uint64_t seed = 1234;
    double tol = 0.05;
    int o, rc = HX_OK, dry = 0;
    optind = 1;
    while (rc == HX_OK && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm': so.teacher_dir = optarg; break;
        case 's': scores = optarg; break;
        case 'g': group = optarg; break;
        case 'P': rc = hx_opt_i64("param-budget", optarg, 1, INT64_MAX, &budget); break;
        case 't': rc = hx_opt_double("tolerance", optarg, 0, 1, &tol); break;
        case 'L': rc = hx_opt_int_list("layers", optarg, 1, 1000000000, &lists[0], &sp.n_layers); break;
        case 'A': rc = hx_opt_int_list("heads", optarg, 1, 1000000000, &lists[1], &sp.n_heads); break;
        case 'F': rc = hx_opt_int_list("intermediate-sizes", optarg, 1, 1000000000, &lists[2], &sp.n_intermediate); break;
        case 'H': rc = hx_opt_int_list("hidden-sizes", optarg, 1, 1000000000, &lists[3], &sp.n_hidden); break;
        case 'd': so.train.train_data = optarg; break;
        case 'V': so.train.val_data = optarg; break;
        case 'n': rc = hx_opt_i64("tokens", optarg, 1, INT64_MAX, &so.train.token_budget); break;
        case 'T': rc = hx_opt_int("seq-len", optarg, 1, 1000000000, &so.train.seq_len); break;
        case 'B': rc = hx_opt_int("micro-batch", optarg, 1, 1000000000, &so.train.micro_batch); break;
        case 'l': rc = hx_opt_double("lr", optarg, 0, INFINITY, &so.train.schedule.peak_lr); break;
        case 'E': rc = hx_opt_int("eval-batches", optarg, 1, 1000000000, &so.train.eval_batches); break;
        case 'S': rc = hx_opt_u64("seed", optarg, &seed); break;
        case 'c': so.distill = 0; break;
        case 'X': rc = hx_opt_double("kd-temperature", optarg, 0, INFINITY, &so.train.kd.temperature); break;
        case 'w': so.work_dir = optarg; break;
        case 'o': so.log_path = optarg; break;
        case 'y': dry = 1; break;
        case 'h': search_usage(stdout); return 0;
        default: search_usage(stderr); return 2;
        }
    }
    sp.layers = lists[0], sp.heads = lists[1], sp.intermediate = lists[2], sp.hidden = lists[3];
    so.train.seed = seed;
    so.train.schedule.min_lr = so.train.schedule.peak_lr / 10;
    if (rc == HX_OK && (!so.teacher_dir || !budget || optind < argc))
        rc = HX_ERR(HX_EINVAL, "search: --model and --param-budget are required");
    if (rc == HX_OK && !dry && (!scores || !so.train.train_data || !so.train.val_data || !so.train.token_budget ||
                                !so.work_dir || !so.log_path))
        rc = HX_ERR(HX_EINVAL, "search: --scores, --train, --val, --tokens, --work and --log are required (or --dry-run)");
    hx_config teacher;
    hx_search_candidate *cand = NULL;
    int n = 0;
    char *cfg_path = rc == HX_OK ? hx_path_join(so.teacher_dir, "config.json") : NULL;
    if (rc == HX_OK) rc = cfg_path ? hx_config_load(cfg_path, &teacher) : HX_ERR(HX_ENOMEM, "out of memory");
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
        rc = load_scores(scores, group, &teacher, &imp);
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
    for (int i = 0; i < 4; i++) free(lists[i]);
    return rc == HX_OK ? 0 : hx_report(rc);
}
