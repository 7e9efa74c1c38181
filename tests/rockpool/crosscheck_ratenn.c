/* Cross-check driver for crosscheck.py: builds linear(1→N) → rate(N, rec, ACT) → linear(N→1) with the
 * parameters in DIR/params.f32 (in the network's order), computes the tutorial loss (MSE + 10·bounds +
 * mean(W_rec²)) and all gradients on the CPU with noise off, and writes DIR/loss.f64, DIR/grads.f32 and
 * DIR/output.f32. Usage: crosscheck_ratenn DIR N T ACT */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratenn/ratenn.h"

static float *read_f32(const char *dir, const char *name, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "rb");
    float *v = malloc(n * sizeof(float));
    if (!fp || !v || fread(v, sizeof(float), n, fp) != n) {
        fprintf(stderr, "cannot read %zu floats from %s\n", n, path);
        exit(1);
    }
    fclose(fp);
    return v;
}

static void write_raw(const char *dir, const char *name, const void *v, size_t bytes) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(v, 1, bytes, fp) != bytes) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(fp);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: crosscheck_ratenn DIR N T ACT(0 tanh, 1 relu, 2 sigmoid)\n");
        return 2;
    }
    const char *dir = argv[1];
    int N = atoi(argv[2]), T = atoi(argv[3]), act = atoi(argv[4]);
    rn_error err = {0};
    rn_net *net;
    rn_rate_options o = rn_rate_options_default(N);
    o.activation = (rn_activation)act;
    rn_backend *be;
    rn_trainer *tr;
    rn_train_config cfg = rn_train_config_default();
    if (rn_net_create(&net, 1e-3f, 0, &err) || rn_net_add_linear(net, 1, N, true, &err) ||
        rn_net_add_rate(net, &o, &err) || rn_net_add_linear(net, N, 1, true, &err) ||
        rn_net_set_bounds(net, "1_rate.tau", 0.011f, INFINITY, RN_BOUND_PENALTY, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    size_t total = rn_net_param_total(net);
    float *p = read_f32(dir, "params.f32", total), *g = malloc(total * sizeof(float));
    size_t off = 0;
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        rn_net_param_info(net, i, &info, NULL);
        if (rn_net_set_param(net, info.name, p + off, info.count, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        off += info.count;
    }
    float *u = read_f32(dir, "input.f32", (size_t)T), *y = read_f32(dir, "target.f32", (size_t)T);
    float *out = malloc((size_t)T * sizeof(float));
    rn_loss_parts lp;
    if (rn_backend_create(&be, RN_BACKEND_CPU, &err) ||
        rn_trainer_create(&tr, net, be, &cfg, 1, T, &err) ||
        rn_trainer_set_data(tr, u, y, NULL, &err) || rn_trainer_compute_gradients(tr, &lp, &err) ||
        rn_trainer_forward(tr, out, false, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    off = 0;
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        rn_net_param_info(net, i, &info, NULL);
        rn_trainer_get_grad(tr, info.name, g + off, info.count, &err);
        off += info.count;
    }
    write_raw(dir, "loss.f64", &lp.total, sizeof(double));
    write_raw(dir, "grads.f32", g, total * sizeof(float));
    write_raw(dir, "output.f32", out, (size_t)T * sizeof(float));
    rn_trainer_free(tr);
    rn_backend_free(be);
    rn_net_free(net);
    free(p);
    free(g);
    free(u);
    free(y);
    free(out);
    return 0;
}
