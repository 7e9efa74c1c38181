/* OpenBLAS's threads under a memory limit (see cli.h: cli_blas_setup).
 *
 * OpenBLAS 0.3.x starts its worker threads when the library is loaded, before main, and each worker
 * takes a 128 MiB work buffer as it starts; when a `ulimit -v` (RLIMIT_AS) or RLIMIT_DATA leaves no
 * room for it, the worker retries forever, and at exit OpenBLAS's destructor waits for it: the
 * program hung, deaf to SIGTERM. OPENBLAS_NUM_THREADS is read only at load, so when the limit leaves
 * less room than the threads' buffers need, the program starts itself again with one OpenBLAS thread
 * (no workers). The main thread's own buffer is checked before the first product by the library
 * (src/cpu/blas_reserve.c), which turns the remaining shortage into "out of memory". (The OpenMP
 * build takes every thread's buffer while the library loads, before main: nothing here can help
 * there; README "Limits and errors".) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

#if defined(__GNUC__) || defined(__clang__)
int openblas_get_num_threads(void) __attribute__((weak));
int openblas_get_parallel(void) __attribute__((weak)); /* 0 serial, 1 pthreads, 2 OpenMP */
#endif

#define BUFFER_BYTES (((double)(128 << 20)) + (double)(1 << 20)) /* as blas_reserve.c */
#define REEXEC_MARK "RATENN_BLAS_ONE_THREAD"

/* Bytes of address space (RLIMIT_AS) and of data (RLIMIT_DATA) this process may still map, the
 * smaller; a negative value when neither is limited or the usage cannot be read. */
static double headroom(void) {
    struct rlimit as, data;
    if (getrlimit(RLIMIT_AS, &as) || getrlimit(RLIMIT_DATA, &data)) return -1;
    if (as.rlim_cur == RLIM_INFINITY && data.rlim_cur == RLIM_INFINITY) return -1;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp) return -1;
    unsigned long size = 0, resident = 0, shared = 0, text = 0, lib = 0, dat = 0;
    int n = fscanf(fp, "%lu %lu %lu %lu %lu %lu", &size, &resident, &shared, &text, &lib, &dat);
    fclose(fp);
    if (n != 6) return -1;
    double page = (double)sysconf(_SC_PAGESIZE), room = 1e300;
    if (as.rlim_cur != RLIM_INFINITY) room = (double)as.rlim_cur - (double)size * page;
    if (data.rlim_cur != RLIM_INFINITY && (double)data.rlim_cur - (double)dat * page < room)
        room = (double)data.rlim_cur - (double)dat * page;
    return room;
}

void cli_blas_setup(char **argv) {
#if defined(__GNUC__) || defined(__clang__)
    /* only the pthread build has workers that take buffers of their own as they start (the OpenMP
     * build took its threads' when it loaded: this process has them) */
    if (!openblas_get_num_threads || !openblas_get_parallel || openblas_get_parallel() != 1 ||
        getenv(REEXEC_MARK))
        return;
    int threads = openblas_get_num_threads();
    if (threads <= 1) return;
    double room = headroom();
    /* a worker that holds its buffer already counts in the usage: asking for all of them again is
     * on the safe side */
    if (room < 0 || room >= (double)threads * BUFFER_BYTES + (double)(64 << 20)) return;
    if (setenv("OPENBLAS_NUM_THREADS", "1", 1) || setenv(REEXEC_MARK, "1", 1)) return;
    fflush(NULL);
    execv("/proc/self/exe", argv); /* returns only on failure: go on as we are */
    unsetenv(REEXEC_MARK);
#else
    (void)argv;
#endif
}
