// Running the `ratenn` program as a child process in the tests: exit status and captured stderr.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "test_files.h"

struct CliResult {
    int status; // exit status, or 128 + signal
    std::string err;
};

// Runs `ratenn ARGS` (a shell-quoted string) with stderr captured to a file in dir.
inline CliResult run_cli(const std::string &args, const std::string &dir) {
    std::string errf = dir + "/stderr.txt";
    std::string cmd = std::string(RATENN_CLI_PATH) + " " + args + " >/dev/null 2>'" + errf + "'";
    int st = std::system(cmd.c_str());
    CliResult r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.err = read_file(errf);
    return r;
}

// The smallest address-space limit (`ulimit -v`, KiB, to within 25 MiB) under which `ratenn --help`
// runs: the program's own mappings (a CUDA build maps some 700 MiB of CUDA libraries, a CPU build a
// tenth of that), the base to which a test of a memory limit adds what it allows the run itself.
inline long vm_floor_kb() {
    static long floor_kb = -1; // (found once per test process)
    if (floor_kb >= 0) return floor_kb;
    long lo = 0, hi = 8L << 20; // 8 GiB: surely enough
    while (hi - lo > 25600) {
        long mid = (lo + hi) / 2;
        std::string cmd = "ulimit -v " + std::to_string(mid) + " && exec timeout -s KILL 20 " +
                          RATENN_CLI_PATH + " --help >/dev/null 2>&1";
        int st = std::system(cmd.c_str());
        (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? hi : lo) = mid;
    }
    return floor_kb = hi;
}

// Replaces every "U/" in s by the directory d and a '/'.
inline std::string subst(std::string s, const std::string &d) {
    // (searching on past each replacement: the directory's own name may hold "U/")
    for (size_t p = 0; (p = s.find("U/", p)) != std::string::npos; p += d.size() + 1)
        s.replace(p, 2, d + "/");
    return s;
}
