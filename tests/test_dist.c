/* Data parallelism on the CPU: `mpirun -np 2 bin/harness train` (one thread
 * per rank) against a single process with the same global batch -- final
 * weights and the logged loss curve --, ZeRO-1 against plain data
 * parallelism, resuming a 2-rank run with 1 rank and the reverse, a killed
 * rank ending the job (no hang) and the run resuming. Not bitwise: the
 * ranks' gradient sums are added in another order than one process's
 * micro-batch loop, and ZeRO-1 sums the squared norm per shard, so the
 * comparisons allow 1e-6 relative over 16 steps (measured: ~6e-8); a killed
 * 2-rank run resumes bit for bit to an uninterrupted 2-rank run. Skipped without mpirun
 * (Debian package openmpi-bin). Open MPI refuses root without its two
 * OMPI_ALLOW_RUN_AS_ROOT variables, set here for the test only. */
#include "test_util.h"
#include "core/err.h"
#include "core/util.h"
#include "log/h5log.h"
#include "model/weights.h"

#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char cfg[300], train[300], val[300], harness[300];

/* mpirun with 2 ranks. Under a sanitizer build the ranks' leak check is off: Open MPI unloads its
 * plugins at MPI_Finalize, and the buffers they keep then show as leaks from unknown modules that no
 * suppression can name; AddressSanitizer's other checks stay on, and single-process runs keep theirs. */
#define MPIRUN "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 mpirun --oversubscribe -np 2"

static int have_mpirun(void) { return system("command -v mpirun >/dev/null 2>&1") == 0; }

/* Runs `bin/harness train` with the common arguments, np ranks (0: no mpirun). */
static int train_run(int np, const char *ckpt, const char *extra)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s%s train --config %s --train %s --val %s --tokens 1024 --seq-len 16 --micro-batch 2 --grad-accum 2 "
             "--lr 1e-2 --warmup 1 --ckpt-dir %s/%s --log %s/%s.h5 %s >%s/%s.out 2>&1",
             np ? MPIRUN " " : "", harness, cfg, train, val, hx_tmpdir, ckpt, hx_tmpdir, ckpt,
             extra, hx_tmpdir, ckpt);
    int st = system(cmd), code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    if (code != 0) { /* show why (expected for the refusals the tests provoke) */
        snprintf(cmd, sizeof cmd, "tail -n 5 %s/%s.out", hx_tmpdir, ckpt);
        if (system(cmd) != 0) printf("(no output file)\n");
    }
    return code;
}

/* max |a - b| / max |a| over the weights of two checkpoints <tmp>/<a>/step-<s>. */
static double weight_diff(const char *a, const char *b, int step)
{
    char pa[400], pb[400];
    snprintf(pa, sizeof pa, "%s/%s/step-%08d", hx_tmpdir, a, step);
    snprintf(pb, sizeof pb, "%s/%s/step-%08d", hx_tmpdir, b, step);
    hx_model ma, mb;
    if (hx_model_load(pa, &ma) < 0) fail_msg("%s", hx_errmsg());
    if (hx_model_load(pb, &mb) < 0) fail_msg("%s", hx_errmsg());
    assert_int_equal(ma.n_floats, mb.n_floats);
    double d = 0, m = 0;
    for (size_t i = 0; i < ma.n_floats; i++) {
        assert_true(isfinite(mb.data[i]));
        d = fmax(d, fabs((double)ma.data[i] - mb.data[i]));
        m = fmax(m, fabs((double)ma.data[i]));
    }
    hx_model_free(&ma);
    hx_model_free(&mb);
    printf("NOTE: %s vs %s: max relative weight difference %.2e\n", a, b, d / m);
    return d / m;
}

/* max relative difference of the logged training loss curves. */
static double loss_diff(const char *a, const char *b)
{
    double *la = NULL, *lb = NULL, d = 0;
    int64_t na = 0, nb = 0;
    const char *names[2] = {a, b};
    double **cols[2] = {&la, &lb};
    int64_t *ns[2] = {&na, &nb};
    for (int k = 0; k < 2; k++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s.h5", hx_tmpdir, names[k]);
        hx_h5log *log;
        assert_int_equal(hx_h5log_open(path, HX_H5LOG_APPEND, &log), HX_OK);
        assert_int_equal(hx_h5log_read_column(log, "arms/train/train", "loss", cols[k], ns[k]), HX_OK);
        hx_h5log_close(log);
    }
    assert_int_equal(na, nb);
    for (int64_t i = 0; i < na; i++) d = fmax(d, fabs(la[i] - lb[i]) / fabs(la[i]));
    free(la), free(lb);
    return d;
}

static void test_two_ranks_match_one(void **state)
{
    (void)state;
    if (!have_mpirun()) {
        printf("SKIP: mpirun not installed (Debian package openmpi-bin)\n");
        return;
    }
    assert_int_equal(train_run(0, "one", ""), 0);
    assert_int_equal(train_run(2, "zero1", ""), 0);
    assert_int_equal(train_run(2, "plain", "--no-zero1"), 0);
    assert_true(weight_diff("one", "zero1", 16) < 1e-6);
    assert_true(weight_diff("zero1", "plain", 16) < 1e-6);
    /* checkpoints: ZeRO-1 writes one optimizer shard per rank and a manifest, plain data parallelism one file */
    static const char *const files[][2] = {{"zero1", "optimizer.json"}, {"zero1", "optimizer-0-of-2.safetensors"},
                                           {"zero1", "optimizer-1-of-2.safetensors"}, {"plain", "optimizer.safetensors"}};
    for (int i = 0; i < 4; i++) {
        char f[500];
        snprintf(f, sizeof f, "%s/%s/step-00000016/%s", hx_tmpdir, files[i][0], files[i][1]);
        assert_int_equal(access(f, R_OK), 0);
    }
    char f[500];
    snprintf(f, sizeof f, "%s/zero1/step-00000016/optimizer.safetensors", hx_tmpdir);
    assert_int_equal(access(f, F_OK), -1);
    /* the piecewise path of the shard collectives (MPI counts are int): 100-element pieces, same weights */
    setenv("HX_MPI_PIECE", "100", 1);
    assert_int_equal(train_run(2, "pieces", ""), 0);
    unsetenv("HX_MPI_PIECE");
    assert_true(weight_diff("zero1", "pieces", 16) == 0);
    assert_true(loss_diff("one", "zero1") < 1e-6);
    /* rank 0 alone speaks and logs */
    char path[400], *out = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/zero1.out", hx_tmpdir);
    assert_int_equal(hx_read_file(path, &out, &len), HX_OK);
    char *first = strstr(out, "trained 16 steps");
    assert_non_null(first);
    assert_null(strstr(first + 1, "trained 16 steps"));
    free(out);
    /* resume across world sizes: 2 ranks stop at step 8, 1 rank finishes; and the reverse */
    assert_int_equal(train_run(2, "two_then_one", "--stop-after 8"), 0);
    assert_int_equal(train_run(0, "two_then_one", "--resume"), 0);
    assert_true(weight_diff("one", "two_then_one", 16) < 1e-6);
    assert_int_equal(train_run(0, "one_then_two", "--stop-after 8"), 0);
    assert_int_equal(train_run(2, "one_then_two", "--resume"), 0);
    assert_true(weight_diff("one", "one_then_two", 16) < 1e-6);
    /* each rank needs an equal share of every global batch */
    assert_int_equal(train_run(2, "odd", "--grad-accum 3"), 1);
    snprintf(path, sizeof path, "%s/odd.out", hx_tmpdir);
    assert_int_equal(hx_read_file(path, &out, &len), HX_OK);
    assert_non_null(strstr(out, "multiple of the rank count"));
    free(out);
}

/* Importance over 2 ranks: each takes every other calibration batch and the
 * raw sums (sums of v and v^2, sample counts, Block Importance and loss sums)
 * are added over ranks, so mean, L2 and variance aggregations come out as in
 * one process (1e-9 relative: only the order of the additions differs). */
static void test_importance_two_ranks(void **state)
{
    (void)state;
    if (!have_mpirun()) {
        printf("SKIP: mpirun not installed (Debian package openmpi-bin)\n");
        return;
    }
    assert_int_equal(train_run(0, "imp_model", ""), 0);
    const char *aggs[2] = {"--batch-agg l2 --seq-agg mean", "--batch-agg var --seq-agg l2"};
    for (int k = 0; k < 2; k++) {
        char cmd[2048];
        for (int np = 0; np < 2; np++) {
            snprintf(cmd, sizeof cmd,
                     "%s%s importance --model %s/imp_model/step-00000016 --data %s --samples 12 --seq-len 16 "
                     "--micro-batch 2 %s --depth ppl --out %s/imp%d_%d.h5 >%s/imp%d_%d.out 2>&1",
                     np ? MPIRUN " " : "", harness, hx_tmpdir, train, aggs[k], hx_tmpdir, np, k,
                     hx_tmpdir, np, k);
            assert_int_equal(system(cmd), 0);
        }
        static const char *const sets[] = {"importance/head", "importance/neuron", "importance/channel",
                                           "importance/layer", "importance/bi"};
        for (int i = 0; i < 5; i++) {
            double *a = NULL, *b = NULL, d = 0, m = 0;
            int nd;
            int64_t da[8], db[8];
            char pa[400], pb[400];
            snprintf(pa, sizeof pa, "%s/imp0_%d.h5", hx_tmpdir, k);
            snprintf(pb, sizeof pb, "%s/imp1_%d.h5", hx_tmpdir, k);
            hx_h5log *la, *lb;
            assert_int_equal(hx_h5log_open(pa, HX_H5LOG_APPEND, &la), HX_OK);
            assert_int_equal(hx_h5log_open(pb, HX_H5LOG_APPEND, &lb), HX_OK);
            if (hx_h5log_read_array(la, sets[i], HX_H5_F64, (void **)&a, &nd, da) < 0) fail_msg("%s", hx_errmsg());
            if (hx_h5log_read_array(lb, sets[i], HX_H5_F64, (void **)&b, &nd, db) < 0) fail_msg("%s", hx_errmsg());
            int64_t n = 1;
            for (int j = 0; j < nd; j++) n *= da[j];
            for (int64_t j = 0; j < n; j++) {
                assert_true(isfinite(b[j]));
                d = fmax(d, fabs(a[j] - b[j]));
                m = fmax(m, fabs(a[j]));
            }
            printf("NOTE: importance %s (%s): 2 ranks vs 1, max relative difference %.1e\n", sets[i], aggs[k], d / m);
            assert_true(d <= 1e-9 * m);
            free(a), free(b);
            hx_h5log_close(la), hx_h5log_close(lb);
        }
    }
}

/* Evaluation over 2 ranks: each scores its share of the requests, the
 * log-likelihoods are gathered, and the accuracies equal one process's. */
static void test_eval_two_ranks(void **state)
{
    (void)state;
    if (!have_mpirun()) {
        printf("SKIP: mpirun not installed (Debian package openmpi-bin)\n");
        return;
    }
    char out[2][4096];
    for (int np = 0; np < 2; np++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 "%s%s eval --model tests/fixtures/eval/model --tokenizer tests/fixtures/tokenizer/llama3.json "
                 "--task arc=arc:tests/fixtures/eval/arc.jsonl --task mm=mmlu:tests/fixtures/eval/mmlu.jsonl:1:3 "
                 "--batch 2 2>/dev/null",
                 np ? MPIRUN " " : "", harness);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        size_t n = fread(out[np], 1, sizeof out[np] - 1, p);
        out[np][n] = 0;
        assert_int_equal(pclose(p), 0);
        char *t = strstr(out[np], "evaluated in"); /* the timing line differs */
        if (t) *t = 0;
    }
    assert_non_null(strstr(out[0], "arc"));
    assert_string_equal(out[0], out[1]); /* one report, the same numbers */
}

/* `harness run` on a manifest: 2 ranks against 1 process, the same global
 * batches (tests/fixtures/pipeline/dist.yaml: grad_accum 2). The runner of
 * rank 1 keeps its own outputs under .rank1 and reads rank 0's checkpoints;
 * rank 0 writes the results. Importance scores, loss curves agree to 1e-5
 * and final weights to 1e-4 relative: the rounding differences of
 * the tests above (1e-7) compound through the teacher's training, the
 * pruning of that teacher and distillation from it (measured: 8.6e-6). */
static void test_manifest_two_ranks(void **state)
{
    (void)state;
    if (!have_mpirun()) {
        printf("SKIP: mpirun not installed (Debian package openmpi-bin)\n");
        return;
    }
    char cmd[2048];
    for (int np = 0; np < 2; np++) {
        snprintf(cmd, sizeof cmd, "HX_TEST_OUT=%s/run%d %s%s run tests/fixtures/pipeline/dist.yaml >%s/run%d.out 2>&1",
                 hx_tmpdir, np, np ? MPIRUN " " : "", harness, hx_tmpdir, np);
        if (system(cmd) != 0) {
            snprintf(cmd, sizeof cmd, "tail -n 20 %s/run%d.out", hx_tmpdir, np);
            if (system(cmd) != 0) printf("(no output)\n");
            fail();
        }
    }
    /* the final weights of the distilled arm (keep_last 1: one checkpoint, step 2 of 2x2x32 tokens) */
    assert_true(weight_diff("run0/dist/checkpoints/prune_kd", "run1/dist/checkpoints/prune_kd", 2) < 1e-4);
    char pa[400], pb[400];
    snprintf(pa, sizeof pa, "%s/run0/dist/dist.h5", hx_tmpdir);
    snprintf(pb, sizeof pb, "%s/run1/dist/dist.h5", hx_tmpdir);
    hx_h5log *la, *lb;
    assert_int_equal(hx_h5log_open(pa, HX_H5LOG_APPEND, &la), HX_OK);
    assert_int_equal(hx_h5log_open(pb, HX_H5LOG_APPEND, &lb), HX_OK);
    static const char *const sets[] = {"importance/head", "importance/neuron", "importance/channel"};
    for (int i = 0; i < 3; i++) {
        double *a = NULL, *b = NULL, d = 0, m = 0;
        int nd;
        int64_t da[8], db[8], n = 1;
        if (hx_h5log_read_array(la, sets[i], HX_H5_F64, (void **)&a, &nd, da) < 0) fail_msg("%s", hx_errmsg());
        if (hx_h5log_read_array(lb, sets[i], HX_H5_F64, (void **)&b, &nd, db) < 0) fail_msg("%s", hx_errmsg());
        for (int j = 0; j < nd; j++) n *= da[j];
        for (int64_t j = 0; j < n; j++) d = fmax(d, fabs(a[j] - b[j])), m = fmax(m, fabs(a[j]));
        printf("NOTE: manifest, 2 ranks vs 1: %s within %.1e relative\n", sets[i], d / m);
        assert_true(d <= 1e-5 * m); /* of a teacher trained by 2 ranks vs 1 (test_importance_two_ranks: same model) */
        free(a), free(b);
    }
    static const char *const arms[] = {"teacher", "scratch", "prune_ce", "prune_kd"};
    for (int i = 0; i < 4; i++) {
        char table[128];
        snprintf(table, sizeof table, "arms/%s/train", arms[i]);
        double *a = NULL, *b = NULL, d = 0;
        int64_t na = 0, nb = 0;
        assert_int_equal(hx_h5log_read_column(la, table, "loss", &a, &na), HX_OK);
        assert_int_equal(hx_h5log_read_column(lb, table, "loss", &b, &nb), HX_OK);
        assert_int_equal(na, nb);
        for (int64_t j = 0; j < na; j++) d = fmax(d, fabs(a[j] - b[j]) / fabs(a[j]));
        printf("NOTE: manifest, 2 ranks vs 1: %s loss curve within %.1e relative\n", arms[i], d);
        assert_true(d < 1e-5);
        free(a), free(b);
    }
    hx_h5log_close(la);
    hx_h5log_close(lb);
}

/* A rank killed mid-run ends the job with a non-zero status in bounded time,
 * and the run resumes from its last complete checkpoint to the same weights. */
static void test_killed_rank(void **state)
{
    (void)state;
    if (!have_mpirun()) {
        printf("SKIP: mpirun not installed (Debian package openmpi-bin)\n");
        return;
    }
    char cmd[2048], done[400];
    snprintf(done, sizeof done, "%s/killed.rc", hx_tmpdir);
    snprintf(cmd, sizeof cmd,
             "(" MPIRUN " %s train --config %s --train %s --val %s --tokens 65536 --seq-len 16 "
             "--micro-batch 2 --grad-accum 2 --lr 1e-2 --warmup 1 --ckpt-dir %s/killed --ckpt-every 4 >%s/killed.out "
             "2>&1; echo $? >%s) &",
             harness, cfg, train, val, hx_tmpdir, hx_tmpdir, done);
    assert_int_equal(system(cmd), 0);
    char pat[400]; /* any complete checkpoint (keep_last removes the older ones) */
    snprintf(pat, sizeof pat, "%s/killed/step-*/COMPLETE", hx_tmpdir);
    int found = 0;
    for (int i = 0; i < 600 && !found; i++) {
        glob_t g;
        found = glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0;
        globfree(&g);
        if (!found) usleep(20000);
    }
    assert_true(found);
    /* the newest process whose command line starts with the harness: one rank (not mpirun, not this shell) */
    snprintf(cmd, sizeof cmd, "pkill -9 -n -f '^%s train .*ckpt-dir %s/killed'", harness, hx_tmpdir);
    assert_int_equal(system(cmd), 0);
    int waited = 0;
    for (; waited < 1200 && access(done, F_OK) != 0; waited++) usleep(50000);
    assert_int_equal(access(done, F_OK), 0); /* the job ended: no hang */
    char *rc = NULL;
    size_t len;
    assert_int_equal(hx_read_file(done, &rc, &len), HX_OK);
    assert_true(atoi(rc) != 0);
    printf("NOTE: killed rank: mpirun exited with status %d after %.1f s\n", atoi(rc), waited * 0.05);
    free(rc);
    /* resume with 2 ranks to the end, against an uninterrupted 2-rank run: the same bits (with two ranks every
     * sum is a + b, whatever the order; a killed run resumes bit for bit) */
    snprintf(cmd, sizeof cmd,
             MPIRUN " %s train --config %s --train %s --val %s --tokens 65536 --seq-len 16 "
             "--micro-batch 2 --grad-accum 2 --lr 1e-2 --warmup 1 --ckpt-dir %s/killed --ckpt-every 4 --resume "
             ">%s/resumed.out 2>&1",
             harness, cfg, train, val, hx_tmpdir, hx_tmpdir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             MPIRUN " %s train --config %s --train %s --val %s --tokens 65536 --seq-len 16 "
             "--micro-batch 2 --grad-accum 2 --lr 1e-2 --warmup 1 --ckpt-dir %s/straight >%s/straight.out 2>&1",
             harness, cfg, train, val, hx_tmpdir, hx_tmpdir);
    assert_int_equal(system(cmd), 0);
    assert_true(weight_diff("straight", "killed", 1024) == 0);
}

static int setup(void **state)
{
    if (hx_tmp_setup(state) != 0) return -1;
    snprintf(train, sizeof train, "%s/train", hx_tmpdir);
    snprintf(val, sizeof val, "%s/val", hx_tmpdir);
    snprintf(cfg, sizeof cfg, "%s/config.json", hx_tmpdir);
    hx_test_write_counting_shards(train, 1, 120);
    hx_test_write_counting_shards(val, 2, 10);
    const char *text = "{\"model_type\":\"llama\",\"vocab_size\":32,\"hidden_size\":16,\"intermediate_size\":32,"
                       "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,\"head_dim\":4,"
                       "\"max_position_embeddings\":64,\"rms_norm_eps\":1e-5,\"rope_theta\":10000,"
                       "\"tie_word_embeddings\":false}";
    if (hx_write_file_atomic(cfg, text, strlen(text)) < 0) return -1;
    const char *h = getenv("HX_HARNESS");
    if (!h || !*h) h = "bin/harness";
    if (!realpath(h, harness)) snprintf(harness, sizeof harness, "%s", h);
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("HX_THREADS", "1", 1); /* one thread per rank */
    setenv("OMP_NUM_THREADS", "1", 1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_ranks_match_one),
        cmocka_unit_test(test_importance_two_ranks),
        cmocka_unit_test(test_eval_two_ranks),
        cmocka_unit_test(test_manifest_two_ranks),
        cmocka_unit_test(test_killed_rank),
    };
    return cmocka_run_group_tests(tests, setup, hx_tmp_teardown);
}
