/* Internal: the .npy format in memory and whole-file reads, shared by the .npy and .npz code. */
#ifndef RATENN_NPY_FORMAT_H
#define RATENN_NPY_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "ratenn/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Room enough for any header rn_npy_header writes (RN_NPY_MAX_DIMS dimensions of 20 digits each).
 */
#define RN_NPY_HEADER_CAP 512

/* Parses a whole .npz archive held in memory (what rn_npz_read does after reading the file); `what`
 * names it in messages. On success *arrays (count entries) is the caller's (rn_arrays_free). */
rn_status rn_npz_parse(const unsigned char *buf, size_t len, const char *what, rn_array **arrays,
                       int *count, rn_error *err);
/* Parses a whole .npy held in buf[0..len); `what` names it in messages (a path, or
 * "file.npz:member"). On failure *out is zeroed and nothing is allocated. */
rn_status rn_npy_parse(const unsigned char *buf, size_t len, const char *what, rn_array *out,
                       rn_error *err);

/* The most bytes of a .npy that its magic, version and header can take (format 2.0/3.0 preamble and
 * the 1 MiB header limit). */
#define RN_NPY_HEAD_MAX (12 + ((size_t)1 << 20))
/* Checks the head of a .npy (its first len bytes: all of it, or at least RN_NPY_HEAD_MAX) against
 * the total size the container says it has: magic, header, dtype and order as rn_npy_parse does,
 * and the shape's bytes plus the header equal to total. *count is the shape's element count. Lets
 * a compressed member be judged before it is inflated. */
rn_status rn_npy_check_head(const unsigned char *head, size_t len, uint64_t total, const char *what,
                            size_t *count, rn_error *err);

/* Writes the magic, version 1.0 and the padded header dictionary of a '<f4' C-order array into
 * hdr[0..cap), laid out byte for byte as numpy.save does; returns its length (a multiple of 64), or
 * 0 when ndim is out of range or cap is too small. */
size_t rn_npy_header(char *hdr, size_t cap, int ndim, const size_t *shape);

/* The product of shape[0..ndim) into *count; 0 when it (or count·8 bytes) would overflow size_t. */
int rn_shape_count(int ndim, const size_t *shape, size_t *count);

/* rn_npz_write with ZIP64 records forced on every member and at the end (force_zip64 != 0), so that
 * the ZIP64 writer can be tested without 4 GiB files. rn_npz_write is this with force_zip64 = 0. */
rn_status rn_npz_write_ex(const char *path, const rn_array *arrays, int count, int force_zip64,
                          rn_error *err);

#ifdef __cplusplus
}
#endif
#endif
