// The promise "one clear line, non-zero exit, nothing lost" tried further as an adversary would, one
// test per class of case that broke it (issue 15, the round after test_cli_lifecycle.cpp): a final write
// that fails after the checkpoint, FIFOs and devices given as files, eval's outputs onto a run's files,
// a config.json or data changed between a checkpoint and its resume, --overwrite of a run that holds an
// input, a failing standard output, SIGHUP, and `ratenn plot` stopped by a signal or without its Python
// modules.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.h"

namespace {

const char *kQuick = "--hidden 8 --repeats 1 --pulse 0.05 --quiet --backend cpu --lr 1e-3";
// the same for a run on data of its own (the chirp task's flags do not apply there)
const char *kQuickData = "--hidden 8 --quiet --backend cpu --lr 1e-3";

// `sh -c 'PREFIX ratenn ARGS'` (a `ulimit`, an environment variable, a redirection of stdout), stderr
// captured into dir/stderr.txt. A `timeout` keeps a hang from hanging the suite (status 124).
CliResult run_sh(const std::string &prefix, const std::string &args, const std::string &dir,
                 const std::string &stdout_to = "/dev/null") {
    std::string errf = dir + "/stderr.txt";
    std::string cmd = prefix + " timeout 30 " + std::string(RATENN_CLI_PATH) + " " + args + " >" +
                      stdout_to + " 2>'" + errf + "'";
    int st = std::system(("sh -c \"" + cmd + "\"").c_str());
    CliResult r;
    r.status = exit_status(st);
    r.err = read_file(errf);
    return r;
}

std::vector<std::string> names(const std::string &dir) {
    std::vector<std::string> v;
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(dir, ec))
        v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
}

const char *const kRunFiles[] = {"params.npz", "params_initial.npz", "loss.csv", "run.npz",
                                 "checkpoint.npz"};

void expect_same_run(const std::string &a, const std::string &b) {
    for (const char *f : kRunFiles) {
        std::string fa = read_file(a + "/" + f), fb = read_file(b + "/" + f);
        EXPECT_FALSE(fa.empty()) << f;
        EXPECT_TRUE(fa == fb) << f << " differs from the uninterrupted run's";
    }
}

// ---- class 4: a final write that fails after the checkpoint ----

// A file size limit (as a full disk) that lets the checkpoint through but not run.npz: the run fails
// with one line, and the checkpoint on disk is still the earlier one, so a resume trains the last
// epochs again and every file equals the uninterrupted run's. (The final checkpoint used to be written
// first: the resume then had "nothing to do" beside a stale run.npz.)
TEST(Adversary, AFailedFinalWriteLeavesTheEarlierCheckpointAndResumeRedoesIt) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    const std::string common =
        std::string("train --task chirp --seed 3 --checkpoint-every 2 ") + kQuick;
    ASSERT_EQ(run_cli(common + " --epochs 8 --out " + d + "/straight", d).status, 0);
    ASSERT_GT(read_file(d + "/straight/run.npz").size(), 150u * 1024) << "(the limit below)";
    ASSERT_LT(read_file(d + "/straight/checkpoint.npz").size(), 100u * 1024);
    // a resumed run, and a new run whose first checkpoints moved in
    ASSERT_EQ(run_cli(common + " --epochs 4 --out " + d + "/resumed", d).status, 0);
    for (const std::string &c : {"train --resume " + d + "/resumed --epochs 8 --quiet",
                                 common + " --epochs 8 --out " + d + "/new"}) {
        std::string run = c.find("resumed") != std::string::npos ? d + "/resumed" : d + "/new";
        CliResult r = run_sh("ulimit -f 100;", c, d);
        EXPECT_EQ(r.status, 1) << c << ": " << r.err;
        EXPECT_NE(r.err.find("run.npz: cannot write"), std::string::npos) << r.err;
        EXPECT_EQ(r.err.find("Traceback"), std::string::npos);
        r = run_cli("train --resume " + run + " --epochs 8 --quiet", d);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.err.find("nothing to do"), std::string::npos) << run << ": " << r.err;
        expect_same_run(d + "/straight", run);
    }
}

// ---- class 1: FIFOs and devices given as files ----

// A FIFO where a file is read blocked open() forever (params, eval, train's data, --init, --config,
// resume's loss.csv); a FIFO as eval's --out was replaced by a regular file (as /dev/null was). Each is
// one line now, at once.
TEST(Adversary, FifosGivenAsFilesNeitherHangNorGetReplaced) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    ASSERT_EQ(run_cli(std::string("train --task chirp --epochs 2 --checkpoint-every 1 ") + kQuick +
                          " --out " + run,
                      d)
                  .status,
              0);
    write_file(d + "/u.npy", npy_f32({1, 40, 1}, std::vector<float>(40, 0.5f)));
    ASSERT_EQ(mkfifo((d + "/fifo").c_str(), 0666), 0);
    auto before = dir_snapshot(run);
    const std::string cases[] = {
        "params U/fifo",
        "eval --params U/run/params.npz --input U/fifo --out U/y.npy",
        "eval --params U/run/params.npz --config U/fifo --input U/u.npy --out U/y.npy",
        "eval --params U/fifo --config U/run/config.json --input U/u.npy --out U/y.npy",
        "eval --params U/run/params.npz --input U/u.npy --out U/fifo",
        "eval --params U/run/params.npz --input U/u.npy --out U/y.npy --record U/fifo",
        "train --input U/fifo --target U/u.npy --epochs 1 --quiet --out U/never",
        "train --task chirp --init U/fifo --epochs 1 --quiet --out U/never",
        "train --config U/fifo --out U/never",
    };
    for (const std::string &c : cases) {
        CliResult r = run_sh("", subst(c, d), d);
        EXPECT_NE(r.status, 124) << c << ": it hung";
        EXPECT_NE(r.status, 0) << c;
        EXPECT_EQ(count_lines(r.err), 1) << c << " -> " << r.err;
        EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << c << " -> " << r.err;
        struct stat st;
        ASSERT_EQ(stat((d + "/fifo").c_str(), &st), 0);
        EXPECT_TRUE(S_ISFIFO(st.st_mode)) << c << ": the FIFO was replaced";
        EXPECT_FALSE(file_exists(d + "/y.npy")) << c;
        EXPECT_FALSE(file_exists(d + "/never")) << c;
    }
    EXPECT_EQ(before, dir_snapshot(run));
    // a resume whose history is a FIFO
    std::string loss = read_file(run + "/loss.csv");
    ASSERT_EQ(std::remove((run + "/loss.csv").c_str()), 0);
    ASSERT_EQ(mkfifo((run + "/loss.csv").c_str(), 0666), 0);
    CliResult r = run_sh("", "train --resume " + run + " --epochs 3 --quiet", d);
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("loss.csv is not a regular file"), std::string::npos) << r.err;
    std::remove((run + "/loss.csv").c_str());
    write_file(run + "/loss.csv", loss);
    EXPECT_EQ(before, dir_snapshot(run));
}

// ---- class 7: eval never writes onto a training run's files ----

TEST(Adversary, EvalNeverWritesOntoATrainingRunsFiles) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    ASSERT_EQ(run_cli(std::string("train --task chirp --epochs 2 --checkpoint-every 1 ") + kQuick +
                          " --out " + run,
                      d)
                  .status,
              0);
    write_file(d + "/u.npy", npy_f32({1, 40, 1}, std::vector<float>(40, 0.5f)));
    ASSERT_EQ(symlink((run + "/checkpoint.npz").c_str(), (d + "/ck.npz").c_str()), 0);
    auto before = dir_snapshot(run);
    const std::pair<std::string, std::string> cases[] = {
        {"--out U/run/checkpoint.npz", "checkpoint.npz"},
        {"--out U/run/../run/./run.npz", "run.npz"},
        {"--out U/y.npy --record U/run/params_initial.npz", "params_initial.npz"},
        {"--out U/y.npy --record U/run/loss.csv", "loss.csv"},
    };
    for (const auto &c : cases) {
        CliResult r = run_cli(
            "eval --params " + run + "/params.npz --input " + d + "/u.npy " + subst(c.first, d), d);
        EXPECT_EQ(r.status, 1) << c.first;
        EXPECT_EQ(count_lines(r.err), 1) << c.first << " -> " << r.err;
        EXPECT_NE(r.err.find("the " + c.second + " of a training run"), std::string::npos)
            << c.first << " -> " << r.err;
        EXPECT_EQ(before, dir_snapshot(run)) << c.first;
        EXPECT_FALSE(file_exists(d + "/y.npy")) << c.first;
    }
    // --params a run directory: named as such (it was "config.json: cannot open")
    CliResult r0 =
        run_cli("eval --params " + run + " --input " + d + "/u.npy --out " + d + "/y.npy", d);
    EXPECT_EQ(r0.status, 1);
    EXPECT_EQ(count_lines(r0.err), 1) << r0.err;
    EXPECT_NE(r0.err.find("is a directory; give its params.npz"), std::string::npos) << r0.err;
    // a link to the checkpoint as --out: the link is replaced, not the checkpoint
    CliResult r = run_cli(
        "eval --params " + run + "/params.npz --input " + d + "/u.npy --out " + d + "/ck.npz", d);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(before, dir_snapshot(run));
    // another name in the run's directory is fine
    r = run_cli(
        "eval --params " + run + "/params.npz --input " + d + "/u.npy --out " + run + "/y.npy", d);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(file_exists(run + "/y.npy"));
}

// ---- class 4: what a checkpoint resumes is the run that wrote it ----

// config.json edited by hand (a setting, the network) or data changed since the checkpoint resumed
// silently as another run; both are refused with one line, nothing touched. What --resume may change
// (--epochs, --checkpoint-every) may also be edited in the file, and a run directory moved elsewhere
// resumes; both end equal to the uninterrupted run.
TEST(Adversary, ResumeRefusesAConfigOrDataChangedSinceTheCheckpoint) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    std::vector<float> u(2 * 100), y(2 * 100);
    for (size_t i = 0; i < u.size(); i++) {
        u[i] = (i % 100) < 10 ? 1.0f : 0.0f;
        y[i] = (float)(i % 100) / 100.0f;
    }
    write_file(d + "/u.npy", npy_f32({2, 100, 1}, u));
    write_file(d + "/y.npy", npy_f32({2, 100, 1}, y));
    const std::string common = "train --input " + d + "/u.npy --target " + d +
                               "/y.npy --seed 2 --checkpoint-every 2 " + kQuickData;
    ASSERT_EQ(run_cli(common + " --epochs 8 --out " + d + "/straight", d).status, 0);
    ASSERT_EQ(run_cli(common + " --epochs 4 --out " + d + "/run", d).status, 0);
    const std::string run = d + "/run";
    const std::string cfg = read_file(run + "/config.json");
    auto before = dir_snapshot(run);
    auto edited = [&](const std::string &from, const std::string &to) {
        std::string c = cfg;
        size_t p = c.find(from);
        EXPECT_NE(p, std::string::npos) << from;
        return p == std::string::npos ? c : c.replace(p, from.size(), to);
    };
    for (const auto &e :
         std::vector<std::pair<std::string, std::string>>{{"\"lr\": 0.001", "\"lr\": 0.5"},
                                                          {"\"seed\": 2", "\"seed\": 7"},
                                                          {"rate(8,tanh,rec", "rate(8,relu,rec"},
                                                          {"\"dt\": 0.001", "\"dt\": 0.002"}}) {
        write_file(run + "/config.json", edited(e.first, e.second));
        CliResult r = run_cli("train --resume " + run + " --epochs 8 --quiet", d);
        EXPECT_EQ(r.status, 1) << e.second;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find("not written by the run that its config.json (settings, network)"),
                  std::string::npos)
            << e.second << " -> " << r.err;
    }
    write_file(run + "/config.json", cfg);
    EXPECT_EQ(before, dir_snapshot(run));
    std::vector<float> y2 = y;
    y2[5] += 1.0f; // the data, changed in place
    write_file(d + "/y.npy", npy_f32({2, 100, 1}, y2));
    CliResult r = run_cli("train --resume " + run + " --epochs 8 --quiet", d);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("its data (--input, --target, --mask) and params_initial.npz"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(before, dir_snapshot(run));
    write_file(d + "/y.npy", npy_f32({2, 100, 1}, y));
    // params_initial.npz of another run (another seed), or that run's checkpoint
    std::string other = "train --input " + d + "/u.npy --target " + d + "/y.npy --seed 9 " +
                        "--checkpoint-every 2 " + kQuickData + " --epochs 4 --out " + d + "/other";
    ASSERT_EQ(run_cli(other, d).status, 0);
    for (const char *f : {"params_initial.npz", "checkpoint.npz"}) {
        std::string mine = read_file(run + "/" + f);
        write_file(run + "/" + f, read_file(d + "/other/" + f));
        r = run_cli("train --resume " + run + " --epochs 8 --quiet", d);
        EXPECT_EQ(r.status, 1) << f << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find("checkpoint.npz was not written by the run"), std::string::npos)
            << f << ": " << r.err;
        write_file(run + "/" + f, mine);
    }
    EXPECT_EQ(before, dir_snapshot(run));
    // allowed edits, and a moved directory
    write_file(run + "/config.json", edited("\"epochs\": 4", "\"epochs\": 8"));
    ASSERT_EQ(std::rename(run.c_str(), (d + "/moved").c_str()), 0);
    r = run_cli("train --resume " + d + "/moved --quiet", d);
    ASSERT_EQ(r.status, 0) << r.err;
    expect_same_run(d + "/straight", d + "/moved");
}

// --resume of a file, a missing directory or a directory without a run spoke of a "--config" the user
// never gave.
TEST(Adversary, ResumeOfWhatIsNotARunNamesResume) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    write_file(d + "/file", "x");
    ASSERT_EQ(mkdir((d + "/empty").c_str(), 0777), 0);
    const std::pair<std::string, std::string> cases[] = {
        {"file", "not a directory"}, {"missing", "not a directory"}, {"empty", "no config.json"}};
    for (const auto &c : cases) {
        CliResult r = run_cli("train --resume " + d + "/" + c.first, d);
        EXPECT_EQ(r.status, 2) << c.first;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_EQ(r.err.rfind("ratenn train: --resume ", 0), 0u) << r.err;
        EXPECT_NE(r.err.find(c.second), std::string::npos) << r.err;
    }
    EXPECT_EQ(names(d + "/empty"), std::vector<std::string>{});
}

// ---- class 3: --overwrite of a run that holds an input ----

TEST(Adversary, OverwriteRefusesAnInputThatIsAFileOfTheRunItReplaces) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    const std::string common = std::string("train --task chirp --epochs 2 ") + kQuick;
    ASSERT_EQ(run_cli(common + " --out " + run, d).status, 0);
    ASSERT_EQ(symlink((run + "/params_initial.npz").c_str(), (d + "/link.npz").c_str()), 0);
    auto before = dir_snapshot(run);
    const std::string no_hidden = "train --task chirp --epochs 2 --repeats 1 --pulse 0.05 --quiet "
                                  "--backend cpu --lr 1e-3"; // (--net gives the width)
    for (const char *in :
         {"--init U/run/params.npz", "--init U/link.npz", "--net U/run/config.json"}) {
        const bool net = std::string(in).rfind("--net", 0) == 0;
        CliResult r = run_cli(
            (net ? no_hidden : common) + " " + subst(in, d) + " --overwrite --out " + run, d);
        EXPECT_EQ(r.status, 1) << in;
        EXPECT_EQ(count_lines(r.err), 1) << in << " -> " << r.err;
        // (a run's config.json is no network JSON: the strict reader refuses it first)
        EXPECT_NE(r.err.find(net ? "--net: JSON: unknown key" : "of the run in --out"),
                  std::string::npos)
            << in << " -> " << r.err;
        EXPECT_EQ(before, dir_snapshot(run)) << in;
    }
    // a copy elsewhere is fine
    std::filesystem::copy_file(run + "/params.npz", d + "/p.npz");
    CliResult r = run_cli(common + " --init " + d + "/p.npz --overwrite --out " + run, d);
    EXPECT_EQ(r.status, 0) << r.err;
}

// A lock file that is a link had the run's pid written into the file it named; a FIFO in its place
// was taken as a lock. Both are refused. Directories of the staging prefix that are not ratenn's
// (another length, or files that are not a run's) keep what they hold.
TEST(Adversary, TheLockFollowsNoLinkAndCleanupRemovesOnlyWhatRatennStaged) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    const std::string common = std::string("train --task chirp --epochs 1 ") + kQuick;
    write_file(d + "/precious.txt", "precious\n");
    ASSERT_EQ(mkdir(run.c_str(), 0777), 0);
    ASSERT_EQ(symlink("../precious.txt", (run + "/.ratenn.lock").c_str()), 0);
    CliResult r = run_cli(common + " --out " + run, d);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
    EXPECT_EQ(read_file(d + "/precious.txt"), "precious\n");
    ASSERT_EQ(std::remove((run + "/.ratenn.lock").c_str()), 0);
    ASSERT_EQ(mkfifo((run + "/.ratenn.lock").c_str(), 0666), 0);
    r = run_sh("", common + " --out " + run, d);
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
    EXPECT_EQ(names(run), std::vector<std::string>{".ratenn.lock"});
    ASSERT_EQ(std::remove((run + "/.ratenn.lock").c_str()), 0);
    for (const char *s : {"/.ratenn-staging-mine", "/.ratenn-staging-abcdef"}) {
        ASSERT_EQ(mkdir((run + s).c_str(), 0777), 0);
        write_file(run + s + "/notes.txt", "mine\n");
    }
    write_file(run + "/.ratenn-staging-abcdef/loss.csv", "a killed run's\n");
    r = run_cli(common + " --out " + run, d);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(read_file(run + "/.ratenn-staging-mine/notes.txt"), "mine\n");
    EXPECT_EQ(read_file(run + "/.ratenn-staging-abcdef/notes.txt"), "mine\n");
    EXPECT_FALSE(file_exists(run + "/.ratenn-staging-abcdef/loss.csv"));
}

// ---- class 7: the output of params and backends ----

TEST(Adversary, AFailingStandardOutputIsAnError) {
    if (!file_exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 1 ") + kQuick + " --out " + d + "/r", d)
            .status,
        0);
    for (const std::string &c : {"params " + d + "/r/params.npz", std::string("backends"),
                                 std::string("compare --against cpu --hidden 4 --epochs 1 "
                                             "--repeats 1"),
                                 std::string("eval --help")}) {
        CliResult r = run_sh("", c, d, "/dev/full");
        EXPECT_EQ(r.status, 1) << c;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find("cannot write to standard output"), std::string::npos) << r.err;
        EXPECT_EQ(run_sh("", c, d).status, 0) << c;
    }
    CliResult r = run_cli("backends --all", d);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
}

// ---- class 4/5: SIGHUP and the divergence line ----

// A closed terminal (SIGHUP) killed the run outright; it stops with a checkpoint now, and the resume
// equals the uninterrupted run. Divergence is one line.
TEST(Adversary, SighupStopsWithACheckpointAndDivergenceIsOneLine) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    const std::string common =
        std::string("train --task chirp --seed 8 --checkpoint-every 1 ") + kQuick;
    {
        Background bg(words(common + " --epochs 1000000 --out " + run), d + "/err.txt");
        // its first checkpoint moved in: it is training
        ASSERT_TRUE(wait_for([&] { return file_exists(run + "/checkpoint.npz"); }, 120));
        ASSERT_EQ(kill(bg.pid, SIGHUP), 0);
        EXPECT_EQ(bg.wait(120), 128 + SIGHUP) << read_file(d + "/err.txt");
    }
    std::string err = read_file(d + "/err.txt");
    size_t e = err.find("after epoch ");
    ASSERT_NE(e, std::string::npos) << err;
    long long done = std::atoll(err.c_str() + e + 12);
    const std::string n = std::to_string(done + 2);
    ASSERT_EQ(run_cli(common + " --epochs " + n + " --out " + d + "/straight", d).status, 0);
    CliResult r = run_cli("train --resume " + run + " --epochs " + n + " --quiet", d);
    ASSERT_EQ(r.status, 0) << r.err;
    expect_same_run(d + "/straight", run);

    r = run_cli("train --task chirp --hidden 8 --repeats 1 --quiet --backend cpu --optimizer sgd "
                "--lr 1e30 --epochs 5 --out " +
                    d + "/div",
                d);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(count_lines(r.err), 2) << "the start line and one line of error: " << r.err;
    std::string last = r.err.substr(r.err.find('\n') + 1);
    EXPECT_EQ(last.rfind("ratenn train: diverged at epoch 0", 0), 0u) << last;
    EXPECT_NE(last.find("the last good parameters are in"), std::string::npos) << last;
}

// ---- eval under signals ----

// The CPU time (user and system, clock ticks) process pid has used, or -1 when it is gone.
long cpu_ticks(pid_t pid) {
    std::string st = read_file("/proc/" + std::to_string(pid) + "/stat");
    size_t p = st.rfind(')'); // (the command's name may hold spaces)
    if (p == std::string::npos) return -1;
    std::istringstream in(st.substr(p + 1));
    std::string field;
    long ticks = 0;
    for (int i = 3; i <= 15 && in >> field; i++) // fields 14 and 15: utime, stime
        if (i >= 14) ticks += std::atol(field.c_str());
    return ticks;
}

// A signal to `ratenn eval` while it writes its outputs (it had no handler: killed there, it left
// "y.npy.eval-tmp.PID" behind), and while it computes: one line, 128 + the signal, nothing left.
TEST(Adversary, EvalStoppedBySignalLeavesNothingBehind) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    // a wide network, so that the forward pass takes a while and --record writes some 50 MB
    ASSERT_EQ(run_cli("train --task chirp --epochs 1 --hidden 512 --repeats 1 --pulse 0.05 "
                      "--quiet --backend cpu --out " +
                          run,
                      d)
                  .status,
              0);
    const size_t T = 12000;
    write_file(d + "/u.npy", npy_f32({1, T, 1}, std::vector<float>(T, 0.5f)));
    auto left = [&] {
        for (const auto &n : names(d))
            if (n.rfind("y.npy", 0) == 0 || n.rfind("rec.npz", 0) == 0) return true;
        return false;
    };
    const std::vector<std::string> args = {
        "eval",       "--params", run + "/params.npz", "--input",   d + "/u.npy", "--out",
        d + "/y.npy", "--record", d + "/rec.npz",      "--backend", "cpu"};
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
        Background bg(args, d + "/err.txt");
        // its first temporary file is there: it is writing (--out, then the larger --record)
        ASSERT_TRUE(wait_for(left, 120)) << read_file(d + "/err.txt");
        ASSERT_EQ(kill(bg.pid, sig), 0);
        EXPECT_EQ(bg.wait(120), 128 + sig);
        std::string err = read_file(d + "/err.txt");
        EXPECT_EQ(count_lines(err), 1) << err;
        EXPECT_NE(err.find("stopped by signal " + std::to_string(sig) +
                           " while writing; nothing written"),
                  std::string::npos)
            << err;
        EXPECT_FALSE(left()) << sig << ": a temporary file stayed";
    }
    // while it computes (a tenth of a second of CPU time in, of nearly a second): at once
    Background bg(args, d + "/err.txt");
    ASSERT_TRUE(wait_for([&] { return cpu_ticks(bg.pid) >= 10; }, 120));
    ASSERT_EQ(kill(bg.pid, SIGTERM), 0);
    EXPECT_EQ(bg.wait(120), 128 + SIGTERM);
    std::string err = read_file(d + "/err.txt");
    EXPECT_EQ(count_lines(err), 1) << err;
    EXPECT_NE(err.find("stopped by signal 15"), std::string::npos) << err;
    EXPECT_NE(err.find("nothing written"), std::string::npos) << err;
    EXPECT_FALSE(left());
}

// ---- class 7: plot under signals, without its modules, on a failing stdout ----

bool have_plotting() {
    return std::system("/usr/bin/python3 -c 'import numpy, matplotlib' 2>/dev/null") == 0;
}

TEST(Adversary, PlotLeavesNothingWhenStoppedOrUnableToFinish) {
    if (!have_plotting()) GTEST_SKIP() << "/usr/bin/python3 with numpy and matplotlib is missing";
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 2 ") + kQuick + " --out " + run, d).status,
        0);
    auto drawing = [](const std::string &png) {
        for (const auto &n : names(png))
            if (n.find(".tmp") != std::string::npos) return true;
        return false;
    };
    // SIGTERM to ratenn once the first figure is being drawn: passed on to the script, which
    // removes what it drew (it went on drawing after ratenn had gone, and a Ctrl-C printed a
    // traceback); SIGKILL to ratenn: the script goes too
    for (int sig : {SIGTERM, SIGINT, SIGKILL}) {
        const std::string png = d + "/png" + std::to_string(sig);
        Background bg({"plot", run, "--out", png}, d + "/err.txt");
        ASSERT_TRUE(wait_for([&] { return drawing(png); }, 120)) << read_file(d + "/err.txt");
        ASSERT_EQ(kill(bg.pid, sig), 0);
        EXPECT_EQ(bg.wait(120), 128 + sig);
        // (after SIGKILL the script is stopped by its parent-death signal: wait for its cleanup)
        EXPECT_TRUE(wait_for([&] { return !file_exists(png); }, 120))
            << sig << ": left " << names(png).size() << " files";
        std::string err = read_file(d + "/err.txt");
        if (sig != SIGKILL) {
            EXPECT_EQ(count_lines(err), 1) << err;
            EXPECT_NE(err.find("stopped by signal " + std::to_string(sig)), std::string::npos)
                << err;
        }
        EXPECT_EQ(err.find("Traceback"), std::string::npos) << err;
    }
    // a Python without numpy and matplotlib (-S: no site packages), a failing stdout, a FIFO
    write_file(d + "/py", "#!/bin/sh\nexec /usr/bin/python3 -I -S \"$@\"\n");
    ASSERT_EQ(chmod((d + "/py").c_str(), 0755), 0);
    CliResult r = run_sh("RATENN_PYTHON=" + d + "/py", "plot " + run + " --out " + d + "/png", d);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("lacks numpy or matplotlib"), std::string::npos) << r.err;
    if (file_exists("/dev/full")) {
        r = run_sh("", "plot " + run + " --out " + d + "/png", d, "/dev/full");
        EXPECT_EQ(r.status, 1);
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find("standard output"), std::string::npos) << r.err;
    }
    std::remove((run + "/loss.csv").c_str());
    ASSERT_EQ(mkfifo((run + "/loss.csv").c_str(), 0666), 0);
    r = run_sh("", "plot " + run + " --out " + d + "/png", d);
    EXPECT_EQ(r.status, 1) << "124: it hung";
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(d + "/png")) << "the directory plot made stayed";
}

} // namespace
