/* Internal: the CPU backend's operations, one C function per entry of rn_backend_ops. Each is the
 * mirror of the CUDA launcher of the same stem in kernels/ (see src/backend_impl.h for the
 * contracts). */
#ifndef RATENN_CPU_OPS_H
#define RATENN_CPU_OPS_H

#include "backend_impl.h"

rn_status rn_cpu_bias_add(rn_backend *be, float *y, const float *bias, int rows, int cols);
rn_status rn_cpu_bias_grad(rn_backend *be, float *dbias, const float *g, int rows, int cols);

rn_status rn_cpu_rate_init(rn_backend *be, float *x_init, float *a_init, const float *x0,
                           const float *theta, int activation, int batch, int n);
/* One trial's row of rate_forward_step / rate_backward_step (the pointers as there): the step
 * entries loop over trials, the whole-sequence entries over steps, with the same arithmetic. */
/* xi (NULL: drawn here) holds the trial's standard normals ξ at the positions of x (row stride ld),
 * drawn beforehand by rn_cpu_rate_noise; x may be xi (each ξ is read before its x is written). */
void rn_cpu_rate_forward_row(int b, float *x, float *out, const float *x_prev, const float *in,
                             const float *rec, const float *tau, const float *bias,
                             const float *theta, const float *xi, const rn_rate_step *s);
/* z[j] = ξ of trial b, neuron i0 + j (j < count) at step s->t (SPEC §6); i0 a multiple of 4. */
void rn_cpu_rate_noise(float *z, const rn_rate_step *s, int b, int i0, int count);
void rn_cpu_rate_backward_row(int b, float *lam, float *e, float *acc_tau, float *acc_bias,
                              float *acc_theta, const float *g, const float *d, const float *x,
                              const float *a, const float *x_prev, const float *tau,
                              const float *theta, const rn_rate_step *s);
bool rn_cpu_rate_seq_fits(rn_backend *be, int batch, int n, bool recurrent);
rn_status rn_cpu_rate_forward_seq(rn_backend *be, float *x, float *out, float *r,
                                  const float *x_init, const float *a_init, const float *in,
                                  const float *w, const float *tau, const float *bias,
                                  const float *theta, const rn_rate_step *s, int t0, int t1);
rn_status rn_cpu_rate_backward_seq(rn_backend *be, float *lam, float *e, float *acc_tau,
                                   float *acc_bias, float *acc_theta, float *dscr, const float *g,
                                   const float *x, const float *a, const float *x_init,
                                   const float *e_next, const float *w, const float *tau,
                                   const float *theta, const rn_rate_step *s, int t0, int t1);
rn_status rn_cpu_rate_forward_step(rn_backend *be, float *x, float *out, const float *x_prev,
                                   const float *in, const float *rec, const float *tau,
                                   const float *bias, const float *theta, const rn_rate_step *s);
rn_status rn_cpu_rate_backward_step(rn_backend *be, float *lam, float *e, float *acc_tau,
                                    float *acc_bias, float *acc_theta, const float *g,
                                    const float *d, const float *x, const float *a,
                                    const float *x_prev, const float *tau, const float *theta,
                                    const rn_rate_step *s);
rn_status rn_cpu_rate_backward_init(rn_backend *be, float *lam, float *acc_theta, const float *d,
                                    const float *x0, const float *tau, const float *theta,
                                    const rn_rate_step *s);
rn_status rn_cpu_rate_param_grads(rn_backend *be, float *dtau, float *dbias, float *dtheta,
                                  float *dx0, const float *acc_tau, const float *acc_bias,
                                  const float *acc_theta, const float *lam, const float *tau,
                                  int batch, int n);
rn_status rn_cpu_shift_rows(rn_backend *be, float *dst, const float *src, int src_steps,
                            const float *first, int batch, int steps, int n);

rn_status rn_cpu_filter_forward(rn_backend *be, float *y, const float *u, const float *tau,
                                const float *init, const float *prev, int batch, int steps,
                                int channels, float dt);
rn_status rn_cpu_filter_backward(rn_backend *be, float *du, float *acc_dp, float *acc_dinit,
                                 float *mu, const float *g, const float *y, const float *u,
                                 const float *tau, const float *init, const float *prev, int batch,
                                 int steps, int channels, float dt);
rn_status rn_cpu_filter_param_grads(rn_backend *be, float *dtau, float *dinit, const float *acc_dp,
                                    const float *acc_dinit, const float *tau, int batch,
                                    int channels, float dt);

rn_status rn_cpu_mse(rn_backend *be, double *mse, float *dy, const float *y, const float *target,
                     size_t target_stride, const float *mask, size_t mask_stride, int batch,
                     int steps, int channels, float weight);
rn_status rn_cpu_bounds(rn_backend *be, double *cost, float *grad, const float *p, const float *lo,
                        const float *hi, size_t n, float weight);
rn_status rn_cpu_l2(rn_backend *be, double *cost, float *grad, const float *w, size_t n,
                    float weight);

rn_status rn_cpu_sum_squares(rn_backend *be, double *out, const float *g, const uint8_t *mask,
                             size_t n);
rn_status rn_cpu_adam(rn_backend *be, float *p, float *m, float *v, const float *g,
                      const uint8_t *mask, const double *scalars, size_t n, const rn_optim_step *s);
rn_status rn_cpu_sgd(rn_backend *be, float *p, const float *g, const uint8_t *mask,
                     const double *scalars, size_t n, const rn_optim_step *s);
rn_status rn_cpu_clip_bounds(rn_backend *be, float *p, const float *lo, const float *hi,
                             const uint8_t *mask, size_t n);

#endif
