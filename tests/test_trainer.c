/* Tests for harness/train/trainer: exact token budget with gradient
 * accumulation, loss going down, HDF5 rows, and bit-exact resume:
 * 20 steps in one go == 10 steps + stop + resume + 10 steps, bit for bit
 * (losses, weights, optimizer state). */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/shard.h"
#include "exp/h5log.h"
#include "model/weights.h"
#include "train/ckpt.h"
#include "train/trainer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char tmpdir[64];
static char train_spec[128], val_spec[128];

static hx_config tiny_config(void)
{
    hx_config c = {0};
    strcpy(c.model_type, "llama");
    c.vocab_size = 32;
    c.hidden_size = 16;
    c.intermediate_size = 32;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.num_key_value_heads = 1;
    c.head_dim = 8;
    c.max_position_embeddings = 64;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000;
    c.bos_token_id = -1;
    c.eos_token_id = 0;
    return c;
}

/* Documents with a learnable pattern (counting up mod 31, from a random start). */
static void write_shards(const char *dir, uint64_t seed, int docs)
{
    hx_shard_writer *w;
    char sha[65];
    memset(sha, '0', 64);
    sha[64] = '\0';
    assert_int_equal(hx_shard_writer_open(dir, "part", sha, 32, HX_BOUNDARY_EOS_AFTER, 0, 4096, &w), HX_OK);
    hx_rng r;
    hx_rng_seed(&r, seed);
    int32_t ids[64];
    for (int d = 0; d < docs; d++) {
        int n = 20 + (int)hx_rng_below(&r, 40), s = (int)hx_rng_below(&r, 31);
        for (int i = 0; i < n; i++) ids[i] = 1 + (s + i) % 31;
        assert_int_equal(hx_shard_writer_add(w, ids, (size_t)n), HX_OK);
    }
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);
}

static hx_train_config base_config(const char *name)
{
    static char ck[4][160], lg[4][160];
    static int k;
    int i = k++ & 3;
    snprintf(ck[i], sizeof ck[i], "%s/%s/ckpt", tmpdir, name);
    snprintf(lg[i], sizeof lg[i], "%s/%s.h5", tmpdir, name);
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
    assert_int_equal(nb, 4); /* every 320 tokens: 320, 640, 960, 1280 */
    assert_true(ev[0] == 320 && ev[3] == 1280);
    free(ev);
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

/* bin/harness train end to end: random init from a config.json, val loss, log, checkpoint. */
static void test_cli(void **state)
{
    (void)state;
    const char *harness = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cfg_path[128], cmd[1024];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", tmpdir);
    hx_config cfg = tiny_config();
    assert_int_equal(hx_config_save(cfg_path, &cfg), HX_OK);
    snprintf(cmd, sizeof cmd,
             "%s train --config %s --train %s --val %s --tokens 256 --seq-len 16 --micro-batch 2 --grad-accum 2 "
             "--lr 1e-2 --warmup 1 --ckpt-dir %s/cli/ckpt --log %s/cli.h5 --arm cli 2>&1",
             harness, cfg_path, train_spec, val_spec, tmpdir, tmpdir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512], last[512] = "";
    while (fgets(line, sizeof line, p)) snprintf(last, sizeof last, "%s", line);
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(last, "trained 4 steps, 256 tokens (0 skipped steps)"));
    assert_non_null(strstr(last, "val loss"));
    snprintf(cmd, sizeof cmd, "%s/cli/ckpt/step-00000004/COMPLETE", tmpdir);
    FILE *f = fopen(cmd, "r");
    assert_non_null(f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s train --train x --tokens 1 >/dev/null 2>&1", harness);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2); /* neither --config nor --init-from */
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hx_trainer_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(train_spec, sizeof train_spec, "%s/train", tmpdir);
    snprintf(val_spec, sizeof val_spec, "%s/val", tmpdir);
    write_shards(train_spec, 1, 120);
    write_shards(val_spec, 2, 10);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    hx_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bit_exact_resume),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
