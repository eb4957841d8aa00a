/* Tests for intermediate-state distillation (train/kd_is.h) and the
 * injected-gradient backward pass (hx_backward_ex): directional finite
 * differences of CE + alpha * L_is through a whole tiny student, for every
 * parameter tensor and for the learned map, with every state kind (embedding,
 * block output inside the stack and at the last layer, MLP input) and a
 * teacher of a different width; and capture/identity checks. */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "cpu/ops.h"
#include "model/forward.h"
#include "model/init.h"
#include "train/kd_is.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hx_config cfg_of(int hidden, int layers)
{
    hx_config c = {0};
    strcpy(c.model_type, "llama");
    c.vocab_size = 24;
    c.hidden_size = hidden;
    c.intermediate_size = 20;
    c.num_hidden_layers = layers;
    c.num_attention_heads = 2;
    c.num_key_value_heads = 1;
    c.head_dim = 6;
    c.max_position_embeddings = 32;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000;
    c.bos_token_id = c.eos_token_id = -1;
    return c;
}

enum { B = 2, T = 5, N = B * T };
static const double ALPHA = 0.7;

typedef struct {
    hx_model *s;
    hx_workspace *ws;
    hx_kd_is *is;
    int32_t *ids, *targets;
    long count;
} ctx;

/* CE mean + ALPHA * (L_is sum over all tokens) of the student; when dl is
 * given, leaves the CE gradient there and the state gradients in is->inject. */
static double loss_of(ctx *c, float *dl)
{
    assert_int_equal(hx_forward(c->s, c->ws, c->ids, NULL), HX_OK);
    double ce, is_sum, alpha;
    assert_int_equal(hx_cross_entropy(c->ws->logits, c->targets, N, c->s->cfg.vocab_size, HX_IGNORE_INDEX,
                                      (double)c->count, dl, &ce),
                     HX_OK);
    assert_int_equal(hx_kd_is_micro(c->is, c->ws, NULL, 1, ALPHA, 0, &is_sum, &alpha), HX_OK);
    assert_true(alpha == ALPHA);
    return ce / (double)c->count + ALPHA * is_sum;
}

static void test_injected_gradients_fd(void **state)
{
    (void)state;
    hx_rng r;
    hx_rng_seed(&r, 11);
    hx_config sc = cfg_of(12, 3), tc = cfg_of(16, 2);
    hx_model s, g, t;
    assert_int_equal(hx_model_alloc(&s, &sc), HX_OK);
    assert_int_equal(hx_model_alloc(&g, &sc), HX_OK);
    assert_int_equal(hx_model_alloc(&t, &tc), HX_OK);
    assert_int_equal(hx_model_init_random(&s, 3), HX_OK);
    assert_int_equal(hx_model_init_random(&t, 4), HX_OK);
    int np = hx_model_num_params(&sc);
    hx_param *ps = malloc(sizeof(hx_param) * np), *pg = malloc(sizeof(hx_param) * np);
    hx_model_params(&s, ps);
    hx_model_params(&g, pg);
    for (int k = 0; k < np; k++) /* larger weights so every path matters */
        for (int i = 0; i < ps[k].rows * (ps[k].cols ? ps[k].cols : 1); i++)
            ps[k].data[i] = ps[k].kind == HX_PARAM_NORM ? 1.0f + (float)(0.1 * hx_rng_normal(&r)) : 15.0f * ps[k].data[i];
    hx_kd_pair pairs[] = {{HX_KD_EMBEDDING, 0, 0},
                          {HX_KD_BLOCK_OUTPUT, 0, 0},
                          {HX_KD_MLP_INPUT, 1, 1},
                          {HX_KD_BLOCK_OUTPUT, 1, 2}, /* the student's last layer: final norm */
                          {HX_KD_BLOCK_OUTPUT, 1, 1}};
    hx_kd_is is;
    hx_adamw_config ac = hx_adamw_defaults();
    assert_int_equal(hx_kd_is_init(&is, pairs, 5, &sc, &tc, N, &ac, 9), HX_OK);
    assert_non_null(is.d_final);
    assert_non_null(is.d_attn[0]);
    assert_non_null(is.d_attn[1]);
    assert_non_null(is.d_attn[2]);
    assert_non_null(is.d_mlp[1]);
    assert_null(is.d_mlp[0]);
    int32_t ids[N], labels[N], targets[N];
    for (int i = 0; i < N; i++) ids[i] = labels[i] = (int32_t)hx_rng_below(&r, (uint64_t)sc.vocab_size);
    /* teacher states: captured through the hook of a forward-only workspace */
    hx_workspace tws, ws;
    assert_int_equal(hx_workspace_alloc(&tws, &tc, B, T, HX_WS_INFER), HX_OK);
    tws.hook = hx_kd_is_capture;
    tws.hook_ctx = &is;
    assert_int_equal(hx_forward(&t, &tws, ids, NULL), HX_OK);
    hx_kd_is_capture_final(&is, &tws);
    /* the final-norm pair got the teacher's final norm output */
    assert_memory_equal(is.t_state[3], tws.final_norm, sizeof(float) * N * tc.hidden_size);
    assert_int_equal(hx_workspace_alloc(&ws, &sc, B, T, HX_WS_TRAIN), HX_OK);
    ctx c = {&s, &ws, &is, ids, targets, hx_shift_labels(targets, labels, B, T, HX_IGNORE_INDEX)};
    float *dl = malloc(sizeof(float) * N * sc.vocab_size);
    memset(is.dW, 0, sizeof(float) * (size_t)is.dt * is.ds);
    loss_of(&c, dl);
    assert_int_equal(hx_backward_ex(&s, &ws, dl, &is.inject, &g), HX_OK);
    size_t wn = (size_t)is.dt * is.ds;
    float *dW = malloc(sizeof(float) * wn); /* later calls keep accumulating into is.dW */
    memcpy(dW, is.dW, sizeof(float) * wn);
    const double h = 3e-3;
    double worst = 0;
    for (int k = 0; k <= np; k++) { /* k == np: the map W */
        float *p = k < np ? ps[k].data : is.W, *gr = k < np ? pg[k].data : dW;
        size_t n = k < np ? (size_t)ps[k].rows * (ps[k].cols ? ps[k].cols : 1) : (size_t)is.dt * is.ds;
        double gn = 0;
        for (size_t i = 0; i < n; i++) gn += (double)gr[i] * gr[i];
        gn = sqrt(gn);
        assert_true(gn > 0);
        float *orig = malloc(sizeof(float) * n), *dir = malloc(sizeof(float) * n);
        memcpy(orig, p, sizeof(float) * n);
        memcpy(dir, gr, sizeof(float) * n);
        for (size_t i = 0; i < n; i++) p[i] = (float)(orig[i] + h * dir[i] / gn);
        double lp = loss_of(&c, NULL);
        for (size_t i = 0; i < n; i++) p[i] = (float)(orig[i] - h * dir[i] / gn);
        double lm = loss_of(&c, NULL);
        memcpy(p, orig, sizeof(float) * n);
        free(orig);
        free(dir);
        double fd = (lp - lm) / (2 * h), e = fabs(fd - gn) / gn;
        printf("kd_is %-40s |g| %.4g FD %.4g rel err %.2g\n", k < np ? ps[k].name : "kd_map", gn, fd, e);
        worst = hx_test_worst(worst, e);
    }
    assert_true(worst < 5e-3);
    /* Without injection the state gradients are missing: the grads differ. */
    hx_model g2;
    assert_int_equal(hx_model_alloc(&g2, &sc), HX_OK);
    loss_of(&c, dl);
    assert_int_equal(hx_backward(&s, &ws, dl, &g2), HX_OK);
    hx_test_cmp diff = hx_test_compare_f(g.data, g2.data, g.n_floats, "grads with vs without injection");
    assert_true(diff.bad == SIZE_MAX && diff.max_abs > 1e-3);
    hx_model_free(&g2);
    free(dW);
    free(dl);
    free(ps);
    free(pg);
    hx_kd_is_free(&is);
    hx_workspace_free(&ws);
    hx_workspace_free(&tws);
    hx_model_free(&s);
    hx_model_free(&g);
    hx_model_free(&t);
}

/* Same model as student and teacher with the identity map: L_is == 0 and no
 * state gradient; a bad layer index is refused naming the pair. */
static void test_identity_zero(void **state)
{
    (void)state;
    hx_config sc = cfg_of(12, 2);
    hx_model s;
    assert_int_equal(hx_model_alloc(&s, &sc), HX_OK);
    assert_int_equal(hx_model_init_random(&s, 5), HX_OK);
    hx_kd_pair pairs[] = {{HX_KD_BLOCK_OUTPUT, 0, 0}, {HX_KD_BLOCK_OUTPUT, 1, 1}, {HX_KD_MLP_INPUT, 0, 0}};
    hx_kd_is is;
    hx_adamw_config ac = hx_adamw_defaults();
    assert_int_equal(hx_kd_is_init(&is, pairs, 3, &sc, &sc, N, &ac, 1), HX_OK);
    assert_true(is.W[0] == 1.0f && is.W[1] == 0.0f && is.W[13] == 1.0f);
    int32_t ids[N];
    for (int i = 0; i < N; i++) ids[i] = (int32_t)((i * 7) % sc.vocab_size);
    hx_workspace tws, ws;
    assert_int_equal(hx_workspace_alloc(&tws, &sc, B, T, HX_WS_INFER), HX_OK);
    assert_int_equal(hx_workspace_alloc(&ws, &sc, B, T, HX_WS_TRAIN), HX_OK);
    tws.hook = hx_kd_is_capture;
    tws.hook_ctx = &is;
    assert_int_equal(hx_forward(&s, &tws, ids, NULL), HX_OK);
    hx_kd_is_capture_final(&is, &tws);
    assert_int_equal(hx_forward(&s, &ws, ids, NULL), HX_OK);
    double sum, alpha;
    assert_int_equal(hx_kd_is_micro(&is, &ws, NULL, 1, 1.0, 2.5, &sum, &alpha), HX_OK);
    assert_true(fabs(sum) < 1e-5);
    assert_true(alpha == 1.0);
    double gmax = 0;
    for (size_t i = 0; i < (size_t)N * sc.hidden_size; i++) gmax = hx_test_worst(gmax, fabs(is.d_final[i]));
    assert_true(gmax < 1e-3);
    /* dynamic alpha = L_logits / L_is of the micro-batch */
    hx_kd_pair one = {HX_KD_MLP_INPUT, 1, 1};
    hx_kd_is_free(&is);
    assert_int_equal(hx_kd_is_init(&is, &one, 1, &sc, &sc, N, &ac, 1), HX_OK);
    for (size_t i = 0; i < (size_t)N * sc.hidden_size; i++) is.t_state[0][i] = (float)((i * 37) % 11) - 5.0f;
    assert_int_equal(hx_kd_is_micro(&is, &ws, NULL, 0, 0, 2.5, &sum, &alpha), HX_OK);
    assert_true(sum > 0.5);
    assert_true(fabs(alpha - 2.5 / sum) < 1e-12);
    hx_kd_is_free(&is);
    hx_kd_pair bad = {HX_KD_MLP_INPUT, 0, 2};
    assert_int_equal(hx_kd_is_init(&is, &bad, 1, &sc, &sc, N, &ac, 1), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "student_layer 2"));
    hx_workspace_free(&ws);
    hx_workspace_free(&tws);
    hx_model_free(&s);
}

int main(void)
{
    hx_threads_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_injected_gradients_fd),
        cmocka_unit_test(test_identity_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
