/* Token-level cross-entropy with an ignore index and a caller-chosen
 * normalisation count, and the HF causal-LM label shift. */
#include "cpu/ops.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CE_CHUNK 512 /* exps of a row without dlogits, a stack block at a time */

long hx_shift_labels(int32_t *targets, const int32_t *labels, int B, int T, int ignore_index)
{
    long n = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int32_t y = t + 1 < T ? labels[(size_t)b * T + t + 1] : ignore_index;
            targets[(size_t)b * T + t] = y;
            n += y != ignore_index;
        }
    return n;
}

int hx_cross_entropy(const float *logits, const int32_t *targets, int N, int V, int ignore_index, double norm_count,
                     float *dlogits, double *loss_sum)
{
    for (int i = 0; i < N; i++)
        if (targets[i] != ignore_index && (targets[i] < 0 || targets[i] >= V))
            return HX_ERR(HX_EINVAL, "cross_entropy: target %d of row %d outside [0, %d)", (int)targets[i], i, V);
    double *row_loss = hx_malloc(sizeof(double) * (size_t)(N > 0 ? N : 1));
    if (!row_loss) return HX_ENOMEM;
    const float inv_norm = norm_count > 0 ? (float)(1.0 / norm_count) : 0.0f;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *x = logits + (size_t)i * V;
        float *d = dlogits ? dlogits + (size_t)i * V : NULL;
        int y = targets[i];
        if (y == ignore_index) {
            row_loss[i] = 0;
            if (d) memset(d, 0, sizeof(float) * (size_t)V);
            continue;
        }
        float mx = x[0], xy = x[y];
        for (int j = 1; j < V; j++) mx = x[j] > mx ? x[j] : mx;
        double se = 0;
        if (d) { /* one exp per logit: d holds exp(x - max) until it is scaled */
            hx_exp_shifted(d, x, mx, V);
            for (int j = 0; j < V; j++) se += d[j];
            float scale = (float)(1.0 / se) * inv_norm;
            for (int j = 0; j < V; j++) d[j] *= scale;
            d[y] -= inv_norm;
        } else {
            float e[CE_CHUNK];
            for (int j0 = 0; j0 < V; j0 += CE_CHUNK) {
                int n = V - j0 < CE_CHUNK ? V - j0 : CE_CHUNK;
                hx_exp_shifted(e, x + j0, mx, n);
                for (int j = 0; j < n; j++) se += e[j];
            }
        }
        row_loss[i] = mx + log(se) - xy;
    }
    double sum = 0;
    for (int i = 0; i < N; i++) sum += row_loss[i];
    free(row_loss);
    *loss_sum = sum;
    return HX_OK;
}
