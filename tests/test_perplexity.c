/* Tests for sliding-window perplexity: one window equals a plain forward pass,
 * every token is scored exactly once for any stride, BOS handling, word and
 * byte counts as lm-eval counts them. */
#include "test_util.h"

#include "core/err.h"
#include "cpu/ops.h"
#include "eval/perplexity.h"
#include "model/forward.h"
#include "model/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hx_model model;
static hx_tokenizer *tok;
static const char *TEXT = "In the beginning God created the heaven and the earth. And the earth was without form, "
                          "and void; and darkness was upon the face of the deep.";

static int setup(void **state)
{
    (void)state;
    if (hx_model_load("tests/fixtures/eval/model", &model) != HX_OK) return -1;
    return hx_tokenizer_load("tests/fixtures/tokenizer/llama3.json", &tok) == HX_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hx_model_free(&model);
    hx_tokenizer_free(tok);
    return 0;
}

static void test_word_count_like_python(void **state)
{
    (void)state;
    assert_int_equal(hx_word_count("a b", 3), 2);
    assert_int_equal(hx_word_count(" a  b\n", 6), 4); /* ['', 'a', 'b', ''] */
    assert_int_equal(hx_word_count("", 0), 1);       /* [''] */
}

/* A window covering the whole document gives the loss of one forward pass. */
static void test_single_window_equals_forward(void **state)
{
    (void)state;
    int32_t *ids;
    size_t n;
    assert_int_equal(hx_tokenizer_encode(tok, TEXT, strlen(TEXT), 0, &ids, &n), HX_OK);
    int bos = hx_tokenizer_bos_id(tok);
    hx_workspace ws;
    int T = (int)n;
    assert_int_equal(hx_workspace_alloc(&ws, &model.cfg, 1, T, HX_WS_INFER), HX_OK);
    int32_t *in = malloc(sizeof(int32_t) * n), *tg = malloc(sizeof(int32_t) * n);
    in[0] = bos;
    memcpy(in + 1, ids, sizeof(int32_t) * (n - 1));
    memcpy(tg, ids, sizeof(int32_t) * n);
    assert_int_equal(hx_forward(&model, &ws, in, NULL), HX_OK);
    double want = 0;
    assert_int_equal(hx_cross_entropy(ws.logits, tg, T, model.cfg.vocab_size, HX_IGNORE_INDEX, 1.0, NULL, &want), HX_OK);
    hx_ppl_sums s = {0};
    hx_ppl_opts o = {T, 0, 1};
    assert_int_equal(hx_ppl_text(&model, tok, TEXT, strlen(TEXT), &o, &s), HX_OK);
    assert_int_equal(s.tokens, (long)n);
    assert_true(fabs(s.nll - want) < 1e-6 * want);
    hx_ppl_metrics r = hx_ppl_finish(&s);
    assert_true(fabs(r.perplexity - exp(want / n)) < 1e-9 * r.perplexity);
    assert_true(fabs(r.bits_per_byte - want / strlen(TEXT) / log(2.0)) < 1e-12);
    assert_int_equal(s.words, 27);
    assert_true(fabs(r.word_perplexity - exp(want / 27)) < 1e-9 * r.word_perplexity);
    hx_workspace_free(&ws);
    free(in);
    free(tg);
    free(ids);
}

/* Every stride scores each token once; more context (smaller stride) gives a
 * different, finite loss; without BOS the first token is not scored. */
static void test_strides_score_every_token_once(void **state)
{
    (void)state;
    int32_t *ids;
    size_t n;
    assert_int_equal(hx_tokenizer_encode(tok, TEXT, strlen(TEXT), 0, &ids, &n), HX_OK);
    int strides[] = {8, 4, 1};
    double nll[3];
    for (int k = 0; k < 3; k++) {
        hx_ppl_sums s = {0};
        hx_ppl_opts o = {8, strides[k], 1};
        assert_int_equal(hx_ppl_tokens(&model, ids, (long)n, hx_tokenizer_bos_id(tok), &o, &s), HX_OK);
        assert_int_equal(s.tokens, (long)n);
        assert_true(isfinite(s.nll) && s.nll > 0);
        nll[k] = s.nll;
    }
    assert_true(fabs(nll[0] - nll[1]) > 1e-6);
    hx_ppl_sums s = {0};
    hx_ppl_opts o = {8, 8, 0};
    assert_int_equal(hx_ppl_tokens(&model, ids, (long)n, -1, &o, &s), HX_OK);
    assert_int_equal(s.tokens, (long)n - 1);
    hx_ppl_opts bad = {4, 8, 1};
    assert_int_equal(hx_ppl_tokens(&model, ids, (long)n, -1, &bad, &s), HX_EINVAL);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_word_count_like_python),
        cmocka_unit_test(test_single_window_equals_forward),
        cmocka_unit_test(test_strides_score_every_token_once),
    };
    return cmocka_run_group_tests_name("perplexity", tests, setup, teardown);
}
