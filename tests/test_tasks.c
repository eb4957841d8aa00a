/* Tests for task loading and lm-eval-style prompt building on hand-made
 * items in the public layouts, and for the acc / acc_norm metrics. */
#include "test_util.h"

#include "core/err.h"
#include "eval/mc_metrics.h"
#include "eval/tasks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIX "tests/fixtures/eval/"

static hx_prompt_opts zero_shot = {0, 1234, NULL, NULL, NULL};

static void test_hellaswag_prompt(void **state)
{
    (void)state;
    hx_task_set ts;
    assert_int_equal(hx_task_load(FIX "hellaswag.jsonl", HX_TASK_HELLASWAG, &ts), HX_OK);
    assert_int_equal(ts.n_docs, 2);
    assert_int_equal(strlen(ts.sha256), 64);
    hx_mc_item it;
    assert_int_equal(hx_task_build_item(&ts, 1, &zero_shot, &it), HX_OK);
    assert_string_equal(it.req[0].context,
                        "Baking cookies: A woman mixes flour and sugar in a bowl. She adds two eggs. She");
    assert_string_equal(it.req[0].continuation, " stirs the dough until it is smooth Then bakes it.");
    assert_int_equal(it.len_chars[0], 49);
    assert_int_equal(it.gold, 0);
    hx_mc_item_free(&it);
    assert_int_equal(hx_task_build_item(&ts, 0, &zero_shot, &it), HX_OK);
    assert_int_equal(it.gold, 3); /* label given as the string "3" */
    assert_int_equal(it.n_choices, 4);
    hx_mc_item_free(&it);
    hx_task_free(&ts);
}

static void test_arc_both_layouts(void **state)
{
    (void)state;
    hx_task_set ts;
    assert_int_equal(hx_task_load(FIX "arc.jsonl", HX_TASK_ARC, &ts), HX_OK);
    assert_int_equal(ts.docs[0].gold, 2);
    assert_int_equal(ts.docs[1].gold, 1); /* numeric labels "1".."3" */
    hx_mc_item it;
    assert_int_equal(hx_task_build_item(&ts, 1, &zero_shot, &it), HX_OK);
    assert_string_equal(it.req[1].context, "Question: Which gas do plants absorb from the air?\nAnswer:");
    assert_string_equal(it.req[1].continuation, " Carbon dioxide");
    hx_mc_item_free(&it);
    hx_task_free(&ts);
}

static void test_winogrande_partial_scoring(void **state)
{
    (void)state;
    hx_task_set ts;
    assert_int_equal(hx_task_load(FIX "winogrande.jsonl", HX_TASK_WINOGRANDE, &ts), HX_OK);
    hx_mc_item it;
    assert_int_equal(hx_task_build_item(&ts, 0, &zero_shot, &it), HX_OK);
    assert_string_equal(it.req[0].context,
                        "Ian volunteered to eat Dennis's menudo after already having a bowl because Ian");
    assert_string_equal(it.req[1].context,
                        "Ian volunteered to eat Dennis's menudo after already having a bowl because Dennis");
    assert_string_equal(it.req[0].continuation, " despised eating intestine.");
    assert_string_equal(it.req[1].continuation, " despised eating intestine.");
    assert_int_equal(it.gold, 1);
    hx_mc_item_free(&it);
    hx_task_free(&ts);
}

static void test_piqa_prompt(void **state)
{
    (void)state;
    hx_task_set ts;
    assert_int_equal(hx_task_load(FIX "piqa.jsonl", HX_TASK_PIQA, &ts), HX_OK);
    hx_mc_item it;
    assert_int_equal(hx_task_build_item(&ts, 1, &zero_shot, &it), HX_OK);
    assert_string_equal(it.req[0].context, "Question: To boil water quickly,\nAnswer:");
    assert_string_equal(it.req[1].continuation, " put the pot in the freezer.");
    hx_mc_item_free(&it);
    hx_task_free(&ts);
}

/* MMLU 2-shot: subject header, the first n dev rows of the same subject in
 * file order, "Answer: X" examples joined by blank lines. */
static void test_mmlu_fewshot(void **state)
{
    (void)state;
    hx_task_set ts;
    assert_int_equal(hx_task_load(FIX "mmlu.jsonl", HX_TASK_MMLU, &ts), HX_OK);
    hx_prompt_opts o = {2, 1234, NULL, NULL, NULL};
    hx_mc_item it;
    assert_int_equal(hx_task_build_item(&ts, 2, &o, &it), HX_OK);
    assert_string_equal(it.req[0].context,
                        "The following are multiple choice questions (with answers) about elementary mathematics.\n\n"
                        "What is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 22\nAnswer: B\n\n"
                        "What is 3 * 3?\nA. 6\nB. 9\nC. 33\nD. 1\nAnswer: B\n\n"
                        "Which is a prime number?\nA. 4\nB. 6\nC. 7\nD. 9\nAnswer:");
    assert_string_equal(it.req[2].continuation, " C");
    assert_int_equal(it.gold, 2);
    hx_mc_item_free(&it);
    /* astronomy has a single document: 1-shot has nothing to draw from. */
    o.n_shot = 1;
    assert_int_equal(hx_task_build_item(&ts, 3, &o, &it), HX_EINVAL);
    hx_task_free(&ts);
}

/* Seeded few-shot sampling never uses the scored document and is repeatable;
 * the target delimiter is configurable. */
static void test_seeded_fewshot_and_delimiter(void **state)
{
    (void)state;
    hx_task_set ts;
    assert_int_equal(hx_task_load(FIX "piqa.jsonl", HX_TASK_PIQA, &ts), HX_OK);
    hx_prompt_opts o = {1, 7, "\t", "###", NULL};
    hx_mc_item a, b;
    assert_int_equal(hx_task_build_item(&ts, 0, &o, &a), HX_OK);
    assert_int_equal(hx_task_build_item(&ts, 0, &o, &b), HX_OK);
    assert_string_equal(a.req[0].context, b.req[0].context);
    assert_string_equal(a.req[0].context, "Question: To boil water quickly,\nAnswer:\tput a lid on the pot.###"
                                          "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:");
    assert_true(a.req[0].continuation[0] == '\t');
    hx_mc_item_free(&a);
    hx_mc_item_free(&b);
    hx_task_free(&ts);
}

static void test_bad_task_files(void **state)
{
    (void)state;
    char path[] = "/tmp/hx_task_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"goal\": \"a\", \"sol1\": \"b\", \"sol2\": \"c\", \"label\": 0}\n\n{\"goal\": \"a\", \"sol1\": \"b\"}\n", f);
    fclose(f);
    hx_task_set ts;
    assert_int_equal(hx_task_load(path, HX_TASK_PIQA, &ts), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), ":3: field \"sol2\""));
    f = fopen(path, "w");
    fputs("{\"goal\": \"a\", \"sol1\": \"b\", \"sol2\": \"c\", \"label\": 5}\n", f);
    fclose(f);
    assert_int_equal(hx_task_load(path, HX_TASK_PIQA, &ts), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), ":1: gold index 5"));
    f = fopen(path, "w");
    fputs("{not json\n", f);
    fclose(f);
    assert_int_equal(hx_task_load(path, HX_TASK_PIQA, &ts), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), ":1: not a JSON object"));
    unlink(path);
    assert_int_equal(hx_task_kind_parse("arc_challenge"), HX_TASK_ARC);
    assert_int_equal(hx_task_kind_parse("boolq"), -1);
}

static void test_metrics(void **state)
{
    (void)state;
    hx_mc_tally t = {0};
    double ll[3] = {-10, -9, -12};
    int chars[3] = {10, 2, 30}, bytes[3] = {10, 2, 60};
    hx_mc_tally_add(&t, ll, chars, bytes, 3, 2);
    /* acc picks 1 (wrong); acc_norm: -1, -4.5, -0.4 picks 2 (right);
     * acc_bytes: -1, -4.5, -0.2 picks 2 (right). */
    assert_true(t.acc == 0 && t.acc_norm == 1 && t.acc_bytes == 1);
    hx_mc_tally_add(&t, ll, chars, bytes, 3, 1);
    double m, se;
    hx_mc_mean_stderr(&t, t.acc, &m, &se);
    assert_true(fabs(m - 0.5) < 1e-12);
    assert_true(fabs(se - 0.5) < 1e-12); /* sqrt(2/1 * 0.25 / 2) */
    double tie[2] = {-1, -1};
    assert_int_equal(hx_mc_argmax(tie, NULL, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hellaswag_prompt),    cmocka_unit_test(test_arc_both_layouts),
        cmocka_unit_test(test_winogrande_partial_scoring), cmocka_unit_test(test_piqa_prompt),
        cmocka_unit_test(test_mmlu_fewshot),        cmocka_unit_test(test_seeded_fewshot_and_delimiter),
        cmocka_unit_test(test_bad_task_files),      cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests_name("tasks", tests, NULL, NULL);
}
