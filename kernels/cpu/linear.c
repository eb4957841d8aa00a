/* Linear layers (nn.Linear without bias) as row-block parallel sgemm. */
#include "cpu/gemm.h"
#include "cpu/ops.h"

void hx_linear_fwd(float *y, const float *x, const float *W, int N, int in, int out, float beta)
{
    hx_sgemm_par(CblasNoTrans, CblasTrans, N, out, in, 1.0f, x, in, W, in, beta, y, out);
}

void hx_linear_bwd_input(float *dx, const float *dy, const float *W, int N, int in, int out, float beta)
{
    hx_sgemm_par(CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, W, in, beta, dx, in);
}

void hx_linear_bwd_weight(float *dW, const float *dy, const float *x, int N, int in, int out)
{
    hx_sgemm_par(CblasTrans, CblasNoTrans, out, in, N, 1.0f, dy, out, x, in, 1.0f, dW, in);
}
