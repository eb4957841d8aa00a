/* Evaluation benchmark suite: multiple-choice items scored per second by the
 * lm-eval log-likelihood scorer (hx_loglik_tokens, tokenizer-free) on a
 * randomly initialised mini model, and how that scales with the number of
 * choices and the context length. */
#include "bench/bench.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "eval/loglik.h"
#include "model/init.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CONT = 8, BATCH = 8, TOKENS_PER_RUN = 2048 };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median items/s of scoring `items` items of `choices` requests each: a
 * shared random context of ctx tokens and a random CONT-token continuation. */
static int measure(const hx_model *m, int ctx, int choices, int steps, double *items_per_s, int *items_out)
{
    int items = TOKENS_PER_RUN / (choices * (ctx + CONT));
    if (items < 1) items = 1;
    int n = items * choices;
    hx_ll_tokens *req = hx_calloc((size_t)n, sizeof *req);
    hx_ll_result *res = hx_calloc((size_t)n, sizeof *res);
    int32_t *ids = hx_malloc(sizeof(int32_t) * (size_t)items * (ctx + choices * CONT));
    double *t = hx_calloc((size_t)steps, sizeof(double));
    int rc = req && res && ids && t ? HX_OK : HX_ENOMEM;
    hx_rng r;
    hx_rng_seed(&r, 7);
    for (int i = 0; rc == HX_OK && i < items; i++) {
        int32_t *base = ids + (size_t)i * (ctx + choices * CONT);
        for (int k = 0; k < ctx + choices * CONT; k++) base[k] = (int32_t)hx_rng_below(&r, (uint64_t)m->cfg.vocab_size);
        for (int c = 0; c < choices; c++)
            req[i * choices + c] = (hx_ll_tokens){base, base + ctx + c * CONT, ctx, CONT};
    }
    hx_ll_opts o = {1, 0, BATCH};
    for (int s = 0; rc == HX_OK && s < steps; s++) {
        double t0 = hx_now();
        rc = hx_loglik_tokens(m, req, n, &o, res);
        t[s] = hx_now() - t0;
    }
    if (rc == HX_OK) {
        qsort(t, (size_t)steps, sizeof(double), cmp_double);
        *items_per_s = items / t[steps / 2];
        *items_out = items;
    }
    free(req);
    free(res);
    free(ids);
    free(t);
    return rc;
}

int hx_bench_eval(json_t *out, const hx_bench_opts *opts)
{
    hx_config cfg = hx_bench_mini_config();
    cfg.max_position_embeddings = 1024; /* room for 512-token contexts */
    hx_model m;
    HX_TRY(hx_model_alloc(&m, &cfg));
    int rc = hx_model_init_random(&m, 1);
    static const int grid[][2] = {{256, 2}, {256, 4}, {256, 8}, {64, 4}, {512, 4}}; /* {context, choices} */
    json_t *scaling = json_array();
    for (size_t g = 0; rc == HX_OK && g < sizeof grid / sizeof grid[0]; g++) {
        double ips = 0;
        int items = 0;
        rc = measure(&m, grid[g][0], grid[g][1], opts->steps, &ips, &items);
        if (rc != HX_OK) break;
        if (!opts->quiet)
            fprintf(stderr, "bench eval: context %d, %d choices: %.2f items/s\n", grid[g][0], grid[g][1], ips);
        json_array_append_new(scaling, json_pack("{s:i,s:i,s:i,s:f,s:f}", "context", grid[g][0], "choices",
                                                 grid[g][1], "items", items, "items_per_s", ips, "tokens_per_s",
                                                 ips * grid[g][1] * (grid[g][0] + CONT)));
        if (g == 1) json_object_set_new(out, "items_per_s", json_real(ips));
    }
    if (rc == HX_OK) {
        json_object_set_new(out, "threads", json_integer(hx_threads()));
        json_object_set_new(out, "scaling", json_incref(scaling));
        json_object_set_new(out, "config",
                            json_string("mini: hidden 256, 6 layers, 8 heads / 4 KV heads, head_dim 32, "
                                        "intermediate 768, vocab 2048, random init; continuation 8 tokens, "
                                        "batch 8 requests"));
    }
    json_decref(scaling);
    hx_model_free(&m);
    return rc;
}
