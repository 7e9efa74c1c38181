/* Internal: the table of operations a backend implements (DESIGN.md, STYLE.md "backend as a
 * table").
 *
 * The trainer (host/) is written once against this table. Every pointer argument is backend
 * memory (host memory for the CPU backend, device memory for CUDA). Matrices are row-major.
 * Arguments go outputs first, then inputs, then sizes; each comment says whether an output is
 * overwritten (=) or accumulated into (+=). Sequences are (B, T, C); "the rows of step t" start at
 * base + t*C with row stride ld = T*C. The CUDA launchers in kernels/ and the CPU functions in
 * src/cpu/ share name stems.
 *
 * Every entry is required, except the groups marked optional (graphs, device timing, block size),
 * which a backend leaves NULL when it has no such thing; the trainer and the public wrappers treat
 * NULL as "not available". No entry changes meaning with the backend's state: what varies per
 * epoch (the noise epoch, the loss scalars) is read from backend memory by the ops on every
 * backend, so a recorded graph replays the same ops a direct run launches. */
#ifndef RATENN_BACKEND_IMPL_H
#define RATENN_BACKEND_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratenn/backend.h"
#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scalars of one rate-layer step, shared by the forward and backward step entries. */
typedef struct rn_rate_step {
    int batch;         /* B */
    int n;             /* N */
    int ld;            /* row stride of the (B, T, N) sequences (T * N) */
    int ld_prev;       /* row stride of x_prev (T * N, or N for the initial state) */
    int activation;    /* rn_activation */
    float dt;          /* α = dt / τ */
    float noise_scale; /* σ · sqrt(dt); 0 turns noise off */
    uint64_t seed;
    const uint32_t *epoch; /* backend memory: the noise epoch, read when the step runs */
    uint32_t layer;
    int64_t t; /* the step (the step entries) */
    int steps; /* T (the whole-sequence entries: the adjoint's last step has no d) */
} rn_rate_step;

/* Optimiser scalars of one step. bc1 = 1 − b1^(i+1), bc2 = 1 − b2^(i+1). */
typedef struct rn_optim_step {
    float lr, b1, b2, eps, bc1, bc2;
    float clip_norm; /* global-norm clipping threshold; 0 = off */
} rn_optim_step;

/* The per-epoch scalars the loss entries write (doubles in backend memory); the trainer zeroes them
 * at the start of each epoch. */
enum { RN_SCALAR_MSE = 0, RN_SCALAR_BOUNDS, RN_SCALAR_L2, RN_SCALAR_GNORM2, RN_SCALAR_COUNT };

typedef struct rn_backend_ops {
    /* ---- lifetime and memory ----
     * alloc/free are raw: callers go through rn_backend_alloc / rn_backend_dealloc (below), which
     * keep the accounting for every backend. release frees the backend's own state (ctx), once,
     * after every allocation has been returned; NULL when there is nothing to free. */
    void (*release)(rn_backend *be);
    rn_status (*alloc)(rn_backend *be, void **ptr, size_t bytes);
    void (*free)(rn_backend *be, void *ptr);
    /* Host to backend and back; both return when the host buffer may be reused / read. */
    rn_status (*upload)(rn_backend *be, void *dst, const void *src, size_t bytes);
    rn_status (*download)(rn_backend *be, void *dst, const void *src, size_t bytes);
    rn_status (*fill)(rn_backend *be, float *dst, float value, size_t n); /* dst = value */
    rn_status (*zero)(rn_backend *be, void *dst, size_t bytes);           /* bytes = 0 */

    /* ---- products ---- */
    /* c = alpha · op(a) · op(b) + beta · c, c is (m, n), op(a) is (m, k). With beta = 0, c is
     * not read (it may hold anything, NaN included). */
    rn_status (*gemm)(rn_backend *be, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                      const float *a, int lda, const float *b, int ldb, float beta, float *c,
                      int ldc);

    /* ---- linear layer (kernels/linear.cu, src/cpu/linear.c) ---- */
    /* y[r, c] += bias[c] */
    rn_status (*bias_add)(rn_backend *be, float *y, const float *bias, int rows, int cols);
    /* dbias[c] += Σ_r g[r, c], summed in a fixed order */
    rn_status (*bias_grad)(rn_backend *be, float *dbias, const float *g, int rows, int cols);

    /* ---- rate layer (kernels/rate.cu, src/cpu/rate.c) ---- */
    /* x_init[b, n] = x0[n]; a_init[b, n] = f(x0[n] − θ[n])  (both =) */
    rn_status (*rate_init)(rn_backend *be, float *x_init, float *a_init, const float *x0,
                           const float *theta, int activation, int batch, int n);
    /* One fused Euler step at step s->t, for every trial b and neuron n:
     *   x = x_prev + α (−x_prev + in + σ√dt ξ + bias + rec);  out = f(x − θ)   (both =)
     * x, out, in, rec have row stride s->ld; x_prev has s->ld_prev; rec may be NULL (not
     * recurrent). */
    rn_status (*rate_forward_step)(rn_backend *be, float *x, float *out, const float *x_prev,
                                   const float *in, const float *rec, const float *tau,
                                   const float *bias, const float *theta, const rn_rate_step *s);
    /* One fused adjoint step at step s->t:
     *   λ_t = (1 − α) λ_{t+1} + f′(x_t − θ)(g_t + d_t);  e_t = α λ_t
     * a = f(x_t − θ) as the forward step wrote it (stride ld; it saves recomputing tanh)
     * lam (B, N) holds λ_{t+1} on entry and λ_t on return (=); e (stride ld) =;
     * acc_tau += λ_t (x_t − x_{t−1}); acc_bias += e_t; acc_theta += f′(x_t − θ)(g_t + d_t).
     * d (B, N, stride n) = e_{t+1} · W_recᵀ, or NULL (last step, or not recurrent). */
    rn_status (*rate_backward_step)(rn_backend *be, float *lam, float *e, float *acc_tau,
                                    float *acc_bias, float *acc_theta, const float *g,
                                    const float *d, const float *x, const float *a,
                                    const float *x_prev, const float *tau, const float *theta,
                                    const rn_rate_step *s);
    /* The initial state (after the loop): with d = e_0 · W_recᵀ (or NULL),
     *   lam = (1 − α) λ_0 + f′(x0 − θ) d   (= ∂L/∂x0 per trial, overwrites lam);
     *   acc_theta += f′(x0 − θ) d. */
    rn_status (*rate_backward_init)(rn_backend *be, float *lam, float *acc_theta, const float *d,
                                    const float *x0, const float *tau, const float *theta,
                                    const rn_rate_step *s);
    /* Reduces the per-trial accumulators over b in a fixed order (all +=):
     *   dtau += −(1/τ) Σ_b acc_tau;  dbias += Σ_b acc_bias;  dtheta += −Σ_b acc_theta;
     *   dx0 += Σ_b lam.  Any output may be NULL (frozen). */
    rn_status (*rate_param_grads)(rn_backend *be, float *dtau, float *dbias, float *dtheta,
                                  float *dx0, const float *acc_tau, const float *acc_bias,
                                  const float *acc_theta, const float *lam, const float *tau,
                                  int batch, int n);
    /* ---- the rate layer's time loop in one call (optional: where rate_seq is NULL, or
     * rate_seq_fits says no for a layer, the trainer drives the step entries above; the numbers
     * are the same either way: bit-identical on the CPU; on CUDA the recurrent product's sum
     * takes the kernels' fixed order instead of cuBLAS's, so the two differ by rounding) ---- */
    /* Whether the whole-sequence entries take a layer of n neurons (w: recurrent) on `batch` trials. */
    bool (*rate_seq_fits)(rn_backend *be, int batch, int n, bool recurrent);
    /* Steps [t0, t1) of the forward, each as rate_forward_step with, when w is not NULL,
     *   r_t = a_{t−1} · w  (=, the recurrent input; a_{t0−1} = a_init, x_{t0−1} = x_init: the
     *   state before step t0, the initial state when t0 = 0 and a checkpoint after)
     * x, out, r, in are (B, T, N) with row stride s->ld; x_init, a_init are (B, N). x, out, r =.
     * Rows before t0 are not read, so a segment's buffer may stand for the whole sequence. */
    rn_status (*rate_forward_seq)(rn_backend *be, float *x, float *out, float *r,
                                  const float *x_init, const float *a_init, const float *in,
                                  const float *w, const float *tau, const float *bias,
                                  const float *theta, const rn_rate_step *s, int t0, int t1);
    /* Steps [t0, t1) of the adjoint, newest first, each as rate_backward_step with
     *   d_t = e_{t+1} · wᵀ  (into dscr (B, N); none at t = s->steps − 1 or without w)
     * lam holds λ_{t1} on entry and λ_{t0} on return; e rows [t0, t1) =, and e_{t1} is read from
     * e_next (B, N) when t1 < T; the accumulators +=. x, a (= f(x − θ)), g: (B, T, N) stride
     * s->ld, rows [t0, t1) only; x_init (B, N): x before step t0 (as rate_forward_seq's). The
     * same call shape whatever the segment, so that on a device the sums take one order (a
     * segment's edges run as its middle does) and checkpointed BPTT gives the same bits. */
    rn_status (*rate_backward_seq)(rn_backend *be, float *lam, float *e, float *acc_tau,
                                   float *acc_bias, float *acc_theta, float *dscr, const float *g,
                                   const float *x, const float *a, const float *x_init,
                                   const float *e_next, const float *w, const float *tau,
                                   const float *theta, const rn_rate_step *s, int t0, int t1);
    /* Which path the whole-sequence entries take for such a layer, for reports: e.g.
     * "persistent-smem" (CUDA), "cpu-seq", or "step" (rate_seq_fits says no). Optional: NULL where
     * a backend has no name for it (rn_backend_rate_loop then says "seq" or "step"). */
    const char *(*rate_seq_path)(rn_backend *be, int batch, int n, bool recurrent);
    /* dst[b, 0, :] = first[b, :]; dst[b, t, :] = src[b, t − 1, :] for 1 <= t < steps  (=), dst
     * (batch, steps, n) and src (batch, src_steps, n) with src_steps >= steps − 1: a window of
     * steps rows of each trial, shifted down one. */
    rn_status (*shift_rows)(rn_backend *be, float *dst, const float *src, int src_steps,
                            const float *first, int batch, int steps, int n);

    /* ---- synaptic filters (kernels/filter.cu, src/cpu/filter.c): one first-order ZOH stage,
     * applied once (lowpass) or twice (alpha, doubleexp). p = exp(−dt/τ) per channel; sequences (B,
     * T, C). ---- */
    /* One segment of `steps` steps (checkpointed BPTT runs a sequence as several): y_t = p y_{t−1}
     * + (1 − p) u_t  (=), with y_{−1} = prev[b, c] (B, C), the previous segment's last output, or
     * init[c] where prev is NULL (the segment starting at t = 0) */
    rn_status (*filter_forward)(rn_backend *be, float *y, const float *u, const float *tau,
                                const float *init, const float *prev, int batch, int steps,
                                int channels, float dt);
    /* The adjoint over one segment, continuing the newer segments' scan: μ_t = g_t + p μ_{t+1}
     * starting from mu[b, c] (in/out (B, C): 0 for the newest segment, left at μ of the segment's
     * first step); du_t = (1 − p) μ_t  (=); acc_dp[b, c] += μ_t (y_{t−1} − u_t) one step at a
     * time, newest first (in/out: the same sum as one scan over every step); y_{−1} as in
     * filter_forward; where prev is NULL, acc_dinit[b, c] = p μ_0  (=; untouched otherwise) */
    rn_status (*filter_backward)(rn_backend *be, float *du, float *acc_dp, float *acc_dinit,
                                 float *mu, const float *g, const float *y, const float *u,
                                 const float *tau, const float *init, const float *prev, int batch,
                                 int steps, int channels, float dt);
    /* dtau += (Σ_b acc_dp) · p·dt/τ²;  dinit += Σ_b acc_dinit  (fixed order over b; either may be
     * NULL) */
    rn_status (*filter_param_grads)(rn_backend *be, float *dtau, float *dinit, const float *acc_dp,
                                    const float *acc_dinit, const float *tau, int batch,
                                    int channels, float dt);

    /* ---- loss (kernels/loss.cu, src/cpu/loss.c) ---- */
    /* *mse += Σ m (y − y*)² / (C Σ m)  (+=, double); dy = weight · 2 m (y − y*) / (C Σ m)  (=).
     * y, dy (B, T, C); target (T, C) per trial, trial b's at target + b·target_stride (T·C, or 0
     * where every trial shares one); mask (T) per trial at mask + b·mask_stride (T or 0), or NULL
     * (all ones). The sums go in the same order whatever the strides. */
    rn_status (*mse)(rn_backend *be, double *mse, float *dy, const float *y, const float *target,
                     size_t target_stride, const float *mask, size_t mask_stride, int batch,
                     int steps, int channels, float weight);
    /* *cost += Σ_i bound_cost(p_i, lo_i, hi_i)  (+=, double); grad += weight · bound_grad  (+=) */
    rn_status (*bounds)(rn_backend *be, double *cost, float *grad, const float *p, const float *lo,
                        const float *hi, size_t n, float weight);
    /* *cost += mean(w²)  (+=, double); grad += weight · 2 w / n  (+=) */
    rn_status (*l2)(rn_backend *be, double *cost, float *grad, const float *w, size_t n,
                    float weight);

    /* ---- optimiser (kernels/optim.cu, src/cpu/optim.c) ---- */
    /* *out += Σ_i [mask_i] g_i²  (+=, double) */
    rn_status (*sum_squares)(rn_backend *be, double *out, const float *g, const uint8_t *mask,
                             size_t n);
    /* Adam over every element with mask_i != 0; the global-norm clip scale comes from
     * scalars[RN_SCALAR_GNORM2]. If any of scalars[0..RN_SCALAR_COUNT) is non-finite nothing
     * changes. */
    rn_status (*adam)(rn_backend *be, float *p, float *m, float *v, const float *g,
                      const uint8_t *mask, const double *scalars, size_t n, const rn_optim_step *s);
    /* p −= lr · g (clipped), with the same mask and guard as adam */
    rn_status (*sgd)(rn_backend *be, float *p, const float *g, const uint8_t *mask,
                     const double *scalars, size_t n, const rn_optim_step *s);
    /* p = clamp(p, lo, hi) where mask_i != 0 */
    rn_status (*clip_bounds)(rn_backend *be, float *p, const float *lo, const float *hi,
                             const uint8_t *mask, size_t n);

    /* ---- graphs (optional: NULL where a backend has none; the CPU has none) ----
     * Between graph_begin and graph_end nothing runs: the ops are recorded (upload and download
     * are not allowed then). graph_end keeps the recording as *graph (keep) or discards it;
     * graph_launch replays it; graph_free releases it. What changes between replays is in backend
     * memory (the epoch, the scalars), so one recording serves every epoch. */
    rn_status (*graph_begin)(rn_backend *be);
    rn_status (*graph_end)(rn_backend *be, bool keep, void **graph);
    rn_status (*graph_launch)(rn_backend *be, void *graph);
    void (*graph_free)(rn_backend *be, void *graph);

    /* ---- device timing (optional: NULL where the host clock is the device's, as on the CPU) ----
     * timer_begin marks the stream; timer_end marks it again, waits for that mark and gives the
     * milliseconds the device spent between the two (CUDA events). */
    rn_status (*timer_begin)(rn_backend *be);
    rn_status (*timer_end)(rn_backend *be, double *ms);

    /* ---- block size (optional: NULL where there is none to choose) ----
     * Threads per block of every kernel launched after it (a power of two from 32 to 1024; the
     * default is 256). The result must not depend on it beyond rounding: the op tests sweep it. */
    rn_status (*set_block_size)(rn_backend *be, int threads);

    /* ---- free memory (optional: NULL where the backend cannot say; the CPU's is the host's) ----
     * The bytes it could allocate now (on a GPU, cudaMemGetInfo's free): the trainer's default
     * memory budget is a share of it. */
    rn_status (*mem_free)(rn_backend *be, size_t *bytes);
} rn_backend_ops;

/* One live allocation, for the memory report. */
typedef struct rn_backend_allocation {
    void *ptr;
    size_t bytes;
} rn_backend_allocation;

struct rn_backend {
    const rn_backend_ops *ops;
    void *ctx; /* the backend's own state (cuBLAS handle, stream, ...) */
    rn_backend_kind kind;
    char description[160];
    rn_error err;                    /* the last failure of an op, copied out by the trainer */
    size_t bytes_in_use, peak_bytes; /* backend memory held (the backend's own, fixed, included) */
    rn_backend_allocation *allocs;   /* live allocations made through rn_backend_alloc */
    int n_allocs, cap_allocs;
};

/* Allocation through the table with the accounting every backend shares (src/backend.c). */
rn_status rn_backend_alloc(rn_backend *be, void **ptr, size_t bytes);
void rn_backend_dealloc(rn_backend *be, void *ptr);

/* Each backend's constructor (the CUDA one exists only in CUDA builds). */
rn_status rn_cpu_backend_init(rn_backend *be, rn_error *err);
rn_status rn_cuda_backend_init(rn_backend *be, rn_error *err);
int rn_cuda_backend_device_count(void);

#ifdef __cplusplus
}
#endif
#endif
