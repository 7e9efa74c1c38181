/* Write to a temporary file beside the target, then rename it into place. */
#define _POSIX_C_SOURCE 200809L
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

static const char k_suffix[] = ".tmp.XXXXXX";

/* The mode for the new file: that of the file it replaces, else what open() would give (0666 less
 * the umask; umask can only be read by setting it, so it is set straight back). */
static mode_t target_mode(const char *path) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) return sb.st_mode & 07777;
    mode_t mask = umask(022);
    umask(mask);
    return 0666 & ~mask;
}

rn_status rn_atomic_open(rn_atomic_file *f, const char *path, rn_error *err) {
    memset(f, 0, sizeof *f);
    if (!path || !*path) return rn_fail(err, RN_ERR_INVALID_ARG, "no output path given");
    if (strlen(path) + sizeof k_suffix > sizeof f->temp_path)
        return rn_fail(err, RN_ERR_INVALID_ARG, "%.200s...: path too long", path);
    strcpy(f->final_path, path);
    strcpy(f->temp_path, path);
    strcat(f->temp_path, k_suffix);
    int fd = mkstemp(f->temp_path);
    if (fd < 0) {
        int e = errno;
        f->temp_path[0] = '\0';
        return rn_fail(err, RN_ERR_IO, "%s: cannot create the file: %s", path, strerror(e));
    }
    (void)fchmod(fd, target_mode(path)); /* best effort: mkstemp makes 0600 */
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
