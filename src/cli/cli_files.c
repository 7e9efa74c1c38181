/* The CLI's files: parameters as .npz and checkpoints (each written to a temporary name and renamed,
 * rn_atomic_*, so an interrupted write never leaves a broken file), and whether two paths name one
 * file (so that no output is written onto an input). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "cli.h"
#include "ratenn/io.h"

/* Fills arr[0..count) with the network's parameters (prefix + name); returns the number or -1. */
static int params_to_arrays(const rn_net *net, const char *prefix, const float *block,
                            rn_array *arr) {
    int n = rn_net_param_count(net);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        rn_param_info info;
        rn_net_param_info(net, i, &info, NULL);
        snprintf(arr[i].name, sizeof arr[i].name, "%s%s", prefix, info.name);
        arr[i].ndim = info.ndim;
        arr[i].shape[0] = info.shape[0];
        arr[i].shape[1] = info.shape[1];
        arr[i].count = info.count;
        arr[i].data = malloc(info.count * sizeof(float) + 1);
        if (!arr[i].data) return -1;
        if (block)
            memcpy(arr[i].data, block + off, info.count * sizeof(float));
        else
            rn_net_get_param(net, info.name, arr[i].data, info.count, NULL);
        off += info.count;
    }
    return n;
}

int cli_write_params(const char *path, const rn_net *net) {
    int n = rn_net_param_count(net);
    rn_array *arr = calloc((size_t)n + 1, sizeof *arr);
    rn_error err = {0};
    int rc = 1;
    if (!arr || params_to_arrays(net, "", NULL, arr) < 0)
        cli_line("ratenn: out of memory writing %s\n", path);
    else if (rn_npz_write(path, arr, n, &err) != RN_OK)
        cli_line("ratenn: %s\n", err.message);
    else
        rc = 0;
    if (arr) rn_arrays_free(arr, n);
    return rc;
}

/* The directory part of path made absolute, then the last component: "" if the directory does
 * not resolve. */
static void canonical(const char *path, char *dst, size_t n) {
    char dir[PATH_MAX], abs[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!slash)
        strcpy(dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (realpath(dir, abs))
        snprintf(dst, n, "%s/%s", abs, base);
    else
        dst[0] = '\0';
}

bool cli_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino; /* links and other spellings too */
    char ca[PATH_MAX + 256], cb[PATH_MAX + 256];
    canonical(a, ca, sizeof ca);
    canonical(b, cb, sizeof cb);
    return ca[0] && !strcmp(ca, cb);
}

/* checkpoint.npz: the parameters by name, "adam.m/<name>", "adam.v/<name>", and "epochs_done" as
 * two float32 words (high = e >> 20, low = e & 0xFFFFF; exact up to 2^44 epochs). */
int cli_write_checkpoint(const char *path, const rn_net *net, rn_trainer *tr,
                         const uint64_t fp[2]) {
    int n = rn_net_param_count(net);
    size_t P = rn_net_param_total(net);
    float *m = malloc(P * sizeof(float) + 1), *v = malloc(P * sizeof(float) + 1);
    rn_array *arr = calloc(3 * (size_t)n + 2, sizeof *arr);
    rn_error err = {0};
    int64_t done = 0;
    int rc = 1, filled = 0;
    if (!m || !v || !arr) {
        cli_line("ratenn: out of memory writing %s\n", path);
        goto out;
    }
    /* the network's host copy is stale while training: bring the trained values back first */
    if (rn_trainer_pull_params(tr, &err) != RN_OK ||
        rn_trainer_get_optimizer_state(tr, m, v, P, &done, &err) != RN_OK) {
        cli_line("ratenn: checkpoint: %s\n", err.message);
        goto out;
    }
    if (params_to_arrays(net, "", NULL, arr) < 0 ||
        params_to_arrays(net, "adam.m/", m, arr + n) < 0 ||
        params_to_arrays(net, "adam.v/", v, arr + 2 * n) < 0) {
        filled = 3 * n;
        cli_line("ratenn: out of memory writing %s\n", path);
        goto out;
    }
    filled = 3 * n;
    rn_array *e = &arr[3 * n];
    snprintf(e->name, sizeof e->name, "epochs_done");
    e->ndim = 1;
    e->shape[0] = 2;
    e->count = 2;
    e->data = malloc(2 * sizeof(float));
    filled++;
    if (!e->data) {
        cli_line("ratenn: out of memory writing %s\n", path);
        goto out;
    }
    e->data[0] = (float)(done >> 20);
    e->data[1] = (float)(done & 0xFFFFF);
    /* the fingerprints as 8 whole floats of 16 bits each (exact in float32) */
    rn_array *f = &arr[3 * n + 1];
    snprintf(f->name, sizeof f->name, "run_fingerprint");
    f->ndim = 1;
    f->shape[0] = 8;
    f->count = 8;
    f->data = malloc(8 * sizeof(float));
    filled++;
    if (!f->data) {
        cli_line("ratenn: out of memory writing %s\n", path);
        goto out;
    }
    for (int k = 0; k < 8; k++)
        f->data[k] = (float)((fp[k / 4] >> (16 * (k % 4))) & 0xFFFF);
    if (rn_npz_write(path, arr, 3 * n + 2, &err) != RN_OK) {
        cli_line("ratenn: %s\n", err.message);
        goto out;
    }
    rc = 0;
out:
    if (arr) rn_arrays_free(arr, filled ? filled : 3 * n + 2);
    free(m);
    free(v);
    return rc;
}

/* An array of exactly the parameter's shape (not only its element count). */
static bool same_shape(const rn_array *a, const rn_param_info *info) {
    return a && a->ndim == info->ndim && a->shape[0] == info->shape[0] &&
           (info->ndim == 1 || a->shape[1] == info->shape[1]);
}

int cli_read_checkpoint(const char *path, rn_net *net, rn_trainer *tr, long long *epochs_done,
                        uint64_t fp[2]) {
    rn_array *arr = NULL;
    int n = 0, rc = 1;
    rn_error err = {0};
    size_t P = rn_net_param_total(net);
    float *m = calloc(P + 1, sizeof(float)), *v = calloc(P + 1, sizeof(float));
    if (!m || !v) {
        cli_line("ratenn: --resume: out of memory for %zu parameters\n", P);
        goto out;
    }
    if (rn_npz_read(path, &arr, &n, &err) != RN_OK) {
        cli_line("ratenn: --resume: %s\n", err.message);
        goto out;
    }
    const rn_array *e = rn_arrays_find(arr, n, "epochs_done");
    /* two whole floats, high and low 20 bits; bounded before any conversion (the file is input) */
    if (!e || e->count != 2 || !(e->data[0] >= 0) || !(e->data[0] < 1048576.0f) ||
        !(e->data[1] >= 0) || !(e->data[1] < 1048576.0f) || e->data[0] != floorf(e->data[0]) ||
        e->data[1] != floorf(e->data[1])) {
        cli_line("ratenn: --resume: %s has no valid 'epochs_done'\n", path);
        goto out;
    }
    long long done = ((long long)e->data[0] << 20) + (long long)e->data[1];
    fp[0] = fp[1] = 0;
    const rn_array *f = rn_arrays_find(arr, n, "run_fingerprint");
    if (f) { /* (a checkpoint written before fingerprints has none: nothing to compare) */
        bool ok = f->count == 8 && f->ndim == 1;
        for (int k = 0; ok && k < 8; k++)
            ok = f->data[k] >= 0 && f->data[k] <= 65535.0f && f->data[k] == floorf(f->data[k]);
        if (!ok) {
            cli_line("ratenn: --resume: %s has no valid 'run_fingerprint'\n", path);
            goto out;
        }
        for (int k = 0; k < 8; k++)
            fp[k / 4] |= (uint64_t)f->data[k] << (16 * (k % 4));
    }
    size_t off = 0;
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        rn_net_param_info(net, i, &info, NULL);
        char mn[160], vn[160];
        snprintf(mn, sizeof mn, "adam.m/%s", info.name);
        snprintf(vn, sizeof vn, "adam.v/%s", info.name);
        const rn_array *p = rn_arrays_find(arr, n, info.name), *pm = rn_arrays_find(arr, n, mn),
                       *pv = rn_arrays_find(arr, n, vn);
        if (!same_shape(p, &info) || !same_shape(pm, &info) || !same_shape(pv, &info)) {
            cli_line(
                "ratenn: --resume: %s lacks '%s' (or its Adam moments) of shape (%zu%s%.0zu)\n",
                path, info.name, info.shape[0], info.ndim == 2 ? ", " : ",",
                info.ndim == 2 ? info.shape[1] : 0);
            goto out;
        }
        if (rn_net_set_param(net, info.name, p->data, info.count, &err) != RN_OK) {
            cli_line("ratenn: --resume: %s: %s\n", path, err.message);
            goto out;
        }
        memcpy(m + off, pm->data, info.count * sizeof(float));
        memcpy(v + off, pv->data, info.count * sizeof(float));
        off += info.count;
    }
    if (rn_trainer_push_params(tr, &err) != RN_OK ||
        rn_trainer_set_optimizer_state(tr, m, v, P, (int64_t)done, &err) != RN_OK) {
        cli_line("ratenn: --resume: %s: %s\n", path, err.message);
        goto out;
    }
    *epochs_done = done;
    rc = 0;
out:
    rn_arrays_free(arr, n);
    free(m);
    free(v);
    return rc;
}
