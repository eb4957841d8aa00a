/* `harness bench`: a table of benchmark suites, each filling a JSON object
 * with its measurements. Stages add a suite by writing one hx_bench_fn and
 * one line in the table in bench.c. */
#ifndef HX_BENCH_BENCH_H
#define HX_BENCH_BENCH_H

#include <jansson.h>

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
 *   config           the mini configuration: hidden 256, 6 layers, 8 heads /
 *                    4 KV heads, head_dim 32, intermediate 768, vocab 2048,
 *                    seq 256, batch 8 */
int hx_bench_engine(json_t *out, const hx_bench_opts *opts);

/* The mini configuration of the suites (hidden 256, 6 layers, 8/4 heads,
 * head_dim 32, intermediate 768, vocab 2048, max positions 256). */
#include "model/config.h"
hx_config hx_bench_mini_config(void);

/* CLI: harness bench [--suite NAME]... [--json] [--steps N]. Prints a
 * line per measurement, or with --json one object {suite: {key: value}}. */
int hx_cmd_bench(int argc, char **argv);

#endif
