/* Choosing and creating a backend. */
#include <stdlib.h>
#include <string.h>

#include "backend_impl.h"
#include "error.h"

#ifndef RATENN_WITH_CUDA
rn_status rn_cuda_backend_init(rn_backend *be, rn_error *err) {
    return rn_fail(err, RN_ERR_UNSUPPORTED,
                   "the CUDA backend was asked for, but this ratenn was built without CUDA");
}
int rn_cuda_backend_device_count(void) {
    return 0;
}
bool rn_cuda_built(void) {
    return false;
}
#else
bool rn_cuda_built(void) {
    return true;
}
#endif

int rn_cuda_device_count(void) {
    return rn_cuda_backend_device_count();
}

rn_status rn_backend_create(rn_backend **out, rn_backend_kind kind, rn_error *err) {
    if (!out) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_backend_create: backend pointer is NULL");
    *out = NULL;
    rn_backend *be = calloc(1, sizeof *be);
    if (!be) return rn_fail(err, RN_ERR_NO_MEMORY, "out of host memory for the backend");
    rn_status st;
    if (kind == RN_BACKEND_CUDA) {
        if (rn_cuda_backend_device_count() <= 0 && rn_cuda_built()) {
            free(be);
            return rn_fail(err, RN_ERR_DEVICE,
                           "the CUDA backend was asked for, but no CUDA device is usable here");
        }
        st = rn_cuda_backend_init(be, err);
    } else if (kind == RN_BACKEND_AUTO && rn_cuda_backend_device_count() > 0) {
        st = rn_cuda_backend_init(be, err);
        if (st != RN_OK) st = rn_cpu_backend_init(be, err); /* a device we cannot use: fall back */
    } else if (kind == RN_BACKEND_AUTO || kind == RN_BACKEND_CPU) {
        st = rn_cpu_backend_init(be, err);
    } else {
        st = rn_fail(err, RN_ERR_INVALID_ARG, "unknown backend kind %d", (int)kind);
    }
    if (st != RN_OK) {
        free(be);
        return st;
    }
    *out = be;
    return rn_ok(err);
}

void rn_backend_free(rn_backend *be) {
    if (!be) return;
    for (int i = be->n_allocs - 1; i >= 0; i--) /* what an owner forgot */
        be->ops->free(be, be->allocs[i].ptr);
    free(be->allocs);
    if (be->ops->release) be->ops->release(be);
    free(be);
}

rn_status rn_backend_alloc(rn_backend *be, void **ptr, size_t bytes) {
    *ptr = NULL;
    if (be->n_allocs == be->cap_allocs) {
        int cap = be->cap_allocs ? 2 * be->cap_allocs : 8;
        rn_backend_allocation *grown = realloc(be->allocs, (size_t)cap * sizeof *grown);
        if (!grown) return rn_fail(&be->err, RN_ERR_NO_MEMORY, "out of host memory");
        be->allocs = grown;
        be->cap_allocs = cap;
    }
    rn_status st = be->ops->alloc(be, ptr, bytes);
    if (st != RN_OK) {
        *ptr = NULL;
        return st;
    }
    be->allocs[be->n_allocs++] = (rn_backend_allocation){*ptr, bytes};
    be->bytes_in_use += bytes;
    if (be->bytes_in_use > be->peak_bytes) be->peak_bytes = be->bytes_in_use;
    return RN_OK;
}

void rn_backend_dealloc(rn_backend *be, void *ptr) {
    if (!ptr) return;
    for (int i = 0; i < be->n_allocs; i++)
        if (be->allocs[i].ptr == ptr) {
            be->bytes_in_use -= be->allocs[i].bytes;
            be->allocs[i] = be->allocs[--be->n_allocs];
            be->ops->free(be, ptr);
            return;
        }
}

void rn_backend_memory(const rn_backend *be, size_t *in_use, size_t *peak) {
    if (in_use) *in_use = be ? be->bytes_in_use : 0;
    if (peak) *peak = be ? be->peak_bytes : 0;
}

rn_backend_kind rn_backend_get_kind(const rn_backend *be) {
    return be->kind;
}
const char *rn_backend_description(const rn_backend *be) {
    return be->description;
}

const char *rn_backend_rate_loop(rn_backend *be, int batch, int n, bool recurrent) {
    const rn_backend_ops *o = be->ops;
    if (o->rate_seq_path) return o->rate_seq_path(be, batch, n, recurrent);
    if (!o->rate_seq_fits || !o->rate_seq_fits(be, batch, n, recurrent)) return "step";
    return be->kind == RN_BACKEND_CPU ? "cpu-seq" : "seq";
}

rn_status rn_backend_kind_parse(const char *text, rn_backend_kind *kind, rn_error *err) {
    if (text && strcmp(text, "auto") == 0)
        *kind = RN_BACKEND_AUTO;
    else if (text && strcmp(text, "cpu") == 0)
        *kind = RN_BACKEND_CPU;
    else if (text && strcmp(text, "cuda") == 0)
        *kind = RN_BACKEND_CUDA;
    else
        return rn_fail(err, RN_ERR_INVALID_ARG, "unknown backend '%s' (expected auto, cpu or cuda)",
                       text ? text : "(null)");
    return rn_ok(err);
}
