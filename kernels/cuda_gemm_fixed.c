/* The CUDA backend's products through cuBLASLt with one algorithm per shape: an alternative to
 * cublasSgemm (the default), switched on by rn_cuda_set_gemm_fixed or for every backend by the CMake
 * option RATENN_CUDA_GEMM_FIXED.
 *
 * Why: cublasSgemm chooses its kernel call by call, and cuBLAS has variants of a kernel for
 * operands aligned to 16 bytes and to 4; a product can then take another kernel, and perhaps
 * another summation order, when only a pointer or a leading dimension changes. The trainer's
 * promises (checkpointed runs bit-identical to storing every step; the trials of one batch
 * bit-identical to each other) need bits that do not depend on where the operands sit. Here the
 * algorithm of a shape (the transposes, m, n, k) is chosen once, by cuBLASLt's heuristic asked
 * for dense operands (each leading dimension its layout's rows) aligned to no more than 4 bytes,
 * so that the choice depends on the shape alone, not on the first call's operands; and kept:
 * every later product of that shape runs it wherever its operands are. GemmPlacement.Cuda* tests
 * both ways on a device, across backends too.
 *
 * Not yet run on a GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublasLt.h>

#include "cuda_ctx.h"
#include "error.h"

typedef struct rn_fixed_algo {
    bool ta, tb;
    int m, n, k;
    cublasLtMatmulAlgo_t algo;
} rn_fixed_algo;

struct rn_cuda_lt_state {
    cublasLtHandle_t handle;
    rn_fixed_algo *algos; /* the shapes seen, each with its algorithm */
    int count, cap;
};

static rn_status lt_check(rn_backend *be, cublasStatus_t s, const char *what) {
    if (s == CUBLAS_STATUS_SUCCESS) return RN_OK;
    cudaGetLastError();
    return rn_fail(&be->err, s == CUBLAS_STATUS_ALLOC_FAILED ? RN_ERR_NO_MEMORY : RN_ERR_DEVICE,
                   "cuBLASLt %s: %s", what, cublasGetStatusString(s));
}

void rn_cuda_lt_state_free(rn_cuda_lt_state *f) {
    if (!f) return;
    if (f->handle) cublasLtDestroy(f->handle);
    free(f->algos);
    free(f);
}

rn_status rn_cuda_set_gemm_fixed(rn_backend *be, bool fixed) {
    if (be->kind != RN_BACKEND_CUDA)
        return rn_fail(&be->err, RN_ERR_INVALID_ARG, "the fixed products are the CUDA backend's");
    rn_cuda_ctx *c = (rn_cuda_ctx *)be->ctx;
    if (fixed && !c->fixed_gemm) {
        rn_cuda_lt_state *f = calloc(1, sizeof *f);
        if (!f) return rn_fail(&be->err, RN_ERR_NO_MEMORY, "out of host memory (cuBLASLt)");
        rn_status st = lt_check(be, cublasLtCreate(&f->handle), "handle");
        if (st != RN_OK) {
            free(f);
            return st;
        }
        c->fixed_gemm = f;
    }
    c->gemm_fixed = fixed;
    return RN_OK;
}

/* One product's descriptors. Row-major c (m × n) = op(a) op(b) is column-major
 * cᵀ = op(b)ᵀ op(a)ᵀ, as cuda_gemm hands it to cublasSgemm: the first operand is b, the second a. */
typedef struct lt_call {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t first, second, out;
} lt_call;

static void lt_call_free(lt_call *d) {
    if (d->out) cublasLtMatrixLayoutDestroy(d->out);
    if (d->second) cublasLtMatrixLayoutDestroy(d->second);
    if (d->first) cublasLtMatrixLayoutDestroy(d->first);
    if (d->op) cublasLtMatmulDescDestroy(d->op);
}

static cublasStatus_t lt_call_make(lt_call *d, bool ta, bool tb, int m, int n, int k, int lda,
                                   int ldb, int ldc) {
    memset(d, 0, sizeof *d);
    const cublasOperation_t op_first = tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                            op_second = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t s = cublasLtMatmulDescCreate(&d->op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_first,
                                           sizeof op_first);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_second,
                                           sizeof op_second);
    /* b as stored: (n × k) column-major, or (k × n) when transposed; a: (k × m), or (m × k) */
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutCreate(&d->first, CUDA_R_32F, (uint64_t)(tb ? k : n),
                                       (uint64_t)(tb ? n : k), ldb);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutCreate(&d->second, CUDA_R_32F, (uint64_t)(ta ? m : k),
                                       (uint64_t)(ta ? k : m), lda);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutCreate(&d->out, CUDA_R_32F, (uint64_t)n, (uint64_t)m, ldc);
    return s;
}

/* An algorithm's own alignment needs (pointers and leading dimensions), which must not exceed a
 * float's 4 bytes for it to run on any operands of its shape. */
static rn_status lt_check_alignment(rn_backend *be, const cublasLtMatmulAlgo_t *algo) {
    const cublasLtMatmulAlgoCapAttributes_t caps[] = {
        CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_A_BYTES, CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_C_BYTES, CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4; i++) {
        uint32_t need = 0;
        size_t written = 0;
        rn_status st = lt_check(
            be, cublasLtMatmulAlgoCapGetAttribute(algo, caps[i], &need, sizeof need, &written),
            "algorithm alignment");
        if (st != RN_OK) return st;
        if (need > 4)
            return rn_fail(&be->err, RN_ERR_DEVICE,
                           "cuBLASLt: the algorithm chosen needs %u-byte alignment of operand %c",
                           need, "ABCD"[i]);
    }
    return RN_OK;
}

/* The algorithm of this shape: the one chosen the first time it was seen, for dense operands. */
static rn_status lt_algo(rn_backend *be, rn_cuda_lt_state *f, bool ta, bool tb, int m, int n, int k,
                         const cublasLtMatmulAlgo_t **algo) {
    for (int i = 0; i < f->count; i++) {
        const rn_fixed_algo *a = &f->algos[i];
        if (a->ta == ta && a->tb == tb && a->m == m && a->n == n && a->k == k) {
            *algo = &a->algo;
            return RN_OK;
        }
    }
    if (f->count == f->cap) {
        int cap = f->cap ? 2 * f->cap : 32;
        rn_fixed_algo *grown = realloc(f->algos, (size_t)cap * sizeof *grown);
        if (!grown) return rn_fail(&be->err, RN_ERR_NO_MEMORY, "out of host memory (cuBLASLt)");
        f->algos = grown;
        f->cap = cap;
    }
    /* dense layouts: each leading dimension the rows of its column-major layout */
    lt_call d;
    cublasStatus_t s = lt_call_make(&d, ta, tb, m, n, k, ta ? m : k, tb ? k : n, n);
    cublasLtMatmulPreference_t pref = NULL;
    const uint64_t workspace = RN_CUDA_WORKSPACE_BYTES;
    const uint32_t align = 4; /* any float's address: no variant for better-aligned operands */
    if (s == CUBLAS_STATUS_SUCCESS) s = cublasLtMatmulPreferenceCreate(&pref);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                 &workspace, sizeof workspace);
    const cublasLtMatmulPreferenceAttributes_t aligns[] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4 && s == CUBLAS_STATUS_SUCCESS; i++)
        s = cublasLtMatmulPreferenceSetAttribute(pref, aligns[i], &align, sizeof align);
    cublasLtMatmulHeuristicResult_t best;
    int found = 0;
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulAlgoGetHeuristic(f->handle, d.op, d.first, d.second, d.out, d.out, pref,
                                           1, &best, &found);
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    lt_call_free(&d);
    rn_status st = lt_check(be, s, "algorithm heuristic");
    if (st != RN_OK) return st;
    if (found < 1 || best.state != CUBLAS_STATUS_SUCCESS)
        return rn_fail(&be->err, RN_ERR_DEVICE,
                       "cuBLASLt: no algorithm for a %c%c product of %d × %d × %d", ta ? 'T' : 'N',
                       tb ? 'T' : 'N', m, n, k);
    if ((st = lt_check_alignment(be, &best.algo)) != RN_OK) return st;
    rn_fixed_algo *a = &f->algos[f->count++];
    a->ta = ta;
    a->tb = tb;
    a->m = m;
    a->n = n;
    a->k = k;
    a->algo = best.algo;
    *algo = &a->algo;
    return RN_OK;
}

rn_status rn_cuda_fixed_gemm(rn_backend *be, bool ta, bool tb, int m, int n, int k, float alpha,
                             const float *a, int lda, const float *b, int ldb, float beta, float *c,
                             int ldc) {
    rn_cuda_ctx *ctx = (rn_cuda_ctx *)be->ctx;
    rn_cuda_lt_state *f = ctx->fixed_gemm;
    lt_call d;
    rn_status st = lt_check(be, lt_call_make(&d, ta, tb, m, n, k, lda, ldb, ldc), "descriptors");
    const cublasLtMatmulAlgo_t *algo = NULL;
    if (st == RN_OK) st = lt_algo(be, f, ta, tb, m, n, k, &algo);
    if (st == RN_OK)
        st = lt_check(be,
                      cublasLtMatmul(f->handle, d.op, &alpha, b, d.first, a, d.second, &beta, c,
                                     d.out, c, d.out, algo, ctx->cublas_workspace,
                                     RN_CUDA_WORKSPACE_BYTES, ctx->stream),
                      "matmul");
    lt_call_free(&d);
    return st;
}

bool rn_cuda_fixed_gemm_describe(rn_backend *be, int i, char *dst, size_t n) {
    if (be->kind != RN_BACKEND_CUDA) return false;
    const rn_cuda_lt_state *f = ((rn_cuda_ctx *)be->ctx)->fixed_gemm;
    if (!f || i < 0 || i >= f->count) return false;
    const rn_fixed_algo *a = &f->algos[i];
    int32_t id = -1, splitk = -1;
    uint32_t tile = 0, scheme = 0, stages = 0;
    cublasLtMatmulAlgoConfigGetAttribute(&a->algo, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id, NULL);
    cublasLtMatmulAlgoConfigGetAttribute(&a->algo, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof tile,
                                         NULL);
    cublasLtMatmulAlgoConfigGetAttribute(&a->algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk,
                                         sizeof splitk, NULL);
    cublasLtMatmulAlgoConfigGetAttribute(&a->algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &scheme,
                                         sizeof scheme, NULL);
    cublasLtMatmulAlgoConfigGetAttribute(&a->algo, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages,
                                         sizeof stages, NULL);
    snprintf(dst, n, "%c%c %d x %d x %d: algo %d, tile %u, stages %u, split-k %d, reduction %u",
             a->ta ? 'T' : 'N', a->tb ? 'T' : 'N', a->m, a->n, a->k, (int)id, tile, stages,
             (int)splitk, scheme);
    return true;
}
