// Forward pass and every gradient (SPEC §4) against an independent double-precision forward (tests/reference.h)
// and its central finite differences, for each activation, recurrent or not, with noise on.
#include <gtest/gtest.h>

#include <cstdio>
#include <tuple>

#include "reference.h"
#include "test_util.h"

namespace {

struct Case {
    int act;
    bool recurrent;
    bool mask;
    bool stacked; // a second, non-recurrent rate layer after the first
    rn_backend_kind backend;
};

// gtest would otherwise print the struct's bytes, padding included (valgrind: uninitialised reads).
void PrintTo(const Case &c, std::ostream *os) {
    *os << "act " << c.act << (c.recurrent ? " rec" : " ff") << (c.mask ? " mask" : "")
        << (c.stacked ? " stacked" : "") << (c.backend == RN_BACKEND_CUDA ? " cuda" : " cpu");
}

std::string case_name(const ::testing::TestParamInfo<Case> &info) {
    static const char *acts[] = {"tanh", "relu", "sigmoid", "lrelu", "linear"};
    std::string s = acts[info.param.act];
    s += info.param.recurrent ? "_rec" : "_ff";
    if (info.param.mask) s += "_mask";
    if (info.param.stacked) s += "_stacked";
    if (info.param.backend == RN_BACKEND_CUDA) s += "_cuda";
    return s;
}

// Builds linear(Cin→N) → rate(N) [→ rate(N, ff)] → linear(N→Cout) with varied, non-default values so every
// term of the gradient is exercised: thresholds, biases, x0 (made trainable) and τ all off their defaults.
// Every call is checked (a failure stops the test at the caller's ASSERT_TRUE); *net is the caller's to
// free, also after a failure.
[[nodiscard]] ::testing::AssertionResult build(const Case &c, int Cin, int N, int Cout,
                                               uint32_t seed, rn_net **net) {
    rn_error err = {};
    RN_RETURN_UNLESS_OK(rn_net_create(net, 1e-3f, seed, &err), err);
    RN_RETURN_UNLESS_OK(rn_net_add_linear(*net, Cin, N, true, &err), err);
    rn_rate_options o = rn_rate_options_default(N);
    o.recurrent = c.recurrent;
    o.activation = (rn_activation)c.act;
    o.noise_std = 0.1f;
    RN_RETURN_UNLESS_OK(rn_net_add_rate(*net, &o, &err), err);
    int li = 2;
    if (c.stacked) {
        rn_rate_options o2 = o;
        o2.recurrent = false;
        RN_RETURN_UNLESS_OK(rn_net_add_rate(*net, &o2, &err), err);
        li = 3;
    }
    RN_RETURN_UNLESS_OK(rn_net_add_linear(*net, N, Cout, true, &err), err);
    for (int layer = 1; layer < li; layer++) {
        std::string p = std::to_string(layer) + "_rate.";
        auto tau = random_floats(N, seed + 11 * layer, 0.012f, 0.045f);
        auto th = random_floats(N, seed + 12 * layer, -0.3f, 0.3f);
        auto bias = random_floats(N, seed + 13 * layer, -0.5f, 0.5f);
        auto x0 = random_floats(N, seed + 14 * layer, -0.5f, 0.5f);
        RN_RETURN_UNLESS_OK(rn_net_set_param(*net, (p + "tau").c_str(), tau.data(), N, &err), err);
        RN_RETURN_UNLESS_OK(rn_net_set_param(*net, (p + "threshold").c_str(), th.data(), N, &err),
                            err);
        RN_RETURN_UNLESS_OK(rn_net_set_param(*net, (p + "bias").c_str(), bias.data(), N, &err),
                            err);
        RN_RETURN_UNLESS_OK(rn_net_set_param(*net, (p + "x0").c_str(), x0.data(), N, &err), err);
        RN_RETURN_UNLESS_OK(rn_net_set_trainable(*net, (p + "x0").c_str(), true, &err), err);
    }
    // Bounds that are active for some elements (penalty), away from every value by more than the FD step.
    RN_RETURN_UNLESS_OK(
        rn_net_set_bounds(*net, "1_rate.tau", 0.03f, INFINITY, RN_BOUND_PENALTY, &err), err);
    RN_RETURN_UNLESS_OK(
        rn_net_set_bounds(*net, "0_linear.bias", -0.2f, 0.2f, RN_BOUND_PENALTY, &err), err);
    return ::testing::AssertionSuccess();
}

class Gradients : public ::testing::TestWithParam<Case> {};

TEST_P(Gradients, MatchCentralFiniteDifferencesOfDoubleForward) {
    const Case c = GetParam();
    if (c.backend == RN_BACKEND_CUDA) RN_SKIP_WITHOUT_CUDA();
    const int B = 2, T = 30, Cin = 2, N = 5, Cout = 3;
    const uint32_t seed = 1234u + (uint32_t)c.act * 10 + c.recurrent;
    const uint64_t noise_seed = 77;
    SCOPED_TRACE("seed " + std::to_string(seed) + " (data seed + 1, + 2, + 3), noise seed " +
                 std::to_string(noise_seed));
    TrainerParts parts;
    ASSERT_TRUE(build(c, Cin, N, Cout, seed, &parts.net));
    rn_net *net = parts.net;
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&parts.be, c.backend, &err), RN_OK) << err.message;
    rn_train_config cfg = rn_train_config_default();
    cfg.noise_seed = noise_seed;
    ASSERT_EQ(rn_trainer_create(&parts.tr, net, parts.be, &cfg, B, T, &err), RN_OK) << err.message;
    rn_trainer *tr = parts.tr;

    auto input = random_floats((size_t)B * T * Cin, seed + 1, -1.0f, 1.0f);
    auto target = random_floats((size_t)B * T * Cout, seed + 2, -1.0f, 1.0f);
    std::vector<float> mask;
    if (c.mask) {
        mask = random_floats((size_t)B * T, seed + 3, 0.0f, 1.0f);
        for (size_t i = 0; i < mask.size(); i += 3)
            mask[i] = 0.0f;
    }
    ASSERT_EQ(
        rn_trainer_set_data(tr, input.data(), target.data(), c.mask ? mask.data() : nullptr, &err),
        RN_OK)
        << err.message;
    rn_loss_parts lp;
    ASSERT_EQ(rn_trainer_compute_gradients(tr, &lp, &err), RN_OK) << err.message;

    ref::Model m;
    ASSERT_TRUE(ref::from_net(net, &m));
    auto in_d = to_double(input), tg_d = to_double(target), mk_d = to_double(mask);
    const std::vector<double> *mp = c.mask ? &mk_d : nullptr;
    double L0 = ref::loss(m, m.values, in_d, tg_d, mp, B, T, {}, true, noise_seed, 0);
    EXPECT_NEAR(lp.total, L0, 1e-5 * std::fabs(L0)) << "loss";
    EXPECT_GT(lp.bounds, 0.0) << "some bound should be active in this test";

    // The forward outputs against the double forward.
    std::vector<float> y((size_t)B * T * Cout, NAN); // NaN: an element the forward misses shows
    ASSERT_EQ(rn_trainer_forward(tr, y.data(), true, &err), RN_OK) << err.message;
    auto y_ref = ref::forward(m, m.values, in_d, B, T, true, noise_seed, 0);
    EXPECT_TRUE(all_close(y, y_ref, 1e-5, 1e-6));

    double worst = 0;
    std::string worst_name;
    for (auto &pr : m.params) {
        rn_param_info info;
        ASSERT_EQ(rn_net_param_info(net, rn_net_param_index(net, pr.name.c_str()), &info, &err),
                  RN_OK)
            << pr.name << ": " << err.message;
        if (!info.trainable) continue;
        std::vector<float> g = grad_values(tr, net, pr.name.c_str());
        std::vector<double> fd(pr.count);
        for (size_t i = 0; i < pr.count; i++) {
            std::vector<double> p = m.values;
            double v = p[pr.offset + i];
            double h = 1e-6 * std::max(1e-2, std::fabs(v)) * 10;
            p[pr.offset + i] = v + h;
            double lp_ = ref::loss(m, p, in_d, tg_d, mp, B, T, {}, true, noise_seed, 0);
            p[pr.offset + i] = v - h;
            double lm_ = ref::loss(m, p, in_d, tg_d, mp, B, T, {}, true, noise_seed, 0);
            fd[i] = (lp_ - lm_) / (2 * h);
        }
        double rel = tensor_rel_err(g, fd);
        EXPECT_LE(rel, 1e-4) << pr.name << " gradient relative error " << rel;
        if (!(rel <= worst)) {
            worst = rel;
            worst_name = pr.name;
        }
    }
    std::printf("[ gradcheck ] %s: worst relative error %.3g (%s)\n", case_name({c, 0}).c_str(),
                worst, worst_name.c_str());
}

std::vector<Case> all_cases() {
    std::vector<Case> v;
    for (rn_backend_kind k : {RN_BACKEND_CPU, RN_BACKEND_CUDA}) {
        for (int act = 0; act < 5; act++)
            for (int rec = 0; rec < 2; rec++)
                v.push_back({act, rec == 1, false, false, k});
        v.push_back({RN_ACT_TANH, true, true, false, k});
        v.push_back({RN_ACT_TANH, true, false, true, k});
        v.push_back({RN_ACT_SIGMOID, true, true, true, k});
    }
    return v;
}

INSTANTIATE_TEST_SUITE_P(AllActivations, Gradients, ::testing::ValuesIn(all_cases()), case_name);

} // namespace
