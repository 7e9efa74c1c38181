/* CUDA twin of src/cpu/filter.c: one thread per (trial, channel) runs that pair's scan over time,
 * with the CPU's arithmetic (rn_math.h) in the CPU's order. */
#include "cuda_common.cuh"

__global__ static void filter_forward_kernel(float *y, const float *u, const float *tau,
                                             const float *init, const float *prev, int batch,
                                             int steps, int channels, float dt) {
    RN_GRID_STRIDE (k, (size_t)batch * channels)
        rn_filter_scan_forward(y, u, tau, init, prev, (int)(k / channels), (int)(k % channels),
                               steps, channels, dt);
}

__global__ static void filter_backward_kernel(float *du, float *acc_dp, float *acc_dinit, float *mu,
                                              const float *g, const float *y, const float *u,
                                              const float *tau, const float *init,
                                              const float *prev, int batch, int steps, int channels,
                                              float dt) {
    RN_GRID_STRIDE (k, (size_t)batch * channels)
        rn_filter_scan_backward(du, acc_dp, acc_dinit, mu, g, y, u, tau, init, prev,
                                (int)(k / channels), (int)(k % channels), steps, channels, dt);
}

__global__ static void filter_param_grads_kernel(float *dtau, float *dinit, const float *acc_dp,
                                                 const float *acc_dinit, const float *tau,
                                                 int batch, int channels, float dt) {
    RN_GRID_STRIDE (c, (size_t)channels)
        rn_filter_param_grad((int)c, batch, channels, dtau, dinit, acc_dp, acc_dinit, tau, dt);
}

extern "C" rn_status rn_cuda_filter_forward(rn_backend *be, float *y, const float *u,
                                            const float *tau, const float *init, const float *prev,
                                            int batch, int steps, int channels, float dt) {
    size_t total = (size_t)batch * channels;
    if (total == 0 || steps <= 0) return RN_OK;
    filter_forward_kernel<<<rn_blocks(be, total), rn_threads(be), 0, rn_stream(be)>>>(
        y, u, tau, init, prev, batch, steps, channels, dt);
    return rn_launched(be, "filter_forward");
}

extern "C" rn_status rn_cuda_filter_backward(rn_backend *be, float *du, float *acc_dp,
                                             float *acc_dinit, float *mu, const float *g,
                                             const float *y, const float *u, const float *tau,
                                             const float *init, const float *prev, int batch,
                                             int steps, int channels, float dt) {
    size_t total = (size_t)batch * channels;
    if (total == 0) return RN_OK;
    filter_backward_kernel<<<rn_blocks(be, total), rn_threads(be), 0, rn_stream(be)>>>(
        du, acc_dp, acc_dinit, mu, g, y, u, tau, init, prev, batch, steps, channels, dt);
    return rn_launched(be, "filter_backward");
}

extern "C" rn_status rn_cuda_filter_param_grads(rn_backend *be, float *dtau, float *dinit,
                                                const float *acc_dp, const float *acc_dinit,
                                                const float *tau, int batch, int channels,
                                                float dt) {
    if (channels <= 0) return RN_OK;
    filter_param_grads_kernel<<<rn_blocks(be, (size_t)channels), rn_threads(be), 0,
                                rn_stream(be)>>>(dtau, dinit, acc_dp, acc_dinit, tau, batch,
                                                 channels, dt);
    return rn_launched(be, "filter_param_grads");
}
