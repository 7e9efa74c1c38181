/* The linear layer in the trainer: y = x · W + b over all B·T rows at once (SPEC §2). */
#include "trainer_impl.h"

static void linear_layout(rn_trainer *tr, int li, rn_carver *c) {
    if (li > 0)
        tr->layers[li].din = RN_CARVE_F(c, (size_t)tr->B * tr->T * tr->net->layers[li].n_in);
}

static rn_status linear_forward(rn_trainer *tr, int li, const float *in, bool noise,
                                rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const int BT = tr->B * tr->T;
    /* y = x · W + b as one GEMM over all B·T rows */
    RN_OP(be->ops->gemm(be, false, false, BT, L->n_out, L->n_in, 1.0f, in, L->n_in,
                        rn_param_ptr(tr, tr->p, L->p_weight), L->n_out, 0.0f, lb->out, L->n_out));
    if (L->has_bias)
        RN_OP(be->ops->bias_add(be, lb->out, rn_param_ptr(tr, tr->p, L->p_bias), BT, L->n_out));
    return RN_OK;
}

static rn_status linear_backward(rn_trainer *tr, int li, const float *in, const float *dout,
                                 rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_layer_buffers *lb = &tr->layers[li];
    rn_backend *be = tr->be;
    const int BT = tr->B * tr->T;
    float *dw = rn_grad_ptr(tr, L->p_weight), *db = rn_grad_ptr(tr, L->p_bias);
    /* ∂W += xᵀ · dy, ∂b += Σ_rows dy, ∂x = dy · Wᵀ */
    if (dw)
        RN_OP(be->ops->gemm(be, true, false, L->n_in, L->n_out, BT, 1.0f, in, L->n_in, dout,
                            L->n_out, 1.0f, dw, L->n_out));
    if (db) RN_OP(be->ops->bias_grad(be, db, dout, BT, L->n_out));
    if (lb->din)
        RN_OP(be->ops->gemm(be, false, true, BT, L->n_in, L->n_out, 1.0f, dout, L->n_out,
                            rn_param_ptr(tr, tr->p, L->p_weight), L->n_out, 0.0f, lb->din,
                            L->n_in));
    return RN_OK;
}

const rn_layer_kind_ops rn_layer_linear_ops = {
    .layout = linear_layout,
    .forward = linear_forward,
    .backward = linear_backward,
};
