/* Intermediate-state distillation: state capture, the shared map, the loss
 * with its injected gradients, and the map's checkpoint file (kd_is.h). */
#include "train/kd_is.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "model/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_layer(const hx_kd_pair *p, int i, int layer, int L, const char *who)
{
    if (p->state == HX_KD_EMBEDDING || (layer >= 0 && layer < L)) return HX_OK;
    return HX_ERR(HX_EINVAL, "kd intermediate pair %d (%s): %s_layer %d outside [0, %d)", i,
                  hx_kd_state_name(p->state), who, layer, L);
}

int hx_kd_is_init(hx_kd_is *is, const hx_kd_pair *pairs, int n, const hx_config *student, const hx_config *teacher,
                  int N, const hx_adamw_config *adamw, uint64_t seed)
{
    memset(is, 0, sizeof *is);
    if (n < 1) return HX_ERR(HX_EINVAL, "kd intermediate: no state pairs");
    for (int i = 0; i < n; i++) {
        if ((unsigned)pairs[i].state > HX_KD_MLP_INPUT)
            return HX_ERR(HX_EINVAL, "kd intermediate pair %d: unknown state kind %d", i, (int)pairs[i].state);
        HX_TRY(check_layer(&pairs[i], i, pairs[i].teacher_layer, teacher->num_hidden_layers, "teacher"));
        HX_TRY(check_layer(&pairs[i], i, pairs[i].student_layer, student->num_hidden_layers, "student"));
    }
    is->n = n;
    is->ds = student->hidden_size;
    is->dt = teacher->hidden_size;
    is->N = N;
    is->Ls = student->num_hidden_layers;
    is->Lt = teacher->num_hidden_layers;
    size_t wn = (size_t)is->dt * is->ds, sn = (size_t)N * is->ds;
    is->pairs = hx_malloc(sizeof *pairs * (size_t)n);
    is->W = hx_malloc(sizeof(float) * wn);
    is->dW = hx_calloc(wn, sizeof(float));
    is->dW_micro = hx_malloc(sizeof(float) * wn);
    is->t_state = hx_calloc((size_t)n, sizeof(float *));
    is->d_attn = hx_calloc((size_t)is->Ls, sizeof(float *));
    is->d_mlp = hx_calloc((size_t)is->Ls, sizeof(float *));
    if (!is->pairs || !is->W || !is->dW || !is->dW_micro || !is->t_state || !is->d_attn || !is->d_mlp) goto oom;
    memcpy(is->pairs, pairs, sizeof *pairs * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (!(is->t_state[i] = hx_malloc(sizeof(float) * (size_t)N * is->dt))) goto oom;
        /* the student buffer this pair's gradient goes into */
        const hx_kd_pair *p = &pairs[i];
        float **slot = p->state == HX_KD_EMBEDDING            ? &is->d_attn[0]
                       : p->state == HX_KD_MLP_INPUT          ? &is->d_mlp[p->student_layer]
                       : p->student_layer + 1 < is->Ls        ? &is->d_attn[p->student_layer + 1]
                                                              : &is->d_final;
        if (!*slot && !(*slot = hx_malloc(sizeof(float) * sn))) goto oom;
    }
    is->inject = (hx_state_grads){is->d_attn, is->d_mlp, is->d_final};
    if (is->ds == is->dt) {
        memset(is->W, 0, sizeof(float) * wn);
        for (int j = 0; j < is->ds; j++) is->W[(size_t)j * is->ds + j] = 1.0f;
    } else {
        hx_rng g;
        hx_rng_seed(&g, seed ^ 0x4b446d6170ULL);
        double sd = 1.0 / sqrt((double)is->ds);
        for (size_t k = 0; k < wn; k++) is->W[k] = (float)(sd * hx_rng_normal(&g));
    }
    int rc = hx_adamw_init_flat(&is->opt, adamw, wn, 1);
    if (rc < 0) hx_kd_is_free(is);
    return rc;
oom:
    hx_kd_is_free(is);
    return HX_ENOMEM;
}

void hx_kd_is_free(hx_kd_is *is)
{
    for (int i = 0; is->t_state && i < is->n; i++) free(is->t_state[i]);
    for (int l = 0; l < is->Ls; l++) {
        if (is->d_attn) free(is->d_attn[l]);
        if (is->d_mlp) free(is->d_mlp[l]);
    }
    free(is->t_state);
    free(is->d_attn);
    free(is->d_mlp);
    free(is->d_final);
    free(is->pairs);
    free(is->W);
    free(is->dW);
    free(is->dW_micro);
    hx_adamw_free(&is->opt);
    memset(is, 0, sizeof *is);
}

int hx_kd_is_capture(void *ctx, int layer, const hx_layer_acts *acts, const hx_workspace *ws)
{
    hx_kd_is *is = ctx;
    (void)ws;
    size_t bytes = sizeof(float) * (size_t)is->N * is->dt;
    for (int i = 0; i < is->n; i++) {
        const hx_kd_pair *p = &is->pairs[i];
        const float *src = NULL;
        if (p->state == HX_KD_EMBEDDING && layer == 0) src = acts->attn_norm;
        else if (p->state == HX_KD_MLP_INPUT && layer == p->teacher_layer) src = acts->mlp_norm;
        else if (p->state == HX_KD_BLOCK_OUTPUT && layer == p->teacher_layer + 1) src = acts->attn_norm;
        if (src) memcpy(is->t_state[i], src, bytes);
    }
    return HX_OK;
}

void hx_kd_is_capture_final(hx_kd_is *is, const hx_workspace *teacher_ws)
{
    for (int i = 0; i < is->n; i++)
        if (is->pairs[i].state == HX_KD_BLOCK_OUTPUT && is->pairs[i].teacher_layer == is->Lt - 1)
            memcpy(is->t_state[i], teacher_ws->final_norm, sizeof(float) * (size_t)is->N * is->dt);
}

/* The student's state of pair p in a HX_WS_TRAIN workspace, and its gradient buffer. */
static const float *student_state(const hx_kd_is *is, const hx_kd_pair *p, const hx_workspace *ws, float **grad)
{
    int l = p->student_layer;
    if (p->state == HX_KD_EMBEDDING) {
        *grad = is->d_attn[0];
        return ws->layers[0].attn_norm;
    }
    if (p->state == HX_KD_MLP_INPUT) {
        *grad = is->d_mlp[l];
        return ws->layers[l].mlp_norm;
    }
    if (l + 1 < is->Ls) {
        *grad = is->d_attn[l + 1];
        return ws->layers[l + 1].attn_norm;
    }
    *grad = is->d_final;
    return ws->final_norm;
}

static void scale(float *x, size_t n, float a)
{
    for (size_t i = 0; i < n; i++) x[i] *= a;
}

int hx_kd_is_micro(hx_kd_is *is, const hx_workspace *sws, const uint8_t *mask, int alpha_const, double alpha_value,
                   double kd_sum, double *is_sum, double *alpha)
{
    size_t sn = (size_t)is->N * is->ds, wn = (size_t)is->dt * is->ds;
    for (int l = 0; l < is->Ls; l++) {
        if (is->d_attn[l]) memset(is->d_attn[l], 0, sizeof(float) * sn);
        if (is->d_mlp[l]) memset(is->d_mlp[l], 0, sizeof(float) * sn);
    }
    if (is->d_final) memset(is->d_final, 0, sizeof(float) * sn);
    memset(is->dW_micro, 0, sizeof(float) * wn);
    double sum = 0;
    for (int i = 0; i < is->n; i++) {
        float *grad;
        const float *hs = student_state(is, &is->pairs[i], sws, &grad);
        double s = hx_kd_cosine_loss(hs, is->ds, is->W, is->t_state[i], is->dt, is->N, mask, 1.0, grad,
                                     is->dW_micro, 1.0f);
        if (isnan(s)) return HX_ERR(HX_ENOMEM, "kd intermediate: out of memory");
        sum += s;
    }
    double a = alpha_const ? alpha_value : hx_kd_alpha(kd_sum, sum);
    float af = (float)a;
    for (int l = 0; l < is->Ls; l++) {
        if (is->d_attn[l]) scale(is->d_attn[l], sn, af);
        if (is->d_mlp[l]) scale(is->d_mlp[l], sn, af);
    }
    if (is->d_final) scale(is->d_final, sn, af);
    for (size_t k = 0; k < wn; k++) is->dW[k] += af * is->dW_micro[k];
    *is_sum = sum;
    *alpha = a;
    return HX_OK;
}

static const char *const map_names[3] = {"kd_map.weight", "kd_map.weight.exp_avg", "kd_map.weight.exp_avg_sq"};

int hx_kd_is_save(const hx_kd_is *is, const char *dir)
{
    const float *src[3] = {is->W, is->opt.m, is->opt.v};
    hx_st_entry e[3];
    for (int k = 0; k < 3; k++)
        e[k] = (hx_st_entry){.name = map_names[k], .data = src[k], .src = HX_DT_F32, .dtype = HX_DT_F32, .ndim = 2,
                             .shape = {is->dt, is->ds}};
    return hx_st_write(dir, "kd_map", e, 3, 0);
}

int hx_kd_is_load(hx_kd_is *is, const char *dir)
{
    char *path = hx_path_join(dir, "kd_map.safetensors");
    if (!path) return HX_ENOMEM;
    hx_st *st = NULL;
    int rc = hx_st_open(path, &st);
    float *dst[3] = {is->W, is->opt.m, is->opt.v};
    size_t wn = (size_t)is->dt * is->ds;
    for (int k = 0; rc == HX_OK && k < 3; k++) {
        const hx_st_tensor *t = hx_st_find(st, map_names[k]);
        if (!t || t->ndim != 2 || t->shape[0] != is->dt || t->shape[1] != is->ds)
            rc = HX_ERR(HX_EFORMAT, "%s: tensor %s missing or not shaped [%d, %d]", path, map_names[k], is->dt, is->ds);
        else rc = hx_st_read_f32_finite(st, t, dst[k], wn);
    }
    if (st) hx_st_close(st);
    free(path);
    return rc;
}
