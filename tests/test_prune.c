/* Tests for structured pruning: target validation, ranking within KV groups,
 * weight slicing, and the field cases C01, C02, C03 and C11 (shapes; the
 * logits-level checks live in test_prune_logits.c). */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "minitron/prune.h"

#include <stdlib.h>
#include <string.h>

static hx_config make_cfg(int hidden, int heads, int kv, int head_dim, int ffn, int layers, int vocab, int tied)
{
    return hx_test_config(vocab, hidden, ffn, layers, heads, kv, head_dim, tied);
}

/* Fills every parameter with a value that encodes its position, so slicing
 * mistakes show up as wrong values. */
static void fill_pattern(hx_model *m)
{
    for (size_t i = 0; i < m->n_floats; i++) m->data[i] = (float)(i % 100003) * 1e-3f;
}

static void test_identity_is_bit_exact(void **state)
{
    (void)state;
    hx_config c = make_cfg(32, 4, 2, 16, 48, 3, 50, 0);
    hx_model m, p;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    fill_pattern(&m);
    hx_scores s;
    assert_int_equal(hx_scores_alloc(&s, &c), HX_OK);
    hx_rng r;
    hx_rng_seed(&r, 1);
    for (int i = 0; i < s.hidden_size; i++) s.channel[i] = hx_rng_uniform(&r);
    hx_prune_targets t = {0};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &s, &t, &plan), HX_OK);
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    assert_int_equal(p.n_floats, m.n_floats);
    assert_memory_equal(p.data, m.data, m.n_floats * sizeof(float));
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    hx_scores_free(&s);
    hx_model_free(&m);
}

/* C01: Llama-3.2-1B attention shape (hidden 2048, 32 heads, 8 KV heads,
 * head_dim 64), heads 32 -> 24, KV heads kept, nothing else pruned. */
static void test_c01_heads_within_groups(void **state)
{
    (void)state;
    hx_config c = make_cfg(2048, 32, 8, 64, 64, 1, 16, 1);
    hx_model m, p;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    fill_pattern(&m);
    hx_scores s;
    assert_int_equal(hx_scores_alloc(&s, &c), HX_OK);
    /* Group g holds heads 4g..4g+3; make head 4g+(g%4) the least important. */
    for (int h = 0; h < 32; h++) s.head[h] = 10.0 + h;
    for (int g = 0; g < 8; g++) s.head[4 * g + g % 4] = 0.0;
    hx_prune_targets t = {.num_attention_heads = 24};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &s, &t, &plan), HX_OK);
    assert_int_equal(plan.dst.num_attention_heads, 24);
    assert_int_equal(plan.dst.num_key_value_heads, 8);
    assert_int_equal(plan.dst.head_dim, 64);
    assert_int_equal(plan.dst.hidden_size, 2048);
    for (int g = 0; g < 8; g++) {
        assert_int_equal(plan.keep_kv[g], g);
        for (int j = 0; j < 3; j++) {
            int h = plan.keep_heads[g * 3 + j];
            assert_int_equal(h / 4, g); /* stays in its own group */
            assert_int_not_equal(h, 4 * g + g % 4);
        }
    }
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    /* q_proj 1536x2048, o_proj 2048x1536, k/v unchanged 512x2048. */
    hx_param prm[32];
    int n = hx_model_params(&p, prm);
    for (int i = 0; i < n; i++) {
        if (strstr(prm[i].name, "q_proj")) assert_true(prm[i].rows == 1536 && prm[i].cols == 2048);
        if (strstr(prm[i].name, "o_proj")) assert_true(prm[i].rows == 2048 && prm[i].cols == 1536);
        if (strstr(prm[i].name, "k_proj") || strstr(prm[i].name, "v_proj"))
            assert_true(prm[i].rows == 512 && prm[i].cols == 2048);
    }
    assert_memory_equal(p.layers[0].k_proj, m.layers[0].k_proj, 512 * 2048 * sizeof(float));
    /* Kept head 1 of group 0 is source head 2 (head 0 was dropped): its q rows
     * and o_proj columns must be the source's. */
    int src_head = plan.keep_heads[1];
    assert_int_equal(src_head, 2);
    for (int d = 0; d < 64; d++) {
        assert_memory_equal(p.layers[0].q_proj + (size_t)(64 + d) * 2048,
                            m.layers[0].q_proj + (size_t)(src_head * 64 + d) * 2048, 2048 * sizeof(float));
        assert_true(p.layers[0].o_proj[(size_t)5 * 1536 + 64 + d] == m.layers[0].o_proj[(size_t)5 * 2048 + 128 + d]);
    }
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    hx_scores_free(&s);
    hx_model_free(&m);
}

/* C02: embedding channels 4096 -> 3072 on the Llama-3.1-8B attention shape. */
static void test_c02_hidden_keeps_head_dim(void **state)
{
    (void)state;
    hx_config c = make_cfg(4096, 32, 8, 128, 32, 1, 8, 0);
    hx_model m, p;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    fill_pattern(&m);
    hx_scores s;
    assert_int_equal(hx_scores_alloc(&s, &c), HX_OK);
    for (int i = 0; i < 4096; i++) s.channel[i] = (double)((i * 7919) % 4096);
    hx_prune_targets t = {.hidden_size = 3072};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &s, &t, &plan), HX_OK);
    assert_int_equal(plan.dst.head_dim, 128); /* never 3072/32 = 96 */
    assert_int_equal(plan.dst.num_attention_heads, 32);
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    hx_param prm[32];
    int n = hx_model_params(&p, prm);
    for (int i = 0; i < n; i++)
        if (strstr(prm[i].name, "q_proj")) assert_true(prm[i].rows == 4096 && prm[i].cols == 3072);
    /* A kept channel's column is copied from the source column. */
    int c0 = plan.keep_channels[0];
    for (int r = 0; r < 8; r++)
        assert_true(p.embed_tokens[(size_t)r * 3072] == m.embed_tokens[(size_t)r * 4096 + c0]);
    assert_true(p.layers[0].input_layernorm[0] == m.layers[0].input_layernorm[c0]);
    assert_true(p.layers[0].o_proj[0] == m.layers[0].o_proj[(size_t)c0 * 4096]);
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    hx_scores_free(&s);
    hx_model_free(&m);
}

/* C03: 24 query heads over 8 KV heads (3 per group): 16 is fine, 20 is not. */
static void test_c03_uneven_groups_rejected(void **state)
{
    (void)state;
    hx_config c = make_cfg(64, 24, 8, 8, 32, 1, 8, 0), d;
    hx_prune_targets t = {.num_attention_heads = 20};
    assert_int_equal(hx_prune_target_config(&c, &t, &d), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "same number of query heads"));
    t.num_attention_heads = 16;
    assert_int_equal(hx_prune_target_config(&c, &t, &d), HX_OK);
    assert_int_equal(d.num_attention_heads / d.num_key_value_heads, 2);
}

static void test_bad_targets(void **state)
{
    (void)state;
    hx_config c = make_cfg(64, 8, 4, 8, 32, 4, 8, 0), d;
    hx_prune_targets big = {.intermediate_size = 64};
    assert_int_equal(hx_prune_target_config(&c, &big, &d), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "larger than the source"));
    hx_prune_targets neg = {.hidden_size = -8};
    assert_int_equal(hx_prune_target_config(&c, &neg, &d), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "must be positive"));
    int drop[] = {1, 1};
    hx_prune_targets dup = {.drop_layers = drop, .n_drop_layers = 2};
    assert_int_equal(hx_prune_target_config(&c, &dup, &d), HX_EINVAL);
    int all[] = {0, 1, 2, 3};
    hx_prune_targets everything = {.drop_layers = all, .n_drop_layers = 4};
    assert_int_equal(hx_prune_target_config(&c, &everything, &d), HX_EINVAL);
}

/* C05 (in memory) and depth ranking: drop 2 of 6 layers; the rest are
 * renumbered 0..3 with no gaps and carry their source weights. */
static void test_c05_depth_renumbers(void **state)
{
    (void)state;
    hx_config c = make_cfg(16, 2, 1, 8, 8, 6, 8, 1);
    hx_model m, p;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    fill_pattern(&m);
    hx_scores s;
    assert_int_equal(hx_scores_alloc(&s, &c), HX_OK);
    double layer[] = {5, 1, 4, 0, 3, 2}; /* layers 1 and 3 are least important */
    memcpy(s.layer, layer, sizeof layer);
    hx_prune_targets t = {.num_hidden_layers = 4};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &s, &t, &plan), HX_OK);
    int want[] = {0, 2, 4, 5};
    assert_memory_equal(plan.keep_layers, want, sizeof want);
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    assert_int_equal(p.cfg.num_hidden_layers, 4);
    for (int l = 0; l < 4; l++)
        assert_memory_equal(p.layers[l].q_proj, m.layers[want[l]].q_proj, 16 * 16 * sizeof(float));
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    /* The same through an explicit drop list. */
    int drop[] = {3, 1};
    hx_prune_targets t2 = {.drop_layers = drop, .n_drop_layers = 2};
    assert_int_equal(hx_prune_plan_build(&c, &s, &t2, &plan), HX_OK);
    assert_memory_equal(plan.keep_layers, want, sizeof want);
    hx_prune_plan_free(&plan);
    hx_scores_free(&s);
    hx_model_free(&m);
}

/* C11: a tied model pruned along hidden_size stays tied: one table, sliced
 * once, used as both embedding and LM head. */
static void test_c11_tied_hidden_pruning(void **state)
{
    (void)state;
    hx_config c = make_cfg(32, 4, 2, 8, 16, 1, 10, 1);
    hx_model m, p;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    fill_pattern(&m);
    hx_scores s;
    assert_int_equal(hx_scores_alloc(&s, &c), HX_OK);
    for (int i = 0; i < 32; i++) s.channel[i] = (i % 2) ? 1.0 : 0.0; /* keep odd channels */
    hx_prune_targets t = {.hidden_size = 16};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &s, &t, &plan), HX_OK);
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    assert_ptr_equal(p.lm_head, p.embed_tokens);
    for (int v = 0; v < 10; v++)
        for (int j = 0; j < 16; j++) assert_true(p.embed_tokens[v * 16 + j] == m.embed_tokens[v * 32 + 2 * j + 1]);
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    hx_scores_free(&s);
    hx_model_free(&m);
}

static void test_random_plan_is_seeded(void **state)
{
    (void)state;
    hx_config c = make_cfg(32, 8, 2, 8, 64, 4, 8, 0);
    hx_prune_targets t = {.hidden_size = 16, .intermediate_size = 32, .num_attention_heads = 4};
    hx_prune_plan a, b, d;
    hx_rng r1, r2, r3;
    hx_rng_seed(&r1, 7);
    hx_rng_seed(&r2, 7);
    hx_rng_seed(&r3, 8);
    assert_int_equal(hx_prune_plan_random(&c, &t, &r1, &a), HX_OK);
    assert_int_equal(hx_prune_plan_random(&c, &t, &r2, &b), HX_OK);
    assert_int_equal(hx_prune_plan_random(&c, &t, &r3, &d), HX_OK);
    assert_memory_equal(a.keep_neurons, b.keep_neurons, 4 * 32 * sizeof(int));
    assert_memory_equal(a.keep_channels, b.keep_channels, 16 * sizeof(int));
    assert_true(memcmp(a.keep_neurons, d.keep_neurons, 4 * 32 * sizeof(int)) != 0);
    for (int i = 0; i < 4 * 4; i++) assert_int_equal(a.keep_heads[i] / 4, (i % 4) / 2); /* within groups */
    hx_prune_plan_free(&a);
    hx_prune_plan_free(&b);
    hx_prune_plan_free(&d);
}

/* Head residual merging on one group of L=4 heads pruned to K=2. Importance
 * order (best first) is h2, h0, h3, h1; i runs over [max(1, 2K-L+1), K] = [1, 2]
 * pairing rank i with rank 2K-i+1: rank 2 (h0) with rank 3 (h3), and rank 1
 * (h2) with rank 4 (h1). */
static void test_head_residual_rule(void **state)
{
    (void)state;
    hx_config c = make_cfg(4, 4, 1, 2, 4, 1, 4, 0);
    hx_model m, p;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    for (int r = 0; r < 8; r++)
        for (int k = 0; k < 4; k++) m.layers[0].q_proj[r * 4 + k] = (float)(r / 2 + 1); /* head h rows = h+1 */
    hx_scores s;
    assert_int_equal(hx_scores_alloc(&s, &c), HX_OK);
    double hs[] = {3, 1, 4, 2};
    memcpy(s.head, hs, sizeof hs);
    for (int i = 0; i < 4; i++) s.channel[i] = 1;
    hx_prune_targets t = {.num_attention_heads = 2};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &s, &t, &plan), HX_OK);
    assert_int_equal(plan.keep_heads[0], 0);
    assert_int_equal(plan.keep_heads[1], 2);
    assert_int_equal(hx_prune_apply(&m, &plan, &s, &p), HX_OK);
    /* new head 0 = h0: 2*1 - h3(4) = -2 ; new head 1 = h2: 2*3 - h1(2) = 4 */
    assert_true(p.layers[0].q_proj[0] == -2.0f);
    assert_true(p.layers[0].q_proj[2 * 4] == 4.0f);
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    hx_scores_free(&s);
    hx_model_free(&m);
}

/* Defects 8 and 9: removed layers are listed by source index and stored;
 * near-equal scores across a cut are recorded as ties (with the documented
 * rule: higher score kept, exactly equal scores keep the lower index). */
static void test_removed_layers_and_ties(void **state)
{
    (void)state;
    hx_config c = make_cfg(16, 4, 2, 8, 8, 5, 32, 1);
    hx_scores s;
    assert_int_equal(hx_scores_alloc(&s, &c), HX_OK);
    for (int l = 0; l < 5; l++) s.layer[l] = 10 - l;    /* layers 3 and 4 score lowest */
    for (int i = 0; i < 16; i++) s.channel[i] = 100 - i; /* distinct: no channel tie */
    for (int i = 0; i < 5 * 4; i++) s.head[i] = i;
    for (int l = 0; l < 5; l++)
        for (int i = 0; i < 8; i++) s.neuron[l * 8 + i] = 1.0 + i;
    /* layer 1: neurons 2 and 6 tie exactly at the cut of 4 kept of 8; ranks 4/5 otherwise are 1+4 vs 1+3 */
    for (int i = 0; i < 8; i++) s.neuron[8 + i] = i == 2 || i == 6 ? 5.0 : i < 2 ? 9.0 + i : 2.0 - 0.1 * i;
    s.neuron[8 + 7] = 5.0 + 4e-6; /* the next-best is not within the tolerance of the cut pair */
    hx_prune_targets t = {.hidden_size = 12, .intermediate_size = 4, .num_hidden_layers = 3};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &s, &t, &plan), HX_OK);
    int removed[5];
    assert_int_equal(hx_prune_removed_layers(&plan, removed), 2);
    assert_int_equal(removed[0], 3);
    assert_int_equal(removed[1], 4);
    /* Layer 1 keeps 7 (5+4e-6), 0 and 1 (9, 10), then 2 (5.0, lower index) over 6 (5.0): one tie. */
    int ties_in_layer1 = 0;
    for (int i = 0; i < plan.n_ties; i++) {
        const hx_prune_tie *x = &plan.ties[i];
        assert_true(x->axis == HX_AXIS_NEURON || x->axis == HX_AXIS_HEAD || x->axis == HX_AXIS_KV_GROUP);
        if (x->axis == HX_AXIS_NEURON && x->layer == 1) {
            ties_in_layer1++;
            assert_int_equal(x->kept, 2);
            assert_int_equal(x->dropped, 6);
            assert_true(x->kept_score == 5.0 && x->dropped_score == 5.0);
        }
        if (x->axis == HX_AXIS_NEURON) assert_int_equal(x->layer, 1); /* other layers are 1..8, distinct */
    }
    assert_int_equal(ties_in_layer1, 1);
    int has2 = 0, has6 = 0;
    for (int i = 0; i < 4; i++) has2 |= plan.keep_neurons[1 * 4 + i] == 2, has6 |= plan.keep_neurons[1 * 4 + i] == 6;
    assert_true(has2 && !has6);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    hx_prune_plan_notes(f, "arm", &plan);
    fclose(f);
    assert_non_null(strstr(text, "arm: removed layers (source indices): 3 4\n"));
    assert_non_null(strstr(text, "warning: arm: tie at the neuron cut in layer 1: kept 2 (score 5) and dropped 6"));
    free(text);
    hx_prune_plan_free(&plan);
    /* The same targets with distinct scores: no tie; no layer removed: "none". */
    for (int i = 0; i < 8; i++) s.neuron[8 + i] = 1.0 + 0.5 * i;
    for (int i = 0; i < 5 * 4; i++) s.head[i] = i;
    hx_prune_targets w = {.intermediate_size = 4};
    assert_int_equal(hx_prune_plan_build(&c, &s, &w, &plan), HX_OK);
    assert_int_equal(plan.n_ties, 0);
    f = open_memstream(&text, &len);
    hx_prune_plan_notes(f, "w", &plan);
    fclose(f);
    assert_non_null(strstr(text, "w: removed layers (source indices): none"));
    free(text);
    hx_prune_plan_free(&plan);
    hx_scores_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_is_bit_exact),   cmocka_unit_test(test_c01_heads_within_groups),
        cmocka_unit_test(test_c02_hidden_keeps_head_dim), cmocka_unit_test(test_c03_uneven_groups_rejected),
        cmocka_unit_test(test_bad_targets),             cmocka_unit_test(test_c05_depth_renumbers),
        cmocka_unit_test(test_c11_tied_hidden_pruning), cmocka_unit_test(test_random_plan_is_seeded),
        cmocka_unit_test(test_head_residual_rule),
        cmocka_unit_test(test_removed_layers_and_ties),
    };
    return cmocka_run_group_tests_name("prune", tests, NULL, NULL);
}
