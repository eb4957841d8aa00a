/* ggml tensor types of GGUF files (llama.cpp): the type table (id, name,
 * block size, bytes per block), dequantisation to fp32 of F32, F16, BF16,
 * Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K, and encoding of fp32
 * into F32, F16, BF16 and Q8_0. Block layouts and formulas:
 * ggml src/ggml-common.h (block_*) and src/ggml-quants.c (dequantize_row_*),
 * as summarised in shared/research/gguf-and-tokenizers.md section 1.5. All
 * multi-byte fields are little-endian; f16 is IEEE half. */
#ifndef HX_KERNELS_CPU_QUANT_H
#define HX_KERNELS_CPU_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* ggml_type ids (ggml include/ggml.h). Only the ones this code names. */
enum {
    HX_GGML_F32 = 0,
    HX_GGML_F16 = 1,
    HX_GGML_Q4_0 = 2,
    HX_GGML_Q4_1 = 3,
    HX_GGML_Q5_0 = 6,
    HX_GGML_Q5_1 = 7,
    HX_GGML_Q8_0 = 8,
    HX_GGML_Q4_K = 12,
    HX_GGML_Q5_K = 13,
    HX_GGML_Q6_K = 14,
    HX_GGML_BF16 = 30,
};

/* Name of ggml type `type` ("Q4_K"), or NULL for an id ggml does not
 * define (including the removed ids 4, 5, 31-33, 36-38). */
const char *hx_ggml_type_name(uint32_t type);

/* Block size (elements) and bytes per block of `type`; 0 when the layout is
 * not known here (the IQ* types, TQ*, MXFP4, ...): such tensors can be
 * neither sized nor read. */
int hx_ggml_block_size(uint32_t type);
int hx_ggml_block_bytes(uint32_t type);

/* 1 when hx_ggml_dequantize handles `type`. */
int hx_ggml_can_dequantize(uint32_t type);

/* Dequantises n elements (a multiple of the block size) of `type` from the
 * packed blocks at `src` into dst[0..n). Errors: HX_EINVAL naming the type
 * ("type Q3_K cannot be dequantized") or the bad length. */
int hx_ggml_dequantize(uint32_t type, const void *src, float *dst, size_t n);

/* Encodes n fp32 elements (a multiple of the block size) as `type` into
 * dst (hx_ggml_block_bytes * n / block bytes): F32 as is, F16 and BF16
 * rounded to nearest even, Q8_0 per block of 32 with d = max|x|/127 stored
 * as f16 and q = round-half-away(x/d) (ggml quantize_row_q8_0_ref).
 * Errors: HX_EINVAL (another type, or a bad length). */
int hx_ggml_quantize(uint32_t type, const float *src, void *dst, size_t n);

#endif
