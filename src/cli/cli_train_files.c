/* `ratenn train`'s output files: the directory, config.json, run.npz and tau_history.csv (each
 * written to a temporary name and renamed: rn_atomic_*). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "cli_run_dir.h"
#include "cli_train.h"
#include "decimal.h"

void train_path(char *dst, size_t n, const char *dir, const char *file) {
    snprintf(dst, n, "%s/%s", dir, file);
}

int train_write_config(const char *path, const cli_flag *flags, int n_flags, const char *spec,
                       const run_data *d, const char *backend) {
    rn_atomic_file f;
    rn_error err = {0};
    if (rn_atomic_open(&f, path, &err) != RN_OK) {
        cli_line("ratenn train: %s\n", err.message);
        return 1;
    }
    char *net_q = cli_json_quote(spec), *be_q = cli_json_quote(backend);
    size_t cap = (net_q ? strlen(net_q) : 0) + (be_q ? strlen(be_q) : 0) + 256;
    char *extra = net_q && be_q ? malloc(cap) : NULL;
    if (!extra) {
        free(net_q);
        free(be_q);
        rn_atomic_abort(&f);
        cli_line("ratenn train: out of memory writing %s\n", path);
        return 1;
    }
    snprintf(extra, cap,
             "  \"net_effective\": %s,\n  \"steps\": %d,\n  \"trials\": %d,\n  "
             "\"backend_used\": %s,\n  \"ratenn_version\": \"%s\"",
             net_q, d->T, d->B, be_q, rn_version());
    cli_write_config(f.fp, flags, n_flags, extra);
    free(extra);
    free(net_q);
    free(be_q);
    if (rn_atomic_commit(&f, &err) != RN_OK) {
        cli_line("ratenn train: %s\n", err.message);
        return 1;
    }
    return 0;
}

void train_describe_memory(char *dst, size_t n, const rn_trainer *tr, int T) {
    const double mib = 1048576.0;
    size_t budget = rn_trainer_memory_budget(tr);
    int K = rn_trainer_checkpoint_steps(tr);
    char b[64], k[96];
    if (budget == SIZE_MAX)
        snprintf(b, sizeof b, "no memory budget");
    else
        snprintf(b, sizeof b, "memory budget %.1f MiB", (double)budget / mib);
    if (K >= T)
        snprintf(k, sizeof k, "every step stored");
    else
        snprintf(k, sizeof k, "checkpoints every %d steps (%d segments)", K, (T + K - 1) / K);
    snprintf(dst, n, "%.1f MiB of buffers (%s; %s)", (double)rn_trainer_memory_bytes(tr) / mib, b,
             k);
}

/* run.npz's records: every state of every trial when asked; by default the first trial, every
 * step up to this many values per array and every s-th step past it. */
#define RUN_RECORD_MAX_VALUES ((size_t)1 << 22)

int train_write_run(const char *path, rn_trainer *tr, const rn_net *net, const run_data *d,
                    float *output0, bool record_all) {
    enum { MAXA = 40 };
    rn_array arr[MAXA];
    bool owned[MAXA];
    rn_record_request req[MAXA];
    memset(arr, 0, sizeof arr);
    memset(owned, 0, sizeof owned);
    int n = 0, nreq = 0, rc = 1;
    rn_error err = {0};
    size_t bt = (size_t)d->B * d->T;
    const size_t data_trials = d->shared ? 1 : (size_t)d->B;
    float *output = malloc(bt * d->cout * sizeof(float));
    if (!output) {
        cli_line("ratenn train: out of memory for the final evaluation\n");
        return 1;
    }
    /* the widest rate layer sets the time stride of the default recording */
    int widest = 1;
    for (int li = 0; li < rn_net_layer_count(net); li++)
        if (rn_net_layer_kind(net, li) == RN_LAYER_RATE && rn_net_layer_width(net, li) > widest)
            widest = rn_net_layer_width(net, li);
    const int rec_trials = record_all ? d->B : 1;
    size_t per_trial = (size_t)d->T * (size_t)widest;
    const int stride = record_all || per_trial <= RUN_RECORD_MAX_VALUES
                           ? 1
                           : (int)((per_trial + RUN_RECORD_MAX_VALUES - 1) / RUN_RECORD_MAX_VALUES);
    const size_t kept = ((size_t)d->T + stride - 1) / (size_t)stride;
#define ADD(nm, ptr, b, t, c, own)                                                                 \
    do {                                                                                           \
        snprintf(arr[n].name, sizeof arr[n].name, "%s", nm);                                       \
        arr[n].ndim = 3;                                                                           \
        arr[n].shape[0] = (size_t)(b);                                                             \
        arr[n].shape[1] = (size_t)(t);                                                             \
        arr[n].shape[2] = (size_t)(c);                                                             \
        arr[n].count = (size_t)(b) * (size_t)(t) * (size_t)(c);                                    \
        arr[n].data = (ptr);                                                                       \
        owned[n] = (own);                                                                          \
        n++;                                                                                       \
    } while (0)
    ADD("input", d->input, data_trials, d->T, d->cin, false);
    ADD("target", d->target, data_trials, d->T, d->cout, false);
    ADD("output", output, d->B, d->T, d->cout, true);
    if (output0) ADD("output_initial", output0, d->B, d->T, d->cout, false);
    bool any = false;
    for (int li = 0; li < rn_net_layer_count(net) && n + 3 <= MAXA; li++) {
        if (rn_net_layer_kind(net, li) != RN_LAYER_RATE) continue;
        rn_rate_options o;
        rn_net_rate_options(net, li, &o, NULL);
        size_t cnt = (size_t)rec_trials * kept * (size_t)o.n;
        char nm[64];
        for (int kind = RN_RECORD_X; kind <= RN_RECORD_R; kind++) {
            float *v = malloc(cnt * sizeof(float) + 1);
            snprintf(nm, sizeof nm, "%d_rate.%s", li, kind == RN_RECORD_X ? "x" : "r");
            ADD(nm, v, rec_trials, kept, o.n, true);
            if (!v) {
                cli_line("ratenn train: recording: out of memory\n");
                goto done;
            }
            req[nreq++] = (rn_record_request){li, (rn_record_kind)kind, rec_trials, stride, v};
            any = true;
        }
    }
    if (any) { /* the steps kept, so that a downsampled record lines up with the output */
        float *steps = malloc(kept * sizeof(float));
        ADD("record_step", steps, 1, kept, 1, true);
        if (!steps) {
            cli_line("ratenn train: recording: out of memory\n");
            goto done;
        }
        for (size_t i = 0; i < kept; i++)
            steps[i] = (float)(i * (size_t)stride);
    }
#undef ADD
    if (rn_trainer_forward_record(tr, output, true, req, nreq, &err) != RN_OK) {
        cli_line("ratenn train: final evaluation: %s\n", err.message);
        goto done;
    }
    if (any && (rec_trials < d->B || stride > 1)) {
        char every[64] = "";
        if (stride > 1) snprintf(every, sizeof every, ", one step in every %d", stride);
        cli_line("ratenn: run.npz records x and r of trial 0 of %d%s (--record-all keeps every "
                 "trial and step)\n",
                 d->B, every);
    }
    if (rn_npz_write(path, arr, n, &err) != RN_OK) {
        cli_line("ratenn train: %s\n", err.message);
        goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < n; i++)
        if (owned[i]) free(arr[i].data);
    return rc;
}

void text_buf_free(text_buf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

void text_buf_printf(text_buf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? 2 * b->cap : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

int text_buf_flush(text_buf *b, const char *path, off_t *end) {
    if (b->oom) {
        cli_line("ratenn train: out of memory for the rows of %s\n", path);
        return 1;
    }
    if (run_file_append(path, end, b->s ? b->s : "", b->len)) return 1;
    b->len = 0;
    return 0;
}

void loss_row(text_buf *b, long long epoch, const rn_loss_parts *h) {
    text_buf_printf(b, "%lld,%.17g,%.17g,%.17g,%.17g,%.17g\n", epoch, h->total, h->mse, h->bounds,
                    h->l2, h->grad_norm);
}

/* Reads one line (without its '\n') into *line; returns its length with the '\n', or 0 at the end
 * or for a last line without '\n' (an interrupted append). */
static size_t next_line(FILE *fp, char **line, size_t *cap) {
    ssize_t n = getline(line, cap, fp);
    if (n <= 0 || (*line)[n - 1] != '\n') return 0;
    (*line)[n - 1] = '\0';
    return (size_t)n;
}

/* Strict "<epoch>,<v>,<v>..." with `count` finite values. */
static bool parse_row(const char *s, long long epoch, double *v, int count) {
    char *end;
    errno = 0;
    long long e = strtoll(s, &end, 10);
    if (errno || !(*s >= '0' && *s <= '9') || e != epoch) return false;
    for (int k = 0; k < count; k++) {
        if (*end != ',') return false;
        s = end + 1;
        v[k] = strtod(s, &end); /* as this program writes it: "%.17g", never "0x..." or "inf" */
        if (rn_decimal_prefix(s) != (size_t)(end - s) || end == s || !isfinite(v[k])) return false;
    }
    return *end == '\0';
}

/* A run's history opened for reading (one line printed on failure): a regular file only, opened
 * without blocking (a FIFO in its place would hang open() until a writer came). */
static FILE *open_history(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    FILE *fp = NULL;
    if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        cli_line("ratenn train: --resume: %s is not a regular file\n", path);
        close(fd);
        return NULL;
    }
    if (fd >= 0) fp = fdopen(fd, "r");
    if (!fp) {
        cli_line("ratenn train: --resume: cannot open %s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
    }
    return fp;
}

int loss_csv_read(const char *path, long long rows, rn_loss_parts *first, rn_loss_parts *last,
                  off_t *end) {
    FILE *fp = open_history(path);
    if (!fp) return 1;
    char *line = NULL;
    size_t cap = 0, n = next_line(fp, &line, &cap);
    off_t off = (off_t)n;
    bool ok = n && !strcmp(line, LOSS_CSV_HEADER);
    long long i = 0;
    for (; ok && i < rows; i++) {
        double v[5];
        n = next_line(fp, &line, &cap);
        ok = n && parse_row(line, i, v, 5);
        if (!ok) break;
        rn_loss_parts h = {v[0], v[1], v[2], v[3], v[4], -1.0};
        if (i == 0) *first = h;
        *last = h;
        off += (off_t)n;
    }
    free(line);
    fclose(fp);
    if (!ok) {
        cli_line("ratenn train: --resume: %s does not hold the %lld epochs the checkpoint says "
                 "(row %lld is missing or malformed)\n",
                 path, rows, i + 1);
        return 1;
    }
    *end = off;
    return 0;
}

void tau_history_init(tau_history *h, const rn_net *net) {
    memset(h, 0, sizeof *h);
    if (rn_net_param_total(net) > 4096) return;
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        rn_net_param_info(net, i, &info, NULL);
        rn_layer_kind k = rn_net_layer_kind(net, info.layer);
        const char *dot = strrchr(info.name, '.');
        if (k == RN_LAYER_RATE || k == RN_LAYER_LINEAR || !dot || strncmp(dot, ".tau", 4)) continue;
        for (size_t e = 0; e < info.count && h->n < 16; e++) {
            snprintf(h->names[h->n], sizeof h->names[0], "%s[%zu]", info.name, e);
            h->param[h->n] = i;
            h->elem[h->n] = (int)e;
            h->n++;
        }
    }
}

void tau_history_header(tau_history *h) {
    if (!h->n) return;
    text_buf_printf(&h->pending, "epoch");
    for (int c = 0; c < h->n; c++)
        text_buf_printf(&h->pending, ",%s", h->names[c]);
    text_buf_printf(&h->pending, "\n");
}

void tau_history_record(tau_history *h, const rn_net *net, long long row) {
    if (!h->n) return;
    text_buf_printf(&h->pending, "%lld", row);
    for (int c = 0; c < h->n; c++) {
        rn_param_info info;
        rn_net_param_info(net, h->param[c], &info, NULL);
        float v[4096]; /* tau_history_init takes networks of at most 4096 parameters */
        float x = 0;
        if (info.count <= 4096 && rn_net_get_param(net, info.name, v, info.count, NULL) == RN_OK)
            x = v[h->elem[c]];
        text_buf_printf(&h->pending, ",%.9g", x);
    }
    text_buf_printf(&h->pending, "\n");
}

int tau_history_flush(tau_history *h, const char *path) {
    return h->n ? text_buf_flush(&h->pending, path, &h->end) : 0;
}

int tau_history_read(tau_history *h, const char *path, long long rows) {
    if (!h->n) return 0;
    FILE *fp = open_history(path);
    if (!fp) return 1;
    text_buf head = {0};
    tau_history_header(h);
    head = h->pending; /* the header this network writes: the file's must be the same */
    memset(&h->pending, 0, sizeof h->pending);
    char *line = NULL;
    size_t cap = 0, n = next_line(fp, &line, &cap);
    bool ok = n && !head.oom && head.len == n && !memcmp(line, head.s, n - 1);
    off_t off = (off_t)n;
    long long r = 0;
    for (; ok && r < rows; r++) {
        double v[16];
        n = next_line(fp, &line, &cap);
        ok = n && parse_row(line, r, v, h->n);
        off += (off_t)n;
    }
    free(line);
    fclose(fp);
    text_buf_free(&head);
    if (!ok) {
        cli_line("ratenn train: --resume: %s does not hold the %lld rows the checkpoint says "
                 "(row %lld is missing or malformed)\n",
                 path, rows, r + 1);
        return 1;
    }
    h->end = off;
    return 0;
}
