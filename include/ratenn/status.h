/* ratenn — status codes and error messages.
 *
 * Every fallible public call returns an rn_status and, when given a non-NULL rn_error, fills it with a
 * message, on one line, that names the argument or file and what is wrong (a control character quoted
 * from the input shows as '?'). A failed call leaves the caller's data and
 * files untouched (SPEC.md §8). */
#ifndef RATENN_STATUS_H
#define RATENN_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rn_status {
    RN_OK = 0,
    RN_ERR_INVALID_ARG = 1, /* a bad argument value (negative size, τ <= 0, unknown option, ...) */
    RN_ERR_SHAPE = 2,       /* sizes that do not fit together */
    RN_ERR_NOT_FOUND = 3,   /* an unknown parameter or layer name */
    RN_ERR_IO = 4,          /* a file could not be opened, read or written */
    RN_ERR_FORMAT = 5,      /* a file's contents are malformed */
    RN_ERR_NO_MEMORY = 6,   /* host or device out of memory */
    RN_ERR_DEVICE = 7,      /* CUDA, cuBLAS or cuRAND failed, or no usable device */
    RN_ERR_DIVERGED = 8,    /* a non-finite loss or gradient */
    RN_ERR_UNSUPPORTED = 9, /* not available in this build */
} rn_status;

#define RN_ERROR_MESSAGE_LEN 512

/* Where a failed call leaves its explanation. Zero-initialise it ({0}) before use. */
typedef struct rn_error {
    rn_status status;
    char message[RN_ERROR_MESSAGE_LEN];
} rn_error;

/* A short constant name for a status, e.g. "invalid argument". */
const char *rn_status_string(rn_status status);

#ifdef __cplusplus
}
#endif
#endif
