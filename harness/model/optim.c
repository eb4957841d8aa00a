/* AdamW (decoupled weight decay) over the contiguous parameter buffer. */
#include "model/optim.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

hx_adamw_config hx_adamw_defaults(void)
{
    return (hx_adamw_config){.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1,
                             .decay_norms = 0, .decay_embeddings = 1};
}

static int decays(const hx_adamw_config *c, hx_param_kind kind)
{
    switch (kind) {
    case HX_PARAM_LINEAR: return 1;
    case HX_PARAM_NORM: return c->decay_norms;
    case HX_PARAM_EMBED:
    case HX_PARAM_LM_HEAD: return c->decay_embeddings;
    }
    return 1;
}

static int check_cfg(const hx_adamw_config *cfg)
{
    if (!(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1))
        return HX_ERR(HX_EINVAL, "adamw: betas must lie in [0, 1) (got %g, %g)", cfg->beta1, cfg->beta2);
    if (!(cfg->eps >= 0) || !(cfg->weight_decay >= 0))
        return HX_ERR(HX_EINVAL, "adamw: eps (%g) and weight_decay (%g) must be non-negative", cfg->eps,
                      cfg->weight_decay);
    return HX_OK;
}

/* Validates cfg and allocates zeroed moments and decay flags for n floats. */
static int alloc_state(hx_adamw *opt, const hx_adamw_config *cfg, size_t n)
{
    memset(opt, 0, sizeof *opt);
    HX_TRY(check_cfg(cfg));
    opt->cfg = *cfg;
    opt->n = n;
    opt->m = hx_calloc(n ? n : 1, sizeof(float));
    opt->v = hx_calloc(n ? n : 1, sizeof(float));
    opt->decay = hx_calloc(n ? n : 1, 1);
    if (opt->m && opt->v && opt->decay) return HX_OK;
    hx_adamw_free(opt);
    return HX_ENOMEM;
}

int hx_adamw_init_flat(hx_adamw *opt, const hx_adamw_config *cfg, size_t n, int decay)
{
    HX_TRY(alloc_state(opt, cfg, n));
    memset(opt->decay, decay != 0, n);
    return HX_OK;
}

int hx_adamw_init(hx_adamw *opt, const hx_adamw_config *cfg, const hx_model *params)
{
    HX_TRY(alloc_state(opt, cfg, params->n_floats));
    int np = hx_model_num_params(&params->cfg);
    hx_param *views = hx_calloc((size_t)np, sizeof *views);
    if (!views) {
        hx_adamw_free(opt);
        return HX_ENOMEM;
    }
    int n = hx_model_params(params, views);
    for (int i = 0; i < n; i++) {
        size_t off = (size_t)(views[i].data - params->data);
        size_t len = (size_t)views[i].rows * (size_t)(views[i].cols ? views[i].cols : 1);
        memset(opt->decay + off, decays(cfg, views[i].kind), len);
    }
    free(views);
    return HX_OK;
}

void hx_adamw_free(hx_adamw *opt)
{
    free(opt->m);
    free(opt->v);
    free(opt->decay);
    memset(opt, 0, sizeof *opt);
}

int hx_adamw_step(hx_adamw *opt, hx_model *params, const hx_model *grads, double lr)
{
    if (params->n_floats != opt->n || grads->n_floats != opt->n)
        return HX_ERR(HX_EINVAL, "adamw: optimizer holds %zu parameters, model %zu, gradients %zu", opt->n,
                      params->n_floats, grads->n_floats);
    hx_adamw_step_flat(opt, params->data, grads->data, lr);
    return HX_OK;
}

void hx_adamw_step_flat(hx_adamw *opt, float *p, const float *g, double lr)
{
    opt->t++;
    const double b1 = opt->cfg.beta1, b2 = opt->cfg.beta2;
    const float keep = (float)(1.0 - lr * opt->cfg.weight_decay);
    const float one_minus_b1 = (float)(1.0 - b1), fb2 = (float)b2, one_minus_b2 = (float)(1.0 - b2);
    const float neg_step = (float)(-lr / (1.0 - pow(b1, (double)opt->t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)opt->t));
    const float eps = (float)opt->cfg.eps;
    float *m = opt->m, *v = opt->v;
    const uint8_t *dec = opt->decay;
    const long n = (long)opt->n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        float pi = dec[i] ? p[i] * keep : p[i];
        float gi = g[i];
        float mi = fmaf(one_minus_b1, gi - m[i], m[i]); /* torch's vectorised lerp_ */
        float vi = fmaf(one_minus_b2 * gi, gi, fb2 * v[i]); /* mul_ then addcmul_ */
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi + neg_step * (mi / denom);
    }
}
