/* The embedded corpus's multiple-choice task: the builder is deterministic
 * (and reproduces the committed data/corpus-mc.jsonl byte for byte), items
 * are valid, the gold choice is the true continuation in the validation text
 * (a scorer that knows the text gets 100%), and distractors are not. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "data/ingest.h"
#include "eval/corpus_task.h"
#include "eval/mc_metrics.h"
#include "eval/tasks.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALID "data/corpus-valid.jsonl.zst"
#define COMMITTED "data/corpus-mc.jsonl"

/* Every validation document with whitespace runs collapsed to one space,
 * joined by "\n" (the builder collapses whitespace the same way). */
static char *corpus_text(void)
{
    const char *in = VALID;
    hx_ingest *it;
    assert_int_equal(hx_ingest_open(&in, 1, NULL, &it), HX_OK);
    size_t cap = 1 << 20, n = 0;
    char *all = malloc(cap);
    hx_doc d;
    while (hx_ingest_next(it, &d) == 1) {
        for (size_t i = 0; i < d.len; i++) {
            if (n + 2 >= cap) all = realloc(all, cap *= 2);
            int space = d.text[i] == ' ' || d.text[i] == '\n';
            if (space && n > 0 && all[n - 1] == ' ') continue;
            all[n++] = space ? ' ' : d.text[i];
        }
        all[n++] = '\n';
    }
    all[n] = 0;
    hx_ingest_close(it);
    return all;
}

static void test_deterministic_and_committed(void **state)
{
    (void)state;
    hx_corpus_task_opts o = {4, 300, 1234, 0};
    char *a, *b, *c;
    size_t la, lb, lc;
    int na, nb, nc;
    assert_int_equal(hx_corpus_task_build(VALID, &o, &a, &la, &na), HX_OK);
    assert_int_equal(hx_corpus_task_build(VALID, &o, &b, &lb, &nb), HX_OK);
    assert_int_equal(na, 300);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    /* the committed file is this output (the defaults of make-corpus-task) */
    char *f;
    size_t lf;
    assert_int_equal(hx_read_file(COMMITTED, &f, &lf), HX_OK);
    assert_int_equal(lf, la);
    assert_memory_equal(f, a, la);
    o.seed = 1235;
    assert_int_equal(hx_corpus_task_build(VALID, &o, &c, &lc, &nc), HX_OK);
    assert_true(lc != la || memcmp(a, c, la) != 0);
    free(a), free(b), free(c), free(f);
    o.choices = 1;
    assert_int_equal(hx_corpus_task_build(VALID, &o, &a, &la, &na), HX_EINVAL);
}

/* Items load as a generic task: gold in range, 4 distinct non-empty
 * choices, non-empty contexts; context + " " + gold occurs in the corpus,
 * no distractor does; a scorer preferring the corpus text gets acc 1. */
static void test_items_valid_and_gold_true(void **state)
{
    (void)state;
    hx_task_set ts;
    assert_int_equal(hx_task_load(COMMITTED, HX_TASK_GENERIC, &ts), HX_OK);
    assert_int_equal(ts.n_docs, 300);
    char *text = corpus_text();
    hx_mc_tally t = {0}, chance = {0};
    int gold_pos[4] = {0};
    for (int i = 0; i < ts.n_docs; i++) {
        const hx_task_doc *d = &ts.docs[i];
        assert_int_equal(d->n_choices, 4);
        assert_true(d->gold >= 0 && d->gold < 4);
        assert_true(strlen(d->text) > 0);
        gold_pos[d->gold]++;
        double ll[4], flat[4] = {0, 0, 0, 0};
        int len[4];
        for (int c = 0; c < 4; c++) {
            assert_true(strlen(d->choices[c]) > 0);
            for (int k = 0; k < c; k++) assert_string_not_equal(d->choices[c], d->choices[k]);
            size_t n = strlen(d->text) + strlen(d->choices[c]) + 2;
            char *s = malloc(n);
            snprintf(s, n, "%s %s", d->text, d->choices[c]);
            ll[c] = strstr(text, s) ? 0.0 : -1.0;
            len[c] = (int)strlen(d->choices[c]);
            free(s);
        }
        if (ll[d->gold] != 0.0) fail_msg("item %d: the gold continuation does not follow its context", i);
        for (int c = 0; c < 4; c++)
            if (c != d->gold && ll[c] == 0.0) fail_msg("item %d: distractor %d also follows the context", i, c);
        hx_mc_tally_add(&t, ll, len, len, 4, d->gold);
        hx_mc_tally_add(&chance, flat, len, len, 4, d->gold); /* always picks choice 0 */
    }
    assert_int_equal(t.n, 300);
    assert_true(t.acc == 300 && t.acc_norm == 300 && t.acc_bytes == 300);
    assert_true(chance.acc == gold_pos[0]);
    for (int k = 0; k < 4; k++) assert_true(gold_pos[k] > 40); /* gold positions are spread (~75 each) */
    free(text);
    hx_task_free(&ts);
}

/* The word sorted multiset of a string (for "same words, another order"). */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static char *sorted_words(const char *s)
{
    char *buf = strdup(s), *w[64], *out = calloc(1, strlen(s) + 2);
    int n = 0;
    char *save;
    for (char *t = strtok_r(buf, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save)) w[n++] = t;
    qsort(w, (size_t)n, sizeof *w, cmp_str);
    for (int i = 0; i < n; i++) strcat(strcat(out, i ? " " : ""), w[i]);
    free(buf);
    return out;
}

/* corpus_order: the committed file is the scrambled build's output; every
 * distractor holds the gold continuation's words in another order. */
static void test_scrambled_committed(void **state)
{
    (void)state;
    hx_corpus_task_opts o = {2, 600, 1234, 1};
    char *a, *f;
    size_t la, lf;
    int na;
    assert_int_equal(hx_corpus_task_build(VALID, &o, &a, &la, &na), HX_OK);
    assert_int_equal(na, 598); /* candidates whose words have one other order at least */
    assert_int_equal(hx_read_file("data/corpus-order.jsonl", &f, &lf), HX_OK);
    assert_int_equal(lf, la);
    assert_memory_equal(f, a, la);
    int golds[2] = {0, 0};
    for (char *line = strtok(a, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t err;
        json_t *it = json_loads(line, 0, &err);
        assert_non_null(it);
        int gold = (int)json_integer_value(json_object_get(it, "gold"));
        json_t *ch = json_object_get(it, "choices");
        assert_int_equal(json_array_size(ch), 2);
        golds[gold]++;
        const char *g = json_string_value(json_array_get(ch, (size_t)gold)), *d = json_string_value(json_array_get(ch, (size_t)!gold));
        assert_string_not_equal(g, d);
        char *sg = sorted_words(g), *sd = sorted_words(d);
        assert_string_equal(sg, sd);
        free(sg), free(sd);
        json_decref(it);
    }
    assert_true(golds[0] > 250 && golds[1] > 250);
    free(a), free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_and_committed),
        cmocka_unit_test(test_items_valid_and_gold_true),
        cmocka_unit_test(test_scrambled_committed),
    };
    return cmocka_run_group_tests_name("corpus_task", tests, NULL, NULL);
}
