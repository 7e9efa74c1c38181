/* Internal to src/cpu/simd.c: the AVX2 + FMA bodies (simd_avx2.c, built with -mavx2 -mfma; call
 * only where rn_simd_best() says RN_SIMD_AVX2). Arguments as the rn_simd functions of simd.h. */
#ifndef RATENN_CPU_SIMD_AVX2_H
#define RATENN_CPU_SIMD_AVX2_H

#include <stdbool.h>
#include <stdint.h>

void rn_avx2_small_gemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                        int ldb, bool b_padded, float beta, float *c, int ldc);
void rn_avx2_tanh(float *y, const float *x, int n);
void rn_avx2_normals(float *z, const uint32_t key[2], const uint32_t hi[2], uint64_t step, int n,
                     int i0, int count);
void rn_avx2_adjoint_row(int n, float dt, float *lam, float *e, float *acc_tau, float *acc_bias,
                         float *acc_theta, const float *fp, const float *g, const float *d,
                         const float *x, const float *xp, const float *tau);
/* SLEEF's scalar FMA (finz) functions, whose declarations need an FMA build. */
float rn_fma_tanhf(float x);
float rn_fma_logf(float x);
void rn_fma_sincosf(float x, float *s, float *c);

#endif
