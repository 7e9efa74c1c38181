/* The BPTT driver: one forward/backward/step loop over the backend's operation table (DESIGN.md).
 * The same code trains on the CPU and on the GPU; only rn_backend_ops differs. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend_impl.h"
#include "error.h"
#include "net_impl.h"
#include "ratenn/train.h"

/* A layer's buffers in the arena. For a rate layer `din` is e = ∂L/∂i (SPEC §4). */
typedef struct layer_buffers {
    float *out;   /* (B, T, n_out) */
    float *din;   /* (B, T, n_in): ∂L/∂(layer input); NULL for a first linear layer */
    float *x, *r; /* rate: (B, T, N); r doubles as the shifted-activation scratch in backward */
    float *x_init, *a_init, *lam, *acc_tau, *acc_bias, *acc_theta, *dscr; /* rate: (B, N) */
    float *mid, *dmid; /* two-stage filter: the first stage's output and its gradient (B, T, C) */
    float *acc_dp, *acc_dinit; /* filter: (B, C) */
} layer_buffers;

struct rn_trainer {
    rn_net *net;
    rn_backend *be;
    rn_train_config cfg;
    int B, T;
    void *arena;
    size_t arena_bytes;
    float *p, *g, *m, *v;     /* the parameter block, its gradient and Adam's moments */
    float *lo_pen, *hi_pen;   /* penalty bounds per element (±inf where none) */
    float *lo_clip, *hi_clip; /* clip bounds per element (±inf where none) */
    uint8_t *train_mask;      /* 1 where the element is trainable */
    double *scalars;          /* RN_SCALAR_COUNT doubles */
    float *input, *target, *mask, *dy;
    layer_buffers layers[RN_MAX_LAYERS];
    bool has_target, has_mask, has_clip;
    int64_t epoch;      /* completed epochs = optimiser steps taken = the noise epoch */
    void *graph;        /* the recorded forward + backward (backends with graphs), or NULL */
    uint64_t graph_key; /* what the recording depends on besides buffer contents (graph_key()) */
    bool warmed_up;     /* an epoch has run directly (graphs are recorded from the second on) */
};

rn_train_config rn_train_config_default(void) {
    rn_train_config c;
    c.optimizer = RN_OPT_ADAM;
    c.lr = 1e-4f;
    c.b1 = 0.9f;
    c.b2 = 0.999f;
    c.eps = 1e-8f;
    c.clip_norm = 0.0f;
    c.w_mse = 1.0f;
    c.w_bounds = 10.0f;
    c.w_l2 = 1.0f;
    c.noise_seed = 0;
    c.graphs = true;
    return c;
}

/* ---- the arena: one allocation, carved in two passes (measure, then assign) ---- */
typedef struct carver {
    char *base;
    size_t used;
} carver;

static void *carve(carver *c, size_t bytes) {
    size_t at = (c->used + 255) & ~(size_t)255;
    c->used = at + bytes;
    return c->base ? c->base + at : NULL;
}
#define CARVE_F(c, n) ((float *)carve((c), (size_t)(n) * sizeof(float)))

static void layout(rn_trainer *tr, carver *c) {
    const rn_net *net = tr->net;
    size_t P = net->total, BT = (size_t)tr->B * tr->T;
    tr->p = CARVE_F(c, P);
    tr->g = CARVE_F(c, P);
    tr->m = CARVE_F(c, P);
    tr->v = CARVE_F(c, P);
    tr->lo_pen = CARVE_F(c, P);
    tr->hi_pen = CARVE_F(c, P);
    tr->lo_clip = CARVE_F(c, P);
    tr->hi_clip = CARVE_F(c, P);
    tr->train_mask = carve(c, P);
    tr->scalars = carve(c, RN_SCALAR_COUNT * sizeof(double));
    tr->input = CARVE_F(c, BT * rn_net_input_size(net));
    tr->target = CARVE_F(c, BT * rn_net_output_size(net));
    tr->mask = CARVE_F(c, BT);
    tr->dy = CARVE_F(c, BT * rn_net_output_size(net));
    for (int li = 0; li < net->n_layers; li++) {
        const rn_layer *L = &net->layers[li];
        layer_buffers *lb = &tr->layers[li];
        memset(lb, 0, sizeof *lb);
        lb->out = CARVE_F(c, BT * L->n_out);
        if (L->kind == RN_LAYER_RATE) {
            size_t bn = (size_t)tr->B * L->n_out;
            lb->x = CARVE_F(c, BT * L->n_out);
            lb->r = CARVE_F(c, BT * L->n_out);
            lb->din = CARVE_F(c, BT * L->n_in);
            lb->x_init = CARVE_F(c, bn);
            lb->a_init = CARVE_F(c, bn);
            lb->lam = CARVE_F(c, bn);
            lb->acc_tau = CARVE_F(c, bn);
            lb->acc_bias = CARVE_F(c, bn);
            lb->acc_theta = CARVE_F(c, bn);
            lb->dscr = CARVE_F(c, bn);
        } else if (rn_is_filter(L->kind)) {
            size_t bc = (size_t)tr->B * L->n_out;
            lb->din = CARVE_F(c, BT * L->n_in);
            lb->acc_dp = CARVE_F(c, bc);
            lb->acc_dinit = CARVE_F(c, bc);
            if (rn_filter_stages(L->kind) == 2) {
                lb->mid = CARVE_F(c, BT * L->n_out);
                lb->dmid = CARVE_F(c, BT * L->n_out);
            }
        } else if (li > 0) {
            lb->din = CARVE_F(c, BT * L->n_in);
        }
    }
}

/* Copies a backend failure's message into err. */
static rn_status op_fail(rn_backend *be, rn_status st, rn_error *err) {
    if (err && be->err.status != RN_OK)
        *err = be->err;
    else if (err)
        rn_fail(err, st, "backend %s failed (%s)", be->description, rn_status_string(st));
    be->err.status = RN_OK;
    return st;
}
#define OP(call)                                                                                   \
    do {                                                                                           \
        rn_status op_st_ = (call);                                                                 \
        if (op_st_ != RN_OK) return op_fail(tr->be, op_st_, err);                                  \
    } while (0)

static float *param_ptr(const rn_trainer *tr, float *block, int index) {
    return index < 0 ? NULL : block + tr->net->params[index].offset;
}
static bool trainable(const rn_trainer *tr, int index) {
    return index >= 0 && tr->net->params[index].trainable;
}

rn_status rn_trainer_push_params(rn_trainer *tr, rn_error *err) {
    const rn_net *net = tr->net;
    size_t P = net->total;
    float *host = malloc(P * 4 * sizeof(float) + P + 1);
    if (!host)
        return rn_fail(err, RN_ERR_NO_MEMORY, "out of host memory staging %zu parameters", P);
    float *lo_pen = host, *hi_pen = host + P, *lo_clip = host + 2 * P, *hi_clip = host + 3 * P;
    uint8_t *mask = (uint8_t *)(host + 4 * P);
    tr->has_clip = false;
    for (int i = 0; i < net->n_params; i++) {
        const rn_param *p = &net->params[i];
        bool clip = p->mode == RN_BOUND_CLIP;
        for (size_t k = p->offset; k < p->offset + p->count; k++) {
            lo_pen[k] = clip ? -INFINITY : p->lower;
            hi_pen[k] = clip ? INFINITY : p->upper;
            lo_clip[k] = clip ? p->lower : -INFINITY;
            hi_clip[k] = clip ? p->upper : INFINITY;
            mask[k] = p->trainable ? 1 : 0;
        }
        if (clip && (isfinite(p->lower) || isfinite(p->upper))) tr->has_clip = true;
    }
    const rn_backend_ops *o = tr->be->ops;
    rn_status st = RN_OK;
    if ((st = o->upload(tr->be, tr->p, net->values, P * sizeof(float))) == RN_OK &&
        (st = o->upload(tr->be, tr->lo_pen, lo_pen, P * sizeof(float))) == RN_OK &&
        (st = o->upload(tr->be, tr->hi_pen, hi_pen, P * sizeof(float))) == RN_OK &&
        (st = o->upload(tr->be, tr->lo_clip, lo_clip, P * sizeof(float))) == RN_OK &&
        (st = o->upload(tr->be, tr->hi_clip, hi_clip, P * sizeof(float))) == RN_OK)
        st = o->upload(tr->be, tr->train_mask, mask, P);
    free(host);
    if (st != RN_OK) return op_fail(tr->be, st, err);
    return rn_ok(err);
}

rn_status rn_trainer_create(rn_trainer **out, rn_net *net, rn_backend *be,
                            const rn_train_config *cfg, int batch, int steps, rn_error *err) {
    if (!out) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_trainer_create: trainer pointer is NULL");
    *out = NULL;
    if (!net || !be)
        return rn_fail(err, RN_ERR_INVALID_ARG, "rn_trainer_create: NULL net or backend");
    if (net->n_layers == 0) return rn_fail(err, RN_ERR_INVALID_ARG, "the network has no layers");
    if (batch <= 0 || batch >= (1 << 24))
        return rn_fail(err, RN_ERR_INVALID_ARG, "batch must be in 1..%d (got %d)", (1 << 24) - 1,
                       batch);
    if (steps <= 0) return rn_fail(err, RN_ERR_INVALID_ARG, "steps T must be >= 1 (got %d)", steps);
    int widest = 0;
    for (int li = 0; li < net->n_layers; li++) {
        if (net->layers[li].n_in > widest) widest = net->layers[li].n_in;
        if (net->layers[li].n_out > widest) widest = net->layers[li].n_out;
    }
    /* B·T·width ≤ INT_MAX without overflowing on the way (each factor is ≥ 1 here) */
    if ((long long)batch * steps > INT_MAX || (long long)batch * steps * widest > INT_MAX)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "B·T·width = %d·%d·%d is over %d elements per sequence buffer", batch, steps,
                       widest, INT_MAX);
    rn_train_config c = cfg ? *cfg : rn_train_config_default();
    if (!(c.lr > 0.0f) || !isfinite(c.lr))
        return rn_fail(err, RN_ERR_INVALID_ARG, "learning rate must be finite and > 0 (got %g)",
                       c.lr);
    if (!(c.b1 >= 0.0f && c.b1 < 1.0f) || !(c.b2 >= 0.0f && c.b2 < 1.0f) || !(c.eps >= 0.0f))
        return rn_fail(err, RN_ERR_INVALID_ARG, "Adam needs 0 <= b1, b2 < 1 and eps >= 0");
    if (!(c.clip_norm >= 0.0f) || !(c.w_mse >= 0.0f) || !(c.w_bounds >= 0.0f) || !(c.w_l2 >= 0.0f))
        return rn_fail(err, RN_ERR_INVALID_ARG, "clip norm and loss weights must be >= 0");
    if (c.optimizer != RN_OPT_ADAM && c.optimizer != RN_OPT_SGD)
        return rn_fail(err, RN_ERR_INVALID_ARG, "unknown optimizer %d", (int)c.optimizer);

    for (int li = 0; li < net->n_layers; li++)
        if (rn_is_filter(net->layers[li].kind) && !be->ops->filter_forward)
            return rn_fail(err, RN_ERR_UNSUPPORTED,
                           "layer %d (%s): the %s backend has no filter kernels", li,
                           rn_layer_kind_name(net->layers[li].kind), be->description);
    rn_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return rn_fail(err, RN_ERR_NO_MEMORY, "out of host memory for the trainer");
    tr->net = net;
    tr->be = be;
    tr->cfg = c;
    tr->B = batch;
    tr->T = steps;
    carver measure = {NULL, 0};
    layout(tr, &measure);
    tr->arena_bytes = measure.used;
    rn_status st = be->ops->alloc(be, &tr->arena, tr->arena_bytes);
    if (st != RN_OK) {
        rn_status s2 = op_fail(tr->be, st, err);
        if (err)
            rn_fail(err, s2, "cannot allocate %.1f MiB for B=%d, T=%d on %s: %s",
                    (double)tr->arena_bytes / 1048576.0, batch, steps, be->description,
                    be->err.message[0] ? be->err.message : rn_status_string(s2));
        free(tr);
        return s2;
    }
    carver assign = {tr->arena, 0};
    layout(tr, &assign);
    const rn_backend_ops *o = be->ops;
    size_t P = net->total;
    if ((st = o->fill(be, tr->m, 0.0f, P)) != RN_OK ||
        (st = o->fill(be, tr->v, 0.0f, P)) != RN_OK ||
        (st = o->fill(be, tr->g, 0.0f, P)) != RN_OK ||
        (st = rn_trainer_push_params(tr, err)) != RN_OK) {
        if (err && be->err.status != RN_OK) *err = be->err;
        rn_trainer_free(tr);
        return st;
    }
    *out = tr;
    return rn_ok(err);
}

void rn_trainer_free(rn_trainer *tr) {
    if (!tr) return;
    if (tr->graph) tr->be->ops->graph_free(tr->be, tr->graph);
    if (tr->arena) tr->be->ops->free(tr->be, tr->arena);
    free(tr);
}

static rn_status check_finite(const float *v, size_t n, const char *what, rn_error *err) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return rn_fail(err, RN_ERR_INVALID_ARG, "%s: element %zu is not finite (%g)", what, i,
                           (double)v[i]);
    return RN_OK;
}

rn_status rn_trainer_set_data(rn_trainer *tr, const float *input, const float *target,
                              const float *mask, rn_error *err) {
    if (!tr || !input) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_trainer_set_data: NULL input");
    size_t BT = (size_t)tr->B * tr->T;
    size_t nin = BT * rn_net_input_size(tr->net), nout = BT * rn_net_output_size(tr->net);
    rn_status st;
    if ((st = check_finite(input, nin, "input", err)) != RN_OK) return st;
    if (target && (st = check_finite(target, nout, "target", err)) != RN_OK) return st;
    if (mask) {
        double sum = 0.0;
        for (size_t i = 0; i < BT; i++) {
            if (!(mask[i] >= 0.0f) || !isfinite(mask[i]))
                return rn_fail(err, RN_ERR_INVALID_ARG,
                               "mask: element %zu is %g (must be finite, >= 0)", i,
                               (double)mask[i]);
            sum += mask[i];
        }
        if (!(sum > 0.0)) return rn_fail(err, RN_ERR_INVALID_ARG, "mask: every step is masked out");
    }
    const rn_backend_ops *o = tr->be->ops;
    OP(o->upload(tr->be, tr->input, input, nin * sizeof(float)));
    if (target) OP(o->upload(tr->be, tr->target, target, nout * sizeof(float)));
    if (mask) OP(o->upload(tr->be, tr->mask, mask, BT * sizeof(float)));
    tr->has_target = target != NULL;
    tr->has_mask = mask != NULL;
    return rn_ok(err);
}

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
    s.epoch = (uint32_t)tr->epoch;
    s.layer = (uint32_t)li;
    s.t = 0;
    return s;
}

static rn_status forward(rn_trainer *tr, bool noise, rn_error *err) {
    const rn_net *net = tr->net;
    const rn_backend_ops *o = tr->be->ops;
    rn_backend *be = tr->be;
    const int B = tr->B, T = tr->T, BT = B * T;
    const float *in = tr->input;
    for (int li = 0; li < net->n_layers; li++) {
        const rn_layer *L = &net->layers[li];
        layer_buffers *lb = &tr->layers[li];
        if (L->kind == RN_LAYER_LINEAR) {
            /* y = x · W + b as one GEMM over all B·T rows */
            OP(o->gemm(be, false, false, BT, L->n_out, L->n_in, 1.0f, in, L->n_in,
                       param_ptr(tr, tr->p, L->p_weight), L->n_out, 0.0f, lb->out, L->n_out));
            if (L->has_bias)
                OP(o->bias_add(be, lb->out, param_ptr(tr, tr->p, L->p_bias), BT, L->n_out));
        } else if (rn_is_filter(L->kind)) {
            const float *tau1 = param_ptr(tr, tr->p, L->p_tau),
                        *init = param_ptr(tr, tr->p, L->p_init);
            float dt = net->dt;
            if (rn_filter_stages(L->kind) == 1) {
                OP(o->filter_forward(be, lb->out, in, tau1, init, B, T, L->n_out, dt));
            } else {
                const float *tau2 =
                    L->kind == RN_LAYER_ALPHA ? tau1 : param_ptr(tr, tr->p, L->p_tau2);
                OP(o->filter_forward(be, lb->mid, in, tau1, init, B, T, L->n_out, dt));
                OP(o->filter_forward(be, lb->out, lb->mid, tau2, init, B, T, L->n_out, dt));
            }
        } else {
            const int N = L->n_out;
            const float *w = param_ptr(tr, tr->p, L->p_w_rec);
            const float *tau = param_ptr(tr, tr->p, L->p_tau),
                        *bias = param_ptr(tr, tr->p, L->p_bias);
            const float *theta = param_ptr(tr, tr->p, L->p_threshold);
            rn_rate_step s = rate_step(tr, li, noise);
            OP(o->rate_init(be, lb->x_init, lb->a_init, param_ptr(tr, tr->p, L->p_x0), theta,
                            s.activation, B, N));
            for (int t = 0; t < T; t++) {
                const float *a_prev = t > 0 ? lb->out + (size_t)(t - 1) * N : lb->a_init;
                const float *x_prev = t > 0 ? lb->x + (size_t)(t - 1) * N : lb->x_init;
                int ld_prev = t > 0 ? s.ld : N;
                float *rec = NULL;
                if (w) {
                    rec = lb->r + (size_t)t * N;
                    OP(o->gemm(be, false, false, B, N, N, 1.0f, a_prev, ld_prev, w, N, 0.0f, rec,
                               s.ld));
                }
                s.t = t;
                s.ld_prev = ld_prev;
                OP(o->rate_forward_step(be, lb->x + (size_t)t * N, lb->out + (size_t)t * N, x_prev,
                                        in + (size_t)t * N, rec, tau, bias, theta, &s));
            }
        }
        in = lb->out;
    }
    return RN_OK;
}

static rn_status backward(rn_trainer *tr, rn_error *err) {
    const rn_net *net = tr->net;
    const rn_backend_ops *o = tr->be->ops;
    rn_backend *be = tr->be;
    const int B = tr->B, T = tr->T, BT = B * T;
    const float *dout = tr->dy;
    for (int li = net->n_layers - 1; li >= 0; li--) {
        const rn_layer *L = &net->layers[li];
        layer_buffers *lb = &tr->layers[li];
        const float *in = li > 0 ? tr->layers[li - 1].out : tr->input;
        if (L->kind == RN_LAYER_LINEAR) {
            if (trainable(tr, L->p_weight))
                OP(o->gemm(be, true, false, L->n_in, L->n_out, BT, 1.0f, in, L->n_in, dout,
                           L->n_out, 1.0f, param_ptr(tr, tr->g, L->p_weight), L->n_out));
            if (trainable(tr, L->p_bias))
                OP(o->bias_grad(be, param_ptr(tr, tr->g, L->p_bias), dout, BT, L->n_out));
            if (li > 0)
                OP(o->gemm(be, false, true, BT, L->n_in, L->n_out, 1.0f, dout, L->n_out,
                           param_ptr(tr, tr->p, L->p_weight), L->n_out, 0.0f, lb->din, L->n_in));
        } else if (rn_is_filter(L->kind)) {
            const int C = L->n_out;
            const float dt = net->dt;
            const float *tau1 = param_ptr(tr, tr->p, L->p_tau),
                        *init = param_ptr(tr, tr->p, L->p_init);
            float *dtau1 = trainable(tr, L->p_tau) ? param_ptr(tr, tr->g, L->p_tau) : NULL;
            float *dinit = trainable(tr, L->p_init) ? param_ptr(tr, tr->g, L->p_init) : NULL;
            const float *g1 = dout;
            if (rn_filter_stages(L->kind) == 2) {
                /* the second stage first: its input is the first stage's output */
                bool alpha = L->kind == RN_LAYER_ALPHA;
                const float *tau2 = alpha ? tau1 : param_ptr(tr, tr->p, L->p_tau2);
                float *dtau2 =
                    alpha ? dtau1
                          : (trainable(tr, L->p_tau2) ? param_ptr(tr, tr->g, L->p_tau2) : NULL);
                OP(o->filter_backward(be, lb->dmid, lb->acc_dp, lb->acc_dinit, dout, lb->out,
                                      lb->mid, tau2, init, B, T, C, dt));
                OP(o->filter_param_grads(be, dtau2, dinit, lb->acc_dp, lb->acc_dinit, tau2, B, C,
                                         dt));
                g1 = lb->dmid;
            }
            const float *y1 = rn_filter_stages(L->kind) == 2 ? lb->mid : lb->out;
            OP(o->filter_backward(be, lb->din, lb->acc_dp, lb->acc_dinit, g1, y1, in, tau1, init, B,
                                  T, C, dt));
            OP(o->filter_param_grads(be, dtau1, dinit, lb->acc_dp, lb->acc_dinit, tau1, B, C, dt));
        } else {
            const int N = L->n_out;
            const size_t bn = (size_t)B * N;
            const float *w = param_ptr(tr, tr->p, L->p_w_rec);
            const float *tau = param_ptr(tr, tr->p, L->p_tau);
            const float *theta = param_ptr(tr, tr->p, L->p_threshold);
            float *e = lb->din;
            rn_rate_step s = rate_step(tr, li, false);
            OP(o->fill(be, lb->lam, 0.0f, bn));
            OP(o->fill(be, lb->acc_tau, 0.0f, bn));
            OP(o->fill(be, lb->acc_bias, 0.0f, bn));
            OP(o->fill(be, lb->acc_theta, 0.0f, bn));
            for (int t = T - 1; t >= 0; t--) {
                const float *d = NULL;
                if (w && t < T - 1) {
                    /* d_t = e_{t+1} · W_recᵀ */
                    OP(o->gemm(be, false, true, B, N, N, 1.0f, e + (size_t)(t + 1) * N, s.ld, w, N,
                               0.0f, lb->dscr, N));
                    d = lb->dscr;
                }
                s.t = t;
                s.ld_prev = t > 0 ? s.ld : N;
                const float *x_prev = t > 0 ? lb->x + (size_t)(t - 1) * N : lb->x_init;
                OP(o->rate_backward_step(be, lb->lam, e + (size_t)t * N, lb->acc_tau, lb->acc_bias,
                                         lb->acc_theta, dout + (size_t)t * N, d,
                                         lb->x + (size_t)t * N, lb->out + (size_t)t * N, x_prev,
                                         tau, theta, &s));
            }
            const float *d = NULL;
            if (w) {
                OP(o->gemm(be, false, true, B, N, N, 1.0f, e, s.ld, w, N, 0.0f, lb->dscr, N));
                d = lb->dscr;
            }
            OP(o->rate_backward_init(be, lb->lam, lb->acc_theta, d, param_ptr(tr, tr->p, L->p_x0),
                                     tau, theta, &s));
            OP(o->rate_param_grads(
                be, trainable(tr, L->p_tau) ? param_ptr(tr, tr->g, L->p_tau) : NULL,
                trainable(tr, L->p_bias) ? param_ptr(tr, tr->g, L->p_bias) : NULL,
                trainable(tr, L->p_threshold) ? param_ptr(tr, tr->g, L->p_threshold) : NULL,
                trainable(tr, L->p_x0) ? param_ptr(tr, tr->g, L->p_x0) : NULL, lb->acc_tau,
                lb->acc_bias, lb->acc_theta, lb->lam, tau, B, N));
            if (w && trainable(tr, L->p_w_rec)) {
                /* ∂W_rec = Σ a_{t−1}ᵀ e_t as one GEMM over all B·T rows; r holds the shifted a. */
                OP(o->shift_rows(be, lb->r, lb->out, lb->a_init, B, T, N));
                OP(o->gemm(be, true, false, N, N, BT, 1.0f, lb->r, N, e, N, 1.0f,
                           param_ptr(tr, tr->g, L->p_w_rec), N));
            }
        }
        dout = lb->din;
    }
    return RN_OK;
}

/* Forward, loss, backward; leaves the scalars on the backend (not yet downloaded). */
static rn_status loss_and_gradients(rn_trainer *tr, rn_error *err) {
    if (!tr->has_target)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "no target set: call rn_trainer_set_data with a target");
    const rn_net *net = tr->net;
    const rn_backend_ops *o = tr->be->ops;
    rn_backend *be = tr->be;
    OP(o->fill(be, (float *)tr->scalars, 0.0f, 2 * RN_SCALAR_COUNT));
    OP(o->fill(be, tr->g, 0.0f, net->total));
    rn_status st = forward(tr, true, err);
    if (st != RN_OK) return st;
    const rn_layer *last = &net->layers[net->n_layers - 1];
    OP(o->mse(be, tr->scalars + RN_SCALAR_MSE, tr->dy, tr->layers[net->n_layers - 1].out,
              tr->target, tr->has_mask ? tr->mask : NULL, tr->B, tr->T, last->n_out,
              tr->cfg.w_mse));
    st = backward(tr, err);
    if (st != RN_OK) return st;
    OP(o->bounds(be, tr->scalars + RN_SCALAR_BOUNDS, tr->g, tr->p, tr->lo_pen, tr->hi_pen,
                 net->total, tr->cfg.w_bounds));
    for (int li = 0; li < net->n_layers; li++) {
        const rn_layer *L = &net->layers[li];
        if (L->kind == RN_LAYER_RATE && L->p_w_rec >= 0)
            OP(o->l2(be, tr->scalars + RN_SCALAR_L2, param_ptr(tr, tr->g, L->p_w_rec),
                     param_ptr(tr, tr->p, L->p_w_rec), net->params[L->p_w_rec].count,
                     tr->cfg.w_l2));
    }
    OP(o->sum_squares(be, tr->scalars + RN_SCALAR_GNORM2, tr->g, tr->train_mask, net->total));
    return RN_OK;
}

static rn_status read_scalars(rn_trainer *tr, rn_loss_parts *lp, rn_error *err) {
    double s[RN_SCALAR_COUNT];
    OP(tr->be->ops->download(tr->be, s, tr->scalars, sizeof s));
    const rn_train_config *c = &tr->cfg;
    rn_loss_parts parts;
    parts.mse = s[RN_SCALAR_MSE];
    parts.bounds = s[RN_SCALAR_BOUNDS];
    parts.l2 = s[RN_SCALAR_L2];
    parts.grad_norm = sqrt(s[RN_SCALAR_GNORM2]);
    parts.total = c->w_mse * parts.mse + c->w_bounds * parts.bounds + c->w_l2 * parts.l2;
    parts.device_ms = -1.0;
    if (lp) *lp = parts;
    static const char *names[RN_SCALAR_COUNT] = {"the MSE loss", "the bounds cost", "the L2 cost",
                                                 "the gradient"};
    for (int i = 0; i < RN_SCALAR_COUNT; i++)
        if (!isfinite(s[i]))
            return rn_fail(
                err, RN_ERR_DIVERGED,
                "diverged at epoch %lld: %s is not finite; the parameters are left as they "
                "were before this epoch",
                (long long)tr->epoch, names[i]);
    return RN_OK;
}

/* The recording stays valid while the ops it issued stay the same: the same buffers (fixed at
 * creation), the same mask presence, the same trainable parameters and the same noise levels (the
 * kernels take σ by value). Everything else they read is in backend memory. */
static uint64_t mix(uint64_t h, uint64_t v) {
    return (h ^ v) * 1099511628211ull;
}

static uint64_t graph_key(const rn_trainer *tr) {
    uint64_t h = mix(1469598103934665603ull, (uint64_t)tr->has_mask);
    for (int i = 0; i < tr->net->n_params; i++)
        h = mix(h, (uint64_t)tr->net->params[i].trainable);
    for (int li = 0; li < tr->net->n_layers; li++)
        if (tr->net->layers[li].kind == RN_LAYER_RATE) {
            uint32_t bits;
            memcpy(&bits, &tr->net->layers[li].rate.noise_std, sizeof bits);
            h = mix(h, bits);
        }
    return h;
}

/* loss_and_gradients, recorded once as a graph and replayed where the backend has graphs. The
 * first epoch runs directly (it loads the kernels and cuBLAS outside any recording). If recording
 * fails, nothing has run: the epoch runs directly and the trainer stops trying graphs. */
static rn_status gradients(rn_trainer *tr, rn_error *err) {
    rn_backend *be = tr->be;
    const rn_backend_ops *o = be->ops;
    if (!o->graph_begin || !tr->cfg.graphs || !tr->has_target || !tr->warmed_up) {
        tr->warmed_up = true;
        return loss_and_gradients(tr, err);
    }
    uint64_t key = graph_key(tr);
    if (tr->graph && tr->graph_key != key) {
        o->graph_free(be, tr->graph);
        tr->graph = NULL;
    }
    if (!tr->graph) {
        rn_status st = o->graph_begin(be);
        void *graph = NULL;
        if (st == RN_OK) {
            rn_error ignored;
            st = loss_and_gradients(tr, &ignored);
            rn_status st2 = o->graph_end(be, st == RN_OK, &graph);
            if (st == RN_OK) st = st2;
        }
        if (st != RN_OK) {
            be->err.status = RN_OK;
            tr->cfg.graphs = false;
            return loss_and_gradients(tr, err); /* a real failure shows again here */
        }
        tr->graph = graph;
        tr->graph_key = key;
    }
    OP(o->graph_launch(be, tr->graph, (uint32_t)tr->epoch));
    return RN_OK;
}

rn_status rn_trainer_compute_gradients(rn_trainer *tr, rn_loss_parts *loss, rn_error *err) {
    if (!tr) return rn_fail(err, RN_ERR_INVALID_ARG, "trainer is NULL");
    rn_status st = gradients(tr, err);
    if (st != RN_OK) return st;
    st = read_scalars(tr, loss, err);
    return st == RN_OK ? rn_ok(err) : st;
}

rn_status rn_trainer_epoch(rn_trainer *tr, rn_loss_parts *loss, rn_error *err) {
    if (!tr) return rn_fail(err, RN_ERR_INVALID_ARG, "trainer is NULL");
    const bool timed = tr->be->ops->timer_begin && tr->be->ops->timer_end;
    if (timed) OP(tr->be->ops->timer_begin(tr->be));
    rn_status st = gradients(tr, err);
    if (st != RN_OK) return st;
    const rn_train_config *c = &tr->cfg;
    rn_optim_step os;
    os.lr = c->lr;
    os.b1 = c->b1;
    os.b2 = c->b2;
    os.eps = c->eps;
    /* as jax: the bias corrections in float32 */
    os.bc1 = 1.0f - powf(c->b1, (float)(tr->epoch + 1));
    os.bc2 = 1.0f - powf(c->b2, (float)(tr->epoch + 1));
    os.clip_norm = c->clip_norm;
    const rn_backend_ops *o = tr->be->ops;
    size_t P = tr->net->total;
    /* The step guards itself on the scalars: nothing moves if the loss or gradient is non-finite.
     */
    if (c->optimizer == RN_OPT_ADAM)
        OP(o->adam(tr->be, tr->p, tr->m, tr->v, tr->g, tr->train_mask, tr->scalars, P, &os));
    else
        OP(o->sgd(tr->be, tr->p, tr->g, tr->train_mask, tr->scalars, P, &os));
    if (tr->has_clip)
        OP(o->clip_bounds(tr->be, tr->p, tr->lo_clip, tr->hi_clip, tr->train_mask, P));
    double device_ms = -1.0;
    if (timed) OP(o->timer_end(tr->be, &device_ms));
    st = read_scalars(tr, loss, err);
    if (loss) loss->device_ms = device_ms;
    if (st != RN_OK) return st;
    tr->epoch++;
    return rn_ok(err);
}

rn_status rn_trainer_forward(rn_trainer *tr, float *output, bool noise, rn_error *err) {
    if (!tr) return rn_fail(err, RN_ERR_INVALID_ARG, "trainer is NULL");
    rn_status st = forward(tr, noise, err);
    if (st != RN_OK) return st;
    const rn_net *net = tr->net;
    if (output)
        OP(tr->be->ops->download(tr->be, output, tr->layers[net->n_layers - 1].out,
                                 (size_t)tr->B * tr->T * rn_net_output_size(net) * sizeof(float)));
    return rn_ok(err);
}

rn_status rn_trainer_get_record(const rn_trainer *tr, int layer, rn_record_kind kind, float *values,
                                size_t count, rn_error *err) {
    if (!tr || layer < 0 || layer >= tr->net->n_layers)
        return rn_fail(err, RN_ERR_INVALID_ARG, "record: layer %d out of range", layer);
    const rn_layer *L = &tr->net->layers[layer];
    const layer_buffers *lb = &tr->layers[layer];
    size_t n = (size_t)tr->B * tr->T * L->n_out;
    if (count != n)
        return rn_fail(err, RN_ERR_SHAPE, "record of layer %d has %zu elements, not %zu", layer, n,
                       count);
    const float *src = lb->out;
    if (kind != RN_RECORD_OUTPUT) {
        if (L->kind != RN_LAYER_RATE)
            return rn_fail(err, RN_ERR_INVALID_ARG,
                           "layer %d is not a rate layer: only its output is recorded", layer);
        if (kind == RN_RECORD_R && L->p_w_rec < 0) {
            for (size_t i = 0; i < n; i++)
                values[i] = 0.0f;
            return rn_ok(err);
        }
        src = kind == RN_RECORD_X ? lb->x : lb->r;
    }
    OP(tr->be->ops->download(tr->be, values, src, n * sizeof(float)));
    return rn_ok(err);
}

rn_status rn_trainer_get_grad(const rn_trainer *tr, const char *name, float *values, size_t count,
                              rn_error *err) {
    const rn_param *p = rn_net_param_by_name(tr->net, name, err);
    if (!p) return RN_ERR_NOT_FOUND;
    if (count != p->count)
        return rn_fail(err, RN_ERR_SHAPE, "parameter '%s' has %zu elements, not %zu", name,
                       p->count, count);
    OP(tr->be->ops->download(tr->be, values, tr->g + p->offset, count * sizeof(float)));
    return rn_ok(err);
}

rn_status rn_trainer_pull_params(rn_trainer *tr, rn_error *err) {
    OP(tr->be->ops->download(tr->be, tr->net->values, tr->p, tr->net->total * sizeof(float)));
    return rn_ok(err);
}

rn_status rn_trainer_get_optimizer_state(const rn_trainer *tr, float *m, float *v, size_t count,
                                         int64_t *epochs_done, rn_error *err) {
    if (count != tr->net->total)
        return rn_fail(err, RN_ERR_SHAPE, "optimizer state has %zu elements, not %zu",
                       tr->net->total, count);
    OP(tr->be->ops->download(tr->be, m, tr->m, count * sizeof(float)));
    OP(tr->be->ops->download(tr->be, v, tr->v, count * sizeof(float)));
    *epochs_done = tr->epoch;
    return rn_ok(err);
}

rn_status rn_trainer_set_optimizer_state(rn_trainer *tr, const float *m, const float *v,
                                         size_t count, int64_t epochs_done, rn_error *err) {
    if (count != tr->net->total)
        return rn_fail(err, RN_ERR_SHAPE, "optimizer state has %zu elements, not %zu", count,
                       tr->net->total);
    if (epochs_done < 0 || epochs_done > UINT32_MAX)
        return rn_fail(err, RN_ERR_INVALID_ARG, "epochs done must be in 0..%u (got %lld)",
                       UINT32_MAX, (long long)epochs_done);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(m[i]) || !(v[i] >= 0.0f) || !isfinite(v[i]))
            return rn_fail(err, RN_ERR_INVALID_ARG,
                           "optimizer state: element %zu is not valid (m %g, v %g)", i,
                           (double)m[i], (double)v[i]);
    OP(tr->be->ops->upload(tr->be, tr->m, m, count * sizeof(float)));
    OP(tr->be->ops->upload(tr->be, tr->v, v, count * sizeof(float)));
    tr->epoch = epochs_done;
    return rn_ok(err);
}

int64_t rn_trainer_epochs_done(const rn_trainer *tr) {
    return tr->epoch;
}
size_t rn_trainer_memory_bytes(const rn_trainer *tr) {
    return tr->arena_bytes;
}
