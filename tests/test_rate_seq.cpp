// The rate layer's whole-sequence entries (rate_forward_seq, rate_backward_seq) against the step
// entries they replace (per step: the recurrent gemm, then rate_forward_step; per step newest
// first: the d gemm, then rate_backward_step): the same bits on the CPU, over sizes, activations,
// noise on and off, recurrent or not, and the sequence split in two calls at any step.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend_impl.h"
#include "test_util.h"

namespace {

struct Case {
    int B, T, N, act;
    bool noise, recurrent;
};

std::string describe(const Case &c) {
    return "B " + std::to_string(c.B) + " T " + std::to_string(c.T) + " N " + std::to_string(c.N) +
           " activation " + std::to_string(c.act) + (c.noise ? " noise" : " no noise") +
           (c.recurrent ? " recurrent" : " feed-forward");
}

class RateSeqCpu : public ::testing::Test {
  protected:
    rn_backend *be = nullptr;
    void SetUp() override {
        rn_error err = {};
        ASSERT_EQ(rn_backend_create(&be, RN_BACKEND_CPU, &err), RN_OK) << err.message;
        ASSERT_TRUE(be->ops->rate_seq_fits && be->ops->rate_forward_seq &&
                    be->ops->rate_backward_seq);
    }
    void TearDown() override { rn_backend_free(be); }

    // One case: the step path and the whole-sequence path (split at `split`) from the same inputs.
    void check(const Case &c, int split, uint32_t seed) {
        SCOPED_TRACE(describe(c) + " split " + std::to_string(split) + " seed " +
                     std::to_string(seed));
        const rn_backend_ops *o = be->ops;
        ASSERT_TRUE(o->rate_seq_fits(be, c.B, c.N, c.recurrent));
        const int B = c.B, T = c.T, N = c.N;
        const size_t bn = (size_t)B * N, btn = bn * T;
        auto in = random_floats(btn, seed + 1, -1, 1), g = random_floats(btn, seed + 2, -1, 1);
        auto w = random_floats((size_t)N * N, seed + 3, -1.5f / std::sqrt((float)N),
                               1.5f / std::sqrt((float)N));
        auto tau = random_floats(N, seed + 4, 0.011f, 0.05f),
             bias = random_floats(N, seed + 5, -0.5f, 0.5f);
        auto theta = random_floats(N, seed + 6, -0.3f, 0.3f),
             x0 = random_floats(N, seed + 7, -1, 1);
        std::vector<float> x_init(bn), a_init(bn);
        ASSERT_EQ(
            o->rate_init(be, x_init.data(), a_init.data(), x0.data(), theta.data(), c.act, B, N),
            RN_OK);
        const uint32_t epoch = 9;
        rn_rate_step s = {B,
                          N,
                          T * N,
                          T * N,
                          c.act,
                          1e-3f,
                          c.noise ? 0.1f * std::sqrt(1e-3f) : 0.0f,
                          0x5eedull + seed,
                          &epoch,
                          1,
                          0,
                          T};
        const float *wp = c.recurrent ? w.data() : nullptr;

        // forward, step by step
        std::vector<float> x1(btn, NAN), out1(btn, NAN), r1(btn, NAN);
        for (int t = 0; t < T; t++) {
            size_t off = (size_t)t * N;
            const float *a_prev = t > 0 ? out1.data() + off - N : a_init.data();
            const float *x_prev = t > 0 ? x1.data() + off - N : x_init.data();
            s.ld_prev = t > 0 ? T * N : N;
            s.t = t;
            if (wp) {
                ASSERT_EQ(o->gemm(be, false, false, B, N, N, 1.0f, a_prev, s.ld_prev, wp, N, 0.0f,
                                  r1.data() + off, s.ld),
                          RN_OK);
            }
            ASSERT_EQ(o->rate_forward_step(be, x1.data() + off, out1.data() + off, x_prev,
                                           in.data() + off, wp ? r1.data() + off : nullptr,
                                           tau.data(), bias.data(), theta.data(), &s),
                      RN_OK);
        }
        // forward, whole sequence in two calls, the second from the state before its first step
        // (a checkpoint) on buffers of NaN: rows before t0 are not read
        auto row_before = [&](const std::vector<float> &seq, const std::vector<float> &init,
                              int t) {
            if (t == 0) return init;
            std::vector<float> v(bn);
            for (int b = 0; b < B; b++)
                std::copy_n(seq.data() + (size_t)b * T * N + (size_t)(t - 1) * N, N,
                            v.data() + (size_t)b * N);
            return v;
        };
        auto join = [&](std::vector<float> &dst, const std::vector<float> &src, int t0, int t1) {
            for (int b = 0; b < B; b++)
                std::copy_n(src.data() + (size_t)b * T * N + (size_t)t0 * N, (size_t)(t1 - t0) * N,
                            dst.data() + (size_t)b * T * N + (size_t)t0 * N);
        };
        std::vector<float> x2(btn, NAN), out2(btn, NAN), r2(btn, NAN);
        ASSERT_EQ(o->rate_forward_seq(be, x2.data(), out2.data(), r2.data(), x_init.data(),
                                      a_init.data(), in.data(), wp, tau.data(), bias.data(),
                                      theta.data(), &s, 0, split),
                  RN_OK);
        {
            std::vector<float> x3(btn, NAN), out3(btn, NAN), r3(btn, NAN);
            auto xc = row_before(x2, x_init, split), ac = row_before(out2, a_init, split);
            ASSERT_EQ(o->rate_forward_seq(be, x3.data(), out3.data(), r3.data(), xc.data(),
                                          ac.data(), in.data(), wp, tau.data(), bias.data(),
                                          theta.data(), &s, split, T),
                      RN_OK);
            join(x2, x3, split, T);
            join(out2, out3, split, T);
            join(r2, r3, split, T);
        }
        EXPECT_TRUE(same_bits(x1, x2)) << "x";
        EXPECT_TRUE(same_bits(out1, out2)) << "out";
        if (wp) {
            EXPECT_TRUE(same_bits(r1, r2)) << "r";
        }

        // adjoint, step by step, from the same λ and junk-filled accumulators (+=)
        auto lam0 = random_floats(bn, seed + 8, -1, 1);
        auto acc0 = random_floats(3 * bn, seed + 9, -1, 1);
        std::vector<float> lam1 = lam0, e1(btn, NAN), acc1 = acc0, dscr1(bn, NAN);
        for (int t = T - 1; t >= 0; t--) {
            size_t off = (size_t)t * N;
            const float *d = nullptr;
            if (wp && t < T - 1) {
                ASSERT_EQ(o->gemm(be, false, true, B, N, N, 1.0f, e1.data() + off + N, s.ld, wp, N,
                                  0.0f, dscr1.data(), N),
                          RN_OK);
                d = dscr1.data();
            }
            s.t = t;
            s.ld_prev = t > 0 ? T * N : N;
            ASSERT_EQ(o->rate_backward_step(be, lam1.data(), e1.data() + off, acc1.data(),
                                            acc1.data() + bn, acc1.data() + 2 * bn, g.data() + off,
                                            d, x1.data() + off, out1.data() + off,
                                            t > 0 ? x1.data() + off - N : x_init.data(), tau.data(),
                                            theta.data(), &s),
                      RN_OK);
        }
        // adjoint, whole sequence in two calls, newest segment first; the older from the newer's
        // first e (e_next), on a buffer of NaN
        std::vector<float> lam2 = lam0, e2(btn, NAN), acc2 = acc0, dscr2(bn, NAN);
        auto xs = row_before(x1, x_init, split);
        ASSERT_EQ(o->rate_backward_seq(be, lam2.data(), e2.data(), acc2.data(), acc2.data() + bn,
                                       acc2.data() + 2 * bn, dscr2.data(), g.data(), x1.data(),
                                       out1.data(), xs.data(), nullptr, wp, tau.data(),
                                       theta.data(), &s, split, T),
                  RN_OK);
        {
            std::vector<float> e3(btn, NAN), e_next(bn, NAN);
            if (split < T) e_next = row_before(e2, x_init, split + 1);
            ASSERT_EQ(o->rate_backward_seq(
                          be, lam2.data(), e3.data(), acc2.data(), acc2.data() + bn,
                          acc2.data() + 2 * bn, dscr2.data(), g.data(), x1.data(), out1.data(),
                          x_init.data(), e_next.data(), wp, tau.data(), theta.data(), &s, 0, split),
                      RN_OK);
            join(e2, e3, 0, split);
        }
        EXPECT_TRUE(same_bits(lam1, lam2)) << "lambda";
        EXPECT_TRUE(same_bits(e1, e2)) << "e";
        EXPECT_TRUE(same_bits(acc1, acc2)) << "accumulators";
    }
};

TEST_F(RateSeqCpu, SameBitsAsTheStepEntries) {
    uint32_t seed = 100;
    for (int N : {1, 3, 37, 50, 128})
        for (int B : {1, 3, 5})
            for (int T : {1, 2, 17})
                for (int act = 0; act < 5; act++)
                    for (int noise = 0; noise < 2; noise++)
                        for (int rec = 0; rec < 2; rec++) {
                            Case c = {B, T, N, act, noise == 1, rec == 1};
                            for (int split : {0, T / 2, T})
                                ASSERT_NO_FATAL_FAILURE(check(c, split, seed++));
                        }
}

// Layers wider than the small-product limit go step by step: the entries say so.
TEST_F(RateSeqCpu, FitsUpToTheSmallProductLimit) {
    EXPECT_TRUE(be->ops->rate_seq_fits(be, 256, 128, true));
    EXPECT_FALSE(be->ops->rate_seq_fits(be, 1, 129, true));
    EXPECT_FALSE(be->ops->rate_seq_fits(be, 1, 4096, false));
}

} // namespace
