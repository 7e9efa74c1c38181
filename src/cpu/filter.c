/* CPU mirror of kernels/filter.cu: the first-order ZOH synaptic stage, forward scan, backward scan
 * and the per-channel parameter-gradient reduction. One (b, c) pair is one independent scan over
 * time. */
#include "cpu_ops.h"
#include "rn_math.h"

rn_status rn_cpu_filter_forward(rn_backend *be, float *y, const float *u, const float *tau,
                                const float *init, int batch, int steps, int channels, float dt) {
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < channels; c++) {
            float p = rn_filter_pole(dt, tau[c]), q = rn_filter_gain(dt, tau[c]);
            float yv = init[c];
            for (int t = 0; t < steps; t++) {
                size_t k = ((size_t)b * steps + t) * channels + c;
                yv = rn_filter_step(yv, p, q, u[k]);
                y[k] = yv;
            }
        }
    return RN_OK;
}

rn_status rn_cpu_filter_backward(rn_backend *be, float *du, float *acc_dp, float *acc_dinit,
                                 const float *g, const float *y, const float *u, const float *tau,
                                 const float *init, int batch, int steps, int channels, float dt) {
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < channels; c++) {
            float p = rn_filter_pole(dt, tau[c]), q = rn_filter_gain(dt, tau[c]);
            float mu = 0.0f, dp = 0.0f;
            for (int t = steps - 1; t >= 0; t--) {
                size_t k = ((size_t)b * steps + t) * channels + c;
                mu = g[k] + p * mu;
                du[k] = q * mu;
                float y_prev = t > 0 ? y[k - channels] : init[c];
                dp += mu * (y_prev - u[k]);
            }
            acc_dp[(size_t)b * channels + c] = dp;
            acc_dinit[(size_t)b * channels + c] = p * mu;
        }
    return RN_OK;
}

rn_status rn_cpu_filter_param_grads(rn_backend *be, float *dtau, float *dinit, const float *acc_dp,
                                    const float *acc_dinit, const float *tau, int batch,
                                    int channels, float dt) {
    for (int c = 0; c < channels; c++) {
        float sp = 0.0f, si = 0.0f;
        for (int b = 0; b < batch; b++) {
            sp += acc_dp[(size_t)b * channels + c];
            si += acc_dinit[(size_t)b * channels + c];
        }
        if (dtau) dtau[c] += rn_filter_dtau(sp, rn_filter_pole(dt, tau[c]), dt, tau[c]);
        if (dinit) dinit[c] += si;
    }
    return RN_OK;
}
