// Replays the fuzz seed corpus and every saved fuzzer reproducer (tests/fuzz/{corpus,regressions}/<target>/)
// through the parsers the fuzz targets drive: each input is either accepted whole or refused with a
// message, never a crash (the sanitizer pass of .ci/run runs this under ASan and UBSan).
#include <gtest/gtest.h>

#include <dirent.h>

#include <string>
#include <vector>

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

} // namespace
