/* The trainer: lifecycle, the epoch (forward, loss, backward, optimiser step), the graph cache and
 * the records, over the backend's operation table (DESIGN.md) and the layer kinds' tables
 * (trainer_impl.h). The same code trains on the CPU and on the GPU; only rn_backend_ops differs. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "host_memory.h"
#include "trainer_impl.h"

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
    c.max_memory = 0;
    c.checkpoint_steps = 0;
    c.block_steps = 0;
    c.shared_data = false;
    return c;
}

/* Staging (trainer_impl.h): only when checkpointing, and only at a rate or filter end. */
static bool stages_first(const rn_trainer *tr) {
    return tr->S > 1 && tr->net->layers[0].kind != RN_LAYER_LINEAR;
}
static bool stages_last(const rn_trainer *tr) {
    return tr->S > 1 && tr->net->layers[tr->net->n_layers - 1].kind != RN_LAYER_LINEAR;
}

/* The trial strides of the target and the mask (floats; 0 where every trial shares one copy). */
static size_t target_stride(const rn_trainer *tr) {
    return tr->cfg.shared_data ? 0 : (size_t)tr->T * rn_net_output_size(tr->net);
}
static size_t mask_stride(const rn_trainer *tr) {
    return tr->cfg.shared_data ? 0 : (size_t)tr->T;
}

/* Every buffer of the trainer, carved from the arena (measure, then assign: see rn_carver). */
static void layout(rn_trainer *tr, rn_carver *c) {
    const rn_net *net = tr->net;
    const int last = net->n_layers - 1;
    size_t P = net->total, BT = (size_t)tr->B * tr->T, BK = (size_t)tr->B * tr->K;
    const size_t cin = (size_t)rn_net_input_size(net), cout = (size_t)rn_net_output_size(net);
    /* the input is held once when every trial shares it and the first layer reads it by rows (a
     * linear layer, or the staging copies) */
    tr->input_stride =
        tr->cfg.shared_data && (net->layers[0].kind == RN_LAYER_LINEAR || stages_first(tr))
            ? 0
            : (size_t)tr->T * cin;
    tr->p = RN_CARVE_F(c, P);
    tr->g = RN_CARVE_F(c, P);
    tr->m = RN_CARVE_F(c, P);
    tr->v = RN_CARVE_F(c, P);
    if (rn_tau_guard_needed(net)) {
        tr->p_prev = RN_CARVE_F(c, P);
        tr->m_prev = RN_CARVE_F(c, P);
        tr->v_prev = RN_CARVE_F(c, P);
    }
    tr->lo_pen = RN_CARVE_F(c, P);
    tr->hi_pen = RN_CARVE_F(c, P);
    tr->lo_clip = RN_CARVE_F(c, P);
    tr->hi_clip = RN_CARVE_F(c, P);
    tr->train_mask = rn_carve(c, P);
    tr->scalars = rn_carve(c, RN_SCALAR_COUNT * sizeof(double));
    tr->noise_epoch = rn_carve(c, sizeof(uint32_t));
    tr->input = RN_CARVE_F(c, (tr->input_stride ? BT : (size_t)tr->T) * cin);
    /* the target and mask: held once when every trial shares them (the loss reads them so) */
    const size_t held = tr->cfg.shared_data ? (size_t)tr->T : BT;
    tr->target = RN_CARVE_F(c, held * cout);
    tr->mask = RN_CARVE_F(c, held);
    tr->dy = RN_CARVE_F(c, BT * cout);
    tr->stage_in = stages_first(tr) ? RN_CARVE_F(c, BK * cin) : NULL;
    tr->stage_dy = stages_last(tr) ? RN_CARVE_F(c, BK * cout) : NULL;
    tr->y = stages_last(tr) ? RN_CARVE_F(c, BT * cout) : NULL;
    for (int li = 0; li <= last; li++) {
        rn_layer_buffers *lb = &tr->layers[li];
        memset(lb, 0, sizeof *lb);
        /* a last linear layer's output stays whole for the loss; the others hold one segment */
        size_t steps = li == last && !stages_last(tr) ? (size_t)tr->T : (size_t)tr->K;
        lb->out = RN_CARVE_F(c, (size_t)tr->B * steps * net->layers[li].n_out);
        rn_layer_ops(net->layers[li].kind)->layout(tr, li, c);
    }
    if (!stages_last(tr)) tr->y = tr->layers[last].out;
}

/* Copies a backend failure's message into err. */
rn_status rn_trainer_op_fail(rn_backend *be, rn_status st, rn_error *err) {
    if (err && be->err.status != RN_OK)
        *err = be->err;
    else if (err)
        rn_fail(err, st, "backend %s failed (%s)", be->description, rn_status_string(st));
    be->err.status = RN_OK;
    return st;
}
rn_status rn_trainer_copy(rn_trainer *tr, float *dst, const float *src, size_t n, rn_error *err) {
    /* shift_rows with one trial of one step copies its `first` row, exactly */
    const size_t chunk = INT_MAX / 2;
    for (size_t at = 0; at < n; at += chunk) {
        size_t len = n - at < chunk ? n - at : chunk;
        RN_OP(tr->be->ops->shift_rows(tr->be, dst + at, src + at, 1, src + at, 1, 1, (int)len));
    }
    return RN_OK;
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
    if (st != RN_OK) return rn_trainer_op_fail(tr->be, st, err);
    return rn_ok(err);
}

/* Whether the network can run one segment at a time: every kind can (all of them today; a rate or
 * filter layer first or last goes through the staging buffers). */
static bool segmentable(const rn_net *net) {
    for (int li = 0; li < net->n_layers; li++)
        if (!rn_layer_ops(net->layers[li].kind)->segmented) return false;
    return true;
}

/* The widest layer's inputs or outputs: the layers' buffers hold B·K·width elements at most. */
static int net_width(const rn_net *net) {
    int widest = 0;
    for (int li = 0; li < net->n_layers; li++) {
        if (net->layers[li].n_in > widest) widest = net->layers[li].n_in;
        if (net->layers[li].n_out > widest) widest = net->layers[li].n_out;
    }
    return widest;
}

/* The arena's size with segments of K steps. */
static size_t arena_for(rn_trainer *tr, int K) {
    tr->K = K;
    tr->S = (tr->T + K - 1) / K;
    rn_carver measure = {NULL, 0};
    layout(tr, &measure);
    return measure.used;
}

/* Half of the memory the system says is available now (MemAvailable), or of the physical memory
 * where it does not say. */
static size_t host_budget(void) {
    size_t avail = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kib;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) avail = (size_t)kib * 1024;
        fclose(f);
    }
    if (!avail) avail = rn_host_memory_total();
    /* under an address-space limit (ulimit -v), half of what is left of it */
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
        size_t used = 0;
        FILE *st = fopen("/proc/self/statm", "r");
        unsigned long long pages;
        if (st && fscanf(st, "%llu", &pages) == 1)
            used = (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
        if (st) fclose(st);
        size_t left = (size_t)lim.rlim_cur > used ? (size_t)lim.rlim_cur - used : 0;
        if (!avail || left < avail) avail = left;
    }
    return avail ? avail / 2 : SIZE_MAX;
}

/* Without a budget given: half of the host's available memory on the CPU; three quarters of the
 * device's free memory where the backend says (the rest for its libraries' workspaces); else none. */
static size_t default_budget(rn_backend *be) {
    if (rn_backend_get_kind(be) == RN_BACKEND_CPU) return host_budget();
    size_t free_bytes = 0;
    if (be->ops->mem_free && be->ops->mem_free(be, &free_bytes) == RN_OK && free_bytes)
        return free_bytes / 4 * 3;
    be->err.status = RN_OK;
    return SIZE_MAX;
}

/* A size for a message: "12.3 MiB", or "12.3 KiB" below a MiB. */
typedef struct rn_size_text {
    char s[32];
} rn_size_text;
static rn_size_text size_text(size_t bytes) {
    rn_size_text t;
    if (bytes < 1048576)
        snprintf(t.s, sizeof t.s, "%.1f KiB", (double)bytes / 1024.0);
    else
        snprintf(t.s, sizeof t.s, "%.1f MiB", (double)bytes / 1048576.0);
    return t;
}
/* The same rounded up, for a size to give back as a budget. */
static rn_size_text size_text_up(size_t bytes) {
    rn_size_text t;
    double unit = bytes < 1048576 ? 1024.0 : 1048576.0;
    snprintf(t.s, sizeof t.s, "%.1f %s", ceil((double)bytes / unit * 10.0) / 10.0,
             bytes < 1048576 ? "KiB" : "MiB");
    return t;
}

/* K, S and the arena's size under the memory budget: every step stored when that fits; else, under
 * a budget given, the largest K (a multiple of Tb) within it, since every segment but the newest is
 * recomputed once and longer segments leave fewer steps to recompute; under the default budget
 * (never granted by the caller), the K that needs the least memory (about √T steps: S checkpoints of
 * the state plus one segment of every sequence). An explicit K as given (rounded up to a multiple of
 * Tb). Where B·T·width is past INT_MAX, segments are a must, of at most INT_MAX / (B·width) steps. */
static rn_status choose_segments(rn_trainer *tr, rn_error *err) {
    const rn_train_config *c = &tr->cfg;
    const int T = tr->T;
    if (c->block_steps < 0 || c->checkpoint_steps < 0)
        return rn_fail(err, RN_ERR_INVALID_ARG, "checkpoint and block steps must be >= 0");
    tr->Tb = c->block_steps > 0 && c->block_steps < T ? c->block_steps : T;
    if (c->block_steps == 0 && T > RN_DEFAULT_BLOCK_STEPS) tr->Tb = RN_DEFAULT_BLOCK_STEPS;
    tr->budget = c->max_memory ? c->max_memory : default_budget(tr->be);
    const bool seg_ok = segmentable(tr->net);
    const int blocks = (T + tr->Tb - 1) / tr->Tb;
    /* The layers' segment buffers, B·K·width elements, are indexed with int (the products'
     * dimensions, the kernels' strides): K is at most mmax blocks of Tb steps, and storing every
     * step is possible only where B·T·width fits. */
    const int width = net_width(tr->net);
    const long long cap = INT_MAX / ((long long)tr->B * width); /* steps */
    const bool whole_fits = T <= cap;
    const int mmax = whole_fits ? blocks : (int)(cap / tr->Tb); /* blocks a segment may hold */
    if (!whole_fits && !seg_ok)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "B·T·width = %d·%d·%d is over %d elements per layer buffer (a layer here "
                       "runs only whole sequences)",
                       tr->B, T, width, INT_MAX);
    if (!whole_fits && mmax < 1)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "B·block·width = %d·%d·%d is over %d elements per layer buffer (even one "
                       "block of steps)",
                       tr->B, tr->Tb, width, INT_MAX);
    int K = whole_fits ? T : mmax * tr->Tb;
    if (c->checkpoint_steps > 0) {
        long long want = ((long long)c->checkpoint_steps + tr->Tb - 1) / tr->Tb * tr->Tb;
        K = want < T ? (int)want : T;
        if (K < T && !seg_ok)
            return rn_fail(err, RN_ERR_INVALID_ARG,
                           "checkpoints every %d steps need every layer to run by segments", K);
        if (K > cap)
            return rn_fail(err, RN_ERR_INVALID_ARG,
                           "checkpoints every %d steps make B·K·width = %d·%d·%d over %d elements "
                           "per segment buffer; at most %d steps",
                           K, tr->B, K, width, INT_MAX, mmax * tr->Tb);
    } else if ((!whole_fits || arena_for(tr, T) > tr->budget) && seg_ok) {
        /* a budget given: the longest segments within it (the fewest steps recomputed); the
         * default budget, or one too small: the least memory */
        int fits = 0;
        for (int m = (blocks - 1 < mmax ? blocks - 1 : mmax); c->max_memory && m >= 1 && !fits; m--)
            if (arena_for(tr, m * tr->Tb) <= tr->budget) fits = m * tr->Tb;
        /* storing every step is a candidate too: where a rate or filter layer is at an end, the
         * staging buffers can outweigh what checkpoints save (a small network, a short T) */
        size_t best = whole_fits ? arena_for(tr, T) : SIZE_MAX;
        for (int m = 1; !fits && m < blocks && m <= mmax; m++) {
            size_t bytes = arena_for(tr, m * tr->Tb);
            if (bytes < best) {
                best = bytes;
                K = m * tr->Tb;
            }
        }
        if (fits) K = fits;
    }
    tr->arena_bytes = arena_for(tr, K);
    /* the default budget steers K; only a budget given is a limit (past it the allocation says) */
    if (tr->arena_bytes <= tr->budget || !c->max_memory) return RN_OK;
    if (!seg_ok)
        return rn_fail(err, RN_ERR_NO_MEMORY,
                       "memory budget %s is too small: B=%d, T=%d needs %s storing "
                       "every step (a layer here runs only whole sequences)",
                       size_text(tr->budget).s, tr->B, T, size_text(tr->arena_bytes).s);
    if (c->checkpoint_steps > 0)
        return rn_fail(err, RN_ERR_NO_MEMORY,
                       "memory budget %s is too small: B=%d, T=%d with checkpoints every %d "
                       "steps needs %s",
                       size_text(tr->budget).s, tr->B, T, K, size_text(tr->arena_bytes).s);
    if (K == T)
        return rn_fail(err, RN_ERR_NO_MEMORY,
                       "memory budget %s is too small: B=%d, T=%d needs at least %s (storing "
                       "every step: checkpoints would need more); give at least that much",
                       size_text(tr->budget).s, tr->B, T, size_text_up(tr->arena_bytes).s);
    return rn_fail(err, RN_ERR_NO_MEMORY,
                   "memory budget %s is too small: B=%d, T=%d needs at least %s "
                   "(checkpoints every %d steps); give at least that much",
                   size_text(tr->budget).s, tr->B, T, size_text_up(tr->arena_bytes).s, K);
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
    /* The whole sequences (the input, the target, the output and its gradient) hold B·T·C
     * elements (C: the input's or the output's channels) ≤ INT_MAX, checked without overflowing on
     * the way (each factor is ≥ 1 here); the layers' buffers hold segments (choose_segments). */
    const int cin = rn_net_input_size(net), cout = rn_net_output_size(net);
    const int data_width = cin > cout ? cin : cout;
    if ((long long)batch * steps > INT_MAX || (long long)batch * steps * data_width > INT_MAX)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "B·T·C = %d·%d·%d is over %d elements per sequence buffer (C: the input's "
                       "or the output's channels)",
                       batch, steps, data_width, INT_MAX);
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

    rn_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return rn_fail(err, RN_ERR_NO_MEMORY, "out of host memory for the trainer");
    tr->net = net;
    tr->be = be;
    tr->cfg = c;
    tr->B = batch;
    tr->T = steps;
    rn_status st = choose_segments(tr, err);
    if (st != RN_OK) {
        free(tr);
        return st;
    }
    st = rn_backend_alloc(be, &tr->arena, tr->arena_bytes);
    if (st != RN_OK) {
        rn_status s2 = rn_trainer_op_fail(tr->be, st, err);
        if (err)
            rn_fail(err, s2, "cannot allocate %.1f MiB for B=%d, T=%d on %s: %s",
                    (double)tr->arena_bytes / 1048576.0, batch, steps, be->description,
                    be->err.message[0] ? be->err.message : rn_status_string(s2));
        free(tr);
        return s2;
    }
    rn_carver assign = {tr->arena, 0};
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
    if (tr->arena) rn_backend_dealloc(tr->be, tr->arena);
    free(tr);
}

static rn_status check_finite(const float *v, size_t n, const char *what, rn_error *err) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return rn_fail(err, RN_ERR_INVALID_ARG, "%s: element %zu is not finite (%g)", what, i,
                           (double)v[i]);
    return RN_OK;
}

static rn_status check_mask(const float *mask, size_t n, rn_error *err) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(mask[i] >= 0.0f) || !isfinite(mask[i]))
            return rn_fail(err, RN_ERR_INVALID_ARG,
                           "mask: element %zu is %g (must be finite, >= 0)", i, (double)mask[i]);
        sum += mask[i];
    }
    if (!(sum > 0.0)) return rn_fail(err, RN_ERR_INVALID_ARG, "mask: every step is masked out");
    return RN_OK;
}

/* Uploads `trials` (1 or B) blocks of n floats into a (B, n) buffer with trial stride `stride`: as
 * they are where they are B or the buffer is shared (stride 0), else one copy per trial. */
static rn_status upload_trials(rn_trainer *tr, float *dst, size_t stride, const float *src,
                               int trials, size_t n, rn_error *err) {
    const rn_backend_ops *o = tr->be->ops;
    if (trials == tr->B || stride == 0)
        RN_OP(o->upload(tr->be, dst, src, (size_t)trials * n * sizeof(float)));
    else
        for (int b = 0; b < tr->B; b++)
            RN_OP(o->upload(tr->be, dst + (size_t)b * stride, src, n * sizeof(float)));
    return RN_OK;
}

/* Checks the data, then uploads it: `trials` (1: one for every trial, B: one each) (T, C) blocks
 * into the trainer's buffers (each held once where every trial shares it, else per trial). */
static rn_status put_data(rn_trainer *tr, int trials, const float *input, const float *target,
                          const float *mask, rn_error *err) {
    const size_t T = (size_t)tr->T, per = (size_t)trials * T;
    const size_t cin = (size_t)rn_net_input_size(tr->net),
                 cout = (size_t)rn_net_output_size(tr->net);
    rn_status st;
    if ((st = check_finite(input, per * cin, "input", err)) != RN_OK) return st;
    if (target && (st = check_finite(target, per * cout, "target", err)) != RN_OK) return st;
    if (mask && (st = check_mask(mask, per, err)) != RN_OK) return st;
    if ((st = upload_trials(tr, tr->input, tr->input_stride, input, trials, T * cin, err)) !=
            RN_OK ||
        (target && (st = upload_trials(tr, tr->target, target_stride(tr), target, trials, T * cout,
                                       err)) != RN_OK) ||
        (mask &&
         (st = upload_trials(tr, tr->mask, mask_stride(tr), mask, trials, T, err)) != RN_OK))
        return st;
    tr->has_target = target != NULL;
    tr->has_mask = mask != NULL;
    return rn_ok(err);
}

rn_status rn_trainer_set_data(rn_trainer *tr, const float *input, const float *target,
                              const float *mask, rn_error *err) {
    if (!tr || !input) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_trainer_set_data: NULL input");
    if (tr->cfg.shared_data)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "rn_trainer_set_data: the trainer holds one copy of the data for every "
                       "trial (shared_data); give it with rn_trainer_set_shared_data");
    return put_data(tr, tr->B, input, target, mask, err);
}

rn_status rn_trainer_set_shared_data(rn_trainer *tr, const float *input, const float *target,
                                     const float *mask, rn_error *err) {
    if (!tr || !input)
        return rn_fail(err, RN_ERR_INVALID_ARG, "rn_trainer_set_shared_data: NULL input");
    return put_data(tr, 1, input, target, mask, err);
}

/* The noise epoch the rate layers read: set in backend memory before anything runs (outside any
 * recording, so that one recording serves every epoch). */
static rn_status set_noise_epoch(rn_trainer *tr, rn_error *err) {
    uint32_t e = tr->noise_frozen ? 0u : (uint32_t)tr->epoch;
    RN_OP(tr->be->ops->upload(tr->be, tr->noise_epoch, &e, sizeof e));
    return RN_OK;
}

/* Where layer li's input, output and input gradient rows are in segment seg. */
static rn_rows in_rows(const rn_trainer *tr, int li, int seg) {
    const int t0 = rn_seg_t0(tr, seg), len = rn_seg_t1(tr, seg) - t0;
    if (li == 0) {
        if (tr->stage_in)
            return (rn_rows){tr->stage_in, (size_t)len * rn_net_input_size(tr->net), t0};
        return (rn_rows){tr->input, tr->input_stride, 0};
    }
    rn_rows r = {tr->layers[li - 1].out, (size_t)len * tr->net->layers[li - 1].n_out, t0};
    return r;
}
static rn_rows out_rows(const rn_trainer *tr, int li, int seg) {
    const int t0 = rn_seg_t0(tr, seg), len = rn_seg_t1(tr, seg) - t0;
    const int C = tr->net->layers[li].n_out;
    if (tr->layers[li].out == tr->y) {
        rn_rows r = {tr->y, (size_t)tr->T * C, 0};
        return r;
    }
    rn_rows r = {tr->layers[li].out, (size_t)len * C, t0};
    return r;
}
static rn_rows din_rows(const rn_trainer *tr, int li, int seg) {
    const int t0 = rn_seg_t0(tr, seg), len = rn_seg_t1(tr, seg) - t0;
    rn_rows r = {tr->layers[li].din, (size_t)len * tr->net->layers[li].n_in, t0};
    return r;
}

/* Copies each trial's rows of segment seg between a whole sequence `whole` (trial stride
 * `stride`: T·C, or 0 when the trials share it) and a segment buffer `part` (B, len, C): into the
 * segment when `in`, else out of it. */
static rn_status stage(rn_trainer *tr, int seg, float *whole, size_t stride, float *part, int C,
                       bool in, rn_error *err) {
    const int t0 = rn_seg_t0(tr, seg), len = rn_seg_t1(tr, seg) - t0;
    const size_t n = (size_t)len * C;
    for (int b = 0; b < tr->B; b++) {
        float *w = whole + (size_t)b * stride + (size_t)t0 * C, *s = part + (size_t)b * n;
        rn_status st = in ? rn_trainer_copy(tr, s, w, n, err) : rn_trainer_copy(tr, w, s, n, err);
        if (st != RN_OK) return st;
    }
    return RN_OK;
}

/* The layers from the first to `last` over segment seg. */
static rn_status forward_segment(rn_trainer *tr, int seg, int last, bool noise, rn_error *err) {
    rn_status st;
    if (tr->stage_in && (st = stage(tr, seg, tr->input, tr->input_stride, tr->stage_in,
                                    rn_net_input_size(tr->net), true, err)) != RN_OK)
        return st;
    for (int li = 0; li <= last; li++) {
        st = rn_layer_ops(tr->net->layers[li].kind)
                 ->forward(tr, li, seg, in_rows(tr, li, seg), out_rows(tr, li, seg), noise, err);
        if (st != RN_OK) return st;
    }
    return RN_OK;
}

/* Every layer over segment seg, its output into y where the last layer writes a segment. */
static rn_status forward_whole_segment(rn_trainer *tr, int seg, bool noise, rn_error *err) {
    const int last = tr->net->n_layers - 1, C = rn_net_output_size(tr->net);
    rn_status st = forward_segment(tr, seg, last, noise, err);
    if (st != RN_OK || tr->layers[last].out == tr->y) return st;
    return stage(tr, seg, tr->y, (size_t)tr->T * C, tr->layers[last].out, C, false, err);
}

/* Every segment, oldest first; each leaves its checkpoints for the next. */
static rn_status forward(rn_trainer *tr, bool noise, rn_error *err) {
    const rn_net *net = tr->net;
    tr->fwd_noise = noise;
    for (int li = 0; li < net->n_layers; li++) {
        const rn_layer_kind_ops *k = rn_layer_ops(net->layers[li].kind);
        rn_status st = k->begin ? k->begin(tr, li, err) : RN_OK;
        if (st != RN_OK) return st;
    }
    for (int seg = 0; seg < tr->S; seg++) {
        rn_status st = forward_whole_segment(tr, seg, noise, err);
        if (st != RN_OK) return st;
    }
    return RN_OK;
}

/* Every segment, newest first: an older segment's forward is recomputed from its checkpoints (the
 * same noise: it is a function of the step), then the layers' adjoints run over it. The newest
 * segment's forward is still in the buffers. */
static rn_status backward(rn_trainer *tr, rn_error *err) {
    const rn_net *net = tr->net;
    const int last = net->n_layers - 1, C = rn_net_output_size(net);
    const bool whole = tr->layers[last].out == tr->y;
    for (int seg = tr->S - 1; seg >= 0; seg--) {
        rn_status st;
        /* a last linear layer's output is whole already; the layers below it are recomputed (and
         * a last rate or filter layer, whose own buffers hold one segment) */
        if (seg < tr->S - 1 &&
            (st = forward_segment(tr, seg, whole ? last - 1 : last, tr->fwd_noise, err)) != RN_OK)
            return st;
        rn_rows dy = {tr->dy, (size_t)tr->T * C, 0};
        if (!whole) {
            if ((st = stage(tr, seg, tr->dy, dy.stride, tr->stage_dy, C, true, err)) != RN_OK)
                return st;
            dy = (rn_rows){tr->stage_dy, (size_t)(rn_seg_t1(tr, seg) - rn_seg_t0(tr, seg)) * C,
                           rn_seg_t0(tr, seg)};
        }
        for (int li = last; li >= 0; li--) {
            rn_rows dout = li == last ? dy : din_rows(tr, li + 1, seg);
            st =
                rn_layer_ops(net->layers[li].kind)
                    ->backward(tr, li, seg, in_rows(tr, li, seg), dout, din_rows(tr, li, seg), err);
            if (st != RN_OK) return st;
        }
    }
    for (int li = 0; li < net->n_layers; li++) {
        const rn_layer_kind_ops *k = rn_layer_ops(net->layers[li].kind);
        rn_status st = k->finish ? k->finish(tr, li, err) : RN_OK;
        if (st != RN_OK) return st;
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
    RN_OP(o->zero(be, tr->scalars, RN_SCALAR_COUNT * sizeof(double)));
    RN_OP(o->fill(be, tr->g, 0.0f, net->total));
    rn_status st = forward(tr, true, err);
    if (st != RN_OK) return st;
    const rn_layer *last = &net->layers[net->n_layers - 1];
    RN_OP(o->mse(be, tr->scalars + RN_SCALAR_MSE, tr->dy, tr->y, tr->target, target_stride(tr),
                 tr->has_mask ? tr->mask : NULL, mask_stride(tr), tr->B, tr->T, last->n_out,
                 tr->cfg.w_mse));
    st = backward(tr, err);
    if (st != RN_OK) return st;
    RN_OP(o->bounds(be, tr->scalars + RN_SCALAR_BOUNDS, tr->g, tr->p, tr->lo_pen, tr->hi_pen,
                    net->total, tr->cfg.w_bounds));
    for (int li = 0; li < net->n_layers; li++) {
        const rn_layer_kind_ops *k = rn_layer_ops(net->layers[li].kind);
        if (k->penalty && (st = k->penalty(tr, li, err)) != RN_OK) return st;
    }
    RN_OP(o->sum_squares(be, tr->scalars + RN_SCALAR_GNORM2, tr->g, tr->train_mask, net->total));
    return RN_OK;
}

static rn_status read_scalars(rn_trainer *tr, rn_loss_parts *lp, rn_error *err) {
    double s[RN_SCALAR_COUNT];
    RN_OP(tr->be->ops->download(tr->be, s, tr->scalars, sizeof s));
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
    for (int li = 0; li < tr->net->n_layers; li++) { /* σ is 0 in layers without noise */
        uint32_t bits;
        memcpy(&bits, &tr->net->layers[li].rate.noise_std, sizeof bits);
        h = mix(h, bits);
    }
    return h;
}

/* loss_and_gradients (the caller has set the noise epoch), recorded once as a graph and replayed
 * where the backend has graphs. The first run of each set of ops (the first epoch, and the first
 * after a change of the key: a mask, a weight or a noise level that was not there may bring new
 * kernels and product shapes) runs directly, so that kernels load and cuBLAS meets its shapes
 * outside any recording; the next is recorded. If recording fails, nothing has run: the epoch
 * runs directly and the trainer stops trying graphs. */
static rn_status gradients(rn_trainer *tr, rn_error *err) {
    rn_backend *be = tr->be;
    const rn_backend_ops *o = be->ops;
    if (!o->graph_begin || !tr->cfg.graphs || !tr->has_target) return loss_and_gradients(tr, err);
    const uint64_t key = graph_key(tr);
    if (!tr->warmed_up || tr->warm_key != key) {
        tr->warmed_up = true;
        tr->warm_key = key;
        return loss_and_gradients(tr, err);
    }
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
        memcpy(tr->graph_layers, tr->layers, sizeof tr->layers);
    }
    RN_OP(o->graph_launch(be, tr->graph));
    memcpy(tr->layers, tr->graph_layers, sizeof tr->layers);
    tr->graph_replays++;
    return RN_OK;
}

rn_status rn_trainer_compute_gradients(rn_trainer *tr, rn_loss_parts *loss, rn_error *err) {
    if (!tr) return rn_fail(err, RN_ERR_INVALID_ARG, "trainer is NULL");
    rn_status st = set_noise_epoch(tr, err);
    if (st == RN_OK) st = gradients(tr, err);
    if (st != RN_OK) return st;
    st = read_scalars(tr, loss, err);
    return st == RN_OK ? rn_ok(err) : st;
}

rn_status rn_trainer_epoch(rn_trainer *tr, rn_loss_parts *loss, rn_error *err) {
    if (!tr) return rn_fail(err, RN_ERR_INVALID_ARG, "trainer is NULL");
    rn_status st = set_noise_epoch(tr, err); /* a synchronous upload: before the timed region */
    if (st == RN_OK) st = rn_tau_guard_save(tr, err);
    if (st != RN_OK) return st;
    const bool timed = tr->be->ops->timer_begin && tr->be->ops->timer_end;
    if (timed) RN_OP(tr->be->ops->timer_begin(tr->be));
    st = gradients(tr, err);
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
     * It runs after gradients(), outside any recorded graph, so the bias corrections that change
     * every epoch can be passed by value; moving the step into the recording would bake epoch 1's
     * bc1/bc2 into every replay. */
    if (c->optimizer == RN_OPT_ADAM)
        RN_OP(o->adam(tr->be, tr->p, tr->m, tr->v, tr->g, tr->train_mask, tr->scalars, P, &os));
    else
        RN_OP(o->sgd(tr->be, tr->p, tr->g, tr->train_mask, tr->scalars, P, &os));
    if (tr->has_clip)
        RN_OP(o->clip_bounds(tr->be, tr->p, tr->lo_clip, tr->hi_clip, tr->train_mask, P));
    double device_ms = -1.0;
    if (timed) RN_OP(o->timer_end(tr->be, &device_ms));
    st = read_scalars(tr, loss, err);
    if (loss) loss->device_ms = device_ms;
    if (st == RN_OK) st = rn_tau_guard_check(tr, err);
    if (st != RN_OK) return st;
    tr->epoch++;
    return rn_ok(err);
}

rn_status rn_trainer_forward(rn_trainer *tr, float *output, bool noise, rn_error *err) {
    if (!tr) return rn_fail(err, RN_ERR_INVALID_ARG, "trainer is NULL");
    rn_status st = set_noise_epoch(tr, err);
    if (st == RN_OK) st = forward(tr, noise, err);
    if (st != RN_OK) return st;
    const rn_net *net = tr->net;
    if (output)
        RN_OP(
            tr->be->ops->download(tr->be, output, tr->y,
                                  (size_t)tr->B * tr->T * rn_net_output_size(net) * sizeof(float)));
    return rn_ok(err);
}

/* Copies segment seg's part of one request into its values. */
static rn_status record_segment(rn_trainer *tr, int seg, const rn_record_request *q,
                                rn_error *err) {
    const rn_layer *L = &tr->net->layers[q->layer];
    const int C = L->n_out, t0 = rn_seg_t0(tr, seg), t1 = rn_seg_t1(tr, seg);
    const size_t kept = (size_t)(tr->T + q->stride - 1) / (size_t)q->stride;
    rn_rows src = out_rows(tr, q->layer, seg);
    if (q->kind != RN_RECORD_OUTPUT) {
        const float *p = NULL;
        rn_status st = rn_layer_ops(L->kind)->record(tr, q->layer, q->kind, &p, err);
        if (st != RN_OK) return st;
        src = (rn_rows){(float *)p, (size_t)(t1 - t0) * C, t0};
    }
    const int first = (t0 + q->stride - 1) / q->stride * q->stride; /* the first kept step */
    for (int b = 0; b < q->trials; b++) {
        float *dst = q->values + (size_t)b * kept * C;
        if (!src.p) { /* not recurrent: r is zero */
            for (int t = first; t < t1; t += q->stride)
                memset(dst + (size_t)(t / q->stride) * C, 0, (size_t)C * sizeof(float));
        } else if (q->stride == 1) {
            RN_OP(tr->be->ops->download(tr->be, dst + (size_t)t0 * C, rn_row(src, C, b, t0),
                                        (size_t)(t1 - t0) * C * sizeof(float)));
        } else {
            for (int t = first; t < t1; t += q->stride)
                RN_OP(tr->be->ops->download(tr->be, dst + (size_t)(t / q->stride) * C,
                                            rn_row(src, C, b, t), (size_t)C * sizeof(float)));
        }
    }
    return RN_OK;
}

rn_status rn_trainer_forward_record(rn_trainer *tr, float *output, bool noise,
                                    const rn_record_request *req, int n_req, rn_error *err) {
    if (!tr) return rn_fail(err, RN_ERR_INVALID_ARG, "trainer is NULL");
    if (n_req < 0 || (n_req > 0 && !req))
        return rn_fail(err, RN_ERR_INVALID_ARG, "record: %d requests at %p", n_req, (void *)req);
    const rn_net *net = tr->net;
    for (int i = 0; i < n_req; i++) {
        const rn_record_request *q = &req[i];
        if (q->layer < 0 || q->layer >= net->n_layers)
            return rn_fail(err, RN_ERR_INVALID_ARG, "record: layer %d out of range", q->layer);
        if (q->trials < 1 || q->trials > tr->B || q->stride < 1 || !q->values)
            return rn_fail(err, RN_ERR_INVALID_ARG,
                           "record of layer %d: trials must be in 1..%d, stride >= 1, values not "
                           "NULL (got %d, %d)",
                           q->layer, tr->B, q->trials, q->stride);
        const rn_layer_kind_ops *k = rn_layer_ops(net->layers[q->layer].kind);
        if (q->kind != RN_RECORD_OUTPUT && !k->record)
            return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d (%s): only its output is recorded",
                           q->layer, rn_layer_kind_name(net->layers[q->layer].kind));
    }
    rn_status st = set_noise_epoch(tr, err);
    if (st != RN_OK) return st;
    tr->fwd_noise = noise;
    for (int li = 0; li < net->n_layers; li++) {
        const rn_layer_kind_ops *k = rn_layer_ops(net->layers[li].kind);
        if (k->begin && (st = k->begin(tr, li, err)) != RN_OK) return st;
    }
    for (int seg = 0; seg < tr->S; seg++) {
        if ((st = forward_whole_segment(tr, seg, noise, err)) != RN_OK) return st;
        for (int i = 0; i < n_req; i++)
            if ((st = record_segment(tr, seg, &req[i], err)) != RN_OK) return st;
    }
    if (output)
        RN_OP(
            tr->be->ops->download(tr->be, output, tr->y,
                                  (size_t)tr->B * tr->T * rn_net_output_size(net) * sizeof(float)));
    return rn_ok(err);
}

rn_status rn_trainer_get_record(const rn_trainer *tr, int layer, rn_record_kind kind, float *values,
                                size_t count, rn_error *err) {
    if (!tr || layer < 0 || layer >= tr->net->n_layers)
        return rn_fail(err, RN_ERR_INVALID_ARG, "record: layer %d out of range", layer);
    const rn_layer *L = &tr->net->layers[layer];
    size_t n = (size_t)tr->B * tr->T * L->n_out;
    if (count != n)
        return rn_fail(err, RN_ERR_SHAPE, "record of layer %d has %zu elements, not %zu", layer, n,
                       count);
    if (tr->S > 1 && (layer != tr->net->n_layers - 1 || kind != RN_RECORD_OUTPUT))
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "record of layer %d: with checkpoints every %d of %d steps only the last "
                       "layer's output is kept whole; record with rn_trainer_forward_record",
                       layer, tr->K, tr->T);
    const float *src = layer == tr->net->n_layers - 1 ? tr->y : tr->layers[layer].out;
    if (kind != RN_RECORD_OUTPUT) {
        const rn_layer_kind_ops *k = rn_layer_ops(L->kind);
        if (!k->record)
            return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d (%s): only its output is recorded",
                           layer, rn_layer_kind_name(L->kind));
        rn_status st = k->record(tr, layer, kind, &src, err);
        if (st != RN_OK) return st;
        if (!src) {
            for (size_t i = 0; i < n; i++)
                values[i] = 0.0f;
            return rn_ok(err);
        }
    }
    RN_OP(tr->be->ops->download(tr->be, values, src, n * sizeof(float)));
    return rn_ok(err);
}

rn_status rn_trainer_get_grad(const rn_trainer *tr, const char *name, float *values, size_t count,
                              rn_error *err) {
    const rn_param *p = rn_net_param_by_name(tr->net, name, err);
    if (!p) return RN_ERR_NOT_FOUND;
    if (count != p->count)
        return rn_fail(err, RN_ERR_SHAPE, "parameter '%s' has %zu elements, not %zu", name,
                       p->count, count);
    RN_OP(tr->be->ops->download(tr->be, values, tr->g + p->offset, count * sizeof(float)));
    return rn_ok(err);
}

rn_status rn_trainer_pull_params(rn_trainer *tr, rn_error *err) {
    RN_OP(tr->be->ops->download(tr->be, tr->net->values, tr->p, tr->net->total * sizeof(float)));
    return rn_ok(err);
}

rn_status rn_trainer_get_optimizer_state(const rn_trainer *tr, float *m, float *v, size_t count,
                                         int64_t *epochs_done, rn_error *err) {
    if (count != tr->net->total)
        return rn_fail(err, RN_ERR_SHAPE, "optimizer state has %zu elements, not %zu",
                       tr->net->total, count);
    RN_OP(tr->be->ops->download(tr->be, m, tr->m, count * sizeof(float)));
    RN_OP(tr->be->ops->download(tr->be, v, tr->v, count * sizeof(float)));
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
    RN_OP(tr->be->ops->upload(tr->be, tr->m, m, count * sizeof(float)));
    RN_OP(tr->be->ops->upload(tr->be, tr->v, v, count * sizeof(float)));
    tr->epoch = epochs_done;
    return rn_ok(err);
}

int64_t rn_trainer_epochs_done(const rn_trainer *tr) {
    return tr->epoch;
}
size_t rn_trainer_memory_bytes(const rn_trainer *tr) {
    return tr->arena_bytes;
}

/* Only the noise epoch changes: the optimiser's step count (Adam's bias correction) still advances. */
rn_status rn_trainer_set_noise_mode(rn_trainer *tr, rn_noise_mode mode, rn_error *err) {
    if (!tr) return rn_fail(err, RN_ERR_INVALID_ARG, "trainer is NULL");
    if (mode != RN_NOISE_FRESH && mode != RN_NOISE_FROZEN)
        return rn_fail(err, RN_ERR_INVALID_ARG, "noise mode %d is neither fresh (0) nor frozen (1)",
                       (int)mode);
    tr->noise_frozen = mode == RN_NOISE_FROZEN;
    return rn_ok(err);
}

size_t rn_trainer_memory_budget(const rn_trainer *tr) {
    return tr->budget;
}
int rn_trainer_checkpoint_steps(const rn_trainer *tr) {
    return tr->K;
}
int64_t rn_trainer_graph_replays(const rn_trainer *tr) {
    return tr->graph_replays;
}
