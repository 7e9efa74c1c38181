// The chirp task (SPEC §7) against the tutorial's formula, computed here; its settings and bad settings.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ratenn/tasks.h"
#include "test_util.h"

TEST(Chirp, TutorialValuesAtEveryIndex) {
    rn_chirp_options o = rn_chirp_options_default();
    int T = 0;
    ASSERT_EQ(rn_chirp_steps(&o, &T, nullptr), RN_OK);
    ASSERT_EQ(T, 3000);
    std::vector<float> u(T, NAN), y(T, NAN); // NaN: an element the generator misses shows
    ASSERT_EQ(rn_chirp_generate(&o, u.data(), y.data(), T, nullptr), RN_OK);
    // padding: zeros in the first and last second; between them t = linspace(0, 1, 1000), t_j = j / 999,
    // chirp = sin(2π · 10 · t²), trigger t < 0.05
    std::vector<double> u_ref(T, 0.0), y_ref(T, 0.0);
    for (int j = 0; j < 1000; j++) {
        double t = j / 999.0;
        y_ref[1000 + j] = std::sin(2 * M_PI * t * (t * 10));
        u_ref[1000 + j] = t < 0.05 ? 1.0 : 0.0;
    }
    EXPECT_TRUE(all_close(u, u_ref, 0, 0));
    EXPECT_TRUE(all_close(y, y_ref, 0, 1e-6));
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
    std::vector<float> u(T, NAN), y(T, NAN);
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
