/* The rate layer in the trainer (SPEC §2, §4): the Euler time loop forward, the adjoint time loop
 * backward, one backend step entry per time step and the recurrent product as a GEMM per step. */
#include <math.h>

#include "trainer_impl.h"

static void rate_layout(rn_trainer *tr, int li, rn_carver *c) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    size_t BT = (size_t)tr->B * tr->T, bn = (size_t)tr->B * L->n_out;
    lb->rate.x = RN_CARVE_F(c, BT * L->n_out);
    lb->rate.r = RN_CARVE_F(c, BT * L->n_out);
    lb->din = RN_CARVE_F(c, BT * L->n_in); /* e = ∂L/∂i (SPEC §4), needed even for layer 0 */
    lb->rate.x_init = RN_CARVE_F(c, bn);
    lb->rate.a_init = RN_CARVE_F(c, bn);
    lb->rate.lam = RN_CARVE_F(c, bn);
    lb->rate.acc_tau = RN_CARVE_F(c, bn);
    lb->rate.acc_bias = RN_CARVE_F(c, bn);
    lb->rate.acc_theta = RN_CARVE_F(c, bn);
    lb->rate.dscr = RN_CARVE_F(c, bn);
}

/* The step scalars of layer li; the noise epoch is read from backend memory when a step runs. */
static rn_rate_step rate_step(const rn_trainer *tr, int li, bool noise) {
    const rn_layer *L = &tr->net->layers[li];
    rn_rate_step s;
    s.batch = tr->B;
    s.n = L->n_out;
    s.ld = tr->T * L->n_out;
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

static rn_status rate_forward(rn_trainer *tr, int li, const float *in, bool noise, rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const rn_backend_ops *o = be->ops;
    const int T = tr->T, N = L->n_out;
    const float *w = rn_param_ptr(tr, tr->p, L->p_w_rec);
    const float *tau = rn_param_ptr(tr, tr->p, L->p_tau),
                *bias = rn_param_ptr(tr, tr->p, L->p_bias);
    const float *theta = rn_param_ptr(tr, tr->p, L->p_threshold);
    float *x = lb->rate.x, *r = lb->rate.r;
    rn_rate_step s = rate_step(tr, li, noise);
    RN_OP(o->rate_init(be, lb->rate.x_init, lb->rate.a_init, rn_param_ptr(tr, tr->p, L->p_x0),
                       theta, s.activation, tr->B, N));
    if (use_seq(tr, li)) {
        RN_OP(o->rate_forward_seq(be, x, lb->out, r, lb->rate.x_init, lb->rate.a_init, in, w, tau,
                                  bias, theta, &s, 0, T));
        lb->rate.r_reused = false;
        return RN_OK;
    }
    for (int t = 0; t < T; t++) {
        const float *a_prev = t > 0 ? lb->out + (size_t)(t - 1) * N : lb->rate.a_init;
        const float *x_prev = t > 0 ? x + (size_t)(t - 1) * N : lb->rate.x_init;
        int ld_prev = t > 0 ? s.ld : N;
        float *rec = NULL;
        if (w) {
            /* r_t = a_{t−1} · W_rec */
            rec = r + (size_t)t * N;
            RN_OP(o->gemm(be, false, false, tr->B, N, N, 1.0f, a_prev, ld_prev, w, N, 0.0f, rec,
                          s.ld));
        }
        s.t = t;
        s.ld_prev = ld_prev;
        RN_OP(o->rate_forward_step(be, x + (size_t)t * N, lb->out + (size_t)t * N, x_prev,
                                   in + (size_t)t * N, rec, tau, bias, theta, &s));
    }
    lb->rate.r_reused = false;
    return RN_OK;
}

static rn_status rate_backward(rn_trainer *tr, int li, const float *in, const float *dout,
                               rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const rn_backend_ops *o = be->ops;
    const int B = tr->B, T = tr->T, N = L->n_out, BT = B * T;
    const size_t bn = (size_t)B * N;
    const float *w = rn_param_ptr(tr, tr->p, L->p_w_rec);
    const float *tau = rn_param_ptr(tr, tr->p, L->p_tau);
    const float *theta = rn_param_ptr(tr, tr->p, L->p_threshold);
    float *e = lb->din, *lam = lb->rate.lam, *dscr = lb->rate.dscr;
    rn_rate_step s = rate_step(tr, li, false);
    RN_OP(o->fill(be, lam, 0.0f, bn));
    RN_OP(o->fill(be, lb->rate.acc_tau, 0.0f, bn));
    RN_OP(o->fill(be, lb->rate.acc_bias, 0.0f, bn));
    RN_OP(o->fill(be, lb->rate.acc_theta, 0.0f, bn));
    if (use_seq(tr, li)) {
        RN_OP(o->rate_backward_seq(be, lam, e, lb->rate.acc_tau, lb->rate.acc_bias,
                                   lb->rate.acc_theta, dscr, dout, lb->rate.x, lb->out,
                                   lb->rate.x_init, w, tau, theta, &s, 0, T));
    } else {
        for (int t = T - 1; t >= 0; t--) {
            const float *d = NULL;
            if (w && t < T - 1) {
                /* d_t = e_{t+1} · W_recᵀ */
                RN_OP(o->gemm(be, false, true, B, N, N, 1.0f, e + (size_t)(t + 1) * N, s.ld, w, N,
                              0.0f, dscr, N));
                d = dscr;
            }
            s.t = t;
            s.ld_prev = t > 0 ? s.ld : N;
            const float *x_prev = t > 0 ? lb->rate.x + (size_t)(t - 1) * N : lb->rate.x_init;
            RN_OP(o->rate_backward_step(be, lam, e + (size_t)t * N, lb->rate.acc_tau,
                                        lb->rate.acc_bias, lb->rate.acc_theta, dout + (size_t)t * N,
                                        d, lb->rate.x + (size_t)t * N, lb->out + (size_t)t * N,
                                        x_prev, tau, theta, &s));
        }
    }
    const float *d = NULL;
    if (w) {
        RN_OP(o->gemm(be, false, true, B, N, N, 1.0f, e, s.ld, w, N, 0.0f, dscr, N));
        d = dscr;
    }
    RN_OP(o->rate_backward_init(be, lam, lb->rate.acc_theta, d, rn_param_ptr(tr, tr->p, L->p_x0),
                                tau, theta, &s));
    RN_OP(o->rate_param_grads(be, rn_grad_ptr(tr, L->p_tau), rn_grad_ptr(tr, L->p_bias),
                              rn_grad_ptr(tr, L->p_threshold), rn_grad_ptr(tr, L->p_x0),
                              lb->rate.acc_tau, lb->rate.acc_bias, lb->rate.acc_theta, lam, tau, B,
                              N));
    float *dw = w ? rn_grad_ptr(tr, L->p_w_rec) : NULL;
    if (dw) {
        /* ∂W_rec = Σ a_{t−1}ᵀ e_t as one GEMM over all B·T rows; r holds the shifted a. */
        RN_OP(o->shift_rows(be, lb->rate.r, lb->out, lb->rate.a_init, B, T, N));
        lb->rate.r_reused = true;
        RN_OP(o->gemm(be, true, false, N, N, BT, 1.0f, lb->rate.r, N, e, N, 1.0f, dw, N));
    }
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
    .forward = rate_forward,
    .backward = rate_backward,
    .penalty = rate_penalty,
    .record = rate_record,
};
