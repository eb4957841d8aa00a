/* evaluate(): task accuracies against the PyTorch reference
 * (tests/fixtures/eval/reference.json), perplexity over texts and over token
 * shards of the same documents, the trainer eval-hook adapter, the HDF5
 * settings attributes, `harness eval` (table, HDF5 row and attributes), and
 * --task spec errors. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "data/shard.h"
#include "eval/evaluate.h"
#include "eval/evaluate.h"
#include "model/weights.h"
#include "train/trainer.h"

#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define FIX "tests/fixtures/eval/"
#define TOK "tests/fixtures/tokenizer/llama3.json"

static hx_model model;
static hx_tokenizer *tok;
static json_t *ref;
static char tmpdir[64];

static const char *names[] = {"hellaswag", "arc", "winogrande", "piqa", "mmlu"};
static const char *paths[] = {FIX "hellaswag.jsonl", FIX "arc.jsonl", FIX "winogrande.jsonl", FIX "piqa.jsonl",
                              FIX "mmlu.jsonl"};
static const hx_task_kind kinds[] = {HX_TASK_HELLASWAG, HX_TASK_ARC, HX_TASK_WINOGRANDE, HX_TASK_PIQA, HX_TASK_MMLU};

/* Two short documents, as a JSONL file in tmpdir. */
static const char *docs[] = {"In the beginning God created the heaven and the earth.",
                             "A hacker is a person who enjoys exploring the details of programmable systems and how "
                             "to stretch their capabilities, as opposed to most users."};

static void fixture_tasks(hx_eval_task *t)
{
    for (int i = 0; i < 5; i++)
        t[i] = (hx_eval_task){names[i], kinds[i], paths[i], 0, 0, 1234, NULL, {1, 0, 3}};
}

static double ref_metric(const char *task, const char *metric)
{
    return json_real_value(json_object_get(json_object_get(json_object_get(ref, "tasks"), task), metric));
}

/* The five fixture tasks through evaluate() give the reference acc and
 * acc_norm; n and the standard errors follow. */
static void test_tasks_match_reference(void **state)
{
    (void)state;
    hx_eval_task t[5];
    fixture_tasks(t);
    hx_eval_config c = {0};
    c.tasks = t;
    c.n_tasks = 5;
    hx_eval_result r;
    assert_int_equal(hx_evaluate(&model, tok, &c, &r), HX_OK);
    assert_int_equal(r.n_tasks, 5);
    assert_int_equal(r.has_ppl, 0);
    for (int i = 0; i < 5; i++) {
        const hx_eval_task_result *x = &r.tasks[i];
        assert_string_equal(x->name, names[i]);
        json_t *items = json_object_get(json_object_get(json_object_get(ref, "tasks"), names[i]), "items");
        assert_int_equal(x->n, (long)json_array_size(items));
        assert_true(fabs(x->acc - ref_metric(names[i], "acc")) < 1e-12);
        assert_true(fabs(x->acc_norm - ref_metric(names[i], "acc_norm")) < 1e-12);
        double se = x->n > 1 ? sqrt(x->acc * (1 - x->acc) / (x->n - 1)) : 0;
        assert_true(fabs(x->acc_stderr - se) < 1e-12);
        assert_true(x->acc_bytes >= 0 && x->acc_bytes <= 1);
        assert_int_equal(x->truncated, 0);
    }
    hx_eval_result_free(&r);
    /* limit keeps the first items; a short max_length truncates requests */
    t[0] = t[4];
    t[0].limit = 1;
    t[1].ll.max_length = 18;
    c.n_tasks = 2; /* mmlu, arc */
    assert_int_equal(hx_evaluate(&model, tok, &c, &r), HX_OK);
    assert_int_equal(r.tasks[0].n, 1);
    assert_int_equal(r.tasks[0].requests, 4);
    assert_true(r.tasks[1].truncated > 0);
    hx_eval_result_free(&r);
}

/* Perplexity over a JSONL file equals hx_ppl_text summed over its documents,
 * and token shards of the same documents give the same sums. */
static void test_perplexity_texts_and_shards(void **state)
{
    (void)state;
    char jsonl[128], shards[128];
    snprintf(jsonl, sizeof jsonl, "%s/docs.jsonl", tmpdir);
    FILE *f = fopen(jsonl, "w");
    assert_non_null(f);
    for (int i = 0; i < 2; i++) fprintf(f, "{\"text\": \"%s\"}\n", docs[i]);
    fclose(f);
    hx_ppl_opts po = {16, 8, 1};
    hx_ppl_sums want = {0};
    for (int i = 0; i < 2; i++) assert_int_equal(hx_ppl_text(&model, tok, docs[i], strlen(docs[i]), &po, &want), HX_OK);

    snprintf(shards, sizeof shards, "%s/shards", tmpdir);
    hx_shard_writer *w;
    assert_int_equal(hx_shard_writer_open(shards, "v", hx_tokenizer_sha256(tok), 1002, HX_BOUNDARY_EOS_AFTER,
                                          (uint32_t)hx_tokenizer_eos_id(tok), 1000, &w),
                     HX_OK);
    for (int i = 0; i < 2; i++) {
        int32_t *ids;
        size_t n;
        assert_int_equal(hx_tokenizer_encode(tok, docs[i], strlen(docs[i]), 0, &ids, &n), HX_OK);
        assert_int_equal(hx_shard_writer_add(w, ids, n), HX_OK);
        free(ids);
    }
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);

    const char *texts[] = {jsonl};
    hx_eval_config c = {0};
    c.ppl = po;
    for (int mode = 0; mode < 3; mode++) { /* texts, shards, both with a doc limit of 1 */
        c.texts = mode != 1 ? texts : NULL;
        c.n_texts = mode != 1;
        c.shards = mode >= 1 ? shards : NULL;
        c.doc_limit = mode == 2 ? 1 : 0;
        hx_eval_result r;
        assert_int_equal(hx_evaluate(&model, tok, &c, &r), HX_OK);
        assert_int_equal(r.has_ppl, 1);
        assert_int_equal(r.ppl_docs, 2);
        if (mode < 2) {
            assert_true(fabs(r.ppl_sums.nll - want.nll) < 1e-6 * want.nll);
            assert_int_equal(r.ppl_sums.tokens, want.tokens);
            assert_int_equal(r.ppl_sums.bytes, want.bytes);
            assert_int_equal(r.ppl_sums.words, want.words);
            hx_ppl_metrics m = hx_ppl_finish(&want);
            assert_true(fabs(r.ppl.bits_per_byte - m.bits_per_byte) < 1e-9 * m.bits_per_byte);
            assert_true(fabs(r.ppl.word_perplexity - m.word_perplexity) < 1e-6 * m.word_perplexity);
        } else { /* the first document of each source */
            assert_int_equal(r.ppl_sums.bytes, 2 * (long)strlen(docs[0]));
        }
        hx_eval_result_free(&r);
    }
    /* shards made with another tokenizer (another SHA-256) are refused */
    char other[128], sha0[65];
    memset(sha0, 'a', 64);
    sha0[64] = 0;
    snprintf(other, sizeof other, "%s/other", tmpdir);
    assert_int_equal(hx_shard_writer_open(other, "v", sha0, 1002, HX_BOUNDARY_EOS_AFTER, 1001, 1000, &w), HX_OK);
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);
    c.texts = NULL, c.n_texts = 0, c.shards = other;
    hx_eval_result r;
    assert_int_equal(hx_evaluate(&model, tok, &c, &r), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), sha0));
}

/* The eval hook returns "<task>.acc", ".acc_norm", ".acc_bytes" (then the
 * ppl.* columns) with evaluate()'s values, and refuses too few columns. */
static void test_eval_hook(void **state)
{
    (void)state;
    hx_eval_task t[5];
    fixture_tasks(t);
    hx_eval_config c = {0};
    c.tasks = t + 1;
    c.n_tasks = 2; /* arc, winogrande */
    char jsonl[128];
    snprintf(jsonl, sizeof jsonl, "%s/docs.jsonl", tmpdir);
    const char *texts[] = {jsonl};
    c.texts = texts;
    c.n_texts = 1;
    c.ppl = (hx_ppl_opts){32, 0, 1};
    hx_eval_hook h;
    assert_int_equal(hx_eval_hook_init(&h, &c, tok), HX_OK);
    const char *cols[16];
    double v[16];
    int n = hx_eval_hook_fn(&h, &model, 128, cols, v, 16);
    assert_int_equal(n, 10);
    const char *want[] = {"arc.acc", "arc.acc_norm", "arc.acc_bytes", "winogrande.acc", "winogrande.acc_norm",
                          "winogrande.acc_bytes", "ppl.loss", "ppl.perplexity", "ppl.bits_per_byte",
                          "ppl.word_perplexity"};
    for (int i = 0; i < n; i++) assert_string_equal(cols[i], want[i]);
    hx_eval_result r;
    assert_int_equal(hx_evaluate(&model, tok, &c, &r), HX_OK);
    assert_true(v[0] == r.tasks[0].acc && v[1] == r.tasks[0].acc_norm && v[2] == r.tasks[0].acc_bytes);
    assert_true(v[4] == ref_metric("winogrande", "acc_norm"));
    assert_true(v[6] == r.ppl.loss && fabs(v[7] - exp(r.ppl.loss)) < 1e-9 * v[7]);
    assert_true(v[8] == r.ppl.bits_per_byte && v[9] == r.ppl.word_perplexity);
    hx_eval_result_free(&r);
    assert_int_equal(hx_eval_hook_fn(&h, &model, 0, cols, v, 9), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "do not fit"));
    hx_eval_hook_free(&h);
}

/* The hook inside hx_train: every eval row of arms/<arm>/eval gets the task
 * columns; the row at tokens 0 (the initial model) equals evaluate(). */
static void test_hook_in_trainer(void **state)
{
    (void)state;
    char shards[128], log_path[128];
    snprintf(shards, sizeof shards, "%s/shards", tmpdir); /* written by test_perplexity_texts_and_shards */
    snprintf(log_path, sizeof log_path, "%s/train.h5", tmpdir);
    hx_eval_task t[5];
    fixture_tasks(t);
    hx_eval_config ec = {0};
    ec.tasks = t + 2; /* winogrande, piqa */
    ec.n_tasks = 2;
    hx_eval_hook h;
    assert_int_equal(hx_eval_hook_init(&h, &ec, tok), HX_OK);
    hx_train_config c = hx_train_defaults();
    c.init_from = FIX "model";
    c.train_data = c.val_data = shards;
    c.seq_len = 8;
    c.token_budget = 16;
    c.eval_every_tokens = 8;
    c.eval_batches = 1;
    c.schedule.peak_lr = 1e-2;
    c.log_path = log_path;
    c.arm = "hooked";
    c.quiet = 1;
    c.eval_hook = hx_eval_hook_fn;
    c.eval_hook_ctx = &h;
    hx_train_result tr;
    assert_int_equal(hx_train(&c, &tr), HX_OK);
    hx_eval_hook_free(&h);
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(log_path, HX_H5LOG_APPEND, &log), HX_OK);
    double *acc, *tokens;
    int64_t n, n2;
    assert_int_equal(hx_h5log_read_column(log, "arms/hooked/eval", "piqa.acc", &acc, &n), HX_OK);
    assert_int_equal(hx_h5log_read_column(log, "arms/hooked/eval", "tokens", &tokens, &n2), HX_OK);
    assert_int_equal(n, 3); /* tokens 0, 8, 16 */
    assert_int_equal(n2, 3);
    assert_true(tokens[0] == 0 && tokens[2] == 16);
    assert_true(acc[0] == ref_metric("piqa", "acc"));
    free(acc);
    free(tokens);
    assert_int_equal(hx_h5log_read_column(log, "arms/hooked/eval", "winogrande.acc_norm", &acc, &n), HX_OK);
    assert_true(acc[0] == ref_metric("winogrande", "acc_norm"));
    free(acc);
    hx_h5log_close(log);
}

static int64_t attr_int(const char *file, const char *obj, const char *name)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    int64_t v = -99;
    assert_true(H5Aread(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
    H5Fclose(f);
    return v;
}

static char *attr_str(const char *file, const char *obj, const char *name)
{
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(file, HX_H5LOG_APPEND, &log), HX_OK);
    char *s = NULL;
    assert_int_equal(hx_h5log_get_attr_str(log, obj, name, &s), HX_OK);
    hx_h5log_close(log);
    return s;
}

/* harness eval prints the table and appends one row + attributes. */
static void test_cli_table_and_log(void **state)
{
    (void)state;
    const char *harness = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cmd[2048], h5[128], jsonl[128];
    snprintf(h5, sizeof h5, "%s/cli.h5", tmpdir);
    snprintf(jsonl, sizeof jsonl, "%s/docs.jsonl", tmpdir);
    for (int run = 0; run < 2; run++) {
        snprintf(cmd, sizeof cmd,
                 "%s eval --model " FIX "model --tokenizer " TOK " --task arc=arc:" FIX "arc.jsonl --task wg=winogrande:"
                 FIX "winogrande.jsonl:0 --task mm=mmlu:" FIX "mmlu.jsonl:1:3 --text %s --window 32 --stride 16 "
                 "--max-length 200 --batch 2 --log %s --arm cli --tokens %d 2>&1",
                 harness, jsonl, h5, 1000 * (run + 1));
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char line[512];
        int header = 0, arc = 0, ppl = 0;
        while (fgets(line, sizeof line, p)) {
            header |= strncmp(line, "task", 4) == 0 && strstr(line, "acc_norm") && strstr(line, "acc_bytes");
            arc |= strncmp(line, "arc ", 4) == 0 && strstr(line, "0.0000 ± 0.0000  0.5000 ± 0.5000") != NULL;
            ppl |= strstr(line, "2 documents") && strstr(line, "window 32, stride 16, BOS yes");
        }
        assert_int_equal(pclose(p), 0);
        assert_true(header && arc && ppl);
    }
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(h5, HX_H5LOG_APPEND, &log), HX_OK);
    double *col;
    int64_t n;
    assert_int_equal(hx_h5log_read_column(log, "arms/cli/eval", "tokens", &col, &n), HX_OK);
    assert_int_equal(n, 2);
    assert_true(col[0] == 1000 && col[1] == 2000);
    free(col);
    assert_int_equal(hx_h5log_read_column(log, "arms/cli/eval", "wg.acc_norm", &col, &n), HX_OK);
    assert_true(col[1] == ref_metric("winogrande", "acc_norm"));
    free(col);
    assert_int_equal(hx_h5log_read_column(log, "arms/cli/eval", "ppl.bits_per_byte", &col, &n), HX_OK);
    assert_true(col[0] > 0 && col[0] == col[1]);
    free(col);
    hx_h5log_close(log);
    char sha[65];
    assert_int_equal(hx_sha256_file(FIX "mmlu.jsonl", sha), HX_OK);
    char *s = attr_str(h5, "arms/cli/eval", "mm.sha256");
    assert_string_equal(s, sha);
    free(s);
    s = attr_str(h5, "arms/cli/eval", "eval_tasks");
    assert_string_equal(s, "arc,wg,mm");
    free(s);
    s = attr_str(h5, "arms/cli/eval", "wg.layout");
    assert_string_equal(s, "winogrande");
    free(s);
    s = attr_str(h5, "arms/cli/eval", "arc.metrics");
    assert_string_equal(s, "acc,acc_norm,acc_bytes");
    free(s);
    s = attr_str(h5, "arms/cli/eval", "tokenizer_sha256");
    assert_string_equal(s, hx_tokenizer_sha256(tok));
    free(s);
    s = attr_str(h5, "arms/cli/eval", "arc.truncation");
    assert_non_null(strstr(s, "whole continuation"));
    free(s);
    assert_int_equal(attr_int(h5, "arms/cli/eval", "mm.n_shot"), 1);
    assert_int_equal(attr_int(h5, "arms/cli/eval", "mm.limit"), 3);
    assert_int_equal(attr_int(h5, "arms/cli/eval", "mm.items"), 3);
    assert_int_equal(attr_int(h5, "arms/cli/eval", "arc.add_bos"), 1);
    assert_int_equal(attr_int(h5, "arms/cli/eval", "arc.max_length"), 200);
    assert_int_equal(attr_int(h5, "arms/cli/eval", "ppl.window"), 32);
    assert_int_equal(attr_int(h5, "arms/cli/eval", "ppl.stride"), 16);
    assert_int_equal(attr_int(h5, "arms/cli/eval", "ppl.add_bos"), 1);
}

/* --task specs: parsed fields, and clear errors for malformed ones. */
static void test_task_specs(void **state)
{
    (void)state;
    char buf[128];
    hx_eval_task t = {0};
    snprintf(buf, sizeof buf, "mmlu5=mmlu:data/tasks/mmlu.jsonl:5:100");
    assert_int_equal(hx_eval_parse_task(buf, &t), HX_OK);
    assert_string_equal(t.name, "mmlu5");
    assert_string_equal(t.path, "data/tasks/mmlu.jsonl");
    assert_int_equal(t.kind, HX_TASK_MMLU);
    assert_int_equal(t.n_shot, 5);
    assert_int_equal(t.limit, 100);
    snprintf(buf, sizeof buf, "c=arc_challenge:x.jsonl");
    assert_int_equal(hx_eval_parse_task(buf, &t), HX_OK);
    assert_int_equal(t.n_shot, 0);
    assert_int_equal(t.limit, 0);
    struct {
        const char *spec, *msg;
    } bad[] = {{"arc.jsonl", "no NAME= part"},         {"=arc:x", "no NAME= part"},
               {"a=arc", "no ':' after the layout"},   {"a=nope:x.jsonl", "unknown layout \"nope\""},
               {"a=arc:", "empty PATH"},               {"a=arc:x:five", "NSHOT \"five\" is not a count"},
               {"a=arc:x:1:-2", "LIMIT \"-2\" is not a count"}, {"a=arc:x:1:2:3", "too many ':' fields"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, "%s", bad[i].spec);
        assert_int_equal(hx_eval_parse_task(buf, &t), HX_EINVAL);
        if (!strstr(hx_errmsg(), bad[i].msg)) fail_msg("%s: got \"%s\"", bad[i].spec, hx_errmsg());
    }
    /* names are checked when the evaluator opens */
    hx_eval_task ts[2] = {{"a/b", HX_TASK_ARC, FIX "arc.jsonl", 0, 0, 1, NULL, {1, 0, 1}},
                          {"x", HX_TASK_ARC, FIX "missing.jsonl", 0, 0, 1, NULL, {1, 0, 1}}};
    hx_eval_config c = {0};
    c.tasks = ts;
    c.n_tasks = 1;
    hx_evaluator *ev;
    assert_int_equal(hx_evaluator_open(&c, tok, &ev), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "name \"a/b\""));
    ts[0].name = "x";
    c.n_tasks = 2;
    assert_int_equal(hx_evaluator_open(&c, tok, &ev), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "\"x\" is used twice"));
    c.tasks = ts + 1;
    c.n_tasks = 1;
    assert_true(hx_evaluator_open(&c, tok, &ev) < 0);
    assert_non_null(strstr(hx_errmsg(), "eval: task x"));
    assert_non_null(strstr(hx_errmsg(), "missing.jsonl"));

    /* the CLI: exit code 2 and the message */
    const char *harness = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s eval --model " FIX "model --task arc=arc:x:y 2>&1", harness);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512], all[2048] = "";
    while (fgets(line, sizeof line, p)) strncat(all, line, sizeof all - strlen(all) - 1);
    assert_int_equal(WEXITSTATUS(pclose(p)), 2);
    assert_non_null(strstr(all, "NSHOT \"y\" is not a count"));
}

/* Runs `harness <args> 2>&1` into out[0..cap); returns the exit status. */
static int run_cli(const char *args, char *out, size_t cap)
{
    const char *harness = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", harness, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t used = 0;
    out[0] = 0;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        size_t l = strlen(line);
        if (used + l < cap) memcpy(out + used, line, l + 1), used += l;
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One JSONL document in tmpdir/one.jsonl; returns the path. */
static const char *one_doc(void)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/one.jsonl", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"text\": \"%s\"}\n", docs[0]);
    fclose(f);
    return path;
}

/* A model whose final norm has one NaN: perplexity and task scores come out
 * non-finite, and evaluate() refuses them (HX_ENAN naming the metric, or the
 * task, item and choice) instead of returning a nan. */
static void test_nonfinite_results_refused(void **state)
{
    (void)state;
    hx_model bad;
    assert_int_equal(hx_model_alloc(&bad, &model.cfg), HX_OK);
    memcpy(bad.data, model.data, sizeof(float) * model.n_floats);
    bad.norm[3] = NAN;
    const char *texts[] = {one_doc()};
    hx_eval_config c = {0};
    c.ppl = (hx_ppl_opts){16, 8, 1};
    c.texts = texts;
    c.n_texts = 1;
    hx_eval_result r;
    assert_int_equal(hx_evaluate(&model, tok, &c, &r), HX_OK); /* the same set on the finite model */
    assert_true(isfinite(r.ppl.loss) && r.ppl.loss > 0);
    hx_eval_result_free(&r);
    assert_int_equal(hx_evaluate(&bad, tok, &c, &r), HX_ENAN);
    if (!strstr(hx_errmsg(), "eval: ppl.loss is nan")) fail_msg("%s", hx_errmsg());
    assert_null(r.tasks);
    hx_eval_task t[5];
    fixture_tasks(t);
    hx_eval_config ct = {0};
    ct.tasks = &t[1]; /* arc */
    ct.n_tasks = 1;
    assert_int_equal(hx_evaluate(&bad, tok, &ct, &r), HX_ENAN);
    if (!strstr(hx_errmsg(), "eval: task arc") || !strstr(hx_errmsg(), "log-likelihood of item 0 choice 0 is nan"))
        fail_msg("%s", hx_errmsg());
    hx_model_free(&bad);
}

/* harness eval on a model directory with one NaN (or +Inf) weight exits
 * non-zero naming the tensor and the element, and prints no results table. */
static void test_cli_refuses_nonfinite_weights(void **state)
{
    (void)state;
    hx_model bad;
    assert_int_equal(hx_model_alloc(&bad, &model.cfg), HX_OK);
    memcpy(bad.data, model.data, sizeof(float) * model.n_floats);
    const float poison[2] = {NAN, INFINITY};
    const char *name[2] = {"nan", "inf"};
    char dir[128], args[1024], out[8192], want[160];
    for (int k = 0; k < 2; k++) {
        bad.layers[0].input_layernorm[17] = poison[k];
        snprintf(dir, sizeof dir, "%s/bad_%s", tmpdir, name[k]);
        assert_int_equal(hx_model_save(dir, &bad, HX_DT_F32, 0), HX_OK);
        snprintf(args, sizeof args, "eval --model %s --tokenizer " TOK " --text %s --window 16", dir, one_doc());
        int st = run_cli(args, out, sizeof out);
        snprintf(want, sizeof want, "tensor 'model.layers.0.input_layernorm.weight': element 17 is %s", name[k]);
        if (st == 0 || !strstr(out, want)) fail_msg("exit %d, output:\n%s", st, out);
        assert_null(strstr(out, "perplexity"));
    }
    hx_model_free(&bad);
}

/* --max-length (or --window) above the model's max_position_embeddings (256)
 * is refused naming the option, not run; the maximum itself is accepted. */
static void test_cli_refuses_lengths_beyond_model(void **state)
{
    (void)state;
    char args[1024], out[8192];
    snprintf(args, sizeof args, "eval --model " FIX "model --tokenizer " TOK " --task arc=arc:" FIX "arc.jsonl:0:2 --max-length 257");
    int st = run_cli(args, out, sizeof out);
    if (st == 0 || !strstr(out, "max_length 257 (--max-length) is larger than the model's max_position_embeddings 256"))
        fail_msg("exit %d, output:\n%s", st, out);
    assert_null(strstr(out, "acc_norm"));
    snprintf(args, sizeof args, "eval --model " FIX "model --tokenizer " TOK " --text %s --window 300", one_doc());
    st = run_cli(args, out, sizeof out);
    if (st == 0 || !strstr(out, "window 300 (--window) is larger than the model's max_position_embeddings 256"))
        fail_msg("exit %d, output:\n%s", st, out);
    snprintf(args, sizeof args, "eval --model " FIX "model --tokenizer " TOK " --task arc=arc:" FIX "arc.jsonl:0:2 --max-length 256");
    st = run_cli(args, out, sizeof out);
    if (st != 0) fail_msg("exit %d, output:\n%s", st, out);
}

static int setup(void **state)
{
    (void)state;
    json_error_t e;
    ref = json_load_file(FIX "reference.json", 0, &e);
    if (!ref) return -1;
    if (hx_model_load(FIX "model", &model) != HX_OK) return -1;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hx_evaluate_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    return hx_tokenizer_load(TOK, &tok) == HX_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hx_model_free(&model);
    hx_tokenizer_free(tok);
    json_decref(ref);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    hx_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tasks_match_reference), cmocka_unit_test(test_perplexity_texts_and_shards),
        cmocka_unit_test(test_eval_hook),             cmocka_unit_test(test_hook_in_trainer),
        cmocka_unit_test(test_cli_table_and_log),
        cmocka_unit_test(test_task_specs),
        cmocka_unit_test(test_nonfinite_results_refused),
        cmocka_unit_test(test_cli_refuses_nonfinite_weights),
        cmocka_unit_test(test_cli_refuses_lengths_beyond_model),
    };
    return cmocka_run_group_tests_name("evaluate", tests, setup, teardown);
}
