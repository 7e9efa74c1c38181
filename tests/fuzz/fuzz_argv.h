/* The fuzz targets' command lines: the input, NUL-terminated, split at its NUL bytes into the
 * arguments of `ratenn train` (at most 62 of them). */
#ifndef RATENN_FUZZ_ARGV_H
#define RATENN_FUZZ_ARGV_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct fuzz_argv {
    char *buf; /* the input's copy the arguments point into (malloc'd; NULL when out of memory) */
    char *argv[66];
    int argc;
} fuzz_argv;

static inline void fuzz_argv_make(fuzz_argv *a, const uint8_t *data, size_t size) {
    a->argc = 0;
    a->argv[0] = NULL;
    a->buf = malloc(size + 1);
    if (!a->buf) return;
    memcpy(a->buf, data, size);
    a->buf[size] = '\0';
    a->argv[a->argc++] = "ratenn";
    a->argv[a->argc++] = "train";
    for (size_t i = 0; i < size && a->argc < 64;) {
        a->argv[a->argc++] = a->buf + i;
        i += strlen(a->buf + i) + 1;
    }
    a->argv[a->argc] = NULL;
}

static inline void fuzz_argv_free(fuzz_argv *a) {
    free(a->buf);
    a->buf = NULL;
}

#endif
