/* The CPU backend's vector work (simd.h): the scalar bodies and the choice of level. The scalar
 * bodies are the reference the AVX2 ones (simd_avx2.c) match bit for bit on an FMA machine. */
#include "simd.h"

#include <math.h>
#include <sleef.h>
#include <stddef.h>

#include "rn_math.h"
#include "simd_avx2.h"

rn_simd_level rn_simd_best(void) {
#ifdef RATENN_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return RN_SIMD_AVX2;
#endif
    return RN_SIMD_SCALAR;
}

static void scalar_small_gemm(int m, int n, int k, float alpha, const float *a, int lda,
                              const float *b, int ldb, float beta, float *c, int ldc) {
    float even[RN_SMALL_GEMM_MAX], odd[RN_SMALL_GEMM_MAX];
    for (int i = 0; i < m; i++) {
        const float *ai = a + (size_t)i * lda;
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++)
            even[j] = odd[j] = 0.0f;
        for (int p = 0; p < k; p++) {
            const float av = ai[p];
            const float *bp = b + (size_t)p * ldb;
            float *acc = p % 2 ? odd : even;
            for (int j = 0; j < n; j++)
                acc[j] = fmaf(av, bp[j], acc[j]);
        }
        for (int j = 0; j < n; j++) {
            const float sum = even[j] + odd[j];
            ci[j] = beta == 0.0f ? alpha * sum : alpha * sum + beta * ci[j];
        }
    }
}

static float scalar_tanh(rn_simd_level level, float x) {
#ifdef RATENN_HAVE_AVX2
    if (level != RN_SIMD_SCALAR) return rn_fma_tanhf(x);
#endif
    return Sleef_cinz_tanhf1_u10purec(x);
}

/* rn_box_muller's arithmetic (cuRAND's host constants) with SLEEF's log and sin/cos. */
static void scalar_box_muller(rn_simd_level level, uint32_t x, uint32_t y, float *z0, float *z1) {
    const float inv = 2.3283064e-10f;
    const float inv_2pi = 2.3283064e-10f * 6.2831855f;
    float u = (float)x * inv + inv / 2.0f;
    float v = (float)y * inv_2pi + inv_2pi / 2.0f;
    float l, sn, cs;
#ifdef RATENN_HAVE_AVX2
    if (level != RN_SIMD_SCALAR) {
        l = rn_fma_logf(u);
        rn_fma_sincosf(v, &sn, &cs);
    } else
#endif
    {
        const Sleef_float_2 sc = Sleef_cinz_sincosf1_u10purec(v);
        l = Sleef_cinz_logf1_u10purec(u);
        sn = sc.x;
        cs = sc.y;
    }
    float s = sqrtf(-2.0f * l);
    *z0 = sn * s;
    *z1 = cs * s;
}

static void scalar_normals(rn_simd_level level, float *z, const uint32_t key[2],
                           const uint32_t hi[2], uint64_t step, int n, int i0, int count) {
    const uint64_t quads = (uint64_t)(n + 3) / 4;
    for (int q = i0 / 4; 4 * q < i0 + count; q++) {
        uint64_t block = step * quads + (uint64_t)q;
        uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), hi[0], hi[1]}, w[4];
        float zq[4];
        rn_philox4x32_10(ctr, key, w);
        scalar_box_muller(level, w[0], w[1], &zq[0], &zq[1]);
        scalar_box_muller(level, w[2], w[3], &zq[2], &zq[3]);
        for (int lane = 0; lane < 4; lane++) {
            int i = 4 * q + lane - i0;
            if (i >= 0 && i < count) z[i] = zq[lane];
        }
    }
}

void rn_small_gemm_at(rn_simd_level level, int m, int n, int k, float alpha, const float *a,
                      int lda, const float *b, int ldb, bool b_padded, float beta, float *c,
                      int ldc) {
#ifdef RATENN_HAVE_AVX2
    if (level == RN_SIMD_AVX2) {
        rn_avx2_small_gemm(m, n, k, alpha, a, lda, b, ldb, b_padded, beta, c, ldc);
        return;
    }
#endif
    scalar_small_gemm(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void rn_simd_tanh_at(rn_simd_level level, float *y, const float *x, int n) {
#ifdef RATENN_HAVE_AVX2
    if (level == RN_SIMD_AVX2) {
        rn_avx2_tanh(y, x, n);
        return;
    }
#endif
    for (int i = 0; i < n; i++)
        y[i] = scalar_tanh(level, x[i]);
}

void rn_simd_normals_at(rn_simd_level level, float *z, const uint32_t key[2], const uint32_t hi[2],
                        uint64_t step, int n, int i0, int count) {
#ifdef RATENN_HAVE_AVX2
    if (level == RN_SIMD_AVX2) {
        rn_avx2_normals(z, key, hi, step, n, i0, count);
        return;
    }
#endif
    scalar_normals(level, z, key, hi, step, n, i0, count);
}

static void scalar_adjoint_row(int n, float dt, float *lam, float *e, float *acc_tau,
                               float *acc_bias, float *acc_theta, const float *fp, const float *g,
                               const float *d, const float *x, const float *xp, const float *tau) {
    for (int i = 0; i < n; i++) {
        const float alpha = dt / tau[i];
        const float t = fp[i] * (g[i] + (d ? d[i] : 0.0f));
        const float l = (1.0f - alpha) * lam[i] + t;
        const float ev = alpha * l;
        lam[i] = l;
        e[i] = ev;
        acc_tau[i] += l * (x[i] - xp[i]);
        acc_bias[i] += ev;
        acc_theta[i] += t;
    }
}

void rn_simd_adjoint_row_at(rn_simd_level level, int n, float dt, float *lam, float *e,
                            float *acc_tau, float *acc_bias, float *acc_theta, const float *fp,
                            const float *g, const float *d, const float *x, const float *xp,
                            const float *tau) {
#ifdef RATENN_HAVE_AVX2
    if (level == RN_SIMD_AVX2) {
        rn_avx2_adjoint_row(n, dt, lam, e, acc_tau, acc_bias, acc_theta, fp, g, d, x, xp, tau);
        return;
    }
#endif
    scalar_adjoint_row(n, dt, lam, e, acc_tau, acc_bias, acc_theta, fp, g, d, x, xp, tau);
}

void rn_simd_adjoint_row(int n, float dt, float *lam, float *e, float *acc_tau, float *acc_bias,
                         float *acc_theta, const float *fp, const float *g, const float *d,
                         const float *x, const float *xp, const float *tau) {
    rn_simd_adjoint_row_at(rn_simd_best(), n, dt, lam, e, acc_tau, acc_bias, acc_theta, fp, g, d, x,
                           xp, tau);
}

void rn_small_gemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                   int ldb, float beta, float *c, int ldc) {
    rn_small_gemm_at(rn_simd_best(), m, n, k, alpha, a, lda, b, ldb, false, beta, c, ldc);
}

void rn_small_gemm_padded(int m, int n, int k, const float *a, int lda, const float *b, float *c,
                          int ldc) {
    rn_small_gemm_at(rn_simd_best(), m, n, k, 1.0f, a, lda, b, rn_small_ld(n), true, 0.0f, c, ldc);
}

void rn_small_pack(int n, int k, const float *b, int ldb, bool transpose, float *bp) {
    const int ld = rn_small_ld(n);
    for (int p = 0; p < k; p++)
        for (int j = 0; j < ld; j++)
            bp[(size_t)p * ld + j] = j >= n      ? 0.0f
                                     : transpose ? b[(size_t)j * ldb + p]
                                                 : b[(size_t)p * ldb + j];
}

void rn_simd_tanh(float *y, const float *x, int n) {
    rn_simd_tanh_at(rn_simd_best(), y, x, n);
}

void rn_simd_normals(float *z, const uint32_t key[2], const uint32_t hi[2], uint64_t step, int n,
                     int i0, int count) {
    rn_simd_normals_at(rn_simd_best(), z, key, hi, step, n, i0, count);
}

void rn_small_transpose(int n, int k, const float *b, int ldb, float *bt) {
    for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++)
            bt[(size_t)p * n + j] = b[(size_t)j * ldb + p];
}
