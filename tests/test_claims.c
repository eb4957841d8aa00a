/* Seeds, spread and claims: the t-interval against the worked
 * numbers, the Wilson interval against statsmodels, `seeds:` expansion and
 * pairing by seed in the claims table, read back from an HDF5 log. */
#include "test_util.h"
#include "core/err.h"
#include "exp/claims.h"
#include "exp/manifest.h"
#include "exp/plan.h"
#include "exp/stats.h"
#include "log/h5log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_intervals(void **state)
{
    (void)state;
    assert_true(fabs(hx_t975(1) - 12.706) < 1e-9 && fabs(hx_t975(2) - 4.303) < 1e-9);
    assert_true(fabs(hx_t975(60) - 2.000) < 2e-3 && fabs(hx_t975(120) - 1.980) < 2e-3); /* printed table values */
    assert_true(isnan(hx_t975(0)));
    /* Issue [6/7]: paired KD - CE differences -0.014, -0.058, -0.020: mean -0.031, 95% t-interval [-0.089, +0.028]. */
    double d[3] = {-0.014, -0.058, -0.020};
    hx_interval r = hx_mean_interval(d, 3);
    assert_true(fabs(r.mean + 0.0307) < 1e-4);
    assert_true(fabs(r.lo + 0.0900) < 1.5e-3 && fabs(r.hi - 0.0286) < 1.5e-3);
    assert_int_equal(hx_verdict_less(&r, 0), HX_WITHIN_NOISE);
    assert_int_equal(hx_verdict_less(&r, 1), HX_HOLDS); /* consistent with "no difference" */
    double e[3] = {-1.40, -1.58, -1.49};                /* CE - scratch: clearly below 0 */
    r = hx_mean_interval(e, 3);
    assert_int_equal(hx_verdict_less(&r, 0), HX_HOLDS);
    for (int i = 0; i < 3; i++) e[i] = -e[i];
    r = hx_mean_interval(e, 3);
    assert_int_equal(hx_verdict_less(&r, 0), HX_DOES_NOT_HOLD);
    assert_int_equal(hx_verdict_less(&r, 1), HX_DOES_NOT_HOLD);
    r = hx_mean_interval(e, 1); /* one seed: no spread, no verdict */
    assert_true(isnan(r.sd) && isnan(r.lo));
    assert_int_equal(hx_verdict_less(&r, 0), HX_WITHIN_NOISE);
    assert_string_equal(hx_verdict_name(HX_WITHIN_NOISE), "within noise");
    /* statsmodels proportion_confint(25, 100, method="wilson") = (0.17541, 0.34298) */
    double lo, hi;
    hx_wilson95(25, 100, &lo, &hi);
    assert_true(fabs(lo - 0.17541) < 1e-4 && fabs(hi - 0.34298) < 1e-4);
    hx_wilson95(0, 10, &lo, &hi);
    assert_true(lo == 0 && fabs(hi - 0.27753) < 1e-4);
}

#define HEAD                                                                                                   \
    "teacher:\n  config: {vocab_size: 512, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 4,\n"   \
    "           num_attention_heads: 8, num_key_value_heads: 4, head_dim: 8}\n"                              \
    "  train: {tokens: 10k}\n"                                                                                 \
    "data: {train: a.jsonl, validation: b.jsonl, tokenizer: tok.json, seq_len: 32}\n"

static int parse(const char *text, hx_manifest *m) { return hx_manifest_parse("x.yaml", text, strlen(text), m); }

static void test_seeds_expand(void **state)
{
    (void)state;
    hx_manifest m;
    const char *text = HEAD "seeds: [3, 1, 2]\n"
                            "arms:\n"
                            "  - {name: kd, kind: prune_kd, tokens: 4096, prune: {hidden_size: 32}}\n"
                            "  - {name: tau, kind: prune_kd, tokens: 4096, prune: {hidden_size: 32},"
                            " sweep: {kd.temperature: [0.5, 2]}}\n";
    if (parse(text, &m) < 0) fail_msg("%s", hx_errmsg());
    assert_int_equal(m.n_seeds, 3);
    assert_int_equal(m.n_arms, 9);
    assert_string_equal(m.arms[0].name, "kd@seed=3");
    assert_string_equal(m.arms[0].group, "kd");
    assert_true(m.arms[0].seed == 3 && m.arms[1].seed == 1 && m.arms[2].seed == 2);
    assert_string_equal(m.arms[4].name, "tau@kd.temperature=0.5,seed=1");
    assert_string_equal(m.arms[4].group, "tau@kd.temperature=0.5");
    /* each seed its own importance draw and pruned student; one seed's CE and KD students are shared */
    char h1[65], h2[65];
    assert_int_equal(hx_manifest_hash(&m, &m.arms[0], HX_ART_IMPORTANCE, h1), HX_OK);
    assert_int_equal(hx_manifest_hash(&m, &m.arms[1], HX_ART_IMPORTANCE, h2), HX_OK);
    assert_string_not_equal(h1, h2);
    hx_manifest_free(&m);
    /* without seeds: names and groups as written */
    assert_int_equal(parse(HEAD "arms: [{name: kd, kind: prune_kd, tokens: 4096, prune: {hidden_size: 32}}]\n", &m), HX_OK);
    assert_int_equal(m.n_seeds, 0);
    assert_string_equal(m.arms[0].name, "kd");
    assert_string_equal(m.arms[0].group, "kd");
    hx_manifest_free(&m);
    /* refused: duplicates, an empty list, seeds with a sweep over seed */
    assert_int_equal(parse(HEAD "seeds: [1, 1]\narms: [{name: a, kind: scratch, tokens: 4096}]\n", &m), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "seeds[1]"));
    assert_int_equal(parse(HEAD "seeds: []\narms: [{name: a, kind: scratch, tokens: 4096}]\n", &m), HX_EINVAL);
    assert_int_equal(parse(HEAD "seeds: [1, 2]\narms: [{name: a, kind: scratch, tokens: 4096, sweep: {seed: [4, 5]}}]\n", &m),
                     HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "exclude each other"));
}

/* Logs one final eval row per arm: val_loss by group and seed. */
static void log_arm(hx_h5log *log, const char *arm, double tokens, double loss)
{
    char table[200];
    snprintf(table, sizeof table, "arms/%s/eval", arm);
    const char *cols[] = {"step", "tokens", "val_loss", "perplexity"};
    double v0[] = {0, 0, 8.0, exp(8.0)}, v[] = {10, tokens, loss, exp(loss)};
    assert_int_equal(hx_h5log_append(log, table, cols, v0, 4), HX_OK);
    assert_int_equal(hx_h5log_append(log, table, cols, v, 4), HX_OK);
}

static void test_claims_paired_by_seed(void **state)
{
    (void)state;
    hx_manifest m;
    const char *text = HEAD "seeds: [1, 2, 3]\n"
                            "arms:\n"
                            "  - {name: scratch, kind: scratch, tokens: 4096, prune: {hidden_size: 32}}\n"
                            "  - {name: prune_ce, kind: prune_ce, tokens: 4096, prune: {hidden_size: 32}}\n"
                            "  - {name: prune_kd, kind: prune_kd, tokens: 4096, prune: {hidden_size: 32}}\n"
                            "  - {name: depth_kd, kind: depth_kd, tokens: 4096, prune: {num_hidden_layers: 2}}\n";
    if (parse(text, &m) < 0) fail_msg("%s", hx_errmsg());
    hx_plan p;
    assert_int_equal(hx_plan_build(&m, NULL, 1000, &p), HX_OK);
    char path[] = "/tmp/hx_claims_XXXXXX.h5";
    int fd = mkstemps(path, 3);
    close(fd);
    unlink(path);
    hx_h5log *log;
    assert_int_equal(hx_h5log_open(path, HX_H5LOG_CREATE, &log), HX_OK);
    /* KD - CE per seed: -0.014, -0.058, -0.020 (within noise); CE - scratch about -1.5 (holds). Seed order
     * differs between groups on purpose: the pairing is by seed, not by position. */
    double ce[3] = {5.40, 5.45, 5.42}, kd[3] = {5.386, 5.392, 5.400}, sc[3] = {6.9, 6.95, 6.88};
    int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        int s = order[k];
        char name[64];
        snprintf(name, sizeof name, "scratch@seed=%d", s + 1);
        log_arm(log, name, 4096, sc[s]);
        snprintf(name, sizeof name, "prune_ce@seed=%d", s + 1);
        log_arm(log, name, 4096, ce[s]);
        snprintf(name, sizeof name, "prune_kd@seed=%d", s + 1);
        log_arm(log, name, 4096, kd[s]);
        snprintf(name, sizeof name, "depth_kd@seed=%d", s + 1);
        log_arm(log, name, 4096, kd[s] - 0.5);
    }
    hx_claim_row rows[64];
    assert_int_equal(hx_claims_eval(log, &p, rows, 64), HX_N_CLAIMS); /* one pair per claim here */
    assert_true(rows[0].tested);
    assert_string_equal(rows[0].left, "prune_kd");
    assert_string_equal(rows[0].right, "prune_ce");
    assert_int_equal(rows[0].diff.n, 3);
    assert_true(fabs(rows[0].diff.mean + 0.0307) < 1e-4);
    assert_int_equal(rows[0].verdict, HX_WITHIN_NOISE);
    assert_true(rows[1].tested && rows[1].verdict == HX_HOLDS && fabs(rows[1].diff.mean + 1.4867) < 1e-3);
    assert_false(rows[2].tested); /* no random-pruning arm */
    /* depth: 2 of 4 layers is far above the width student's parameters: not comparable, whatever the loss */
    assert_true(rows[5].tested);
    if (rows[5].verdict != HX_WITHIN_NOISE) fail_msg("%s", rows[5].note);
    assert_non_null(strstr(rows[5].note, "not comparable"));
    assert_false(rows[9].tested);
    char buf[700];
    assert_int_equal(hx_claims_token_ratio(log, &p, buf, sizeof buf), 1);
    assert_non_null(strstr(buf, "never reaches")); /* scratch ends at 6.9 > 5.386 */
    assert_int_equal(hx_h5log_close(log), HX_OK);
    unlink(path);
    hx_plan_free(&p);
    hx_manifest_free(&m);

    /* Two budgets: one row per budget, each pairing the groups with the same tokens. */
    text = HEAD "seeds: [1, 2]\n"
                "arms:\n"
                "  - {name: ce, kind: prune_ce, prune: {hidden_size: 32}, sweep: {tokens: [4096, 8192]}}\n"
                "  - {name: kd, kind: prune_kd, prune: {hidden_size: 32}, sweep: {tokens: [4096, 8192]}}\n";
    if (parse(text, &m) < 0) fail_msg("%s", hx_errmsg());
    assert_int_equal(hx_plan_build(&m, NULL, 1000, &p), HX_OK);
    assert_int_equal(hx_h5log_open(path, HX_H5LOG_CREATE, &log), HX_OK);
    for (int i = 0; i < m.n_arms; i++) /* kd 0.1 below ce at 4096 tokens, 0.1 above at 8192 */
        log_arm(log, m.arms[i].name, (double)m.arms[i].train.tokens,
                5.0 + (m.arms[i].kind == HX_ARM_PRUNE_KD ? (m.arms[i].train.tokens == 4096 ? -0.1 : 0.1) : 0) +
                    0.001 * (double)m.arms[i].seed);
    int nr = hx_claims_eval(log, &p, rows, 64);
    assert_int_equal(nr, HX_N_CLAIMS + 1);
    assert_string_equal(rows[0].left, "kd@tokens=4096");
    assert_string_equal(rows[0].right, "ce@tokens=4096");
    assert_int_equal(rows[0].verdict, HX_HOLDS);
    assert_string_equal(rows[1].left, "kd@tokens=8192");
    assert_string_equal(rows[1].right, "ce@tokens=8192");
    assert_int_equal(rows[1].verdict, HX_DOES_NOT_HOLD);
    assert_true(fabs(rows[1].diff.mean - 0.1) < 1e-9);
    assert_int_equal(hx_h5log_close(log), HX_OK);
    unlink(path);
    hx_plan_free(&p);
    hx_manifest_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intervals),
        cmocka_unit_test(test_seeds_expand),
        cmocka_unit_test(test_claims_paired_by_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
