/* libFuzzer target: what `ratenn train --resume` and `ratenn eval` read back from a run directory
 * (src/cli/cli_train_files.c, cli_files.c, cli_train_args.c), and the whole train command line.
 * The first byte picks the reader, the second the rows the checkpoint claims; the rest is the file
 * (in a memfd, opened by its /proc path as the CLI opens a run's files) or, for the command line,
 * argv split at NUL bytes:
 *   0  loss.csv          loss_csv_read
 *   1  tau_history.csv   tau_history_read (a network with three filters' τ columns)
 *   2  checkpoint.npz    cli_read_checkpoint (parameters, Adam's moments, epochs, fingerprint)
 *   3  config.json       train_read_config (as --resume and eval read it)
 *   4  the command line  train_parse (every flag's value, --max-memory's sizes, the cross checks)
 * Each either accepts the input or refuses it with one line; the readers' messages go to stderr. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli_train.h"
#include "fuzz_argv.h"
#include "ratenn/ratenn.h"

/* The network and trainer a checkpoint or τ history is read into: made once (building them per
 * input would be most of each run, a CPU backend's start above all), as small as a network with
 * every parameter kind can be; put back as made after each checkpoint (fuzz_run_reset), so that
 * an input's outcome depends on nothing before it. */
typedef struct fuzz_run {
    rn_net *net;
    rn_backend *backend;
    rn_trainer *tr;
    float *initial, *zeros; /* every parameter as made; zeros for Adam's moments */
    size_t total;
} fuzz_run;

static void fuzz_run_reset(fuzz_run *run) {
    size_t off = 0;
    for (int i = 0; i < rn_net_param_count(run->net); i++) {
        rn_param_info info;
        rn_net_param_info(run->net, i, &info, NULL);
        rn_net_set_param(run->net, info.name, run->initial + off, info.count, NULL);
        off += info.count;
    }
    rn_trainer_push_params(run->tr, NULL);
    rn_trainer_set_optimizer_state(run->tr, run->zeros, run->zeros, run->total, 0, NULL);
}

static fuzz_run *the_run(void) {
    static fuzz_run run;
    static int made;
    if (made) return run.net && run.tr ? &run : NULL;
    made = 1;
    rn_error err = {0};
    rn_train_config cfg = rn_train_config_default();
    if (rn_net_from_spec(&run.net,
                         "linear(1,3) rate(3,tanh,recurrent) lowpass(3,tau=0.005) linear(3,1) "
                         "alpha(1,tau=0.01) doubleexp(1,tau1=0.05,tau2=0.03)",
                         1e-3f, 0, &err) != RN_OK ||
        rn_backend_create(&run.backend, RN_BACKEND_CPU, &err) != RN_OK ||
        rn_trainer_create(&run.tr, run.net, run.backend, &cfg, 1, 4, &err) != RN_OK) {
        /* (stderr is closed under -close_fd_mask: a run that fuzzed only the command line would
         * pass unnoticed) */
        fprintf(stderr, "fuzz_resume: setup: %s\n", err.message);
        abort();
    }
    run.total = rn_net_param_total(run.net);
    run.initial = malloc(run.total * sizeof(float));
    run.zeros = calloc(run.total, sizeof(float));
    if (!run.initial || !run.zeros) abort();
    size_t off = 0;
    for (int i = 0; i < rn_net_param_count(run.net); i++) {
        rn_param_info info;
        rn_net_param_info(run.net, i, &info, NULL);
        if (rn_net_get_param(run.net, info.name, run.initial + off, info.count, &err) != RN_OK)
            abort();
        off += info.count;
    }
    return &run;
}

/* The bytes as a file the readers open by path: /proc/self/fd/N of a memfd (a regular file). */
static int as_file(const uint8_t *data, size_t size, char *path, size_t n) {
    int fd = memfd_create("fuzz_resume", MFD_CLOEXEC);
    if (fd < 0) return -1;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, n, "/proc/self/fd/%d", fd);
    return fd;
}

static void parse_command_line(const uint8_t *data, size_t size) {
    fuzz_argv a;
    fuzz_argv_make(&a, data, size);
    train_cmdline *c = calloc(1, sizeof *c);
    if (a.buf && c) train_parse(c, a.argc, a.argv);
    free(c);
    fuzz_argv_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2 || size > 65536) return 0;
    int which = data[0] % 5;
    long long rows = data[1];
    data += 2;
    size -= 2;
    if (which == 4) {
        parse_command_line(data, size);
        return 0;
    }
    fuzz_run *run = the_run();
    char path[64];
    int fd = as_file(data, size, path, sizeof path);
    if (!run || fd < 0) {
        if (fd >= 0) close(fd);
        return 0;
    }
    if (which == 0) {
        rn_loss_parts first, last;
        off_t end;
        loss_csv_read(path, rows, &first, &last, &end);
    } else if (which == 1) {
        tau_history h;
        tau_history_init(&h, run->net);
        tau_history_read(&h, path, rows);
        text_buf_free(&h.pending);
    } else if (which == 2) {
        long long done;
        uint64_t fp[2];
        cli_read_checkpoint(path, run->net, run->tr, &done, fp);
        fuzz_run_reset(run);
    } else {
        train_cmdline *c = calloc(1, sizeof *c);
        char msg[1200];
        if (c) train_read_config(c, path, msg, sizeof msg);
        free(c);
    }
    close(fd);
    return 0;
}
