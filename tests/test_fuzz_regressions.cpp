// Replays the fuzz seed corpus and every saved fuzzer reproducer (tests/fuzz/{corpus,regressions}/<target>/)
// through the parsers the fuzz targets drive: each input is either accepted whole or refused with a
// message, never a crash (the sanitizer pass of .ci/run runs this under ASan and UBSan).
#include <gtest/gtest.h>

#include <dirent.h>

#include <cstdio>

#include <filesystem>

#include <string>
#include <vector>

#include "cli_run.h"
#include "npy_format.h"
#include "ratenn/ratenn.h"
#include "test_files.h"

namespace {

std::vector<std::string> inputs(const std::string &target) {
    std::vector<std::string> files;
    for (const char *kind : {"corpus", "regressions"}) {
        std::string dir = std::string(RATENN_SOURCE_DIR) + "/tests/fuzz/" + kind + "/" + target;
        DIR *d = opendir(dir.c_str());
        if (!d) continue;
        while (dirent *e = readdir(d))
            if (e->d_name[0] != '.') files.push_back(dir + "/" + e->d_name);
        closedir(d);
    }
    return files;
}

TEST(FuzzRegressions, NpyInputsAreAcceptedWholeOrRefusedWithAMessage) {
    auto files = inputs("npy");
    ASSERT_GE(files.size(), 4u);
    int accepted = 0;
    for (const auto &f : files) {
        std::string b = read_file(f);
        rn_array a;
        rn_error err = {};
        if (rn_npy_parse((const unsigned char *)b.data(), b.size(), f.c_str(), &a, &err) == RN_OK) {
            accepted++;
            rn_array_free(&a);
        } else {
            EXPECT_NE(err.message[0], '\0') << f;
        }
    }
    EXPECT_GE(accepted, 3) << "the valid seeds must parse";
}

TEST(FuzzRegressions, NpzInputsAreAcceptedWholeOrRefusedWithAMessage) {
    auto files = inputs("npz");
    ASSERT_GE(files.size(), 2u);
    int accepted = 0;
    for (const auto &f : files) {
        std::string b = read_file(f);
        rn_array *arr = nullptr;
        int n = 0;
        rn_error err = {};
        if (rn_npz_parse((const unsigned char *)b.data(), b.size(), f.c_str(), &arr, &n, &err) ==
            RN_OK) {
            accepted++;
            rn_arrays_free(arr, n);
        } else {
            EXPECT_NE(err.message[0], '\0') << f;
        }
    }
    EXPECT_GE(accepted, 2) << "the seed archives (plain and compressed) must parse";
}

TEST(FuzzRegressions, NetSpecsAreAcceptedOrRefusedWithAMessage) {
    auto files = inputs("netspec");
    ASSERT_GE(files.size(), 4u);
    int accepted = 0;
    for (const auto &f : files) {
        std::string text = read_file(f);
        rn_net *net = nullptr;
        rn_error err = {};
        if (rn_net_from_spec(&net, text.c_str(), 1e-3f, 0, &err) == RN_OK ||
            rn_net_from_json(&net, text.c_str(), 1e-3f, 0, &err) == RN_OK) {
            accepted++;
            rn_net_free(net);
        } else {
            EXPECT_NE(err.message[0], '\0') << f;
        }
    }
    EXPECT_GE(accepted, 4) << "the seed specs are valid networks";
}

// Issue 15's classes, one saved input each: refused, and the message says why.
TEST(FuzzRegressions, StrictInputsAreRefusedSayingWhy) {
    const std::string r = std::string(RATENN_SOURCE_DIR) + "/tests/fuzz/regressions/";
    const struct {
        const char *file, *needle;
    } nets[] = {
        {"netspec/json-recurrent-number.json", "\"recurrent\" must be true or false"},
        {"netspec/json-duplicate-key.json", "\"n\" is given twice"},
        {"netspec/json-trailing-data.json", "trailing data"},
        {"netspec/spec-activation-twice.txt", "activation is given twice"},
    };
    for (const auto &c : nets) {
        std::string text = read_file(r + c.file);
        ASSERT_FALSE(text.empty()) << c.file;
        rn_net *net = nullptr;
        rn_error err = {};
        bool json = text[0] == '{';
        EXPECT_NE(json ? rn_net_from_json(&net, text.c_str(), 1e-3f, 0, &err)
                       : rn_net_from_spec(&net, text.c_str(), 1e-3f, 0, &err),
                  RN_OK)
            << c.file;
        EXPECT_NE(std::string(err.message).find(c.needle), std::string::npos)
            << c.file << ": " << err.message;
    }
    std::string b = read_file(r + "npz/header-disagrees-with-stated-size.npz");
    rn_array *arr = nullptr;
    int n = 0;
    rn_error err = {};
    EXPECT_EQ(rn_npz_parse((const unsigned char *)b.data(), b.size(), "h.npz", &arr, &n, &err),
              RN_ERR_FORMAT);
    EXPECT_NE(std::string(err.message).find("the archive says the member is 33554432"),
              std::string::npos)
        << err.message;
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const struct {
        const char *file, *needle;
    } configs[] = {
        {"cli/config-duplicate-key.json", "\"epochs\" is given twice"},
        {"cli/config-trailing-data.json", "trailing data"},
        {"cli/config-nul-in-string.json", "NUL"},
    };
    for (const auto &c : configs) {
        CliResult res = run_cli(
            "train --quiet --config " + r + c.file + " --out " + dir.path() + "/x", dir.path());
        EXPECT_EQ(res.status, 2) << c.file;
        EXPECT_NE(res.err.find(c.needle), std::string::npos) << c.file << ": " << res.err;
        EXPECT_FALSE(file_exists(dir.path() + "/x")) << c.file;
    }
}

// fuzz_resume's inputs (tests/fuzz/fuzz_resume.c) through the program itself: the first byte picks
// the run file (loss.csv, tau_history.csv, checkpoint.npz, config.json) that the rest replaces in a
// copy of a real checkpointed run before `--resume`, or (4) the rest is train's command line. Each
// run either goes on or is refused with one line: never a signal, never more.
TEST(FuzzRegressions, ResumeFilesAndCommandLinesAreAcceptedOrRefusedWithOneLine) {
    auto files = inputs("resume");
    ASSERT_GE(files.size(), 6u);
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string run = dir.file("run");
    CliResult made = run_cli("train --task chirp --net 'linear(1,3) rate(3,tanh,recurrent) "
                             "lowpass(3,tau=0.005) linear(3,1) alpha(1,tau=0.01) "
                             "doubleexp(1,tau1=0.05,tau2=0.03)' --epochs 3 --batch 1 --quiet "
                             "--checkpoint-every 1 --out " +
                                 run,
                             dir.path());
    ASSERT_EQ(made.status, 0) << made.err;
    const char *const run_files[] = {"loss.csv", "tau_history.csv", "checkpoint.npz",
                                     "config.json"};
    int accepted = 0, k = 0;
    for (const auto &f : files) {
        std::string b = read_file(f);
        if (b.size() < 2) continue; // (as fuzz_resume: too short to pick a reader)
        int which = (unsigned char)b[0] % 5;
        std::string body = b.substr(2), args;
        const std::string where = dir.file("case" + std::to_string(k++));
        if (which < 4) {
            std::filesystem::copy(run, where);
            write_file(where + "/" + run_files[which], body);
            args = "train --resume " + where + " --epochs 4 --quiet";
        } else {
            args = "train";
            for (size_t i = 0; i < body.size();) { // argv split at NUL, each word single-quoted
                std::string w = body.c_str() + i, q = "'";
                i += w.size() + 1;
                for (char c : w)
                    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
                args += " " + q + "'";
            }
            args += " --out " + where;
        }
        CliResult res = run_cli(args, dir.path());
        SCOPED_TRACE(f);
        EXPECT_TRUE(res.status == 0 || res.status == 1 || res.status == 2) << res.status;
        if (res.status == 0)
            accepted++;
        else
            EXPECT_EQ(count_lines(res.err), 1) << res.err;
    }
    EXPECT_GE(accepted, 5) << "the seeds are a real run's files and valid command lines";
}

// A newline in what a message quotes (a JSON key, a flag's value) does not break its one line.
TEST(FuzzRegressions, MessagesStayOneLineWhateverTheInputHolds) {
    rn_net *net = nullptr;
    rn_error err = {};
    ASSERT_NE(rn_net_from_json(&net, "{\"layers\": [], \"a\\nb\": 1}", 1e-3f, 0, &err), RN_OK);
    EXPECT_NE(std::string(err.message).find("unknown key \"a?b\""), std::string::npos)
        << err.message;
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    // an .npz whose array name holds a newline (file contents, as the JSON key above)
    float one = 1.0f;
    rn_array arr = {};
    std::snprintf(arr.name, sizeof arr.name, "a\nb");
    arr.ndim = 1;
    arr.shape[0] = 1;
    arr.count = 1;
    arr.data = &one;
    ASSERT_EQ(rn_npz_write(dir.file("nl.npz").c_str(), &arr, 1, nullptr), RN_OK);
    // (sh has no $'...': the newline comes from printf)
    const std::string nl_path = "\"" + dir.path() + "/$(printf 'x\\ny').npz\"";
    for (const std::string &args :
         {std::string("train --hidden \"$(printf '1\\n2')\""),
          std::string("train --task \"$(printf 'a\\nb')\""),
          std::string("train \"$(printf -- '--a\\nb')\""),
          std::string("train --epochs 1 --bound \"$(printf '1_rate.tau>=x\\ny')\" --out ") +
              dir.file("b"),
          std::string("train --epochs 1 --freeze \"$(printf 'no\\nsuch')\" --out ") + dir.file("f"),
          "train --epochs 1 --init " + dir.file("nl.npz") + " --out " + dir.file("i"),
          "train --epochs 1 --init " + nl_path + " --out " + dir.file("j"),
          "eval --params " + nl_path + " --input " + nl_path + " --out " + dir.file("o.npy"),
          "params " + nl_path}) {
        CliResult res = run_cli(args, dir.path());
        EXPECT_NE(res.status, 0) << args;
        EXPECT_EQ(count_lines(res.err), 1) << args << ": " << res.err;
    }
}

} // namespace
