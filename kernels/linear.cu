/* CUDA twin of src/cpu/linear.c: the bias broadcast and its column-sum gradient. */
#include "cuda_common.cuh"

__global__ static void bias_add_kernel(float *y, const float *bias, size_t total, int cols) {
    RN_GRID_STRIDE (k, total)
        y[k] += bias[k % (size_t)cols];
}

/* One block per column; each thread sums a fixed stride of rows in double, then a fixed tree. */
__global__ static void bias_grad_kernel(float *dbias, const float *g, int rows, int cols) {
    int c = blockIdx.x;
    double s = 0.0;
    for (size_t r = threadIdx.x; r < (size_t)rows; r += blockDim.x)
        s += (double)g[r * cols + c];
    s = rn_block_sum(s);
    if (threadIdx.x == 0) dbias[c] += (float)s;
}

extern "C" rn_status rn_cuda_bias_add(rn_backend *be, float *y, const float *bias, int rows,
                                      int cols) {
    size_t total = (size_t)rows * cols;
    if (total == 0) return RN_OK;
    bias_add_kernel<<<rn_blocks(be, total), rn_threads(be), 0, rn_stream(be)>>>(y, bias, total,
                                                                                cols);
    return rn_launched(be, "bias_add");
}

extern "C" rn_status rn_cuda_bias_grad(rn_backend *be, float *dbias, const float *g, int rows,
                                       int cols) {
    if (rows <= 0 || cols <= 0) return RN_OK;
    bias_grad_kernel<<<cols, rn_threads(be), 0, rn_stream(be)>>>(dbias, g, rows, cols);
    return rn_launched(be, "bias_grad");
}
