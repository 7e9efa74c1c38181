/* Internal: what every .cu file in kernels/ shares: the context, launch sizes, the launch check and
 * the deterministic block reduction (a fixed tree, so that the same inputs give the same sums every
 * run). */
#ifndef RATENN_CUDA_COMMON_CUH
#define RATENN_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_ctx.h"
#include "error.h"
#include "rn_math.h"

/* Threads per block: the backend's (set_block_size; a power of two up to RN_MAX_THREADS). */
#define RN_MAX_THREADS 1024

static inline rn_cuda_ctx *rn_ctx(rn_backend *be) {
    return (rn_cuda_ctx *)be->ctx;
}
static inline cudaStream_t rn_stream(rn_backend *be) {
    return rn_ctx(be)->stream;
}
static inline unsigned rn_threads(rn_backend *be) {
    return (unsigned)rn_ctx(be)->threads;
}

/* Blocks for n threads, capped for grid-stride loops. */
static inline unsigned rn_blocks(rn_backend *be, size_t n) {
    size_t t = rn_threads(be), b = (n + t - 1) / t;
    if (b > 65535u * 8u) b = 65535u * 8u;
    return (unsigned)(b ? b : 1);
}

/* After a launch: a bad configuration shows here; a fault inside the kernel at the next sync. */
static inline rn_status rn_launched(rn_backend *be, const char *kernel) {
    return rn_cuda_check(be, cudaGetLastError(), kernel);
}

#define RN_GRID_STRIDE(i, n)                                                                       \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                        \
         i += (size_t)gridDim.x * blockDim.x)

/* Sums v over the block in a fixed tree (fixed for a given block size); the result is valid in
 * thread 0. blockDim.x is a power of two up to RN_MAX_THREADS. */
__device__ static inline double rn_block_sum(double v) {
    __shared__ double sh[RN_MAX_THREADS];
    sh[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

/* Second pass: out[0] (+= or =) scale · Σ partials[0..count), summed in a fixed order. */
__global__ static void rn_finish_sum_kernel(double *out, const double *partials, int count,
                                            const double *divisor, int assign) {
    double v = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x)
        v += partials[i];
    double s = rn_block_sum(v);
    if (threadIdx.x == 0) {
        if (divisor) s /= *divisor;
        out[0] = assign ? s : out[0] + s;
    }
}

#endif
