/* The command-line program `ratenn`. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *fp) {
    fprintf(fp,
            "ratenn — train rate-based recurrent networks by backpropagation through time\n\n"
            "usage: ratenn <command> [flags]\n\n"
            "commands:\n"
            "  train     train a network (the chirp or synapse task, or your .npy data)\n"
            "  eval      run a trained network forward on new inputs\n"
            "  params    print a parameter file's values, statistics, time constants and poles\n"
            "  plot      draw the tutorial's figures of a run (needs python3 with matplotlib)\n"
            "  compare   run one configuration on the CPU and the GPU and compare them\n"
            "  backends  list the compute backends this build can use\n\n"
            "Run 'ratenn <command> --help' for its flags. Example:\n"
            "  ratenn train --task chirp --epochs 6000 --out runs/chirp\n");
}

static int backends(int argc, char **argv) {
    if (argc > 2) {
        cli_line("ratenn backends: takes no arguments (got '%s')\n", argv[2]);
        return 2;
    }
    printf("cpu: always available\n");
    if (!rn_cuda_built())
        printf("cuda: not built into this ratenn\n");
    else
        printf("cuda: built; %d device(s) usable\n", rn_cuda_device_count());
    return 0;
}

/* A command's output is its result: one that could not be written (a full disk, a closed stdout)
 * fails the command, whichever it was. */
static int finish(const char *cmd, int rc) {
    errno = 0;
    bool flushed = fflush(stdout) == 0;
    if (rc == 0 && (!flushed || ferror(stdout))) {
        cli_line("ratenn %s: cannot write to standard output: %s\n", cmd,
                 errno ? strerror(errno) : "a write failed");
        return 1;
    }
    return rc;
}

int main(int argc, char **argv) {
    /* A file size limit (ulimit -f) must fail a write with EFBIG, reported and cleaned up like a
     * full disk, not kill the program half-way through a file. */
    signal(SIGXFSZ, SIG_IGN);
    /* (train and compare, whose epochs alternate OpenMP regions with OpenBLAS calls; not eval, a
     * single forward pass that a second start would only delay) */
    if (argc >= 2 && (!strcmp(argv[1], "train") || !strcmp(argv[1], "compare")))
        cli_openmp_setup(argv); /* may start the program again, its threads waiting passively */
    cli_blas_setup(argv);       /* may start the program again with one OpenBLAS thread */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "train") == 0) return finish(cmd, cli_train(argc, argv));
    if (strcmp(cmd, "compare") == 0) return finish(cmd, cli_compare(argc, argv));
    if (strcmp(cmd, "eval") == 0) return finish(cmd, cli_eval(argc, argv));
    if (strcmp(cmd, "params") == 0) return finish(cmd, cli_params(argc, argv));
    if (strcmp(cmd, "plot") == 0) return finish(cmd, cli_plot(argc, argv));
    if (strcmp(cmd, "backends") == 0) return finish(cmd, backends(argc, argv));
    cli_line("ratenn: unknown command '%s' (train, eval, params, plot, compare, backends; see "
             "ratenn --help)\n",
             cmd);
    return 2;
}
