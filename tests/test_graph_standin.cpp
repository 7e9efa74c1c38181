// The trainer's graph path on the CPU (tests/recording_backend.h): from the second epoch on the
// trainer records an epoch's forward and backward once and replays it, as on a GPU (after a change
// of what the ops are, one epoch runs directly and the next is recorded again). The replays
// must give the bits of the CPU backend run directly, for every kind of network the trainer drives
// (checkpointed or not, the whole-sequence or the step entries, filters, masks, noise, shared
// data), across what the API lets a user change between epochs; no op may be given host memory,
// and nothing may need the host while recording (which would make a GPU run every epoch directly).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "backend_impl.h"
#include "recording_backend.h"
#include "test_util.h"

namespace {

struct Shape {
    const char *spec;
    int B, T;
    bool mask;
    int K = 0;           // checkpoint_steps (0: every step stored at these sizes)
    bool shared = false; // rn_trainer_set_shared_data
    bool steps = false;  // rate layers through the step entries (rate_seq_fits hidden)
    bool sgd = false;    // the optimiser (outside the recording, but its inputs are not)
    float clip_norm = 0.0f;
};

// One trainer, on the CPU backend as it is or recording.
struct Trainer {
    recording::Recorder rec; // both outlive p's backend (declared first, destroyed last)
    rn_backend_ops steps_only = {};
    TrainerParts p;
    std::vector<float> u, y, m;
    bool recorded = false;
};

std::string describe(const Shape &s) {
    return std::string(s.spec) + " B=" + std::to_string(s.B) + " T=" + std::to_string(s.T) +
           " K=" + std::to_string(s.K) + (s.mask ? " mask" : "") + (s.shared ? " shared" : "") +
           (s.steps ? " step-entries" : "") + (s.sgd ? " sgd" : "") +
           (s.clip_norm > 0 ? " clip" : "");
}

::testing::AssertionResult set_data(Trainer &r, const Shape &s, bool mask) {
    rn_error err = {};
    const float *mp = mask ? r.m.data() : nullptr;
    if (s.shared)
        RN_RETURN_UNLESS_OK(rn_trainer_set_shared_data(r.p.tr, r.u.data(), r.y.data(), mp, &err),
                            err);
    else
        RN_RETURN_UNLESS_OK(rn_trainer_set_data(r.p.tr, r.u.data(), r.y.data(), mp, &err), err);
    return ::testing::AssertionSuccess();
}

[[nodiscard]] ::testing::AssertionResult make(const Shape &s, bool recorded,
                                              std::unique_ptr<Trainer> &out) {
    out = std::make_unique<Trainer>();
    Trainer &r = *out;
    r.recorded = recorded;
    rn_error err = {};
    RN_RETURN_UNLESS_OK(rn_net_from_spec(&r.p.net, s.spec, 1e-3f, 7, &err), err);
    RN_RETURN_UNLESS_OK(rn_backend_create(&r.p.be, RN_BACKEND_CPU, &err), err);
    if (s.steps) {
        r.steps_only = *r.p.be->ops;
        r.steps_only.rate_seq_fits = nullptr;
        r.p.be->ops = &r.steps_only;
    }
    if (recorded) recording::attach(r.rec, r.p.be);
    rn_train_config cfg = rn_train_config_default();
    cfg.lr = s.sgd ? 1e-6f : 1e-4f; // τ (from 5 ms) moves by about lr per Adam step
    cfg.noise_seed = 99;
    cfg.checkpoint_steps = s.K;
    cfg.block_steps = 1;
    cfg.shared_data = s.shared;
    cfg.optimizer = s.sgd ? RN_OPT_SGD : RN_OPT_ADAM;
    cfg.clip_norm = s.clip_norm;
    RN_RETURN_UNLESS_OK(rn_trainer_create(&r.p.tr, r.p.net, r.p.be, &cfg, s.B, s.T, &err), err);
    const int cin = rn_net_input_size(r.p.net), cout = rn_net_output_size(r.p.net);
    const int trials = s.shared ? 1 : s.B;
    r.u = random_floats((size_t)trials * s.T * cin, 3, -1, 1);
    r.y = random_floats((size_t)trials * s.T * cout, 4, -1, 1);
    r.m = random_floats((size_t)trials * s.T, 5, 0, 1);
    return set_data(r, s, s.mask);
}

// Every parameter, pulled from the trainer.
std::vector<float> params_of(Trainer &r) {
    rn_error err = {};
    EXPECT_EQ(rn_trainer_pull_params(r.p.tr, &err), RN_OK) << err.message;
    return all_param_values(r.p.net);
}

::testing::AssertionResult same_loss(const rn_loss_parts &a, const rn_loss_parts &b) {
    const double x[] = {a.total, a.mse, a.bounds, a.l2, a.grad_norm};
    const double z[] = {b.total, b.mse, b.bounds, b.l2, b.grad_norm};
    for (int i = 0; i < 5; i++)
        if (std::memcmp(&x[i], &z[i], sizeof(double)) != 0)
            return ::testing::AssertionFailure()
                   << "loss part " << i << ": " << x[i] << " (direct) vs " << z[i] << " (replayed)";
    return ::testing::AssertionSuccess();
}

// Epochs on both; the losses and then the parameters the same bits.
void epochs(Trainer &direct, Trainer &rec, int n, const char *what) {
    SCOPED_TRACE(what);
    for (int e = 0; e < n; e++) {
        rn_loss_parts a, b;
        rn_error ea = {}, eb = {};
        ASSERT_EQ(rn_trainer_epoch(direct.p.tr, &a, &ea), RN_OK) << ea.message;
        ASSERT_EQ(rn_trainer_epoch(rec.p.tr, &b, &eb), RN_OK) << eb.message;
        ASSERT_TRUE(same_loss(a, b)) << "epoch " << rn_trainer_epochs_done(direct.p.tr);
    }
    EXPECT_TRUE(same_bits(params_of(direct), params_of(rec))) << "parameters";
}

void expect_clean(const recording::Recorder &r) {
    for (const std::string &p : r.problems)
        ADD_FAILURE() << p;
}

// Plain training: epoch 1 runs directly, epoch 2 is recorded and every later one replays it.
void check_training(const Shape &s) {
    SCOPED_TRACE(describe(s));
    std::unique_ptr<Trainer> direct, rec;
    ASSERT_TRUE(make(s, false, direct));
    ASSERT_TRUE(make(s, true, rec));
    epochs(*direct, *rec, 5, "training");
    EXPECT_EQ(rec->rec.begun, 1);
    EXPECT_EQ(rec->rec.kept, 1) << "the epoch was not recorded (the trainer ran it directly)";
    EXPECT_EQ(rec->rec.launched, 4);
    EXPECT_EQ(rn_trainer_graph_replays(rec->p.tr), 4);
    EXPECT_EQ(rn_trainer_graph_replays(direct->p.tr), 0) << "the CPU has no graphs";
    EXPECT_GT(rec->rec.replayed_ops, 0);
    // the forward with and without noise (never recorded), after training
    for (bool noise : {true, false}) {
        const size_t n = (size_t)s.B * s.T * rn_net_output_size(direct->p.net);
        std::vector<float> a(n, NAN), b(n, NAN);
        rn_error err = {};
        ASSERT_EQ(rn_trainer_forward(direct->p.tr, a.data(), noise, &err), RN_OK) << err.message;
        ASSERT_EQ(rn_trainer_forward(rec->p.tr, b.data(), noise, &err), RN_OK) << err.message;
        EXPECT_TRUE(same_bits(a, b)) << "forward, noise " << noise;
    }
    EXPECT_EQ(rec->rec.kept, 1);
    expect_clean(rec->rec);
}

const char *const kChirp = "linear(1,6) rate(6,tanh,rec,noise=0.3) linear(6,1)";
const char *const kStacked = "linear(2,5) rate(5,tanh,rec,noise=0.2) linear(5,4) "
                             "rate(4,relu,rec,noise=0.1) rate(4,lrelu,ff) linear(4,2)";
const char *const kFilters = "linear(1,4) lowpass(4,tau=0.01) rate(4,tanh,rec,noise=0.1) "
                             "alpha(4,tau=0.02) linear(4,3) doubleexp(3,tau1=0.005,tau2=0.03) "
                             "linear(3,1)";

} // namespace

// The recorder itself: nothing runs while recording; a replay reads memory as it is then and the
// step struct as it was when recorded; what capture refuses is refused (the recording is then
// lost); a host pointer given to an op is noted.
TEST(GraphStandIn, RecorderDefersCopiesAndRefuses) {
    recording::Recorder rec;
    rn_backend *be = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_backend_create(&be, RN_BACKEND_CPU, &err), RN_OK) << err.message;
    std::unique_ptr<rn_backend, void (*)(rn_backend *)> hold(be, rn_backend_free);
    recording::attach(rec, be);
    const rn_backend_ops *o = be->ops;
    const int n = 4;
    void *mem = nullptr;
    ASSERT_EQ(rn_backend_alloc(be, &mem, 2 * n * sizeof(float) + n + sizeof(double) * 4), RN_OK);
    float *p = static_cast<float *>(mem), *g = p + n;
    double *scalars = reinterpret_cast<double *>(g + n);
    uint8_t *mask = reinterpret_cast<uint8_t *>(scalars + 4);
    ASSERT_EQ(o->fill(be, p, 1.0f, n), RN_OK);
    ASSERT_EQ(o->fill(be, g, 1.0f, n), RN_OK);
    ASSERT_EQ(o->zero(be, scalars, 4 * sizeof(double)), RN_OK);
    const uint8_t ones[n] = {1, 1, 1, 1};
    ASSERT_EQ(o->upload(be, mask, ones, n), RN_OK);

    ASSERT_EQ(o->graph_begin(be), RN_OK);
    rn_optim_step os = {};
    os.lr = 0.5f;
    ASSERT_EQ(o->sgd(be, p, g, mask, scalars, n, &os), RN_OK);
    os.lr = 100.0f; // after recording: the replay keeps 0.5
    ASSERT_EQ(o->fill(be, g, 2.0f, n), RN_OK);
    void *graph = nullptr;
    ASSERT_EQ(o->graph_end(be, true, &graph), RN_OK);
    std::vector<float> host(n);
    ASSERT_EQ(o->download(be, host.data(), p, n * sizeof(float)), RN_OK);
    EXPECT_EQ(host[0], 1.0f) << "an op ran while recording";
    ASSERT_EQ(o->graph_launch(be, graph), RN_OK); // p = 1 − 0.5·1, then g = 2
    ASSERT_EQ(o->graph_launch(be, graph), RN_OK); // p = 0.5 − 0.5·2
    ASSERT_EQ(o->download(be, host.data(), p, n * sizeof(float)), RN_OK);
    for (float v : host)
        EXPECT_EQ(v, -0.5f);
    o->graph_free(be, graph);
    EXPECT_EQ(rec.kept, 1);
    EXPECT_EQ(rec.launched, 2);
    EXPECT_TRUE(rec.problems.empty());

    // a download while recording: refused, and the recording cannot be kept
    ASSERT_EQ(o->graph_begin(be), RN_OK);
    EXPECT_EQ(o->download(be, host.data(), p, sizeof(float)), RN_ERR_DEVICE);
    EXPECT_NE(o->graph_end(be, true, &graph), RN_OK);
    EXPECT_EQ(graph, nullptr);
    ASSERT_EQ(rec.problems.size(), 1u);
    EXPECT_EQ(rec.problems[0], "download while recording");

    // host memory given to an op
    std::vector<float> bias(n, 1.0f);
    ASSERT_EQ(o->bias_add(be, p, bias.data(), 1, n), RN_OK);
    ASSERT_EQ(rec.problems.size(), 2u);
    EXPECT_EQ(rec.problems[1], "bias_add: argument 1 is not backend memory");
    rn_backend_dealloc(be, mem);
}

// The tutorial's network (whole-sequence entries and step entries), checkpointed or not.
TEST(GraphStandIn, ChirpNetworkReplaysAsItRuns) {
    check_training({kChirp, 3, 37, true});
    check_training({kChirp, 3, 37, true, 5});
    check_training({kChirp, 3, 37, true, 0, false, true});
    check_training({kChirp, 3, 37, true, 5, false, true});
    check_training({kChirp, 3, 37, false, 1});
}

// Stacked rate layers, filters, a rate or filter layer at either end, a wide layer.
TEST(GraphStandIn, EveryLayerKindReplaysAsItRuns) {
    for (int K : {0, 4}) {
        check_training({kStacked, 2, 30, true, K});
        check_training({kFilters, 3, 33, true, K});
        check_training({"rate(3,tanh,rec,noise=0.3) linear(3,2)", 2, 23, true, K});
        check_training(
            {"linear(2,3) rate(3,relu,rec,noise=0.1) lowpass(3,tau=0.02)", 3, 23, true, K});
        check_training(
            {"alpha(2,tau=0.01) linear(2,3) doubleexp(3,tau1=0.005,tau2=0.03)", 2, 23, false, K});
        check_training(
            {"linear(1,130) rate(130,tanh,rec,noise=0.1) linear(130,1)", 2, 12, true, K});
    }
    // segments handed to the whole-sequence entries as a base t0 rows before them (in front of the
    // arena here: the pointer check must look at the rows they address)
    check_training({"linear(1,64) rate(64,tanh,rec) linear(64,1)", 1, 2000, false, 10});
}

// Shared data (held once), SGD and clipping.
TEST(GraphStandIn, SharedDataAndOptimisersReplayAsTheyRun) {
    for (int K : {0, 7}) {
        check_training({kChirp, 4, 30, true, K, true});
        check_training({"rate(2,tanh,rec,noise=0.3) linear(2,1)", 4, 30, true, K, true});
    }
    check_training({kChirp, 3, 25, true, 0, false, false, true});
    check_training({kChirp, 3, 25, true, 6, false, false, false, 0.01f});
}

// What a user may change between epochs through the API: the mask, the noise mode, which
// parameters train (a new recording), parameter values pushed, the optimiser state restored; the
// gradient entry point. Each is followed by epochs on both trainers, compared.
TEST(GraphStandIn, ChangesBetweenEpochsReplayAsTheyRun) {
    for (int K : {0, 6}) {
        const Shape s = {kStacked, 2, 25, true, K};
        SCOPED_TRACE(describe(s));
        std::unique_ptr<Trainer> direct, rec;
        ASSERT_TRUE(make(s, false, direct));
        ASSERT_TRUE(make(s, true, rec));
        Trainer *both[] = {direct.get(), rec.get()};
        rn_error err = {};
        epochs(*direct, *rec, 3, "start");
        EXPECT_EQ(rec->rec.kept, 1);

        for (Trainer *r : both)
            ASSERT_TRUE(set_data(*r, s, false));
        epochs(*direct, *rec, 2, "mask removed");
        for (Trainer *r : both)
            ASSERT_TRUE(set_data(*r, s, true));
        epochs(*direct, *rec, 2, "mask back");

        // forwards between epochs (noiseless, and recording a layer's state as it goes)
        const size_t ny = (size_t)s.B * s.T * rn_net_output_size(direct->p.net);
        std::vector<float> ya(ny, NAN), yb(ny, NAN), xa((size_t)s.T * 5, NAN), xb(xa.size(), NAN);
        ASSERT_EQ(rn_trainer_forward(direct->p.tr, ya.data(), false, &err), RN_OK) << err.message;
        ASSERT_EQ(rn_trainer_forward(rec->p.tr, yb.data(), false, &err), RN_OK) << err.message;
        EXPECT_TRUE(same_bits(ya, yb)) << "noiseless forward";
        rn_record_request qa = {1, RN_RECORD_X, 1, 1, xa.data()}, qb = qa;
        qb.values = xb.data();
        ASSERT_EQ(rn_trainer_forward_record(direct->p.tr, ya.data(), true, &qa, 1, &err), RN_OK)
            << err.message;
        ASSERT_EQ(rn_trainer_forward_record(rec->p.tr, yb.data(), true, &qb, 1, &err), RN_OK)
            << err.message;
        EXPECT_TRUE(same_bits(ya, yb)) << "forward with a recording";
        EXPECT_TRUE(same_bits(xa, xb)) << "the recorded state";
        epochs(*direct, *rec, 2, "after forwards");

        // r after a forward is readable; after an epoch (a replay on the recording trainer) the
        // backward has overwritten it and reading it is refused on both
        if (K == 0) {
            const size_t nr = (size_t)s.B * s.T * 5;
            std::vector<float> ra(nr, NAN), rb(nr, NAN);
            for (Trainer *r : both)
                ASSERT_EQ(rn_trainer_forward(r->p.tr, nullptr, true, &err), RN_OK) << err.message;
            ASSERT_EQ(rn_trainer_get_record(direct->p.tr, 1, RN_RECORD_R, ra.data(), nr, &err),
                      RN_OK)
                << err.message;
            ASSERT_EQ(rn_trainer_get_record(rec->p.tr, 1, RN_RECORD_R, rb.data(), nr, &err), RN_OK)
                << err.message;
            EXPECT_TRUE(same_bits(ra, rb)) << "r after a forward";
            epochs(*direct, *rec, 1, "after a forward");
            EXPECT_EQ(rn_trainer_get_record(direct->p.tr, 1, RN_RECORD_R, ra.data(), nr, &err),
                      RN_ERR_INVALID_ARG);
            EXPECT_EQ(rn_trainer_get_record(rec->p.tr, 1, RN_RECORD_R, rb.data(), nr, &err),
                      RN_ERR_INVALID_ARG)
                << "r read after a replayed epoch overwrote it";
        }

        for (Trainer *r : both)
            ASSERT_EQ(rn_trainer_set_noise_mode(r->p.tr, RN_NOISE_FROZEN, &err), RN_OK);
        epochs(*direct, *rec, 2, "noise frozen");
        for (Trainer *r : both)
            ASSERT_EQ(rn_trainer_set_noise_mode(r->p.tr, RN_NOISE_FRESH, &err), RN_OK);
        epochs(*direct, *rec, 2, "noise fresh");

        const int kept = rec->rec.kept, launched = rec->rec.launched;
        for (Trainer *r : both) {
            ASSERT_EQ(rn_trainer_pull_params(r->p.tr, &err), RN_OK);
            ASSERT_EQ(rn_net_set_trainable(r->p.net, "1_rate.tau", false, &err), RN_OK)
                << err.message;
            ASSERT_EQ(rn_trainer_push_params(r->p.tr, &err), RN_OK) << err.message;
        }
        epochs(*direct, *rec, 2, "τ frozen");
        EXPECT_EQ(rec->rec.kept, kept + 1) << "a change of what trains is a new recording";
        EXPECT_EQ(rec->rec.launched, launched + 1)
            << "the first epoch after the change runs directly, the second is recorded";

        for (Trainer *r : both) { // σ goes to the kernels by value: a new recording
            ASSERT_EQ(rn_trainer_pull_params(r->p.tr, &err), RN_OK);
            ASSERT_EQ(rn_net_set_noise(r->p.net, 3, 0.25f, &err), RN_OK) << err.message;
            ASSERT_EQ(rn_trainer_push_params(r->p.tr, &err), RN_OK) << err.message;
        }
        epochs(*direct, *rec, 2, "a noise level changed");
        EXPECT_EQ(rec->rec.kept, kept + 2) << "a change of σ is a new recording";

        for (Trainer *r : both) { // new values of a parameter: memory, the same recording
            ASSERT_EQ(rn_trainer_pull_params(r->p.tr, &err), RN_OK);
            std::vector<float> x0 = param_values(r->p.net, "1_rate.x0");
            for (float &v : x0)
                v += 0.25f;
            ASSERT_EQ(rn_net_set_param(r->p.net, "1_rate.x0", x0.data(), x0.size(), &err), RN_OK)
                << err.message;
            ASSERT_EQ(rn_trainer_push_params(r->p.tr, &err), RN_OK) << err.message;
        }
        epochs(*direct, *rec, 2, "x0 pushed");
        EXPECT_EQ(rec->rec.kept, kept + 2);

        // back to an earlier epoch count (the noise epoch and Adam's bias correction)
        const size_t P = (size_t)rn_net_param_total(direct->p.net);
        for (Trainer *r : both) {
            std::vector<float> m(P), v(P);
            int64_t done = 0;
            ASSERT_EQ(rn_trainer_get_optimizer_state(r->p.tr, m.data(), v.data(), P, &done, &err),
                      RN_OK)
                << err.message;
            ASSERT_EQ(rn_trainer_set_optimizer_state(r->p.tr, m.data(), v.data(), P, 2, &err),
                      RN_OK)
                << err.message;
        }
        epochs(*direct, *rec, 2, "optimiser state restored");

        // the gradient entry point (no optimiser step), the same recording
        rn_loss_parts a, b;
        ASSERT_EQ(rn_trainer_compute_gradients(direct->p.tr, &a, &err), RN_OK) << err.message;
        ASSERT_EQ(rn_trainer_compute_gradients(rec->p.tr, &b, &err), RN_OK) << err.message;
        EXPECT_TRUE(same_loss(a, b));
        EXPECT_TRUE(same_bits(all_grad_values(direct->p.tr, direct->p.net),
                              all_grad_values(rec->p.tr, rec->p.net)))
            << "gradients";
        EXPECT_EQ(rec->rec.kept, kept + 2);
        EXPECT_EQ(rec->rec.begun, rec->rec.kept) << "a recording failed";
        EXPECT_EQ(rn_trainer_graph_replays(rec->p.tr), rec->rec.launched);
        expect_clean(rec->rec);
    }
}
