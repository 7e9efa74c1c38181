// Replays the fuzz seed corpus and every saved fuzzer reproducer (tests/fuzz/{corpus,regressions}/<target>/)
// through the parsers the fuzz targets drive: each input is either accepted whole or refused with a
// message, never a crash (the sanitizer pass of .ci/run runs this under ASan and UBSan).
#include <gtest/gtest.h>

#include <dirent.h>

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

} // namespace
