/* CPU mirror of kernels/linear.cu: the bias broadcast and its column-sum gradient. */
#include "cpu_ops.h"

rn_status rn_cpu_bias_add(rn_backend *be, float *y, const float *bias, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * cols;
        for (int c = 0; c < cols; c++)
            row[c] += bias[c];
    }
    return RN_OK;
}

/* Fixed order (rows in sequence) in double: the same sum every run, and within float rounding of
 * the CUDA kernel's tree (B·T rows can be 10^5 terms, too many for a float running sum). Columns go
 * in blocks so that the rows are read in memory order (a column at a time strides through all of
 * g). */
rn_status rn_cpu_bias_grad(rn_backend *be, float *dbias, const float *g, int rows, int cols) {
    enum { BLOCK = 256 };
    double acc[BLOCK];
    for (int c0 = 0; c0 < cols; c0 += BLOCK) {
        int w = cols - c0 < BLOCK ? cols - c0 : BLOCK;
        for (int c = 0; c < w; c++)
            acc[c] = 0.0;
        for (int r = 0; r < rows; r++) {
            const float *row = g + (size_t)r * cols + c0;
            for (int c = 0; c < w; c++)
                acc[c] += (double)row[c];
        }
        for (int c = 0; c < w; c++)
            dbias[c0 + c] += (float)acc[c];
    }
    return RN_OK;
}
