/* Intermediate-state distillation for the trainer (Minitron NeurIPS 2024 §3,
 * App. A.6): the teacher's chosen post-norm hidden states captured during
 * its forward pass, the student's read from its training workspace, one
 * shared learned linear map W [teacher hidden, student hidden] with its own
 * AdamW state, the loss
 *   L_is = sum over pairs of mean over counted tokens of (1 - cos(h_s W^T, h_t))
 * (hx_kd_cosine_loss) and its gradients, injected into the student's backward
 * pass (hx_backward_ex), plus checkpointing of W and its moments. */
#ifndef HX_TRAIN_KD_IS_H
#define HX_TRAIN_KD_IS_H

#include "train/kd.h"
#include "model/engine.h"

#include <stdint.h>

typedef struct {
    int n;             /* pairs */
    hx_kd_pair *pairs; /* [n] (copied) */
    int ds, dt, N;     /* student and teacher hidden_size, tokens per micro-batch */
    int Ls, Lt;        /* layers of the student and the teacher */
    float *W, *dW;     /* [dt, ds] the map and its step gradient */
    float *dW_micro;   /* [dt, ds] one micro-batch's unscaled gradient */
    hx_adamw opt;      /* the map's AdamW moments */
    float **t_state;   /* [n] captured teacher states [N, dt] */
    float **d_attn, **d_mlp, *d_final; /* injected student gradients: [Ls] arrays of [N, ds] (NULL when unused) */
    hx_state_grads inject;
} hx_kd_is;

/* Sets up L_is for `n` pairs between a student and a teacher configuration
 * for micro-batches of N tokens. W is initialised deterministically from
 * `seed`: the identity when the hidden sizes match (a pruned-free map
 * starts as a plain cosine), else i.i.d. N(0, 1/ds) entries (standard
 * deviation 1/sqrt(student hidden_size)) from hx_rng seeded with
 * seed ^ 0x4b446d6170 ("KDmap"). The map is decayed like any linear weight.
 * Errors: HX_EINVAL (n < 1, a layer index outside its model, naming the
 * pair), HX_ENOMEM. */
int hx_kd_is_init(hx_kd_is *is, const hx_kd_pair *pairs, int n, const hx_config *student, const hx_config *teacher,
                  int N, const hx_adamw_config *adamw, uint64_t seed);
void hx_kd_is_free(hx_kd_is *is);

/* Layer hook (hx_layer_hook) for the teacher's forward-only workspace: set
 * ws->hook = hx_kd_is_capture, ws->hook_ctx = is. Copies the teacher states
 * of the pairs; after hx_forward returns call hx_kd_is_capture_final. */
int hx_kd_is_capture(void *ctx, int layer, const hx_layer_acts *acts, const hx_workspace *ws);
/* Copies the pairs that read the teacher's final norm output. */
void hx_kd_is_capture_final(hx_kd_is *is, const hx_workspace *teacher_ws);

/* After the student's forward (sws, HX_WS_TRAIN) and the teacher's (captured
 * states): computes the micro-batch's L_is SUM over counted tokens (mask [N],
 * NULL = all) into *is_sum, picks the weight alpha (dynamic: kd_sum / is_sum
 * of this micro-batch, detached, 0 when is_sum is 0; constant: alpha_value),
 * writes alpha * d(L_is sum)/d(student states) into is->inject (pass it to
 * hx_backward_ex) and ACCUMULATES alpha * d(L_is sum)/dW into is->dW. Sums,
 * not means: the step's hx_grad_reduce count normalises both (C08). Dynamic
 * alpha is computed per micro-batch, so with grad_accum > 1 the weight
 * follows each micro-batch's ratio. Returns HX_OK or HX_ENOMEM. */
int hx_kd_is_micro(hx_kd_is *is, const hx_workspace *sws, const uint8_t *mask, int alpha_const, double alpha_value,
                   double kd_sum, double *is_sum, double *alpha);

/* Saves W and its moments as <dir>/kd_map.safetensors (F32 tensors
 * "kd_map.weight", "kd_map.weight.exp_avg", "kd_map.weight.exp_avg_sq",
 * shaped [dt, ds]). Errors: HX_EIO, HX_ENOSPC. */
int hx_kd_is_save(const hx_kd_is *is, const char *dir);
/* Reads them back (shapes must match). Errors: HX_EIO, HX_EFORMAT naming the
 * file and tensor, HX_ENAN for a non-finite element (named). */
int hx_kd_is_load(hx_kd_is *is, const char *dir);

#endif
