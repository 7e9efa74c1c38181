/* Internal: the network's layers and parameter table. */
#ifndef RATENN_NET_IMPL_H
#define RATENN_NET_IMPL_H

#include "ratenn/net.h"

#define RN_MAX_LAYERS 64
#define RN_MAX_PARAMS (RN_MAX_LAYERS * 5)

/* Filter layers: how many first-order stages, and whether the second reuses the first τ. */
static inline int rn_filter_stages(rn_layer_kind kind) {
    return kind == RN_LAYER_LOWPASS ? 1 : 2;
}
static inline bool rn_is_filter(rn_layer_kind kind) {
    return kind == RN_LAYER_LOWPASS || kind == RN_LAYER_ALPHA || kind == RN_LAYER_DOUBLEEXP;
}
#define RN_PARAM_NAME_LEN 64

/* Which tensor of its layer a parameter is. */
typedef enum rn_param_role {
    RN_P_WEIGHT, /* linear */
    RN_P_BIAS,   /* linear or rate */
    RN_P_W_REC,  /* rate */
    RN_P_TAU,
    RN_P_THRESHOLD,
    RN_P_X0,
    RN_P_TAU2, /* doubleexp's second stage */
    RN_P_INIT, /* a filter's initial_level */
} rn_param_role;

typedef struct rn_param {
    char name[RN_PARAM_NAME_LEN];
    int layer;
    rn_param_role role;
    size_t offset; /* into the parameter block, in floats */
    size_t count;
    int ndim;
    size_t shape[2];
    bool trainable;
    float lower, upper;
    rn_bound_mode mode;
} rn_param;

typedef struct rn_layer {
    rn_layer_kind kind;
    int n_in, n_out;
    /* linear */
    bool has_bias;
    /* rate */
    rn_rate_options rate;
    /* parameter table indices of this layer's tensors, -1 if absent */
    int p_weight, p_bias, p_w_rec, p_tau, p_threshold, p_x0, p_tau2, p_init;
} rn_layer;

struct rn_net {
    float dt;
    uint64_t seed;
    int n_layers;
    rn_layer layers[RN_MAX_LAYERS];
    int n_params;
    rn_param params[RN_MAX_PARAMS];
    size_t total;  /* floats in the block */
    float *values; /* the parameter block (host) */
};

const rn_param *rn_net_param_by_name(const rn_net *net, const char *name, rn_error *err);

#endif
