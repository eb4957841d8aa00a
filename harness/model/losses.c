/* The CPU backend's losses (model/engine.h): cross-entropy through the CPU
 * kernel, and the distillation losses (KL divergence of logits at
 * temperature tau, cosine of hidden states through a learned map) with their
 * analytic gradients. */
#include "model/engine.h"

#include "cpu/ops.h" // defines: hx_cross_entropy

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int hx_lm_loss(const float *logits, const int32_t *targets, int N, int V, int ignore_index, double norm_count,
               float *dlogits, double *loss_sum)
{
    return hx_cross_entropy(logits, targets, N, V, ignore_index, norm_count, dlogits, loss_sum);
}

/* log-softmax of z[0..V)/tau into logp and its exponent (the softmax) into p,
 * both double, with one exp per element. The exponential is taken in single
 * precision (expf, about 4x cheaper than exp, relative error ~1e-7 on values
 * in (0, 1]); the shift, the normaliser and the outputs stay in double. */
static void log_softmax(const float *z, int V, double tau, double *logp, double *p)
{
    double mx = -INFINITY, itau = 1.0 / tau;
    for (int v = 0; v < V; v++) mx = fmax(mx, (double)z[v] * itau);
    double s = 0;
    for (int v = 0; v < V; v++) {
        logp[v] = (double)z[v] * itau - mx;
        p[v] = (double)expf((float)logp[v]);
        s += p[v];
    }
    double ls = log(s), is = 1.0 / s;
    for (int v = 0; v < V; v++) {
        logp[v] -= ls;
        p[v] *= is;
    }
}

/* One token's logit-distillation loss: returns tau^2 KL of row n (nats) and,
 * with g not NULL, writes d(loss)/d(student row) scaled by c = tau * scale /
 * norm_count into g[0..Vs). `scratch` holds 4 * Vs doubles of this thread. */
typedef double (*kd_row_fn)(const void *ctx, int n, double *scratch, float *g, double c);

/* The shared frame of the KD losses: rows split over threads, masked rows
 * (and every row when norm_count <= 0) get zero loss and zero gradient, the
 * per-token losses summed in row order (deterministic for a thread count).
 * Returns sum / norm_count, NAN on allocation failure. */
static double kd_rows(int N, int Vs, const uint8_t *mask, double tau, double norm_count, float *dstudent, float scale,
                      kd_row_fn row, const void *ctx)
{
    double *tok = calloc((size_t)N, sizeof(double));
    if (!tok) return NAN;
    double inv = norm_count > 0 ? 1.0 / norm_count : 0.0, c = tau * inv * scale;
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        double *scratch = malloc(sizeof(double) * 4 * (size_t)Vs);
        failed |= !scratch;
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            float *g = dstudent ? dstudent + (size_t)n * Vs : NULL;
            if (!scratch || (mask && !mask[n]) || inv == 0.0) {
                if (g) memset(g, 0, sizeof(float) * (size_t)Vs);
                continue;
            }
            tok[n] = row(ctx, n, scratch, g, c);
        }
        free(scratch);
    }
    double sum = 0;
    for (int n = 0; n < N; n++) sum += tok[n];
    free(tok);
    return failed ? NAN : sum * inv;
}

typedef struct {
    const float *student, *teacher;
    int Vs, Vt, reverse;
    double tau;
} full_ctx;

static double full_row(const void *ctx, int n, double *scratch, float *g, double c)
{
    const full_ctx *k = ctx;
    int V = k->Vs < k->Vt ? k->Vs : k->Vt;
    double *ls = scratch, *lt = ls + V, *ps = ls + 2 * (size_t)V, *pt = ls + 3 * (size_t)V;
    /* the row is read whole before g is written, so g may be the student row itself */
    log_softmax(k->student + (size_t)n * k->Vs, V, k->tau, ls, ps);
    log_softmax(k->teacher + (size_t)n * k->Vt, V, k->tau, lt, pt);
    if (g && k->Vs > V) memset(g + V, 0, sizeof(float) * (size_t)(k->Vs - V));
    double kl = 0;
    if (!k->reverse) {
        for (int v = 0; v < V; v++) kl += pt[v] * (lt[v] - ls[v]);
    } else {
        for (int v = 0; v < V; v++) kl += ps[v] * (ls[v] - lt[v]);
    }
    if (g && !k->reverse) /* d(tau^2 KL)/dz_s = tau * dKL/da with a = z_s / tau */
        for (int v = 0; v < V; v++) g[v] = (float)(c * (ps[v] - pt[v]));
    else if (g)
        for (int v = 0; v < V; v++) g[v] = (float)(c * ps[v] * (ls[v] - lt[v] - kl));
    return kl * k->tau * k->tau;
}

double hx_kd_logits_loss(const float *student, int Vs, const float *teacher, int Vt, int N, const uint8_t *mask,
                         double tau, int reverse, double norm_count, float *dstudent, float scale)
{
    full_ctx k = {student, teacher, Vs, Vt, reverse, tau};
    return kd_rows(N, Vs, mask, tau, norm_count, dstudent, scale, full_row, &k);
}

double hx_kd_cosine_loss(const float *h_s, int ds, const float *W, const float *h_t, int dt, int N,
                         const uint8_t *mask, double norm_count, float *dh_s, float *dW, float scale)
{
    float *u = malloc(sizeof(float) * (size_t)N * dt);
    float *du = malloc(sizeof(float) * (size_t)N * dt);
    double *tok = calloc((size_t)N, sizeof(double));
    if (!u || !du || !tok) {
        free(u);
        free(du);
        free(tok);
        return NAN;
    }
    double inv = norm_count > 0 ? 1.0 / norm_count : 0.0;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, dt, ds, 1.0f, h_s, ds, W, ds, 0.0f, u, dt);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *un = u + (size_t)n * dt, *tn = h_t + (size_t)n * dt;
        float *dn = du + (size_t)n * dt;
        if ((mask && !mask[n]) || inv == 0.0) {
            memset(dn, 0, sizeof(float) * (size_t)dt);
            continue;
        }
        double uu = 0, tt = 0, ut = 0;
        for (int j = 0; j < dt; j++) {
            uu += (double)un[j] * un[j];
            tt += (double)tn[j] * tn[j];
            ut += (double)un[j] * tn[j];
        }
        double nu = fmax(sqrt(uu), 1e-8), nt = fmax(sqrt(tt), 1e-8), cosv = ut / (nu * nt);
        tok[n] = 1.0 - cosv;
        /* d(1 - cos)/du = -(t / (|u||t|) - cos * u / |u|^2) */
        for (int j = 0; j < dt; j++)
            dn[j] = (float)(-(tn[j] / (nu * nt) - cosv * un[j] / (nu * nu)) * inv * scale);
    }
    if (dh_s) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, ds, dt, 1.0f, du, dt, W, ds, 1.0f, dh_s, ds);
    if (dW) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dt, ds, N, 1.0f, du, dt, h_s, ds, 1.0f, dW, ds);
    double sum = 0;
    for (int n = 0; n < N; n++) sum += tok[n];
    free(u);
    free(du);
    free(tok);
    return sum * inv;
}

/* The k largest of z[0..V) (ties to the lower id), written to ids/vals in
 * descending order: a partial insertion sort, O(V k) worst case and about
 * O(V) on logits (most values fall below the current k-th). */
static void top_k(const float *z, int V, int k, int32_t *ids, float *vals)
{
    int n = 0;
    for (int v = 0; v < V; v++) {
        if (n == k && z[v] <= vals[k - 1]) continue;
        int i = n < k ? n++ : k - 1;
        while (i > 0 && vals[i - 1] < z[v]) {
            vals[i] = vals[i - 1];
            ids[i] = ids[i - 1];
            i--;
        }
        vals[i] = z[v];
        ids[i] = v;
    }
}

int hx_kd_topk_extract(const float *teacher, int Vt, int V, int N, int k, double tau, int32_t *ids, float *vals,
                       float *lse)
{
    if (k < 1 || k > V || V > Vt) return -1;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *z = teacher + (size_t)n * Vt;
        top_k(z, V, k, ids + (size_t)n * k, vals + (size_t)n * k);
        double mx = -INFINITY, s = 0, itau = 1.0 / tau;
        for (int v = 0; v < V; v++) mx = fmax(mx, (double)z[v] * itau);
        for (int v = 0; v < V; v++) s += exp((double)z[v] * itau - mx);
        lse[n] = (float)(mx + log(s));
    }
    return 0;
}

typedef struct {
    const float *student, *vals, *lse;
    const int32_t *ids;
    int Vs, k;
    double tau;
} topk_ctx;

static double topk_row(const void *ctx, int n, double *scratch, float *g, double c)
{
    const topk_ctx *t = ctx;
    double *ls = scratch, *ps = scratch + t->Vs, itau = 1.0 / t->tau;
    log_softmax(t->student + (size_t)n * t->Vs, t->Vs, t->tau, ls, ps);
    const int32_t *id = t->ids + (size_t)n * t->k;
    const float *zt = t->vals + (size_t)n * t->k;
    /* buckets: the teacher's k ids, then "the rest" with the remaining mass of each side */
    double pt_in = 0, qs_in = 0, kl = 0;
    for (int i = 0; i < t->k; i++) {
        double lp = (double)zt[i] * itau - t->lse[n], p = exp(lp);
        pt_in += p;
        qs_in += ps[id[i]];
        kl += p * (lp - ls[id[i]]);
    }
    double pr = fmax(1.0 - pt_in, 0.0), qr = fmax(1.0 - qs_in, 1e-30);
    if (pr > 0) kl += pr * (log(pr) - log(qr));
    if (g) { /* tau * (q_j - target_j): target_j = p_j on the k ids, p_rest q_j / q_rest elsewhere */
        double rest = pr / qr;
        for (int v = 0; v < t->Vs; v++) g[v] = (float)(c * (ps[v] - rest * ps[v]));
        for (int i = 0; i < t->k; i++) g[id[i]] = (float)(c * (ps[id[i]] - exp((double)zt[i] * itau - t->lse[n])));
    }
    return kl * t->tau * t->tau;
}

double hx_kd_topk_loss(const float *student, int Vs, const int32_t *ids, const float *vals, const float *lse, int k,
                       int N, const uint8_t *mask, double tau, double norm_count, float *dstudent, float scale)
{
    topk_ctx t = {student, vals, lse, ids, Vs, k, tau};
    return kd_rows(N, Vs, mask, tau, norm_count, dstudent, scale, topk_row, &t);
}
