// Running the `ratenn` program as a child process in the tests: exit status and captured stderr.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "test_files.h"

// A wait status as a shell gives it: the exit status, or 128 + the signal.
inline int exit_status(int st) {
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

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
    r.status = exit_status(st);
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

inline long count_lines(const std::string &s) {
    return (long)std::count(s.begin(), s.end(), '\n');
}

// Every regular file of a directory (not descending) with its bytes, but the lock file.
inline std::vector<std::pair<std::string, std::string>> dir_snapshot(const std::string &dir) {
    std::vector<std::pair<std::string, std::string>> v;
    std::error_code ec;
    for (const auto &e : std::filesystem::directory_iterator(dir, ec))
        if (e.is_regular_file() && e.path().filename() != ".ratenn.lock")
            v.push_back({e.path().filename().string(), read_file(e.path().string())});
    std::sort(v.begin(), v.end());
    return v;
}

// Whether cond() comes true within `seconds`, asked every 5 ms.
inline bool wait_for(const std::function<bool()> &cond, int seconds) {
    for (int i = 0; i < seconds * 200; i++) {
        if (cond()) return true;
        usleep(5000);
    }
    return false;
}

// s split at spaces.
inline std::vector<std::string> words(const std::string &s) {
    std::vector<std::string> v;
    size_t p = 0;
    while ((p = s.find_first_not_of(' ', p)) != std::string::npos) {
        size_t e = s.find(' ', p);
        v.push_back(s.substr(p, e == std::string::npos ? std::string::npos : e - p));
        p = e;
    }
    return v;
}

// A background `ratenn ARGS` (stdout to /dev/null, stderr to errf), exec'd without a shell between so
// that a signal reaches ratenn itself; SIGKILLed at scope end unless waited for.
struct Background {
    pid_t pid = -1;
    Background(const std::vector<std::string> &args, const std::string &errf) {
        pid = fork();
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stdout) || !freopen(errf.c_str(), "w", stderr))
                _exit(127);
            std::vector<char *> argv{(char *)RATENN_CLI_PATH};
            for (const auto &a : args)
                argv.push_back((char *)a.c_str());
            argv.push_back(nullptr);
            execv(RATENN_CLI_PATH, argv.data());
            _exit(127);
        }
    }
    Background(const Background &) = delete;
    Background &operator=(const Background &) = delete;
    // Exit status (128 + signal if killed), waiting at most `seconds`; -1 on timeout.
    int wait(int seconds) {
        for (int i = 0; i < seconds * 100; i++) {
            int st = 0;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                pid = -1;
                return exit_status(st);
            }
            usleep(10000);
        }
        return -1;
    }
    ~Background() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
};
