/* bin/harness: the command-line entry point; dispatches to subcommands. */
#include "bench/bench.h"
#include "cmds.h"
#include "core/err.h"
#include "core/util.h"
#include "data/data_cmds.h"
#include "train/trainer.h"
#include "exp/cmd_run.h"
#include "data/tokenizer_cmds.h"
#include "minitron/minitron_cmds.h"

#include <stdio.h>
#include <string.h>

static const hx_cmd commands[] = {
    {"run", hx_cmd_run, "run an experiment manifest (--dry-run prints the plan)"},
    {"tokenizer-train", hx_cmd_tokenizer_train, "train a byte-level BPE tokenizer.json on text files"},
    {"tokenizer-encode", hx_cmd_tokenizer_encode, "print the token ids of a text (debugging)"},
    {"tokenize", hx_cmd_tokenize, "turn a corpus (txt/jsonl, dirs, tar/gz/zst/xz) into token shards"},
    {"bench", hx_cmd_bench, "benchmark suites (engine: sgemm peak, training step throughput)"},
    {"train", hx_cmd_train, "train a model on token shards (random init or checkpoint; resumable)"},
    {"distill", hx_cmd_train, "train a (pruned) student by distilling a teacher's logits (train --teacher)"},
    {"importance", hx_cmd_importance, "activation-based importance of heads, neurons, channels and layers (HDF5)"},
    {"prune", hx_cmd_prune, "prune a model by stored importance (or at random) into a new HF directory"},
    {"search", hx_cmd_search, "architecture search: candidates within a parameter budget, short retraining, ranking"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "harness %s: Minitron pruning + distillation benchmark and reproduction harness\n\n"
            "usage: harness <command> [options]   (harness <command> --help for details)\n\n"
            "commands:\n",
            HX_VERSION);
    for (const hx_cmd *c = commands; c->name; c++) fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out, "\nenvironment: HX_THREADS=N sets the thread count (default: all cores)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("harness %s\n", HX_VERSION);
        return 0;
    }
    hx_threads_init();
    for (const hx_cmd *c = commands; c->name; c++)
        if (!strcmp(c->name, argv[1])) return c->fn(argc - 1, argv + 1);
    fprintf(stderr, "harness: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
