/* Internal to `ratenn train` (cli_train*.c): its arguments, its data and its output files (and, for
 * `ratenn eval`, the reading of a run's config.json). */
#ifndef RATENN_CLI_TRAIN_H
#define RATENN_CLI_TRAIN_H

#include <sys/types.h>

#include "cli.h"

typedef struct train_args {
    const char *task, *input, *target, *mask, *out, *activation, *optimizer, *backend, *net,
        *freeze, *train_only, *bound, *bound_mode, *init, *config, *resume;
    int hidden, batch, epochs, repeats, checkpoint_every;
    long long seed;
    double noise, dt, lr, pulse, freq_factor, tau_min, w_mse, w_bounds, w_l2, clip_norm, target_tau,
        target_tau2, tau0;
    bool quiet, no_recurrent, overwrite;
    const char *max_memory; /* --max-memory SIZE; max_memory_bytes once checked (0: default) */
    size_t max_memory_bytes;
    bool record_all;
} train_args;

/* The command line of one run: the arguments, the flag table that points into them (so it is never
 * copied), and what the checks derived. */
#define TRAIN_MAX_FLAGS 48
typedef struct train_cmdline {
    train_args a;
    cli_flag flags[TRAIN_MAX_FLAGS];
    int n_flags;
    char strings[16384]; /* string values taken from a --config / --resume config.json */
    rn_optimizer optimizer;
    rn_backend_kind backend;
} train_cmdline;

/* ---- cli_train_args.c ---- */
/* Parses the command line over the defaults (and over a --config or --resume config.json), and
 * checks every value. Returns -1 to go on, or the exit status to return (0 after --help, 2 after
 * one line on a bad flag). */
int train_parse(train_cmdline *c, int argc, char **argv);
/* Prints "ratenn train: MSG" and returns the usage exit status (2). */
int train_usage_error(const char *msg);
/* A run's config.json over the defaults, read as --resume reads it: strict JSON (json_strict.h),
 * every key one of the flags or of train_info_keys, each value of its flag's type and range. For
 * `ratenn eval`, which rebuilds the run's network from it. Returns 1 with one line in msg (naming
 * the file and the key) on failure. */
int train_read_config(train_cmdline *c, const char *path, char *msg, size_t len);
/* The defaults of every flag (before --config and the command line); 1 when out of memory. */
int train_default_args(train_args *a);
/* ---- cli_train_limits.c ---- */
/* The checks across flags: weights >= 0, flags that do not apply to the task or network refused, and
 * the built-in task's sizes against the limits and the machine's memory from the flags alone.
 * Returns -1 to go on, or the exit status after one line. */
int train_check_limits(const train_cmdline *c);
/* The flags that may come with --resume (NULL-terminated): how far and how, not what, the run goes
 * on; the others are refused with it. */
extern const char *const train_resume_flags[];
/* Keys of config.json that describe the run rather than set a flag. */
extern const cli_info_key train_info_keys[];

/* ---- cli_train_data.c ---- */
/* The data of one run, (B, T, C) each, owned here. */
typedef struct run_data {
    int B, T, cin, cout;
    float *input, *target, *mask;
    bool shared; /* input and target hold one trial that every trial shares (no mask) */
} run_data;

/* The built-in task's length from the flags (--task, --repeats, --pulse, --dt, ...). */
rn_status train_task_steps(const train_args *a, int *T, rn_error *err);
/* The run's data from the built-in task or the user's .npy files (one line printed on failure). */
int train_load_data(const train_args *a, run_data *d);
void run_data_free(run_data *d);

/* ---- cli_train_files.c: each prints one line and returns 1 on failure ---- */
/* DIR/config.json: every flag's value and the run's description. */
int train_write_config(const char *path, const cli_flag *flags, int n_flags, const char *spec,
                       const run_data *d, const char *backend);
/* DIR/run.npz: input, target, the initial and final outputs, and every rate layer's x and r (all
 * trials at every step with a->record_all, else the first trial, its time axis downsampled past a
 * size limit; printed when so). */
int train_write_run(const char *path, rn_trainer *tr, const rn_net *net, const run_data *d,
                    float *output0, bool record_all);
/* The run's memory in words: buffers, budget and the checkpoint interval K. */
void train_describe_memory(char *dst, size_t n, const rn_trainer *tr, int T);
/* "DIR/FILE" into dst. */
void train_path(char *dst, size_t n, const char *dir, const char *file);

/* Text gathered for appending to a file (rows of loss.csv and tau_history.csv between writes). */
typedef struct text_buf {
    char *s;
    size_t len, cap;
    bool oom; /* an allocation failed: reported by text_buf_flush */
} text_buf;
void text_buf_printf(text_buf *b, const char *fmt, ...);
/* Appends the text to path at *end (run_file_append) and empties the buffer. */
int text_buf_flush(text_buf *b, const char *path, off_t *end);
void text_buf_free(text_buf *b);

#define LOSS_CSV_HEADER "epoch,loss,mse,bounds,l2,grad_norm"
/* One row of loss.csv. */
void loss_row(text_buf *b, long long epoch, const rn_loss_parts *h);
/* On resume: checks the header and the first `rows` rows of loss.csv (strictly), gives the first
 * and last of them and the byte offset where they end (what follows is cut at the next append). */
int loss_csv_read(const char *path, long long rows, rn_loss_parts *first, rn_loss_parts *last,
                  off_t *end);

/* Per-epoch values of the filter layers' time constants (tau_history.csv), for small networks only.
 */
typedef struct tau_history {
    int n;              /* recorded columns */
    char names[16][64]; /* "<i>_<filter>.tau[k]" */
    int param[16];      /* parameter index */
    int elem[16];       /* element */
    text_buf pending;   /* rows not yet in the file */
    off_t end;          /* bytes of the file that are this run's */
} tau_history;

void tau_history_init(tau_history *h, const rn_net *net);
/* A new run's header line (into the pending text). */
void tau_history_header(tau_history *h);
/* One row from the network's values (the caller has pulled them from the trainer). */
void tau_history_record(tau_history *h, const rn_net *net, long long row);
int tau_history_flush(tau_history *h, const char *path);
/* On resume: checks the header and rows 0 .. rows-1 of the run's tau_history.csv (strictly). */
int tau_history_read(tau_history *h, const char *path, long long rows);

#endif
