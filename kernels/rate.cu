/* CUDA twin of src/cpu/rate.c: the fused rate-neuron Euler step with noise, the fused adjoint step
 * and the per-neuron parameter-gradient reductions. The per-element arithmetic is rn_math.h's, as
 * on the CPU.
 *
 * Noise: rate_noise.cuh's rn_rate_noise4 (cuRAND's Philox at SPEC §6's counter, the CPU's
 * Box-Muller: cuRAND's device Box-Muller uses __sincosf, which would not match the CPU), shared
 * with the persistent kernels of rate_seq.cu. */
#include "cuda_common.cuh"
#include "rate_noise.cuh"

/* One thread per (trial, block of four neurons): one Philox call serves four neurons. */
__global__ static void rate_forward_kernel(float *x, float *out, const float *x_prev,
                                           const float *in, const float *rec, const float *tau,
                                           const float *bias, const float *theta, rn_rate_step s) {
    int quads = (s.n + 3) / 4;
    size_t total = (size_t)s.batch * quads;
    RN_GRID_STRIDE (k, total) {
        int b = (int)(k / quads), q = (int)(k % quads);
        float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (s.noise_scale != 0.0f) /* the epoch is in device memory: set before each epoch */
            rn_rate_noise4(s.seed, *s.epoch, s.layer, b, s.t, q, quads, z);
        for (int lane = 0; lane < 4 && 4 * q + lane < s.n; lane++)
            rn_rate_forward_elem(b, 4 * q + lane, s.ld, s.ld_prev, s.activation, s.dt,
                                 s.noise_scale * z[lane], x, out, x_prev, in, rec, tau, bias,
                                 theta);
    }
}

__global__ static void rate_init_kernel(float *x_init, float *a_init, const float *x0,
                                        const float *theta, int activation, int batch, int n) {
    RN_GRID_STRIDE (k, (size_t)batch * n) {
        int i = (int)(k % (size_t)n);
        x_init[k] = x0[i];
        a_init[k] = rn_act(activation, x0[i] - theta[i]);
    }
}

__global__ static void rate_backward_kernel(float *lam, float *e, float *acc_tau, float *acc_bias,
                                            float *acc_theta, const float *g, const float *d,
                                            const float *x, const float *a, const float *x_prev,
                                            const float *tau, const float *theta, rn_rate_step s) {
    RN_GRID_STRIDE (k, (size_t)s.batch * s.n)
        rn_rate_backward_elem((int)(k / s.n), (int)(k % s.n), s.n, s.ld, s.ld_prev, s.activation,
                              s.dt, lam, e, acc_tau, acc_bias, acc_theta, g, d, x, a, x_prev, tau,
                              theta);
}

__global__ static void rate_backward_init_kernel(float *lam, float *acc_theta, const float *d,
                                                 const float *x0, const float *tau,
                                                 const float *theta, rn_rate_step s) {
    RN_GRID_STRIDE (k, (size_t)s.batch * s.n)
        rn_rate_backward_init_elem((int)(k / s.n), (int)(k % s.n), s.n, s.activation, s.dt, lam,
                                   acc_theta, d, x0, tau, theta);
}

/* One thread per neuron, summing over b in the CPU's order: bit-identical to the mirror. */
__global__ static void rate_param_grads_kernel(float *dtau, float *dbias, float *dtheta, float *dx0,
                                               const float *acc_tau, const float *acc_bias,
                                               const float *acc_theta, const float *lam,
                                               const float *tau, int batch, int n) {
    RN_GRID_STRIDE (i, (size_t)n)
        rn_rate_param_grad((int)i, batch, n, dtau, dbias, dtheta, dx0, acc_tau, acc_bias, acc_theta,
                           lam, tau);
}

__global__ static void shift_rows_kernel(float *dst, const float *src, int src_steps,
                                         const float *first, int batch, int steps, int n) {
    size_t per = (size_t)steps * n, src_per = (size_t)src_steps * n;
    RN_GRID_STRIDE (k, (size_t)batch * per) {
        size_t b = k / per, j = k % per;
        dst[k] = j < (size_t)n ? first[b * n + j] : src[b * src_per + j - n];
    }
}

extern "C" rn_status rn_cuda_rate_init(rn_backend *be, float *x_init, float *a_init,
                                       const float *x0, const float *theta, int activation,
                                       int batch, int n) {
    size_t total = (size_t)batch * n;
    if (total == 0) return RN_OK;
    rate_init_kernel<<<rn_blocks(be, total), rn_threads(be), 0, rn_stream(be)>>>(
        x_init, a_init, x0, theta, activation, batch, n);
    return rn_launched(be, "rate_init");
}

extern "C" rn_status rn_cuda_rate_forward_step(rn_backend *be, float *x, float *out,
                                               const float *x_prev, const float *in,
                                               const float *rec, const float *tau,
                                               const float *bias, const float *theta,
                                               const rn_rate_step *s) {
    size_t total = (size_t)s->batch * ((s->n + 3) / 4);
    if (total == 0) return RN_OK;
    rate_forward_kernel<<<rn_blocks(be, total), rn_threads(be), 0, rn_stream(be)>>>(
        x, out, x_prev, in, rec, tau, bias, theta, *s);
    return rn_launched(be, "rate_forward_step");
}

extern "C" rn_status rn_cuda_rate_backward_step(rn_backend *be, float *lam, float *e,
                                                float *acc_tau, float *acc_bias, float *acc_theta,
                                                const float *g, const float *d, const float *x,
                                                const float *a, const float *x_prev,
                                                const float *tau, const float *theta,
                                                const rn_rate_step *s) {
    size_t total = (size_t)s->batch * s->n;
    if (total == 0) return RN_OK;
    rate_backward_kernel<<<rn_blocks(be, total), rn_threads(be), 0, rn_stream(be)>>>(
        lam, e, acc_tau, acc_bias, acc_theta, g, d, x, a, x_prev, tau, theta, *s);
    return rn_launched(be, "rate_backward_step");
}

extern "C" rn_status rn_cuda_rate_backward_init(rn_backend *be, float *lam, float *acc_theta,
                                                const float *d, const float *x0, const float *tau,
                                                const float *theta, const rn_rate_step *s) {
    size_t total = (size_t)s->batch * s->n;
    if (total == 0) return RN_OK;
    rate_backward_init_kernel<<<rn_blocks(be, total), rn_threads(be), 0, rn_stream(be)>>>(
        lam, acc_theta, d, x0, tau, theta, *s);
    return rn_launched(be, "rate_backward_init");
}

extern "C" rn_status rn_cuda_rate_param_grads(rn_backend *be, float *dtau, float *dbias,
                                              float *dtheta, float *dx0, const float *acc_tau,
                                              const float *acc_bias, const float *acc_theta,
                                              const float *lam, const float *tau, int batch,
                                              int n) {
    if (n <= 0) return RN_OK;
    rate_param_grads_kernel<<<rn_blocks(be, (size_t)n), rn_threads(be), 0, rn_stream(be)>>>(
        dtau, dbias, dtheta, dx0, acc_tau, acc_bias, acc_theta, lam, tau, batch, n);
    return rn_launched(be, "rate_param_grads");
}

extern "C" rn_status rn_cuda_shift_rows(rn_backend *be, float *dst, const float *src, int src_steps,
                                        const float *first, int batch, int steps, int n) {
    size_t total = (size_t)batch * steps * n;
    if (total == 0) return RN_OK;
    shift_rows_kernel<<<rn_blocks(be, total), rn_threads(be), 0, rn_stream(be)>>>(
        dst, src, src_steps, first, batch, steps, n);
    return rn_launched(be, "shift_rows");
}
