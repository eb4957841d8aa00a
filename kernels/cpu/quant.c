/* Dequantisation and encoding of ggml tensor types (see quant.h): one
 * function per block layout, written from the block definitions. */
#include "cpu/quant.h"

#include "core/err.h"
#include "cpu/convert.h"

#include <math.h>
#include <string.h>

static const struct {
    uint32_t id;
    const char *name;
    int block, bytes; /* 0: layout not known here */
} types[] = {
    {0, "F32", 1, 4},       {1, "F16", 1, 2},        {2, "Q4_0", 32, 18},     {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},    {7, "Q5_1", 32, 24},     {8, "Q8_0", 32, 34},     {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},  {11, "Q3_K", 256, 110},  {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292},  {16, "IQ2_XXS", 0, 0},   {17, "IQ2_XS", 0, 0},
    {18, "IQ3_XXS", 0, 0},  {19, "IQ1_S", 0, 0},     {20, "IQ4_NL", 0, 0},    {21, "IQ3_S", 0, 0},
    {22, "IQ2_S", 0, 0},    {23, "IQ4_XS", 0, 0},    {24, "I8", 1, 1},        {25, "I16", 1, 2},
    {26, "I32", 1, 4},      {27, "I64", 1, 8},       {28, "F64", 1, 8},       {29, "IQ1_M", 0, 0},
    {30, "BF16", 1, 2},     {34, "TQ1_0", 0, 0},     {35, "TQ2_0", 0, 0},     {39, "MXFP4", 0, 0},
    {40, "NVFP4", 0, 0},
};
#define N_TYPES (sizeof types / sizeof types[0])

static int find(uint32_t type)
{
    for (size_t i = 0; i < N_TYPES; i++)
        if (types[i].id == type) return (int)i;
    return -1;
}

const char *hx_ggml_type_name(uint32_t type)
{
    int i = find(type);
    return i < 0 ? NULL : types[i].name;
}

int hx_ggml_block_size(uint32_t type)
{
    int i = find(type);
    return i < 0 ? 0 : types[i].block;
}

int hx_ggml_block_bytes(uint32_t type)
{
    int i = find(type);
    return i < 0 ? 0 : types[i].bytes;
}

static float f16_at(const uint8_t *p) { return hx_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

/* ---- 32-element blocks: element j is the low nibble of qs[j], j+16 the high one ---- */

/* Q4_0 {d, qs[16]}, Q4_1 {d, m, qs[16]}: x = (nib - 8) d, x = nib d + m. */
static void deq_q4(const uint8_t *b, float *y, int has_min)
{
    float d = f16_at(b), m = has_min ? f16_at(b + 2) : 0.0f;
    const uint8_t *qs = b + (has_min ? 4 : 2);
    for (int j = 0; j < 16; j++) {
        int lo = qs[j] & 0xF, hi = qs[j] >> 4;
        y[j] = has_min ? (float)lo * d + m : (float)(lo - 8) * d;
        y[j + 16] = has_min ? (float)hi * d + m : (float)(hi - 8) * d;
    }
}

/* Q5_0 {d, qh[4], qs[16]}, Q5_1 {d, m, qh[4], qs[16]}: the fifth bit of
 * element j is bit j of qh read as a u32; x = (v - 16) d, x = v d + m. */
static void deq_q5(const uint8_t *b, float *y, int has_min)
{
    float d = f16_at(b), m = has_min ? f16_at(b + 2) : 0.0f;
    const uint8_t *qh = b + (has_min ? 4 : 2), *qs = qh + 4;
    uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
    for (int j = 0; j < 16; j++) {
        int lo = (qs[j] & 0xF) | (int)((h >> j) & 1) << 4, hi = (qs[j] >> 4) | (int)((h >> (j + 16)) & 1) << 4;
        y[j] = has_min ? (float)lo * d + m : (float)(lo - 16) * d;
        y[j + 16] = has_min ? (float)hi * d + m : (float)(hi - 16) * d;
    }
}

/* Q8_0 {d, qs i8[32]}: x = q d. */
static void deq_q8_0(const uint8_t *b, float *y)
{
    float d = f16_at(b);
    for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

/* ---- 256-element K-quant super-blocks ---- */

/* The 6-bit scale and min of sub-block j (0..7) packed in scales[12]. */
static void scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q4_K {d, dmin, scales[12], qs[128]} and Q5_K {d, dmin, scales[12],
 * qh[32], qs[128]}: four chunks of 64; chunk c reads qs[32c..32c+31], low
 * nibbles for its first 32 outputs (sub-block 2c), high nibbles for the
 * next 32 (2c+1); Q5_K adds 16 when bit 2c (2c+1) of qh[l] is set.
 * x = d sc q - dmin m. */
static void deq_k45(const uint8_t *b, float *y, int five)
{
    float d = f16_at(b), dmin = f16_at(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *qs = b + (five ? 48 : 16);
    for (int c = 0; c < 4; c++) {
        int sc1, m1, sc2, m2;
        scale_min_k4(2 * c, scales, &sc1, &m1);
        scale_min_k4(2 * c + 1, scales, &sc2, &m2);
        float d1 = d * (float)sc1, dm1 = dmin * (float)m1, d2 = d * (float)sc2, dm2 = dmin * (float)m2;
        const uint8_t *q = qs + 32 * c;
        for (int l = 0; l < 32; l++) {
            int lo = q[l] & 0xF, hi = q[l] >> 4;
            if (five) {
                lo += (qh[l] >> (2 * c) & 1) << 4;
                hi += (qh[l] >> (2 * c + 1) & 1) << 4;
            }
            y[64 * c + l] = d1 * (float)lo - dm1;
            y[64 * c + 32 + l] = d2 * (float)hi - dm2;
        }
    }
}

/* Q6_K {ql[128], qh[64], scales i8[16], d}: two halves of 128; in half h,
 * for l = 0..31, elements l, l+32, l+64, l+96 take their low 4 bits from
 * ql[64h+l] low, ql[64h+l+32] low, ql[64h+l] high, ql[64h+l+32] high and
 * their top 2 bits from bits 0-1, 2-3, 4-5, 6-7 of qh[32h+l];
 * x = d scales[i/16] (q - 32) for element i. */
static void deq_q6_k(const uint8_t *b, float *y)
{
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = f16_at(b + 208);
    for (int h = 0; h < 2; h++) {
        const uint8_t *L = ql + 64 * h, *H = qh + 32 * h;
        float *o = y + 128 * h;
        for (int l = 0; l < 32; l++) {
            int q[4] = {(L[l] & 0xF) | (H[l] & 3) << 4, (L[l + 32] & 0xF) | (H[l] >> 2 & 3) << 4,
                        (L[l] >> 4) | (H[l] >> 4 & 3) << 4, (L[l + 32] >> 4) | (H[l] >> 6 & 3) << 4};
            for (int k = 0; k < 4; k++) {
                int i = 128 * h + 32 * k + l;
                o[32 * k + l] = d * (float)sc[i / 16] * (float)(q[k] - 32);
            }
        }
    }
}

int hx_ggml_can_dequantize(uint32_t type)
{
    switch (type) {
    case HX_GGML_F32: case HX_GGML_F16: case HX_GGML_BF16: case HX_GGML_Q8_0: case HX_GGML_Q4_0:
    case HX_GGML_Q4_1: case HX_GGML_Q5_0: case HX_GGML_Q5_1: case HX_GGML_Q4_K: case HX_GGML_Q5_K:
    case HX_GGML_Q6_K:
        return 1;
    default:
        return 0;
    }
}

static int check_len(uint32_t type, size_t n, const char *what)
{
    const char *name = hx_ggml_type_name(type);
    int blk = hx_ggml_block_size(type);
    if (blk <= 0) return HX_ERR(HX_EINVAL, "ggml type %s (%u) cannot be %s", name ? name : "unknown", type, what);
    if (n % (size_t)blk)
        return HX_ERR(HX_EINVAL, "ggml type %s: %zu elements is not a multiple of the block size %d", name, n, blk);
    return HX_OK;
}

int hx_ggml_dequantize(uint32_t type, const void *src, float *dst, size_t n)
{
    if (!hx_ggml_can_dequantize(type)) {
        const char *name = hx_ggml_type_name(type);
        return HX_ERR(HX_EINVAL, "ggml type %s (%u) cannot be dequantized (F32, F16, BF16, Q8_0, Q4_0, Q4_1, "
                      "Q5_0, Q5_1, Q4_K, Q5_K, Q6_K are supported)", name ? name : "unknown", type);
    }
    HX_TRY(check_len(type, n, "dequantized"));
    const uint8_t *s = src;
    size_t blk = (size_t)hx_ggml_block_size(type), bytes = (size_t)hx_ggml_block_bytes(type), nb = n / blk;
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *p = s + b * bytes;
        float *y = dst + b * blk;
        switch (type) {
        case HX_GGML_F32: memcpy(y, p, 4); break;
        case HX_GGML_F16: *y = f16_at(p); break;
        case HX_GGML_BF16: *y = hx_bf16_to_f32((uint16_t)(p[0] | p[1] << 8)); break;
        case HX_GGML_Q8_0: deq_q8_0(p, y); break;
        case HX_GGML_Q4_0: deq_q4(p, y, 0); break;
        case HX_GGML_Q4_1: deq_q4(p, y, 1); break;
        case HX_GGML_Q5_0: deq_q5(p, y, 0); break;
        case HX_GGML_Q5_1: deq_q5(p, y, 1); break;
        case HX_GGML_Q4_K: deq_k45(p, y, 0); break;
        case HX_GGML_Q5_K: deq_k45(p, y, 1); break;
        default: deq_q6_k(p, y); break; /* HX_GGML_Q6_K */
        }
    }
    return HX_OK;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* One Q8_0 block: d = max|x| / 127 (as f16), q = round(x / d). */
static void quant_q8_0(const float *x, uint8_t *b)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    put16(b, hx_f32_to_f16(d));
    for (int j = 0; j < 32; j++) b[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
}

int hx_ggml_quantize(uint32_t type, const float *src, void *dst, size_t n)
{
    if (type != HX_GGML_F32 && type != HX_GGML_F16 && type != HX_GGML_BF16 && type != HX_GGML_Q8_0) {
        const char *name = hx_ggml_type_name(type);
        return HX_ERR(HX_EINVAL, "ggml type %s (%u) cannot be written (F32, F16, BF16, Q8_0 are supported)",
                      name ? name : "unknown", type);
    }
    HX_TRY(check_len(type, n, "written"));
    uint8_t *d = dst;
    if (type == HX_GGML_F32) memcpy(d, src, n * 4);
    else if (type == HX_GGML_F16) for (size_t i = 0; i < n; i++) put16(d + 2 * i, hx_f32_to_f16(src[i]));
    else if (type == HX_GGML_BF16) for (size_t i = 0; i < n; i++) put16(d + 2 * i, hx_f32_to_bf16(src[i]));
    else for (size_t b = 0; b < n / 32; b++) quant_q8_0(src + 32 * b, d + 34 * b);
    return HX_OK;
}
