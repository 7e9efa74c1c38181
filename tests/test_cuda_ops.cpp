// Every CUDA kernel against its CPU mirror (src/cpu/) on fresh random inputs, through the two backends'
// op tables; then whole training runs on both backends. Skips cleanly without a CUDA device. (The
// CPU backend's memory tests are in test_backend_memory.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backend_impl.h"
#include "chirp_runs.h"
#include "test_util.h"

namespace {

// max |gpu − cpu| / max |cpu| over a tensor (the brief's "relative error" for float32 kernels).
double rel_err(const std::vector<float> &gpu, const std::vector<float> &cpu) {
    return tensor_rel_err(gpu, to_double(cpu));
}

class CudaOps : public ::testing::Test {
  protected:
    rn_backend *cpu = nullptr, *gpu = nullptr;
    std::vector<void *> owned;
    std::mt19937 gen{std::random_device{}()};  // fresh inputs every run; the seed is printed on failure
    uint32_t seed = 0;

    void SetUp() override {
        RN_SKIP_WITHOUT_CUDA();
        rn_error err = {};
        ASSERT_EQ(rn_backend_create(&cpu, RN_BACKEND_CPU, &err), RN_OK) << err.message;
        ASSERT_EQ(rn_backend_create(&gpu, RN_BACKEND_CUDA, &err), RN_OK) << err.message;
        seed = gen();
        std::printf("[ cuda ops ] input seed %u\n", seed);
    }
    void TearDown() override {
        for (void *p : owned) rn_backend_dealloc(gpu, p);
        rn_backend_free(gpu);
        rn_backend_free(cpu);
    }
    std::vector<float> rnd(size_t n, float lo, float hi) { return random_floats(n, seed++, lo, hi); }
    template <typename T> T *up(const std::vector<T> &h) {
        void *d = nullptr;
        EXPECT_EQ(rn_backend_alloc(gpu, &d, h.size() * sizeof(T) + 1), RN_OK) << gpu->err.message;
        owned.push_back(d);
        if (!h.empty()) {
            EXPECT_EQ(gpu->ops->upload(gpu, d, h.data(), h.size() * sizeof(T)), RN_OK);
        }
        return (T *)d;
    }
    template <typename T> std::vector<T> down(const T *d, size_t n) {
        std::vector<T> h(n);
        EXPECT_EQ(gpu->ops->download(gpu, h.data(), d, n * sizeof(T)), RN_OK) << gpu->err.message;
        return h;
    }
};

TEST_F(CudaOps, GemmAllTransposesWithStrides) {
    const int m = 37, n = 29, k = 53, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
            int lda = ac + pad, ldb = bc + pad, ldc = n + pad;
            auto a = rnd((size_t)ar * lda, -1, 1), b = rnd((size_t)br * ldb, -1, 1), c = rnd((size_t)m * ldc, -1, 1);
            float *da = up(a), *db = up(b), *dc = up(c);
            ASSERT_EQ(cpu->ops->gemm(cpu, ta, tb, m, n, k, 0.7f, a.data(), lda, b.data(), ldb, 0.3f, c.data(), ldc), RN_OK);
            ASSERT_EQ(gpu->ops->gemm(gpu, ta, tb, m, n, k, 0.7f, da, lda, db, ldb, 0.3f, dc, ldc), RN_OK);
            EXPECT_LE(rel_err(down(dc, c.size()), c), 1e-5) << "trans_a " << ta << " trans_b " << tb;
        }
}

TEST_F(CudaOps, BiasAddAndBiasGrad) {
    const int rows = 4099, cols = 7;
    auto y = rnd((size_t)rows * cols, -1, 1), bias = rnd(cols, -1, 1), g = rnd((size_t)rows * cols, -1, 1);
    auto db = rnd(cols, -1, 1);
    float *dy = up(y), *dbias = up(bias), *dg = up(g), *ddb = up(db);
    cpu->ops->bias_add(cpu, y.data(), bias.data(), rows, cols);
    ASSERT_EQ(gpu->ops->bias_add(gpu, dy, dbias, rows, cols), RN_OK);
    EXPECT_LE(rel_err(down(dy, y.size()), y), 1e-6);
    cpu->ops->bias_grad(cpu, db.data(), g.data(), rows, cols);
    ASSERT_EQ(gpu->ops->bias_grad(gpu, ddb, dg, rows, cols), RN_OK);
    EXPECT_LE(rel_err(down(ddb, db.size()), db), 1e-5);
}

// Forward and adjoint steps of the rate layer, every activation, with noise and recurrence, n not a
// multiple of 4 (the noise kernel's blocks of four), at a step t > 0 of a longer sequence.
TEST_F(CudaOps, RateForwardBackwardStepsEveryActivation) {
    const int T = 5, t = 3;
    const int sizes[][2] = {{1, 1}, {3, 37}, {5, 300}, {2, 1029}};  // (B, N): not multiples of 4 or 256
    for (int si = 0; si < 4; si++)
    for (int act = 0; act < 5; act++) {
        const int B = sizes[si][0], N = sizes[si][1];
        SCOPED_TRACE("B " + std::to_string(B) + " N " + std::to_string(N) + " activation " + std::to_string(act));
        auto tau = rnd(N, 0.011f, 0.05f), bias = rnd(N, -0.5f, 0.5f), theta = rnd(N, -0.3f, 0.3f), x0 = rnd(N, -1, 1);
        auto xs = rnd((size_t)B * T * N, -1.5f, 1.5f), outs = rnd((size_t)B * T * N, -1, 1);
        auto in = rnd((size_t)B * T * N, -1, 1), rec = rnd((size_t)B * T * N, -1, 1);
        // the noise epoch lives in backend memory: a host copy for the CPU, a device copy for the GPU
        const uint32_t epoch = 17;
        rn_rate_step s = {B, N, T * N, T * N, act, 1e-3f, 0.1f * std::sqrt(1e-3f), 0x1234567890abcdefull, &epoch, 2, t};
        rn_rate_step sg = s;
        sg.epoch = up(std::vector<uint32_t>{epoch});
        size_t off = (size_t)t * N, poff = (size_t)(t - 1) * N;
        float *dxs = up(xs), *douts = up(outs), *din = up(in), *drec = up(rec), *dtau = up(tau), *dbias = up(bias),
              *dth = up(theta), *dx0 = up(x0);
        cpu->ops->rate_forward_step(cpu, xs.data() + off, outs.data() + off, xs.data() + poff, in.data() + off,
                                    rec.data() + off, tau.data(), bias.data(), theta.data(), &s);
        ASSERT_EQ(gpu->ops->rate_forward_step(gpu, dxs + off, douts + off, dxs + poff, din + off, drec + off, dtau,
                                              dbias, dth, &sg),
                  RN_OK);
        EXPECT_LE(rel_err(down(dxs, xs.size()), xs), 1e-5) << "x";
        EXPECT_LE(rel_err(down(douts, outs.size()), outs), 1e-5) << "out";

        // rate_init
        std::vector<float> xi((size_t)B * N), ai((size_t)B * N);
        float *dxi = up(xi), *dai = up(ai);
        cpu->ops->rate_init(cpu, xi.data(), ai.data(), x0.data(), theta.data(), act, B, N);
        ASSERT_EQ(gpu->ops->rate_init(gpu, dxi, dai, dx0, dth, act, B, N), RN_OK);
        EXPECT_LE(rel_err(down(dxi, xi.size()), xi), 1e-6);
        EXPECT_LE(rel_err(down(dai, ai.size()), ai), 1e-5);

        // The adjoint step, then the initial-state step, then the reductions over trials.
        auto lam = rnd((size_t)B * N, -1, 1), e = rnd((size_t)B * T * N, -1, 1), g = rnd((size_t)B * T * N, -1, 1);
        auto d = rnd((size_t)B * N, -1, 1), at = rnd((size_t)B * N, -1, 1), ab = rnd((size_t)B * N, -1, 1),
             ath = rnd((size_t)B * N, -1, 1);
        float *dlam = up(lam), *de = up(e), *dgg = up(g), *dd = up(d), *dat = up(at), *dab = up(ab), *dath = up(ath);
        for (int with_d = 0; with_d < 2; with_d++) {
            cpu->ops->rate_backward_step(cpu, lam.data(), e.data() + off, at.data(), ab.data(), ath.data(), g.data() + off,
                                         with_d ? d.data() : nullptr, xs.data() + off, outs.data() + off, xs.data() + poff,
                                         tau.data(),
                                         theta.data(), &s);
            ASSERT_EQ(gpu->ops->rate_backward_step(gpu, dlam, de + off, dat, dab, dath, dgg + off, with_d ? dd : nullptr,
                                                   dxs + off, douts + off, dxs + poff, dtau, dth, &sg),
                      RN_OK);
        }
        EXPECT_LE(rel_err(down(dlam, lam.size()), lam), 1e-5) << "lambda";
        EXPECT_LE(rel_err(down(de, e.size()), e), 1e-5) << "e";
        EXPECT_LE(rel_err(down(dat, at.size()), at), 1e-5) << "acc_tau";
        EXPECT_LE(rel_err(down(dab, ab.size()), ab), 1e-5) << "acc_bias";
        EXPECT_LE(rel_err(down(dath, ath.size()), ath), 1e-5) << "acc_theta";
        rn_rate_step s0 = s;
        s0.t = 0;
        cpu->ops->rate_backward_init(cpu, lam.data(), ath.data(), d.data(), x0.data(), tau.data(), theta.data(), &s0);
        ASSERT_EQ(gpu->ops->rate_backward_init(gpu, dlam, dath, dd, dx0, dtau, dth, &s0), RN_OK);
        EXPECT_LE(rel_err(down(dlam, lam.size()), lam), 1e-5) << "lambda_0";
        EXPECT_LE(rel_err(down(dath, ath.size()), ath), 1e-5) << "acc_theta_0";
        auto gt = rnd(N, -1, 1), gb = rnd(N, -1, 1), gth = rnd(N, -1, 1), gx = rnd(N, -1, 1);
        float *dgt = up(gt), *dgb = up(gb), *dgth = up(gth), *dgx = up(gx);
        cpu->ops->rate_param_grads(cpu, gt.data(), gb.data(), gth.data(), gx.data(), at.data(), ab.data(), ath.data(),
                                   lam.data(), tau.data(), B, N);
        ASSERT_EQ(gpu->ops->rate_param_grads(gpu, dgt, dgb, dgth, dgx, dat, dab, dath, dlam, dtau, B, N), RN_OK);
        EXPECT_LE(rel_err(down(dgt, N), gt), 1e-5) << "dtau";
        EXPECT_LE(rel_err(down(dgb, N), gb), 1e-5) << "dbias";
        EXPECT_LE(rel_err(down(dgth, N), gth), 1e-5) << "dtheta";
        EXPECT_LE(rel_err(down(dgx, N), gx), 1e-5) << "dx0";
    }
}

// The noise alone: x_prev = in = bias = 0, α = 1 leaves x = σ√dt ξ, so the GPU's cuRAND-keyed normals
// must be the CPU's Philox normals (rn_math.h) for every (trial, step, neuron).
TEST_F(CudaOps, NoiseMatchesTheCpuPhilox) {
    const int B = 5, T = 7, N = 13;
    std::vector<float> zeros((size_t)B * T * N, 0.0f), tau(N, 1e-3f), zn(N, 0.0f);
    float *dz = up(zeros), *dtau = up(tau), *dzn = up(zn);
    for (int t = 0; t < T; t++) {
        const uint32_t epoch = 3;
        rn_rate_step s = {B, N, T * N, T * N, RN_ACT_LINEAR, 1e-3f, 1.0f, 987654321ull, &epoch, 1, t};
        rn_rate_step sg = s;
        sg.epoch = up(std::vector<uint32_t>{epoch});
        std::vector<float> x((size_t)B * T * N), out((size_t)B * T * N);
        float *dx = up(x), *dout = up(out);
        cpu->ops->rate_forward_step(cpu, x.data() + t * N, out.data() + t * N, zeros.data(), zeros.data(), nullptr,
                                    tau.data(), zn.data(), zn.data(), &s);
        ASSERT_EQ(gpu->ops->rate_forward_step(gpu, dx + t * N, dout + t * N, dz, dz, nullptr, dtau, dzn, dzn, &sg), RN_OK);
        auto gx = down(dx, x.size());
        for (int b = 0; b < B; b++)
            for (int i = 0; i < N; i++) {
                size_t k = (size_t)b * T * N + (size_t)t * N + i;
                EXPECT_NEAR(gx[k], x[k], 2e-6f * std::max(1.0f, std::fabs(x[k]))) << "b " << b << " t " << t << " i " << i;
            }
    }
}

TEST_F(CudaOps, ShiftRows) {
    const int B = 3, T = 9, N = 11;
    auto src = rnd((size_t)B * T * N, -1, 1), first = rnd((size_t)B * N, -1, 1), dst = rnd((size_t)B * T * N, -1, 1);
    float *ds = up(src), *df = up(first), *dd = up(dst);
    cpu->ops->shift_rows(cpu, dst.data(), src.data(), first.data(), B, T, N);
    ASSERT_EQ(gpu->ops->shift_rows(gpu, dd, ds, df, B, T, N), RN_OK);
    EXPECT_EQ(down(dd, dst.size()), dst);
}

TEST_F(CudaOps, FilterForwardBackwardAndParamGrads) {
    const int B = 4, T = 300, C = 6;
    const float dt = 1e-3f;
    auto u = rnd((size_t)B * T * C, -1, 1), tau = rnd(C, 0.002f, 0.5f), init = rnd(C, -1, 1), g = rnd((size_t)B * T * C, -1, 1);
    std::vector<float> y((size_t)B * T * C), du(y.size()), adp((size_t)B * C), adi((size_t)B * C);
    auto dtau = rnd(C, -1, 1), dinit = rnd(C, -1, 1);
    float *d_u = up(u), *d_tau = up(tau), *d_init = up(init), *d_g = up(g), *d_y = up(y), *d_du = up(du), *d_adp = up(adp),
          *d_adi = up(adi), *d_dtau = up(dtau), *d_dinit = up(dinit);
    cpu->ops->filter_forward(cpu, y.data(), u.data(), tau.data(), init.data(), B, T, C, dt);
    ASSERT_EQ(gpu->ops->filter_forward(gpu, d_y, d_u, d_tau, d_init, B, T, C, dt), RN_OK);
    EXPECT_LE(rel_err(down(d_y, y.size()), y), 1e-5);
    cpu->ops->filter_backward(cpu, du.data(), adp.data(), adi.data(), g.data(), y.data(), u.data(), tau.data(),
                              init.data(), B, T, C, dt);
    ASSERT_EQ(gpu->ops->filter_backward(gpu, d_du, d_adp, d_adi, d_g, d_y, d_u, d_tau, d_init, B, T, C, dt), RN_OK);
    EXPECT_LE(rel_err(down(d_du, du.size()), du), 1e-5);
    EXPECT_LE(rel_err(down(d_adp, adp.size()), adp), 1e-5);
    EXPECT_LE(rel_err(down(d_adi, adi.size()), adi), 1e-5);
    cpu->ops->filter_param_grads(cpu, dtau.data(), dinit.data(), adp.data(), adi.data(), tau.data(), B, C, dt);
    ASSERT_EQ(gpu->ops->filter_param_grads(gpu, d_dtau, d_dinit, d_adp, d_adi, d_tau, B, C, dt), RN_OK);
    EXPECT_LE(rel_err(down(d_dtau, C), dtau), 1e-5);
    EXPECT_LE(rel_err(down(d_dinit, C), dinit), 1e-5);
}

TEST_F(CudaOps, LossTermsAndGradients) {
    const int B = 6, T = 501, C = 3;
    auto y = rnd((size_t)B * T * C, -1, 1), tg = rnd((size_t)B * T * C, -1, 1), mask = rnd((size_t)B * T, 0, 1);
    float *dy_ = up(y), *dtg = up(tg), *dmask = up(mask);
    for (int with_mask = 0; with_mask < 2; with_mask++) {
        std::vector<float> dy(y.size());
        std::vector<double> acc = {0.25};
        float *d_dy = up(dy);
        double *dacc = up(acc);
        cpu->ops->mse(cpu, acc.data(), dy.data(), y.data(), tg.data(), with_mask ? mask.data() : nullptr, B, T, C, 0.8f);
        ASSERT_EQ(gpu->ops->mse(gpu, dacc, d_dy, dy_, dtg, with_mask ? dmask : nullptr, B, T, C, 0.8f), RN_OK);
        EXPECT_NEAR(down(dacc, 1)[0], acc[0], 1e-12 * acc[0]) << "mse, mask " << with_mask;
        EXPECT_LE(rel_err(down(d_dy, dy.size()), dy), 1e-6) << "dmse, mask " << with_mask;
    }
    const size_t n = 100003;
    auto p = rnd(n, -3, 3), lo = rnd(n, -2, 0), hi = rnd(n, 0, 2), grad = rnd(n, -1, 1);
    float *dp = up(p), *dlo = up(lo), *dhi = up(hi), *dgrad = up(grad);
    std::vector<double> cost = {1.5};
    double *dcost = up(cost);
    cpu->ops->bounds(cpu, cost.data(), grad.data(), p.data(), lo.data(), hi.data(), n, 10.0f);
    ASSERT_EQ(gpu->ops->bounds(gpu, dcost, dgrad, dp, dlo, dhi, n, 10.0f), RN_OK);
    EXPECT_NEAR(down(dcost, 1)[0], cost[0], 1e-6 * cost[0]) << "bounds cost";  // float terms, any order
    EXPECT_LE(rel_err(down(dgrad, n), grad), 1e-5) << "bounds grad";
    // the L2 sum alone (double terms): start both from the same value, not from the bounds' float-order sums
    cost[0] = 1.5;
    ASSERT_EQ(gpu->ops->upload(gpu, dcost, cost.data(), sizeof(double)), RN_OK);
    cpu->ops->l2(cpu, cost.data(), grad.data(), p.data(), n, 1.0f);
    ASSERT_EQ(gpu->ops->l2(gpu, dcost, dgrad, dp, n, 1.0f), RN_OK);
    EXPECT_NEAR(down(dcost, 1)[0], cost[0], 1e-9 * cost[0]) << "l2 cost";
    EXPECT_LE(rel_err(down(dgrad, n), grad), 1e-5) << "l2 grad";
}

TEST_F(CudaOps, OptimiserStepsClipGuardAndBounds) {
    const size_t n = 70001;
    auto g = rnd(n, -1, 1), p = rnd(n, -1, 1), m = rnd(n, -0.1f, 0.1f), v = rnd(n, 0, 0.01f);
    auto lo = rnd(n, -0.8f, -0.2f), hi = rnd(n, 0.2f, 0.8f);
    std::vector<uint8_t> mask(n);
    for (size_t i = 0; i < n; i++) mask[i] = (i % 7) != 3;
    float *dg = up(g), *dp = up(p), *dm = up(m), *dv = up(v), *dlo = up(lo), *dhi = up(hi);
    uint8_t *dmask = up(mask);
    std::vector<double> sc(RN_SCALAR_COUNT, 0.0);
    double *dsc = up(sc);
    cpu->ops->sum_squares(cpu, &sc[RN_SCALAR_GNORM2], g.data(), mask.data(), n);
    ASSERT_EQ(gpu->ops->sum_squares(gpu, dsc + RN_SCALAR_GNORM2, dg, dmask, n), RN_OK);
    auto gsc = down(dsc, RN_SCALAR_COUNT);
    EXPECT_NEAR(gsc[RN_SCALAR_GNORM2], sc[RN_SCALAR_GNORM2], 1e-12 * sc[RN_SCALAR_GNORM2]);
    ASSERT_EQ(gpu->ops->upload(gpu, dsc, sc.data(), sc.size() * sizeof(double)), RN_OK);  // the same scalars on both
    rn_optim_step s = {1e-3f, 0.9f, 0.999f, 1e-8f, 1.0f - 0.9f * 0.9f, 1.0f - 0.999f * 0.999f, 5.0f};  // clip active
    cpu->ops->adam(cpu, p.data(), m.data(), v.data(), g.data(), mask.data(), sc.data(), n, &s);
    ASSERT_EQ(gpu->ops->adam(gpu, dp, dm, dv, dg, dmask, dsc, n, &s), RN_OK);
    EXPECT_LE(rel_err(down(dp, n), p), 1e-6) << "adam p";
    EXPECT_LE(rel_err(down(dm, n), m), 1e-6) << "adam m";
    EXPECT_LE(rel_err(down(dv, n), v), 1e-6) << "adam v";
    cpu->ops->sgd(cpu, p.data(), g.data(), mask.data(), sc.data(), n, &s);
    ASSERT_EQ(gpu->ops->sgd(gpu, dp, dg, dmask, dsc, n, &s), RN_OK);
    EXPECT_LE(rel_err(down(dp, n), p), 1e-6) << "sgd";
    // A non-finite scalar: neither backend changes anything.
    std::vector<double> bad = sc;
    bad[RN_SCALAR_MSE] = NAN;
    ASSERT_EQ(gpu->ops->upload(gpu, dsc, bad.data(), bad.size() * sizeof(double)), RN_OK);
    auto before = down(dp, n);
    ASSERT_EQ(gpu->ops->adam(gpu, dp, dm, dv, dg, dmask, dsc, n, &s), RN_OK);
    ASSERT_EQ(gpu->ops->sgd(gpu, dp, dg, dmask, dsc, n, &s), RN_OK);
    EXPECT_EQ(0, std::memcmp(before.data(), down(dp, n).data(), n * sizeof(float)));
    cpu->ops->clip_bounds(cpu, p.data(), lo.data(), hi.data(), mask.data(), n);
    ASSERT_EQ(gpu->ops->clip_bounds(gpu, dp, dlo, dhi, dmask, n), RN_OK);
    EXPECT_EQ(down(dp, n), p);
    std::vector<float> f(n);
    float *df = up(f);
    ASSERT_EQ(gpu->ops->fill(gpu, df, 2.5f, n), RN_OK);
    EXPECT_EQ(down(df, n), std::vector<float>(n, 2.5f));
}

// ---- whole runs on both backends (chirp_runs.h) ----

using chirp_runs::expect_out_of_memory;
using chirp_runs::train_chirp;
using chirp_runs::TrainRun;

TEST(CudaTraining, ChirpOnGpuFollowsTheCpu) {
    RN_SKIP_WITHOUT_CUDA();
    TrainRun c = train_chirp(RN_BACKEND_CPU, 64, 4, 30, 2);
    TrainRun g = train_chirp(RN_BACKEND_CUDA, 64, 4, 30, 2);
    ASSERT_EQ(c.loss.size(), g.loss.size());
    for (size_t e = 0; e < c.loss.size(); e++) EXPECT_NEAR(g.loss[e], c.loss[e], 1e-4 * c.loss[e]) << "epoch " << e;
    // A trajectory, not one kernel: Adam's first step is ±lr for every element whatever |g|, so an
    // element whose gradient is within rounding of zero may step either way on the two backends.
    EXPECT_LE(rel_err(g.params, c.params), 1e-3);
    EXPECT_LT(g.loss.back(), g.loss.front());
    std::printf("[ cuda ] loss cpu %.9g -> %.9g, gpu %.9g -> %.9g; GPU peak %.2f MiB\n", c.loss.front(), c.loss.back(),
                g.loss.front(), g.loss.back(), g.peak / 1048576.0);
}

TEST(CudaTraining, SameSeedTwiceIsBitIdenticalOnGpu) {
    RN_SKIP_WITHOUT_CUDA();
    TrainRun a = train_chirp(RN_BACKEND_CUDA, 200, 8, 20, 1);
    TrainRun b = train_chirp(RN_BACKEND_CUDA, 200, 8, 20, 1);
    EXPECT_EQ(a.loss, b.loss);
    ASSERT_EQ(a.params.size(), b.params.size());
    EXPECT_EQ(0, std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)));
}

// The recorded graph replays the same numbers as launching every op, also across a change of what is
// trained (which records the graph again).
TEST(CudaTraining, GraphReplayIsBitIdenticalToDirectLaunches) {
    RN_SKIP_WITHOUT_CUDA();
    TrainRun a = train_chirp(RN_BACKEND_CUDA, 64, 4, 12, 1, true, 6);
    TrainRun b = train_chirp(RN_BACKEND_CUDA, 64, 4, 12, 1, false, 6);
    EXPECT_EQ(a.loss, b.loss);
    EXPECT_EQ(a.grad_tau, b.grad_tau) << "a stale recording would still back-propagate into the frozen tau";
    ASSERT_EQ(a.params.size(), b.params.size());
    EXPECT_EQ(0, std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)));
}

// A trainer far larger than the device: a clear out-of-memory error, and the backend still works after.
TEST(CudaTraining, OutOfDeviceMemoryIsAClearErrorAndRecoverable) {
    RN_SKIP_WITHOUT_CUDA();
    expect_out_of_memory(RN_BACKEND_CUDA, "out of GPU memory");
    TrainRun r = train_chirp(RN_BACKEND_CUDA, 32, 2, 3, 1);  // a fresh backend in the same process works
    EXPECT_EQ(r.loss.size(), 3u);
}

}  // namespace
