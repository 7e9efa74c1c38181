/* The synaptic filter layers in the trainer (SPEC §2): lowpass is one first-order stage per
 * channel; alpha is two stages sharing one τ; doubleexp is two stages, τ1 then τ2. One segment at
 * a time (trainer_impl.h): a segment's forward scans start from each stage's last output of the
 * segment before (its checkpoint), and the backward scans carry μ and the per-trial sums from the
 * newer segment to the older, so the sums are those of one scan over every step. */
#include "trainer_impl.h"

static void filter_layout(rn_trainer *tr, int li, rn_carver *c) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    size_t BK = (size_t)tr->B * tr->K, bc = (size_t)tr->B * L->n_out;
    lb->din = RN_CARVE_F(c, BK * L->n_in);
    lb->filter.ckpt_y = RN_CARVE_F(c, (size_t)tr->S * bc);
    lb->filter.acc_dp = RN_CARVE_F(c, bc);
    lb->filter.acc_dinit = RN_CARVE_F(c, bc);
    lb->filter.mu = RN_CARVE_F(c, bc);
    if (rn_filter_stages(L->kind) == 2) {
        lb->filter.mid = RN_CARVE_F(c, BK * L->n_out);
        lb->filter.dmid = RN_CARVE_F(c, BK * L->n_out);
        lb->filter.ckpt_mid = RN_CARVE_F(c, (size_t)tr->S * bc);
        lb->filter.acc_dp2 = RN_CARVE_F(c, bc);
        lb->filter.acc_dinit2 = RN_CARVE_F(c, bc);
        lb->filter.mu2 = RN_CARVE_F(c, bc);
    }
}

/* The second stage's τ (alpha shares the first's) and its gradient (NULL when frozen). */
static const float *tau2_of(const rn_trainer *tr, const rn_layer *L) {
    return L->kind == RN_LAYER_ALPHA ? rn_param_ptr(tr, tr->p, L->p_tau)
                                     : rn_param_ptr(tr, tr->p, L->p_tau2);
}
static float *dtau2_of(const rn_trainer *tr, const rn_layer *L) {
    return L->kind == RN_LAYER_ALPHA ? rn_grad_ptr(tr, L->p_tau) : rn_grad_ptr(tr, L->p_tau2);
}

/* Segment seg's starting levels in a checkpoint array (S, B, C); NULL for segment 0 (the initial
 * level). */
static const float *ckpt_of(const rn_trainer *tr, const float *ckpt, int seg, int C) {
    return seg > 0 ? ckpt + (size_t)seg * tr->B * C : NULL;
}

/* The last step's rows of a segment buffer (B, len, C) into checkpoint slot seg + 1. */
static rn_status keep_last(rn_trainer *tr, float *ckpt, const float *seq, int seg, int len, int C,
                           rn_error *err) {
    for (int b = 0; b < tr->B; b++) {
        rn_status st = rn_trainer_copy(tr, ckpt + ((size_t)(seg + 1) * tr->B + b) * C,
                                       seq + ((size_t)b * len + len - 1) * C, (size_t)C, err);
        if (st != RN_OK) return st;
    }
    return RN_OK;
}

static rn_status filter_forward(rn_trainer *tr, int li, int seg, rn_rows in_rows, rn_rows out,
                                bool noise, rn_error *err) {
    const float *in = in_rows.p;
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const float *tau1 = rn_param_ptr(tr, tr->p, L->p_tau),
                *init = rn_param_ptr(tr, tr->p, L->p_init);
    const float dt = tr->net->dt;
    const int C = L->n_out, len = rn_seg_t1(tr, seg) - rn_seg_t0(tr, seg);
    const bool keep = seg + 1 < tr->S;
    const float *prev_y = ckpt_of(tr, lb->filter.ckpt_y, seg, C);
    if (rn_filter_stages(L->kind) == 1) {
        RN_OP(be->ops->filter_forward(be, out.p, in, tau1, init, prev_y, tr->B, len, C, dt));
    } else {
        RN_OP(be->ops->filter_forward(be, lb->filter.mid, in, tau1, init,
                                      ckpt_of(tr, lb->filter.ckpt_mid, seg, C), tr->B, len, C, dt));
        RN_OP(be->ops->filter_forward(be, out.p, lb->filter.mid, tau2_of(tr, L), init, prev_y,
                                      tr->B, len, C, dt));
        if (keep) {
            rn_status st = keep_last(tr, lb->filter.ckpt_mid, lb->filter.mid, seg, len, C, err);
            if (st != RN_OK) return st;
        }
    }
    return keep ? keep_last(tr, lb->filter.ckpt_y, out.p, seg, len, C, err) : RN_OK;
}

static rn_status filter_backward(rn_trainer *tr, int li, int seg, rn_rows in_rows,
                                 rn_rows dout_rows, rn_rows din, rn_error *err) {
    const float *in = in_rows.p, *dout = dout_rows.p;
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const rn_backend_ops *o = be->ops;
    const int B = tr->B, C = L->n_out, len = rn_seg_t1(tr, seg) - rn_seg_t0(tr, seg);
    const size_t bc = (size_t)B * C;
    const float dt = tr->net->dt;
    const float *tau1 = rn_param_ptr(tr, tr->p, L->p_tau),
                *init = rn_param_ptr(tr, tr->p, L->p_init);
    const bool two = rn_filter_stages(L->kind) == 2;
    if (seg == tr->S - 1) { /* the newest segment: the scans start */
        RN_OP(o->fill(be, lb->filter.mu, 0.0f, bc));
        RN_OP(o->fill(be, lb->filter.acc_dp, 0.0f, bc));
        if (two) {
            RN_OP(o->fill(be, lb->filter.mu2, 0.0f, bc));
            RN_OP(o->fill(be, lb->filter.acc_dp2, 0.0f, bc));
        }
    }
    const float *prev_y = ckpt_of(tr, lb->filter.ckpt_y, seg, C);
    const float *g1 = dout, *y1 = lb->out, *prev1 = prev_y;
    if (two) {
        /* the second stage first: its input is the first stage's output */
        RN_OP(o->filter_backward(be, lb->filter.dmid, lb->filter.acc_dp2, lb->filter.acc_dinit2,
                                 lb->filter.mu2, dout, lb->out, lb->filter.mid, tau2_of(tr, L),
                                 init, prev_y, B, len, C, dt));
        g1 = lb->filter.dmid;
        y1 = lb->filter.mid;
        prev1 = ckpt_of(tr, lb->filter.ckpt_mid, seg, C);
    }
    RN_OP(o->filter_backward(be, din.p, lb->filter.acc_dp, lb->filter.acc_dinit, lb->filter.mu, g1,
                             y1, in, tau1, init, prev1, B, len, C, dt));
    return RN_OK;
}

/* After segment 0: the per-trial sums reduced into the gradients, the second stage's first (the
 * order of the += into a τ alpha's stages share). */
static rn_status filter_finish(rn_trainer *tr, int li, rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const int B = tr->B, C = L->n_out;
    const float dt = tr->net->dt;
    float *dinit = rn_grad_ptr(tr, L->p_init);
    if (rn_filter_stages(L->kind) == 2)
        RN_OP(be->ops->filter_param_grads(be, dtau2_of(tr, L), dinit, lb->filter.acc_dp2,
                                          lb->filter.acc_dinit2, tau2_of(tr, L), B, C, dt));
    RN_OP(be->ops->filter_param_grads(be, rn_grad_ptr(tr, L->p_tau), dinit, lb->filter.acc_dp,
                                      lb->filter.acc_dinit, rn_param_ptr(tr, tr->p, L->p_tau), B, C,
                                      dt));
    return RN_OK;
}

const rn_layer_kind_ops rn_layer_filter_ops = {
    .layout = filter_layout,
    .forward = filter_forward,
    .backward = filter_backward,
    .finish = filter_finish,
    .segmented = true,
};
