// An independent double-precision forward pass and loss, written from SPEC.md §2-§3 for the tests.
// It reads the network's structure and values through the public API only, and shares no arithmetic with
// the library (the noise samples ξ come from rn_noise_sample, which the Philox tests check on their own).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ratenn/ratenn.h"

namespace ref {

struct Layer {
    bool rate = false;
    int filter = 0; // 0 none, else rn_layer_kind of a filter
    long tau2 = -1, init = -1;
    int n_in = 0, n_out = 0;
    bool has_bias = false, recurrent = false;
    int act = 0;
    double noise_std = 0.0;
    // offsets into the flat parameter vector, -1 if absent
    long weight = -1, bias = -1, w_rec = -1, tau = -1, threshold = -1, x0 = -1;
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

inline Model from_net(const rn_net *net) {
    Model m;
    m.dt = rn_net_dt(net);
    size_t off = 0;
    std::vector<long> first_of_layer;
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        rn_net_param_info(net, i, &info, nullptr);
        std::vector<float> v(info.count);
        rn_net_get_param(net, info.name, v.data(), v.size(), nullptr);
        std::string name = info.name;
        bool is_wrec = name.find(".w_rec") != std::string::npos;
        m.params.push_back({name, off, info.count, info.lower, info.upper,
                            info.bound_mode == RN_BOUND_CLIP, is_wrec});
        for (float x : v)
            m.values.push_back(x);
        off += info.count;
    }
    auto find = [&](int layer, const char *kind, const char *pname) -> long {
        std::string want = std::to_string(layer) + "_" + kind + "." + pname;
        for (auto &p : m.params)
            if (p.name == want) return (long)p.offset;
        return -1;
    };
    int n_in = rn_net_input_size(net);
    for (int li = 0; li < rn_net_layer_count(net); li++) {
        Layer L;
        rn_layer_kind kind = rn_net_layer_kind(net, li);
        if (kind == RN_LAYER_LOWPASS || kind == RN_LAYER_ALPHA || kind == RN_LAYER_DOUBLEEXP) {
            const char *kn = rn_layer_kind_name(kind);
            L.filter = (int)kind;
            L.n_in = L.n_out = n_in;
            L.tau = find(li, kn, kind == RN_LAYER_DOUBLEEXP ? "tau1" : "tau");
            L.tau2 = kind == RN_LAYER_DOUBLEEXP ? find(li, kn, "tau2") : L.tau;
            L.init = find(li, kn, "initial_level");
        } else if (kind == RN_LAYER_RATE) {
            rn_rate_options o;
            rn_net_rate_options(net, li, &o, nullptr);
            L.rate = true;
            L.n_in = L.n_out = o.n;
            L.recurrent = o.recurrent;
            L.act = (int)o.activation;
            L.noise_std = o.noise_std;
            L.w_rec = find(li, "rate", "w_rec");
            L.tau = find(li, "rate", "tau");
            L.bias = find(li, "rate", "bias");
            L.threshold = find(li, "rate", "threshold");
            L.x0 = find(li, "rate", "x0");
        } else {
            L.weight = find(li, "linear", "weight");
            L.bias = find(li, "linear", "bias");
            L.has_bias = L.bias >= 0;
            L.n_in = n_in;
            // n_out from the weight's element count
            for (auto &p : m.params)
                if ((long)p.offset == L.weight) L.n_out = (int)(p.count / n_in);
        }
        n_in = L.n_out;
        m.layers.push_back(L);
    }
    return m;
}

inline double f(int act, double z) {
    switch (act) {
    case RN_ACT_TANH:
        return std::tanh(z);
    case RN_ACT_RELU:
        return z > 0 ? z : 0;
    case RN_ACT_SIGMOID:
        return (std::tanh(z) + 1) / 2;
    case RN_ACT_LRELU:
        return z >= 0 ? z : 0.01 * z;
    default:
        return z;
    }
}

struct Records {
    std::vector<std::vector<double>> out, x; // per layer, (B, T, n_out)
};

// The forward of SPEC §2 in double. input is (B, T, C_in).
inline std::vector<double> forward(const Model &m, const std::vector<double> &p,
                                   const std::vector<double> &input, int B, int T, bool noise,
                                   uint64_t seed, uint32_t epoch, Records *rec = nullptr) {
    std::vector<double> cur = input;
    for (size_t li = 0; li < m.layers.size(); li++) {
        const Layer &L = m.layers[li];
        std::vector<double> out((size_t)B * T * L.n_out, 0.0), xs((size_t)B * T * L.n_out, 0.0);
        if (L.filter) {
            // one or two first-order ZOH stages per channel, each starting at initial_level (SPEC §2)
            int stages = L.filter == RN_LAYER_LOWPASS ? 1 : 2;
            std::vector<double> u = cur;
            for (int s = 0; s < stages; s++) {
                long tau_off = s == 0 ? L.tau : L.tau2;
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
        } else if (!L.rate) {
            for (int r = 0; r < B * T; r++)
                for (int j = 0; j < L.n_out; j++) {
                    double s = L.has_bias ? p[L.bias + j] : 0.0;
                    for (int i = 0; i < L.n_in; i++)
                        s += cur[(size_t)r * L.n_in + i] * p[L.weight + (size_t)i * L.n_out + j];
                    out[(size_t)r * L.n_out + j] = s;
                }
        } else {
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
                                 rn_noise_sample(seed, epoch, (uint32_t)li, (uint32_t)b,
                                                 (uint64_t)t, (uint32_t)n, (uint32_t)N);
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
