/* Internal: the CUDA backend's state (rn_backend.ctx) and the kernel launchers' declarations.
 *
 * Shared by kernels/cuda_backend.c (C, built by the host compiler) and the .cu files in kernels/
 * (built by nvcc). Every launcher has the signature of the CPU mirror of the same stem in
 * src/cpu/cpu_ops.h, with rn_cuda_ in place of rn_cpu_; it enqueues on the context's stream and
 * returns RN_ERR_DEVICE (message in be->err) when the launch fails. Errors of the kernels
 * themselves surface at the next synchronising call. */
#ifndef RATENN_CUDA_CTX_H
#define RATENN_CUDA_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "backend_impl.h"
#include "rate_seq_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks of the first pass of a deterministic reduction (fixed, so that sums are the same every
 * run). */
#define RN_CUDA_REDUCE_BLOCKS 256
#define RN_CUDA_REDUCE_THREADS 256
/* bias_grad's first-pass partial sums: at most this many (row chunks × columns). */
#define RN_CUDA_BIAS_PARTIALS (1 << 17)
/* The reduction scratch, one allocation laid out here only: the first pass's partial sums, then
 * the MSE's denominator, then bias_grad's partial sums. */
#define RN_CUDA_SCRATCH_PARTIALS 0
#define RN_CUDA_SCRATCH_DENOM RN_CUDA_REDUCE_BLOCKS
#define RN_CUDA_SCRATCH_BIAS (RN_CUDA_REDUCE_BLOCKS + 1)
#define RN_CUDA_SCRATCH_DOUBLES (RN_CUDA_REDUCE_BLOCKS + 1 + RN_CUDA_BIAS_PARTIALS)
#define RN_CUDA_DEFAULT_THREADS 256
#define RN_CUDA_WORKSPACE_BYTES ((size_t)32 << 20)

typedef struct rn_cuda_lt_state rn_cuda_lt_state; /* cuda_gemm_fixed.c */

typedef struct rn_cuda_ctx {
    int device;
    cudaStream_t stream;
    cublasHandle_t cublas;
    double *scratch;        /* device: RN_CUDA_SCRATCH_DOUBLES, laid out as above */
    double *partials;       /* scratch + RN_CUDA_SCRATCH_PARTIALS (RN_CUDA_REDUCE_BLOCKS) */
    double *denom;          /* scratch + RN_CUDA_SCRATCH_DENOM (1) */
    double *bias_partials;  /* scratch + RN_CUDA_SCRATCH_BIAS (RN_CUDA_BIAS_PARTIALS) */
    void *cublas_workspace; /* device: cuBLAS's workspace, fixed so that graphs can record it */
    int threads;            /* threads per block of every launch (set_block_size) */
    cudaEvent_t timer[2];   /* timer_begin / timer_end marks */
    rn_seq_limits seq; /* the device's limits for the whole-sequence rate kernels (read at init) */
    bool gemm_fixed;   /* products through cuda_gemm_fixed.c (rn_cuda_set_gemm_fixed) */
    rn_cuda_lt_state *fixed_gemm; /* its handle and algorithms, once switched on */
} rn_cuda_ctx;

/* Products through cuBLASLt with one algorithm per shape, whose bits do not depend on where the
 * operands sit (cuda_gemm_fixed.c). Off by default (cublasSgemm), switched by tests, or on for every
 * backend of a build with the CMake option RATENN_CUDA_GEMM_FIXED, until a device has shown which the
 * trainer needs. Switch it before a trainer records its graph (the graph keeps the products it
 * recorded). */
rn_status rn_cuda_set_gemm_fixed(rn_backend *be, bool fixed);
/* The i-th product shape the fixed path has seen and the algorithm it keeps for it, as one line of
 * text (for the tests' logs); false past the last or when the path is off. */
bool rn_cuda_fixed_gemm_describe(rn_backend *be, int i, char *dst, size_t n);
rn_status rn_cuda_fixed_gemm(rn_backend *be, bool ta, bool tb, int m, int n, int k, float alpha,
                             const float *a, int lda, const float *b, int ldb, float beta, float *c,
                             int ldc);
void rn_cuda_lt_state_free(rn_cuda_lt_state *f);

/* Returns RN_OK, or RN_ERR_DEVICE with `what` and the CUDA error in be->err. */
rn_status rn_cuda_check(rn_backend *be, cudaError_t e, const char *what);

rn_status rn_cuda_bias_add(rn_backend *be, float *y, const float *bias, int rows, int cols);
rn_status rn_cuda_bias_grad(rn_backend *be, float *dbias, const float *g, int rows, int cols);

rn_status rn_cuda_rate_init(rn_backend *be, float *x_init, float *a_init, const float *x0,
                            const float *theta, int activation, int batch, int n);
rn_status rn_cuda_rate_forward_step(rn_backend *be, float *x, float *out, const float *x_prev,
                                    const float *in, const float *rec, const float *tau,
                                    const float *bias, const float *theta, const rn_rate_step *s);
rn_status rn_cuda_rate_backward_step(rn_backend *be, float *lam, float *e, float *acc_tau,
                                     float *acc_bias, float *acc_theta, const float *g,
                                     const float *d, const float *x, const float *a,
                                     const float *x_prev, const float *tau, const float *theta,
                                     const rn_rate_step *s);
rn_status rn_cuda_rate_backward_init(rn_backend *be, float *lam, float *acc_theta, const float *d,
                                     const float *x0, const float *tau, const float *theta,
                                     const rn_rate_step *s);
rn_status rn_cuda_rate_param_grads(rn_backend *be, float *dtau, float *dbias, float *dtheta,
                                   float *dx0, const float *acc_tau, const float *acc_bias,
                                   const float *acc_theta, const float *lam, const float *tau,
                                   int batch, int n);
/* The whole-sequence entries (rate_seq.cu). rn_cuda_rate_seq_setup reads the device's limits into
 * the context and lets the persistent kernels use the opt-in shared memory (once, at init). */
rn_status rn_cuda_rate_seq_setup(rn_backend *be);
/* The cooperative path (rate_seq_coop.cu) for recurrent layers up to RN_COOP_MAX_N neurons. */
rn_status rn_cuda_rate_coop_setup(rn_backend *be, int optin);
bool rn_cuda_rate_coop_fits(rn_backend *be, int batch, int n, bool recurrent);
rn_status rn_cuda_rate_forward_coop(rn_backend *be, float *x, float *out, float *r,
                                    const float *x_init, const float *a_init, const float *in,
                                    const float *w, const float *tau, const float *bias,
                                    const float *theta, const rn_rate_step *s, int t0, int t1);
rn_status rn_cuda_rate_backward_coop(rn_backend *be, float *lam, float *e, float *acc_tau,
                                     float *acc_bias, float *acc_theta, float *dscr, const float *g,
                                     const float *x, const float *a, const float *x_init,
                                     const float *e_next, const float *w, const float *tau,
                                     const float *theta, const rn_rate_step *s, int t0, int t1);
bool rn_cuda_rate_seq_fits(rn_backend *be, int batch, int n, bool recurrent);
const char *rn_cuda_rate_seq_path(rn_backend *be, int batch, int n, bool recurrent);
rn_status rn_cuda_rate_forward_seq(rn_backend *be, float *x, float *out, float *r,
                                   const float *x_init, const float *a_init, const float *in,
                                   const float *w, const float *tau, const float *bias,
                                   const float *theta, const rn_rate_step *s, int t0, int t1);
rn_status rn_cuda_rate_backward_seq(rn_backend *be, float *lam, float *e, float *acc_tau,
                                    float *acc_bias, float *acc_theta, float *dscr, const float *g,
                                    const float *x, const float *a, const float *x_init,
                                    const float *e_next, const float *w, const float *tau,
                                    const float *theta, const rn_rate_step *s, int t0, int t1);
rn_status rn_cuda_shift_rows(rn_backend *be, float *dst, const float *src, int src_steps,
                             const float *first, int batch, int steps, int n);

rn_status rn_cuda_filter_forward(rn_backend *be, float *y, const float *u, const float *tau,
                                 const float *init, const float *prev, int batch, int steps,
                                 int channels, float dt);
rn_status rn_cuda_filter_backward(rn_backend *be, float *du, float *acc_dp, float *acc_dinit,
                                  float *mu, const float *g, const float *y, const float *u,
                                  const float *tau, const float *init, const float *prev, int batch,
                                  int steps, int channels, float dt);
rn_status rn_cuda_filter_param_grads(rn_backend *be, float *dtau, float *dinit, const float *acc_dp,
                                     const float *acc_dinit, const float *tau, int batch,
                                     int channels, float dt);

rn_status rn_cuda_mse(rn_backend *be, double *mse, float *dy, const float *y, const float *target,
                      size_t target_stride, const float *mask, size_t mask_stride, int batch,
                      int steps, int channels, float weight);
rn_status rn_cuda_bounds(rn_backend *be, double *cost, float *grad, const float *p, const float *lo,
                         const float *hi, size_t n, float weight);
rn_status rn_cuda_l2(rn_backend *be, double *cost, float *grad, const float *w, size_t n,
                     float weight);

rn_status rn_cuda_sum_squares(rn_backend *be, double *out, const float *g, const uint8_t *mask,
                              size_t n);
rn_status rn_cuda_adam(rn_backend *be, float *p, float *m, float *v, const float *g,
                       const uint8_t *mask, const double *scalars, size_t n,
                       const rn_optim_step *s);
rn_status rn_cuda_sgd(rn_backend *be, float *p, const float *g, const uint8_t *mask,
                      const double *scalars, size_t n, const rn_optim_step *s);
rn_status rn_cuda_clip_bounds(rn_backend *be, float *p, const float *lo, const float *hi,
                              const uint8_t *mask, size_t n);
rn_status rn_cuda_fill(rn_backend *be, float *dst, float value, size_t n);

#ifdef __cplusplus
}
#endif
#endif
