/* The network: a chain of layers and one block of named parameters (STYLE.md "one block, one table"). */
#include "net_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "host_memory.h"
#include "rn_math.h"

rn_rate_options rn_rate_options_default(int n) {
    rn_rate_options o;
    o.n = n;
    o.recurrent = true;
    o.activation = RN_ACT_TANH;
    o.noise_std = 0.0f;
    o.tau = 0.020f;
    return o;
}

rn_status rn_net_create(rn_net **out, float dt, uint64_t seed, rn_error *err) {
    if (!out) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_net_create: net pointer is NULL");
    *out = NULL;
    if (!(dt > 0.0f) || !isfinite(dt))
        return rn_fail(err, RN_ERR_INVALID_ARG, "dt must be a finite number > 0 (got %g)", dt);
    rn_net *net = calloc(1, sizeof *net);
    if (!net) return rn_fail(err, RN_ERR_NO_MEMORY, "out of host memory for the network");
    net->dt = dt;
    net->seed = seed;
    *out = net;
    return rn_ok(err);
}

void rn_net_free(rn_net *net) {
    if (!net) return;
    free(net->values);
    free(net);
}

/* Initialisation draws: Philox keyed by the network seed, counter (element, param index, stream 0x1217). */
static void init_words(const rn_net *net, int param, size_t element, uint32_t w[4]) {
    uint32_t ctr[4] = {(uint32_t)element, (uint32_t)((uint64_t)element >> 32), (uint32_t)param,
                       0x1217u};
    uint32_t key[2] = {(uint32_t)net->seed, (uint32_t)(net->seed >> 32)};
    rn_philox4x32_10(ctr, key, w);
}

static float init_uniform(const rn_net *net, int param, size_t i, float limit) {
    uint32_t w[4];
    init_words(net, param, i, w);
    double u = ((double)w[0] + 0.5) / 4294967296.0; /* (0, 1) */
    return (float)((2.0 * u - 1.0) * limit);
}

static float init_normal(const rn_net *net, int param, size_t i, float std) {
    uint32_t w[4];
    init_words(net, param, i, w);
    return rn_normal_from_words(w, 0) * std;
}

/* Appends a tensor to the table, grows the block, and returns its index (or -1 on failure). */
static int add_param(rn_net *net, int layer, const char *kind, const char *pname,
                     rn_param_role role, int ndim, size_t d0, size_t d1, rn_error *err) {
    if (net->n_params >= RN_MAX_PARAMS) {
        rn_fail(err, RN_ERR_INVALID_ARG, "too many parameters (at most %d)", RN_MAX_PARAMS);
        return -1;
    }
    size_t count = ndim == 2 ? d0 * d1 : d0;
    if (rn_host_memory_exceeds((net->total + count) * sizeof(float))) {
        rn_fail(err, RN_ERR_NO_MEMORY,
                "out of host memory for %zu parameters (%.1f GiB; this machine has %.1f GiB)",
                net->total + count, (double)(net->total + count) * sizeof(float) / 1073741824.0,
                (double)rn_host_memory_total() / 1073741824.0);
        return -1;
    }
    float *grown = realloc(net->values, (net->total + count) * sizeof(float));
    if (!grown && net->total + count > 0) {
        rn_fail(err, RN_ERR_NO_MEMORY, "out of host memory for %zu parameters (%.1f MiB)",
                net->total + count, (double)(net->total + count) * sizeof(float) / 1048576.0);
        return -1;
    }
    net->values = grown;
    int idx = net->n_params++;
    rn_param *p = &net->params[idx];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%d_%s.%s", layer, kind, pname);
    p->layer = layer;
    p->role = role;
    p->offset = net->total;
    p->count = count;
    p->ndim = ndim;
    p->shape[0] = d0;
    p->shape[1] = ndim == 2 ? d1 : 0;
    p->trainable = true;
    p->lower = -INFINITY;
    p->upper = INFINITY;
    p->mode = RN_BOUND_PENALTY;
    net->total += count;
    return idx;
}

const char *rn_layer_kind_name(rn_layer_kind kind) {
    switch (kind) {
    case RN_LAYER_LINEAR:
        return "linear";
    case RN_LAYER_RATE:
        return "rate";
    case RN_LAYER_LOWPASS:
        return "lowpass";
    case RN_LAYER_ALPHA:
        return "alpha";
    case RN_LAYER_DOUBLEEXP:
        return "doubleexp";
    case RN_LAYER_KIND_COUNT:
        break;
    }
    return "unknown";
}

/* A layer of `kind` with no parameter tensors yet: every table index -1 ("absent"). */
static rn_layer blank_layer(rn_layer_kind kind, int n_in, int n_out) {
    rn_layer L;
    memset(&L, 0, sizeof L);
    L.kind = kind;
    L.n_in = n_in;
    L.n_out = n_out;
    L.p_weight = L.p_bias = L.p_w_rec = L.p_tau = L.p_threshold = L.p_x0 = L.p_tau2 = L.p_init = -1;
    return L;
}

static rn_status check_chain(const rn_net *net, int n_in, const char *kind, rn_error *err) {
    if (net->n_layers >= RN_MAX_LAYERS)
        return rn_fail(err, RN_ERR_INVALID_ARG, "too many layers (at most %d)", RN_MAX_LAYERS);
    if (net->n_layers > 0) {
        const rn_layer *prev = &net->layers[net->n_layers - 1];
        if (prev->n_out != n_in)
            return rn_fail(err, RN_ERR_SHAPE,
                           "layer %d (%s) takes %d inputs but layer %d (%s) gives %d outputs",
                           net->n_layers, kind, n_in, net->n_layers - 1,
                           rn_layer_kind_name(prev->kind), prev->n_out);
    }
    return RN_OK;
}

/* Where the parameter table stood before a layer's parameters were added, so that a layer that
 * fails half-way leaves the network as it was. */
typedef struct param_mark {
    int n_params;
    size_t total;
} param_mark;

static param_mark mark_params(const rn_net *net) {
    return (param_mark){net->n_params, net->total};
}

static rn_status roll_back(rn_net *net, param_mark m, const rn_error *err) {
    net->n_params = m.n_params;
    net->total = m.total;
    return err ? err->status : RN_ERR_NO_MEMORY;
}

/* Limits that keep sizes inside int arithmetic and the noise counter layout. */
#define RN_MAX_WIDTH (1 << 20)

rn_status rn_net_add_linear(rn_net *net, int n_in, int n_out, bool has_bias, rn_error *err) {
    if (!net) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_net_add_linear: net is NULL");
    if (n_in <= 0 || n_out <= 0 || n_in > RN_MAX_WIDTH || n_out > RN_MAX_WIDTH)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "linear layer sizes must be in 1..%d (got %d -> %d)", RN_MAX_WIDTH, n_in,
                       n_out);
    rn_status st = check_chain(net, n_in, "linear", err);
    if (st != RN_OK) return st;
    int li = net->n_layers;
    rn_layer L = blank_layer(RN_LAYER_LINEAR, n_in, n_out);
    L.has_bias = has_bias;
    const param_mark mark = mark_params(net);
    L.p_weight = add_param(net, li, "linear", "weight", RN_P_WEIGHT, 2, n_in, n_out, err);
    if (L.p_weight < 0) goto fail;
    if (has_bias) {
        L.p_bias = add_param(net, li, "linear", "bias", RN_P_BIAS, 1, n_out, 0, err);
        if (L.p_bias < 0) goto fail;
    }
    /* Kaiming uniform weight, uniform bias (SPEC §2). */
    const rn_param *w = &net->params[L.p_weight];
    float wl = sqrtf(6.0f / (float)n_in);
    for (size_t i = 0; i < w->count; i++)
        net->values[w->offset + i] = init_uniform(net, L.p_weight, i, wl);
    if (has_bias) {
        const rn_param *b = &net->params[L.p_bias];
        float bl = sqrtf(1.0f / (float)n_out);
        for (size_t i = 0; i < b->count; i++)
            net->values[b->offset + i] = init_uniform(net, L.p_bias, i, bl);
    }
    net->layers[net->n_layers++] = L;
    return rn_ok(err);
fail:
    return roll_back(net, mark, err);
}

rn_status rn_net_add_rate(rn_net *net, const rn_rate_options *o, rn_error *err) {
    if (!net || !o) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_net_add_rate: NULL argument");
    if (o->n <= 0 || o->n > RN_MAX_WIDTH)
        return rn_fail(err, RN_ERR_INVALID_ARG, "rate layer size must be in 1..%d (got %d)",
                       RN_MAX_WIDTH, o->n);
    if ((int)o->activation < RN_ACT_TANH || (int)o->activation > RN_ACT_LINEAR)
        return rn_fail(err, RN_ERR_INVALID_ARG, "unknown activation code %d", (int)o->activation);
    if (!(o->noise_std >= 0.0f) || !isfinite(o->noise_std))
        return rn_fail(err, RN_ERR_INVALID_ARG, "noise std must be finite and >= 0 (got %g)",
                       o->noise_std);
    if (!(o->tau > 0.0f) || !isfinite(o->tau))
        return rn_fail(err, RN_ERR_INVALID_ARG, "tau must be finite and > 0 (got %g)", o->tau);
    if (net->n_layers >= 256)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "a rate layer's index must be < 256 (noise layout)");
    rn_status st = check_chain(net, o->n, "rate", err);
    if (st != RN_OK) return st;
    int li = net->n_layers;
    rn_layer L = blank_layer(RN_LAYER_RATE, o->n, o->n);
    L.rate = *o;
    const param_mark mark = mark_params(net);
    size_t n = (size_t)o->n;
    if (o->recurrent) {
        L.p_w_rec = add_param(net, li, "rate", "w_rec", RN_P_W_REC, 2, n, n, err);
        if (L.p_w_rec < 0) goto fail;
    }
    if ((L.p_tau = add_param(net, li, "rate", "tau", RN_P_TAU, 1, n, 0, err)) < 0) goto fail;
    if ((L.p_bias = add_param(net, li, "rate", "bias", RN_P_BIAS, 1, n, 0, err)) < 0) goto fail;
    if ((L.p_threshold = add_param(net, li, "rate", "threshold", RN_P_THRESHOLD, 1, n, 0, err)) < 0)
        goto fail;
    if ((L.p_x0 = add_param(net, li, "rate", "x0", RN_P_X0, 1, n, 0, err)) < 0) goto fail;
    net->params[L.p_x0].trainable = false; /* the initial state is fixed unless the user says so */
    if (o->recurrent) {
        const rn_param *w = &net->params[L.p_w_rec];
        float sd = 1.0f / sqrtf((float)n); /* unit spectral radius, as the tutorial */
        for (size_t i = 0; i < w->count; i++)
            net->values[w->offset + i] = init_normal(net, L.p_w_rec, i, sd);
    }
    for (size_t i = 0; i < n; i++) {
        net->values[net->params[L.p_tau].offset + i] = o->tau;
        net->values[net->params[L.p_bias].offset + i] = 0.0f;
        net->values[net->params[L.p_threshold].offset + i] = 0.0f;
        net->values[net->params[L.p_x0].offset + i] = 0.0f;
    }
    net->layers[net->n_layers++] = L;
    return rn_ok(err);
fail:
    return roll_back(net, mark, err);
}

rn_status rn_net_add_filter(rn_net *net, rn_layer_kind kind, int channels, float tau, float tau2,
                            rn_error *err) {
    if (!net) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_net_add_filter: net is NULL");
    if (!rn_is_filter(kind))
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "layer kind %d is not a filter (lowpass, alpha, doubleexp)", (int)kind);
    const char *name = rn_layer_kind_name(kind);
    if (channels <= 0 || channels > RN_MAX_WIDTH)
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s layer channels must be in 1..%d (got %d)", name,
                       RN_MAX_WIDTH, channels);
    if (!(tau > 0.0f) || !isfinite(tau) ||
        (kind == RN_LAYER_DOUBLEEXP && (!(tau2 > 0.0f) || !isfinite(tau2))))
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s layer: tau must be finite and > 0 (got %g%s%g)",
                       name, tau, kind == RN_LAYER_DOUBLEEXP ? ", " : "",
                       kind == RN_LAYER_DOUBLEEXP ? tau2 : 0.0);
    rn_status st = check_chain(net, channels, name, err);
    if (st != RN_OK) return st;
    int li = net->n_layers;
    rn_layer L = blank_layer(kind, channels, channels);
    const param_mark mark = mark_params(net);
    size_t n = (size_t)channels;
    bool two = kind == RN_LAYER_DOUBLEEXP;
    if ((L.p_tau = add_param(net, li, name, two ? "tau1" : "tau", RN_P_TAU, 1, n, 0, err)) < 0)
        goto fail;
    if (two && (L.p_tau2 = add_param(net, li, name, "tau2", RN_P_TAU2, 1, n, 0, err)) < 0)
        goto fail;
    if ((L.p_init = add_param(net, li, name, "initial_level", RN_P_INIT, 1, n, 0, err)) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        net->values[net->params[L.p_tau].offset + i] = tau;
        if (two) net->values[net->params[L.p_tau2].offset + i] = tau2;
        net->values[net->params[L.p_init].offset + i] = 0.0f;
    }
    net->layers[net->n_layers++] = L;
    return rn_ok(err);
fail:
    return roll_back(net, mark, err);
}

float rn_net_dt(const rn_net *net) {
    return net->dt;
}
int rn_net_layer_count(const rn_net *net) {
    return net->n_layers;
}
rn_layer_kind rn_net_layer_kind(const rn_net *net, int layer) {
    return net->layers[layer].kind;
}
int rn_net_layer_width(const rn_net *net, int layer) {
    return net && layer >= 0 && layer < net->n_layers ? net->layers[layer].n_out : 0;
}
int rn_net_input_size(const rn_net *net) {
    return net->n_layers ? net->layers[0].n_in : 0;
}
int rn_net_output_size(const rn_net *net) {
    return net->n_layers ? net->layers[net->n_layers - 1].n_out : 0;
}

rn_status rn_net_rate_options(const rn_net *net, int layer, rn_rate_options *o, rn_error *err) {
    if (!net || layer < 0 || layer >= net->n_layers || net->layers[layer].kind != RN_LAYER_RATE)
        return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d is not a rate layer", layer);
    *o = net->layers[layer].rate;
    return rn_ok(err);
}

rn_status rn_net_set_noise(rn_net *net, int layer, float noise_std, rn_error *err) {
    if (!net || layer < 0 || layer >= net->n_layers || net->layers[layer].kind != RN_LAYER_RATE)
        return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d is not a rate layer", layer);
    if (!(noise_std >= 0.0f) || !isfinite(noise_std))
        return rn_fail(err, RN_ERR_INVALID_ARG, "noise std must be finite and >= 0 (got %g)",
                       noise_std);
    net->layers[layer].rate.noise_std = noise_std;
    return rn_ok(err);
}

int rn_net_param_count(const rn_net *net) {
    return net->n_params;
}
size_t rn_net_param_total(const rn_net *net) {
    return net->total;
}

rn_status rn_net_param_info(const rn_net *net, int index, rn_param_info *info, rn_error *err) {
    if (!net || !info || index < 0 || index >= net->n_params)
        return rn_fail(err, RN_ERR_INVALID_ARG, "parameter index %d out of range", index);
    const rn_param *p = &net->params[index];
    info->name = p->name;
    info->layer = p->layer;
    info->count = p->count;
    info->ndim = p->ndim;
    info->shape[0] = p->shape[0];
    info->shape[1] = p->shape[1];
    info->trainable = p->trainable;
    info->lower = p->lower;
    info->upper = p->upper;
    info->bound_mode = p->mode;
    return rn_ok(err);
}

int rn_net_param_index(const rn_net *net, const char *name) {
    if (!net || !name) return -1;
    for (int i = 0; i < net->n_params; i++)
        if (strcmp(net->params[i].name, name) == 0) return i;
    return -1;
}

const rn_param *rn_net_param_by_name(const rn_net *net, const char *name, rn_error *err) {
    int i = rn_net_param_index(net, name);
    if (i < 0) {
        rn_fail(err, RN_ERR_NOT_FOUND, "unknown parameter '%s'", name ? name : "(null)");
        return NULL;
    }
    return &net->params[i];
}

rn_status rn_net_get_param(const rn_net *net, const char *name, float *values, size_t count,
                           rn_error *err) {
    const rn_param *p = rn_net_param_by_name(net, name, err);
    if (!p) return RN_ERR_NOT_FOUND;
    if (count != p->count)
        return rn_fail(err, RN_ERR_SHAPE, "parameter '%s' has %zu elements, not %zu", name,
                       p->count, count);
    memcpy(values, net->values + p->offset, count * sizeof(float));
    return rn_ok(err);
}

rn_status rn_net_set_param(rn_net *net, const char *name, const float *values, size_t count,
                           rn_error *err) {
    const rn_param *p = rn_net_param_by_name(net, name, err);
    if (!p) return RN_ERR_NOT_FOUND;
    if (count != p->count)
        return rn_fail(err, RN_ERR_SHAPE, "parameter '%s' has %zu elements, not %zu", name,
                       p->count, count);
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(values[i]))
            return rn_fail(err, RN_ERR_INVALID_ARG, "parameter '%s': element %zu is not finite",
                           name, i);
        if ((p->role == RN_P_TAU || p->role == RN_P_TAU2) && !(values[i] > 0.0f))
            return rn_fail(err, RN_ERR_INVALID_ARG,
                           "parameter '%s': element %zu is %g; tau must be > 0", name, i,
                           values[i]);
    }
    memcpy(net->values + p->offset, values, count * sizeof(float));
    return rn_ok(err);
}

rn_status rn_net_set_trainable(rn_net *net, const char *name, bool trainable, rn_error *err) {
    int i = rn_net_param_index(net, name);
    if (i < 0)
        return rn_fail(err, RN_ERR_NOT_FOUND, "unknown parameter '%s'", name ? name : "(null)");
    net->params[i].trainable = trainable;
    return rn_ok(err);
}

rn_status rn_net_set_bounds(rn_net *net, const char *name, float lower, float upper,
                            rn_bound_mode mode, rn_error *err) {
    int i = rn_net_param_index(net, name);
    if (i < 0)
        return rn_fail(err, RN_ERR_NOT_FOUND, "unknown parameter '%s'", name ? name : "(null)");
    if (isnan(lower) || isnan(upper) || !(lower <= upper))
        return rn_fail(err, RN_ERR_INVALID_ARG, "bounds of '%s': need lower <= upper (got %g, %g)",
                       name, lower, upper);
    if (lower == INFINITY || upper == -INFINITY) /* what an overflowing bound becomes */
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "bounds of '%s': a lower bound of +inf or an upper bound of -inf admits no "
                       "value (got %g, %g)",
                       name, lower, upper);
    if (mode != RN_BOUND_PENALTY && mode != RN_BOUND_CLIP)
        return rn_fail(err, RN_ERR_INVALID_ARG, "bounds of '%s': unknown mode %d", name, (int)mode);
    net->params[i].lower = lower;
    net->params[i].upper = upper;
    net->params[i].mode = mode;
    return rn_ok(err);
}
