/* Tests for the distillation losses: known values, finite-difference
 * gradients of every term, padded vocabularies (C07), global-batch
 * normalisation across micro-batch splits (C08). */
#include "test_util.h"

#include "core/rng.h"
#include "model/engine.h"
#include "train/kd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill(float *x, int n, hx_rng *r, double sd)
{
    for (int i = 0; i < n; i++) x[i] = (float)(sd * hx_rng_normal(r));
}

static void test_kl_known_values(void **state)
{
    (void)state;
    /* Two classes: p_t = softmax(0, 0) = (0.5, 0.5), p_s = softmax(0, ln 3) = (0.25, 0.75).
     * KL(p_t||p_s) = 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.5 ln(4/3) = 0.143841...;
     * reverse: 0.25 ln(0.5) + 0.75 ln(1.5) = 0.130812... */
    float s[2] = {0.0f, (float)log(3.0)}, t[2] = {0.0f, 0.0f};
    assert_true(fabs(hx_kd_logits_loss(s, 2, t, 2, 1, NULL, 1.0, 0, 1.0, NULL, 1.0f) - 0.5 * log(4.0 / 3.0)) < 1e-6);
    assert_true(fabs(hx_kd_logits_loss(s, 2, t, 2, 1, NULL, 1.0, 1, 1.0, NULL, 1.0f) -
                     (0.25 * log(0.5) + 0.75 * log(1.5))) < 1e-6);
    /* Identical logits: zero loss and zero gradient. */
    float g[2] = {9, 9};
    assert_true(fabs(hx_kd_logits_loss(t, 2, t, 2, 1, NULL, 2.0, 0, 1.0, g, 1.0f)) < 1e-12);
    assert_true(fabs(g[0]) < 1e-7 && fabs(g[1]) < 1e-7);
}

/* Central differences on the student logits for forward/reverse KL at two
 * temperatures, with a padded teacher vocabulary and one masked token. */
static void test_kl_gradients_fd(void **state)
{
    (void)state;
    enum { N = 3, VS = 7, VT = 9 };
    hx_rng r;
    hx_rng_seed(&r, 3);
    float s[N * VS], t[N * VT], g[N * VS];
    fill(s, N * VS, &r, 1.5);
    fill(t, N * VT, &r, 1.5);
    uint8_t mask[N] = {1, 0, 1};
    for (int reverse = 0; reverse < 2; reverse++)
        for (int ti = 0; ti < 2; ti++) {
            double tau = ti ? 2.0 : 1.0;
            hx_kd_logits_loss(s, VS, t, VT, N, mask, tau, reverse, 2.0, g, 1.0f);
            double worst = 0;
            for (int i = 0; i < N * VS; i++) {
                float keep = s[i];
                double h = 1e-2;
                s[i] = keep + (float)h;
                double lp = hx_kd_logits_loss(s, VS, t, VT, N, mask, tau, reverse, 2.0, NULL, 1.0f);
                s[i] = keep - (float)h;
                double lm = hx_kd_logits_loss(s, VS, t, VT, N, mask, tau, reverse, 2.0, NULL, 1.0f);
                s[i] = keep;
                double fd = (lp - lm) / (2 * h), err = fabs(fd - g[i]);
                worst = hx_test_worst(worst, err);
            }
            printf("NOTE: KL reverse=%d tau=%.0f max |grad - fd| = %.2e\n", reverse, tau, worst);
            assert_true(worst < 2e-4);
        }
    /* The masked token and padded teacher ids contribute nothing. */
    for (int v = 0; v < VS; v++) assert_true(g[VS + v] == 0.0f);
}

/* C07: a teacher whose vocabulary has extra padding rows gives the same loss
 * as one cut to the student's vocabulary, whatever the padding logits are. */
static void test_c07_padded_vocab(void **state)
{
    (void)state;
    enum { N = 2, VS = 5, VT = 8 };
    hx_rng r;
    hx_rng_seed(&r, 4);
    float s[N * VS], t[N * VT], tcut[N * VS];
    fill(s, N * VS, &r, 1.0);
    fill(t, N * VT, &r, 1.0);
    for (int n = 0; n < N; n++) {
        memcpy(tcut + n * VS, t + n * VT, VS * sizeof(float));
        for (int v = VS; v < VT; v++) t[n * VT + v] = 50.0f; /* huge padding logits */
    }
    double a = hx_kd_logits_loss(s, VS, t, VT, N, NULL, 1.0, 0, N, NULL, 1.0f);
    double b = hx_kd_logits_loss(s, VS, tcut, VS, N, NULL, 1.0, 0, N, NULL, 1.0f);
    assert_true(a > 0.01);
    assert_true(fabs(a - b) < 1e-9);
}

/* The gradient may overwrite the student logits it is computed from (the
 * trainer's w_ce = 0 path): the same bits as into a separate buffer, with a
 * masked row and student ids beyond the teacher's vocabulary (zeroed). */
static void test_gradient_in_place(void **state)
{
    (void)state;
    enum { N = 3, VS = 9, VT = 7 };
    hx_rng r;
    hx_rng_seed(&r, 11);
    float s[N * VS], t[N * VT], g[N * VS], inplace[N * VS];
    fill(s, N * VS, &r, 2.0);
    fill(t, N * VT, &r, 2.0);
    memcpy(inplace, s, sizeof s);
    const uint8_t mask[N] = {1, 0, 1};
    for (int reverse = 0; reverse < 2; reverse++) {
        memcpy(inplace, s, sizeof s);
        double a = hx_kd_logits_loss(s, VS, t, VT, N, mask, 2.0, reverse, 2.0, g, 0.5f);
        double b = hx_kd_logits_loss(inplace, VS, t, VT, N, mask, 2.0, reverse, 2.0, inplace, 0.5f);
        assert_true(a == b && a > 0);
        assert_memory_equal(g, inplace, sizeof g);
        for (int v = 0; v < VS; v++) assert_true(g[VS + v] == 0.0f); /* masked row */
        for (int n = 0; n < N; n++)
            for (int v = VT; v < VS; v++) assert_true(g[n * VS + v] == 0.0f); /* beyond the shared ids */
    }
}

/* C08: the loss over a global batch equals the sum of micro-batch losses when
 * every micro-batch divides by the global unmasked count; all-masked is 0. */
static void test_c08_global_normalisation(void **state)
{
    (void)state;
    enum { N = 8, V = 6 };
    hx_rng r;
    hx_rng_seed(&r, 5);
    float s[N * V], t[N * V], g1[N * V], g2[N * V];
    fill(s, N * V, &r, 1.0);
    fill(t, N * V, &r, 1.0);
    uint8_t mask[N] = {1, 1, 1, 1, 1, 0, 0, 0}; /* unevenly spread */
    double whole = hx_kd_logits_loss(s, V, t, V, N, mask, 1.0, 0, 5.0, g1, 1.0f);
    double split = 0;
    for (int m = 0; m < 4; m++)
        split += hx_kd_logits_loss(s + m * 2 * V, V, t + m * 2 * V, V, 2, mask + 2 * m, 1.0, 0, 5.0, g2 + m * 2 * V, 1.0f);
    assert_true(fabs(whole - split) < 1e-12);
    assert_memory_equal(g1, g2, sizeof g1);
    uint8_t none[N] = {0};
    double z = hx_kd_logits_loss(s, V, t, V, N, none, 1.0, 0, 0.0, g1, 1.0f);
    assert_true(z == 0.0);
    for (int i = 0; i < N * V; i++) assert_true(g1[i] == 0.0f);
}

static void test_cosine_loss_fd(void **state)
{
    (void)state;
    enum { N = 4, DS = 5, DT = 6 };
    hx_rng r;
    hx_rng_seed(&r, 6);
    float hs[N * DS], W[DT * DS], ht[N * DT], dhs[N * DS] = {0}, dW[DT * DS] = {0};
    fill(hs, N * DS, &r, 1.0);
    fill(W, DT * DS, &r, 0.5);
    fill(ht, N * DT, &r, 1.0);
    uint8_t mask[N] = {1, 1, 0, 1};
    double loss = hx_kd_cosine_loss(hs, DS, W, ht, DT, N, mask, 3.0, dhs, dW, 1.0f);
    assert_true(loss > 0.0 && loss < 2.0);
    float *xs[2] = {hs, W}, *gs[2] = {dhs, dW};
    int ns[2] = {N * DS, DT * DS};
    for (int k = 0; k < 2; k++) {
        double worst = 0;
        for (int i = 0; i < ns[k]; i++) {
            float keep = xs[k][i];
            double h = 1e-2;
            xs[k][i] = keep + (float)h;
            double lp = hx_kd_cosine_loss(hs, DS, W, ht, DT, N, mask, 3.0, NULL, NULL, 1.0f);
            xs[k][i] = keep - (float)h;
            double lm = hx_kd_cosine_loss(hs, DS, W, ht, DT, N, mask, 3.0, NULL, NULL, 1.0f);
            xs[k][i] = keep;
            double err = fabs((lp - lm) / (2 * h) - gs[k][i]);
            worst = hx_test_worst(worst, err);
        }
        printf("NOTE: cosine loss d%s max |grad - fd| = %.2e\n", k ? "W" : "h_s", worst);
        assert_true(worst < 5e-4);
    }
    /* Parallel vectors: loss 0. */
    float one[DT] = {1, 2, 3, 4, 5, 6}, Id[DT * DT] = {0};
    for (int j = 0; j < DT; j++) Id[j * DT + j] = 2.0f;
    assert_true(fabs(hx_kd_cosine_loss(one, DT, Id, one, DT, 1, NULL, 1.0, NULL, NULL, 1.0f)) < 1e-7);
    assert_true(fabs(hx_kd_alpha(3.0, 1.5) - 2.0) < 1e-15);
    assert_true(hx_kd_alpha(3.0, 0.0) == 0.0);
}

/* Top-k KL (hx_kd_topk_loss): with k = V it is the full KL, loss and
 * gradient; for k < V its gradient matches central differences; identical
 * logits give 0; extraction keeps the k largest in order. */
static void test_topk_kl(void **state)
{
    (void)state;
    enum { N = 3, V = 9, K = 3 };
    hx_rng r;
    hx_rng_seed(&r, 11);
    float s[N * V], t[N * V], g[N * V], gf[N * V], vals[N * V], lse[N];
    int32_t ids[N * V];
    fill(s, N * V, &r, 1.5);
    fill(t, N * V, &r, 1.5);
    uint8_t mask[N] = {1, 0, 1};
    for (int ti = 0; ti < 2; ti++) {
        double tau = ti ? 2.0 : 1.0;
        assert_int_equal(hx_kd_topk_extract(t, V, V, N, V, tau, ids, vals, lse), 0);
        double full = hx_kd_logits_loss(s, V, t, V, N, mask, tau, 0, 2.0, gf, 1.0f);
        double topv = hx_kd_topk_loss(s, V, ids, vals, lse, V, N, mask, tau, 2.0, g, 1.0f);
        assert_true(fabs(full - topv) < 1e-6 * fabs(full));
        for (int i = 0; i < N * V; i++) assert_true(fabs(g[i] - gf[i]) < 1e-6);
        assert_int_equal(hx_kd_topk_extract(t, V, V, N, K, tau, ids, vals, lse), 0);
        for (int n = 0; n < N; n++) /* descending, and no id outside the k beats the k-th */
            for (int i = 0; i < K; i++) {
                assert_true(t[n * V + ids[n * K + i]] == vals[n * K + i]);
                if (i) assert_true(vals[n * K + i - 1] >= vals[n * K + i]);
            }
        hx_kd_topk_loss(s, V, ids, vals, lse, K, N, mask, tau, 2.0, g, 1.0f);
        double worst = 0;
        for (int i = 0; i < N * V; i++) {
            float keep = s[i];
            double h = 1e-2;
            s[i] = keep + (float)h;
            double lp = hx_kd_topk_loss(s, V, ids, vals, lse, K, N, mask, tau, 2.0, NULL, 1.0f);
            s[i] = keep - (float)h;
            double lm = hx_kd_topk_loss(s, V, ids, vals, lse, K, N, mask, tau, 2.0, NULL, 1.0f);
            s[i] = keep;
            worst = hx_test_worst(worst, fabs((lp - lm) / (2 * h) - g[i]));
        }
        printf("NOTE: top-%d KL tau=%.0f max |grad - fd| = %.2e\n", K, tau, worst);
        assert_true(worst < 2e-4);
        assert_true(hx_kd_topk_loss(t, V, ids, vals, lse, K, N, NULL, tau, 1.0, NULL, 1.0f) < 1e-6); /* p == q */
    }
    assert_int_equal(hx_kd_topk_extract(t, V, V, N, V + 1, 1.0, ids, vals, lse), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kl_known_values),       cmocka_unit_test(test_kl_gradients_fd),
        cmocka_unit_test(test_c07_padded_vocab),
        cmocka_unit_test(test_gradient_in_place),      cmocka_unit_test(test_c08_global_normalisation),
        cmocka_unit_test(test_cosine_loss_fd),
        cmocka_unit_test(test_topk_kl),
    };
    return cmocka_run_group_tests_name("kd", tests, NULL, NULL);
}
