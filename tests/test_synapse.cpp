// The synapse task (SPEC §7, the nengo_dl seed): its data, the step response of a lowpass or a
// doubleexp cascade; a lowpass that may learn its τ reaches the target exactly; a model that may only
// learn a gain cannot go below the least-squares floor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "test_util.h"

namespace {

// The task's data at every step, against the step response computed here in double: input 1 throughout;
// the lowpass's closed form y_t = 1 − p^(t+1), p = exp(−dt/τ); the doubleexp cascade (τ1, then τ2) by
// direct recursion.
TEST(Synapse, StepResponseOfLowpassAndDoubleExp) {
    rn_synapse_options o = rn_synapse_options_default();
    int T = 0;
    ASSERT_EQ(rn_synapse_steps(&o, &T, nullptr), RN_OK);
    ASSERT_EQ(T, 1000);
    std::vector<float> u(T, NAN), y(T, NAN); // NaN: an element the generator misses shows
    ASSERT_EQ(rn_synapse_generate(&o, u.data(), y.data(), T, nullptr), RN_OK);
    std::vector<double> ones(T, 1.0), lowpass(T);
    for (int t = 0; t < T; t++)
        lowpass[t] = 1 - std::pow(std::exp(-0.001 / 0.1), t + 1);
    EXPECT_TRUE(all_close(u, ones, 0, 0));
    EXPECT_TRUE(all_close(y, lowpass, 0, 1e-6));

    o.tau = 0.05;
    o.tau2 = 0.03;
    std::fill(u.begin(), u.end(), NAN);
    std::fill(y.begin(), y.end(), NAN);
    ASSERT_EQ(rn_synapse_generate(&o, u.data(), y.data(), T, nullptr), RN_OK);
    std::vector<double> cascade(T);
    double a = std::exp(-0.001 / 0.05), b = std::exp(-0.001 / 0.03), y1 = 0, y2 = 0;
    for (int t = 0; t < T; t++) {
        y1 = a * y1 + (1 - a);
        y2 = b * y2 + (1 - b) * y1;
        cascade[t] = y2;
    }
    EXPECT_TRUE(all_close(u, ones, 0, 0));
    EXPECT_TRUE(all_close(y, cascade, 0, 1e-6));
}

// Trains r.net (already built) on the synapse task: CPU, Adam at lr, `epochs` epochs; *mse is the loss
// at the final parameters, which are pulled back into r.net. A failure stops the test at the caller's
// ASSERT_TRUE.
[[nodiscard]] ::testing::AssertionResult train(TrainerParts &r, const rn_synapse_options &so,
                                               float lr, int epochs, double *mse) {
    rn_error err = {};
    int T = 0;
    RN_RETURN_UNLESS_OK(rn_synapse_steps(&so, &T, &err), err);
    std::vector<float> u(T, NAN), y(T, NAN);
    RN_RETURN_UNLESS_OK(rn_synapse_generate(&so, u.data(), y.data(), T, &err), err);
    RN_RETURN_UNLESS_OK(rn_backend_create(&r.be, RN_BACKEND_CPU, &err), err);
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = lr;
    RN_RETURN_UNLESS_OK(rn_trainer_create(&r.tr, r.net, r.be, &cfg, 1, T, &err), err);
    RN_RETURN_UNLESS_OK(rn_trainer_set_data(r.tr, u.data(), y.data(), nullptr, &err), err);
    rn_loss_parts lp = {};
    for (int e = 0; e < epochs; e++)
        RN_RETURN_UNLESS_OK(rn_trainer_epoch(r.tr, &lp, &err), err);
    RN_RETURN_UNLESS_OK(rn_trainer_compute_gradients(r.tr, &lp, &err), err); // at the final values
    RN_RETURN_UNLESS_OK(rn_trainer_pull_params(r.tr, &err), err);
    *mse = lp.mse;
    return ::testing::AssertionSuccess();
}

TEST(SynapseTask, LowpassLearnsTauFrom5msTo100ms) {
    TrainerParts r;
    rn_error err = {};
    ASSERT_EQ(rn_net_create(&r.net, 1e-3f, 0, &err), RN_OK);
    ASSERT_EQ(rn_net_add_filter(r.net, RN_LAYER_LOWPASS, 1, 0.005f, 0, &err), RN_OK);
    double mse = NAN;
    ASSERT_TRUE(train(r, rn_synapse_options_default(), 3e-3f, 1500, &mse));
    float tau = NAN;
    ASSERT_EQ(rn_net_get_param(r.net, "0_lowpass.tau", &tau, 1, &err), RN_OK);
    std::printf("[ synapse ] lowpass: tau %.6f, mse %.3g\n", tau, mse);
    EXPECT_LE(std::fabs(tau - 0.1) / 0.1, 1e-3);
    EXPECT_LE(mse, 1e-8);
}

TEST(SynapseTask, DoubleExpRecoversBothTausAsASet) {
    TrainerParts r;
    rn_error err = {};
    ASSERT_EQ(rn_net_create(&r.net, 1e-3f, 0, &err), RN_OK);
    ASSERT_EQ(rn_net_add_filter(r.net, RN_LAYER_DOUBLEEXP, 1, 0.005f, 0.01f, &err), RN_OK);
    rn_synapse_options so = rn_synapse_options_default();
    so.tau = 0.05;
    so.tau2 = 0.03;
    double mse = NAN;
    ASSERT_TRUE(train(r, so, 3e-3f, 2500, &mse));
    float t1 = NAN, t2 = NAN;
    ASSERT_EQ(rn_net_get_param(r.net, "0_doubleexp.tau1", &t1, 1, &err), RN_OK) << err.message;
    ASSERT_EQ(rn_net_get_param(r.net, "0_doubleexp.tau2", &t2, 1, &err), RN_OK) << err.message;
    std::printf("[ synapse ] doubleexp: taus %.6f %.6f, mse %.3g\n", t1, t2, mse);
    double lo = std::min(t1, t2), hi = std::max(t1, t2);
    EXPECT_LE(std::fabs(lo - 0.03) / 0.03, 0.01);
    EXPECT_LE(std::fabs(hi - 0.05) / 0.05, 0.01);
}

TEST(SynapseTask, GainOnlyModelStaysAtItsLeastSquaresFloor) {
    // lowpass(τ = 5 ms, frozen) → linear(1, 1, no bias): only the gain learns.
    rn_synapse_options so = rn_synapse_options_default();
    int T = 0;
    ASSERT_EQ(rn_synapse_steps(&so, &T, nullptr), RN_OK);
    std::vector<float> u(T, NAN), y(T, NAN);
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

    TrainerParts r;
    rn_error err = {};
    ASSERT_EQ(rn_net_create(&r.net, 1e-3f, 0, &err), RN_OK);
    ASSERT_EQ(rn_net_add_filter(r.net, RN_LAYER_LOWPASS, 1, 0.005f, 0, &err), RN_OK);
    ASSERT_EQ(rn_net_add_linear(r.net, 1, 1, false, &err), RN_OK);
    ASSERT_EQ(rn_net_set_trainable(r.net, "0_lowpass.tau", false, &err), RN_OK);
    ASSERT_EQ(rn_net_set_trainable(r.net, "0_lowpass.initial_level", false, &err), RN_OK);
    float w = 1.0f;
    ASSERT_EQ(rn_net_set_param(r.net, "1_linear.weight", &w, 1, &err), RN_OK);
    double mse = NAN;
    ASSERT_TRUE(train(r, so, 3e-3f, 1500, &mse));
    std::printf("[ synapse ] gain only: mse %.4g (least-squares floor %.4g, gain %.4f)\n", mse,
                floor, g);
    EXPECT_GE(mse, floor * (1 - 1e-5));
    EXPECT_LE(mse, floor * 1.01) << "the gain should reach its optimum";
    EXPECT_GT(floor, 1e-3) << "a gain alone cannot fit the slower filter";
}

} // namespace
