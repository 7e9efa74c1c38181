/* Internal (the library and the command-line program): reading a whole file into memory. */
#ifndef RATENN_READ_FILE_H
#define RATENN_READ_FILE_H

#include <stddef.h>

#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the whole regular file at path into a malloc'd *buf of *len bytes (plus one spare byte, so a
 * caller may terminate text). Fails with RN_ERR_IO naming path, or RN_ERR_NO_MEMORY. */
rn_status rn_read_file(const char *path, unsigned char **buf, size_t *len, rn_error *err);

#ifdef __cplusplus
}
#endif
#endif
