/* Tests for `harness inspect` (harness/model/inspect.c): text and JSON
 * reports of the HF fixtures and of a saved model with more than 10 layers,
 * and a checkpoint whose tensor shapes contradict its config (every mismatch
 * listed, non-zero exit through $HX_HARNESS). */
#include "test_util.h"

#include "core/err.h"
#include "model/inspect.h"
#include "model/weights.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs hx_inspect into a malloc'd string. */
static char *report(const char *path, int json, int *rc)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    *rc = hx_inspect(path, json, f);
    long n = ftell(f);
    rewind(f);
    char *s = calloc((size_t)n + 1, 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return s;
}

static void test_inspect_text(void **state)
{
    (void)state;
    int rc;
    char *s = report("tests/fixtures/io/llama-sharded", 0, &rc);
    assert_int_equal(rc, HX_OK);
    assert_non_null(strstr(s, "head_dim                 16  (heads x head_dim != hidden_size)"));
    assert_non_null(strstr(s, "num_key_value_heads      2\n"));
    assert_non_null(strstr(s, "tie_word_embeddings      false"));
    assert_non_null(strstr(s, "llama3, theta 500000, factor 8"));
    /* 2 * 64*32 embeddings + 2 layers * (2*32 + 64*32 + 2*32*32 + 32*64 + 3*48*32) + 32 */
    assert_non_null(strstr(s, "parameters: 25760 total, 21664 non-embedding"));
    assert_non_null(strstr(s, "tensors: 21\n"));
    assert_non_null(strstr(s, "model.layers.1.self_attn.q_proj.weight          F32    [64, 32]\n"));
    free(s);
    /* A single file: tensor table only; BF16 dtype shown. */
    s = report("tests/fixtures/io/llama-bf16/model.safetensors", 0, &rc);
    assert_int_equal(rc, HX_OK);
    assert_null(strstr(s, "hidden_size"));
    assert_non_null(strstr(s, "model.norm.weight"));
    assert_non_null(strstr(s, "BF16   [32]\n"));
    free(s);
    /* Tied: lm_head not stored, counted once. */
    s = report("tests/fixtures/io/llama-tied", 0, &rc);
    assert_int_equal(rc, HX_OK);
    assert_non_null(strstr(s, "parameters: 23712 total, 21664 non-embedding"));
    assert_non_null(strstr(s, "tie_word_embeddings      true"));
    free(s);
    s = report("tests/fixtures/io/nonexistent", 0, &rc);
    assert_int_equal(rc, HX_EIO);
    assert_non_null(strstr(hx_errmsg(), "nonexistent"));
    free(s);
}

/* Saves a tiny tied Llama (vocab 8, hidden 4, MLP 4, 2 heads / 1 KV head of
 * dim 2) with `layers` layers in `dtype` into the fresh directory made from
 * the mkdtemp template `dir`; returns its config. */
static hx_config save_tiny(char *dir, int layers, hx_dtype dtype)
{
    assert_non_null(mkdtemp(dir));
    hx_config c = hx_test_config(8, 4, 4, layers, 2, 1, 2, 1);
    c.max_position_embeddings = 16;
    hx_model m;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    assert_int_equal(hx_model_save(dir, &m, dtype, 0), HX_OK);
    hx_model_free(&m);
    return c;
}

static void test_inspect_json_natural_order(void **state)
{
    (void)state;
    char dir[] = "/tmp/hx_insp_XXXXXX";
    hx_config c = save_tiny(dir, 11, HX_DT_BF16);
    int rc;
    char *s = report(dir, 1, &rc);
    assert_int_equal(rc, HX_OK);
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (!j) fail_msg("bad JSON: %s\n%s", je.text, s);
    json_t *cfg = json_object_get(j, "config");
    assert_int_equal(json_integer_value(json_object_get(cfg, "num_hidden_layers")), 11);
    assert_int_equal(json_integer_value(json_object_get(cfg, "head_dim")), 2);
    assert_true(json_is_true(json_object_get(cfg, "tie_word_embeddings")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(cfg, "rope"), "type")), "default");
    json_t *t = json_object_get(j, "tensors");
    assert_int_equal(json_array_size(t), 1 + 9 * 11 + 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "parameters"), "total")),
                     (json_int_t)hx_config_param_count(&c));
    /* natural order: embed, layers 0..10 (2 before 10), norm */
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 0), "name")), "model.embed_tokens.weight");
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 1 + 9 * 2), "name")),
                        "model.layers.2.input_layernorm.weight");
    assert_string_equal(json_string_value(json_object_get(json_array_get(t, 1 + 9 * 10), "name")),
                        "model.layers.10.input_layernorm.weight");
    json_t *t1 = json_array_get(t, 1);
    assert_string_equal(json_string_value(json_object_get(t1, "dtype")), "BF16");
    assert_string_equal(json_string_value(json_object_get(t1, "file")), "model.safetensors");
    json_decref(j);
    free(s);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Counts the occurrences of `needle` in `s`. */
static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *q = s; (q = strstr(q, needle)); q++) n++;
    return n;
}

/* A saved model whose config.json then claims intermediate_size 6 (the
 * tensors hold 4) and 1 query head (they hold 2): gate/up/down and q/o of
 * both layers contradict it. inspect prints the report, lists all ten
 * mismatches and fails; the CLI exits 1. */
static void test_inspect_shape_mismatch(void **state)
{
    (void)state;
    char dir[] = "/tmp/hx_insp_XXXXXX";
    hx_config c = save_tiny(dir, 2, HX_DT_F32);
    int rc;
    char *s = report(dir, 0, &rc);
    assert_int_equal(rc, HX_OK);
    assert_non_null(strstr(s, "tensors against the config:\n  ok\n"));
    free(s);
    c.intermediate_size = 6;
    c.num_attention_heads = 1;
    char cfg[64];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    assert_int_equal(hx_config_save(cfg, &c), HX_OK);
    s = report(dir, 0, &rc);
    assert_int_equal(rc, HX_EFORMAT);
    assert_non_null(strstr(s, "tensors: 20\n")); /* the report is still there */
    assert_non_null(strstr(s, "  model.safetensors: tensor 'model.layers.1.mlp.down_proj.weight' has shape [4, 4] but "
                              "the config implies [4, 6]\n"));
    assert_non_null(strstr(s, "tensor 'model.layers.0.self_attn.q_proj.weight' has shape [4, 4] but the config "
                              "implies [2, 4]"));
    assert_int_equal(count(s, "but the config implies"), 10);
    assert_non_null(strstr(hx_errmsg(), "10 tensors contradict the config"));
    free(s);
    const char *harness = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s inspect %s >/dev/null 2>&1", harness, dir);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspect_text),
        cmocka_unit_test(test_inspect_json_natural_order),
        cmocka_unit_test(test_inspect_shape_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
