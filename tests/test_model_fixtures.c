/* The CPU engine against PyTorch/transformers: logits, loss and every
 * parameter gradient of the tiny reference models in tests/fixtures/engine/
 * (made by tools/make_fixtures.py: GQA untied, tied embeddings, llama3 RoPE
 * with head_dim != hidden/heads, Mistral with a sliding window).
 * Relative error of a tensor = max|ours - ref| / max|ref|. */
#include "test_util.h"

#include "core/err.h"
#include "core/util.h"
#include "cpu/ops.h"
#include "model/forward.h"
#include "model/safetensors.h"
#include "model/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGITS_TOL 1e-4
#define GRAD_TOL 1e-3

/* max|a - ref| / max|ref|; +INFINITY when either side has a NaN or Inf
 * (the first bad element is printed with `what`). */
static double rel_err(const float *a, const float *ref, size_t n, const char *what)
{
    return hx_test_compare_f(a, ref, n, what).rel;
}

/* Reads reference tensor `name` (checking its element count) into a new buffer. */
static float *ref_f32(hx_st *st, const char *name, size_t n)
{
    const hx_st_tensor *t = hx_st_find(st, name);
    if (!t) fail_msg("reference tensor %s missing", name);
    assert_int_equal(hx_st_numel(t), n);
    float *p = malloc(sizeof(float) * n);
    assert_non_null(p);
    assert_int_equal(hx_st_read_f32(st, t, p, n), HX_OK);
    return p;
}

static void check_fixture(const char *name)
{
    char dir[256], ref_path[300];
    snprintf(dir, sizeof dir, "tests/fixtures/engine/%s", name);
    snprintf(ref_path, sizeof ref_path, "%s/reference.safetensors", dir);
    hx_model m, g;
    int rc = hx_model_load(dir, &m);
    if (rc < 0) fail_msg("%s: %s", dir, hx_errmsg());
    assert_int_equal(hx_model_alloc(&g, &m.cfg), HX_OK);
    hx_st *st;
    rc = hx_st_open(ref_path, &st);
    if (rc < 0) fail_msg("%s", hx_errmsg());

    const hx_st_tensor *ti = hx_st_find(st, "input_ids");
    assert_non_null(ti);
    assert_int_equal(ti->ndim, 2);
    int B = (int)ti->shape[0], T = (int)ti->shape[1], N = B * T, V = m.cfg.vocab_size;
    int32_t *ids = malloc(sizeof(int32_t) * N), *labels = malloc(sizeof(int32_t) * N), *tg = malloc(sizeof(int32_t) * N);
    assert_int_equal(hx_st_read_i32(st, ti, ids, (size_t)N), HX_OK);
    assert_int_equal(hx_st_read_i32(st, hx_st_find(st, "labels"), labels, (size_t)N), HX_OK);

    hx_workspace ws;
    assert_int_equal(hx_workspace_alloc(&ws, &m.cfg, B, T, HX_WS_TRAIN), HX_OK);
    assert_int_equal(hx_forward(&m, &ws, ids, NULL), HX_OK);
    float *ref_logits = ref_f32(st, "logits", (size_t)N * V);
    double e_logits = rel_err(ws.logits, ref_logits, (size_t)N * V, "logits");
    printf("%-16s logits rel err %.3g\n", name, e_logits);

    long count = hx_shift_labels(tg, labels, B, T, HX_IGNORE_INDEX);
    double loss_sum;
    float *dlogits = malloc(sizeof(float) * (size_t)N * V);
    assert_int_equal(hx_cross_entropy(ws.logits, tg, N, V, HX_IGNORE_INDEX, (double)count, dlogits, &loss_sum),
                     HX_OK);
    float *ref_loss = ref_f32(st, "loss", 1);
    double loss = loss_sum / count;
    printf("%-16s loss %.7f ref %.7f\n", name, loss, ref_loss[0]);

    assert_int_equal(hx_backward(&m, &ws, dlogits, &g), HX_OK);
    int np = hx_model_num_params(&m.cfg), bad = 0;
    hx_param *ps = malloc(sizeof(hx_param) * np);
    hx_model_params(&g, ps);
    for (int i = 0; i < np; i++) {
        char key[128];
        snprintf(key, sizeof key, "grad.%s", ps[i].name);
        size_t n = (size_t)ps[i].rows * (ps[i].cols ? ps[i].cols : 1);
        float *ref = ref_f32(st, key, n);
        double e = rel_err(ps[i].data, ref, n, ps[i].name);
        printf("%-16s %-52s grad rel err %.3g%s\n", name, ps[i].name, e, e < GRAD_TOL ? "" : "  <-- FAIL");
        bad += !(e < GRAD_TOL);
        free(ref);
    }
    assert_true(e_logits < LOGITS_TOL);
    assert_true(fabs(loss - ref_loss[0]) < 1e-5 * fabs(ref_loss[0]));
    assert_int_equal(bad, 0);

    free(ps);
    free(ref_loss);
    free(dlogits);
    free(ref_logits);
    free(ids);
    free(labels);
    free(tg);
    hx_workspace_free(&ws);
    hx_st_close(st);
    hx_model_free(&g);
    hx_model_free(&m);
}

static void test_llama_gqa(void **s) { (void)s; check_fixture("llama_gqa"); }
static void test_llama_tied(void **s) { (void)s; check_fixture("llama_tied"); }
static void test_llama3_headdim(void **s) { (void)s; check_fixture("llama3_headdim"); }
static void test_mistral_swa(void **s) { (void)s; check_fixture("mistral_swa"); }

int main(void)
{
    hx_threads_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama_gqa),
        cmocka_unit_test(test_llama_tied),
        cmocka_unit_test(test_llama3_headdim),
        cmocka_unit_test(test_mistral_swa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
