/* Tests for harness/exp/baselines and harness/exp/plot: the published-baselines CSVs parse, every
 * row has a source and key numbers match minitron-facts.md; every gnuplot script renders PNG, SVG
 * and PDF from small synthetic data; missing inputs and a missing gnuplot give clear errors. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "exp/baselines.h"
#include "exp/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hx_test_plot_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_text(const char *path, const char *text)
{
    assert_int_equal(hx_write_file_atomic(path, text, strlen(text)), HX_OK);
}

static int have_gnuplot(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

/* ---- CSV reader --------------------------------------------------------------------------- */

static void test_csv_quotes_and_ragged_rows(void **state)
{
    (void)state;
    const char *p = tmp_path("q.csv");
    write_text(p, "a,b,c\r\n1,\"x, \"\"y\"\"\",\n\n\"multi\nline\",2,3\n");
    hx_csv t;
    assert_int_equal(hx_csv_read(p, &t), HX_OK);
    assert_int_equal(t.n_cols, 3);
    assert_int_equal(t.n_rows, 2);
    assert_string_equal(hx_csv_cell(&t, 0, 1), "x, \"y\"");
    assert_string_equal(hx_csv_cell(&t, 0, 2), "");
    assert_string_equal(hx_csv_cell(&t, 1, 0), "multi\nline");
    assert_int_equal(t.lines[1], 4);
    assert_int_equal(hx_csv_col(&t, "c"), 2);
    assert_int_equal(hx_csv_col(&t, "d"), -1);
    hx_csv_free(&t);

    write_text(p, "a,b\n1,2\n3\n");
    assert_int_equal(hx_csv_read(p, &t), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "q.csv:3"));
    write_text(p, "a,b\n\"1,2\n");
    assert_int_equal(hx_csv_read(p, &t), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "unterminated"));

    double v;
    assert_true(hx_csv_number("9.4e10", &v) && v == 9.4e10);
    assert_false(hx_csv_number("94B", &v));
    assert_false(hx_csv_number("", &v));
}

/* ---- baselines ---------------------------------------------------------------------------- */

/* The value of the first row of `file` whose columns k1=v1 and k2=v2 (k2 may be NULL) match,
 * read from column `col`. Fails the test when no row matches. */
static double lookup(const char *file, const char *k1, const char *v1, const char *k2, const char *v2,
                     const char *col)
{
    char path[256];
    snprintf(path, sizeof path, "baselines/%s", file);
    hx_csv t;
    assert_int_equal(hx_csv_read(path, &t), HX_OK);
    int c1 = hx_csv_col(&t, k1), c2 = k2 ? hx_csv_col(&t, k2) : -1, cv = hx_csv_col(&t, col);
    assert_true(c1 >= 0 && cv >= 0 && (!k2 || c2 >= 0));
    double out = NAN;
    for (size_t r = 0; r < t.n_rows; r++)
        if (!strcmp(hx_csv_cell(&t, r, c1), v1) && (!k2 || !strcmp(hx_csv_cell(&t, r, c2), v2))) {
            assert_true(hx_csv_number(hx_csv_cell(&t, r, cv), &out));
            break;
        }
    hx_csv_free(&t);
    if (isnan(out)) fail_msg("%s: no row %s=%s %s=%s", file, k1, v1, k2 ? k2 : "", v2 ? v2 : "");
    return out;
}

/* The value of a benchmark score for a model from a given source table, and its shot count. */
static double score(const char *model, const char *bench, const char *source, int *shots)
{
    hx_csv t;
    assert_int_equal(hx_csv_read("baselines/scores.csv", &t), HX_OK);
    int cm = hx_csv_col(&t, "model"), cb = hx_csv_col(&t, "benchmark"), cs = hx_csv_col(&t, "source"),
        cv = hx_csv_col(&t, "value"), csh = hx_csv_col(&t, "shots");
    double out = NAN, sh = -1;
    for (size_t r = 0; r < t.n_rows; r++)
        if (!strcmp(hx_csv_cell(&t, r, cm), model) && !strcmp(hx_csv_cell(&t, r, cb), bench) &&
            !strcmp(hx_csv_cell(&t, r, cs), source)) {
            assert_true(hx_csv_number(hx_csv_cell(&t, r, cv), &out));
            assert_true(hx_csv_number(hx_csv_cell(&t, r, csh), &sh));
            break;
        }
    hx_csv_free(&t);
    if (isnan(out)) fail_msg("scores.csv: no %s %s from %s", model, bench, source);
    *shots = (int)sh;
    return out;
}

static void test_baselines_every_row_sourced(void **state)
{
    (void)state;
    assert_int_equal(hx_baselines_check("baselines"), HX_OK);
    /* The check itself catches a row without a source and a non-number in a numeric column. */
    char d[512];
    snprintf(d, sizeof d, "%s", tmp_path("bl"));
    assert_int_equal(hx_mkdir_p(d), HX_OK);
    write_text(tmp_path("bl/models.csv"), "model,role,params,nonemb_params,train_tokens,source,note\n"
                                          "A,published,1e9,1e9,2e12,[X] Table 1,\n"
                                          "B,published,1e9,1e9,2e12,,\n");
    write_text(tmp_path("bl/scores.csv"), "model,benchmark,shots,metric,value,source,note\nA,mmlu,5,acc,50,[X],\n");
    write_text(tmp_path("bl/pruning_methods.csv"), "tier,method,params,benchmark,shots,value,source,note\n"
                                                   "8B,M,1e9,mmlu,,40,[X],\n");
    write_text(tmp_path("bl/ablations.csv"), "table,setting,metric,value,tokens,source,note\nT1,s,loss,2,0,[X],\n");
    assert_int_equal(hx_baselines_check(d), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "models.csv:3"));
    assert_non_null(strstr(hx_errmsg(), "source"));
    write_text(tmp_path("bl/models.csv"), "model,role,params,nonemb_params,train_tokens,source,note\n"
                                          "A,published,1e9,1e9,>15T,[X] Table 1,\n");
    assert_int_equal(hx_baselines_check(d), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "train_tokens"));
}

static void test_baselines_key_values(void **state)
{
    (void)state;
    int shots;
    /* [M-NIPS] Table 2 */
    assert_true(score("Minitron-8B", "mmlu", "[M-NIPS] Table 2", &shots) == 63.8 && shots == 5);
    assert_true(lookup("models.csv", "model", "Minitron-8B", NULL, NULL, "train_tokens") == 94e9);
    assert_true(score("Mistral-7B", "mmlu", "[M-NIPS] Table 2", &shots) == 64.1);
    assert_true(score("Mistral-7B", "mmlu", "[P] Table 1", &shots) == 64.1);
    assert_true(lookup("models.csv", "model", "Mistral-7B", NULL, NULL, "train_tokens") == 8e12);
    assert_true(score("Nemotron-3-8B", "humaneval", "[M-NIPS] Table 2", &shots) == 20.7 && shots == 0);
    assert_true(score("Minitron-8B", "gsm8k", "[M-NIPS] Table 2", &shots) == 51.3);
    assert_true(score("Llama-3-8B", "arc_challenge", "[M-NIPS] Table 2", &shots) == 57.8 && shots == 25);
    assert_true(lookup("models.csv", "model", "Nemotron-4-15B", NULL, NULL, "params") == 15.6e9);
    assert_true(lookup("models.csv", "model", "Nemotron-3-8B", NULL, NULL, "train_tokens") == 3.8e12);
    /* [M-NIPS] Table 3 */
    assert_true(score("Minitron-4B", "mmlu", "[M-NIPS] Table 3", &shots) == 58.6);
    assert_true(score("Phi-2", "humaneval", "[M-NIPS] Table 3", &shots) == 50);
    assert_true(score("Qwen2-1.5B", "gsm8k", "[M-NIPS] Table 3", &shots) == 58.5);
    assert_true(lookup("models.csv", "model", "MiniCPM-2.7B", NULL, NULL, "train_tokens") == 1.1e12);
    /* [P] Table 1 */
    assert_true(score("Llama-3.1-Minitron-4B-Width", "mmlu", "[P] Table 1", &shots) == 60.5 && shots == 5);
    assert_true(score("Llama-3.1-Minitron-4B-Depth", "gsm8k", "[P] Table 1", &shots) == 16.8);
    assert_true(score("MN-Minitron-8B", "mmlu", "[P] Table 1", &shots) == 69.5);
    assert_true(score("Gemma2-2.6B", "humaneval", "[P] Table 1", &shots) == 20.1);  /* T3 prints 17.7 */
    assert_true(score("Gemma2-2.6B", "humaneval", "[M-NIPS] Table 3", &shots) == 17.7);
    assert_true(lookup("models.csv", "model", "MN-Minitron-8B", NULL, NULL, "train_tokens") == 380e9);
    assert_true(lookup("models.csv", "model", "Llama-3.1-8B", NULL, NULL, "train_tokens") == 15e12);
    /* [M-NIPS] Table 4 */
    assert_true(lookup("pruning_methods.csv", "method", "ShortGPT", "tier", "8B", "value") == 54.7);
    assert_true(lookup("pruning_methods.csv", "method", "Sheared-LLaMA", "benchmark", "hellaswag", "value") == 70.8);
    assert_true(lookup("pruning_methods.csv", "method", "LLM-Pruner", "tier", "4B", "value") == 23.33);
    /* Ablations */
    assert_true(lookup("ablations.csv", "setting", "mlp+attn+emb (width)", "metric", "lm_val_loss", "value") == 2.049);
    assert_true(lookup("ablations.csv", "setting", "batch=L2 seq=mean", "metric", "lm_loss_8t", "value") == 7.18);
    assert_true(lookup("ablations.csv", "setting", "4B pruned from Minitron 8B + distill", "metric", "mmlu",
                       "value") == 42.45);
    assert_true(lookup("ablations.csv", "setting", "KLD", "metric", "wikitext_ppl", "value") == 8.720);
    assert_true(lookup("ablations.csv", "setting", "Depth (BI)", "metric", "lm_val_loss", "value") == 2.177);
    assert_true(lookup("ablations.csv", "setting", "L_logits + L_o(15:15) + L_emb", "metric", "lm_loss",
                       "value") == 2.240);
}

static void test_baselines_reference_points(void **state)
{
    (void)state;
    hx_ref_point *p = NULL;
    size_t n = 0;
    assert_int_equal(hx_baselines_reference("baselines", "mmlu", 5, &p, &n), HX_OK);
    /* 19 models, less the two Mistral NeMo 12B teachers whose training tokens are undisclosed. */
    assert_int_equal(n, 17);
    assert_string_equal(p[0].group, "minitron");
    assert_string_equal(p[n - 1].group, "published");
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) assert_true(strcmp(p[i].model, p[j].model) != 0);
        if (i > 0 && !strcmp(p[i].group, p[i - 1].group)) assert_true(p[i].tokens >= p[i - 1].tokens);
        if (!strcmp(p[i].model, "Minitron-8B")) {
            assert_true(p[i].tokens == 94e9 && p[i].accuracy == 63.8);
            found++;
        }
        if (!strcmp(p[i].model, "Llama-3.1-Minitron-4B-Width")) {
            assert_true(p[i].tokens == 94e9 && p[i].accuracy == 60.5);
            found++;
        }
        if (!strcmp(p[i].model, "Mistral-7B")) {
            assert_true(p[i].tokens == 8e12 && p[i].accuracy == 64.1);
            assert_string_equal(p[i].group, "published");
            found++;
        }
        assert_true(strncmp(p[i].model, "Mistral-NeMo", 12) != 0);
    }
    assert_int_equal(found, 3);
    free(p);
    assert_int_equal(hx_baselines_reference("baselines", "mmlu", 7, &p, &n), HX_EINVAL);
}

/* ---- rendering ---------------------------------------------------------------------------- */

static void assert_file_starts(const char *path, const char *magic, size_t magic_len, const char *contains)
{
    char *text = NULL;
    size_t len = 0;
    if (hx_read_file(path, &text, &len) < 0) fail_msg("missing %s: %s", path, hx_errmsg());
    assert_true(len > 200);
    if (magic) assert_memory_equal(text, magic, magic_len);
    if (contains) assert_non_null(strstr(text, contains));
    free(text);
}

static void assert_figure(const char *stem)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s.png", tmpdir, stem);
    assert_file_starts(p, "\x89PNG\r\n\x1a\n", 8, NULL);
    snprintf(p, sizeof p, "%s/%s.svg", tmpdir, stem);
    assert_file_starts(p, NULL, 0, "<svg");
    snprintf(p, sizeof p, "%s/%s.pdf", tmpdir, stem);
    assert_file_starts(p, "%PDF", 4, NULL);
    snprintf(p, sizeof p, "%s/%s.gnuplot.log", tmpdir, stem);
    assert_int_equal(access(p, F_OK), -1); /* removed on success */
}

static void test_render_every_script(void **state)
{
    (void)state;
    if (!have_gnuplot()) {
        printf("SKIP: gnuplot not installed (Debian package gnuplot-nox); rendering not tested\n");
        return;
    }
    double tok[4] = {0, 1e4, 2e4, 4e4};
    double loss_s[4] = {9.1, 6.0, 5.1, 4.6}, loss_ce[4] = {6.5, 5.2, 4.8, 4.4}, loss_kd[4] = {6.5, 5.0, 4.5, 4.2};
    double lo_kd[4] = {6.4, 4.9, 4.4, 4.1}, hi_kd[4] = {6.6, 5.1, 4.6, 4.3};
    hx_plot_series arms[3] = {{"scratch", 4, tok, loss_s, NULL, NULL},
                              {"prune_ce", 4, tok, loss_ce, NULL, NULL},
                              {"prune_kd", 4, tok, loss_kd, lo_kd, hi_kd}};
    hx_plot_refs lr = {4.0, NAN, "mean over 3 seeds"};
    if (hx_plot_val_loss(tmpdir, "val_loss_vs_tokens", NULL, arms, 3, &lr, HX_PLOT_ALL) < 0) fail_msg("%s", hx_errmsg());
    assert_figure("val_loss_vs_tokens");
    char *tsv = NULL;
    size_t len;
    assert_int_equal(hx_read_file(tmp_path("val_loss_vs_tokens.tsv"), &tsv, &len), HX_OK);
    assert_true(strncmp(tsv, "arm\ttokens\tval_loss\tlo\thi\nscratch\t0\t9.1\t9.1\t9.1", 47) == 0);
    assert_non_null(strstr(tsv, "prune_kd\t40000\t4.2\t4.1\t4.3"));
    free(tsv);
    double fl[4] = {1e9, 2e12, 4e12, 8e12};
    hx_plot_series farms[1] = {{"prune_kd", 4, fl, loss_kd, lo_kd, hi_kd}};
    if (hx_plot_val_loss(tmpdir, "val_loss_vs_flops", "FLOPs", farms, 1, NULL, HX_PLOT_ALL) < 0)
        fail_msg("%s", hx_errmsg());
    assert_figure("val_loss_vs_flops");
    lo_kd[0] = NAN; /* a non-finite band is refused like a non-finite value */
    assert_int_equal(hx_plot_val_loss(tmpdir, "bad", NULL, arms, 3, NULL, HX_PLOT_ALL), HX_EINVAL);

    double acc_s[4] = {25, 27, 29, 30}, acc_kd[4] = {25, 31, 34, 36}, alo[4] = {20, 26, 29, 31}, ahi[4] = {30, 36, 39, 41};
    hx_plot_series acc[2] = {{"scratch", 4, tok, acc_s, NULL, NULL}, {"prune_kd", 4, tok, acc_kd, alo, ahi}};
    double big_tok[2] = {1e10, 9.4e10}, big_acc[2] = {40, 58};
    hx_plot_series ours[1] = {{"prune_kd_4b", 2, big_tok, big_acc, NULL, NULL}};
    hx_plot_refs ar = {38.0, 25.0, "too few items to separate the arms"};
    if (hx_plot_accuracy(tmpdir, NULL, "mini cloze, 0-shot (it's ours)", acc, 2, ours, 1, "baselines", &ar, HX_PLOT_ALL) < 0)
        fail_msg("%s", hx_errmsg());
    assert_figure("accuracy_vs_tokens");

    float heads[4 * 6];
    for (int i = 0; i < 24; i++) heads[i] = (float)(i % 7) * 0.5f;
    if (hx_plot_importance_heads(tmpdir, "importance_heads", "heads 'L2, mean'", heads, 4, 6, HX_PLOT_ALL) < 0)
        fail_msg("%s", hx_errmsg());
    assert_figure("importance_heads");

    double bi[5] = {0.5, 0.1, 0.12, 0.2, 0.6}, dl[5] = {3, 2.2, 2.3, 2.4, 3.5};
    const char *names[2] = {"BI", "val loss when dropped"};
    const double *cols[2] = {bi, dl};
    if (hx_plot_importance_layers(tmpdir, "importance_layers", NULL, names, cols, 2, 5, HX_PLOT_ALL) < 0)
        fail_msg("%s", hx_errmsg());
    assert_figure("importance_layers");

    const char *labels[3] = {"batch=L2 seq=mean", "batch=mean seq=mean", "batch=var seq=var"};
    double vals[3] = {7.18, 7.21, 10.55}, errs[3] = {0.1, 0.2, 0.3};
    if (hx_plot_ablation(tmpdir, "ablation_err", "T11", "LM loss (nats/token)", labels, vals, errs, 3, HX_PLOT_ALL) < 0)
        fail_msg("%s", hx_errmsg());
    assert_figure("ablation_err");
    if (hx_plot_ablation(tmpdir, "ablation", NULL, NULL, labels, vals, NULL, 3, HX_PLOT_ALL) < 0)
        fail_msg("%s", hx_errmsg());
    assert_figure("ablation");
}

static void test_reference_panel(void **state)
{
    (void)state;
    if (!have_gnuplot()) {
        printf("SKIP: gnuplot not installed (Debian package gnuplot-nox); reference panel not tested\n");
        return;
    }
    if (hx_plot_reference_panel("baselines", tmpdir) < 0) fail_msg("%s", hx_errmsg());
    assert_figure("reference_mmlu_vs_tokens");
    char *svg = NULL;
    size_t len;
    assert_int_equal(hx_read_file(tmp_path("reference_mmlu_vs_tokens.svg"), &svg, &len), HX_OK);
    assert_non_null(strstr(svg, "Minitron-8B")); /* legend entries come from baselines/ */
    assert_non_null(strstr(svg, "Mistral-7B"));
    free(svg);
}

static void test_missing_inputs_and_gnuplot(void **state)
{
    (void)state;
    hx_plot_var v[] = {{"data", tmp_path("no_such.tsv"), 1}};
    assert_int_equal(hx_plot_render("val_loss_vs_tokens", v, 1, tmp_path("x"), HX_PLOT_PNG), HX_EIO);
    assert_non_null(strstr(hx_errmsg(), "no_such.tsv"));
    assert_non_null(strstr(hx_errmsg(), "not found"));

    assert_int_equal(hx_plot_render("no_such_script", v, 0, tmp_path("x"), HX_PLOT_PNG), HX_EIO);
    assert_non_null(strstr(hx_errmsg(), "no_such_script.gp"));

    hx_plot_var bad[] = {{"data", "a\nb", 0}};
    assert_int_equal(hx_plot_render("val_loss_vs_tokens", bad, 1, tmp_path("x"), HX_PLOT_PNG), HX_EINVAL);
    hx_plot_var badname[] = {{"da ta", "x", 0}};
    assert_int_equal(hx_plot_render("val_loss_vs_tokens", badname, 1, tmp_path("x"), HX_PLOT_PNG), HX_EINVAL);

    double t[1] = {1}, y[1] = {NAN};
    hx_plot_series s[1] = {{"kd", 1, t, y, NULL, NULL}};
    assert_int_equal(hx_plot_write_series_tsv(tmp_path("s.tsv"), "val_loss", s, 1), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "'kd'"));
    y[0] = 1;
    s[0].name = "prune kd";
    assert_int_equal(hx_plot_write_series_tsv(tmp_path("s.tsv"), "val_loss", s, 1), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "whitespace"));

    /* A missing gnuplot names the package to install. */
    write_text(tmp_path("d.tsv"), "arm\ttokens\tval_loss\na\t1\t2\n");
    hx_plot_var ok[] = {{"data", tmp_path("d.tsv"), 1}};
    setenv("HX_GNUPLOT", "/nonexistent/gnuplot", 1);
    int rc = hx_plot_render("val_loss_vs_tokens", ok, 1, tmp_path("d"), HX_PLOT_PNG);
    unsetenv("HX_GNUPLOT");
    assert_int_equal(rc, HX_EIO);
    assert_non_null(strstr(hx_errmsg(), "gnuplot-nox"));

    if (!have_gnuplot()) {
        printf("SKIP: gnuplot not installed; gnuplot's own error path not tested\n");
        return;
    }
    /* gnuplot's own failure (an input that is not valid data) is reported with its message. */
    write_text(tmp_path("bad.tsv"), "arm\ttokens\tval_loss\n");
    hx_plot_var empty[] = {{"data", tmp_path("bad.tsv"), 1}};
    assert_int_equal(hx_plot_render("val_loss_vs_tokens", empty, 1, tmp_path("bad"), HX_PLOT_PNG), HX_EIO);
    assert_non_null(strstr(hx_errmsg(), "exited with status"));
    assert_non_null(strstr(hx_errmsg(), "bad.gnuplot.log"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_quotes_and_ragged_rows),
        cmocka_unit_test(test_baselines_every_row_sourced),
        cmocka_unit_test(test_baselines_key_values),
        cmocka_unit_test(test_baselines_reference_points),
        cmocka_unit_test(test_render_every_script),
        cmocka_unit_test(test_reference_panel),
        cmocka_unit_test(test_missing_inputs_and_gnuplot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
