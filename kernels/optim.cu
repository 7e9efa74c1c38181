/* CUDA twin of src/cpu/optim.c: the squared gradient norm (deterministic two-pass double sum), Adam
 * and SGD over the whole parameter block, and the clip-bound projection. The update kernels read
 * the epoch's scalars from device memory and skip the step when any is non-finite, as the CPU does,
 * so that the host never waits on the device between the backward pass and the update. */
#include "cuda_common.cuh"

__global__ static void sum_squares_kernel(double *partials, const float *g, const uint8_t *mask,
                                          size_t n) {
    double v = 0.0;
    RN_GRID_STRIDE (i, n)
        if (mask[i]) v += (double)g[i] * (double)g[i];
    v = rn_block_sum(v);
    if (threadIdx.x == 0) partials[blockIdx.x] = v;
}

__global__ static void adam_kernel(float *p, float *m, float *v, const float *g,
                                   const uint8_t *mask, const double *scalars, size_t n,
                                   rn_optim_step s) {
    if (!rn_scalars_finite(scalars, RN_SCALAR_COUNT)) return;
    float scale = rn_clip_scale(scalars[RN_SCALAR_GNORM2], s.clip_norm);
    RN_GRID_STRIDE (i, n)
        if (mask[i])
            rn_adam_update(&p[i], &m[i], &v[i], g[i] * scale, s.lr, s.b1, s.b2, s.eps, s.bc1,
                           s.bc2);
}

__global__ static void sgd_kernel(float *p, const float *g, const uint8_t *mask,
                                  const double *scalars, size_t n, rn_optim_step s) {
    if (!rn_scalars_finite(scalars, RN_SCALAR_COUNT)) return;
    float scale = rn_clip_scale(scalars[RN_SCALAR_GNORM2], s.clip_norm);
    RN_GRID_STRIDE (i, n)
        if (mask[i]) p[i] = p[i] - s.lr * (g[i] * scale);
}

__global__ static void clip_bounds_kernel(float *p, const float *lo, const float *hi,
                                          const uint8_t *mask, size_t n) {
    RN_GRID_STRIDE (i, n)
        if (mask[i]) p[i] = rn_clampf(p[i], lo[i], hi[i]);
}

__global__ static void fill_kernel(float *dst, float value, size_t n) {
    RN_GRID_STRIDE (i, n)
        dst[i] = value;
}

extern "C" rn_status rn_cuda_sum_squares(rn_backend *be, double *out, const float *g,
                                         const uint8_t *mask, size_t n) {
    if (n == 0) return RN_OK;
    cudaStream_t stream = rn_stream(be);
    double *partials = rn_ctx(be)->partials;
    unsigned blocks = rn_blocks(be, n);
    if (blocks > RN_CUDA_REDUCE_BLOCKS) blocks = RN_CUDA_REDUCE_BLOCKS;
    sum_squares_kernel<<<blocks, rn_threads(be), 0, stream>>>(partials, g, mask, n);
    rn_finish_sum_kernel<<<1, rn_threads(be), 0, stream>>>(out, partials, (int)blocks, NULL, 0);
    return rn_launched(be, "sum_squares");
}

extern "C" rn_status rn_cuda_adam(rn_backend *be, float *p, float *m, float *v, const float *g,
                                  const uint8_t *mask, const double *scalars, size_t n,
                                  const rn_optim_step *s) {
    if (n == 0) return RN_OK;
    adam_kernel<<<rn_blocks(be, n), rn_threads(be), 0, rn_stream(be)>>>(p, m, v, g, mask, scalars,
                                                                        n, *s);
    return rn_launched(be, "adam");
}

extern "C" rn_status rn_cuda_sgd(rn_backend *be, float *p, const float *g, const uint8_t *mask,
                                 const double *scalars, size_t n, const rn_optim_step *s) {
    if (n == 0) return RN_OK;
    sgd_kernel<<<rn_blocks(be, n), rn_threads(be), 0, rn_stream(be)>>>(p, g, mask, scalars, n, *s);
    return rn_launched(be, "sgd");
}

extern "C" rn_status rn_cuda_clip_bounds(rn_backend *be, float *p, const float *lo, const float *hi,
                                         const uint8_t *mask, size_t n) {
    if (n == 0) return RN_OK;
    clip_bounds_kernel<<<rn_blocks(be, n), rn_threads(be), 0, rn_stream(be)>>>(p, lo, hi, mask, n);
    return rn_launched(be, "clip_bounds");
}

extern "C" rn_status rn_cuda_fill(rn_backend *be, float *dst, float value, size_t n) {
    if (n == 0) return RN_OK;
    fill_kernel<<<rn_blocks(be, n), rn_threads(be), 0, rn_stream(be)>>>(dst, value, n);
    return rn_launched(be, "fill");
}
