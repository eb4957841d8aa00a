/* `harness importance`: activation importance of a model from calibration
 * shards into an HDF5 file (minitron/ops.h, hx_importance_from_shards). */
#include "core/args.h"       // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"       // defines: hx_cmd_importance
#include "core/dist.h"      // defines: hx_dist_rank
#include "core/err.h"       // defines: hx_report
#include "core/util.h"      // defines: hx_malloc
#include "minitron/ops.h"   // defines: hx_importance_from_shards, hx_importance
#include "minitron/store.h" // defines: HX_IMPORTANCE_GROUP, hx_h5log

#include <stdio.h>
#include <stdlib.h>

/* Prints the three most and least important layers. */
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
    hx_importance_opts io = hx_importance_defaults();
    hx_importance_meta src = {.samples = 1024, .seed = 1234};
    const char *out = NULL, *group = HX_IMPORTANCE_GROUP;
    int batch_agg = io.batch_agg, seq_agg = io.seq_agg, depth = io.depth, no_depth_loss = 0;
    hx_arg args[] = {
        {"model", HX_ARG_STR, &src.model, "DIR", "Hugging Face model directory", .required = 1},
        {"data", HX_ARG_STR, &src.data, "SPEC", "token shards (directory, glob or .hxs file)", .required = 1},
        {"out", HX_ARG_STR, &out, "FILE.h5", "HDF5 file (created, or added to)", .required = 1},
        {"group", HX_ARG_STR, &group, "NAME", "group of the scores in --out"},
        {"samples", HX_ARG_INT, &src.samples, "N", "calibration windows", 1, 1e9},
        {"seq-len", HX_ARG_INT, &src.seq_len, "T",
         "tokens per window (default min(4096, max_position_embeddings))", 1, 1e9},
        {"seed", HX_ARG_U64, &src.seed, NULL, "window draw seed"},
        {"micro-batch", HX_ARG_INT, &io.micro_batch, "B",
         "windows per forward pass; scores agree across B to 1e-5, bit for bit only at equal B", 1, 1e9},
        {"batch-agg", HX_ARG_ENUM, &batch_agg, "A", "aggregation over samples (l2 is the paper's)",
         .names = hx_agg_names},
        {"seq-agg", HX_ARG_ENUM, &seq_agg, "A", "aggregation over positions", .names = hx_agg_names},
        {"neuron", HX_ARG_ENUM, &io.neuron_post, "WHERE",
         "gate_proj output (pre, the paper's) or down_proj input (post, ModelOpt)", .names = hx_neuron_names},
        {"depth", HX_ARG_ENUM, &depth, "METRIC",
         "layer score: LM loss without the layer, Block Importance, or losses plus the block scan",
         .names = hx_depth_names},
        {"block-len", HX_ARG_INT, &io.block_len, "K", "also the LM loss with every block of K layers removed", 1,
         1e9},
        {"no-depth-loss", HX_ARG_FLAG, &no_depth_loss, "", "skip the per-layer removal passes (only with --depth bi)",
         .set = 1},
        {"bf16", HX_ARG_FLAG, &io.bf16, "", "forward passes in bf16 (CPUs with AVX512-BF16; scores within ~1e-2)",
         .set = 1},
        {NULL},
    };
    hx_cli cli = {"importance",
                  "Activation-based importance (Minitron NeurIPS 2024 sec. 2.1-2.2) of every attention head, MLP\n"
                  "neuron, embedding channel and layer, from forward passes over packed calibration windows.",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    io.batch_agg = (hx_agg)batch_agg;
    io.seq_agg = (hx_agg)seq_agg;
    io.depth = (hx_depth_metric)depth;
    io.depth_loss = !no_depth_loss;
    hx_model m;
    int rc = hx_model_load(src.model, &m);
    if (rc < 0) return hx_report(rc);
    if (!src.seq_len) src.seq_len = m.cfg.max_position_embeddings < 4096 ? m.cfg.max_position_embeddings : 4096;
    int lead = hx_dist_rank() == 0; /* with mpirun, rank 0 speaks and writes; every rank computes its share */
    if (lead) hx_cli_settings(&cli, stderr);
    hx_importance r = {0};
    hx_h5log *log = NULL;
    if (lead) rc = hx_h5log_open(out, HX_H5LOG_APPEND, &log);
    if (rc == HX_OK) rc = hx_importance_from_shards(&m, &src, NULL, &io, log, group, &r);
    if (log) {
        int rc2 = hx_h5log_close(log);
        if (rc == HX_OK) rc = rc2;
    }
    if (rc == HX_OK && lead) {
        printf("importance of %s: %d samples x %d tokens, base loss %.4f nats/token\n", src.model, src.samples,
               src.seq_len, r.base_loss);
        print_layers(&r);
        int best = hx_importance_best_block(&r);
        if (best >= 0)
            printf("best block of %d layers to drop: layers [%d, %d) (half-open; loss %.4f)\n", io.block_len, best,
                   best + io.block_len, r.block_loss[best]);
        printf("time %.2f s (width pass %.2f s, %.0f tokens/s); scores in %s:%s\n", r.seconds, r.seconds_width,
               r.seconds_width > 0 ? (double)r.tokens / r.seconds_width : 0.0, out, group);
    }
    hx_importance_free(&r);
    hx_model_free(&m);
    return rc == HX_OK ? 0 : hx_report(rc);
}
