/* Benchmark suites of the Minitron stages: importance pass and KD step (run by `harness bench`). */
#ifndef HX_BENCH_BENCH_MINITRON_H
#define HX_BENCH_BENCH_MINITRON_H

#include "bench/bench.h"

/* Suite "importance": the importance pass over 16 calibration windows of 256
 * tokens (micro-batch 4) of the mini model, against plain forward passes
 * over the same tokens, interleaved. Keys (seconds are the minimum over
 * opts->steps repetitions, the least disturbed by other load):
 *   forward_seconds        plain hx_forward over all windows
 *   width_seconds          hooked width pass (heads, neurons, channels, BI, base loss)
 *   width_ratio            width_seconds / forward_seconds (target <= 1.2)
 *   depth_seconds          the L single-layer-removal passes alone (one run)
 *   depth_ratio            depth_seconds / forward_seconds (about L: one pass per layer)
 *   tokens                 calibration tokens (16 x 256)
 *   bf16_width_seconds, bf16_width_speedup   the width pass with importance.bf16
 *                          (AVX512-BF16 CPUs only; packing excluded) and width_seconds / it */
int hx_bench_importance(json_t *out, const hx_bench_opts *opts);

/* Suite "kd": one distillation step on a batch of 8 x 256 tokens, student =
 * the mini model with hidden_size 128 and intermediate_size 384, teacher = the
 * mini model. Phases interleaved per repetition; keys are minima:
 *   kd_step_seconds        teacher forward + student forward + forward KL (tau 1)
 *                          with its gradient + student backward
 *   student_step_seconds   student forward + cross-entropy + backward
 *   teacher_forward_seconds  teacher forward alone
 *   kl_seconds             hx_kd_logits_loss with gradient alone
 *   kd_ratio               kd_step / (student_step + teacher_forward) (target <= 1.1)
 *   bf16_kd_step_seconds, bf16_teacher_forward_seconds and their _speedup over the
 *                          fp32 ones: the teacher's forwards in bf16 (kd.teacher_bf16;
 *                          AVX512-BF16 CPUs only) */
int hx_bench_kd(json_t *out, const hx_bench_opts *opts);

#endif
