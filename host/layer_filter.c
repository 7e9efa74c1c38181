/* The synaptic filter layers in the trainer (SPEC §2): lowpass is one first-order stage per
 * channel; alpha is two stages sharing one τ; doubleexp is two stages, τ1 then τ2. Their backend
 * entries scan all T steps from the initial level, so a network with a filter stores every step
 * (one segment, trainer_impl.h). */
#include "trainer_impl.h"

static void filter_layout(rn_trainer *tr, int li, rn_carver *c) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    size_t BT = (size_t)tr->B * tr->K, bc = (size_t)tr->B * L->n_out;
    lb->din = RN_CARVE_F(c, BT * L->n_in);
    lb->filter.acc_dp = RN_CARVE_F(c, bc);
    lb->filter.acc_dinit = RN_CARVE_F(c, bc);
    if (rn_filter_stages(L->kind) == 2) {
        lb->filter.mid = RN_CARVE_F(c, BT * L->n_out);
        lb->filter.dmid = RN_CARVE_F(c, BT * L->n_out);
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

static rn_status filter_forward(rn_trainer *tr, int li, int seg, rn_rows in_rows, rn_rows out,
                                bool noise, rn_error *err) {
    const float *in = in_rows.p;
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const float *tau1 = rn_param_ptr(tr, tr->p, L->p_tau),
                *init = rn_param_ptr(tr, tr->p, L->p_init);
    const float dt = tr->net->dt;
    if (rn_filter_stages(L->kind) == 1) {
        RN_OP(be->ops->filter_forward(be, out.p, in, tau1, init, tr->B, tr->T, L->n_out, dt));
    } else {
        RN_OP(be->ops->filter_forward(be, lb->filter.mid, in, tau1, init, tr->B, tr->T, L->n_out,
                                      dt));
        RN_OP(be->ops->filter_forward(be, out.p, lb->filter.mid, tau2_of(tr, L), init, tr->B, tr->T,
                                      L->n_out, dt));
    }
    return RN_OK;
}

static rn_status filter_backward(rn_trainer *tr, int li, int seg, rn_rows in_rows,
                                 rn_rows dout_rows, rn_rows din, rn_error *err) {
    const float *in = in_rows.p, *dout = dout_rows.p;
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const rn_backend_ops *o = be->ops;
    const int B = tr->B, T = tr->T, C = L->n_out;
    const float dt = tr->net->dt;
    const float *tau1 = rn_param_ptr(tr, tr->p, L->p_tau),
                *init = rn_param_ptr(tr, tr->p, L->p_init);
    float *dtau1 = rn_grad_ptr(tr, L->p_tau), *dinit = rn_grad_ptr(tr, L->p_init);
    float *acc_dp = lb->filter.acc_dp, *acc_dinit = lb->filter.acc_dinit;
    const float *g1 = dout, *y1 = lb->out;
    if (rn_filter_stages(L->kind) == 2) {
        /* the second stage first: its input is the first stage's output */
        const float *tau2 = tau2_of(tr, L);
        RN_OP(o->filter_backward(be, lb->filter.dmid, acc_dp, acc_dinit, dout, lb->out,
                                 lb->filter.mid, tau2, init, B, T, C, dt));
        RN_OP(o->filter_param_grads(be, dtau2_of(tr, L), dinit, acc_dp, acc_dinit, tau2, B, C, dt));
        g1 = lb->filter.dmid;
        y1 = lb->filter.mid;
    }
    RN_OP(o->filter_backward(be, lb->din, acc_dp, acc_dinit, g1, y1, in, tau1, init, B, T, C, dt));
    RN_OP(o->filter_param_grads(be, dtau1, dinit, acc_dp, acc_dinit, tau1, B, C, dt));
    return RN_OK;
}

const rn_layer_kind_ops rn_layer_filter_ops = {
    .layout = filter_layout,
    .forward = filter_forward,
    .backward = filter_backward,
};
