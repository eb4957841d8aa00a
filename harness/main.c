/* bin/harness: the command-line entry point; dispatches to subcommands. */
#include "bench/bench.h" // defines: hx_cmd_bench
#include "cli/cmds.h"  // defines: hx_cmd, the hx_cmd_* entry points
#include "core/cpu.h"  // defines: hx_cpu_detect, hx_cpu_openblas_core, hx_cpu_wait_policy, hx_blas_config, hx_blas_core
#include "core/dist.h" // defines: hx_dist_init, hx_dist_abort, hx_dist_finalize
#include "core/err.h"  // defines: HX_VERSION
#include "core/util.h" // defines: hx_threads_init

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const hx_cmd commands[] = {
    {"run", hx_cmd_run, "run an experiment manifest (--dry-run prints the plan)"},
    {"plot", hx_cmd_plot, "redraw an experiment's figures (PNG/SVG/PDF) from its HDF5 results"},
    {"eval", hx_cmd_eval, "perplexity and multiple-choice accuracy (lm-eval method) of a model; HDF5 row"},
    {"importance", hx_cmd_importance, "activation-based importance of heads, neurons, channels and layers (HDF5)"},
    {"prune", hx_cmd_prune, "prune a model by stored importance (or at random) into a new HF directory"},
    {"search", hx_cmd_search, "architecture search: candidates within a parameter budget, short retraining, ranking"},
    {"distill", hx_cmd_train, "train a (pruned) student by distilling a teacher's logits (train --teacher)"},
    {"train", hx_cmd_train, "train a model on token shards (random init or checkpoint; resumable)"},
    {"tokenize", hx_cmd_tokenize, "turn a corpus (txt/jsonl, dirs, tar/gz/zst/xz) into token shards"},
    {"tokenizer-train", hx_cmd_tokenizer_train, "train a byte-level BPE tokenizer.json on a corpus"},
    {"tokenizer-encode", hx_cmd_tokenizer_encode, "print the token ids of a text (debugging)"},
    {"make-corpus-task", hx_cmd_make_corpus_task, "build the embedded corpus's multiple-choice task (data/corpus-mc.jsonl)"},
    {"inspect", hx_cmd_inspect, "show a model directory's config, parameter counts and tensors"},
    {"import", hx_cmd_import, "convert a llama.cpp GGUF file (F32..Q6_K) into a Hugging Face model directory"},
    {"export", hx_cmd_export, "write a model directory as a llama.cpp GGUF file (f32, f16, bf16, q8_0)"},
    {"bench", hx_cmd_bench, "benchmark suites: engine, trainer, tokenizer, eval, importance, kd (--json)"},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out,
            "harness %s: Minitron pruning + distillation benchmark and reproduction harness\n\n"
            "usage: harness <command> [options]   (harness <command> --help for details)\n\n"
            "commands:\n",
            HX_VERSION);
    for (const hx_cmd *c = commands; c->name; c++) fprintf(out, "  %-17s %s\n", c->name, c->summary);
    fprintf(out, "\nenvironment: HX_THREADS=N sets the thread count (default: all cores); HX_BLAS_CORE=NAME forces\n"
                 "OpenBLAS's kernel (default: the best the CPU's features allow, e.g. SkylakeX with AVX-512, whatever\n"
                 "OPENBLAS_CORETYPE says; HX_BLAS_CORE=openblas leaves OpenBLAS's own choice)\n");
}

/* libgomp reads its wait policy, and OpenBLAS OPENBLAS_CORETYPE, when they
 * are loaded, before main: set them and re-exec once, so idle OpenMP threads
 * spin briefly on a quiet machine and sleep on a busy one
 * (hx_cpu_wait_policy; GOMP_SPINCOUNT=300000 is libgomp's default, set to
 * mark the choice as made), and OpenBLAS runs the best kernel this CPU can
 * run (core/cpu.h) rather than what it detects or what the environment
 * presets (HX_BLAS_CORE=NAME forces a core; HX_BLAS_CORE=openblas keeps
 * OpenBLAS's own choice). A user's OMP_WAIT_POLICY or GOMP_SPINCOUNT is
 * kept. Returns only when no re-exec was needed (or it failed). */
static void configure_runtime(char **argv)
{
    int reexec = 0;
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) {
        int cores = (int)sysconf(_SC_NPROCESSORS_ONLN), threads = cores;
        const char *t = getenv("HX_THREADS");
        if (t && atoi(t) > 0) threads = atoi(t);
        const char *policy = hx_cpu_wait_policy(hx_cpu_others_running(3, 5), cores, threads);
        reexec |= (policy ? setenv("OMP_WAIT_POLICY", policy, 1) : setenv("GOMP_SPINCOUNT", "300000", 1)) == 0;
    }
    const char *want = getenv("HX_BLAS_CORE"), *have = getenv("OPENBLAS_CORETYPE");
    if (!want || !*want) {
        hx_cpu_features f;
        hx_cpu_detect(&f);
        want = hx_cpu_openblas_core(&f);
    }
    if (want && strcmp(want, "openblas") && (!have || strcmp(have, want)))
        reexec |= setenv("OPENBLAS_CORETYPE", want, 1) == 0;
    if (reexec) execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    configure_runtime(argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("harness %s; %s, kernel %s\n", HX_VERSION, hx_blas_config(), hx_blas_core());
        return 0;
    }
    hx_threads_init();
    if (hx_dist_init(&argc, &argv) < 0) return hx_report(HX_EIO);
    for (const hx_cmd *c = commands; c->name; c++)
        if (!strcmp(c->name, argv[1])) {
            int code = c->fn(argc - 1, argv + 1);
            if (code != 0) hx_dist_abort(code); /* the other ranks may wait in a collective */
            hx_dist_finalize();
            return code;
        }
    fprintf(stderr, "harness: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
