/* One run, one directory (README "Limits and errors"): `ratenn train`'s --out held under a lock for
 * the whole run, a new run's files staged inside it and moved in only once they are consistent, and
 * the loss and τ histories appended rather than rewritten. Each call prints one line on failure. */
#ifndef RATENN_CLI_RUN_DIR_H
#define RATENN_CLI_RUN_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define RUN_DIR_LOCK ".ratenn.lock"
#define RUN_DIR_STAGE_PREFIX ".ratenn-staging-"

typedef struct run_dir {
    char dir[4096];   /* --out / --resume as given (messages) */
    char abs[4096];   /* its absolute path (config.json) */
    char stage[4200]; /* DIR/.ratenn-staging-XXXXXX while a new run is staged; "" once moved in */
    char made[4096];  /* the topmost directory this run created ("" if none) */
    int lock_fd;      /* DIR/.ratenn.lock, write-locked (fcntl) until run_dir_close; -1 if none */
    bool resumed;
} run_dir;

/* Takes DIR for a run. A new run (resume false) creates DIR if needed, refuses a DIR that holds
 * another run's files unless `overwrite`, and gets a staging directory; --resume needs DIR's
 * config.json and checkpoint.npz. Either way a second run on DIR is refused while this one holds
 * it, and what an earlier killed run left (staging directories, temporary files) is removed. */
int run_dir_open(run_dir *r, const char *dir, bool resume, bool overwrite);
/* Where FILE goes now: inside the staging directory until run_dir_commit, then in DIR. */
void run_dir_path(const run_dir *r, char *dst, size_t n, const char *file);
/* Moves a new run's staged files into DIR, in place of an older run's: the older run's files go
 * first (its checkpoint before the rest) and the new checkpoint comes last, so DIR never holds a mix
 * of two runs, and a crash while moving leaves no checkpoint of a partial run. Nothing to do once
 * done or on resume. */
int run_dir_commit(run_dir *r);
/* Releases DIR: removes an uncommitted staging directory (and DIR itself if this run made it and
 * nothing else is there), then the lock. */
void run_dir_close(run_dir *r);
/* Whether a run's file set is in DIR; names the first file found in `which` (may be NULL). */
bool run_dir_holds_run(const char *dir, const char **which);

/* Whether path names one of a run's files (config.json, checkpoint.npz, ...) in a directory that
 * holds a run, under any spelling or link; names it in `which`. (Other commands never write them.) */
bool run_file_of_run_dir(const char *path, const char **which);
/* Whether path is one of the run files now in DIR (under any spelling or link); names it. */
bool run_dir_names_run_file(const char *dir, const char *path, const char **which);

/* Appends len bytes to path at byte offset *end, first cutting the file there (what lies past it
 * is an interrupted append's or past the checkpoint), fsyncs it, and advances *end. Creates the
 * file when *end is 0. */
int run_file_append(const char *path, off_t *end, const char *text, size_t len);

/* s quoted for a POSIX shell when it needs it (for the resume hint); writes into dst. */
void shell_quote(char *dst, size_t n, const char *s);

#endif
