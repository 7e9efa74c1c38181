/* The training progress display: a bar redrawn in place on a terminal, plain periodic lines
 * otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_begin(cli_progress *p, long long first, long long total, bool quiet) {
    p->tty = isatty(STDERR_FILENO) != 0;
    p->quiet = quiet;
    p->first = first;
    p->total = total;
    p->start = cli_now();
    p->last_print = -1e9;
}

static void format_duration(double s, char *buf, size_t n) {
    long long t = (long long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%lldh%02lldm", t / 3600, (t / 60) % 60);
    else if (t >= 60)
        snprintf(buf, n, "%lldm%02llds", t / 60, t % 60);
    else
        snprintf(buf, n, "%llds", t);
}

void cli_progress_update(cli_progress *p, long long done, double loss) {
    if (p->quiet) return;
    double now = cli_now(), elapsed = now - p->start;
    bool last = done == p->total;
    /* a terminal: redraw at most 10 times a second; a pipe or file: a line every 10 s or 5 % */
    double every = p->tty ? 0.1 : 10.0;
    long long step = p->total / 20 > 0 ? p->total / 20 : 1;
    if (!last && now - p->last_print < every && (p->tty || done % step != 0)) return;
    p->last_print = now;
    double rate = elapsed > 0 ? (double)(done - p->first) / elapsed : 0.0; /* this session's */
    char eta[32];
    format_duration(rate > 0 ? (double)(p->total - done) / rate : 0.0, eta, sizeof eta);
    if (p->tty) {
        char bar[31];
        int fill = p->total > 0 ? (int)(30 * done / p->total) : 30;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] epoch %lld/%lld  loss %.4e  %.1f ep/s  ETA %s   ", bar, done,
                p->total, loss, rate, eta);
        if (last) fputc('\n', stderr);
    } else {
        fprintf(stderr, "epoch %lld/%lld  loss %.6e  %.1f epochs/s  ETA %s\n", done, p->total, loss,
                rate, eta);
    }
    fflush(stderr);
}

void cli_progress_end(cli_progress *p) {
    if (p->tty && !p->quiet) fflush(stderr);
}
