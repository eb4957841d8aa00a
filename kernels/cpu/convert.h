/* Scalar conversions between fp32 and bf16 / f16 on the host: one
 * definition for the safetensors reader and writer and the CUDA tier. */
#ifndef HX_KERNELS_CPU_CONVERT_H
#define HX_KERNELS_CPU_CONVERT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* bf16 -> f32 is exact (top half of the f32 bits). f32 -> bf16 rounds to
 * nearest, ties to even; NaN stays NaN (quiet, sign kept); overflow rounds to
 * +-inf (torch's `.to(torch.bfloat16)` semantics). f16 -> f32 is exact for
 * normals, subnormals, +-0, +-inf and NaN. */
float hx_bf16_to_f32(uint16_t h);
uint16_t hx_f32_to_bf16(float f);
float hx_f16_to_f32(uint16_t h);
/* f32 -> IEEE half, round to nearest, ties to even (subnormals included);
 * magnitudes from 65520 up round to +-inf; NaN stays NaN (quiet, sign kept). */
uint16_t hx_f32_to_f16(float f);
/* Rounds x to the nearest bf16 and back (the value a bf16 tensor holds). */
float hx_bf16_round(float x);

#ifdef __cplusplus
}
#endif

#endif
