/* Gradient utilities for the training loop: the one gradient reduction that
 * turns per-rank token sums into the global-batch mean (the plug-in point for
 * data parallelism), the global L2 norm, and clipping by that norm. */
#ifndef HX_TRAIN_GRAD_H
#define HX_TRAIN_GRAD_H

#include "model/model.h"

#include <stddef.h>

/* Collective sums across data-parallel ranks. A single process passes NULL
 * (or a struct with NULL functions): every sum is then the identity. A later
 * MPI/NCCL backend fills these in (e.g. MPI_Allreduce with MPI_SUM in place)
 * and nothing in the loop changes. Both return HX_OK or a negative status. */
typedef struct {
    void *ctx;
    int (*allreduce_f32)(void *ctx, float *buf, size_t n);
    int (*allreduce_f64)(void *ctx, double *buf, size_t n);
} hx_comm;

/* The reduction contract (field case C08). Before the call, on every rank:
 *   - grads holds the gradient of the SUM of per-token losses over the
 *     unmasked target tokens of all its micro-batches (never a per-micro-batch
 *     mean);
 *   - sums[0] is that rank's unmasked target-token count, and sums[1..n_sums-1]
 *     are other additive quantities of the step (loss sums such as sum of CE
 *     and sum of KD over the same tokens, trained-token counts, ...).
 * The call all-reduces grads and sums (element-wise sum over ranks), then
 * divides the gradients once by the global count N = sums[0], so they become
 * the gradient of the mean loss over the whole global batch, identical for
 * any split into ranks and micro-batches (to rounding). The loss means are
 * sums[k] / N, left to the caller. When N == 0 (all positions masked) the
 * gradients are set to zero, so the step is a no-op rather than NaN.
 * Errors: HX_EINVAL (n_sums < 1, negative count), or the backend's status. */
int hx_grad_reduce(const hx_comm *comm, hx_model *grads, double *sums, int n_sums);

/* Global L2 norm of all gradients, sqrt(sum g^2) over grads->data (a tied
 * embedding counted once). Summation is deterministic for any thread count:
 * fixed blocks of 4096 elements are summed in double, then the block sums are
 * added in order. */
double hx_grad_norm(const hx_model *grads);

/* Clips by global norm as torch.nn.utils.clip_grad_norm_: with n the norm,
 * when max_norm > 0 and n > max_norm, scales every gradient by
 * max_norm / (n + 1e-6). Returns the pre-clip norm (may be Inf/NaN; then the
 * gradients are left unscaled and the caller's NaN policy decides). */
double hx_grad_clip(hx_model *grads, double max_norm);

/* hx_grad_clip over the model's gradients together with `n_extra` more
 * gradients `extra` (parameters outside the model, e.g. the KD map): the
 * norm is sqrt(|grads|^2 + |extra|^2) (each summed as hx_grad_norm) and both
 * are scaled by the same coefficient. extra may be NULL (n_extra 0). */
double hx_grad_clip_with(hx_model *grads, float *extra, size_t n_extra, double max_norm);

/* Sets every gradient to zero (before accumulating a new step). */
void hx_grad_zero(hx_model *grads);

#endif
