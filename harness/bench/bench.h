/* `harness bench`: a table of benchmark suites, each filling a JSON object
 * with its measurements. Stages add a suite by writing one hx_bench_fn and
 * one line in the table in bench.c. */
#ifndef HX_BENCH_BENCH_H
#define HX_BENCH_BENCH_H

#include "model/config.h"

#include <jansson.h>
#include <stdio.h>

/* Options shared by all suites. */
typedef struct {
    int steps; /* timed repetitions of the suite's main measurement (>= 1) */
    int quiet; /* no progress lines on stderr */
} hx_bench_opts;

/* A suite runs its measurements and adds its keys to `out`. Returns HX_OK or
 * a negative status. */
typedef int (*hx_bench_fn)(json_t *out, const hx_bench_opts *opts);

typedef struct {
    const char *name;
    hx_bench_fn fn;
    const char *summary;
    int on_request; /* 1: run only when named with --suite (not part of the default run) */
} hx_bench_suite;

/* Engine suite (bench_engine.c). Keys:
 *   threads          threads used (HX_THREADS)
 *   sgemm_gflops     cblas_sgemm 2048^3 on all threads: 2*n^3 / seconds / 1e9
 *   step_seconds     median seconds of one training step (forward, cross-
 *                    entropy, backward into zeroed gradients)
 *   step_tokens_per_s  batch*seq / step_seconds
 *   step_gflops      step_flops / step_seconds / 1e9
 *   step_flops       analytic model FLOPs of one step = 3 * forward FLOPs
 *                    (backward counted as twice the forward), where forward =
 *                    tokens * [layers * 2*hidden*(q + 2*kv + q + 3*intermediate)
 *                              + 2*hidden*vocab]
 *                    + batch * layers * 2 * (2 * head_dim * heads * seq*(seq+1)/2)
 *                    (matmuls only, 2*m*n*k each; q = heads*head_dim,
 *                    kv = kv_heads*head_dim; attention QK^T and PV counted
 *                    over the causal lower triangle only, which is the work
 *                    done)
 *   step_efficiency  step_gflops / sgemm_gflops
 *   torch            tools/bench_torch.py's measurements of the same step on
 *                    the same threads, run right after ours when $HX_PYTHON
 *                    (default python3) has torch and transformers; else
 *                    torch_note says why not
 *   vs_torch_step    step_tokens_per_s / torch's (target >= 1.5, issue #11)
 *   peak_gflops      the best 2048^3 sgemm of either library
 *   step_vs_peak     step_gflops / peak_gflops (target >= 0.6)
 *   config           the mini configuration as config.json fields (hidden 256,
 *                    6 layers, 8 heads / 4 KV heads, head_dim 32,
 *                    intermediate 768, vocab 2048) plus seq 256, batch 8 */
int hx_bench_engine(json_t *out, const hx_bench_opts *opts);

/* One row-major n x n x n product c = a b (fp32) through some library. */
typedef void (*hx_sgemm_call)(void *ctx, int n, const float *a, const float *b, float *c);

/* Best GFLOP/s (2 n^3 / seconds) of `reps` timed 2048^3 products through
 * `call`, after one warm-up. 0 when allocation fails. */
double hx_bench_sgemm_gflops(int reps, hx_sgemm_call call, void *ctx);

/* sgemm suite: the 2048^3 OpenBLAS sgemm alone (keys blas_core,
 * sgemm_gflops); the blas suite runs it once per candidate kernel. */
int hx_bench_sgemm(json_t *out, const hx_bench_opts *opts);

/* BLAS suite (bench_blas.c): the 2048^3 sgemm of every candidate library on
 * this CPU, side by side in one run on the same threads: OpenBLAS with each
 * kernel the CPU can run (Haswell, SkylakeX, Cooperlake; each in a child
 * process, as OpenBLAS fixes its kernel when it loads), BLIS and oneDNN when
 * installed (loaded with dlopen). Keys: candidates {name: GFLOP/s}, best,
 * chosen (the kernel bin/harness runs), chosen_vs_best. */
int hx_bench_blas(json_t *out, const hx_bench_opts *opts);

/* SmolLM2-135M suite: the same keys as the engine suite for the SmolLM2-135M
 * shape (hx_bench_smollm2_config: hidden 576, 30 layers, 9 / 3 heads,
 * head_dim 64, intermediate 1536, vocab 49152, tied; random weights) at
 * batch 2 x seq 512, plus forward_seconds and forward_tokens_per_s of the
 * forward pass alone (logits included) and vs_torch_forward; on CPUs with
 * AVX512-BF16 also bf16_forward_tokens_per_s and bf16_forward_speedup (the
 * same forward from packed bf16 weights, model.h). */
int hx_bench_smollm2(json_t *out, const hx_bench_opts *opts);
hx_config hx_bench_smollm2_config(void);

/* The mini configuration above (hidden 256, 6 layers, 8/4 heads, head_dim 32,
 * intermediate 768, vocab 2048), shared by the suites. */
hx_config hx_bench_mini_config(void);

/* Median seconds of `steps` bare training steps (forward, cross-entropy,
 * backward into zeroed gradients; one warm-up step first) of a random model
 * of config `cfg` on B x T random tokens. Errors: HX_ENOMEM. */
int hx_bench_step_seconds(const hx_config *cfg, int B, int T, int steps, int quiet, double *median);

/* Data and trainer suites (bench_pipeline.c).
 * tokenizer: single-thread encode MB/s of data/tokenizer.json on the embedded
 *   train split's text, HF `tokenizers` on the same text and thread count when
 *   Python has it (tools/bench_tokenizers.py), and their ratio.
 * trainer: per-step tokens/s of hx_train (sampler, forward, backward,
 *   gradient reduction, clipping, AdamW; the median over steps 2.., from its
 *   HDF5 log) on the mini configuration next to bare training steps (the
 *   faster of two medians, taken before and after), the overhead
 *   1 - trainer / bare, and the whole run's tokens/s (setup, first
 *   step and the HDF5 rows included). */
int hx_bench_tokenizer_suite(json_t *out, const hx_bench_opts *opts);
int hx_bench_trainer_suite(json_t *out, const hx_bench_opts *opts);

/* Evaluation suite (bench_eval.c): multiple-choice scoring with
 * hx_loglik_tokens (tokenizer-free: random token contexts shared by the
 * choices of an item, 8-token random continuations, batch 8 requests) on
 * the mini configuration (random init, max_position_embeddings 1024). Keys:
 *   items_per_s  scored items per second at context 256, 4 choices (median
 *                of --steps runs)
 *   scaling      [{context, choices, items, items_per_s, tokens_per_s}] for
 *                (context, choices) = (256, 2), (256, 4), (256, 8), (64, 4),
 *                (512, 4); items per run = max(1, 2048 / (choices * (context + 8)));
 *                tokens_per_s counts every input token of every request
 *   threads, config */
int hx_bench_eval(json_t *out, const hx_bench_opts *opts);

/* `harness bench` (bench_cmd.c): argv[0] is "bench"; returns the exit code. */
int hx_cmd_bench(int argc, char **argv);

/* The suites, terminated by a NULL name (bench.c). */
extern const hx_bench_suite hx_bench_suites[];

/* Runs the suites named in names[0..n) (n == 0: every suite but those run
 * on request) in table order into `all`: key "machine" (cpu, cpu_features,
 * blas, blas_core, threads), then one object per suite. With `plain` not
 * NULL, the machine line and one "suite.key = value" line per measurement
 * go there as each suite ends. Errors: HX_EINVAL naming an unknown suite
 * (before anything runs), those of the suites. */
int hx_bench_run(const char *const *names, int n, const hx_bench_opts *o, FILE *plain, json_t *all);

#endif
