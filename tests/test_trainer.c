/* Tests for harness/train/trainer: exact token budget with gradient
 * accumulation, loss going down, HDF5 rows, and bit-exact resume:
 * 20 steps in one go == 10 steps + stop + resume + 10 steps, bit for bit
 * (losses, weights, optimizer state). */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/shard.h"
#include "log/h5log.h"
#include "model/weights.h"
#include "model/init.h"
#include "train/ckpt.h"
#include "train/logit_cache.h"
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char train_spec[128], val_spec[128];

static hx_config tiny_config(void)
{
    return hx_test_config(32, 16, 32, 2, 2, 1, 8, 0);
}


static hx_train_config base_config(const char *name)
{
    static char ck[4][160], lg[4][160];
    static int k;
    int i = k++ & 3;
    snprintf(ck[i], sizeof ck[i], "%s/%s/ckpt", hx_tmpdir, name);
    snprintf(lg[i], sizeof lg[i], "%s/%s.h5", hx_tmpdir, name);
    hx_train_config c = hx_train_defaults();
    c.model = tiny_config();
    c.seed = 5;
    c.train_data = train_spec;
    c.val_data = val_spec;
    c.seq_len = 16;
    c.micro_batch = 2;
    c.grad_accum = 2;
    c.token_budget = 20 * 64;
    c.schedule.peak_lr = 1e-2;
    c.schedule.min_lr = 1e-3;
    c.schedule.warmup = 3;
    c.eval_every_tokens = 320;
    c.eval_batches = 2;
    c.ckpt_dir = ck[i];
    c.ckpt_every_steps = 15;
    c.log_path = lg[i];
    c.arm = "student";
    c.quiet = 1;
    return c;
}

static void file_sha(const char *dir, const char *name, char out[65])
{
    char *p = hx_path_join(dir, name);
    assert_int_equal(hx_sha256_file(p, out), HX_OK);
    free(p);
}

static double *column(const char *log_path, const char *table, const char *name, int64_t *n)
{
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(log_path, HX_H5LOG_APPEND, &log), HX_OK);
    double *c;
    assert_int_equal(hx_h5log_read_column(log, table, name, &c, n), HX_OK);
    hx_h5log_close(log);
    return c;
}

/* Every value of every column of `table` is finite. */
static void assert_table_finite(const char *log_path, const char *table, const char *const *cols, int n_cols,
                                int64_t *rows)
{
    for (int i = 0; i < n_cols; i++) {
        int64_t n;
        double *c = column(log_path, table, cols[i], &n);
        for (int64_t r = 0; r < n; r++)
            if (!isfinite(c[r])) fail_msg("%s %s row %lld is %g", table, cols[i], (long long)r, c[r]);
        free(c);
        *rows = n;
    }
}

/* SKIP policy with a learning rate that blows the weights up after step 1:
 * the skipped updates write no row (NaN never enters the train table), and
 * the non-finite validation loss is refused (HX_ENAN naming the step), not
 * logged. */
static void test_nan_skip_logs_no_nan(void **state)
{
    (void)state;
    hx_train_config c = base_config("nanskip");
    c.schedule.peak_lr = c.schedule.min_lr = 1e30;
    c.schedule.warmup = 0;
    c.nan_policy = HX_NAN_SKIP;
    c.eval_every_tokens = 4 * 64;
    c.ckpt_dir = NULL;
    hx_train_result r;
    int rc = hx_train(&c, &r);
    assert_int_equal(rc, HX_ENAN);
    if (!strstr(hx_errmsg(), "step 4: validation loss is ")) fail_msg("%s", hx_errmsg());
    assert_true(strstr(hx_errmsg(), "nan") || strstr(hx_errmsg(), "inf"));
    const char *train_cols[] = {"step", "loss", "loss_ce", "grad_norm", "lr", "skipped_steps"};
    int64_t rows;
    assert_table_finite(c.log_path, "arms/student/train", train_cols, 6, &rows);
    /* The steps before the blow-up have rows; the skipped ones (at least step 4,
     * whose weights give the non-finite validation loss) have none. */
    assert_true(rows >= 1 && rows < 4);
    int64_t n;
    double *step = column(c.log_path, "arms/student/train", "step", &n);
    for (int64_t i = 0; i < n; i++) assert_true(step[i] == (double)(i + 1));
    free(step);
    /* The eval table holds the starting point (step 0) only: step 4's was refused. */
    const char *eval_cols[] = {"step", "val_loss", "perplexity"};
    assert_table_finite(c.log_path, "arms/student/eval", eval_cols, 3, &rows);
    assert_int_equal(rows, 1);
}

static void test_bit_exact_resume(void **state)
{
    (void)state;
    hx_train_result ra, rb;
    hx_train_config a = base_config("one_go");
    assert_int_equal(hx_train(&a, &ra), HX_OK);
    assert_int_equal(ra.steps, 20);
    assert_int_equal(ra.tokens, 1280); /* exactly the budget */

    hx_train_config b = base_config("resumed");
    b.stop_after_steps = 10;
    assert_int_equal(hx_train(&b, &rb), HX_OK);
    assert_int_equal(rb.steps, 10);
    assert_int_equal(rb.tokens, 640);
    b.stop_after_steps = 0;
    b.resume = 1;
    assert_int_equal(hx_train(&b, &rb), HX_OK);
    assert_int_equal(rb.steps, 20);
    assert_int_equal(rb.tokens, 1280);
    assert_true(ra.last_loss == rb.last_loss);
    assert_true(ra.last_val_loss == rb.last_val_loss);

    /* Weights, optimizer state and trainer state of the final checkpoints: identical bytes. */
    char *da, *db;
    int64_t sa, sb;
    assert_int_equal(hx_ckpt_latest(a.ckpt_dir, &da, &sa), 1);
    assert_int_equal(hx_ckpt_latest(b.ckpt_dir, &db, &sb), 1);
    assert_int_equal(sa, 20);
    assert_int_equal(sb, 20);
    const char *files[] = {"model.safetensors", "optimizer.safetensors", "trainer_state.json"};
    for (int i = 0; i < 3; i++) {
        char ha[65], hb[65];
        file_sha(da, files[i], ha);
        file_sha(db, files[i], hb);
        assert_string_equal(ha, hb);
    }
    free(da);
    free(db);

    /* Logged losses: 20 rows each, equal bit for bit, no duplicated or lost row. */
    int64_t na, nb;
    double *la = column(a.log_path, "arms/student/train", "loss", &na);
    double *lb = column(b.log_path, "arms/student/train", "loss", &nb);
    double *steps = column(b.log_path, "arms/student/train", "step", &nb);
    assert_int_equal(na, 20);
    assert_int_equal(nb, 20);
    for (int i = 0; i < 20; i++) {
        assert_true(la[i] == lb[i]);
        assert_true(steps[i] == i + 1);
    }
    /* The pattern is learnable: the loss falls well below log(32) = 3.47. */
    assert_true(la[0] > 3.0 && la[19] < la[0] - 0.5);
    free(la);
    free(lb);
    free(steps);
    double *ev = column(b.log_path, "arms/student/eval", "tokens", &nb);
    assert_int_equal(nb, 5); /* at the start, then every 320 tokens: 0, 320, 640, 960, 1280 */
    assert_true(ev[0] == 0 && ev[1] == 320 && ev[4] == 1280);
    free(ev);

    /* Run-level attributes: only a trainer that owns the run writes them
     * (`harness train` sets run_provenance); under a runner (NULL) the
     * trainer leaves "/" alone, so no start, resume or end time appears. */
    const char *run_attrs[] = {"manifest", "start_time", "resume_time", "end_time"};
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(b.log_path, HX_H5LOG_APPEND, &log), HX_OK);
    for (int i = 0; i < 4; i++) {
        char *v = NULL;
        assert_true(hx_h5log_get_attr_str(log, "/", run_attrs[i], &v) < 0);
    }
    hx_h5log_close(log);
    hx_clearerr();
    hx_train_config own = base_config("owned");
    own.run_provenance = "(test)";
    assert_int_equal(hx_train(&own, &ra), HX_OK);
    assert_int_equal(hx_h5log_open(own.log_path, HX_H5LOG_APPEND, &log), HX_OK);
    for (int i = 0; i < 4; i++) {
        char *v = NULL;
        int rc = hx_h5log_get_attr_str(log, "/", run_attrs[i], &v);
        assert_int_equal(rc == HX_OK, i != 2); /* a fresh run: no resume_time */
        free(v);
    }
    hx_h5log_close(log);
}

/* Killed after logging its first rows but before its first checkpoint: the
 * restarted run (fresh, nothing to resume) logs exactly the rows of a run
 * never killed, the starting-point eval row included once. As a stage of a
 * run owned by its caller (run_provenance NULL) it writes no run-level times. */
static void test_restart_before_first_checkpoint(void **state)
{
    (void)state;
    hx_train_result r;
    hx_train_config c = base_config("restarted");
    c.token_budget = 5 * 64;
    c.stop_after_steps = 2;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    assert_int_equal(hx_rm_rf(c.ckpt_dir), HX_OK); /* as if killed before the checkpoint was committed */
    c.stop_after_steps = 0;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    int64_t n;
    double *ev = column(c.log_path, "arms/student/eval", "tokens", &n);
    assert_int_equal(n, 2); /* at the start, then at 320 (the end) */
    assert_true(ev[0] == 0 && ev[1] == 320);
    free(ev);
    double *steps = column(c.log_path, "arms/student/train", "step", &n);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) assert_true(steps[i] == i + 1);
    free(steps);
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(c.log_path, HX_H5LOG_APPEND, &log), HX_OK);
    const char *times[] = {"start_time", "resume_time", "end_time"};
    for (int i = 0; i < 3; i++) {
        char *v = NULL;
        assert_int_equal(hx_h5log_get_attr_str(log, "/", times[i], &v), HX_EINVAL);
        assert_null(v);
    }
    hx_clearerr();
    hx_h5log_close(log);
}

static void test_config_errors(void **state)
{
    (void)state;
    hx_train_result r;
    hx_train_config c = base_config("bad");
    c.token_budget = 1000; /* not a multiple of 2*16 */
    assert_int_equal(hx_train(&c, &r), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "token_budget"));
    assert_non_null(strstr(hx_errmsg(), "1024"));
    /* A budget that ends mid-step: the last step takes one micro-batch. */
    c = base_config("odd");
    c.token_budget = 5 * 32;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    assert_int_equal(r.steps, 3);
    assert_int_equal(r.tokens, 160);
    /* Resuming with a different seed is refused. */
    c.resume = 1;
    c.seed = 6;
    assert_int_equal(hx_train(&c, &r), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "different seed"));
    c = base_config("none");
    c.resume = 1;
    assert_int_equal(hx_train(&c, &r), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "no complete checkpoint"));
}

/* An eval hook adding one column: the model's first weight times the tokens. */
static int hook_calls;
static int eval_hook(void *ctx, const hx_model *m, int64_t tokens, const char **names, double *values, int max)
{
    (void)ctx;
    (void)m;
    assert_true(max >= 1);
    hook_calls++;
    names[0] = "hook.tokens";
    values[0] = 2.0 * (double)tokens;
    return 1;
}

/* A teacher trained briefly with CE (20 steps), once per run of this suite;
 * returns its final checkpoint directory. */
static const char *trained_teacher(void)
{
    static char teacher[256];
    if (teacher[0]) return teacher;
    hx_train_result r;
    hx_train_config tc = base_config("teacher");
    tc.ckpt_every_steps = 0;
    tc.keep_last = 1;
    assert_int_equal(hx_train(&tc, &r), HX_OK);
    snprintf(teacher, sizeof teacher, "%s/step-00000020", tc.ckpt_dir);
    return teacher;
}

/* Distillation: a student identical to its teacher has zero KL and gets no
 * gradient from it (weights unchanged without decay); a random student's KL
 * falls; a teacher with a padded vocabulary (C07) works and is logged. */
static void test_distillation(void **state)
{
    (void)state;
    hx_train_result r;
    const char *teacher = trained_teacher();

    hx_train_config c = base_config("kd_same");
    c.init_from = teacher;
    c.teacher = teacher;
    c.adamw.weight_decay = 0;
    c.token_budget = 64; /* one step */
    c.schedule.warmup = 0;
    c.ckpt_every_steps = 0;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    int64_t n;
    double *kd = column(c.log_path, "arms/student/train", "loss_kd", &n);
    double *gn = column(c.log_path, "arms/student/train", "grad_norm", &n);
    assert_int_equal(n, 1);
    assert_true(fabs(kd[0]) < 1e-6);
    assert_true(gn[0] < 1e-4);
    free(kd);
    free(gn);

    /* A random student distilled from the teacher: KL goes down. */
    c = base_config("kd_rand");
    c.teacher = teacher;
    c.kd.w_ce = 0.5;
    c.eval_hook = eval_hook;
    hook_calls = 0;
    c.ckpt_every_steps = 0;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    kd = column(c.log_path, "arms/student/train", "loss_kd", &n);
    double *ce = column(c.log_path, "arms/student/train", "loss_ce", &n);
    double *loss = column(c.log_path, "arms/student/train", "loss", &n);
    assert_int_equal(n, 20);
    assert_true(kd[19] < 0.5 * kd[0]);
    assert_true(fabs(loss[5] - (0.5 * ce[5] + kd[5])) < 1e-9 * loss[5]);
    double *hk = column(c.log_path, "arms/student/eval", "hook.tokens", &n);
    assert_int_equal(n, 5); /* same rows as val_loss: 0, 320, ..., 1280 */
    assert_int_equal(hook_calls, 5);
    assert_true(hk[0] == 0 && hk[4] == 2560);
    free(hk);
    free(kd);
    free(ce);
    free(loss);

    /* C07: the teacher's vocabulary padded from 32 to 40 rows. */
    hx_model t, p;
    assert_int_equal(hx_model_load(teacher, &t), HX_OK);
    hx_config pc = t.cfg;
    pc.vocab_size = 40;
    assert_int_equal(hx_model_alloc(&p, &pc), HX_OK);
    hx_param a[64], b[64];
    int na = hx_model_params(&t, a);
    hx_model_params(&p, b);
    for (int i = 0; i < na; i++) memcpy(b[i].data, a[i].data, sizeof(float) * (size_t)a[i].rows * (a[i].cols ? a[i].cols : 1));
    for (int v = 32; v < 40; v++) /* padding rows: large logits that must not matter */
        for (int j = 0; j < pc.hidden_size; j++) p.lm_head[v * pc.hidden_size + j] = 5.0f;
    char padded[256];
    snprintf(padded, sizeof padded, "%s/padded_teacher", hx_tmpdir);
    assert_int_equal(hx_model_save(padded, &p, HX_DT_F32, 0), HX_OK);
    c = base_config("kd_pad");
    c.init_from = teacher;
    c.teacher = padded;
    c.token_budget = 64;
    c.schedule.warmup = 0;
    c.ckpt_every_steps = 0;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    kd = column(c.log_path, "arms/student/train", "loss_kd", &n);
    assert_true(fabs(kd[0]) < 1e-6); /* identical over the shared 32 ids */
    free(kd);
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(c.log_path, HX_H5LOG_APPEND, &log), HX_OK);
    char *policy = NULL;
    assert_int_equal(hx_h5log_get_attr_str(log, "arms/student", "kd_loss", &policy), HX_OK);
    assert_string_equal(policy, "forward_kl");
    free(policy);
    hx_h5log_close(log);
    hx_model_free(&t);
    hx_model_free(&p);
}

/* Intermediate-state distillation (L_is) in the trainer: zero for a student
 * identical to its teacher; falls for a narrower random student (random
 * map); the logged loss is w_ce*CE + KL + alpha*L_is; the pairs are
 * attributes; and resume is bit-exact with the map in the checkpoint. */
static void test_intermediate_kd(void **state)
{
    (void)state;
    hx_train_result r;
    const char *teacher = trained_teacher();
    static hx_kd_pair pairs[] = {{HX_KD_BLOCK_OUTPUT, 0, 0}, {HX_KD_MLP_INPUT, 1, 1}, {HX_KD_BLOCK_OUTPUT, 1, 1}};

    hx_train_config c = base_config("is_same");
    c.init_from = teacher;
    c.teacher = teacher;
    c.kd.intermediate = pairs;
    c.kd.n_intermediate = 3;
    c.kd.alpha = HX_ALPHA_CONST;
    c.kd.alpha_value = 1.0;
    c.token_budget = 64;
    c.schedule.warmup = 0;
    c.ckpt_every_steps = 0;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    int64_t n;
    double *is = column(c.log_path, "arms/student/train", "loss_is", &n);
    double *al = column(c.log_path, "arms/student/train", "alpha", &n);
    assert_int_equal(n, 1);
    assert_true(fabs(is[0]) < 1e-5);
    assert_true(al[0] == 1.0);
    free(is);
    free(al);

    /* A narrower random student (hidden 8 -> teacher 16 through a random map), dynamic alpha. */
    c = base_config("is_rand");
    c.model.hidden_size = 8;
    c.teacher = teacher;
    c.kd.intermediate = pairs;
    c.kd.n_intermediate = 3;
    c.kd.w_ce = 0.5;
    c.ckpt_every_steps = 0;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    is = column(c.log_path, "arms/student/train", "loss_is", &n);
    al = column(c.log_path, "arms/student/train", "alpha", &n);
    double *kd = column(c.log_path, "arms/student/train", "loss_kd", &n);
    double *ce = column(c.log_path, "arms/student/train", "loss_ce", &n);
    double *loss = column(c.log_path, "arms/student/train", "loss", &n);
    assert_int_equal(n, 20);
    printf("L_is %.4f -> %.4f, alpha %.4f -> %.4f, KL %.4f -> %.4f\n", is[0], is[19], al[0], al[19], kd[0], kd[19]);
    assert_true(is[0] > 0.1);
    assert_true(is[19] < 0.7 * is[0]);
    /* micro-batches of one step have similar ratios: alpha near KL / L_is */
    assert_true(fabs(al[0] - kd[0] / is[0]) < 0.2 * al[0]);
    for (int i = 0; i < 20; i++) assert_true(fabs(loss[i] - (0.5 * ce[i] + kd[i] + al[i] * is[i])) < 1e-9 * loss[i]);
    free(is);
    free(al);
    free(kd);
    free(ce);
    free(loss);
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(c.log_path, HX_H5LOG_APPEND, &log), HX_OK);
    char *attr = NULL;
    assert_int_equal(hx_h5log_get_attr_str(log, "arms/student", "kd_intermediate", &attr), HX_OK);
    assert_string_equal(attr, "block_output:0->0,mlp_input:1->1,block_output:1->1");
    free(attr);
    assert_int_equal(hx_h5log_get_attr_str(log, "arms/student", "kd_alpha_mode", &attr), HX_OK);
    assert_string_equal(attr, "dynamic");
    free(attr);
    hx_h5log_close(log);

    /* Bit-exact resume with L_is on: 20 steps == 10 + resume + 10. */
    hx_train_result ra, rb;
    hx_train_config a = base_config("is_one_go");
    a.model.hidden_size = 8;
    a.teacher = teacher;
    a.kd.intermediate = pairs;
    a.kd.n_intermediate = 3;
    a.ckpt_every_steps = 0;
    assert_int_equal(hx_train(&a, &ra), HX_OK);
    hx_train_config b = a;
    b = base_config("is_resumed");
    b.model.hidden_size = 8;
    b.teacher = teacher;
    b.kd.intermediate = pairs;
    b.kd.n_intermediate = 3;
    b.ckpt_every_steps = 0;
    b.stop_after_steps = 10;
    assert_int_equal(hx_train(&b, &rb), HX_OK);
    b.stop_after_steps = 0;
    b.resume = 1;
    assert_int_equal(hx_train(&b, &rb), HX_OK);
    assert_true(ra.last_loss == rb.last_loss);
    char *da, *db;
    int64_t sa, sb;
    assert_int_equal(hx_ckpt_latest(a.ckpt_dir, &da, &sa), 1);
    assert_int_equal(hx_ckpt_latest(b.ckpt_dir, &db, &sb), 1);
    const char *files[] = {"model.safetensors", "optimizer.safetensors", "kd_map.safetensors", "trainer_state.json"};
    for (int i = 0; i < 4; i++) {
        char ha[65], hb[65];
        file_sha(da, files[i], ha);
        file_sha(db, files[i], hb);
        assert_string_equal(ha, hb);
    }
    free(da);
    free(db);
    double *la = column(a.log_path, "arms/student/train", "loss_is", &n);
    double *lb = column(b.log_path, "arms/student/train", "loss_is", &n);
    assert_int_equal(n, 20);
    for (int i = 0; i < 20; i++) assert_true(la[i] == lb[i]);
    free(la);
    free(lb);
}

/* bin/harness train end to end: random init from a config.json, val loss, log, checkpoint. */
static void test_cli(void **state)
{
    (void)state;
    const char *harness = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cfg_path[128], cmd[1024];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", hx_tmpdir);
    hx_config cfg = tiny_config();
    assert_int_equal(hx_config_save(cfg_path, &cfg), HX_OK);
    snprintf(cmd, sizeof cmd,
             "%s train --config %s --train %s --val %s --tokens 256 --seq-len 16 --micro-batch 2 --grad-accum 2 "
             "--lr 1e-2 --warmup 1 --ckpt-dir %s/cli/ckpt --log %s/cli.h5 --arm cli 2>&1",
             harness, cfg_path, train_spec, val_spec, hx_tmpdir, hx_tmpdir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512], last[512] = "";
    while (fgets(line, sizeof line, p)) snprintf(last, sizeof last, "%s", line);
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(last, "trained 4 steps, 256 tokens (0 skipped steps)"));
    assert_non_null(strstr(last, "val loss"));
    snprintf(cmd, sizeof cmd, "%s/cli/ckpt/step-00000004/COMPLETE", hx_tmpdir);
    FILE *f = fopen(cmd, "r");
    assert_non_null(f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s train --train x --tokens 1 >/dev/null 2>&1", harness);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2); /* neither --config nor --init-from */
}

static int setup(void **state)
{
    if (hx_tmp_setup(state) != 0) return -1;
    snprintf(train_spec, sizeof train_spec, "%s/train", hx_tmpdir);
    snprintf(val_spec, sizeof val_spec, "%s/val", hx_tmpdir);
    hx_test_write_counting_shards(train_spec, 1, 120);
    hx_test_write_counting_shards(val_spec, 2, 10);
    return 0;
}

/* The teacher-logit cache (kd.top_k): a second arm with the same seed reads
 * every window from the cache -- shown by pointing it at another teacher and
 * getting bit-identical weights --; the result equals top-k KL without a
 * cache; a cache made with other settings is refused; a damaged record
 * reads as absent. */
static void test_logit_cache(void **state)
{
    (void)state;
    const char *teacher = trained_teacher();
    char cache[300], sha_a[65], sha_b[65], sha_c[65];
    snprintf(cache, sizeof cache, "%s/logit_cache", hx_tmpdir);
    hx_train_result r;
    hx_train_config c = base_config("topk_a");
    c.teacher = teacher;
    c.kd.top_k = 4;
    c.logit_cache = cache;
    c.ckpt_every_steps = 0;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/step-00000020", c.ckpt_dir);
    file_sha(dir, "model.safetensors", sha_a);
    /* the same seed draws the same windows: all cached, so the teacher is never run */
    c = base_config("topk_b");
    c.kd.top_k = 4;
    c.logit_cache = cache;
    c.ckpt_every_steps = 0;
    hx_model other;
    assert_int_equal(hx_model_alloc(&other, &c.model), HX_OK);
    assert_int_equal(hx_model_init_random(&other, 99), HX_OK);
    char other_dir[300];
    snprintf(other_dir, sizeof other_dir, "%s/other_teacher", hx_tmpdir);
    assert_int_equal(hx_model_save(other_dir, &other, HX_DT_F32, 0), HX_OK);
    hx_model_free(&other);
    c.teacher = other_dir;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    snprintf(dir, sizeof dir, "%s/step-00000020", c.ckpt_dir);
    file_sha(dir, "model.safetensors", sha_b);
    assert_string_equal(sha_a, sha_b);
    /* without a cache: the same top-k KL from the teacher's forward at every micro-batch */
    c = base_config("topk_c");
    c.teacher = teacher;
    c.kd.top_k = 4;
    c.ckpt_every_steps = 0;
    assert_int_equal(hx_train(&c, &r), HX_OK);
    snprintf(dir, sizeof dir, "%s/step-00000020", c.ckpt_dir);
    file_sha(dir, "model.safetensors", sha_c);
    assert_string_equal(sha_a, sha_c);
    /* other settings: refused, naming both */
    hx_logit_cache *lc;
    assert_int_equal(hx_logit_cache_open(cache, 16, 8, 1.0, 100, &lc), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "other settings"));
    /* records: put/get, a damaged record reads as absent */
    char fresh[300];
    snprintf(fresh, sizeof fresh, "%s/logit_cache2", hx_tmpdir);
    assert_int_equal(hx_logit_cache_open(fresh, 2, 3, 1.0, 10, &lc), HX_OK);
    int32_t ids[6] = {1, 2, 3, 4, 5, 6}, ids2[6];
    float vals[6] = {9, 8, 7, 6, 5, 4}, lse[2] = {10, 11}, vals2[6], lse2[2];
    assert_int_equal(hx_logit_cache_get(lc, 7, ids2, vals2, lse2), 0);
    assert_int_equal(hx_logit_cache_put(lc, 7, ids, vals, lse), HX_OK);
    assert_int_equal(hx_logit_cache_get(lc, 7, ids2, vals2, lse2), 1);
    assert_memory_equal(ids, ids2, sizeof ids);
    assert_memory_equal(vals, vals2, sizeof vals);
    assert_int_equal(hx_logit_cache_get(lc, 10, ids2, vals2, lse2), HX_EINVAL);
    hx_logit_cache_close(lc);
    char bin[400];
    snprintf(bin, sizeof bin, "%s/topk.bin", fresh);
    FILE *f = fopen(bin, "r+b");
    size_t rec = 8 + 4 * 2 + 8 * 6 + 8;
    fseek(f, (long)(7 * rec + 20), SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    assert_int_equal(hx_logit_cache_open(fresh, 2, 3, 1.0, 10, &lc), HX_OK);
    assert_int_equal(hx_logit_cache_get(lc, 7, ids2, vals2, lse2), 0);
    hx_logit_cache_close(lc);
}

/* The LM head and the losses in chunks of 5 tokens (micro-batches of 32:
 * 7 chunks, the last of 2) against the whole micro-batch, for CE, KD with
 * and without a CE term, and top-k KD: the logged losses and the final
 * validation loss agree to rounding over 5 steps. */
static void test_head_in_chunks(void **state)
{
    (void)state;
    const char *teacher = trained_teacher();
    const char *names[4] = {"chunk_ce", "chunk_kd", "chunk_kd_ce", "chunk_topk"};
    for (int k = 0; k < 4; k++) {
        double *col[2][3], val[2];
        const char *cols[3] = {"loss", "loss_ce", "loss_kd"};
        int64_t n = 0;
        for (int rows = 0; rows < 2; rows++) {
            char name[64];
            snprintf(name, sizeof name, "%s%d", names[k], rows);
            hx_train_config c = base_config(name);
            c.token_budget = 5 * 64;
            c.ckpt_every_steps = 0;
            c.head_rows = rows ? 5 : 0;
            if (k > 0) c.teacher = teacher;
            if (k == 2) c.kd.w_ce = 0.5;
            if (k == 3) c.kd.top_k = 4;
            hx_train_result r;
            assert_int_equal(hx_train(&c, &r), HX_OK);
            val[rows] = r.last_val_loss;
            for (int j = 0; j < 3; j++) col[rows][j] = column(c.log_path, "arms/student/train", cols[j], &n);
            assert_int_equal(n, 5);
        }
        for (int j = 0; j < 3; j++) {
            for (int i = 0; i < 5; i++) assert_true(fabs(col[0][j][i] - col[1][j][i]) <= 1e-5 * fabs(col[0][j][i]) + 1e-9);
            free(col[0][j]), free(col[1][j]);
        }
        assert_true(isfinite(val[0]) && fabs(val[0] - val[1]) <= 1e-5 * val[0]);
    }
}

int main(void)
{
    hx_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_exact_resume),
        cmocka_unit_test(test_restart_before_first_checkpoint),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_distillation),
        cmocka_unit_test(test_intermediate_kd),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_nan_skip_logs_no_nan),
        cmocka_unit_test(test_logit_cache),
        cmocka_unit_test(test_head_in_chunks),
    };
    return cmocka_run_group_tests(tests, setup, hx_tmp_teardown);
}
