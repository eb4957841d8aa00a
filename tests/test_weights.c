/* Tests for harness/model/{config_json,weights}.c: loading the HF-written
 * fixtures of tools/make_io_fixtures.py with exact values, config defaults
 * and errors, shape checks (C02), tied embeddings (C11), save/reload (C05). */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "cpu/convert.h"
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
        assert_int_equal(m.cfg.eos_token_id, 2); /* [2, 3]: the list kept, written back as a list */
        assert_int_equal(m.cfg.n_extra_eos, 1);
        assert_int_equal(m.cfg.extra_eos[0], 3);
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

/* ---- helpers for the tests that write files ---- */

#include "core/rng.h"


static void write_text(const char *path, const char *text)
{
    assert_int_equal(hx_write_file_atomic(path, text, strlen(text)), HX_OK);
}

static hx_config small_config(int layers, int tied)
{
    hx_config c = {0};
    strcpy(c.model_type, "llama");
    c.vocab_size = 40;
    c.hidden_size = 24;
    c.intermediate_size = 20;
    c.num_hidden_layers = layers;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 8; /* != 24/4 */
    c.max_position_embeddings = 128;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000.0;
    c.tie_word_embeddings = tied;
    c.bos_token_id = 1;
    c.eos_token_id = 2;
    return c;
}

static void random_model(hx_model *m, const hx_config *c, uint64_t seed)
{
    assert_int_equal(hx_model_alloc(m, c), HX_OK);
    hx_rng r;
    hx_rng_seed(&r, seed);
    for (size_t i = 0; i < m->n_floats; i++) m->data[i] = (float)hx_rng_normal(&r);
}

/* Writes m's tensors plus optional replacements/extras: `swap` replaces the
 * tensor of that name with `swap_entry`; `extra` is appended. */
static void write_tensors(const char *dir, const hx_model *m, const char *swap, const hx_st_entry *swap_entry,
                          const hx_st_entry *extra)
{
    hx_param ps[64];
    hx_st_entry es[66];
    int n = hx_model_params(m, ps), k = 0;
    for (int i = 0; i < n; i++) {
        if (swap && !strcmp(ps[i].name, swap)) {
            if (swap_entry) es[k++] = *swap_entry;
            continue;
        }
        es[k++] = (hx_st_entry){ps[i].name, ps[i].data, HX_DT_F32, HX_DT_F32, ps[i].cols ? 2 : 1, {ps[i].rows, ps[i].cols}};
    }
    if (extra) es[k++] = *extra;
    assert_int_equal(hx_st_write(dir, NULL, es, k, 0), HX_OK);
}

static void expect_load_error(const char *dir, int code, const char *s1, const char *s2, const char *s3)
{
    hx_model m;
    int rc = hx_model_load(dir, &m);
    if (rc != code) fail_msg("%s: expected %s, got %s (%s)", dir, hx_strstatus(code), hx_strstatus(rc), hx_errmsg());
    assert_null(m.data);
    const char *want[3] = {s1, s2, s3};
    for (int i = 0; i < 3; i++)
        if (want[i] && !strstr(hx_errmsg(), want[i])) fail_msg("error '%s' lacks '%s'", hx_errmsg(), want[i]);
}

/* Field-by-field (struct padding is not guaranteed to be copied). */
static void assert_configs_equal(const hx_config *a, const hx_config *b)
{
    assert_string_equal(a->model_type, b->model_type);
#define EQ(f) assert_true(a->f == b->f)
    EQ(vocab_size), EQ(hidden_size), EQ(intermediate_size), EQ(num_hidden_layers), EQ(num_attention_heads);
    EQ(num_key_value_heads), EQ(head_dim), EQ(max_position_embeddings), EQ(rms_norm_eps), EQ(rope_theta);
    EQ(rope_type), EQ(rope_factor), EQ(rope_low_freq_factor), EQ(rope_high_freq_factor);
    EQ(rope_original_max_position), EQ(tie_word_embeddings), EQ(bos_token_id), EQ(eos_token_id), EQ(sliding_window);
    EQ(n_extra_eos);
    for (int i = 0; i < a->n_extra_eos; i++) EQ(extra_eos[i]);
#undef EQ
}

static void assert_models_equal(const hx_model *a, const hx_model *b)
{
    assert_int_equal(a->n_floats, b->n_floats);
    assert_configs_equal(&a->cfg, &b->cfg);
    assert_memory_equal(a->data, b->data, a->n_floats * sizeof(float));
}

/* ---- round trips ---- */

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    for (int tied = 0; tied < 2; tied++) {
        hx_config c = small_config(3, tied);
        c.rope_type = HX_ROPE_LLAMA3;
        c.rope_factor = 32;
        c.rope_low_freq_factor = 1;
        c.rope_high_freq_factor = 4;
        c.rope_original_max_position = 8192;
        c.eos_token_id = -1;
        hx_model m, r;
        random_model(&m, &c, 7 + (uint64_t)tied);
        /* F32, sharded at ~8 KB: exact. */
        assert_int_equal(hx_model_save(hx_tmpdir, &m, HX_DT_F32, 8000), HX_OK);
        assert_int_equal(access(hx_tmp_path("model.safetensors.index.json"), F_OK), 0);
        if (hx_model_load(hx_tmpdir, &r) < 0) fail_msg("%s", hx_errmsg());
        assert_models_equal(&m, &r);
        assert_true(!tied || r.lm_head == r.embed_tokens);
        hx_model_free(&r);
        /* BF16, one file: every value is its bf16 rounding. */
        assert_int_equal(hx_model_save(hx_tmpdir, &m, HX_DT_BF16, 0), HX_OK);
        assert_int_not_equal(access(hx_tmp_path("model.safetensors.index.json"), F_OK), 0);
        if (hx_model_load(hx_tmpdir, &r) < 0) fail_msg("%s", hx_errmsg());
        assert_configs_equal(&m.cfg, &r.cfg);
        size_t diff = 0;
        for (size_t i = 0; i < m.n_floats; i++) diff += r.data[i] != hx_bf16_to_f32(hx_f32_to_bf16(m.data[i]));
        assert_int_equal(diff, 0);
        assert_true(r.data[0] != m.data[0] || r.data[1] != m.data[1]); /* rounding did happen */
        hx_model_free(&r);
        /* The config says what transformers needs. */
        json_error_t je;
        json_t *j = json_load_file(hx_tmp_path("config.json"), 0, &je);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "architectures"), 0)), "LlamaForCausalLM");
        assert_string_equal(json_string_value(json_object_get(j, "torch_dtype")), "bfloat16");
        assert_string_equal(json_string_value(json_object_get(j, "dtype")), "bfloat16");
        assert_int_equal(json_integer_value(json_object_get(j, "head_dim")), 8);
        assert_true(json_real_value(json_object_get(j, "rms_norm_eps")) == 1e-5);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "rope_scaling"), "rope_type")), "llama3");
        assert_true(json_is_null(json_object_get(j, "eos_token_id")));
        assert_int_equal(json_is_true(json_object_get(j, "tie_word_embeddings")), tied);
        json_decref(j);
        hx_model_free(&m);
    }
}

/* C05: a model whose layers were dropped and renumbered 0..n-1 saves and
 * reloads to the same weights. */
static void test_c05_renumbered_layers(void **state)
{
    (void)state;
    hx_config c6 = small_config(6, 0), c4 = small_config(4, 0);
    hx_model full, pruned, back;
    random_model(&full, &c6, 11);
    assert_int_equal(hx_model_alloc(&pruned, &c4), HX_OK);
    size_t emb = (size_t)c6.vocab_size * c6.hidden_size;
    memcpy(pruned.embed_tokens, full.embed_tokens, emb * sizeof(float));
    memcpy(pruned.lm_head, full.lm_head, emb * sizeof(float));
    memcpy(pruned.norm, full.norm, (size_t)c6.hidden_size * sizeof(float));
    const int keep[4] = {0, 2, 3, 5};
    size_t layer_floats = (size_t)(full.layers[1].input_layernorm - full.layers[0].input_layernorm);
    for (int l = 0; l < 4; l++)
        memcpy(pruned.layers[l].input_layernorm, full.layers[keep[l]].input_layernorm, layer_floats * sizeof(float));
    assert_int_equal(hx_model_save(hx_tmpdir, &pruned, HX_DT_F32, 0), HX_OK);
    if (hx_model_load(hx_tmpdir, &back) < 0) fail_msg("%s", hx_errmsg());
    assert_int_equal(back.cfg.num_hidden_layers, 4);
    assert_models_equal(&pruned, &back);
    for (int l = 0; l < 4; l++)
        assert_memory_equal(back.layers[l].down_proj, full.layers[keep[l]].down_proj,
                            (size_t)c6.hidden_size * c6.intermediate_size * sizeof(float));
    hx_st *st;
    assert_int_equal(hx_st_open(hx_tmpdir, &st), HX_OK);
    assert_non_null(hx_st_find(st, "model.layers.3.mlp.up_proj.weight"));
    assert_null(hx_st_find(st, "model.layers.4.mlp.up_proj.weight"));
    assert_null(hx_st_find(st, "model.layers.5.mlp.up_proj.weight"));
    hx_st_close(st);
    hx_model_free(&full);
    hx_model_free(&pruned);
    hx_model_free(&back);
}

/* C02: shapes follow num_attention_heads*head_dim, never hidden/heads. */
static void test_c02_head_dim_shapes(void **state)
{
    (void)state;
    hx_config c = small_config(1, 0);
    c.hidden_size = 96;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 4;
    c.head_dim = 32; /* 96/4 = 24 */
    hx_model m, r;
    random_model(&m, &c, 3);
    assert_int_equal(hx_model_save(hx_tmpdir, &m, HX_DT_F32, 0), HX_OK);
    hx_st *st;
    assert_int_equal(hx_st_open(hx_tmpdir, &st), HX_OK);
    const hx_st_tensor *q = hx_st_find(st, "model.layers.0.self_attn.q_proj.weight");
    assert_true(q->shape[0] == 128 && q->shape[1] == 96);
    const hx_st_tensor *o = hx_st_find(st, "model.layers.0.self_attn.o_proj.weight");
    assert_true(o->shape[0] == 96 && o->shape[1] == 128);
    hx_st_close(st);
    if (hx_model_load(hx_tmpdir, &r) < 0) fail_msg("%s", hx_errmsg());
    assert_int_equal(r.cfg.head_dim, 32);
    assert_models_equal(&m, &r);
    hx_model_free(&r);
    /* A q_proj shaped by hidden/heads (96x96) is rejected, naming file, tensor and both shapes. */
    float *q96 = calloc(96 * 96, sizeof(float));
    hx_st_entry bad = {"model.layers.0.self_attn.q_proj.weight", q96, HX_DT_F32, HX_DT_F32, 2, {96, 96}};
    write_tensors(hx_tmpdir, &m, bad.name, &bad, NULL);
    expect_load_error(hx_tmpdir, HX_EFORMAT, "model.safetensors: tensor 'model.layers.0.self_attn.q_proj.weight'",
                      "[96, 96]", "[128, 96]");
    free(q96);
    hx_model_free(&m);
}

/* C11: tied embeddings. */
static void test_c11_tied_embeddings(void **state)
{
    (void)state;
    hx_config c = small_config(1, 1);
    hx_model m, r;
    random_model(&m, &c, 5);
    size_t emb = (size_t)c.vocab_size * c.hidden_size;
    /* (b) tied, but the file also holds a different lm_head.weight. */
    float *lm = malloc(emb * sizeof(float));
    memcpy(lm, m.embed_tokens, emb * sizeof(float));
    lm[17] += 0.5f;
    hx_st_entry extra = {"lm_head.weight", lm, HX_DT_F32, HX_DT_F32, 2, {c.vocab_size, c.hidden_size}};
    write_tensors(hx_tmpdir, &m, NULL, NULL, &extra);
    assert_int_equal(hx_config_save(hx_tmp_path("config.json"), &c), HX_OK);
    fflush(stderr);
    int saved = dup(2);
    FILE *cap = fopen(hx_tmp_path("stderr.txt"), "w+");
    dup2(fileno(cap), 2);
    int rc = hx_model_load(hx_tmpdir, &r);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[1024] = "";
    rewind(cap);
    size_t got = fread(text, 1, sizeof text - 1, cap);
    text[got] = '\0';
    fclose(cap);
    if (rc < 0) fail_msg("%s", hx_errmsg());
    assert_ptr_equal(r.lm_head, r.embed_tokens);
    assert_memory_equal(r.embed_tokens, m.embed_tokens, emb * sizeof(float)); /* policy: embed_tokens kept */
    assert_non_null(strstr(text, "warning"));
    assert_non_null(strstr(text, "lm_head.weight"));
    assert_non_null(strstr(text, "model.embed_tokens.weight"));
    assert_non_null(strstr(text, "max |diff| = 0.5"));
    hx_model_free(&r);
    /* Same tensors, equal values: loads without complaint (no warning path). */
    memcpy(lm, m.embed_tokens, emb * sizeof(float));
    write_tensors(hx_tmpdir, &m, NULL, NULL, &extra);
    if (hx_model_load(hx_tmpdir, &r) < 0) fail_msg("%s", hx_errmsg());
    assert_ptr_equal(r.lm_head, r.embed_tokens);
    hx_model_free(&r);
    /* (a) is the HF fixture llama-tied (test_load_hf_tied) and the save round trip.
     * Untied config without lm_head.weight: an error naming it. */
    c.tie_word_embeddings = 0;
    assert_int_equal(hx_config_save(hx_tmp_path("config.json"), &c), HX_OK);
    write_tensors(hx_tmpdir, &m, NULL, NULL, NULL);
    expect_load_error(hx_tmpdir, HX_EFORMAT, "missing tensors: lm_head.weight", "tie_word_embeddings is false", NULL);
    free(lm);
    hx_model_free(&m);
}

static void test_missing_unexpected_ignorable(void **state)
{
    (void)state;
    hx_config c = small_config(2, 1);
    hx_model m, r;
    random_model(&m, &c, 9);
    assert_int_equal(hx_config_save(hx_tmp_path("config.json"), &c), HX_OK);
    /* Missing tensor. */
    write_tensors(hx_tmpdir, &m, "model.layers.1.mlp.up_proj.weight", NULL, NULL);
    expect_load_error(hx_tmpdir, HX_EFORMAT, hx_tmpdir, "missing tensors: model.layers.1.mlp.up_proj.weight", NULL);
    /* Unexpected tensor (e.g. a third layer the config does not have). */
    float x[24] = {0};
    hx_st_entry extra = {"model.layers.2.input_layernorm.weight", x, HX_DT_F32, HX_DT_F32, 1, {24}};
    write_tensors(hx_tmpdir, &m, NULL, NULL, &extra);
    expect_load_error(hx_tmpdir, HX_EFORMAT, "unexpected tensors", "model.layers.2.input_layernorm.weight", NULL);
    /* rotary_emb.inv_freq buffers of old conversions are ignored. */
    hx_st_entry inv = {"model.layers.0.self_attn.rotary_emb.inv_freq", x, HX_DT_F32, HX_DT_F32, 1, {4}};
    write_tensors(hx_tmpdir, &m, NULL, NULL, &inv);
    if (hx_model_load(hx_tmpdir, &r) < 0) fail_msg("%s", hx_errmsg());
    assert_models_equal(&m, &r);
    hx_model_free(&r);
    /* An integer tensor where a weight belongs. */
    int32_t ints[24] = {0};
    hx_st_entry bad = {"model.norm.weight", ints, HX_DT_I32, HX_DT_I32, 1, {24}};
    write_tensors(hx_tmpdir, &m, "model.norm.weight", &bad, NULL);
    expect_load_error(hx_tmpdir, HX_EFORMAT, "'model.norm.weight'", "I32", NULL);
    hx_model_free(&m);
}

/* Config/shape mismatch and bad configs, built from the HF fp32 fixture. */
static void test_bad_configs(void **state)
{
    (void)state;
    char *cfg_text;
    size_t len;
    assert_int_equal(hx_read_file(FIX "llama-f32/config.json", &cfg_text, &len), HX_OK);
    char *st_text;
    assert_int_equal(hx_read_file(FIX "llama-f32/model.safetensors", &st_text, &len), HX_OK);
    assert_int_equal(hx_write_file_atomic(hx_tmp_path("model.safetensors"), st_text, len), HX_OK);
    free(st_text);
    json_error_t je;
    json_t *good = json_loads(cfg_text, 0, &je);
    assert_non_null(good);
    free(cfg_text);
    const char *cfg = hx_tmp_path("config.json");
    struct {
        const char *key, *value; /* JSON text; NULL value deletes the key */
        int code;
        const char *s1, *s2;
    } cases[] = {
        /* Shapes no longer match the file: names the file, a tensor, both shapes. */
        {"intermediate_size", "40", HX_EFORMAT, "model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight'",
         "[48, 32] but the config implies [40, 32]"},
        {"num_key_value_heads", "3", HX_EINVAL, "config.json", "num_key_value_heads (3) must divide"},
        {"head_dim", "15", HX_EINVAL, "config.json", "head_dim (15) must be even"},
        {"hidden_size", "\"32\"", HX_EFORMAT, "config.json", "\"hidden_size\" must be an integer"},
        {"vocab_size", NULL, HX_EFORMAT, "config.json", "required field \"vocab_size\""},
        {"model_type", "\"nemotron\"", HX_EFORMAT, "config.json", "\"nemotron\" is not supported"},
        {"architectures", "[\"GPT2LMHeadModel\"]", HX_EFORMAT, "config.json", "architectures"},
        {"rope_parameters", "{\"rope_type\": \"yarn\", \"factor\": 4.0, \"rope_theta\": 10000.0}", HX_EFORMAT,
         "config.json", "rope_parameters.rope_type\" = \"yarn\" is not supported"},
        {"rope_parameters", "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"rope_theta\": 10000.0}", HX_EFORMAT,
         "config.json", "rope_parameters.low_freq_factor"},
        {"hidden_act", "\"gelu\"", HX_EFORMAT, "config.json", "hidden_act"},
        {"attention_bias", "true", HX_EFORMAT, "config.json", "attention_bias"},
        /* Heterogeneous layers would be dropped on save: refused, naming the field. */
        {"per_layer_config", "{\"1\": {\"intermediate_size\": 32}}", HX_EFORMAT, "config.json",
         "\"per_layer_config\" (heterogeneous layers, Nemotron/DeciLM-style) is not supported"},
        {"block_configs", "[{\"ffn\": {\"ffn_mult\": 2.0}}]", HX_EFORMAT, "config.json", "\"block_configs\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = json_deep_copy(good);
        if (cases[i].value)
            json_object_set_new(j, cases[i].key, json_loads(cases[i].value, JSON_DECODE_ANY, &je));
        else
            json_object_del(j, cases[i].key);
        assert_int_equal(hx_json_write_atomic(cfg, j), HX_OK);
        json_decref(j);
        expect_load_error(hx_tmpdir, cases[i].code, cases[i].s1, cases[i].s2, NULL);
    }
    /* An empty or null per_layer_config means every layer is the same: accepted. */
    for (int k = 0; k < 2; k++) {
        json_t *h = json_deep_copy(good);
        json_object_set_new(h, "per_layer_config", k ? json_null() : json_object());
        assert_int_equal(hx_json_write_atomic(cfg, h), HX_OK);
        json_decref(h);
        hx_model ok;
        if (hx_model_load(hx_tmpdir, &ok) < 0) fail_msg("%s", hx_errmsg());
        hx_model_free(&ok);
    }
    /* Every contradicting tensor is listed, not only the first. */
    json_t *w = json_deep_copy(good);
    json_object_set_new(w, "intermediate_size", json_integer(40));
    assert_int_equal(hx_json_write_atomic(cfg, w), HX_OK);
    json_decref(w);
    expect_load_error(hx_tmpdir, HX_EFORMAT, "6 tensors contradict the config", "model.layers.1.mlp.up_proj.weight",
                      "intermediate_size 40");
    /* rope_theta null and none in rope_parameters. */
    json_t *j = json_deep_copy(good);
    json_object_set_new(j, "rope_theta", json_null());
    json_object_del(json_object_get(j, "rope_parameters"), "rope_theta");
    assert_int_equal(hx_json_write_atomic(cfg, j), HX_OK);
    json_decref(j);
    expect_load_error(hx_tmpdir, HX_EFORMAT, "config.json", "rope_theta\" is null", NULL);
    /* Malformed JSON names the file and the position. */
    write_text(cfg, "{\"vocab_size\": 64,\n \"hidden_size\": }\n");
    expect_load_error(hx_tmpdir, HX_EFORMAT, "config.json: malformed JSON", "line 2", NULL);
    /* No config at all. */
    unlink(cfg);
    expect_load_error(hx_tmpdir, HX_EIO, "config.json", "cannot open", NULL);
    json_decref(good);
}

/* A weight file with one NaN, +Inf or -Inf element (F32 or BF16, single or
 * sharded) is refused: HX_ENAN naming the file, the tensor and the first bad
 * element; nothing is loaded. */
static void test_nonfinite_weights_refused(void **state)
{
    (void)state;
    hx_config c = small_config(2, 0);
    hx_model m;
    random_model(&m, &c, 5);
    const struct {
        float v;
        hx_dtype dt;
        uint64_t shard;
        const char *want;
    } cases[] = {
        {NAN, HX_DT_F32, 0, "model.safetensors: tensor 'model.layers.0.input_layernorm.weight': element 17 is nan"},
        {INFINITY, HX_DT_F32, 0, "tensor 'model.layers.0.input_layernorm.weight': element 17 is inf"},
        {-INFINITY, HX_DT_BF16, 0, "tensor 'model.layers.0.input_layernorm.weight': element 17 is -inf"},
        {NAN, HX_DT_F32, 8000, "tensor 'model.layers.0.input_layernorm.weight': element 17 is nan"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        float keep = m.layers[0].input_layernorm[17];
        m.layers[0].input_layernorm[17] = cases[k].v;
        m.layers[0].input_layernorm[20] = NAN; /* a later one is not the one reported */
        assert_int_equal(hx_rm_rf(hx_tmpdir), HX_OK);
        assert_int_equal(hx_model_save(hx_tmpdir, &m, cases[k].dt, cases[k].shard), HX_OK);
        expect_load_error(hx_tmpdir, HX_ENAN, cases[k].want, NULL, NULL);
        m.layers[0].input_layernorm[17] = keep;
        m.layers[0].input_layernorm[20] = 1.0f;
    }
    /* The same model with finite values loads. */
    assert_int_equal(hx_model_save(hx_tmpdir, &m, HX_DT_F32, 0), HX_OK);
    hx_model r;
    if (hx_model_load(hx_tmpdir, &r) < 0) fail_msg("%s", hx_errmsg());
    hx_model_free(&r);
    hx_model_free(&m);
}

/* HF defaults on hand-written configs (old Llama, Mistral, v4 rope_scaling). */
static void test_config_defaults(void **state)
{
    (void)state;
    hx_config c;
    const char *p = hx_tmp_path("config.json");
    /* an eos_token_id list longer than the struct holds is refused, not cut */
    write_text(p, "{\"model_type\": \"llama\", \"vocab_size\": 32, \"hidden_size\": 8, \"intermediate_size\": 8,"
                  " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"eos_token_id\": [1,2,3,4,5,6,7,8,9]}");
    assert_int_equal(hx_config_load(p, &c), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "eos_token_id\" lists 9 ids (at most 8)"));
    /* Llama-1 style: no num_key_value_heads, no head_dim, no rope, bos list, eos null. */
    write_text(p, "{\"model_type\": \"llama\", \"vocab_size\": 32000, \"hidden_size\": 4096, \"intermediate_size\": 11008,"
                  " \"num_hidden_layers\": 32, \"num_attention_heads\": 32, \"bos_token_id\": [1, 5],"
                  " \"eos_token_id\": null, \"rope_scaling\": null}");
    if (hx_config_load(p, &c) < 0) fail_msg("%s", hx_errmsg());
    assert_int_equal(c.bos_token_id, 1);
    assert_int_equal(c.eos_token_id, -1);
    assert_int_equal(c.n_extra_eos, 0);
    assert_int_equal(c.num_key_value_heads, 32);
    assert_int_equal(c.head_dim, 128);
    assert_int_equal(c.rope_type, HX_ROPE_DEFAULT);
    assert_true(c.rope_theta == 10000.0);
    assert_true(c.rms_norm_eps == 1e-6f);
    assert_int_equal(c.max_position_embeddings, 2048);
    assert_int_equal(c.tie_word_embeddings, 0);
    assert_int_equal(c.bos_token_id, 1);
    assert_int_equal(c.eos_token_id, -1);
    assert_int_equal(c.sliding_window, 0);
    /* Minitron-4B-Width shape: explicit head_dim wins over hidden/heads; v4 rope_scaling with "type". */
    write_text(p, "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 128256, \"hidden_size\": 3072,"
                  " \"intermediate_size\": 9216, \"num_hidden_layers\": 32, \"num_attention_heads\": 32,"
                  " \"num_key_value_heads\": 8, \"head_dim\": 128, \"rope_theta\": 500000.0, \"tie_word_embeddings\": true,"
                  " \"rope_scaling\": {\"type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0,"
                  " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}}");
    if (hx_config_load(p, &c) < 0) fail_msg("%s", hx_errmsg());
    assert_string_equal(c.model_type, "llama");
    assert_int_equal(c.head_dim, 128);
    assert_int_equal(c.num_key_value_heads, 8);
    assert_int_equal(c.tie_word_embeddings, 1);
    assert_int_equal(c.rope_type, HX_ROPE_LLAMA3);
    assert_int_equal(c.rope_original_max_position, 8192);
    assert_true(c.rope_theta == 500000.0);
    /* head_dim null falls back to hidden/heads. */
    write_text(p, "{\"model_type\": \"llama\", \"vocab_size\": 64, \"hidden_size\": 96, \"intermediate_size\": 64,"
                  " \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"head_dim\": null}");
    if (hx_config_load(p, &c) < 0) fail_msg("%s", hx_errmsg());
    assert_int_equal(c.head_dim, 24);
    /* Mistral: kv heads absent -> 8, sliding_window null -> 0 (absent -> 4096). */
    write_text(p, "{\"model_type\": \"mistral\", \"vocab_size\": 32000, \"hidden_size\": 4096, \"intermediate_size\": 14336,"
                  " \"num_hidden_layers\": 2, \"num_attention_heads\": 32, \"sliding_window\": null,"
                  " \"rope_theta\": 1000000.0}");
    if (hx_config_load(p, &c) < 0) fail_msg("%s", hx_errmsg());
    assert_string_equal(c.model_type, "mistral");
    assert_int_equal(c.num_key_value_heads, 8);
    assert_int_equal(c.sliding_window, 0);
    assert_int_equal(c.max_position_embeddings, 131072);
    assert_true(c.rope_theta == 1e6);
    write_text(p, "{\"architectures\": [\"MistralForCausalLM\"], \"vocab_size\": 32000, \"hidden_size\": 4096,"
                  " \"intermediate_size\": 14336, \"num_hidden_layers\": 2, \"num_attention_heads\": 32,"
                  " \"num_key_value_heads\": null}");
    if (hx_config_load(p, &c) < 0) fail_msg("%s", hx_errmsg());
    assert_string_equal(c.model_type, "mistral");
    assert_int_equal(c.num_key_value_heads, 32);
    assert_int_equal(c.sliding_window, 4096);
    /* Save -> load gives the same struct (Mistral with a window). */
    hx_config back;
    c.sliding_window = 4096;
    assert_int_equal(hx_config_save(p, &c), HX_OK);
    if (hx_config_load(p, &back) < 0) fail_msg("%s", hx_errmsg());
    assert_configs_equal(&c, &back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_hf_fp32_bf16_sharded),
        cmocka_unit_test(test_load_hf_tied),
        cmocka_unit_test_setup_teardown(test_save_load_roundtrip, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_c05_renumbered_layers, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_c02_head_dim_shapes, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_c11_tied_embeddings, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_missing_unexpected_ignorable, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_bad_configs, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_config_defaults, hx_tmp_setup, hx_tmp_teardown),
        cmocka_unit_test_setup_teardown(test_nonfinite_weights_refused, hx_tmp_setup, hx_tmp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
