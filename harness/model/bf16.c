/* bfloat16 packed copies of a model's linear weights for forward-only
 * passes (model/model.h, hx_model_bf16_pack). */
#include "model/model.h"

#include "core/err.h"

#include <stdlib.h>

int hx_model_bf16_available(void) { return hx_bf16_gemm_available(); }

int hx_model_bf16_pack(const hx_model *m, hx_model_bf16 **out)
{
    if (!hx_model_bf16_available())
        return HX_ERR(HX_EINVAL, "bf16 forward passes need a CPU with AVX512-BF16; this one has none (run in fp32)");
    const hx_config *c = &m->cfg;
    int L = c->num_hidden_layers, H = c->hidden_size, Q = c->num_attention_heads * c->head_dim;
    int KV = c->num_key_value_heads * c->head_dim, F = c->intermediate_size, V = c->vocab_size;
    size_t per = hx_bf16_packed_len(H, Q) + 2 * hx_bf16_packed_len(H, KV) + hx_bf16_packed_len(Q, H) +
                 2 * hx_bf16_packed_len(H, F) + hx_bf16_packed_len(F, H);
    hx_model_bf16 *p = hx_calloc(1, sizeof *p);
    if (!p) return HX_ENOMEM;
    p->layers = hx_calloc((size_t)L, sizeof *p->layers);
    p->buf = hx_malloc(sizeof(uint16_t) * (per * (size_t)L + hx_bf16_packed_len(H, V)));
    if (!p->layers || !p->buf) {
        hx_model_bf16_free(p);
        return HX_ENOMEM;
    }
    uint16_t *at = p->buf;
#define PACK(dst, W, in, out) (hx_bf16_pack(at, (W), (in), (out)), (dst) = at, at += hx_bf16_packed_len((in), (out)))
    for (int l = 0; l < L; l++) {
        const hx_layer *w = &m->layers[l];
        hx_layer_bf16 *b = &p->layers[l];
        PACK(b->q_proj, w->q_proj, H, Q);
        PACK(b->k_proj, w->k_proj, H, KV);
        PACK(b->v_proj, w->v_proj, H, KV);
        PACK(b->o_proj, w->o_proj, Q, H);
        PACK(b->gate_proj, w->gate_proj, H, F);
        PACK(b->up_proj, w->up_proj, H, F);
        PACK(b->down_proj, w->down_proj, F, H);
    }
    PACK(p->lm_head, m->lm_head, H, V);
#undef PACK
    *out = p;
    return HX_OK;
}

void hx_model_bf16_free(hx_model_bf16 *p)
{
    if (!p) return;
    free(p->layers);
    free(p->buf);
    free(p);
}
