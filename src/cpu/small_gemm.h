/* Internal to the CPU backend: products of small matrices (the rate layer's per-step recurrent
 * product, N up to RN_SMALL_GEMM_MAX) without a BLAS call.
 *
 * Every element of the result is summed over k in ascending order in float, with no fused
 * multiply-add (ISO C: no contraction), so every caller — the step entries through the gemm entry
 * and the whole-sequence entries directly — gets the same bits. OpenBLAS would spend more on
 * waking its threads than on a 50×50 product (they spin in sched_yield between calls). */
#ifndef RATENN_SMALL_GEMM_H
#define RATENN_SMALL_GEMM_H

#include <stdbool.h>

#define RN_SMALL_GEMM_MAX 128

/* True when c = op(a)·op(b) goes through rn_small_gemm: a not transposed, n and k at most
 * RN_SMALL_GEMM_MAX (any m). */
static inline bool rn_small_gemm_fits(bool trans_a, int n, int k) {
    return !trans_a && n <= RN_SMALL_GEMM_MAX && k <= RN_SMALL_GEMM_MAX;
}

/* Row-major c (m×n) = alpha · a (m×k) · b (k×n) + beta · c (with beta = 0, c is not read).
 * n, k <= RN_SMALL_GEMM_MAX. */
void rn_small_gemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);

/* bt (k×n, row stride n) = transpose of b (n×k, row stride ldb): the operand rn_small_gemm takes for
 * a product with bᵀ. */
void rn_small_transpose(int n, int k, const float *b, int ldb, float *bt);

#endif
