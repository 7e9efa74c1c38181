/* Internal: filling an rn_error. */
#ifndef RATENN_ERROR_INTERNAL_H
#define RATENN_ERROR_INTERNAL_H

#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RN_PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define RN_PRINTF_LIKE(a, b)
#endif

/* Sets err (if non-NULL) to status and a formatted message; returns status. */
rn_status rn_fail(rn_error *err, rn_status status, const char *fmt, ...) RN_PRINTF_LIKE(3, 4);

/* Makes s one line: every control character but the tab (a newline in a JSON key, a file name or a
 * flag's value that a message quotes) becomes '?'. rn_fail applies it to every message. */
void rn_one_line(char *s);

/* Clears err (if non-NULL) to RN_OK with an empty message; returns RN_OK. */
rn_status rn_ok(rn_error *err);

/* Evaluates a call returning rn_status once; on failure jumps to the label `fail` with `st` set. */
#define RN_TRY(expr)                                                                               \
    do {                                                                                           \
        st = (expr);                                                                               \
        if (st != RN_OK) goto fail;                                                                \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
