// Small helpers shared by the tests: fixed-seed random data, NaN-failing comparisons (STYLE.md §6),
// setup helpers that stop the test when they fail, and owners that free what a test created.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
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

// Element-wise |a − b| <= atol + rtol·|ref| in the negated form (fails on NaN). A failure reports how
// many elements are out, the first and the worst of them (a NaN counts as the worst) and ‖a − b‖/‖ref‖.
inline ::testing::AssertionResult
all_close(const std::vector<float> &a, const std::vector<double> &ref, double rtol, double atol) {
    if (a.size() != ref.size())
        return ::testing::AssertionFailure()
               << "sizes differ: " << a.size() << " vs " << ref.size();
    double worst = -1, num = 0, den = 0;
    size_t wi = 0, first = 0, bad = 0;
    for (size_t i = 0; i < a.size(); i++) {
        double d = std::fabs((double)a[i] - ref[i]);
        num += d * d;
        den += ref[i] * ref[i];
        if (!(d <= atol + rtol * std::fabs(ref[i]))) {
            if (bad++ == 0) first = i;
            if (!std::isnan(worst) && !(d <= worst)) {
                worst = d;
                wi = i;
            }
        }
    }
    if (bad)
        return ::testing::AssertionFailure()
               << bad << " of " << a.size() << " elements out of tolerance (rtol " << rtol
               << ", atol " << atol << "); first " << first << ": got " << a[first] << ", expected "
               << ref[first] << "; worst " << wi << ": got " << a[wi] << ", expected " << ref[wi]
               << " (|diff| " << worst << "); |a - ref| / |ref| "
               << (den > 0 ? std::sqrt(num / den) : std::sqrt(num));
    return ::testing::AssertionSuccess();
}

// Relative error of a tensor: max |a − ref| / max |ref| (NaN if anything is NaN or the sizes differ).
inline double tensor_rel_err(const std::vector<float> &a, const std::vector<double> &ref) {
    if (a.size() != ref.size()) return NAN;
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); i++) {
        double d = std::fabs((double)a[i] - ref[i]);
        if (std::isnan(d)) return NAN;
        num = std::max(num, d);
        den = std::max(den, std::fabs(ref[i]));
    }
    return den > 0 ? num / den : num;
}

// For a setup helper that returns ::testing::AssertionResult (declare it [[nodiscard]]; its callers
// ASSERT_TRUE it, so a failed setup stops the test instead of running on): returns a failure that
// names the call, its status and err's message unless the call gives RN_OK.
#define RN_RETURN_UNLESS_OK(call, err)                                                             \
    do {                                                                                           \
        const rn_status s_ = (call);                                                               \
        if (s_ != RN_OK)                                                                           \
            return ::testing::AssertionFailure()                                                   \
                   << #call << ": " << rn_status_string(s_) << ": " << (err).message;              \
    } while (0)

// A network, a backend and a trainer owned together, freed (trainer first) when the test's scope
// ends, also when an ASSERT_* returns early. Fill the members with the rn_*_create calls.
struct TrainerParts {
    rn_net *net = nullptr;
    rn_backend *be = nullptr;
    rn_trainer *tr = nullptr;
    TrainerParts() = default;
    TrainerParts(const TrainerParts &) = delete;
    TrainerParts &operator=(const TrainerParts &) = delete;
    ~TrainerParts() {
        rn_trainer_free(tr);
        rn_backend_free(be);
        rn_net_free(net);
    }
};

// Bit-identical float vectors (memcmp, so −0 ≠ 0 and equal NaNs match); reports the first difference.
inline ::testing::AssertionResult same_bits(const std::vector<float> &a,
                                            const std::vector<float> &b) {
    if (a.size() != b.size())
        return ::testing::AssertionFailure() << "sizes differ: " << a.size() << " vs " << b.size();
    for (size_t i = 0; i < a.size(); i++)
        if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return ::testing::AssertionFailure()
                   << "element " << i << " differs: " << a[i] << " vs " << b[i];
    return ::testing::AssertionSuccess();
}

// A parameter-sized vector filled by `get` (NaN-filled first, so an element the call leaves
// unwritten shows); a failed call is a test failure and gives an empty vector.
template <typename Get>
std::vector<float> param_sized(const rn_net *net, const char *name, const char *what, Get get) {
    rn_error err = {};
    rn_param_info info;
    int index = rn_net_param_index(net, name);
    if (index < 0 || rn_net_param_info(net, index, &info, &err) != RN_OK) {
        ADD_FAILURE() << "no parameter '" << name << "' " << err.message;
        return {};
    }
    std::vector<float> v(info.count, NAN);
    if (get(v, &err) != RN_OK) {
        ADD_FAILURE() << what << " " << name << ": " << err.message;
        return {};
    }
    return v;
}

// A parameter's values, read through the public API.
inline std::vector<float> param_values(const rn_net *net, const char *name) {
    return param_sized(net, name, "rn_net_get_param", [&](std::vector<float> &v, rn_error *err) {
        return rn_net_get_param(net, name, v.data(), v.size(), err);
    });
}

// A parameter's gradient from the trainer's last backward.
inline std::vector<float> grad_values(const rn_trainer *tr, const rn_net *net, const char *name) {
    return param_sized(net, name, "rn_trainer_get_grad", [&](std::vector<float> &v, rn_error *err) {
        return rn_trainer_get_grad(tr, name, v.data(), v.size(), err);
    });
}

// Every parameter's values (or gradients), concatenated in the network's order.
template <typename Values> std::vector<float> all_params_by(const rn_net *net, Values values) {
    std::vector<float> all;
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        rn_error err = {};
        EXPECT_EQ(rn_net_param_info(net, i, &info, &err), RN_OK) << err.message;
        std::vector<float> v = values(info.name);
        all.insert(all.end(), v.begin(), v.end());
    }
    return all;
}
inline std::vector<float> all_param_values(const rn_net *net) {
    return all_params_by(net, [&](const char *name) { return param_values(net, name); });
}
inline std::vector<float> all_grad_values(const rn_trainer *tr, const rn_net *net) {
    return all_params_by(net, [&](const char *name) { return grad_values(tr, net, name); });
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
