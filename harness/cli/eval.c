/* `harness eval`: perplexity and multiple-choice accuracy of a model
 * directory (eval/evaluate.h), printed as a table (or JSON) and optionally
 * appended as one row to arms/<arm>/eval of an HDF5 run log with the
 * settings as attributes. */
#include "core/args.h"      // defines: hx_cli, hx_cli_parse, hx_cli_settings
#include "cli/cmds.h"      // defines: hx_cmd_eval
#include "core/dist.h"     // defines: hx_dist_rank
#include "core/err.h"      // defines: hx_report, HX_ERR
#include "core/util.h"     // defines: hx_path_join, hx_now, hx_threads
#include "eval/evaluate.h" // defines: hx_evaluator, hx_eval_parse_task, hx_eval_log_row
#include "model/engine.h"  // defines: hx_model_bf16_pack
#include "model/weights.h" // defines: hx_model_load

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_TASKS = 64, MAX_TEXTS = 64 };

static void print_table(const hx_eval_result *r, const hx_eval_config *c, const hx_model *m, const char *tok_path)
{
    if (r->n_tasks > 0) {
        printf("%-20s %6s  %-15s  %-15s  %-15s\n", "task", "n", "acc", "acc_norm", "acc_bytes");
        for (int i = 0; i < r->n_tasks; i++) {
            const hx_eval_task_result *t = &r->tasks[i];
            printf("%-20s %6ld  %.4f ± %.4f  %.4f ± %.4f  %.4f ± %.4f\n", t->name, t->n, t->acc, t->acc_stderr,
                   t->acc_norm, t->acc_norm_stderr, t->acc_bytes, t->acc_bytes_stderr);
        }
        for (int i = 0; i < r->n_tasks; i++) {
            const hx_eval_task *t = &c->tasks[i];
            printf("  %s: %s, %d-shot, %ld requests (%ld truncated, %ld join fallbacks)\n", t->name, t->path,
                   t->n_shot, r->tasks[i].requests, r->tasks[i].truncated, r->tasks[i].fallbacks);
        }
        const hx_ll_opts *lo = &c->tasks[0].ll;
        printf("tasks: BOS %s, max_length %d (left truncation), target delimiter \"%s\", seed %llu\n",
               lo->add_bos ? "yes" : "no", lo->max_length > 0 ? lo->max_length : m->cfg.max_position_embeddings,
               c->tasks[0].target_delimiter ? c->tasks[0].target_delimiter : " ",
               (unsigned long long)c->tasks[0].seed);
    }
    if (r->has_ppl) {
        int W = c->ppl.window > 0 ? c->ppl.window : m->cfg.max_position_embeddings;
        printf("%s%-20s %10s %12s %10s %15s\n", r->n_tasks ? "\n" : "", "perplexity", "loss", "perplexity",
               "bits/byte", "word perplexity");
        printf("%-20s %10.4f %12.4f %10.4f %15.4f\n", "", r->ppl.loss, r->ppl.perplexity, r->ppl.bits_per_byte,
               r->ppl.word_perplexity);
        printf("  %ld documents, %ld tokens scored, %ld bytes, %ld words; window %d, stride %d, BOS %s\n",
               r->ppl_docs, r->ppl_sums.tokens, r->ppl_sums.bytes, r->ppl_sums.words, W, c->ppl.stride > 0 ? c->ppl.stride : W,
               c->ppl.add_bos ? "yes" : "no");
    }
    printf("tokenizer: %s\n", tok_path);
}

static void print_json(const hx_eval_result *r, const hx_eval_config *c, const hx_model *m)
{
    json_t *o = json_object(), *tasks = json_object();
    for (int i = 0; i < r->n_tasks; i++) {
        const hx_eval_task_result *t = &r->tasks[i];
        json_object_set_new(tasks, t->name,
                            json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:i,s:I,s:I,s:I}", "n", (json_int_t)t->n,
                                      "acc", t->acc, "acc_stderr", t->acc_stderr, "acc_norm", t->acc_norm,
                                      "acc_norm_stderr", t->acc_norm_stderr, "acc_bytes", t->acc_bytes,
                                      "acc_bytes_stderr", t->acc_bytes_stderr, "n_shot", c->tasks[i].n_shot, "add_bos",
                                      c->tasks[i].ll.add_bos, "requests", (json_int_t)t->requests, "truncated",
                                      (json_int_t)t->truncated, "fallbacks", (json_int_t)t->fallbacks));
    }
    json_object_set_new(o, "tasks", tasks);
    if (r->has_ppl) {
        int W = c->ppl.window > 0 ? c->ppl.window : m->cfg.max_position_embeddings;
        json_object_set_new(o, "perplexity",
                            json_pack("{s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:I,s:i,s:i,s:i}", "loss", r->ppl.loss,
                                      "perplexity", r->ppl.perplexity, "bits_per_byte", r->ppl.bits_per_byte,
                                      "word_perplexity", r->ppl.word_perplexity, "documents", (json_int_t)r->ppl_docs,
                                      "tokens", (json_int_t)r->ppl_sums.tokens, "bytes", (json_int_t)r->ppl_sums.bytes,
                                      "words", (json_int_t)r->ppl_sums.words, "window", W, "stride",
                                      c->ppl.stride > 0 ? c->ppl.stride : W, "add_bos", c->ppl.add_bos));
    }
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    printf("%s\n", s ? s : "{}");
    free(s);
    json_decref(o);
}

int hx_cmd_eval(int argc, char **argv)
{
    const char *model_dir = NULL, *tok_path = NULL, *log_path = NULL, *arm = NULL, *delim = " ";
    const char *texts[MAX_TEXTS], *task_specs[MAX_TASKS];
    hx_arg_strs text_args = {texts, 0, MAX_TEXTS}, task_args = {task_specs, 0, MAX_TASKS};
    hx_eval_task tasks[MAX_TASKS];
    hx_eval_config cfg = {0};
    cfg.ppl.add_bos = 1;
    int batch = 8, max_length = 0, json = 0, bf16 = 0;
    int64_t doc_limit = 0, tokens = 0;
    uint64_t seed = 1234;
    hx_arg args[] = {
        {"model", HX_ARG_STR, &model_dir, "DIR", "Hugging Face model directory", .required = 1},
        {"tokenizer", HX_ARG_STR, &tok_path, "PATH", "tokenizer.json (default DIR/tokenizer.json, else data/tokenizer.json)"},
        {"text", HX_ARG_STRS, &text_args, "INPUT", "documents for perplexity (.txt, .jsonl[.zst], directories, archives)"},
        {"shards", HX_ARG_STR, &cfg.shards, "SPEC", "token shards for perplexity (split at the boundary token)"},
        {"doc-limit", HX_ARG_COUNT, &doc_limit, "N", "first N documents of the texts and of the shards (default all)",
         0, 1e15},
        {"window", HX_ARG_INT, &cfg.ppl.window, "N",
         "tokens per forward pass (default and maximum: max_position_embeddings)", 0, 1 << 24},
        {"stride", HX_ARG_INT, &cfg.ppl.stride, "N", "new tokens scored per window (default: the window)", 0, 1 << 24},
        {"bos", HX_ARG_FLAG, &cfg.ppl.add_bos, "", "start documents and requests with one BOS (default)", .set = 1},
        {"no-bos", HX_ARG_FLAG, &cfg.ppl.add_bos, "", "no BOS", .set = 0},
        {"task", HX_ARG_STRS, &task_args, "NAME=LAYOUT:PATH[:NSHOT[:LIMIT]]",
         "LAYOUT: hellaswag arc arc_easy arc_challenge winogrande piqa mmlu generic"},
        {"batch", HX_ARG_INT, &batch, "N",
         "requests per forward pass; scores agree across N to 1e-5 nats, bit for bit only at equal N", 1, 1 << 24},
        {"max-length", HX_ARG_INT, &max_length, "N",
         "task tokens per sequence, longer requests lose context on the left (default: max_position_embeddings)", 0,
         1 << 24},
        {"seed", HX_ARG_U64, &seed, NULL, "few-shot sampler seed"},
        {"delimiter", HX_ARG_STR, &delim, "STR", "target delimiter between context and choice"},
        {"log", HX_ARG_STR, &log_path, "FILE.h5", "append one row to arms/<arm>/eval, settings as attributes"},
        {"arm", HX_ARG_STR, &arm, "NAME", "the arm of --log"},
        {"tokens", HX_ARG_COUNT, &tokens, "N", "the row's tokens column (default 0)", 0, 9e18},
        {"json", HX_ARG_FLAG, &json, "", "print the results as one JSON object instead of the table", .set = 1},
        {"bf16", HX_ARG_FLAG, &bf16, "", "forward passes in bf16 (CPUs with AVX512-BF16; fp32 is the reference)",
         .set = 1},
        {NULL},
    };
    hx_cli cli = {"eval",
                  "Perplexity (LM loss in nats/token, perplexity, bits per byte, word perplexity) over documents and/or\n"
                  "token shards with sliding windows, and lm-eval-style multiple-choice accuracy (acc, acc_norm by\n"
                  "characters, acc_bytes by UTF-8 bytes, each with its standard error).",
                  args};
    int code = 0;
    if (hx_cli_parse(&cli, argc, argv, &code)) return code;
    if (text_args.n == 0 && !cfg.shards && task_args.n == 0)
        return hx_cli_fail(&cli, "nothing to evaluate (give --text, --shards or --task)");
    if (!log_path != !arm) return hx_cli_fail(&cli, "--log and --arm go together");
    if (cfg.ppl.window > 0 && cfg.ppl.stride > cfg.ppl.window) return hx_cli_fail(&cli, "--stride must be <= --window");
    char *task_buf[MAX_TASKS] = {0};
    int rc = HX_OK;
    for (int i = 0; rc == HX_OK && i < task_args.n; i++) {
        memset(&tasks[i], 0, sizeof tasks[i]);
        rc = (task_buf[i] = strdup(task_specs[i])) ? hx_eval_parse_task(task_buf[i], &tasks[i])
                                                   : HX_ERR(HX_ENOMEM, "out of memory");
        tasks[i].seed = seed;
        tasks[i].target_delimiter = delim;
        tasks[i].ll = (hx_ll_opts){cfg.ppl.add_bos, max_length, batch};
    }
    if (rc < 0) {
        for (int i = 0; i < task_args.n; i++) free(task_buf[i]);
        code = hx_cli_fail(&cli, "%s", hx_errtext());
        hx_clearerr();
        return code;
    }
    cfg.texts = texts;
    cfg.n_texts = text_args.n;
    cfg.tasks = tasks;
    cfg.n_tasks = task_args.n;
    cfg.doc_limit = doc_limit;
    char *tok_alloc = NULL;
    if (!tok_path) {
        tok_alloc = hx_path_join(model_dir, "tokenizer.json");
        tok_path = tok_alloc && access(tok_alloc, R_OK) == 0 ? tok_alloc : "data/tokenizer.json";
    }
    int lead = hx_dist_rank() == 0; /* under mpirun every rank scores its share of the requests; rank 0 reports */
    if (lead) hx_cli_settings(&cli, stderr);
    hx_model m = {0};
    hx_tokenizer *tok = NULL;
    hx_evaluator *ev = NULL;
    hx_eval_result res = {0};
    hx_model_bf16 *pk = NULL;
    rc = hx_model_load(model_dir, &m);
    if (rc == HX_OK && bf16 && (rc = hx_model_bf16_pack(&m, &pk)) == HX_OK) m.bf16 = pk;
    if (rc == HX_OK) rc = hx_tokenizer_load(tok_path, &tok);
    if (rc == HX_OK) rc = hx_evaluator_open(&cfg, tok, &ev);
    double t0 = hx_now();
    if (rc == HX_OK) rc = hx_evaluator_run(ev, &m, &res);
    if (rc == HX_OK && lead) {
        if (json) print_json(&res, hx_evaluator_config(ev), &m);
        else print_table(&res, hx_evaluator_config(ev), &m, tok_path);
        if (!json) printf("evaluated in %.2f s on %d threads\n", hx_now() - t0, hx_threads());
    }
    if (rc == HX_OK && log_path && lead) {
        char table[256];
        snprintf(table, sizeof table, "arms/%s/eval", arm);
        hx_h5log *log = NULL;
        rc = hx_h5log_open(log_path, HX_H5LOG_APPEND, &log);
        if (rc == HX_OK) rc = hx_eval_log_row(log, table, tokens, ev, &res, &m.cfg);
        if (rc == HX_OK) rc = hx_h5log_attr_int(log, table, "bf16", bf16);
        int rc2 = log ? hx_h5log_close(log) : HX_OK;
        if (rc == HX_OK) rc = rc2;
        if (rc == HX_OK && !json) printf("logged to %s (arms/%s/eval)\n", log_path, arm);
    }
    hx_eval_result_free(&res);
    hx_evaluator_close(ev);
    hx_tokenizer_free(tok);
    hx_model_bf16_free(pk);
    hx_model_free(&m);
    free(tok_alloc);
    for (int i = 0; i < task_args.n; i++) free(task_buf[i]);
    return rc == HX_OK ? 0 : hx_report(rc);
}
