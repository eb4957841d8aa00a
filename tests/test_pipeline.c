/* The whole pipeline on a tiny teacher (tests/fixtures/pipeline/tiny.yaml,
 * a miniature of experiments/minitron-mini.yaml): `harness run` end to end,
 * the HDF5 layout it leaves, summary.md, the plots, refusal to overwrite,
 * --resume, and `harness plot` redrawing from the HDF5 file alone; then the
 * optional stages of tests/fixtures/pipeline/tiny-extras.yaml. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "log/h5log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char out[64];

static const char *harness(void) { return getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness"; }

/* Runs a command, returns its exit code and keeps its output in buf. */
static int run(const char *args, char *buf, size_t len)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "HX_TEST_OUT=%s %s %s 2>&1", out, harness(), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = 0;
    buf[0] = '\0';
    while (n + 1 < len && fgets(buf + n, (int)(len - n), p)) n += strlen(buf + n);
    int st = pclose(p);
    return WEXITSTATUS(st);
}

static void assert_file_magic(const char *path, const char *magic)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char head[16] = {0};
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    assert_true(n >= strlen(magic));
    assert_non_null(memmem(head, n, magic, strlen(magic)));
}

static int64_t rows_of(hx_h5log *log, const char *table)
{
    int64_t n = -1;
    assert_int_equal(hx_h5log_rows(log, table, &n), HX_OK);
    return n;
}

static void test_run_tiny_pipeline(void **state)
{
    (void)state;
    static char buf[1 << 16];
    int rc = run("run tests/fixtures/pipeline/tiny.yaml", buf, sizeof buf);
    if (rc != 0) printf("%s\n", buf);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(buf, "run: done"));

    char h5[128];
    snprintf(h5, sizeof h5, "%s/tiny/tiny.h5", out);
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(h5, HX_H5LOG_APPEND, &log), HX_OK);
    /* Every arm logs under arms/<arm>/; students: eval at 0, 128, 256 tokens; 2 optimizer steps. */
    const char *students[] = {"scratch", "prune_ce", "prune_kd", "random_kd", "depth_kd"};
    for (int i = 0; i < 5; i++) {
        char t[128];
        snprintf(t, sizeof t, "arms/%s/eval", students[i]);
        assert_int_equal(rows_of(log, t), 3);
        snprintf(t, sizeof t, "arms/%s/train", students[i]);
        assert_int_equal(rows_of(log, t), 2);
    }
    assert_int_equal(rows_of(log, "arms/teacher/train"), 8); /* 1024 tokens / (4 x 32) */
    double *kd;
    int64_t n;
    assert_int_equal(hx_h5log_read_column(log, "arms/prune_kd/train", "loss_kd", &kd, &n), HX_OK);
    assert_true(kd[0] > 0 && kd[0] < 1.0); /* a pruned student starts close to its teacher */
    free(kd);
    /* importance/ and prune/ beside the arms. */
    int64_t dims[8];
    int nd;
    double *a;
    assert_int_equal(hx_h5log_read_array(log, "importance/head", HX_H5_F64, (void **)&a, &nd, dims), HX_OK);
    assert_true(nd == 2 && dims[0] == 4 && dims[1] == 4);
    free(a);
    assert_int_equal(hx_h5log_read_array(log, "prune/prune_ce/keep_heads", HX_H5_F64, (void **)&a, &nd, dims), HX_OK);
    assert_true(nd == 2 && dims[0] == 4 && dims[1] == 2);
    for (int l = 0; l < 4; l++) /* one query head kept in each KV group of 2 */
        for (int g = 0; g < 2; g++) assert_int_equal((int)a[l * 2 + g] / 2, g);
    free(a);
    assert_int_equal(hx_h5log_read_array(log, "prune/depth_kd/keep_layers", HX_H5_F64, (void **)&a, &nd, dims), HX_OK);
    assert_int_equal(dims[0], 2);
    double *rm;
    assert_int_equal(hx_h5log_read_array(log, "prune/depth_kd/removed_layers", HX_H5_F64, (void **)&rm, &nd, dims),
                     HX_OK);
    assert_int_equal(dims[0], 2); /* the removed ones are exactly the layers not kept */
    for (int i = 0; i < 2; i++) assert_true(rm[i] != a[0] && rm[i] != a[1] && rm[i] >= 0 && rm[i] < 4);
    free(rm);
    free(a);
    assert_int_equal(hx_h5log_read_array(log, "prune/prune_ce/removed_layers", HX_H5_F64, (void **)&rm, &nd, dims),
                     HX_OK);
    assert_int_equal(dims[0], 0); /* width pruning removes no layer */
    free(rm);
    char *s = NULL;
    const char *attrs[] = {"manifest_sha256", "git_commit", "start_time", "end_time", "hdf5_version"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(hx_h5log_get_attr_str(log, "/", attrs[i], &s), HX_OK);
        assert_true(strlen(s) > 0);
        free(s);
    }
    /* Run-level attributes come from the runner alone: the arms' trainers
     * did not mark this fresh run as resumed. */
    s = NULL;
    assert_true(hx_h5log_get_attr_str(log, "/", "resume_time", &s) < 0);
    hx_clearerr();
    /* Task accuracy at every eval point, with its settings recorded. */
    double *acc;
    assert_int_equal(hx_h5log_read_column(log, "arms/prune_kd/eval", "corpus_mc.acc_norm", &acc, &n), HX_OK);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) assert_true(acc[i] >= 0.0 && acc[i] <= 1.0 && acc[i] * 8 == (int)(acc[i] * 8));
    free(acc);
    assert_int_equal(hx_h5log_get_attr_str(log, "arms/prune_kd/eval", "corpus_mc.sha256", &s), HX_OK);
    assert_int_equal(strlen(s), 64);
    free(s);
    assert_int_equal(hx_h5log_get_attr_str(log, "arms/prune_kd", "kd_loss", &s), HX_OK);
    assert_string_equal(s, "forward_kl");
    free(s);
    hx_h5log_close(log);

    /* summary.md and the figures. */
    char path[256], *text;
    size_t len;
    snprintf(path, sizeof path, "%s/tiny/summary.md", out);
    assert_int_equal(hx_read_file(path, &text, &len), HX_OK);
    for (int i = 0; i < 5; i++) {
        char row[64];
        snprintf(row, sizeof row, "| %s | %s |", students[i], students[i]);
        assert_non_null(strstr(text, row));
    }
    assert_non_null(strstr(text, "Paper's ordering"));
    assert_non_null(strstr(text, "corpus_mc acc_norm"));
    free(text);
    const char *figs[] = {"val_loss_vs_tokens", "accuracy_vs_tokens", "importance_heads", "importance_layers",
                          "final_val_loss"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/tiny/plots/%s.png", out, figs[i]);
        assert_file_magic(path, "PNG");
        snprintf(path, sizeof path, "%s/tiny/plots/%s.pdf", out, figs[i]);
        assert_file_magic(path, "%PDF");
        snprintf(path, sizeof path, "%s/tiny/plots/%s.svg", out, figs[i]);
        assert_int_equal(hx_read_file(path, &text, &len), HX_OK);
        assert_non_null(strstr(text, "<svg"));
        free(text);
    }

    /* The results are not overwritten without --resume; --resume finds every arm done. */
    assert_int_equal(run("run tests/fixtures/pipeline/tiny.yaml", buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "--resume continues that run"));
    assert_int_equal(run("run tests/fixtures/pipeline/tiny.yaml --resume", buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "prune_kd: already trained (256 tokens)"));
    assert_non_null(strstr(buf, "data: train shards reused"));

    /* `harness plot` redraws the figures from the HDF5 file alone. */
    snprintf(path, sizeof path, "%s/tiny/plots", out);
    assert_int_equal(hx_rm_rf(path), HX_OK);
    snprintf(path, sizeof path, "plot %s/tiny", out);
    assert_int_equal(run(path, buf, sizeof buf), 0);
    snprintf(path, sizeof path, "%s/tiny/plots/val_loss_vs_tokens.png", out);
    assert_file_magic(path, "PNG");
}

/* Writes a copy of tests/fixtures/pipeline/tiny.yaml with its name, seed,
 * training data (when `train`) and results folder ${HX_TEST_OUT}/`dir` (when
 * `dir`) replaced, only the teacher arm, and (with `root`) every repository
 * path made absolute under `root`, to `path`. */
static void write_variant(const char *path, const char *name, int seed, const char *train, const char *root,
                          const char *dir)
{
    char *text;
    size_t len;
    assert_int_equal(hx_read_file("tests/fixtures/pipeline/tiny.yaml", &text, &len), HX_OK);
    char *arms = strstr(text, "arms:\n"), *ev = strstr(text, "eval:\n");
    assert_true(arms && ev);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (const char *line = text; line < text + len;) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (!strncmp(line, "name:", 5)) fprintf(f, "name: %s\n", name);
        else if (!strncmp(line, "seed:", 5)) fprintf(f, "seed: %d\n", seed);
        else if (train && !strncmp(line, "  train: data/", 14)) fprintf(f, "  train: %s\n", train);
        else if (dir && !strncmp(line, "  dir: ", 7)) fprintf(f, "  dir: ${HX_TEST_OUT}/%s\n", dir);
        else if (line == arms) fputs("arms:\n  - {name: teacher, kind: teacher}\n", f), line = ev, n = 0;
        else if (root && strstr(line, " data/") && strstr(line, " data/") < nl) {
            const char *d = strstr(line, " data/");
            fprintf(f, "%.*s %s/%.*s", (int)(d - line), line, root, (int)(n - (size_t)(d + 1 - line)), d + 1);
        } else fwrite(line, 1, n, f);
        line += n;
    }
    fclose(f);
    free(text);
}

/* Defect 5: run from another directory, the harness finds its own
 * resources (baselines/, plots/) from its executable; a harness without them
 * is refused before any work. */
static void test_run_from_elsewhere(void **state)
{
    (void)state;
    static char buf[1 << 16];
    char root[4096], exe[4096], m[160], args[8400];
    assert_non_null(getcwd(root, sizeof root));
    assert_non_null(realpath(harness(), exe));
    snprintf(m, sizeof m, "%s/elsewhere.yaml", out);
    write_variant(m, "elsewhere", 7, NULL, root, "else");
    snprintf(args, sizeof args, "cd %s && HX_TEST_OUT=%s %s run %s 2>&1", out, out, exe, m);
    FILE *p = popen(args, "r");
    assert_non_null(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = 0;
    int st = pclose(p);
    if (WEXITSTATUS(st) != 0) fail_msg("%s", buf);
    snprintf(args, sizeof args, "%s/else/plots/accuracy_vs_tokens.png", out);
    assert_file_magic(args, "PNG");
    /* A copy of the executable away from the checkout, run elsewhere: refused up front. */
    snprintf(args, sizeof args, "mkdir -p %s/bin && cp %s %s/bin/ && cd %s && HX_TEST_OUT=%s %s/bin/%s run %s --fresh 2>&1",
             out, exe, out, out, out, out, strrchr(exe, '/') + 1, m);
    p = popen(args, "r");
    assert_non_null(p);
    n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = 0;
    st = pclose(p);
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_non_null(strstr(buf, "were not found"));
    assert_null(strstr(buf, "training"));
}

/* Defect 14: a results folder holds one experiment, and --resume reuses an
 * artifact only when its inputs are unchanged (runs after the tiny pipeline,
 * whose folder ${HX_TEST_OUT}/tiny it reuses). */
static void test_rerun_refusals(void **state)
{
    (void)state;
    static char buf[1 << 16];
    char m[160], args[256];
    /* Another seed and name, same outputs.dir: refused before any work, with or without --resume. */
    snprintf(m, sizeof m, "%s/seed8.yaml", out);
    write_variant(m, "tiny_seed8", 8, NULL, NULL, NULL);
    for (int resume = 0; resume < 2; resume++) {
        snprintf(args, sizeof args, "run %s%s", m, resume ? " --resume" : "");
        assert_int_equal(run(args, buf, sizeof buf), 1);
        assert_non_null(strstr(buf, "holds the results of another experiment"));
        assert_null(strstr(buf, "teacher: training"));
    }
    /* Same name, other seed: the folder holds results; without --resume or --fresh it is refused. */
    write_variant(m, "tiny", 8, NULL, NULL, NULL);
    snprintf(args, sizeof args, "run %s", m);
    assert_int_equal(run(args, buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "--resume continues that run, --fresh deletes"));

    /* Training data edited in place (same name, same size): under --resume
     * the teacher's results are refused, --fresh retrains. */
    char data[160];
    snprintf(data, sizeof data, "%s/own-train.jsonl", out);
    char line[] = "{\"text\": \"In the beginning was the word, and the word was with the harness.\"}\n";
    FILE *f = fopen(data, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++) fputs(line, f);
    fclose(f);
    snprintf(m, sizeof m, "%s/own.yaml", out);
    write_variant(m, "own", 7, data, NULL, "own");
    snprintf(args, sizeof args, "run %s", m);
    assert_int_equal(run(args, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "teacher: training 1024 tokens"));
    f = fopen(data, "r+");
    assert_non_null(f);
    fseek(f, 30 * (long)strlen(line) + 14, SEEK_SET);
    fputs("WORD", f); /* same size, other text */
    fclose(f);
    snprintf(args, sizeof args, "run %s --resume", m);
    assert_int_equal(run(args, buf, sizeof buf), 1);
    if (!strstr(buf, "arms/teacher was made from other inputs")) fail_msg("%s", buf);
    assert_null(strstr(buf, "already trained"));
    snprintf(args, sizeof args, "run %s --fresh", m);
    assert_int_equal(run(args, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "deleting the previous results"));
    assert_non_null(strstr(buf, "teacher: training 1024 tokens"));
}

static double *col(hx_h5log *log, const char *table, const char *name, int64_t *n)
{
    double *c = NULL;
    if (hx_h5log_read_column(log, table, name, &c, n) != HX_OK) fail_msg("%s/%s: %s", table, name, hx_errmsg());
    return c;
}

static char *attr_str(hx_h5log *log, const char *obj, const char *name)
{
    char *s = NULL;
    if (hx_h5log_get_attr_str(log, obj, name, &s) != HX_OK) fail_msg("%s@%s: %s", obj, name, hx_errmsg());
    return s;
}

/* The optional stages (tests/fixtures/pipeline/tiny-extras.yaml): teacher
 * correction, iterative_kd with T = 2, an L_is arm and a param_budget arm. */
static void test_run_extras(void **state)
{
    (void)state;
    static char buf[1 << 16];
    int rc = run("run tests/fixtures/pipeline/tiny-extras.yaml", buf, sizeof buf);
    if (rc != 0) printf("%s\n", buf);
    assert_int_equal(rc, 0);
    /* same teacher block as tiny.yaml: the uncorrected teacher comes from the shared cache */
    assert_non_null(strstr(buf, "teacher: already trained (1024 tokens)"));
    assert_non_null(strstr(buf, "teacher_correction: training 256 tokens"));
    char h5[160];
    snprintf(h5, sizeof h5, "%s/tiny-extras/tiny-extras.h5", out);
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(h5, HX_H5LOG_APPEND, &log), HX_OK);
    int64_t n;
    /* teacher correction: its own arm; KD arms distil from it, importance stays the original teacher's */
    assert_int_equal(rows_of(log, "arms/teacher_correction/train"), 2);
    char *kdt = attr_str(log, "arms/is_kd", "kd_teacher"), *imp = attr_str(log, "importance", "model");
    assert_string_not_equal(kdt, imp);
    assert_non_null(strstr(kdt, "/cache/teacher-"));
    free(kdt);
    free(imp);
    /* iterative: two rounds of 128 tokens, one cumulative curve */
    double *t = col(log, "arms/iterative/train", "tokens", &n);
    assert_int_equal(n, 2);
    assert_true(t[0] == 128 && t[1] == 256);
    free(t);
    t = col(log, "arms/iterative/eval", "tokens", &n);
    assert_int_equal(n, 4); /* round 0: 0, 128; round 1 (after pruning again): 128, 256 */
    assert_true(t[0] == 0 && t[1] == 128 && t[2] == 128 && t[3] == 256);
    free(t);
    int64_t dims[8];
    int nd;
    double *a;
    assert_int_equal(hx_h5log_read_array(log, "prune/iterative/round0/keep_channels", HX_H5_F64, (void **)&a, &nd, dims),
                     HX_OK);
    assert_int_equal(dims[0], 28); /* 32 -> 28 -> 24 */
    free(a);
    assert_int_equal(hx_h5log_read_array(log, "prune/iterative/round1/keep_channels", HX_H5_F64, (void **)&a, &nd, dims),
                     HX_OK);
    assert_int_equal(dims[0], 24);
    for (int i = 0; i < 24; i++) assert_true(a[i] >= 0 && a[i] < 28); /* indices into round 0's model */
    free(a);
    /* L_is arm: loss_is and alpha columns, pairs as attributes */
    double *is = col(log, "arms/is_kd/train", "loss_is", &n), *al = col(log, "arms/is_kd/train", "alpha", &n);
    double *kd = col(log, "arms/is_kd/train", "loss_kd", &n), *loss = col(log, "arms/is_kd/train", "loss", &n);
    assert_int_equal(n, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(is[i] > 0 && is[i] <= 4); /* two pairs, each 1 - cos in [0, 2] */
        assert_true(al[i] > 0);
        assert_true(fabs(loss[i] - (kd[i] + al[i] * is[i])) < 1e-9 * loss[i]);
    }
    free(is);
    free(al);
    free(kd);
    free(loss);
    char *pairs = attr_str(log, "arms/is_kd", "kd_intermediate");
    assert_string_equal(pairs, "block_output:3->3,mlp_input:1->1");
    free(pairs);
    /* param_budget: the chosen targets are recorded and within the tolerance */
    double budget = 0, params = 0, hidden = 0;
    assert_int_equal(hx_h5log_get_attr_double(log, "prune/budget_kd", "param_budget", &budget), HX_OK);
    assert_int_equal(hx_h5log_get_attr_double(log, "prune/budget_kd", "target_params", &params), HX_OK);
    assert_int_equal(hx_h5log_get_attr_double(log, "prune/budget_kd", "budget_hidden_size", &hidden), HX_OK);
    assert_true(budget == 120000);
    assert_true(params >= 108000 && params <= 132000);
    assert_true(hidden > 0 && hidden < 32);
    hx_h5log_close(log);
    /* --resume: both rounds are found done and nothing is re-logged */
    assert_int_equal(run("run tests/fixtures/pipeline/tiny-extras.yaml --resume", buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "iterative/round1: already trained (128 tokens)"));
    assert_int_equal(hx_h5log_open(h5, HX_H5LOG_APPEND, &log), HX_OK);
    assert_int_equal(rows_of(log, "arms/iterative/eval"), 4);
    hx_h5log_close(log);
}

static int setup(void **state)
{
    (void)state;
    snprintf(out, sizeof out, "/tmp/hx_pipeline_XXXXXX");
    return mkdtemp(out) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return hx_rm_rf(out) == HX_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_run_tiny_pipeline), cmocka_unit_test(test_rerun_refusals),
                                       cmocka_unit_test(test_run_from_elsewhere),
                                       cmocka_unit_test(test_run_extras)};
    return cmocka_run_group_tests_name("pipeline", tests, setup, teardown);
}
