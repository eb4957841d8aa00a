/* Tests for the importance pass on tiny random models: scores against a
 * direct computation, independence from the calibration micro-batch size,
 * depth losses, and the pruning identities at the logits level (a sliced model
 * equals the unsliced one with the pruned components zeroed or bypassed). */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "cpu/ops.h"
#include "log/h5log.h"
#include "minitron/importance.h"
#include "minitron/prune.h"
#include "minitron/store.h"
#include "model/forward.h"
#include "model/init.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T = 8, NS = 5 };

static hx_config tiny(void)
{
    hx_config c;
    memset(&c, 0, sizeof c);
    strcpy(c.model_type, "llama");
    c.vocab_size = 40;
    c.hidden_size = 24;
    c.intermediate_size = 32;
    c.num_hidden_layers = 3;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 8;
    c.max_position_embeddings = 64;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0;
    c.bos_token_id = c.eos_token_id = -1;
    return c;
}

static void samples_init(int32_t *s, int n, int V, uint64_t seed)
{
    hx_rng r;
    hx_rng_seed(&r, seed);
    for (int i = 0; i < n * (T + 1); i++) s[i] = (int32_t)hx_rng_below(&r, (uint64_t)V);
}

/* Larger-than-default weights so layers matter and scores differ. */
static void model_init(hx_model *m, const hx_config *c)
{
    assert_int_equal(hx_model_alloc(m, c), HX_OK);
    assert_int_equal(hx_model_init_random(m, 11), HX_OK);
    for (size_t i = 0; i < m->n_floats; i++) m->data[i] *= 10.0f;
    for (int l = 0; l < c->num_hidden_layers; l++)
        for (int j = 0; j < c->hidden_size; j++)
            m->layers[l].input_layernorm[j] = m->layers[l].post_attention_layernorm[j] = 1.0f;
    for (int j = 0; j < c->hidden_size; j++) m->norm[j] = 1.0f;
}

static double rel(double a, double b) { return fabs(a - b) / fmax(1e-12, fmax(fabs(a), fabs(b))); }

/* Head and neuron scores of the default (batch L2, seq mean) equal a direct
 * computation from a TRAIN-mode forward of each sample. */
static void test_scores_match_direct_computation(void **state)
{
    (void)state;
    hx_config c = tiny();
    hx_model m;
    model_init(&m, &c);
    int32_t s[NS * (T + 1)];
    samples_init(s, NS, c.vocab_size, 1);
    hx_importance_opts o = hx_importance_defaults();
    hx_importance r;
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_OK);
    hx_workspace ws;
    assert_int_equal(hx_workspace_alloc(&ws, &c, 1, T, HX_WS_TRAIN), HX_OK);
    double head2[3][4] = {{0}}, neur2[3][32] = {{0}};
    for (int n = 0; n < NS; n++) {
        assert_int_equal(hx_forward(&m, &ws, s + n * (T + 1), NULL), HX_OK);
        for (int l = 0; l < 3; l++) {
            const hx_layer_acts *a = hx_ws_layer(&ws, l);
            for (int h = 0; h < 4; h++) {
                double mean = 0;
                for (int t = 0; t < T; t++) {
                    double q = 0;
                    for (int d = 0; d < 8; d++) q += (double)a->attn_out[t * 32 + h * 8 + d] * a->attn_out[t * 32 + h * 8 + d];
                    mean += sqrt(q) / T;
                }
                head2[l][h] += mean * mean;
            }
            for (int i = 0; i < 32; i++) {
                double mean = 0;
                for (int t = 0; t < T; t++) mean += fabs(a->gate[t * 32 + i]) / T;
                neur2[l][i] += mean * mean;
            }
        }
    }
    double worst = 0;
    for (int l = 0; l < 3; l++) {
        for (int h = 0; h < 4; h++) worst = hx_test_worst(worst, rel(r.scores.head[l * 4 + h], sqrt(head2[l][h])));
        for (int i = 0; i < 32; i++) worst = hx_test_worst(worst, rel(r.scores.neuron[l * 32 + i], sqrt(neur2[l][i])));
    }
    printf("NOTE: importance vs direct: max rel err %.2e\n", worst);
    assert_true(worst < 1e-5);
    assert_true(r.base_loss > 0 && r.tokens == NS * T);
    hx_workspace_free(&ws);
    hx_importance_free(&r);
    hx_model_free(&m);
}

/* Scores do not depend on the calibration micro-batch (5 samples as 1x5,
 * 2+2+1 with a remainder, and 5). */
static void test_micro_batch_independent(void **state)
{
    (void)state;
    hx_config c = tiny();
    hx_model m;
    model_init(&m, &c);
    int32_t s[NS * (T + 1)];
    samples_init(s, NS, c.vocab_size, 2);
    hx_importance r[3];
    int mbs[3] = {1, 2, 5};
    for (int k = 0; k < 3; k++) {
        hx_importance_opts o = hx_importance_defaults();
        o.micro_batch = mbs[k];
        assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r[k]), HX_OK);
    }
    double worst = 0;
    for (int k = 1; k < 3; k++) {
        for (int i = 0; i < 3 * 4; i++) worst = hx_test_worst(worst, rel(r[0].scores.head[i], r[k].scores.head[i]));
        for (int i = 0; i < 3 * 32; i++) worst = hx_test_worst(worst, rel(r[0].scores.neuron[i], r[k].scores.neuron[i]));
        for (int i = 0; i < 24; i++) worst = hx_test_worst(worst, rel(r[0].scores.channel[i], r[k].scores.channel[i]));
        for (int i = 0; i < 3; i++) worst = hx_test_worst(worst, rel(r[0].scores.layer[i], r[k].scores.layer[i]));
        worst = hx_test_worst(worst, rel(r[0].base_loss, r[k].base_loss));
    }
    printf("NOTE: importance micro-batch 1 vs 2 vs 5: max rel diff %.2e\n", worst);
    assert_true(worst < 1e-5);
    for (int k = 0; k < 3; k++) hx_importance_free(&r[k]);
    hx_model_free(&m);
}

/* A layer whose o_proj and down_proj are zero is the identity: its Block
 * Importance is 0 and removing it leaves the loss unchanged; a KV head whose
 * v_proj rows are zero gives its query heads zero scores. */
static void test_dead_components_score_zero(void **state)
{
    (void)state;
    hx_config c = tiny();
    hx_model m;
    model_init(&m, &c);
    memset(m.layers[1].o_proj, 0, sizeof(float) * 24 * 32);
    memset(m.layers[1].down_proj, 0, sizeof(float) * 24 * 32);
    memset(m.layers[2].v_proj + 8 * 24, 0, sizeof(float) * 8 * 24); /* KV head 1 of layer 2 */
    int32_t s[NS * (T + 1)];
    samples_init(s, NS, c.vocab_size, 3);
    hx_importance_opts o = hx_importance_defaults();
    o.block_len = 2;
    hx_importance r;
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_OK);
    assert_true(fabs(r.bi[1]) < 1e-9);
    assert_true(r.bi[0] > 1e-3 && r.bi[2] > 1e-3);
    assert_true(rel(r.loss_drop[1], r.base_loss) < 1e-6);
    assert_true(fabs(r.loss_drop[0] - r.base_loss) > 1e-3);
    assert_true(r.scores.head[2 * 4 + 2] == 0.0 && r.scores.head[2 * 4 + 3] == 0.0);
    assert_true(r.scores.head[2 * 4 + 0] > 0.0);
    /* Removing block [1,3) equals removing layer 2 alone, since layer 1 is the identity. */
    assert_int_equal(r.n_blocks, 2);
    assert_true(rel(r.block_loss[1], r.loss_drop[2]) < 1e-6);
    assert_int_equal(hx_importance_best_block(&r), r.block_loss[0] <= r.block_loss[1] ? 0 : 1);
    /* Depth pruning by loss drops the identity layer first. */
    hx_prune_targets t = {.num_hidden_layers = 2};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &r.scores, &t, &plan), HX_OK);
    assert_int_equal(plan.keep_layers[0], 0);
    assert_int_equal(plan.keep_layers[1], 2);
    hx_prune_plan_free(&plan);
    hx_importance_free(&r);
    hx_model_free(&m);
}

/* Logits of a model run on ids [1, T]. */
static void logits_of(const hx_model *m, const int32_t *ids, const unsigned char *active, float *out)
{
    hx_workspace ws;
    assert_int_equal(hx_workspace_alloc(&ws, &m->cfg, 1, T, HX_WS_INFER), HX_OK);
    assert_int_equal(hx_forward(m, &ws, ids, active), HX_OK);
    memcpy(out, ws.logits, sizeof(float) * T * m->cfg.vocab_size);
    hx_workspace_free(&ws);
}

/* Pruning heads, neurons and layers gives the logits of the unsliced model
 * with those heads' o_proj columns and those neurons' down_proj columns
 * zeroed and those layers bypassed. (Embedding channels have no such identity:
 * RMSNorm's mean runs over the kept channels.) */
static void test_sliced_equals_zeroed(void **state)
{
    (void)state;
    hx_config c = tiny();
    hx_model m, p;
    model_init(&m, &c);
    int32_t s[NS * (T + 1)];
    samples_init(s, NS, c.vocab_size, 4);
    hx_importance_opts o = hx_importance_defaults();
    hx_importance r;
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_OK);
    hx_prune_targets t = {.num_attention_heads = 2, .intermediate_size = 20, .num_hidden_layers = 2};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &r.scores, &t, &plan), HX_OK);
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    unsigned char active[3] = {0, 0, 0};
    for (int l = 0; l < 2; l++) {
        int sl = plan.keep_layers[l];
        active[sl] = 1;
        for (int h = 0; h < 4; h++) {
            int kept = 0;
            for (int j = 0; j < 2; j++) kept |= plan.keep_heads[l * 2 + j] == h;
            if (!kept)
                for (int row = 0; row < 24; row++) memset(m.layers[sl].o_proj + row * 32 + h * 8, 0, 8 * sizeof(float));
        }
        for (int i = 0; i < 32; i++) {
            int kept = 0;
            for (int j = 0; j < 20; j++) kept |= plan.keep_neurons[l * 20 + j] == i;
            if (!kept)
                for (int row = 0; row < 24; row++) m.layers[sl].down_proj[row * 32 + i] = 0.0f;
        }
    }
    float a[T * 40], b[T * 40];
    logits_of(&m, s, active, a);
    logits_of(&p, s, NULL, b);
    hx_test_cmp cmp = hx_test_compare_f(b, a, T * 40, "sliced vs zeroed logits");
    double worst = cmp.max_abs, scale = cmp.max_ref; /* a NaN on either side: worst = +INFINITY */
    printf("NOTE: sliced vs zeroed logits: max abs diff %.2e (max |logit| %.2f)\n", worst, scale);
    assert_true(worst <= 1e-5 * scale);
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    hx_importance_free(&r);
    hx_model_free(&m);
}

static void test_bad_options(void **state)
{
    (void)state;
    hx_config c = tiny();
    hx_model m;
    model_init(&m, &c);
    int32_t s[NS * (T + 1)];
    samples_init(s, NS, c.vocab_size, 5);
    hx_importance_opts o = hx_importance_defaults();
    hx_importance r;
    o.block_len = 3;
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_EINVAL);
    o = hx_importance_defaults();
    o.depth_loss = 0;
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_EINVAL);
    o.depth = HX_DEPTH_BLOCK;
    o.depth_loss = 1;
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_EINVAL); /* block needs block_len */
    o.depth = HX_DEPTH_BI;
    o.depth_loss = 0;
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_OK);
    assert_null(r.loss_drop);
    for (int l = 0; l < 3; l++) assert_true(r.scores.layer[l] == r.bi[l]);
    hx_importance_free(&r);
    s[3] = 999; /* id out of range */
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_EINVAL);
    hx_model_free(&m);
}

/* A NaN weight gives NaN scores: the pass refuses them (HX_ENAN naming the
 * axis and element) and returns nothing; scores with a NaN stored in a log
 * are refused when read back. */
static void test_nonfinite_scores_refused(void **state)
{
    (void)state;
    hx_config c = tiny();
    hx_model m;
    model_init(&m, &c);
    int32_t s[NS * (T + 1)];
    samples_init(s, NS, c.vocab_size, 9);
    hx_importance_opts o = hx_importance_defaults();
    o.depth = HX_DEPTH_BI;
    o.depth_loss = 0;
    hx_importance r;
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_OK);
    /* Stored with one NaN neuron score, then read back. */
    r.scores.neuron[7] = NAN;
    const char *h5 = hx_tmp_path("scores.h5");
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(h5, HX_H5LOG_CREATE, &log), HX_OK);
    assert_int_equal(hx_importance_write(log, NULL, &r, &o, NULL), HX_OK);
    assert_int_equal(hx_h5log_close(log), HX_OK);
    hx_importance_free(&r);
    hx_importance back;
    assert_int_equal(hx_h5log_open(h5, HX_H5LOG_APPEND, &log), HX_OK);
    assert_int_equal(hx_importance_read(log, NULL, &c, &back), HX_ENAN);
    assert_non_null(strstr(hx_errmsg(), "importance: scores.neuron: element 7 is nan"));
    assert_null(back.scores.neuron);
    assert_int_equal(hx_h5log_close(log), HX_OK);
    /* Neuron 5 of layer 2 is NaN: its score is the first non-finite one. */
    m.layers[2].gate_proj[5 * 24 + 3] = NAN;
    assert_int_equal(hx_importance_run(&m, s, NS, T, &o, &r), HX_ENAN);
    if (!strstr(hx_errmsg(), "importance: scores.neuron: element 69 is nan")) fail_msg("%s", hx_errmsg());
    assert_null(r.scores.neuron);
    hx_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores_match_direct_computation),
        cmocka_unit_test(test_micro_batch_independent),
        cmocka_unit_test(test_dead_components_score_zero),
        cmocka_unit_test(test_sliced_equals_zeroed),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_nonfinite_scores_refused),
    };
    return cmocka_run_group_tests_name("importance", tests, hx_tmp_setup, hx_tmp_teardown);
}
