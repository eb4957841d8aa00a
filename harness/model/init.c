/* Random initialisation of model parameters (LlamaPreTrainedModel scheme). */
#include "model/init.h"

#include "core/err.h"
#include "core/rng.h"

#include <stdlib.h>

int hx_model_init_random(hx_model *m, uint64_t seed)
{
    int n = hx_model_num_params(&m->cfg);
    hx_param *ps = hx_malloc(sizeof(hx_param) * (size_t)n);
    if (!ps) return HX_ENOMEM;
    hx_model_params(m, ps);
    hx_rng root;
    hx_rng_seed(&root, seed);
    for (int i = 0; i < n; i++) {
        size_t len = (size_t)ps[i].rows * (ps[i].cols ? (size_t)ps[i].cols : 1);
        if (ps[i].kind == HX_PARAM_NORM) {
            for (size_t j = 0; j < len; j++) ps[i].data[j] = 1.0f;
            continue;
        }
        hx_rng r = hx_rng_fork(&root, (uint64_t)i);
        for (size_t j = 0; j < len; j++) ps[i].data[j] = (float)(HX_INIT_STD * hx_rng_normal(&r));
    }
    free(ps);
    return HX_OK;
}
