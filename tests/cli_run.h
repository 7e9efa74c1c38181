// Running the `ratenn` program as a child process in the tests: exit status and captured stderr.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

struct CliResult {
    int status; // exit status, or 128 + signal
    std::string err;
};

inline std::string temp_dir() {
    char tmpl[] = "/tmp/ratenn-test-XXXXXX";
    const char *d = mkdtemp(tmpl);
    return d ? d : "/tmp";
}

inline void remove_tree(const std::string &dir) {
    std::string cmd = "rm -rf '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
}

// Runs `ratenn ARGS` (a shell-quoted string) with stderr captured to a file in dir.
inline CliResult run_cli(const std::string &args, const std::string &dir) {
    std::string errf = dir + "/stderr.txt";
    std::string cmd = std::string(RATENN_CLI_PATH) + " " + args + " >/dev/null 2>'" + errf + "'";
    int st = std::system(cmd.c_str());
    CliResult r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::ifstream f(errf);
    std::stringstream ss;
    ss << f.rdbuf();
    r.err = ss.str();
    return r;
}

inline bool file_exists(const std::string &p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

inline std::string read_file(const std::string &p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline void write_file(const std::string &p, const std::string &bytes) {
    std::ofstream f(p, std::ios::binary);
    f << bytes;
}

// A little-endian float32 .npy written by hand (independent of the library's writer).
inline std::string npy_bytes(const std::vector<size_t> &shape, const std::vector<float> &v,
                             const char *descr = "<f4", bool fortran = false) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); i++)
        s += std::to_string(shape[i]) + (shape.size() == 1      ? ",)"
                                         : i + 1 < shape.size() ? ", "
                                                                : ")");
    if (shape.empty()) s += ")";
    std::string h = std::string("{'descr': '") + descr +
                    "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + s +
                    ", }";
    while ((10 + h.size() + 1) % 64)
        h += ' ';
    h += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += (char)(h.size() & 0xff);
    out += (char)(h.size() >> 8);
    out += h;
    out.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(float));
    return out;
}
