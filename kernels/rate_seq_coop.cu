/* Path "cooperative" of the whole-sequence entries (rate_seq.cu chooses it): a recurrent layer too
 * large for one CTA's shared memory (N above about 240) and up to RN_COOP_MAX_N. One cooperative
 * grid of at most one CTA per multiprocessor walks every step; CTA k holds the columns
 * [k·cs, (k+1)·cs) of W_rec (the adjoint: those rows) in shared memory, transposed so that a warp
 * reads consecutive words. Per step and chunk of trials it stages a_{t−1} (the adjoint: e_{t+1})
 * of every neuron from global memory (L2: written by the other CTAs in the step before, read with
 * __ldcg past the non-coherent L1), computes its columns' recurrent sums one warp per output
 * (a fixed order: lane partial sums, then a shuffle tree), then the per-element step of its columns
 * with rn_math.h's functions, as the step kernels do (the noise terms are in x already: rate_seq.cu
 * writes them before the launch). A grid barrier ends each step. λ and the accumulators stay in
 * global memory (each element has one owner thread, every step). */
#include <cooperative_groups.h>

#include "cuda_common.cuh"

namespace cg = cooperative_groups;

#define RN_COOP_WARPS (RN_COOP_THREADS / 32)

/* Σ_i u[i] · v[i] over i < n by the 32 lanes of a warp (two partial sums a lane, then a fixed
 * tree); the result is valid in lane 0. */
__device__ static inline float coop_warp_dot(const float *u, const float *v, int n, int lane) {
    float p0 = 0.0f, p1 = 0.0f;
    int i = lane;
    for (; i + 32 < n; i += 64) {
        p0 = __fmaf_rn(u[i], v[i], p0);
        p1 = __fmaf_rn(u[i + 32], v[i + 32], p1);
    }
    for (; i < n; i += 32)
        p0 = __fmaf_rn(u[i], v[i], p0);
    float s = p0 + p1;
    for (int off = 16; off > 0; off >>= 1)
        s += __shfl_down_sync(0xffffffffu, s, off);
    return s;
}

__global__ static void __launch_bounds__(RN_COOP_THREADS)
    rate_forward_coop_kernel(float *x, float *out, float *r, const float *x_init,
                             const float *a_init, const float *in, const float *w, const float *tau,
                             const float *bias, const float *theta, rn_rate_step s, int t0, int t1,
                             rn_coop_plan p) {
    extern __shared__ float sm[];
    cg::grid_group grid = cg::this_grid();
    const int N = s.n, B = s.batch, cs = p.cs, j0 = (int)blockIdx.x * cs;
    const int cols = N - j0 < cs ? N - j0 : cs; /* >= 1: blocks = ceil(N / cs) */
    const size_t ld = (size_t)s.ld;
    float *wt = sm;                    /* wt[jj·N + i] = W_rec[i, j0 + jj] */
    float *as = sm + (size_t)cs * N;   /* as[bb·N + i] = a_{t−1}[b0 + bb, i] */
    float *rs = as + (size_t)p.bc * N; /* rs[bb·cs + jj] = r_t[b0 + bb, j0 + jj] */
    const int tid = (int)threadIdx.x, lane = tid & 31, warp = tid >> 5;
    for (int k = tid; k < cols * N; k += RN_COOP_THREADS) {
        const int i = k / cols, jj = k % cols;
        wt[(size_t)jj * N + i] = w[(size_t)i * N + j0 + jj];
    }
    const bool noise = s.noise_scale != 0.0f;
    __syncthreads();

    for (int t = t0; t < t1; t++) {
        for (int b0 = 0; b0 < B; b0 += p.bc) { /* the same chunks in every CTA */
            const int nb = B - b0 < p.bc ? B - b0 : p.bc;
            for (int k = tid; k < nb * N; k += RN_COOP_THREADS) {
                const size_t b = (size_t)(b0 + k / N), i = (size_t)(k % N);
                as[k] = t > t0 ? __ldcg(out + b * ld + (size_t)(t - 1) * N + i) : a_init[b * N + i];
            }
            __syncthreads();
            for (int o = warp; o < nb * cols; o += RN_COOP_WARPS) { /* whole warps: uniform */
                const int bb = o / cols, jj = o % cols;
                const float v = coop_warp_dot(as + (size_t)bb * N, wt + (size_t)jj * N, N, lane);
                if (lane == 0) rs[bb * cs + jj] = v;
            }
            __syncthreads();
            for (int o = tid; o < nb * cols; o += RN_COOP_THREADS) {
                const int bb = o / cols, jj = o % cols, b = b0 + bb, j = j0 + jj;
                const size_t row = (size_t)b * ld + (size_t)t * N + j;
                const float nz = noise ? x[row] : 0.0f; /* rate_seq.cu's noise_seq put it there */
                const float xp = t > t0 ? x[row - N] : x_init[(size_t)b * N + j]; /* own column */
                const float rec = rs[bb * cs + jj];
                /* rn_rate_forward_elem's arithmetic */
                const float xv = rn_rate_euler(xp, s.dt / tau[j], in[row], nz, bias[j], rec);
                x[row] = xv;
                out[row] = rn_act(s.activation, xv - theta[j]);
                r[row] = rec;
            }
            __syncthreads(); /* as and rs are the next chunk's */
        }
        grid.sync(); /* a_t of every neuron is written before any CTA reads it */
    }
}

__global__ static void __launch_bounds__(RN_COOP_THREADS)
    rate_backward_coop_kernel(float *lam, float *e, float *acc_tau, float *acc_bias,
                              float *acc_theta, float *dscr, const float *g, const float *x,
                              const float *a, const float *x_init, const float *e_next,
                              const float *w, const float *tau, const float *theta, rn_rate_step s,
                              int t0, int t1, rn_coop_plan p) {
    extern __shared__ float sm[];
    cg::grid_group grid = cg::this_grid();
    const int N = s.n, B = s.batch, T = s.steps, cs = p.cs, j0 = (int)blockIdx.x * cs;
    const int cols = N - j0 < cs ? N - j0 : cs;
    const size_t ld = (size_t)s.ld;
    float *wr = sm;                  /* wr[jj·N + i] = W_rec[j0 + jj, i]: d_j = Σ_i e_i W[j, i] */
    float *es = sm + (size_t)cs * N; /* es[bb·N + i] = e_{t+1}[b0 + bb, i] */
    float *ds = es + (size_t)p.bc * N; /* ds[bb·cs + jj] = d_t[b0 + bb, j0 + jj] */
    const int tid = (int)threadIdx.x, lane = tid & 31, warp = tid >> 5;
    for (int k = tid; k < cols * N; k += RN_COOP_THREADS)
        wr[k] = w[(size_t)j0 * N + k]; /* rows j0 .. j0 + cols − 1 of W_rec, contiguous */
    __syncthreads();

    for (int t = t1 - 1; t >= t0; t--) {
        const bool with_d = t < T - 1; /* the same in every CTA */
        for (int b0 = 0; b0 < B; b0 += p.bc) {
            const int nb = B - b0 < p.bc ? B - b0 : p.bc;
            if (with_d) {
                for (int k = tid; k < nb * N; k += RN_COOP_THREADS) {
                    const size_t b = (size_t)(b0 + k / N), i = (size_t)(k % N);
                    es[k] = t + 1 < t1 ? __ldcg(e + b * ld + (size_t)(t + 1) * N + i)
                                       : e_next[b * N + i]; /* e_{t1}: the newer segment's */
                }
                __syncthreads();
                for (int o = warp; o < nb * cols; o += RN_COOP_WARPS) {
                    const int bb = o / cols, jj = o % cols;
                    const float v =
                        coop_warp_dot(es + (size_t)bb * N, wr + (size_t)jj * N, N, lane);
                    if (lane == 0) ds[bb * cs + jj] = v;
                }
                __syncthreads();
            }
            for (int o = tid; o < nb * cols; o += RN_COOP_THREADS) {
                const int bb = o / cols, jj = o % cols, b = b0 + bb, j = j0 + jj;
                const size_t k = (size_t)b * N + j, row = (size_t)b * ld + (size_t)t * N + j;
                const float d = with_d ? ds[bb * cs + jj] : 0.0f;
                const float alpha = s.dt / tau[j], xv = x[row];
                const float xp = t > t0 ? x[row - N] : x_init[k];
                /* rn_rate_backward_elem's arithmetic */
                float fd;
                const float l = rn_rate_adjoint(
                    lam[k], alpha, rn_act_grad_out(s.activation, xv - theta[j], a[row]), g[row], d,
                    &fd);
                const float ev = alpha * l;
                lam[k] = l;
                e[row] = ev;
                acc_tau[k] += l * (xv - xp);
                acc_bias[k] += ev;
                acc_theta[k] += fd;
                if (with_d && t == t0) dscr[k] = d; /* as the CPU mirror leaves it */
            }
            __syncthreads(); /* es and ds are the next chunk's */
        }
        grid.sync(); /* e_t of every neuron is written before any CTA reads it */
    }
}

extern "C" rn_status rn_cuda_rate_coop_setup(rn_backend *be, int optin) {
    rn_cuda_ctx *c = rn_ctx(be);
    int coop = 0;
    rn_status st =
        rn_cuda_check(be, cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, c->device),
                      "cooperative launch attribute");
    if (st != RN_OK) return st;
    const void *kernels[2] = {(const void *)rate_forward_coop_kernel,
                              (const void *)rate_backward_coop_kernel};
    size_t smem = (size_t)optin;
    for (int i = 0; i < 2; i++) {
        struct cudaFuncAttributes fa;
        if ((st = rn_cuda_check(be, cudaFuncGetAttributes(&fa, kernels[i]),
                                "cooperative rate kernel attributes")) != RN_OK)
            return st;
        const size_t dyn = (size_t)optin > fa.sharedSizeBytes ? optin - fa.sharedSizeBytes : 0;
        if ((st = rn_cuda_check(be,
                                cudaFuncSetAttribute(kernels[i],
                                                     cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                     (int)dyn),
                                "cooperative rate kernel shared memory")) != RN_OK)
            return st;
        if (dyn < smem) smem = dyn;
        if (fa.maxThreadsPerBlock < RN_COOP_THREADS) coop = 0;
    }
    /* A plan's grid (at most one CTA per multiprocessor) is resident at once only if a CTA with the
     * most shared memory a plan asks for fits on a multiprocessor beside the reserved shared memory;
     * cudaLaunchCooperativeKernel would refuse it otherwise, mid-training, with no step fallback. */
    for (int i = 0; i < 2 && coop; i++) {
        int per_sm = 0;
        if ((st = rn_cuda_check(be,
                                cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                                    &per_sm, kernels[i], RN_COOP_THREADS, smem),
                                "cooperative rate kernel occupancy")) != RN_OK)
            return st;
        if (per_sm < 1) coop = 0;
    }
    c->seq.coop = coop != 0;
    c->seq.coop_smem = smem;
    return RN_OK;
}

extern "C" bool rn_cuda_rate_coop_fits(rn_backend *be, int batch, int n, bool recurrent) {
    rn_coop_plan p;
    return rn_coop_plan_for(&rn_ctx(be)->seq, batch, n, recurrent, &p);
}

extern "C" rn_status rn_cuda_rate_forward_coop(rn_backend *be, float *x, float *out, float *r,
                                               const float *x_init, const float *a_init,
                                               const float *in, const float *w, const float *tau,
                                               const float *bias, const float *theta,
                                               const rn_rate_step *s, int t0, int t1) {
    rn_coop_plan p;
    if (!rn_coop_plan_for(&rn_ctx(be)->seq, s->batch, s->n, w != NULL, &p))
        return rn_fail(&be->err, RN_ERR_INVALID_ARG,
                       "rate_forward_seq (cooperative): a layer of %d neurons on %d trials does "
                       "not fit",
                       s->n, s->batch);
    rn_rate_step st = *s;
    void *args[] = {&x,   &out,  &r,     &x_init, &a_init, &in, &w,
                    &tau, &bias, &theta, &st,     &t0,     &t1, &p};
    return rn_cuda_check(be,
                         cudaLaunchCooperativeKernel(
                             (const void *)rate_forward_coop_kernel, dim3((unsigned)p.blocks),
                             dim3(RN_COOP_THREADS), args, p.smem, rn_stream(be)),
                         "rate_forward_seq (cooperative) launch");
}

extern "C" rn_status rn_cuda_rate_backward_coop(rn_backend *be, float *lam, float *e,
                                                float *acc_tau, float *acc_bias, float *acc_theta,
                                                float *dscr, const float *g, const float *x,
                                                const float *a, const float *x_init,
                                                const float *e_next, const float *w,
                                                const float *tau, const float *theta,
                                                const rn_rate_step *s, int t0, int t1) {
    rn_coop_plan p;
    if (!rn_coop_plan_for(&rn_ctx(be)->seq, s->batch, s->n, w != NULL, &p))
        return rn_fail(&be->err, RN_ERR_INVALID_ARG,
                       "rate_backward_seq (cooperative): a layer of %d neurons on %d trials does "
                       "not fit",
                       s->n, s->batch);
    rn_rate_step st = *s;
    void *args[] = {&lam,    &e,      &acc_tau, &acc_bias, &acc_theta, &dscr, &g,  &x,  &a,
                    &x_init, &e_next, &w,       &tau,      &theta,     &st,   &t0, &t1, &p};
    return rn_cuda_check(be,
                         cudaLaunchCooperativeKernel(
                             (const void *)rate_backward_coop_kernel, dim3((unsigned)p.blocks),
                             dim3(RN_COOP_THREADS), args, p.smem, rn_stream(be)),
                         "rate_backward_seq (cooperative) launch");
}
