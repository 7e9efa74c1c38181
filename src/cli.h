/* Internal to the command-line program `ratenn` (the only code that prints and exits). */
#ifndef RATENN_CLI_H
#define RATENN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ratenn/ratenn.h"

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
/* Writes every flag's value as a JSON object (keys without "--"); `extra` is inserted as more
 * members. */
void cli_write_config(FILE *fp, const cli_flag *flags, int n_flags, const char *extra);
/* Applies a JSON config's values to the flags (before the command line, which overrides them). Keys
 * in `ignored` (NULL-terminated) are skipped; string values are copied into `strings`. */
int cli_apply_config(cli_flag *flags, int n_flags, const char *path, const char *const *ignored,
                     char *strings, size_t strings_len, char *errbuf, size_t errlen);
/* The same from the JSON text itself (`path` only names it in messages). */
int cli_apply_config_text(cli_flag *flags, int n_flags, const char *text, const char *path,
                          const char *const *ignored, char *strings, size_t strings_len,
                          char *errbuf, size_t errlen);

/* ---- progress (cli_progress.c) ---- */
typedef struct cli_progress {
    bool tty, quiet;
    long long total;
    double start, last_print;
} cli_progress;

void cli_progress_begin(cli_progress *p, long long total, bool quiet);
void cli_progress_update(cli_progress *p, long long done, double loss);
void cli_progress_end(cli_progress *p);
double cli_now(void); /* monotonic seconds */

/* ---- parameter control (cli_netctl.c): each prints one line and returns 1 on a bad value ---- */
int cli_freeze(rn_net *net, const char *list);     /* "a,b": freeze these */
int cli_train_only(rn_net *net, const char *list); /* freeze all but these */
int cli_bounds(rn_net *net, const char *list, rn_bound_mode mode);
int cli_init_params(rn_net *net, const char *npz_path);

/* ---- files (cli_files.c): each prints one line and returns 1 on failure ---- */
int cli_write_params(const char *path, const rn_net *net);
int cli_write_loss_csv(const char *path, const rn_loss_parts *hist, long long n);
int cli_read_loss_csv(const char *path, rn_loss_parts *hist, long long n);
int cli_write_checkpoint(const char *path, const rn_net *net, rn_trainer *tr);
int cli_read_checkpoint(const char *path, rn_net *net, rn_trainer *tr, long long *epochs_done);

/* ---- commands ---- */
int cli_train(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_params(int argc, char **argv);
int cli_plot(int argc, char **argv);

#endif
