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

/* Steps per block of the sums over time when the config leaves it 0 (rn_train_config). */
#define RN_DEFAULT_BLOCK_STEPS 1000

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

/* Where the rows of one sequence are for the steps at hand: row (b, t) is at
 * p + b * stride + (t - t0) * C. A full buffer has t0 = 0 and stride T·C (0 when every trial shares
 * it); a segment buffer holds steps [t0, t1) compactly, stride (t1 − t0)·C. */
typedef struct rn_rows {
    float *p;
    size_t stride;
    int t0;
} rn_rows;

static inline float *rn_row(rn_rows r, int c, int b, int t) {
    return r.p + (size_t)b * r.stride + (size_t)(t - r.t0) * (size_t)c;
}

/* A layer's buffers in the arena. Every kind has `out`; `din` = ∂L/∂(layer input) where the kind
 * computes it. Sequences hold one segment of K steps ((B, K, C); K = T when everything is stored),
 * except a last linear layer's out, which holds all T steps for the loss (it is the trainer's y).
 * The rest belongs to one kind. */
typedef struct rn_layer_buffers {
    float *out; /* carved by the trainer for every layer */
    float *din; /* or NULL (a first linear layer needs none) */
    union {
        struct {
            /* (B, K, N); the backward reuses r for a segment's first block of activations,
             * shifted (B, Tb, N) */
            float *x, *r;
            float *ckpt_x, *ckpt_a; /* (S, B, N): x and f(x − θ) before each segment's first step
                                       (segment 0: x0 and f(x0 − θ)) */
            float *e_next; /* (B, N): e at the first step of the segment after the one at hand */
            float *lam, *acc_tau, *acc_bias, *acc_theta, *dscr; /* (B, N) */
            bool r_reused; /* r holds shifted activations (after a backward) */
        } rate;
        struct {
            float *mid,
                *dmid; /* (B, K, C), two-stage kinds: the first stage's output, its gradient */
            /* (S, B, C): each stage's last output before each segment (segment 0: unused, the
             * scans start from the initial level) */
            float *ckpt_y, *ckpt_mid;
            /* (B, C) per stage, carried from segment to segment by the backward scans: μ and
             * the per-trial sums (the second stage's in acc_dp2, acc_dinit2, mu2) */
            float *acc_dp, *acc_dinit, *mu, *acc_dp2, *acc_dinit2, *mu2;
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
    float *p, *g, *m, *v;            /* the parameter block, its gradient and Adam's moments */
    float *p_prev, *m_prev, *v_prev; /* p, m, v before the step (tau_guard.c; NULL: no τ) */
    float *lo_pen, *hi_pen;          /* penalty bounds per element (±inf where none) */
    float *lo_clip, *hi_clip;        /* clip bounds per element (±inf where none) */
    uint8_t *train_mask;             /* 1 where the element is trainable */
    double *scalars;                 /* RN_SCALAR_COUNT doubles */
    uint32_t *noise_epoch; /* the noise epoch the rate layers read, set before every run */
    float *input, *target, *mask, *dy;
    size_t input_stride; /* input's trial stride in floats: T·C_in, or 0 when the trials share it */
    float *y; /* the last layer's output, all T steps (B, T, C_out): what the loss reads */
    /* Staging, when checkpointing with a rate or filter layer first or last (they address a
     * segment's rows with the segment's stride): the first layer reads its segment of the input
     * from stage_in (B, K, C_in), the last writes its segment to its own out, copied into y, and
     * reads its segment of ∂L/∂y from stage_dy (B, K, C_out). NULL where not needed. */
    float *stage_in, *stage_dy;
    rn_layer_buffers layers[RN_MAX_LAYERS];
    /* Checkpointed BPTT: segments of K steps (K a multiple of Tb; K = T stores everything), S of
     * them. Weight gradients and row-wise products go in blocks of Tb steps per trial, newest
     * block first, whatever K is: the same sums in the same order, so the same bits. */
    int K, S, Tb;
    size_t budget;  /* the memory budget K was chosen under (bytes) */
    bool fwd_noise; /* the noise setting of the forward the backward recomputes */
    bool has_target, has_mask, has_clip;
    int64_t epoch;      /* completed epochs = optimiser steps taken = the noise epoch */
    void *graph;        /* the recorded forward + backward (backends with graphs), or NULL */
    uint64_t graph_key; /* what the recording depends on besides buffer contents */
    bool warmed_up;     /* a run with the ops of warm_key has been direct (graphs: then record) */
    uint64_t warm_key;  /* the graph key of the last direct run */
    int64_t graph_replays; /* forward + backward runs replayed from the recording */
    /* the layers' host state as the recorded run left it (flags such as r_reused): a replay sets
     * no flag, so it puts these back (the pointers in them never change) */
    rn_layer_buffers graph_layers[RN_MAX_LAYERS];
    bool noise_frozen; /* RN_NOISE_FROZEN: every run draws epoch 0's noise (calloc: fresh) */
};

/* What a layer kind does in the trainer, one segment at a time (trainer.c runs the segments: forward
 * oldest first, backward newest first, recomputing each older segment's forward from its
 * checkpoint). layout carves the kind's buffers (after `out`; tr->K and tr->S are set); begin runs
 * before segment 0's forward (NULL: nothing); forward writes out (=) for segment `seg` from `in` and
 * keeps what the next segment starts from; backward adds the parameter gradients (+=) and writes din
 * (=) from dout = ∂L/∂out for segment `seg`; finish runs after segment 0's backward (NULL: nothing);
 * penalty adds the kind's own loss terms and their gradients (NULL: none); record points *src at
 * a recorded quantity other than the output (NULL src: zeros), or fails saying why (NULL record:
 * only the output is recorded). A kind without `segmented` runs only with S = 1. */
typedef struct rn_layer_kind_ops {
    void (*layout)(rn_trainer *tr, int li, rn_carver *c);
    rn_status (*begin)(rn_trainer *tr, int li, rn_error *err);
    rn_status (*forward)(rn_trainer *tr, int li, int seg, rn_rows in, rn_rows out, bool noise,
                         rn_error *err);
    rn_status (*backward)(rn_trainer *tr, int li, int seg, rn_rows in, rn_rows dout, rn_rows din,
                          rn_error *err);
    rn_status (*finish)(rn_trainer *tr, int li, rn_error *err);
    rn_status (*penalty)(rn_trainer *tr, int li, rn_error *err);
    rn_status (*record)(const rn_trainer *tr, int li, rn_record_kind kind, const float **src,
                        rn_error *err);
    bool segmented;
} rn_layer_kind_ops;

/* The steps [t0, t1) of segment seg. */
static inline int rn_seg_t0(const rn_trainer *tr, int seg) {
    return seg * tr->K;
}
static inline int rn_seg_t1(const rn_trainer *tr, int seg) {
    long long t1 = (long long)(seg + 1) * tr->K; /* (past INT_MAX for the last of a long T) */
    return t1 < tr->T ? (int)t1 : tr->T;
}

/* Copies n floats within backend memory (through shift_rows, exactly). */
rn_status rn_trainer_copy(rn_trainer *tr, float *dst, const float *src, size_t n, rn_error *err);

/* The τ guard of the optimiser step (tau_guard.c): whether a network needs its buffers, p, m and v
 * saved before the step, and after it every trainable τ checked (restored and RN_ERR_DIVERGED if
 * one is ≤ 0, non-finite or too small for dt/τ). */
bool rn_tau_guard_needed(const rn_net *net);
rn_status rn_tau_guard_save(rn_trainer *tr, rn_error *err);
rn_status rn_tau_guard_check(rn_trainer *tr, rn_error *err);

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
