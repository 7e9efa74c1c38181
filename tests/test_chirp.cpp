// The chirp task (SPEC §7) at chosen indices, computed here from the tutorial's formula.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ratenn/tasks.h"

TEST(Chirp, TutorialValuesAtChosenIndices) {
    rn_chirp_options o = rn_chirp_options_default();
    int T = 0;
    ASSERT_EQ(rn_chirp_steps(&o, &T, nullptr), RN_OK);
    ASSERT_EQ(T, 3000);
    std::vector<float> u(T), y(T);
    ASSERT_EQ(rn_chirp_generate(&o, u.data(), y.data(), T, nullptr), RN_OK);
    // padding: zeros in the first and last second
    for (int i : {0, 500, 999, 2000, 2500, 2999}) {
        EXPECT_EQ(u[i], 0.0f) << i;
        EXPECT_EQ(y[i], 0.0f) << i;
    }
    // t = linspace(0, 1, 1000): t_j = j / 999; chirp = sin(2π · 10 · t²); trigger t < 0.05
    for (int j : {0, 1, 49, 50, 123, 500, 998, 999}) {
        double t = j / 999.0;
        EXPECT_NEAR(y[1000 + j], std::sin(2 * M_PI * t * (t * 10)), 1e-6) << j;
        EXPECT_EQ(u[1000 + j], t < 0.05 ? 1.0f : 0.0f) << j;
    }
    int pulses = 0;
    for (float v : u)
        pulses += v == 1.0f;
    EXPECT_EQ(pulses, 50); // j = 0..49 have t < 0.05
}

TEST(Chirp, RepeatsAndSettings) {
    rn_chirp_options o = rn_chirp_options_default();
    o.num_repeats = 3;
    o.chirp_freq_factor = 20;
    o.pulse_duration = 0.1;
    int T = 0;
    ASSERT_EQ(rn_chirp_steps(&o, &T, nullptr), RN_OK);
    ASSERT_EQ(T, 9000);
    std::vector<float> u(T), y(T);
    ASSERT_EQ(rn_chirp_generate(&o, u.data(), y.data(), T, nullptr), RN_OK);
    for (int i = 0; i < 3000; i++) {
        EXPECT_EQ(u[i], u[i + 3000]);
        EXPECT_EQ(y[i], y[i + 6000]);
    }
    double t = 700 / 999.0;
    EXPECT_NEAR(y[3000 + 1000 + 700], std::sin(2 * M_PI * t * (t * 20)), 1e-6);
    EXPECT_EQ(u[1000 + 99], 1.0f);  // t = 99/999 < 0.1
    EXPECT_EQ(u[1000 + 100], 0.0f); // t = 100/999 > 0.1
}

TEST(Chirp, BadSettingsAreRejected) {
    rn_chirp_options o = rn_chirp_options_default();
    rn_error err = {};
    int T;
    o.dt = 0;
    EXPECT_EQ(rn_chirp_steps(&o, &T, &err), RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("dt"), std::string::npos);
    o = rn_chirp_options_default();
    o.num_repeats = 0;
    EXPECT_EQ(rn_chirp_steps(&o, &T, &err), RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("repeats"), std::string::npos);
    o = rn_chirp_options_default();
    std::vector<float> u(10), y(10);
    EXPECT_EQ(rn_chirp_generate(&o, u.data(), y.data(), 10, &err), RN_ERR_SHAPE);
}

TEST(Synapse, StepResponseOfLowpassAndDoubleExp) {
    rn_synapse_options o = rn_synapse_options_default();
    int T = 0;
    ASSERT_EQ(rn_synapse_steps(&o, &T, nullptr), RN_OK);
    ASSERT_EQ(T, 1000);
    std::vector<float> u(T), y(T);
    ASSERT_EQ(rn_synapse_generate(&o, u.data(), y.data(), T, nullptr), RN_OK);
    // lowpass step response from 0: y_t = 1 − p^(t+1), p = exp(−dt/τ)
    for (int t : {0, 10, 99, 500, 999}) {
        EXPECT_EQ(u[t], 1.0f);
        EXPECT_NEAR(y[t], 1 - std::pow(std::exp(-0.001 / 0.1), t + 1), 1e-6) << t;
    }
    o.tau = 0.05;
    o.tau2 = 0.03;
    ASSERT_EQ(rn_synapse_generate(&o, u.data(), y.data(), T, nullptr), RN_OK);
    // the cascade's closed form for distinct poles a, b: 1 − (a^{n+2} − b^{n+2}) ... checked by direct recursion here
    double a = std::exp(-0.001 / 0.05), b = std::exp(-0.001 / 0.03), y1 = 0, y2 = 0;
    for (int t = 0; t < T; t++) {
        y1 = a * y1 + (1 - a);
        y2 = b * y2 + (1 - b) * y1;
        if (t % 97 == 0) {
            EXPECT_NEAR(y[t], y2, 1e-6) << t;
        }
    }
    EXPECT_NEAR(rn_pole_to_tau(rn_tau_to_pole(0.037, 0.001), 0.001), 0.037, 1e-12);
}
