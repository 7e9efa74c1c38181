// `ratenn` on long sequences (issue 14): --max-memory checkpoints with the same result, a budget too
// small is one clear line naming the smallest that works, run.npz records trial 0 unless asked, and
// eval runs a long input under an address-space limit (ulimit -v) that storing every step exceeds.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli_run.h"
#include "ratenn/io.h"
#include "test_files.h"

namespace {

const char *kRun = "train --task chirp --hidden 8 --repeats 2 --batch 3 --epochs 3 --quiet";

TEST(CliLong, MaxMemoryCheckpointsWithTheSameResult) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    CliResult all = run_cli(std::string(kRun) + " --out " + d + "/all", d);
    ASSERT_EQ(all.status, 0) << all.err;
    EXPECT_NE(all.err.find("every step stored"), std::string::npos) << all.err;
    CliResult ck = run_cli(std::string(kRun) + " --max-memory 900K --out " + d + "/ck", d);
    ASSERT_EQ(ck.status, 0) << ck.err;
    EXPECT_NE(ck.err.find("memory budget 0.9 MiB; checkpoints every 1000 steps (6 segments)"),
              std::string::npos)
        << ck.err;
    for (const char *f : {"params.npz", "run.npz", "loss.csv"})
        EXPECT_EQ(read_file(d + "/all/" + f), read_file(d + "/ck/" + f)) << f << " differs";
}

TEST(CliLong, BudgetTooSmallNamesTheSmallestThatWorks) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    CliResult r = run_cli(std::string(kRun) + " --max-memory 64K --out " + d + "/x", d);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("memory budget 64.0 KiB is too small: B=3, T=6000 needs at least"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    for (const char *bad : {"12Q", "-1G", "0", "G", "1.5.5M"}) {
        r = run_cli(std::string(kRun) + " --max-memory " + bad + " --out " + d + "/x", d);
        EXPECT_EQ(r.status, 2) << bad;
        EXPECT_NE(r.err.find("--max-memory: expected a size"), std::string::npos) << r.err;
    }
    EXPECT_FALSE(file_exists(d + "/x/params.npz"));
}

// The shape of one array of an .npz (empty if absent).
std::vector<size_t> npz_shape(const std::string &path, const char *name) {
    rn_array *arr = nullptr;
    int n = 0;
    std::vector<size_t> shape;
    if (rn_npz_read(path.c_str(), &arr, &n, nullptr) != RN_OK) return shape;
    const rn_array *a = rn_arrays_find(arr, n, name);
    if (a) shape.assign(a->shape, a->shape + a->ndim);
    rn_arrays_free(arr, n);
    return shape;
}

TEST(CliLong, RunRecordsTrialZeroUnlessAskedForAll) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    CliResult r = run_cli(std::string(kRun) + " --out " + d + "/one", d);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("records x and r of trial 0 of 3"), std::string::npos) << r.err;
    EXPECT_EQ(npz_shape(d + "/one/run.npz", "1_rate.x"), (std::vector<size_t>{1, 6000, 8}));
    EXPECT_EQ(npz_shape(d + "/one/run.npz", "input"), (std::vector<size_t>{1, 6000, 1}))
        << "the task's input is held once";
    EXPECT_EQ(npz_shape(d + "/one/run.npz", "output"), (std::vector<size_t>{3, 6000, 1}));
    r = run_cli(std::string(kRun) + " --record-all --out " + d + "/all", d);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("records x and r of trial 0"), std::string::npos) << r.err;
    EXPECT_EQ(npz_shape(d + "/all/run.npz", "1_rate.r"), (std::vector<size_t>{3, 6000, 8}));
}

#if defined(__SANITIZE_ADDRESS__)
#define RN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RN_TEST_ASAN 1
#endif
#endif

// 2,000,000 steps of a 32-neuron network: storing every step needs about 1.3 GB, far past the
// 400 MB address-space limit; the default budget follows the limit and checkpoints. The first
// steps match a short eval of the same input (noise off), bit for bit.
TEST(CliLong, EvalOfALongInputUnderUlimit) {
#ifdef RN_TEST_ASAN
    GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space: no ulimit -v";
#endif
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    CliResult r = run_cli(
        "train --task chirp --hidden 32 --epochs 1 --quiet --backend cpu --out " + d + "/run", d);
    ASSERT_EQ(r.status, 0) << r.err;
    const size_t T = 2000000, S = 5000;
    std::vector<float> u(T, 0.0f);
    for (size_t t = 0; t < T; t += 3000)
        for (size_t k = 0; k < 50; k++)
            u[t + k] = 1.0f;
    write_file(d + "/long.npy", npy_f32({1, T, 1}, u));
    write_file(d + "/short.npy", npy_f32({1, S, 1}, std::vector<float>(u.begin(), u.begin() + S)));
    // (the CPU both times: on a machine with a GPU, `auto` would take it for the short run but
    // perhaps not under the limit, and the two backends' bits differ)
    const std::string eval = std::string(RATENN_CLI_PATH) +
                             " eval --noise off --backend cpu --params " + d +
                             "/run/params.npz --input " + d;
    // the program's own mappings and 250 MB: not enough to store every step of 2M
    std::string cmd = "ulimit -v " + std::to_string(vm_floor_kb() + 250000) + " && " + eval +
                      "/long.npy --out " + d + "/long_y.npy --record " + d + "/rec.npz 2>'" + d +
                      "/err.txt'";
    int st = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << read_file(d + "/err.txt");
    EXPECT_NE(read_file(d + "/err.txt").find("keeps trial 0 of 1, one step in every 16"),
              std::string::npos)
        << read_file(d + "/err.txt");
    EXPECT_EQ(npz_shape(d + "/rec.npz", "1_rate.x"), (std::vector<size_t>{1, T / 16, 32}));
    ASSERT_EQ(std::system((eval + "/short.npy --out " + d + "/short_y.npy 2>/dev/null").c_str()),
              0);
    rn_array a = {}, b = {};
    ASSERT_EQ(rn_npy_read((d + "/long_y.npy").c_str(), &a, nullptr), RN_OK);
    ASSERT_EQ(rn_npy_read((d + "/short_y.npy").c_str(), &b, nullptr), RN_OK);
    ASSERT_EQ(a.count, T);
    ASSERT_EQ(b.count, S);
    EXPECT_EQ(0, std::memcmp(a.data, b.data, S * sizeof(float))) << "the first steps differ";
    rn_array_free(&a);
    rn_array_free(&b);
}

} // namespace
