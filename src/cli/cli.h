/* Internal to the command-line program `ratenn` (the only code that prints and exits). */
#ifndef RATENN_CLI_H
#define RATENN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ratenn/ratenn.h"

/* ---- messages (cli_text.c) ---- */
/* Prints a message to stderr on one line whatever it quotes: a control character that a path, a
 * value or a file's contents put in it shows as '?' (a final newline stays). printf-like. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void cli_line(const char *fmt, ...);

/* ---- flags (cli_args.c) ---- */
typedef enum cli_flag_type { CLI_INT, CLI_INT64, CLI_DOUBLE, CLI_STRING, CLI_SWITCH } cli_flag_type;

typedef struct cli_flag {
    const char *name; /* "--hidden" */
    cli_flag_type type;
    void *dest;          /* int*, long long*, double*, const char**, bool* */
    const char *metavar; /* "N" */
    const char *help;
    bool seen;
} cli_flag;

/* Parses argv[first..argc) against the table. Returns 0, or 1 after writing one line to errbuf.
 * Unknown flags, missing values, malformed numbers and repeated flags are errors. "--help" sets
 * *help. */
int cli_parse_flags(cli_flag *flags, int n_flags, int argc, char **argv, int first, bool *help,
                    char *errbuf, size_t errlen);
void cli_print_flags(const cli_flag *flags, int n_flags);
/* A subcommand's flags from argv[first..): returns -1 to go on, 0 after printing `usage` and the
 * flags for --help, or 2 after one line "ratenn CMD: ..." on a bad flag. */
int cli_parse_command(const char *cmd, const char *usage, cli_flag *flags, int n_flags, int argc,
                      char **argv, int first);
/* Writes every flag's value as a JSON object (keys without "--"); `extra` is inserted as more
 * members. */
void cli_write_config(FILE *fp, const cli_flag *flags, int n_flags, const char *extra);
/* A config key that describes a run rather than sets a flag (a run's config.json: "steps",
 * "ratenn_version", ...): not applied, but its value must be of its type. */
typedef struct cli_info_key {
    const char *name;
    bool count; /* a whole number >= 0; else a string */
} cli_info_key;
/* Applies a JSON config's values to the flags (before the command line, which overrides them). Keys
 * in `info` (ended by a NULL name) are checked and skipped; string values are copied into `strings`.
 * The JSON is read strictly (json_strict.h): an unknown key, a value of the wrong type or out of
 * range, a key of a string flag that a config cannot set ("[not saved]" in its help: --config,
 * --resume) is an error naming the key. */
int cli_apply_config(cli_flag *flags, int n_flags, const char *path, const cli_info_key *info,
                     char *strings, size_t strings_len, char *errbuf, size_t errlen);
/* The same from the JSON text itself (`path` only names it in messages). */
int cli_apply_config_text(cli_flag *flags, int n_flags, const char *text, const char *path,
                          const cli_info_key *info, char *strings, size_t strings_len, char *errbuf,
                          size_t errlen);

/* ---- text inputs (cli_text.c): each prints one line ("ratenn CMD: ...") on failure ---- */
char *
cli_strdup(const char *s); /* malloc'd copy (strdup is POSIX, not C11); NULL when out of memory */
/* The whole file at path as a NUL-terminated string (malloc'd), or NULL. `what` names the flag. */
char *cli_read_text(const char *cmd, const char *what, const char *path, size_t max_bytes);
/* s as a quoted JSON string (malloc'd; NULL when out of memory). Prints nothing. */
char *cli_json_quote(const char *s);
/* The string value of `key` in the JSON file at path (malloc'd), or NULL. */
char *cli_config_string(const char *cmd, const char *path, const char *key);
/* A network from --net's value: a layer spec, a .json file, or JSON text. With `effective`, also
 * what config.json should keep to rebuild it (malloc'd: the spec, or the file's JSON text). */
int cli_build_net(const char *cmd, const char *spec, double dt, long long seed, rn_net **net,
                  char **effective);

/* ---- progress (cli_progress.c) ---- */
typedef struct cli_progress {
    bool tty, quiet;
    long long first, total; /* the epoch this session started at (after --resume), and the last */
    double start, last_print;
} cli_progress;

void cli_progress_begin(cli_progress *p, long long first, long long total, bool quiet);
void cli_progress_update(cli_progress *p, long long done, double loss);
void cli_progress_end(cli_progress *p);
double cli_now(void); /* monotonic seconds */

/* ---- parameter control (cli_netctl.c): each prints one line and returns 1 on a bad value ---- */
int cli_freeze(rn_net *net, const char *list);     /* "a,b": freeze these */
int cli_train_only(rn_net *net, const char *list); /* freeze all but these */
int cli_bounds(rn_net *net, const char *list, rn_bound_mode mode);
/* Checks the network's values as every user of parameters needs them: finite, and each τ > 0 with
 * dt/τ a finite float. Copies them into dst (rn_net_param_total floats); returns the index of the
 * first bad parameter with the reason in why, or -1. */
int cli_check_params(const rn_net *net, float *dst, char *why, size_t why_len);
/* Loads parameters by name from a .npz (names and shapes checked; `flag` names it in messages);
 * with require_all, every parameter of the network must be in the file. */
int cli_init_params(rn_net *net, const char *npz_path, const char *flag, bool require_all);

/* ---- files (cli_files.c): each prints one line and returns 1 on failure ---- */
int cli_write_params(const char *path, const rn_net *net);
/* Whether the two paths name one file: the same inode when both exist, else the same directory and
 * name (so an output is never written onto an input, under any spelling). */
bool cli_same_file(const char *a, const char *b);
/* checkpoint.npz also keeps the run's fingerprint: fp[0] of its settings, fp[1] of its data (so that
 * --resume finds a config.json or data changed since). Reading gives 0, 0 for a checkpoint without
 * one. */
int cli_write_checkpoint(const char *path, const rn_net *net, rn_trainer *tr, const uint64_t fp[2]);
int cli_read_checkpoint(const char *path, rn_net *net, rn_trainer *tr, long long *epochs_done,
                        uint64_t fp[2]);

/* ---- OpenBLAS under a memory limit (cli_blas.c) ---- */
/* When an address-space or data limit leaves too little room for OpenBLAS's per-thread work buffers
 * (they are taken when the library loads, and a worker that cannot get one spins forever), starts
 * the program again (execv) with OPENBLAS_NUM_THREADS=1. Returns when nothing needs doing. */
void cli_blas_setup(char **argv);

/* ---- stop signals (cli_signals.c) ---- */
/* SIGINT, SIGTERM and SIGHUP to `handler`, with sigaction's `flags` (train and eval stop on them). */
void cli_catch_stop_signals(void (*handler)(int), int flags);

/* ---- OpenMP's waiting policy (cli_openmp.c) ---- */
/* Unless the user chose one (OMP_WAIT_POLICY, GOMP_SPINCOUNT) or OpenMP runs one thread, starts the
 * program again (execv) with OMP_WAIT_POLICY=passive: the CPU backend's parallel regions then wait
 * on a futex instead of spinning against OpenBLAS's threads. Returns when nothing needs doing. */
void cli_openmp_setup(char **argv);
/* The policy in force, for the first line: OMP_WAIT_POLICY's value, "GOMP_SPINCOUNT" or "default". */
const char *cli_openmp_policy(void);

/* ---- commands ---- */
int cli_train(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_params(int argc, char **argv);
int cli_plot(int argc, char **argv);

#endif
