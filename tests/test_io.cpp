// .npy / .npz reading and writing (include/ratenn/io.h) and the atomic file writer
// (src/util/atomic_file.h): round trips, hand-made float64 and version 2/3 files, one test per malformed
// header field, numpy's own savez / savez_compressed archives (and numpy reading ours) when
// /usr/bin/python3 has numpy, and writes that fail half-way leaving the previous file untouched and
// no temporary file behind.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "atomic_file.h"
#include "npy_format.h"
#include "ratenn/io.h"
#include "test_files.h"

namespace {

bool is_zeroed(const rn_array &a) {
    rn_array zero;
    memset(&zero, 0, sizeof zero);
    return memcmp(&a, &zero, sizeof a) == 0;
}

bool contains(const std::string &s, const std::string &what) {
    return s.find(what) != std::string::npos;
}

// Reads path expecting failure: the status, a message naming the path and containing `word`, *out
// zeroed.
void expect_read_fails(const std::string &path, rn_status status, const std::string &word) {
    rn_array a;
    memset(&a, 0xAB, sizeof a); // junk: the reader must zero it
    rn_error err = {};
    rn_status st = rn_npy_read(path.c_str(), &a, &err);
    EXPECT_EQ(st, status) << err.message;
    EXPECT_EQ(err.status, status);
    EXPECT_TRUE(contains(err.message, path)) << err.message;
    EXPECT_TRUE(contains(err.message, word)) << "expected '" << word << "' in: " << err.message;
    EXPECT_TRUE(is_zeroed(a));
    if (st == RN_OK) rn_array_free(&a);
}

// Writes bytes to dir/name and expects reading it to fail with RN_ERR_FORMAT and `word` in the
// message.
void expect_malformed(const TempDir &dir, const std::string &bytes, const std::string &word) {
    std::string path = dir.file("u.npy");
    write_file(path, bytes);
    SCOPED_TRACE(bytes.substr(0, std::min<size_t>(bytes.size(), 100)));
    expect_read_fails(path, RN_ERR_FORMAT, word);
}

std::vector<float> ramp(size_t n, float scale, float offset) {
    std::vector<float> v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)i * scale + offset;
    return v;
}

// ---- numpy through /usr/bin/python3 (or $RATENN_PYTHON, as `ratenn plot`) ----

std::string python() {
    const char *p = getenv("RATENN_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

bool have_numpy() {
    static int ok = -1;
    if (ok < 0) ok = system((python() + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0;
    return ok == 1;
}

// Runs a Python script (written to dir) with the given arguments; returns its exit status.
int run_python(const TempDir &dir, const std::string &script, const std::string &args) {
    std::string py = dir.file("script.py");
    write_file(py, script);
    std::string cmd = python() + " " + py + " " + args + " >" + dir.file("py.log") + " 2>&1";
    int rc = system(cmd.c_str());
    if (rc != 0) ADD_FAILURE() << "python said:\n" << read_file(dir.file("py.log"));
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#define REQUIRE_NUMPY()                                                                            \
    do {                                                                                           \
        if (!have_numpy()) GTEST_SKIP() << python() << " with numpy is not available";             \
    } while (0)

// =============================================== .npy
// ===============================================

TEST(NpyTest, RoundTripShapes) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::vector<std::vector<size_t>> shapes = {{},        {5},    {2, 3},
                                                     {2, 3, 4}, {0, 3}, {1, 1, 1, 1, 1, 1, 2, 3}};
    for (const auto &shape : shapes) {
        size_t n = 1;
        for (size_t s : shape)
            n *= s;
        std::vector<float> v = ramp(n, 0.37f, -2.5f);
        if (n > 3) {
            v[1] = std::numeric_limits<float>::quiet_NaN(); // non-finite values pass through the
                                                            // reader
            v[2] = -std::numeric_limits<float>::infinity();
        }
        std::string path = dir.file("a.npy");
        rn_error err = {};
        ASSERT_EQ(rn_npy_write(path.c_str(), v.data(), (int)shape.size(), shape.data(), &err),
                  RN_OK)
            << err.message;
        rn_array a = {};
        ASSERT_EQ(rn_npy_read(path.c_str(), &a, &err), RN_OK) << err.message;
        EXPECT_EQ(err.status, RN_OK);
        ASSERT_EQ(a.ndim, (int)shape.size());
        for (size_t d = 0; d < shape.size(); d++)
            EXPECT_EQ(a.shape[d], shape[d]);
        ASSERT_EQ(a.count, n);
        if (n) {
            EXPECT_EQ(memcmp(a.data, v.data(), n * sizeof(float)), 0);
        } else {
            EXPECT_EQ(a.data, nullptr);
        }
        rn_array_free(&a);
        EXPECT_TRUE(is_zeroed(a));
        EXPECT_EQ(dir.listing(), std::vector<std::string>{"a.npy"}); // no temporary file left
    }
}

TEST(NpyTest, HeaderIsLaidOutAsNumpyDoes) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const size_t shape[2] = {2, 3};
    std::vector<float> v = ramp(6, 1, 0);
    std::string path = dir.file("h.npy");
    ASSERT_EQ(rn_npy_write(path.c_str(), v.data(), 2, shape, nullptr), RN_OK);
    std::string b = read_file(path);
    ASSERT_GE(b.size(), 10u);
    EXPECT_EQ(b.substr(0, 6), std::string("\x93NUMPY", 6));
    EXPECT_EQ(b[6], 1);
    EXPECT_EQ(b[7], 0);
    size_t hlen = (unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8;
    EXPECT_EQ((10 + hlen) % 64, 0u);
    EXPECT_EQ(b.size(), 10 + hlen + 24);
    EXPECT_EQ(b[10 + hlen - 1], '\n');
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    EXPECT_EQ(b.substr(10, dict.size()), dict);
    EXPECT_EQ(b.find_first_not_of(' ', 10 + dict.size()),
              10 + hlen - 1); // then only blanks up to the '\n'
    EXPECT_EQ(b.substr(10 + hlen), f32_bytes(v));
}

TEST(NpyTest, ReadsFloat64AsFloat32) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::vector<double> v = {1.5, -2.25, 1e-3, 3.0e38, -0.0, 123456.789};
    std::string path = dir.file("d.npy");
    write_file(path, npy_bytes(npy_dict("<f8", "(3, 2)"), f64_bytes(v)));
    rn_array a = {};
    rn_error err = {};
    ASSERT_EQ(rn_npy_read(path.c_str(), &a, &err), RN_OK) << err.message;
    ASSERT_EQ(a.ndim, 2);
    EXPECT_EQ(a.shape[0], 3u);
    EXPECT_EQ(a.shape[1], 2u);
    ASSERT_EQ(a.count, 6u);
    for (size_t i = 0; i < v.size(); i++)
        EXPECT_EQ(a.data[i], (float)v[i]) << i;
    EXPECT_TRUE(std::signbit(a.data[4]));
    rn_array_free(&a);
}

TEST(NpyTest, ReadsFormatVersions2And3) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    for (int major : {2, 3}) {
        std::vector<float> v = ramp(4, -0.5f, 1);
        std::string path = dir.file("v.npy");
        write_file(path, npy_bytes(npy_dict("<f4", "(4,)"), f32_bytes(v), major));
        rn_array a = {};
        rn_error err = {};
        ASSERT_EQ(rn_npy_read(path.c_str(), &a, &err), RN_OK)
            << "version " << major << ": " << err.message;
        ASSERT_EQ(a.ndim, 1);
        ASSERT_EQ(a.count, 4u);
        EXPECT_EQ(memcmp(a.data, v.data(), 16), 0);
        rn_array_free(&a);
    }
}

TEST(NpyTest, ReadsOtherValidHeaderSpellings) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::vector<float> v = ramp(6, 1, 0);
    const char *dicts[] = {
        "{'shape': (6,), 'fortran_order': False, 'descr': '<f4'}", // another key order, no trailing
                                                                   // comma
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}", // double quotes
        "{'descr':'<f4','fortran_order':False,'shape':(2,3,)}", // no blanks, trailing comma in
                                                                // shape
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", // Python 2 longs
        "  { 'descr' : '<f4' ,\t'fortran_order' : False , 'shape' : ( 3 , 2 ) , }  ",
    };
    for (const char *d : dicts) {
        std::string path = dir.file("s.npy");
        write_file(path, npy_bytes(d, f32_bytes(v)));
        rn_array a = {};
        rn_error err = {};
        EXPECT_EQ(rn_npy_read(path.c_str(), &a, &err), RN_OK) << d << ": " << err.message;
        EXPECT_EQ(a.count, 6u) << d;
        rn_array_free(&a);
    }
}

TEST(NpyTest, ScalarAndOneDimensionalShapes) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.file("s.npy");
    write_file(path, npy_bytes(npy_dict("<f4", "()"), f32_bytes({4.5f})));
    rn_array a = {};
    ASSERT_EQ(rn_npy_read(path.c_str(), &a, nullptr), RN_OK);
    EXPECT_EQ(a.ndim, 0);
    EXPECT_EQ(a.count, 1u);
    EXPECT_EQ(a.data[0], 4.5f);
    rn_array_free(&a);
    write_file(path, npy_bytes(npy_dict("<f4", "(5,)"), f32_bytes(ramp(5, 1, 0))));
    ASSERT_EQ(rn_npy_read(path.c_str(), &a, nullptr), RN_OK);
    EXPECT_EQ(a.ndim, 1);
    EXPECT_EQ(a.shape[0], 5u);
    EXPECT_EQ(a.count, 5u);
    rn_array_free(&a);
}

TEST(NpyTest, WriteRejectsBadArguments) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.file("w.npy");
    size_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    float x = 1;
    rn_error err = {};
    EXPECT_EQ(rn_npy_write(path.c_str(), &x, 9, shape, &err), RN_ERR_INVALID_ARG);
    EXPECT_TRUE(contains(err.message, path)) << err.message;
    EXPECT_EQ(rn_npy_write(path.c_str(), &x, -1, shape, &err), RN_ERR_INVALID_ARG);
    EXPECT_EQ(rn_npy_write(path.c_str(), nullptr, 2, shape, &err), RN_ERR_INVALID_ARG);
    EXPECT_TRUE(contains(err.message, "NULL")) << err.message;
    size_t huge[3] = {(size_t)1 << 40, (size_t)1 << 40, 2};
    EXPECT_EQ(rn_npy_write(path.c_str(), &x, 3, huge, &err), RN_ERR_INVALID_ARG);
    EXPECT_TRUE(contains(err.message, "overflow")) << err.message;
    EXPECT_EQ(rn_npy_write(nullptr, &x, 0, nullptr, &err), RN_ERR_INVALID_ARG);
    EXPECT_TRUE(dir.listing().empty());
}

// ---- one test per malformed field ----

TEST(NpyMalformed, BadMagic) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string b = npy_bytes(npy_dict("<f4", "(1,)"), f32_bytes({1}));
    b[1] = 'X';
    expect_malformed(dir, b, "magic");
    expect_malformed(dir, "", "magic");          // empty file
    expect_malformed(dir, "\x93NUMPY", "magic"); // shorter than the fixed preamble
}

TEST(NpyMalformed, UnsupportedVersion) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string b = npy_bytes(npy_dict("<f4", "(1,)"), f32_bytes({1}));
    b[6] = 4;
    expect_malformed(dir, b, "version 4.0");
    b[6] = 1;
    b[7] = 1;
    expect_malformed(dir, b, "version 1.1");
}

TEST(NpyMalformed, WrongDtype) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    expect_malformed(dir, npy_bytes(npy_dict("<i4", "(1,)"), f32_bytes({1})),
                     "dtype '<i4' is not supported (expected float32 '<f4' or float64 '<f8')");
    expect_malformed(dir, npy_bytes(npy_dict(">f4", "(1,)"), f32_bytes({1})),
                     "dtype '>f4' is not supported");
    expect_malformed(dir, npy_bytes(npy_dict("|f4", "(1,)"), f32_bytes({1})), "dtype '|f4'");
    expect_malformed(dir, npy_bytes(npy_dict("<f2", "(2,)"), f32_bytes({1})), "dtype '<f2'");
    // a structured dtype is a list, not a string
    expect_malformed(dir,
                     npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                               f32_bytes({1})),
                     "descr");
}

TEST(NpyMalformed, FortranOrder) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    expect_malformed(dir, npy_bytes(npy_dict("<f4", "(2, 2)", "True"), f32_bytes({1, 2, 3, 4})),
                     "Fortran order");
    std::string path = dir.file("u.npy");
    rn_array a = {};
    rn_error err = {};
    EXPECT_EQ(rn_npy_read(path.c_str(), &a, &err), RN_ERR_FORMAT);
    EXPECT_TRUE(contains(err.message, "unsupported")) << err.message;
}

TEST(NpyMalformed, TruncatedData) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    // (2, 3) float32 needs 24 bytes; 20 are there
    expect_malformed(dir, npy_bytes(npy_dict("<f4", "(2, 3)"), f32_bytes(ramp(5, 1, 0))),
                     "needs 24 bytes, the file has 20");
    expect_malformed(dir, npy_bytes(npy_dict("<f8", "(2, 3)"), f32_bytes(ramp(6, 1, 0))),
                     "needs 48 bytes, the file has 24");
    expect_malformed(dir, npy_bytes(npy_dict("<f4", "()"), ""), "truncated");
}

TEST(NpyMalformed, TrailingBytes) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    expect_malformed(dir, npy_bytes(npy_dict("<f4", "(2,)"), f32_bytes({1, 2}) + "x"), "trailing");
    expect_malformed(dir, npy_bytes(npy_dict("<f4", "(0,)"), f32_bytes({1})), "4 trailing bytes");
}

TEST(NpyMalformed, HeaderLengthBeyondFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string b = npy_bytes(npy_dict("<f4", "(1,)"), f32_bytes({1}));
    b[8] = (char)0xff;
    b[9] = (char)0x7f;
    expect_malformed(dir, b, "header length 32767 runs past the end");
    std::string v2 = npy_bytes(npy_dict("<f4", "(1,)"), f32_bytes({1}), 2);
    v2[11] = 0x10;
    expect_malformed(dir, v2, "runs past the end");
}

TEST(NpyMalformed, GarbageDict) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    const std::string one = f32_bytes({1});
    const struct {
        const char *dict, *word;
    } cases[] = {
        {"garbage", "not a dictionary"},
        {"{'descr': '<f4', 'fortran_order': False}", "lacks the key 'shape'"},
        {"{'fortran_order': False, 'shape': (1,)}", "lacks the key 'descr'"},
        {"{'descr': '<f4', 'shape': (1,)}", "lacks the key 'fortran_order'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
         "'descr' is repeated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}",
         "'shape' is repeated"},
        {"{'descr': '<f4', 'fortran_order': False, 'fortran_order': False, 'shape': (1,)}",
         "repeated"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
         "unexpected key 'extra'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1)}",
         "'shape' is not a well-formed tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1 1)}",
         "'shape' is not a well-formed tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "not a non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (,)}", "not a non-negative integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "'shape' is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "dictionary is malformed"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "dictionary is malformed"},
        {"{descr: '<f4', 'fortran_order': False, 'shape': (1,)}", "dictionary is malformed"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "not True or False"},
        {"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}", "not True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x",
         "after the header dictionary"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "header"},
    };
    for (const auto &c : cases)
        expect_malformed(dir, npy_bytes(c.dict, one), c.word);
    // bytes after the dictionary that are not blanks (numpy rejects NULs too)
    expect_malformed(dir,
                     npy_bytes(std::string(npy_dict("<f4", "(1,)")) + std::string(1, '\0'), one),
                     "after the header dictionary");
}

TEST(NpyMalformed, HugeShapeOverflows) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    expect_malformed(dir, npy_bytes(npy_dict("<f4", "(4294967296, 4294967296)"), ""), "overflows");
    expect_malformed(dir, npy_bytes(npy_dict("<f4", "(99999999999999999999999,)"), ""), "integer");
    expect_malformed(dir, npy_bytes(npy_dict("<f4", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), f32_bytes({1})),
                     "more than 8 dimensions");
}

TEST(NpyMalformed, MissingFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    expect_read_fails(dir.file("missing.npy"), RN_ERR_IO, "No such file");
    expect_read_fails(dir.path(), RN_ERR_IO, "not a regular file");
}

// =============================================== .npz
// ===============================================

struct TestArrays {
    std::vector<std::vector<float>> data;
    std::vector<rn_array> arrays;
    void add(const char *name, std::vector<size_t> shape, float scale) {
        rn_array a = {};
        snprintf(a.name, sizeof a.name, "%s", name);
        a.ndim = (int)shape.size();
        a.count = 1;
        for (size_t d = 0; d < shape.size(); d++) {
            a.shape[d] = shape[d];
            a.count *= shape[d];
        }
        data.push_back(ramp(a.count, scale, -1));
        arrays.push_back(a);
    }
    const rn_array *get() {
        for (size_t i = 0; i < arrays.size(); i++)
            arrays[i].data = data[i].empty() ? nullptr : data[i].data();
        return arrays.data();
    }
    int count() const { return (int)arrays.size(); }
};

TestArrays sample_arrays() {
    TestArrays t;
    t.add("scalar", {}, 1);
    t.add("w_in", {5}, 0.5f);
    t.add("1_rate.tau", {2, 3, 4}, 0.25f);
    t.add("empty", {0, 3}, 1);
    return t;
}

// got[0..n) holds want's arrays (by name). Has ASSERTs: call it under ASSERT_NO_FATAL_FAILURE.
void expect_same_arrays(const rn_array *got, int n, TestArrays &want) {
    const rn_array *w = want.get();
    ASSERT_EQ(n, want.count());
    for (int i = 0; i < n; i++) {
        const rn_array *a = rn_arrays_find(got, n, w[i].name);
        ASSERT_NE(a, nullptr) << w[i].name;
        EXPECT_EQ(a->ndim, w[i].ndim) << w[i].name;
        for (int d = 0; d < w[i].ndim; d++)
            EXPECT_EQ(a->shape[d], w[i].shape[d]);
        ASSERT_EQ(a->count, w[i].count);
        if (a->count) {
            EXPECT_EQ(memcmp(a->data, w[i].data, a->count * sizeof(float)), 0) << w[i].name;
        }
    }
}

TEST(NpzTest, WriteThenReadBack) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    TestArrays t = sample_arrays();
    std::string path = dir.file("p.npz");
    rn_error err = {};
    ASSERT_EQ(rn_npz_write(path.c_str(), t.get(), t.count(), &err), RN_OK) << err.message;
    EXPECT_EQ(dir.listing(), std::vector<std::string>{"p.npz"});
    rn_array *arr = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read(path.c_str(), &arr, &n, &err), RN_OK) << err.message;
    ASSERT_NO_FATAL_FAILURE(expect_same_arrays(arr, n, t));
    EXPECT_STREQ(arr[2].name, "1_rate.tau"); // directory order is kept
    EXPECT_EQ(rn_arrays_find(arr, n, "nope"), nullptr);
    EXPECT_EQ(rn_arrays_find(arr, n, nullptr), nullptr);
    rn_arrays_free(arr, n);
}

TEST(NpzTest, LongestNameRoundTrips) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    TestArrays t;
    const std::string name(127, 'n'); // rn_array.name holds 127 bytes and the NUL
    t.add(name.c_str(), {2}, 1);
    std::string path = dir.file("n.npz");
    rn_error err = {};
    ASSERT_EQ(rn_npz_write(path.c_str(), t.get(), t.count(), &err), RN_OK) << err.message;
    rn_array *arr = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read(path.c_str(), &arr, &n, &err), RN_OK) << err.message;
    ASSERT_NO_FATAL_FAILURE(expect_same_arrays(arr, n, t));
    rn_arrays_free(arr, n);
}

TEST(NpzTest, Zip64RecordsRoundTrip) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    TestArrays t = sample_arrays();
    std::string path = dir.file("z.npz");
    rn_error err = {};
    ASSERT_EQ(rn_npz_write_ex(path.c_str(), t.get(), t.count(), 1, &err), RN_OK) << err.message;
    std::string b = read_file(path);
    EXPECT_TRUE(contains(b, std::string("PK\x06\x06", 4))); // the ZIP64 end record is there
    EXPECT_EQ(b.substr(18, 8),
              std::string(8, '\xff')); // the first local header defers to its ZIP64 field
    rn_array *arr = nullptr;
    int n = 0;
    ASSERT_EQ(rn_npz_read(path.c_str(), &arr, &n, &err), RN_OK) << err.message;
    ASSERT_NO_FATAL_FAILURE(expect_same_arrays(arr, n, t));
    rn_arrays_free(arr, n);
}

TEST(NpzTest, EmptyArchive) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.file("e.npz");
    ASSERT_EQ(rn_npz_write(path.c_str(), nullptr, 0, nullptr), RN_OK);
    EXPECT_EQ(read_file(path).size(), 22u);
    rn_array *arr = nullptr;
    int n = -1;
    ASSERT_EQ(rn_npz_read(path.c_str(), &arr, &n, nullptr), RN_OK);
    EXPECT_EQ(n, 0);
    rn_arrays_free(arr, n);
}

TEST(NpzTest, WriteRejectsBadArraysAndKeepsTheOldFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.file("p.npz");
    write_file(path, "old contents");
    struct Case {
        const char *what, *word;
        rn_status status;
    };
    const Case cases[] = {{"duplicate", "two arrays are named 'w_in'", RN_ERR_INVALID_ARG},
                          {"empty name", "empty or unterminated name", RN_ERR_INVALID_ARG},
                          {"count", "not the product of its shape", RN_ERR_SHAPE},
                          {"ndim", "dimensions", RN_ERR_INVALID_ARG},
                          {"no data", "has no data", RN_ERR_INVALID_ARG}};
    for (const Case &c : cases) {
        TestArrays t = sample_arrays();
        const rn_array *src = t.get();
        std::vector<rn_array> a(src, src + t.count());
        if (!strcmp(c.what, "duplicate")) snprintf(a[2].name, sizeof a[2].name, "w_in");
        if (!strcmp(c.what, "empty name")) a[1].name[0] = '\0';
        if (!strcmp(c.what, "count")) a[1].count = 4;
        if (!strcmp(c.what, "ndim")) a[1].ndim = 9;
        if (!strcmp(c.what, "no data")) a[1].data = nullptr;
        rn_error err = {};
        EXPECT_EQ(rn_npz_write(path.c_str(), a.data(), (int)a.size(), &err), c.status) << c.what;
        EXPECT_TRUE(contains(err.message, path)) << err.message;
        EXPECT_TRUE(contains(err.message, c.word)) << c.what << ": " << err.message;
        EXPECT_EQ(read_file(path), "old contents");
        EXPECT_EQ(dir.listing(), std::vector<std::string>{"p.npz"});
    }
}

// Reads path expecting failure with status, `word` in the message, and the outputs cleared.
void expect_npz_fails(const std::string &path, rn_status status, const std::string &word) {
    rn_array *arr = (rn_array *)0x1;
    int n = 7;
    rn_error err = {};
    EXPECT_EQ(rn_npz_read(path.c_str(), &arr, &n, &err), status) << err.message;
    EXPECT_TRUE(contains(err.message, path)) << err.message;
    EXPECT_TRUE(contains(err.message, word)) << "expected '" << word << "' in: " << err.message;
    EXPECT_EQ(arr, nullptr);
    EXPECT_EQ(n, 0);
}

TEST(NpzTest, DamagedArchivesAreRejected) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    TestArrays t;
    t.add("a", {4}, 1);
    t.add("b", {3}, 1);
    t.data[0] = {1, 2, 12345.0f, 4};
    std::string good = dir.file("good.npz");
    ASSERT_EQ(rn_npz_write(good.c_str(), t.get(), t.count(), nullptr), RN_OK);
    const std::string bytes = read_file(good);
    std::string path = dir.file("bad.npz");

    std::string crc = bytes;
    float marker = 12345.0f;
    size_t at = crc.find(std::string((const char *)&marker, 4));
    ASSERT_NE(at, std::string::npos);
    crc[at] ^= 1;
    write_file(path, crc);
    expect_npz_fails(path, RN_ERR_FORMAT, "bad.npz:a.npy: CRC-32 mismatch");

    write_file(path, bytes.substr(0, bytes.size() / 2));
    expect_npz_fails(path, RN_ERR_FORMAT, "end-of-central-directory");
    write_file(path, bytes.substr(0, bytes.size() - 1));
    expect_npz_fails(path, RN_ERR_FORMAT, "end-of-central-directory");
    write_file(path, bytes + "junk");
    expect_npz_fails(path, RN_ERR_FORMAT, "end-of-central-directory");
    write_file(path, "");
    expect_npz_fails(path, RN_ERR_FORMAT, "zip");

    // a central directory entry that points at the wrong place
    std::string off = bytes;
    size_t cd = off.rfind(std::string("PK\x01\x02", 4));
    ASSERT_NE(cd, std::string::npos);
    off[cd + 42] ^= 4;
    write_file(path, off);
    expect_npz_fails(path, RN_ERR_FORMAT, "bad.npz:b.npy: local file header");

    // a stored member whose sizes disagree (compressed size 4 bytes short; the CRC would still
    // match)
    std::string sz = bytes;
    uint32_t csize;
    memcpy(&csize, &sz[cd + 20], 4);
    csize -= 4;
    memcpy(&sz[cd + 20], &csize, 4);
    write_file(path, sz);
    expect_npz_fails(path, RN_ERR_FORMAT, "bad.npz:b.npy: stored member has compressed size");
    // ... or 4 bytes long: past the start of the central directory
    csize += 8;
    memcpy(&sz[cd + 20], &csize, 4);
    write_file(path, sz);
    expect_npz_fails(path, RN_ERR_FORMAT, "bad.npz:b.npy: member data");

    // two members of the same name
    std::string dup = bytes;
    for (size_t k = dup.find("b.npy"); k != std::string::npos; k = dup.find("b.npy", k + 1))
        dup[k] = 'a';
    write_file(path, dup);
    expect_npz_fails(path, RN_ERR_FORMAT, "a second member for the array 'a'");

    // an unknown compression method
    std::string m = bytes;
    m[cd + 10] = 12;
    write_file(path, m);
    expect_npz_fails(path, RN_ERR_FORMAT, "compression method 12");

    // a .npy (not a zip) and a missing file
    std::string npy = dir.file("x.npy");
    float one = 1;
    ASSERT_EQ(rn_npy_write(npy.c_str(), &one, 0, nullptr, nullptr), RN_OK);
    expect_npz_fails(npy, RN_ERR_FORMAT, "not a .npz (zip) archive");
    expect_npz_fails(dir.file("missing.npz"), RN_ERR_IO, "No such file");
}

// The numpy script that writes the arrays the C side checks in expect_numpy_arrays.
const char *kNumpyWrite = R"PY(
import sys, numpy as np
out, kind = sys.argv[1], sys.argv[2]
a = (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3)
b = (np.arange(24, dtype=np.float64) * 0.125 - 2).reshape(2, 3, 4)
c = np.float32(7.25)
big = (np.arange(3000) % 17).astype(np.float32) * 0.25
save = np.savez_compressed if kind == "compressed" else np.savez
save(out, a, b=b, c=c, big=big, empty=np.zeros((0, 2), np.float32))
)PY";

// The arrays kNumpyWrite saved, read back. Has ASSERTs: call it under ASSERT_NO_FATAL_FAILURE.
void expect_numpy_arrays(const std::string &path) {
    rn_array *arr = nullptr;
    int n = 0;
    rn_error err = {};
    ASSERT_EQ(rn_npz_read(path.c_str(), &arr, &n, &err), RN_OK) << err.message;
    EXPECT_EQ(n, 5);
    const rn_array *a = rn_arrays_find(arr, n, "arr_0");
    const rn_array *b = rn_arrays_find(arr, n, "b");
    const rn_array *c = rn_arrays_find(arr, n, "c");
    const rn_array *big = rn_arrays_find(arr, n, "big");
    const rn_array *e = rn_arrays_find(arr, n, "empty");
    ASSERT_TRUE(a && b && c && big && e);
    ASSERT_EQ(a->ndim, 2);
    EXPECT_EQ(a->shape[0], 2u);
    EXPECT_EQ(a->shape[1], 3u);
    for (size_t i = 0; i < 6; i++)
        EXPECT_EQ(a->data[i], (float)i * 0.5f - 1) << i;
    ASSERT_EQ(b->ndim, 3);
    ASSERT_EQ(b->count, 24u);
    for (size_t i = 0; i < 24; i++)
        EXPECT_EQ(b->data[i], (float)((double)i * 0.125 - 2)) << i;
    EXPECT_EQ(c->ndim, 0);
    ASSERT_EQ(c->count, 1u);
    EXPECT_EQ(c->data[0], 7.25f);
    ASSERT_EQ(big->count, 3000u);
    for (size_t i = 0; i < 3000; i++)
        ASSERT_EQ(big->data[i], (float)(i % 17) * 0.25f) << i;
    EXPECT_EQ(e->ndim, 2);
    EXPECT_EQ(e->count, 0u);
    rn_arrays_free(arr, n);
}

TEST(NpzTest, ReadsNumpySavez) {
    REQUIRE_NUMPY();
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    ASSERT_EQ(run_python(dir, kNumpyWrite, dir.file("s.npz") + " stored"), 0);
    ASSERT_NO_FATAL_FAILURE(expect_numpy_arrays(dir.file("s.npz")));
}

TEST(NpzTest, ReadsNumpySavezCompressed) {
    REQUIRE_NUMPY();
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    ASSERT_EQ(run_python(dir, kNumpyWrite, dir.file("c.npz") + " compressed"), 0);
    std::string b = read_file(dir.file("c.npz"));
    ASSERT_GT(b.size(), 10u);
    EXPECT_EQ(b[8], 8); // the first member is deflated
    ASSERT_NO_FATAL_FAILURE(expect_numpy_arrays(dir.file("c.npz")));

    // damage the compressed stream of "big": reported as corrupt data or a CRC mismatch, naming the
    // member
    size_t at = b.find("big.npy");
    ASSERT_NE(at, std::string::npos);
    b[at + 7 + 20 + 40] ^= 0x55;
    write_file(dir.file("bad.npz"), b);
    expect_npz_fails(dir.file("bad.npz"), RN_ERR_FORMAT, "bad.npz:big.npy");
}

TEST(NpzTest, ReportsTheMemberOfABadArray) {
    REQUIRE_NUMPY();
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    ASSERT_EQ(
        run_python(
            dir,
            "import sys, numpy as np\n"
            "np.savez(sys.argv[1], good=np.zeros(3, np.float32), bad=np.zeros(3, np.int32))\n",
            dir.file("x.npz")),
        0);
    expect_npz_fails(dir.file("x.npz"), RN_ERR_FORMAT,
                     "x.npz:bad.npy: dtype '<i4' is not supported");
}

// numpy checks what we wrote: names, shapes, dtype and values, and the zip's own CRC check.
const char *kNumpyCheck = R"PY(
import sys, zipfile, numpy as np
npz, npz64, npy = sys.argv[1:4]
for path in (npz, npz64):
    assert zipfile.ZipFile(path).testzip() is None
    z = np.load(path, allow_pickle=False)
    assert sorted(z.files) == sorted(["scalar", "w_in", "1_rate.tau", "empty"]), z.files
    for name, shape, scale in (("scalar", (), 1), ("w_in", (5,), 0.5), ("1_rate.tau", (2, 3, 4), 0.25),
                               ("empty", (0, 3), 1)):
        a = z[name]
        assert a.dtype == np.float32 and a.shape == shape, (name, a.dtype, a.shape)
        want = (np.arange(int(np.prod(shape)), dtype=np.float32) * np.float32(scale) - 1).reshape(shape)
        assert np.array_equal(a, want), (name, a, want)
a = np.load(npy, allow_pickle=False)
assert a.dtype == np.float32 and a.shape == (2, 3, 4) and a.flags.c_contiguous
assert np.array_equal(a, (np.arange(24, dtype=np.float32) * np.float32(0.25) - 1).reshape(2, 3, 4))
)PY";

TEST(NpzTest, NumpyReadsOurFiles) {
    REQUIRE_NUMPY();
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    TestArrays t = sample_arrays();
    ASSERT_EQ(rn_npz_write(dir.file("ours.npz").c_str(), t.get(), t.count(), nullptr), RN_OK);
    ASSERT_EQ(rn_npz_write_ex(dir.file("ours64.npz").c_str(), t.get(), t.count(), 1, nullptr),
              RN_OK);
    const size_t shape[3] = {2, 3, 4};
    ASSERT_EQ(rn_npy_write(dir.file("ours.npy").c_str(), t.data[2].data(), 3, shape, nullptr),
              RN_OK);
    EXPECT_EQ(run_python(dir, kNumpyCheck,
                         dir.file("ours.npz") + " " + dir.file("ours64.npz") + " " +
                             dir.file("ours.npy")),
              0);
}

// ========================================== atomic writes
// ==========================================

TEST(AtomicFile, MissingDirectoryFailsAndLeavesNothing) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string npy = dir.file("nope/a.npy"), npz = dir.file("nope/a.npz");
    float x = 1;
    rn_error err = {};
    EXPECT_EQ(rn_npy_write(npy.c_str(), &x, 0, nullptr, &err), RN_ERR_IO);
    EXPECT_TRUE(contains(err.message, npy)) << err.message;
    EXPECT_TRUE(contains(err.message, "No such file or directory")) << err.message;
    TestArrays t = sample_arrays();
    EXPECT_EQ(rn_npz_write(npz.c_str(), t.get(), t.count(), &err), RN_ERR_IO);
    EXPECT_TRUE(contains(err.message, npz)) << err.message;
    EXPECT_TRUE(dir.listing().empty());
}

TEST(AtomicFile, AbortKeepsTheOldContents) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.file("f.txt");
    write_file(path, "old contents\n");
    rn_atomic_file f;
    ASSERT_EQ(rn_atomic_open(&f, path.c_str(), nullptr), RN_OK);
    ASSERT_NE(f.fp, nullptr);
    EXPECT_EQ(dir.listing().size(), 2u); // the file and its temporary sibling
    fputs("half of the new contents", f.fp);
    rn_atomic_abort(&f); // an error mid-way
    EXPECT_EQ(f.fp, nullptr);
    EXPECT_EQ(read_file(path), "old contents\n");
    EXPECT_EQ(dir.listing(), std::vector<std::string>{"f.txt"});
    rn_atomic_abort(&f); // idempotent
}

TEST(AtomicFile, CommitReplacesKeepingTheMode) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.file("f.txt");
    write_file(path, "old contents\n");
    ASSERT_EQ(chmod(path.c_str(), 0600), 0);
    rn_atomic_file f;
    ASSERT_EQ(rn_atomic_open(&f, path.c_str(), nullptr), RN_OK);
    fputs("new contents\n", f.fp);
    rn_error err = {};
    ASSERT_EQ(rn_atomic_commit(&f, &err), RN_OK) << err.message;
    EXPECT_EQ(f.fp, nullptr);
    EXPECT_EQ(read_file(path), "new contents\n");
    EXPECT_EQ(dir.listing(), std::vector<std::string>{"f.txt"});
    struct stat sb;
    ASSERT_EQ(stat(path.c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0600u);
    rn_atomic_abort(&f); // harmless after a commit
    EXPECT_EQ(read_file(path), "new contents\n");
    // a new file gets rw-r--r--
    std::string fresh = dir.file("g.txt");
    ASSERT_EQ(rn_atomic_open(&f, fresh.c_str(), nullptr), RN_OK);
    ASSERT_EQ(rn_atomic_commit(&f, nullptr), RN_OK);
    ASSERT_EQ(stat(fresh.c_str(), &sb), 0);
    EXPECT_EQ(sb.st_mode & 0777, 0644u);
    // committing twice is an error, not a crash
    EXPECT_EQ(rn_atomic_commit(&f, &err), RN_ERR_IO);
}

TEST(AtomicFile, CommitOverADirectoryFailsAndCleansUp) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.file("d");
    ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
    float x = 1;
    rn_error err = {};
    EXPECT_EQ(rn_npy_write(path.c_str(), &x, 0, nullptr, &err), RN_ERR_IO);
    EXPECT_TRUE(contains(err.message, path)) << err.message;
    EXPECT_TRUE(contains(err.message, "Is a directory")) << err.message;
    EXPECT_EQ(dir.listing(), std::vector<std::string>{"d"});
}

// Lowers the file-size limit for its lifetime (SIGXFSZ ignored, so a write past it fails with
// EFBIG).
class FileSizeLimit {
  public:
    explicit FileSizeLimit(rlim_t bytes) {
        old_handler_ = signal(SIGXFSZ, SIG_IGN);
        ok_ = getrlimit(RLIMIT_FSIZE, &old_) == 0;
        struct rlimit rl = old_;
        rl.rlim_cur = bytes;
        ok_ = ok_ && setrlimit(RLIMIT_FSIZE, &rl) == 0;
    }
    ~FileSizeLimit() {
        setrlimit(RLIMIT_FSIZE, &old_);
        signal(SIGXFSZ, old_handler_);
    }
    bool ok() const { return ok_; }

  private:
    struct rlimit old_ = {};
    void (*old_handler_)(int) = SIG_DFL;
    bool ok_ = false;
};

// A write that fails half-way (the file-size limit stands in for a full disk): the error names the
// path and strerror's reason, the old file is untouched, and no temporary file is left.
TEST(AtomicFile, WriteErrorKeepsTheOldFile) {
    TempDir dir;
    ASSERT_TRUE(dir.ok());
    std::string path = dir.file("big.npy");
    write_file(path, "old contents\n");
    std::vector<float> v(1 << 20, 1.0f);
    size_t shape[1] = {v.size()};
    TestArrays t;
    t.add("big", {1 << 20}, 1);
    rn_error npy_err = {}, npz_err = {};
    rn_status npy_st, npz_st;
    {
        FileSizeLimit limit(64 * 1024);
        ASSERT_TRUE(limit.ok());
        npy_st = rn_npy_write(path.c_str(), v.data(), 1, shape, &npy_err);
        npz_st = rn_npz_write(path.c_str(), t.get(), t.count(), &npz_err);
    }
    EXPECT_EQ(npy_st, RN_ERR_IO);
    EXPECT_TRUE(contains(npy_err.message, path)) << npy_err.message;
    EXPECT_TRUE(contains(npy_err.message, strerror(EFBIG))) << npy_err.message;
    EXPECT_EQ(npz_st, RN_ERR_IO);
    EXPECT_TRUE(contains(npz_err.message, path)) << npz_err.message;
    EXPECT_TRUE(contains(npz_err.message, strerror(EFBIG))) << npz_err.message;
    EXPECT_EQ(read_file(path), "old contents\n");
    EXPECT_EQ(dir.listing(), std::vector<std::string>{"big.npy"});
}

} // namespace
