/* Tests for harness/exp: manifest parsing, defaults, validation messages
 * (file:line:column and field path), sweeps, content hashes, the plan and
 * `harness run --dry-run`. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "exp/manifest.h"
#include "exp/plan.h"
#include "exp/runner.h"
#include "model/model.h"

#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A minimal valid manifest; tests splice variations into it. */
#define MINI_HEAD                                                                                              \
    "teacher:\n"                                                                                               \
    "  config:\n"                                                                                              \
    "    vocab_size: 512\n"                                                                                    \
    "    hidden_size: 64\n"                                                                                    \
    "    intermediate_size: 128\n"                                                                             \
    "    num_hidden_layers: 4\n"                                                                               \
    "    num_attention_heads: 24\n"                                                                            \
    "    num_key_value_heads: 8\n"                                                                             \
    "    head_dim: 8\n"                                                                                        \
    "  train: {tokens: 10k}\n"                                                                                 \
    "data:\n"                                                                                                  \
    "  train: a.jsonl\n"                                                                                       \
    "  validation: b.jsonl\n"                                                                                  \
    "  tokenizer: tok.json\n"                                                                                  \
    "  seq_len: 32\n"

static int parse(const char *text, hx_manifest *m) { return hx_manifest_parse("x.yaml", text, strlen(text), m); }

/* Parses text that must fail; returns the error message. */
static const char *parse_err(const char *text, int expect_code)
{
    hx_manifest m;
    int rc = parse(text, &m);
    if (rc != expect_code) fprintf(stderr, "rc %d, message: %s\n", rc, hx_errmsg());
    assert_int_equal(rc, expect_code);
    return hx_errmsg();
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fprintf(stderr, "expected \"%s\" in:\n%s\n", needle, hay);
    assert_non_null(strstr(hay, needle));
}

static void test_shipped_manifests_validate(void **state)
{
    (void)state;
    glob_t g;
    assert_int_equal(glob("experiments/*.yaml", 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 10);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        hx_manifest m;
        int rc = hx_manifest_load(g.gl_pathv[i], &m);
        if (rc < 0) fprintf(stderr, "%s: %s\n", g.gl_pathv[i], hx_errmsg());
        assert_int_equal(rc, HX_OK);
        assert_true(m.n_arms >= 1);
        hx_plan p;
        assert_int_equal(hx_plan_build(&m, NULL, 0, &p), HX_OK);
        assert_int_equal(p.n_arms, m.n_arms);
        hx_plan_free(&p);
        hx_manifest_free(&m);
    }
    globfree(&g);

    hx_manifest m;
    assert_int_equal(hx_manifest_load("experiments/minitron-mini.yaml", &m), HX_OK);
    /* the teacher once, then each student arm once per seed, grouped by arm, in seed order */
    static const char *const groups[] = {"scratch", "prune_ce", "prune_kd", "depth_kd"};
    assert_int_equal(m.n_seeds, 5);
    assert_int_equal(m.n_arms, 1 + 4 * 5);
    assert_string_equal(m.arms[0].name, "teacher");
    for (int g = 0; g < 4; g++)
        for (int k = 0; k < 5; k++) {
            const hx_arm *a = &m.arms[1 + 5 * g + k];
            char name[64];
            snprintf(name, sizeof name, "%s@seed=%d", groups[g], k + 1);
            assert_string_equal(a->name, name);
            assert_string_equal(a->group, groups[g]);
            assert_true(a->seed == (uint64_t)(k + 1));
        }
    int budget = (int)m.arms[1].train.tokens;
    for (int i = 1; i < m.n_arms; i++) assert_int_equal((int)m.arms[i].train.tokens, budget); /* equal budgets */
    assert_string_equal(m.data.tokenizer, "data/tokenizer.json");
    assert_true(m.teacher.trained && m.teacher.has_config);
    /* About half the teacher by width. */
    hx_config s;
    hx_prune_targets t;
    assert_int_equal(hx_plan_targets(&m.teacher.config, &m.arms[11].prune, &t, &s), HX_OK); /* prune_kd@seed=1 */
    double ratio = (double)hx_config_param_count(&s) / (double)hx_config_param_count(&m.teacher.config);
    assert_true(ratio > 0.4 && ratio < 0.6);
    assert_int_equal(s.num_attention_heads % s.num_key_value_heads, 0);
    assert_int_equal(s.head_dim, m.teacher.config.head_dim);
    hx_manifest_free(&m);
}

static void test_defaults_filled(void **state)
{
    (void)state;
    hx_manifest m;
    const char *text = MINI_HEAD "arms:\n  - {name: kd, kind: prune_kd, tokens: 2000, prune: {hidden_size: 32}}\n";
    assert_int_equal(parse(text, &m), HX_OK);
    assert_string_equal(m.name, "x");
    assert_string_equal(m.outputs.dir, "results/x");
    assert_string_equal(m.outputs.cache_dir, "results/cache");
    assert_int_equal((int)m.seed, 1234);
    assert_int_equal(m.data.n_calibration, 1);
    assert_string_equal(m.data.calibration[0], "a.jsonl");
    assert_string_equal(m.data.text_field, "text");
    assert_string_equal(m.teacher.config.model_type, "llama");
    assert_true(fabsf(m.teacher.config.rms_norm_eps - 1e-5f) < 1e-12f);
    assert_int_equal((int)m.teacher.train.tokens, 10000);
    assert_int_equal((int)m.teacher.train.eval_every, 1000);
    const hx_arm *a = &m.arms[0];
    assert_int_equal((int)a->seed, 1234);
    assert_int_equal(a->importance.opts.batch_agg, HX_AGG_L2);
    assert_int_equal(a->importance.opts.seq_agg, HX_AGG_MEAN);
    assert_int_equal(a->importance.opts.neuron_post, 0);
    assert_int_equal(a->importance.opts.depth, HX_DEPTH_PPL);
    assert_int_equal(a->importance.samples, 1024);
    assert_int_equal(a->importance.seq_len, 32); /* data.seq_len */
    assert_true(a->kd.temperature == 1.0 && a->kd.w_ce == 0.0);
    assert_int_equal(a->kd.reverse_kl, 0);
    assert_int_equal(a->kd.n_intermediate, 0);
    assert_int_equal(a->kd.alpha, HX_ALPHA_DYNAMIC);
    assert_int_equal(a->prune.method, HX_PRUNE_IMPORTANCE);
    assert_int_equal(a->prune.head_residual, 0);
    assert_true(a->train.lr == 1e-3 && fabs(a->train.min_lr - 1e-4) < 1e-15);
    assert_int_equal((int)a->train.eval_every, 200);
    assert_int_equal(a->train.schedule, HX_SCHED_COSINE);
    assert_int_equal(m.eval.perplexity, 1);
    hx_manifest_free(&m);

    /* HF-derived config defaults: KV heads = heads, head_dim = hidden / heads. */
    const char *derived = "teacher:\n  train: {tokens: 5}\n  config_file: c.json\n  config: {vocab_size: 8, hidden_size: 64, "
                          "intermediate_size: 8, num_hidden_layers: 2, num_attention_heads: 4}\n"
                          "data: {train: t, validation: v, tokenizer: k}\narms: [{name: t, kind: teacher}]\n";
    assert_int_equal(hx_manifest_parse("y.yaml", derived, strlen(derived), &m), HX_EINVAL); /* both given */
    assert_contains(hx_errmsg(), "teacher.config_file: give `config` or `config_file`, not both");
    const char *ok = "teacher:\n  model: m\n  config: {vocab_size: 8, hidden_size: 64, intermediate_size: 8, "
                     "num_hidden_layers: 2, num_attention_heads: 4}\n"
                     "data: {train: [t1, t2], validation: v}\narms: [{name: t, kind: teacher}]\n";
    assert_int_equal(hx_manifest_parse("y.yaml", ok, strlen(ok), &m), HX_OK);
    assert_int_equal(m.teacher.config.num_key_value_heads, 4);
    assert_int_equal(m.teacher.config.head_dim, 16);
    assert_string_equal(m.data.tokenizer, "m/tokenizer.json");
    assert_int_equal(m.data.n_train, 2);
    assert_int_equal(m.teacher.trained, 0);
    /* a loaded teacher's correction scales finished defaults: min_lr = lr / 10, never -1 */
    assert_true(m.teacher.train.lr == 1e-3 && fabs(m.teacher.train.min_lr - 1e-4) < 1e-15);
    hx_manifest_free(&m);
}

static void test_inheritance(void **state)
{
    (void)state;
    hx_manifest m;
    const char *text = MINI_HEAD "train: {tokens: 5k, lr: 0.01}\n"
                                 "kd: {temperature: 2}\n"
                                 "prune: {hidden_size: 32}\n"
                                 "arms:\n"
                                 "  - {name: t, kind: teacher}\n"
                                 "  - {name: a, kind: prune_kd, lr: 0.02, kd: {w_ce: 0.5}}\n"
                                 "  - {name: b, kind: depth_kd, seed: 7, prune: {num_hidden_layers: 2}}\n";
    assert_int_equal(parse(text, &m), HX_OK);
    assert_int_equal((int)m.arms[0].train.tokens, 0); /* root budgets are for students */
    assert_int_equal((int)m.arms[1].train.tokens, 5000);
    assert_true(m.arms[1].train.lr == 0.02 && m.arms[2].train.lr == 0.01);
    assert_true(m.arms[1].kd.temperature == 2 && m.arms[1].kd.w_ce == 0.5 && m.arms[2].kd.w_ce == 0);
    assert_int_equal(m.arms[1].prune.hidden_size, 32);
    assert_int_equal(m.arms[2].prune.hidden_size, 0); /* own prune block replaces the root's */
    assert_int_equal(m.arms[2].prune.num_hidden_layers, 2);
    assert_int_equal((int)m.arms[2].seed, 7);
    hx_manifest_free(&m);
}

static void test_unknown_key_line_and_suggestion(void **state)
{
    (void)state;
    const char *text = MINI_HEAD "arms:\n"
                                 "  - name: a\n"
                                 "    kind: scratch\n"
                                 "    tokns: 100\n"; /* line 19, column 5 */
    const char *e = parse_err(text, HX_EINVAL);
    assert_contains(e, "x.yaml:19:5: arms[0]: unknown key 'tokns' (did you mean 'tokens'?)");
    e = parse_err("teacher: {model: m}\ndata: {train: a, validation: b}\nimportanse: {}\narms: []\n", HX_EINVAL);
    assert_contains(e, "x.yaml:3:1: (top level): unknown key 'importanse' (did you mean 'importance'?)");
    e = parse_err(MINI_HEAD "  seq_lenn: 3\n", HX_EINVAL);
    assert_contains(e, "x.yaml:16:3: data: unknown key 'seq_lenn' (did you mean 'seq_len'?)");
    e = parse_err(MINI_HEAD "arms: [{name: a, kind: prune_kd, tokens: 1, kd: {tempreature: 2}}]\n", HX_EINVAL);
    assert_contains(e, "arms[0].kd: unknown key 'tempreature' (did you mean 'temperature'?)");
    e = parse_err(MINI_HEAD "data: {}\n", HX_EINVAL);
    assert_contains(e, "x.yaml:16:1: data: duplicate key (first given on line 11)");
}

static void test_wrong_type_names_line_and_path(void **state)
{
    (void)state;
    const char *text = MINI_HEAD "arms:\n"
                                 "  - {name: a, kind: scratch, tokens: 5}\n"
                                 "  - {name: b, kind: scratch, tokens: 5}\n"
                                 "  - name: c\n"
                                 "    kind: scratch\n"
                                 "    tokens: abc\n"; /* line 21, column 13 */
    assert_contains(parse_err(text, HX_EINVAL), "x.yaml:21:13: arms[2].tokens: expected a positive integer, got \"abc\"");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: scratch, tokens: 5, kd: {temperature: 0}}]\n", HX_EINVAL),
                    "arms[0].kd.temperature: expected a positive number, got 0");
    assert_contains(parse_err(MINI_HEAD "importance: {batch_agg: l3}\narms: [{name: a, kind: scratch, tokens: 5}]\n",
                              HX_EINVAL),
                    "x.yaml:16:25: importance.batch_agg: expected one of mean|l2|var, got \"l3\"");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: distill}]\n", HX_EINVAL),
                    "arms[0].kind: expected one of teacher|scratch|prune_ce|prune_kd|random_kd|depth_kd|iterative_kd");
    assert_contains(parse_err(MINI_HEAD "eval: {perplexity: maybe}\narms: [{name: a, kind: teacher}]\n", HX_EINVAL),
                    "x.yaml:16:20: eval.perplexity: expected true or false, got \"maybe\"");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: scratch, tokens: 5, decay_fraction: 1.5}]\n", HX_EINVAL),
                    "arms[0].decay_fraction: expected a value in [0, 1], got 1.5");
    assert_contains(parse_err(MINI_HEAD "arms: {name: a}\n", HX_EINVAL), "x.yaml:16:7: arms: expected a non-empty list");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: scratch}]\n", HX_EINVAL),
                    "arms[0].tokens: expected a positive token budget, got 0");
    assert_contains(parse_err(MINI_HEAD "arms: [{kind: scratch, tokens: 5}]\n", HX_EINVAL),
                    "x.yaml:16:8: arms[0]: missing required key 'name'");
    /* Counts with suffixes. */
    hx_manifest m;
    assert_int_equal(parse(MINI_HEAD "arms: [{name: a, kind: prune_ce, tokens: 1.5M, prune: {hidden_size: 32}}]\n", &m),
                     HX_OK);
    assert_int_equal((int)m.arms[0].train.tokens, 1500000);
    hx_manifest_free(&m);
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: scratch, tokens: 1.5}]\n", HX_EINVAL),
                    "arms[0].tokens: expected a positive integer, got \"1.5\"");
}

static void test_malformed_yaml_names_line(void **state)
{
    (void)state;
    const char *e = parse_err("teacher:\n  model: m\n data: [\n", HX_EFORMAT);
    assert_contains(e, "x.yaml:3:");
    assert_contains(e, "malformed YAML");
    e = parse_err("a: 1\nb: [1, 2\nc: 3\n", HX_EFORMAT);
    assert_contains(e, "x.yaml:");
    assert_contains(e, "flow sequence");
}

static void test_c03_gqa_targets(void **state)
{
    (void)state;
    /* 24 query heads, 8 KV heads (3 per group): 16 works (2 per group), 20 does not. */
    hx_manifest m;
    assert_int_equal(parse(MINI_HEAD "prune: {num_attention_heads: 16}\narms: [{name: a, kind: prune_kd, tokens: 5}]\n",
                           &m),
                     HX_OK);
    hx_config s;
    hx_prune_targets t;
    assert_int_equal(hx_plan_targets(&m.teacher.config, &m.arms[0].prune, &t, &s), HX_OK);
    assert_int_equal(s.num_attention_heads, 16);
    assert_int_equal(s.num_key_value_heads, 8);
    assert_int_equal(s.head_dim, 8);
    hx_manifest_free(&m);
    const char *e = parse_err(MINI_HEAD "prune:\n  num_attention_heads: 20\narms: [{name: a, kind: prune_kd, tokens: 5}]\n",
                              HX_EINVAL);
    assert_contains(e, "x.yaml:17:24: prune.num_attention_heads: prune targets: 20 query heads cannot be split evenly over 8 KV heads");
    assert_contains(e, "try 16 or 24");
    assert_contains(e, "inherited by arm 'a'");
    /* Other cross-field checks. */
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: prune_kd, tokens: 5, prune: {hidden_size: 128}}]\n",
                              HX_EINVAL),
                    "arms[0].prune.hidden_size: prune target hidden_size = 128 is larger than the source model's 64");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: prune_kd, tokens: 5}]\n", HX_EINVAL),
                    "arms[0].prune: arm kind prune_kd needs prune targets");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: depth_kd, tokens: 5, prune: {drop_layers: [1, 4]}}]\n",
                              HX_EINVAL),
                    "arms[0].prune.drop_layers: prune drop_layers: layer 4 does not exist (the source has 4 layers, [0, 4))");
    assert_contains(parse_err(MINI_HEAD "arms:\n  - {name: a, kind: scratch, tokens: 5, prune: {hidden_size: 32}}\n"
                                        "  - {name: a, kind: scratch, tokens: 5, prune: {hidden_size: 32}}\n",
                              HX_EINVAL),
                    "duplicate arm name 'a' (also arms[0])");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: t, kind: teacher, tokens: 5}]\n", HX_EINVAL),
                    "x.yaml:16:41: arms[0].tokens: a teacher arm evaluates the teacher and trains nothing");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: i, kind: iterative_kd, tokens: 5, prune: {hidden_size: 32}}]\n",
                              HX_EINVAL),
                    "an iterative_kd arm needs at least 2 iterations");
}

static void test_sweep_expansion(void **state)
{
    (void)state;
    hx_manifest m;
    const char *text = MINI_HEAD "prune: {hidden_size: 32}\n"
                                 "sweep: {seed: [1, 2]}\n"
                                 "arms:\n"
                                 "  - name: kd\n"
                                 "    kind: prune_kd\n"
                                 "    tokens: 1k\n"
                                 "    sweep:\n"
                                 "      kd.temperature: [0.5, 1.0, 3]\n"
                                 "  - {name: ce, kind: prune_ce, tokens: 1k, sweep: {seed: [9], prune.drop_layers: [[0], [1, 2]]}}\n";
    assert_int_equal(parse(text, &m), HX_OK);
    assert_int_equal(m.n_arms, 8);
    static const char *const names[] = {"kd@seed=1,kd.temperature=0.5", "kd@seed=1,kd.temperature=1.0",
                                        "kd@seed=1,kd.temperature=3",   "kd@seed=2,kd.temperature=0.5",
                                        "kd@seed=2,kd.temperature=1.0", "kd@seed=2,kd.temperature=3",
                                        "ce@seed=9,prune.drop_layers=[0]", "ce@seed=9,prune.drop_layers=[1,2]"};
    for (int i = 0; i < 8; i++) assert_string_equal(m.arms[i].name, names[i]);
    assert_true(m.arms[5].kd.temperature == 3.0 && (int)m.arms[5].seed == 2);
    assert_string_equal(m.arms[5].base_name, "kd");
    assert_int_equal(m.arms[7].prune.n_drop_layers, 2);
    assert_int_equal(m.arms[7].prune.drop_layers[1], 2);
    assert_int_equal(m.arms[6].prune.n_drop_layers, 1);
    assert_int_equal(hx_manifest_find_arm(&m, "kd@seed=2,kd.temperature=1.0"), 4);
    /* --only by base name selects every sweep point. */
    hx_plan p;
    assert_int_equal(hx_plan_build(&m, "ce", 0, &p), HX_OK);
    assert_int_equal(p.n_arms, 2);
    hx_plan_free(&p);
    assert_int_equal(hx_plan_build(&m, "nope", 0, &p), HX_EINVAL);
    hx_manifest_free(&m);

    /* A bad swept value points at the value's line and the sweep path. */
    const char *bad = MINI_HEAD "arms:\n"
                                "  - name: kd\n"
                                "    kind: scratch\n"
                                "    tokens: 1k\n"
                                "    sweep:\n"
                                "      lr: [0.1,\n"
                                "           -1]\n"; /* line 22 */
    assert_contains(parse_err(bad, HX_EINVAL), "x.yaml:22:12: arms[0].sweep.lr[1]: expected a value in (0, 10], got -1");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: scratch, tokens: 5, sweep: {kd.temprature: [1]}}]\n",
                              HX_EINVAL),
                    "'kd.temprature' is not an arm field ('temperature'?)");
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: scratch, tokens: 5, sweep: {kind: [scratch]}}]\n",
                              HX_EINVAL),
                    "'kind' cannot be swept");
    /* Cross-field checks see swept values, and name the sweep entry. */
    assert_contains(parse_err(MINI_HEAD "arms: [{name: a, kind: prune_kd, tokens: 5, sweep: {prune.num_attention_heads: [8, 12]}}]\n",
                              HX_EINVAL),
                    "arms[0].sweep.prune.num_attention_heads[1]: prune targets: 12 query heads cannot be split evenly over 8 KV heads");
}

static char *hash_of(const char *text, hx_artifact what, int arm)
{
    static char out[65];
    hx_manifest m;
    int rc = parse(text, &m);
    if (rc < 0) fprintf(stderr, "%s\n", hx_errmsg());
    assert_int_equal(rc, HX_OK);
    assert_int_equal(hx_manifest_hash(&m, &m.arms[arm], what, out), HX_OK);
    hx_manifest_free(&m);
    return out;
}

static void test_content_hash(void **state)
{
    (void)state;
    const char *arms = "arms: [{name: a, kind: prune_kd, tokens: 5, prune: {hidden_size: 32}}]\n";
    char *base = NULL, buf[2048];
    snprintf(buf, sizeof buf, "%s%s", MINI_HEAD, arms);
    char h_teacher[65], h_arm[65];
    snprintf(h_teacher, sizeof h_teacher, "%s", hash_of(buf, HX_ART_TEACHER, 0));
    snprintf(h_arm, sizeof h_arm, "%s", hash_of(buf, HX_ART_ARM, 0));
    assert_int_equal(strlen(h_teacher), 64);
    /* Key order, flow vs block style and explicit defaults do not change the hash. */
    const char *reordered =
        "data: {seq_len: 32, validation: b.jsonl, tokenizer: tok.json, train: [a.jsonl], text_field: text}\n"
        "teacher:\n"
        "  train:\n    tokens: 10000\n    lr: 0.001\n"
        "  config: {head_dim: 8, num_key_value_heads: 8, num_attention_heads: 24, num_hidden_layers: 4,\n"
        "           intermediate_size: 128, hidden_size: 64, vocab_size: 512, rms_norm_eps: 0.00001}\n"
        "arms: [{prune: {hidden_size: 32}, tokens: 5, kind: prune_kd, name: a, kd: {temperature: 1.0}}]\n"
        "seed: 1234\n";
    assert_string_equal(hash_of(reordered, HX_ART_TEACHER, 0), h_teacher);
    assert_string_equal(hash_of(reordered, HX_ART_ARM, 0), h_arm);
    /* A value change changes the hash, and everything downstream of it. */
    snprintf(buf, sizeof buf, "%sseed: 7\n%s", MINI_HEAD, arms);
    assert_string_not_equal(hash_of(buf, HX_ART_TEACHER, 0), h_teacher);
    assert_string_not_equal(hash_of(buf, HX_ART_ARM, 0), h_arm);
    snprintf(buf, sizeof buf, "%s%s", MINI_HEAD, "arms: [{name: a, kind: prune_kd, tokens: 5, prune: {hidden_size: 48}}]\n");
    assert_string_equal(hash_of(buf, HX_ART_TEACHER, 0), h_teacher);
    assert_string_not_equal(hash_of(buf, HX_ART_ARM, 0), h_arm);
    (void)base;

    /* prune_ce and prune_kd share the pruned student; a different kd does not touch it. */
    hx_manifest m;
    assert_int_equal(hx_manifest_load("experiments/minitron-mini.yaml", &m), HX_OK);
    char s_ce[65], s_kd[65], s_scratch[65], t_mini[65];
    hx_manifest_hash(&m, &m.arms[6], HX_ART_STUDENT, s_ce);  /* prune_ce@seed=1 */
    hx_manifest_hash(&m, &m.arms[11], HX_ART_STUDENT, s_kd); /* prune_kd@seed=1 */
    hx_manifest_hash(&m, &m.arms[1], HX_ART_STUDENT, s_scratch);
    hx_manifest_hash(&m, NULL, HX_ART_TEACHER, t_mini);
    assert_string_equal(s_ce, s_kd);
    assert_string_not_equal(s_ce, s_scratch);
    hx_manifest_free(&m);
    /* Every mini ablation names the same teacher, so it is trained once. */
    glob_t g;
    assert_int_equal(glob("experiments/ablate-*.yaml", 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, 5);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char t[65];
        assert_int_equal(hx_manifest_load(g.gl_pathv[i], &m), HX_OK);
        hx_manifest_hash(&m, NULL, HX_ART_TEACHER, t);
        assert_string_equal(t, t_mini);
        hx_manifest_free(&m);
    }
    globfree(&g);

    /* With file digests the contents count, not the path. */
    char dir[] = "/tmp/hx_manifest_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p1[128], p2[128], text[2048];
    snprintf(p1, sizeof p1, "%s/a.jsonl", dir);
    snprintf(p2, sizeof p2, "%s/moved.jsonl", dir);
    assert_int_equal(hx_write_file_atomic(p1, "{\"text\": \"hi\"}\n", 15), HX_OK);
    assert_int_equal(hx_write_file_atomic(p2, "{\"text\": \"hi\"}\n", 15), HX_OK);
    char d1[65], d2[65], d3[65];
    for (int k = 0; k < 3; k++) {
        if (k == 2) assert_int_equal(hx_write_file_atomic(p2, "{\"text\": \"ho\"}\n", 15), HX_OK);
        snprintf(text, sizeof text,
                 "teacher: {train: {tokens: 5}, config: {vocab_size: 8, hidden_size: 8, intermediate_size: 8, "
                 "num_hidden_layers: 1, num_attention_heads: 2}}\n"
                 "data: {train: %s, validation: v, tokenizer: t}\narms: [{name: t, kind: teacher}]\n",
                 k == 0 ? p1 : p2);
        assert_int_equal(parse(text, &m), HX_OK);
        assert_int_equal(hx_manifest_hash(&m, NULL, HX_ART_TEACHER, k == 0 ? d1 : k == 1 ? d2 : d3), HX_OK);
        hx_manifest_free(&m);
    }
    assert_string_equal(d1, d2);
    assert_string_not_equal(d2, d3);

    /* The issue's case: the training file replaced by other text of the same
     * name and size gives the teacher (and every arm) a new cache key, as
     * the runner computes it (hx_plan_build); so does a teacher directory
     * whose file changes bytes but not names or sizes. */
    char model[160], weights[200];
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(weights, sizeof weights, "%s/model.safetensors", model);
    assert_int_equal(hx_mkdir_p(model), HX_OK);
    char keys[4][2][65];
    for (int k = 0; k < 4; k++) {
        if (k == 1) assert_int_equal(hx_write_file_atomic(p2, "{\"text\": \"hu\"}\n", 15), HX_OK);
        if (k == 3) assert_int_equal(hx_write_file_atomic(weights, "BBBB", 4), HX_OK);
        else if (k == 2) assert_int_equal(hx_write_file_atomic(weights, "AAAA", 4), HX_OK);
        snprintf(text, sizeof text,
                 "teacher: {train: {tokens: 5}, config: {vocab_size: 8, hidden_size: 8, intermediate_size: 8, "
                 "num_hidden_layers: 1, num_attention_heads: 2}}\n"
                 "data: {train: %s, validation: v, tokenizer: t, seq_len: 4}\n"
                 "arms: [{name: s, kind: scratch, tokens: 8, micro_batch: 2, prune: {hidden_size: 4}}]\n", p2);
        if (k >= 2)
            snprintf(text, sizeof text,
                     "teacher: {model: %s}\ndata: {train: %s, validation: v, tokenizer: t, seq_len: 4}\n"
                     "arms: [{name: t, kind: teacher}]\n", model, p2);
        assert_int_equal(parse(text, &m), HX_OK);
        hx_plan p;
        assert_int_equal(hx_plan_build(&m, NULL, 0, &p), HX_OK);
        memcpy(keys[k][0], p.teacher_hash, 65);
        memcpy(keys[k][1], p.arms[0].hash, 65);
        hx_plan_free(&p);
        hx_manifest_free(&m);
    }
    assert_string_not_equal(keys[0][0], keys[1][0]);
    assert_string_not_equal(keys[0][1], keys[1][1]);
    assert_string_not_equal(keys[2][0], keys[3][0]);
    assert_string_not_equal(keys[2][1], keys[3][1]);
    /* A device is refused, not read forever. */
    assert_int_equal(parse("teacher: {train: {tokens: 5}, config: {vocab_size: 8, hidden_size: 8, intermediate_size: 8, "
                           "num_hidden_layers: 1, num_attention_heads: 2}}\n"
                           "data: {train: /dev/zero, validation: v, tokenizer: t}\narms: [{name: t, kind: teacher}]\n",
                           &m),
                     HX_OK);
    char dz[65];
    assert_int_equal(hx_manifest_hash(&m, NULL, HX_ART_TEACHER, dz), HX_EIO);
    assert_contains(hx_errmsg(), "/dev/zero: not a regular file or directory");
    hx_manifest_free(&m);
    unlink(weights);
    rmdir(model);
    unlink(p1);
    unlink(p2);
    rmdir(dir);
}

static void test_env_expansion(void **state)
{
    (void)state;
    hx_manifest m;
    const char *text = "teacher: {model: \"${HX_TEST_MODEL:-models/default}\"}\n"
                       "data: {train: \"${HX_TEST_DATA}/t.jsonl\", validation: v}\n"
                       "arms: [{name: t, kind: teacher}]\n";
    unsetenv("HX_TEST_DATA");
    assert_contains(parse_err(text, HX_EINVAL), "x.yaml:2:15: data.train: environment variable HX_TEST_DATA is not set");
    setenv("HX_TEST_DATA", "/corpus", 1);
    assert_int_equal(parse(text, &m), HX_OK);
    assert_string_equal(m.teacher.model, "models/default");
    assert_string_equal(m.data.train[0], "/corpus/t.jsonl");
    hx_manifest_free(&m);
    setenv("HX_TEST_MODEL", "/m/llama", 1);
    assert_int_equal(parse(text, &m), HX_OK);
    assert_string_equal(m.teacher.model, "/m/llama");
    assert_string_equal(m.data.tokenizer, "/m/llama/tokenizer.json");
    hx_manifest_free(&m);
    unsetenv("HX_TEST_MODEL");
    unsetenv("HX_TEST_DATA");
}

/* The run check of teacher correction uses the correction's own warm-up
 * (2 optimizer steps of 256 tokens with 1 warm-up step is fine even though the
 * teacher's own training warms up for 20), and refuses a warm-up longer than
 * the correction. */
static void test_correction_checked_with_its_own_warmup(void **state)
{
    (void)state;
    const char *ok = MINI_HEAD "arms:\n  - {name: t, kind: teacher}\n";
    char text[4096];
    for (int warm = 1; warm <= 5; warm += 4) {
        snprintf(text, sizeof text, "%s", ok);
        char *at = strstr(text, "  train: {tokens: 10k}\n");
        assert_non_null(at);
        char tail[2048];
        snprintf(tail, sizeof tail, "%s", at + strlen("  train: {tokens: 10k}\n"));
        snprintf(at, sizeof text - (size_t)(at - text),
                 "  train: {tokens: 10240}\n  correction: {tokens: 512, warmup_steps: %d}\n%s", warm, tail);
        hx_manifest m;
        hx_plan p;
        assert_int_equal(parse(text, &m), HX_OK);
        assert_int_equal(hx_plan_build(&m, NULL, 1000, &p), HX_OK);
        if (warm == 1) {
            if (hx_run_check(&p) != HX_OK) fail_msg("%s", hx_errmsg());
        } else {
            assert_int_equal(hx_run_check(&p), HX_EINVAL);
            assert_contains(hx_errmsg(), "teacher.correction: warmup_steps (5) exceeds the 2 optimizer steps");
        }
        hx_plan_free(&p);
        hx_manifest_free(&m);
    }
}

/* The CUDA tier's memory plan (exp/plan.h) for [P]'s reference case:
 * Llama-3.1-8B teacher, 4.5B width-pruned student, 8192 tokens per pass,
 * must fit one 141 GB GPU; component by component against hand formulas. */
static void test_device_memory_plan(void **state)
{
    (void)state;
    hx_manifest m;
    hx_plan p;
    assert_int_equal(hx_manifest_load("experiments/llama31-8b-to-4b-width.yaml", &m), HX_OK);
    assert_int_equal(hx_plan_build(&m, NULL, 1000, &p), HX_OK);
    const hx_config *s = &p.arms[1].student, *t = &p.teacher;
    double P = (double)hx_plan_param_count(s), N = 8192;
    hx_mem_plan a = hx_plan_device_memory(s, t, 1, 8192, 0), r = hx_plan_device_memory(s, t, 1, 8192, 1);
    assert_true(a.student_weights == 2 * P && a.gradients == 4 * P && a.master == 4 * P && a.optimizer == 8 * P);
    assert_true(a.teacher_weights == 2.0 * (double)hx_plan_param_count(t));
    /* h 3072, 32 x 128 query, 8 x 128 kv, f 9216, 32 layers, 32 heads */
    double act = ((4 * 3072 + 2 * 4096 + 2 * 1024 + 3 * 9216) * 2 + 4 * 32) * N * 32 + N * 3072 * 4;
    assert_true(fabs(a.activations - act) < 1);
    assert_true(a.logits == (2.0 * 1024 * 128256 + 1024.0 * 128256) * 4);
    assert_true(a.total > 100e9 && a.total < 141e9); /* fits one H200 */
    double layer = (4 * 3072 + 2 * 4096 + 2 * 1024 + 3 * 9216) * 2 + 4 * 32;
    assert_true(fabs(r.activations - (N * (2 * 3072 * 32 + layer) + N * 3072 * 4)) < 1);
    assert_true(r.total < a.total - 20e9);
    hx_mem_plan big = hx_plan_device_memory(s, t, 8, 8192, 0); /* 8 sequences per pass do not fit */
    assert_true(big.total > 141e9);
    hx_plan_free(&p);
    hx_manifest_free(&m);
}

/* device: cuda on the host side: the key binds, only a CUDA run changes the
 * trained artifacts' keys (CPU caches stay valid), KD settings the GPU lacks
 * are refused, and a plan larger than the GPU is refused with what would
 * make it fit. */
static void test_device_selection(void **state)
{
    (void)state;
    const char *arms = "arms: [{name: a, kind: prune_kd, tokens: 5, prune: {hidden_size: 32}}]\n";
    char buf[2048], h_cpu[65], h_auto[65], h_cuda[65], i_cpu[65], i_cuda[65];
    const char *devs[3] = {"cpu", "auto", "cuda"};
    char *outs[3] = {h_cpu, h_auto, h_cuda};
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf, "%sdevice: %s\n%s", MINI_HEAD, devs[i], arms);
        snprintf(outs[i], 65, "%s", hash_of(buf, HX_ART_ARM, 0));
        snprintf(i == 0 ? i_cpu : i_cuda, 65, "%s", hash_of(buf, HX_ART_IMPORTANCE, 0));
    }
    assert_string_equal(h_cpu, h_auto); /* a manifest names the request; `harness run` stores the resolved device */
    assert_string_not_equal(h_cpu, h_cuda);
    assert_string_not_equal(i_cpu, i_cuda); /* MINI_HEAD's teacher is trained here: on the GPU, another teacher */
    snprintf(buf, sizeof buf, "%sdevice: gpu\n%s", MINI_HEAD, arms);
    assert_contains(parse_err(buf, HX_EINVAL), "device");
    hx_device d;
    assert_int_equal(hx_device_resolve(HX_DEVICE_CPU, &d), HX_OK);
    assert_int_equal(d, HX_DEVICE_CPU);
    if (hx_device_resolve(HX_DEVICE_CUDA, &d) < 0) assert_contains(hx_errmsg(), "device cuda:");

    hx_manifest m;
    hx_plan p;
    assert_int_equal(hx_manifest_load("experiments/llama31-8b-to-4b-width.yaml", &m), HX_OK);
    m.device = HX_DEVICE_CUDA;
    assert_int_equal(hx_plan_build(&m, NULL, 1000, &p), HX_OK);
    if (hx_run_check_device(&p, 141e9) != HX_OK) fail_msg("%s", hx_errmsg()); /* [P]'s case fits one H200 */
    assert_int_equal(hx_run_check_device(&p, 115e9), HX_EINVAL);
    assert_contains(hx_errmsg(), "set recompute: true");
    assert_int_equal(hx_run_check_device(&p, 60e9), HX_EINVAL);
    assert_contains(hx_errmsg(), "ZeRO-1");
    m.recompute = 1;
    if (hx_run_check_device(&p, 115e9) != HX_OK) fail_msg("%s", hx_errmsg());
    hx_plan_free(&p);
    hx_manifest_free(&m);
    snprintf(buf, sizeof buf, "%sarms: [{name: a, kind: prune_kd, tokens: 5, prune: {hidden_size: 32}, kd: {reverse_kl: true}}]\n",
             MINI_HEAD);
    assert_int_equal(parse(buf, &m), HX_OK);
    assert_int_equal(hx_plan_build(&m, NULL, 1000, &p), HX_OK);
    assert_int_equal(hx_run_check_device(&p, 0), HX_EINVAL);
    assert_contains(hx_errmsg(), "CPU tier only");
    hx_plan_free(&p);
    hx_manifest_free(&m);
}

static void test_plan_numbers(void **state)
{
    (void)state;
    /* Forward FLOPs per token by hand: L=1, h=4, q=kv=4, f=8, V=10, T=3:
     * N_mm = 2*4*4 + 2*4*4 + 3*4*8 + 10*4 = 200; attention 2*1*4*4 = 32. */
    hx_config c = {.model_type = "llama", .vocab_size = 10, .hidden_size = 4, .intermediate_size = 8,
                   .num_hidden_layers = 1, .num_attention_heads = 2, .num_key_value_heads = 2, .head_dim = 2};
    assert_true(fabs(hx_flops_forward_per_token(&c, 3) - 432.0) < 1e-9);
    /* Published sizes: Llama-3.1-Minitron-4B-Width 4.5B, Minitron 8B 8.27B / 4B 4.19B (NeurIPS T10). */
    static const struct { const char *file; int arm; double params; } cases[] = {
        {"experiments/llama31-8b-to-4b-width.yaml", 1, 4.5e9},
        {"experiments/llama31-8b-to-4b-depth.yaml", 1, 4.5e9},
        {"experiments/nemotron4-15b-to-minitron-8b.yaml", 1, 8.27e9},
        {"experiments/nemotron4-15b-to-minitron-4b.yaml", 3, 4.19e9},
    };
    for (int i = 0; i < 4; i++) {
        hx_manifest m;
        hx_plan p;
        assert_int_equal(hx_manifest_load(cases[i].file, &m), HX_OK);
        assert_int_equal(hx_plan_build(&m, NULL, 1000, &p), HX_OK);
        double got = (double)p.arms[cases[i].arm].student_params;
        if (fabs(got / cases[i].params - 1) > 0.015) fprintf(stderr, "%s: %g params\n", cases[i].file, got);
        assert_true(fabs(got / cases[i].params - 1) < 0.015);
        assert_true((p.unsupported != NULL) == (strstr(cases[i].file, "nemotron") != NULL));
        /* Training dominates: 6·N·D within 30% of the arm's train FLOPs. */
        const hx_arm_plan *ap = &p.arms[cases[i].arm];
        double sixnd = 6 * got * (double)ap->arm->train.tokens;
        assert_true(ap->flops.train > sixnd * 0.9 && ap->flops.train < sixnd * 1.3);
        assert_true(ap->flops.teacher > 0 && fabs(ap->seconds - ap->flops.total / 1e12) < 1e-6 * ap->seconds);
        hx_plan_free(&p);
        hx_manifest_free(&m);
    }
    /* Iterative rounds move each axis linearly: 256 -> 192 -> 128. */
    hx_config t = {.model_type = "llama", .vocab_size = 10, .hidden_size = 256, .intermediate_size = 768,
                   .num_hidden_layers = 6, .num_attention_heads = 8, .num_key_value_heads = 4, .head_dim = 32};
    hx_config target = t, r;
    target.hidden_size = 128;
    target.num_attention_heads = 4;
    hx_iterative_config(&t, &target, 0, 2, &r);
    assert_int_equal(r.hidden_size, 192);
    assert_int_equal(r.num_attention_heads, 4); /* 6 rounded down to a multiple of 4 KV heads */
    hx_iterative_config(&t, &target, 1, 2, &r);
    assert_int_equal(r.hidden_size, 128);
}

static char *run_capture(const char *cmd, int *status)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    *status = pclose(f);
    return buf;
}

/* Impossible pruning targets are refused before any work: at parse time when
 * the teacher's config is inline, at plan time (run --dry-run) when it is a
 * model directory's config.json; both through hx_prune_target_check. */
static void test_impossible_targets_refused_up_front(void **state)
{
    (void)state;
    /* 24 heads over 8 KV heads = 3 per group; 4 KV heads would need 6 per group. */
    const char *e = parse_err(MINI_HEAD "arms:\n  - {name: a, kind: prune_kd, tokens: 5, prune: {num_key_value_heads: 4}}\n",
                              HX_EINVAL);
    assert_contains(e, "prune.num_key_value_heads: prune target 24 query heads over 4 KV heads needs 6 per KV group");
    /* the teacher's inline config by the model's own rule (hx_config_validate) */
    e = parse_err("teacher: {train: {tokens: 5}, config: {vocab_size: 8, hidden_size: 8, intermediate_size: 8, "
                  "num_hidden_layers: 1, num_attention_heads: 3, num_key_value_heads: 2}}\n"
                  "data: {train: a, validation: b, tokenizer: t}\narms: [{name: t, kind: teacher}]\n",
                  HX_EINVAL);
    assert_contains(e, "x.yaml:1:39: teacher.config: config: num_key_value_heads (2) must divide num_attention_heads (3)");
    /* The issue's case: 4 heads / 2 KV heads pruned to 1 KV head keeping 4 heads, teacher loaded from a directory. */
    char dir[] = "/tmp/hx-targets-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], text[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"model_type\": \"llama\", \"vocab_size\": 64, \"hidden_size\": 32, \"intermediate_size\": 64, "
          "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, "
          "\"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-5, \"rope_theta\": 10000.0, "
          "\"tie_word_embeddings\": true}", f);
    fclose(f);
    snprintf(text, sizeof text,
             "teacher: {model: %s}\ndata: {train: a.jsonl, validation: b.jsonl, tokenizer: t.json, seq_len: 16}\n"
             "arms:\n  - {name: kd, kind: prune_kd, tokens: 32, prune: {num_key_value_heads: 1}}\n", dir);
    hx_manifest m;
    assert_int_equal(parse(text, &m), HX_OK);
    hx_plan p;
    assert_int_equal(hx_plan_build(&m, NULL, 0, &p), HX_EINVAL);
    assert_contains(hx_errmsg(), "arm kd: prune targets against the teacher's config");
    assert_contains(hx_errmsg(), "4 query heads over 1 KV heads needs 4 per KV group");
    hx_manifest_free(&m);
    /* A parameter budget the grid cannot meet fails at plan time too. */
    snprintf(text, sizeof text,
             "teacher: {model: %s}\ndata: {train: a.jsonl, validation: b.jsonl, tokenizer: t.json, seq_len: 16}\n"
             "arms:\n  - {name: kd, kind: prune_kd, tokens: 32, prune: {param_budget: 10}}\n", dir);
    assert_int_equal(parse(text, &m), HX_OK);
    assert_true(hx_plan_build(&m, NULL, 0, &p) < 0);
    assert_contains(hx_errmsg(), "arm kd");
    hx_manifest_free(&m);
    remove(path);
    rmdir(dir);
}

static void test_dry_run_lists_every_arm(void **state)
{
    (void)state;
    hx_manifest m;
    hx_plan p;
    assert_int_equal(hx_manifest_load("experiments/ablate-kd-loss.yaml", &m), HX_OK);
    assert_int_equal(hx_plan_build(&m, NULL, 0, &p), HX_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    hx_plan_print(f, &p);
    fclose(f);
    for (int i = 0; i < m.n_arms; i++) {
        char line[256];
        snprintf(line, sizeof line, "- %s: kind %s", m.arms[i].name, hx_arm_kind_name(m.arms[i].kind));
        assert_contains(text, line);
    }
    assert_contains(text, "kl_tau@kd.temperature=0.5");
    assert_contains(text, "reverse KL");
    free(text);
    hx_plan_free(&p);
    hx_manifest_free(&m);

    const char *harness = getenv("HX_HARNESS") ? getenv("HX_HARNESS") : "bin/harness";
    if (access(harness, X_OK) != 0) {
        printf("SKIP: %s not built; CLI part of the dry-run test skipped\n", harness);
        return;
    }
    char cmd[512];
    int st;
    snprintf(cmd, sizeof cmd, "%s run experiments/minitron-mini.yaml --dry-run --gflops 50 2>&1", harness);
    const char *out = run_capture(cmd, &st);
    assert_int_equal(WEXITSTATUS(st), 0);
    static const char *const arms[] = {"- teacher: kind teacher", "- scratch@seed=1: kind scratch",
                                       "- prune_ce@seed=3: kind prune_ce", "- prune_kd@seed=5: kind prune_kd",
                                       "- depth_kd@seed=2: kind depth_kd"};
    for (int i = 0; i < 5; i++) assert_contains(out, arms[i]);
    assert_contains(out, "teacher: trained here for 1.18M tokens");
    assert_contains(out, "params: 5.77M");
    assert_contains(out, "at 50 GFLOP/s");
    snprintf(cmd, sizeof cmd, "%s run experiments/minitron-mini.yaml --dry-run --only prune_kd 2>&1", harness);
    out = run_capture(cmd, &st);
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_contains(out, "arms (5):"); /* a base name selects all its seeds */
    assert_null(strstr(out, "- scratch@"));
    /* iterative_kd, and every KD-loss variant, are supported by the runner now: no refusal note */
    static const char *const supported[] = {"ablate-iterative", "ablate-kd-loss", "minitron-mini"};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s run experiments/%s.yaml --dry-run 2>&1", harness, supported[i]);
        out = run_capture(cmd, &st);
        assert_int_equal(WEXITSTATUS(st), 0);
        assert_null(strstr(out, "would refuse"));
        if (i == 0) assert_contains(out, "4 rounds");
    }
    snprintf(cmd, sizeof cmd, "%s run experiments/nemotron4-15b-to-minitron-8b.yaml 2>&1", harness);
    out = run_capture(cmd, &st);
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_contains(out, "refusing");
    assert_contains(out, "Nemotron architecture");
    /* --device cuda: a binary without the CUDA tier (or a machine without a GPU) refuses before any work;
     * the dry run still prints the plan, with a note */
    snprintf(cmd, sizeof cmd, "%s run experiments/minitron-mini.yaml --device cuda --dry-run 2>&1", harness);
    out = run_capture(cmd, &st);
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_contains(out, "arms (21):");
    if (strstr(out, "NOTE: ")) assert_contains(out, "device cuda:");
    if (strstr(out, "NOTE: ")) {
        snprintf(cmd, sizeof cmd, "%s run experiments/minitron-mini.yaml --device cuda --fresh 2>&1", harness);
        out = run_capture(cmd, &st);
        assert_int_equal(WEXITSTATUS(st), 1);
        assert_contains(out, "device cuda:");
    }
    snprintf(cmd, sizeof cmd, "%s run /nonexistent.yaml --dry-run 2>&1", harness);
    out = run_capture(cmd, &st);
    assert_int_equal(WEXITSTATUS(st), 1);
    assert_contains(out, "/nonexistent.yaml");
}

static void test_readme_documents_every_key(void **state)
{
    (void)state;
    char *readme;
    size_t len;
    assert_int_equal(hx_read_file("experiments/README.md", &readme, &len), HX_OK);
    int n = 0;
    for (const char *k; (k = hx_manifest_key(n)); n++) {
        const char *last = strrchr(k, '.');
        char key[128];
        snprintf(key, sizeof key, "`%s`", last ? last + 1 : k);
        char *br = strstr(key, "[]");
        if (br) memmove(br, br + 2, strlen(br + 2) + 1);
        if (!strstr(readme, key)) fprintf(stderr, "experiments/README.md does not document %s\n", k);
        assert_non_null(strstr(readme, key));
    }
    assert_true(n > 80);
    free(readme);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_manifests_validate),
        cmocka_unit_test(test_defaults_filled),
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_unknown_key_line_and_suggestion),
        cmocka_unit_test(test_wrong_type_names_line_and_path),
        cmocka_unit_test(test_malformed_yaml_names_line),
        cmocka_unit_test(test_c03_gqa_targets),
        cmocka_unit_test(test_sweep_expansion),
        cmocka_unit_test(test_content_hash),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_correction_checked_with_its_own_warmup),
        cmocka_unit_test(test_device_memory_plan),
        cmocka_unit_test(test_device_selection),
        cmocka_unit_test(test_plan_numbers),
        cmocka_unit_test(test_impossible_targets_refused_up_front),
        cmocka_unit_test(test_dry_run_lists_every_arm),
        cmocka_unit_test(test_readme_documents_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
