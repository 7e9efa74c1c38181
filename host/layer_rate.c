/* The rate layer in the trainer (SPEC §2, §4): the Euler time loop forward, the adjoint time loop
 * backward, one segment at a time (trainer_impl.h): the backend's whole-sequence entries where they
 * take the layer, else one step entry per time step with the recurrent product as a GEMM per step.
 * A segment starts from its checkpoint (x and f(x − θ) before its first step), and the adjoint of an
 * older segment from the newer one's λ and first e. */
#include <math.h>
#include <stdint.h>

#include "trainer_impl.h"

static void rate_layout(rn_trainer *tr, int li, rn_carver *c) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    size_t BK = (size_t)tr->B * tr->K, bn = (size_t)tr->B * L->n_out;
    lb->rate.x = RN_CARVE_F(c, BK * L->n_out);
    lb->rate.r = RN_CARVE_F(c, BK * L->n_out);
    lb->din = RN_CARVE_F(c, BK * L->n_in); /* e = ∂L/∂i (SPEC §4), needed even for layer 0 */
    lb->rate.ckpt_x = RN_CARVE_F(c, (size_t)tr->S * bn);
    lb->rate.ckpt_a = RN_CARVE_F(c, (size_t)tr->S * bn);
    lb->rate.e_next = RN_CARVE_F(c, bn);
    lb->rate.lam = RN_CARVE_F(c, bn);
    lb->rate.acc_tau = RN_CARVE_F(c, bn);
    lb->rate.acc_bias = RN_CARVE_F(c, bn);
    lb->rate.acc_theta = RN_CARVE_F(c, bn);
    lb->rate.dscr = RN_CARVE_F(c, bn);
}

/* The step scalars of layer li over a segment of `len` steps; the noise epoch is read from backend
 * memory when a step runs. */
static rn_rate_step rate_step(const rn_trainer *tr, int li, bool noise, int len) {
    const rn_layer *L = &tr->net->layers[li];
    rn_rate_step s;
    s.batch = tr->B;
    s.n = L->n_out;
    s.ld = len * L->n_out;
    s.ld_prev = s.ld;
    s.activation = (int)L->rate.activation;
    s.dt = tr->net->dt;
    s.noise_scale = noise ? L->rate.noise_std * sqrtf(tr->net->dt) : 0.0f;
    s.seed = tr->cfg.noise_seed;
    s.epoch = tr->noise_epoch;
    s.layer = (uint32_t)li;
    s.t = 0;
    s.steps = tr->T;
    return s;
}

/* The backend's whole-sequence entries take this layer (else the step entries drive it). */
static bool use_seq(const rn_trainer *tr, int li) {
    const rn_backend_ops *o = tr->be->ops;
    const rn_layer *L = &tr->net->layers[li];
    return o->rate_seq_fits && o->rate_seq_fits(tr->be, tr->B, L->n_out, L->p_w_rec >= 0);
}

/* The whole-sequence entries address step t at base + t·N: a segment buffer holding steps from t0
 * on is handed over as if it started at step 0. They read only the steps the call covers (and the
 * one before, which the callers below keep inside the buffer). */
static float *seq_base(float *seg, int t0, int n) {
    return (float *)((uintptr_t)seg - (uintptr_t)t0 * (uintptr_t)n * sizeof(float));
}

static rn_status rate_begin(rn_trainer *tr, int li, rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    RN_OP(tr->be->ops->rate_init(
        tr->be, lb->rate.ckpt_x, lb->rate.ckpt_a, rn_param_ptr(tr, tr->p, L->p_x0),
        rn_param_ptr(tr, tr->p, L->p_threshold), (int)L->rate.activation, tr->B, L->n_out));
    return RN_OK;
}

static rn_status rate_forward(rn_trainer *tr, int li, int seg, rn_rows in, rn_rows out, bool noise,
                              rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const rn_backend_ops *o = be->ops;
    const int N = L->n_out, t0 = rn_seg_t0(tr, seg), t1 = rn_seg_t1(tr, seg);
    const size_t bn = (size_t)tr->B * N;
    const float *w = rn_param_ptr(tr, tr->p, L->p_w_rec);
    const float *tau = rn_param_ptr(tr, tr->p, L->p_tau),
                *bias = rn_param_ptr(tr, tr->p, L->p_bias);
    const float *theta = rn_param_ptr(tr, tr->p, L->p_threshold);
    const float *cx = lb->rate.ckpt_x + seg * bn, *ca = lb->rate.ckpt_a + seg * bn;
    rn_rows x = {lb->rate.x, (size_t)(t1 - t0) * N, t0}, r = {lb->rate.r, x.stride, t0};
    rn_rate_step s = rate_step(tr, li, noise, t1 - t0);
    /* the segment starts from its checkpoint (the initial state for segment 0) */
    if (use_seq(tr, li)) {
        RN_OP(o->rate_forward_seq(be, seq_base(x.p, t0, N), seq_base(out.p, t0, N),
                                  seq_base(r.p, t0, N), cx, ca, seq_base(in.p, t0, N), w, tau, bias,
                                  theta, &s, t0, t1));
    } else {
        for (int t = t0; t < t1; t++) {
            const float *a_prev = t > t0 ? rn_row(out, N, 0, t - 1) : ca;
            const float *x_prev = t > t0 ? rn_row(x, N, 0, t - 1) : cx;
            int ld_prev = t > t0 ? s.ld : N;
            float *rec = NULL;
            if (w) {
                /* r_t = a_{t−1} · W_rec */
                rec = rn_row(r, N, 0, t);
                RN_OP(o->gemm(be, false, false, tr->B, N, N, 1.0f, a_prev, ld_prev, w, N, 0.0f, rec,
                              s.ld));
            }
            s.t = t;
            s.ld_prev = ld_prev;
            RN_OP(o->rate_forward_step(be, rn_row(x, N, 0, t), rn_row(out, N, 0, t), x_prev,
                                       rn_row(in, N, 0, t), rec, tau, bias, theta, &s));
        }
    }
    lb->rate.r_reused = false;
    if (seg + 1 < tr->S) /* the next segment's checkpoint: this one's last x and f(x − θ) */
        for (int b = 0; b < tr->B; b++) {
            rn_status st;
            if ((st = rn_trainer_copy(tr, lb->rate.ckpt_x + (seg + 1) * bn + (size_t)b * N,
                                      rn_row(x, N, b, t1 - 1), (size_t)N, err)) != RN_OK ||
                (st = rn_trainer_copy(tr, lb->rate.ckpt_a + (seg + 1) * bn + (size_t)b * N,
                                      rn_row(out, N, b, t1 - 1), (size_t)N, err)) != RN_OK)
                return st;
        }
    return RN_OK;
}

static rn_status rate_backward(rn_trainer *tr, int li, int seg, rn_rows in, rn_rows dout,
                               rn_rows din, rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const rn_backend_ops *o = be->ops;
    const int B = tr->B, T = tr->T, N = L->n_out, t0 = rn_seg_t0(tr, seg), t1 = rn_seg_t1(tr, seg);
    const size_t bn = (size_t)B * N;
    const float *w = rn_param_ptr(tr, tr->p, L->p_w_rec);
    const float *tau = rn_param_ptr(tr, tr->p, L->p_tau);
    const float *theta = rn_param_ptr(tr, tr->p, L->p_threshold);
    const float *cx = lb->rate.ckpt_x + seg * bn, *ca = lb->rate.ckpt_a + seg * bn;
    float *lam = lb->rate.lam, *dscr = lb->rate.dscr;
    rn_rows x = {lb->rate.x, (size_t)(t1 - t0) * N, t0}, e = din;
    const rn_rows out = {tr->layers[li].out, x.stride, t0};
    rn_rate_step s = rate_step(tr, li, false, t1 - t0);
    if (seg == tr->S - 1) { /* the newest segment: the adjoint starts */
        RN_OP(o->fill(be, lam, 0.0f, bn));
        RN_OP(o->fill(be, lb->rate.acc_tau, 0.0f, bn));
        RN_OP(o->fill(be, lb->rate.acc_bias, 0.0f, bn));
        RN_OP(o->fill(be, lb->rate.acc_theta, 0.0f, bn));
    }
    /* from λ_{t1} and e_{t1} (e_next, the newer segment's first e) back to the checkpoint */
    if (use_seq(tr, li)) {
        RN_OP(o->rate_backward_seq(
            be, lam, seq_base(e.p, t0, N), lb->rate.acc_tau, lb->rate.acc_bias, lb->rate.acc_theta,
            dscr, seq_base(dout.p, t0, N), seq_base(x.p, t0, N), seq_base(out.p, t0, N), cx,
            lb->rate.e_next, w, tau, theta, &s, t0, t1));
    } else {
        for (int t = t1 - 1; t >= t0; t--) {
            const float *d = NULL;
            if (w && t < T - 1) {
                /* d_t = e_{t+1} · W_recᵀ */
                const bool inside = t + 1 < t1;
                RN_OP(o->gemm(be, false, true, B, N, N, 1.0f,
                              inside ? rn_row(e, N, 0, t + 1) : lb->rate.e_next, inside ? s.ld : N,
                              w, N, 0.0f, dscr, N));
                d = dscr;
            }
            s.t = t;
            s.ld_prev = t > t0 ? s.ld : N;
            const float *x_prev = t > t0 ? rn_row(x, N, 0, t - 1) : cx;
            RN_OP(o->rate_backward_step(be, lam, rn_row(e, N, 0, t), lb->rate.acc_tau,
                                        lb->rate.acc_bias, lb->rate.acc_theta,
                                        rn_row(dout, N, 0, t), d, rn_row(x, N, 0, t),
                                        rn_row(out, N, 0, t), x_prev, tau, theta, &s));
        }
    }
    float *dw = w ? rn_grad_ptr(tr, L->p_w_rec) : NULL;
    if (dw) {
        /* ∂W_rec = Σ a_{t−1}ᵀ e_t by blocks of Tb steps per trial, newest first. a_{t−1} is `out`
         * one row up, where it is, but for the segment's first row (the checkpoint's a): the first
         * block's rows go to r shifted down one, with that row at their head. */
        const int rows0 = t1 - t0 < tr->Tb ? t1 - t0 : tr->Tb;
        RN_OP(o->shift_rows(be, lb->rate.r, out.p, t1 - t0, ca, B, rows0, N));
        lb->rate.r_reused = true;
        for (int tb = t0 + ((t1 - 1 - t0) / tr->Tb) * tr->Tb; tb >= t0; tb -= tr->Tb) {
            const int rows = t1 - tb < tr->Tb ? t1 - tb : tr->Tb;
            for (int b = 0; b < B; b++) {
                const float *a_prev =
                    tb == t0 ? lb->rate.r + (size_t)b * rows0 * N : rn_row(out, N, b, tb - 1);
                RN_OP(o->gemm(be, true, false, N, N, rows, 1.0f, a_prev, N, rn_row(e, N, b, tb), N,
                              1.0f, dw, N));
            }
        }
    }
    /* the older segment's last step needs this one's first e (only its recurrent product reads it;
     * a copy a trial, so not for segment 0: without checkpoints that would be B launches an epoch
     * for nothing) */
    for (int b = 0; seg > 0 && w && b < B; b++) {
        rn_status st = rn_trainer_copy(tr, lb->rate.e_next + (size_t)b * N, rn_row(e, N, b, t0),
                                       (size_t)N, err);
        if (st != RN_OK) return st;
    }
    return RN_OK;
}

/* After segment 0: the initial state's share, and the per-trial sums reduced into the gradients. */
static rn_status rate_finish(rn_trainer *tr, int li, rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const rn_backend_ops *o = be->ops;
    const int B = tr->B, N = L->n_out;
    const float *w = rn_param_ptr(tr, tr->p, L->p_w_rec);
    const float *tau = rn_param_ptr(tr, tr->p, L->p_tau);
    const float *theta = rn_param_ptr(tr, tr->p, L->p_threshold);
    float *lam = lb->rate.lam, *dscr = lb->rate.dscr;
    rn_rate_step s = rate_step(tr, li, false, rn_seg_t1(tr, 0));
    const float *d = NULL;
    if (w) { /* e_0 is the first row of segment 0, still in the buffer */
        RN_OP(o->gemm(be, false, true, B, N, N, 1.0f, lb->din, s.ld, w, N, 0.0f, dscr, N));
        d = dscr;
    }
    RN_OP(o->rate_backward_init(be, lam, lb->rate.acc_theta, d, rn_param_ptr(tr, tr->p, L->p_x0),
                                tau, theta, &s));
    RN_OP(o->rate_param_grads(be, rn_grad_ptr(tr, L->p_tau), rn_grad_ptr(tr, L->p_bias),
                              rn_grad_ptr(tr, L->p_threshold), rn_grad_ptr(tr, L->p_x0),
                              lb->rate.acc_tau, lb->rate.acc_bias, lb->rate.acc_theta, lam, tau, B,
                              N));
    return RN_OK;
}

/* mean(W_rec²) into the L2 scalar, its gradient into ∂W_rec (SPEC §3) */
static rn_status rate_penalty(rn_trainer *tr, int li, rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    if (L->p_w_rec < 0) return RN_OK;
    RN_OP(tr->be->ops->l2(tr->be, tr->scalars + RN_SCALAR_L2, rn_param_ptr(tr, tr->g, L->p_w_rec),
                          rn_param_ptr(tr, tr->p, L->p_w_rec), tr->net->params[L->p_w_rec].count,
                          tr->cfg.w_l2));
    return RN_OK;
}

static rn_status rate_record(const rn_trainer *tr, int li, rn_record_kind kind, const float **src,
                             rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    const rn_layer_buffers *lb = &tr->layers[li];
    if (kind == RN_RECORD_X) {
        *src = lb->rate.x;
        return RN_OK;
    }
    if (kind != RN_RECORD_R)
        return rn_fail(err, RN_ERR_INVALID_ARG, "record kind %d is unknown", (int)kind);
    if (L->p_w_rec < 0) {
        *src = NULL; /* not recurrent: r is zero */
        return RN_OK;
    }
    if (lb->rate.r_reused)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "layer %d: r was overwritten by the backward pass; run rn_trainer_forward "
                       "before recording it",
                       li);
    *src = lb->rate.r;
    return RN_OK;
}

const rn_layer_kind_ops rn_layer_rate_ops = {
    .layout = rate_layout,
    .begin = rate_begin,
    .forward = rate_forward,
    .backward = rate_backward,
    .finish = rate_finish,
    .penalty = rate_penalty,
    .record = rate_record,
    .segmented = true,
};
