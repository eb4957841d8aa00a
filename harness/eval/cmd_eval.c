/* `harness eval`: perplexity and multiple-choice accuracy of a model
 * directory, printed as a table (or JSON) and optionally appended as one row
 * to arms/<arm>/eval of an HDF5 run log with the settings as attributes. */
#include "eval/eval_cmds.h"

#include "core/err.h"
#include "core/parse.h"
#include "core/util.h"
#include "model/weights.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_TASKS = 64, MAX_TEXTS = 64 };

static int usage(int rc)
{
    fprintf(rc ? stderr : stdout,
            "usage: harness eval --model DIR [--tokenizer PATH] [--text INPUT]... [--shards SPEC] [--doc-limit N]\n"
            "                    [--window N] [--stride N] [--bos|--no-bos] [--task NAME=LAYOUT:PATH[:NSHOT[:LIMIT]]]...\n"
            "                    [--batch N] [--max-length N] [--seed N] [--delimiter STR]\n"
            "                    [--log FILE.h5 --arm NAME [--tokens N]] [--json]\n\n"
            "Perplexity (LM loss in nats/token, perplexity, bits per byte, word perplexity) over the documents\n"
            "of --text inputs (.txt, .jsonl, .jsonl.zst, directories, archives) and/or token shards (split at\n"
            "the boundary token), with sliding windows; and lm-eval-style multiple-choice accuracy (acc,\n"
            "acc_norm by characters, acc_bytes by UTF-8 bytes, each with its standard error).\n\n"
            "  --tokenizer PATH   default DIR/tokenizer.json, else data/tokenizer.json\n"
            "  --doc-limit N      first N documents of the texts and of the shards (default all)\n"
            "  --window N         tokens per forward pass (default and maximum: the model's\n"
            "                     max_position_embeddings)\n"
            "  --stride N         new tokens scored per window (default: the window)\n"
            "  --bos / --no-bos   start documents and task requests with one BOS (default --bos)\n"
            "  --task SPEC        LAYOUT: hellaswag arc arc_easy arc_challenge winogrande piqa mmlu generic;\n"
            "                     NSHOT few-shot examples (default 0), LIMIT first items (default all)\n"
            "  --batch N          requests per forward pass (default 8); scores agree across N to 1e-5 nats,\n"
            "                     bit for bit only at equal N (BLAS rounding depends on the row count)\n"
            "  --max-length N     task tokens per sequence (default and maximum: the model's\n"
            "                     max_position_embeddings); longer requests\n"
            "                     lose context on the left, keeping the whole continuation\n"
            "  --seed N           few-shot sampler seed (default 1234)\n"
            "  --delimiter STR    target delimiter between context and choice (default \" \")\n"
            "  --log FILE.h5      append one row to arms/<arm>/eval (columns <task>.acc, <task>.acc_norm,\n"
            "                     <task>.acc_bytes, ppl.loss, ppl.perplexity, ppl.bits_per_byte,\n"
            "                     ppl.word_perplexity, and tokens = --tokens, default 0) with the settings\n"
            "                     as attributes of that group\n"
            "  --json             print the results as one JSON object instead of the table\n");
    return rc;
}

/* A non-negative count (hx_parse_count: k/M/B/T suffixes allowed) into a long. */
static int parse_count(const char *s, long *out)
{
    int64_t v;
    if (hx_parse_count(s, &v) || v < 0 || v > 1000000000000000L) return 0;
    *out = (long)v;
    return 1;
}

int hx_eval_parse_task(char *buf, hx_eval_task *t)
{
    char spec[512];
    snprintf(spec, sizeof spec, "%s", buf);
    char *eq = strchr(buf, '=');
    if (!eq || eq == buf)
        return HX_ERR(HX_EINVAL, "--task \"%s\": expected NAME=LAYOUT:PATH[:NSHOT[:LIMIT]] (no NAME= part)", spec);
    *eq = 0;
    /* fields: LAYOUT, PATH, NSHOT, LIMIT */
    char *f[4] = {eq + 1, NULL, NULL, NULL};
    int nf = 1;
    for (char *c = strchr(f[0], ':'); c; c = strchr(c + 1, ':')) {
        if (nf == 4) return HX_ERR(HX_EINVAL, "--task \"%s\": too many ':' fields (PATH must not contain ':')", spec);
        *c = 0;
        f[nf++] = c + 1;
    }
    if (nf < 2) return HX_ERR(HX_EINVAL, "--task \"%s\": expected NAME=LAYOUT:PATH (no ':' after the layout)", spec);
    int kind = hx_task_kind_parse(f[0]);
    if (kind < 0)
        return HX_ERR(HX_EINVAL,
                      "--task \"%s\": unknown layout \"%s\" (hellaswag, arc, arc_easy, arc_challenge, winogrande, piqa, "
                      "mmlu, generic)",
                      spec, f[0]);
    if (!*f[1]) return HX_ERR(HX_EINVAL, "--task \"%s\": empty PATH", spec);
    long v[2] = {0, 0};
    const char *what[2] = {"NSHOT", "LIMIT"};
    for (int k = 0; k < 2 && f[2 + k]; k++)
        if (!parse_count(f[2 + k], &v[k]) || v[k] > 1000000000L)
            return HX_ERR(HX_EINVAL, "--task \"%s\": %s \"%s\" is not a count (an integer >= 0)", spec, what[k],
                          f[2 + k]);
    t->name = buf;
    t->kind = (hx_task_kind)kind;
    t->path = f[1];
    t->n_shot = (int)v[0];
    t->limit = (int)v[1];
    return HX_OK;
}

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

/* Appends the result row and writes the settings attributes. */
static int log_row(const char *path, const char *arm, int64_t tokens, const hx_evaluator *ev, const hx_eval_result *r,
                   const hx_model *m)
{
    char **names = NULL;
    int n = 0;
    HX_TRY(hx_eval_column_names(hx_evaluator_config(ev), &names, &n));
    const char **cols = hx_calloc((size_t)n + 1, sizeof(char *));
    double *vals = hx_calloc((size_t)n + 1, sizeof(double));
    char table[256];
    snprintf(table, sizeof table, "arms/%s/eval", arm);
    hx_h5log *log = NULL;
    int rc = cols && vals ? hx_h5log_open(path, HX_H5LOG_APPEND, &log) : HX_ENOMEM;
    if (rc == HX_OK) {
        cols[0] = "tokens";
        vals[0] = (double)tokens;
        for (int i = 0; i < n; i++) cols[i + 1] = names[i];
        rc = hx_eval_column_values(r, vals + 1, n);
    }
    if (rc >= 0) rc = hx_h5log_append(log, table, cols, vals, n + 1);
    if (rc >= 0) rc = hx_eval_log_settings(log, table, ev, &m->cfg);
    int rc2 = hx_h5log_close(log);
    if (rc >= 0) rc = rc2;
    free(cols);
    free(vals);
    hx_eval_names_free(names, n);
    return rc < 0 ? rc : HX_OK;
}

int hx_cmd_eval(int argc, char **argv)
{
    const char *model_dir = NULL, *tok_path = NULL, *log_path = NULL, *arm = NULL, *delim = NULL;
    const char *texts[MAX_TEXTS];
    char *task_buf[MAX_TASKS];
    hx_eval_task tasks[MAX_TASKS];
    hx_eval_config cfg = {0};
    cfg.texts = texts;
    cfg.tasks = tasks;
    cfg.ppl.add_bos = 1;
    long batch = 8, max_length = 0, window = 0, stride = 0, doc_limit = 0, tokens = 0;
    unsigned long long seed = 1234;
    int json = 0, rc = HX_OK, n_buf = 0;
    for (int i = 1; i < argc && rc == HX_OK; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long *count = !strcmp(a, "--batch")        ? &batch
                      : !strcmp(a, "--max-length") ? &max_length
                      : !strcmp(a, "--window")     ? &window
                      : !strcmp(a, "--stride")     ? &stride
                      : !strcmp(a, "--doc-limit")  ? &doc_limit
                      : !strcmp(a, "--tokens")     ? &tokens
                                                   : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            rc = 1; /* usage(0) below */
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--bos") || !strcmp(a, "--no-bos")) {
            cfg.ppl.add_bos = !strcmp(a, "--bos");
        } else if (!v) {
            fprintf(stderr, "eval: unknown option or missing value: %s\n", a);
            rc = 2;
        } else if (count) {
            if (!parse_count(v, count)) {
                fprintf(stderr, "eval: %s needs a count >= 0, got \"%s\"\n", a, v);
                rc = 2;
            }
            i++;
        } else if (!strcmp(a, "--seed")) {
            uint64_t s64 = 0;
            if (hx_opt_u64("seed", v, &s64) < 0) {
                hx_report(HX_EINVAL);
                rc = 2;
            }
            seed = s64;
            i++;
        } else if (!strcmp(a, "--model")) {
            model_dir = argv[++i];
        } else if (!strcmp(a, "--tokenizer")) {
            tok_path = argv[++i];
        } else if (!strcmp(a, "--text")) {
            if (cfg.n_texts == MAX_TEXTS) fprintf(stderr, "eval: at most %d --text inputs\n", MAX_TEXTS), rc = 2;
            else texts[cfg.n_texts++] = argv[++i];
        } else if (!strcmp(a, "--shards")) {
            cfg.shards = argv[++i];
        } else if (!strcmp(a, "--delimiter")) {
            delim = argv[++i];
        } else if (!strcmp(a, "--log")) {
            log_path = argv[++i];
        } else if (!strcmp(a, "--arm")) {
            arm = argv[++i];
        } else if (!strcmp(a, "--task")) {
            if (cfg.n_tasks == MAX_TASKS) {
                fprintf(stderr, "eval: at most %d --task options\n", MAX_TASKS);
                rc = 2;
            } else if (!(task_buf[n_buf] = strdup(argv[++i]))) {
                rc = hx_report(HX_ERR(HX_ENOMEM, "out of memory"));
            } else {
                memset(&tasks[cfg.n_tasks], 0, sizeof tasks[0]);
                if (hx_eval_parse_task(task_buf[n_buf++], &tasks[cfg.n_tasks]) < 0) {
                    fprintf(stderr, "eval: %s\n", hx_errmsg());
                    rc = 2;
                }
                cfg.n_tasks++;
            }
        } else {
            fprintf(stderr, "eval: unknown option %s\n", a);
            rc = 2;
        }
    }
    if (rc == HX_OK && !model_dir) fprintf(stderr, "eval: --model DIR is required\n"), rc = 2;
    if (rc == HX_OK && cfg.n_texts == 0 && !cfg.shards && cfg.n_tasks == 0)
        fprintf(stderr, "eval: nothing to evaluate (give --text, --shards or --task)\n"), rc = 2;
    if (rc == HX_OK && (log_path != NULL) != (arm != NULL)) fprintf(stderr, "eval: --log and --arm go together\n"), rc = 2;
    if (rc == HX_OK && (batch < 1 || window > 1 << 24 || (window > 0 && stride > window) || max_length > 1 << 24))
        fprintf(stderr, "eval: --batch must be >= 1, --stride <= --window, --window and --max-length <= 2^24\n"), rc = 2;
    if (rc != HX_OK) {
        for (int i = 0; i < n_buf; i++) free(task_buf[i]);
        return rc == 1 ? usage(0) : rc == 2 ? 2 : rc;
    }
    cfg.doc_limit = doc_limit;
    cfg.ppl.window = (int)window;
    cfg.ppl.stride = (int)stride;
    for (int i = 0; i < cfg.n_tasks; i++) {
        tasks[i].seed = seed;
        tasks[i].target_delimiter = delim;
        tasks[i].ll = (hx_ll_opts){cfg.ppl.add_bos, (int)max_length, (int)batch};
    }

    char *tok_alloc = NULL;
    if (!tok_path) {
        tok_alloc = hx_path_join(model_dir, "tokenizer.json");
        tok_path = tok_alloc && access(tok_alloc, R_OK) == 0 ? tok_alloc : "data/tokenizer.json";
    }
    hx_model m = {0};
    hx_tokenizer *tok = NULL;
    hx_evaluator *ev = NULL;
    hx_eval_result res = {0};
    rc = hx_model_load(model_dir, &m);
    if (rc == HX_OK) rc = hx_tokenizer_load(tok_path, &tok);
    if (rc == HX_OK) rc = hx_evaluator_open(&cfg, tok, &ev);
    double t0 = hx_now();
    if (rc == HX_OK) rc = hx_evaluator_run(ev, &m, &res);
    if (rc == HX_OK) {
        if (json) print_json(&res, hx_evaluator_config(ev), &m);
        else print_table(&res, hx_evaluator_config(ev), &m, tok_path);
        if (!json) printf("evaluated in %.2f s on %d threads\n", hx_now() - t0, hx_threads());
    }
    if (rc == HX_OK && log_path) {
        rc = log_row(log_path, arm, tokens, ev, &res, &m);
        if (rc == HX_OK && !json) printf("logged to %s (arms/%s/eval)\n", log_path, arm);
    }
    hx_eval_result_free(&res);
    hx_evaluator_close(ev);
    hx_tokenizer_free(tok);
    hx_model_free(&m);
    free(tok_alloc);
    for (int i = 0; i < n_buf; i++) free(task_buf[i]);
    return rc == HX_OK ? 0 : hx_report(rc);
}
