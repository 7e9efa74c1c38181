/* The linear layer in the trainer: y = x · W + b (SPEC §2), one segment at a time. Every product
 * goes in blocks of Tb steps of one trial (trainer_impl.h), newest block first where it sums over
 * rows: the same calls whether the segment is all T steps or a few blocks, so the same bits. */
#include "trainer_impl.h"

static void linear_layout(rn_trainer *tr, int li, rn_carver *c) {
    if (li > 0)
        tr->layers[li].din = RN_CARVE_F(c, (size_t)tr->B * tr->K * tr->net->layers[li].n_in);
}

static rn_status linear_forward(rn_trainer *tr, int li, int seg, rn_rows in, rn_rows out,
                                bool noise, rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_backend *be = tr->be;
    const int t0 = rn_seg_t0(tr, seg), t1 = rn_seg_t1(tr, seg);
    const float *w = rn_param_ptr(tr, tr->p, L->p_weight);
    const float *bias = L->has_bias ? rn_param_ptr(tr, tr->p, L->p_bias) : NULL;
    for (int tb = t0; tb < t1; tb += tr->Tb) {
        const int rows = t1 - tb < tr->Tb ? t1 - tb : tr->Tb;
        for (int b = 0; b < tr->B; b++) {
            float *y = rn_row(out, L->n_out, b, tb);
            /* y = x · W + b over the block's rows */
            RN_OP(be->ops->gemm(be, false, false, rows, L->n_out, L->n_in, 1.0f,
                                rn_row(in, L->n_in, b, tb), L->n_in, w, L->n_out, 0.0f, y,
                                L->n_out));
            if (bias) RN_OP(be->ops->bias_add(be, y, bias, rows, L->n_out));
        }
    }
    return RN_OK;
}

static rn_status linear_backward(rn_trainer *tr, int li, int seg, rn_rows in, rn_rows dout,
                                 rn_rows din, rn_error *err) {
    const rn_layer *L = &tr->net->layers[li];
    rn_backend *be = tr->be;
    const int t0 = rn_seg_t0(tr, seg), t1 = rn_seg_t1(tr, seg);
    float *dw = rn_grad_ptr(tr, L->p_weight), *db = rn_grad_ptr(tr, L->p_bias);
    const float *w = rn_param_ptr(tr, tr->p, L->p_weight);
    /* the segment's blocks, newest first (the order the gradient sums take across segments) */
    int tb = t0 + ((t1 - 1 - t0) / tr->Tb) * tr->Tb;
    for (; tb >= t0; tb -= tr->Tb) {
        const int rows = t1 - tb < tr->Tb ? t1 - tb : tr->Tb;
        for (int b = 0; b < tr->B; b++) {
            const float *g = rn_row(dout, L->n_out, b, tb);
            /* ∂W += xᵀ · dy, ∂b += Σ_rows dy, ∂x = dy · Wᵀ */
            if (dw)
                RN_OP(be->ops->gemm(be, true, false, L->n_in, L->n_out, rows, 1.0f,
                                    rn_row(in, L->n_in, b, tb), L->n_in, g, L->n_out, 1.0f, dw,
                                    L->n_out));
            if (db) RN_OP(be->ops->bias_grad(be, db, g, rows, L->n_out));
            if (din.p)
                RN_OP(be->ops->gemm(be, false, true, rows, L->n_in, L->n_out, 1.0f, g, L->n_out, w,
                                    L->n_out, 0.0f, rn_row(din, L->n_in, b, tb), L->n_in));
        }
    }
    return RN_OK;
}

const rn_layer_kind_ops rn_layer_linear_ops = {
    .layout = linear_layout,
    .forward = linear_forward,
    .backward = linear_backward,
    .segmented = true,
};
