// The promise "one clear line, nothing lost" for a run's directory and the other subcommands, tried as
// an adversarial user would (issue 15): one run per directory (a lock, a staged new run), resume exact in
// every file and refusing what cannot apply, divergence keeping parameters that work, eval and plot
// writing nothing on failure and never onto an input, and the closing and Ctrl-C lines.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cli_run.h"
#include "ratenn/io.h"

namespace {

const char *kQuick = "--hidden 8 --repeats 1 --pulse 0.05 --quiet --backend cpu --lr 1e-3";

// `ratenn ARGS` run from the working directory cwd, stderr captured into errdir/stderr.txt.
CliResult run_in(const std::string &cwd, const std::string &args, const std::string &errdir) {
    std::string errf = errdir + "/stderr.txt";
    std::string cmd = "cd '" + cwd + "' && " + std::string(RATENN_CLI_PATH) + " " + args +
                      " >/dev/null 2>'" + errf + "'";
    int st = std::system(cmd.c_str());
    CliResult r;
    r.status = exit_status(st);
    r.err = read_file(errf);
    return r;
}

// Names in dir that start with prefix.
std::vector<std::string> entries(const std::string &dir, const std::string &prefix) {
    std::vector<std::string> v;
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().filename().string().rfind(prefix, 0) == 0)
            v.push_back(e.path().filename().string());
    return v;
}

// Whether FILE exists in a staging directory of dir (a new run's files before they move in).
bool staged(const std::string &dir, const std::string &file) {
    for (const std::string &s : entries(dir, ".ratenn-staging-"))
        if (file_exists(dir + "/" + s + "/" + file)) return true;
    return false;
}

std::string without_line(const std::string &text, const std::string &key) {
    std::string out;
    size_t p = 0;
    while (p < text.size()) {
        size_t e = text.find('\n', p);
        e = e == std::string::npos ? text.size() : e + 1;
        std::string line = text.substr(p, e - p);
        if (line.find("\"" + key + "\"") == std::string::npos) out += line;
        p = e;
    }
    return out;
}

// ---- class 3: one run, one directory ----

// Two runs into one --out at once: the second is refused with one line, the first goes on, and the
// directory holds the first run's files only.
TEST(Lifecycle, ASecondRunIntoTheSameOutIsRefusedWhileTheFirstHoldsIt) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    Background first(words(std::string("train --task chirp --epochs 100000 --seed 1 ") + kQuick +
                           " --out " + run),
                     d + "/first.txt");
    ASSERT_TRUE(wait_for([&] { return staged(run, "params_initial.npz"); }, 60));
    CliResult r = run_cli(
        std::string("train --task chirp --epochs 2 --seed 2 ") + kQuick + " --out " + run, d);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("another ratenn run (pid " + std::to_string(first.pid) + ")"),
              std::string::npos)
        << r.err;
    // --resume and --overwrite are refused the same way
    r = run_cli("train --resume " + run + " --quiet", d);
    EXPECT_NE(r.status, 0);
    r = run_cli(
        std::string("train --task chirp --epochs 2 ") + kQuick + " --overwrite --out " + run, d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("another ratenn run"), std::string::npos) << r.err;
    ASSERT_EQ(kill(first.pid, SIGINT), 0);
    EXPECT_EQ(first.wait(60), 130) << read_file(d + "/first.txt");
    std::string cfg = read_file(run + "/config.json");
    EXPECT_NE(cfg.find("\"seed\": 1,"), std::string::npos) << cfg;
    EXPECT_TRUE(file_exists(run + "/checkpoint.npz"));
    EXPECT_TRUE(entries(run, ".ratenn-staging-").empty());
}

// A new run into a directory that holds a run is refused (files untouched) unless --overwrite; with
// it, none of the older run's files stay (its checkpoint above all: --resume cannot mix the two).
TEST(Lifecycle, ADirectoryWithAnotherRunIsRefusedUnlessOverwrite) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    ASSERT_EQ(run_cli("train --task synapse --epochs 6 --checkpoint-every 3 --lr 3e-3 --quiet "
                      "--backend cpu --out " +
                          run,
                      d)
                  .status,
              0);
    ASSERT_TRUE(file_exists(run + "/checkpoint.npz"));
    ASSERT_TRUE(file_exists(run + "/tau_history.csv"));
    auto before = dir_snapshot(run);
    CliResult r =
        run_cli(std::string("train --task chirp --epochs 2 ") + kQuick + " --out " + run, d);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("already holds a run"), std::string::npos) << r.err;
    EXPECT_EQ(before, dir_snapshot(run));
    r = run_cli(
        std::string("train --task chirp --epochs 2 ") + kQuick + " --overwrite --out " + run, d);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_FALSE(file_exists(run + "/checkpoint.npz")) << "the older run's checkpoint stayed";
    EXPECT_FALSE(file_exists(run + "/tau_history.csv")) << "the older run's τ history stayed";
    EXPECT_NE(read_file(run + "/config.json").find("\"task\": \"chirp\""), std::string::npos);
    r = run_cli("train --resume " + run + " --quiet", d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("no checkpoint.npz"), std::string::npos) << r.err;
    // a failing new run (a bad --init, found after its config was staged) leaves no trace
    before = dir_snapshot(run);
    r = run_cli(std::string("train --task chirp --epochs 2 ") + kQuick + " --init " + d +
                    "/missing.npz --overwrite --out " + run,
                d);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(before, dir_snapshot(run));
    EXPECT_TRUE(entries(run, ".ratenn-staging-").empty());
}

// Directories that are no run's: the root under any spelling or link (it was accepted, and as root a
// run's files and lock went into /), a file, and a directory named as ratenn's staging directories
// (the next run in its parent removes those). A directory that holds other files is a run's
// directory all the same (`--out .`): they are left alone.
TEST(Lifecycle, UnsuitableRunDirectoriesAreRefused) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    ASSERT_EQ(symlink("/", (d + "/root").c_str()), 0);
    write_file(d + "/file", "not a directory");
    // (a missing --init as well: were the root taken, the run would still fail before training)
    const std::string train =
        std::string("train --task chirp --epochs 1 ") + kQuick + " --init " + d + "/missing.npz";
    const bool lock_before = file_exists("/.ratenn.lock");
    const std::pair<std::string, std::string> cases[] = {
        {"/", "--out / is the root directory"},
        {"//", "is the root directory"},
        {"/tmp/..", "is the root directory"},
        {d + "/root", "is the root directory"},
        {d + "/root/", "is the root directory"},
        {d + "/file", "Not a directory"},
        {d + "/file/run", "Not a directory"},
        {d + "/.ratenn-staging-abc123", "the name of ratenn's staging directories"},
    };
    for (const auto &c : cases) {
        CliResult r = run_cli(train + " --out " + c.first, d);
        EXPECT_NE(r.status, 0) << c.first;
        EXPECT_EQ(count_lines(r.err), 1) << c.first << ": " << r.err;
        EXPECT_NE(r.err.find(c.second), std::string::npos) << c.first << ": " << r.err;
    }
    EXPECT_EQ(file_exists("/.ratenn.lock"), lock_before) << "a lock was taken in /";
    EXPECT_EQ(read_file(d + "/file"), "not a directory");
    EXPECT_FALSE(file_exists(d + "/.ratenn-staging-abc123"));
    // the working directory with a file of the user's: the run goes in beside it
    ASSERT_EQ(mkdir((d + "/here").c_str(), 0777), 0);
    write_file(d + "/here/notes.txt", "mine");
    CliResult r =
        run_in(d + "/here", std::string("train --task chirp --epochs 1 ") + kQuick + " --out .", d);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(file_exists(d + "/here/params.npz"));
    EXPECT_EQ(read_file(d + "/here/notes.txt"), "mine");
}

// A new run killed outright (SIGKILL: no handler runs) before its files moved in leaves the older run
// whole and resumable; the next run on the directory clears what the killed one staged.
TEST(Lifecycle, AKilledNewRunLeavesTheOlderRunUntouched) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    std::string common = std::string(" --task chirp ") + kQuick + " --seed 4";
    ASSERT_EQ(run_cli("train" + common + " --epochs 6 --checkpoint-every 3 --out " + run, d).status,
              0);
    auto before = dir_snapshot(run);
    {
        Background killed(words(std::string("train --task chirp --epochs 100000 --seed 9 ") +
                                kQuick + " --overwrite --out " + run),
                          d + "/killed.txt");
        ASSERT_TRUE(wait_for([&] { return staged(run, "params_initial.npz"); }, 60));
        usleep(200000); // training
    }                   // SIGKILL
    EXPECT_EQ(before, dir_snapshot(run)) << "the older run's files changed";
    EXPECT_FALSE(entries(run, ".ratenn-staging-").empty()) << "(the test kills before the move)";
    CliResult r = run_cli("train --resume " + run + " --epochs 8 --quiet", d);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(entries(run, ".ratenn-staging-").empty()) << "the killed run's staging stayed";
    std::string csv = read_file(run + "/loss.csv");
    EXPECT_EQ(count_lines(csv), 9) << csv;
}

// Ctrl-C before the first epoch (while the data is built and the network first run, on a network big
// enough to take a while): nothing is written; a directory the run made is gone again, and an older
// run given to --overwrite stays whole.
TEST(Lifecycle, ASignalBeforeTrainingLeavesNothingBehind) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), old = d + "/old";
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 2 ") + kQuick + " --out " + old, d).status,
        0);
    auto before = dir_snapshot(old);
    const std::string slow = "train --task chirp --hidden 256 --repeats 10 --epochs 5 --quiet "
                             "--backend cpu --out ";
    for (const std::string &out : {d + "/new/sub", old}) {
        Background bg(words(slow + out + (out == old ? " --overwrite" : "")), d + "/err.txt");
        // its staging directory: the run holds the lock (old's lock file is there from before)
        ASSERT_TRUE(wait_for([&] { return !entries(out, ".ratenn-staging-").empty(); }, 60));
        ASSERT_EQ(kill(bg.pid, SIGINT), 0);
        EXPECT_EQ(bg.wait(120), 130) << out;
        std::string err = read_file(d + "/err.txt");
        EXPECT_NE(err.find("before training; nothing written"), std::string::npos)
            << out << ": " << err << "(if the run had started training, the machine is faster "
            << "than this test assumes)";
    }
    EXPECT_FALSE(file_exists(d + "/new")) << "the directories the run made are still there";
    EXPECT_EQ(before, dir_snapshot(old));
    EXPECT_TRUE(entries(old, ".ratenn-staging-").empty());
}

// ---- class 4: resume exact in every file ----

// User data given by relative paths, interrupted at 5 epochs, resumed from another working directory
// (with a torn row appended to loss.csv, as a kill during an append leaves it): every file equals the
// uninterrupted run's byte for byte (config.json but for its "out"), and loss.csv / tau_history.csv
// were appended to (the same inode), not rewritten.
TEST(Lifecycle, ResumeFromAnotherDirectoryGivesEveryFileOfTheUninterruptedRun) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    std::vector<float> u(2 * 200), y(2 * 200);
    for (size_t i = 0; i < u.size(); i++) {
        u[i] = (i % 200) < 20 ? 1.0f : 0.0f;
        y[i] = std::sin(0.05f * (float)(i % 200));
    }
    write_file(d + "/u.npy", npy_f32({2, 200, 1}, u));
    write_file(d + "/y.npy", npy_f32({2, 200, 1}, y));
    ASSERT_EQ(mkdir((d + "/elsewhere").c_str(), 0777), 0);
    std::string common = "train --input u.npy --target y.npy --net 'linear(1,6) rate(6,tanh,rec) "
                         "lowpass(6,tau=0.05) linear(6,1)' --quiet --backend cpu --lr 1e-3 "
                         "--seed 11 --checkpoint-every 4";
    CliResult r = run_in(d, common + " --epochs 13 --out a", d);
    ASSERT_EQ(r.status, 0) << r.err;
    r = run_in(d, common + " --epochs 5 --out b", d);
    ASSERT_EQ(r.status, 0) << r.err;
    struct stat loss0, tau0;
    ASSERT_EQ(stat((d + "/b/loss.csv").c_str(), &loss0), 0);
    ASSERT_EQ(stat((d + "/b/tau_history.csv").c_str(), &tau0), 0);
    {
        FILE *f = std::fopen((d + "/b/loss.csv").c_str(), "a");
        ASSERT_NE(f, nullptr);
        std::fputs("5,0.12", f); // torn: no end of line
        std::fclose(f);
    }
    r = run_in(d + "/elsewhere", "train --resume ../b --epochs 13 --quiet", d);
    ASSERT_EQ(r.status, 0) << r.err;
    for (const char *f : {"params.npz", "params_initial.npz", "loss.csv", "tau_history.csv",
                          "run.npz", "checkpoint.npz"}) {
        std::string fa = read_file(d + "/a/" + f), fb = read_file(d + "/b/" + f);
        EXPECT_FALSE(fa.empty()) << f;
        EXPECT_TRUE(fa == fb) << f << " differs from the uninterrupted run's";
    }
    EXPECT_EQ(without_line(read_file(d + "/a/config.json"), "out"),
              without_line(read_file(d + "/b/config.json"), "out"));
    // the data paths are stored absolute
    EXPECT_NE(read_file(d + "/b/config.json").find("\"input\": \"" + d + "/u.npy\""),
              std::string::npos);
    struct stat loss1, tau1;
    ASSERT_EQ(stat((d + "/b/loss.csv").c_str(), &loss1), 0);
    ASSERT_EQ(stat((d + "/b/tau_history.csv").c_str(), &tau1), 0);
    EXPECT_EQ(loss0.st_ino, loss1.st_ino) << "loss.csv was rewritten, not appended to";
    EXPECT_EQ(tau0.st_ino, tau1.st_ino) << "tau_history.csv was rewritten, not appended to";
    // a finished run resumed at its own --epochs: nothing to do, nothing written
    auto before = dir_snapshot(d + "/b");
    r = run_in(d + "/elsewhere", "train --resume ../b --quiet", d);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("nothing to do"), std::string::npos) << r.err;
    EXPECT_EQ(before, dir_snapshot(d + "/b"));
}

// Flags that would change the run are refused with --resume (one line naming the flag, nothing
// touched), as is a "resume" key in a --config file; a garbled or missing history is refused rather
// than filled with zeros.
TEST(Lifecycle, ResumeRefusesWhatCannotApplyAndBrokenHistories) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    ASSERT_EQ(run_cli("train --task synapse --epochs 6 --checkpoint-every 3 --lr 3e-3 --quiet "
                      "--backend cpu --out " +
                          run,
                      d)
                  .status,
              0);
    auto before = dir_snapshot(run);
    for (const char *flag :
         {"--lr 1e-2", "--seed 3", "--optimizer sgd", "--task chirp",
          "--input x.npy --target y.npy", "--out elsewhere", "--net 'lowpass(1)'",
          "--config c.json", "--overwrite", "--tau0 0.01", "--w-bounds 0"}) {
        CliResult r = run_cli("train --resume " + run + " --epochs 9 " + flag, d);
        EXPECT_EQ(r.status, 2) << flag << " -> " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << flag << " -> " << r.err;
        std::string name = std::string(flag).substr(0, std::string(flag).find(' '));
        EXPECT_NE(r.err.find(name + " cannot go with --resume"), std::string::npos)
            << flag << " -> " << r.err;
        EXPECT_EQ(before, dir_snapshot(run)) << flag;
    }
    write_file(d + "/c.json", "{\"resume\": \"" + run + "\", \"epochs\": 9}");
    CliResult r = run_cli("train --config " + d + "/c.json --out " + d + "/never", d);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("\"resume\""), std::string::npos) << r.err;
    EXPECT_EQ(before, dir_snapshot(run));
    // garbled and missing histories
    std::string tau = read_file(run + "/tau_history.csv"), loss = read_file(run + "/loss.csv");
    std::string garbled = tau;
    garbled[garbled.find('\n', garbled.find('\n') + 1) + 3] = 'x'; // inside row 1
    write_file(run + "/tau_history.csv", garbled);
    r = run_cli("train --resume " + run + " --epochs 9 --quiet", d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("tau_history.csv"), std::string::npos) << r.err;
    std::remove((run + "/tau_history.csv").c_str());
    r = run_cli("train --resume " + run + " --epochs 9 --quiet", d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("tau_history.csv"), std::string::npos) << r.err;
    write_file(run + "/tau_history.csv", tau);
    write_file(run + "/loss.csv", loss.substr(0, loss.rfind('\n', loss.size() - 2) + 1));
    r = run_cli("train --resume " + run + " --epochs 9 --quiet", d);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("loss.csv does not hold the 6 epochs"), std::string::npos) << r.err;
    // a value strtod reads but ratenn never writes (hexadecimal) is a malformed row too
    std::string hex = loss;
    size_t row1 = hex.find("\n1,") + 3;
    hex.replace(row1, hex.find(',', row1) - row1, "0x1p-3");
    write_file(run + "/loss.csv", hex);
    r = run_cli("train --resume " + run + " --epochs 9 --quiet", d);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("loss.csv"), std::string::npos) << r.err;
    write_file(run + "/loss.csv", loss);
    EXPECT_EQ(before, dir_snapshot(run));
    r = run_cli("train --resume " + run + " --epochs 9 --quiet", d);
    EXPECT_EQ(r.status, 0) << r.err;
}

// ---- class 5: divergence keeps parameters that work ----

TEST(Lifecycle, DivergenceKeepsParametersThatEvalInitAndResumeAccept) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    // plain SGD at lr 1e6: the first steps send τ below 0 while the loss is still finite
    CliResult r = run_cli("train --task chirp --hidden 8 --repeats 1 --quiet --backend cpu "
                          "--optimizer sgd --lr 1e6 --epochs 50 --checkpoint-every 1 --out " +
                              d + "/div",
                          d);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("diverged at epoch"), std::string::npos) << r.err;
    write_file(d + "/u.npy", npy_f32({1, 30, 1}, std::vector<float>(30, 1.0f)));
    r = run_cli("eval --params " + d + "/div/params.npz --input " + d + "/u.npy --out " + d +
                    "/y.npy --noise off",
                d);
    EXPECT_EQ(r.status, 0) << r.err;
    r = run_cli(std::string("train --task chirp --epochs 1 ") + kQuick + " --init " + d +
                    "/div/params.npz --out " + d + "/again",
                d);
    EXPECT_EQ(r.status, 0) << r.err;
    rn_array *a = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read((d + "/div/params.npz").c_str(), &a, &n, nullptr), RN_OK);
    const rn_array *tau = rn_arrays_find(a, n, "1_rate.tau");
    ASSERT_NE(tau, nullptr);
    for (size_t i = 0; i < tau->count; i++)
        EXPECT_GT(tau->data[i], 0.0f) << i;
    rn_arrays_free(a, n);
}

// ---- class 7: eval and plot ----

TEST(Lifecycle, EvalWritesNothingOnFailureAndNeverOntoAnInput) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 2 ") + kQuick + " --out " + run, d).status,
        0);
    write_file(d + "/u.npy", npy_f32({1, 40, 1}, std::vector<float>(40, 0.5f)));
    ASSERT_EQ(symlink((run + "/params.npz").c_str(), (d + "/link.npz").c_str()), 0);
    auto before = dir_snapshot(run);
    std::string u = read_file(d + "/u.npy");
    const std::pair<std::string, std::string> cases[] = {
        {"--params U/run/params.npz --input U/u.npy --out U/run/params.npz", "--params"},
        {"--params U/run/params.npz --input U/u.npy --out U/run/../run/params.npz", "--params"},
        {"--params U/run/params.npz --input U/u.npy --out U/link.npz", "--params"},
        {"--params U/run/params.npz --input U/u.npy --out U/u.npy", "--input"},
        {"--params U/run/params.npz --input U/u.npy --out U/y.npy --record U/run/config.json",
         "--config"},
        {"--params U/run/params.npz --input U/u.npy --out U/y.npy --record U/./y.npy", "same file"},
    };
    for (const auto &c : cases) {
        CliResult r = run_cli("eval " + subst(c.first, d), d);
        EXPECT_EQ(r.status, 1) << c.first;
        EXPECT_EQ(count_lines(r.err), 1) << c.first << " -> " << r.err;
        EXPECT_NE(r.err.find(c.second), std::string::npos) << c.first << " -> " << r.err;
        EXPECT_EQ(before, dir_snapshot(run)) << c.first;
        EXPECT_EQ(u, read_file(d + "/u.npy")) << c.first;
        EXPECT_FALSE(file_exists(d + "/y.npy")) << c.first;
    }
    // a --record that cannot be written: --out is not written either
    CliResult r = run_cli("eval --params " + run + "/params.npz --input " + d + "/u.npy --out " +
                              d + "/y.npy --record " + d + "/nodir/rec.npz",
                          d);
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("--record"), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(d + "/y.npy"));
    // τ = 1e-38 passes the parameter checks (> 0, dt/τ a float) but the output is not finite: an
    // error, no files; τ = 1e-45 (dt/τ overflows) is refused as a parameter
    rn_array *a = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read((run + "/params.npz").c_str(), &a, &n, nullptr), RN_OK);
    rn_array *tau = nullptr;
    for (int i = 0; i < n; i++)
        if (std::string(a[i].name) == "1_rate.tau") tau = &a[i];
    ASSERT_NE(tau, nullptr);
    for (size_t i = 0; i < tau->count; i++)
        tau->data[i] = 1e-38f;
    ASSERT_EQ(rn_npz_write((d + "/tiny.npz").c_str(), a, n, nullptr), RN_OK);
    for (size_t i = 0; i < tau->count; i++)
        tau->data[i] = 1e-45f;
    ASSERT_EQ(rn_npz_write((d + "/tinier.npz").c_str(), a, n, nullptr), RN_OK);
    rn_arrays_free(a, n);
    for (const char *cmd : {"eval --params U/tinier.npz --config U/run/config.json --input U/u.npy "
                            "--out U/y.npy",
                            "train --task chirp --hidden 8 --epochs 1 --init U/tinier.npz "
                            "--out U/never"}) {
        r = run_cli(subst(cmd, d), d);
        EXPECT_EQ(r.status, 1) << cmd;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find("dt/tau overflows"), std::string::npos) << r.err;
    }
    EXPECT_FALSE(file_exists(d + "/y.npy"));
    EXPECT_FALSE(file_exists(d + "/never"));
    r = run_cli("eval --params " + d + "/tiny.npz --config " + run + "/config.json --input " + d +
                    "/u.npy --out " + d + "/y.npy --record " + d + "/rec.npz --noise off",
                d);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("not finite"), std::string::npos) << r.err;
    EXPECT_FALSE(file_exists(d + "/y.npy"));
    EXPECT_FALSE(file_exists(d + "/rec.npz"));
    EXPECT_TRUE(entries(d, "y.npy").empty() && entries(d, "rec.npz").empty()) << "temporary files";
}

TEST(Lifecycle, PlotGivesOneLineOnCorruptFiles) {
    if (std::system("/usr/bin/python3 -c 'import numpy, matplotlib' 2>/dev/null") != 0 &&
        std::system("python3 -c 'import numpy, matplotlib' 2>/dev/null") != 0)
        GTEST_SKIP() << "python3 with numpy and matplotlib is not installed";
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/run";
    ASSERT_EQ(
        run_cli(std::string("train --task chirp --epochs 3 ") + kQuick + " --out " + run, d).status,
        0);
    std::string loss = read_file(run + "/loss.csv"), npz = read_file(run + "/run.npz"),
                cfg = read_file(run + "/config.json");
    const struct {
        const char *file, *what;
        std::string bytes;
    } cases[] = {
        {"loss.csv", "not a number", "epoch,loss,mse,bounds,l2,grad_norm\n0,abc,1,1,1,1\n"},
        {"loss.csv", "fields", loss + "4,1\n"},
        {"loss.csv", "header", "garbage"},
        {"run.npz", "run.npz", npz.substr(0, npz.size() / 2)},
        {"run.npz", "run.npz", std::string(100, '\0')},
        {"config.json", "config.json", "{\"dt\": "},
        {"config.json", "dt", "{\"dt\": -1}"},
    };
    for (const auto &c : cases) {
        write_file(run + "/" + c.file, c.bytes);
        CliResult r = run_cli("plot " + run + " --out " + d + "/png", d);
        EXPECT_EQ(r.status, 1) << c.file << ": " << c.what;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_EQ(r.err.rfind("ratenn plot: ", 0), 0u) << r.err;
        EXPECT_EQ(r.err.find("Traceback"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(c.what), std::string::npos) << r.err;
        EXPECT_TRUE(entries(d + "/png", "").empty()) << c.file << ": figures were written";
        write_file(run + "/loss.csv", loss);
        write_file(run + "/run.npz", npz);
        write_file(run + "/config.json", cfg);
    }
    EXPECT_EQ(run_cli("plot " + run + " --out " + d + "/png", d).status, 0);
    EXPECT_TRUE(file_exists(d + "/png/loss.png"));
}

// ---- class 9 (the lines a run ends with) ----

// Ctrl-C on a run whose directory has a space (and a quote): the resume hint is one the shell takes
// as it is printed, and it resumes the run.
TEST(Lifecycle, TheCtrlCResumeHintIsQuotedForTheShell) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path(), run = d + "/my run's dir";
    auto args = words("train --task chirp --epochs 100000 " + std::string(kQuick) + " --out");
    args.push_back(run); // (a path with a space and a quote: one argument, no shell between)
    Background bg(args, d + "/err.txt");
    ASSERT_TRUE(wait_for([&] { return staged(run, "params_initial.npz"); }, 60));
    usleep(300000);
    ASSERT_EQ(kill(bg.pid, SIGINT), 0);
    ASSERT_EQ(bg.wait(60), 130) << read_file(d + "/err.txt");
    std::string err = read_file(d + "/err.txt");
    size_t p = err.find("  ratenn train --resume ");
    ASSERT_NE(p, std::string::npos) << err;
    std::string hint = err.substr(p + 9, err.find('\n', p) - p - 9); // "train --resume ..."
    EXPECT_NE(hint.find("'"), std::string::npos) << hint;
    // the printed hint, run by the shell as the user would paste it, one epoch further
    size_t e = err.find("after epoch ");
    ASSERT_NE(e, std::string::npos) << err;
    long long done = std::atoll(err.c_str() + e + 12);
    CliResult r = run_cli(hint + " --epochs " + std::to_string(done + 1) + " --quiet", d);
    EXPECT_EQ(r.status, 0) << hint << ": " << r.err;
    EXPECT_NE(read_file(run + "/config.json").find("\"epochs\": " + std::to_string(done + 1)),
              std::string::npos);
}

// The closing line leads with the MSE, and says when the bound penalty is active at the end.
TEST(Lifecycle, TheClosingLineLeadsWithTheMseAndNamesAnActiveBoundPenalty) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string d = dir.path();
    CliResult r =
        run_cli("train --task synapse --epochs 5 --quiet --backend cpu --out " + d + "/a", d);
    ASSERT_EQ(r.status, 0) << r.err;
    std::string last = r.err.substr(r.err.rfind("ratenn: "));
    EXPECT_EQ(last.rfind("ratenn: mse ", 0), 0u) << last;
    EXPECT_EQ(last.find("bound penalty"), std::string::npos) << last;
    // a bound the parameter cannot meet in 3 epochs: the penalty is in the total at the end
    r = run_cli(std::string("train --task chirp --epochs 3 ") + kQuick +
                    " --bound '2_linear.bias>=5' --out " + d + "/b",
                d);
    ASSERT_EQ(r.status, 0) << r.err;
    last = r.err.substr(r.err.rfind("ratenn: "));
    EXPECT_EQ(last.rfind("ratenn: mse ", 0), 0u) << last;
    EXPECT_NE(last.find("the bound penalty is active"), std::string::npos) << last;
}

} // namespace
