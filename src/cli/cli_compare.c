/* `ratenn compare`: one configuration on the CPU and on the GPU from the same seed, quantity by
 * quantity. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct side {
    rn_net *net;
    rn_backend *be;
    rn_trainer *tr;
} side;

static void side_free(side *s) {
    rn_trainer_free(s->tr);
    rn_backend_free(s->be);
    rn_net_free(s->net);
}

static double rel_diff(const float *gpu, const float *cpu, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)gpu[i] - (double)cpu[i];
        num += d * d;
        den += (double)cpu[i] * (double)cpu[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static int setup(side *s, rn_backend_kind kind, int hidden, double noise, int B, int T,
                 long long seed, const float *input, const float *target, rn_error *err) {
    rn_rate_options ro = rn_rate_options_default(hidden);
    ro.noise_std = (float)noise;
    rn_train_config cfg = rn_train_config_default();
    cfg.noise_seed = (uint64_t)seed;
    if (rn_net_create(&s->net, 1e-3f, (uint64_t)seed, err) != RN_OK ||
        rn_net_add_linear(s->net, 1, hidden, true, err) != RN_OK ||
        rn_net_add_rate(s->net, &ro, err) != RN_OK ||
        rn_net_add_linear(s->net, hidden, 1, true, err) != RN_OK ||
        rn_net_set_bounds(s->net, "1_rate.tau", 0.011f, INFINITY, RN_BOUND_PENALTY, err) != RN_OK ||
        rn_backend_create(&s->be, kind, err) != RN_OK ||
        rn_trainer_create(&s->tr, s->net, s->be, &cfg, B, T, err) != RN_OK ||
        rn_trainer_set_data(s->tr, input, target, NULL, err) != RN_OK)
        return 1;
    return 0;
}

int cli_compare(int argc, char **argv) {
    int hidden = 50, batch = 1, epochs = 5, repeats = 1;
    long long seed = 0;
    double noise = 0.1;
    const char *against = "cuda";
    cli_flag flags[] = {
        {"--hidden", CLI_INT, &hidden, "N", "neurons", false},
        {"--batch", CLI_INT, &batch, "B", "trials", false},
        {"--repeats", CLI_INT, &repeats, "R", "chirp repeats", false},
        {"--epochs", CLI_INT, &epochs, "K", "epochs before comparing parameters", false},
        {"--noise", CLI_DOUBLE, &noise, "SIGMA", "noise std", false},
        {"--seed", CLI_INT64, &seed, "S", "seed", false},
        {"--against", CLI_STRING, &against, "KIND",
         "the backend compared with the CPU: cuda (default), or cpu (a self-check: every "
         "difference must be 0)",
         false},
    };
    const int n_flags = (int)(sizeof flags / sizeof flags[0]);
    int parsed =
        cli_parse_command("compare",
                          "usage: ratenn compare [flags]\n\nTrains the chirp network on the "
                          "CPU and the GPU from one seed and\nprints ||gpu - cpu|| / ||cpu|| "
                          "for the loss, outputs, every gradient, and the parameters after "
                          "K\nepochs, with the time ratio.\n",
                          flags, n_flags, argc, argv, 2);
    if (parsed >= 0) return parsed;
    if (hidden < 1 || batch < 1 || epochs < 0 || repeats < 1 || !(noise >= 0) || seed < 0) {
        cli_line("ratenn compare: sizes must be >= 1, epochs, noise and seed >= 0\n");
        return 2;
    }
    rn_backend_kind other;
    if (rn_backend_kind_parse(against, &other, NULL) != RN_OK || other == RN_BACKEND_AUTO) {
        cli_line("ratenn compare: --against must be cuda or cpu (got '%s')\n", against);
        return 2;
    }
    if (other == RN_BACKEND_CUDA && rn_cuda_device_count() <= 0) {
        cli_line("ratenn compare: no CUDA device is usable here (%s); compare needs a GPU\n",
                 rn_cuda_built() ? "built with CUDA" : "built without CUDA");
        return 1;
    }
    rn_chirp_options co = rn_chirp_options_default();
    co.num_repeats = repeats;
    rn_error err = {0};
    int T = 0;
    if (rn_chirp_steps(&co, &T, &err) != RN_OK) {
        cli_line("ratenn compare: %s\n", err.message);
        return 2;
    }
    size_t n = (size_t)batch * T;
    float *input = malloc(n * sizeof(float)), *target = malloc(n * sizeof(float));
    float *ya = malloc(n * sizeof(float)), *yb = malloc(n * sizeof(float));
    side cpu = {0}, gpu = {0};
    int rc = 1;
    if (!input || !target || !ya || !yb) {
        cli_line("ratenn compare: out of memory for B=%d, T=%d\n", batch, T);
        goto done;
    }
    if (rn_chirp_generate(&co, input, target, T, &err) != RN_OK) {
        cli_line("ratenn compare: %s\n", err.message);
        goto done;
    }
    for (int b = 1; b < batch; b++) {
        memcpy(input + (size_t)b * T, input, (size_t)T * sizeof(float));
        memcpy(target + (size_t)b * T, target, (size_t)T * sizeof(float));
    }
    if (setup(&cpu, RN_BACKEND_CPU, hidden, noise, batch, T, seed, input, target, &err) ||
        setup(&gpu, other, hidden, noise, batch, T, seed, input, target, &err)) {
        cli_line("ratenn compare: %s\n", err.message);
        goto done;
    }
    printf("comparing %s against %s: N=%d B=%d T=%d seed=%lld\n", rn_backend_description(gpu.be),
           rn_backend_description(cpu.be), hidden, batch, T, seed);
    printf("%-28s %14s\n", "quantity",
           other == RN_BACKEND_CUDA ? "|gpu-cpu|/|cpu|" : "|cpu-cpu|/|cpu|");
    rn_loss_parts lc, lg;
    if (rn_trainer_compute_gradients(cpu.tr, &lc, &err) != RN_OK ||
        rn_trainer_compute_gradients(gpu.tr, &lg, &err) != RN_OK) {
        cli_line("ratenn compare: %s\n", err.message);
        goto done;
    }
    printf("%-28s %14.3e\n", "loss", fabs(lg.total - lc.total) / fabs(lc.total));
    for (int i = 0; i < rn_net_param_count(cpu.net); i++) {
        rn_param_info info;
        rn_net_param_info(cpu.net, i, &info, NULL);
        if (!info.trainable) continue;
        float *gc = malloc(info.count * sizeof(float)), *gg = malloc(info.count * sizeof(float));
        if (gc && gg && rn_trainer_get_grad(cpu.tr, info.name, gc, info.count, &err) == RN_OK &&
            rn_trainer_get_grad(gpu.tr, info.name, gg, info.count, &err) == RN_OK) {
            char label[96];
            snprintf(label, sizeof label, "grad %s", info.name);
            printf("%-28s %14.3e\n", label, rel_diff(gg, gc, info.count));
        }
        free(gc);
        free(gg);
    }
    if (rn_trainer_forward(cpu.tr, ya, true, &err) != RN_OK ||
        rn_trainer_forward(gpu.tr, yb, true, &err) != RN_OK) {
        cli_line("ratenn compare: %s\n", err.message);
        goto done;
    }
    printf("%-28s %14.3e\n", "output", rel_diff(yb, ya, n));
    double tc = 0, tg = 0;
    for (int e = 0; e < epochs; e++) {
        double t0 = cli_now();
        if (rn_trainer_epoch(cpu.tr, &lc, &err) != RN_OK) break;
        double t1 = cli_now();
        if (rn_trainer_epoch(gpu.tr, &lg, &err) != RN_OK) break;
        tc += t1 - t0;
        tg += cli_now() - t1;
    }
    if (err.status != RN_OK) {
        cli_line("ratenn compare: %s\n", err.message);
        goto done;
    }
    if (rn_trainer_pull_params(cpu.tr, &err) != RN_OK ||
        rn_trainer_pull_params(gpu.tr, &err) != RN_OK) {
        cli_line("ratenn compare: %s\n", err.message);
        goto done;
    }
    for (int i = 0; i < rn_net_param_count(cpu.net); i++) {
        rn_param_info info;
        rn_net_param_info(cpu.net, i, &info, NULL);
        float *pc = malloc(info.count * sizeof(float)), *pg = malloc(info.count * sizeof(float));
        if (pc && pg) {
            rn_net_get_param(cpu.net, info.name, pc, info.count, NULL);
            rn_net_get_param(gpu.net, info.name, pg, info.count, NULL);
            char label[96];
            snprintf(label, sizeof label, "param %s @%d", info.name, epochs);
            printf("%-28s %14.3e\n", label, rel_diff(pg, pc, info.count));
        }
        free(pc);
        free(pg);
    }
    if (epochs > 0)
        printf("time per epoch: cpu %.3f ms, %s %.3f ms, speed-up %.1fx\n", 1e3 * tc / epochs,
               against, 1e3 * tg / epochs, tc / tg);
    rc = 0;
done:
    side_free(&gpu);
    side_free(&cpu);
    free(input);
    free(target);
    free(ya);
    free(yb);
    return rc;
}
