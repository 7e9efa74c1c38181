/* Internal: OpenBLAS's work buffers claimed up front (see blas_reserve.c). */
#ifndef RATENN_BLAS_RESERVE_H
#define RATENN_BLAS_RESERVE_H

#include "ratenn/ratenn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes sure the CBLAS library's work buffers exist before the first product that would need them.
 * RN_ERR_NO_MEMORY (naming the size) when they cannot be had; RN_OK at once for other CBLAS
 * libraries. Safe to call more than once. */
rn_status rn_cpu_blas_reserve(rn_error *err);

#ifdef __cplusplus
}
#endif
#endif
