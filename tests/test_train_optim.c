/* Tests for harness/train: AdamW against torch.optim.AdamW fixtures,
 * learning-rate schedules at their boundary steps, gradient reduction (C08),
 * global norm and clipping. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "train/grad.h"
#include "model/optim.h"
#include "train/schedule.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static hx_config tiny_config(int tied)
{
    hx_config c = {0};
    strcpy(c.model_type, "llama");
    c.vocab_size = 5;
    c.hidden_size = 4;
    c.intermediate_size = 6;
    c.num_hidden_layers = 1;
    c.num_attention_heads = 2;
    c.num_key_value_heads = 1;
    c.head_dim = 2;
    c.max_position_embeddings = 16;
    c.rms_norm_eps = 1e-5f;
    c.rope_theta = 10000;
    c.tie_word_embeddings = tied;
    return c;
}

static void load_floats(json_t *arr, float *dst, size_t n)
{
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) dst[i] = (float)json_number_value(json_array_get(arr, i));
}

/* |got - want| <= 1e-6 * max(|want|, 1e-3): relative, with a floor for values near zero. */
static void assert_close_rel(const float *got, json_t *want, size_t n, const char *what, int step)
{
    for (size_t i = 0; i < n; i++) {
        double w = json_number_value(json_array_get(want, i));
        double tol = 1e-6 * fmax(fabs(w), 1e-3);
        if (!(fabs(got[i] - w) <= tol)) fail_msg("%s step %d element %zu: got %.9g want %.9g", what, step, i, got[i], w);
    }
}

static void test_adamw_matches_torch(void **state)
{
    (void)state;
    json_error_t err;
    json_t *doc = json_load_file("tests/fixtures/optim/adamw.json", 0, &err);
    if (!doc) fail_msg("fixture: %s line %d", err.text, err.line);
    hx_config cfg = tiny_config(0);
    hx_model p, g;
    assert_int_equal(hx_model_alloc(&p, &cfg), HX_OK);
    assert_int_equal(hx_model_alloc(&g, &cfg), HX_OK);
    size_t n = (size_t)json_integer_value(json_object_get(doc, "n"));
    assert_int_equal(n, p.n_floats);
    json_t *cases = json_object_get(doc, "cases"), *grads = json_object_get(doc, "grads");
    json_t *lrs = json_object_get(doc, "lrs");
    assert_int_equal(json_array_size(cases), 3);
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *cs = json_array_get(cases, c);
        hx_adamw_config oc = {.beta1 = json_real_value(json_object_get(doc, "beta1")),
                              .beta2 = json_real_value(json_object_get(doc, "beta2")),
                              .eps = json_real_value(json_object_get(doc, "eps")),
                              .weight_decay = json_number_value(json_object_get(cs, "weight_decay")),
                              .decay_norms = (int)json_integer_value(json_object_get(cs, "decay_norms")),
                              .decay_embeddings = (int)json_integer_value(json_object_get(cs, "decay_embeddings"))};
        hx_adamw opt;
        assert_int_equal(hx_adamw_init(&opt, &oc, &p), HX_OK);
        load_floats(json_object_get(doc, "init"), p.data, n);
        json_t *steps = json_object_get(cs, "steps");
        for (size_t s = 0; s < json_array_size(steps); s++) {
            load_floats(json_array_get(grads, s), g.data, n);
            assert_int_equal(hx_adamw_step(&opt, &p, &g, json_real_value(json_array_get(lrs, s))), HX_OK);
            json_t *st = json_array_get(steps, s);
            assert_close_rel(p.data, json_object_get(st, "params"), n, "params", (int)s);
            assert_close_rel(opt.m, json_object_get(st, "m"), n, "m", (int)s);
            assert_close_rel(opt.v, json_object_get(st, "v"), n, "v", (int)s);
        }
        assert_int_equal(opt.t, 4);
        hx_adamw_free(&opt);
    }
    /* The three cases differ where they should: decaying norms changes the final norm weight. */
    json_t *last0 = json_array_get(json_object_get(json_array_get(cases, 0), "steps"), 3);
    json_t *last1 = json_array_get(json_object_get(json_array_get(cases, 1), "steps"), 3);
    size_t norm_at = n - 5 * 4 - 4; /* model.norm.weight precedes the 5x4 lm_head */
    assert_true(json_real_value(json_array_get(json_object_get(last0, "params"), norm_at)) !=
                json_real_value(json_array_get(json_object_get(last1, "params"), norm_at)));
    hx_model_free(&p);
    hx_model_free(&g);
    json_decref(doc);
}

static void test_adamw_decay_mask_and_errors(void **state)
{
    (void)state;
    hx_config cfg = tiny_config(1);
    hx_model p, g;
    assert_int_equal(hx_model_alloc(&p, &cfg), HX_OK);
    assert_int_equal(hx_model_alloc(&g, &cfg), HX_OK);
    hx_adamw_config oc = hx_adamw_defaults();
    oc.weight_decay = 0.5;
    hx_adamw opt;
    assert_int_equal(hx_adamw_init(&opt, &oc, &p), HX_OK);
    /* Zero gradients: only decay moves parameters; p <- p (1 - lr wd) exactly. */
    for (size_t i = 0; i < p.n_floats; i++) p.data[i] = 1.0f;
    assert_int_equal(hx_adamw_step(&opt, &p, &g, 0.1), HX_OK);
    assert_true(p.embed_tokens[0] == 0.95f);             /* embeddings decayed by default */
    assert_true(p.layers[0].q_proj[3] == 0.95f);         /* linear */
    assert_true(p.layers[0].input_layernorm[0] == 1.0f); /* norms not decayed by default */
    assert_true(p.norm[3] == 1.0f);
    hx_adamw_free(&opt);
    oc.beta2 = 1.0;
    assert_int_equal(hx_adamw_init(&opt, &oc, &p), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "betas"));
    hx_config other = tiny_config(0);
    hx_model q;
    assert_int_equal(hx_model_alloc(&q, &other), HX_OK);
    oc = hx_adamw_defaults();
    assert_int_equal(hx_adamw_init(&opt, &oc, &p), HX_OK);
    assert_int_equal(hx_adamw_step(&opt, &p, &q, 0.1), HX_EINVAL);
    hx_adamw_free(&opt);
    hx_model_free(&q);
    hx_model_free(&p);
    hx_model_free(&g);
}

static void test_schedule_boundaries(void **state)
{
    (void)state;
    hx_schedule s = {.kind = HX_SCHED_COSINE, .peak_lr = 1e-3, .min_lr = 1e-4, .warmup = 10, .total = 110};
    assert_int_equal(hx_schedule_validate(&s), HX_OK);
    assert_true(hx_schedule_lr(&s, 0) == 0.0);
    assert_true(hx_schedule_lr(&s, 1) == 1e-3 / 10);
    assert_true(fabs(hx_schedule_lr(&s, 5) - 5e-4) < 1e-18);
    assert_true(hx_schedule_lr(&s, 10) == 1e-3);
    assert_true(fabs(hx_schedule_lr(&s, 60) - 5.5e-4) < 1e-18); /* halfway: (peak+min)/2 */
    assert_true(fabs(hx_schedule_lr(&s, 110) - 1e-4) < 1e-18);
    assert_true(hx_schedule_lr(&s, 500) == 1e-4);
    s.kind = HX_SCHED_LINEAR;
    assert_true(fabs(hx_schedule_lr(&s, 35) - (1e-4 + 9e-4 * 0.75)) < 1e-18);
    assert_true(hx_schedule_lr(&s, 110) == 1e-4);
    s.kind = HX_SCHED_CONSTANT;
    assert_true(fabs(hx_schedule_lr(&s, 3) - 3e-4) < 1e-18);
    assert_true(hx_schedule_lr(&s, 1000) == 1e-3);
    /* WSD: warm-up 10, stable to 80, decay over the last 20% (80..100). */
    s = (hx_schedule){.kind = HX_SCHED_WSD, .peak_lr = 1.0, .min_lr = 0.0, .warmup = 10, .total = 100,
                      .decay_fraction = 0.2, .wsd_shape = HX_WSD_LINEAR};
    assert_int_equal(hx_schedule_validate(&s), HX_OK);
    assert_true(hx_schedule_lr(&s, 10) == 1.0);
    assert_true(hx_schedule_lr(&s, 80) == 1.0);
    assert_true(hx_schedule_lr(&s, 81) == 1.0 - 1.0 / 20);
    assert_true(hx_schedule_lr(&s, 90) == 0.5);
    assert_true(hx_schedule_lr(&s, 100) == 0.0);
    s.wsd_shape = HX_WSD_SQRT;
    assert_true(fabs(hx_schedule_lr(&s, 85) - 0.5) < 1e-15); /* r = 1/4: 1 - sqrt(1/4) */
    /* No warm-up: the first position gets the peak. */
    s = (hx_schedule){.kind = HX_SCHED_COSINE, .peak_lr = 2.0, .min_lr = 0.0, .warmup = 0, .total = 4};
    assert_true(hx_schedule_lr(&s, 0) == 2.0);
    assert_true(fabs(hx_schedule_lr(&s, 2) - 1.0) < 1e-15);
    /* Validation errors name the field. */
    s.min_lr = 3.0;
    assert_int_equal(hx_schedule_validate(&s), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "min_lr"));
    s = (hx_schedule){.kind = HX_SCHED_WSD, .peak_lr = 1, .warmup = 90, .total = 100, .decay_fraction = 0.2};
    assert_int_equal(hx_schedule_validate(&s), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "warmup"));
    hx_sched_kind k;
    assert_int_equal(hx_sched_kind_parse("wsd", &k), HX_OK);
    assert_int_equal(k, HX_SCHED_WSD);
    assert_string_equal(hx_sched_kind_name(HX_SCHED_COSINE), "cosine");
    assert_int_equal(hx_sched_kind_parse("step", &k), HX_EINVAL);
}

static void test_grad_norm_clip_deterministic(void **state)
{
    (void)state;
    hx_config cfg = tiny_config(0);
    cfg.vocab_size = 3001; /* > 4096 floats so several norm blocks are used */
    hx_model g;
    assert_int_equal(hx_model_alloc(&g, &cfg), HX_OK);
    double want = 0;
    for (size_t i = 0; i < g.n_floats; i++) {
        g.data[i] = (float)((double)((i * 7919) % 1000) / 1000.0 - 0.5);
        want += (double)g.data[i] * g.data[i];
    }
    want = sqrt(want);
    hx_set_threads(1);
    double n1 = hx_grad_norm(&g);
    hx_set_threads(3);
    double n3 = hx_grad_norm(&g);
    hx_set_threads(2);
    assert_true(n1 == n3); /* bit-identical for any thread count */
    assert_true(fabs(n1 - want) < 1e-12 * want);
    float before = g.data[17];
    double pre = hx_grad_clip(&g, 1e9); /* no-op above the norm */
    assert_true(pre == n1);
    assert_true(g.data[17] == before);
    pre = hx_grad_clip(&g, 1.0);
    assert_true(pre == n1);
    assert_true(fabs(hx_grad_norm(&g) - 1.0) < 1e-5);
    assert_true(g.data[17] == before * (float)(1.0 / (n1 + 1e-6)));
    g.data[3] = NAN;
    assert_true(isnan(hx_grad_clip(&g, 1.0)));
    hx_model_free(&g);
}

/* C08: the same global batch split 1x8 and 4x2 (micro-batches of per-token
 * losses with unevenly spread masked positions) gives the same mean loss and
 * gradient; an all-masked batch gives 0, not NaN. The "model" is a linear
 * per-token loss l_t = w . x_t, so dl/dw summed over unmasked tokens is exact. */
static void accumulate(hx_model *g, double *sums, const float x[8][4], const int mask[8], int from, int to)
{
    for (int t = from; t < to; t++) {
        if (!mask[t]) continue;
        sums[0] += 1;
        for (int k = 0; k < 4; k++) {
            g->data[k] += x[t][k];
            sums[1] += 0.5 * x[t][k]; /* loss with w = 0.5 everywhere */
        }
    }
}

static void test_grad_reduce_global_token_mean(void **state)
{
    (void)state;
    hx_config cfg = tiny_config(0);
    hx_model a, b;
    assert_int_equal(hx_model_alloc(&a, &cfg), HX_OK);
    assert_int_equal(hx_model_alloc(&b, &cfg), HX_OK);
    float x[8][4];
    for (int t = 0; t < 8; t++)
        for (int k = 0; k < 4; k++) x[t][k] = (float)(t * 4 + k) * 0.25f - 3.0f;
    const int mask[8] = {1, 0, 0, 0, 1, 1, 1, 0}; /* 1 unmasked in the first half, 3 in the second */
    double sa[2] = {0, 0}, sb[2] = {0, 0};
    accumulate(&a, sa, x, mask, 0, 8);
    for (int mb = 0; mb < 4; mb++) accumulate(&b, sb, x, mask, 2 * mb, 2 * mb + 2);
    assert_int_equal(hx_grad_reduce(NULL, &a, sa, 2), HX_OK);
    assert_int_equal(hx_grad_reduce(NULL, &b, sb, 2), HX_OK);
    assert_true(sa[0] == 4 && sb[0] == 4);
    assert_true(fabs(sa[1] / sa[0] - sb[1] / sb[0]) < 1e-12);
    for (int k = 0; k < 4; k++) {
        float want = (x[0][k] + x[4][k] + x[5][k] + x[6][k]) / 4.0f;
        assert_true(fabsf(a.data[k] - want) < 1e-6f);
        assert_true(fabsf(b.data[k] - want) < 1e-6f);
    }
    /* The per-micro-batch-mean mistake would differ: (x0 + (x4+x5)/2 + x6)/3 for k=0. */
    float wrong = (x[0][0] + (x[4][0] + x[5][0]) / 2 + x[6][0]) / 3;
    assert_true(fabsf(a.data[0] - wrong) > 1e-3f);
    /* All masked: zero gradients and a zero count, no NaN. */
    for (size_t i = 0; i < a.n_floats; i++) a.data[i] = 1.0f;
    double z[2] = {0, 0};
    assert_int_equal(hx_grad_reduce(NULL, &a, z, 2), HX_OK);
    assert_true(a.data[0] == 0.0f && hx_grad_norm(&a) == 0.0);
    z[0] = -1;
    assert_int_equal(hx_grad_reduce(NULL, &a, z, 2), HX_EINVAL);
    hx_model_free(&a);
    hx_model_free(&b);
}

/* A fake two-rank communicator: the "other rank" holds a copy of this rank's
 * buffers, so an all-reduce doubles every value. */
static int fake_f32(void *ctx, float *buf, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) buf[i] *= 2;
    return HX_OK;
}
static int fake_f64(void *ctx, double *buf, size_t n)
{
    *(int *)ctx += 1;
    for (size_t i = 0; i < n; i++) buf[i] *= 2;
    return HX_OK;
}

static void test_grad_reduce_through_comm(void **state)
{
    (void)state;
    hx_config cfg = tiny_config(0);
    hx_model g;
    assert_int_equal(hx_model_alloc(&g, &cfg), HX_OK);
    g.data[0] = 6.0f;
    double sums[2] = {3, 9};
    int calls = 0;
    hx_comm comm = {.ctx = &calls, .allreduce_f32 = fake_f32, .allreduce_f64 = fake_f64};
    assert_int_equal(hx_grad_reduce(&comm, &g, sums, 2), HX_OK);
    assert_int_equal(calls, 1);
    assert_true(sums[0] == 6 && sums[1] == 18);
    assert_true(g.data[0] == 2.0f); /* (6+6) / (3+3) */
    hx_model_free(&g);
}

int main(void)
{
    hx_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adamw_matches_torch),
        cmocka_unit_test(test_adamw_decay_mask_and_errors),
        cmocka_unit_test(test_schedule_boundaries),
        cmocka_unit_test(test_grad_norm_clip_deterministic),
        cmocka_unit_test(test_grad_reduce_global_token_mean),
        cmocka_unit_test(test_grad_reduce_through_comm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
