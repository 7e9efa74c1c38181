/* ratenn — building a network and addressing its parameters.
 *
 * A network is a Sequential chain of layers (SPEC.md §2). Its parameters live in one block described by a
 * table of named tensors, "<index>_<layer>.<name>" (e.g. "1_rate.tau"), in the order the layers were added. */
#ifndef RATENN_NET_H
#define RATENN_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rn_activation {
    RN_ACT_TANH = 0,
    RN_ACT_RELU = 1,
    RN_ACT_SIGMOID = 2, /* (tanh(z) + 1) / 2, as Rockpool */
    RN_ACT_LRELU = 3,   /* z, or 0.01 z below 0 */
    RN_ACT_LINEAR = 4,
} rn_activation;

typedef enum rn_layer_kind {
    RN_LAYER_LINEAR = 0,
    RN_LAYER_RATE = 1,
    RN_LAYER_LOWPASS = 2,   /* one first-order synaptic stage per channel: tau, initial_level */
    RN_LAYER_ALPHA = 3,     /* two stages sharing one τ: tau, initial_level */
    RN_LAYER_DOUBLEEXP = 4, /* two stages τ1 then τ2: tau1, tau2, initial_level */
    RN_LAYER_KIND_COUNT     /* not a kind: how many there are */
} rn_layer_kind;

/* "linear", "rate", "lowpass", "alpha", "doubleexp" */
const char *rn_layer_kind_name(rn_layer_kind kind);

typedef enum rn_bound_mode {
    RN_BOUND_PENALTY = 0, /* soft: adds w_bounds * exp(distance past the bound) to the loss */
    RN_BOUND_CLIP = 1,    /* hard: the value is projected into [lo, hi] after each optimiser step */
} rn_bound_mode;

/* Options of a rate layer; rn_rate_options_default() gives Rockpool's defaults. */
typedef struct rn_rate_options {
    int n;                    /* neurons */
    bool recurrent;           /* has w_rec (N, N) */
    rn_activation activation; /* default tanh */
    float noise_std;          /* σ, default 0 */
    float tau;                /* initial τ in seconds, default 0.020 */
} rn_rate_options;

rn_rate_options rn_rate_options_default(int n);

/* A parameter's description, as rn_net_param_info returns it. */
typedef struct rn_param_info {
    const char *name; /* "1_rate.tau"; valid while the network lives */
    int layer;        /* index of its layer */
    size_t count;     /* number of elements */
    int ndim;         /* 1 or 2 */
    size_t shape[2];  /* (n_in, n_out) for a weight, (n) for a vector */
    bool trainable;
    float lower, upper; /* -INFINITY / +INFINITY when unbounded */
    rn_bound_mode bound_mode;
} rn_param_info;

typedef struct rn_net rn_net;

/* A new, empty network with time step dt (seconds, > 0). `seed` drives parameter initialisation. */
rn_status rn_net_create(rn_net **net, float dt, uint64_t seed, rn_error *err);
void rn_net_free(rn_net *net);

/* Appends layers. n_in must equal the previous layer's output size (an error names both layers). */
rn_status rn_net_add_linear(rn_net *net, int n_in, int n_out, bool has_bias, rn_error *err);
rn_status rn_net_add_rate(rn_net *net, const rn_rate_options *options, rn_error *err);
/* A per-channel synaptic filter (SPEC §2) of `channels` channels, zero-order-hold discretised:
 * p = exp(−dt/τ), y_t = p y_{t−1} + (1 − p) u_t, starting at initial_level (trainable, default 0).
 * tau2 is used by RN_LAYER_DOUBLEEXP only. τ values must be finite and > 0. */
rn_status rn_net_add_filter(rn_net *net, rn_layer_kind kind, int channels, float tau, float tau2,
                            rn_error *err);

/* Builds a network from a text spec: layers separated by spaces, each `kind(args)`, e.g.
 *   "linear(1,50) rate(50,tanh,rec,noise=0.1) linear(50,1) lowpass(1,tau=0.02)"
 * linear(n_in, n_out[, bias=true|false]);  rate(n[, tanh|relu|sigmoid|lrelu|linear][, rec|ff]
 * [, noise=σ][, tau=τ]);  lowpass(C, tau=τ);  alpha(C, tau=τ);  doubleexp(C, tau1=τ1, tau2=τ2).
 * A bad token or a shape mismatch is an error that names the layer. */
rn_status rn_net_from_spec(rn_net **net, const char *spec, float dt, uint64_t seed, rn_error *err);
/* The same from a JSON document: {"layers": [{"type": "linear", "in": 1, "out": 50}, {"type": "rate",
 * "n": 50, "activation": "tanh", "recurrent": true, "noise": 0.1, "tau": 0.02}, {"type": "lowpass",
 * "channels": 1, "tau": 0.02}, {"type": "doubleexp", "channels": 1, "tau1": 0.05, "tau2": 0.03}, ...]}. */
rn_status rn_net_from_json(rn_net **net, const char *json, float dt, uint64_t seed, rn_error *err);

float rn_net_dt(const rn_net *net);
int rn_net_layer_count(const rn_net *net);
rn_layer_kind rn_net_layer_kind(const rn_net *net, int layer);
int rn_net_input_size(const rn_net *net);  /* channels in; 0 for an empty network */
int rn_net_output_size(const rn_net *net); /* channels out */
int rn_net_layer_width(const rn_net *net,
                       int layer); /* a layer's output channels; 0 if no such layer */
/* Settings of a rate layer (returns RN_ERR_INVALID_ARG if `layer` is not one). */
rn_status rn_net_rate_options(const rn_net *net, int layer, rn_rate_options *options,
                              rn_error *err);
/* Changes a rate layer's noise σ (>= 0). */
rn_status rn_net_set_noise(rn_net *net, int layer, float noise_std, rn_error *err);

int rn_net_param_count(const rn_net *net);    /* number of named tensors */
size_t rn_net_param_total(const rn_net *net); /* number of scalars in all of them */
rn_status rn_net_param_info(const rn_net *net, int index, rn_param_info *info, rn_error *err);
int rn_net_param_index(const rn_net *net, const char *name); /* -1 if unknown */

/* Copies a parameter out or in; `count` must equal its element count. Setting validates values:
 * non-finite values are rejected, and τ must be > 0. */
rn_status rn_net_get_param(const rn_net *net, const char *name, float *values, size_t count,
                           rn_error *err);
rn_status rn_net_set_param(rn_net *net, const char *name, const float *values, size_t count,
                           rn_error *err);
rn_status rn_net_set_trainable(rn_net *net, const char *name, bool trainable, rn_error *err);
/* Bounds of a parameter (use -INFINITY / INFINITY for none); lower <= upper. */
rn_status rn_net_set_bounds(rn_net *net, const char *name, float lower, float upper,
                            rn_bound_mode mode, rn_error *err);

#ifdef __cplusplus
}
#endif
#endif
