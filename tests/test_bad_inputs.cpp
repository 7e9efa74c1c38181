// The bad-input matrix of the command line, run as a user runs it (a child process): each bad input
// exits non-zero with one line that names the argument or file and the problem, leaves no partial output
// behind, and leaves an existing output directory's files untouched. Then faults while training:
// SIGKILL during checkpoint writes, and a full disk (a file size limit).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"
#include "ratenn/io.h"
#include "ratenn/ratenn.h"

namespace {

const char *kQuick = "--hidden 8 --repeats 1 --quiet --backend cpu --lr 1e-3";

struct Bad {
    std::string args;   // after "ratenn train"; U/ is the test's directory
    std::string expect; // words the one line must hold
};

// Files that are not directories, with their bytes, for "untouched" checks.
std::vector<std::pair<std::string, std::string>> snapshot(const std::string &dir) {
    std::vector<std::pair<std::string, std::string>> v;
    for (const char *f : {"config.json", "loss.csv", "params.npz", "params_initial.npz", "run.npz"})
        v.push_back({f, read_file(dir + "/" + f)});
    return v;
}

std::string leftovers(const std::string &dir) { // temporary files a failed write left
    std::string out;
    FILE *p = popen(("ls -A '" + dir + "' 2>/dev/null | grep '\\.tmp\\.' || true").c_str(), "r");
    char buf[256];
    while (p && fgets(buf, sizeof buf, p))
        out += buf;
    if (p) pclose(p);
    return out;
}

TEST(BadInputs, EveryCaseFailsWithOneLineAndLeavesOutputsAlone) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    auto npy = [&](const char *name, std::vector<size_t> shape, std::vector<float> v) {
        write_file(d + "/" + name, npy_f32(shape, v));
    };
    npy("u.npy", {2, 10, 1}, std::vector<float>(20, 0.5f));
    npy("y.npy", {2, 10, 1}, std::vector<float>(20, 0.25f));
    npy("y3.npy", {3, 10, 1}, std::vector<float>(30, 0.25f));
    npy("t0.npy", {2, 0, 1}, {});
    npy("b0.npy", {0, 10, 1}, {});
    std::vector<float> inf(20, 0.25f);
    inf[7] = INFINITY;
    npy("inf.npy", {2, 10, 1}, inf);
    std::string good = npy_f32({2, 10, 1}, std::vector<float>(20, 0.5f));
    // a header length of 65535 in a short file
    std::string huge = good.substr(0, 8) + std::string("\xff\xff", 2) + good.substr(10);
    write_file(d + "/hugeheader.npy", huge);
    write_file(d + "/empty.npy", "");
    write_file(d + "/afile", "x");

    // An existing run whose files must survive every failure below.
    std::string run = d + "/run";
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 2 ") + kQuick + " --out " + run, d).status,
        0);
    auto before = snapshot(run);

    const Bad cases[] = {
        {"--input U/hugeheader.npy --target U/y.npy", "hugeheader.npy"},
        {"--input U/empty.npy --target U/y.npy", "empty.npy"},
        {"--input U/u.npy --target U/inf.npy", "not finite"},
        {"--input U/u.npy --target U/y3.npy", "must match"},
        {"--input U/t0.npy --target U/t0.npy", "t0.npy"},
        {"--input U/b0.npy --target U/b0.npy", "b0.npy"},
        {"--task chirp --net 'linear(1,4) rate(4,tau=0) linear(4,1)'", "tau"},
        {"--task chirp --net 'linear(1,4) rate(4,tau=-0.02) linear(4,1)'", "tau"},
        {"--task chirp --net 'linear(1,4) rate(4,tau=nan) linear(4,1)'", "tau"},
        {"--task chirp --net 'linear(1,4) rate(4,tau=inf) linear(4,1)'", "tau"},
        {"--task chirp --dt 0", "--dt"},
        {"--task chirp --dt -0.001", "--dt"},
        {"--task chirp --noise -1", "--noise"},
        {"--task chirp --batch 0", "--batch"},
        {"--task chirp --repeats 0", "--repeats"},
        {"--task chirp --hidden 2000000000", "1048576"},
        {"--task chirp --hidden 200000", "memory"},
        {"--task chirp --epochs 1 --epochs 2", "more than once"},
        {"--task chirp --frobnicate", "unknown flag"},
        {"--task chirp --lr inf", "--lr"},
    };
    std::printf("[ matrix ] %-68s | %s\n", "ratenn train ...", "the one line it prints");
    for (const Bad &c : cases) {
        std::string args = subst(c.args, d);
        // into the existing run's directory: a failure must not touch what is there
        CliResult r = run_cli(
            "train " + args + " --epochs 1 --quiet --backend cpu --overwrite --out " + run, d);
        std::string line = r.err;
        while (!line.empty() && line.back() == '\n')
            line.pop_back();
        std::printf("[ matrix ] %-68s | %s\n", c.args.c_str(), line.c_str());
        EXPECT_NE(r.status, 0) << c.args;
        EXPECT_LT(r.status, 128) << c.args << ": killed by a signal";
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << " -> " << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << " -> " << r.err;
        EXPECT_EQ(before, snapshot(run)) << c.args << ": the existing run's files changed";
        EXPECT_EQ(leftovers(run), "") << c.args;
        // and into a fresh directory: nothing is created
        r = run_cli("train " + args + " --epochs 1 --quiet --backend cpu --out " + d + "/never", d);
        EXPECT_NE(r.status, 0);
        EXPECT_FALSE(file_exists(d + "/never")) << c.args;
    }
    // an output directory that cannot be made (a path through a regular file)
    CliResult r = run_cli(
        std::string("train --task chirp --epochs 1 ") + kQuick + " --out " + d + "/afile/sub", d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("afile/sub"), std::string::npos) << r.err;
    std::printf("[ matrix ] %-68s | %s", "--out <path through a file>", r.err.c_str());
}

// A file size limit stands for a full disk: the write fails, is reported naming the file, and the files
// of the previous run in that directory are left whole (write to a temporary, then rename).
TEST(Faults, FullDiskFailsCleanlyAndKeepsThePreviousFiles) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 2 ") + kQuick + " --out " + run, d).status,
        0);
    auto before = snapshot(run);
    // 64 KiB: config.json fits, run.npz (input, target, outputs, states of 3000 steps) does not
    std::string cmd = "ulimit -f 64; " + std::string(RATENN_CLI_PATH) +
                      " train --task chirp --epochs 3 " + kQuick + " --overwrite --out " + run +
                      " >/dev/null 2>" + d + "/err.txt";
    int st = std::system(("sh -c '" + cmd + "'").c_str());
    std::string err = read_file(d + "/err.txt");
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0) << "status " << st << ": " << err;
    EXPECT_NE(err.find("File too large"), std::string::npos) << err;
    std::printf("[ faults ] full disk: %s", err.c_str());
    EXPECT_EQ(leftovers(run), "");
    // every file there is still a whole file: either the old one or a complete new one
    rn_array *a = nullptr;
    int n = 0;
    for (const char *f : {"params.npz", "params_initial.npz", "run.npz"}) {
        EXPECT_EQ(rn_npz_read((run + "/" + f).c_str(), &a, &n, nullptr), RN_OK) << f;
        rn_arrays_free(a, n);
    }
    EXPECT_EQ(before[4], snapshot(run)[4]) << "run.npz (too big to write) must be the previous one";
}

// The modification time of a file in ns, or -1 when it is not there.
long long mtime_ns(const std::string &path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return -1;
    return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

// SIGKILL at random moments of a run that checkpoints every epoch: the checkpoint on disk is always
// loadable, and resuming from it ends bit-identical to a run never interrupted.
TEST(Faults, SigkillDuringCheckpointsLeavesALoadableOneAndResumeIsExact) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    std::string common = std::string(" --task chirp ") + kQuick + " --seed 5";
    ASSERT_EQ(run_cli("train" + common + " --epochs 40 --out " + d + "/straight", d).status, 0);
    std::string run = d + "/killed";
    int kills = 0;
    for (int round = 0; round < 6; round++) {
        std::string cmd = std::string(RATENN_CLI_PATH) + " train" + common +
                          " --epochs 40 --checkpoint-every 1 --out " + run;
        if (file_exists(run + "/checkpoint.npz"))
            cmd = std::string(RATENN_CLI_PATH) + " train --resume " + run + " --quiet";
        // ratenn itself in the child (no shell between: the kill reaches the run, and nothing of
        // it survives to race the next round's resume for the files)
        std::vector<std::string> words;
        std::istringstream split(cmd);
        for (std::string w; split >> w;)
            words.push_back(w);
        std::vector<char *> argv;
        for (auto &w : words)
            argv.push_back(w.data());
        argv.push_back(nullptr);
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execv(argv[0], argv.data());
            _exit(127);
        }
        // a different moment each round, counted from the run's next checkpoint (not from its
        // start: a busy machine may take longer than any fixed time to start and train an epoch)
        const long long before = mtime_ns(run + "/checkpoint.npz");
        for (int i = 0; i < 6000 && mtime_ns(run + "/checkpoint.npz") == before; i++) {
            int st = 0;
            if (waitpid(pid, &st, WNOHANG) == pid) { // (it finished)
                pid = -1;
                break;
            }
            usleep(10000);
        }
        usleep(4000 * round);
        if (pid < 0) continue;
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        usleep(50000);
        kills++;
        if (file_exists(run + "/checkpoint.npz")) {
            rn_array *a = nullptr;
            int n = 0;
            ASSERT_EQ(rn_npz_read((run + "/checkpoint.npz").c_str(), &a, &n, nullptr), RN_OK)
                << "after kill " << kills;
            rn_arrays_free(a, n);
        }
    }
    ASSERT_TRUE(file_exists(run + "/checkpoint.npz"))
        << "no checkpoint was written in " << kills << " attempts";
    CliResult r = run_cli("train --resume " + run + " --quiet", d);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_file(d + "/straight/params.npz"), read_file(run + "/params.npz"));
    EXPECT_EQ(read_file(d + "/straight/loss.csv"), read_file(run + "/loss.csv"));
}

} // namespace
