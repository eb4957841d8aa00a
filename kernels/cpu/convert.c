/* Scalar float conversions between fp32 and the 16-bit formats of
 * checkpoints and the CUDA tier (bf16, f16), bit-exact; see convert.h. */
#include "cpu/convert.h"

#include <math.h>
#include <string.h>

float hx_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t hx_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u); /* quiet NaN, sign kept */
    u += 0x7fffu + ((u >> 16) & 1u);                                                /* round to nearest even */
    return (uint16_t)(u >> 16);
}

float hx_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13); /* inf or NaN (payload kept) */
    } else if (exp != 0) {
        u = sign | ((exp + 112u) << 23) | (man << 13); /* rebias 15 -> 127 */
    } else if (man == 0) {
        u = sign; /* signed zero */
    } else {      /* subnormal: value = man * 2^-24, exact in f32 */
        float f = ldexpf((float)man, -24);
        memcpy(&u, &f, 4);
        u |= sign;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t hx_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* quiet NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65504 + half an ulp: inf */
    if (a < 0x38800000u) {                                     /* below 2^-14: subnormal half */
        float x;
        memcpy(&x, &a, 4);
        return (uint16_t)(sign | (uint16_t)rintf(x * 16777216.0f)); /* units of 2^-24, ties to even */
    }
    a += 0xfffu + ((a >> 13) & 1u); /* round the 13 dropped mantissa bits to nearest even */
    return (uint16_t)(sign | ((a - (112u << 23)) >> 13)); /* rebias 127 -> 15 */
}

float hx_bf16_round(float x) { return hx_bf16_to_f32(hx_f32_to_bf16(x)); }
