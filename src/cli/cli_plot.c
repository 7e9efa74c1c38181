/* `ratenn plot DIR`: the tutorial's figures of a run, drawn by examples/plot_run.py (numpy,
 * matplotlib). */
#define _GNU_SOURCE /* prctl(PR_SET_PDEATHSIG) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#ifndef RATENN_PLOT_SCRIPT
#define RATENN_PLOT_SCRIPT "examples/plot_run.py"
#endif

/* The script's pid while it runs: a signal to `ratenn plot` is passed on to it (it removes what it
 * drew and says so), rather than leaving it to write its figures after ratenn has gone. */
static volatile sig_atomic_t g_child = 0;
static void pass_on(int sig) {
    if (g_child > 0) kill((pid_t)g_child, sig);
}

int cli_plot(int argc, char **argv) {
    if (argc < 3 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
        FILE *fp = argc < 3 ? stderr : stdout;
        fprintf(fp,
                "usage: ratenn plot DIR [--out PNGDIR]\n\nWrites PNGs of the tutorial's figures "
                "from a run's files "
                "(DIR/run.npz, loss.csv, params*.npz):\ninput and target, output before and after "
                "training, the "
                "loss curve, neuron states, the\nhistogram of τ, the biases, the Jacobian's "
                "eigenspectrum; for a "
                "synapse run, τ per epoch.\nNeeds python3 with numpy and matplotlib (bash "
                ".ci/setup installs them). "
                "The script is\n%s (override with RATENN_PLOT_SCRIPT; the interpreter with "
                "RATENN_PYTHON).\n",
                RATENN_PLOT_SCRIPT);
        return argc < 3 ? 2 : 0;
    }
    const char *script = getenv("RATENN_PLOT_SCRIPT");
    if (!script || !*script) script = RATENN_PLOT_SCRIPT;
    if (access(script, R_OK) != 0) {
        cli_line("ratenn plot: cannot find the plotting script %s (set RATENN_PLOT_SCRIPT)\n",
                 script);
        return 1;
    }
    /* RATENN_PYTHON names an interpreter with numpy and matplotlib; else the system's (a virtual
     * environment's python3 on PATH often lacks matplotlib), else python3 on PATH. */
    const char *python = getenv("RATENN_PYTHON");
    if (!python || !*python)
        python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) {
        cli_line("ratenn plot: out of memory\n");
        return 1;
    }
    args[0] = (char *)python;
    args[1] = (char *)script;
    for (int i = 2; i < argc; i++)
        args[i] = argv[i];
    fflush(NULL);
    struct sigaction sa, old_sa[3];
    static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = pass_on;
    for (int k = 0; k < 3; k++)
        sigaction(sigs[k], &sa, &old_sa[k]);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        for (int k = 0; k < 3; k++) /* the script sets its own */
            sigaction(sigs[k], &old_sa[k], NULL);
        /* ratenn killed outright (SIGKILL): the script goes too */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(128 + SIGTERM);
        execvp(python, args);
        cli_line("ratenn plot: cannot run %s\n", python);
        _exit(127);
    }
    free(args);
    g_child = pid;
    int status = 0;
    pid_t w = -1;
    if (pid > 0) do
            w = waitpid(pid, &status, 0);
        while (w < 0 && errno == EINTR);
    g_child = 0;
    for (int k = 0; k < 3; k++)
        sigaction(sigs[k], &old_sa[k], NULL);
    if (pid < 0 || w < 0) {
        cli_line("ratenn plot: cannot start %s\n", python);
        return 1;
    }
    if (WIFSIGNALED(status)) {
        cli_line("ratenn plot: %s was killed by signal %d\n", python, WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}
