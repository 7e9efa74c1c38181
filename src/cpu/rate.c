/* CPU mirror of kernels/rate.cu: the fused rate-neuron Euler step with noise, the fused adjoint
 * step, and the per-neuron parameter-gradient reductions. Per-element arithmetic comes from
 * src/math/rn_math.h. */
#include "cpu_ops.h"
#include "rn_math.h"

rn_status rn_cpu_rate_init(rn_backend *be, float *x_init, float *a_init, const float *x0,
                           const float *theta, int activation, int batch, int n) {
    for (int b = 0; b < batch; b++)
        for (int i = 0; i < n; i++) {
            x_init[(size_t)b * n + i] = x0[i];
            a_init[(size_t)b * n + i] = rn_act(activation, x0[i] - theta[i]);
        }
    return RN_OK;
}

/* One Philox block per four neurons, as the CUDA kernel: the same words, so the same normals. */
void rn_cpu_rate_forward_row(int b, float *x, float *out, const float *x_prev, const float *in,
                             const float *rec, const float *tau, const float *bias,
                             const float *theta, const rn_rate_step *s) {
    const int quads = (s->n + 3) / 4;
    const uint32_t key[2] = {(uint32_t)s->seed, (uint32_t)(s->seed >> 32)};
    for (int q = 0; q < quads; q++) {
        float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (s->noise_scale != 0.0f) {
            uint32_t ctr[4], w[4];
            rn_noise_counter(*s->epoch, s->layer, (uint32_t)b, (uint64_t)s->t, (uint32_t)(4 * q),
                             (uint32_t)s->n, ctr);
            rn_philox4x32_10(ctr, key, w);
            rn_normals4(w, z);
        }
        for (int lane = 0; lane < 4 && 4 * q + lane < s->n; lane++)
            rn_rate_forward_elem(b, 4 * q + lane, s->ld, s->ld_prev, s->activation, s->dt,
                                 s->noise_scale * z[lane], x, out, x_prev, in, rec, tau, bias,
                                 theta);
    }
}

rn_status rn_cpu_rate_forward_step(rn_backend *be, float *x, float *out, const float *x_prev,
                                   const float *in, const float *rec, const float *tau,
                                   const float *bias, const float *theta, const rn_rate_step *s) {
    for (int b = 0; b < s->batch; b++)
        rn_cpu_rate_forward_row(b, x, out, x_prev, in, rec, tau, bias, theta, s);
    return RN_OK;
}

void rn_cpu_rate_backward_row(int b, float *lam, float *e, float *acc_tau, float *acc_bias,
                              float *acc_theta, const float *g, const float *d, const float *x,
                              const float *a, const float *x_prev, const float *tau,
                              const float *theta, const rn_rate_step *s) {
    for (int i = 0; i < s->n; i++)
        rn_rate_backward_elem(b, i, s->n, s->ld, s->ld_prev, s->activation, s->dt, lam, e, acc_tau,
                              acc_bias, acc_theta, g, d, x, a, x_prev, tau, theta);
}

rn_status rn_cpu_rate_backward_step(rn_backend *be, float *lam, float *e, float *acc_tau,
                                    float *acc_bias, float *acc_theta, const float *g,
                                    const float *d, const float *x, const float *a,
                                    const float *x_prev, const float *tau, const float *theta,
                                    const rn_rate_step *s) {
    for (int b = 0; b < s->batch; b++)
        rn_cpu_rate_backward_row(b, lam, e, acc_tau, acc_bias, acc_theta, g, d, x, a, x_prev, tau,
                                 theta, s);
    return RN_OK;
}

rn_status rn_cpu_rate_backward_init(rn_backend *be, float *lam, float *acc_theta, const float *d,
                                    const float *x0, const float *tau, const float *theta,
                                    const rn_rate_step *s) {
    for (int b = 0; b < s->batch; b++)
        for (int i = 0; i < s->n; i++)
            rn_rate_backward_init_elem(b, i, s->n, s->activation, s->dt, lam, acc_theta, d, x0, tau,
                                       theta);
    return RN_OK;
}

/* Fixed order over b for determinism (the CUDA kernel sums in the same order, one thread per
 * neuron). */
rn_status rn_cpu_rate_param_grads(rn_backend *be, float *dtau, float *dbias, float *dtheta,
                                  float *dx0, const float *acc_tau, const float *acc_bias,
                                  const float *acc_theta, const float *lam, const float *tau,
                                  int batch, int n) {
    for (int i = 0; i < n; i++)
        rn_rate_param_grad(i, batch, n, dtau, dbias, dtheta, dx0, acc_tau, acc_bias, acc_theta, lam,
                           tau);
    return RN_OK;
}

rn_status rn_cpu_shift_rows(rn_backend *be, float *dst, const float *src, const float *first,
                            int batch, int steps, int n) {
    for (int b = 0; b < batch; b++) {
        float *d = dst + (size_t)b * steps * n;
        const float *sr = src + (size_t)b * steps * n;
        for (int i = 0; i < n; i++)
            d[i] = first[(size_t)b * n + i];
        for (size_t k = (size_t)n; k < (size_t)steps * n; k++)
            d[k] = sr[k - n];
    }
    return RN_OK;
}
