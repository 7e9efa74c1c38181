/* ratenn — the per-element arithmetic, written once for both backends.
 *
 * Plain C11 for the CPU backend, __host__ __device__ under nvcc for the CUDA kernels: every backend
 * calls these functions, only the parallel decomposition differs (DESIGN.md). Keep them IEEE: no
 * fast-math here, and the CUDA build turns off FMA contraction so that both backends round alike.
 */
#ifndef RATENN_MATH_H
#define RATENN_MATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "ratenn/net.h" /* rn_activation: the activation codes */

#if defined(__CUDACC__)
#define RN_HD __host__ __device__
#else
#define RN_HD
#endif

#define RN_LRELU_SLOPE 0.01f

/* f(z) */
RN_HD static inline float rn_act(int act, float z) {
    switch (act) {
    case RN_ACT_TANH:
        return tanhf(z);
    case RN_ACT_RELU:
        return z > 0.0f ? z : 0.0f;
    case RN_ACT_SIGMOID:
        return 0.5f * (tanhf(z) + 1.0f);
    case RN_ACT_LRELU:
        return z >= 0.0f ? z : RN_LRELU_SLOPE * z;
    default:
        return z;
    }
}

/* f'(z); at the kink relu gives 0 and lrelu 1 (SPEC §2). */
RN_HD static inline float rn_act_grad(int act, float z) {
    switch (act) {
    case RN_ACT_TANH: {
        float t = tanhf(z);
        return 1.0f - t * t;
    }
    case RN_ACT_RELU:
        return z > 0.0f ? 1.0f : 0.0f;
    case RN_ACT_SIGMOID: {
        float t = tanhf(z);
        return 0.5f * (1.0f - t * t);
    }
    case RN_ACT_LRELU:
        return z >= 0.0f ? 1.0f : RN_LRELU_SLOPE;
    default:
        return 1.0f;
    }
}

/* ---- Philox4x32-10 (Salmon et al. 2011), exactly as cuRAND's curand_Philox4x32_10 ---- */
#define RN_PHILOX_M0 0xD2511F53u
#define RN_PHILOX_M1 0xCD9E8D57u
#define RN_PHILOX_W0 0x9E3779B9u
#define RN_PHILOX_W1 0xBB67AE85u

RN_HD static inline void rn_philox4x32_10(const uint32_t ctr_in[4], const uint32_t key_in[2],
                                          uint32_t out[4]) {
    uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)RN_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)RN_PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += RN_PHILOX_W0;
        k1 += RN_PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* Box-Muller with cuRAND's constants (curand_normal.h, _curand_box_muller, host branch): two
 * uniform words give two normals, z0 from sin and z1 from cos. */
RN_HD static inline void rn_box_muller(uint32_t x, uint32_t y, float *z0, float *z1) {
    const float inv = 2.3283064e-10f;
    const float inv_2pi = 2.3283064e-10f * 6.2831855f;
    float u = (float)x * inv + inv / 2.0f;
    float v = (float)y * inv_2pi + inv_2pi / 2.0f;
    float s = sqrtf(-2.0f * logf(u));
    *z0 = sinf(v) * s;
    *z1 = cosf(v) * s;
}

/* The noise counter layout (SPEC §6). ξ for (seed, epoch, layer, trial, step, neuron) in a layer of
 * n neurons comes from the four words curand4 returns (the CUDA kernel) after curand_init(seed,
 * subsequence = epoch << 32 | layer << 24 | trial, offset = 4 * block, &state) with block = step *
 * ceil(n / 4) + neuron / 4; i.e. Philox of the counter (block lo, block hi, layer << 24 | trial,
 * epoch) under the key (seed lo, seed hi), turned into a normal by rn_normal_from_words (component
 * neuron % 4): Box-Muller with cuRAND's host constants and sinf/cosf. (curand_normal4 on the device
 * uses __sincosf, which the CPU cannot match.) trial < 2^24 and layer < 256 (checked where a
 * network or batch is built). */
RN_HD static inline void rn_noise_counter(uint32_t epoch, uint32_t layer, uint32_t trial,
                                          uint64_t step, uint32_t neuron, uint32_t n_neurons,
                                          uint32_t ctr[4]) {
    uint64_t block = step * (uint64_t)((n_neurons + 3u) / 4u) + neuron / 4u;
    ctr[0] = (uint32_t)block;
    ctr[1] = (uint32_t)(block >> 32);
    ctr[2] = (layer << 24) | trial;
    ctr[3] = epoch;
}

/* The standard normal ξ from four Philox words, for the component `lane` (0..3). */
RN_HD static inline float rn_normal_from_words(const uint32_t w[4], uint32_t lane) {
    float z0, z1;
    if (lane < 2u)
        rn_box_muller(w[0], w[1], &z0, &z1);
    else
        rn_box_muller(w[2], w[3], &z0, &z1);
    return (lane & 1u) ? z1 : z0;
}

RN_HD static inline float rn_noise_normal(uint64_t seed, uint32_t epoch, uint32_t layer,
                                          uint32_t trial, uint64_t step, uint32_t neuron,
                                          uint32_t n_neurons) {
    uint32_t ctr[4], key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, w[4];
    rn_noise_counter(epoch, layer, trial, step, neuron, n_neurons, ctr);
    rn_philox4x32_10(ctr, key, w);
    return rn_normal_from_words(w, neuron & 3u);
}

/* The four normals of one Philox block: Box-Muller on (w0, w1) gives lanes 0 and 1, on (w2, w3)
 * lanes 2 and 3 (z[lane] == rn_normal_from_words(w, lane)). */
RN_HD static inline void rn_normals4(const uint32_t w[4], float z[4]) {
    rn_box_muller(w[0], w[1], &z[0], &z[1]);
    rn_box_muller(w[2], w[3], &z[2], &z[3]);
}

/* ---- rate layer (SPEC §2 and §4) ---- */

/* One Euler step: x_t = x_{t-1} + α (−x_{t-1} + i_t + n_t + b + r_t). */
RN_HD static inline float rn_rate_euler(float x_prev, float alpha, float input, float noise,
                                        float bias, float rec) {
    return x_prev + alpha * (-x_prev + input + noise + bias + rec);
}

/* One adjoint step: given λ_{t+1}, g_t and d_t = (α ⊙ λ_{t+1}) · W_recᵀ, returns λ_t and writes
 * f′(x_t − θ) ⊙ δa_t to *fd (the θ-gradient term). */
RN_HD static inline float rn_rate_adjoint(float lam_next, float alpha, float fprime, float g,
                                          float d, float *fd) {
    float t = fprime * (g + d);
    *fd = t;
    return (1.0f - alpha) * lam_next + t;
}

/* ---- synaptic filter stage (SPEC §2): p = exp(−dt/τ), y_t = p y_{t−1} + (1 − p) u_t ---- */
/* p and 1 − p in double, then rounded: the scan multiplies by p up to T times, so the 1-2 ulp by
 * which float expf differs between libm and CUDA would grow to ~(τ/dt) ulp in y; double exp/expm1
 * rounded to float give the same p on both backends. 1 − p without cancellation for τ >> dt. */
RN_HD static inline float rn_filter_pole(float dt, float tau) {
    return (float)exp(-(double)dt / (double)tau);
}
RN_HD static inline float rn_filter_gain(float dt, float tau) {
    return (float)-expm1(-(double)dt / (double)tau);
}
RN_HD static inline float rn_filter_step(float y_prev, float p, float q, float u) {
    return p * y_prev + q * u;
}
/* ∂τ from ∂p: dp/dτ = p·dt/τ² */
RN_HD static inline float rn_filter_dtau(float dp, float p, float dt, float tau) {
    return dp * (p * dt / (tau * tau));
}

/* The per-neuron and per-channel loops below are the bodies of both backends' kernels: the CPU
 * calls them in plain loops, the CUDA kernels with one thread per neuron, channel or (trial,
 * channel). */

/* The Euler step of trial b, neuron i, given its noise n_t = σ√dt ξ: x and out (= f(x − θ)) and in,
 * rec (NULL: not recurrent) have row stride ld, x_prev ld_prev. */
RN_HD static inline void rn_rate_forward_elem(int b, int i, int ld, int ld_prev, int act, float dt,
                                              float noise, float *x, float *out,
                                              const float *x_prev, const float *in,
                                              const float *rec, const float *tau, const float *bias,
                                              const float *theta) {
    size_t row = (size_t)b * ld + i, prow = (size_t)b * ld_prev + i;
    float alpha = dt / tau[i];
    float r = rec ? rec[row] : 0.0f;
    float xv = rn_rate_euler(x_prev[prow], alpha, in[row], noise, bias[i], r);
    x[row] = xv;
    out[row] = rn_act(act, xv - theta[i]);
}

/* f′(z) given a = f(z) from the forward pass. For tanh, 1 − a² is the very float rn_act_grad gives
 * (a is the same tanhf of the same z) at one tanhf less; the others are cheap from z. */
RN_HD static inline float rn_act_grad_out(int act, float z, float a) {
    return act == RN_ACT_TANH ? 1.0f - a * a : rn_act_grad(act, z);
}

/* The adjoint step of trial b, neuron i (SPEC §4): λ_t = (1 − α) λ_{t+1} + f′(x_t − θ)(g_t + d_t),
 * e_t = α λ_t, and the per-trial accumulators. lam, d and the accumulators are (B, N); e, g, x and
 * a = f(x − θ) (the forward's output) have row stride ld, x_prev ld_prev. */
RN_HD static inline void rn_rate_backward_elem(int b, int i, int n, int ld, int ld_prev, int act,
                                               float dt, float *lam, float *e, float *acc_tau,
                                               float *acc_bias, float *acc_theta, const float *g,
                                               const float *d, const float *x, const float *a,
                                               const float *x_prev, const float *tau,
                                               const float *theta) {
    size_t row = (size_t)b * ld + i, prow = (size_t)b * ld_prev + i, k = (size_t)b * n + i;
    float alpha = dt / tau[i];
    float xv = x[row];
    float fd;
    float l = rn_rate_adjoint(lam[k], alpha, rn_act_grad_out(act, xv - theta[i], a[row]), g[row],
                              d ? d[k] : 0.0f, &fd);
    float ev = alpha * l;
    lam[k] = l;
    e[row] = ev;
    acc_tau[k] += l * (xv - x_prev[prow]);
    acc_bias[k] += ev;
    acc_theta[k] += fd;
}

/* The initial state's adjoint of trial b, neuron i (after the time loop): with d = e_0 · W_recᵀ
 * (or NULL), lam = (1 − α) λ_0 + f′(x0 − θ) d  (=, ∂L/∂x0 of the trial); acc_theta += f′(x0 − θ) d.
 * lam, acc_theta and d are (B, N). */
RN_HD static inline void rn_rate_backward_init_elem(int b, int i, int n, int act, float dt,
                                                    float *lam, float *acc_theta, const float *d,
                                                    const float *x0, const float *tau,
                                                    const float *theta) {
    size_t k = (size_t)b * n + i;
    float alpha = dt / tau[i];
    float fprime = rn_act_grad(act, x0[i] - theta[i]);
    float fd;
    lam[k] = rn_rate_adjoint(lam[k], alpha, fprime, 0.0f, d ? d[k] : 0.0f, &fd);
    acc_theta[k] += fd;
}

/* Neuron i's parameter gradients, reduced over the batch in a fixed order (SPEC §4):
 * dtau += −(1/τ) Σ_b acc_tau; dbias += Σ_b acc_bias; dtheta += −Σ_b acc_theta; dx0 += Σ_b λ. */
RN_HD static inline void rn_rate_param_grad(int i, int batch, int n, float *dtau, float *dbias,
                                            float *dtheta, float *dx0, const float *acc_tau,
                                            const float *acc_bias, const float *acc_theta,
                                            const float *lam, const float *tau) {
    float st = 0.0f, sb = 0.0f, sth = 0.0f, sx = 0.0f;
    for (int b = 0; b < batch; b++) {
        size_t k = (size_t)b * n + i;
        st += acc_tau[k];
        sb += acc_bias[k];
        sth += acc_theta[k];
        sx += lam[k];
    }
    if (dtau) dtau[i] += -st / tau[i];
    if (dbias) dbias[i] += sb;
    if (dtheta) dtheta[i] += -sth;
    if (dx0) dx0[i] += sx;
}

/* The forward scan of trial b, channel c over `steps` steps (a segment): y_{−1} = prev[b, c], or the
 * initial level init[c] where prev is NULL (the segment that starts at t = 0). */
RN_HD static inline void rn_filter_scan_forward(float *y, const float *u, const float *tau,
                                                const float *init, const float *prev, int b, int c,
                                                int steps, int channels, float dt) {
    float p = rn_filter_pole(dt, tau[c]), q = rn_filter_gain(dt, tau[c]);
    float yv = prev ? prev[(size_t)b * channels + c] : init[c];
    for (int t = 0; t < steps; t++) {
        size_t k = ((size_t)b * steps + t) * channels + c;
        yv = rn_filter_step(yv, p, q, u[k]);
        y[k] = yv;
    }
}

/* The backward scan of trial b, channel c over a segment, newest step first, continuing the scan
 * of the newer segments: μ_t = g_t + p μ_{t+1} from μ = mu[b, c], which is left at the segment's
 * μ_0; du_t = (1 − p) μ_t; acc_dp[b, c] += μ_t (y_{t−1} − u_t) one step at a time (the same sums
 * in the same order as one scan over every step); y_{−1} as in the forward scan, and in the
 * segment that starts at t = 0 (prev NULL) acc_dinit[b, c] = p μ_0. */
RN_HD static inline void rn_filter_scan_backward(float *du, float *acc_dp, float *acc_dinit,
                                                 float *mu_io, const float *g, const float *y,
                                                 const float *u, const float *tau,
                                                 const float *init, const float *prev, int b, int c,
                                                 int steps, int channels, float dt) {
    float p = rn_filter_pole(dt, tau[c]), q = rn_filter_gain(dt, tau[c]);
    const size_t bc = (size_t)b * channels + c;
    float mu = mu_io[bc], dp = acc_dp[bc];
    const float y_first = prev ? prev[bc] : init[c];
    for (int t = steps - 1; t >= 0; t--) {
        size_t k = ((size_t)b * steps + t) * channels + c;
        mu = g[k] + p * mu;
        du[k] = q * mu;
        float y_prev = t > 0 ? y[k - channels] : y_first;
        dp += mu * (y_prev - u[k]);
    }
    acc_dp[bc] = dp;
    mu_io[bc] = mu;
    if (!prev) acc_dinit[bc] = p * mu;
}

/* Channel c's τ and initial-level gradients, reduced over the batch in a fixed order. */
RN_HD static inline void rn_filter_param_grad(int c, int batch, int channels, float *dtau,
                                              float *dinit, const float *acc_dp,
                                              const float *acc_dinit, const float *tau, float dt) {
    float sp = 0.0f, si = 0.0f;
    for (int b = 0; b < batch; b++) {
        sp += acc_dp[(size_t)b * channels + c];
        si += acc_dinit[(size_t)b * channels + c];
    }
    if (dtau) dtau[c] += rn_filter_dtau(sp, rn_filter_pole(dt, tau[c]), dt, tau[c]);
    if (dinit) dinit[c] += si;
}

/* ---- bounds (SPEC §3): cost and gradient of one element ---- */
RN_HD static inline float rn_bound_cost(float p, float lo, float hi) {
    float c = 0.0f;
    if (p < lo) c += expf(-(p - lo));
    if (p > hi) c += expf(-(hi - p));
    return c;
}
RN_HD static inline float rn_bound_grad(float p, float lo, float hi) {
    float g = 0.0f;
    if (p < lo) g -= expf(-(p - lo));
    if (p > hi) g += expf(-(hi - p));
    return g;
}

/* ---- optimiser (SPEC §5): Adam as jax.example_libraries.optimizers.adam ---- */
/* bc1 = 1 − b1^(i+1), bc2 = 1 − b2^(i+1), computed once per step by the caller in float32 (powf),
 * as JAX's optimizers.adam does in float32. */
RN_HD static inline void rn_adam_update(float *p, float *m, float *v, float g, float lr, float b1,
                                        float b2, float eps, float bc1, float bc2) {
    float mm = b1 * *m + (1.0f - b1) * g;
    float vv = b2 * *v + (1.0f - b2) * (g * g);
    *m = mm;
    *v = vv;
    float mhat = mm / bc1;
    float vhat = vv / bc2;
    *p = *p - lr * mhat / (sqrtf(vhat) + eps);
}

/* The global-norm clipping scale from the squared norm; 1 when off or under the threshold. */
RN_HD static inline float rn_clip_scale(double gnorm2, float clip_norm) {
    if (clip_norm > 0.0f && gnorm2 > (double)clip_norm * (double)clip_norm)
        return (float)((double)clip_norm / sqrt(gnorm2));
    return 1.0f;
}

/* True when every per-epoch scalar (loss terms, squared gradient norm) is finite: the optimiser's
 * guard. */
RN_HD static inline int rn_scalars_finite(const double *s, int count) {
    for (int i = 0; i < count; i++)
        if (!isfinite(s[i])) return 0;
    return 1;
}

RN_HD static inline float rn_clampf(float p, float lo, float hi) {
    if (p < lo) p = lo;
    if (p > hi) p = hi;
    return p;
}

#endif
