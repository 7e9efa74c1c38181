/* Internal to host/: the trainer's state, the arena carver, and the per-kind layer table.
 *
 * The trainer (trainer.c) owns the lifecycle, the epoch, the graph cache and the optimiser step; it
 * knows no layer kind. Each kind is one file (layer_linear.c, layer_rate.c, layer_filter.c) that
 * fills an rn_layer_kind_ops, registered by kind in layer_kinds.c. Adding a kind: its file, its
 * line in layer_kinds.c, its backend entries (src/backend_impl.h, src/cpu/, kernels/), its
 * constructor in src/net.c and spec syntax in src/netspec.c, and its tests. */
#ifndef RATENN_TRAINER_IMPL_H
#define RATENN_TRAINER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend_impl.h"
#include "error.h"
#include "net_impl.h"
#include "ratenn/train.h"

/* ---- the arena: one allocation, carved in two passes (measure with base NULL, then assign) ---- */
typedef struct rn_carver {
    char *base;
    size_t used;
} rn_carver;

static inline void *rn_carve(rn_carver *c, size_t bytes) {
    size_t at = (c->used + 255) & ~(size_t)255;
    c->used = at + bytes;
    return c->base ? c->base + at : NULL;
}
#define RN_CARVE_F(c, n) ((float *)rn_carve((c), (size_t)(n) * sizeof(float)))

/* A layer's buffers in the arena. Every kind has `out`; `din` = ∂L/∂(layer input) where the kind
 * computes it. The rest belongs to one kind. */
typedef struct rn_layer_buffers {
    float *out; /* (B, T, n_out), carved by the trainer for every layer */
    float *din; /* (B, T, n_in), or NULL (a first linear layer needs none) */
    union {
        struct {
            float *x, *r; /* (B, T, N); backward reuses r for the shifted activations */
            float *x_init, *a_init, *lam, *acc_tau, *acc_bias, *acc_theta, *dscr; /* (B, N) */
            bool r_reused; /* r holds the shifted activations (after a backward) */
        } rate;
        struct {
            float *mid, *dmid;         /* two-stage kinds: the first stage's output, its gradient */
            float *acc_dp, *acc_dinit; /* (B, C) */
        } filter;
    };
} rn_layer_buffers;

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
    uint32_t *noise_epoch;    /* the noise epoch the rate layers read, set before every run */
    float *input, *target, *mask, *dy;
    rn_layer_buffers layers[RN_MAX_LAYERS];
    bool has_target, has_mask, has_clip;
    int64_t epoch;      /* completed epochs = optimiser steps taken = the noise epoch */
    void *graph;        /* the recorded forward + backward (backends with graphs), or NULL */
    uint64_t graph_key; /* what the recording depends on besides buffer contents */
    bool warmed_up;     /* an epoch has run directly (graphs are recorded from the second on) */
    bool noise_frozen;  /* RN_NOISE_FROZEN: every run draws epoch 0's noise (calloc: fresh) */
};

/* What a layer kind does in the trainer. layout carves the kind's buffers (after `out`); forward
 * writes lb->out (=) from `in`; backward adds the parameter gradients (+=) and writes lb->din (=)
 * from dout = ∂L/∂out; penalty adds the kind's own loss terms and their gradients (NULL: none);
 * record points *src at a recorded quantity other than the output (NULL src: zeros), or fails
 * saying why (NULL record: only the output is recorded). */
typedef struct rn_layer_kind_ops {
    void (*layout)(rn_trainer *tr, int li, rn_carver *c);
    rn_status (*forward)(rn_trainer *tr, int li, const float *in, bool noise, rn_error *err);
    rn_status (*backward)(rn_trainer *tr, int li, const float *in, const float *dout,
                          rn_error *err);
    rn_status (*penalty)(rn_trainer *tr, int li, rn_error *err);
    rn_status (*record)(const rn_trainer *tr, int li, rn_record_kind kind, const float **src,
                        rn_error *err);
} rn_layer_kind_ops;

extern const rn_layer_kind_ops rn_layer_linear_ops, rn_layer_rate_ops, rn_layer_filter_ops;

/* The table of a kind (layer_kinds.c); never NULL for a kind the network can hold. */
const rn_layer_kind_ops *rn_layer_ops(rn_layer_kind kind);

/* Copies a backend failure's message into err; returns st. */
rn_status rn_trainer_op_fail(rn_backend *be, rn_status st, rn_error *err);

/* Evaluates a backend call once; on failure returns its status with the backend's message in err
 * (needs `tr` and `err` in scope). */
#define RN_OP(call)                                                                                \
    do {                                                                                           \
        rn_status op_st_ = (call);                                                                 \
        if (op_st_ != RN_OK) return rn_trainer_op_fail(tr->be, op_st_, err);                       \
    } while (0)

/* A parameter's elements in `block` (tr->p, tr->g), or NULL when the layer has no such tensor. */
static inline float *rn_param_ptr(const rn_trainer *tr, float *block, int index) {
    return index < 0 ? NULL : block + tr->net->params[index].offset;
}
static inline bool rn_trainable(const rn_trainer *tr, int index) {
    return index >= 0 && tr->net->params[index].trainable;
}
/* The gradient of a parameter if it trains, else NULL (the ops skip NULL outputs). */
static inline float *rn_grad_ptr(const rn_trainer *tr, int index) {
    return rn_trainable(tr, index) ? rn_param_ptr(tr, tr->g, index) : NULL;
}

#endif
