/* OpenMP's waiting policy for the programs (see cli.h: cli_openmp_setup).
 *
 * The CPU backend's OpenMP regions alternate with OpenBLAS calls whose pthread workers keep spinning
 * for a while after each call. With libgomp's default policy the thread that reaches a region's
 * closing barrier first spins too, without yielding; when the scheduler has put two of the region's
 * threads on one core (the other held by a spinning OpenBLAS worker), the region waits for a time
 * slice. On a 2-core machine the tutorial's epoch then took 5.8 ms instead of 1.7, a batch of 2
 * three times as long, and from one run to the next S varied between 1.7 and 10 ms. Waiting
 * passively (a futex) removes that and costs nothing measurable on the large regions (README
 * "Speed"). libgomp reads OMP_WAIT_POLICY only when it loads, so the program sets it and starts
 * itself again, unless the user chose a policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT) or OpenMP runs
 * one thread. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

#define REEXEC_MARK "RATENN_OMP_PASSIVE"

void cli_openmp_setup(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || getenv(REEXEC_MARK)) return;
    int (*max_threads)(void);
    *(void **)&max_threads = dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    if (!max_threads || max_threads() <= 1) return; /* no OpenMP runtime, or no threads to wait */
    if (setenv("OMP_WAIT_POLICY", "passive", 1) || setenv(REEXEC_MARK, "1", 1)) return;
    fflush(NULL);
    execv("/proc/self/exe", argv); /* returns only on failure: go on as we are */
    unsetenv(REEXEC_MARK);
    unsetenv("OMP_WAIT_POLICY");
}

const char *cli_openmp_policy(void) {
    const char *p = getenv("OMP_WAIT_POLICY");
    if (p) return p;
    return getenv("GOMP_SPINCOUNT") ? "GOMP_SPINCOUNT" : "default";
}
