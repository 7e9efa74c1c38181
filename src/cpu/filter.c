/* CPU mirror of kernels/filter.cu: the first-order ZOH synaptic stage, forward scan, backward scan
 * and the per-channel parameter-gradient reduction. One (b, c) pair is one independent scan over
 * time. */
#include "cpu_ops.h"
#include "rn_math.h"

rn_status rn_cpu_filter_forward(rn_backend *be, float *y, const float *u, const float *tau,
                                const float *init, const float *prev, int batch, int steps,
                                int channels, float dt) {
    const long long pairs = (long long)batch * channels;
    for (long long k = 0; k < pairs; k++)
        rn_filter_scan_forward(y, u, tau, init, prev, (int)(k / channels), (int)(k % channels),
                               steps, channels, dt);
    return RN_OK;
}

rn_status rn_cpu_filter_backward(rn_backend *be, float *du, float *acc_dp, float *acc_dinit,
                                 float *mu, const float *g, const float *y, const float *u,
                                 const float *tau, const float *init, const float *prev, int batch,
                                 int steps, int channels, float dt) {
    const long long pairs = (long long)batch * channels;
    for (long long k = 0; k < pairs; k++)
        rn_filter_scan_backward(du, acc_dp, acc_dinit, mu, g, y, u, tau, init, prev,
                                (int)(k / channels), (int)(k % channels), steps, channels, dt);
    return RN_OK;
}

rn_status rn_cpu_filter_param_grads(rn_backend *be, float *dtau, float *dinit, const float *acc_dp,
                                    const float *acc_dinit, const float *tau, int batch,
                                    int channels, float dt) {
    for (int c = 0; c < channels; c++)
        rn_filter_param_grad(c, batch, channels, dtau, dinit, acc_dp, acc_dinit, tau, dt);
    return RN_OK;
}
