/* The CUDA tier's entry points in a build without it (model/device.h): CPU
 * runs resolve, and every device call refuses, saying how to get the tier. */
#include "model/device.h"

#include "core/err.h"

#define NO_CUDA() HX_ERR(HX_EINVAL, "device cuda: this binary has no CUDA tier: use bin/harness-cuda, which `make cuda` builds where nvcc is present")

int hx_device_resolve(hx_device want, hx_device *out)
{
    *out = HX_DEVICE_CPU;
    return want == HX_DEVICE_CUDA ? NO_CUDA() : HX_OK;
}

size_t hx_device_memory(void) { return 0; }

int hx_dmodel_create(hx_dmodel **d, const hx_config *cfg, const hx_model *m, const hx_dmodel_opts *o)
{
    (void)cfg, (void)m, (void)o;
    *d = NULL;
    return NO_CUDA();
}

int hx_dmodel_create_random(hx_dmodel **d, const hx_config *cfg, uint64_t seed, const hx_dmodel_opts *o)
{
    (void)seed;
    return hx_dmodel_create(d, cfg, NULL, o);
}

void hx_dmodel_free(hx_dmodel *d) { (void)d; }
size_t hx_dmodel_bytes(const hx_dmodel *d) { return (void)d, 0; }
int hx_dmodel_forward(hx_dmodel *d, const int32_t *ids) { return (void)d, (void)ids, NO_CUDA(); }
int hx_dmodel_logits(hx_dmodel *d, float *logits) { return (void)d, (void)logits, NO_CUDA(); }

int hx_dmodel_loss(hx_dmodel *d, const hx_dmodel *teacher, const int32_t *targets, double tau, double w_ce,
                   int backward, double *ce_sum, double *kd_sum)
{
    (void)d, (void)teacher, (void)targets, (void)tau, (void)w_ce, (void)backward, (void)ce_sum, (void)kd_sum;
    return NO_CUDA();
}

int hx_dmodel_backward(hx_dmodel *d) { return (void)d, NO_CUDA(); }
int hx_dmodel_zero_grad(hx_dmodel *d) { return (void)d, NO_CUDA(); }
int hx_dmodel_grad_norm(hx_dmodel *d, double count, double *norm) { return (void)d, (void)count, (void)norm, NO_CUDA(); }

int hx_dmodel_step(hx_dmodel *d, double lr, double count, double norm, double max_norm)
{
    return (void)d, (void)lr, (void)count, (void)norm, (void)max_norm, NO_CUDA();
}

int hx_dmodel_get(const hx_dmodel *d, hx_model *m, hx_model *grads, hx_adamw *opt)
{
    return (void)d, (void)m, (void)grads, (void)opt, NO_CUDA();
}

int hx_dmodel_dist_init(void) { return NO_CUDA(); }
int hx_dmodel_grad_allreduce(hx_dmodel *d) { return (void)d, NO_CUDA(); }

int hx_dmodel_set(hx_dmodel *d, const hx_model *m, const hx_adamw *opt) { return (void)d, (void)m, (void)opt, NO_CUDA(); }
