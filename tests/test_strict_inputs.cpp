// Issue 15, classes 1, 2, 6, 8 and 9: inputs mean what they say. Every bad input is one line on stderr
// that names the flag, key or layer, a non-zero exit, and nothing written; a memory limit is an
// "out of memory" line with the size, never a hang; a hostile archive is judged by its header before
// it is inflated.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli_run.h"
#include "npy_format.h"
#include "ratenn/ratenn.h"
#include "test_files.h"

namespace {

#if defined(__SANITIZE_ADDRESS__)
#define RATENN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RATENN_TEST_ASAN 1
#endif
#endif

const char *const kQuick = "--repeats 1 --hidden 4 --backend cpu --quiet";

} // namespace

// OpenBLAS's build (0 serial, 1 pthreads, 2 OpenMP); absent for another CBLAS.
extern "C" int openblas_get_parallel(void) __attribute__((weak));

namespace {

// Runs `sh -c SCRIPT` (RATENN stands for the program) and captures stdout and stderr.
struct ShResult {
    int status;
    std::string out, err;
    double seconds;
};

ShResult run_sh(const std::string &script, const std::string &dir) {
    std::string s = script;
    for (size_t p = 0; (p = s.find("RATENN", p)) != std::string::npos;) {
        s.replace(p, 6, RATENN_CLI_PATH);
        p += std::string(RATENN_CLI_PATH).size();
    }
    std::string outf = dir + "/sh-out.txt", errf = dir + "/sh-err.txt", sh = dir + "/sh.sh";
    write_file(sh, s + "\n");
    auto t0 = std::chrono::steady_clock::now();
    int st = std::system(("sh '" + sh + "' >'" + outf + "' 2>'" + errf + "'").c_str());
    ShResult r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.status = exit_status(st);
    r.out = read_file(outf);
    r.err = read_file(errf);
    return r;
}

// A refused command: the exit status, one line naming `needle`, and no output directory.
void expect_refused(const std::string &args, const std::string &needle, const std::string &dir) {
    const std::string out = dir + "/never";
    CliResult r = run_cli(args + " --out " + out, dir);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(count_lines(r.err), 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << ": " << r.err;
    EXPECT_FALSE(file_exists(out)) << args << ": the run directory was made";
}

// ---- class 1: a memory limit gives "out of memory" with the size, never a hang ----

// The library: a CPU backend that cannot have OpenBLAS's buffers says so at its first allocation (a
// trainer's creation), in a child whose address space is limited to what it has now plus 64 MiB.
TEST(StrictLimits, TheCpuBackendSaysWhenOpenBlasBuffersCannotBeHad) {
#ifdef RATENN_TEST_ASAN
    GTEST_SKIP() << "AddressSanitizer needs more address space than the limit leaves";
#endif
    if (!openblas_get_parallel) GTEST_SKIP() << "not OpenBLAS";
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        alarm(60); // a hang ends as SIGALRM
        unsigned long pages = 0;
        FILE *fp = std::fopen("/proc/self/statm", "r");
        if (!fp || std::fscanf(fp, "%lu", &pages) != 1) _exit(3);
        std::fclose(fp);
        rlim_t lim = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)64 << 20);
        struct rlimit rl = {lim, lim};
        if (setrlimit(RLIMIT_AS, &rl)) _exit(4);
        rn_error err = {};
        rn_net *net = nullptr;
        rn_backend *be = nullptr;
        rn_trainer *tr = nullptr;
        if (rn_net_from_spec(&net, "linear(1,8) rate(8) linear(8,1)", 1e-3f, 0, &err) != RN_OK ||
            rn_backend_create(&be, RN_BACKEND_CPU, &err) != RN_OK)
            _exit(5);
        rn_status st = rn_trainer_create(&tr, net, be, nullptr, 1, 100, &err);
        std::fprintf(stderr, "[ limits ] child: %s\n", err.message);
        _exit(st == RN_ERR_NO_MEMORY && std::strstr(err.message, "OpenBLAS") &&
                      std::strstr(err.message, "129 MiB")
                  ? 0
                  : 6);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "signal " << WTERMSIG(status) << " (SIGALRM: a hang)";
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(StrictLimits, MemoryLimitIsAnOutOfMemoryLineNotAHang) {
#ifdef RATENN_TEST_ASAN
    GTEST_SKIP() << "AddressSanitizer needs more address space than the limit leaves";
#endif
    if (openblas_get_parallel && openblas_get_parallel() == 2)
        GTEST_SKIP() << "OpenBLAS's OpenMP build takes its threads' buffers as the library loads, "
                        "before ratenn runs (README: Limits and errors)";
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    // OpenBLAS with worker threads (each takes a 128 MiB buffer when the library loads and, without
    // room, retried forever), and with one thread; 60 MB of address space beyond what the program
    // maps to start is enough to start but not for OpenBLAS's buffer. The KILL after 120 s is what a
    // hang would meet.
    const long limit = vm_floor_kb() + 60000;
    for (const char *threads : {"2", "1"}) {
        ShResult r =
            run_sh("ulimit -v " + std::to_string(limit) + "; OPENBLAS_NUM_THREADS=" + threads +
                       " exec timeout -s KILL 120 RATENN train --task chirp --epochs 2 " + kQuick +
                       " --out " + dir.path() + "/run" + threads,
                   dir.path());
        EXPECT_EQ(r.status, 1) << "threads " << threads << ": " << r.err;
        EXPECT_LT(r.seconds, 60.0) << threads;
        EXPECT_NE(r.err.find("out of host memory"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("129 MiB"), std::string::npos) << "the size asked for: " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_FALSE(file_exists(dir.path() + "/run" + threads)) << "found short before any file";
        std::printf("[ limits ] ulimit -v %ld, OPENBLAS_NUM_THREADS=%s: %.1f s: %s", limit, threads,
                    r.seconds, r.err.c_str());
    }
}

// ---- class 2: sizes from the flags, before any data is generated ----

TEST(StrictLimits, TaskSizesAreCheckedFromTheFlags) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    auto t0 = std::chrono::steady_clock::now();
    // 1000 trials of 3,000,000 steps: 20 GB of task data was built before the check fired
    expect_refused("train --task chirp --batch 1000 --repeats 1000 --hidden 1 --quiet",
                   "--batch 1000 x 3000000 steps is 3e+09 elements", d);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
    // B·T·width past 2^31 is checkpointed (Checkpoint.PastTheIntLimitRunsBySegments); one block of 1000
    // steps of every trial must fit
    expect_refused("train --task chirp --batch 8000 --repeats 1 --hidden 300 --quiet",
                   "--batch 8000 x a block of 1000 steps x --hidden 300 is 2.4e+09 elements", d);
    expect_refused("train --task chirp --batch 3000 --repeats 1 --quiet --net "
                   "'linear(1,1000) rate(1000) linear(1000,1)'",
                   "x width 1000 (--net's widest layer)", d);
    expect_refused("train --task chirp --batch 16777216 --quiet", "--batch 16777216", d);
    expect_refused("train --task synapse --dt 1e-12 --quiet", "--task synapse", d);
}

// ---- class 6: the network spec and JSON are strict ----

std::string net_error(const char *spec, bool json) {
    rn_net *net = nullptr;
    rn_error err = {};
    rn_status st = json ? rn_net_from_json(&net, spec, 1e-3f, 0, &err)
                        : rn_net_from_spec(&net, spec, 1e-3f, 0, &err);
    EXPECT_NE(st, RN_OK) << spec;
    EXPECT_EQ(net, nullptr) << spec;
    rn_net_free(net);
    return err.message;
}

TEST(StrictNet, JsonKeysHaveTheirTypesAndUnknownKeysAreNamed) {
    for (const char *v : {"1", "\"true\"", "null", "0"}) {
        std::string doc =
            std::string(R"({"layers": [{"type": "rate", "n": 4, "recurrent": )") + v + "}]}";
        std::string m = net_error(doc.c_str(), true);
        EXPECT_NE(m.find("\"recurrent\" must be true or false"), std::string::npos)
            << v << ": " << m;
    }
    EXPECT_NE(net_error(R"({"layers": [{"type": "rate", "n": 4, "bias": true}]})", true)
                  .find("unknown key \"bias\""),
              std::string::npos);
    EXPECT_NE(net_error(R"({"layers": [{"type": "rate", "n": 4, "noise": "0.1"}]})", true)
                  .find("\"noise\" must be a number"),
              std::string::npos);
    EXPECT_NE(net_error(R"({"layers": [{"type": "rate", "n": 4}], "dt": 0.001})", true)
                  .find("unknown key \"dt\""),
              std::string::npos);
    EXPECT_NE(net_error(R"({"layers": [{"type": "rate", "n": 4}]} junk)", true).find("trailing"),
              std::string::npos);
    EXPECT_NE(net_error(R"({"layers": [{"type": "rate", "n": 4, "n": 8}]})", true)
                  .find("\"n\" is given twice"),
              std::string::npos);
    EXPECT_NE(net_error(R"({"layers": [{"type": "rate\u0000x", "n": 4}]})", true).find("NUL"),
              std::string::npos);
    // the valid document still builds, and "recurrent": false means what it says
    rn_net *net = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_net_from_json(&net,
                               R"({"layers": [{"type": "rate", "n": 3, "recurrent": false}]})",
                               1e-3f, 0, &err),
              RN_OK)
        << err.message;
    rn_rate_options o;
    ASSERT_EQ(rn_net_rate_options(net, 0, &o, &err), RN_OK);
    EXPECT_FALSE(o.recurrent);
    rn_net_free(net);
}

TEST(StrictNet, AnOptionGivenTwiceOrOutOfFloatRangeIsRefused) {
    const struct {
        const char *spec, *needle;
    } cases[] = {
        {"rate(4, tanh, relu)", "activation is given twice"},
        {"rate(4, tanh, activation=relu)", "activation is given twice"},
        {"rate(4, rec, ff)", "given twice"},
        {"rate(4, noise=0.1, noise=0.2)", "noise is given twice"},
        {"rate(4, tau=0.1, tau=0.2)", "tau is given twice"},
        {"lowpass(2, 0.01, tau=0.02)", "tau is given twice"},
        {"doubleexp(2, tau1=0.01, tau2=0.02, tau2=0.03)", "tau2 is given twice"},
        {"linear(1, 2, bias=true, bias=false)", "bias is given twice"},
        {"rate(4, tau=1e39)", "tau=1e39"},
        {"rate(4, tau=1e-50)", "tau=1e-50"},
        {"rate(4, activation=swish)", "unknown activation 'swish'"},
    };
    for (const auto &c : cases) {
        std::string m = net_error(c.spec, false);
        EXPECT_NE(m.find(c.needle), std::string::npos) << c.spec << ": " << m;
        EXPECT_NE(m.find("layer 0"), std::string::npos) << c.spec << ": " << m;
    }
}

TEST(StrictNet, BoundsThatAdmitNoValueAreRefused) {
    rn_net *net = nullptr;
    rn_error err = {};
    ASSERT_EQ(rn_net_from_spec(&net, "rate(3)", 1e-3f, 0, &err), RN_OK) << err.message;
    EXPECT_EQ(rn_net_set_bounds(net, "0_rate.tau", INFINITY, INFINITY, RN_BOUND_PENALTY, &err),
              RN_ERR_INVALID_ARG);
    EXPECT_NE(std::string(err.message).find("'0_rate.tau'"), std::string::npos) << err.message;
    EXPECT_EQ(rn_net_set_bounds(net, "0_rate.tau", -INFINITY, -INFINITY, RN_BOUND_CLIP, &err),
              RN_ERR_INVALID_ARG);
    EXPECT_EQ(rn_net_set_bounds(net, "0_rate.tau", 0.5f, 0.25f, RN_BOUND_CLIP, &err),
              RN_ERR_INVALID_ARG);
    EXPECT_EQ(rn_net_set_bounds(net, "0_rate.tau", 0.01f, INFINITY, RN_BOUND_CLIP, &err), RN_OK);
    rn_net_free(net);
}

TEST(StrictNet, ALongSpecIsReadWhole) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    // over 1023 characters: the layers past the cut were dropped silently; the last one here is bad
    std::string spec = "linear(1,2)";
    int layers = 1;
    for (; spec.size() < 1400; layers++)
        spec += " rate(2, tanh, rec, noise=0.100000000, tau=0.0200000000)";
    CliResult r = run_cli("train --task chirp --epochs 1 --backend cpu --quiet --net '" + spec +
                              " sprinkle(2)' --out " + dir.path() + "/run",
                          dir.path());
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("unknown layer 'sprinkle'"), std::string::npos) << r.err;
    // and a long valid spec builds every layer
    r = run_cli("train --task chirp --epochs 1 --backend cpu --quiet --net '" + spec +
                    " linear(2,1)' --out " + dir.path() + "/ok",
                dir.path());
    ASSERT_EQ(r.status, 0) << r.err;
    rn_array *a = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read((dir.path() + "/ok/params.npz").c_str(), &a, &n, nullptr), RN_OK);
    std::string last = "w";
    for (int i = 0; i < n; i++)
        if (std::string(a[i].name).find("_linear.weight") != std::string::npos) last = a[i].name;
    rn_arrays_free(a, n);
    EXPECT_EQ(last, std::to_string(layers) + "_linear.weight"); // the last layer is there
}

// ---- class 6: --config and the flags ----

TEST(StrictConfig, MalformedConfigsNameTheKeyAndWriteNothing) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    const struct {
        std::string text, needle;
    } cases[] = {
        {R"({"epochs": 2} trailing)", "trailing data"},
        {R"({"epochs": 2, "epochs": 3})", "\"epochs\" is given twice"},
        {R"({"activation": "tanh\u0000junk"})", "NUL"},
        {std::string("{\"epochs\": 2}\0 {\"x\": 1}", 24), "NUL byte"},
        {R"({"epocs": 2})", "unknown key \"epocs\""},
        {R"({"epochs": "2"})", "\"epochs\" must be a whole number"},
        {R"({"epochs": 2.5})", "\"epochs\" must be a whole number"},
        {R"({"lr": true})", "\"lr\" must be a number"},
        {R"({"no-recurrent": 1})", "\"no-recurrent\" must be true or false"},
        {R"({"resume": "somewhere"})", "\"resume\" cannot be set in a config file"},
        {R"({"config": "other.json"})", "\"config\" cannot be set in a config file"},
        {R"({"lr": 1e-50})", "too small for a float32"},
        {R"({"dt": 1e39})", "too large"},
        {R"({"task": "chirp", "target-tau": 0.5})", "--target-tau (set by the config file)"},
    };
    for (const auto &c : cases) {
        write_file(d + "/cfg.json", c.text);
        expect_refused("train --config " + d + "/cfg.json --epochs 1 --backend cpu --quiet",
                       c.needle, d);
    }
}

TEST(StrictConfig, ARunsOwnConfigRepeatsIt) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    // every flag is in config.json, those that do not apply at their defaults: accepted
    for (const char *task : {"chirp", "synapse"}) {
        const std::string a = d + "/" + task;
        std::string extra = std::string(task) == "chirp" ? kQuick : "--backend cpu --quiet";
        ASSERT_EQ(
            run_cli(std::string("train --task ") + task + " --epochs 2 " + extra + " --out " + a, d)
                .status,
            0);
        CliResult r = run_cli("train --config " + a + "/config.json --out " + a + "-again", d);
        EXPECT_EQ(r.status, 0) << task << ": " << r.err;
        EXPECT_EQ(read_file(a + "/loss.csv"), read_file(a + "-again/loss.csv")) << task;
    }
}

TEST(StrictConfig, FlagsThatDoNotApplyAreRefused) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    expect_refused("train --task synapse --repeats 2 --quiet", "--repeats does not apply", d);
    expect_refused("train --task synapse --hidden 8 --quiet", "--hidden does not apply", d);
    expect_refused("train --task chirp --tau0 0.01 --quiet", "--tau0 does not apply", d);
    expect_refused("train --task chirp --target-tau2 0.01 --quiet", "--target-tau2 does not apply",
                   d);
    expect_refused("train --task chirp --net 'linear(1,4) rate(4) linear(4,1)' --noise 0.2 --quiet",
                   "--noise does not apply with --net", d);
    expect_refused("train --task chirp --bound-mode clip --quiet", "--bound-mode does not apply",
                   d);
}

TEST(StrictConfig, ValuesAreCheckedAndNamed) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    expect_refused("train --tau-min -5 --quiet", "--tau-min must be >= 0 (got -5)", d);
    expect_refused("train --w-mse -1 --quiet", "--w-mse must be >= 0 (got -1)", d);
    expect_refused("train --w-bounds -0.5 --quiet", "--w-bounds must be >= 0", d);
    expect_refused("train --w-l2 -1 --quiet", "--w-l2 must be >= 0", d);
    expect_refused("train --clip-norm -1 --quiet", "--clip-norm must be >= 0", d);
}

// ---- class 9: numeric messages say what is wrong and where ----

TEST(StrictConfig, NumbersOutOfFloatRangeAreNamedNotRounded) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    expect_refused("train --dt 4e-320 --quiet", "--dt: '4e-320' is too small for a float32", d);
    expect_refused("train --lr 1e-50 --quiet", "--lr: '1e-50' is too small for a float32", d);
    expect_refused("train --lr 1e39 --quiet", "--lr: '1e39' is too large", d);
    expect_refused("train --noise 1e400 --quiet", "--noise: '1e400' is too large", d);
    expect_refused("train --dt nan --quiet", "--dt: 'nan' is not a finite number", d);
    expect_refused("train --net 'linear(1,4) rate(4, tau=1e39) linear(4,1)' --quiet",
                   "layer 1 'rate(4, tau=1e39)': tau=1e39", d);
    expect_refused("train --bound '1_rate.tau>=1e39' --quiet",
                   "--bound '1_rate.tau>=1e39': 1e+39 is not a finite number in float32's range",
                   d);
    expect_refused("train --bound '1_rate.tau<=1e-50' --quiet",
                   "1e-50 is not a finite number in float32", d);
    expect_refused("train --bound '1_rate.tau>=inf' --quiet", "inf is not a finite number", d);
    expect_refused("train --bound '1<=1_rate.tau<=0.5' --quiet", "need lower <= upper (got 1, 0.5)",
                   d);
}

// A number is read as it looks: strtod also takes hexadecimal ("noise=0x10" was a noise of 16,
// "--dt 0x1p-10" a dt of 1/1024), "inf", "nan" and leading white space. Specs, flags, bounds and sizes
// take plain decimal numbers (with an exponent) and name the key or flag otherwise.
TEST(StrictNet, NumbersAreDecimalAsWritten) {
    const struct {
        const char *spec, *needle;
    } specs[] = {
        {"rate(4, noise=0x10)", "layer 0 'rate(4, noise=0x10)': noise=0x10 is not a finite number "
                                "in decimal notation"},
        {"rate(4, tau=0x1p-3)", "tau=0x1p-3 is not a finite number in decimal notation"},
        {"rate(4, tau=inf)", "tau=inf is not a finite number in decimal notation"},
        {"rate(4, noise=nan)", "noise=nan is not a finite number in decimal notation"},
        {"rate(4, tau=Infinity)", "tau=Infinity is not"},
        {"lowpass(2, 0X10)", "tau=0X10 is not a finite number in decimal notation"},
        {"doubleexp(2, tau1=0.01, tau2=0x.8p1)", "tau2=0x.8p1 is not"},
        {"rate(4, tau=1e)", "tau=1e is not"},
        {"rate(4, tau=.)", "tau=. is not"},
    };
    for (const auto &c : specs) {
        std::string m = net_error(c.spec, false);
        EXPECT_NE(m.find(c.needle), std::string::npos) << c.spec << ": " << m;
    }
    // what JSON cannot hold as a finite number comes out the same way
    EXPECT_NE(net_error(R"({"layers": [{"type": "rate", "n": 4, "tau": 1e999}]})", true)
                  .find("tau=inf is not a finite number"),
              std::string::npos);
    // decimal numbers in every spelling still build, to the value written
    rn_net *net = nullptr;
    rn_error err = {};
    ASSERT_EQ(
        rn_net_from_spec(&net, "rate(3, noise=.5, tau=2E-2) lowpass(3, tau=+5.)", 1e-3f, 0, &err),
        RN_OK)
        << err.message;
    rn_rate_options o;
    ASSERT_EQ(rn_net_rate_options(net, 0, &o, &err), RN_OK);
    EXPECT_EQ(o.noise_std, 0.5f);
    EXPECT_EQ(o.tau, 0.02f);
    rn_net_free(net);

    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = std::string("train --epochs 1 ") + kQuick;
    expect_refused(run + " --noise 0x10",
                   "--noise: '0x10' is not a finite number in decimal notation", d);
    expect_refused(run + " --dt 0x1p-10", "--dt: '0x1p-10' is not a finite number", d);
    expect_refused(run + " --lr infinity", "--lr: 'infinity' is not a finite number", d);
    expect_refused(run + " --lr -INF", "--lr: '-INF' is not a finite number", d);
    expect_refused(run + " --lr ' 0.01'", "--lr: ' 0.01' is not a finite number", d);
    expect_refused(run + " --clip-norm 1e", "--clip-norm: '1e' is not a finite number", d);
    expect_refused("train --epochs ' 1' " + std::string(kQuick), "--epochs: ' 1' is not an integer",
                   d);
    expect_refused(run + " --max-memory 0x10M", "--max-memory: expected a size", d);
    expect_refused(run + " --max-memory infG", "--max-memory: expected a size", d);
    expect_refused(run + " --bound '1_rate.tau>=0x1'",
                   "--bound '1_rate.tau>=0x1': 0x1 is not a finite number in decimal notation", d);
    expect_refused(run + " --bound '0x1<=1_rate.tau'", "0x1 is not a finite number in decimal", d);
    expect_refused(run + " --bound '0<=1_rate.tau<=nan'", "nan is not a finite number in decimal",
                   d);
    // and the decimal spellings are taken as written
    CliResult r =
        run_cli(run + " --lr 1E-3 --dt .001 --noise +0.1 --max-memory 1.5G --out " + d + "/ok", d);
    EXPECT_EQ(r.status, 0) << r.err;
}

TEST(StrictConfig, ParamsTakesTheNameAfterTheFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 1 ") + kQuick + " --out " + d + "/r", d)
            .status,
        0);
    // the README's `ratenn params FILE NAME`, the same as --name NAME
    ShResult pos = run_sh("RATENN params " + d + "/r/params.npz 1_rate.tau", d);
    ShResult flag = run_sh("RATENN params " + d + "/r/params.npz --name 1_rate.tau", d);
    EXPECT_EQ(pos.status, 0) << pos.err;
    EXPECT_EQ(pos.out, flag.out);
    EXPECT_NE(pos.out.find("1_rate.tau"), std::string::npos) << pos.out;
    EXPECT_EQ(pos.out.find("0_linear.weight"), std::string::npos) << pos.out;
    ShResult both = run_sh("RATENN params " + d + "/r/params.npz 1_rate.tau --name 1_rate.tau", d);
    EXPECT_EQ(both.status, 2);
    EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
}

// `ratenn eval` reads the run's config.json as --resume does (it had a parser of its own that took
// trailing data, the first of two keys, unknown keys, a seed of -3 or 1.5 as 0 or 1; and the keys that
// only describe the run are of their types too): a corrupted file is one line naming the key, and
// nothing is written.
TEST(StrictConfig, EvalReadsTheRunsConfigAsResumeDoes) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/r";
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 1 ") + kQuick + " --out " + run, d).status,
        0);
    write_file(d + "/u.npy", npy_f32({1, 40, 1}, std::vector<float>(40, 0.5f)));
    const std::string cfg = read_file(run + "/config.json");
    // cfg with the value of "key" replaced by v
    auto with = [&](const std::string &key, const std::string &v) {
        std::string t = cfg;
        size_t p = t.find("\"" + key + "\": ");
        EXPECT_NE(p, std::string::npos) << key;
        p += key.size() + 4;
        size_t e = t.find('\n', p); // (config.json has one key per line)
        t.replace(p, e - (t[e - 1] == ',') - p, v);
        return t;
    };
    const struct {
        std::string text, needle;
    } cases[] = {
        {"{\"dt\": 0.5, " + cfg.substr(1), "the key \"dt\" is given twice"},
        {cfg + "junk", "trailing data"},
        {cfg.substr(0, cfg.size() / 2), "not valid JSON"},
        {with("dt", "\"0.001\""), "\"dt\" must be a number"},
        {with("dt", "-0.001"), "\"dt\" must be > 0"},
        {with("seed", "-3"), "\"seed\" must be >= 0"},
        {with("seed", "1.5"), "\"seed\" must be a whole number"},
        {with("net_effective", "5"), "\"net_effective\" must be a string"},
        // the keys that describe the run are not applied, but hold what they say they hold
        {with("steps", "\"300\""), "\"steps\" must be a whole number >= 0"},
        {with("trials", "-1"), "\"trials\" must be a whole number >= 0"},
        {with("trials", "1.5"), "\"trials\" must be a whole number >= 0"},
        {with("backend_used", "null"), "\"backend_used\" must be a string"},
        {with("ratenn_version", "[1]"), "\"ratenn_version\" must be a string"},
        {"{\"sead\": 1, " + cfg.substr(1), "unknown key \"sead\""},
    };
    const std::string eval =
        "eval --params " + run + "/params.npz --input " + d + "/u.npy --out " + d + "/y.npy";
    for (const auto &c : cases) {
        write_file(d + "/cfg.json", c.text);
        CliResult r = run_cli(eval + " --config " + d + "/cfg.json", d);
        EXPECT_EQ(r.status, 1) << c.needle << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << c.needle << ": " << r.err;
        EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("cfg.json"), std::string::npos) << r.err;
        EXPECT_FALSE(file_exists(d + "/y.npy")) << c.needle;
    }
    // the run's own config.json, found beside params.npz
    CliResult r = run_cli(eval, d);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(file_exists(d + "/y.npy"));
}

// ---- class 6: masks and checkpoints by shape, not element count ----

TEST(StrictShapes, MaskMustBeBT) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    const size_t B = 2, T = 30;
    std::vector<float> u(B * T, 0.5f), m(B * T, 1.0f);
    write_file(d + "/u.npy", npy_f32({B, T, 1}, u));
    write_file(d + "/y.npy", npy_f32({B, T, 1}, u));
    const std::string base = "train --input " + d + "/u.npy --target " + d + "/y.npy --epochs 1 " +
                             "--backend cpu --quiet --mask ";
    write_file(d + "/tb.npy", npy_f32({T, B}, m));
    expect_refused(base + d + "/tb.npy", "has shape (30, 2); expected (B, T) = (2, 30)", d);
    write_file(d + "/bt1.npy", npy_f32({B, T, 1}, m));
    expect_refused(base + d + "/bt1.npy", "has shape (2, 30, 1)", d);
    write_file(d + "/bt.npy", npy_f32({B, T}, m));
    EXPECT_EQ(run_cli(base + d + "/bt.npy --out " + d + "/ok", d).status, 0);
}

TEST(StrictShapes, CheckpointMembersMustHaveTheParametersShape) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    ASSERT_EQ(run_cli(std::string("train --task chirp --epochs 4 --checkpoint-every 2 ") + kQuick +
                          " --out " + run,
                      d)
                  .status,
              0);
    rn_array *a = nullptr;
    int n = 0;
    const std::string ck = run + "/checkpoint.npz";
    ASSERT_EQ(rn_npz_read(ck.c_str(), &a, &n, nullptr), RN_OK);
    bool changed = false;
    for (int i = 0; i < n; i++)
        if (std::string(a[i].name) == "1_rate.w_rec") { // (4, 4) as (2, 8): the same 16 elements
            a[i].shape[0] = 2;
            a[i].shape[1] = 8;
            changed = true;
        }
    ASSERT_TRUE(changed);
    ASSERT_EQ(rn_npz_write(ck.c_str(), a, n, nullptr), RN_OK);
    rn_arrays_free(a, n);
    CliResult r = run_cli("train --resume " + run + " --epochs 6", d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("'1_rate.w_rec'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("(4, 4)"), std::string::npos) << r.err;
}

// ---- class 8: a deflated member is judged by its .npy header before it is inflated ----

void put16(std::string &s, uint32_t v) {
    s += (char)(v & 0xff);
    s += (char)((v >> 8) & 0xff);
}
void put32(std::string &s, uint32_t v) {
    put16(s, v & 0xffff);
    put16(s, v >> 16);
}

// A one-member .npz: `plain` deflated (stored blocks: level 0, so the member is about as long as
// plain), with `stated` as the directory's uncompressed size and the CRC of plain.
std::string npz_stating(const std::string &plain, uint32_t stated) {
    z_stream zs = {};
    EXPECT_EQ(deflateInit2(&zs, 0, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string comp(deflateBound(&zs, plain.size()), '\0');
    zs.next_in = (Bytef *)plain.data();
    zs.avail_in = (uInt)plain.size();
    zs.next_out = (Bytef *)&comp[0];
    zs.avail_out = (uInt)comp.size();
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    comp.resize(zs.total_out);
    deflateEnd(&zs);
    const uint32_t crc = (uint32_t)crc32(0, (const Bytef *)plain.data(), (uInt)plain.size());
    const std::string name = "a.npy";
    std::string z, cd;
    put32(z, 0x04034b50);
    put16(z, 20), put16(z, 0), put16(z, 8), put16(z, 0), put16(z, 0);
    put32(z, crc), put32(z, (uint32_t)comp.size()), put32(z, stated);
    put16(z, (uint32_t)name.size()), put16(z, 0);
    z += name + comp;
    put32(cd, 0x02014b50);
    put16(cd, 20), put16(cd, 20), put16(cd, 0), put16(cd, 8), put16(cd, 0), put16(cd, 0);
    put32(cd, crc), put32(cd, (uint32_t)comp.size()), put32(cd, stated);
    put16(cd, (uint32_t)name.size()), put16(cd, 0), put16(cd, 0), put16(cd, 0), put16(cd, 0);
    put32(cd, 0), put32(cd, 0);
    cd += name;
    const uint32_t cd_offset = (uint32_t)z.size();
    z += cd;
    put32(z, 0x06054b50);
    put16(z, 0), put16(z, 0), put16(z, 1), put16(z, 1);
    put32(z, (uint32_t)cd.size()), put32(z, cd_offset), put16(z, 0);
    return z;
}

// 1 MiB of member bytes may state up to ~1 GiB (deflate's 1032:1): a (4,) array followed by junk.
std::string hostile_member(size_t junk) {
    std::string plain = npy_f32({4}, {1, 2, 3, 4});
    uint32_t x = 12345;
    for (size_t i = 0; i < junk; i++) {
        x = x * 1664525u + 1013904223u;
        plain += (char)(x >> 24);
    }
    return plain;
}

TEST(StrictArchives, TheHeaderIsCheckedBeforeInflating) {
    std::string z = npz_stating(hostile_member(1 << 20), 1u << 30);
    rn_array *a = nullptr;
    int n = 0;
    rn_error err = {};
    EXPECT_EQ(rn_npz_parse((const unsigned char *)z.data(), z.size(), "h.npz", &a, &n, &err),
              RN_ERR_FORMAT);
    EXPECT_EQ(a, nullptr);
    // the member was not inflated (that would have said "decompressed to ... bytes")
    EXPECT_NE(std::string(err.message)
                  .find("the .npy header's shape makes 144 bytes, the archive "
                        "says the member is 1073741824"),
              std::string::npos)
        << err.message;
}

TEST(StrictArchives, AHostileArchiveUnderAMemoryLimitIsOneLine) {
#ifdef RATENN_TEST_ASAN
    GTEST_SKIP() << "AddressSanitizer needs more address space than the limit leaves";
#endif
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    // (1) the header disagrees with the stated size; (2) it agrees (a (2^28,) float32 array, 1 GiB)
    // but the stream holds 1 MiB: refused before, or by, the one allocation of the stated size
    write_file(d + "/h1.npz", npz_stating(hostile_member(1 << 20), 1u << 30));
    std::string big = npy_bytes(npy_dict("<f4", "(268435456,)"), std::string(1 << 20, '\0'));
    write_file(d + "/h2.npz", npz_stating(big, (uint32_t)(big.size() - (1 << 20)) + (1u << 30)));
    const long limit = vm_floor_kb() + 250000; // the program's own mappings and 250 MB
    for (const char *f : {"h1.npz", "h2.npz"}) {
        ShResult r = run_sh("ulimit -v " + std::to_string(limit) +
                                "; exec timeout -s KILL 60 RATENN params " + d + "/" + f,
                            d);
        EXPECT_EQ(r.status, 1) << f << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find(std::string(f) + ":a.npy"), std::string::npos) << r.err;
        std::printf("[ archive ] %s under ulimit -v %ld: %s", f, limit, r.err.c_str());
    }
}

} // namespace
