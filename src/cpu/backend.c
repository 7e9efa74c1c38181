/* The CPU backend: host memory, CBLAS products, and the C mirrors of the CUDA kernels. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "blas_reserve.h"
#include "cpu_ops.h"
#include "error.h"
#include "host_memory.h"
#include "simd.h"

/* The backend's own state. */
typedef struct cpu_ctx {
    bool blas_ready; /* OpenBLAS's work buffers are claimed (blas_reserve.c) */
} cpu_ctx;

static void cpu_release(rn_backend *be) {
    free(be->ctx);
    be->ctx = NULL;
}

/* OpenBLAS's work buffers before anything else (blas_reserve.c): a shortage is then reported by the
 * first allocation (a trainer's creation), before any product, and a product can never spin. */
static rn_status blas_ready(rn_backend *be) {
    cpu_ctx *cx = be->ctx;
    if (cx->blas_ready) return RN_OK;
    rn_status st = rn_cpu_blas_reserve(&be->err);
    if (st == RN_OK) cx->blas_ready = true;
    return st;
}

static rn_status cpu_alloc(rn_backend *be, void **ptr, size_t bytes) {
    *ptr = NULL;
    rn_status st = blas_ready(be);
    if (st != RN_OK) return st;
    /* refused before any page is touched: under overcommit malloc would grant it */
    if (rn_host_memory_exceeds(bytes))
        return rn_fail(&be->err, RN_ERR_NO_MEMORY,
                       "out of host memory: asked for %.1f MiB, this machine has %.1f MiB",
                       (double)bytes / 1048576.0, (double)rn_host_memory_total() / 1048576.0);
    *ptr = malloc(bytes ? bytes : 1);
    if (!*ptr)
        return rn_fail(&be->err, RN_ERR_NO_MEMORY, "out of host memory (asked for %.1f MiB)",
                       (double)bytes / 1048576.0);
    return RN_OK;
}

static void cpu_free(rn_backend *be, void *ptr) {
    free(ptr);
}

static rn_status cpu_copy(rn_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes) memmove(dst, src, bytes);
    return RN_OK;
}

static rn_status cpu_zero(rn_backend *be, void *dst, size_t bytes) {
    if (bytes) memset(dst, 0, bytes);
    return RN_OK;
}

static rn_status cpu_fill(rn_backend *be, float *dst, float value, size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = value;
    return RN_OK;
}

/* Small products (the per-step recurrent ones) without BLAS, in the order the whole-sequence
 * entries use too (simd.h); the large ones (over all B·T rows) through CBLAS. */
static rn_status cpu_gemm(rn_backend *be, bool trans_a, bool trans_b, int m, int n, int k,
                          float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                          float *c, int ldc) {
    if (rn_small_gemm_fits(trans_a, n, k)) {
        if (!trans_b) {
            rn_small_gemm(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        } else {
            float bt[RN_SMALL_GEMM_MAX * RN_SMALL_GEMM_MAX];
            rn_small_transpose(n, k, b, ldb, bt);
            rn_small_gemm(m, n, k, alpha, a, lda, bt, n, beta, c, ldc);
        }
        return RN_OK;
    }
    rn_status st = blas_ready(be); /* (done at the first allocation already) */
    if (st != RN_OK) return st;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return RN_OK;
}

static const rn_backend_ops cpu_ops = {
    .release = cpu_release,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .fill = cpu_fill,
    .zero = cpu_zero,
    .gemm = cpu_gemm,
    .bias_add = rn_cpu_bias_add,
    .bias_grad = rn_cpu_bias_grad,
    .rate_init = rn_cpu_rate_init,
    .rate_forward_step = rn_cpu_rate_forward_step,
    .rate_backward_step = rn_cpu_rate_backward_step,
    .rate_backward_init = rn_cpu_rate_backward_init,
    .rate_param_grads = rn_cpu_rate_param_grads,
    .rate_seq_fits = rn_cpu_rate_seq_fits,
    .rate_forward_seq = rn_cpu_rate_forward_seq,
    .rate_backward_seq = rn_cpu_rate_backward_seq,
    .shift_rows = rn_cpu_shift_rows,
    .filter_forward = rn_cpu_filter_forward,
    .filter_backward = rn_cpu_filter_backward,
    .filter_param_grads = rn_cpu_filter_param_grads,
    .mse = rn_cpu_mse,
    .bounds = rn_cpu_bounds,
    .l2 = rn_cpu_l2,
    .sum_squares = rn_cpu_sum_squares,
    .adam = rn_cpu_adam,
    .sgd = rn_cpu_sgd,
    .clip_bounds = rn_cpu_clip_bounds,
};

rn_status rn_cpu_backend_init(rn_backend *be, rn_error *err) {
    be->ctx = calloc(1, sizeof(cpu_ctx));
    if (!be->ctx) return rn_fail(err, RN_ERR_NO_MEMORY, "out of host memory for the backend");
    be->ops = &cpu_ops;
    be->kind = RN_BACKEND_CPU;
    strcpy(be->description, "cpu (CBLAS: OpenBLAS)");
    return rn_ok(err);
}
