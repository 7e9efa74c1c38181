/* CPU benchmark: time per training epoch (forward + backward + Adam), median of several, for the
 * tutorial's configuration and a larger one. Prints a table; with --json FILE also writes it.
 * Optional comparison: --compare FILE reads "config ms_per_epoch" lines measured by another
 * implementation in the same run (bench/cpu-suite.sh does this with JAX/Rockpool) and prints the ratio. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ratenn/ratenn.h"

typedef struct config {
    const char *name;
    int n, steps, batch, reps;
} config;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* GEMM FLOPs of one epoch of linear(1→N) → rate(N, rec) → linear(N→1). */
static double epoch_flops(const config *c) {
    double bt = (double)c->batch * c->steps, n = c->n;
    double rec = 2.0 * bt * n * n;  /* r_t = a W per step, over all steps */
    return rec /* forward */ + rec /* adjoint d_t */ + rec /* ∂W_rec */ + 2.0 * 2.0 * bt * n * 2.0 /* in/out */;
}

static double lookup(const char *file, const char *name) {
    if (!file) return NAN;
    FILE *fp = fopen(file, "r");
    if (!fp) return NAN;
    char key[64];
    double ms;
    double found = NAN;
    while (fscanf(fp, "%63s %lf", key, &ms) == 2)
        if (strcmp(key, name) == 0) found = ms;
    fclose(fp);
    return found;
}

static int run(const config *c, double *median_ms, size_t *bytes) {
    rn_error err = {0};
    rn_net *net = NULL;
    rn_backend *be = NULL;
    rn_trainer *tr = NULL;
    float *u = NULL, *y = NULL;
    int rc = 1;
    rn_rate_options o = rn_rate_options_default(c->n);
    o.noise_std = 0.1f;
    rn_train_config cfg = rn_train_config_default();
    size_t bt = (size_t)c->batch * c->steps;
    u = calloc(bt, sizeof(float));
    y = calloc(bt, sizeof(float));
    if (!u || !y) goto done;
    for (size_t i = 0; i < bt; i++) {
        size_t t = i % (size_t)c->steps;
        u[i] = t < 50 ? 1.0f : 0.0f;
        y[i] = (float)sin(0.01 * (double)t * (double)t / c->steps);
    }
    if (rn_net_create(&net, 1e-3f, 1, &err) || rn_net_add_linear(net, 1, c->n, true, &err) ||
        rn_net_add_rate(net, &o, &err) || rn_net_add_linear(net, c->n, 1, true, &err) ||
        rn_net_set_bounds(net, "1_rate.tau", 0.011f, INFINITY, RN_BOUND_PENALTY, &err) ||
        rn_backend_create(&be, RN_BACKEND_CPU, &err) ||
        rn_trainer_create(&tr, net, be, &cfg, c->batch, c->steps, &err) ||
        rn_trainer_set_data(tr, u, y, NULL, &err))
        goto done;
    *bytes = rn_trainer_memory_bytes(tr);
    double times[64];
    if (rn_trainer_epoch(tr, NULL, &err)) goto done; /* warm-up */
    for (int r = 0; r < c->reps; r++) {
        double t0 = now();
        if (rn_trainer_epoch(tr, NULL, &err)) goto done;
        times[r] = now() - t0;
    }
    qsort(times, (size_t)c->reps, sizeof(double), cmp_double);
    *median_ms = 1e3 * times[c->reps / 2];
    rc = 0;
done:
    if (rc) fprintf(stderr, "bench_cpu: %s: %s\n", c->name, err.message);
    rn_trainer_free(tr);
    rn_backend_free(be);
    rn_net_free(net);
    free(u);
    free(y);
    return rc;
}

int main(int argc, char **argv) {
    const char *json = NULL, *compare = NULL, *compare_name = "comparison";
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) json = argv[++i];
        else if (strcmp(argv[i], "--compare") == 0 && i + 1 < argc) compare = argv[++i];
        else if (strcmp(argv[i], "--compare-name") == 0 && i + 1 < argc) compare_name = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else {
            fprintf(stderr, "usage: bench_cpu [--quick] [--json FILE] [--compare FILE --compare-name NAME]\n");
            return 2;
        }
    }
    config configs[] = {
        {"S", 50, 3000, 1, quick ? 5 : 21},
        {"M16", 512, 2000, 16, quick ? 3 : 5},
    };
    const int n = (int)(sizeof configs / sizeof configs[0]);
    FILE *js = json ? fopen(json, "w") : NULL;
    if (json && !js) {
        fprintf(stderr, "bench_cpu: cannot write %s\n", json);
        return 1;
    }
    printf("ratenn CPU benchmark: one epoch = forward + BPTT + Adam; median of the timed epochs\n");
    printf("%-5s %5s %5s %4s %6s %12s %10s %9s %10s %14s\n", "cfg", "N", "T", "B", "reps", "ms/epoch", "epochs/s",
           "GFLOP/s", "MiB", compare ? compare_name : "ratio");
    if (js) fprintf(js, "{\n  \"benchmark\": \"bench_cpu\",\n  \"rows\": [\n");
    for (int i = 0; i < n; i++) {
        double ms = 0;
        size_t bytes = 0;
        if (run(&configs[i], &ms, &bytes)) return 1;
        double other = lookup(compare, configs[i].name);
        char ratio[32] = "-";
        if (!isnan(other)) snprintf(ratio, sizeof ratio, "%.1f ms: %.1fx", other, other / ms);
        double gflops = epoch_flops(&configs[i]) / (ms * 1e-3) / 1e9;
        printf("%-5s %5d %5d %4d %6d %12.3f %10.2f %9.2f %10.1f %14s\n", configs[i].name, configs[i].n,
               configs[i].steps, configs[i].batch, configs[i].reps, ms, 1e3 / ms, gflops, (double)bytes / 1048576.0,
               ratio);
        if (js)
            fprintf(js,
                    "    {\"config\": \"%s\", \"N\": %d, \"T\": %d, \"B\": %d, \"reps\": %d, \"ms_per_epoch\": %.4f, "
                    "\"gflops\": %.3f, \"arena_mib\": %.2f, \"comparison_ms\": %s%.4f%s}%s\n",
                    configs[i].name, configs[i].n, configs[i].steps, configs[i].batch, configs[i].reps, ms, gflops,
                    (double)bytes / 1048576.0, isnan(other) ? "\"" : "", isnan(other) ? 0.0 : other,
                    isnan(other) ? "\"" : "", i + 1 < n ? "," : "");
    }
    if (js) {
        fprintf(js, "  ]\n}\n");
        fclose(js);
    }
    return 0;
}
