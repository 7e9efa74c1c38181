// The CPU backend's memory: running out of host memory is one clear, recoverable error, and the
// memory report. Runs everywhere (the GPU suite runs it too).
#include <gtest/gtest.h>

#include "chirp_runs.h"
#include "test_util.h"

namespace {

using chirp_runs::expect_out_of_memory;
using chirp_runs::train_chirp;
using chirp_runs::TrainRun;

// Out of host memory is one clear error naming the size asked for, and the backend works after:
// refused before any page is touched, whatever the kernel's overcommit policy, because the request
// exceeds the machine's physical memory. (CudaTraining has the same on the device.)
TEST(BackendMemory, CpuOutOfMemoryIsAClearErrorAndRecoverable) {
    expect_out_of_memory(RN_BACKEND_CPU, "out of host memory");
    TrainRun r = train_chirp(RN_BACKEND_CPU, 8, 1, 2, 1);
    EXPECT_EQ(r.loss.size(), 2u);
}

// Runs everywhere: the CPU backend's memory report.
TEST(BackendMemory, CpuReportsPeakAndReturnsEverything) {
    TrainRun c = train_chirp(RN_BACKEND_CPU, 16, 2, 1, 1);
    EXPECT_GT(c.peak, (size_t)2 * 16 * 1000 * sizeof(float)) << "at least the recorded states";
}

} // namespace
