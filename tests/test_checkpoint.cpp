// Checkpointed BPTT (issue 14): with checkpoints every K steps the parameters after a few epochs are
// bit-identical to storing every step, for K dividing T and not, K = 1, K >= T, stacked rate layers
// (the whole-sequence entries and the step entries), filters, a rate or filter layer first or last,
// masks, noise and shared data; the memory budget
// picks K, and a budget too small is one clear error naming the smallest that works.
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend_impl.h"
#include "test_util.h"

namespace {

struct Case {
    const char *spec;
    int B, T;
    bool mask;
};

struct Result {
    std::vector<float> params; // every parameter after the epochs, in the network's order
    std::vector<double> loss;  // per epoch
    std::vector<float> output; // the last layer's output after training
    int K = 0;
    size_t bytes = 0;
    int64_t graph_replays = 0;
};

// Trains `c` for `epochs` epochs with checkpoint_steps = K and block_steps = Tb (0: defaults);
// step_loop: the rate layers through the step entries whatever their size (rate_seq_fits hidden).
[[nodiscard]] ::testing::AssertionResult train(const Case &c, int K, int Tb, int epochs,
                                               Result &out, bool shared = false,
                                               rn_backend_kind kind = RN_BACKEND_CPU,
                                               bool step_loop = false) {
    rn_backend_ops steps_only; // outlives p's backend (declared first, destroyed last)
    TrainerParts p;
    rn_error err = {};
    RN_RETURN_UNLESS_OK(rn_net_from_spec(&p.net, c.spec, 1e-3f, 7, &err), err);
    RN_RETURN_UNLESS_OK(rn_backend_create(&p.be, kind, &err), err);
    if (step_loop) {
        steps_only = *p.be->ops;
        steps_only.rate_seq_fits = nullptr;
        p.be->ops = &steps_only;
    }
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = 1e-3f; // τ moves by about lr per epoch: 3 epochs keep the smallest (5 ms) above 0
    cfg.noise_seed = 99;
    cfg.checkpoint_steps = K;
    cfg.block_steps = Tb;
    cfg.shared_data = shared;
    RN_RETURN_UNLESS_OK(rn_trainer_create(&p.tr, p.net, p.be, &cfg, c.B, c.T, &err), err);
    const int cin = rn_net_input_size(p.net), cout = rn_net_output_size(p.net);
    const int trials = shared ? 1 : c.B;
    // shared: every trial sees trial 0's data; the replicated run below gives each trial a copy
    std::vector<float> u = random_floats((size_t)c.T * cin, 3, -1, 1);
    std::vector<float> y = random_floats((size_t)c.T * cout, 4, -1, 1);
    std::vector<float> m = random_floats((size_t)c.T, 5, 0, 1);
    std::vector<float> U, Y, M;
    for (int b = 0; b < trials; b++) {
        U.insert(U.end(), u.begin(), u.end());
        Y.insert(Y.end(), y.begin(), y.end());
        M.insert(M.end(), m.begin(), m.end());
    }
    const float *mask = c.mask ? M.data() : nullptr;
    if (shared)
        RN_RETURN_UNLESS_OK(rn_trainer_set_shared_data(p.tr, U.data(), Y.data(), mask, &err), err);
    else
        RN_RETURN_UNLESS_OK(rn_trainer_set_data(p.tr, U.data(), Y.data(), mask, &err), err);
    for (int e = 0; e < epochs; e++) {
        rn_loss_parts lp;
        RN_RETURN_UNLESS_OK(rn_trainer_epoch(p.tr, &lp, &err), err);
        out.loss.push_back(lp.total);
    }
    out.output.assign((size_t)c.B * c.T * cout, NAN);
    RN_RETURN_UNLESS_OK(rn_trainer_forward(p.tr, out.output.data(), true, &err), err);
    RN_RETURN_UNLESS_OK(rn_trainer_pull_params(p.tr, &err), err);
    out.params = all_param_values(p.net);
    out.K = rn_trainer_checkpoint_steps(p.tr);
    out.bytes = rn_trainer_memory_bytes(p.tr);
    out.graph_replays = rn_trainer_graph_replays(p.tr);
    return ::testing::AssertionSuccess();
}

void expect_same(const Result &a, const Result &b) {
    EXPECT_TRUE(same_bits(a.params, b.params)) << "parameters";
    EXPECT_TRUE(same_bits(a.output, b.output)) << "output after training";
    ASSERT_EQ(a.loss.size(), b.loss.size());
    for (size_t i = 0; i < a.loss.size(); i++)
        EXPECT_NEAR(a.loss[i], b.loss[i], 1e-12 * std::fabs(a.loss[i])) << "epoch " << i;
}

// Block Tb = 1 lets K be anything; the reference stores every step (K = T) with the same blocks.
// check_bytes: every K < T takes less memory (not so for tiny networks with a rate or filter end,
// whose staging buffers and their alignment outweigh what a few steps save).
void check_all_k(const Case &c, int Tb, const std::vector<int> &ks, bool check_bytes = true,
                 rn_backend_kind kind = RN_BACKEND_CPU, bool step_loop = false) {
    SCOPED_TRACE(std::string(c.spec) + " B=" + std::to_string(c.B) + " T=" + std::to_string(c.T));
    Result ref;
    ASSERT_TRUE(train(c, c.T, Tb, 3, ref, false, kind, step_loop));
    ASSERT_EQ(ref.K, c.T);
    // on a GPU epochs 2 and 3 replay a recorded graph (a failed recording runs them directly)
    const int64_t replays = kind == RN_BACKEND_CUDA ? 2 : 0;
    EXPECT_EQ(ref.graph_replays, replays);
    for (int K : ks) {
        SCOPED_TRACE("K=" + std::to_string(K) + " Tb=" + std::to_string(Tb));
        Result r;
        ASSERT_TRUE(train(c, K, Tb, 3, r, false, kind, step_loop));
        EXPECT_EQ(r.K, K < c.T ? K : c.T);
        EXPECT_EQ(r.graph_replays, replays);
        if (K < c.T && check_bytes) {
            EXPECT_LT(r.bytes, ref.bytes) << "checkpointing must save memory";
        }
        expect_same(ref, r);
    }
}

// The tutorial's network with noise (the whole-sequence entries: N <= 128).
TEST(Checkpoint, ChirpNetworkBitIdenticalForAnyK) {
    check_all_k({"linear(1,6) rate(6,tanh,rec,noise=0.3) linear(6,1)", 3, 37, false}, 1,
                {1, 2, 5, 36, 37, 64});
}

// Stacked rate layers, two activations, a mask, two channels in and out.
TEST(Checkpoint, StackedRateLayersWithMaskBitIdentical) {
    check_all_k({"linear(2,5) rate(5,tanh,rec,noise=0.2) linear(5,4) rate(4,relu,rec,noise=0.1) "
                 "rate(4,lrelu,ff) linear(4,2)",
                 2, 30, true},
                1, {1, 4, 7, 10, 29, 40});
}

// A layer too wide for the whole-sequence entries: the step entries run the segments.
TEST(Checkpoint, StepEntriesBitIdentical) {
    check_all_k({"linear(1,130) rate(130,tanh,rec,noise=0.1) linear(130,1)", 2, 12, true}, 1,
                {1, 5, 12});
}

// Blocks of several steps: K a multiple of the block, T not.
TEST(Checkpoint, BlocksOfSeveralStepsBitIdentical) {
    check_all_k({"linear(1,6) rate(6,tanh,rec,noise=0.3) linear(6,1)", 2, 50, true}, 4,
                {4, 8, 12, 48});
    // a K that is not a multiple of the block is rounded up to one
    Result r;
    ASSERT_TRUE(train({"linear(1,6) rate(6,tanh,rec) linear(6,1)", 1, 50, false}, 5, 4, 1, r));
    EXPECT_EQ(r.K, 8);
}

// Data every trial shares: the input, the target and the mask held once (the loss reads the one
// target and mask for every trial), the same bits as each trial holding a copy; checkpointed and
// storing every step.
TEST(Checkpoint, SharedDataSameAsCopies) {
    const Case c = {"linear(2,6) rate(6,tanh,rec,noise=0.3) linear(6,3)", 4, 40, true};
    for (int K : {10, 40}) {
        SCOPED_TRACE("K=" + std::to_string(K));
        Result copies, shared;
        ASSERT_TRUE(train(c, K, 5, 2, copies));
        ASSERT_TRUE(train(c, K, 5, 2, shared, true));
        expect_same(copies, shared);
        // B − 1 trials' input (2 channels), target (3) and mask (1) fewer, up to the alignment
        const size_t saved = (size_t)(c.B - 1) * c.T * (2 + 3 + 1) * sizeof(float);
        EXPECT_GE(copies.bytes - shared.bytes + 3 * 256, saved);
        EXPECT_LE(copies.bytes - shared.bytes, saved + 3 * 256);
    }
}

// A small layer (which the CPU's whole-sequence entries would take) through the step entries, as the
// GPU test below runs it too.
TEST(Checkpoint, StepEntriesOfASmallLayerBitIdenticalForAnyK) {
    const Case c = {"linear(1,6) rate(6,tanh,rec,noise=0.3) linear(6,1)", 3, 37, true};
    Result steps, seq;
    ASSERT_TRUE(train(c, c.T, 1, 3, steps, false, RN_BACKEND_CPU, true));
    ASSERT_TRUE(train(c, c.T, 1, 3, seq));
    expect_same(steps, seq); // (the CPU's two paths: the same bits)
    check_all_k(c, 1, {1, 5, c.T - 1}, false, RN_BACKEND_CPU, true);
}

// The same on the GPU (the issue asks for either backend): every step stored vs checkpoints, with the
// whole-sequence entries (on an H100 each of these sizes takes persistent-smem: a segment's first
// and last steps too, from its checkpoint and the newer segment's e), the filters (one at either
// end: the staging), and a CUDA graph recorded from the second epoch on; then the step entries
// (cuBLAS's recurrent product, with the checkpoint's row stride at a segment's first step).
TEST(Checkpoint, CudaBitIdenticalForAnyK) {
    RN_SKIP_WITHOUT_CUDA();
    {
        SCOPED_TRACE("step entries");
        check_all_k({"linear(1,6) rate(6,tanh,rec,noise=0.3) linear(6,1)", 3, 37, true}, 1,
                    {1, 5, 36}, false, RN_BACKEND_CUDA, true);
    }
    for (const Case &c :
         {Case{"linear(1,6) rate(6,tanh,rec,noise=0.3) linear(6,1)", 3, 37, true},
          Case{"linear(1,130) rate(130,tanh,rec,noise=0.1) linear(130,1)", 2, 12, true},
          // past shared memory: the cooperative path on an H100
          Case{"linear(1,300) rate(300,tanh,rec,noise=0.1) linear(300,1)", 2, 12, true},
          Case{"linear(1,4) lowpass(4,tau=0.01) rate(4,tanh,rec,noise=0.1) alpha(4,tau=0.02) "
               "linear(4,3) doubleexp(3,tau1=0.005,tau2=0.03) linear(3,1)",
               3, 33, true},
          Case{"lowpass(2,tau=0.01) rate(2,tanh,rec,noise=0.2) lowpass(2,tau=0.02)", 2, 23, true}})
        check_all_k(c, 1, {1, 5, c.T - 1}, false, RN_BACKEND_CUDA);
}

// Filter layers between the linear ones: each segment's scans start from the stages' last outputs
// of the one before, and the adjoint's μ and sums go on from segment to segment (lowpass one stage,
// alpha and doubleexp two).
TEST(Checkpoint, FilterLayersBitIdenticalForAnyK) {
    check_all_k({"linear(1,4) lowpass(4,tau=0.01) rate(4,tanh,rec,noise=0.1) alpha(4,tau=0.02) "
                 "linear(4,3) doubleexp(3,tau1=0.005,tau2=0.03) linear(3,1)",
                 3, 33, true},
                1, {1, 4, 11, 32, 33, 50});
    // blocks of several steps, a filter right after the input layer
    check_all_k(
        {"linear(2,3) alpha(3,tau=0.01) rate(3,relu,rec,noise=0.2) linear(3,2)", 2, 26, false}, 4,
        {4, 8, 24});
}

// A rate or filter layer first or last (they address a segment's rows with its own stride): layer
// 0 reads its segment of the input from a staged copy, the last layer's segment output is copied
// into the whole sequence the loss reads, and its segment of ∂L/∂y is staged for its backward.
TEST(Checkpoint, RateOrFilterFirstOrLastBitIdenticalForAnyK) {
    for (const Case &c :
         {Case{"rate(3,tanh,rec,noise=0.3) linear(3,2)", 2, 23, true},
          Case{"lowpass(2,tau=0.01) rate(2,tanh,rec,noise=0.2) linear(2,1)", 3, 23, true},
          Case{"linear(1,4) rate(4,tanh,rec,noise=0.2)", 2, 23, true},
          Case{"linear(2,3) rate(3,relu,rec,noise=0.1) lowpass(3,tau=0.02)", 3, 23, true},
          Case{"rate(3,tanh,rec,noise=0.3)", 2, 23, true},
          Case{"alpha(2,tau=0.01) linear(2,3) doubleexp(3,tau1=0.005,tau2=0.03)", 2, 23, false}})
        check_all_k(c, 1, {1, 4, 7, 22, 23, 40}, false);
    // blocks of several steps, the step entries (N > 128) at both ends
    check_all_k({"rate(130,tanh,rec,noise=0.1) lowpass(130,tau=0.01)", 2, 14, true}, 4, {4, 8},
                false);
    // at a length where it matters, the staging costs a segment, checkpointing saves the sequences
    Result all, ck;
    const Case c = {"lowpass(8,tau=0.01) rate(8,tanh,rec) lowpass(8,tau=0.01)", 2, 400, false};
    ASSERT_TRUE(train(c, c.T, 1, 1, all));
    ASSERT_TRUE(train(c, 20, 1, 1, ck));
    EXPECT_LT(ck.bytes, all.bytes / 2); // (the data, y and ∂L/∂y stay whole)
    expect_same(all, ck);
}

// Shared data with a rate layer first: held once where the first layer reads it by staged copies
// (checkpointing), per trial where it reads it in place (every step stored); the same bits as copies.
TEST(Checkpoint, SharedDataWithRateFirstSameAsCopies) {
    const Case c = {"rate(2,tanh,rec,noise=0.3) linear(2,1)", 4, 30, true};
    for (int K : {7, 30}) {
        SCOPED_TRACE("K=" + std::to_string(K));
        Result copies, shared;
        ASSERT_TRUE(train(c, K, 1, 2, copies));
        ASSERT_TRUE(train(c, K, 1, 2, shared, true));
        expect_same(copies, shared);
        if (K < c.T) {
            EXPECT_LT(shared.bytes, copies.bytes) << "the input is held once";
        }
    }
}

// A trainer told the data is shared holds one copy of it: per-trial data is refused, saying where
// to give it, and nothing is set (no target: no epoch).
TEST(Checkpoint, SharedDataRefusesPerTrialData) {
    TrainerParts p;
    rn_error err = {};
    ASSERT_EQ(rn_net_from_spec(&p.net, "rate(2,tanh,rec) linear(2,1)", 1e-3f, 7, &err), RN_OK);
    ASSERT_EQ(rn_backend_create(&p.be, RN_BACKEND_CPU, &err), RN_OK);
    rn_train_config cfg = rn_train_config_default();
    cfg.shared_data = true; // every step stored: the input per trial, the target and mask once
    ASSERT_EQ(rn_trainer_create(&p.tr, p.net, p.be, &cfg, 3, 10, &err), RN_OK) << err.message;
    std::vector<float> u(3 * 10 * 2, 0.5f), y(3 * 10, 0.25f);
    EXPECT_EQ(rn_trainer_set_data(p.tr, u.data(), y.data(), nullptr, &err), RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("rn_trainer_set_shared_data"), std::string::npos)
        << err.message;
    rn_loss_parts lp;
    EXPECT_EQ(rn_trainer_epoch(p.tr, &lp, &err), RN_ERR_INVALID_ARG);
    ASSERT_EQ(rn_trainer_set_shared_data(p.tr, u.data(), y.data(), nullptr, &err), RN_OK);
    EXPECT_EQ(rn_trainer_epoch(p.tr, &lp, &err), RN_OK) << err.message;
}

// Records taken as the segments go by equal the whole records of a run that stores every step,
// downsampled: x, r and the outputs of trials 0 and 1 at every third step.
// Records of `spec` (input width cin) taken with checkpoints every 4 steps equal the whole records of
// a run storing every step, downsampled; the three records are x and r of layer `rate` and the last
// layer's output (width n_out), and the forward's output and the last layer's whole record agree too.
void check_records(const char *spec, int cin, int rate, int N, int last, int n_out) {
    SCOPED_TRACE(spec);
    const int B = 3, T = 31, stride = 3, kept = (T + stride - 1) / stride;
    std::vector<float> u = random_floats((size_t)B * T * cin, 8, -1, 1);
    std::vector<std::vector<float>> whole(3), rec(3), out(2), last_rec(2);
    for (int K : {T, 4}) {
        TrainerParts p;
        rn_error err = {};
        ASSERT_EQ(rn_net_from_spec(&p.net, spec, 1e-3f, 7, &err), RN_OK) << err.message;
        ASSERT_EQ(rn_backend_create(&p.be, RN_BACKEND_CPU, &err), RN_OK) << err.message;
        rn_train_config cfg = rn_train_config_default();
        cfg.checkpoint_steps = K;
        cfg.block_steps = 1;
        ASSERT_EQ(rn_trainer_create(&p.tr, p.net, p.be, &cfg, B, T, &err), RN_OK) << err.message;
        ASSERT_EQ(rn_trainer_checkpoint_steps(p.tr), K);
        ASSERT_EQ(rn_trainer_set_data(p.tr, u.data(), nullptr, nullptr, &err), RN_OK);
        const int layer[3] = {rate, rate, last}, width[3] = {N, N, n_out};
        const rn_record_kind kind[3] = {RN_RECORD_X, RN_RECORD_R, RN_RECORD_OUTPUT};
        const int run = K == T ? 0 : 1;
        out[run].assign((size_t)B * T * n_out, NAN);
        last_rec[run].assign(out[run].size(), NAN);
        if (K == T) { // every step stored: the whole records
            ASSERT_EQ(rn_trainer_forward(p.tr, out[run].data(), true, &err), RN_OK) << err.message;
            for (int i = 0; i < 3; i++) {
                whole[i].assign((size_t)B * T * width[i], NAN);
                ASSERT_EQ(rn_trainer_get_record(p.tr, layer[i], kind[i], whole[i].data(),
                                                whole[i].size(), &err),
                          RN_OK)
                    << err.message;
            }
        } else {
            rn_record_request req[3];
            for (int i = 0; i < 3; i++) {
                rec[i].assign((size_t)2 * kept * width[i], NAN);
                req[i] = {layer[i], kind[i], 2, stride, rec[i].data()};
            }
            ASSERT_EQ(rn_trainer_forward_record(p.tr, out[run].data(), true, req, 3, &err), RN_OK)
                << err.message;
            req[0].stride = 0;
            EXPECT_EQ(rn_trainer_forward_record(p.tr, nullptr, true, req, 1, &err),
                      RN_ERR_INVALID_ARG);
        }
        // the last layer's output is whole either way
        ASSERT_EQ(rn_trainer_get_record(p.tr, last, RN_RECORD_OUTPUT, last_rec[run].data(),
                                        last_rec[run].size(), &err),
                  RN_OK)
            << err.message;
    }
    EXPECT_TRUE(same_bits(out[0], out[1])) << "the forward's output";
    EXPECT_TRUE(same_bits(last_rec[0], out[0])) << "the last layer's record, every step stored";
    EXPECT_TRUE(same_bits(last_rec[1], out[0])) << "the last layer's record, checkpointed";
    for (int i = 0; i < 3; i++) {
        const size_t w = rec[i].size() / (2 * kept);
        std::vector<float> expect;
        for (int b = 0; b < 2; b++)
            for (int t = 0; t < T; t += stride)
                for (size_t c = 0; c < w; c++)
                    expect.push_back(whole[i][((size_t)b * T + t) * w + c]);
        EXPECT_TRUE(same_bits(rec[i], expect)) << "record " << i;
    }
}

TEST(Checkpoint, ForwardRecordMatchesTheStoredStates) {
    check_records("linear(1,5) rate(5,tanh,rec,noise=0.2) linear(5,2)", 1, 1, 5, 2, 2);
    // a rate layer first and last (staged input and output)
    check_records("rate(4,tanh,rec,noise=0.2)", 4, 0, 4, 0, 4);
    // a rate layer first, a filter last
    check_records("rate(3,relu,rec,noise=0.1) lowpass(3,tau=0.01)", 3, 0, 3, 1, 3);
}

rn_status create_with_budget(TrainerParts &p, const char *spec, int B, int T, size_t budget,
                             rn_error *err) {
    rn_status st = rn_net_from_spec(&p.net, spec, 1e-3f, 7, err);
    if (st == RN_OK) st = rn_backend_create(&p.be, RN_BACKEND_CPU, err);
    rn_train_config cfg = rn_train_config_default();
    cfg.max_memory = budget;
    cfg.block_steps = 10;
    return st == RN_OK ? rn_trainer_create(&p.tr, p.net, p.be, &cfg, B, T, err) : st;
}

// The budget picks K: every step when it fits, checkpoints about √T apart when not, and a budget
// too small for one segment is an error naming the smallest budget that works, which then works.
TEST(Checkpoint, BudgetPicksKOrNamesTheSmallestThatWorks) {
    const char *spec = "linear(1,32) rate(32,tanh,rec,noise=0.1) linear(32,1)";
    const int B = 4, T = 10000;
    size_t everything = 0;
    {
        TrainerParts p;
        rn_error err = {};
        ASSERT_EQ(create_with_budget(p, spec, B, T, (size_t)1 << 40, &err), RN_OK) << err.message;
        EXPECT_EQ(rn_trainer_checkpoint_steps(p.tr), T);
        everything = rn_trainer_memory_bytes(p.tr);
    }
    size_t smallest = 0;
    {
        TrainerParts p;
        rn_error err = {};
        ASSERT_EQ(create_with_budget(p, spec, B, T, 4096, &err), RN_ERR_NO_MEMORY);
        std::string msg = err.message;
        size_t at = msg.find("at least ");
        ASSERT_NE(at, std::string::npos) << msg;
        EXPECT_NE(msg.find("memory budget"), std::string::npos) << msg;
        char *unit = nullptr;
        double value = std::strtod(msg.c_str() + at + 9, &unit);
        ASSERT_TRUE(unit && (!std::strncmp(unit, " MiB", 4) || !std::strncmp(unit, " KiB", 4)))
            << msg;
        smallest = (size_t)(value * (unit[1] == 'M' ? 1048576.0 : 1024.0)); // rounded up
        EXPECT_LT(smallest, everything / 4) << msg;
    }
    TrainerParts p;
    rn_error err = {};
    ASSERT_EQ(create_with_budget(p, spec, B, T, smallest, &err), RN_OK) << err.message;
    const int K = rn_trainer_checkpoint_steps(p.tr);
    EXPECT_LT(K, T);
    EXPECT_GE(K, 10);
    EXPECT_LE(K, 1000) << "about √T when memory is tight";
    EXPECT_LE(rn_trainer_memory_bytes(p.tr), smallest);
    EXPECT_EQ(rn_trainer_memory_budget(p.tr), smallest);
    // only the last layer's output is whole: other records say why not
    std::vector<float> v((size_t)B * T * 32);
    EXPECT_EQ(rn_trainer_get_record(p.tr, 1, RN_RECORD_X, v.data(), v.size(), &err),
              RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("checkpoints"), std::string::npos) << err.message;
}

} // namespace

namespace {
// Every network with a rate or filter layer (or none) at either end, B 1 and 3, with and without a
// mask: per-trial data and shared data, checkpointed or not, give the same bits.
TEST(Checkpoint, EndsSharedDataAndMasksBitIdenticalForAnyK) {
    const char *specs[] = {
        "rate(3,tanh,rec,noise=0.3)",
        "lowpass(2,tau=0.01)",
        "alpha(2,tau=0.01)",
        "doubleexp(2,tau1=0.005,tau2=0.03)",
        "doubleexp(2,tau1=0.005,tau2=0.03) rate(2,tanh,rec,noise=0.2)",
        "rate(2,tanh,rec,noise=0.2) alpha(2,tau=0.02)",
        "linear(2,3) rate(3,tanh,ff,noise=0.2)",
        "rate(3,sigmoid,ff) linear(3,2)",
        "linear(2,2)",
    };
    for (const char *s : specs)
        for (int B : {1, 3})
            for (bool mask : {false, true}) {
                const Case c = {s, B, 17, mask};
                SCOPED_TRACE(std::string(s) + " B=" + std::to_string(B) +
                             " mask=" + std::to_string(mask));
                Result ref, refs;
                ASSERT_TRUE(train(c, c.T, 1, 3, ref));
                ASSERT_TRUE(train(c, c.T, 1, 3, refs, true));
                expect_same(ref, refs);
                for (int K : {1, 4, 5, 16}) {
                    SCOPED_TRACE("K=" + std::to_string(K));
                    Result r, rs;
                    ASSERT_TRUE(train(c, K, 1, 3, r));
                    ASSERT_TRUE(train(c, K, 1, 3, rs, true));
                    expect_same(ref, r);
                    expect_same(ref, rs);
                }
            }
}
} // namespace

namespace {
// The same with blocks of 3 steps (K a multiple of them, T = 17 not), and the step entries (N > 128).
TEST(Checkpoint, EndsWithBlocksBitIdenticalForAnyK) {
    const char *specs[] = {
        "rate(3,tanh,rec,noise=0.3)",
        "doubleexp(2,tau1=0.005,tau2=0.03) rate(2,tanh,rec,noise=0.2) rate(2,relu,rec)",
        "rate(2,tanh,rec,noise=0.2) linear(2,2) alpha(2,tau=0.02)",
        "rate(129,tanh,rec,noise=0.2)",
    };
    for (const char *s : specs)
        for (int B : {1, 3})
            for (bool shared : {false, true}) {
                const Case c = {s, B, 17, true};
                SCOPED_TRACE(std::string(s) + " B=" + std::to_string(B) +
                             " shared=" + std::to_string(shared));
                Result ref;
                ASSERT_TRUE(train(c, c.T, 3, 3, ref, shared));
                for (int K : {3, 6, 15}) {
                    SCOPED_TRACE("K=" + std::to_string(K));
                    Result r;
                    ASSERT_TRUE(train(c, K, 3, 3, r, shared));
                    expect_same(ref, r);
                }
            }
}
} // namespace

namespace {
// Where a rate or filter layer is at an end, checkpoints cost staging buffers, which in a small
// network outweigh what they save: storing every step is then the least memory, and a budget just
// under it is an error naming that (it named the larger checkpointed size, 6.6 KiB for 5.8).
TEST(Checkpoint, BudgetTooSmallNamesStoringEveryStepWhereThatIsLeast) {
    for (const char *spec : {"lowpass(2,tau=0.01)", "rate(3,tanh,rec)"}) {
        SCOPED_TRACE(spec);
        const int B = 1, T = 20;
        size_t everything = 0, checkpointed = 0;
        for (int K : {T, 10}) {
            TrainerParts p;
            rn_error err = {};
            ASSERT_EQ(rn_net_from_spec(&p.net, spec, 1e-3f, 7, &err), RN_OK);
            ASSERT_EQ(rn_backend_create(&p.be, RN_BACKEND_CPU, &err), RN_OK);
            rn_train_config cfg = rn_train_config_default();
            cfg.block_steps = 10;
            cfg.checkpoint_steps = K;
            ASSERT_EQ(rn_trainer_create(&p.tr, p.net, p.be, &cfg, B, T, &err), RN_OK)
                << err.message;
            (K == T ? everything : checkpointed) = rn_trainer_memory_bytes(p.tr);
        }
        ASSERT_GT(checkpointed, everything) << "the premise: staging outweighs the savings here";
        TrainerParts p;
        rn_error err = {};
        ASSERT_EQ(create_with_budget(p, spec, B, T, everything - 1, &err), RN_ERR_NO_MEMORY);
        const std::string msg = err.message;
        const size_t at = msg.find("at least ");
        ASSERT_NE(at, std::string::npos) << msg;
        EXPECT_NE(msg.find("storing every step"), std::string::npos) << msg;
        char *unit = nullptr;
        const double kib = std::strtod(msg.c_str() + at + 9, &unit);
        ASSERT_TRUE(unit && !std::strncmp(unit, " KiB", 4)) << msg;
        const size_t named = (size_t)(kib * 1024.0);
        EXPECT_GE(named, everything) << msg;
        EXPECT_LT(named, checkpointed) << msg;
        TrainerParts q;
        ASSERT_EQ(create_with_budget(q, spec, B, T, named, &err), RN_OK) << err.message;
        EXPECT_EQ(rn_trainer_checkpoint_steps(q.tr), T);
    }
}
// Past the int limit: B·T·width over 2^31 − 1 elements (W 1024 neurons, T 2,100,000 steps) runs
// with checkpoints of at most INT_MAX / (B·W) steps, where storing every step is refused. Every
// neuron of the wide network gets the parameters of a one-neuron network's neuron (the output
// weights divided by W, a power of two, so exactly), so that the wide network's output, loss and
// gradients (the output layer's as they are, the others times W) are the narrow one's (on the CPU)
// to rounding (1e-4 of the largest) at every one of the two million steps: a row addressed past
// 2^31 elements, or wrapped around, would show.
void past_the_int_limit(rn_backend_kind kind) {
    const int W = 1024, T = 2100000;
    ASSERT_GT((long long)T * W, (long long)INT_MAX);
    const std::string wide_spec = "linear(1," + std::to_string(W) + ") rate(" + std::to_string(W) +
                                  ",tanh,ff) linear(" + std::to_string(W) + ",1)";
    std::vector<float> u(T), y(T);
    for (int t = 0; t < T; t++) {
        u[t] = 1.5f * (float)std::sin(2.0 * M_PI * t / 4999.0) + (t % 100000 < 50 ? 2.0f : 0.0f);
        y[t] = 0.3f * (float)std::cos(2.0 * M_PI * t / 7001.0);
    }
    struct Run {
        TrainerParts p;
        std::vector<float> out;
        double loss = 0;
    };
    auto make = [&](Run &r, const char *spec, const rn_net *like, int width,
                    rn_backend_kind on) -> ::testing::AssertionResult {
        rn_error err = {};
        RN_RETURN_UNLESS_OK(rn_net_from_spec(&r.p.net, spec, 1e-3f, 11, &err), err);
        RN_RETURN_UNLESS_OK(rn_net_set_noise(r.p.net, 1, 0.0f, &err), err);
        for (int i = 0; like && i < rn_net_param_count(r.p.net); i++) {
            rn_param_info info;
            RN_RETURN_UNLESS_OK(rn_net_param_info(r.p.net, i, &info, &err), err);
            const float v = param_values(like, info.name).at(0);
            const bool out_weight = !std::strcmp(info.name, "2_linear.weight");
            std::vector<float> all(info.count, out_weight ? v / (float)width : v);
            RN_RETURN_UNLESS_OK(rn_net_set_param(r.p.net, info.name, all.data(), all.size(), &err),
                                err);
        }
        RN_RETURN_UNLESS_OK(rn_backend_create(&r.p.be, on, &err), err);
        rn_train_config cfg = rn_train_config_default();
        RN_RETURN_UNLESS_OK(rn_trainer_create(&r.p.tr, r.p.net, r.p.be, &cfg, 1, T, &err), err);
        RN_RETURN_UNLESS_OK(rn_trainer_set_data(r.p.tr, u.data(), y.data(), nullptr, &err), err);
        rn_loss_parts lp;
        RN_RETURN_UNLESS_OK(rn_trainer_compute_gradients(r.p.tr, &lp, &err), err);
        r.loss = lp.mse;
        r.out.assign(T, NAN);
        RN_RETURN_UNLESS_OK(
            rn_trainer_get_record(r.p.tr, 2, RN_RECORD_OUTPUT, r.out.data(), T, &err), err);
        return ::testing::AssertionSuccess();
    };
    Run narrow;
    ASSERT_TRUE(
        make(narrow, "linear(1,1) rate(1,tanh,ff) linear(1,1)", nullptr, 1, RN_BACKEND_CPU));
    // storing every step of the wide network is refused, with the most a segment may hold
    {
        TrainerParts q;
        rn_error err = {};
        ASSERT_EQ(rn_net_from_spec(&q.net, wide_spec.c_str(), 1e-3f, 11, &err), RN_OK);
        ASSERT_EQ(rn_backend_create(&q.be, kind, &err), RN_OK);
        rn_train_config cfg = rn_train_config_default();
        cfg.checkpoint_steps = T;
        EXPECT_EQ(rn_trainer_create(&q.tr, q.net, q.be, &cfg, 1, T, &err), RN_ERR_INVALID_ARG);
        const std::string most =
            "per segment buffer; at most " + std::to_string(INT_MAX / W / 1000 * 1000) + " steps";
        EXPECT_NE(std::strstr(err.message, most.c_str()), nullptr) << err.message;
        // and where not even one block of 1000 steps of every trial fits (3000 trials), at once
        cfg.checkpoint_steps = 0;
        EXPECT_EQ(rn_trainer_create(&q.tr, q.net, q.be, &cfg, 3000, 2000, &err),
                  RN_ERR_INVALID_ARG);
        EXPECT_NE(std::strstr(err.message, "B·block·width = 3000·1000·1024"), nullptr)
            << err.message;
    }
    Run wide;
    ASSERT_TRUE(make(wide, wide_spec.c_str(), narrow.p.net, W, kind));
    const int K = rn_trainer_checkpoint_steps(wide.p.tr);
    std::printf("[ ckpt ] %s: B 1, T %d, W %d: K %d, %.1f MiB of buffers; mse %.9g (one neuron "
                "%.9g)\n",
                rn_backend_description(wide.p.be), T, W, K,
                rn_trainer_memory_bytes(wide.p.tr) / 1048576.0, wide.loss, narrow.loss);
    EXPECT_LT(K, T);
    EXPECT_LE((long long)K * W, (long long)INT_MAX);
    const double out_err = tensor_rel_err(wide.out, to_double(narrow.out));
    // (rounding: the wide output sums W terms, and the bias may cancel much of them; a row
    // addressed wrongly is off by O(1))
    EXPECT_LE(out_err, 1e-4) << "output";
    EXPECT_NEAR(wide.loss, narrow.loss, 1e-4 * narrow.loss);
    // the gradients, tensor by tensor: the narrow network's value against each of the W (the output
    // layer's, layer 2, as they are)
    double worst = 0;
    ASSERT_EQ(rn_net_param_count(wide.p.net), rn_net_param_count(narrow.p.net));
    for (int i = 0; i < rn_net_param_count(wide.p.net); i++) {
        rn_param_info info;
        rn_error err = {};
        ASSERT_EQ(rn_net_param_info(wide.p.net, i, &info, &err), RN_OK);
        const std::vector<float> g = grad_values(wide.p.tr, wide.p.net, info.name),
                                 n1 = grad_values(narrow.p.tr, narrow.p.net, info.name);
        ASSERT_EQ(g.size(), info.count) << info.name;
        ASSERT_EQ(n1.size(), 1u) << info.name;
        const double g1 = n1[0];
        std::vector<double> ref(info.count, info.layer == 2 ? g1 : g1 / W);
        const double e = tensor_rel_err(g, ref);
        EXPECT_LE(e, 1e-4) << info.name << ": one neuron's " << g1;
        worst = std::max(worst, e);
    }
    std::printf("[ ckpt ] against one neuron: output %.2e, gradients %.2e (relative to the "
                "largest)\n",
                out_err, worst);
}

TEST(Checkpoint, PastTheIntLimitRunsBySegments) {
    past_the_int_limit(RN_BACKEND_CPU);
}
TEST(Checkpoint, CudaPastTheIntLimitRunsBySegments) {
    RN_SKIP_WITHOUT_CUDA();
    past_the_int_limit(RN_BACKEND_CUDA);
}
} // namespace
