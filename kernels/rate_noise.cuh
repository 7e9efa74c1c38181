/* Internal: the rate layer's noise words (SPEC §6), one function for every kernel that draws them
 * (the step kernel in rate.cu, the persistent kernels in rate_seq.cu), so that both paths use the
 * very same numbers. cuRAND's Philox4_32_10 state at (seed, subsequence, offset) as SPEC §6 fixes
 * gives the four words of the block of four neurons q at step t; rn_normals4 (rn_math.h) turns them
 * into normals with the CPU's Box-Muller. */
#ifndef RATENN_RATE_NOISE_CUH
#define RATENN_RATE_NOISE_CUH

#include <curand_kernel.h>

#include "cuda_common.cuh"

/* The four standard normals of trial b, step t, neurons 4q .. 4q + 3 (quads = ceil(n / 4)). */
__device__ static inline void rn_rate_noise4(uint64_t seed, uint32_t epoch, uint32_t layer, int b,
                                             int64_t t, int q, int quads, float z[4]) {
    curandStatePhilox4_32_10_t st;
    unsigned long long subseq =
        ((unsigned long long)epoch << 32) | ((unsigned long long)layer << 24) | (unsigned)b;
    unsigned long long block = (unsigned long long)t * (unsigned long long)quads + q;
    curand_init(seed, subseq, 4ull * block, &st);
    uint4 r = curand4(&st);
    const uint32_t w[4] = {r.x, r.y, r.z, r.w};
    rn_normals4(w, z);
}

#endif
