/* Token embedding lookup and its scatter-add backward. */
#include "cpu/ops.h"

#include <omp.h>
#include <string.h>

void hx_embedding_fwd(float *out, const float *table, const int32_t *ids, int N, int H)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) memcpy(out + (size_t)i * H, table + (size_t)ids[i] * H, sizeof(float) * (size_t)H);
}

void hx_embedding_bwd(float *dtable, const float *dout, const int32_t *ids, int N, int H)
{
    /* Each thread owns a fixed range of columns and walks all tokens in
     * order, so repeated ids never race and sums keep token order. */
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int j0 = (int)((long)H * t / nt), j1 = (int)((long)H * (t + 1) / nt);
        for (int i = 0; i < N; i++) {
            float *d = dtable + (size_t)ids[i] * H;
            const float *g = dout + (size_t)i * H;
            for (int j = j0; j < j1; j++) d[j] += g[j];
        }
    }
}
