/* CPU mirror of kernels/rate_seq.cu: the rate layer's whole time loop in one call, trial by trial
 * (each trial's state, W_rec and its transpose stay in cache; trials are independent, so they run
 * on the machine's cores), with the step entries' arithmetic row for row: the same bits as the
 * step path (small_gemm.h gives the recurrent product the same summation order there). */
#include "cpu_ops.h"
#include "small_gemm.h"

/* Trials over the cores where the build has OpenMP (a plain loop otherwise: the same numbers). */
#ifdef _OPENMP
#define RN_FOR_TRIALS _Pragma("omp parallel for schedule(static) if (B > 1)")
#else
#define RN_FOR_TRIALS
#endif

bool rn_cpu_rate_seq_fits(rn_backend *be, int batch, int n, bool recurrent) {
    return n <= RN_SMALL_GEMM_MAX;
}

rn_status rn_cpu_rate_forward_seq(rn_backend *be, float *x, float *out, float *r,
                                  const float *x_init, const float *a_init, const float *in,
                                  const float *w, const float *tau, const float *bias,
                                  const float *theta, const rn_rate_step *s, int t0, int t1) {
    const int B = s->batch, N = s->n, ld = s->ld;
    RN_FOR_TRIALS
    for (int b = 0; b < B; b++) {
        rn_rate_step st = *s;
        for (int t = t0; t < t1; t++) {
            const size_t off = (size_t)t * N;
            const float *a_prev = t > 0 ? out + off - N : a_init;
            const float *x_prev = t > 0 ? x + off - N : x_init;
            st.ld_prev = t > 0 ? ld : N;
            st.t = t;
            if (w) /* r_t = a_{t−1} · W_rec for this trial's row */
                rn_small_gemm(1, N, N, 1.0f, a_prev + (size_t)b * st.ld_prev, st.ld_prev, w, N,
                              0.0f, r + off + (size_t)b * ld, ld);
            rn_cpu_rate_forward_row(b, x + off, out + off, x_prev, in + off, w ? r + off : NULL,
                                    tau, bias, theta, &st);
        }
    }
    return RN_OK;
}

rn_status rn_cpu_rate_backward_seq(rn_backend *be, float *lam, float *e, float *acc_tau,
                                   float *acc_bias, float *acc_theta, float *dscr, const float *g,
                                   const float *x, const float *a, const float *x_init,
                                   const float *w, const float *tau, const float *theta,
                                   const rn_rate_step *s, int t0, int t1) {
    const int B = s->batch, N = s->n, ld = s->ld, T = s->steps;
    float wt[RN_SMALL_GEMM_MAX * RN_SMALL_GEMM_MAX]; /* W_recᵀ, as the step path's gemm makes it */
    if (w) rn_small_transpose(N, N, w, N, wt);
    RN_FOR_TRIALS
    for (int b = 0; b < B; b++) {
        rn_rate_step st = *s;
        for (int t = t1 - 1; t >= t0; t--) {
            const size_t off = (size_t)t * N;
            const float *d = NULL;
            if (w && t < T - 1) { /* d_t = e_{t+1} · W_recᵀ for this trial's row */
                rn_small_gemm(1, N, N, 1.0f, e + off + N + (size_t)b * ld, ld, wt, N, 0.0f,
                              dscr + (size_t)b * N, N);
                d = dscr;
            }
            st.ld_prev = t > 0 ? ld : N;
            st.t = t;
            rn_cpu_rate_backward_row(b, lam, e + off, acc_tau, acc_bias, acc_theta, g + off, d,
                                     x + off, a + off, t > 0 ? x + off - N : x_init, tau, theta,
                                     &st);
        }
    }
    return RN_OK;
}
