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
 * the CUDA kernel's tree (B·T rows can be 10^5 terms, too many for a float running sum). */
rn_status rn_cpu_bias_grad(rn_backend *be, float *dbias, const float *g, int rows, int cols) {
    for (int c = 0; c < cols; c++) {
        double s = 0.0;
        for (int r = 0; r < rows; r++)
            s += (double)g[(size_t)r * cols + c];
        dbias[c] += (float)s;
    }
    return RN_OK;
}
