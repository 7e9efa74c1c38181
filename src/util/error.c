#include "error.h"

#include <stdarg.h>
#include <stdio.h>

const char *rn_status_string(rn_status status) {
    switch (status) {
    case RN_OK:
        return "ok";
    case RN_ERR_INVALID_ARG:
        return "invalid argument";
    case RN_ERR_SHAPE:
        return "shape mismatch";
    case RN_ERR_NOT_FOUND:
        return "not found";
    case RN_ERR_IO:
        return "i/o error";
    case RN_ERR_FORMAT:
        return "malformed file";
    case RN_ERR_NO_MEMORY:
        return "out of memory";
    case RN_ERR_DEVICE:
        return "device error";
    case RN_ERR_DIVERGED:
        return "diverged";
    case RN_ERR_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown status";
}

void rn_one_line(char *s) {
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f) *s = '?';
}

rn_status rn_fail(rn_error *err, rn_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        rn_one_line(err->message);
        err->status = status;
    }
    return status;
}

rn_status rn_ok(rn_error *err) {
    if (err) {
        err->status = RN_OK;
        err->message[0] = '\0';
    }
    return RN_OK;
}
