/* ratenn — NumPy .npy and .npz files (SPEC §7: user data as (B, T, C) arrays, float32 or float64,
 * C order).
 *
 * Readers validate every header field (magic, version, header length, the header dictionary, dtype,
 * order, shape, data length, and for .npz the zip directory, sizes and CRC-32) and fail with a
 * message that names the file (for .npz "archive.npz:member.npy") and the problem. Writers write to
 * a temporary name in the same directory and rename it into place, so a failed or interrupted write
 * leaves an existing file untouched and no temporary file behind (SPEC §8). No call prints, exits
 * or keeps global state. */
#ifndef RATENN_IO_H
#define RATENN_IO_H

#include <stddef.h>

#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RN_NPY_MAX_DIMS 8

/* An array in host memory, always float32, C order. A zero-initialised rn_array ({0}) is empty. */
typedef struct rn_array {
    char name[128];                /* the .npz member name without ".npy"; "" for a lone .npy */
    int ndim;                      /* 0 (a scalar) .. RN_NPY_MAX_DIMS */
    size_t shape[RN_NPY_MAX_DIMS]; /* shape[0..ndim) */
    size_t count;                  /* product of shape[0..ndim); 1 for ndim 0 */
    float *data; /* count floats, malloc'd; freed by rn_array_free (NULL when count is 0) */
} rn_array;

/* Reads the .npy at path into *out: format version 1.0, 2.0 or 3.0, dtype '<f4' or '<f8' (float64
 * is rounded to float32), C order ('fortran_order': False), at most RN_NPY_MAX_DIMS dimensions, and
 * exactly count·itemsize bytes of data after the header. Errors: RN_ERR_IO (cannot open or read),
 * RN_ERR_FORMAT (anything malformed or unsupported, e.g. "u.npy: dtype '<i4' is not supported
 * (expected float32 '<f4' or float64 '<f8')"), RN_ERR_NO_MEMORY. On failure *out is left zeroed and
 * nothing is allocated. Non-finite values are returned as they are; callers check them. */
rn_status rn_npy_read(const char *path, rn_array *out, rn_error *err);

/* Writes count = product(shape) floats from data as a '<f4' C-order .npy, format 1.0, header padded
 * with spaces and a '\n' so that the data starts at a multiple of 64 bytes (as numpy.save does).
 * ndim may be 0 (a scalar; shape may then be NULL). Atomic: on failure an existing file at path is
 * left untouched. */
rn_status rn_npy_write(const char *path, const float *data, int ndim, const size_t *shape,
                       rn_error *err);

/* Writes arrays[0..count) as a .npz: a zip archive of STORED (uncompressed) members "<name>.npy",
 * each a .npy as rn_npy_write writes it, with CRC-32s, readable by numpy.load. Names must be
 * non-empty, unique and NUL-terminated within rn_array.name; each array's count must equal the
 * product of its shape. ZIP64 records are used only where a size or offset passes 4 GiB. Atomic,
 * like rn_npy_write. */
rn_status rn_npz_write(const char *path, const rn_array *arrays, int count, rn_error *err);

/* Reads a .npz written by numpy.savez (stored), numpy.savez_compressed (deflate) or rn_npz_write
 * into a malloc'd array of *count arrays (free with rn_arrays_free); member names lose their
 * ".npy". Checks the zip records (including ZIP64 fields), every size, every CRC-32, and every
 * member as rn_npy_read does. On failure *arrays is NULL, *count is 0 and nothing is allocated. */
rn_status rn_npz_read(const char *path, rn_array **arrays, int *count, rn_error *err);

/* Frees array->data and zeroes *array. NULL is allowed. */
void rn_array_free(rn_array *array);
/* Frees every arrays[i].data and then arrays itself (as rn_npz_read returns them). NULL is ok. */
void rn_arrays_free(rn_array *arrays, int count);
/* The first array named name among arrays[0..count), or NULL. */
const rn_array *rn_arrays_find(const rn_array *arrays, int count, const char *name);

#ifdef __cplusplus
}
#endif
#endif
