// Files in the tests: a temporary directory per test, whole-file reads and writes, and .npy bytes
// written by hand (independent of the library's writer). The one copy of each; every test uses these.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

// A fresh directory under /tmp, removed with everything in it when the test's scope ends (also when an
// ASSERT_* returns early). ok() is false if it could not be made: check it before use.
class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/ratenn-test-XXXXXX";
        const char *p = mkdtemp(tmpl);
        if (p) path_ = p;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    bool ok() const { return !path_.empty(); }
    const std::string &path() const { return path_; }
    std::string file(const std::string &name) const { return path_ + "/" + name; }
    // Names of everything in the directory, sorted.
    std::vector<std::string> listing() const {
        std::vector<std::string> names;
        for (const auto &e : std::filesystem::directory_iterator(path_))
            names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }

  private:
    std::string path_;
};

inline bool file_exists(const std::string &path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

// The whole file's bytes ("" if it cannot be read).
inline std::string read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline void write_file(const std::string &path, const std::string &bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), (std::streamsize)bytes.size());
}

inline std::string f32_bytes(const std::vector<float> &v) {
    return std::string((const char *)v.data(), v.size() * sizeof(float));
}
inline std::string f64_bytes(const std::vector<double> &v) {
    return std::string((const char *)v.data(), v.size() * sizeof(double));
}

// A shape as numpy writes it in a header: "()", "(5,)", "(2, 3)".
inline std::string npy_shape_text(const std::vector<size_t> &shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); i++)
        s += std::to_string(shape[i]) + (shape.size() == 1      ? ",)"
                                         : i + 1 < shape.size() ? ", "
                                                                : ")");
    if (shape.empty()) s += ")";
    return s;
}

// A header dictionary as numpy writes it.
inline std::string npy_dict(const std::string &descr, const std::string &shape,
                            const char *fortran = "False") {
    return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// A .npy from a header dictionary text and the data bytes: version `major` (1, 2 or 3), the dictionary
// padded with spaces and '\n' so the data is 64-byte aligned.
inline std::string npy_bytes(const std::string &dict, const std::string &data, int major = 1) {
    size_t pre = major == 1 ? 10 : 12;
    std::string h = dict;
    while ((pre + h.size() + 1) % 64)
        h += ' ';
    h += '\n';
    std::string out("\x93NUMPY", 6);
    out += (char)major;
    out += (char)0;
    uint32_t n = (uint32_t)h.size();
    out += (char)(n & 0xff);
    out += (char)((n >> 8) & 0xff);
    if (major != 1) {
        out += (char)((n >> 16) & 0xff);
        out += (char)(n >> 24);
    }
    return out + h + data;
}

// A version 1 .npy of float32 values with the given shape (the header may claim another dtype or the
// Fortran order, for files that must be refused).
inline std::string npy_f32(const std::vector<size_t> &shape, const std::vector<float> &v,
                           const char *descr = "<f4", bool fortran = false) {
    return npy_bytes(npy_dict(descr, npy_shape_text(shape), fortran ? "True" : "False"),
                     f32_bytes(v));
}
