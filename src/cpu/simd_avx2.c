/* The AVX2 + FMA bodies of simd.h (built with -mavx2 -mfma; simd.c calls them only on a CPU with
 * both). Each matches its scalar body in simd.c bit for bit: the same operations in the same
 * order, eight lanes at a time, and SLEEF's deterministic (finz) functions. */
#include "simd_avx2.h"

#include <immintrin.h>
#include <sleef.h>
#include <stddef.h>

#include "rn_math.h"
#include "simd.h"

float rn_fma_tanhf(float x) {
    return Sleef_finz_tanhf1_u10purecfma(x);
}
float rn_fma_logf(float x) {
    return Sleef_finz_logf1_u10purecfma(x);
}
void rn_fma_sincosf(float x, float *s, float *c) {
    const Sleef_float_2 sc = Sleef_finz_sincosf1_u10purecfma(x);
    *s = sc.x;
    *c = sc.y;
}

/* Columns per block of a product row: 7 vectors, 14 accumulators in the 16 registers. */
#define RN_GEMM_BLOCK 56

/* Lanes [0, count) of a vector: the mask maskload/maskstore take. */
static inline __m256i lane_mask(int count) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), idx);
}

/* One row of c over columns [j0, j0 + 8·NV) (the last vector holding `tail` columns, 1..8): the
 * sum over p in two chains, even p and odd p, each acc = fma(a_p, b_pj, acc) for p ascending, then
 * alpha·(even + odd) (+ beta·c). PAD: b's rows are padded to whole vectors (no masked loads).
 * NV and PAD are constants at every call and the accumulators are named
 * locals, so all 2·NV of them stay in registers. */
static inline __attribute__((always_inline)) void gemm_row(const int NV, const bool PAD, int tail,
                                                           int k, float alpha, const float *ai,
                                                           const float *b, int ldb, float beta,
                                                           float *ci) {
    const __m256i mt = lane_mask(tail);
    const __m256 zero = _mm256_setzero_ps();
    __m256 e0 = zero, e1 = zero, e2 = zero, e3 = zero, e4 = zero, e5 = zero, e6 = zero;
    __m256 o0 = zero, o1 = zero, o2 = zero, o3 = zero, o4 = zero, o5 = zero, o6 = zero;
#define RN_B(bp, v)                                                                                \
    (v < NV - 1 || PAD ? _mm256_loadu_ps(bp + 8 * v) : _mm256_maskload_ps(bp + 8 * v, mt))
#define RN_FMA(acc, av, bp, v)                                                                     \
    if (v < NV) acc##v = _mm256_fmadd_ps(av, RN_B(bp, v), acc##v)
#define RN_FMA_ALL(acc, av, bp)                                                                    \
    RN_FMA(acc, av, bp, 0);                                                                        \
    RN_FMA(acc, av, bp, 1);                                                                        \
    RN_FMA(acc, av, bp, 2);                                                                        \
    RN_FMA(acc, av, bp, 3);                                                                        \
    RN_FMA(acc, av, bp, 4);                                                                        \
    RN_FMA(acc, av, bp, 5);                                                                        \
    RN_FMA(acc, av, bp, 6)
    int p = 0;
    for (; p + 1 < k; p += 2) {
        const float *bp = b + (size_t)p * ldb, *bq = bp + ldb;
        const __m256 ap = _mm256_broadcast_ss(ai + p), aq = _mm256_broadcast_ss(ai + p + 1);
        RN_FMA_ALL(e, ap, bp);
        RN_FMA_ALL(o, aq, bq);
    }
    if (p < k) {
        const float *bp = b + (size_t)p * ldb;
        const __m256 ap = _mm256_broadcast_ss(ai + p);
        RN_FMA_ALL(e, ap, bp);
    }
#undef RN_FMA_ALL
#undef RN_FMA
#undef RN_B
    const __m256 sums[7] = {_mm256_add_ps(e0, o0), _mm256_add_ps(e1, o1), _mm256_add_ps(e2, o2),
                            _mm256_add_ps(e3, o3), _mm256_add_ps(e4, o4), _mm256_add_ps(e5, o5),
                            _mm256_add_ps(e6, o6)};
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int v = 0; v < NV; v++) {
        __m256 r = _mm256_mul_ps(va, sums[v]);
        const int cols = v == NV - 1 ? tail : 8;
        if (cols == 8) {
            if (beta != 0.0f) r = _mm256_add_ps(r, _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8 * v)));
            _mm256_storeu_ps(ci + 8 * v, r);
        } else { /* through a copy: masked stores are slow on some CPUs */
            float buf[8];
            if (beta != 0.0f)
                r = _mm256_add_ps(r, _mm256_mul_ps(vb, _mm256_maskload_ps(ci + 8 * v, mt)));
            _mm256_storeu_ps(buf, r);
            for (int j = 0; j < cols; j++)
                ci[8 * v + j] = buf[j];
        }
    }
}

/* Rows [i0, i0 + 8) of c for n < 8 columns, one row per lane: the same two chains per element as
 * gemm_row (so the same bits), over a transposed copy of the eight rows of a. */
static void gemm_rows8_narrow(int i0, int n, int k, float alpha, const float *a, int lda,
                              const float *b, int ldb, float beta, float *c, int ldc) {
    float at[RN_SMALL_GEMM_MAX][8];
    for (int r = 0; r < 8; r++)
        for (int p = 0; p < k; p++)
            at[p][r] = a[(size_t)(i0 + r) * lda + p];
    for (int j = 0; j < n; j++) {
        __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
        int p = 0;
        for (; p + 1 < k; p += 2) {
            even = _mm256_fmadd_ps(_mm256_loadu_ps(at[p]), _mm256_set1_ps(b[(size_t)p * ldb + j]),
                                   even);
            odd = _mm256_fmadd_ps(_mm256_loadu_ps(at[p + 1]),
                                  _mm256_set1_ps(b[(size_t)(p + 1) * ldb + j]), odd);
        }
        if (p < k)
            even = _mm256_fmadd_ps(_mm256_loadu_ps(at[p]), _mm256_set1_ps(b[(size_t)p * ldb + j]),
                                   even);
        float r[8];
        _mm256_storeu_ps(r, _mm256_mul_ps(_mm256_set1_ps(alpha), _mm256_add_ps(even, odd)));
        for (int l = 0; l < 8; l++) {
            float *cij = c + (size_t)(i0 + l) * ldc + j;
            *cij = beta == 0.0f ? r[l] : r[l] + beta * *cij;
        }
    }
}

void rn_avx2_small_gemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                        int ldb, bool b_padded, float beta, float *c, int ldc) {
    int i = 0;
    if (n < 8) /* narrow products (a readout over all B·T rows): eight rows at a time */
        for (; i + 8 <= m; i += 8)
            gemm_rows8_narrow(i, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    for (; i < m; i++) {
        const float *ai = a + (size_t)i * lda;
        float *ci = c + (size_t)i * ldc;
        for (int j0 = 0; j0 < n; j0 += RN_GEMM_BLOCK) {
            const int cols = n - j0 < RN_GEMM_BLOCK ? n - j0 : RN_GEMM_BLOCK;
            const int nv = (cols + 7) / 8, tail = cols - 8 * (nv - 1);
            switch (nv) {
#define RN_GEMM_ROW_CASE(NV)                                                                       \
    case NV:                                                                                       \
        if (b_padded)                                                                              \
            gemm_row(NV, true, tail, k, alpha, ai, b + j0, ldb, beta, ci + j0);                    \
        else                                                                                       \
            gemm_row(NV, false, tail, k, alpha, ai, b + j0, ldb, beta, ci + j0);                   \
        break;
                RN_GEMM_ROW_CASE(1)
                RN_GEMM_ROW_CASE(2)
                RN_GEMM_ROW_CASE(3)
                RN_GEMM_ROW_CASE(4)
                RN_GEMM_ROW_CASE(5)
                RN_GEMM_ROW_CASE(6)
                RN_GEMM_ROW_CASE(7)
#undef RN_GEMM_ROW_CASE
            default:
                break;
            }
        }
    }
}

void rn_avx2_tanh(float *y, const float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, Sleef_finz_tanhf8_u10avx2(_mm256_loadu_ps(x + i)));
    if (i < n) { /* the last 1..7 through a copy (masked stores are slow on some CPUs) */
        float buf[8] = {0};
        for (int j = 0; j < n - i; j++)
            buf[j] = x[i + j];
        _mm256_storeu_ps(buf, Sleef_finz_tanhf8_u10avx2(_mm256_loadu_ps(buf)));
        for (int j = 0; j < n - i; j++)
            y[i + j] = buf[j];
    }
}

/* hi and lo words of the 32×32-bit products of each lane of a with m. */
static inline void mul_hilo(__m256i a, __m256i m, __m256i *hi, __m256i *lo) {
    const __m256i even = _mm256_mul_epu32(a, m);                       /* lanes 0, 2, 4, 6 */
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m); /* lanes 1, 3, 5, 7 */
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* (float)x of unsigned words, rounded once as the C conversion: hi·2^16 is exact, so the sum
 * hi·2^16 + lo is the only rounding. */
static inline __m256 u32_to_float(__m256i x) {
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(x, 16));
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_and_si256(x, _mm256_set1_epi32(0xFFFF)));
    return _mm256_add_ps(_mm256_mul_ps(hi, _mm256_set1_ps(65536.0f)), lo);
}

/* scalar_box_muller of simd.c, eight pairs at once. */
static inline void box_muller8(__m256i x, __m256i y, __m256 *z0, __m256 *z1) {
    const float inv = 2.3283064e-10f;
    const float inv_2pi = 2.3283064e-10f * 6.2831855f;
    const __m256 u = _mm256_add_ps(_mm256_mul_ps(u32_to_float(x), _mm256_set1_ps(inv)),
                                   _mm256_set1_ps(inv / 2.0f));
    const __m256 v = _mm256_add_ps(_mm256_mul_ps(u32_to_float(y), _mm256_set1_ps(inv_2pi)),
                                   _mm256_set1_ps(inv_2pi / 2.0f));
    const __m256 l = Sleef_finz_logf8_u10avx2(u);
    const __m256 s = _mm256_sqrt_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), l));
    const Sleef___m256_2 sc = Sleef_finz_sincosf8_u10avx2(v);
    *z0 = _mm256_mul_ps(sc.x, s);
    *z1 = _mm256_mul_ps(sc.y, s);
}

/* The 32 normals of eight Philox blocks (z0..z3: component j of quads 0..7) in neuron order
 * (quad 0's four, then quad 1's, ...): a 4×8 transpose. */
static inline void quads_in_order(const __m256 zv[4], __m256 out[4]) {
    const __m256 t0 = _mm256_unpacklo_ps(zv[0], zv[1]), t1 = _mm256_unpackhi_ps(zv[0], zv[1]);
    const __m256 t2 = _mm256_unpacklo_ps(zv[2], zv[3]), t3 = _mm256_unpackhi_ps(zv[2], zv[3]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    out[0] = _mm256_permute2f128_ps(u0, u1, 0x20); /* quads 0, 1 */
    out[1] = _mm256_permute2f128_ps(u2, u3, 0x20); /* quads 2, 3 */
    out[2] = _mm256_permute2f128_ps(u0, u1, 0x31); /* quads 4, 5 */
    out[3] = _mm256_permute2f128_ps(u2, u3, 0x31); /* quads 6, 7 */
}

void rn_avx2_normals(float *z, const uint32_t key[2], const uint32_t hi[2], uint64_t step, int n,
                     int i0, int count) {
    const uint64_t quads = (uint64_t)(n + 3) / 4;
    const __m256i m0 = _mm256_set1_epi32((int)RN_PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi32((int)RN_PHILOX_M1);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
    __m256i k0[10], k1[10];
    for (int r = 0; r < 10; r++) {
        k0[r] = _mm256_set1_epi32((int)(key[0] + (uint32_t)r * RN_PHILOX_W0));
        k1[r] = _mm256_set1_epi32((int)(key[1] + (uint32_t)r * RN_PHILOX_W1));
    }
    /* z[i] is neuron i0 + i: quad q covers z[4q − i0 ...]; 32 normals per eight quads */
    for (int done = 0; done < count; done += 32) {
        const uint64_t block = step * quads + (uint64_t)((i0 + done) / 4);
        /* the counter's low words block + lane, the high words block's plus the carry */
        const __m256i base_lo = _mm256_set1_epi32((int)(uint32_t)block);
        __m256i c0 = _mm256_add_epi32(base_lo, lanes);
        const __m256i carry = _mm256_cmpgt_epi32(_mm256_xor_si256(base_lo, sign),
                                                 _mm256_xor_si256(c0, sign)); /* -1 on wrap */
        __m256i c1 = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(block >> 32)), carry);
        __m256i c2 = _mm256_set1_epi32((int)hi[0]), c3 = _mm256_set1_epi32((int)hi[1]);
        for (int r = 0; r < 10; r++) {
            __m256i h0, l0, h1, l1;
            mul_hilo(c0, m0, &h0, &l0);
            mul_hilo(c2, m1, &h1, &l1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(h1, c1), k0[r]);
            c1 = l1;
            c2 = _mm256_xor_si256(_mm256_xor_si256(h0, c3), k1[r]);
            c3 = l0;
        }
        __m256 zv[4], out[4];
        box_muller8(c0, c1, &zv[0], &zv[1]);
        box_muller8(c2, c3, &zv[2], &zv[3]);
        quads_in_order(zv, out);
        for (int v = 0; v < 4; v++) {
            const int left = count - done - 8 * v;
            if (left <= 0) break;
            if (left >= 8) {
                _mm256_storeu_ps(z + done + 8 * v, out[v]);
            } else {
                float buf[8];
                _mm256_storeu_ps(buf, out[v]);
                for (int j = 0; j < left; j++)
                    z[done + 8 * v + j] = buf[j];
            }
        }
    }
}

/* Eight lanes of rn_avx2_adjoint_row at offset 0 of each pointer. */
static inline void adjoint8(float dt, float *lam, float *e, float *acc_tau, float *acc_bias,
                            float *acc_theta, const float *fp, const float *g, const float *d,
                            const float *x, const float *xp, const float *tau) {
    const __m256 alpha = _mm256_div_ps(_mm256_set1_ps(dt), _mm256_loadu_ps(tau));
    const __m256 dv = d ? _mm256_loadu_ps(d) : _mm256_setzero_ps();
    const __m256 t = _mm256_mul_ps(_mm256_loadu_ps(fp), _mm256_add_ps(_mm256_loadu_ps(g), dv));
    const __m256 l = _mm256_add_ps(
        _mm256_mul_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), alpha), _mm256_loadu_ps(lam)), t);
    const __m256 ev = _mm256_mul_ps(alpha, l);
    const __m256 dx = _mm256_sub_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(xp));
    _mm256_storeu_ps(lam, l);
    _mm256_storeu_ps(e, ev);
    _mm256_storeu_ps(acc_tau, _mm256_add_ps(_mm256_loadu_ps(acc_tau), _mm256_mul_ps(l, dx)));
    _mm256_storeu_ps(acc_bias, _mm256_add_ps(_mm256_loadu_ps(acc_bias), ev));
    _mm256_storeu_ps(acc_theta, _mm256_add_ps(_mm256_loadu_ps(acc_theta), t));
}

void rn_avx2_adjoint_row(int n, float dt, float *lam, float *e, float *acc_tau, float *acc_bias,
                         float *acc_theta, const float *fp, const float *g, const float *d,
                         const float *x, const float *xp, const float *tau) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        adjoint8(dt, lam + i, e + i, acc_tau + i, acc_bias + i, acc_theta + i, fp + i, g + i,
                 d ? d + i : NULL, x + i, xp + i, tau + i);
    if (i == n) return;
    /* the last 1..7 lanes through copies (masked stores are slow on some CPUs); tau pads to 1 */
    enum { LAM, E, ATAU, ABIAS, ATHETA, FP, G, D, X, XP, TAU, COUNT };
    float buf[COUNT][8];
    const float *src[COUNT] = {lam, e, acc_tau, acc_bias, acc_theta, fp, g, d, x, xp, tau};
    const int rest = n - i;
    for (int k = 0; k < COUNT; k++)
        for (int j = 0; j < 8; j++)
            buf[k][j] = src[k] && j < rest ? src[k][i + j] : 1.0f;
    adjoint8(dt, buf[LAM], buf[E], buf[ATAU], buf[ABIAS], buf[ATHETA], buf[FP], buf[G],
             d ? buf[D] : NULL, buf[X], buf[XP], buf[TAU]);
    float *dst[] = {lam, e, acc_tau, acc_bias, acc_theta};
    for (int k = 0; k <= ATHETA; k++)
        for (int j = 0; j < rest; j++)
            dst[k][i + j] = buf[k][j];
}
