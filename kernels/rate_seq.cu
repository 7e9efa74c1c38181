/* CUDA twin of src/cpu/rate_seq.c: the rate layer's whole time loop in one launch per direction.
 *
 * Path "persistent-smem" (a layer whose W_rec fits in one CTA's shared memory, N up to about 240
 * on an H100): one CTA holds W_rec (the adjoint: W_recᵀ) and a group of trials' state in shared
 * memory and walks every step with one block barrier per step. Per step, ks threads per neuron j
 * split the recurrent product's sum (i = c, c + ks, ...; four interleaved partial sums each, then a
 * fixed shuffle tree), and the first of them does the step entries' per-element arithmetic
 * (rn_math.h's functions, the same calls in the same order: the fused path differs from the step
 * path only in the summation order of the recurrent product, cuBLAS's there, this fixed one here).
 * With noise on, a parallel kernel first writes every step's noise term into x (rate_noise.cuh,
 * the step kernel's function; x is the forward's output, each element read by its step before the
 * step writes it), so that the Philox and Box-Muller latency stays off the recurrence's critical
 * path. Nothing is summed with atomics; every sum has one order, so reruns are bit-identical and
 * the result does not depend on the block size.
 *
 * Path "cooperative" (rate_seq_coop.cu): a recurrent layer too large for that, up to RN_COOP_MAX_N.
 *
 * Any other size takes path "step": the entries then drive the step entries (cuBLAS per step) and
 * rate_seq_fits says no, so that the trainer does the same itself. */
#include <string.h>

#include "cuda_common.cuh"
#include "rate_noise.cuh"

/* Σ_i v[i] · m[i·ldw + j] over i = c, c + ks, ... < n: four interleaved partial sums, then a fixed
 * tree (one order for given n and ks). */
__device__ static inline float seq_dot(const float *v, const float *m, int n, int ldw, int j, int c,
                                       int ks) {
    float p0 = 0.0f, p1 = 0.0f, p2 = 0.0f, p3 = 0.0f;
    const int step = ks * ldw; /* shared-memory offsets: ints */
    const float *mp = m + c * ldw + j;
    int i = c;
    for (; i + 3 * ks < n; i += 4 * ks, mp += 4 * step) {
        p0 = __fmaf_rn(v[i], mp[0], p0);
        p1 = __fmaf_rn(v[i + ks], mp[step], p1);
        p2 = __fmaf_rn(v[i + 2 * ks], mp[2 * step], p2);
        p3 = __fmaf_rn(v[i + 3 * ks], mp[3 * step], p3);
    }
    for (; i < n; i += ks, mp += step)
        p0 = __fmaf_rn(v[i], mp[0], p0);
    return (p0 + p1) + (p2 + p3);
}

/* The ks partial sums of neuron j (adjacent lanes, aligned to ks) into its first lane, in a fixed
 * tree. Every lane of the warp calls it. */
__device__ static inline float seq_lane_sum(float v, int ks) {
    for (int off = ks / 2; off > 0; off >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, off);
    return v;
}

/* Forward over steps [t0, t1) (the contract of rate_forward_seq in backend_impl.h). Shared memory:
 * W_rec (n × ldw) and a_{t−1} of the group's trials in two buffers (step t reads buffer t & 1 and
 * writes the other). With noise on, x holds the step's noise term on entry (noise_seq):
 * the owner reads it, a step ahead like `in`, before it writes x there. */
__global__ static void __launch_bounds__(RN_MAX_THREADS)
    rate_forward_seq_kernel(float *x, float *out, float *r, const float *x_init,
                            const float *a_init, const float *in, const float *w, const float *tau,
                            const float *bias, const float *theta, rn_rate_step s, int t0, int t1,
                            rn_seq_plan p) {
    extern __shared__ float sm[];
    const int N = s.n, G = p.group;
    const size_t ld = (size_t)s.ld;
    float *ws = sm;                                 /* ws[i·ldw + j] = W_rec[i, j] */
    float *abuf = sm + (w ? (size_t)N * p.ldw : 0); /* [buffer][g][i] */
    const int tid = (int)threadIdx.x, nthr = (int)blockDim.x, b0 = (int)blockIdx.x * G;

    if (w)
        for (int k = tid; k < N * N; k += nthr)
            ws[(size_t)(k / N) * p.ldw + k % N] = w[k];
    for (int k = tid; k < G * N; k += nthr) { /* a_{t0−1} into buffer t0 & 1 */
        const int gg = k / N, i = k % N, bb = b0 + gg;
        float v = 0.0f;
        if (bb < s.batch) v = a_init[(size_t)bb * N + i];
        abuf[(size_t)(t0 & 1) * G * N + k] = v;
    }

    const bool noise = s.noise_scale != 0.0f;
    const rn_seq_role me = rn_seq_role_of(&p, tid, (int)blockIdx.x, N, s.batch);
    const size_t rowb = me.owner ? (size_t)me.b * ld + me.j : 0;
    float alpha = 0.0f, bj = 0.0f, thj = 0.0f, xr = 0.0f, in_next = 0.0f, nz_next = 0.0f;
    if (me.owner) {
        alpha = s.dt / tau[me.j];
        bj = bias[me.j];
        thj = theta[me.j];
        xr = x_init[(size_t)me.b * N + me.j];
        if (t0 < t1) {
            in_next = in[rowb + (size_t)t0 * N];
            if (noise) nz_next = x[rowb + (size_t)t0 * N];
        }
    }
    __syncthreads();

    for (int t = t0; t < t1; t++) {
        const int cur = t & 1, nxt = cur ^ 1;
        if (me.compute) {
            float rec = 0.0f;
            if (w) { /* r_t = a_{t−1} · W_rec; the whole warp takes part in the shuffle */
                const float *av = abuf + (size_t)cur * G * N + (size_t)me.g * N;
                rec = me.live ? seq_dot(av, ws, N, p.ldw, me.j, me.c, p.ks) : 0.0f;
                rec = seq_lane_sum(rec, p.ks);
            }
            if (me.owner) {
                const size_t row = rowb + (size_t)t * N;
                const float in_cur = in_next, nz = nz_next;
                if (t + 1 < t1) { /* a step ahead */
                    in_next = in[row + N];
                    if (noise) nz_next = x[row + N];
                }
                /* rn_rate_forward_elem's arithmetic, with x_{t−1} from a register */
                const float xv = rn_rate_euler(xr, alpha, in_cur, nz, bj, rec);
                const float av = rn_act(s.activation, xv - thj);
                x[row] = xv;
                out[row] = av;
                if (w) r[row] = rec;
                abuf[(size_t)nxt * G * N + (size_t)me.g * N + me.j] = av;
                xr = xv;
            }
        }
        __syncthreads();
    }
}

/* Adjoint over steps [t0, t1), newest first (the contract of rate_backward_seq). Shared memory:
 * W_recᵀ (wts[i·ldw + j] = W_rec[j, i], so that d_j = Σ_i e_i W_rec[j, i] reads like the forward)
 * and e of the group's trials in two buffers (e_t in buffer t & 1). λ and the accumulators stay in
 * the owner's registers and go back to memory at the end. */
__global__ static void __launch_bounds__(RN_MAX_THREADS)
    rate_backward_seq_kernel(float *lam, float *e, float *acc_tau, float *acc_bias,
                             float *acc_theta, float *dscr, const float *g, const float *x,
                             const float *a, const float *x_init, const float *e_next,
                             const float *w, const float *tau, const float *theta, rn_rate_step s,
                             int t0, int t1, rn_seq_plan p) {
    extern __shared__ float sm[];
    const int N = s.n, G = p.group, T = s.steps;
    const size_t ld = (size_t)s.ld;
    float *wts = sm;
    float *ebuf = sm + (w ? (size_t)N * p.ldw : 0); /* [buffer][g][i] */
    const int tid = (int)threadIdx.x, nthr = (int)blockDim.x, b0 = (int)blockIdx.x * G;

    if (w) {
        for (int k = tid; k < N * N; k += nthr)
            wts[(size_t)(k % N) * p.ldw + k / N] = w[k];
        for (int k = tid; k < G * N; k += nthr) { /* e_{t1} (read when t1 < T) */
            const int gg = k / N, i = k % N, bb = b0 + gg;
            float v = 0.0f;
            if (bb < s.batch && t1 < T) v = e_next[(size_t)bb * N + i];
            ebuf[(size_t)(t1 & 1) * G * N + k] = v;
        }
    }

    const rn_seq_role me = rn_seq_role_of(&p, tid, (int)blockIdx.x, N, s.batch);
    const size_t rowb = me.owner ? (size_t)me.b * ld + me.j : 0;
    const size_t k0 = me.owner ? (size_t)me.b * N + me.j : 0;
    float l = 0.0f, at = 0.0f, ab = 0.0f, ath = 0.0f, alpha = 0.0f, thj = 0.0f;
    float xn = 0.0f, an = 0.0f, gn = 0.0f, xpn = 0.0f; /* step t's operands, loaded a step ahead */
    if (me.owner) {
        l = lam[k0];
        at = acc_tau[k0];
        ab = acc_bias[k0];
        ath = acc_theta[k0];
        alpha = s.dt / tau[me.j];
        thj = theta[me.j];
        if (t0 < t1) {
            const int u = t1 - 1;
            xn = x[rowb + (size_t)u * N];
            an = a[rowb + (size_t)u * N];
            gn = g[rowb + (size_t)u * N];
            xpn = u > t0 ? x[rowb + (size_t)(u - 1) * N] : x_init[k0];
        }
    }
    __syncthreads();

    for (int t = t1 - 1; t >= t0; t--) {
        const bool with_d = w && t < T - 1; /* the same for the whole block */
        float d = 0.0f;
        if (me.compute && with_d) { /* d_t = e_{t+1} · W_recᵀ */
            const float *ev = ebuf + (size_t)((t + 1) & 1) * G * N + (size_t)me.g * N;
            d = me.live ? seq_dot(ev, wts, N, p.ldw, me.j, me.c, p.ks) : 0.0f;
            d = seq_lane_sum(d, p.ks);
        }
        if (me.owner) {
            const float xc = xn, ac = an, gc = gn, xpc = xpn;
            if (t - 1 >= t0) {
                const int u = t - 1;
                xn = xpc;
                an = a[rowb + (size_t)u * N];
                gn = g[rowb + (size_t)u * N];
                xpn = u > t0 ? x[rowb + (size_t)(u - 1) * N] : x_init[k0];
            }
            /* rn_rate_backward_elem's arithmetic, with λ and the accumulators in registers */
            float fd;
            const float ln =
                rn_rate_adjoint(l, alpha, rn_act_grad_out(s.activation, xc - thj, ac), gc, d, &fd);
            const float ev = alpha * ln;
            e[rowb + (size_t)t * N] = ev;
            at += ln * (xc - xpc);
            ab += ev;
            ath += fd;
            l = ln;
            if (w) ebuf[(size_t)(t & 1) * G * N + (size_t)me.g * N + me.j] = ev;
            if (with_d && t == t0) dscr[k0] = d; /* as the CPU mirror leaves it */
        }
        __syncthreads();
    }
    if (me.owner) {
        lam[k0] = l;
        acc_tau[k0] = at;
        acc_bias[k0] = ab;
        acc_theta[k0] = ath;
    }
}

/* x[b, t, n] = σ√dt ξ for t in [t0, t1): the noise terms of the steps, as rate_forward_kernel forms
 * them (rate_noise.cuh, one thread per trial, step and block of four neurons), ahead of the
 * recurrence, so that the persistent kernels read them like the input instead of drawing them on
 * the critical path. x is the forward's output: each element is read by its step before the step
 * writes it. */
__global__ static void rate_noise_seq_kernel(float *x, rn_rate_step s, int t0, int t1) {
    const int quads = (s.n + 3) / 4;
    const size_t per_trial = (size_t)(t1 - t0) * quads;
    const uint32_t epoch = *s.epoch; /* device memory: set before each epoch */
    RN_GRID_STRIDE (k, (size_t)s.batch * per_trial) {
        const int b = (int)(k / per_trial), t = t0 + (int)(k % per_trial / quads),
                  q = (int)(k % quads);
        float z[4];
        rn_rate_noise4(s.seed, epoch, s.layer, b, t, q, quads, z);
        float *row = x + (size_t)b * s.ld + (size_t)t * s.n;
        for (int lane = 0; lane < 4 && 4 * q + lane < s.n; lane++)
            row[4 * q + lane] = s.noise_scale * z[lane];
    }
}

static rn_status noise_seq(rn_backend *be, float *x, const rn_rate_step *s, int t0, int t1) {
    const size_t total = (size_t)s->batch * (size_t)(t1 - t0) * (size_t)((s->n + 3) / 4);
    if (s->noise_scale == 0.0f || total == 0) return RN_OK;
    rate_noise_seq_kernel<<<rn_blocks(be, total), rn_threads(be), 0, rn_stream(be)>>>(x, *s, t0,
                                                                                      t1);
    return rn_launched(be, "rate_forward_seq (noise)");
}

extern "C" rn_status rn_cuda_rate_seq_setup(rn_backend *be) {
    rn_cuda_ctx *c = rn_ctx(be);
    int optin = 0, sms = 0;
    rn_status st;
    if ((st = rn_cuda_check(
             be, cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, c->device),
             "shared memory per block (opt-in)")) != RN_OK ||
        (st = rn_cuda_check(be,
                            cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, c->device),
                            "multiprocessor count")) != RN_OK)
        return st;
    const void *kernels[2] = {(const void *)rate_forward_seq_kernel,
                              (const void *)rate_backward_seq_kernel};
    size_t smem = (size_t)optin;
    int threads = RN_MAX_THREADS;
    for (int i = 0; i < 2; i++) {
        struct cudaFuncAttributes fa;
        if ((st = rn_cuda_check(be, cudaFuncGetAttributes(&fa, kernels[i]),
                                "persistent rate kernel attributes")) != RN_OK)
            return st;
        const size_t dyn = (size_t)optin > fa.sharedSizeBytes ? optin - fa.sharedSizeBytes : 0;
        if ((st = rn_cuda_check(be,
                                cudaFuncSetAttribute(kernels[i],
                                                     cudaFuncAttributeMaxDynamicSharedMemorySize,
                                                     (int)dyn),
                                "persistent rate kernel shared memory")) != RN_OK)
            return st;
        if (dyn < smem) smem = dyn;
        if (fa.maxThreadsPerBlock < threads) threads = fa.maxThreadsPerBlock;
    }
    c->seq.sm_count = sms;
    c->seq.smem = smem;
    c->seq.max_threads = threads;
    return rn_cuda_rate_coop_setup(be, optin);
}

extern "C" const char *rn_cuda_rate_seq_path(rn_backend *be, int batch, int n, bool recurrent) {
    rn_seq_plan p;
    if (rn_seq_plan_for(&rn_ctx(be)->seq, batch, n, recurrent, &p)) return "persistent-smem";
    if (rn_cuda_rate_coop_fits(be, batch, n, recurrent)) return "cooperative";
    return "step";
}

extern "C" bool rn_cuda_rate_seq_fits(rn_backend *be, int batch, int n, bool recurrent) {
    return strcmp(rn_cuda_rate_seq_path(be, batch, n, recurrent), "step") != 0;
}

static rn_status seq_range(rn_backend *be, const rn_rate_step *s, int t0, int t1, const char *op) {
    if (t0 < 0 || t1 > s->steps || t0 > t1)
        return rn_fail(&be->err, RN_ERR_INVALID_ARG, "%s: steps [%d, %d) outside [0, %d)", op, t0,
                       t1, s->steps);
    return RN_OK;
}

/* The step path through the table: what the trainer does where rate_seq_fits says no. */
static rn_status forward_by_steps(rn_backend *be, float *x, float *out, float *r,
                                  const float *x_init, const float *a_init, const float *in,
                                  const float *w, const float *tau, const float *bias,
                                  const float *theta, const rn_rate_step *s, int t0, int t1) {
    const rn_backend_ops *o = be->ops;
    const int N = s->n;
    rn_rate_step st = *s;
    rn_status rc = RN_OK;
    for (int t = t0; t < t1 && rc == RN_OK; t++) {
        const size_t off = (size_t)t * N;
        const float *a_prev = t > t0 ? out + off - N : a_init;
        const float *x_prev = t > t0 ? x + off - N : x_init;
        st.ld_prev = t > t0 ? s->ld : N;
        st.t = t;
        if (w)
            rc = o->gemm(be, false, false, s->batch, N, N, 1.0f, a_prev, st.ld_prev, w, N, 0.0f,
                         r + off, s->ld);
        if (rc == RN_OK)
            rc = o->rate_forward_step(be, x + off, out + off, x_prev, in + off, w ? r + off : NULL,
                                      tau, bias, theta, &st);
    }
    return rc;
}

static rn_status backward_by_steps(rn_backend *be, float *lam, float *e, float *acc_tau,
                                   float *acc_bias, float *acc_theta, float *dscr, const float *g,
                                   const float *x, const float *a, const float *x_init,
                                   const float *e_next, const float *w, const float *tau,
                                   const float *theta, const rn_rate_step *s, int t0, int t1) {
    const rn_backend_ops *o = be->ops;
    const int N = s->n;
    rn_rate_step st = *s;
    rn_status rc = RN_OK;
    for (int t = t1 - 1; t >= t0 && rc == RN_OK; t--) {
        const size_t off = (size_t)t * N;
        const float *d = NULL;
        if (w && t < s->steps - 1) {
            const bool inside = t + 1 < t1;
            rc = o->gemm(be, false, true, s->batch, N, N, 1.0f, inside ? e + off + N : e_next,
                         inside ? s->ld : N, w, N, 0.0f, dscr, N);
            d = dscr;
        }
        st.t = t;
        st.ld_prev = t > t0 ? s->ld : N;
        if (rc == RN_OK)
            rc = o->rate_backward_step(be, lam, e + off, acc_tau, acc_bias, acc_theta, g + off, d,
                                       x + off, a + off, t > t0 ? x + off - N : x_init, tau, theta,
                                       &st);
    }
    return rc;
}

extern "C" rn_status rn_cuda_rate_forward_seq(rn_backend *be, float *x, float *out, float *r,
                                              const float *x_init, const float *a_init,
                                              const float *in, const float *w, const float *tau,
                                              const float *bias, const float *theta,
                                              const rn_rate_step *s, int t0, int t1) {
    rn_status st = seq_range(be, s, t0, t1, "rate_forward_seq");
    if (st != RN_OK || t0 == t1 || s->batch <= 0 || s->n <= 0) return st;
    rn_seq_plan p;
    if (!rn_seq_plan_for(&rn_ctx(be)->seq, s->batch, s->n, w != NULL, &p)) {
        if (!rn_cuda_rate_coop_fits(be, s->batch, s->n, w != NULL))
            return forward_by_steps(be, x, out, r, x_init, a_init, in, w, tau, bias, theta, s, t0,
                                    t1);
        if ((st = noise_seq(be, x, s, t0, t1)) != RN_OK) return st;
        return rn_cuda_rate_forward_coop(be, x, out, r, x_init, a_init, in, w, tau, bias, theta, s,
                                         t0, t1);
    }
    if ((st = noise_seq(be, x, s, t0, t1)) != RN_OK) return st;
    const unsigned grid = (unsigned)((s->batch + p.group - 1) / p.group);
    rate_forward_seq_kernel<<<grid, (unsigned)p.threads, p.smem, rn_stream(be)>>>(
        x, out, r, x_init, a_init, in, w, tau, bias, theta, *s, t0, t1, p);
    return rn_launched(be, "rate_forward_seq (persistent-smem)");
}

extern "C" rn_status rn_cuda_rate_backward_seq(rn_backend *be, float *lam, float *e, float *acc_tau,
                                               float *acc_bias, float *acc_theta, float *dscr,
                                               const float *g, const float *x, const float *a,
                                               const float *x_init, const float *e_next,
                                               const float *w, const float *tau, const float *theta,
                                               const rn_rate_step *s, int t0, int t1) {
    rn_status st = seq_range(be, s, t0, t1, "rate_backward_seq");
    if (st != RN_OK || t0 == t1 || s->batch <= 0 || s->n <= 0) return st;
    rn_seq_plan p;
    if (!rn_seq_plan_for(&rn_ctx(be)->seq, s->batch, s->n, w != NULL, &p)) {
        if (rn_cuda_rate_coop_fits(be, s->batch, s->n, w != NULL))
            return rn_cuda_rate_backward_coop(be, lam, e, acc_tau, acc_bias, acc_theta, dscr, g, x,
                                              a, x_init, e_next, w, tau, theta, s, t0, t1);
        return backward_by_steps(be, lam, e, acc_tau, acc_bias, acc_theta, dscr, g, x, a, x_init,
                                 e_next, w, tau, theta, s, t0, t1);
    }
    const unsigned grid = (unsigned)((s->batch + p.group - 1) / p.group);
    rate_backward_seq_kernel<<<grid, (unsigned)p.threads, p.smem, rn_stream(be)>>>(
        lam, e, acc_tau, acc_bias, acc_theta, dscr, g, x, a, x_init, e_next, w, tau, theta, *s, t0,
        t1, p);
    return rn_launched(be, "rate_backward_seq (persistent-smem)");
}
