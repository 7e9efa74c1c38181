/* CUDA twin of src/cpu/linear.c: the bias broadcast and its column-sum gradient. */
#include "cuda_common.cuh"

__global__ static void bias_add_kernel(float *y, const float *bias, size_t total, int cols) {
    RN_GRID_STRIDE (k, total)
        y[k] += bias[k % (size_t)cols];
}

/* dbias[c] += Σ_r g[r, c] as a two-pass column sum whose order depends only on rows and cols (not
 * on set_block_size): blocks of TX × TY threads (TX = cols rounded up to a power of two, at most
 * 32, so that a warp reads whole rows: coalesced even for one column), TX columns × one chunk of
 * rows each; every thread sums its rows (ty, ty + TY, ...) in double, then a fixed tree over ty.
 * One chunk: the block adds into dbias; else the chunks' sums go to scratch and a second pass adds
 * them up in chunk order. */
#define RN_BIAS_THREADS 256
#define RN_BIAS_CHUNK_ROWS 1024
#define RN_BIAS_MAX_CHUNKS 256

__global__ static void bias_grad_partial_kernel(float *dbias, double *partials, const float *g,
                                                int rows, int cols, int chunk_rows) {
    __shared__ double sh[RN_BIAS_THREADS];
    const int tx = (int)threadIdx.x, ty = (int)threadIdx.y, TX = (int)blockDim.x,
              TY = (int)blockDim.y;
    const int c = (int)blockIdx.x * TX + tx, chunk = (int)blockIdx.y;
    const size_t r0 = (size_t)chunk * chunk_rows;
    const size_t r1 = r0 + (size_t)chunk_rows < (size_t)rows ? r0 + (size_t)chunk_rows : rows;
    double s = 0.0;
    if (c < cols)
        for (size_t r = r0 + ty; r < r1; r += TY)
            s += (double)g[r * cols + c];
    sh[ty * TX + tx] = s;
    __syncthreads();
    for (int h = TY / 2; h > 0; h >>= 1) {
        if (ty < h) sh[ty * TX + tx] += sh[(ty + h) * TX + tx];
        __syncthreads();
    }
    if (ty == 0 && c < cols) {
        if (gridDim.y == 1)
            dbias[c] += (float)sh[tx];
        else
            partials[(size_t)chunk * cols + c] = sh[tx];
    }
}

/* dbias[c] += Σ_k partials[k, c] over the chunks in order: one thread per column, coalesced. */
__global__ static void bias_grad_finish_kernel(float *dbias, const double *partials, int cols,
                                               int chunks) {
    RN_GRID_STRIDE (c, (size_t)cols) {
        double s = 0.0;
        for (int k = 0; k < chunks; k++)
            s += partials[(size_t)k * cols + c];
        dbias[c] += (float)s;
    }
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
    int tx = 1;
    while (tx < cols && tx < 32)
        tx *= 2;
    const dim3 block((unsigned)tx, (unsigned)(RN_BIAS_THREADS / tx));
    int chunks = (int)(((size_t)rows + RN_BIAS_CHUNK_ROWS - 1) / RN_BIAS_CHUNK_ROWS);
    if (chunks > RN_BIAS_MAX_CHUNKS) chunks = RN_BIAS_MAX_CHUNKS;
    if ((size_t)chunks * (size_t)cols > RN_CUDA_BIAS_PARTIALS)
        chunks = (int)(RN_CUDA_BIAS_PARTIALS / (size_t)cols);
    if (chunks < 1) chunks = 1; /* more columns than partial sums: one pass over all rows */
    const int chunk_rows = (int)(((size_t)rows + (size_t)chunks - 1) / (size_t)chunks);
    const dim3 grid((unsigned)((cols + tx - 1) / tx), (unsigned)chunks);
    rn_cuda_ctx *c = rn_ctx(be);
    bias_grad_partial_kernel<<<grid, block, 0, c->stream>>>(dbias, c->bias_partials, g, rows, cols,
                                                            chunk_rows);
    rn_status st = rn_launched(be, "bias_grad (first pass)");
    if (st != RN_OK || chunks == 1) return st;
    bias_grad_finish_kernel<<<rn_blocks(be, (size_t)cols), rn_threads(be), 0, c->stream>>>(
        dbias, c->bias_partials, cols, chunks);
    return rn_launched(be, "bias_grad (second pass)");
}
