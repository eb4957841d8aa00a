/* The CUDA tier of the engine: a decoder resident on one GPU, weights in
 * bf16, fp32 master weights, gradients and AdamW moments, bf16 activations
 * (model/device_cuda.cu over kernels/cuda). A build without the CUDA tier
 * links model/device_none.c, whose functions refuse with a message saying so;
 * the CPU engine (model/forward.h) stays the oracle either way.
 *
 * A training step on the device: hx_dmodel_zero_grad, then per micro-batch
 * hx_dmodel_forward, hx_dmodel_loss(backward = 1), hx_dmodel_backward; then
 * hx_dmodel_grad_norm and hx_dmodel_step. Loss values are sums over tokens
 * (nats) and gradients are gradients of those sums, normalised once per step
 * by the count of unmasked tokens in the global batch (field case C08), as
 * hx_grad_reduce does on the CPU.
 *
 * The logits are never materialised over the whole batch: the LM head, the
 * cross-entropy and the KL run over chunks of head_rows tokens. The teacher of
 * a distillation is a forward-only hx_dmodel (train = 0): one layer's
 * activations, no master copy, no gradients. */
#ifndef HX_MODEL_DEVICE_H
#define HX_MODEL_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" { /* C headers, also when model/device_cuda.cu includes this */
#endif
#include "model/model.h" // defines: hx_model, hx_config
#include "model/optim.h" // defines: hx_adamw, hx_adamw_config

/* Where a run's forward and backward passes execute. */
typedef enum { HX_DEVICE_AUTO = 0, HX_DEVICE_CPU = 1, HX_DEVICE_CUDA = 2 } hx_device;
/* "auto", "cpu", "cuda", indexed by hx_device, NULL-terminated (manifest
 * `device:`, --device). */
extern const char *const hx_device_names[4];

/* Resolves `want`: AUTO is CUDA when this build has the CUDA tier and a GPU is
 * visible, else CPU. Errors: HX_EINVAL when CUDA is asked for and this binary
 * has no CUDA tier (the message names bin/harness-cuda) or no GPU answers
 * (the message has the CUDA runtime's reason). */
int hx_device_resolve(hx_device want, hx_device *out);

/* Total memory of the current GPU in bytes (0 without the CUDA tier or a GPU). */
size_t hx_device_memory(void);

typedef struct hx_dmodel hx_dmodel;

typedef struct {
    int B, T;          /* micro-batch: B sequences of T tokens */
    int train;         /* 1: master weights, gradients, AdamW moments and every layer's activations */
    int recompute;     /* train only, 1: keep each layer's input alone and recompute the layer in the backward */
    int head_rows;     /* tokens per chunk of the LM head and its losses (0: 1024) */
    hx_adamw_config adamw; /* train only */
} hx_dmodel_opts;

/* Uploads `m` (fp32 host weights) to the GPU for batches of o->B x o->T tokens.
 * Errors: HX_EINVAL (sizes, config), HX_ENOMEM (device memory, with the bytes
 * asked for), HX_EIO (CUDA). */
int hx_dmodel_create(hx_dmodel **d, const hx_config *cfg, const hx_model *m, const hx_dmodel_opts *o);

/* As hx_dmodel_create with weights drawn on the device instead of uploaded
 * (m == NULL in hx_dmodel_create does the same): uniform with the standard
 * deviation 0.02 of Llama's initializer_range, norms 1, from `seed`. For
 * benchmarks of shapes too large to initialise on the host. */
int hx_dmodel_create_random(hx_dmodel **d, const hx_config *cfg, uint64_t seed, const hx_dmodel_opts *o);
void hx_dmodel_free(hx_dmodel *d);

/* Device bytes held by the model, its optimizer and its workspace. */
size_t hx_dmodel_bytes(const hx_dmodel *d);

/* Runs the decoder on ids [B*T] (host, each in [0, vocab_size)) up to the
 * final norm; a train model keeps every activation for hx_dmodel_backward.
 * Errors: HX_EINVAL (an id out of range, named), HX_EIO. */
int hx_dmodel_forward(hx_dmodel *d, const int32_t *ids);

/* Logits [B*T, vocab_size] fp32 on the host (rounded through bf16) of the
 * last forward, computed chunk by chunk. For evaluation of small models. */
int hx_dmodel_logits(hx_dmodel *d, float *logits);

/* Losses of the last forward against targets [B*T] (host; HX_IGNORE_INDEX
 * masks a token). *ce_sum = sum of token cross-entropies (nats). With a
 * teacher (a forward-only hx_dmodel that ran on the same ids), *kd_sum =
 * sum over unmasked tokens of tau^2 KL(p_teacher || p_student) at temperature
 * tau over the shared first min(V_s, V_t) ids (as hx_kd_logits_loss; reverse KL
 * is CPU-only). With backward = 1 (train models) the gradient of
 * w_ce * ce_sum + kd_sum (teacher) or ce_sum (no teacher) flows into the LM
 * head's gradient and the final norm's output, ready for hx_dmodel_backward.
 * Errors: HX_EINVAL (a target out of range, teacher shapes), HX_EIO. */
int hx_dmodel_loss(hx_dmodel *d, const hx_dmodel *teacher, const int32_t *targets, double tau, double w_ce,
                   int backward, double *ce_sum, double *kd_sum);

/* Backpropagates from the final norm through every layer and the embedding,
 * ACCUMULATING parameter gradients (fp32), as hx_backward. */
int hx_dmodel_backward(hx_dmodel *d);

/* Zeroes the gradients (start of a step). */
int hx_dmodel_zero_grad(hx_dmodel *d);

/* *norm = L2 norm of the accumulated gradients divided by `count` (the
 * unmasked tokens of the global batch), i.e. the norm hx_grad_clip_with sees
 * after hx_grad_reduce. Deterministic (fixed-order reduction). */
int hx_dmodel_grad_norm(hx_dmodel *d, double count, double *norm);

/* One AdamW update (hx_adamw_step's formula and per-parameter decay flags) at
 * learning rate lr with the gradients scaled by 1/count and clipped to
 * max_norm (norm from hx_dmodel_grad_norm; max_norm <= 0: no clipping, same
 * coefficient as hx_grad_clip_with); refreshes the bf16 weights. */
int hx_dmodel_step(hx_dmodel *d, double lr, double count, double norm, double max_norm);

/* Data parallelism on GPUs (core/dist.h ranks): hx_dmodel_dist_init picks
 * this rank's GPU (its local rank modulo the GPUs of the node, from
 * OMPI_COMM_WORLD_LOCAL_RANK or SLURM_LOCALID) and opens one NCCL
 * communicator over all ranks, its unique id broadcast from rank 0 over MPI;
 * call it once, before creating models. hx_dmodel_grad_allreduce sums the
 * accumulated fp32 gradients over ranks in place (ncclAllReduce, ncclSum), the
 * GPU counterpart of hx_grad_reduce's all-reduce; the step then normalises by
 * the global token count. Both are no-ops with one rank. Errors: HX_EIO with
 * NCCL's or CUDA's message. */
int hx_dmodel_dist_init(void);
int hx_dmodel_grad_allreduce(hx_dmodel *d);

/* Copies device state to the host (each of m, grads, opt may be NULL):
 * master weights into m->data, gradients into grads->data (fp32, un-normalised
 * sums), moments and step count into opt. Train models only. */
int hx_dmodel_get(const hx_dmodel *d, hx_model *m, hx_model *grads, hx_adamw *opt);

/* Replaces the device weights (and, with opt, the moments and step count)
 * from the host, e.g. after resuming a checkpoint. */
int hx_dmodel_set(hx_dmodel *d, const hx_model *m, const hx_adamw *opt);

#ifdef __cplusplus
}
#endif

#endif
