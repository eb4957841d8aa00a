/* Benchmarks of the importance pass and of a knowledge-distillation step
 * against the plain passes they are built from (targets in bench_minitron.h). */
#include "bench/bench_minitron.h"

#include "core/err.h"
#include "core/rng.h"
#include "core/util.h"
#include "cpu/ops.h"
#include "minitron/importance.h"
#include "model/engine.h"
#include "train/kd.h"
#include "model/forward.h"
#include "model/init.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IMP_SAMPLES = 16, IMP_MICRO = 4, SEQ = 256, KD_BATCH = 8 };

static double minimum(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++) m = fmin(m, v[i]);
    return m;
}

static void random_ids(int32_t *ids, size_t n, int V, uint64_t seed)
{
    hx_rng r;
    hx_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) ids[i] = (int32_t)hx_rng_below(&r, (uint64_t)V);
}

/* Seconds of one plain forward pass over all windows with workspace `ws`. */
static int time_forward(const hx_model *m, hx_workspace *ws, const int32_t *win, int32_t *ids, double *out)
{
    double t0 = hx_now();
    for (int s0 = 0; s0 < IMP_SAMPLES; s0 += IMP_MICRO) {
        for (int b = 0; b < IMP_MICRO; b++)
            memcpy(ids + b * SEQ, win + (size_t)(s0 + b) * (SEQ + 1), sizeof(int32_t) * SEQ);
        HX_TRY(hx_forward(m, ws, ids, NULL));
    }
    *out = hx_now() - t0;
    return HX_OK;
}

/* Runs the importance pass and returns its width and depth seconds. */
static int time_importance(const hx_model *m, const int32_t *win, int depth, int bf16, double *width_s,
                           double *depth_s)
{
    hx_importance_opts io = hx_importance_defaults();
    io.micro_batch = IMP_MICRO;
    io.bf16 = bf16;
    if (!depth) {
        io.depth = HX_DEPTH_BI;
        io.depth_loss = 0;
    }
    hx_importance r;
    HX_TRY(hx_importance_run(m, win, IMP_SAMPLES, SEQ, &io, &r));
    *width_s = r.seconds_width;
    *depth_s = r.seconds - r.seconds_width;
    hx_importance_free(&r);
    return HX_OK;
}

int hx_bench_importance(json_t *out, const hx_bench_opts *o)
{
    hx_config cfg = hx_bench_mini_config();
    hx_model m;
    hx_workspace ws = {0};
    HX_TRY(hx_model_alloc(&m, &cfg));
    int32_t *win = hx_malloc(sizeof(int32_t) * IMP_SAMPLES * (SEQ + 1)), *ids = hx_malloc(sizeof(int32_t) * IMP_MICRO * SEQ);
    int rc = win && ids ? HX_OK : HX_ENOMEM;
    if (rc == HX_OK) rc = hx_model_init_random(&m, 1);
    if (rc == HX_OK) rc = hx_workspace_alloc(&ws, &cfg, IMP_MICRO, SEQ, HX_WS_INFER);
    if (rc == HX_OK) random_ids(win, (size_t)IMP_SAMPLES * (SEQ + 1), cfg.vocab_size, 2);
    /* Plain and width passes interleaved; the minimum over repetitions is the
     * least disturbed by other load on the machine. k = 0 warms up. */
    double fwd = INFINITY, width = INFINITY, depth = INFINITY, f, w, d;
    for (int k = 0; k <= o->steps && rc == HX_OK; k++) {
        rc = time_forward(&m, &ws, win, ids, &f);
        if (rc == HX_OK) rc = time_importance(&m, win, 0, 0, &w, &d);
        if (rc == HX_OK && k > 0) fwd = fmin(fwd, f), width = fmin(width, w);
        if (rc == HX_OK && !o->quiet)
            fprintf(stderr, "bench importance: rep %d/%d forward %.3f s, width pass %.3f s\n", k, o->steps, f, w);
    }
    if (rc == HX_OK) rc = time_importance(&m, win, 1, 0, &w, &depth); /* once: L passes */
    double bf16_width = INFINITY;
    for (int k = 0; k <= o->steps && rc == HX_OK && hx_bf16_gemm_available(); k++) { /* the bf16 path */
        rc = time_importance(&m, win, 0, 1, &w, &d);
        if (k > 0) bf16_width = fmin(bf16_width, w);
    }
    if (rc == HX_OK) {
        json_object_set_new(out, "tokens", json_integer(IMP_SAMPLES * SEQ));
        json_object_set_new(out, "forward_seconds", json_real(fwd));
        json_object_set_new(out, "width_seconds", json_real(width));
        json_object_set_new(out, "width_ratio", json_real(width / fwd));
        json_object_set_new(out, "depth_seconds", json_real(depth));
        json_object_set_new(out, "depth_ratio", json_real(depth / fwd));
        if (isfinite(bf16_width)) {
            json_object_set_new(out, "bf16_width_seconds", json_real(bf16_width));
            json_object_set_new(out, "bf16_width_speedup", json_real(width / bf16_width));
        }
    }
    free(win);
    free(ids);
    hx_workspace_free(&ws);
    hx_model_free(&m);
    return rc;
}

typedef struct {
    hx_model t, s, g;
    hx_workspace tws, sws;
    int32_t *ids, *tgt;
    long count;
} kd_bench;

static int kd_setup(kd_bench *k)
{
    memset(k, 0, sizeof *k);
    hx_config tc = hx_bench_mini_config(), sc = tc;
    sc.hidden_size = 128;
    sc.intermediate_size = 384;
    const int N = KD_BATCH * SEQ;
    HX_TRY(hx_model_alloc(&k->t, &tc));
    HX_TRY(hx_model_alloc(&k->s, &sc));
    HX_TRY(hx_model_alloc(&k->g, &sc));
    HX_TRY(hx_model_init_random(&k->t, 1));
    HX_TRY(hx_model_init_random(&k->s, 2));
    HX_TRY(hx_workspace_alloc(&k->tws, &tc, KD_BATCH, SEQ, HX_WS_INFER));
    HX_TRY(hx_workspace_alloc(&k->sws, &sc, KD_BATCH, SEQ, HX_WS_TRAIN));
    k->ids = hx_malloc(sizeof(int32_t) * N);
    k->tgt = hx_malloc(sizeof(int32_t) * N);
    if (!k->ids || !k->tgt) return HX_ENOMEM;
    random_ids(k->ids, (size_t)N, tc.vocab_size, 3);
    k->count = hx_shift_labels(k->tgt, k->ids, KD_BATCH, SEQ, HX_IGNORE_INDEX);
    return HX_OK;
}

static void kd_free(kd_bench *k)
{
    hx_model_free(&k->t);
    hx_model_free(&k->s);
    hx_model_free(&k->g);
    hx_workspace_free(&k->tws);
    hx_workspace_free(&k->sws);
    free(k->ids);
    free(k->tgt);
}

/* One measured phase: 0 = KD step, 1 = student CE step, 2 = teacher forward, 3 = KL alone. */
static int kd_phase(kd_bench *k, int phase, double *sec)
{
    const int N = KD_BATCH * SEQ, V = k->s.cfg.vocab_size;
    double t0 = hx_now(), loss;
    if (phase == 3) {
        loss = hx_kd_logits_loss(k->sws.logits, V, k->tws.logits, V, N, NULL, 1.0, 0, (double)N, k->sws.logits, 1.0f);
        *sec = hx_now() - t0;
        return loss == loss ? HX_OK : HX_ERR(HX_ENOMEM, "kd bench: KL failed");
    }
    if (phase != 1) HX_TRY(hx_forward(&k->t, &k->tws, k->ids, NULL));
    if (phase == 2) {
        *sec = hx_now() - t0;
        return HX_OK;
    }
    memset(k->g.data, 0, sizeof(float) * k->g.n_floats);
    HX_TRY(hx_forward(&k->s, &k->sws, k->ids, NULL));
    if (phase == 0) {
        loss = hx_kd_logits_loss(k->sws.logits, V, k->tws.logits, V, N, NULL, 1.0, 0, (double)N, k->sws.logits, 1.0f);
        if (loss != loss) return HX_ERR(HX_ENOMEM, "kd bench: KL failed");
    } else {
        HX_TRY(hx_cross_entropy(k->sws.logits, k->tgt, N, V, HX_IGNORE_INDEX, (double)k->count, k->sws.logits, &loss));
    }
    HX_TRY(hx_backward(&k->s, &k->sws, k->sws.logits, &k->g));
    *sec = hx_now() - t0;
    return HX_OK;
}

int hx_bench_kd(json_t *out, const hx_bench_opts *o)
{
    kd_bench k;
    int rc = kd_setup(&k);
    double *t[4] = {0};
    for (int p = 0; p < 4 && rc == HX_OK; p++) {
        t[p] = hx_malloc(sizeof(double) * (size_t)o->steps);
        if (!t[p]) rc = HX_ENOMEM;
    }
    /* Phases interleaved per repetition so that drifts in clock speed hit all alike. */
    for (int r = 0; r <= o->steps && rc == HX_OK; r++) {
        for (int p = 0; p < 4 && rc == HX_OK; p++) {
            double s = 0;
            if (p == 3) rc = kd_phase(&k, 2, &s); /* fresh teacher logits for the KL alone */
            if (rc == HX_OK) rc = hx_forward(&k.s, &k.sws, k.ids, NULL);
            if (rc == HX_OK) rc = kd_phase(&k, p, &s);
            if (rc == HX_OK && r > 0) t[p][r - 1] = s;
        }
        if (rc == HX_OK && !o->quiet && r > 0)
            fprintf(stderr, "bench kd: rep %d/%d kd %.3f s, student %.3f s, teacher %.3f s, kl %.3f s\n", r, o->steps,
                    t[0][r - 1], t[1][r - 1], t[2][r - 1], t[3][r - 1]);
    }
    if (rc == HX_OK) {
        double kd = minimum(t[0], o->steps), st = minimum(t[1], o->steps), te = minimum(t[2], o->steps);
        json_object_set_new(out, "kd_step_seconds", json_real(kd));
        json_object_set_new(out, "student_step_seconds", json_real(st));
        json_object_set_new(out, "teacher_forward_seconds", json_real(te));
        json_object_set_new(out, "kl_seconds", json_real(minimum(t[3], o->steps)));
        json_object_set_new(out, "kd_ratio", json_real(kd / (st + te)));
    }
    hx_model_bf16 *pk = NULL;
    if (rc == HX_OK && hx_bf16_gemm_available() && (rc = hx_model_bf16_pack(&k.t, &pk)) == HX_OK) {
        k.t.bf16 = pk; /* the teacher's forwards in bf16 (kd.teacher_bf16) */
        double kd = INFINITY, te = INFINITY, s = 0;
        for (int r = 0; r <= o->steps && rc == HX_OK; r++) {
            rc = kd_phase(&k, 0, &s);
            if (rc == HX_OK && r > 0) kd = fmin(kd, s);
            if (rc == HX_OK) rc = kd_phase(&k, 2, &s);
            if (rc == HX_OK && r > 0) te = fmin(te, s);
        }
        if (rc == HX_OK) {
            json_object_set_new(out, "bf16_kd_step_seconds", json_real(kd));
            json_object_set_new(out, "bf16_teacher_forward_seconds", json_real(te));
            json_object_set_new(out, "bf16_kd_step_speedup", json_real(minimum(t[0], o->steps) / kd));
            json_object_set_new(out, "bf16_teacher_forward_speedup", json_real(minimum(t[2], o->steps) / te));
        }
        k.t.bf16 = NULL;
        hx_model_bf16_free(pk);
    }
    for (int p = 0; p < 4; p++) free(t[p]);
    kd_free(&k);
    return rc;
}
