// Synaptic filters (SPEC §2, §4): every filter parameter's gradient against central finite differences of
// the double forward, for both stage counts and τ from 2·dt to 1 s; and the pole ↔ τ round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "reference.h"
#include "test_util.h"

namespace {

struct FilterCase {
    rn_layer_kind kind;
    float tau, tau2;
};

std::string filter_name(const ::testing::TestParamInfo<FilterCase> &info) {
    std::string s = rn_layer_kind_name(info.param.kind);
    s += "_tau" + std::to_string((int)std::lround(info.param.tau * 1e4));
    return s;
}

class FilterGradients : public ::testing::TestWithParam<FilterCase> {};

// linear(2→C) → filter(C) → linear(C→2): the filter sits between trainable layers so its input gradient
// (∂u) is checked through the first linear layer's gradients.
TEST_P(FilterGradients, MatchCentralFiniteDifferences) {
    const FilterCase fc = GetParam();
    const int B = 2, T = 60, C = 3;
    const uint32_t seed = 900u + (uint32_t)fc.kind;
    SCOPED_TRACE("seed " + std::to_string(seed));
    rn_error err = {};
    TrainerParts parts;
    ASSERT_EQ(rn_net_create(&parts.net, 1e-3f, seed, &err), RN_OK);
    rn_net *net = parts.net;
    ASSERT_EQ(rn_net_add_linear(net, 2, C, true, &err), RN_OK);
    ASSERT_EQ(rn_net_add_filter(net, fc.kind, C, fc.tau, fc.tau2, &err), RN_OK) << err.message;
    ASSERT_EQ(rn_net_add_linear(net, C, 2, true, &err), RN_OK);
    std::string k = std::string("1_") + rn_layer_kind_name(fc.kind) + ".";
    // distinct τ per channel around the case's value, and a non-zero initial level
    std::vector<float> taus = {fc.tau, fc.tau * 1.3f, fc.tau * 0.8f}, init = {0.3f, -0.2f, 0.5f};
    ASSERT_EQ(rn_net_set_param(net, (k + (fc.kind == RN_LAYER_DOUBLEEXP ? "tau1" : "tau")).c_str(),
                               taus.data(), C, &err),
              RN_OK);
    if (fc.kind == RN_LAYER_DOUBLEEXP) {
        std::vector<float> t2 = {fc.tau2, fc.tau2 * 0.7f, fc.tau2 * 1.2f};
        ASSERT_EQ(rn_net_set_param(net, (k + "tau2").c_str(), t2.data(), C, &err), RN_OK);
    }
    ASSERT_EQ(rn_net_set_param(net, (k + "initial_level").c_str(), init.data(), C, &err), RN_OK);
    ASSERT_EQ(rn_backend_create(&parts.be, RN_BACKEND_CPU, &err), RN_OK);
    ASSERT_EQ(rn_trainer_create(&parts.tr, net, parts.be, nullptr, B, T, &err), RN_OK)
        << err.message;
    rn_trainer *tr = parts.tr;
    auto input = random_floats((size_t)B * T * 2, seed + 1, -1, 1),
         target = random_floats((size_t)B * T * 2, seed + 2, -1, 1);
    ASSERT_EQ(rn_trainer_set_data(tr, input.data(), target.data(), nullptr, &err), RN_OK);
    rn_loss_parts lp;
    ASSERT_EQ(rn_trainer_compute_gradients(tr, &lp, &err), RN_OK) << err.message;

    ref::Model m;
    ASSERT_TRUE(ref::from_net(net, &m));
    auto in_d = to_double(input), tg_d = to_double(target);
    double L0 = ref::loss(m, m.values, in_d, tg_d, nullptr, B, T, {}, false, 0, 0);
    EXPECT_NEAR(lp.total, L0, 1e-5 * std::fabs(L0));
    // the outputs against the double forward
    std::vector<float> y((size_t)B * T * 2, NAN); // NaN: an element the forward misses shows
    ASSERT_EQ(rn_trainer_forward(tr, y.data(), false, &err), RN_OK) << err.message;
    EXPECT_TRUE(all_close(y, ref::forward(m, m.values, in_d, B, T, false, 0, 0), 1e-5, 1e-6));
    for (auto &pr : m.params) {
        std::vector<float> g = grad_values(tr, net, pr.name.c_str());
        std::vector<double> fd(pr.count);
        for (size_t i = 0; i < pr.count; i++) {
            std::vector<double> p = m.values;
            double v = p[pr.offset + i], h = 1e-5 * std::max(1e-2, std::fabs(v));
            if (pr.name.find("tau") != std::string::npos) h = 1e-5 * std::fabs(v);
            p[pr.offset + i] = v + h;
            double a = ref::loss(m, p, in_d, tg_d, nullptr, B, T, {}, false, 0, 0);
            p[pr.offset + i] = v - h;
            double b = ref::loss(m, p, in_d, tg_d, nullptr, B, T, {}, false, 0, 0);
            fd[i] = (a - b) / (2 * h);
        }
        double rel = tensor_rel_err(g, fd);
        EXPECT_LE(rel, 1e-4) << pr.name << " relative error " << rel;
    }
}

std::vector<FilterCase> filter_cases() {
    std::vector<FilterCase> v;
    for (float tau : {0.002f, 0.01f, 0.1f, 1.0f}) {
        v.push_back({RN_LAYER_LOWPASS, tau, 0});
        v.push_back({RN_LAYER_ALPHA, tau, 0});
        v.push_back({RN_LAYER_DOUBLEEXP, tau, tau * 0.6f + 0.001f});
    }
    return v;
}

INSTANTIATE_TEST_SUITE_P(StagesAndTaus, FilterGradients, ::testing::ValuesIn(filter_cases()),
                         filter_name);

TEST(Filters, BadArgumentsAreRejected) {
    rn_net *net = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_net_create(&net, 1e-3f, 0, &err), RN_OK);
    EXPECT_EQ(rn_net_add_filter(net, RN_LAYER_LOWPASS, 2, 0.0f, 0, &err), RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("tau"), std::string::npos);
    EXPECT_EQ(rn_net_add_filter(net, RN_LAYER_DOUBLEEXP, 2, 0.1f, NAN, &err), RN_ERR_INVALID_ARG);
    EXPECT_EQ(rn_net_add_filter(net, RN_LAYER_RATE, 2, 0.1f, 0, &err), RN_ERR_INVALID_ARG);
    ASSERT_EQ(rn_net_add_linear(net, 1, 3, true, &err), RN_OK);
    EXPECT_EQ(rn_net_add_filter(net, RN_LAYER_ALPHA, 2, 0.1f, 0, &err), RN_ERR_SHAPE);
    EXPECT_NE(std::string(err.message).find("alpha"), std::string::npos) << err.message;
    EXPECT_NE(std::string(err.message).find("linear"), std::string::npos) << err.message;
    rn_net_free(net);
}

// SPEC §2: p = exp(−dt/τ) and back, for τ from 2·dt to 1 s.
TEST(Filters, PoleAndTauRoundTrip) {
    for (double tau : {0.002, 0.037, 0.1, 1.0}) {
        double pole = rn_tau_to_pole(tau, 0.001);
        EXPECT_DOUBLE_EQ(pole, std::exp(-0.001 / tau)) << tau;
        EXPECT_NEAR(rn_pole_to_tau(pole, 0.001), tau, 1e-12 * tau) << tau;
    }
}

} // namespace
