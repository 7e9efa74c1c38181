// The CPU backend's vector kernels (src/cpu/simd.h): the AVX2 + FMA bodies give the very bits of the
// scalar FMA bodies (skipped on a CPU without AVX2 and FMA), and both agree with double-precision
// references: the small products, tanh, and the noise's normals (against rn_noise_sample, the
// libm-based reference of SPEC §6). Outputs start as junk and sit between guard regions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ratenn/ratenn.h"
#include "rn_math.h"
#include "simd.h"
#include "test_util.h"

namespace {

constexpr int kGuard = 16;
constexpr float kJunk = -7.25e11f;

// A buffer of n junk floats between two guard regions of kGuard junk floats.
struct Guarded {
    std::vector<float> v;
    explicit Guarded(size_t n) : v(n + 2 * kGuard, kJunk) {}
    float *data() { return v.data() + kGuard; }
    std::vector<float> body() const { return {v.begin() + kGuard, v.end() - kGuard}; }
    ::testing::AssertionResult guards_intact() const {
        for (int i = 0; i < kGuard; i++)
            if (v[i] != kJunk || v[v.size() - 1 - i] != kJunk)
                return ::testing::AssertionFailure() << "a guard was written";
        return ::testing::AssertionSuccess();
    }
};

bool have_avx2() {
    return rn_simd_best() == RN_SIMD_AVX2;
}

TEST(SimdCpu, SmallGemmAvx2GivesTheScalarBitsAndMatchesDouble) {
    if (!have_avx2()) GTEST_SKIP() << "no AVX2 + FMA on this CPU";
    const uint32_t seed = 4242;
    std::printf("seed %u\n", seed);
    int cases = 0;
    for (int m : {1, 3, 7, 8, 19})
        for (int n : {1, 7, 8, 9, 50, 63, 64, 65, 127, 128})
            for (int k : {1, 5, 50, 128})
                for (auto [alpha, beta] : {std::pair{0.75f, 0.5f}, {1.0f, 0.0f}, {0.75f, 0.0f}}) {
                    SCOPED_TRACE("m " + std::to_string(m) + " n " + std::to_string(n) + " k " +
                                 std::to_string(k) + " beta " + std::to_string(beta));
                    const int lda = k + 3, ldb = n + 5, ldc = n + 2;
                    const uint32_t s = seed + (uint32_t)cases++;
                    auto a = random_floats((size_t)m * lda, s, -1, 1);
                    auto b = random_floats((size_t)k * ldb, s + 7, -1, 1);
                    auto c0 = random_floats((size_t)m * ldc, s + 11, -1, 1);
                    Guarded cv((size_t)m * ldc), cs((size_t)m * ldc);
                    std::memcpy(cv.data(), c0.data(), c0.size() * sizeof(float));
                    std::memcpy(cs.data(), c0.data(), c0.size() * sizeof(float));
                    rn_small_gemm_at(RN_SIMD_AVX2, m, n, k, alpha, a.data(), lda, b.data(), ldb,
                                     false, beta, cv.data(), ldc);
                    rn_small_gemm_at(RN_SIMD_SCALAR_FMA, m, n, k, alpha, a.data(), lda, b.data(),
                                     ldb, false, beta, cs.data(), ldc);
                    ASSERT_TRUE(same_bits(cv.body(), cs.body()));
                    ASSERT_TRUE(cv.guards_intact());
                    if (alpha == 1.0f && beta == 0.0f) { // the packed operand: the same bits
                        std::vector<float> bp((size_t)k * rn_small_ld(n), kJunk);
                        rn_small_pack(n, k, b.data(), ldb, false, bp.data());
                        Guarded cp((size_t)m * ldc);
                        std::memcpy(cp.data(), c0.data(), c0.size() * sizeof(float));
                        rn_small_gemm_padded(m, n, k, a.data(), lda, bp.data(), cp.data(), ldc);
                        ASSERT_TRUE(same_bits(cp.body(), cv.body()));
                        ASSERT_TRUE(cp.guards_intact());
                    }
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < ldc; j++) {
                            double ref = c0[(size_t)i * ldc + j], scale = 0;
                            if (j < n) {
                                double acc = 0;
                                for (int p = 0; p < k; p++) {
                                    double t =
                                        (double)a[(size_t)i * lda + p] * b[(size_t)p * ldb + j];
                                    acc += t;
                                    scale += std::fabs(t);
                                }
                                ref = alpha * acc + beta * ref;
                            }
                            const double got = cv.body()[(size_t)i * ldc + j];
                            ASSERT_LE(std::fabs(got - ref), 1e-6 * (scale + std::fabs(ref)) + 1e-30)
                                << "element " << i << ", " << j;
                        }
                }
}

TEST(SimdCpu, TanhAvx2GivesTheScalarBitsWithinOneUlpOfDouble) {
    const uint32_t seed = 99;
    std::printf("seed %u\n", seed);
    for (int n : {0, 1, 7, 8, 9, 50, 1000}) {
        SCOPED_TRACE("n " + std::to_string(n));
        auto x = random_floats((size_t)n, seed + (uint32_t)n, -12, 12);
        const float special[] = {0.0f, -0.0f, 1e-30f, -3e-8f, 0.5f, 9.0f, -9.5f, 40.0f, -1e30f};
        for (size_t i = 0; i < x.size() && i < sizeof special / sizeof *special; i++)
            x[i] = special[i];
        Guarded y((size_t)n), ys((size_t)n);
        rn_simd_tanh(y.data(), x.data(), n);
        ASSERT_TRUE(y.guards_intact());
        for (int i = 0; i < n; i++) {
            const double ref = std::tanh((double)x[i]);
            const float r = std::fabs((float)ref); // the float ulp at ref (the smallest at 0)
            const double ulp = (double)std::nextafter(r, INFINITY) - (double)r;
            ASSERT_LE(std::fabs(y.body()[i] - ref), 1.0 * ulp + 1e-45) << "x " << x[i];
        }
        if (have_avx2()) {
            rn_simd_tanh_at(RN_SIMD_SCALAR_FMA, ys.data(), x.data(), n);
            ASSERT_TRUE(same_bits(y.body(), ys.body()));
        }
    }
}

TEST(SimdCpu, NormalsGiveTheScalarBitsAndMatchTheReferenceNoise) {
    const uint64_t seed = 0x1234567890ull;
    std::printf("seed %llu\n", (unsigned long long)seed);
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t layer = 3, epoch = 17;
    int checked = 0;
    for (int n : {1, 3, 4, 5, 50, 63, 64, 65, 200})
        // (at step 85899345 the counter's low word wraps within a row of 200 neurons)
        for (uint64_t step : {0ull, 1ull, 2999ull, 85899345ull, (1ull << 33) + 5})
            for (uint32_t trial : {0u, 6u, 255u}) {
                const uint32_t hi[2] = {(layer << 24) | trial, epoch};
                // the whole row, then pieces of up to 37 neurons from multiples of 4
                std::vector<std::pair<int, int>> ranges = {{0, n}};
                for (int i0 = 0; i0 < n; i0 += 4 * (1 + n / 12))
                    ranges.push_back({i0, n - i0 > 37 ? 37 : n - i0});
                for (auto [i0, count] : ranges) {
                    SCOPED_TRACE("n " + std::to_string(n) + " step " + std::to_string(step) +
                                 " trial " + std::to_string(trial) + " i0 " + std::to_string(i0));
                    Guarded z((size_t)count), zs((size_t)count);
                    rn_simd_normals(z.data(), key, hi, step, n, i0, count);
                    ASSERT_TRUE(z.guards_intact());
                    for (int j = 0; j < count; j++) {
                        const float ref = rn_noise_sample(seed, epoch, layer, trial, step,
                                                          (uint32_t)(i0 + j), (uint32_t)n);
                        ASSERT_LE(std::fabs(z.body()[j] - ref),
                                  2e-6 * std::fmax(1.0f, std::fabs(ref)))
                            << "neuron " << i0 + j;
                        checked++;
                    }
                    if (have_avx2()) {
                        rn_simd_normals_at(RN_SIMD_SCALAR_FMA, zs.data(), key, hi, step, n, i0,
                                           count);
                        ASSERT_TRUE(same_bits(z.body(), zs.body()));
                    }
                }
            }
    EXPECT_GT(checked, 1000);
}

TEST(SimdCpu, AdjointRowAvx2GivesTheScalarBitsAndMatchesDouble) {
    const uint32_t seed = 777;
    std::printf("seed %u\n", seed);
    const float dt = 1e-3f;
    for (int n : {1, 7, 8, 9, 50, 64, 133})
        for (bool with_d : {false, true}) {
            SCOPED_TRACE("n " + std::to_string(n) + (with_d ? " d" : " no d"));
            const uint32_t s = seed + (uint32_t)n * 2 + with_d;
            auto fp = random_floats(n, s, 0, 1), g = random_floats(n, s + 1, -1, 1);
            auto d = random_floats(n, s + 2, -1, 1), x = random_floats(n, s + 3, -2, 2);
            auto xp = random_floats(n, s + 4, -2, 2), tau = random_floats(n, s + 5, 0.01f, 0.1f);
            auto lam0 = random_floats(n, s + 6, -1, 1),
                 acc0 = random_floats(3 * (size_t)n, s + 7, -1, 1);
            // [lam, e, acc_tau, acc_bias, acc_theta] at each level, junk e
            auto run = [&](rn_simd_level level) {
                Guarded out(5 * (size_t)n);
                float *o = out.data();
                std::memcpy(o, lam0.data(), n * sizeof(float));
                std::memcpy(o + 2 * n, acc0.data(), 3 * n * sizeof(float));
                rn_simd_adjoint_row_at(level, n, dt, o, o + n, o + 2 * n, o + 3 * n, o + 4 * n,
                                       fp.data(), g.data(), with_d ? d.data() : nullptr, x.data(),
                                       xp.data(), tau.data());
                EXPECT_TRUE(out.guards_intact());
                return out.body();
            };
            const auto got = run(rn_simd_best());
            std::vector<double> ref(5 * (size_t)n);
            for (int i = 0; i < n; i++) {
                double alpha = (double)dt / tau[i];
                double t = (double)fp[i] * (g[i] + (with_d ? d[i] : 0.0));
                double l = (1 - alpha) * lam0[i] + t;
                ref[i] = l;
                ref[n + i] = alpha * l;
                ref[2 * n + i] = acc0[i] + l * ((double)x[i] - xp[i]);
                ref[3 * n + i] = acc0[n + i] + alpha * l;
                ref[4 * n + i] = acc0[2 * n + i] + t;
            }
            EXPECT_TRUE(all_close(got, ref, 1e-5, 1e-6));
            if (have_avx2()) {
                EXPECT_TRUE(same_bits(got, run(RN_SIMD_SCALAR_FMA)));
            }
        }
}

} // namespace
