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

double hx_kd_logits_loss(const float *student, int Vs, const float *teacher, int Vt, int N, const uint8_t *mask,
                         double tau, int reverse, double norm_count, float *dstudent, float scale)
{
    int V = Vs < Vt ? Vs : Vt;
    double *tok = calloc((size_t)N, sizeof(double));
    if (!tok) return NAN;
    double inv = norm_count > 0 ? 1.0 / norm_count : 0.0;
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        /* per thread: log p_s, log p_t, p_s, p_t */
        double *ls = malloc(sizeof(double) * 4 * (size_t)V), *lt = ls ? ls + V : NULL;
        double *ps = ls ? ls + 2 * (size_t)V : NULL, *pt = ls ? ls + 3 * (size_t)V : NULL;
        failed |= !ls;
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            float *g = dstudent ? dstudent + (size_t)n * Vs : NULL;
            if (!ls || (mask && !mask[n]) || inv == 0.0) {
                if (g) memset(g, 0, sizeof(float) * (size_t)Vs);
                continue;
            }
            /* the row is read whole before g is written, so g may be the student row itself */
            log_softmax(student + (size_t)n * Vs, V, tau, ls, ps);
            log_softmax(teacher + (size_t)n * Vt, V, tau, lt, pt);
            if (g && Vs > V) memset(g + V, 0, sizeof(float) * (size_t)(Vs - V));
            double kl = 0;
            if (!reverse) {
                for (int v = 0; v < V; v++) kl += pt[v] * (lt[v] - ls[v]);
            } else {
                for (int v = 0; v < V; v++) kl += ps[v] * (ls[v] - lt[v]);
            }
            tok[n] = kl * tau * tau;
            if (!g) continue;
            /* d(tau^2 KL)/dz_s = tau * dKL/da with a = z_s / tau. */
            double c = tau * inv * scale;
            if (!reverse) {
                for (int v = 0; v < V; v++) g[v] = (float)(c * (ps[v] - pt[v]));
            } else {
                for (int v = 0; v < V; v++) g[v] = (float)(c * ps[v] * (ls[v] - lt[v] - kl));
            }
        }
        free(ls);
    }
    double sum = 0;
    for (int n = 0; n < N; n++) sum += tok[n];
    free(tok);
    return failed ? NAN : sum * inv;
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

double hx_kd_topk_loss(const float *student, int Vs, const int32_t *ids, const float *vals, const float *lse, int k,
                       int N, const uint8_t *mask, double tau, double norm_count, float *dstudent, float scale)
{
    double *tok = calloc((size_t)N, sizeof(double));
    if (!tok) return NAN;
    double inv = norm_count > 0 ? 1.0 / norm_count : 0.0, itau = 1.0 / tau;
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        double *ls = malloc(sizeof(double) * 2 * (size_t)Vs), *ps = ls ? ls + Vs : NULL;
        failed |= !ls;
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            float *g = dstudent ? dstudent + (size_t)n * Vs : NULL;
            if (!ls || (mask && !mask[n]) || inv == 0.0) {
                if (g) memset(g, 0, sizeof(float) * (size_t)Vs);
                continue;
            }
            log_softmax(student + (size_t)n * Vs, Vs, tau, ls, ps);
            const int32_t *id = ids + (size_t)n * k;
            const float *zt = vals + (size_t)n * k;
            /* buckets: the teacher's k ids, then "the rest" with the remaining mass of each side */
            double pt_in = 0, qs_in = 0, kl = 0;
            for (int i = 0; i < k; i++) {
                double lp = (double)zt[i] * itau - lse[n], p = exp(lp);
                pt_in += p;
                qs_in += ps[id[i]];
                kl += p * (lp - ls[id[i]]);
            }
            double pr = fmax(1.0 - pt_in, 0.0), qr = fmax(1.0 - qs_in, 1e-30);
            if (pr > 0) kl += pr * (log(pr) - log(qr));
            tok[n] = kl * tau * tau;
            if (!g) continue;
            /* d(tau^2 KL)/dz_j = tau * (q_j - target_j): target_j = p_j on the k ids, p_rest q_j / q_rest elsewhere */
            double c = tau * inv * scale, rest = pr / qr;
            for (int v = 0; v < Vs; v++) g[v] = (float)(c * (ps[v] - rest * ps[v]));
            for (int i = 0; i < k; i++) {
                double p = exp((double)zt[i] * itau - lse[n]);
                g[id[i]] = (float)(c * (ps[id[i]] - p));
            }
        }
        free(ls);
    }
    double sum = 0;
    for (int n = 0; n < N; n++) sum += tok[n];
    free(tok);
    return failed ? NAN : sum * inv;
}
