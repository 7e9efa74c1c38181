// What the Python package relies on beyond the trainer's core: the noise mode (fresh / frozen, SPEC §6)
// and the struct sizes a foreign-function binding checks when it loads (ratenn/abi.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace {

// linear(1→6) → rate(6, σ 0.5) → linear(6→1), B 2, T 40, random data; lr 0 so that epochs move the
// epoch counter (and with it the fresh noise) but no parameter.
[[nodiscard]] ::testing::AssertionResult make(TrainerParts &f, std::vector<float> &input,
                                              std::vector<float> &target) {
    const int N = 6, B = 2, T = 40;
    rn_error err = {};
    rn_train_config cfg = rn_train_config_default();
    cfg.noise_seed = 77;
    RN_RETURN_UNLESS_OK(rn_net_create(&f.net, 1e-3f, 3, &err), err);
    rn_rate_options o = rn_rate_options_default(N);
    o.noise_std = 0.5f;
    RN_RETURN_UNLESS_OK(rn_net_add_linear(f.net, 1, N, true, &err), err);
    RN_RETURN_UNLESS_OK(rn_net_add_rate(f.net, &o, &err), err);
    RN_RETURN_UNLESS_OK(rn_net_add_linear(f.net, N, 1, true, &err), err);
    for (int i = 0; i < rn_net_param_count(f.net); i++) {
        rn_param_info info;
        RN_RETURN_UNLESS_OK(rn_net_param_info(f.net, i, &info, &err), err);
        RN_RETURN_UNLESS_OK(rn_net_set_trainable(f.net, info.name, false, &err), err);
    }
    RN_RETURN_UNLESS_OK(rn_backend_create(&f.be, RN_BACKEND_CPU, &err), err);
    RN_RETURN_UNLESS_OK(rn_trainer_create(&f.tr, f.net, f.be, &cfg, B, T, &err), err);
    input = random_floats((size_t)B * T, 21, -1, 1);
    target = random_floats((size_t)B * T, 22, -1, 1);
    RN_RETURN_UNLESS_OK(rn_trainer_set_data(f.tr, input.data(), target.data(), nullptr, &err), err);
    return ::testing::AssertionSuccess();
}

// The noisy output and loss at epoch 0, then after two epochs in the given mode.
void run(rn_noise_mode mode, std::vector<float> &out0, std::vector<float> &out2, double &loss0,
         double &loss2, int64_t &epochs) {
    TrainerParts f;
    std::vector<float> input, target;
    ASSERT_TRUE(make(f, input, target));
    rn_error err = {};
    ASSERT_EQ(rn_trainer_set_noise_mode(f.tr, mode, &err), RN_OK) << err.message;
    out0.assign(input.size(), 0.0f);
    out2.assign(input.size(), 0.0f);
    rn_loss_parts lp;
    ASSERT_EQ(rn_trainer_forward(f.tr, out0.data(), true, &err), RN_OK) << err.message;
    ASSERT_EQ(rn_trainer_compute_gradients(f.tr, &lp, &err), RN_OK) << err.message;
    loss0 = lp.total;
    for (int e = 0; e < 2; e++)
        ASSERT_EQ(rn_trainer_epoch(f.tr, &lp, &err), RN_OK) << err.message;
    ASSERT_EQ(rn_trainer_forward(f.tr, out2.data(), true, &err), RN_OK) << err.message;
    ASSERT_EQ(rn_trainer_compute_gradients(f.tr, &lp, &err), RN_OK) << err.message;
    loss2 = lp.total;
    epochs = rn_trainer_epochs_done(f.tr);
}

TEST(NoiseMode, FrozenDrawsEpochZerosNoiseInEveryEpoch) {
    std::vector<float> out0, out2;
    double loss0 = 0, loss2 = 0;
    int64_t epochs = 0;
    run(RN_NOISE_FROZEN, out0, out2, loss0, loss2, epochs);
    EXPECT_TRUE(same_bits(out0, out2));
    EXPECT_EQ(loss0, loss2);
    EXPECT_EQ(epochs, 2); // the optimiser's count still advances
}

TEST(NoiseMode, FreshDrawsNewNoiseEachEpochAndIsTheDefault) {
    std::vector<float> out0, out2, f0, f2;
    double loss0 = 0, loss2 = 0, l0 = 0, l2 = 0;
    int64_t epochs = 0;
    run(RN_NOISE_FRESH, out0, out2, loss0, loss2, epochs);
    EXPECT_FALSE(same_bits(out0, out2));
    EXPECT_NE(loss0, loss2);
    run(RN_NOISE_FROZEN, f0, f2, l0, l2, epochs);
    EXPECT_TRUE(same_bits(out0, f0)); // epoch 0 is the same draw in both modes
    // the default is fresh: a trainer never told a mode behaves as RN_NOISE_FRESH
    TrainerParts f;
    std::vector<float> input, target, d2(out2.size());
    ASSERT_TRUE(make(f, input, target));
    rn_loss_parts lp;
    for (int e = 0; e < 2; e++)
        ASSERT_EQ(rn_trainer_epoch(f.tr, &lp, nullptr), RN_OK);
    ASSERT_EQ(rn_trainer_forward(f.tr, d2.data(), true, nullptr), RN_OK);
    EXPECT_TRUE(same_bits(d2, out2));
}

TEST(NoiseMode, RejectsAnUnknownModeAndANullTrainer) {
    TrainerParts f;
    std::vector<float> input, target;
    ASSERT_TRUE(make(f, input, target));
    rn_error err = {};
    EXPECT_EQ(rn_trainer_set_noise_mode(f.tr, (rn_noise_mode)2, &err), RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("noise mode 2"), std::string::npos) << err.message;
    EXPECT_EQ(rn_trainer_set_noise_mode(nullptr, RN_NOISE_FROZEN, &err), RN_ERR_INVALID_ARG);
}

TEST(Abi, StructSizesAreTheCompilersAndUnknownNamesAreZero) {
    EXPECT_EQ(rn_struct_size("rn_error"), sizeof(rn_error));
    EXPECT_EQ(rn_struct_size("rn_rate_options"), sizeof(rn_rate_options));
    EXPECT_EQ(rn_struct_size("rn_param_info"), sizeof(rn_param_info));
    EXPECT_EQ(rn_struct_size("rn_train_config"), sizeof(rn_train_config));
    EXPECT_EQ(rn_struct_size("rn_loss_parts"), sizeof(rn_loss_parts));
    EXPECT_EQ(rn_struct_size("rn_array"), sizeof(rn_array));
    EXPECT_EQ(rn_struct_size("rn_chirp_options"), sizeof(rn_chirp_options));
    EXPECT_EQ(rn_struct_size("rn_synapse_options"), sizeof(rn_synapse_options));
    EXPECT_EQ(rn_struct_size("rn_net"), 0u); // opaque: no size to check
    EXPECT_EQ(rn_struct_size(nullptr), 0u);
}

} // namespace
