/* ratenn — compute backends.
 *
 * A backend runs the training operations: the CPU backend (plain C and CBLAS) is always available; the CUDA
 * backend exists when ratenn was built with CUDA and a device is present. "Built with CUDA, no GPU" is a
 * normal answer (0 devices), not an error until a CUDA backend is asked for. */
#ifndef RATENN_BACKEND_H
#define RATENN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rn_backend_kind {
    RN_BACKEND_AUTO = 0, /* CUDA when a device is usable, else CPU */
    RN_BACKEND_CPU = 1,
    RN_BACKEND_CUDA = 2,
} rn_backend_kind;

typedef struct rn_backend rn_backend;

/* Creates a backend. RN_BACKEND_CUDA without a usable device fails with RN_ERR_DEVICE and a message. */
rn_status rn_backend_create(rn_backend **backend, rn_backend_kind kind, rn_error *err);
void rn_backend_free(rn_backend *backend);

rn_backend_kind rn_backend_get_kind(const rn_backend *backend); /* CPU or CUDA, never AUTO */
/* A human-readable description, e.g. "cpu (OpenBLAS)" or "cuda: NVIDIA H100 80GB HBM3". */
const char *rn_backend_description(const rn_backend *backend);

/* The memory this backend holds now and the most it has held (device memory for CUDA, including its
 * reduction scratch; host memory for the CPU), in bytes. */
void rn_backend_memory(const rn_backend *backend, size_t *in_use, size_t *peak);

/* How the backend runs the time loop of a rate layer of n neurons (recurrent or not) on `batch`
 * trials, for reports: "persistent-smem" (CUDA: one kernel per direction, W_rec in shared memory),
 * "cpu-seq" (CPU: one tight loop per direction), or "step" (one launch or call per step). */
const char *rn_backend_rate_loop(rn_backend *backend, int batch, int n, bool recurrent);

/* Whether this build contains the CUDA backend, and how many devices it can see (0 if none). */
bool rn_cuda_built(void);
int rn_cuda_device_count(void);

/* Parses "auto", "cpu" or "cuda". */
rn_status rn_backend_kind_parse(const char *text, rn_backend_kind *kind, rn_error *err);

#ifdef __cplusplus
}
#endif
#endif
