/* Tests for harness/data/shard and batch: shard round trips (uint16 and
 * uint32), document boundaries, atomic writes, truncated shards, refusal of a
 * different tokenizer, sampler determinism and exact resume, validation order.
 * Uses fake tokenizer hashes, not a real tokenizer. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "data/batch.h"
#include "data/shard.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char SHA_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char SHA_B[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static char *make_tmpdir(void)
{
    char *d = strdup("/tmp/hx_shard_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static int count_tmp_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static void test_roundtrip_uint16_eos(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hx_boundary_rule rule;
    uint32_t bt;
    assert_int_equal(hx_shard_boundary(999, 0, &rule, &bt), HX_OK);
    assert_int_equal(rule, HX_BOUNDARY_EOS_AFTER);
    assert_int_equal(bt, 999);
    hx_shard_writer *w;
    assert_int_equal(hx_shard_writer_open(dir, "train", SHA_A, 1000, rule, bt, 4, &w), HX_OK);
    const int32_t d1[] = {1, 2, 3}, d2[] = {4, 5};
    assert_int_equal(hx_shard_writer_add(w, d1, 3), HX_OK);
    assert_int_equal(count_tmp_files(dir), 0); /* the first shard just filled and was renamed */
    assert_int_equal(hx_shard_writer_add(w, d2, 2), HX_OK);
    assert_int_equal(hx_shard_writer_add(w, NULL, 0), HX_OK); /* empty document: its EOS only */
    const int32_t bad[] = {7, 1000};
    assert_int_equal(hx_shard_writer_add(w, bad, 2), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "token id 1000 at position 1"));
    uint64_t ns, nt, nd;
    assert_int_equal(hx_shard_writer_close(w, &ns, &nt, &nd), HX_OK);
    assert_int_equal(ns, 2); /* 8 tokens exactly fill two shards; no empty third one */
    assert_int_equal(nt, 8);
    assert_int_equal(nd, 3);
    assert_int_equal(count_tmp_files(dir), 0);
    assert_int_equal(hx_shard_writer_open(dir, "train", SHA_A, 1000, rule, bt, 4, &w), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "train-*.hxs: shards already exist"));

    hx_shard s;
    char *p0 = hx_path_join(dir, "train-00000.hxs");
    assert_int_equal(hx_shard_open(p0, SHA_A, &s), HX_OK);
    assert_int_equal(s.dtype_bytes, 2);
    assert_int_equal(s.n_tokens, 4);
    assert_int_equal(s.n_docs, 1);
    assert_int_equal(s.map_bytes, HX_SHARD_HEADER_BYTES + 4 * 2);
    assert_int_equal(hx_shard_token(&s, 3), 999);
    hx_shard_close(&s);

    hx_dataset d;
    assert_int_equal(hx_dataset_open(dir, SHA_A, &d), HX_OK);
    assert_int_equal(d.n_shards, 2);
    assert_int_equal(d.n_tokens, 8);
    assert_int_equal(d.n_docs, 3);
    int32_t all[8];
    const int32_t want[8] = {1, 2, 3, 999, 4, 5, 999, 999};
    assert_int_equal(hx_dataset_read(&d, 0, 8, all), HX_OK);
    assert_memory_equal(all, want, sizeof want);
    assert_int_equal(hx_dataset_read(&d, 3, 3, all), HX_OK); /* across the shard boundary */
    assert_memory_equal(all, want + 3, 3 * sizeof *all);
    assert_int_equal(hx_dataset_read(&d, 6, 3, all), HX_EINVAL);
    hx_dataset_close(&d);
    free(p0);
    rm_rf(dir);
}

static void test_roundtrip_uint32_bos(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    hx_boundary_rule rule;
    uint32_t bt;
    assert_int_equal(hx_shard_boundary(-1, 99999, &rule, &bt), HX_OK);
    assert_int_equal(rule, HX_BOUNDARY_BOS_BEFORE);
    assert_int_equal(hx_shard_boundary(-1, -1, &rule, &bt), HX_EINVAL);
    assert_int_equal(hx_shard_boundary(-1, 99999, &rule, &bt), HX_OK);
    hx_shard_writer *w;
    assert_int_equal(hx_shard_writer_open(dir, "v", SHA_B, 100000, rule, bt, 1000, &w), HX_OK);
    const int32_t d1[] = {70000, 65536, 0, 65535}, d2[] = {12345};
    assert_int_equal(hx_shard_writer_add(w, d1, 4), HX_OK);
    assert_int_equal(hx_shard_writer_add(w, d2, 1), HX_OK);
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);
    char *pat = hx_path_join(dir, "v-*.hxs");
    hx_dataset d;
    assert_int_equal(hx_dataset_open(pat, NULL, &d), HX_OK);
    assert_int_equal(d.n_shards, 1);
    assert_int_equal(d.shards[0].dtype_bytes, 4);
    assert_int_equal(d.shards[0].map_bytes, HX_SHARD_HEADER_BYTES + 7 * 4);
    assert_int_equal(d.n_docs, 2);
    assert_string_equal(d.shards[0].tokenizer_sha256, SHA_B);
    int32_t all[7];
    const int32_t want[7] = {99999, 70000, 65536, 0, 65535, 99999, 12345};
    assert_int_equal(hx_dataset_read(&d, 0, 7, all), HX_OK);
    assert_memory_equal(all, want, sizeof want);
    hx_dataset_close(&d);
    free(pat);

    /* Nothing added: one valid empty shard. An aborted writer leaves no temp file. */
    assert_int_equal(hx_shard_writer_open(dir, "empty", SHA_B, 10, rule, 1, 5, &w), HX_OK);
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);
    char *pe = hx_path_join(dir, "empty-00000.hxs");
    hx_shard s;
    assert_int_equal(hx_shard_open(pe, SHA_B, &s), HX_OK);
    assert_int_equal(s.n_tokens, 0);
    hx_shard_close(&s);
    assert_int_equal(hx_shard_writer_open(dir, "ab", SHA_B, 10, rule, 1, 5, &w), HX_OK);
    const int32_t d3[] = {2, 3};
    assert_int_equal(hx_shard_writer_add(w, d3, 2), HX_OK);
    assert_int_equal(count_tmp_files(dir), 1);
    hx_shard_writer_abort(w);
    assert_int_equal(count_tmp_files(dir), 0);
    free(pe);
    rm_rf(dir);
}

static void write_shard(const char *dir, const char *prefix, const char *sha, int ntok)
{
    hx_shard_writer *w;
    assert_int_equal(hx_shard_writer_open(dir, prefix, sha, 1000, HX_BOUNDARY_EOS_AFTER, 999, 1u << 20, &w), HX_OK);
    int32_t *ids = malloc(sizeof *ids * (size_t)ntok);
    for (int i = 0; i < ntok; i++) ids[i] = i % 999;
    assert_int_equal(hx_shard_writer_add(w, ids, (size_t)ntok), HX_OK);
    free(ids);
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);
}

static void test_truncated_and_wrong_tokenizer(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    write_shard(dir, "t", SHA_A, 99);
    char *p = hx_path_join(dir, "t-00000.hxs");
    hx_shard s;
    assert_int_equal(hx_shard_open(p, SHA_B, &s), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "t-00000.hxs: made with a different tokenizer"));
    assert_non_null(strstr(hx_errmsg(), SHA_A));
    assert_non_null(strstr(hx_errmsg(), SHA_B));
    hx_dataset d;
    assert_int_equal(hx_dataset_open(dir, SHA_B, &d), HX_EINVAL);

    /* Shards from two tokenizers in one dataset are refused even without an expected hash. */
    write_shard(dir, "u", SHA_B, 10);
    assert_int_equal(hx_dataset_open(dir, NULL, &d), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "differs from"));

    assert_int_equal(truncate(p, HX_SHARD_HEADER_BYTES + 100 * 2 - 3), 0);
    assert_int_equal(hx_shard_open(p, NULL, &s), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "t-00000.hxs: truncated or corrupt shard: header says 100 tokens (328 bytes), file has 325 bytes"));
    assert_int_equal(truncate(p, 50), 0);
    assert_int_equal(hx_shard_open(p, NULL, &s), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "t-00000.hxs: truncated shard: 50 bytes"));
    assert_int_equal(hx_write_file_atomic(p, "NOTASHARD", 9), HX_OK);
    assert_int_equal(truncate(p, 200), 0);
    assert_int_equal(hx_shard_open(p, NULL, &s), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "bad magic"));
    char *none = hx_path_join(dir, "nothing-*.hxs");
    assert_int_equal(hx_dataset_open(none, NULL, &d), HX_EIO);
    assert_non_null(strstr(hx_errmsg(), "nothing-*.hxs"));
    free(none);
    free(p);
    rm_rf(dir);
}

/* A dataset whose stream token at position p is p (0..999), over 10 shards. */
static char *counting_dataset(hx_dataset *d)
{
    char *dir = make_tmpdir();
    hx_shard_writer *w;
    assert_int_equal(hx_shard_writer_open(dir, "c", SHA_A, 1000, HX_BOUNDARY_EOS_AFTER, 999, 100, &w), HX_OK);
    int32_t ids[999];
    for (int i = 0; i < 999; i++) ids[i] = i;
    assert_int_equal(hx_shard_writer_add(w, ids, 999), HX_OK);
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);
    assert_int_equal(hx_dataset_open(dir, SHA_A, d), HX_OK);
    assert_int_equal(d->n_shards, 10);
    return dir;
}

enum { T = 8, B = 4, NW = 999 / T, STEPS = 80 };

/* Runs `steps` batches, checking each row is a window (y = x + 1, start a
 * multiple of T), and records the window index of every row. */
static void run(hx_sampler *s, int steps, uint32_t *starts)
{
    int32_t x[B * T], y[B * T];
    for (int i = 0; i < steps; i++) {
        assert_int_equal(hx_sampler_next(s, x, y), HX_OK);
        for (int b = 0; b < B; b++) {
            assert_int_equal(x[b * T] % T, 0);
            for (int t = 0; t < T; t++) {
                assert_int_equal(x[b * T + t], x[b * T] + t);
                assert_int_equal(y[b * T + t], x[b * T] + t + 1);
            }
            starts[i * B + b] = (uint32_t)(x[b * T] / T);
        }
    }
}

static void test_sampler_determinism_and_epochs(void **state)
{
    (void)state;
    hx_dataset d;
    char *dir = counting_dataset(&d);
    assert_int_equal(hx_batch_windows(&d, T), NW);
    hx_sampler a, b;
    assert_int_equal(hx_sampler_init(&a, &d, T, B, 7), HX_OK);
    assert_int_equal(hx_sampler_init(&b, &d, T, B, 7), HX_OK);
    static uint32_t wa[STEPS * B], wb[STEPS * B];
    run(&a, STEPS, wa);
    run(&b, STEPS, wb);
    assert_memory_equal(wa, wb, sizeof wa);
    /* Each epoch is a permutation of all windows, not in stream order. */
    int seen[NW] = {0}, in_order = 0;
    for (int i = 0; i < NW; i++) {
        seen[wa[i]]++;
        in_order += wa[i] == (uint32_t)i;
    }
    for (int i = 0; i < NW; i++) assert_int_equal(seen[i], 1);
    assert_true(in_order < NW / 4);
    /* The next epoch draws a different order. */
    assert_true(memcmp(wa, wa + NW, 16 * sizeof *wa) != 0);
    assert_int_equal(a.epoch, (STEPS * B) / NW);
    assert_int_equal(a.position, (STEPS * B) % NW);
    hx_sampler_free(&b);
    assert_int_equal(hx_sampler_init(&b, &d, T, B, 8), HX_OK);
    run(&b, STEPS, wb);
    assert_true(memcmp(wa, wb, sizeof wa) != 0);
    hx_sampler_free(&a);
    hx_sampler_free(&b);
    hx_dataset tiny = d;
    tiny.n_tokens = T; /* T tokens: no window of T + 1 */
    assert_int_equal(hx_sampler_init(&a, &tiny, T, B, 1), HX_EINVAL);
    hx_dataset_close(&d);
    rm_rf(dir);
}

static void test_sampler_resume(void **state)
{
    (void)state;
    hx_dataset d;
    char *dir = counting_dataset(&d);
    static uint32_t full[STEPS * B], part[STEPS * B];
    hx_sampler s;
    assert_int_equal(hx_sampler_init(&s, &d, T, B, 99), HX_OK);
    run(&s, STEPS, full);
    hx_sampler_free(&s);
    /* Save after 20 batches (mid-epoch 0) and after 40 (mid-epoch 1); resume from each. */
    const int cut[] = {20, 40};
    for (int c = 0; c < 2; c++) {
        assert_int_equal(hx_sampler_init(&s, &d, T, B, 99), HX_OK);
        run(&s, cut[c], part);
        uint64_t epoch = s.epoch, pos = s.position;
        assert_int_equal(epoch, (uint64_t)(cut[c] * B / NW));
        hx_sampler_free(&s);
        hx_sampler r;
        assert_int_equal(hx_sampler_init(&r, &d, T, B, 99), HX_OK);
        assert_int_equal(hx_sampler_restore(&r, epoch, pos), HX_OK);
        run(&r, STEPS - cut[c], part);
        assert_memory_equal(part, full + cut[c] * B, (size_t)(STEPS - cut[c]) * B * sizeof *part);
        assert_int_equal(hx_sampler_restore(&r, 0, NW), HX_EINVAL);
        hx_sampler_free(&r);
    }
    hx_dataset_close(&d);
    rm_rf(dir);
}

static void test_validation_order(void **state)
{
    (void)state;
    hx_dataset d;
    char *dir = counting_dataset(&d);
    uint64_t n = hx_val_batches(&d, T, B);
    assert_int_equal(n, NW / B);
    int32_t x[B * T], y[B * T], x2[B * T], y2[B * T];
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(hx_val_batch(&d, T, B, i, x, y), HX_OK);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                assert_int_equal(x[b * T + t], (int)((i * B + b) * T + t));
                assert_int_equal(y[b * T + t], x[b * T + t] + 1);
            }
    }
    assert_int_equal(hx_val_batch(&d, T, B, 3, x, y), HX_OK);
    assert_int_equal(hx_val_batch(&d, T, B, 3, x2, y2), HX_OK);
    assert_memory_equal(x, x2, sizeof x);
    assert_int_equal(hx_val_batch(&d, T, B, n, x, y), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "the set has 31 batches"));
    hx_dataset_close(&d);
    rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_uint16_eos),
        cmocka_unit_test(test_roundtrip_uint32_bos),
        cmocka_unit_test(test_truncated_and_wrong_tokenizer),
        cmocka_unit_test(test_sampler_determinism_and_epochs),
        cmocka_unit_test(test_sampler_resume),
        cmocka_unit_test(test_validation_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
