/* CUDA twin of src/cpu/filter.c: one thread per (trial, channel) runs that pair's scan over time,
 * with the CPU's arithmetic (rn_math.h) in the CPU's order. */
#include "cuda_common.cuh"

__global__ static void filter_forward_kernel(float *y, const float *u, const float *tau,
                                             const float *init, int batch, int steps, int channels,
                                             float dt) {
    RN_GRID_STRIDE (k, (size_t)batch * channels) {
        int b = (int)(k / channels), c = (int)(k % channels);
        float p = rn_filter_pole(dt, tau[c]), q = rn_filter_gain(dt, tau[c]);
        float yv = init[c];
        for (int t = 0; t < steps; t++) {
            size_t j = ((size_t)b * steps + t) * channels + c;
            yv = rn_filter_step(yv, p, q, u[j]);
            y[j] = yv;
        }
    }
}

__global__ static void filter_backward_kernel(float *du, float *acc_dp, float *acc_dinit,
                                              const float *g, const float *y, const float *u,
                                              const float *tau, const float *init, int batch,
                                              int steps, int channels, float dt) {
    RN_GRID_STRIDE (k, (size_t)batch * channels) {
        int b = (int)(k / channels), c = (int)(k % channels);
        float p = rn_filter_pole(dt, tau[c]), q = rn_filter_gain(dt, tau[c]);
        float mu = 0.0f, dp = 0.0f;
        for (int t = steps - 1; t >= 0; t--) {
            size_t j = ((size_t)b * steps + t) * channels + c;
            mu = g[j] + p * mu;
            du[j] = q * mu;
            float y_prev = t > 0 ? y[j - channels] : init[c];
            dp += mu * (y_prev - u[j]);
        }
        acc_dp[k] = dp;
        acc_dinit[k] = p * mu;
    }
}

__global__ static void filter_param_grads_kernel(float *dtau, float *dinit, const float *acc_dp,
                                                 const float *acc_dinit, const float *tau,
                                                 int batch, int channels, float dt) {
    RN_GRID_STRIDE (c, (size_t)channels) {
        float sp = 0.0f, si = 0.0f;
        for (int b = 0; b < batch; b++) {
            sp += acc_dp[(size_t)b * channels + c];
            si += acc_dinit[(size_t)b * channels + c];
        }
        if (dtau) dtau[c] += rn_filter_dtau(sp, rn_filter_pole(dt, tau[c]), dt, tau[c]);
        if (dinit) dinit[c] += si;
    }
}

extern "C" rn_status rn_cuda_filter_forward(rn_backend *be, float *y, const float *u,
                                            const float *tau, const float *init, int batch,
                                            int steps, int channels, float dt) {
    size_t total = (size_t)batch * channels;
    if (total == 0 || steps <= 0) return RN_OK;
    filter_forward_kernel<<<rn_blocks(total), RN_THREADS, 0, rn_stream(be)>>>(
        y, u, tau, init, batch, steps, channels, dt);
    return rn_launched(be, "filter_forward");
}

extern "C" rn_status rn_cuda_filter_backward(rn_backend *be, float *du, float *acc_dp,
                                             float *acc_dinit, const float *g, const float *y,
                                             const float *u, const float *tau, const float *init,
                                             int batch, int steps, int channels, float dt) {
    size_t total = (size_t)batch * channels;
    if (total == 0) return RN_OK;
    filter_backward_kernel<<<rn_blocks(total), RN_THREADS, 0, rn_stream(be)>>>(
        du, acc_dp, acc_dinit, g, y, u, tau, init, batch, steps, channels, dt);
    return rn_launched(be, "filter_backward");
}

extern "C" rn_status rn_cuda_filter_param_grads(rn_backend *be, float *dtau, float *dinit,
                                                const float *acc_dp, const float *acc_dinit,
                                                const float *tau, int batch, int channels,
                                                float dt) {
    if (channels <= 0) return RN_OK;
    filter_param_grads_kernel<<<rn_blocks((size_t)channels), RN_THREADS, 0, rn_stream(be)>>>(
        dtau, dinit, acc_dp, acc_dinit, tau, batch, channels, dt);
    return rn_launched(be, "filter_param_grads");
}
