/* CPU mirror of kernels/loss.cu: masked MSE and its gradient, bound penalties, L2 of recurrent
 * weights. Sums are accumulated in double in a fixed order. */
#include "cpu_ops.h"
#include "rn_math.h"

rn_status rn_cpu_mse(rn_backend *be, double *mse, float *dy, const float *y, const float *target,
                     size_t target_stride, const float *mask, size_t mask_stride, int batch,
                     int steps, int channels, float weight) {
    const size_t C = (size_t)channels;
    double msum = 0.0;
    for (int b = 0; b < batch; b++)
        for (int t = 0; t < steps; t++)
            msum += mask ? (double)mask[(size_t)b * mask_stride + t] : 1.0;
    double denom = msum * channels;
    float scale = (float)(2.0 * weight / denom);
    double sum = 0.0;
    for (int b = 0; b < batch; b++) {
        const float *tg = target + (size_t)b * target_stride;
        for (int t = 0; t < steps; t++) {
            float m = mask ? mask[(size_t)b * mask_stride + t] : 1.0f;
            size_t row = ((size_t)b * steps + t) * C;
            for (size_t c = 0; c < C; c++) {
                float diff = y[row + c] - tg[(size_t)t * C + c];
                sum += (double)m * (double)diff * (double)diff;
                dy[row + c] = scale * m * diff;
            }
        }
    }
    *mse += sum / denom;
    return RN_OK;
}

rn_status rn_cpu_bounds(rn_backend *be, double *cost, float *grad, const float *p, const float *lo,
                        const float *hi, size_t n, float weight) {
    double c = 0.0;
    for (size_t i = 0; i < n; i++) {
        c += rn_bound_cost(p[i], lo[i], hi[i]);
        grad[i] += weight * rn_bound_grad(p[i], lo[i], hi[i]);
    }
    *cost += c;
    return RN_OK;
}

rn_status rn_cpu_l2(rn_backend *be, double *cost, float *grad, const float *w, size_t n,
                    float weight) {
    double c = 0.0;
    float scale = (float)(2.0 * weight / (double)n);
    for (size_t i = 0; i < n; i++) {
        c += (double)w[i] * (double)w[i];
        grad[i] += scale * w[i];
    }
    *cost += c / (double)n;
    return RN_OK;
}
