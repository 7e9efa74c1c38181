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

// Replaces every "U/" in s by the directory d and a '/'.
inline std::string subst(std::string s, const std::string &d) {
    // (searching on past each replacement: the directory's own name may hold "U/")
    for (size_t p = 0; (p = s.find("U/", p)) != std::string::npos; p += d.size() + 1)
        s.replace(p, 2, d + "/");
    return s;
}
