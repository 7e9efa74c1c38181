/* Internal to the CPU backend: the per-step vector work of the rate layer (the recurrent product,
 * the activation, the noise) at the machine's vector width.
 *
 * Two implementations give the same bits: an AVX2 + FMA one (simd_avx2.c, chosen at run time where
 * the CPU has both) and a scalar one (simd.c). Both round exactly alike: products are summed over k
 * in the order rn_small_gemm gives with fused multiply-adds, and tanh, log and sin/cos are SLEEF's deterministic
 * ("finz", FMA) functions, which return the same bits at every vector width. On a CPU without FMA
 * the scalar code takes SLEEF's non-FMA ("cinz") functions and a software fmaf: the same arithmetic
 * then, other last bits. */
#ifndef RATENN_CPU_SIMD_H
#define RATENN_CPU_SIMD_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RN_SMALL_GEMM_MAX 128

typedef enum rn_simd_level {
    RN_SIMD_SCALAR = 0, /* plain C: SLEEF's non-FMA functions */
    RN_SIMD_SCALAR_FMA, /* plain C on an FMA machine: the same bits as RN_SIMD_AVX2 */
    RN_SIMD_AVX2,       /* AVX2 + FMA */
} rn_simd_level;

/* The best level this CPU runs. */
rn_simd_level rn_simd_best(void);

/* True when c = op(a)·op(b) goes through rn_small_gemm: a not transposed, n and k at most
 * RN_SMALL_GEMM_MAX (any m; each row's bits do not depend on m). */
static inline bool rn_small_gemm_fits(bool trans_a, int n, int k) {
    return !trans_a && n <= RN_SMALL_GEMM_MAX && k <= RN_SMALL_GEMM_MAX;
}

/* The row stride of a packed operand: n rounded up to whole vectors of 8. */
static inline int rn_small_ld(int n) {
    return (n + 7) / 8 * 8;
}

/* Row-major c (m×n) = alpha · a (m×k) · b (k×n) + beta · c (with beta = 0, c is not read);
 * n, k <= RN_SMALL_GEMM_MAX. Each element is summed in two chains from 0, even p and odd p, each
 * acc = fma(a_ip, b_pj, acc) for p ascending (two chains: half the latency of one, which bounds a
 * one-row product), then alpha·(even + odd) (+ beta·c). */
void rn_small_gemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc);

/* bt (k×n, row stride n) = transpose of b (n×k, row stride ldb): the operand rn_small_gemm takes for
 * a product with bᵀ. */
void rn_small_transpose(int n, int k, const float *b, int ldb, float *bt);

/* bp (k × rn_small_ld(n), zero-padded) = b (k×n, row stride ldb), or its transpose when `transpose`
 * (b n×k): the operand of rn_small_gemm_padded, packed once for many products. */
void rn_small_pack(int n, int k, const float *b, int ldb, bool transpose, float *bp);

/* c (m×n) = a (m×k) · bp with bp from rn_small_pack: rn_small_gemm's bits (alpha 1, beta 0),
 * whole-vector loads. */
void rn_small_gemm_padded(int m, int n, int k, const float *a, int lda, const float *bp, float *c,
                          int ldc);

/* y[i] = tanh(x[i]) for i < n (y may be x). */
void rn_simd_tanh(float *y, const float *x, int n);

/* z[i] = the standard normal ξ of neuron i0 + i (i < count) in step `step` of a layer of n
 * neurons (SPEC §6; rn_noise_normal's numbers up to SLEEF's rounding of log and sin/cos): key is
 * the seed, hi = {layer << 24 | trial, epoch}. i0 is a multiple of 4. */
void rn_simd_normals(float *z, const uint32_t key[2], const uint32_t hi[2], uint64_t step, int n,
                     int i0, int count);

/* One trial's row of the adjoint step (rn_rate_backward_elem of rn_math.h, given f′ = fp): for
 * i < n,  α = dt / τ_i;  t = fp_i (g_i + d_i)  (d NULL: + 0);  l = (1 − α) lam_i + t;  lam_i = l;
 * e_i = α l;  acc_tau_i += l (x_i − xp_i);  acc_bias_i += e_i;  acc_theta_i += t. */
void rn_simd_adjoint_row(int n, float dt, float *lam, float *e, float *acc_tau, float *acc_bias,
                         float *acc_theta, const float *fp, const float *g, const float *d,
                         const float *x, const float *xp, const float *tau);

/* The same at a given level (tests compare the levels; the level must be one the CPU runs). */
void rn_small_gemm_at(rn_simd_level level, int m, int n, int k, float alpha, const float *a,
                      int lda, const float *b, int ldb, bool b_padded, float beta, float *c,
                      int ldc);
void rn_simd_tanh_at(rn_simd_level level, float *y, const float *x, int n);
void rn_simd_normals_at(rn_simd_level level, float *z, const uint32_t key[2], const uint32_t hi[2],
                        uint64_t step, int n, int i0, int count);
void rn_simd_adjoint_row_at(rn_simd_level level, int n, float dt, float *lam, float *e,
                            float *acc_tau, float *acc_bias, float *acc_theta, const float *fp,
                            const float *g, const float *d, const float *x, const float *xp,
                            const float *tau);

#ifdef __cplusplus
}
#endif

#endif
