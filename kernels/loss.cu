/* CUDA twin of src/cpu/loss.c: masked MSE and its gradient, bound penalties, L2 of the recurrent
 * weights. Sums are doubles, reduced in two passes of fixed shape (RN_CUDA_REDUCE_BLOCKS partial
 * sums, then one block), so a run gives the same loss every time; the order differs from the CPU's
 * sequential sum only in the last bits of a double. */
#include "cuda_common.cuh"

static inline unsigned reduce_blocks(rn_backend *be, size_t n) {
    unsigned b = rn_blocks(be, n);
    return b < RN_CUDA_REDUCE_BLOCKS ? b : RN_CUDA_REDUCE_BLOCKS;
}

__global__ static void mask_sum_kernel(double *partials, const float *mask, size_t mask_stride,
                                       size_t rows, int steps) {
    double v = 0.0;
    RN_GRID_STRIDE (r, rows) {
        size_t b = r / (size_t)steps; /* row r = b·steps + t, trial b's mask at b·mask_stride */
        v += (double)mask[b * mask_stride + (r - b * (size_t)steps)];
    }
    v = rn_block_sum(v);
    if (threadIdx.x == 0) partials[blockIdx.x] = v;
}

/* denom = channels · Σ mask (computed on the device when there is a mask). */
__global__ static void mse_kernel(double *partials, float *dy, const float *y, const float *target,
                                  size_t target_stride, const float *mask, size_t mask_stride,
                                  size_t total, int steps, int channels, const double *msum,
                                  double rows, float weight) {
    double denom = (msum ? *msum : rows) * channels;
    float scale = (float)(2.0 * weight / denom);
    double v = 0.0;
    RN_GRID_STRIDE (k, total) {
        size_t r = k / (size_t)channels, b = r / (size_t)steps;
        float m = mask ? mask[b * mask_stride + (r - b * (size_t)steps)] : 1.0f;
        /* element (b, t, c) of the target is at b·target_stride + t·C + c */
        float diff = y[k] - target[b * target_stride + (k - b * (size_t)steps * channels)];
        v += (double)m * (double)diff * (double)diff;
        dy[k] = scale * m * diff;
    }
    v = rn_block_sum(v);
    if (threadIdx.x == 0) partials[blockIdx.x] = v;
}

__global__ static void scale_scalar_kernel(double *x, int channels) {
    x[0] *= channels;
}

__global__ static void bounds_kernel(double *partials, float *grad, const float *p, const float *lo,
                                     const float *hi, size_t n, float weight) {
    double v = 0.0;
    RN_GRID_STRIDE (i, n) {
        v += rn_bound_cost(p[i], lo[i], hi[i]);
        grad[i] += weight * rn_bound_grad(p[i], lo[i], hi[i]);
    }
    v = rn_block_sum(v);
    if (threadIdx.x == 0) partials[blockIdx.x] = v;
}

__global__ static void l2_kernel(double *partials, float *grad, const float *w, size_t n,
                                 float scale) {
    double v = 0.0;
    RN_GRID_STRIDE (i, n) {
        v += (double)w[i] * (double)w[i];
        grad[i] += scale * w[i];
    }
    v = rn_block_sum(v);
    if (threadIdx.x == 0) partials[blockIdx.x] = v;
}

__global__ static void divide_add_kernel(double *out, const double *partials, int count, double n) {
    double v = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x)
        v += partials[i];
    double s = rn_block_sum(v);
    if (threadIdx.x == 0) out[0] += s / n;
}

extern "C" rn_status rn_cuda_mse(rn_backend *be, double *mse, float *dy, const float *y,
                                 const float *target, size_t target_stride, const float *mask,
                                 size_t mask_stride, int batch, int steps, int channels,
                                 float weight) {
    size_t rows = (size_t)batch * steps, total = rows * channels;
    if (total == 0) return RN_OK;
    cudaStream_t stream = rn_stream(be);
    double *partials = rn_ctx(be)->partials, *denom = rn_ctx(be)->denom;
    const double *msum = NULL;
    if (mask) {
        unsigned g = reduce_blocks(be, rows);
        mask_sum_kernel<<<g, rn_threads(be), 0, stream>>>(partials, mask, mask_stride, rows, steps);
        rn_finish_sum_kernel<<<1, rn_threads(be), 0, stream>>>(denom, partials, (int)g, NULL, 1);
        msum = denom;
    }
    unsigned g = reduce_blocks(be, total);
    mse_kernel<<<g, rn_threads(be), 0, stream>>>(partials, dy, y, target, target_stride, mask,
                                                 mask_stride, total, steps, channels, msum,
                                                 (double)rows, weight);
    if (mask) {
        scale_scalar_kernel<<<1, 1, 0, stream>>>(denom, channels);
        rn_finish_sum_kernel<<<1, rn_threads(be), 0, stream>>>(mse, partials, (int)g, denom, 0);
    } else {
        divide_add_kernel<<<1, rn_threads(be), 0, stream>>>(mse, partials, (int)g,
                                                            (double)rows * channels);
    }
    return rn_launched(be, "mse");
}

extern "C" rn_status rn_cuda_bounds(rn_backend *be, double *cost, float *grad, const float *p,
                                    const float *lo, const float *hi, size_t n, float weight) {
    if (n == 0) return RN_OK;
    cudaStream_t stream = rn_stream(be);
    double *partials = rn_ctx(be)->partials;
    unsigned g = reduce_blocks(be, n);
    bounds_kernel<<<g, rn_threads(be), 0, stream>>>(partials, grad, p, lo, hi, n, weight);
    rn_finish_sum_kernel<<<1, rn_threads(be), 0, stream>>>(cost, partials, (int)g, NULL, 0);
    return rn_launched(be, "bounds");
}

extern "C" rn_status rn_cuda_l2(rn_backend *be, double *cost, float *grad, const float *w, size_t n,
                                float weight) {
    if (n == 0) return RN_OK;
    cudaStream_t stream = rn_stream(be);
    double *partials = rn_ctx(be)->partials;
    unsigned g = reduce_blocks(be, n);
    l2_kernel<<<g, rn_threads(be), 0, stream>>>(partials, grad, w, n,
                                                (float)(2.0 * weight / (double)n));
    divide_add_kernel<<<1, rn_threads(be), 0, stream>>>(cost, partials, (int)g, (double)n);
    return rn_launched(be, "l2");
}
