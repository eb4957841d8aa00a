/* Tests for GGUF I/O (model/gguf.c, gguf_write.c, gguf_llama.c,
 * cpu/quant.c, data/tokenizer_gguf.c): f32->f16 rounding; dequantisation
 * of hand-built Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K blocks
 * against values computed here from the format definition; the Q/K
 * permutation; export -> import round trips of a tiny Llama model in F32,
 * F16, BF16 and Q8_0 (config, weights within each type's rounding, logits,
 * tokenizer); Q8_0's F16 fallback for widths that are not multiples of 32;
 * a llama3 rope through rope_freqs; and corrupt files, each refused naming
 * the problem. With
 * HX_GGUF_DUMP=DIR it also leaves random blocks of every quant type and
 * their dequantisation in DIR/quant_blocks.gguf for tools/check_gguf.py. */
#include "test_util.h"

#include "cpu/convert.h"
#include "cpu/quant.h"
#include "data/tokenizer.h"
#include "data/tokenizer_gguf.h"
#include "model/engine.h"
#include "model/gguf.h"
#include "model/gguf_llama.h"
#include "model/init.h"
#include "model/weights.h"

#include <sys/wait.h>
#include <unistd.h>

/* ---- f16 encoding ---- */

static void test_f16_encode(void **state)
{
    (void)state;
    assert_int_equal(hx_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(hx_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(hx_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(hx_f32_to_f16(65519.0f), 0x7bff); /* below the half-way point to 65536 */
    assert_int_equal(hx_f32_to_f16(65520.0f), 0x7c00); /* ties to even: inf */
    assert_int_equal(hx_f32_to_f16(INFINITY), 0x7c00);
    assert_int_equal(hx_f32_to_f16(ldexpf(1, -24)), 0x0001);
    assert_int_equal(hx_f32_to_f16(ldexpf(1, -25)), 0x0000);           /* tie to even (0) */
    assert_int_equal(hx_f32_to_f16(ldexpf(3, -25)), 0x0002);           /* 1.5 ulp -> 2 */
    assert_int_equal(hx_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3c00);    /* tie, even stays */
    assert_int_equal(hx_f32_to_f16(1.0f + ldexpf(3, -11)), 0x3c02);    /* tie, odd rounds up */
    assert_int_equal(hx_f32_to_f16(-0.0f), 0x8000);
    assert_true((hx_f32_to_f16(NAN) & 0x7c00) == 0x7c00 && (hx_f32_to_f16(NAN) & 0x3ff));
    /* Every finite half survives f16 -> f32 -> f16 bit for bit. */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        assert_int_equal(hx_f32_to_f16(hx_f16_to_f32((uint16_t)h)), h);
    }
}

/* ---- hand-built quant blocks ---- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* A random f16 scale in [2^-8, 2^-2) and its value. */
static float rand_scale(hx_rng *r, uint8_t *dst)
{
    uint16_t h = (uint16_t)((7 + hx_rng_below(r, 6)) << 10 | hx_rng_below(r, 1024));
    put16(dst, h);
    return hx_f16_to_f32(h);
}

/* Builds one block of `type` from random logical values and writes the value
 * each element must dequantise to (from the format definition) into want. */
static void build_block(uint32_t type, hx_rng *r, uint8_t *b, double *want)
{
    memset(b, 0, (size_t)hx_ggml_block_bytes(type));
    int q[256];
    switch (type) {
    case HX_GGML_Q8_0: {
        double d = rand_scale(r, b);
        for (int i = 0; i < 32; i++) {
            q[i] = (int)hx_rng_below(r, 256) - 128;
            b[2 + i] = (uint8_t)(int8_t)q[i];
            want[i] = q[i] * d;
        }
        break;
    }
    case HX_GGML_Q4_0: case HX_GGML_Q4_1: case HX_GGML_Q5_0: case HX_GGML_Q5_1: {
        int five = type == HX_GGML_Q5_0 || type == HX_GGML_Q5_1, min = type == HX_GGML_Q4_1 || type == HX_GGML_Q5_1;
        double d = rand_scale(r, b), m = min ? -rand_scale(r, b + 2) : 0;
        if (min) put16(b + 2, hx_f32_to_f16((float)m));
        uint8_t *qh = b + (min ? 4 : 2), *qs = qh + (five ? 4 : 0);
        for (int i = 0; i < 32; i++) {
            q[i] = (int)hx_rng_below(r, five ? 32 : 16);
            qs[i % 16] |= (uint8_t)((q[i] & 15) << (i < 16 ? 0 : 4));
            if (five) qh[i / 8] |= (uint8_t)(((q[i] >> 4) & 1) << (i % 8)); /* bit i of a u32 LE */
            want[i] = min ? q[i] * d + m : (q[i] - (five ? 16 : 8)) * d;
        }
        break;
    }
    case HX_GGML_Q4_K: case HX_GGML_Q5_K: {
        int five = type == HX_GGML_Q5_K, sc[8], mn[8];
        double d = rand_scale(r, b), dmin = rand_scale(r, b + 2);
        uint8_t *scales = b + 4, *qh = b + 16, *qs = b + (five ? 48 : 16);
        for (int j = 0; j < 8; j++) sc[j] = (int)hx_rng_below(r, 64), mn[j] = (int)hx_rng_below(r, 64);
        for (int j = 0; j < 4; j++) { /* 6-bit pairs: low 6 bits of 0..7, high 2 bits of 4..7 in bits 6-7 */
            scales[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
            scales[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
            scales[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
        }
        for (int i = 0; i < 256; i++) {
            q[i] = (int)hx_rng_below(r, five ? 32 : 16);
            int c = i / 64, hi = (i % 64) / 32, l = i % 32;
            qs[32 * c + l] |= (uint8_t)((q[i] & 15) << (4 * hi));
            if (five) qh[l] |= (uint8_t)(((q[i] >> 4) & 1) << (2 * c + hi));
            want[i] = d * sc[i / 32] * q[i] - dmin * mn[i / 32];
        }
        break;
    }
    default: { /* Q6_K */
        uint8_t *ql = b, *qh = b + 128;
        int8_t sc[16];
        for (int j = 0; j < 16; j++) sc[j] = (int8_t)((int)hx_rng_below(r, 256) - 128);
        memcpy(b + 192, sc, 16);
        double d = rand_scale(r, b + 208);
        for (int i = 0; i < 256; i++) {
            q[i] = (int)hx_rng_below(r, 64);
            int h = i / 128, k = (i % 128) / 32, l = i % 32;
            ql[64 * h + l + 32 * (k & 1)] |= (uint8_t)((q[i] & 15) << (4 * (k >> 1)));
            qh[32 * h + l] |= (uint8_t)((q[i] >> 4) << (2 * k));
            want[i] = d * sc[i / 16] * (q[i] - 32);
        }
    }
    }
}

static const uint32_t quant_types[] = {HX_GGML_Q8_0, HX_GGML_Q4_0, HX_GGML_Q4_1, HX_GGML_Q5_0,
                                       HX_GGML_Q5_1, HX_GGML_Q4_K, HX_GGML_Q5_K, HX_GGML_Q6_K};
#define N_QUANT (sizeof quant_types / sizeof *quant_types)

/* Each type: 4 blocks dequantised directly, and again through a GGUF file
 * (writer raw -> reader), equal to the definition's values. */
static void test_dequant_blocks(void **state)
{
    (void)state;
    hx_rng r;
    hx_rng_seed(&r, 7);
    hx_gguf_writer *w;
    assert_int_equal(hx_gguf_writer_new(0, &w), HX_OK);
    uint8_t *blocks[N_QUANT];
    double *want[N_QUANT];
    for (size_t k = 0; k < N_QUANT; k++) {
        uint32_t t = quant_types[k];
        size_t blk = (size_t)hx_ggml_block_size(t), bytes = (size_t)hx_ggml_block_bytes(t), n = 4 * blk;
        blocks[k] = calloc(4, bytes);
        want[k] = calloc(n, sizeof(double));
        for (int b = 0; b < 4; b++) build_block(t, &r, blocks[k] + b * bytes, want[k] + b * blk);
        float *got = calloc(n, sizeof(float));
        assert_int_equal(hx_ggml_dequantize(t, blocks[k], got, n), HX_OK);
        hx_test_cmp c = hx_test_compare_fd(got, want[k], n, hx_ggml_type_name(t));
        printf("%-5s max |dequant - definition| = %.3g (max |x| %.3g)\n", hx_ggml_type_name(t), c.max_abs, c.max_ref);
        assert_true(c.max_abs <= 1e-6 * c.max_ref);
        free(got);
        uint64_t ne[2] = {blk, 4};
        assert_int_equal(hx_gguf_add_tensor_raw(w, hx_ggml_type_name(t), t, 2, ne, blocks[k]), HX_OK);
    }
    const char *path = hx_tmp_path("blocks.gguf");
    assert_int_equal(hx_gguf_write(w, path), HX_OK);
    hx_gguf_writer_free(w);
    hx_gguf *g;
    assert_int_equal(hx_gguf_open(path, &g), HX_OK);
    for (size_t k = 0; k < N_QUANT; k++) {
        const hx_gguf_tensor *t = hx_gguf_find_tensor(g, hx_ggml_type_name(quant_types[k]));
        assert_non_null(t);
        assert_int_equal(t->type, quant_types[k]);
        float *got = calloc(t->numel, sizeof(float));
        assert_int_equal(hx_gguf_read_f32(g, t, got, t->numel), HX_OK);
        assert_true(hx_test_compare_fd(got, want[k], t->numel, t->name).max_abs <= 1e-6 * 64);
        free(got);
        free(blocks[k]);
        free(want[k]);
    }
    hx_gguf_close(g);
    /* Types without a dequantiser are refused by name. */
    uint8_t zero[292] = {0};
    float out[256];
    assert_int_equal(hx_ggml_dequantize(11, zero, out, 256), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "Q3_K"));
    assert_int_equal(hx_ggml_dequantize(16, zero, out, 256), HX_EINVAL);
    assert_non_null(strstr(hx_errmsg(), "IQ2_XXS"));
}

/* HX_GGUF_DUMP=DIR: random blocks (finite f16 scales) of every quant type
 * and the harness's dequantisation ("<type>.deq", F32) for
 * tools/check_gguf.py to compare with gguf-py's reference. */
static void test_dump_for_interop(void **state)
{
    (void)state;
    const char *dir = getenv("HX_GGUF_DUMP");
    if (!dir) {
        printf("NOTE: HX_GGUF_DUMP not set; no blocks written for tools/check_gguf.py\n");
        return;
    }
    hx_rng r;
    hx_rng_seed(&r, 11);
    hx_gguf_writer *w;
    assert_int_equal(hx_gguf_writer_new(0, &w), HX_OK);
    enum { NB = 64 };
    uint8_t *raw[N_QUANT];
    float *deq[N_QUANT];
    char names[N_QUANT][32];
    for (size_t k = 0; k < N_QUANT; k++) {
        uint32_t t = quant_types[k];
        size_t blk = (size_t)hx_ggml_block_size(t), bytes = (size_t)hx_ggml_block_bytes(t);
        raw[k] = malloc(NB * bytes);
        deq[k] = malloc(NB * blk * sizeof(float));
        for (size_t i = 0; i < NB * bytes; i++) raw[k][i] = (uint8_t)hx_rng_below(&r, 256);
        for (int b = 0; b < NB; b++) { /* every f16 field finite: clear the top exponent bit */
            uint8_t *p = raw[k] + b * bytes;
            int fields[2] = {0, t == HX_GGML_Q4_1 || t == HX_GGML_Q5_1 || t == HX_GGML_Q4_K || t == HX_GGML_Q5_K ? 2 : -1};
            if (t == HX_GGML_Q6_K) fields[0] = 208;
            for (int f = 0; f < 2; f++)
                if (fields[f] >= 0) p[fields[f] + 1] &= 0xBF;
        }
        assert_int_equal(hx_ggml_dequantize(t, raw[k], deq[k], NB * blk), HX_OK);
        uint64_t ne[2] = {blk, NB};
        assert_int_equal(hx_gguf_add_tensor_raw(w, hx_ggml_type_name(t), t, 2, ne, raw[k]), HX_OK);
        snprintf(names[k], sizeof names[k], "%s.deq", hx_ggml_type_name(t));
        assert_int_equal(hx_gguf_add_tensor(w, names[k], HX_GGML_F32, 2, ne, deq[k]), HX_OK);
    }
    char *path = hx_path_join(dir, "quant_blocks.gguf");
    assert_int_equal(hx_gguf_write(w, path), HX_OK);
    printf("NOTE: wrote %s\n", path);
    free(path);
    hx_gguf_writer_free(w);
    for (size_t k = 0; k < N_QUANT; k++) free(raw[k]), free(deq[k]);
}

/* ---- Q/K permutation ---- */

static void test_permutation(void **state)
{
    (void)state;
    /* 2 heads of head_dim 4, one column holding the HF row index. */
    float hf[8], gg[8], back[8];
    for (int i = 0; i < 8; i++) hf[i] = (float)i;
    hx_gguf_permute_qk(gg, hf, 2, 4, 1, 1);
    /* GGUF row h*4 + 2i + s = HF row h*4 + s*2 + i */
    const float want[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    for (int i = 0; i < 8; i++) assert_true(gg[i] == want[i]);
    hx_gguf_permute_qk(back, gg, 2, 4, 1, 0);
    for (int i = 0; i < 8; i++) assert_true(back[i] == hf[i]);
    /* A wider head and several columns: the inverse undoes it exactly. */
    float a[3 * 8 * 5], b[3 * 8 * 5], c[3 * 8 * 5];
    for (int i = 0; i < 120; i++) a[i] = (float)i;
    hx_gguf_permute_qk(b, a, 3, 8, 5, 1);
    assert_true(b[1 * 5 + 2] == a[4 * 5 + 2]); /* GGUF row 1 (i=0, s=1) = HF row 4 (s*hd/2) */
    hx_gguf_permute_qk(c, b, 3, 8, 5, 0);
    assert_memory_equal(a, c, sizeof a);
}

/* ---- export -> import round trips ---- */

/* A random tiny Llama (vocab of data/tokenizer.json) saved in tmp/<name>
 * with that tokenizer. */
static void tiny_model(const char *name, int tied, hx_model *m)
{
    hx_config c = hx_test_config(4096, 64, 96, 2, 4, 2, 16, tied);
    c.bos_token_id = 4094;
    c.eos_token_id = 4095;
    c.rope_theta = 500000.0;
    assert_int_equal(hx_model_alloc(m, &c), HX_OK);
    assert_int_equal(hx_model_init_random(m, 5), HX_OK);
    /* norms away from 1 so that their F32 storage is visible */
    hx_param p[32];
    int n = hx_model_params(m, p);
    hx_rng r;
    hx_rng_seed(&r, 9);
    for (int i = 0; i < n; i++)
        if (p[i].kind == HX_PARAM_NORM)
            for (int j = 0; j < p[i].rows; j++) p[i].data[j] = 0.5f + (float)hx_rng_uniform(&r);
    char *dir = hx_tmp_path(name);
    assert_int_equal(hx_model_save(dir, m, HX_DT_F32, 0), HX_OK);
    char *tok = hx_path_join(dir, "tokenizer.json");
    assert_int_equal(hx_copy_file("data/tokenizer.json", tok), HX_OK);
    free(tok);
}

static void logits_of(const hx_model *m, float **out)
{
    enum { T = 12 };
    int32_t ids[T];
    for (int i = 0; i < T; i++) ids[i] = (i * 337 + 11) % m->cfg.vocab_size;
    hx_workspace ws;
    assert_int_equal(hx_workspace_alloc(&ws, &m->cfg, 1, T, HX_WS_INFER), HX_OK);
    assert_int_equal(hx_forward(m, &ws, ids, NULL), HX_OK);
    size_t n = (size_t)T * m->cfg.vocab_size;
    *out = malloc(n * sizeof(float));
    memcpy(*out, ws.logits, n * sizeof(float));
    hx_workspace_free(&ws);
}

static void check_config_equal(const hx_config *a, const hx_config *b)
{
    assert_string_equal(a->model_type, b->model_type);
    assert_int_equal(a->vocab_size, b->vocab_size);
    assert_int_equal(a->hidden_size, b->hidden_size);
    assert_int_equal(a->intermediate_size, b->intermediate_size);
    assert_int_equal(a->num_hidden_layers, b->num_hidden_layers);
    assert_int_equal(a->num_attention_heads, b->num_attention_heads);
    assert_int_equal(a->num_key_value_heads, b->num_key_value_heads);
    assert_int_equal(a->head_dim, b->head_dim);
    assert_int_equal(a->max_position_embeddings, b->max_position_embeddings);
    assert_true(a->rms_norm_eps == b->rms_norm_eps);
    assert_true(a->rope_theta == b->rope_theta);
    assert_int_equal(a->rope_type, b->rope_type);
    assert_int_equal(a->tie_word_embeddings, b->tie_word_embeddings);
    assert_int_equal(a->bos_token_id, b->bos_token_id);
    assert_int_equal(a->eos_token_id, b->eos_token_id);
}

/* Worst |imported - original| of a 2-D weight relative to what `type` allows:
 * 0 for exact types, else the ratio to the per-element bound. */
static double weight_error(uint32_t type, const float *x, const float *y, int rows, int cols)
{
    double worst = 0;
    for (int i = 0; i < rows; i++)
        for (int b = 0; b < cols; b += 32) {
            int n = cols - b < 32 ? cols - b : 32;
            float amax = 0;
            for (int j = 0; j < n; j++) amax = fmaxf(amax, fabsf(x[(size_t)i * cols + b + j]));
            for (int j = 0; j < n; j++) {
                size_t k = (size_t)i * cols + b + j;
                float ref = type == HX_GGML_F16 ? hx_f16_to_f32(hx_f32_to_f16(x[k]))
                          : type == HX_GGML_BF16 ? hx_bf16_round(x[k])
                                                 : x[k];
                double e = fabs((double)y[k] - ref);
                /* Q8_0: |x - q d16| <= d/2 + 127 |d - d16| <= (0.5 + 127 * 2^-11) d, d = amax/127 */
                double bound = type == HX_GGML_Q8_0 ? 0.563 * amax / 127 : 0;
                worst = hx_test_worst(worst, bound > 0 ? e / bound : e);
            }
        }
    return worst;
}

static void roundtrip(int tied)
{
    static const uint32_t types[] = {HX_GGML_F32, HX_GGML_F16, HX_GGML_BF16, HX_GGML_Q8_0};
    /* max |logit difference| / max |logit| allowed per type (measured: see the printout) */
    static const double logit_tol[] = {0, 2e-3, 2e-2, 2e-2};
    hx_model m;
    char name[64];
    snprintf(name, sizeof name, "orig%d", tied);
    tiny_model(name, tied, &m);
    char *src = strdup(hx_tmp_path(name));
    float *ref;
    logits_of(&m, &ref);
    size_t nlog = (size_t)12 * m.cfg.vocab_size;
    for (int k = 0; k < 4; k++) {
        char gname[64], dname[64];
        snprintf(gname, sizeof gname, "t%d_%d.gguf", tied, k);
        snprintf(dname, sizeof dname, "t%d_%d", tied, k);
        char *gpath = strdup(hx_tmp_path(gname)), *dpath = strdup(hx_tmp_path(dname));
        assert_int_equal(hx_gguf_export(src, gpath, types[k], NULL), HX_OK);
        /* The file itself: llama.cpp names, norms F32, q permuted. */
        hx_gguf *g;
        assert_int_equal(hx_gguf_open(gpath, &g), HX_OK);
        assert_int_equal(hx_gguf_n_tensors(g), hx_model_num_params(&m.cfg));
        const hx_gguf_tensor *qn = hx_gguf_find_tensor(g, "blk.1.attn_norm.weight"),
                             *q = hx_gguf_find_tensor(g, "blk.1.attn_q.weight");
        assert_non_null(qn);
        assert_non_null(q);
        assert_int_equal(qn->type, HX_GGML_F32);
        assert_int_equal(q->type, types[k]);
        assert_true(q->ndim == 2 && q->ne[0] == 64 && q->ne[1] == 64);
        assert_int_equal(!hx_gguf_find_tensor(g, "output.weight"), tied);
        if (types[k] == HX_GGML_F32) {
            const float *qd = hx_gguf_tensor_data(g, q), *hq = m.layers[1].q_proj;
            /* GGUF row 16h + 2i + s = HF row 16h + 8s + i; row 3 = (i=1, s=1) -> HF row 9 */
            assert_memory_equal(qd + 3 * 64, hq + 9 * 64, 64 * sizeof(float));
        }
        hx_gguf_close(g);
        assert_int_equal(hx_gguf_import(gpath, dpath, HX_DT_F32, NULL), HX_OK);
        hx_model b;
        assert_int_equal(hx_model_load(dpath, &b), HX_OK);
        check_config_equal(&m.cfg, &b.cfg);
        hx_param pa[32], pb[32];
        int n = hx_model_params(&m, pa);
        assert_int_equal(hx_model_params(&b, pb), n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            assert_string_equal(pa[i].name, pb[i].name);
            if (!pa[i].cols) assert_memory_equal(pa[i].data, pb[i].data, (size_t)pa[i].rows * sizeof(float));
            else worst = hx_test_worst(worst, weight_error(types[k], pa[i].data, pb[i].data, pa[i].rows, pa[i].cols));
        }
        float *got;
        logits_of(&b, &got);
        hx_test_cmp lc = hx_test_compare_f(got, ref, nlog, "logits");
        printf("%s %-4s: weights %s %.3g; logits max |diff| %.3g, relative %.3g (tolerance %.3g)\n",
               tied ? "tied  " : "untied", hx_ggml_type_name(types[k]),
               types[k] == HX_GGML_Q8_0 ? "error/bound" : "max |diff - type rounding|", worst, lc.max_abs, lc.rel,
               logit_tol[k]);
        assert_true(types[k] == HX_GGML_Q8_0 ? worst <= 1.0 : worst == 0.0);
        assert_true(lc.rel <= logit_tol[k]);
        /* The tokenizer survives GGUF: same ids as the original on a sample. */
        char *tpath = hx_path_join(dpath, "tokenizer.json");
        hx_tokenizer *t0, *t1;
        assert_int_equal(hx_tokenizer_load("data/tokenizer.json", &t0), HX_OK);
        assert_int_equal(hx_tokenizer_load(tpath, &t1), HX_OK);
        const char *text = "The quick brown fox's 12345 jumps\n\n  over the lazy dog! <|end_of_text|>";
        int32_t *i0, *i1;
        size_t n0, n1;
        assert_int_equal(hx_tokenizer_encode(t0, text, strlen(text), 1, &i0, &n0), HX_OK);
        assert_int_equal(hx_tokenizer_encode(t1, text, strlen(text), 1, &i1, &n1), HX_OK);
        assert_int_equal(n0, n1);
        assert_memory_equal(i0, i1, n0 * sizeof(int32_t));
        assert_int_equal(hx_tokenizer_bos_id(t1), 4094);
        free(i0), free(i1), free(tpath), free(got);
        hx_tokenizer_free(t0), hx_tokenizer_free(t1);
        hx_model_free(&b);
        free(gpath), free(dpath);
    }
    free(ref);
    free(src);
    hx_model_free(&m);
}

static void test_roundtrip_untied(void **state)
{
    (void)state;
    roundtrip(0);
}

static void test_roundtrip_tied(void **state)
{
    (void)state;
    roundtrip(1);
}

/* ---- tokenizer metadata conversion ---- */

static void test_tokenizer_pre(void **state)
{
    (void)state;
    hx_gguf_vocab v;
    assert_int_equal(hx_gguf_vocab_from_json("data/tokenizer.json", &v), HX_OK);
    assert_string_equal(v.pre, "llama-bpe");
    assert_int_equal(v.add_bos, 1);
    assert_int_equal(v.token_type[4094], HX_TOKTYPE_CONTROL);
    assert_int_equal(v.token_type[5], HX_TOKTYPE_NORMAL);
    static const char *const pres[] = {"gpt-2", "smollm", "starcoder", "llama-bpe", "llama3", "qwen2", "default", NULL};
    const char *text = "Hello 2024 world's (test)\n  x";
    for (int k = 0; pres[k]; k++) {
        free(v.pre);
        v.pre = strdup(pres[k]);
        char *json;
        size_t len;
        assert_int_equal(hx_gguf_vocab_to_json(&v, &json, &len), HX_OK);
        char *p = hx_tmp_path("pre.json");
        assert_int_equal(hx_write_file_atomic(p, json, len), HX_OK);
        free(json);
        hx_tokenizer *t;
        assert_int_equal(hx_tokenizer_load(p, &t), HX_OK);
        int32_t *ids;
        size_t n;
        assert_int_equal(hx_tokenizer_encode(t, text, strlen(text), 0, &ids, &n), HX_OK);
        char *dec;
        size_t dl;
        assert_int_equal(hx_tokenizer_decode(t, ids, n, 0, &dec, &dl), HX_OK);
        assert_string_equal(dec, text); /* byte-level: lossless whatever the split */
        free(dec), free(ids);
        hx_tokenizer_free(t);
        /* The exported name is the family's first name. */
        hx_gguf_vocab back;
        assert_int_equal(hx_gguf_vocab_from_json(p, &back), HX_OK);
        const char *fam = !strcmp(pres[k], "starcoder") ? "smollm" : !strcmp(pres[k], "llama3") ? "llama-bpe" : pres[k];
        assert_string_equal(back.pre, fam);
        hx_gguf_vocab_free(&back);
    }
    /* Refusals name the field. */
    free(v.pre);
    v.pre = strdup("tekken");
    char *json;
    size_t len;
    assert_int_equal(hx_gguf_vocab_to_json(&v, &json, &len), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "tokenizer.ggml.pre: 'tekken'"));
    free(v.model);
    v.model = strdup("llama");
    assert_int_equal(hx_gguf_vocab_to_json(&v, &json, &len), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "SentencePiece"));
    hx_gguf_vocab_free(&v);
}

/* ---- corrupt files ---- */

/* A hand-made GGUF: general.architecture, one u32 array, general.alignment
 * (optional) and two F32 tensors a [8, 2], b [8]; every field overridable. */
typedef struct {
    uint32_t version;
    uint64_t n_t, n_kv;   /* 0: the true counts */
    uint32_t vtype;       /* value type of the second pair (array) */
    uint32_t elem;        /* its element type */
    uint64_t count;       /* its count */
    uint64_t keylen;      /* 0: the real length of the first key */
    uint32_t align;       /* 0: no general.alignment pair */
    uint32_t align_type;  /* type of the alignment pair */
    uint32_t ndim, type;  /* of tensor b */
    uint64_t ne0;         /* of tensor b */
    uint64_t off_b;       /* of tensor b; UINT64_MAX: right after a */
    int dup_key, dup_name;
    size_t trunc;         /* 0: whole file */
} spec;

typedef struct {
    uint8_t *p;
    size_t n;
} buf;

static void put(buf *b, uint64_t v, int n)
{
    b->p = realloc(b->p, b->n + (size_t)n);
    for (int i = 0; i < n; i++) b->p[b->n++] = (uint8_t)(v >> (8 * i));
}

static void put_s(buf *b, const char *s, uint64_t len)
{
    put(b, len, 8);
    size_t n = strlen(s);
    b->p = realloc(b->p, b->n + n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static spec good(void)
{
    spec s = {.version = 3, .vtype = HX_GGUF_ARRAY, .elem = HX_GGUF_U32, .count = 3, .align = 32, .align_type = 4,
              .ndim = 1, .type = 0, .ne0 = 8, .off_b = UINT64_MAX};
    return s;
}

static const char *make(spec s)
{
    buf b = {0};
    put(&b, 0x46554747, 4);
    put(&b, s.version, 4);
    put(&b, s.n_t ? s.n_t : 2, 8);
    put(&b, s.n_kv ? s.n_kv : 3, 8);
    put_s(&b, "general.architecture", s.keylen ? s.keylen : 20);
    put(&b, HX_GGUF_STRING, 4);
    put_s(&b, "llama", 5);
    put_s(&b, s.dup_key ? "general.architecture" : "test.array", s.dup_key ? 20 : 10);
    put(&b, s.vtype, 4);
    put(&b, s.elem, 4);
    put(&b, s.count, 8);
    for (int i = 0; i < 3; i++) put(&b, (uint64_t)i, 4);
    put_s(&b, "general.alignment", 17);
    put(&b, s.align_type, 4);
    put(&b, s.align, 4);
    put_s(&b, "a", 1);
    put(&b, 2, 4);
    put(&b, 8, 8);
    put(&b, 2, 8);
    put(&b, 0, 4);
    put(&b, 0, 8);
    put_s(&b, s.dup_name ? "a" : "b", 1);
    put(&b, s.ndim, 4);
    put(&b, s.ne0, 8);
    put(&b, s.type, 4);
    put(&b, s.off_b == UINT64_MAX ? 64 : s.off_b, 8);
    while (b.n % 32) put(&b, 0, 1);
    for (int i = 0; i < 24; i++) put(&b, 0x3f800000, 4); /* a: 16 floats, b: 8 floats */
    const char *path = hx_tmp_path("bad.gguf");
    FILE *f = fopen(path, "wb");
    fwrite(b.p, 1, s.trunc ? s.trunc : b.n, f);
    fclose(f);
    free(b.p);
    return path;
}

static void expect_bad(spec s, const char *what)
{
    hx_gguf *g = NULL;
    int rc = hx_gguf_open(make(s), &g);
    if (rc != HX_EFORMAT || !strstr(hx_errmsg(), what))
        printf("expected EFORMAT with '%s', got %s: %s\n", what, hx_strstatus(rc), hx_errmsg());
    assert_int_equal(rc, HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), what));
    assert_null(g);
}

static void test_corrupt(void **state)
{
    (void)state;
    hx_gguf *g;
    spec s = good();
    assert_int_equal(hx_gguf_open(make(s), &g), HX_OK);
    assert_int_equal(hx_gguf_version(g), 3);
    assert_int_equal(hx_gguf_n_tensors(g), 2);
    const hx_gguf_kv *arr;
    assert_int_equal(hx_gguf_get_arr(g, "test.array", HX_GGUF_I64, &arr), 1);
    assert_int_equal(hx_gguf_arr_int(arr, 2), 2);
    const char *str;
    size_t len;
    assert_int_equal(hx_gguf_get_str(g, "general.architecture", &str, &len), 1);
    assert_int_equal(len, 5);
    uint32_t u;
    assert_int_equal(hx_gguf_get_u32(g, "missing.key", &u), 0);
    assert_int_equal(hx_gguf_get_u32(g, "general.architecture", &u), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "general.architecture: type STRING, an integer was expected"));
    float b8[8];
    assert_int_equal(hx_gguf_read_f32(g, hx_gguf_find_tensor(g, "b"), b8, 8), HX_OK);
    assert_true(b8[7] == 1.0f);
    hx_gguf_close(g);
    s.version = 2;
    assert_int_equal(hx_gguf_open(make(s), &g), HX_OK);
    hx_gguf_close(g);

    /* Every truncation is refused (never read past the end). */
    size_t full;
    {
        s = good();
        FILE *f = fopen(make(s), "rb");
        fseek(f, 0, SEEK_END);
        full = (size_t)ftell(f);
        fclose(f);
    }
    for (size_t n = 1; n < full; n++) {
        s = good();
        s.trunc = n;
        assert_int_equal(hx_gguf_open(make(s), &g), HX_EFORMAT);
    }
    s = good(), s.trunc = 100;
    expect_bad(s, "truncated");
    s = good(), s.trunc = full - 4;
    expect_bad(s, "tensor 'b': data [64, +32 bytes) runs past the end");

    s = good(), s.version = 1;
    expect_bad(s, "version: 1 is not supported");
    s = good(), s.version = 3u << 24;
    expect_bad(s, "big-endian");
    s = good(), s.n_kv = 1ULL << 60;
    expect_bad(s, "n_kv: 1152921504606846976 pairs is more than");
    s = good(), s.n_t = 1ULL << 40;
    expect_bad(s, "n_tensors");
    s = good(), s.keylen = 1ULL << 62;
    expect_bad(s, "string length 4611686018427387904 runs past the end");
    s = good(), s.vtype = 13;
    expect_bad(s, "test.array: value type 13 is not a GGUF type");
    s = good(), s.elem = HX_GGUF_ARRAY;
    expect_bad(s, "test.array: array element type 9 is not allowed (nested arrays)");
    s = good(), s.count = 1ULL << 61;
    expect_bad(s, "test.array: 2305843009213693952 values of type UINT32 run past the end");
    s = good(), s.count = UINT64_MAX;
    expect_bad(s, "run past the end");
    s = good(), s.dup_key = 1;
    expect_bad(s, "general.architecture: duplicate key");
    s = good(), s.align = 24;
    expect_bad(s, "general.alignment: 24 is not a power of two");
    s = good(), s.align_type = HX_GGUF_U64;
    expect_bad(s, "general.alignment: type UINT64, must be UINT32");
    s = good(), s.ndim = 5;
    expect_bad(s, "tensor 'b': n_dims 5 is not in 1..4");
    s = good(), s.type = 4;
    expect_bad(s, "tensor 'b': type 4 is not a ggml type");
    s = good(), s.type = 16;
    expect_bad(s, "tensor 'b': type IQ2_XXS is not supported");
    s = good(), s.type = HX_GGML_Q8_0;
    expect_bad(s, "tensor 'b': ne[0] = 8 is not a multiple of the Q8_0 block size 32");
    s = good(), s.ne0 = 1ULL << 63;
    expect_bad(s, "tensor 'b': ne[0] = 9223372036854775808 overflows");
    s = good(), s.ne0 = 1ULL << 62;
    expect_bad(s, "tensor 'b': data size overflows");
    s = good(), s.off_b = 66;
    expect_bad(s, "tensor 'b': offset 66 is not a multiple of the alignment 32");
    s = good(), s.off_b = 1ULL << 40;
    expect_bad(s, "tensor 'b': data [1099511627776, +32 bytes) runs past the end");
    s = good(), s.off_b = 32;
    expect_bad(s, "overlaps tensor 'a'");
    s = good(), s.dup_name = 1;
    expect_bad(s, "tensor 'a': duplicate name");
    /* A known layout without a dequantiser opens, and reading it is refused by name. */
    s = good(), s.type = 10, s.ne0 = 256, s.off_b = 64, s.trunc = 0;
    FILE *f = fopen(make(s), "ab"); /* room for one Q2_K block (84 bytes) after b's offset */
    for (int i = 0; i < 84; i++) fputc(0, f);
    fclose(f);
    assert_int_equal(hx_gguf_open(hx_tmp_path("bad.gguf"), &g), HX_OK);
    float out[256];
    assert_int_equal(hx_gguf_read_f32(g, hx_gguf_find_tensor(g, "b"), out, 256), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "tensor 'b'"));
    assert_non_null(strstr(hx_errmsg(), "Q2_K"));
    hx_gguf_close(g);
}

/* Import refuses what it cannot map, naming it. */
static void test_import_refusals(void **state)
{
    (void)state;
    hx_gguf_writer *w;
    assert_int_equal(hx_gguf_writer_new(0, &w), HX_OK);
    assert_int_equal(hx_gguf_put_str(w, "general.architecture", "gemma"), HX_OK);
    char *p = hx_tmp_path("gemma.gguf");
    assert_int_equal(hx_gguf_write(w, p), HX_OK);
    hx_gguf_writer_free(w);
    assert_int_equal(hx_gguf_import(p, hx_tmp_path("gemma_out"), HX_DT_F32, NULL), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "general.architecture: 'gemma' is not supported"));

    assert_int_equal(hx_gguf_writer_new(0, &w), HX_OK);
    assert_int_equal(hx_gguf_put_str(w, "general.architecture", "llama"), HX_OK);
    assert_int_equal(hx_gguf_put_u32(w, "llama.embedding_length", 64), HX_OK);
    p = hx_tmp_path("nolayers.gguf");
    assert_int_equal(hx_gguf_write(w, p), HX_OK);
    hx_gguf_writer_free(w);
    assert_int_equal(hx_gguf_import(p, hx_tmp_path("nl_out"), HX_DT_F32, NULL), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "llama.feed_forward_length: missing"));
}

/* Q8_0 export of widths that are not multiples of 32 (pruned models): those
 * weights fall back to F16, the rest stay Q8_0, and the file imports back. */
static void test_export_fallback(void **state)
{
    (void)state;
    hx_config c = hx_test_config(64, 48, 96, 1, 3, 1, 16, 1);
    hx_model m;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    assert_int_equal(hx_model_init_random(&m, 3), HX_OK);
    char *dir = strdup(hx_tmp_path("w48")), *gg = strdup(hx_tmp_path("w48.gguf"));
    assert_int_equal(hx_model_save(dir, &m, HX_DT_F32, 0), HX_OK);
    assert_int_equal(hx_gguf_export(dir, gg, HX_GGML_Q8_0, NULL), HX_OK);
    hx_gguf *g;
    assert_int_equal(hx_gguf_open(gg, &g), HX_OK);
    assert_int_equal(hx_gguf_find_tensor(g, "blk.0.attn_q.weight")->type, HX_GGML_F16);   /* 48 columns */
    assert_int_equal(hx_gguf_find_tensor(g, "blk.0.ffn_down.weight")->type, HX_GGML_Q8_0); /* 96 columns */
    assert_int_equal(hx_gguf_find_tensor(g, "token_embd.weight")->type, HX_GGML_F16);
    hx_gguf_close(g);
    assert_int_equal(hx_gguf_import(gg, hx_tmp_path("w48_back"), HX_DT_F32, NULL), HX_OK);
    hx_model b;
    assert_int_equal(hx_model_load(hx_tmp_path("w48_back"), &b), HX_OK);
    check_config_equal(&m.cfg, &b.cfg);
    hx_model_free(&b);
    hx_model_free(&m);
    free(dir), free(gg);
}

/* A llama3 rope (Llama 3.1's parameters) goes out as rope_freqs.weight and
 * comes back as the same config, with the same logits; factors that no
 * llama3 rope gives are refused. */
static void test_rope_llama3(void **state)
{
    (void)state;
    hx_config c = hx_test_config(64, 128, 64, 1, 2, 1, 64, 0);
    c.rope_theta = 500000.0, c.rope_type = HX_ROPE_LLAMA3, c.rope_factor = 8, c.rope_low_freq_factor = 1;
    c.rope_high_freq_factor = 4, c.rope_original_max_position = 8192, c.max_position_embeddings = 64;
    hx_model m, b;
    assert_int_equal(hx_model_alloc(&m, &c), HX_OK);
    assert_int_equal(hx_model_init_random(&m, 4), HX_OK);
    char *dir = strdup(hx_tmp_path("l3")), *gg = strdup(hx_tmp_path("l3.gguf"));
    assert_int_equal(hx_model_save(dir, &m, HX_DT_F32, 0), HX_OK);
    assert_int_equal(hx_gguf_export(dir, gg, HX_GGML_F32, NULL), HX_OK);
    hx_gguf *g;
    assert_int_equal(hx_gguf_open(gg, &g), HX_OK);
    const hx_gguf_tensor *rf = hx_gguf_find_tensor(g, "rope_freqs.weight");
    assert_non_null(rf);
    assert_true(rf->type == HX_GGML_F32 && rf->ndim == 1 && rf->ne[0] == 32);
    const float *r = hx_gguf_tensor_data(g, rf);
    /* wavelength 2 pi theta^(2i/64): below 8192/4 the factor is 1, above 8192 it is 8 */
    assert_true(r[0] == 1.0f && r[31] == 8.0f);
    hx_gguf_close(g);
    assert_int_equal(hx_gguf_import(gg, hx_tmp_path("l3_back"), HX_DT_F32, NULL), HX_OK);
    assert_int_equal(hx_model_load(hx_tmp_path("l3_back"), &b), HX_OK);
    check_config_equal(&m.cfg, &b.cfg);
    assert_true(b.cfg.rope_factor == 8 && b.cfg.rope_low_freq_factor == 1 && b.cfg.rope_high_freq_factor == 4);
    assert_int_equal(b.cfg.rope_original_max_position, 8192);
    float *la, *lb;
    logits_of(&m, &la);
    logits_of(&b, &lb);
    assert_memory_equal(la, lb, (size_t)12 * 64 * sizeof(float));
    free(la), free(lb);
    hx_model_free(&b);
    /* Factors off the llama3 curve are refused. */
    hx_gguf_writer *w;
    float bad[32];
    for (int i = 0; i < 32; i++) bad[i] = i < 10 ? 1.0f : i < 20 ? 1.0f + (float)(i % 3) : 8.0f;
    uint64_t ne = 32;
    assert_int_equal(hx_gguf_writer_new(0, &w), HX_OK);
    hx_param p[16];
    int n = hx_model_params(&m, p);
    assert_int_equal(hx_gguf_put_str(w, "general.architecture", "llama"), HX_OK);
    static const char *const keys[] = {"llama.embedding_length", "llama.feed_forward_length", "llama.block_count",
                                       "llama.attention.head_count", "llama.context_length",
                                       "llama.attention.head_count_kv", "llama.rope.dimension_count"};
    const int vals[] = {128, 64, 1, 2, 64, 1, 64};
    for (int k = 0; k < 7; k++) assert_int_equal(hx_gguf_put_u32(w, keys[k], (uint32_t)vals[k]), HX_OK);
    assert_int_equal(hx_gguf_put_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f), HX_OK);
    for (int i = 0; i < n; i++) {
        char name[96];
        hx_gguf_llama_name(p[i].name, name, sizeof name);
        uint64_t d[2] = {p[i].cols ? (uint64_t)p[i].cols : (uint64_t)p[i].rows, (uint64_t)p[i].rows};
        assert_int_equal(hx_gguf_add_tensor(w, name, HX_GGML_F32, p[i].cols ? 2 : 1, d, p[i].data), HX_OK);
    }
    assert_int_equal(hx_gguf_add_tensor(w, "rope_freqs.weight", HX_GGML_F32, 1, &ne, bad), HX_OK);
    assert_int_equal(hx_gguf_write(w, gg), HX_OK);
    hx_gguf_writer_free(w);
    assert_int_equal(hx_gguf_import(gg, hx_tmp_path("l3_bad"), HX_DT_F32, NULL), HX_EFORMAT);
    assert_non_null(strstr(hx_errmsg(), "rope_freqs.weight': the factors do not follow llama3 rope scaling"));
    hx_model_free(&m);
    free(dir), free(gg);
}

/* bin/harness export / import end to end (skipped without $HX_HARNESS). */
static void test_cli(void **state)
{
    (void)state;
    const char *h = getenv("HX_HARNESS");
    if (!h || access(h, X_OK)) {
        printf("SKIP: HX_HARNESS not set or not executable; CLI not tested\n");
        return;
    }
    hx_model m;
    tiny_model("cli_src", 1, &m);
    hx_model_free(&m);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s export --model %s --gguf %s --type q8_0 >/dev/null 2>&1", h, hx_tmp_path("cli_src"),
             hx_tmp_path("cli.gguf"));
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s import --gguf %s --out %s --dtype bf16 >/dev/null 2>&1", h, hx_tmp_path("cli.gguf"),
             hx_tmp_path("cli_out"));
    assert_int_equal(system(cmd), 0);
    hx_st *st;
    assert_int_equal(hx_st_open(hx_tmp_path("cli_out"), &st), HX_OK);
    assert_int_equal(hx_st_get(st, 0)->dtype, HX_DT_BF16);
    hx_st_close(st);
    snprintf(cmd, sizeof cmd, "%s import --gguf %s --out %s >/dev/null 2>&1", h, hx_tmp_path("cli_src/config.json"),
             hx_tmp_path("cli_bad"));
    assert_int_equal(WEXITSTATUS(system(cmd)), 1); /* not a GGUF file: error, exit 1 */
    snprintf(cmd, sizeof cmd, "%s export --model %s --gguf %s --type q4_0 >/dev/null 2>&1", h,
             hx_tmp_path("cli_src"), hx_tmp_path("x.gguf"));
    assert_int_equal(WEXITSTATUS(system(cmd)), 2); /* usage error */
}

int main(void)
{
    hx_threads_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_encode),       cmocka_unit_test(test_dequant_blocks),
        cmocka_unit_test(test_dump_for_interop), cmocka_unit_test(test_permutation),
        cmocka_unit_test(test_roundtrip_untied), cmocka_unit_test(test_roundtrip_tied),
        cmocka_unit_test(test_tokenizer_pre),    cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_import_refusals),  cmocka_unit_test(test_export_fallback),
        cmocka_unit_test(test_rope_llama3),      cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, hx_tmp_setup, hx_tmp_teardown);
}
