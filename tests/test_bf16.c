/* The bf16 forward path (kernels/cpu/linear_bf16.c, model/bf16.c): the
 * kernel against a double-precision product of the same bf16-rounded
 * inputs, at odd sizes and with accumulation (beta 1), independent of the
 * thread count; and a whole model's bf16 logits against its fp32 logits,
 * with training passes untouched. Skipped (with a note) on CPUs without
 * AVX512-BF16, where packing must refuse. */
#include "test_util.h"

#include "core/err.h"
#include "core/rng.h"
#include "cpu/convert.h"
#include "model/engine.h"
#include "model/init.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static int no_bf16_cpu(void)
{
    if (hx_bf16_gemm_available()) return 0;
    printf("SKIP: this CPU has no AVX512-BF16; the bf16 path is not tested here\n");
    return 1;
}

static void fill(float *x, size_t n, hx_rng *g, float scale)
{
    for (size_t i = 0; i < n; i++) x[i] = scale * (float)hx_rng_normal(g);
}

static void test_kernel_against_reference(void **state)
{
    (void)state;
    if (no_bf16_cpu()) return;
    const int shapes[][3] = {{13, 37, 45}, {6, 64, 32}, {1, 1, 1}, {50, 576, 100}, {7, 1536, 33}};
    hx_rng g;
    hx_rng_seed(&g, 11);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int N = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        float *x = malloc(sizeof(float) * N * in), *W = malloc(sizeof(float) * out * in);
        float *y = malloc(sizeof(float) * N * out), *y1 = malloc(sizeof(float) * N * out), *y0 = malloc(sizeof(float) * N * out);
        uint16_t *P = malloc(sizeof(uint16_t) * hx_bf16_packed_len(in, out)), *xb = malloc(sizeof(uint16_t) * N * (in + 1));
        fill(x, (size_t)N * in, &g, 1.0f);
        fill(W, (size_t)out * in, &g, 0.05f);
        fill(y0, (size_t)N * out, &g, 1.0f);
        hx_bf16_pack(P, W, in, out);
        for (int beta = 0; beta < 2; beta++) {
            memcpy(y, y0, sizeof(float) * N * out);
            assert_int_equal(hx_linear_fwd_bf16(y, x, P, N, in, out, (float)beta, xb), 0);
            double worst = 0;
            for (int i = 0; i < N; i++)
                for (int o = 0; o < out; o++) {
                    double ref = beta ? y0[(size_t)i * out + o] : 0, mag = fabs(ref);
                    for (int k = 0; k < in; k++) {
                        double t = (double)hx_bf16_round(x[(size_t)i * in + k]) * hx_bf16_round(W[(size_t)o * in + k]);
                        ref += t;
                        mag += fabs(t);
                    }
                    double e = fabs(y[(size_t)i * out + o] - ref) / (mag + 1e-30);
                    if (!(e <= worst)) worst = e; /* NaN-aware */
                }
            /* fp32 accumulation of exact bf16 products: a few ulp of the magnitude */
            if (!(worst < 1e-5)) fail_msg("shape %d x %d x %d beta %d: relative error %g", N, in, out, beta, worst);
        }
        /* the same bits on one thread as on all */
        int nt = omp_get_max_threads();
        omp_set_num_threads(1);
        memcpy(y1, y0, sizeof(float) * N * out);
        assert_int_equal(hx_linear_fwd_bf16(y1, x, P, N, in, out, 1.0f, xb), 0);
        omp_set_num_threads(nt);
        assert_memory_equal(y1, y, sizeof(float) * N * out);
        free(x), free(W), free(y), free(y1), free(y0), free(P), free(xb);
    }
}

static void test_model_logits_close_to_fp32(void **state)
{
    (void)state;
    if (no_bf16_cpu()) return;
    hx_config c = {0};
    snprintf(c.model_type, sizeof c.model_type, "llama");
    c.vocab_size = 96, c.hidden_size = 64, c.intermediate_size = 96, c.num_hidden_layers = 3;
    c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 16, c.max_position_embeddings = 64;
    c.rms_norm_eps = 1e-5f, c.rope_theta = 10000.0, c.bos_token_id = c.eos_token_id = -1;
    hx_model m;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    assert_int_equal(hx_model_init_random(&m, 5), HX_OK);
    const int B = 2, T = 24;
    int32_t ids[2 * 24];
    for (int i = 0; i < B * T; i++) ids[i] = (i * 37 + 11) % c.vocab_size;
    hx_workspace ws, tr;
    assert_int_equal(hx_workspace_alloc(&ws, &c, B, T, HX_WS_INFER), HX_OK);
    assert_int_equal(hx_workspace_alloc(&tr, &c, B, T, HX_WS_TRAIN), HX_OK);
    size_t n = (size_t)B * T * c.vocab_size;
    float *ref = malloc(sizeof(float) * n);
    assert_int_equal(hx_forward(&m, &ws, ids, NULL), HX_OK);
    memcpy(ref, ws.logits, sizeof(float) * n);
    hx_model_bf16 *pk;
    assert_int_equal(hx_model_bf16_pack(&m, &pk), HX_OK);
    hx_model mb = m;
    mb.bf16 = pk;
    assert_int_equal(hx_forward(&mb, &ws, ids, NULL), HX_OK);
    double err = 0, scale = 0;
    int diff_bits = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(ws.logits[i] - ref[i]);
        if (!(e <= err)) err = e;
        scale = fmax(scale, fabs(ref[i]));
        diff_bits |= ws.logits[i] != ref[i];
    }
    printf("NOTE: bf16 vs fp32 logits: max |diff| %.3g (max |logit| %.3g)\n", err, scale);
    assert_true(diff_bits);            /* the bf16 path did run */
    assert_true(err < 0.03 * scale);   /* bf16 inputs: ~2^-8 relative per product */
    /* training passes ignore the packed copy: same bits as fp32 */
    assert_int_equal(hx_forward(&mb, &tr, ids, NULL), HX_OK);
    assert_memory_equal(tr.logits, ref, sizeof(float) * n);
    hx_model_bf16_free(pk);
    free(ref);
    hx_workspace_free(&ws);
    hx_workspace_free(&tr);
    hx_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_against_reference),
        cmocka_unit_test(test_model_logits_close_to_fp32),
    };
    return cmocka_run_group_tests_name("bf16", tests, NULL, NULL);
}
