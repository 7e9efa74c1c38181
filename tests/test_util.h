// Small helpers shared by the tests: fixed-seed random data and NaN-failing comparisons (STYLE.md §6).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ratenn/ratenn.h"

#define RN_ASSERT_OK(call)                                                                         \
    do {                                                                                           \
        rn_error e_ = {};                                                                          \
        rn_status s_ = (call);                                                                     \
        (void)e_;                                                                                  \
        ASSERT_EQ(s_, RN_OK) << #call;                                                             \
    } while (0)

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto &x : v)
        x = d(gen);
    return v;
}

inline std::vector<double> to_double(const std::vector<float> &v) {
    return std::vector<double>(v.begin(), v.end());
}

// Element-wise |a − b| <= atol + rtol·|ref| in the negated form (fails on NaN); reports the worst element.
inline ::testing::AssertionResult
all_close(const std::vector<float> &a, const std::vector<double> &ref, double rtol, double atol) {
    if (a.size() != ref.size())
        return ::testing::AssertionFailure()
               << "sizes differ: " << a.size() << " vs " << ref.size();
    double worst = -1;
    size_t wi = 0;
    bool bad = false;
    for (size_t i = 0; i < a.size(); i++) {
        double d = std::fabs((double)a[i] - ref[i]);
        if (!(d <= atol + rtol * std::fabs(ref[i]))) bad = true;
        if (!(d <= worst)) {
            worst = d;
            wi = i;
        }
    }
    if (bad)
        return ::testing::AssertionFailure()
               << "worst element " << wi << ": got " << a[wi] << ", expected " << ref[wi]
               << " (|diff| " << worst << ")";
    return ::testing::AssertionSuccess();
}

// Relative error of a tensor: max |a − ref| / max |ref| (NaN if anything is NaN).
inline double tensor_rel_err(const std::vector<float> &a, const std::vector<double> &ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); i++) {
        double d = std::fabs((double)a[i] - ref[i]);
        if (std::isnan(d)) return NAN;
        num = std::max(num, d);
        den = std::max(den, std::fabs(ref[i]));
    }
    return den > 0 ? num / den : num;
}

// Skips a GPU test where no CUDA device is usable. With RATENN_REQUIRE_CUDA=1 in the environment
// (bench/gpu-suite.sh sets it on the GPU machine) a missing device fails the test instead, so that
// a CUDA runtime that cannot start there shows as failures, never as a green run of skips.
inline bool rn_test_require_cuda() {
    const char *v = std::getenv("RATENN_REQUIRE_CUDA");
    return v && *v && std::strcmp(v, "0") != 0;
}
#define RN_SKIP_WITHOUT_CUDA()                                                                     \
    do {                                                                                           \
        if (rn_cuda_device_count() == 0) {                                                         \
            const char *why_ = rn_cuda_built() ? "no CUDA device here" : "built without CUDA";     \
            if (rn_test_require_cuda()) FAIL() << "RATENN_REQUIRE_CUDA is set and " << why_;       \
            GTEST_SKIP() << why_;                                                                  \
        }                                                                                          \
    } while (0)
