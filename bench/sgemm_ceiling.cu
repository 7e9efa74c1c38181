/* The cuBLAS SGEMM ceiling of this GPU: C = A·B for square n×n float32 matrices, FP32 (the math ratenn
 * uses) and TF32 tensor-op math (for reference), median of 20 after warm-up, timed with CUDA events.
 * Prints a table and "sgemm_fp32_tflops X" for bench_train --ceiling. Built only with CUDA. */
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((x) != 0) {                                                                            \
            std::fprintf(stderr, "sgemm_ceiling: %s failed at line %d\n", #x, __LINE__);           \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static int time_gemm(cublasHandle_t h, int n, cublasMath_t mode, double *tflops) {
    float *a, *b, *c;
    size_t bytes = (size_t)n * n * sizeof(float);
    CHECK(cudaMalloc(&a, bytes));
    CHECK(cudaMalloc(&b, bytes));
    CHECK(cudaMalloc(&c, bytes));
    std::vector<float> host((size_t)n * n);
    for (size_t i = 0; i < host.size(); i++)
        host[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    CHECK(cudaMemcpy(a, host.data(), bytes, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(b, host.data(), bytes, cudaMemcpyHostToDevice));
    CHECK(cublasSetMathMode(h, mode));
    const float one = 1.0f, zero = 0.0f;
    cudaEvent_t e0, e1;
    CHECK(cudaEventCreate(&e0));
    CHECK(cudaEventCreate(&e1));
    std::vector<float> ms;
    for (int r = 0; r < 25; r++) {
        CHECK(cudaEventRecord(e0));
        CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n));
        CHECK(cudaEventRecord(e1));
        CHECK(cudaEventSynchronize(e1));
        float t;
        CHECK(cudaEventElapsedTime(&t, e0, e1));
        if (r >= 5) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    *tflops = 2.0 * n * (double)n * n / (ms[ms.size() / 2] * 1e-3) / 1e12;
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    return 0;
}

int main() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        std::fprintf(stderr, "sgemm_ceiling: no CUDA device\n");
        return 1;
    }
    cudaDeviceProp p;
    CHECK(cudaGetDeviceProperties(&p, 0));
    cublasHandle_t h;
    CHECK(cublasCreate(&h));
    std::printf("cuBLAS SGEMM ceiling on %s (median of 20, CUDA events)\n%6s %12s %12s\n", p.name,
                "n", "FP32 TFLOP/s", "TF32 TFLOP/s");
    double best = 0;
    for (int n : {1024, 4096, 8192}) {
        double f32 = 0, tf32 = 0;
        if (time_gemm(h, n, CUBLAS_DEFAULT_MATH, &f32) ||
            time_gemm(h, n, CUBLAS_TF32_TENSOR_OP_MATH, &tf32))
            return 1;
        std::printf("%6d %12.1f %12.1f\n", n, f32, tf32);
        best = std::max(best, f32);
    }
    std::printf("sgemm_fp32_tflops %.3f\n", best);
    cublasDestroy(h);
    return 0;
}
