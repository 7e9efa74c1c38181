// Whole training runs on the GPU against the CPU, bit-identical reruns and graph replays, and
// running out of device memory. Skips cleanly without a CUDA device. (The kernels one by one are
// tests/test_ops.cpp's CudaOps.*.)
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "chirp_runs.h"
#include "test_util.h"

namespace {

using chirp_runs::expect_out_of_memory;
using chirp_runs::train_chirp;
using chirp_runs::TrainRun;

// max |gpu − cpu| / max |cpu| over a tensor
double rel_err(const std::vector<float> &gpu, const std::vector<float> &cpu) {
    return tensor_rel_err(gpu, to_double(cpu));
}

TEST(CudaTraining, ChirpOnGpuFollowsTheCpu) {
    RN_SKIP_WITHOUT_CUDA();
    TrainRun c = train_chirp(RN_BACKEND_CPU, 64, 4, 30, 2);
    TrainRun g = train_chirp(RN_BACKEND_CUDA, 64, 4, 30, 2);
    ASSERT_EQ(c.loss.size(), g.loss.size());
    for (size_t e = 0; e < c.loss.size(); e++)
        EXPECT_NEAR(g.loss[e], c.loss[e], 1e-4 * c.loss[e]) << "epoch " << e;
    // A trajectory, not one kernel: Adam's first step is ±lr for every element whatever |g|, so an
    // element whose gradient is within rounding of zero may step either way on the two backends.
    EXPECT_LE(rel_err(g.params, c.params), 1e-3);
    EXPECT_LT(g.loss.back(), g.loss.front());
    std::printf("[ cuda ] loss cpu %.9g -> %.9g, gpu %.9g -> %.9g; GPU peak %.2f MiB\n",
                c.loss.front(), c.loss.back(), g.loss.front(), g.loss.back(), g.peak / 1048576.0);
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
// trained (which records the graph again); every epoch but the first and the first after the change
// is a replay (a recording that fails makes the trainer launch every op without a word: the count
// shows it), with the persistent kernels (N 64) and the cooperative ones (N 300: a cooperative
// launch captured).
TEST(CudaTraining, GraphReplayIsBitIdenticalToDirectLaunches) {
    RN_SKIP_WITHOUT_CUDA();
    for (int N : {64, 300}) {
        SCOPED_TRACE("N=" + std::to_string(N));
        TrainRun a = train_chirp(RN_BACKEND_CUDA, N, 4, 12, 1, true, 6);
        TrainRun b = train_chirp(RN_BACKEND_CUDA, N, 4, 12, 1, false, 6);
        EXPECT_EQ(a.graph_replays, 10) << "epochs replayed from the recording";
        EXPECT_EQ(b.graph_replays, 0);
        EXPECT_EQ(a.loss, b.loss);
        EXPECT_EQ(a.grad_tau, b.grad_tau)
            << "a stale recording would still back-propagate into the frozen tau";
        ASSERT_EQ(a.params.size(), b.params.size());
        EXPECT_EQ(0,
                  std::memcmp(a.params.data(), b.params.data(), a.params.size() * sizeof(float)));
    }
}

// A trainer far larger than the device: a clear out-of-memory error, and the backend still works after.
TEST(CudaTraining, OutOfDeviceMemoryIsAClearErrorAndRecoverable) {
    RN_SKIP_WITHOUT_CUDA();
    expect_out_of_memory(RN_BACKEND_CUDA, "out of GPU memory");
    TrainRun r =
        train_chirp(RN_BACKEND_CUDA, 32, 2, 3, 1); // a fresh backend in the same process works
    EXPECT_EQ(r.loss.size(), 3u);
}

} // namespace
