/* The multiple-choice scorer against PyTorch/transformers references
 * (tools/make_eval_fixtures.py): per-choice log-likelihoods to 1e-4 and
 * identical acc / acc_norm on hand-made items of every layout; independence
 * from batch size and padding; truncation; field cases C09 and C10. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "eval/loglik.h"
#include "eval/mc_metrics.h"
#include "eval/perplexity.h"
#include "eval/pystr.h"
#include "eval/tasks.h"
#include "model/weights.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX "tests/fixtures/eval/"

static hx_model model;
static hx_tokenizer *tok;
static json_t *ref;

static int setup(void **state)
{
    (void)state;
    json_error_t e;
    ref = json_load_file(FIX "reference.json", 0, &e);
    if (!ref) return -1;
    if (hx_model_load(FIX "model", &model) != HX_OK) return -1;
    return hx_tokenizer_load("tests/fixtures/tokenizer/llama3.json", &tok) == HX_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hx_model_free(&model);
    hx_tokenizer_free(tok);
    json_decref(ref);
    return 0;
}

/* Scores every item of one task file with the given batch size and checks it
 * against the reference; returns the worst |ll - ref|. */
static double check_task(const char *name, hx_task_kind kind, int batch)
{
    char path[256];
    snprintf(path, sizeof path, FIX "%s.jsonl", name);
    hx_task_set ts;
    assert_int_equal(hx_task_load(path, kind, &ts), HX_OK);
    json_t *t = json_object_get(json_object_get(ref, "tasks"), name);
    json_t *items = json_object_get(t, "items");
    assert_int_equal((int)json_array_size(items), ts.n_docs);
    hx_prompt_opts po = {0, 1234, NULL, NULL, NULL};
    hx_ll_opts lo = {1, 0, batch};
    hx_mc_tally tally = {0};
    double worst = 0;
    for (int i = 0; i < ts.n_docs; i++) {
        hx_mc_item it;
        assert_int_equal(hx_task_build_item(&ts, i, &po, &it), HX_OK);
        hx_ll_result res[8];
        double ll[8];
        assert_int_equal(hx_loglik(&model, tok, it.req, it.n_choices, &lo, res), HX_OK);
        json_t *ri = json_array_get(items, (size_t)i);
        for (int c = 0; c < it.n_choices; c++) {
            ll[c] = res[c].ll;
            double want = json_real_value(json_array_get(json_object_get(ri, "ll"), (size_t)c));
            worst = hx_test_worst(worst, fabs(ll[c] - want));
            assert_int_equal(res[c].n_cont, (int)json_integer_value(json_array_get(json_object_get(ri, "n_cont"), (size_t)c)));
            assert_int_equal(res[c].is_greedy,
                             (int)json_integer_value(json_array_get(json_object_get(ri, "is_greedy"), (size_t)c)));
        }
        hx_mc_tally_add(&tally, ll, it.len_chars, it.len_bytes, it.n_choices, it.gold);
        hx_mc_item_free(&it);
    }
    assert_true(fabs(tally.acc / tally.n - json_real_value(json_object_get(t, "acc"))) < 1e-12);
    assert_true(fabs(tally.acc_norm / tally.n - json_real_value(json_object_get(t, "acc_norm"))) < 1e-12);
    hx_task_free(&ts);
    printf("NOTE: %s (batch %d): max |ll - torch| = %.2e\n", name, batch, worst);
    return worst;
}

static void test_matches_torch(void **state)
{
    (void)state;
    const char *names[] = {"hellaswag", "arc", "winogrande", "piqa", "mmlu"};
    hx_task_kind kinds[] = {HX_TASK_HELLASWAG, HX_TASK_ARC, HX_TASK_WINOGRANDE, HX_TASK_PIQA, HX_TASK_MMLU};
    for (int k = 0; k < 5; k++)
        for (int b = 1; b <= 4; b += 3) assert_true(check_task(names[k], kinds[k], b) < 1e-4);
}

/* The same requests scored one at a time and in one padded batch agree. */
static void test_batch_and_padding_independent(void **state)
{
    (void)state;
    hx_ll_request req[4] = {{"Question: Which gas do plants absorb?\nAnswer:", " Carbon dioxide"},
                            {"A", " b"},
                            {"The quick brown fox jumps over the lazy dog again and again", " and again."},
                            {"", "Hello"}};
    hx_ll_result one[4], all[4];
    hx_ll_opts o1 = {1, 0, 1}, o4 = {1, 0, 4};
    assert_int_equal(hx_loglik(&model, tok, req, 4, &o1, one), HX_OK);
    assert_int_equal(hx_loglik(&model, tok, req, 4, &o4, all), HX_OK);
    double worst = 0;
    for (int i = 0; i < 4; i++) worst = hx_test_worst(worst, fabs(one[i].ll - all[i].ll));
    printf("NOTE: batch 1 vs 4 (padded): max |diff| = %.2e\n", worst);
    assert_true(worst < 1e-5);
    assert_true(one[0].ll < 0 && one[3].ll < 0);
}

/* C09: a context ending mid-word; the joint encoding leaves no continuation
 * token, so the continuation is encoded alone, as in the torch reference. */
static void test_c09_join_fallback(void **state)
{
    (void)state;
    json_t *c09 = json_object_get(ref, "c09");
    for (size_t i = 0; i < json_array_size(c09); i++) {
        json_t *r = json_array_get(c09, i);
        hx_ll_request q = {(char *)json_string_value(json_object_get(r, "context")),
                           (char *)json_string_value(json_object_get(r, "continuation"))};
        hx_ll_result res;
        hx_ll_opts o = {1, 0, 1};
        assert_int_equal(hx_loglik(&model, tok, &q, 1, &o, &res), HX_OK);
        assert_int_equal(res.split_fallback, (int)json_integer_value(json_object_get(r, "fallback")));
        assert_true(res.n_cont >= 1);
        assert_true(fabs(res.ll - json_real_value(json_object_get(r, "ll"))) < 1e-4);
    }
}

/* C10: the tokenizer's post-processor already adds BOS; asked to add BOS, the
 * scorer still starts with exactly one. */
static void test_c10_single_bos(void **state)
{
    (void)state;
    assert_int_equal(hx_tokenizer_adds_bos(tok), 1);
    int bos = hx_tokenizer_bos_id(tok);
    hx_ll_request q = {"In the beginning", " God"};
    int32_t *ctx, *cont;
    int nc, nk, fb;
    assert_int_equal(hx_ll_encode(tok, &q, 1, &ctx, &nc, &cont, &nk, &fb), HX_OK);
    assert_int_equal(ctx[0], bos);
    int count = 0;
    for (int i = 0; i < nc; i++) count += ctx[i] == bos;
    assert_int_equal(count, 1);
    free(ctx);
    free(cont);
    assert_int_equal(hx_ll_encode(tok, &q, 0, &ctx, &nc, &cont, &nk, &fb), HX_OK);
    assert_int_not_equal(ctx[0], bos);
    free(ctx);
    free(cont);
}

/* Python's str semantics, answers from CPython 3.11 (len(s.encode()),
 * len(s.rstrip().encode()), bytes removed by s.lstrip(),
 * len(re.split(r"\s+", s))): Unicode whitespace counts, U+200B and
 * non-space multibyte characters do not, invalid UTF-8 is never whitespace. */
static void test_python_whitespace(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t len, rstrip, lstrip;
        long words;
    } py[] = {
        {"Answer:\u00a0", 9, 7, 0, 2},      {"\u554f\u984c\u3000", 9, 6, 0, 2}, {"line\u2028", 7, 4, 0, 2},
        {"x\x1c", 2, 1, 0, 2},              {"caf\u00e9", 5, 5, 0, 1},          {"a \u00a0\u3000 \t", 9, 1, 0, 2},
        {"zw\u200b", 5, 5, 0, 1},           {"nel\xc2\x85", 5, 3, 0, 2},          {"\u00a0\u3000", 5, 0, 5, 2},
        {"Q: \u2003x \u205f", 11, 7, 0, 3}, {"ogham\u1680", 8, 5, 0, 2},
        /* not Python strings: a lone continuation byte, a truncated lead byte */
        {"x\xa0", 2, 2, 0, 1},              {"x \xc2", 3, 3, 0, 2},
    };
    for (size_t i = 0; i < sizeof py / sizeof py[0]; i++) {
        size_t n = strlen(py[i].s);
        assert_int_equal(n, py[i].len);
        if (hx_py_rstrip(py[i].s, n) != py[i].rstrip || hx_py_lstrip(py[i].s, n) != py[i].lstrip ||
            hx_word_count(py[i].s, n) != py[i].words)
            fail_msg("case %zu: rstrip %zu (python %zu), lstrip %zu (%zu), words %ld (%ld)", i, hx_py_rstrip(py[i].s, n),
                     py[i].rstrip, hx_py_lstrip(py[i].s, n), py[i].lstrip, hx_word_count(py[i].s, n), py[i].words);
    }
    /* The whole isspace() set, from Python: [c for c in range(0x110000) if chr(c).isspace()]. */
    static const unsigned space[] = {0x9,    0xa,    0xb,    0xc,    0xd,    0x1c,   0x1d,   0x1e,   0x1f,   0x20,
                                     0x85,   0xa0,   0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
                                     0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000};
    size_t k = 0, n = sizeof space / sizeof space[0];
    for (unsigned cp = 0; cp < 0x110000; cp++) {
        int want = k < n && space[k] == cp;
        k += want;
        if (hx_py_isspace(cp) != want) fail_msg("U+%04X: isspace %d, python %d", cp, hx_py_isspace(cp), want);
    }
}

/* lm-eval's split with Python's rstrip: a context ending in U+00A0, U+3000,
 * U+2028 or U+001C gives that character to the continuation; one ending in
 * a non-space multibyte character keeps it. ctx ids = enc(context.rstrip()),
 * continuation ids = enc(context + continuation)[len(ctx ids):]. */
static void test_split_moves_unicode_whitespace(void **state)
{
    (void)state;
    static const struct {
        const char *ctx;
        size_t py_rstrip; /* len(ctx.rstrip().encode()), from Python */
    } cases[] = {{"Answer:\u00a0", 7}, {"Answer:\u3000", 7}, {"Answer:\u2028", 7}, {"Answer:\x1c", 7}, {"Caf\u00e9", 5}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cbuf[32], yes[] = "yes";
        snprintf(cbuf, sizeof cbuf, "%s", cases[i].ctx);
        hx_ll_request q = {cbuf, yes};
        int32_t *ctx, *cont, *want_ctx, *whole;
        int nc, nk, fb;
        size_t nwc, nw;
        assert_int_equal(hx_ll_encode(tok, &q, 0, &ctx, &nc, &cont, &nk, &fb), HX_OK);
        assert_int_equal(hx_tokenizer_encode(tok, cases[i].ctx, cases[i].py_rstrip, 0, &want_ctx, &nwc), HX_OK);
        char joined[64];
        snprintf(joined, sizeof joined, "%syes", cases[i].ctx);
        assert_int_equal(hx_tokenizer_encode(tok, joined, strlen(joined), 0, &whole, &nw), HX_OK);
        if ((size_t)nc != nwc || memcmp(ctx, want_ctx, nwc * sizeof(int32_t)) != 0)
            fail_msg("case %zu: %d context ids, python split gives %zu", i, nc, nwc);
        assert_int_equal(fb, 0);
        assert_int_equal((size_t)nk, nw - nwc);
        assert_memory_equal(cont, whole + nwc, (size_t)nk * sizeof(int32_t));
        free(ctx), free(cont), free(want_ctx), free(whole);
    }
}

/* Truncation keeps the whole continuation and at least one context token. */
static void test_truncation(void **state)
{
    (void)state;
    hx_ll_request q = {"one two three four five six seven eight nine ten eleven twelve", " thirteen fourteen"};
    int32_t *ctx, *cont;
    int nc, nk, fb;
    assert_int_equal(hx_ll_encode(tok, &q, 1, &ctx, &nc, &cont, &nk, &fb), HX_OK);
    free(ctx);
    free(cont);
    hx_ll_opts o = {1, nk + 2, 1};
    hx_ll_result r;
    assert_int_equal(hx_loglik(&model, tok, &q, 1, &o, &r), HX_OK);
    assert_int_equal(r.n_cont, nk);
    assert_int_equal(r.truncated, nc + nk - 1 - (nk + 2));
    assert_true(isfinite(r.ll));
    o.max_length = nk - 1;
    assert_int_equal(hx_loglik(&model, tok, &q, 1, &o, &r), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "does not fit max_length"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_torch),      cmocka_unit_test(test_batch_and_padding_independent),
        cmocka_unit_test(test_c09_join_fallback),  cmocka_unit_test(test_c10_single_bos),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_python_whitespace),  cmocka_unit_test(test_split_moves_unicode_whitespace),
    };
    return cmocka_run_group_tests_name("eval_ref", tests, setup, teardown);
}
