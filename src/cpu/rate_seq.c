/* CPU mirror of kernels/rate_seq.cu: the rate layer's whole time loop in one call, trial by trial
 * (each trial's state, W_rec and its transpose stay in cache; trials are independent, so they run
 * on the machine's cores), with the step entries' arithmetic row for row: the same bits as the
 * step path (simd.h gives the recurrent product the same summation order there). */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "cpu_ops.h"
#include "simd.h"

/* Trials over the cores where the build has OpenMP (a plain loop otherwise: the same numbers), for
 * calls of at least RN_PARALLEL_MIN elements (B·T·N): after a parallel region OpenMP's threads
 * spin for a while, which costs more than a small call gains on a busy machine. */
#define RN_PARALLEL_MIN 65536
#ifdef _OPENMP
#include <dlfcn.h>
#include <omp.h>
#define RN_FOR_TRIALS _Pragma("omp parallel for schedule(static) if (parallel)")
#define RN_FOR_ROWS _Pragma("omp parallel for schedule(static)")
static int cpu_threads(void) {
    return omp_get_max_threads();
}
/* After a short parallel region, lets OpenMP's threads go: left spinning (libgomp spins for some
 * milliseconds), they take the core OpenBLAS's own threads need for the next products, which then
 * wait a scheduler time slice each (the tutorial's epoch took 12 ms instead of 1.6). */
static void rn_cpu_release_threads(void) {
    /* OpenMP 5.0, looked up rather than linked: torch's wheels bundle an older libgomp under the
     * same soname, and a process that loaded it first could not load this library otherwise. */
    int (*pause_all)(omp_pause_resource_t);
    *(void **)&pause_all = dlsym(RTLD_DEFAULT, "omp_pause_resource_all");
    if (pause_all) pause_all(omp_pause_soft);
}
#else
#define RN_FOR_TRIALS
#define RN_FOR_ROWS
static int cpu_threads(void) {
    return 1;
}
static void rn_cpu_release_threads(void) {}
#endif

bool rn_cpu_rate_seq_fits(rn_backend *be, int batch, int n, bool recurrent) {
    return n <= RN_SMALL_GEMM_MAX;
}

rn_status rn_cpu_rate_forward_seq(rn_backend *be, float *x, float *out, float *r,
                                  const float *x_init, const float *a_init, const float *in,
                                  const float *w, const float *tau, const float *bias,
                                  const float *theta, const rn_rate_step *s, int t0, int t1) {
    const int B = s->batch, N = s->n, ld = s->ld;
    const bool big = (double)B * (t1 - t0) * N >= RN_PARALLEL_MIN, parallel = big && B > 1;
    (void)parallel;                                  /* (read by OpenMP only) */
    float wp[RN_SMALL_GEMM_MAX * RN_SMALL_GEMM_MAX]; /* W_rec, rows padded to whole vectors */
    if (w) rn_small_pack(N, N, w, N, false, wp);
    /* With fewer trials than cores, the noise (independent of the state) is drawn first, for all
     * steps on all cores, into x, where the loop reads each ξ before it writes that x. */
    const bool predraw = s->noise_scale != 0.0f && big && B < cpu_threads();
    if (predraw) {
        const long steps = t1 - t0, rows = (long)B * steps;
        RN_FOR_ROWS
        for (long row = 0; row < rows; row++) {
            const int b = (int)(row / steps), t = t0 + (int)(row % steps);
            rn_rate_step st = *s;
            st.t = t;
            rn_cpu_rate_noise(x + (size_t)t * N + (size_t)b * ld, &st, b, 0, N);
        }
        rn_cpu_release_threads();
    }
    RN_FOR_TRIALS
    for (int b = 0; b < B; b++) {
        rn_rate_step st = *s;
        for (int t = t0; t < t1; t++) {
            const size_t off = (size_t)t * N;
            const float *a_prev = t > t0 ? out + off - N : a_init;
            const float *x_prev = t > t0 ? x + off - N : x_init;
            st.ld_prev = t > t0 ? ld : N;
            st.t = t;
            if (w) /* r_t = a_{t−1} · W_rec for this trial's row */
                rn_small_gemm_padded(1, N, N, a_prev + (size_t)b * st.ld_prev, st.ld_prev, wp,
                                     r + off + (size_t)b * ld, ld);
            rn_cpu_rate_forward_row(b, x + off, out + off, x_prev, in + off, w ? r + off : NULL,
                                    tau, bias, theta, predraw ? x + off : NULL, &st);
        }
    }
    return RN_OK;
}

rn_status rn_cpu_rate_backward_seq(rn_backend *be, float *lam, float *e, float *acc_tau,
                                   float *acc_bias, float *acc_theta, float *dscr, const float *g,
                                   const float *x, const float *a, const float *x_init,
                                   const float *e_next, const float *w, const float *tau,
                                   const float *theta, const rn_rate_step *s, int t0, int t1) {
    const int B = s->batch, N = s->n, ld = s->ld, T = s->steps;
    const bool parallel = B > 1 && (double)B * (t1 - t0) * N >= RN_PARALLEL_MIN;
    (void)parallel;                                  /* (read by OpenMP only) */
    float wt[RN_SMALL_GEMM_MAX * RN_SMALL_GEMM_MAX]; /* W_recᵀ, rows padded to whole vectors */
    if (w) rn_small_pack(N, N, w, N, true, wt);
    RN_FOR_TRIALS
    for (int b = 0; b < B; b++) {
        rn_rate_step st = *s;
        for (int t = t1 - 1; t >= t0; t--) {
            const size_t off = (size_t)t * N;
            const float *d = NULL;
            if (w && t < T - 1) { /* d_t = e_{t+1} · W_recᵀ: e_{t1} from the newer segment */
                const float *en =
                    t + 1 < t1 ? e + off + N + (size_t)b * ld : e_next + (size_t)b * N;
                rn_small_gemm_padded(1, N, N, en, ld, wt, dscr + (size_t)b * N, N);
                d = dscr;
            }
            st.ld_prev = t > t0 ? ld : N;
            st.t = t;
            rn_cpu_rate_backward_row(b, lam, e + off, acc_tau, acc_bias, acc_theta, g + off, d,
                                     x + off, a + off, t > t0 ? x + off - N : x_init, tau, theta,
                                     &st);
        }
    }
    return RN_OK;
}
