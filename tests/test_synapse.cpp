// The synapse task (SPEC §7, the nengo_dl seed): a lowpass that may learn its τ reaches the target exactly;
// a model that may only learn a gain cannot go below the least-squares floor.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "test_util.h"

namespace {

struct SynRun {
    rn_net *net = nullptr;
    rn_backend *be = nullptr;
    rn_trainer *tr = nullptr;
    ~SynRun() {
        rn_trainer_free(tr);
        rn_backend_free(be);
        rn_net_free(net);
    }
};

double train(SynRun &r, const rn_synapse_options &so, float lr, int epochs) {
    rn_error err = {};
    int T;
    EXPECT_EQ(rn_synapse_steps(&so, &T, &err), RN_OK);
    std::vector<float> u(T), y(T);
    EXPECT_EQ(rn_synapse_generate(&so, u.data(), y.data(), T, &err), RN_OK);
    EXPECT_EQ(rn_backend_create(&r.be, RN_BACKEND_CPU, &err), RN_OK);
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = lr;
    EXPECT_EQ(rn_trainer_create(&r.tr, r.net, r.be, &cfg, 1, T, &err), RN_OK) << err.message;
    EXPECT_EQ(rn_trainer_set_data(r.tr, u.data(), y.data(), nullptr, &err), RN_OK);
    rn_loss_parts lp = {};
    for (int e = 0; e < epochs; e++)
        EXPECT_EQ(rn_trainer_epoch(r.tr, &lp, &err), RN_OK) << err.message;
    EXPECT_EQ(rn_trainer_compute_gradients(r.tr, &lp, &err),
              RN_OK); // the loss at the final parameters
    EXPECT_EQ(rn_trainer_pull_params(r.tr, &err), RN_OK);
    return lp.mse;
}

TEST(SynapseTask, LowpassLearnsTauFrom5msTo100ms) {
    SynRun r;
    rn_error err = {};
    ASSERT_EQ(rn_net_create(&r.net, 1e-3f, 0, &err), RN_OK);
    ASSERT_EQ(rn_net_add_filter(r.net, RN_LAYER_LOWPASS, 1, 0.005f, 0, &err), RN_OK);
    double mse = train(r, rn_synapse_options_default(), 3e-3f, 1500);
    float tau;
    ASSERT_EQ(rn_net_get_param(r.net, "0_lowpass.tau", &tau, 1, &err), RN_OK);
    std::printf("[ synapse ] lowpass: tau %.6f, mse %.3g\n", tau, mse);
    EXPECT_LE(std::fabs(tau - 0.1) / 0.1, 1e-3);
    EXPECT_LE(mse, 1e-8);
}

TEST(SynapseTask, DoubleExpRecoversBothTausAsASet) {
    SynRun r;
    rn_error err = {};
    ASSERT_EQ(rn_net_create(&r.net, 1e-3f, 0, &err), RN_OK);
    ASSERT_EQ(rn_net_add_filter(r.net, RN_LAYER_DOUBLEEXP, 1, 0.005f, 0.01f, &err), RN_OK);
    rn_synapse_options so = rn_synapse_options_default();
    so.tau = 0.05;
    so.tau2 = 0.03;
    double mse = train(r, so, 3e-3f, 2500);
    float t1, t2;
    rn_net_get_param(r.net, "0_doubleexp.tau1", &t1, 1, &err);
    rn_net_get_param(r.net, "0_doubleexp.tau2", &t2, 1, &err);
    std::printf("[ synapse ] doubleexp: taus %.6f %.6f, mse %.3g\n", t1, t2, mse);
    double lo = std::min(t1, t2), hi = std::max(t1, t2);
    EXPECT_LE(std::fabs(lo - 0.03) / 0.03, 0.01);
    EXPECT_LE(std::fabs(hi - 0.05) / 0.05, 0.01);
}

TEST(SynapseTask, GainOnlyModelStaysAtItsLeastSquaresFloor) {
    // lowpass(τ = 5 ms, frozen) → linear(1, 1, no bias): only the gain learns.
    rn_synapse_options so = rn_synapse_options_default();
    int T;
    ASSERT_EQ(rn_synapse_steps(&so, &T, nullptr), RN_OK);
    std::vector<float> u(T), y(T);
    ASSERT_EQ(rn_synapse_generate(&so, u.data(), y.data(), T, nullptr), RN_OK);
    double p = std::exp(-0.001 / 0.005), s = 0, ss = 0, sy = 0;
    std::vector<double> sv(T);
    for (int t = 0; t < T; t++) {
        s = p * s + (1 - p);
        sv[t] = s;
        ss += s * s;
        sy += s * y[t];
    }
    double g = sy / ss, floor = 0;
    for (int t = 0; t < T; t++)
        floor += (g * sv[t] - y[t]) * (g * sv[t] - y[t]) / T;

    SynRun r;
    rn_error err = {};
    ASSERT_EQ(rn_net_create(&r.net, 1e-3f, 0, &err), RN_OK);
    ASSERT_EQ(rn_net_add_filter(r.net, RN_LAYER_LOWPASS, 1, 0.005f, 0, &err), RN_OK);
    ASSERT_EQ(rn_net_add_linear(r.net, 1, 1, false, &err), RN_OK);
    rn_net_set_trainable(r.net, "0_lowpass.tau", false, &err);
    rn_net_set_trainable(r.net, "0_lowpass.initial_level", false, &err);
    float w = 1.0f;
    rn_net_set_param(r.net, "1_linear.weight", &w, 1, &err);
    double mse = train(r, so, 3e-3f, 1500);
    std::printf("[ synapse ] gain only: mse %.4g (least-squares floor %.4g, gain %.4f)\n", mse,
                floor, g);
    EXPECT_GE(mse, floor * (1 - 1e-5));
    EXPECT_LE(mse, floor * 1.01) << "the gain should reach its optimum";
    EXPECT_GT(floor, 1e-3) << "a gain alone cannot fit the slower filter";
}

} // namespace
