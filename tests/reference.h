// An independent double-precision forward pass and loss, written from SPEC.md §2-§3 for the tests.
// It reads the network's structure and values through the public API only, and shares no arithmetic with
// the library (the noise samples ξ come from rn_noise_sample, which the Philox tests check on their own).
//
// Each layer kind has its own reader (*_from_net) and its own forward (*_forward); from_net and forward
// dispatch with a switch over every rn_layer_kind and no default, so -Wswitch names a kind that the
// library has and this reference lacks.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ratenn/ratenn.h"
#include "test_util.h"

namespace ref {

struct Layer {
    rn_layer_kind kind = RN_LAYER_KIND_COUNT;
    int n_in = 0, n_out = 0;
    // offsets into the flat parameter vector, -1 if absent
    long weight = -1, bias = -1;              // linear (bias optional); rate (bias)
    long w_rec = -1, threshold = -1, x0 = -1; // rate (w_rec if recurrent)
    long tau = -1;                            // rate; a filter's first stage (tau or tau1)
    long tau2 = -1, init = -1;                // doubleexp's second stage; a filter's initial_level
    bool has_bias = false;                    // linear
    bool recurrent = false;                   // rate
    rn_activation act = RN_ACT_TANH;          // rate
    double noise_std = 0.0;                   // rate
};

struct Param {
    std::string name;
    size_t offset, count;
    double lo, hi;
    bool clip;
    bool w_rec;
};

struct Model {
    double dt = 1e-3;
    std::vector<Layer> layers;
    std::vector<Param> params;
    std::vector<double> values; // every parameter, in the network's order
};

// The parameter "<layer>_<kind>.<pname>", or nullptr.
inline const Param *find_param(const Model &m, int layer, rn_layer_kind kind, const char *pname) {
    std::string want = std::to_string(layer) + "_" + rn_layer_kind_name(kind) + "." + pname;
    for (const Param &p : m.params)
        if (p.name == want) return &p;
    return nullptr;
}

// The offset of a parameter the layer must have, or a failure naming it.
[[nodiscard]] inline ::testing::AssertionResult need(const Model &m, int layer, rn_layer_kind kind,
                                                     const char *pname, long *offset) {
    const Param *p = find_param(m, layer, kind, pname);
    if (!p)
        return ::testing::AssertionFailure()
               << "layer " << layer << " (" << rn_layer_kind_name(kind) << ") has no parameter '"
               << pname << "'";
    *offset = (long)p->offset;
    return ::testing::AssertionSuccess();
}

#define RN_REF_TRY(expr)                                                                           \
    do {                                                                                           \
        ::testing::AssertionResult r_ = (expr);                                                    \
        if (!r_) return r_;                                                                        \
    } while (0)

// ---- the readers, one per kind

inline ::testing::AssertionResult linear_from_net(const Model &m, int li, int n_in, Layer *L) {
    RN_REF_TRY(need(m, li, RN_LAYER_LINEAR, "weight", &L->weight));
    const Param *bias = find_param(m, li, RN_LAYER_LINEAR, "bias");
    L->bias = bias ? (long)bias->offset : -1;
    L->has_bias = L->bias >= 0;
    L->n_in = n_in;
    L->n_out = (int)(find_param(m, li, RN_LAYER_LINEAR, "weight")->count / n_in);
    return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult rate_from_net(const rn_net *net, const Model &m, int li,
                                                Layer *L) {
    rn_rate_options o;
    rn_error err = {};
    RN_RETURN_UNLESS_OK(rn_net_rate_options(net, li, &o, &err), err);
    L->n_in = L->n_out = o.n;
    L->recurrent = o.recurrent;
    L->act = o.activation;
    L->noise_std = o.noise_std;
    if (o.recurrent) RN_REF_TRY(need(m, li, RN_LAYER_RATE, "w_rec", &L->w_rec));
    RN_REF_TRY(need(m, li, RN_LAYER_RATE, "tau", &L->tau));
    RN_REF_TRY(need(m, li, RN_LAYER_RATE, "bias", &L->bias));
    RN_REF_TRY(need(m, li, RN_LAYER_RATE, "threshold", &L->threshold));
    RN_REF_TRY(need(m, li, RN_LAYER_RATE, "x0", &L->x0));
    return ::testing::AssertionSuccess();
}

// lowpass and alpha: tau, initial_level; doubleexp: tau1, tau2, initial_level. One channel per input.
inline ::testing::AssertionResult filter_from_net(const Model &m, int li, rn_layer_kind kind,
                                                  int n_in, Layer *L) {
    L->n_in = L->n_out = n_in;
    if (kind == RN_LAYER_DOUBLEEXP) {
        RN_REF_TRY(need(m, li, kind, "tau1", &L->tau));
        RN_REF_TRY(need(m, li, kind, "tau2", &L->tau2));
    } else {
        RN_REF_TRY(need(m, li, kind, "tau", &L->tau));
    }
    RN_REF_TRY(need(m, li, kind, "initial_level", &L->init));
    return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult layer_from_net(const rn_net *net, const Model &m, int li,
                                                 int n_in, Layer *L) {
    const rn_layer_kind kind = rn_net_layer_kind(net, li);
    L->kind = kind;
    switch (kind) {
    case RN_LAYER_LINEAR:
        return linear_from_net(m, li, n_in, L);
    case RN_LAYER_RATE:
        return rate_from_net(net, m, li, L);
    case RN_LAYER_LOWPASS:
    case RN_LAYER_ALPHA:
    case RN_LAYER_DOUBLEEXP:
        return filter_from_net(m, li, kind, n_in, L);
    case RN_LAYER_KIND_COUNT:
        break; // not a kind
    }
    return ::testing::AssertionFailure()
           << "layer " << li << ": rn_net_layer_kind gave " << (int)kind << ", not a layer kind";
}

// Reads the network's structure and every parameter's value into *m.
[[nodiscard]] inline ::testing::AssertionResult from_net(const rn_net *net, Model *m) {
    *m = Model();
    m->dt = rn_net_dt(net);
    size_t off = 0;
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        rn_error err = {};
        RN_RETURN_UNLESS_OK(rn_net_param_info(net, i, &info, &err), err);
        std::vector<float> v(info.count, NAN);
        RN_RETURN_UNLESS_OK(rn_net_get_param(net, info.name, v.data(), v.size(), &err), err);
        std::string name = info.name;
        bool is_wrec = name.find(".w_rec") != std::string::npos;
        m->params.push_back({name, off, info.count, info.lower, info.upper,
                             info.bound_mode == RN_BOUND_CLIP, is_wrec});
        for (float x : v)
            m->values.push_back(x);
        off += info.count;
    }
    int n_in = rn_net_input_size(net);
    for (int li = 0; li < rn_net_layer_count(net); li++) {
        Layer L;
        RN_REF_TRY(layer_from_net(net, *m, li, n_in, &L));
        n_in = L.n_out;
        m->layers.push_back(L);
    }
    return ::testing::AssertionSuccess();
}

inline double f(rn_activation act, double z) {
    switch (act) {
    case RN_ACT_TANH:
        return std::tanh(z);
    case RN_ACT_RELU:
        return z > 0 ? z : 0;
    case RN_ACT_SIGMOID:
        return (std::tanh(z) + 1) / 2;
    case RN_ACT_LRELU:
        return z >= 0 ? z : 0.01 * z;
    case RN_ACT_LINEAR:
        return z;
    }
    return NAN; // not an activation: fails every comparison
}

struct Records {
    std::vector<std::vector<double>> out, x; // per layer, (B, T, n_out)
};

// ---- the forwards, one per kind; each overwrites out (B, T, n_out) from cur (B, T, n_in)

inline void linear_forward(const Layer &L, const std::vector<double> &p,
                           const std::vector<double> &cur, int B, int T, std::vector<double> &out) {
    for (int r = 0; r < B * T; r++)
        for (int j = 0; j < L.n_out; j++) {
            double s = L.has_bias ? p[L.bias + j] : 0.0;
            for (int i = 0; i < L.n_in; i++)
                s += cur[(size_t)r * L.n_in + i] * p[L.weight + (size_t)i * L.n_out + j];
            out[(size_t)r * L.n_out + j] = s;
        }
}

// The rate layer of SPEC §2 (Euler step), with the noise of layer index li; also writes the states x.
inline void rate_forward(const Model &m, const Layer &L, int li, const std::vector<double> &p,
                         const std::vector<double> &cur, int B, int T, bool noise, uint64_t seed,
                         uint32_t epoch, std::vector<double> &out, std::vector<double> &xs) {
    int N = L.n_out;
    for (int b = 0; b < B; b++) {
        std::vector<double> x(N), a(N), xn(N);
        for (int n = 0; n < N; n++)
            x[n] = p[L.x0 + n];
        for (int t = 0; t < T; t++) {
            for (int n = 0; n < N; n++)
                a[n] = f(L.act, x[n] - p[L.threshold + n]);
            for (int n = 0; n < N; n++) {
                double r = 0.0;
                if (L.recurrent)
                    for (int k = 0; k < N; k++)
                        r += a[k] * p[L.w_rec + (size_t)k * N + n];
                double xi = 0.0;
                if (noise && L.noise_std > 0)
                    xi = L.noise_std * std::sqrt(m.dt) *
                         rn_noise_sample(seed, epoch, (uint32_t)li, (uint32_t)b, (uint64_t)t,
                                         (uint32_t)n, (uint32_t)N);
                double alpha = m.dt / p[L.tau + n];
                double in = cur[((size_t)b * T + t) * N + n];
                xn[n] = x[n] + alpha * (-x[n] + in + xi + p[L.bias + n] + r);
            }
            x = xn;
            for (int n = 0; n < N; n++) {
                xs[((size_t)b * T + t) * N + n] = x[n];
                out[((size_t)b * T + t) * N + n] = f(L.act, x[n] - p[L.threshold + n]);
            }
        }
    }
}

// A synaptic filter of SPEC §2: first-order ZOH stages in turn per channel, each starting at
// initial_level; stage s has the τ at offset stage_tau[s] (lowpass: τ; alpha: τ, τ; doubleexp: τ1, τ2).
inline void filter_forward(const Model &m, const Layer &L, const std::vector<long> &stage_tau,
                           const std::vector<double> &p, const std::vector<double> &cur, int B,
                           int T, std::vector<double> &out) {
    std::vector<double> u = cur;
    for (long tau_off : stage_tau) {
        for (int b = 0; b < B; b++)
            for (int c = 0; c < L.n_out; c++) {
                double p_ = std::exp(-m.dt / p[tau_off + c]),
                       q_ = -std::expm1(-m.dt / p[tau_off + c]), y = p[L.init + c];
                for (int t = 0; t < T; t++) {
                    size_t k = ((size_t)b * T + t) * L.n_out + c;
                    y = p_ * y + q_ * u[k];
                    out[k] = y;
                }
            }
        u = out;
    }
}

// The forward of SPEC §2 in double. input is (B, T, C_in).
inline std::vector<double> forward(const Model &m, const std::vector<double> &p,
                                   const std::vector<double> &input, int B, int T, bool noise,
                                   uint64_t seed, uint32_t epoch, Records *rec = nullptr) {
    std::vector<double> cur = input;
    for (size_t li = 0; li < m.layers.size(); li++) {
        const Layer &L = m.layers[li];
        std::vector<double> out((size_t)B * T * L.n_out, 0.0), xs((size_t)B * T * L.n_out, 0.0);
        switch (L.kind) {
        case RN_LAYER_LINEAR:
            linear_forward(L, p, cur, B, T, out);
            break;
        case RN_LAYER_RATE:
            rate_forward(m, L, (int)li, p, cur, B, T, noise, seed, epoch, out, xs);
            break;
        case RN_LAYER_LOWPASS:
            filter_forward(m, L, {L.tau}, p, cur, B, T, out);
            break;
        case RN_LAYER_ALPHA:
            filter_forward(m, L, {L.tau, L.tau}, p, cur, B, T, out);
            break;
        case RN_LAYER_DOUBLEEXP:
            filter_forward(m, L, {L.tau, L.tau2}, p, cur, B, T, out);
            break;
        case RN_LAYER_KIND_COUNT: // from_net refuses it; a Model built by hand may not
            ADD_FAILURE() << "ref::forward: layer " << li << " has no kind";
            return std::vector<double>((size_t)B * T, NAN);
        }
        if (rec) {
            rec->out.push_back(out);
            rec->x.push_back(xs);
        }
        cur = out;
    }
    return cur;
}

struct Weights {
    double mse = 1, bounds = 10, l2 = 1;
};

// The loss of SPEC §3 in double.
inline double loss(const Model &m, const std::vector<double> &p, const std::vector<double> &input,
                   const std::vector<double> &target, const std::vector<double> *mask, int B, int T,
                   Weights w, bool noise, uint64_t seed, uint32_t epoch) {
    std::vector<double> y = forward(m, p, input, B, T, noise, seed, epoch);
    size_t C = y.size() / ((size_t)B * T);
    double num = 0, den = 0;
    for (size_t r = 0; r < (size_t)B * T; r++) {
        double mk = mask ? (*mask)[r] : 1.0;
        den += mk * C;
        for (size_t c = 0; c < C; c++) {
            double d = y[r * C + c] - target[r * C + c];
            num += mk * d * d;
        }
    }
    double bounds = 0, l2 = 0;
    for (auto &pr : m.params) {
        for (size_t i = 0; i < pr.count; i++) {
            double v = p[pr.offset + i];
            if (!pr.clip) {
                if (v < pr.lo) bounds += std::exp(-(v - pr.lo));
                if (v > pr.hi) bounds += std::exp(-(pr.hi - v));
            }
        }
        if (pr.w_rec) {
            double s = 0;
            for (size_t i = 0; i < pr.count; i++)
                s += p[pr.offset + i] * p[pr.offset + i];
            l2 += s / pr.count;
        }
    }
    return w.mse * num / den + w.bounds * bounds + w.l2 * l2;
}

} // namespace ref
