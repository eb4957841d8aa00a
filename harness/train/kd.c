/* Distillation settings: the names of the compared states and the dynamic
 * weight alpha (the losses themselves are the backend's, model/engine.h). */
#include "train/kd.h"

#include "core/err.h"


double hx_kd_alpha(double loss_logits, double loss_is) { return loss_is != 0.0 ? loss_logits / loss_is : 0.0; }

const char *const hx_kd_state_names[] = {"block_output", "embedding", "mlp_input", NULL};

const char *hx_kd_state_name(hx_kd_state s) { return (unsigned)s <= HX_KD_MLP_INPUT ? hx_kd_state_names[s] : "?"; }
