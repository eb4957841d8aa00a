/* Tests of the Minitron helpers around pruning: the HDF5 store of scores
 * (round trip, shape checks), calibration windows, parameter-budget targets,
 * the iterative schedule (NeurIPS T12 numbers), search enumeration with ±p
 * filtering, and a tiny end-to-end architecture search on synthetic shards. */
#include "test_util.h"

#include "bench/bench.h"
#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/batch.h"
#include "data/shard.h"
#include "log/h5log.h"
#include "minitron/calib.h"
#include "minitron/search.h"
#include "model/flops.h"
#include "minitron/store.h"
#include "minitron/targets.h"
#include "model/init.h"
#include "model/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static hx_config tiny(void)
{
    return hx_test_config(32, 16, 32, 2, 2, 1, 8, 0);
}

/* Learnable documents (counting up mod 31) into hx_tmpdir/<name>; returns the dir. */
static const char *write_shards(const char *name, uint64_t seed, int docs)
{
    char *dir = hx_tmp_path(name);
    hx_test_write_counting_shards(dir, seed, docs);
    return dir;
}

static void test_store_roundtrip(void **state)
{
    (void)state;
    hx_config c = tiny();
    hx_importance r = {0};
    assert_int_equal(hx_scores_alloc(&r.scores, &c), HX_OK);
    r.bi = calloc(2, sizeof(double));
    r.loss_drop = calloc(2, sizeof(double));
    r.block_loss = calloc(1, sizeof(double));
    r.n_blocks = 1;
    r.base_loss = 3.25;
    r.tokens = 640;
    for (int i = 0; i < 2 * 32; i++) r.scores.neuron[i] = 0.1 * i + 1e-13; /* float64: not rounded to float32 */
    for (int i = 0; i < 4; i++) r.scores.head[i] = 7 - i;
    for (int i = 0; i < 16; i++) r.scores.channel[i] = i * i;
    r.scores.layer[0] = r.loss_drop[0] = 4.5;
    r.scores.layer[1] = r.loss_drop[1] = 3.75;
    r.bi[0] = 0.25, r.bi[1] = 0.125, r.block_loss[0] = 9.0;
    hx_importance_opts o = hx_importance_defaults();
    o.neuron_post = 1;
    o.depth = HX_DEPTH_BI;
    o.block_len = 2;
    char path[128];
    snprintf(path, sizeof path, "%s/store.h5", hx_tmpdir);
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(path, HX_H5LOG_APPEND, &log), HX_OK);
    hx_importance_meta meta = {"model_dir", "shards", 10, 64, 77};
    assert_int_equal(hx_importance_write(log, "imp2", &r, &o, &meta), HX_OK);
    hx_importance g;
    assert_int_equal(hx_importance_read(log, "imp2", &c, &g), HX_OK);
    assert_memory_equal(g.scores.neuron, r.scores.neuron, 64 * sizeof(double));
    assert_memory_equal(g.scores.head, r.scores.head, 4 * sizeof(double));
    assert_memory_equal(g.scores.channel, r.scores.channel, 16 * sizeof(double));
    assert_memory_equal(g.loss_drop, r.loss_drop, 2 * sizeof(double));
    assert_memory_equal(g.bi, r.bi, 2 * sizeof(double));
    assert_int_equal(g.n_blocks, 1);
    assert_true(g.block_loss[0] == 9.0 && g.base_loss == 3.25 && g.tokens == 640);
    hx_importance_free(&g);
    char *s;
    assert_int_equal(hx_h5log_get_attr_str(log, "imp2", "convention", &s), HX_OK);
    assert_string_equal(s, "modelopt"); /* post-activation neurons and Block Importance */
    free(s);
    assert_int_equal(hx_h5log_get_attr_str(log, "imp2", "batch_agg", &s), HX_OK);
    assert_string_equal(s, "l2");
    free(s);
    double v;
    assert_int_equal(hx_h5log_get_attr_double(log, "imp2", "samples", &v), HX_OK);
    assert_true(v == 10);
    /* Scores of another shape are refused, naming the dataset. */
    hx_config other = c;
    other.intermediate_size = 48;
    assert_int_equal(hx_importance_read(log, "imp2", &other, &g), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "neuron"));
    assert_int_equal(hx_importance_read(log, "missing", &c, &g), HX_EINVAL);
    assert_int_equal(hx_h5log_close(log), HX_OK);
    hx_importance_free(&r);
}

static void test_calib_windows(void **state)
{
    (void)state;
    const char *dir = write_shards("calib", 4, 30);
    hx_dataset d;
    assert_int_equal(hx_dataset_open(dir, NULL, &d), HX_OK);
    const int T = 16, n = 8;
    uint64_t W = hx_batch_windows(&d, T);
    int32_t a[8 * 17], b[8 * 17], c[8 * 17], w[17];
    assert_int_equal(hx_calib_draw(&d, n, T, 5, a), HX_OK);
    assert_int_equal(hx_calib_draw(&d, n, T, 5, b), HX_OK);
    assert_int_equal(hx_calib_draw(&d, n, T, 6, c), HX_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    /* Each sample is a packed grid window, distinct and in stream order. */
    int64_t prev = -1;
    for (int i = 0; i < n; i++) {
        int64_t found = -1;
        for (uint64_t k = 0; k < W && found < 0; k++) {
            assert_int_equal(hx_dataset_read(&d, k * T, T + 1, w), HX_OK);
            if (!memcmp(w, a + i * (T + 1), sizeof w) && (int64_t)k > prev) found = (int64_t)k;
        }
        assert_true(found > prev);
        prev = found;
    }
    /* Asking for every window returns all of them; more is an error. */
    int32_t *all = malloc(sizeof(int32_t) * W * (T + 1));
    assert_int_equal(hx_calib_draw(&d, (int)W, T, 1, all), HX_OK);
    for (uint64_t k = 0; k < W; k++) {
        assert_int_equal(hx_dataset_read(&d, k * T, T + 1, w), HX_OK);
        assert_memory_equal(w, all + k * (T + 1), sizeof w);
    }
    free(all);
    int32_t *more = malloc(sizeof(int32_t) * (W + 1) * (T + 1));
    assert_int_equal(hx_calib_draw(&d, (int)W + 1, T, 1, more), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "fewer than"));
    free(more);
    hx_dataset_close(&d);
}

/* The mini configuration of the benchmarks. */
static hx_config mini(void) { return hx_bench_mini_config(); }

static void test_budget_targets(void **state)
{
    (void)state;
    hx_config src = mini(), want = src;
    want.hidden_size = 192;
    want.intermediate_size = 576;
    hx_prune_targets t = {0};
    /* Exactly the count of a uniform 0.75 shrink: that pair is chosen. */
    assert_int_equal(hx_budget_targets(&src, (int64_t)hx_config_param_count(&want), 0.05, 64, &t), HX_OK);
    assert_int_equal(t.hidden_size, 192);
    assert_int_equal(t.intermediate_size, 576);
    assert_int_equal(t.num_attention_heads, 0); /* heads kept */
    /* hidden fixed: the intermediate size closest to the budget on the grid. */
    hx_prune_targets t2 = {.hidden_size = 256};
    hx_config ref = src;
    ref.intermediate_size = 384;
    int64_t budget = (int64_t)hx_config_param_count(&ref) + 1000;
    assert_int_equal(hx_budget_targets(&src, budget, 0.05, 64, &t2), HX_OK);
    assert_int_equal(t2.hidden_size, 256);
    assert_int_equal(t2.intermediate_size, 384);
    /* Out of reach, or nothing free. */
    hx_prune_targets t3 = {0};
    assert_int_equal(hx_budget_targets(&src, 1000, 0.05, 64, &t3), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "reachable"));
    hx_prune_targets t4 = {.hidden_size = 128, .intermediate_size = 256};
    assert_int_equal(hx_budget_targets(&src, budget, 0.05, 64, &t4), HX_EINVAL);
    /* Rounding helper. */
    assert_int_equal(hx_round_divisor(12629.33, 64, 9216, 14336), 12608);
    assert_int_equal(hx_round_divisor(10922.67, 64, 9216, 14336), 10944);
    assert_int_equal(hx_round_divisor(30, 64, 1, 40), 30); /* no multiple in range */
}

static void test_iterative_schedule(void **state)
{
    (void)state;
    hx_config s = mini(), d;
    s.hidden_size = 4096;
    s.intermediate_size = 14336;
    s.num_attention_heads = 32;
    s.num_key_value_heads = 8;
    s.num_hidden_layers = 32;
    d = s;
    d.hidden_size = 3072;
    d.intermediate_size = 9216;
    d.num_attention_heads = 24;
    d.num_hidden_layers = 16;
    hx_config out[4];
    assert_int_equal(hx_iterative_schedule(&s, &d, 3, 64, out), HX_OK);
    /* d_s - i (d_s - d_t)/3: 3754.67, 3413.33 -> 3776, 3392; 12629.33, 10922.67 -> 12608, 10944;
     * heads 29.33, 26.67 -> multiples of 8: 32, 24; layers 26.67, 21.33 -> 27, 21. */
    const int hid[3] = {3776, 3392, 3072}, ffn[3] = {12608, 10944, 9216}, heads[3] = {32, 24, 24}, lay[3] = {27, 21, 16};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].hidden_size, hid[i]);
        assert_int_equal(out[i].intermediate_size, ffn[i]);
        assert_int_equal(out[i].num_attention_heads, heads[i]);
        assert_int_equal(out[i].num_hidden_layers, lay[i]);
        assert_int_equal(out[i].num_key_value_heads, 8);
        assert_int_equal(out[i].head_dim, 32);
    }
    /* NeurIPS T12: embedding 6144 -> 4096 in T = 4 rounds: 5632, 5120, 4608, 4096. */
    s.hidden_size = 6144;
    d = s;
    d.hidden_size = 4096;
    assert_int_equal(hx_iterative_schedule(&s, &d, 4, 64, out), HX_OK);
    for (int i = 0; i < 4; i++) assert_int_equal(out[i].hidden_size, 6144 - 512 * (i + 1));
    d.hidden_size = 8192;
    assert_int_equal(hx_iterative_schedule(&s, &d, 2, 64, out), HX_EINVAL);
    assert_int_equal(hx_iterative_schedule(&s, &s, 0, 64, out), HX_EINVAL);
}

/* Parameter counts of the tiny space (vocab 32, head_dim 8, 1 KV head, untied):
 * 2*32*D + D + L*(2D + 16*D*H + 16*D + 3*D*F). With budget 2600:
 *   (L,H,F,D) = (2,1,32,8) 2600, (1,2,16,16) 2608, (1,1,16,16) 2352, (2,2,32,8) 2856. */
static const int sp_layers[] = {1, 2}, sp_heads[] = {1, 2}, sp_ffn[] = {16, 32}, sp_hidden[] = {8, 16};

static void test_enumeration(void **state)
{
    (void)state;
    hx_config t = tiny();
    hx_search_space sp = {sp_layers, 2, sp_heads, 2, sp_ffn, 2, sp_hidden, 2};
    hx_search_candidate *c;
    int n;
    const double tols[4] = {0, 0.05, 0.097, 0.10};
    const int counts[4] = {1, 2, 3, 4};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(hx_search_enumerate(&t, &sp, 2600, tols[k], &c, &n), HX_OK);
        assert_int_equal(n, counts[k]);
        for (int i = 0; i < n; i++) {
            assert_true(c[i].params == (int64_t)hx_config_param_count(&c[i].cfg));
            assert_true(fabs((double)c[i].params - 2600) <= 2600 * tols[k]);
        }
        if (k == 3) { /* loop order: layers, heads, intermediate, hidden */
            const int64_t p[4] = {2352, 2608, 2600, 2856};
            for (int i = 0; i < 4; i++) assert_int_equal(c[i].params, p[i]);
            assert_int_equal(c[2].cfg.num_hidden_layers, 2);
            assert_int_equal(c[2].cfg.intermediate_size, 32);
            assert_int_equal(c[2].cfg.hidden_size, 8);
        }
        free(c);
    }
    /* Empty lists mean the teacher's value: only hidden varies. */
    hx_search_space sp2 = {.hidden = sp_hidden, .n_hidden = 2};
    assert_int_equal(hx_search_enumerate(&t, &sp2, 5712, 0.1, &c, &n), HX_OK);
    assert_int_equal(n, 1); /* (2,2,32,16) 5712 in, (2,2,32,8) 2856 out */
    assert_int_equal(c[0].cfg.hidden_size, 16);
    free(c);
    assert_int_equal(hx_search_enumerate(&t, &sp2, 5712, 0.5, &c, &n), HX_OK);
    assert_int_equal(n, 2); /* 2856 = 5712 * 0.5 is on the boundary: inside */
    free(c);
    /* Bad spaces. */
    const int big[] = {64}, odd[] = {3};
    hx_config g = mini();
    hx_search_space bad1 = {.hidden = big, .n_hidden = 1}, bad2 = {.heads = odd, .n_heads = 1};
    assert_int_equal(hx_search_enumerate(&t, &bad1, 2600, 0.05, &c, &n), HX_EINVAL);
    assert_int_equal(hx_search_enumerate(&g, &bad2, 2600, 0.05, &c, &n), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "not a multiple of num_key_value_heads"));
}

static void test_search_end_to_end(void **state)
{
    (void)state;
    hx_config c = tiny();
    hx_model m;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    assert_int_equal(hx_model_init_random(&m, 3), HX_OK);
    char teacher[128], log_path[128], work[128];
    snprintf(teacher, sizeof teacher, "%s/teacher", hx_tmpdir);
    snprintf(log_path, sizeof log_path, "%s/search.h5", hx_tmpdir);
    snprintf(work, sizeof work, "%s/work", hx_tmpdir);
    assert_int_equal(hx_model_save(teacher, &m, HX_DT_F32, 0), HX_OK);
    const char *train = write_shards("train", 1, 80), *val = write_shards("val", 2, 20);
    hx_dataset d;
    assert_int_equal(hx_dataset_open(train, NULL, &d), HX_OK);
    int32_t win[8 * 17];
    assert_int_equal(hx_calib_draw(&d, 8, 16, 1, win), HX_OK);
    hx_dataset_close(&d);
    hx_importance imp;
    hx_importance_opts io = hx_importance_defaults();
    assert_int_equal(hx_importance_run(&m, win, 8, 16, &io, &imp), HX_OK);
    hx_search_space sp = {sp_layers, 2, sp_heads, 2, sp_ffn, 2, sp_hidden, 2};
    hx_search_candidate *cand;
    int n;
    assert_int_equal(hx_search_enumerate(&c, &sp, 2600, 0.097, &cand, &n), HX_OK);
    assert_int_equal(n, 3);
    hx_search_opts o = {.teacher_dir = teacher, .scores = &imp, .work_dir = work, .log_path = log_path, .distill = 1};
    o.train = hx_train_defaults();
    o.train.train_data = train;
    o.train.val_data = val;
    o.train.seq_len = 16;
    o.train.micro_batch = 2;
    o.train.token_budget = 320; /* 10 steps of 32 tokens */
    o.train.eval_every_tokens = 160;
    o.train.eval_batches = 2;
    o.train.schedule.peak_lr = 1e-2;
    o.train.schedule.min_lr = 1e-3;
    o.train.seed = 7;
    o.train.quiet = 1;
    hx_search_result res;
    assert_int_equal(hx_search_run(&o, cand, n, 2600, 0.097, &res), HX_OK);
    assert_int_equal(res.n, 3);
    for (int i = 0; i < 3; i++) assert_true(isfinite(res.val_loss[i]) && res.val_loss[i] > 0);
    for (int i = 1; i < 3; i++) assert_true(res.val_loss[res.ranking[i - 1]] <= res.val_loss[res.ranking[i]]);
    /* The log holds every candidate's curve and the ranking. */
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(log_path, HX_H5LOG_APPEND, &log), HX_OK);
    for (int i = 0; i < 3; i++) {
        char table[64];
        int64_t rows;
        snprintf(table, sizeof table, "arms/search_%d/eval", i);
        assert_int_equal(hx_h5log_rows(log, table, &rows), HX_OK);
        assert_int_equal(rows, 3); /* tokens 0, 160, 320 */
        double *vl;
        int64_t nr;
        assert_int_equal(hx_h5log_read_column(log, table, "val_loss", &vl, &nr), HX_OK);
        assert_true(vl[2] == res.val_loss[i]);
        free(vl);
        snprintf(table, sizeof table, "arms/search_%d/train", i);
        assert_int_equal(hx_h5log_rows(log, table, &rows), HX_OK);
        assert_int_equal(rows, 10);
        double p;
        snprintf(table, sizeof table, "arms/search_%d", i);
        assert_int_equal(hx_h5log_get_attr_double(log, table, "params", &p), HX_OK);
        assert_true(p == (double)cand[i].params);
        double ft, fk, fsum; /* the ledger: 3 forward passes per retrained token (model/flops.h) */
        assert_int_equal(hx_h5log_get_attr_double(log, table, "flops_train", &ft), HX_OK);
        assert_int_equal(hx_h5log_get_attr_double(log, table, "flops_teacher_forward", &fk), HX_OK);
        assert_int_equal(hx_h5log_get_attr_double(log, table, "flops_total", &fsum), HX_OK);
        assert_true(ft > 0 && fsum == ft + fk);
        assert_true(fabs(ft - 3 * hx_flops_forward_per_token(&cand[i].cfg, o.train.seq_len) * (double)o.train.token_budget) <
                    1e-6 * ft);
    }
    void *arr;
    int nd;
    int64_t dims[8];
    assert_int_equal(hx_h5log_read_array(log, "search/ranking", HX_H5_I64, &arr, &nd, dims), HX_OK);
    assert_int_equal(dims[0], 3);
    for (int i = 0; i < 3; i++) assert_int_equal(((int64_t *)arr)[i], res.ranking[i]);
    free(arr);
    assert_int_equal(hx_h5log_read_array(log, "search/candidates", HX_H5_I64, &arr, &nd, dims), HX_OK);
    assert_int_equal(nd, 2);
    assert_int_equal(dims[1], 5);
    assert_int_equal(((int64_t *)arr)[2 * 5 + 0], 2);  /* candidate 2: 2 layers */
    assert_int_equal(((int64_t *)arr)[2 * 5 + 4], 8);  /* hidden 8 */
    free(arr);
    double best;
    assert_int_equal(hx_h5log_get_attr_double(log, "search", "best", &best), HX_OK);
    assert_true(best == res.ranking[0]);
    char *s;
    assert_int_equal(hx_h5log_get_attr_str(log, "search", "retrain", &s), HX_OK);
    assert_string_equal(s, "kd");
    free(s);
    assert_int_equal(hx_h5log_close(log), HX_OK);
    /* Each candidate model on disk has its config. */
    char cfgp[160];
    hx_config rc;
    snprintf(cfgp, sizeof cfgp, "%s/cand_1/config.json", work);
    assert_int_equal(hx_config_load(cfgp, &rc), HX_OK);
    assert_int_equal(rc.hidden_size, cand[1].cfg.hidden_size);
    assert_int_equal(rc.num_attention_heads, cand[1].cfg.num_attention_heads);
    hx_search_result_free(&res);
    free(cand);
    hx_importance_free(&imp);
    hx_model_free(&m);
}

static int setup(void **state)
{
    hx_threads_init();
    return hx_tmp_setup(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_roundtrip),    cmocka_unit_test(test_calib_windows),
        cmocka_unit_test(test_budget_targets),     cmocka_unit_test(test_iterative_schedule),
        cmocka_unit_test(test_enumeration),        cmocka_unit_test(test_search_end_to_end),
    };
    return cmocka_run_group_tests(tests, setup, hx_tmp_teardown);
}
