/* CPU mirror of kernels/rate.cu: the fused rate-neuron Euler step with noise, the fused adjoint
 * step, and the per-neuron parameter-gradient reductions. Per-element arithmetic comes from
 * src/math/rn_math.h. */
#include "cpu_ops.h"
#include "rn_math.h"
#include "simd.h"

/* out[i] = f(u[i]) for i < n (out may be u): tanh and sigmoid through SLEEF's vector tanh. */
static void activate(int act, float *out, const float *u, int n) {
    if (act == RN_ACT_TANH || act == RN_ACT_SIGMOID) {
        rn_simd_tanh(out, u, n);
        if (act == RN_ACT_SIGMOID)
            for (int i = 0; i < n; i++)
                out[i] = 0.5f * (out[i] + 1.0f);
    } else {
        for (int i = 0; i < n; i++)
            out[i] = rn_act(act, u[i]);
    }
}

rn_status rn_cpu_rate_init(rn_backend *be, float *x_init, float *a_init, const float *x0,
                           const float *theta, int activation, int batch, int n) {
    for (int b = 0; b < batch; b++) {
        for (int i = 0; i < n; i++) {
            x_init[(size_t)b * n + i] = x0[i];
            a_init[(size_t)b * n + i] = x0[i] - theta[i];
        }
        activate(activation, a_init + (size_t)b * n, a_init + (size_t)b * n, n);
    }
    return RN_OK;
}

void rn_cpu_rate_noise(float *z, const rn_rate_step *s, int b, int i0, int count) {
    const uint32_t key[2] = {(uint32_t)s->seed, (uint32_t)(s->seed >> 32)};
    const uint32_t hi[2] = {(s->layer << 24) | (uint32_t)b, *s->epoch};
    rn_simd_normals(z, key, hi, (uint64_t)s->t, s->n, i0, count);
}

/* Neurons in chunks of RN_ROW_CHUNK (a multiple of 4: whole Philox blocks, as the CUDA kernel
 * draws them, one block per four neurons). */
#define RN_ROW_CHUNK 64

void rn_cpu_rate_forward_row(int b, float *x, float *out, const float *x_prev, const float *in,
                             const float *rec, const float *tau, const float *bias,
                             const float *theta, const float *xi, const rn_rate_step *s) {
    float z[RN_ROW_CHUNK], u[RN_ROW_CHUNK];
    const size_t row0 = (size_t)b * s->ld, prow0 = (size_t)b * s->ld_prev;
    const bool noisy = s->noise_scale != 0.0f;
    for (int i0 = 0; i0 < s->n; i0 += RN_ROW_CHUNK) {
        const int count = s->n - i0 < RN_ROW_CHUNK ? s->n - i0 : RN_ROW_CHUNK;
        const float *zi = xi ? xi + row0 + i0 : z;
        if (noisy && !xi) rn_cpu_rate_noise(z, s, b, i0, count);
        for (int j = 0; j < count; j++) {
            const int i = i0 + j;
            const float noise = noisy ? s->noise_scale * zi[j] : 0.0f;
            const float xv = rn_rate_euler(x_prev[prow0 + i], s->dt / tau[i], in[row0 + i], noise,
                                           bias[i], rec ? rec[row0 + i] : 0.0f);
            x[row0 + i] = xv;
            u[j] = xv - theta[i];
        }
        activate(s->activation, out + row0 + i0, u, count);
    }
}

rn_status rn_cpu_rate_forward_step(rn_backend *be, float *x, float *out, const float *x_prev,
                                   const float *in, const float *rec, const float *tau,
                                   const float *bias, const float *theta, const rn_rate_step *s) {
    for (int b = 0; b < s->batch; b++)
        rn_cpu_rate_forward_row(b, x, out, x_prev, in, rec, tau, bias, theta, NULL, s);
    return RN_OK;
}

void rn_cpu_rate_backward_row(int b, float *lam, float *e, float *acc_tau, float *acc_bias,
                              float *acc_theta, const float *g, const float *d, const float *x,
                              const float *a, const float *x_prev, const float *tau,
                              const float *theta, const rn_rate_step *s) {
    float fp[RN_ROW_CHUNK];
    const size_t row0 = (size_t)b * s->ld, prow0 = (size_t)b * s->ld_prev, k0 = (size_t)b * s->n;
    for (int i0 = 0; i0 < s->n; i0 += RN_ROW_CHUNK) {
        const int count = s->n - i0 < RN_ROW_CHUNK ? s->n - i0 : RN_ROW_CHUNK;
        const size_t r = row0 + i0;
        for (int j = 0; j < count; j++)
            fp[j] = rn_act_grad_out(s->activation, x[r + j] - theta[i0 + j], a[r + j]);
        rn_simd_adjoint_row(count, s->dt, lam + k0 + i0, e + r, acc_tau + k0 + i0,
                            acc_bias + k0 + i0, acc_theta + k0 + i0, fp, g + r,
                            d ? d + k0 + i0 : NULL, x + r, x_prev + prow0 + i0, tau + i0);
    }
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

rn_status rn_cpu_shift_rows(rn_backend *be, float *dst, const float *src, int src_steps,
                            const float *first, int batch, int steps, int n) {
    for (int b = 0; b < batch; b++) {
        float *d = dst + (size_t)b * steps * n;
        const float *sr = src + (size_t)b * src_steps * n;
        for (int i = 0; i < n; i++)
            d[i] = first[(size_t)b * n + i];
        for (size_t k = (size_t)n; k < (size_t)steps * n; k++)
            d[k] = sr[k - n];
    }
    return RN_OK;
}
