/* Write to a temporary file beside the target, then rename it into place. */
#define _POSIX_C_SOURCE 200809L
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

/* "<path>.tmp." + 16 hex digits */
#define SUFFIX_LEN (5 + 16)

/* The temporary file is created with open(O_CREAT | O_EXCL, 0666), so the kernel applies the
 * process's umask as for any new file (the umask is never read or changed here); a file that
 * replaces an existing one takes that file's mode instead. The name's 64 bits come from the clock,
 * the process id and the attempt, tried until one is free. */
static int create_temp(rn_atomic_file *f, const char *path) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^
                 (uint64_t)(uintptr_t)f;
    for (int attempt = 0; attempt < 100; attempt++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull; /* a step of an LCG */
        snprintf(f->temp_path, sizeof f->temp_path, "%s.tmp.%016llx", path, (unsigned long long)x);
        int fd = open(f->temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

rn_status rn_atomic_open(rn_atomic_file *f, const char *path, rn_error *err) {
    memset(f, 0, sizeof *f);
    if (!path || !*path) return rn_fail(err, RN_ERR_INVALID_ARG, "no output path given");
    if (strlen(path) + SUFFIX_LEN + 1 > sizeof f->temp_path)
        return rn_fail(err, RN_ERR_INVALID_ARG, "%.200s...: path too long", path);
    strcpy(f->final_path, path);
    int fd = create_temp(f, path);
    if (fd < 0) {
        int e = errno;
        f->temp_path[0] = '\0';
        return rn_fail(err, RN_ERR_IO, "%s: cannot create the file: %s", path, strerror(e));
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        (void)fchmod(fd, sb.st_mode & 07777); /* best effort: keep the replaced file's mode */
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int e = errno;
        close(fd);
        unlink(f->temp_path);
        f->temp_path[0] = '\0';
        return rn_fail(err, RN_ERR_IO, "%s: cannot open for writing: %s", path, strerror(e));
    }
    return RN_OK;
}

/* Makes the rename durable; best effort (some file systems cannot sync a directory). */
static void sync_parent_dir(const rn_atomic_file *f) {
    char dir[sizeof f->final_path];
    strcpy(dir, f->final_path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

/* The first error of flushing, syncing and closing f->fp (0 if none); f->fp is closed either way.
 */
static int finish_stream(rn_atomic_file *f) {
    int e = 0;
    if (ferror(f->fp))
        e = errno ? errno : EIO; /* a write failed earlier; errno still says why */
    else if (fflush(f->fp) != 0)
        e = errno ? errno : EIO;
    /* file systems that cannot sync (EINVAL, ENOTSUP) are not an error */
    if (!e && fsync(fileno(f->fp)) != 0 && errno != EINVAL && errno != ENOTSUP) e = errno;
    if (fclose(f->fp) != 0 && !e) e = errno ? errno : EIO;
    f->fp = NULL;
    return e;
}

rn_status rn_atomic_commit(rn_atomic_file *f, rn_error *err) {
    if (!f->fp) return rn_fail(err, RN_ERR_IO, "%s: not open for writing", f->final_path);
    int e = finish_stream(f);
    if (!e && rename(f->temp_path, f->final_path) != 0) e = errno;
    if (e) {
        unlink(f->temp_path);
        f->temp_path[0] = '\0';
        return rn_fail(err, RN_ERR_IO,
                       "%s: cannot write: %s (any previous file there is untouched)", f->final_path,
                       strerror(e));
    }
    f->temp_path[0] = '\0';
    sync_parent_dir(f);
    return rn_ok(err);
}

void rn_atomic_abort(rn_atomic_file *f) {
    if (f->fp) fclose(f->fp);
    f->fp = NULL;
    if (f->temp_path[0]) unlink(f->temp_path);
    f->temp_path[0] = '\0';
}
