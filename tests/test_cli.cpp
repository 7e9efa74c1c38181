// The command-line program as a user runs it: a short training run and its files, bad flags and files,
// resume after an interruption (bit-identical), SIGINT, eval on new shapes, config round trip, params.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"
#include "ratenn/io.h"
#include "test_util.h"

namespace {

const char *kQuick = "--hidden 8 --repeats 1 --pulse 0.05 --quiet --backend cpu --lr 1e-3";

// The names of the arrays of an .npz file, in its order; an unreadable file is a test failure.
std::vector<std::string> npz_names(const std::string &path) {
    rn_array *arr = nullptr;
    int n = 0;
    rn_error err = {};
    std::vector<std::string> names;
    if (rn_npz_read(path.c_str(), &arr, &n, &err) != RN_OK) {
        ADD_FAILURE() << err.message;
        return names;
    }
    for (int i = 0; i < n; i++)
        names.push_back(arr[i].name);
    rn_arrays_free(arr, n);
    return names;
}

// A copy of one array of an .npz file; a missing file or array is a test failure and gives {}.
std::vector<float> npz_array(const std::string &path, const std::string &name) {
    rn_array *arr = nullptr;
    int n = 0;
    rn_error err = {};
    if (rn_npz_read(path.c_str(), &arr, &n, &err) != RN_OK) {
        ADD_FAILURE() << err.message;
        return {};
    }
    std::vector<float> v;
    const rn_array *a = rn_arrays_find(arr, n, name.c_str());
    if (a)
        v.assign(a->data, a->data + a->count);
    else
        ADD_FAILURE() << path << " has no array '" << name << "'";
    rn_arrays_free(arr, n);
    return v;
}

// Kills a background run at the end of the test's scope unless disarmed (it exited by itself).
struct KillOnExit {
    std::string pid;
    ~KillOnExit() {
        if (!pid.empty()) std::system(("kill -KILL " + pid + " 2>/dev/null").c_str());
    }
};

TEST(Cli, ShortChirpRunWritesEveryFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    CliResult r =
        run_cli(std::string("train --task chirp --epochs 5 ") + kQuick + " --out " + d + "/run", d);
    ASSERT_EQ(r.status, 0) << r.err;
    for (const char *f : {"config.json", "loss.csv", "params.npz", "params_initial.npz", "run.npz"})
        EXPECT_TRUE(file_exists(d + "/run/" + f)) << f;
    EXPECT_NE(r.err.find("loss"), std::string::npos) << r.err;
    rn_array *arr = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read((d + "/run/params.npz").c_str(), &arr, &n, nullptr), RN_OK);
    EXPECT_NE(rn_arrays_find(arr, n, "1_rate.tau"), nullptr);
    EXPECT_NE(rn_arrays_find(arr, n, "1_rate.w_rec"), nullptr);
    rn_arrays_free(arr, n);
    ASSERT_EQ(rn_npz_read((d + "/run/run.npz").c_str(), &arr, &n, nullptr), RN_OK);
    const rn_array *x = rn_arrays_find(arr, n, "1_rate.x");
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->shape[1], 3000u);
    EXPECT_EQ(x->shape[2], 8u);
    rn_arrays_free(arr, n);
    std::string csv = read_file(d + "/run/loss.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6) << csv;
}

// The CPU backend's OpenMP threads wait passively unless the user chose otherwise (cli_openmp.c: the
// program starts itself again with OMP_WAIT_POLICY=passive, as libgomp reads it only when it loads);
// the first line says which policy is in force. Two OpenMP threads asked for, whatever the machine.
TEST(Cli, OpenMPWaitsPassivelyUnlessTheUserChose) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    struct Want {
        const char *env, *line;
    } cases[] = {
        {"env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT OMP_NUM_THREADS=2", "OpenMP waits passive"},
        {"env OMP_WAIT_POLICY=active OMP_NUM_THREADS=2", "OpenMP waits active"},
        {"env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=1000 OMP_NUM_THREADS=2",
         "OpenMP waits GOMP_SPINCOUNT"}};
    for (const Want &w : cases) {
        const std::string cmd = std::string(w.env) + " " + RATENN_CLI_PATH +
                                " train --task chirp --epochs 1 " + kQuick + " --overwrite --out " +
                                d + "/run >/dev/null 2>" + d + "/err.txt";
        ASSERT_EQ(exit_status(std::system(cmd.c_str())), 0) << read_file(d + "/err.txt");
        EXPECT_NE(read_file(d + "/err.txt").find(w.line), std::string::npos)
            << w.env << ": " << read_file(d + "/err.txt");
    }
}

struct BadCase {
    const char *args;
    const char *expect; // a word the one-line message must hold
};

TEST(Cli, BadFlagsGiveOneClearLineAndNonZeroExit) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    const BadCase cases[] = {
        {"train --hidden", "--hidden needs a value"},
        {"train --hidden 0", "--hidden"},
        {"train --hidden abc", "not an integer"},
        {"train --epochs 1 --epochs 2", "more than once"},
        {"train --frobnicate 3", "unknown flag '--frobnicate'"},
        {"train --activation swish", "swish"},
        {"train --optimizer rmsprop", "--optimizer"},
        {"train --dt 0", "--dt"},
        {"train --dt -1e-3", "--dt"},
        {"train --noise -0.1", "--noise"},
        {"train --lr nan", "finite"},
        {"train --task nope", "unknown task"},
        {"train --input only.npy", "go together"},
        {"train --backend tpu", "unknown backend"},
        {"train --net 'linear(1,5) rate(6)'", "layer 1 (rate)"},
        {"train --bound '1_rate.tau>>1'", "--bound"},
        {"train --freeze 1_rate.nope", "unknown parameter '1_rate.nope'"},
        {"frobnicate", "unknown command"},
    };
    for (const BadCase &c : cases) {
        CliResult r = run_cli(std::string(c.args) + " --out " + d + "/never", d);
        EXPECT_NE(r.status, 0) << c.args;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << " -> " << r.err;
        EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << " -> " << r.err;
    }
    EXPECT_FALSE(file_exists(d + "/never"))
        << "a failed run must not leave an output directory behind";
}

TEST(Cli, BadDataFilesAreRejectedWithTheirName) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    std::vector<float> u(2 * 10 * 1, 0.5f), y(2 * 10 * 1, 0.25f);
    write_file(d + "/u.npy", npy_f32({2, 10, 1}, u));
    write_file(d + "/y.npy", npy_f32({2, 10, 1}, y));
    write_file(d + "/y9.npy", npy_f32({2, 9, 1}, std::vector<float>(18, 0.0f)));
    write_file(d + "/fortran.npy", npy_f32({2, 10, 1}, u, "<f4", true));
    write_file(d + "/int.npy", npy_f32({2, 10, 1}, u, "<i4"));
    std::vector<float> bad = u;
    bad[3] = NAN;
    write_file(d + "/nan.npy", npy_f32({2, 10, 1}, bad));
    std::string trunc = npy_f32({2, 10, 1}, u);
    write_file(d + "/trunc.npy", trunc.substr(0, trunc.size() - 8));
    write_file(d + "/magic.npy", "NOTNUMPY" + trunc.substr(8));
    const BadCase cases[] = {
        {"--input U/missing.npy --target U/y.npy", "missing.npy"},
        {"--input U/u.npy --target U/y9.npy", "must match"},
        {"--input U/fortran.npy --target U/y.npy", "ortran"},
        {"--input U/int.npy --target U/y.npy", "<i4"},
        {"--input U/nan.npy --target U/y.npy", "not finite"},
        {"--input U/trunc.npy --target U/y.npy", "trunc.npy"},
        {"--input U/magic.npy --target U/y.npy", "magic.npy"},
        {"--input U/u.npy --target U/y.npy --net 'linear(2,4) rate(4) linear(4,1)'", "channels"},
    };
    for (const BadCase &c : cases) {
        std::string args = subst(c.args, d);
        CliResult r = run_cli("train " + args + " --epochs 1 --quiet --out " + d + "/never", d);
        EXPECT_NE(r.status, 0) << c.args;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << " -> " << r.err;
    }
    // and the good pair trains
    CliResult ok = run_cli("train --input " + d + "/u.npy --target " + d +
                               "/y.npy --hidden 4 --epochs 3 --quiet --out " + d + "/good",
                           d);
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_FALSE(file_exists(d + "/never"));
}

// 12 epochs straight, versus 5 epochs (checkpoint every 5), then --resume to 12: identical files.
TEST(Cli, ResumeIsBitIdenticalToAnUninterruptedRun) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    std::string common = std::string(" --task chirp ") + kQuick + " --seed 3";
    ASSERT_EQ(run_cli("train" + common + " --epochs 12 --out " + d + "/a", d).status, 0);
    CliResult r =
        run_cli("train" + common + " --epochs 5 --checkpoint-every 5 --out " + d + "/b", d);
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_TRUE(file_exists(d + "/b/checkpoint.npz"));
    r = run_cli("train --resume " + d + "/b --epochs 12 --quiet", d);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_file(d + "/a/params.npz"), read_file(d + "/b/params.npz"));
    EXPECT_EQ(read_file(d + "/a/loss.csv"), read_file(d + "/b/loss.csv"));
}

TEST(Cli, SigintWritesALoadableCheckpointAndSaysHowToResume) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    std::string cmd =
        std::string(RATENN_CLI_PATH) +
        " train --task chirp --hidden 8 --quiet --backend cpu --epochs 100000 --out " + d +
        "/run 2>" + d + "/err.txt & echo $! > " + d + "/pid";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::string pid = read_file(d + "/pid");
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
        pid.pop_back(); // a newline would end the shell's loop condition
    ASSERT_FALSE(pid.empty());
    KillOnExit guard{pid};
    // wait until the run has started training (its config is written), then interrupt it
    // (a new run's files are staged in DIR/.ratenn-staging-*/ until they move in)
    for (int i = 0; i < 200 && std::system(("ls " + d +
                                            "/run/.ratenn-staging-*/params_initial.npz "
                                            ">/dev/null 2>&1")
                                               .c_str()) != 0;
         i++)
        usleep(50000);
    usleep(300000);
    ASSERT_EQ(std::system(("kill -INT " + pid).c_str()), 0);
    // wait (at most 60 s) for the interrupted run to finish writing and exit
    int status = std::system(("for i in $(seq 600); do kill -0 " + pid +
                              " 2>/dev/null || exit 0; sleep 0.1; done; exit 1")
                                 .c_str());
    ASSERT_EQ(status, 0) << "the run did not exit within 60 s of SIGINT";
    guard.pid.clear(); // it exited: the pid is no longer its to kill
    std::string err = read_file(d + "/err.txt");
    EXPECT_NE(err.find("--resume"), std::string::npos) << err;
    rn_array *arr = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read((d + "/run/checkpoint.npz").c_str(), &arr, &n, nullptr), RN_OK);
    long long done = -1; // two float words, high and low 20 bits (cli_files.c)
    const rn_array *e = rn_arrays_find(arr, n, "epochs_done");
    if (e && e->count == 2) done = ((long long)e->data[0] << 20) + (long long)e->data[1];
    EXPECT_NE(rn_arrays_find(arr, n, "adam.m/1_rate.w_rec"), nullptr);
    rn_arrays_free(arr, n);
    ASSERT_GE(done, 0) << "no valid epochs_done in the checkpoint";
    std::printf("[ sigint ] interrupted after %lld epochs\n", done);
    // resuming to fewer epochs than the checkpoint holds is refused; to more, the run goes on
    CliResult r;
    if (done >= 2) {
        r = run_cli(
            "train --resume " + d + "/run --epochs " + std::to_string(done - 1) + " --quiet", d);
        EXPECT_NE(r.status, 0) << "resumed " << done << " epochs to " << done - 1;
        EXPECT_NE(r.err.find("past --epochs"), std::string::npos) << r.err;
    }
    r = run_cli("train --resume " + d + "/run --epochs " + std::to_string(done + 2) + " --quiet",
                d);
    ASSERT_EQ(r.status, 0) << r.err;
    std::string csv = read_file(d + "/run/loss.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), done + 3)
        << "a header and one row an epoch";
}

TEST(Cli, EvalOnAnotherBatchAndLength) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 2 ") + kQuick + " --out " + d + "/run", d)
            .status,
        0);
    std::vector<float> u(3 * 77 * 1, 0.0f);
    for (int b = 0; b < 3; b++)
        u[(size_t)b * 77] = 1.0f;
    write_file(d + "/u.npy", npy_f32({3, 77, 1}, u));
    CliResult r = run_cli("eval --params " + d + "/run/params.npz --input " + d + "/u.npy --out " +
                              d + "/y.npy --record " + d + "/rec.npz --noise off",
                          d);
    ASSERT_EQ(r.status, 0) << r.err;
    rn_array y = {};
    ASSERT_EQ(rn_npy_read((d + "/y.npy").c_str(), &y, nullptr), RN_OK);
    ASSERT_EQ(y.ndim, 3);
    EXPECT_EQ(y.shape[0], 3u);
    EXPECT_EQ(y.shape[1], 77u);
    EXPECT_EQ(y.shape[2], 1u);
    ASSERT_EQ(y.count, 3u * 77);
    // noise off, identical inputs: identical trials (EXPECT_EQ fails on NaN)
    for (size_t t = 0; t < 77; t++) {
        EXPECT_EQ(y.data[t], y.data[77 + t]) << t;
        EXPECT_EQ(y.data[t], y.data[2 * 77 + t]) << t;
    }
    rn_array_free(&y);
    rn_array *arr = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read((d + "/rec.npz").c_str(), &arr, &n, nullptr), RN_OK);
    EXPECT_NE(rn_arrays_find(arr, n, "1_rate.x"), nullptr);
    rn_arrays_free(arr, n);
}

TEST(Cli, ConfigRoundTripRepeatsARun) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    ASSERT_EQ(run_cli(std::string("train --task chirp --epochs 4 --seed 7 ") + kQuick + " --out " +
                          d + "/a",
                      d)
                  .status,
              0);
    CliResult r = run_cli("train --config " + d + "/a/config.json --out " + d + "/b --quiet", d);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_file(d + "/a/params.npz"), read_file(d + "/b/params.npz"));
    r = run_cli("train --config " + d + "/a/config.json --epochs 2 --out " + d + "/c --quiet",
                d); // flags override
    ASSERT_EQ(r.status, 0) << r.err;
    std::string csv = read_file(d + "/c/loss.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
    write_file(d + "/bad.json", "{\"hidden\": \"many\"}");
    r = run_cli("train --config " + d + "/bad.json --out " + d + "/never", d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("hidden"), std::string::npos) << r.err;
}

TEST(Cli, SynapseTaskLearnsTauAndParamsReportsPoles) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    CliResult r = run_cli(
        "train --task synapse --epochs 1500 --lr 3e-3 --quiet --backend cpu --out " + d + "/syn",
        d);
    ASSERT_EQ(r.status, 0) << r.err;
    rn_array *arr = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read((d + "/syn/params.npz").c_str(), &arr, &n, nullptr), RN_OK);
    const rn_array *tau = rn_arrays_find(arr, n, "0_lowpass.tau");
    ASSERT_NE(tau, nullptr);
    EXPECT_NEAR(tau->data[0], 0.1, 1e-4);
    rn_arrays_free(arr, n);
    EXPECT_TRUE(file_exists(d + "/syn/tau_history.csv"));
    std::string out = d + "/params.txt";
    std::string cmd = std::string(RATENN_CLI_PATH) + " params " + d + "/syn/params.npz > " + out;
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::string txt = read_file(out);
    EXPECT_NE(txt.find("pole 0.99"), std::string::npos) << txt;
    EXPECT_NE(txt.find("0_lowpass.tau"), std::string::npos) << txt;
}

TEST(Cli, ParameterControlFlags) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    CliResult r = run_cli(std::string("train --task chirp --epochs 3 ") + kQuick +
                              " --freeze 1_rate.w_rec,1_rate.tau --bound '0<=2_linear.bias<=0.001' "
                              "--bound-mode clip --out " +
                              d + "/f",
                          d);
    ASSERT_EQ(r.status, 0) << r.err;
    for (const char *frozen : {"1_rate.w_rec", "1_rate.tau"}) {
        std::vector<float> before = npz_array(d + "/f/params_initial.npz", frozen);
        EXPECT_FALSE(before.empty()) << frozen;
        EXPECT_TRUE(same_bits(before, npz_array(d + "/f/params.npz", frozen))) << frozen;
    }
    std::vector<float> b = npz_array(d + "/f/params.npz", "2_linear.bias");
    EXPECT_FALSE(b.empty());
    for (float x : b) {
        EXPECT_GE(x, 0.0f);
        EXPECT_LE(x, 0.001f);
    }
    // --init from the trained file, with --train-only: g starts from f's trained values, and only
    // 0_linear.weight moves
    r = run_cli(std::string("train --task chirp --epochs 2 ") + kQuick + " --init " + d +
                    "/f/params.npz --train-only 0_linear.weight --out " + d + "/g",
                d);
    ASSERT_EQ(r.status, 0) << r.err;
    std::vector<std::string> names = npz_names(d + "/f/params.npz");
    EXPECT_EQ(names, npz_names(d + "/g/params.npz"));
    for (const std::string &name : names) {
        std::vector<float> init = npz_array(d + "/g/params_initial.npz", name);
        EXPECT_TRUE(same_bits(init, npz_array(d + "/f/params.npz", name))) << name;
        if (name == "0_linear.weight")
            EXPECT_FALSE(same_bits(init, npz_array(d + "/g/params.npz", name))) << name;
        else
            EXPECT_TRUE(same_bits(init, npz_array(d + "/g/params.npz", name))) << name;
    }
    // a bad --init: a file made for another network (hidden 8, not 4)
    r = run_cli("train --task chirp --epochs 1 --hidden 4 --quiet --backend cpu --init " + d +
                    "/f/params.npz --out " + d + "/never",
                d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("--init"), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(d + "/never"));
}

// PNG width and height from the IHDR chunk (bytes 16..23, big-endian); {0, 0} if not a PNG.
std::pair<unsigned, unsigned> png_size(const std::string &path) {
    std::string b = read_file(path);
    if (b.size() < 24 || b.compare(1, 3, "PNG") != 0) return {0, 0};
    auto be32 = [&](size_t o) {
        return (unsigned)(unsigned char)b[o] << 24 | (unsigned)(unsigned char)b[o + 1] << 16 |
               (unsigned)(unsigned char)b[o + 2] << 8 | (unsigned)(unsigned char)b[o + 3];
    };
    return {be32(16), be32(20)};
}

// `ratenn plot` draws every figure of the tutorial from a tiny run, at the sizes the script sets.
TEST(Cli, PlotWritesEveryFigureOfATinyRun) {
    if (std::system("/usr/bin/python3 -c 'import numpy, matplotlib' 2>/dev/null") != 0 &&
        std::system("python3 -c 'import numpy, matplotlib' 2>/dev/null") != 0)
        GTEST_SKIP()
            << "python3 with numpy and matplotlib is not installed (bash .ci/setup installs them)";
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 3 ") + kQuick + " --out " + d + "/run", d)
            .status,
        0);
    CliResult r = run_cli("plot " + d + "/run", d);
    ASSERT_EQ(r.status, 0) << r.err;
    const struct {
        const char *file;
        unsigned w, h;
    } figs[] = {{"input_target.png", 1200, 400}, {"output_initial.png", 1200, 400},
                {"loss.png", 1200, 400},         {"output_trained.png", 1200, 400},
                {"states_1.png", 1200, 600},     {"tau_hist_1.png", 1200, 400},
                {"biases_1.png", 1200, 400},     {"eigenspectrum_1.png", 800, 600}};
    for (const auto &f : figs) {
        auto wh = png_size(d + "/run/plots/" + f.file);
        EXPECT_EQ(wh.first, f.w) << f.file;
        EXPECT_EQ(wh.second, f.h) << f.file;
    }
    // a synapse run adds the learned τ per epoch
    ASSERT_EQ(run_cli("train --task synapse --epochs 20 --lr 3e-3 --quiet --backend cpu --out " +
                          d + "/syn",
                      d)
                  .status,
              0);
    ASSERT_EQ(run_cli("plot " + d + "/syn", d).status, 0);
    auto wh = png_size(d + "/syn/plots/tau_per_epoch.png");
    EXPECT_EQ(wh.first, 1200u);
    EXPECT_EQ(wh.second, 400u);
}

// A deliberately unstable run: the CLI stops, names the epoch and the quantity, exits non-zero, and the
// parameters on disk are the last good ones (finite).
TEST(Cli, DivergenceStopsAndKeepsTheLastGoodParameters) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    CliResult r = run_cli("train --task chirp --hidden 8 --quiet --backend cpu --optimizer sgd "
                          "--lr 1e6 --epochs 50 --out " +
                              d + "/run",
                          d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("diverged at epoch"), std::string::npos) << r.err;
    // the quantity: a non-finite loss or gradient, or a parameter the step broke (τ <= 0)
    EXPECT_TRUE(r.err.find("not finite") != std::string::npos ||
                r.err.find("tau must be > 0") != std::string::npos)
        << r.err;
    rn_array *a = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read((d + "/run/params.npz").c_str(), &a, &n, nullptr), RN_OK) << r.err;
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < a[k].count; i++)
            ASSERT_TRUE(std::isfinite(a[k].data[i])) << a[k].name << "[" << i << "]";
    rn_arrays_free(a, n);
    EXPECT_TRUE(file_exists(d + "/run/loss.csv"));
}

// The comparison machinery, CPU against CPU: the same seed on the same backend must agree exactly, and
// every quantity is listed (on a GPU machine the same command with --against cuda is the real check).
TEST(Cli, CompareAgainstItselfReportsZeroDifferences) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    std::string cmd = std::string(RATENN_CLI_PATH) +
                      " compare --against cpu --hidden 6 --epochs 2 >" + d + "/out.txt 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(d + "/out.txt");
    std::string out = read_file(d + "/out.txt");
    int rows = 0;
    for (const char *q :
         {"loss", "grad 1_rate.tau", "grad 1_rate.w_rec", "output", "param 1_rate.tau @2"}) {
        ASSERT_NE(out.find(std::string("\n") + q), std::string::npos) << q << " missing in:\n"
                                                                      << out;
        rows++;
    }
    // every number in the differences column (the last on the line) is exactly zero (not NaN)
    std::istringstream lines(out);
    std::string line;
    int numbers = 0;
    while (std::getline(lines, line))
        if (line.rfind("loss", 0) == 0 || line.rfind("grad ", 0) == 0 ||
            line.rfind("output", 0) == 0 || line.rfind("param ", 0) == 0) {
            std::string last = line.substr(line.find_last_of(' ') + 1);
            char *end = nullptr;
            double v = std::strtod(last.c_str(), &end);
            EXPECT_TRUE(end && *end == '\0' && !last.empty()) << "not a number: " << line;
            EXPECT_EQ(v, 0.0) << line;
            numbers++;
        }
    EXPECT_GE(rows, 5);
    EXPECT_EQ(numbers, 1 + 8 + 1 + 9); // loss, 8 gradients (x0 frozen), output, 9 parameters
}

// Found in review: a run built from --net X.json could not be evaluated (config.json kept the path);
// it now keeps the JSON itself, so eval and --resume work even after the file has gone.
TEST(Cli, NetFromJsonFileSurvivesEvalAndResumeWithoutTheFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    write_file(
        d + "/net.json",
        R"({"layers": [{"type": "linear", "in": 1, "out": 6}, {"type": "rate", "n": 6, "activation": "tanh",
        "recurrent": true, "noise": 0.1}, {"type": "linear", "in": 6, "out": 1}]})");
    std::string common =
        " --task chirp --repeats 1 --quiet --backend cpu --lr 1e-3 --net " + d + "/net.json";
    ASSERT_EQ(run_cli("train" + common + " --epochs 6 --out " + d + "/a", d).status, 0);
    CliResult r =
        run_cli("train" + common + " --epochs 3 --checkpoint-every 3 --out " + d + "/b", d);
    ASSERT_EQ(r.status, 0) << r.err;
    std::remove((d + "/net.json").c_str());
    r = run_cli("train --resume " + d + "/b --epochs 6 --quiet", d);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_file(d + "/a/params.npz"), read_file(d + "/b/params.npz"));
    write_file(d + "/u.npy", npy_f32({1, 40, 1}, std::vector<float>(40, 0.5f)));
    r = run_cli("eval --params " + d + "/a/params.npz --input " + d + "/u.npy --out " + d +
                    "/y.npy --noise off",
                d);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(file_exists(d + "/y.npy"));
}

// eval needs every parameter: a file that lacks one is refused, naming it (not run half-random).
TEST(Cli, EvalRefusesAParameterFileThatLacksAParameter) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 1 ") + kQuick + " --out " + d + "/run", d)
            .status,
        0);
    rn_array *a = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read((d + "/run/params.npz").c_str(), &a, &n, nullptr), RN_OK);
    ASSERT_EQ(rn_npz_write((d + "/run/partial.npz").c_str(), a, n - 1, nullptr),
              RN_OK); // the last one left out
    std::string missing = a[n - 1].name;
    rn_arrays_free(a, n);
    write_file(d + "/u.npy", npy_f32({1, 10, 1}, std::vector<float>(10, 0.0f)));
    CliResult r = run_cli("eval --params " + d + "/run/partial.npz --config " + d +
                              "/run/config.json --input " + d + "/u.npy --out " + d + "/y.npy",
                          d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("lacks '" + missing + "'"), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(d + "/y.npy"));
}

// τ per epoch of a filter with more than 16 channels (16 columns are recorded in all), across a resume:
// no row of zeros, and the same file as a run never interrupted. Also a trailing space in a list.
TEST(Cli, TauHistoryIsWholeAcrossResumeAndWideFilters) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    std::string common = " --task synapse --net 'lowpass(1,tau=0.005) linear(1,20) "
                         "lowpass(20,tau=0.01) linear(20,1)' "
                         "--lr 1e-4 --quiet --backend cpu --freeze '0_lowpass.initial_level '";
    ASSERT_EQ(run_cli("train" + common + " --epochs 8 --out " + d + "/a", d).status, 0);
    ASSERT_EQ(
        run_cli("train" + common + " --epochs 4 --checkpoint-every 4 --out " + d + "/b", d).status,
        0);
    CliResult r = run_cli("train --resume " + d + "/b --epochs 8 --quiet", d);
    ASSERT_EQ(r.status, 0) << r.err;
    std::string ha = read_file(d + "/a/tau_history.csv"), hb = read_file(d + "/b/tau_history.csv");
    EXPECT_EQ(ha, hb);
    EXPECT_NE(ha.find("2_lowpass.tau[14]"), std::string::npos) << ha.substr(0, 200);
    std::istringstream lines(ha);
    std::string line;
    std::getline(lines, line); // header
    int rows = 0;
    while (std::getline(lines, line)) {
        rows++;
        // epoch, then one τ per column: each a finite number > 0
        std::istringstream fields(line);
        std::string field;
        std::getline(fields, field, ',');
        int columns = 0;
        while (std::getline(fields, field, ',')) {
            columns++;
            char *end = nullptr;
            double tau = std::strtod(field.c_str(), &end);
            EXPECT_TRUE(end && *end == '\0' && !field.empty() && std::isfinite(tau) && tau > 0)
                << "column " << columns << " of: " << line;
        }
        EXPECT_EQ(columns, 16) << line;
    }
    EXPECT_EQ(rows, 9); // epochs 0..8
}

} // namespace
