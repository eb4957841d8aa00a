/* Tests for `harness tokenize` (run as a program through $HX_HARNESS): the
 * embedded validation corpus becomes shards whose token stream is exactly
 * each document's encoding followed by EOS, independent of the thread count,
 * and refused by a different tokenizer. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "data/ingest.h"
#include "data/shard.h"
#include "data/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOK "tests/fixtures/tokenizer/llama3.json"
#define VALID "data/corpus-valid.jsonl.zst"

static void test_tokenize_embedded_valid(void **state)
{
    (void)state;
    const char *harness = getenv("HX_HARNESS");
    if (!harness || access(harness, X_OK) != 0) {
        printf("SKIP: HX_HARNESS not set or not executable; tokenize CLI not tested\n");
        return;
    }
    char dir[] = "/tmp/hx_tokenize_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[1024];
    for (int threads = 1; threads <= 2; threads++) {
        snprintf(cmd, sizeof cmd,
                 "HX_THREADS=%d %s tokenize --tokenizer " TOK " --out %s/t%d --prefix valid --shard-tokens 20000 " VALID
                 " > %s/out%d.txt",
                 threads, harness, dir, threads, dir, threads);
        assert_int_equal(system(cmd), 0);
    }
    char *out_path = hx_path_join(dir, "out1.txt"), *out;
    assert_int_equal(hx_read_file(out_path, &out, NULL), HX_OK);
    assert_non_null(strstr(out, "tokenize: 105 documents"));

    hx_tokenizer *t;
    assert_int_equal(hx_tokenizer_load(TOK, &t), HX_OK);
    int eos = hx_tokenizer_eos_id(t);
    assert_true(eos >= 0);
    char *t1 = hx_path_join(dir, "t1"), *t2 = hx_path_join(dir, "t2");
    hx_dataset d1, d2;
    assert_int_equal(hx_dataset_open(t1, hx_tokenizer_sha256(t), &d1), HX_OK);
    assert_int_equal(hx_dataset_open(t2, hx_tokenizer_sha256(t), &d2), HX_OK);
    assert_int_equal(d1.n_docs, 105);
    assert_true(d1.n_shards > 1);
    /* Same shards, byte for byte, with 1 and 2 threads. */
    assert_int_equal(d1.n_shards, d2.n_shards);
    for (size_t i = 0; i < d1.n_shards; i++) {
        assert_int_equal(d1.shards[i].map_bytes, d2.shards[i].map_bytes);
        assert_memory_equal(d1.shards[i].map, d2.shards[i].map, d1.shards[i].map_bytes);
    }
    /* The stream is each document's encoding, then EOS, in corpus order. */
    const char *paths[] = {VALID};
    hx_ingest *it;
    assert_int_equal(hx_ingest_open(paths, 1, NULL, &it), HX_OK);
    hx_doc doc;
    uint64_t pos = 0;
    int r;
    while ((r = hx_ingest_next(it, &doc)) == 1) {
        int32_t *ids, *got;
        size_t n;
        assert_int_equal(hx_tokenizer_encode(t, doc.text, doc.len, 0, &ids, &n), HX_OK);
        got = malloc((n + 1) * sizeof *got);
        assert_int_equal(hx_dataset_read(&d1, pos, n + 1, got), HX_OK);
        assert_memory_equal(got, ids, n * sizeof *ids);
        assert_int_equal(got[n], eos);
        pos += n + 1;
        free(ids);
        free(got);
    }
    assert_int_equal(r, 0);
    assert_int_equal(pos, d1.n_tokens);
    hx_ingest_close(it);

    /* A different tokenizer is refused. */
    hx_tokenizer *other;
    hx_dataset d3;
    assert_int_equal(hx_tokenizer_load("tests/fixtures/tokenizer/gpt2.json", &other), HX_OK);
    assert_int_equal(hx_dataset_open(t1, hx_tokenizer_sha256(other), &d3), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "made with a different tokenizer"));
    hx_tokenizer_free(other);

    hx_dataset_close(&d1);
    hx_dataset_close(&d2);
    hx_tokenizer_free(t);
    free(out);
    free(out_path);
    free(t1);
    free(t2);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenize_embedded_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
