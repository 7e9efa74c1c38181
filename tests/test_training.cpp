// Optimiser steps against hand-computed values, frozen parameters, clip bounds, determinism, divergence,
// and a short training run that must lower the loss.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

struct Fixture : TrainerParts {
    std::vector<float> input, target;
    std::string seeds; // what make() drew from, for SCOPED_TRACE
};

// linear(1→N) → rate(N) → linear(N→1) on random data, B trials of T steps. A failure stops the test
// at the caller's ASSERT_TRUE.
[[nodiscard]] ::testing::AssertionResult make(Fixture &f, rn_train_config cfg, int N = 6, int B = 2,
                                              int T = 40, uint64_t seed = 5, float noise = 0.1f) {
    const uint32_t input_seed = 11, target_seed = 12;
    f.seeds = "net seed " + std::to_string(seed) + ", data seeds " + std::to_string(input_seed) +
              " and " + std::to_string(target_seed) + ", noise seed " +
              std::to_string(cfg.noise_seed);
    rn_error err = {};
    RN_RETURN_UNLESS_OK(rn_net_create(&f.net, 1e-3f, seed, &err), err);
    rn_rate_options o = rn_rate_options_default(N);
    o.noise_std = noise;
    RN_RETURN_UNLESS_OK(rn_net_add_linear(f.net, 1, N, true, &err), err);
    RN_RETURN_UNLESS_OK(rn_net_add_rate(f.net, &o, &err), err);
    RN_RETURN_UNLESS_OK(rn_net_add_linear(f.net, N, 1, true, &err), err);
    RN_RETURN_UNLESS_OK(rn_backend_create(&f.be, RN_BACKEND_CPU, &err), err);
    RN_RETURN_UNLESS_OK(rn_trainer_create(&f.tr, f.net, f.be, &cfg, B, T, &err), err);
    f.input = random_floats((size_t)B * T, input_seed, -1, 1);
    f.target = random_floats((size_t)B * T, target_seed, -1, 1);
    RN_RETURN_UNLESS_OK(rn_trainer_set_data(f.tr, f.input.data(), f.target.data(), nullptr, &err),
                        err);
    return ::testing::AssertionSuccess();
}

const char *kNames[] = {"0_linear.weight", "0_linear.bias",    "1_rate.w_rec",    "1_rate.tau",
                        "1_rate.bias",     "1_rate.threshold", "2_linear.weight", "2_linear.bias"};

// Two Adam steps, each compared with jax.example_libraries.optimizers.adam written out in double.
TEST(Optimizer, AdamMatchesHandComputedSteps) {
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = 1e-2f;
    Fixture f;
    ASSERT_TRUE(make(f, cfg));
    SCOPED_TRACE(f.seeds);
    std::vector<std::vector<double>> m(8), v(8);
    for (int step = 0; step < 2; step++) {
        rn_loss_parts lp;
        ASSERT_EQ(rn_trainer_compute_gradients(f.tr, &lp, nullptr), RN_OK);
        std::vector<std::vector<float>> before, g;
        for (const char *n : kNames) {
            before.push_back(param_values(f.net, n));
            g.push_back(grad_values(f.tr, f.net, n));
        }
        ASSERT_EQ(rn_trainer_epoch(f.tr, &lp, nullptr),
                  RN_OK); // recomputes the same gradients (same epoch)
        ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
        for (int k = 0; k < 8; k++) {
            if (m[k].empty()) m[k].assign(g[k].size(), 0.0), v[k].assign(g[k].size(), 0.0);
            std::vector<double> expect(g[k].size());
            for (size_t i = 0; i < g[k].size(); i++) {
                m[k][i] = 0.1 * g[k][i] + 0.9 * m[k][i];
                v[k][i] = 0.001 * (double)g[k][i] * g[k][i] + 0.999 * v[k][i];
                double mhat = m[k][i] / (1 - std::pow(0.9, step + 1)),
                       vhat = v[k][i] / (1 - std::pow(0.999, step + 1));
                expect[i] = before[k][i] - 1e-2 * mhat / (std::sqrt(vhat) + 1e-8);
            }
            EXPECT_TRUE(all_close(param_values(f.net, kNames[k]), expect, 1e-5, 1e-7))
                << kNames[k] << " step " << step;
        }
    }
}

TEST(Optimizer, SgdStepAndGradientClipping) {
    for (float clip : {0.0f, 0.05f}) {
        rn_train_config cfg = rn_train_config_default();
        cfg.optimizer = RN_OPT_SGD;
        cfg.lr = 1e-3f; // small enough that τ stays > 0 (else the step is undone: the test below)
        cfg.clip_norm = clip;
        Fixture f;
        ASSERT_TRUE(make(f, cfg));
        SCOPED_TRACE(f.seeds);
        rn_loss_parts lp;
        ASSERT_EQ(rn_trainer_compute_gradients(f.tr, &lp, nullptr), RN_OK);
        double scale = (clip > 0 && lp.grad_norm > clip) ? clip / lp.grad_norm : 1.0;
        if (clip > 0) {
            ASSERT_LT(scale, 1.0) << "the test needs a gradient norm over the clip threshold";
        }
        std::vector<std::vector<float>> before, g;
        for (const char *n : kNames) {
            before.push_back(param_values(f.net, n));
            g.push_back(grad_values(f.tr, f.net, n));
        }
        ASSERT_EQ(rn_trainer_epoch(f.tr, &lp, nullptr), RN_OK);
        ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
        for (int k = 0; k < 8; k++) {
            std::vector<double> expect(g[k].size());
            for (size_t i = 0; i < g[k].size(); i++)
                expect[i] = before[k][i] - (double)cfg.lr * (g[k][i] * scale);
            EXPECT_TRUE(all_close(param_values(f.net, kNames[k]), expect, 1e-5, 1e-7))
                << kNames[k] << " clip " << clip;
        }
    }
}

TEST(Optimizer, FrozenParametersStayBitIdentical) {
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = 1e-2f;
    Fixture f;
    ASSERT_TRUE(make(f, cfg));
    SCOPED_TRACE(f.seeds);
    ASSERT_EQ(rn_net_set_trainable(f.net, "1_rate.w_rec", false, nullptr), RN_OK);
    ASSERT_EQ(rn_net_set_trainable(f.net, "1_rate.tau", false, nullptr), RN_OK);
    ASSERT_EQ(rn_trainer_push_params(f.tr, nullptr), RN_OK);
    auto w0 = param_values(f.net, "1_rate.w_rec"), t0 = param_values(f.net, "1_rate.tau"),
         b0 = param_values(f.net, "1_rate.bias");
    for (int e = 0; e < 10; e++)
        ASSERT_EQ(rn_trainer_epoch(f.tr, nullptr, nullptr), RN_OK);
    ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
    auto w1 = param_values(f.net, "1_rate.w_rec"), t1 = param_values(f.net, "1_rate.tau"),
         b1 = param_values(f.net, "1_rate.bias");
    EXPECT_TRUE(same_bits(w0, w1));
    EXPECT_TRUE(same_bits(t0, t1));
    EXPECT_FALSE(same_bits(b0, b1)) << "a trainable parameter should move";
}

TEST(Optimizer, ClipBoundsHold) {
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = 0.05f; // big steps, so the bounds are hit
    Fixture f;
    ASSERT_TRUE(make(f, cfg));
    SCOPED_TRACE(f.seeds);
    ASSERT_EQ(rn_net_set_bounds(f.net, "1_rate.tau", 0.0195f, 0.0205f, RN_BOUND_CLIP, nullptr),
              RN_OK);
    ASSERT_EQ(rn_net_set_bounds(f.net, "2_linear.weight", -0.1f, 0.1f, RN_BOUND_CLIP, nullptr),
              RN_OK);
    ASSERT_EQ(rn_trainer_push_params(f.tr, nullptr), RN_OK);
    for (int e = 0; e < 20; e++)
        ASSERT_EQ(rn_trainer_epoch(f.tr, nullptr, nullptr), RN_OK);
    ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
    int at_bound = 0;
    for (float t : param_values(f.net, "1_rate.tau")) {
        EXPECT_GE(t, 0.0195f);
        EXPECT_LE(t, 0.0205f);
        at_bound += t == 0.0195f || t == 0.0205f;
    }
    for (float w : param_values(f.net, "2_linear.weight")) {
        EXPECT_GE(w, -0.1f);
        EXPECT_LE(w, 0.1f);
        at_bound += w == -0.1f || w == 0.1f;
    }
    EXPECT_GT(at_bound, 0) << "the steps should have reached some bound";
}

TEST(Training, SameSeedTwiceIsBitIdenticalAfter20Epochs) {
    std::vector<std::vector<float>> runs[2];
    for (int r = 0; r < 2; r++) {
        Fixture f;
        ASSERT_TRUE(make(f, rn_train_config_default(), 8, 3, 50, 99, 0.1f));
        SCOPED_TRACE(f.seeds);
        for (int e = 0; e < 20; e++)
            ASSERT_EQ(rn_trainer_epoch(f.tr, nullptr, nullptr), RN_OK);
        ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
        for (const char *n : kNames)
            runs[r].push_back(param_values(f.net, n));
    }
    for (int k = 0; k < 8; k++)
        EXPECT_TRUE(same_bits(runs[0][k], runs[1][k])) << kNames[k];
}

TEST(Training, NoiseSeedChangesTheRun) {
    std::vector<float> w[2];
    for (int r = 0; r < 2; r++) {
        rn_train_config cfg = rn_train_config_default();
        cfg.noise_seed = (uint64_t)r;
        Fixture f;
        ASSERT_TRUE(make(f, cfg));
        SCOPED_TRACE(f.seeds);
        for (int e = 0; e < 3; e++)
            ASSERT_EQ(rn_trainer_epoch(f.tr, nullptr, nullptr), RN_OK);
        ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
        w[r] = param_values(f.net, "1_rate.w_rec");
    }
    EXPECT_FALSE(same_bits(w[0], w[1]));
}

TEST(Training, DivergenceStopsAndKeepsTheLastGoodParameters) {
    rn_train_config cfg = rn_train_config_default();
    cfg.optimizer = RN_OPT_SGD;
    cfg.lr = 1e30f; // the first step throws the weights to ~1e30; the next loss is not finite
    Fixture f;
    ASSERT_TRUE(make(f, cfg, 6, 2, 40, 5, 0.0f));
    SCOPED_TRACE(f.seeds);
    // τ frozen: a step to τ <= 0 is caught before any loss is not finite (the next test)
    ASSERT_EQ(rn_net_set_trainable(f.net, "1_rate.tau", false, nullptr), RN_OK);
    ASSERT_EQ(rn_trainer_push_params(f.tr, nullptr), RN_OK);
    rn_error err = {};
    rn_status st = RN_OK;
    int e = 0;
    for (; e < 10 && st == RN_OK; e++)
        st = rn_trainer_epoch(f.tr, nullptr, &err);
    ASSERT_EQ(st, RN_ERR_DIVERGED);
    EXPECT_NE(std::string(err.message).find("not finite"), std::string::npos) << err.message;
    EXPECT_NE(std::string(err.message).find("epoch"), std::string::npos) << err.message;
    int64_t good = rn_trainer_epochs_done(f.tr);
    ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
    for (const char *n : kNames)
        for (float x : param_values(f.net, n))
            ASSERT_TRUE(std::isfinite(x)) << n;
    // the parameters are those after the last good epoch: another try diverges again, nothing moves
    auto w = param_values(f.net, "1_rate.w_rec");
    EXPECT_EQ(rn_trainer_epoch(f.tr, nullptr, &err), RN_ERR_DIVERGED);
    ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
    EXPECT_TRUE(same_bits(w, param_values(f.net, "1_rate.w_rec")));
    EXPECT_EQ(rn_trainer_epochs_done(f.tr), good);
}

// A step that would take a time constant to or below 0 is divergence (SPEC §2, §8): the epoch fails
// naming the element, and the parameters and Adam's moments stay as they were before it, bit for bit
// (the next epoch at a small learning rate then matches a trainer that never took the bad step).
TEST(Training, AStepThatMakesTauNonPositiveIsDivergenceAndUndone) {
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = 0.05f; // Adam moves every element by about lr: τ = 20 ms goes below 0
    Fixture f;
    ASSERT_TRUE(make(f, cfg, 6, 2, 40, 5, 0.0f));
    SCOPED_TRACE(f.seeds);
    rn_error err = {};
    const std::vector<float> tau0 = param_values(f.net, "1_rate.tau");
    const std::vector<float> w0 = param_values(f.net, "1_rate.w_rec");
    ASSERT_EQ(rn_trainer_epoch(f.tr, nullptr, &err), RN_ERR_DIVERGED);
    const std::string msg = err.message;
    EXPECT_NE(msg.find("1_rate.tau"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tau must be > 0"), std::string::npos) << msg;
    EXPECT_EQ(rn_trainer_epochs_done(f.tr), 0);
    ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
    EXPECT_TRUE(same_bits(tau0, param_values(f.net, "1_rate.tau")));
    EXPECT_TRUE(same_bits(w0, param_values(f.net, "1_rate.w_rec")));
    const size_t P = (size_t)rn_net_param_total(f.net);
    std::vector<float> m(P, 1.0f), v(P, 1.0f);
    int64_t done = -1;
    ASSERT_EQ(rn_trainer_get_optimizer_state(f.tr, m.data(), v.data(), P, &done, nullptr), RN_OK);
    for (size_t i = 0; i < P; i++)
        ASSERT_TRUE(m[i] == 0.0f && v[i] == 0.0f) << "moment " << i << " moved";

    // with τ frozen the same step goes through (only τ was guarded)
    ASSERT_EQ(rn_net_set_trainable(f.net, "1_rate.tau", false, nullptr), RN_OK);
    ASSERT_EQ(rn_trainer_push_params(f.tr, nullptr), RN_OK);
    EXPECT_EQ(rn_trainer_epoch(f.tr, nullptr, &err), RN_OK) << err.message;
    EXPECT_EQ(rn_trainer_epochs_done(f.tr), 1);
}

// A short run on the chirp task (N 16, 1 s chirp without padding) lowers the MSE by a stated factor.
TEST(Training, ShortChirpRunLowersTheLossFivefold) {
    rn_chirp_options co = rn_chirp_options_default();
    co.padding_duration = 0.1;
    co.chirp_duration = 0.4;
    co.chirp_freq_factor = 2;
    int T = 0;
    ASSERT_EQ(rn_chirp_steps(&co, &T, nullptr), RN_OK);
    std::vector<float> u(T, NAN), y(T, NAN); // NaN: an element the generator misses shows
    ASSERT_EQ(rn_chirp_generate(&co, u.data(), y.data(), T, nullptr), RN_OK);
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = 3e-3f;
    Fixture f;
    ASSERT_TRUE(make(f, cfg, 16, 1, T, 3, 0.1f));
    SCOPED_TRACE(f.seeds);
    // τ must stay well above dt: the tutorial's penalty bound (Adam moves τ by ~lr per epoch)
    ASSERT_EQ(rn_net_set_bounds(f.net, "1_rate.tau", 0.011f, INFINITY, RN_BOUND_PENALTY, nullptr),
              RN_OK);
    ASSERT_EQ(rn_trainer_push_params(f.tr, nullptr), RN_OK);
    ASSERT_EQ(rn_trainer_set_data(f.tr, u.data(), y.data(), nullptr, nullptr), RN_OK);
    rn_loss_parts first, last;
    rn_error err = {};
    ASSERT_EQ(rn_trainer_epoch(f.tr, &first, &err), RN_OK) << err.message;
    for (int e = 1; e < 300; e++)
        ASSERT_EQ(rn_trainer_epoch(f.tr, &last, &err), RN_OK) << err.message;
    std::printf("[ training ] mse %.4g -> %.4g over 300 epochs\n", first.mse, last.mse);
    EXPECT_LT(last.mse, first.mse / 5);
}

TEST(Trainer, BadArgumentsGiveMessages) {
    TrainerParts p;
    rn_net *&net = p.net;
    rn_backend *&be = p.be;
    rn_trainer *&tr = p.tr;
    rn_error err = {};
    ASSERT_EQ(rn_net_create(&net, 1e-3f, 0, &err), RN_OK);
    ASSERT_EQ(rn_backend_create(&be, RN_BACKEND_CPU, &err), RN_OK);
    EXPECT_EQ(rn_trainer_create(&tr, net, be, nullptr, 1, 10, &err), RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("no layers"), std::string::npos);
    ASSERT_EQ(rn_net_add_linear(net, 2, 3, true, &err), RN_OK);
    rn_rate_options o = rn_rate_options_default(4);
    EXPECT_EQ(rn_net_add_rate(net, &o, &err), RN_ERR_SHAPE);
    EXPECT_NE(std::string(err.message).find("layer 0"), std::string::npos) << err.message;
    o.n = 3;
    o.tau = -1;
    EXPECT_EQ(rn_net_add_rate(net, &o, &err), RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("tau"), std::string::npos);
    o.tau = 0.02f;
    ASSERT_EQ(rn_net_add_rate(net, &o, &err), RN_OK);
    std::vector<float> bad(3, -0.5f);
    EXPECT_EQ(rn_net_set_param(net, "1_rate.tau", bad.data(), 3, &err), RN_ERR_INVALID_ARG);
    EXPECT_EQ(param_values(net, "1_rate.tau"), std::vector<float>(3, 0.02f))
        << "a failed set leaves the value";
    EXPECT_EQ(rn_net_set_param(net, "1_rate.nope", bad.data(), 3, &err), RN_ERR_NOT_FOUND);
    EXPECT_NE(std::string(err.message).find("1_rate.nope"), std::string::npos);
    EXPECT_EQ(rn_net_set_param(net, "1_rate.bias", bad.data(), 2, &err), RN_ERR_SHAPE);
    EXPECT_EQ(rn_trainer_create(&tr, net, be, nullptr, 0, 10, &err), RN_ERR_INVALID_ARG);
    EXPECT_EQ(rn_trainer_create(&tr, net, be, nullptr, 1, 0, &err), RN_ERR_INVALID_ARG);
    ASSERT_EQ(rn_trainer_create(&tr, net, be, nullptr, 1, 4, &err), RN_OK);
    std::vector<float> in(8, 0.0f), tg(12, 0.0f);
    in[5] = NAN;
    EXPECT_EQ(rn_trainer_set_data(tr, in.data(), tg.data(), nullptr, &err), RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("input"), std::string::npos);
    in[5] = 0;
    std::vector<float> mask(4, 0.0f);
    EXPECT_EQ(rn_trainer_set_data(tr, in.data(), tg.data(), mask.data(), &err), RN_ERR_INVALID_ARG);
    EXPECT_EQ(rn_trainer_epoch(tr, nullptr, &err), RN_ERR_INVALID_ARG) << "no target set yet";
}

// The recurrent input r is the forward's: after an epoch its buffer holds the backward's shifted
// activations, so recording it then is refused with a message until a forward has run again.
TEST(Trainer, RecordOfRAfterAnEpochIsRefusedUntilAForward) {
    Fixture f;
    ASSERT_TRUE(make(f, rn_train_config_default()));
    SCOPED_TRACE(f.seeds);
    const size_t n = 2 * 40 * 6;
    std::vector<float> r1(n, NAN), r2(n, NAN), x(n, NAN); // NaN: an unwritten element shows
    rn_error err = {};
    ASSERT_EQ(rn_trainer_forward(f.tr, nullptr, false, &err), RN_OK) << err.message;
    ASSERT_EQ(rn_trainer_get_record(f.tr, 1, RN_RECORD_R, r1.data(), n, &err), RN_OK)
        << err.message;
    for (size_t i = 0; i < n; i++)
        ASSERT_TRUE(std::isfinite(r1[i])) << i;
    ASSERT_EQ(rn_trainer_epoch(f.tr, nullptr, &err), RN_OK) << err.message;
    EXPECT_EQ(rn_trainer_get_record(f.tr, 1, RN_RECORD_R, r2.data(), n, &err), RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("rn_trainer_forward"), std::string::npos)
        << err.message;
    EXPECT_EQ(rn_trainer_get_record(f.tr, 1, RN_RECORD_X, x.data(), n, &err), RN_OK)
        << "x stays readable";
    for (size_t i = 0; i < n; i++)
        ASSERT_TRUE(std::isfinite(x[i])) << i;
    // the same forward again (the parameters moved, so compare with a fresh forward's r instead)
    ASSERT_EQ(rn_trainer_forward(f.tr, nullptr, false, &err), RN_OK);
    ASSERT_EQ(rn_trainer_get_record(f.tr, 1, RN_RECORD_R, r2.data(), n, &err), RN_OK)
        << err.message;
    for (size_t i = 0; i < n; i++)
        ASSERT_TRUE(std::isfinite(r2[i])) << i;
    EXPECT_NE(r1, r2) << "the epoch's step moved W_rec, so r changed";
    // a layer kind without records says so
    EXPECT_EQ(rn_trainer_get_record(f.tr, 0, RN_RECORD_X, x.data(), 2 * 40 * 6, &err),
              RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("only its output"), std::string::npos) << err.message;
}

TEST(Backend, CudaWithoutDeviceIsAClearError) {
    if (rn_cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
    rn_backend *be = nullptr;
    rn_error err = {};
    EXPECT_NE(rn_backend_create(&be, RN_BACKEND_CUDA, &err), RN_OK);
    EXPECT_EQ(be, nullptr);
    EXPECT_NE(std::string(err.message).find("CUDA"), std::string::npos) << err.message;
    ASSERT_EQ(rn_backend_create(&be, RN_BACKEND_AUTO, &err), RN_OK);
    EXPECT_EQ(rn_backend_get_kind(be), RN_BACKEND_CPU);
    rn_backend_free(be);
}

} // namespace

namespace {
// Stop after 7 epochs, carry the parameters and the optimiser state into a new trainer, run 8 more:
// bit-identical to 15 epochs in one go (noise, Adam bias corrections and moments all continue).
TEST(Training, OptimizerStateRestoreContinuesBitIdentically) {
    std::vector<std::vector<float>> straight, resumed;
    {
        Fixture f;
        ASSERT_TRUE(make(f, rn_train_config_default(), 6, 2, 40, 21, 0.1f));
        SCOPED_TRACE(f.seeds);
        for (int e = 0; e < 15; e++)
            ASSERT_EQ(rn_trainer_epoch(f.tr, nullptr, nullptr), RN_OK);
        ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
        for (const char *n : kNames)
            straight.push_back(param_values(f.net, n));
    }
    std::vector<float> m, v, values;
    int64_t done = 0;
    {
        Fixture f;
        ASSERT_TRUE(make(f, rn_train_config_default(), 6, 2, 40, 21, 0.1f));
        SCOPED_TRACE(f.seeds);
        for (int e = 0; e < 7; e++)
            ASSERT_EQ(rn_trainer_epoch(f.tr, nullptr, nullptr), RN_OK);
        size_t P = rn_net_param_total(f.net);
        m.resize(P);
        v.resize(P);
        ASSERT_EQ(rn_trainer_get_optimizer_state(f.tr, m.data(), v.data(), P, &done, nullptr),
                  RN_OK);
        EXPECT_EQ(done, 7);
        ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
        for (const char *n : kNames) {
            auto x = param_values(f.net, n);
            values.insert(values.end(), x.begin(), x.end());
        }
    }
    {
        Fixture f;
        ASSERT_TRUE(make(f, rn_train_config_default(), 6, 2, 40, 21, 0.1f));
        SCOPED_TRACE(f.seeds);
        size_t off = 0;
        for (const char *n : kNames) {
            size_t cnt = param_values(f.net, n).size();
            ASSERT_EQ(rn_net_set_param(f.net, n, values.data() + off, cnt, nullptr), RN_OK);
            off += cnt;
        }
        ASSERT_EQ(rn_trainer_push_params(f.tr, nullptr), RN_OK);
        rn_error err = {};
        ASSERT_EQ(rn_trainer_set_optimizer_state(f.tr, m.data(), v.data(), m.size(), done, &err),
                  RN_OK)
            << err.message;
        for (int e = 0; e < 8; e++)
            ASSERT_EQ(rn_trainer_epoch(f.tr, nullptr, nullptr), RN_OK);
        ASSERT_EQ(rn_trainer_pull_params(f.tr, nullptr), RN_OK);
        for (const char *n : kNames)
            resumed.push_back(param_values(f.net, n));
        std::vector<float> bad(m.size(), NAN);
        EXPECT_EQ(rn_trainer_set_optimizer_state(f.tr, bad.data(), v.data(), m.size(), 0, &err),
                  RN_ERR_INVALID_ARG);
    }
    for (size_t k = 0; k < straight.size(); k++)
        EXPECT_TRUE(same_bits(straight[k], resumed[k])) << kNames[k];
}
} // namespace
