/* `ratenn train`'s output directory: lock, staging, moving in, appending (cli_run_dir.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#define _DEFAULT_SOURCE   /* O_NOFOLLOW */
#include "cli_run_dir.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A run's files, in the order they are moved in: checkpoint.npz last (resume looks for it). */
static const char *const run_files[] = {
    "config.json", "params_initial.npz", "loss.csv", "tau_history.csv", "params.npz",
    "run.npz",     "checkpoint.npz",     NULL};

static void join(char *dst, size_t n, const char *dir, const char *file) {
    snprintf(dst, n, "%s/%s", dir, file);
}

static bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

bool run_dir_holds_run(const char *dir, const char **which) {
    char p[4200];
    for (const char *const *f = run_files; *f; f++) {
        join(p, sizeof p, dir, *f);
        if (exists(p)) {
            if (which) *which = *f;
            return true;
        }
    }
    return false;
}

bool run_dir_names_run_file(const char *dir, const char *path, const char **which) {
    char p[4400];
    if (strlen(dir) >= 4096) return false;
    for (const char *const *f = run_files; *f; f++) {
        join(p, sizeof p, dir, *f);
        if (exists(p) && cli_same_file(path, p)) {
            if (which) *which = *f;
            return true;
        }
    }
    return false;
}

bool run_file_of_run_dir(const char *path, const char **which) {
    char dir[4000];
    const char *slash = strrchr(path, '/');
    if (slash && slash - path >= (long)sizeof dir) return false; /* longer than any path opens */
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return run_dir_holds_run(dir, NULL) && run_dir_names_run_file(dir, path, which);
}

/* mkdir -p, remembering the topmost directory it made. */
static int make_dirs(run_dir *r) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", r->dir);
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) == 0) {
            if (!r->made[0]) snprintf(r->made, sizeof r->made, "%s", buf);
        } else if (errno != EEXIST || !c) {
            struct stat st;
            if (c || stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
                int e = errno == EEXIST ? ENOTDIR : errno;
                cli_line("ratenn train: --out %s: cannot create the directory: %s\n", r->dir,
                         strerror(e));
                return 1;
            }
        }
        if (!c) break;
        *p = c;
    }
    return 0;
}

/* A run's file, or the temporary name it is written under ("FILE.tmp.<16 hex digits>",
 * rn_atomic_open). */
static bool run_file_or_temp(const char *name) {
    for (const char *const *f = run_files; *f; f++) {
        size_t n = strlen(*f);
        if (!strncmp(name, *f, n) &&
            (!name[n] || (!strncmp(name + n, ".tmp.", 5) && strlen(name + n + 5) == 16)))
            return true;
    }
    return false;
}

/* Removes a staging directory: the run's files in it, then the directory if that left it empty
 * (anything else in a directory of that name is not ratenn's). */
static void remove_flat_dir(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char p[4400];
        while ((e = readdir(d)))
            if (run_file_or_temp(e->d_name)) {
                snprintf(p, sizeof p, "%s/%s", path, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(path);
}

/* What a run killed outright (SIGKILL, power loss) left: its staging directories and its
 * temporary files ("FILE.tmp.<16 hex digits>", rn_atomic_open). Only called under the lock. */
static void remove_leftovers(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d))) {
        size_t pre = strlen(RUN_DIR_STAGE_PREFIX);
        bool stage = !strncmp(e->d_name, RUN_DIR_STAGE_PREFIX, pre) &&
                     strlen(e->d_name) == pre + 6; /* mkdtemp's XXXXXX */
        bool stale = stage || (run_file_or_temp(e->d_name) && strchr(e->d_name, '.') &&
                               strstr(e->d_name, ".tmp."));
        if (!stale) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.')
            remove_flat_dir(p);
        else
            unlink(p);
    }
    closedir(d);
}

/* The lock: an fcntl write lock on DIR/.ratenn.lock (released by the kernel if the process dies),
 * the holder's pid written inside for the message of the run that is refused. */
static int take_lock(run_dir *r, const char *flag) {
    char p[4200];
    join(p, sizeof p, r->dir, RUN_DIR_LOCK);
    /* not through a link (the pid would be written into whatever it names), not a FIFO */
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0666);
    if (fd < 0) {
        cli_line("ratenn train: %s %s: cannot create %s: %s\n", flag, r->dir, RUN_DIR_LOCK,
                 errno == ELOOP ? "it is a symbolic link (remove it)" : strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_line("ratenn train: %s %s: %s is not a regular file (remove it)\n", flag, r->dir,
                 RUN_DIR_LOCK);
        close(fd);
        return 1;
    }
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (e == EACCES || e == EAGAIN)
            cli_line("ratenn train: %s %s: another ratenn run%s%s%s is using this directory; "
                     "wait for it or choose another --out\n",
                     flag, r->dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        else
            cli_line("ratenn train: %s %s: cannot lock %s: %s\n", flag, r->dir, RUN_DIR_LOCK,
                     strerror(e));
        return 1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* the pid only improves another run's message: not worth failing for */
    if (ftruncate(fd, 0) == 0) (void)!pwrite(fd, pid, (size_t)n, 0);
    r->lock_fd = fd;
    return 0;
}

/* Directories that are no run's, under any spelling or link (r->abs): the root (a run's files and
 * lock would go among the system's, and as root nothing else stops it), and a directory named as
 * ratenn's staging directories are (the next run in its parent would remove the run's files). A
 * directory holding other files is a run's directory all the same: they are never touched. */
static bool unsuitable(const run_dir *r, const char *flag) {
    if (!strcmp(r->abs, "/")) {
        cli_line("ratenn train: %s %s is the root directory; a run needs a directory of its own\n",
                 flag, r->dir);
        return true;
    }
    const char *base = strrchr(r->abs, '/') + 1;
    size_t pre = strlen(RUN_DIR_STAGE_PREFIX);
    if (!strncmp(base, RUN_DIR_STAGE_PREFIX, pre) && strlen(base) == pre + 6) {
        cli_line("ratenn train: %s %s: '%s' is the name of ratenn's staging directories, which the "
                 "next run in its parent directory removes; choose another name\n",
                 flag, r->dir, base);
        return true;
    }
    return false;
}

int run_dir_open(run_dir *r, const char *dir, bool resume, bool overwrite) {
    memset(r, 0, sizeof *r);
    r->lock_fd = -1;
    r->resumed = resume;
    const char *flag = resume ? "--resume" : "--out";
    if (!*dir || strlen(dir) >= sizeof r->dir - 64) {
        cli_line("ratenn train: %s: the path is empty or too long\n", flag);
        return 1;
    }
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    if (resume) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            cli_line("ratenn train: --resume %s: not a directory\n", dir);
            return 1;
        }
    } else if (make_dirs(r)) {
        return 1;
    }
    if (!realpath(r->dir, r->abs)) {
        cli_line("ratenn train: %s %s: %s\n", flag, dir, strerror(errno));
        run_dir_close(r);
        return 1;
    }
    if (unsuitable(r, flag)) {
        run_dir_close(r);
        return 1;
    }
    if (take_lock(r, flag)) {
        run_dir_close(r);
        return 1;
    }
    remove_leftovers(r->dir);
    const char *which = NULL;
    if (resume) {
        char p[4200];
        for (const char *need = "config.json"; need;
             need = strcmp(need, "config.json") ? NULL : "checkpoint.npz") {
            join(p, sizeof p, dir, need);
            if (!exists(p)) {
                cli_line("ratenn train: --resume %s: no %s there (a run writes its checkpoint on "
                         "Ctrl-C and every --checkpoint-every epochs)\n",
                         dir, need);
                run_dir_close(r);
                return 1;
            }
        }
        return 0;
    }
    if (!overwrite && run_dir_holds_run(dir, &which)) {
        cli_line("ratenn train: --out %s already holds a run (%s): --resume %s continues it, "
                 "--overwrite replaces it, or choose another --out\n",
                 dir, which, dir);
        run_dir_close(r);
        return 1;
    }
    join(r->stage, sizeof r->stage, r->dir, RUN_DIR_STAGE_PREFIX "XXXXXX");
    if (!mkdtemp(r->stage)) {
        cli_line("ratenn train: --out %s: cannot create a staging directory: %s\n", dir,
                 strerror(errno));
        r->stage[0] = '\0';
        run_dir_close(r);
        return 1;
    }
    return 0;
}

void run_dir_path(const run_dir *r, char *dst, size_t n, const char *file) {
    join(dst, n, r->stage[0] ? r->stage : r->dir, file);
}

static void sync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd); /* best effort, as in atomic_file.c */
    close(fd);
}

int run_dir_commit(run_dir *r) {
    if (!r->stage[0]) return 0;
    char from[4400], to[4400];
    /* every file of an older run first (its checkpoint before the rest): a crash from here on can
     * leave part of the new run, never a mix of two */
    join(to, sizeof to, r->dir, "checkpoint.npz");
    if (unlink(to) != 0 && errno != ENOENT) goto fail;
    for (const char *const *f = run_files; *f; f++) {
        join(to, sizeof to, r->dir, *f);
        if (unlink(to) != 0 && errno != ENOENT) goto fail;
    }
    sync_dir(r->dir);
    for (const char *const *f = run_files; *f; f++) {
        join(from, sizeof from, r->stage, *f);
        join(to, sizeof to, r->dir, *f);
        if (exists(from) && rename(from, to) != 0) goto fail;
    }
    sync_dir(r->dir);
    remove_flat_dir(r->stage);
    r->stage[0] = '\0';
    r->made[0] = '\0'; /* DIR now holds this run: it stays */
    return 0;
fail:
    cli_line("ratenn train: --out %s: cannot move the run's files in (%s): %s\n", r->dir, to,
             strerror(errno));
    return 1;
}

void run_dir_close(run_dir *r) {
    if (r->stage[0]) remove_flat_dir(r->stage);
    r->stage[0] = '\0';
    if (r->made[0]) { /* a new run that failed before its files moved in: leave no directory */
        char p[4200];
        join(p, sizeof p, r->dir, RUN_DIR_LOCK);
        unlink(p);
        snprintf(p, sizeof p, "%s", r->dir);
        size_t top = strlen(r->made);
        while (strlen(p) >= top && rmdir(p) == 0) {
            char *slash = strrchr(p, '/');
            if (!slash || slash == p) break;
            *slash = '\0';
        }
        r->made[0] = '\0';
    }
    if (r->lock_fd >= 0) close(r->lock_fd); /* releases the lock */
    r->lock_fd = -1;
}

int run_file_append(const char *path, off_t *end, const char *text, size_t len) {
    int fd = open(path, O_WRONLY | O_CLOEXEC | (*end == 0 ? O_CREAT : 0), 0666);
    int e = 0;
    if (fd < 0) {
        e = errno;
    } else {
        if (ftruncate(fd, *end) != 0 || lseek(fd, *end, SEEK_SET) < 0) e = errno;
        for (size_t done = 0; !e && done < len;) {
            ssize_t n = write(fd, text + done, len - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
                e = n < 0 ? errno : EIO;
            else
                done += (size_t)n;
        }
        if (!e && fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) e = errno;
        if (close(fd) != 0 && !e) e = errno; /* a failed append is cut off by the next one */
    }
    if (e) {
        cli_line("ratenn train: %s: cannot append: %s\n", path, strerror(e));
        return 1;
    }
    *end += (off_t)len;
    return 0;
}

void shell_quote(char *dst, size_t n, const char *s) {
    bool plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+./:,=@%",
                       *p) != NULL;
    if (plain) {
        snprintf(dst, n, "%s", s);
        return;
    }
    size_t k = 0;
    if (n < 3) {
        if (n) dst[0] = '\0';
        return;
    }
    dst[k++] = '\'';
    for (const char *p = s; *p && k + 6 < n; p++) {
        if (*p == '\'') {
            memcpy(dst + k, "'\\''", 4);
            k += 4;
        } else {
            dst[k++] = *p;
        }
    }
    dst[k++] = '\'';
    dst[k] = '\0';
}
