/* Small matrix products for the CPU backend (see small_gemm.h). */
#include "small_gemm.h"

#include <stddef.h>

/* The vector width is the machine's (AVX2 where it has it); the arithmetic per element is the same
 * at any width, so every build gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define RN_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define RN_VECTOR_CLONES
#endif

RN_VECTOR_CLONES
void rn_small_gemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc) {
    float acc[RN_SMALL_GEMM_MAX];
    for (int i = 0; i < m; i++) {
        const float *ai = a + (size_t)i * lda;
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++)
            acc[j] = 0.0f;
        for (int p = 0; p < k; p++) {
            const float av = ai[p];
            const float *bp = b + (size_t)p * ldb;
            for (int j = 0; j < n; j++)
                acc[j] += av * bp[j];
        }
        if (beta == 0.0f)
            for (int j = 0; j < n; j++)
                ci[j] = alpha * acc[j];
        else
            for (int j = 0; j < n; j++)
                ci[j] = alpha * acc[j] + beta * ci[j];
    }
}

void rn_small_transpose(int n, int k, const float *b, int ldb, float *bt) {
    for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++)
            bt[(size_t)p * n + j] = b[(size_t)j * ldb + p];
}
