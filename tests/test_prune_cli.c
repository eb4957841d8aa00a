/* Tests of `harness importance` and `harness prune` run as programs through
 * $HX_HARNESS: stored scores equal the library's, saved pruned models reload
 * to the logits of the in-memory pruned model, field cases C01 and C05 end to
 * end through save and reload, the plan in HDF5, parameter-budget mode, and
 * clear errors for bad targets. */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "data/shard.h"
#include "log/h5log.h"
#include "minitron/calib.h"
#include "minitron/store.h"
#include "minitron/targets.h"
#include "model/forward.h"
#include "model/init.h"
#include "model/safetensors.h"
#include "model/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[64];
static const char *harness;

static hx_config make_cfg(int hidden, int heads, int kv, int head_dim, int ffn, int layers, int vocab, int tied)
{
    return hx_test_config(vocab, hidden, ffn, layers, heads, kv, head_dim, tied);
}

/* A random model saved (float32) to tmp/<name>; returns its path. */
static const char *save_model(const char *name, const hx_config *c, uint64_t seed, hx_model *m)
{
    static char path[8][128];
    static int k;
    char *p = path[k++ & 7];
    snprintf(p, 128, "%s/%s", tmp, name);
    assert_int_equal(hx_model_alloc(m, c), HX_OK);
    assert_int_equal(hx_model_init_random(m, seed), HX_OK);
    /* Non-trivial norms so that channel slicing of norms is exercised. */
    for (int l = 0; l < c->num_hidden_layers; l++)
        for (int i = 0; i < c->hidden_size; i++) {
            m->layers[l].input_layernorm[i] = 1.0f + 0.01f * (float)((i * 7 + l) % 13);
            m->layers[l].post_attention_layernorm[i] = 1.0f - 0.01f * (float)((i * 3 + l) % 11);
        }
    assert_int_equal(hx_model_save(p, m, HX_DT_F32, 0), HX_OK);
    return p;
}

/* Logits [T, vocab] of one sequence. */
static float *logits_of(const hx_model *m, const int32_t *ids, int T)
{
    hx_workspace ws;
    assert_int_equal(hx_workspace_alloc(&ws, &m->cfg, 1, T, HX_WS_INFER), HX_OK);
    assert_int_equal(hx_forward(m, &ws, ids, NULL), HX_OK);
    size_t n = (size_t)T * m->cfg.vocab_size;
    float *out = malloc(n * sizeof(float));
    memcpy(out, ws.logits, n * sizeof(float));
    hx_workspace_free(&ws);
    return out;
}

/* The saved model at `dir` gives exactly the logits of `expect`. */
static void assert_reload_logits(const char *dir, const hx_model *expect)
{
    hx_model r;
    assert_int_equal(hx_model_load(dir, &r), HX_OK);
    assert_memory_equal(&r.cfg.hidden_size, &expect->cfg.hidden_size, sizeof(int));
    int32_t ids[6] = {1, 5, 2, 7, 3, 4};
    float *a = logits_of(&r, ids, 6), *b = logits_of(expect, ids, 6);
    assert_memory_equal(a, b, (size_t)6 * expect->cfg.vocab_size * sizeof(float));
    free(a);
    free(b);
    hx_model_free(&r);
}

/* Runs the harness with `args`; stderr goes to tmp/stderr.txt. Returns the exit status. */
static int run(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s >%s/stdout.txt 2>%s/stderr.txt", harness, args, tmp, tmp);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int stderr_has(const char *needle)
{
    char path[128], *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/stderr.txt", tmp);
    if (hx_read_file(path, &buf, &len) < 0) return 0;
    int found = strstr(buf, needle) != NULL;
    if (!found) fprintf(stderr, "stderr was: %s\n", buf);
    free(buf);
    return found;
}

/* Shards of documents of random tokens in [1, vocab), EOS 0 after each. */
static const char *write_shards(int vocab, int docs)
{
    static char dir[128];
    snprintf(dir, sizeof dir, "%s/shards", tmp);
    hx_shard_writer *w;
    char sha[65];
    memset(sha, 'a', 64);
    sha[64] = '\0';
    assert_int_equal(hx_shard_writer_open(dir, "part", sha, (uint32_t)vocab, HX_BOUNDARY_EOS_AFTER, 0, 1000, &w), HX_OK);
    hx_rng r;
    hx_rng_seed(&r, 3);
    int32_t ids[64];
    for (int d = 0; d < docs; d++) {
        int n = 10 + (int)hx_rng_below(&r, 50);
        for (int i = 0; i < n; i++) ids[i] = 1 + (int32_t)hx_rng_below(&r, (uint64_t)vocab - 1);
        assert_int_equal(hx_shard_writer_add(w, ids, (size_t)n), HX_OK);
    }
    assert_int_equal(hx_shard_writer_close(w, NULL, NULL, NULL), HX_OK);
    return dir;
}

static void read_scores(const char *file, const hx_config *c, hx_importance *r)
{
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(file, HX_H5LOG_APPEND, &log), HX_OK);
    assert_int_equal(hx_importance_read(log, NULL, c, r), HX_OK);
    assert_int_equal(hx_h5log_close(log), HX_OK);
}

#define SKIP_WITHOUT_HARNESS()                                                 \
    if (!harness) {                                                            \
        printf("SKIP: HX_HARNESS not set or not executable; CLI not tested\n"); \
        return;                                                                \
    }

/* importance CLI == library on the same windows; prune CLI's saved model
 * reloads to the in-memory pruned logits; the plan is in the log. */
static void test_importance_then_prune(void **state)
{
    (void)state;
    SKIP_WITHOUT_HARNESS();
    hx_config c = make_cfg(16, 4, 2, 8, 32, 3, 40, 0);
    hx_model m;
    const char *dir = save_model("tiny", &c, 21, &m);
    char tok[160], args[1024], h5[128], out[128], plan_h5[128];
    snprintf(tok, sizeof tok, "%s/tokenizer.json", dir);
    assert_int_equal(hx_write_file_atomic(tok, "{\"model\": {}}", 13), HX_OK);
    const char *shards = write_shards(40, 60);
    snprintf(h5, sizeof h5, "%s/imp.h5", tmp);
    snprintf(args, sizeof args, "importance --model %s --data %s --samples 6 --seq-len 16 --micro-batch 4 --block-len 2 --seed 9 --out %s",
             dir, shards, h5);
    assert_int_equal(run(args), 0);
    /* The library on the same windows. */
    hx_dataset ds;
    assert_int_equal(hx_dataset_open(shards, NULL, &ds), HX_OK);
    int32_t win[6 * 17];
    assert_int_equal(hx_calib_draw(&ds, 6, 16, 9, win), HX_OK);
    hx_dataset_close(&ds);
    hx_importance_opts io = hx_importance_defaults();
    io.block_len = 2;
    hx_importance ref, got;
    assert_int_equal(hx_importance_run(&m, win, 6, 16, &io, &ref), HX_OK);
    read_scores(h5, &c, &got);
    for (int i = 0; i < c.num_hidden_layers * c.num_attention_heads; i++)
        assert_true(fabs(got.scores.head[i] - ref.scores.head[i]) <= 1e-6 * fabs(ref.scores.head[i]));
    for (int i = 0; i < c.num_hidden_layers * c.intermediate_size; i++)
        assert_true(fabs(got.scores.neuron[i] - ref.scores.neuron[i]) <= 1e-6 * fabs(ref.scores.neuron[i]) + 1e-12);
    for (int l = 0; l < c.num_hidden_layers; l++)
        assert_true(fabs(got.scores.layer[l] - ref.scores.layer[l]) <= 1e-6 * fabs(ref.scores.layer[l]));
    assert_int_equal(got.n_blocks, 2);
    assert_true(fabs(got.base_loss - ref.base_loss) < 1e-6 * ref.base_loss);
    assert_int_equal(got.tokens, 6 * 16);
    hx_h5log *log;
    char *s;
    assert_int_equal(hx_h5log_open(h5, HX_H5LOG_APPEND, &log), HX_OK);
    assert_int_equal(hx_h5log_get_attr_str(log, "importance", "convention", &s), HX_OK);
    assert_string_equal(s, "paper");
    free(s);
    assert_int_equal(hx_h5log_get_attr_str(log, "importance", "neuron", &s), HX_OK);
    assert_string_equal(s, "pre");
    free(s);
    assert_int_equal(hx_h5log_close(log), HX_OK);

    /* Prune with the stored scores, then compare with the in-memory result. */
    snprintf(out, sizeof out, "%s/tiny_pruned", tmp);
    snprintf(plan_h5, sizeof plan_h5, "%s/plan.h5", tmp);
    snprintf(args, sizeof args,
             "prune --model %s --scores %s --hidden-size 12 --intermediate-size 20 --num-attention-heads 2 "
             "--num-hidden-layers 2 --out %s --log %s", dir, h5, out, plan_h5);
    assert_int_equal(run(args), 0);
    hx_prune_targets t = {.hidden_size = 12, .intermediate_size = 20, .num_attention_heads = 2, .num_hidden_layers = 2};
    hx_prune_plan plan;
    hx_model p;
    assert_int_equal(hx_prune_plan_build(&c, &got.scores, &t, &plan), HX_OK);
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    assert_reload_logits(out, &p);
    snprintf(tok, sizeof tok, "%s/tokenizer.json", out);
    assert_int_equal(access(tok, R_OK), 0);
    /* The plan as recorded. */
    assert_int_equal(hx_h5log_open(plan_h5, HX_H5LOG_APPEND, &log), HX_OK);
    void *arr;
    int nd;
    int64_t dims[8];
    assert_int_equal(hx_h5log_read_array(log, "prune/keep_heads", HX_H5_I64, &arr, &nd, dims), HX_OK);
    assert_int_equal(nd, 2);
    assert_int_equal(dims[0], 2);
    assert_int_equal(dims[1], 2);
    for (int i = 0; i < 4; i++) assert_int_equal(((int64_t *)arr)[i], plan.keep_heads[i]);
    free(arr);
    assert_int_equal(hx_h5log_read_array(log, "prune/keep_layers", HX_H5_I64, &arr, &nd, dims), HX_OK);
    for (int i = 0; i < 2; i++) assert_int_equal(((int64_t *)arr)[i], plan.keep_layers[i]);
    free(arr);
    assert_int_equal(hx_h5log_get_attr_str(log, "prune", "target_config", &s), HX_OK);
    assert_non_null(strstr(s, "\"hidden_size\":12"));
    assert_non_null(strstr(s, "\"head_dim\":8"));
    free(s);
    assert_int_equal(hx_h5log_get_attr_str(log, "prune", "method", &s), HX_OK);
    assert_string_equal(s, "importance");
    free(s);
    double tp;
    assert_int_equal(hx_h5log_get_attr_double(log, "prune", "target_params", &tp), HX_OK);
    assert_true(tp == (double)hx_config_param_count(&plan.dst));
    assert_int_equal(hx_h5log_close(log), HX_OK);
    hx_model_free(&p);
    hx_prune_plan_free(&plan);

    /* --drop-block 2 removes the stored best block. */
    snprintf(args, sizeof args, "prune --model %s --scores %s --drop-block 2 --out %s/tiny_block", dir, h5, tmp);
    assert_int_equal(run(args), 0);
    int best = hx_importance_best_block(&got);
    int drop[2] = {best, best + 1};
    hx_prune_targets tb = {.drop_layers = drop, .n_drop_layers = 2};
    assert_int_equal(hx_prune_plan_build(&c, &got.scores, &tb, &plan), HX_OK);
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    snprintf(out, sizeof out, "%s/tiny_block", tmp);
    assert_reload_logits(out, &p);
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    /* A block length that was not scanned is refused. */
    snprintf(args, sizeof args, "prune --model %s --scores %s --drop-block 1 --out %s/x", dir, h5, tmp);
    assert_int_not_equal(run(args), 0);
    assert_true(stderr_has("--block-len 1"));
    hx_importance_free(&ref);
    hx_importance_free(&got);
    hx_model_free(&m);
}

/* Writes crafted head scores for model `c` into tmp/<name>. */
static const char *write_scores(const char *name, const hx_config *c, const double *head)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    hx_importance r = {0};
    assert_int_equal(hx_scores_alloc(&r.scores, c), HX_OK);
    r.bi = calloc((size_t)c->num_hidden_layers, sizeof(double));
    for (int l = 0; l < c->num_hidden_layers; l++) r.scores.layer[l] = r.bi[l] = 1.0 + l;
    for (int i = 0; i < c->hidden_size; i++) r.scores.channel[i] = (double)((i * 37) % 101);
    for (int i = 0; i < c->num_hidden_layers * c->intermediate_size; i++) r.scores.neuron[i] = (double)((i * 13) % 29);
    if (head) memcpy(r.scores.head, head, sizeof(double) * (size_t)c->num_hidden_layers * c->num_attention_heads);
    hx_importance_opts io = hx_importance_defaults();
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(path, HX_H5LOG_APPEND, &log), HX_OK);
    assert_int_equal(hx_importance_write(log, NULL, &r, &io, NULL), HX_OK);
    assert_int_equal(hx_h5log_close(log), HX_OK);
    hx_importance_free(&r);
    return path;
}

/* C01: Llama-3.2-1B attention shape, heads 32 -> 24, KV 8 kept, through the CLI. */
static void test_c01_cli(void **state)
{
    (void)state;
    SKIP_WITHOUT_HARNESS();
    hx_config c = make_cfg(2048, 32, 8, 64, 64, 1, 16, 1);
    hx_model m;
    const char *dir = save_model("c01", &c, 5, &m);
    double head[32];
    for (int h = 0; h < 32; h++) head[h] = 10.0 + h;
    for (int g = 0; g < 8; g++) head[4 * g + g % 4] = 0.0;
    const char *scores = write_scores("c01.h5", &c, head);
    char args[512], out[128];
    snprintf(out, sizeof out, "%s/c01_pruned", tmp);
    snprintf(args, sizeof args, "prune --model %s --scores %s --num-attention-heads 24 --out %s", dir, scores, out);
    assert_int_equal(run(args), 0);
    hx_config rc;
    char cfgp[160];
    snprintf(cfgp, sizeof cfgp, "%s/config.json", out);
    assert_int_equal(hx_config_load(cfgp, &rc), HX_OK);
    assert_int_equal(rc.head_dim, 64);
    assert_int_equal(rc.num_attention_heads, 24);
    assert_int_equal(rc.num_key_value_heads, 8);
    assert_int_equal(rc.hidden_size, 2048);
    hx_st *st;
    assert_int_equal(hx_st_open(out, &st), HX_OK);
    const hx_st_tensor *q = hx_st_find(st, "model.layers.0.self_attn.q_proj.weight");
    const hx_st_tensor *o = hx_st_find(st, "model.layers.0.self_attn.o_proj.weight");
    const hx_st_tensor *k = hx_st_find(st, "model.layers.0.self_attn.k_proj.weight");
    const hx_st_tensor *v = hx_st_find(st, "model.layers.0.self_attn.v_proj.weight");
    assert_true(q && o && k && v);
    assert_true(q->shape[0] == 1536 && q->shape[1] == 2048);
    assert_true(o->shape[0] == 2048 && o->shape[1] == 1536);
    assert_true(k->shape[0] == 512 && k->shape[1] == 2048 && v->shape[0] == 512 && v->shape[1] == 2048);
    hx_st_close(st);
    hx_importance r;
    read_scores(scores, &c, &r);
    hx_prune_targets t = {.num_attention_heads = 24};
    hx_prune_plan plan;
    hx_model p;
    assert_int_equal(hx_prune_plan_build(&c, &r.scores, &t, &plan), HX_OK);
    for (int g = 0; g < 8; g++)
        for (int j = 0; j < 3; j++) assert_int_not_equal(plan.keep_heads[3 * g + j], 4 * g + g % 4);
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    assert_reload_logits(out, &p);
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    hx_importance_free(&r);
    hx_model_free(&m);
}

/* C05: drop 2 of 6 layers, save, reload; and bad targets through the CLI. */
static void test_c05_cli_and_bad_targets(void **state)
{
    (void)state;
    SKIP_WITHOUT_HARNESS();
    hx_config c = make_cfg(16, 4, 2, 8, 24, 6, 30, 0);
    hx_model m;
    const char *dir = save_model("c05", &c, 8, &m);
    const char *scores = write_scores("c05.h5", &c, NULL);
    char args[512], out[128];
    snprintf(out, sizeof out, "%s/c05_pruned", tmp);
    snprintf(args, sizeof args, "prune --model %s --scores %s --drop-layers 1,4 --out %s", dir, scores, out);
    assert_int_equal(run(args), 0);
    assert_false(stderr_has("transformers 5.x")); /* 16 channels, 4 heads: loadable everywhere */
    /* 14 channels for 4 heads (head_dim 8 kept): written, with the transformers 5.x warning. */
    char out14[160];
    snprintf(out14, sizeof out14, "%s/c05_h14", tmp);
    snprintf(args, sizeof args, "prune --model %s --scores %s --hidden-size 14 --out %s", dir, scores, out14);
    assert_int_equal(run(args), 0);
    assert_true(stderr_has("warning: pruned model: hidden_size 14 is not a multiple of num_attention_heads 4"));
    assert_true(stderr_has("transformers 5.x refuses it"));
    hx_config rc;
    char cfgp[160];
    snprintf(cfgp, sizeof cfgp, "%s/config.json", out);
    assert_int_equal(hx_config_load(cfgp, &rc), HX_OK);
    assert_int_equal(rc.num_hidden_layers, 4);
    hx_st *st;
    assert_int_equal(hx_st_open(out, &st), HX_OK);
    for (int i = 0; i < hx_st_count(st); i++) {
        const char *name = hx_st_get(st, i)->name;
        if (!strncmp(name, "model.layers.", 13)) assert_true(atoi(name + 13) >= 0 && atoi(name + 13) <= 3);
    }
    for (int l = 0; l < 4; l++) {
        char name[96];
        snprintf(name, sizeof name, "model.layers.%d.mlp.down_proj.weight", l);
        assert_non_null(hx_st_find(st, name));
    }
    assert_int_equal(hx_st_count(st), 4 * 9 + 3); /* 9 tensors per layer + embed, norm, lm_head */
    hx_st_close(st);
    hx_model p, r;
    hx_importance sc;
    read_scores(scores, &c, &sc);
    int drop[2] = {1, 4};
    hx_prune_targets t = {.drop_layers = drop, .n_drop_layers = 2};
    hx_prune_plan plan;
    assert_int_equal(hx_prune_plan_build(&c, &sc.scores, &t, &plan), HX_OK);
    assert_int_equal(hx_prune_apply(&m, &plan, NULL, &p), HX_OK);
    assert_reload_logits(out, &p);
    /* New layer 1 is source layer 2, new layer 3 is source layer 5. */
    assert_int_equal(hx_model_load(out, &r), HX_OK);
    assert_memory_equal(r.layers[1].q_proj, m.layers[2].q_proj, 32 * 16 * sizeof(float));
    assert_memory_equal(r.layers[3].down_proj, m.layers[5].down_proj, 16 * 24 * sizeof(float));
    hx_model_free(&r);
    hx_model_free(&p);
    hx_prune_plan_free(&plan);
    hx_importance_free(&sc);

    /* Bad targets give clear errors and no output directory. */
    snprintf(args, sizeof args, "prune --model %s --scores %s --hidden-size 17 --out %s/bad1", dir, scores, tmp);
    assert_int_not_equal(run(args), 0);
    assert_true(stderr_has("hidden_size = 17 is larger than the source model's 16"));
    snprintf(args, sizeof args, "prune --model %s --scores %s --num-attention-heads 3 --out %s/bad2", dir, scores, tmp);
    assert_int_not_equal(run(args), 0);
    assert_true(stderr_has("cannot be split evenly over 2 KV heads"));
    snprintf(args, sizeof args, "prune --model %s --scores %s --intermediate-size -8 --out %s/bad3", dir, scores, tmp);
    assert_int_not_equal(run(args), 0);
    assert_true(stderr_has("intermediate_size must be positive"));
    snprintf(args, sizeof args, "prune --model %s --scores %s --drop-layers 1,9 --out %s/bad4", dir, scores, tmp);
    assert_int_not_equal(run(args), 0);
    assert_true(stderr_has("layer 9 does not exist"));
    snprintf(args, sizeof args, "prune --model %s --scores %s/none.h5 --hidden-size 8 --out %s/bad5", dir, tmp, tmp);
    assert_int_not_equal(run(args), 0);
    assert_true(stderr_has("cannot read the scores file"));
    snprintf(cfgp, sizeof cfgp, "%s/bad1", tmp);
    assert_int_not_equal(access(cfgp, F_OK), 0);

    /* Parameter budget: the chosen model's count is within the tolerance. */
    hx_config half = c;
    half.hidden_size = 8;
    half.intermediate_size = 12;
    size_t budget = hx_config_param_count(&half);
    snprintf(out, sizeof out, "%s/c05_budget", tmp);
    snprintf(args, sizeof args, "prune --model %s --scores %s --param-budget %zu --divisor 4 --out %s", dir, scores,
             budget, out);
    assert_int_equal(run(args), 0);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", out);
    assert_int_equal(hx_config_load(cfgp, &rc), HX_OK);
    assert_int_equal(rc.hidden_size, 8); /* both axes halved: the most uniform shrink, exact count */
    assert_int_equal(rc.intermediate_size, 12);
    assert_int_equal(rc.num_attention_heads, 4); /* heads kept */
    snprintf(args, sizeof args, "prune --model %s --scores %s --param-budget 10 --out %s/bad6", dir, scores, tmp);
    assert_int_not_equal(run(args), 0);
    assert_true(stderr_has("no hidden_size/intermediate_size"));

    /* Random control: same shape, seeded. */
    snprintf(args, sizeof args, "prune --model %s --random --seed 3 --hidden-size 8 --out %s/c05_rand", dir, tmp);
    assert_int_equal(run(args), 0);
    hx_model_free(&m);
}

static int setup(void **state)
{
    (void)state;
    hx_threads_init();
    const char *h = getenv("HX_HARNESS");
    harness = h && access(h, X_OK) == 0 ? h : NULL;
    snprintf(tmp, sizeof tmp, "/tmp/hx_prune_cli_XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_importance_then_prune),
        cmocka_unit_test(test_c01_cli),
        cmocka_unit_test(test_c05_cli_and_bad_targets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
