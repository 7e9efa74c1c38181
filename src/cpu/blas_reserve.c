/* OpenBLAS's work buffers, claimed before the first product so that running out of address space is
 * an error with a size rather than a hang.
 *
 * OpenBLAS 0.3.x gives each thread that runs a level-3 product one work buffer (BUFFER_SIZE, 128 MiB
 * on x86-64, plus a page) from blas_memory_alloc, kept for the life of the process: the calling
 * thread's on its first product, the pthread build's workers' as they start (newer releases: on
 * their first product), the OpenMP build's threads' when the library loads. When neither mmap nor
 * malloc can give one (a `ulimit -v`, strict overcommit), blas_memory_alloc retries forever:
 * `ratenn train` under a memory limit spun there, deaf to SIGTERM and Ctrl-C. So before the first
 * product: hold as many buffers of that size as may still be taken, all at once (proof that the room
 * is there), give them back, and at once run one product large enough to occupy every thread, so
 * that OpenBLAS takes its buffers into that room. Later products reuse them and allocate nothing
 * more. Other CBLAS libraries do not need this (found at run time: the OpenBLAS entries are weak
 * symbols). What this cannot reach: the OpenMP build's load-time buffers (before main; see
 * README "Limits and errors"). */
#include "blas_reserve.h"

#include <cblas.h>
#include <stdlib.h>

#include "error.h"

#if defined(__GNUC__) || defined(__clang__)
int openblas_get_num_threads(void) __attribute__((weak));
int openblas_get_parallel(void) __attribute__((weak)); /* 0 serial, 1 pthreads, 2 OpenMP */
#define RN_HAVE_OPENBLAS_QUERY 1
#endif

/* OpenBLAS's BUFFER_SIZE (32 << 22 on x86-64) and FIXED_PAGESIZE, with 1 MiB to spare for the
 * architectures whose buffer is a little larger. */
#define RN_BLAS_BUFFER_BYTES (((size_t)128 << 20) + ((size_t)1 << 20))
#define RN_BLAS_MAX_THREADS 1024

/* The product that occupies every thread: OpenBLAS threads a product with m·n·k above 2^18 and
 * splits m over the threads in rows of a few each, so m = 64 per thread is plenty. */
static rn_status warm_up(int threads, rn_error *err) {
    const int m = 64 * threads, n = 64, k = 64;
    float *a = calloc((size_t)m * k, sizeof *a), *b = calloc((size_t)k * n, sizeof *b),
          *c = calloc((size_t)m * n, sizeof *c);
    rn_status st = RN_OK;
    if (!a || !b || !c)
        st = rn_fail(err, RN_ERR_NO_MEMORY, "out of host memory (asked for %.1f MiB)",
                     (double)((size_t)m * k + (size_t)k * n + (size_t)m * n) * 4.0 / 1048576.0);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c,
                    n);
    free(a);
    free(b);
    free(c);
    return st;
}

rn_status rn_cpu_blas_reserve(rn_error *err) {
#ifdef RN_HAVE_OPENBLAS_QUERY
    if (!openblas_get_num_threads) return RN_OK; /* not OpenBLAS */
    int threads = openblas_get_num_threads();
    if (threads < 1) threads = 1;
    if (threads > RN_BLAS_MAX_THREADS) threads = RN_BLAS_MAX_THREADS;
    /* The OpenMP build takes its threads' buffers when the library loads (blas_thread_init), so a
     * process that runs holds them; what is left is the calling thread's own buffer. */
    int buffers = openblas_get_parallel && openblas_get_parallel() == 2 ? 1 : threads;
    void *held[RN_BLAS_MAX_THREADS];
    int got = 0;
    while (got < buffers && (held[got] = malloc(RN_BLAS_BUFFER_BYTES)) != NULL)
        got++;
    for (int i = 0; i < got; i++)
        free(held[i]);
    if (got < buffers)
        return rn_fail(err, RN_ERR_NO_MEMORY,
                       "out of host memory: OpenBLAS's work buffers need %.0f MiB (%d x %.0f MiB) "
                       "and only %d MiB could be had",
                       (double)buffers * (double)RN_BLAS_BUFFER_BYTES / 1048576.0, buffers,
                       (double)RN_BLAS_BUFFER_BYTES / 1048576.0,
                       (int)((double)got * (double)RN_BLAS_BUFFER_BYTES / 1048576.0));
    return warm_up(threads, err);
#else
    (void)err;
    return RN_OK;
#endif
}
