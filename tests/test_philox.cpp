// Philox4x32-10 against published known answers, and the noise layout's properties.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "ratenn/noise.h"

namespace {

struct Kat {
    uint32_t ctr[4], key[2], out[4];
};

// Random123's kat_vectors for philox4x32_10 (the three published cases).
const Kat kKats[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
    {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
     {0xffffffffu, 0xffffffffu},
     {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
    {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
     {0xa4093822u, 0x299f31d0u},
     {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
};

TEST(Philox, Random123KnownAnswers) {
    for (const Kat &k : kKats) {
        uint32_t out[4];
        rn_philox4x32_10_block(k.ctr, k.key, out);
        for (int i = 0; i < 4; i++)
            EXPECT_EQ(out[i], k.out[i]) << "word " << i << " of ctr " << std::hex << k.ctr[0];
    }
}

// SPEC §6: cuRAND's host Philox generator with seed 1234 starts with Philox of counter 0 under key (1234, 0).
TEST(Philox, CurandSeed1234FirstWords) {
    const uint32_t ctr[4] = {0, 0, 0, 0}, key[2] = {1234u, 0u};
    const uint32_t expected[4] = {546353992u, 3665621163u, 1140953199u, 3419031310u};
    uint32_t out[4];
    rn_philox4x32_10_block(ctr, key, out);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(out[i], expected[i]) << "word " << i;
}

TEST(Noise, PureFunctionOfItsCoordinates) {
    // Same coordinates, same value; any coordinate changed, a different value.
    float a = rn_noise_sample(7, 3, 1, 2, 100, 5, 50);
    EXPECT_EQ(a, rn_noise_sample(7, 3, 1, 2, 100, 5, 50));
    EXPECT_NE(a, rn_noise_sample(8, 3, 1, 2, 100, 5, 50));
    EXPECT_NE(a, rn_noise_sample(7, 4, 1, 2, 100, 5, 50));
    EXPECT_NE(a, rn_noise_sample(7, 3, 2, 2, 100, 5, 50));
    EXPECT_NE(a, rn_noise_sample(7, 3, 1, 3, 100, 5, 50));
    EXPECT_NE(a, rn_noise_sample(7, 3, 1, 2, 101, 5, 50));
    EXPECT_NE(a, rn_noise_sample(7, 3, 1, 2, 100, 6, 50));
}

TEST(Noise, StandardNormalMoments) {
    // 200 000 samples: mean 0 ± 0.01, variance 1 ± 0.02, and the tails of a normal.
    double s = 0, s2 = 0;
    int beyond3 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = rn_noise_sample(1, 0, 1, (uint32_t)(i % 7), (uint64_t)(i / 700),
                                   (uint32_t)(i % 100), 100);
        ASSERT_TRUE(std::isfinite(x));
        s += x;
        s2 += x * x;
        beyond3 += std::fabs(x) > 3;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    EXPECT_NEAR(mean, 0.0, 0.01);
    EXPECT_NEAR(var, 1.0, 0.02);
    EXPECT_NEAR(beyond3 / (double)n, 0.0027, 0.0008);
}

// The layout: neurons 4k..4k+3 of one step share one Philox block, as curand_normal4 would return them.
TEST(Noise, FourNeuronsShareOneBlockInCurandOrder) {
    const uint64_t seed = 0x123456789abcull;
    const uint32_t epoch = 9, layer = 1, trial = 4, N = 10;
    const uint64_t step = 33;
    uint64_t block = step * ((N + 3) / 4) + 1; // neurons 4..7
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (layer << 24) | trial, epoch};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t w[4];
    rn_philox4x32_10_block(ctr, key, w);
    // Box-Muller with cuRAND's constants, in double here: agree to float rounding.
    auto bm = [](uint32_t x, uint32_t y, bool cosine) {
        double u = x * 2.3283064e-10 + 2.3283064e-10 / 2,
               v = y * (2.3283064e-10 * 6.2831855) + (2.3283064e-10 * 6.2831855) / 2;
        double s = std::sqrt(-2 * std::log(u));
        return cosine ? s * std::cos(v) : s * std::sin(v);
    };
    double ref[4] = {bm(w[0], w[1], false), bm(w[0], w[1], true), bm(w[2], w[3], false),
                     bm(w[2], w[3], true)};
    for (int k = 0; k < 4; k++)
        EXPECT_NEAR(rn_noise_sample(seed, epoch, layer, trial, step, 4 + k, N), ref[k],
                    1e-5 * (1 + std::fabs(ref[k])));
}

} // namespace
