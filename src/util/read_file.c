/* Reading a whole regular file into memory. */
#define _POSIX_C_SOURCE 200809L
#include "read_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

rn_status rn_read_file(const char *path, unsigned char **buf, size_t *len, rn_error *err) {
    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: a FIFO (or a device) given as a file would block in open() until a writer
     * comes, possibly forever; opened at once, it is refused below as not a regular file. (For a
     * regular file the flag changes nothing.) */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *fp = fd < 0 ? NULL : fdopen(fd, "rb");
    if (!fp) {
        int e = errno;
        if (fd >= 0) close(fd);
        return rn_fail(err, RN_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat sb;
    rn_status st = RN_OK;
    unsigned char *b = NULL;
    if (fstat(fileno(fp), &sb) != 0)
        st = rn_fail(err, RN_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = rn_fail(err, RN_ERR_IO, "%s: not a regular file", path);
    else if ((uintmax_t)sb.st_size >= SIZE_MAX)
        st = rn_fail(err, RN_ERR_NO_MEMORY, "%s: file too large", path);
    else if (!(b = malloc((size_t)sb.st_size + 1)))
        st = rn_fail(err, RN_ERR_NO_MEMORY, "%s: out of memory for %lld bytes", path,
                     (long long)sb.st_size);
    else if (fread(b, 1, (size_t)sb.st_size, fp) != (size_t)sb.st_size)
        st = rn_fail(err, RN_ERR_IO, "%s: read error: %s", path,
                     ferror(fp) ? strerror(errno) : "file shrank");
    fclose(fp);
    if (st != RN_OK) {
        free(b);
        return st;
    }
    *buf = b;
    *len = (size_t)sb.st_size;
    return RN_OK;
}
