/* Training benchmark: time per epoch (forward + BPTT + Adam; median of the timed epochs) of
 * linear(1→N) → rate(N, tanh, recurrent, σ 0.1) → linear(N→1) on B trials of T steps, on the CPU
 * and/or the CUDA backend, measured in one run so that the GPU-over-CPU ratio compares like with
 * like.
 *
 *   bench_train [--backend cpu|cuda|both] [--configs S,SB,M16,M,L,long,R10,R10ck] [--quick]
 *               [--cpu-max-work X]
 *               [--ceiling TFLOPS] [--no-graphs] [--json FILE] [--compare FILE --compare-name NAME]
 *
 * --compare FILE reads "config ms_per_epoch" lines measured by another implementation (Rockpool on
 * JAX on the same machine: bench/rockpool_epoch.py) and prints the ratio to it. The CPU is skipped
 * for configs whose B·T·N² exceeds --cpu-max-work (default 5e10: minutes per epoch). --ceiling
 * (TFLOP/s, from sgemm_ceiling) adds the epoch's GEMM FLOP rate as a share of cuBLAS's ceiling.
 * On the GPU, ms/epoch is the device's time from the epoch's first operation to its last (CUDA
 * events, rn_loss_parts.device_ms); the wall clock around rn_trainer_epoch (launch overhead and the
 * loss's trip back included) is reported beside it. On the CPU both are the wall clock.
 * Each config runs on the GPU first, then the CPU (whose row carries the CPU/GPU ratio). A config
 * that fails is reported and the next one runs; the JSON file is rewritten after every row, so it
 * is valid whenever the run is stopped.
 * --cpu-no-warmup times the CPU's first epoch too (first touches of the buffers included): for L,
 * whose CPU epoch takes minutes. The long configs (issue 14) are not in the default list: "long"
 * trains T = 300,000 steps with checkpoints every 1000 steps; R10 and R10ck compare storing
 * every step with checkpoints at T = 30,000. maxrss is the process's peak resident memory so far
 * (getrusage: run "long" alone to read its own); K is the checkpoint interval (T: everything
 * stored). --no-graphs launches every op instead of replaying the recorded
 * CUDA graph (to measure what graphs save). On the GPU the rate loop column ends in "graph" where
 * every timed epoch replayed the recorded graph, else "direct" (graphs off, or a recording that
 * failed). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ratenn/ratenn.h"

#include "cli.h" /* cli_openmp_setup */

typedef struct config {
    const char *name;
    int n, steps, batch, reps, cpu_reps; /* timed epochs on the GPU (>= 20) and on the CPU */
    size_t max_memory;                   /* the trainer's memory budget (0: its default) */
    int checkpoint;                      /* checkpoint_steps (0: from the budget) */
} config;

typedef struct result {
    int K;          /* the trainer's checkpoint interval (T: every step stored) */
    double rss_mib; /* the process's peak resident memory so far (getrusage), MiB */
    double ms;      /* median ms per epoch (device time on the GPU) */
    double wall_ms; /* median wall-clock ms per epoch around rn_trainer_epoch */
    int reps;
    size_t peak;     /* the backend's peak memory, bytes */
    double loss0;    /* loss of the first (warm-up) epoch, to show both backends ran the same job */
    char path[24];   /* the rate layer's time-loop path (rn_backend_rate_loop) */
    int64_t replays; /* timed epochs replayed from a recorded graph (rn_trainer_graph_replays) */
} result;

/* The configurations of issue 3, each timed after one warm-up epoch. */
static const config all_configs[] = {
    {"S", 50, 3000, 1, 21, 11, 0, 0},    /* the tutorial: one chirp of 3000 steps */
    {"SB", 50, 3000, 256, 21, 3, 0, 0},  /* the tutorial's network on 256 trials at once */
    {"M16", 512, 2000, 16, 21, 5, 0, 0}, /* a large reservoir, 16 trials (issue 2's CPU config) */
    {"M", 512, 2000, 64, 21, 3, 0, 0},   /* a large reservoir */
    {"L", 4096, 1000, 256, 21, 1, 0,
     0}, /* a very large reservoir, many trials (GPU only by default) */
    /* issue 14: the tutorial's R = 100 repeats (T 300,000) at N 256, B 16 with checkpoints every
     * 1000 steps (the least memory); and R = 10 storing every step against checkpoints under a
     * 256 MiB budget, time per step */
    {"long", 256, 300000, 16, 3, 1, 0, 1000},
    {"R10", 256, 30000, 16, 3, 1, 0, 30000},
    {"R10ck", 256, 30000, 16, 3, 1, (size_t)1 << 28, 0},
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* GEMM FLOPs of one epoch: W_rec forward, the adjoint's e·W_recᵀ, ∂W_rec, and the two linear
 * layers. */
static double epoch_flops(const config *c) {
    double bt = (double)c->batch * c->steps, n = c->n;
    double rec = 2.0 * bt * n * n;
    return 3.0 * rec + 2.0 * 2.0 * bt * n * 2.0;
}

static double lookup(const char *file, const char *name) {
    if (!file) return NAN;
    FILE *fp = fopen(file, "r");
    if (!fp) return NAN;
    char key[64];
    double ms, found = NAN;
    while (fscanf(fp, "%63s %lf", key, &ms) == 2)
        if (strcmp(key, name) == 0) found = ms;
    fclose(fp);
    return found;
}

static int run(const config *c, rn_backend_kind kind, int reps, bool graphs, bool warmup,
               result *res) {
    rn_error err = {0};
    rn_net *net = NULL;
    rn_backend *be = NULL;
    rn_trainer *tr = NULL;
    float *u = NULL, *y = NULL;
    double *times = NULL, *walls = NULL;
    int rc = 1;
    rn_rate_options o = rn_rate_options_default(c->n);
    o.noise_std = 0.1f;
    rn_train_config cfg = rn_train_config_default();
    cfg.graphs = graphs;
    cfg.max_memory = c->max_memory;
    cfg.checkpoint_steps = c->checkpoint;
    size_t bt = (size_t)c->batch * c->steps;
    u = calloc(bt, sizeof(float));
    y = calloc(bt, sizeof(float));
    times = calloc((size_t)reps, sizeof(double));
    walls = calloc((size_t)reps, sizeof(double));
    if (!u || !y || !times || !walls) goto done;
    for (size_t i = 0; i < bt; i++) {
        size_t t = i % (size_t)c->steps;
        u[i] = t < 50 ? 1.0f : 0.0f;
        y[i] = (float)sin(0.01 * (double)t * (double)t / c->steps);
    }
    rn_loss_parts lp;
    if (rn_net_create(&net, 1e-3f, 1, &err) || rn_net_add_linear(net, 1, c->n, true, &err) ||
        rn_net_add_rate(net, &o, &err) || rn_net_add_linear(net, c->n, 1, true, &err) ||
        rn_net_set_bounds(net, "1_rate.tau", 0.011f, INFINITY, RN_BOUND_PENALTY, &err) ||
        rn_backend_create(&be, kind, &err) ||
        rn_trainer_create(&tr, net, be, &cfg, c->batch, c->steps, &err) ||
        rn_trainer_set_data(tr, u, y, NULL, &err) || (warmup && rn_trainer_epoch(tr, &lp, &err)))
        goto done;
    if (warmup) res->loss0 = lp.total;
    snprintf(res->path, sizeof res->path, "%s",
             rn_backend_rate_loop(be, c->batch, c->n, o.recurrent));
    const int64_t replays0 = rn_trainer_graph_replays(tr);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        /* rn_trainer_epoch returns after the loss is read back: the device has finished the epoch.
         */
        if (rn_trainer_epoch(tr, &lp, &err)) goto done;
        if (r == 0 && !warmup) res->loss0 = lp.total;
        walls[r] = 1e3 * (now() - t0);
        times[r] = lp.device_ms >= 0.0 ? lp.device_ms : walls[r];
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    qsort(walls, (size_t)reps, sizeof(double), cmp_double);
    res->ms = times[reps / 2];
    res->wall_ms = walls[reps / 2];
    res->reps = reps;
    rn_backend_memory(be, NULL, &res->peak);
    res->K = rn_trainer_checkpoint_steps(tr);
    res->replays = rn_trainer_graph_replays(tr) - replays0;
    struct rusage ru;
    res->rss_mib = getrusage(RUSAGE_SELF, &ru) == 0 ? (double)ru.ru_maxrss / 1024.0 : NAN;
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "bench_train: %s on %s: %s\n", c->name,
                kind == RN_BACKEND_CUDA ? "cuda" : "cpu", err.message);
    rn_trainer_free(tr);
    rn_backend_free(be);
    rn_net_free(net);
    free(u);
    free(y);
    free(times);
    free(walls);
    return rc;
}

/* The JSON rows so far; the file is rewritten whole after every row, so that it is valid whenever
 * the run is stopped. */
typedef struct rows {
    char *text;
    size_t len, cap;
    const char *path;
} rows;

static int rows_add(rows *r, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n =
            vsnprintf(r->text ? r->text + r->len : NULL, r->text ? r->cap - r->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return 1;
        if (r->text && r->len + (size_t)n < r->cap) {
            r->len += (size_t)n;
            return 0;
        }
        size_t cap = r->cap ? 2 * r->cap : 4096;
        while (cap < r->len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(r->text, cap);
        if (!grown) return 1;
        r->text = grown;
        r->cap = cap;
        if (r->len == 0) r->text[0] = '\0';
    }
}

static int rows_save(const rows *r) {
    if (!r->path) return 0;
    FILE *js = fopen(r->path, "w");
    if (!js) {
        fprintf(stderr, "bench_train: cannot write %s\n", r->path);
        return 1;
    }
    fprintf(js, "{\n  \"benchmark\": \"bench_train\",\n  \"rows\": [%s\n  ]\n}\n",
            r->text ? r->text : "");
    return fclose(js) != 0;
}

/* Prints one row of the table and adds it to the JSON. `gpu_over` is the GPU row's time when this
 * is the CPU row of a config whose GPU row came first (the ratio goes on this row), else NAN. */
static int emit(rows *out, const config *c, rn_backend_kind kind, const result *r, double gpu_ms,
                double other, const char *compare_name, double ceiling) {
    int cuda = kind == RN_BACKEND_CUDA;
    char ratio[24] = "-", cmp[32] = "-", ceil_s[16] = "-";
    if (!cuda && !isnan(gpu_ms)) snprintf(ratio, sizeof ratio, "%.1fx", r->ms / gpu_ms);
    if (!isnan(other)) snprintf(cmp, sizeof cmp, "%.1fms %.1fx", other, other / r->ms);
    double gflops = epoch_flops(c) / (r->ms * 1e-3) / 1e9;
    double sps = (double)c->batch * c->steps / (r->ms * 1e-3);
    if (cuda && !isnan(ceiling))
        snprintf(ceil_s, sizeof ceil_s, "%.1f%%", 100.0 * gflops / (ceiling * 1e3));
    /* on the GPU, whether the timed epochs replayed the recorded graph or launched every op */
    const char *how = !cuda ? "" : r->replays == r->reps ? " graph" : " direct";
    printf("%-5s %5d %6d %4d %-5s %5d %11.3f %9.3f %9.2f %12.3g %9.1f %8s %9.1f %9.1f %6d "
           "%9s %16s %s%s\n",
           c->name, c->n, c->steps, c->batch, cuda ? "cuda" : "cpu", r->reps, r->ms, r->wall_ms,
           1e3 / r->ms, sps, gflops, ceil_s, (double)r->peak / 1048576.0, r->rss_mib, r->K, ratio,
           cmp, r->path, how);
    fflush(stdout);
    int e = rows_add(
        out,
        "%s\n    {\"config\": \"%s\", \"backend\": \"%s\", \"N\": %d, \"T\": %d, "
        "\"B\": %d, \"reps\": %d, \"ms_per_epoch\": %.4f, \"wall_ms_per_epoch\": %.4f, "
        "\"timing\": \"%s\", \"gflops\": %.3f, \"peak_mib\": %.2f, \"first_loss\": %.9g, "
        "\"checkpoint_steps\": %d, \"process_max_rss_mib\": %.1f, \"rate_loop\": \"%s\", "
        "\"graph_replays\": %lld",
        out->len ? "," : "", c->name, cuda ? "cuda" : "cpu", c->n, c->steps, c->batch, r->reps,
        r->ms, r->wall_ms, cuda ? "cuda events" : "wall clock", gflops, (double)r->peak / 1048576.0,
        r->loss0, r->K, r->rss_mib, r->path, (long long)r->replays);
    if (!cuda && !isnan(gpu_ms))
        e |= rows_add(out, ", \"gpu_speedup_over_this\": %.3f", r->ms / gpu_ms);
    if (!isnan(other)) e |= rows_add(out, ", \"%s_ms\": %.4f", compare_name, other);
    if (cuda && !isnan(ceiling))
        e |= rows_add(out, ", \"sgemm_ceiling_tflops\": %.3f, \"share_of_ceiling\": %.4f", ceiling,
                      gflops / (ceiling * 1e3));
    e |= rows_add(out, "}");
    return e | rows_save(out);
}

static void usage(void) {
    fprintf(
        stderr,
        "usage: bench_train [--backend cpu|cuda|both] [--configs S,SB,M16,M,L,long,R10,R10ck] "
        "[--quick] "
        "[--cpu-max-work X]\n"
        "                   [--no-graphs] [--json FILE] [--compare FILE --compare-name NAME]\n");
}

int main(int argc, char **argv) {
    cli_openmp_setup(
        argv); /* the CPU's OpenMP threads wait as `ratenn train`'s do (cli_openmp.c) */
    const char *json = NULL, *compare = NULL, *compare_name = "comparison", *backends = NULL,
               *names = "S,SB,M16,M,L";
    int quick = 0;
    bool graphs = true, cpu_warmup = true;
    double cpu_max_work = 5e10, ceiling = NAN;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else if (strcmp(argv[i], "--compare") == 0 && i + 1 < argc)
            compare = argv[++i];
        else if (strcmp(argv[i], "--compare-name") == 0 && i + 1 < argc)
            compare_name = argv[++i];
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            backends = argv[++i];
        else if (strcmp(argv[i], "--configs") == 0 && i + 1 < argc)
            names = argv[++i];
        else if (strcmp(argv[i], "--cpu-max-work") == 0 && i + 1 < argc)
            cpu_max_work = atof(argv[++i]);
        else if (strcmp(argv[i], "--ceiling") == 0 && i + 1 < argc)
            ceiling = atof(argv[++i]);
        else if (strcmp(argv[i], "--no-graphs") == 0)
            graphs = false;
        else if (strcmp(argv[i], "--cpu-no-warmup") == 0)
            cpu_warmup = false;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else {
            usage();
            return 2;
        }
    }
    int have_gpu = rn_cuda_device_count() > 0;
    if (!backends) backends = have_gpu ? "both" : "cpu";
    int want_cpu = strcmp(backends, "cpu") == 0 || strcmp(backends, "both") == 0;
    int want_gpu = strcmp(backends, "cuda") == 0 || strcmp(backends, "both") == 0;
    if (!want_cpu && !want_gpu) {
        usage();
        return 2;
    }
    if (want_gpu && !have_gpu) {
        fprintf(stderr, "bench_train: --backend %s needs a CUDA device, and %s\n", backends,
                rn_cuda_built() ? "none is usable here" : "this ratenn was built without CUDA");
        return 1;
    }
    printf("ratenn training benchmark: one epoch = forward + BPTT + Adam; ms = median of the timed "
           "epochs (GPU: CUDA events; wall = host clock)\n");
    printf("%-5s %5s %6s %4s %-5s %5s %11s %9s %9s %12s %9s %8s %9s %9s %6s %9s %16s %s\n", "cfg",
           "N", "T", "B", "on", "reps", "ms/epoch", "wall ms", "epochs/s", "steps*B/s", "GFLOP/s",
           "%ceil", "peak MiB", "maxrss", "K", "cpu/gpu", compare ? compare_name : "-",
           "rate loop");
    rows out = {NULL, 0, 0, json};
    int failed = rows_save(&out);
    for (size_t i = 0; i < sizeof all_configs / sizeof all_configs[0] && failed < 2; i++) {
        config c = all_configs[i];
        char key[16];
        snprintf(key, sizeof key, ",%s,", c.name);
        char list[128];
        snprintf(list, sizeof list, ",%s,", names);
        if (!strstr(list, key)) continue;
        if (quick) {
            c.reps = c.reps > 3 ? 3 : c.reps;
            c.cpu_reps = 1;
        }
        double work = (double)c.batch * c.steps * c.n * c.n;
        double other = lookup(compare, c.name), gpu_ms = NAN;
        /* The GPU first, its row written at once: a slow CPU run stopped by a time limit loses only
         * its own row. A config that fails is reported and the next one runs. */
        result r = {0, NAN, NAN, NAN, 0, 0, NAN, "-", 0};
        if (want_gpu) {
            if (run(&c, RN_BACKEND_CUDA, c.reps, graphs, true, &r) == 0) {
                gpu_ms = r.ms;
                if (emit(&out, &c, RN_BACKEND_CUDA, &r, NAN, other, compare_name, ceiling))
                    failed = 2;
            } else
                failed |= 1;
        }
        if (want_cpu && work <= cpu_max_work) {
            if (run(&c, RN_BACKEND_CPU, c.cpu_reps, graphs, cpu_warmup, &r) == 0) {
                if (emit(&out, &c, RN_BACKEND_CPU, &r, gpu_ms, other, compare_name, ceiling))
                    failed = 2;
            } else
                failed |= 1;
        }
    }
    free(out.text);
    return failed ? 1 : 0;
}
