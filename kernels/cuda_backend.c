/* The CUDA backend: device memory on one stream, cuBLAS products, and the kernel launchers of
 * kernels/.
 *
 * Built only when CMake finds a CUDA compiler (RATENN_WITH_CUDA). Without a device the count is 0
 * and rn_backend_create(RN_BACKEND_CUDA) fails with a message; nothing here aborts or prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_ctx.h"
#include "error.h"

rn_status rn_cuda_check(rn_backend *be, cudaError_t e, const char *what) {
    if (e == cudaSuccess) return RN_OK;
    cudaGetLastError(); /* clear a non-sticky error so the next call starts clean */
    return rn_fail(&be->err, e == cudaErrorMemoryAllocation ? RN_ERR_NO_MEMORY : RN_ERR_DEVICE,
                   "CUDA %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

static rn_status cublas_check(rn_backend *be, cublasStatus_t s, const char *what) {
    if (s == CUBLAS_STATUS_SUCCESS) return RN_OK;
    cudaGetLastError(); /* a runtime error under it would otherwise be reported again later */
    return rn_fail(&be->err, s == CUBLAS_STATUS_ALLOC_FAILED ? RN_ERR_NO_MEMORY : RN_ERR_DEVICE,
                   "cuBLAS %s: %s", what, cublasGetStatusString(s));
}

static rn_cuda_ctx *ctx_of(rn_backend *be) {
    return (rn_cuda_ctx *)be->ctx;
}

static rn_status cuda_alloc(rn_backend *be, void **ptr, size_t bytes) {
    *ptr = NULL;
    cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 1);
    if (e == cudaSuccess) return RN_OK;
    *ptr = NULL;
    /* A sticky fault of an earlier kernel can surface here too: only say "out of memory" for that.
     */
    if (e != cudaErrorMemoryAllocation) return rn_cuda_check(be, e, "cudaMalloc");
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) cudaGetLastError();
    return rn_fail(&be->err, RN_ERR_NO_MEMORY,
                   "out of GPU memory: asked for %.1f MiB, %.1f MiB free of %.1f MiB",
                   (double)bytes / 1048576.0, (double)free_b / 1048576.0,
                   (double)total_b / 1048576.0);
}

static void cuda_free(rn_backend *be, void *ptr) {
    if (ptr && cudaFree(ptr) != cudaSuccess)
        cudaGetLastError(); /* leave no error for the next op */
}

/* A copy that returns when the host buffer may be reused (upload) or read (download). */
static rn_status copy_sync(rn_backend *be, void *dst, const void *src, size_t bytes,
                           enum cudaMemcpyKind kind, const char *what) {
    if (!bytes) return RN_OK;
    rn_cuda_ctx *c = ctx_of(be);
    rn_status st = rn_cuda_check(be, cudaMemcpyAsync(dst, src, bytes, kind, c->stream), what);
    if (st != RN_OK) return st;
    return rn_cuda_check(be, cudaStreamSynchronize(c->stream), what);
}

static rn_status cuda_upload(rn_backend *be, void *dst, const void *src, size_t bytes) {
    return copy_sync(be, dst, src, bytes, cudaMemcpyHostToDevice, "upload");
}

static rn_status cuda_download(rn_backend *be, void *dst, const void *src, size_t bytes) {
    return copy_sync(be, dst, src, bytes, cudaMemcpyDeviceToHost, "download");
}

static rn_status cuda_zero(rn_backend *be, void *dst, size_t bytes) {
    if (!bytes) return RN_OK;
    return rn_cuda_check(be, cudaMemsetAsync(dst, 0, bytes, ctx_of(be)->stream), "zero");
}

static rn_status cuda_set_block_size(rn_backend *be, int threads) {
    if (threads < 32 || threads > 1024 || (threads & (threads - 1)))
        return rn_fail(&be->err, RN_ERR_INVALID_ARG,
                       "block size %d: a power of two from 32 to 1024 is needed", threads);
    ctx_of(be)->threads = threads;
    return RN_OK;
}

/* Row-major c = op(a)·op(b) is column-major cᵀ = op(b)ᵀ·op(a)ᵀ: swap the operands, keep the flags.
 */
static rn_status cuda_gemm(rn_backend *be, bool trans_a, bool trans_b, int m, int n, int k,
                           float alpha, const float *a, int lda, const float *b, int ldb,
                           float beta, float *c, int ldc) {
    if (m == 0 || n == 0) return RN_OK;
    if (ctx_of(be)->gemm_fixed && k > 0)
        return rn_cuda_fixed_gemm(be, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c,
                                  ldc);
    return cublas_check(be,
                        cublasSgemm(ctx_of(be)->cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a,
                                    lda, &beta, c, ldc),
                        "sgemm");
}

/* ---- graphs: the trainer records an epoch's forward and backward once and replays it ---- */
static rn_status cuda_graph_begin(rn_backend *be) {
    rn_cuda_ctx *c = ctx_of(be);
    return rn_cuda_check(be, cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal),
                         "graph capture");
}

static rn_status cuda_graph_end(rn_backend *be, bool keep, void **graph) {
    rn_cuda_ctx *c = ctx_of(be);
    cudaGraph_t g = NULL;
    *graph = NULL;
    cudaError_t e = cudaStreamEndCapture(c->stream, &g);
    if (!keep || e != cudaSuccess) {
        if (g) cudaGraphDestroy(g);
        cudaGetLastError(); /* an op that failed while recording invalidates the capture */
        return keep ? rn_cuda_check(be, e, "graph capture (end)") : RN_OK;
    }
    cudaGraphExec_t exec = NULL;
    e = cudaGraphInstantiate(&exec, g, 0);
    cudaGraphDestroy(g);
    if (e != cudaSuccess) return rn_cuda_check(be, e, "graph instantiate");
    *graph = exec;
    return RN_OK;
}

static rn_status cuda_graph_launch(rn_backend *be, void *graph) {
    return rn_cuda_check(be, cudaGraphLaunch((cudaGraphExec_t)graph, ctx_of(be)->stream),
                         "graph launch");
}

static void cuda_graph_free(rn_backend *be, void *graph) {
    if (graph && cudaGraphExecDestroy((cudaGraphExec_t)graph) != cudaSuccess) cudaGetLastError();
}

static rn_status cuda_timer_begin(rn_backend *be) {
    rn_cuda_ctx *c = ctx_of(be);
    return rn_cuda_check(be, cudaEventRecord(c->timer[0], c->stream), "timer (begin)");
}

static rn_status cuda_timer_end(rn_backend *be, double *ms) {
    rn_cuda_ctx *c = ctx_of(be);
    float f = 0.0f;
    rn_status st = rn_cuda_check(be, cudaEventRecord(c->timer[1], c->stream), "timer (end)");
    if (st == RN_OK) st = rn_cuda_check(be, cudaEventSynchronize(c->timer[1]), "timer (wait)");
    if (st == RN_OK)
        st = rn_cuda_check(be, cudaEventElapsedTime(&f, c->timer[0], c->timer[1]), "timer");
    *ms = st == RN_OK ? (double)f : -1.0;
    return st;
}

static void cuda_release(rn_backend *be);

/* cudaMemGetInfo's free bytes: the trainer's default memory budget is a share of them. */
static rn_status cuda_mem_free(rn_backend *be, size_t *bytes) {
    size_t total_b = 0;
    *bytes = 0;
    return rn_cuda_check(be, cudaMemGetInfo(bytes, &total_b), "cudaMemGetInfo");
}

static const rn_backend_ops cuda_ops = {
    .release = cuda_release,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .fill = rn_cuda_fill,
    .zero = cuda_zero,
    .gemm = cuda_gemm,
    .bias_add = rn_cuda_bias_add,
    .bias_grad = rn_cuda_bias_grad,
    .rate_init = rn_cuda_rate_init,
    .rate_forward_step = rn_cuda_rate_forward_step,
    .rate_backward_step = rn_cuda_rate_backward_step,
    .rate_backward_init = rn_cuda_rate_backward_init,
    .rate_param_grads = rn_cuda_rate_param_grads,
    .rate_seq_fits = rn_cuda_rate_seq_fits,
    .rate_forward_seq = rn_cuda_rate_forward_seq,
    .rate_backward_seq = rn_cuda_rate_backward_seq,
    .rate_seq_path = rn_cuda_rate_seq_path,
    .shift_rows = rn_cuda_shift_rows,
    .filter_forward = rn_cuda_filter_forward,
    .filter_backward = rn_cuda_filter_backward,
    .filter_param_grads = rn_cuda_filter_param_grads,
    .mse = rn_cuda_mse,
    .bounds = rn_cuda_bounds,
    .l2 = rn_cuda_l2,
    .sum_squares = rn_cuda_sum_squares,
    .adam = rn_cuda_adam,
    .sgd = rn_cuda_sgd,
    .clip_bounds = rn_cuda_clip_bounds,
    .graph_begin = cuda_graph_begin,
    .graph_end = cuda_graph_end,
    .graph_launch = cuda_graph_launch,
    .graph_free = cuda_graph_free,
    .timer_begin = cuda_timer_begin,
    .timer_end = cuda_timer_end,
    .mem_free = cuda_mem_free,
    .set_block_size = cuda_set_block_size,
};

int rn_cuda_backend_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

/* The context; every allocation has been returned by now (rn_backend_free). Statuses here are
 * dropped (nothing to report to), but cleared so the next backend starts clean. */
static void cuda_release(rn_backend *be) {
    rn_cuda_ctx *c = ctx_of(be);
    if (!c) return;
    if (c->stream && cudaStreamSynchronize(c->stream) != cudaSuccess) cudaGetLastError();
    if (c->scratch && cudaFree(c->scratch) != cudaSuccess) cudaGetLastError();
    if (c->cublas_workspace && cudaFree(c->cublas_workspace) != cudaSuccess) cudaGetLastError();
    if (c->cublas) cublasDestroy(c->cublas);
    rn_cuda_lt_state_free(c->fixed_gemm);
    for (int i = 0; i < 2; i++)
        if (c->timer[i] && cudaEventDestroy(c->timer[i]) != cudaSuccess) cudaGetLastError();
    if (c->stream && cudaStreamDestroy(c->stream) != cudaSuccess) cudaGetLastError();
    free(c);
    be->ctx = NULL;
}

rn_status rn_cuda_backend_init(rn_backend *be, rn_error *err) {
    rn_cuda_ctx *c = calloc(1, sizeof *c);
    if (!c) return rn_fail(err, RN_ERR_NO_MEMORY, "out of host memory for the CUDA backend");
    be->ctx = c;
    be->ops = &cuda_ops;
    be->kind = RN_BACKEND_CUDA;
    rn_status st = RN_OK;
    struct cudaDeviceProp prop;
    if ((st = rn_cuda_check(be, cudaGetDevice(&c->device), "cudaGetDevice")) != RN_OK ||
        (st = rn_cuda_check(be, cudaGetDeviceProperties(&prop, c->device), "device properties")) !=
            RN_OK ||
        (st = rn_cuda_check(be, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking),
                            "stream")) != RN_OK ||
        (st = rn_cuda_check(be, cudaEventCreate(&c->timer[0]), "timer event")) != RN_OK ||
        (st = rn_cuda_check(be, cudaEventCreate(&c->timer[1]), "timer event")) != RN_OK ||
        (st = rn_cuda_check(
             be, cudaMalloc((void **)&c->scratch, RN_CUDA_SCRATCH_DOUBLES * sizeof(double)),
             "reduction scratch")) != RN_OK ||
        (st = rn_cuda_check(be, cudaMalloc(&c->cublas_workspace, RN_CUDA_WORKSPACE_BYTES),
                            "cuBLAS workspace")) != RN_OK ||
        (st = rn_cuda_rate_seq_setup(be)) != RN_OK)
        goto fail;
    c->partials = c->scratch + RN_CUDA_SCRATCH_PARTIALS;
    c->denom = c->scratch + RN_CUDA_SCRATCH_DENOM;
    c->bias_partials = c->scratch + RN_CUDA_SCRATCH_BIAS;
    c->threads = RN_CUDA_DEFAULT_THREADS;
    cublasStatus_t cs = cublasCreate(&c->cublas);
    if (cs == CUBLAS_STATUS_SUCCESS) cs = cublasSetStream(c->cublas, c->stream);
    /* A fixed workspace: cuBLAS must not allocate while a graph is being recorded. */
    if (cs == CUBLAS_STATUS_SUCCESS)
        cs = cublasSetWorkspace(c->cublas, c->cublas_workspace, RN_CUDA_WORKSPACE_BYTES);
    /* Plain FP32 products (no TF32), so results stay within float32 rounding of the CPU's. */
    if (cs == CUBLAS_STATUS_SUCCESS) cs = cublasSetMathMode(c->cublas, CUBLAS_DEFAULT_MATH);
    if ((st = cublas_check(be, cs, "handle")) != RN_OK) goto fail;
#ifdef RATENN_CUDA_GEMM_FIXED /* (CMake option RATENN_CUDA_GEMM_FIXED) */
    if ((st = rn_cuda_set_gemm_fixed(be, true)) != RN_OK) goto fail;
    const char *products = ", products by cuBLASLt, one algorithm per shape";
#else
    const char *products = "";
#endif
    snprintf(be->description, sizeof be->description, "cuda: %.80s (sm_%d%d, %.0f GiB%s)",
             prop.name, prop.major, prop.minor, (double)prop.totalGlobalMem / 1073741824.0,
             products);
    be->peak_bytes = be->bytes_in_use =
        RN_CUDA_SCRATCH_DOUBLES * sizeof(double) + RN_CUDA_WORKSPACE_BYTES;
    return rn_ok(err);
fail:
    if (err) *err = be->err;
    cuda_release(be);
    /* AUTO falls back to the CPU on this struct: leave nothing of CUDA in it. */
    memset(&be->err, 0, sizeof be->err);
    be->ops = NULL;
    be->kind = RN_BACKEND_CPU;
    be->bytes_in_use = be->peak_bytes = 0;
    return st;
}
