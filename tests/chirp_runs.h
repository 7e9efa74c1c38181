// Whole training runs of the chirp task on one backend, and an out-of-memory run, shared by the
// GPU training tests (test_cuda_training.cpp) and the backend memory tests
// (test_backend_memory.cpp).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend_impl.h"
#include "test_util.h"

namespace chirp_runs {

struct TrainRun {
    std::vector<double> loss;
    std::vector<float> params;
    std::vector<float> grad_tau;
    size_t peak = 0;
    int64_t graph_replays = 0; // epochs replayed from a recorded graph
};

// step_loop: the trainer drives the rate layer step by step even where the backend has
// whole-sequence entries (its table is copied with rate_seq_fits cleared): the fused loop's
// reference.
inline TrainRun train_chirp(rn_backend_kind kind, int N, int B, int epochs, int repeats,
                            bool graphs = true, int freeze_after = -1, bool step_loop = false) {
    TrainRun r;
    rn_error err = {};
    rn_chirp_options co = rn_chirp_options_default();
    co.num_repeats = repeats;
    int T = 0;
    EXPECT_EQ(rn_chirp_steps(&co, &T, &err), RN_OK);
    std::vector<float> in1(T), tg1(T);
    EXPECT_EQ(rn_chirp_generate(&co, in1.data(), tg1.data(), T, &err), RN_OK);
    std::vector<float> in, tg;
    for (int b = 0; b < B; b++) {
        in.insert(in.end(), in1.begin(), in1.end());
        tg.insert(tg.end(), tg1.begin(), tg1.end());
    }
    rn_net *net = nullptr;
    rn_backend *be = nullptr;
    rn_trainer *tr = nullptr;
    EXPECT_EQ(rn_net_create(&net, (float)co.dt, 0, &err), RN_OK);
    rn_rate_options o = rn_rate_options_default(N);
    o.noise_std = 0.1f;
    rn_net_add_linear(net, 1, N, true, &err);
    rn_net_add_rate(net, &o, &err);
    rn_net_add_linear(net, N, 1, true, &err);
    // τ ≥ 11 ms as the CLI's tutorial run: without a bound, lr 1e-3 walks τ (20 ms) through zero in
    // ~20 epochs and both backends stop with a non-finite gradient
    EXPECT_EQ(rn_net_set_bounds(net, "1_rate.tau", 0.011f, INFINITY, RN_BOUND_CLIP, &err), RN_OK)
        << err.message;
    EXPECT_EQ(rn_backend_create(&be, kind, &err), RN_OK) << err.message;
    rn_backend_ops steps_only; // outlives the backend: freed below, before this goes
    if (step_loop && be) {
        steps_only = *be->ops;
        steps_only.rate_seq_fits = nullptr;
        be->ops = &steps_only;
    }
    size_t baseline = 0;
    rn_backend_memory(be, &baseline, nullptr);
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = 1e-3f;
    cfg.graphs = graphs;
    EXPECT_EQ(rn_trainer_create(&tr, net, be, &cfg, B, T, &err), RN_OK) << err.message;
    EXPECT_EQ(rn_trainer_set_data(tr, in.data(), tg.data(), nullptr, &err), RN_OK);
    for (int e = 0; e < epochs; e++) {
        if (e == freeze_after) { // changes the recorded graph depends on: it must be recorded again
            EXPECT_EQ(rn_trainer_pull_params(tr, &err), RN_OK);
            EXPECT_EQ(rn_net_set_trainable(net, "1_rate.tau", false, &err), RN_OK);
            EXPECT_EQ(rn_net_set_noise(net, 1, 0.3f, &err), RN_OK);
            EXPECT_EQ(rn_trainer_push_params(tr, &err), RN_OK);
        }
        rn_loss_parts lp;
        EXPECT_EQ(rn_trainer_epoch(tr, &lp, &err), RN_OK) << err.message;
        r.loss.push_back(lp.total);
    }
    EXPECT_EQ(rn_trainer_pull_params(tr, &err), RN_OK);
    r.grad_tau.resize((size_t)N); // the last epoch's: only the bound term once τ is frozen
    EXPECT_EQ(rn_trainer_get_grad(tr, "1_rate.tau", r.grad_tau.data(), r.grad_tau.size(), &err),
              RN_OK);
    r.params = all_param_values(net);
    rn_backend_memory(be, nullptr, &r.peak);
    r.graph_replays = rn_trainer_graph_replays(tr);
    rn_trainer_free(tr);
    size_t in_use = 0;
    rn_backend_memory(be, &in_use, nullptr);
    EXPECT_EQ(in_use, baseline) << "the trainer's memory must be returned when it is freed";
    rn_backend_free(be);
    rn_net_free(net);
    return r;
}

// A network that passes every size check (B·T·width = 256·1000·8192 < 2³¹) and needs an arena of
// about 200 GB: more than any GPU, and more than the host of any machine this runs on.
inline rn_net *huge_net(rn_error *err) {
    const int N = 8192;
    rn_net *net = nullptr;
    EXPECT_EQ(rn_net_create(&net, 1e-3f, 0, err), RN_OK);
    rn_rate_options o = rn_rate_options_default(N);
    o.recurrent = false; // wide in time, not in parameters: 33k parameters per layer
    EXPECT_EQ(rn_net_add_linear(net, 1, N, true, err), RN_OK);
    for (int i = 0; i < 6; i++)
        EXPECT_EQ(rn_net_add_rate(net, &o, err), RN_OK) << err->message;
    EXPECT_EQ(rn_net_add_linear(net, N, 1, true, err), RN_OK);
    return net;
}

// Out of memory is one clear error naming the size asked for; nothing is left allocated.
inline void expect_out_of_memory(rn_backend_kind kind, const char *words) {
    rn_error err = {};
    rn_net *net = huge_net(&err);
    rn_backend *be = nullptr;
    rn_trainer *tr = nullptr;
    ASSERT_EQ(rn_backend_create(&be, kind, &err), RN_OK) << err.message;
    size_t baseline = 0;
    rn_backend_memory(be, &baseline, nullptr);
    rn_train_config cfg = rn_train_config_default();
    EXPECT_EQ(rn_trainer_create(&tr, net, be, &cfg, 256, 1000, &err), RN_ERR_NO_MEMORY)
        << err.message;
    EXPECT_EQ(tr, nullptr);
    std::string msg = err.message;
    EXPECT_NE(msg.find(words), std::string::npos) << msg;
    EXPECT_NE(msg.find("MiB for B=256, T=1000"), std::string::npos)
        << "the size asked for: " << msg;
    std::printf("[ oom ] %s says: %s\n", kind == RN_BACKEND_CUDA ? "cuda" : "cpu", err.message);
    size_t in_use = 0;
    rn_backend_memory(be, &in_use, nullptr);
    EXPECT_EQ(in_use, baseline);
    rn_backend_free(be);
    rn_net_free(net);
}

} // namespace chirp_runs
