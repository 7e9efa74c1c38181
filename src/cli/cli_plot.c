/* `ratenn plot DIR`: the tutorial's figures of a run, drawn by examples/plot_run.py (numpy,
 * matplotlib). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#ifndef RATENN_PLOT_SCRIPT
#define RATENN_PLOT_SCRIPT "examples/plot_run.py"
#endif

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
        fprintf(stderr,
                "ratenn plot: cannot find the plotting script %s (set RATENN_PLOT_SCRIPT)\n",
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
        fprintf(stderr, "ratenn plot: out of memory\n");
        return 1;
    }
    args[0] = (char *)python;
    args[1] = (char *)script;
    for (int i = 2; i < argc; i++)
        args[i] = argv[i];
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execvp(python, args);
        fprintf(stderr, "ratenn plot: cannot run %s\n", python);
        _exit(127);
    }
    free(args);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        fprintf(stderr, "ratenn plot: cannot start python3\n");
        return 1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
