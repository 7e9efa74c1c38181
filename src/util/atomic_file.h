/* Internal: writing a file under a temporary name and renaming it into place, so that an
 * interrupted or failed write never leaves a broken file and never touches an existing one (SPEC
 * §8). Every writer in the project goes through this:
 *
 *     rn_atomic_file f;
 *     if ((st = rn_atomic_open(&f, path, err)) != RN_OK) return st;
 *     fwrite(..., f.fp);       // errors are sticky on the stream: no need to check each call
 *     if (bad_input) { rn_atomic_abort(&f); return rn_fail(err, ...); }
 *     return rn_atomic_commit(&f, err);   // reports any write error (a full disk) naming path
 */
#ifndef RATENN_ATOMIC_FILE_H
#define RATENN_ATOMIC_FILE_H

#include <stdio.h>

#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rn_atomic_file {
    FILE *fp; /* open for binary writing between open and commit/abort; NULL otherwise */
    char final_path[4096]; /* where the file goes */
    char temp_path[4096];  /* "<final_path>.tmp.<16 hex digits>"; "" once renamed or removed */
} rn_atomic_file;

/* Creates "<path>.tmp.<16 hex digits>" beside path (O_EXCL), open for writing. Its mode is that of
 * an existing regular file at path, else 0666 less the process's umask (as open() gives). Fails
 * with RN_ERR_IO naming path (e.g. a directory that does not exist), leaving nothing behind. */
rn_status rn_atomic_open(rn_atomic_file *f, const char *path, rn_error *err);
/* Flushes, fsyncs, closes and renames the temporary file over path. On any failure (an earlier
 * write error such as ENOSPC included) the temporary file is removed, path is untouched, and the
 * RN_ERR_IO message names path and strerror's reason. f is closed either way. */
rn_status rn_atomic_commit(rn_atomic_file *f, rn_error *err);
/* Closes and removes the temporary file; path is untouched. Safe to call again or after a commit.
 */
void rn_atomic_abort(rn_atomic_file *f);

#ifdef __cplusplus
}
#endif
#endif
