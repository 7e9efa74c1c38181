/* CPU mirror of kernels/linear.cu: the bias broadcast and its column-sum gradient. */
#include "cpu_ops.h"

rn_status rn_cpu_bias_add(rn_backend *be, float *y, const float *bias, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        float *row = y + (size_t)r * cols;
        for (int c = 0; c < cols; c++) row[c] += bias[c];
    }
    return RN_OK;
}

/* Fixed order: rows in sequence, so the sum is the same on every run. */
rn_status rn_cpu_bias_grad(rn_backend *be, float *dbias, const float *g, int rows, int cols) {
    for (int c = 0; c < cols; c++) {
        float s = 0.0f;
        for (int r = 0; r < rows; r++) s += g[(size_t)r * cols + c];
        dbias[c] += s;
    }
    return RN_OK;
}
