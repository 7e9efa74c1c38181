/* `ratenn train`: the chirp task, the synapse task or the user's .npy data, trained end to end,
 * with checkpoints, resume, Ctrl-C handling and the run's files (README "The command line"). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "cli.h"
#include "ratenn/io.h"

typedef struct train_args {
    const char *task, *input, *target, *mask, *out, *activation, *optimizer, *backend, *net,
        *freeze, *train_only, *bound, *bound_mode, *init, *config, *resume;
    int hidden, batch, epochs, repeats, checkpoint_every;
    long long seed;
    double noise, dt, lr, pulse, freq_factor, tau_min, w_mse, w_bounds, w_l2, clip_norm, target_tau,
        target_tau2, tau0;
    bool quiet, no_recurrent;
} train_args;

static volatile sig_atomic_t g_stop_signal = 0; /* the CLI's only global: set by SIGINT/SIGTERM */
static void on_signal(int sig) {
    g_stop_signal = sig;
}

static int usage_error(const char *msg) {
    fprintf(stderr, "ratenn train: %s\n", msg);
    return 2;
}

/* The data of one run, (B, T, C) each, owned here. */
typedef struct run_data {
    int B, T, cin, cout;
    float *input, *target, *mask;
} run_data;

static void run_data_free(run_data *d) {
    free(d->input);
    free(d->target);
    free(d->mask);
}

static int alloc_data(run_data *d) {
    size_t n = (size_t)d->B * d->T;
    d->input = malloc(n * d->cin * sizeof(float));
    d->target = malloc(n * d->cout * sizeof(float));
    if (!d->input || !d->target) {
        fprintf(stderr, "ratenn train: out of memory for %zu samples\n", n);
        return 1;
    }
    return 0;
}

static void replicate(run_data *d) { /* every trial sees the same signals (and its own noise) */
    for (int b = 1; b < d->B; b++) {
        memcpy(d->input + (size_t)b * d->T * d->cin, d->input,
               (size_t)d->T * d->cin * sizeof(float));
        memcpy(d->target + (size_t)b * d->T * d->cout, d->target,
               (size_t)d->T * d->cout * sizeof(float));
    }
}

static int load_task(const train_args *a, run_data *d) {
    rn_error err = {0};
    d->B = a->batch;
    d->cin = d->cout = 1;
    if (!strcmp(a->task, "chirp")) {
        rn_chirp_options co = rn_chirp_options_default();
        co.num_repeats = a->repeats;
        co.pulse_duration = a->pulse;
        co.chirp_freq_factor = a->freq_factor;
        co.dt = a->dt;
        if (rn_chirp_steps(&co, &d->T, &err) != RN_OK) goto bad;
        if (alloc_data(d) || rn_chirp_generate(&co, d->input, d->target, d->T, &err) != RN_OK)
            goto bad;
    } else {
        rn_synapse_options so = rn_synapse_options_default();
        so.dt = a->dt;
        so.tau = a->target_tau;
        so.tau2 = a->target_tau2;
        if (rn_synapse_steps(&so, &d->T, &err) != RN_OK) goto bad;
        if (alloc_data(d) || rn_synapse_generate(&so, d->input, d->target, d->T, &err) != RN_OK)
            goto bad;
    }
    replicate(d);
    return 0;
bad:
    if (err.message[0]) fprintf(stderr, "ratenn train: --task %s: %s\n", a->task, err.message);
    return 1;
}

/* Reads one .npy of shape (B, T, C) or (T, C) (taken as B = 1). */
static int load_sequence(const char *flag, const char *path, rn_array *arr, size_t dims[3]) {
    rn_error err = {0};
    if (rn_npy_read(path, arr, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: %s %s\n", flag, err.message);
        return 1;
    }
    if (arr->ndim != 3 && arr->ndim != 2) {
        fprintf(stderr,
                "ratenn train: %s %s: expected shape (B, T, C) or (T, C), got %d dimensions\n",
                flag, path, arr->ndim);
        return 1;
    }
    dims[0] = arr->ndim == 3 ? arr->shape[0] : 1;
    dims[1] = arr->shape[arr->ndim - 2];
    dims[2] = arr->shape[arr->ndim - 1];
    if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0) {
        fprintf(stderr, "ratenn train: %s %s: shape has a zero dimension (B=%zu, T=%zu, C=%zu)\n",
                flag, path, dims[0], dims[1], dims[2]);
        return 1;
    }
    if (dims[0] >= (1u << 24) || dims[1] > 0x7fffffff || dims[2] > (1u << 20)) {
        fprintf(stderr, "ratenn train: %s %s: shape (%zu, %zu, %zu) is too large\n", flag, path,
                dims[0], dims[1], dims[2]);
        return 1;
    }
    for (size_t i = 0; i < arr->count; i++)
        if (!isfinite(arr->data[i])) {
            fprintf(stderr, "ratenn train: %s %s: element %zu is not finite\n", flag, path, i);
            return 1;
        }
    return 0;
}

static int load_user(const train_args *a, run_data *d) {
    rn_array in = {0}, tg = {0}, mk = {0};
    size_t di[3], dt[3];
    int rc = 1;
    if (load_sequence("--input", a->input, &in, di) ||
        load_sequence("--target", a->target, &tg, dt))
        goto done;
    if (di[0] != dt[0] || di[1] != dt[1]) {
        fprintf(stderr,
                "ratenn train: --input %s has B=%zu, T=%zu but --target %s has B=%zu, T=%zu; they "
                "must match\n",
                a->input, di[0], di[1], a->target, dt[0], dt[1]);
        goto done;
    }
    if (a->mask) {
        rn_error err = {0};
        if (rn_npy_read(a->mask, &mk, &err) != RN_OK) {
            fprintf(stderr, "ratenn train: --mask %s\n", err.message);
            goto done;
        }
        if (mk.count != di[0] * di[1]) {
            fprintf(stderr, "ratenn train: --mask %s has %zu elements; expected B*T = %zu\n",
                    a->mask, mk.count, di[0] * di[1]);
            goto done;
        }
        d->mask = mk.data;
        mk.data = NULL;
    }
    d->B = (int)di[0];
    d->T = (int)di[1];
    d->cin = (int)di[2];
    d->cout = (int)dt[2];
    d->input = in.data;
    d->target = tg.data;
    in.data = tg.data = NULL;
    rc = 0;
done:
    rn_array_free(&in);
    rn_array_free(&tg);
    rn_array_free(&mk);
    return rc;
}

static int make_dir(const char *path) {
    char buf[4096];
    if (strlen(path) >= sizeof buf) {
        fprintf(stderr, "ratenn train: --out path is too long\n");
        return 1;
    }
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) break;
            *p = '/';
        }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "ratenn train: --out %s: cannot create the directory: %s\n", path,
                strerror(errno));
        return 1;
    }
    return 0;
}

/* The network the run trains, as a --net spec (written into config.json so eval can rebuild it). */
static void default_net_spec(const train_args *a, const run_data *d, char *spec, size_t n) {
    if (a->net)
        snprintf(spec, n, "%s", a->net);
    else if (a->task && !strcmp(a->task, "synapse") && !a->input) {
        if (a->target_tau2 > 0)
            snprintf(spec, n, "doubleexp(1, tau1=%.9g, tau2=%.9g)", a->tau0, 2 * a->tau0);
        else
            snprintf(spec, n, "lowpass(1, tau=%.9g)", a->tau0);
    } else
        snprintf(spec, n, "linear(%d,%d) rate(%d,%s,%s,noise=%.9g) linear(%d,%d)", d->cin,
                 a->hidden, a->hidden, a->activation, a->no_recurrent ? "ff" : "rec", a->noise,
                 a->hidden, d->cout);
}

/* Defaults (the tutorial's τ bound on every rate layer), then the user's freeze / bounds / init. */
static int control_params(const train_args *a, rn_net *net) {
    for (int li = 0; li < rn_net_layer_count(net); li++) {
        if (rn_net_layer_kind(net, li) != RN_LAYER_RATE) continue;
        char name[64];
        snprintf(name, sizeof name, "%d_rate.tau", li);
        rn_net_set_bounds(net, name, (float)a->tau_min, INFINITY, RN_BOUND_PENALTY, NULL);
    }
    /* --bound-mode was checked with the other flags */
    rn_bound_mode mode = !strcmp(a->bound_mode, "clip") ? RN_BOUND_CLIP : RN_BOUND_PENALTY;
    if (a->init && cli_init_params(net, a->init, "--init", false)) return 1;
    if (a->train_only && cli_train_only(net, a->train_only)) return 1;
    if (a->freeze && cli_freeze(net, a->freeze)) return 1;
    if (a->bound && cli_bounds(net, a->bound, mode)) return 1;
    return 0;
}

static int write_config(const char *path, cli_flag *flags, int n_flags, const char *spec,
                        const run_data *d, const char *backend) {
    rn_atomic_file f;
    rn_error err = {0};
    if (rn_atomic_open(&f, path, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: %s\n", err.message);
        return 1;
    }
    char *net_q = cli_json_quote(spec), *be_q = cli_json_quote(backend);
    size_t cap = (net_q ? strlen(net_q) : 0) + (be_q ? strlen(be_q) : 0) + 256;
    char *extra = net_q && be_q ? malloc(cap) : NULL;
    if (!extra) {
        free(net_q);
        free(be_q);
        rn_atomic_abort(&f);
        fprintf(stderr, "ratenn train: out of memory writing %s\n", path);
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
        fprintf(stderr, "ratenn train: %s\n", err.message);
        return 1;
    }
    return 0;
}

static const char *const k_info_keys[] = {"net_effective", "steps",          "trials",
                                          "backend_used",  "ratenn_version", NULL};

/* DIR/run.npz: input, target, the initial and final outputs, and every rate layer's x and r. */
static int write_run(const char *path, rn_trainer *tr, const rn_net *net, const run_data *d,
                     float *output0) {
    enum { MAXA = 40 };
    rn_array arr[MAXA];
    bool owned[MAXA];
    memset(arr, 0, sizeof arr);
    memset(owned, 0, sizeof owned);
    int n = 0, rc = 1;
    rn_error err = {0};
    size_t bt = (size_t)d->B * d->T;
    float *output = malloc(bt * d->cout * sizeof(float));
    if (!output) {
        fprintf(stderr, "ratenn train: out of memory for the final evaluation\n");
        return 1;
    }
    if (rn_trainer_forward(tr, output, true, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: final evaluation: %s\n", err.message);
        free(output);
        return 1;
    }
#define ADD(nm, ptr, c, own)                                                                       \
    do {                                                                                           \
        snprintf(arr[n].name, sizeof arr[n].name, "%s", nm);                                       \
        arr[n].ndim = 3;                                                                           \
        arr[n].shape[0] = (size_t)d->B;                                                            \
        arr[n].shape[1] = (size_t)d->T;                                                            \
        arr[n].shape[2] = (size_t)(c);                                                             \
        arr[n].count = bt * (size_t)(c);                                                           \
        arr[n].data = (ptr);                                                                       \
        owned[n] = (own);                                                                          \
        n++;                                                                                       \
    } while (0)
    ADD("input", d->input, d->cin, false);
    ADD("target", d->target, d->cout, false);
    ADD("output", output, d->cout, true);
    if (output0) ADD("output_initial", output0, d->cout, false);
    for (int li = 0; li < rn_net_layer_count(net) && n + 2 <= MAXA; li++) {
        if (rn_net_layer_kind(net, li) != RN_LAYER_RATE) continue;
        rn_rate_options o;
        rn_net_rate_options(net, li, &o, NULL);
        size_t cnt = bt * (size_t)o.n;
        float *x = malloc(cnt * sizeof(float)), *r = malloc(cnt * sizeof(float));
        char nx[64], nr[64];
        snprintf(nx, sizeof nx, "%d_rate.x", li);
        snprintf(nr, sizeof nr, "%d_rate.r", li);
        ADD(nx, x, o.n, true);
        ADD(nr, r, o.n, true);
        if (!x || !r || rn_trainer_get_record(tr, li, RN_RECORD_X, x, cnt, &err) != RN_OK ||
            rn_trainer_get_record(tr, li, RN_RECORD_R, r, cnt, &err) != RN_OK) {
            fprintf(stderr, "ratenn train: recording: %s\n",
                    (!x || !r) ? "out of memory" : err.message);
            goto done;
        }
    }
#undef ADD
    if (rn_npz_write(path, arr, n, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: %s\n", err.message);
        goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < n; i++)
        if (owned[i]) free(arr[i].data);
    return rc;
}

/* Per-epoch values of the filter layers' time constants (tau_history.csv), for small networks only.
 */
typedef struct tau_history {
    int n;              /* recorded columns */
    char names[16][64]; /* "<i>_<filter>.tau[k]" */
    int param[16];      /* parameter index */
    int elem[16];       /* element */
    float *rows;        /* (epochs + 1) × n */
} tau_history;

static void tau_history_init(tau_history *h, const rn_net *net, long long epochs) {
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
    if (h->n) h->rows = calloc((size_t)(epochs + 1) * h->n, sizeof(float));
    if (!h->rows) h->n = 0;
}

static void tau_history_record(tau_history *h, rn_trainer *tr, const rn_net *net, long long row) {
    if (!h->n || rn_trainer_pull_params(tr, NULL) != RN_OK) return;
    for (int c = 0; c < h->n; c++) {
        rn_param_info info;
        rn_net_param_info(net, h->param[c], &info, NULL);
        float v[4096]; /* tau_history_init takes networks of at most 4096 parameters */
        if (info.count <= 4096 && rn_net_get_param(net, info.name, v, info.count, NULL) == RN_OK)
            h->rows[(size_t)row * h->n + c] = v[h->elem[c]];
    }
}

static int tau_history_write(const tau_history *h, const char *path, long long rows) {
    if (!h->n) return 0;
    rn_atomic_file f;
    rn_error err = {0};
    if (rn_atomic_open(&f, path, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: %s\n", err.message);
        return 1;
    }
    fprintf(f.fp, "epoch");
    for (int c = 0; c < h->n; c++)
        fprintf(f.fp, ",%s", h->names[c]);
    fprintf(f.fp, "\n");
    for (long long r = 0; r < rows; r++) {
        fprintf(f.fp, "%lld", r);
        for (int c = 0; c < h->n; c++)
            fprintf(f.fp, ",%.9g", h->rows[(size_t)r * h->n + c]);
        fprintf(f.fp, "\n");
    }
    if (rn_atomic_commit(&f, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: %s\n", err.message);
        return 1;
    }
    return 0;
}

/* On resume: the rows before the checkpoint from the run's tau_history.csv (missing rows stay 0).
 */
static void tau_history_read(tau_history *h, const char *path, long long rows) {
    FILE *fp = h->n ? fopen(path, "r") : NULL;
    if (!fp) return;
    char line[4096];
    if (fgets(line, sizeof line, fp))
        for (long long r = 0; r < rows && fgets(line, sizeof line, fp); r++) {
            char *s = strchr(line, ',');
            for (int c = 0; c < h->n && s; c++) {
                h->rows[(size_t)r * h->n + c] = strtof(s + 1, &s);
                if (*s != ',') s = NULL;
            }
        }
    fclose(fp);
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

static void path_in(char *dst, size_t n, const char *dir, const char *file) {
    snprintf(dst, n, "%s/%s", dir, file);
}

int cli_train(int argc, char **argv) {
    train_args a = {0};
    a.task = "chirp";
    a.out = "ratenn-out";
    a.activation = "tanh";
    a.optimizer = "adam";
    a.backend = "auto";
    a.bound_mode = "penalty";
    /* the tutorial's settings; the task and optimiser values come from the library's defaults */
    const rn_chirp_options chirp = rn_chirp_options_default();
    const rn_synapse_options syn = rn_synapse_options_default();
    const rn_train_config tc = rn_train_config_default();
    a.hidden = 50;
    a.batch = 1;
    a.epochs = 6000;
    a.repeats = chirp.num_repeats;
    a.noise = 0.1;
    a.dt = chirp.dt;
    a.lr = 1e-4; /* = tc.lr, written as a double so config.json shows 0.0001 */
    a.pulse = chirp.pulse_duration;
    a.freq_factor = chirp.chirp_freq_factor;
    a.tau_min = -1; /* 11·dt once dt is known */
    a.w_mse = tc.w_mse;
    a.w_bounds = tc.w_bounds;
    a.w_l2 = tc.w_l2;
    a.target_tau = syn.tau;
    a.target_tau2 = syn.tau2;
    a.tau0 = 0.005;
    cli_flag flags[] = {
        {"--task", CLI_STRING, &a.task, "NAME", "built-in task: chirp (default) or synapse", false},
        {"--input", CLI_STRING, &a.input, "U.npy",
         "your input, float32/64, (B, T, C_in) or (T, C_in)", false},
        {"--target", CLI_STRING, &a.target, "Y.npy", "your target, (B, T, C_out) or (T, C_out)",
         false},
        {"--mask", CLI_STRING, &a.mask, "M.npy",
         "optional weights of the time steps in the MSE, (B, T)", false},
        {"--net", CLI_STRING, &a.net, "SPEC",
         "the layers, e.g. 'linear(1,50) rate(50,tanh,rec) linear(50,1)', or a .json", false},
        {"--out", CLI_STRING, &a.out, "DIR", "where results go", false},
        {"--hidden", CLI_INT, &a.hidden, "N", "rate neurons of the default network",
         false},
        {"--activation", CLI_STRING, &a.activation, "F",
         "tanh (default), relu, sigmoid, lrelu or linear", false},
        {"--no-recurrent", CLI_SWITCH, &a.no_recurrent, NULL, "a rate layer without W_rec", false},
        {"--noise", CLI_DOUBLE, &a.noise, "SIGMA", "noise std σ of the rate layer",
         false},
        {"--dt", CLI_DOUBLE, &a.dt, "SECONDS", "time step", false},
        {"--batch", CLI_INT, &a.batch, "B", "trials per epoch for a built-in task",
         false},
        {"--epochs", CLI_INT, &a.epochs, "E", "training epochs in all", false},
        {"--lr", CLI_DOUBLE, &a.lr, "RATE", "learning rate", false},
        {"--optimizer", CLI_STRING, &a.optimizer, "NAME", "adam (default) or sgd", false},
        {"--clip-norm", CLI_DOUBLE, &a.clip_norm, "C",
         "clip the global gradient norm at C (default 0: off)", false},
        {"--seed", CLI_INT64, &a.seed, "S", "seed of the initial weights and the noise",
         false},
        {"--repeats", CLI_INT, &a.repeats, "R",
         "chirp: repeats of the 3 s trial, T = 3000·R", false},
        {"--pulse", CLI_DOUBLE, &a.pulse, "SECONDS", "chirp: trigger pulse duration",
         false},
        {"--freq-factor", CLI_DOUBLE, &a.freq_factor, "F",
         "chirp: chirp frequency factor", false},
        {"--target-tau", CLI_DOUBLE, &a.target_tau, "SECONDS",
         "synapse: τ of the target lowpass", false},
        {"--target-tau2", CLI_DOUBLE, &a.target_tau2, "SECONDS",
         "synapse: > 0 makes the target doubleexp(τ, τ2)", false},
        {"--tau0", CLI_DOUBLE, &a.tau0, "SECONDS",
         "synapse: the model filter's initial τ", false},
        {"--tau-min", CLI_DOUBLE, &a.tau_min, "SECONDS",
         "penalty bound τ >= this on every rate layer (default 11·dt)", false},
        {"--freeze", CLI_STRING, &a.freeze, "NAMES",
         "comma-separated parameters not to train, e.g. 1_rate.w_rec", false},
        {"--train-only", CLI_STRING, &a.train_only, "NAMES", "train only these parameters", false},
        {"--bound", CLI_STRING, &a.bound, "EXPRS",
         "bounds, e.g. '1_rate.tau>=0.011' or '0<=2_linear.bias<=1'", false},
        {"--bound-mode", CLI_STRING, &a.bound_mode, "MODE",
         "penalty (default, SPEC §3) or clip (projected)", false},
        {"--init", CLI_STRING, &a.init, "P.npz",
         "initial parameter values by name (names and shapes checked)", false},
        {"--w-mse", CLI_DOUBLE, &a.w_mse, "W", "weight of the MSE", false},
        {"--w-bounds", CLI_DOUBLE, &a.w_bounds, "W", "weight of the bound penalty",
         false},
        {"--w-l2", CLI_DOUBLE, &a.w_l2, "W", "weight of mean(W_rec²)", false},
        {"--checkpoint-every", CLI_INT, &a.checkpoint_every, "K",
         "write DIR/checkpoint.npz every K epochs (0: only on stop)", false},
        {"--backend", CLI_STRING, &a.backend, "KIND",
         "auto (default: the GPU if usable), cpu or cuda", false},
        {"--config", CLI_STRING, &a.config, "FILE",
         "take flag values from a JSON file (flags given here override) [not saved]", false},
        {"--resume", CLI_STRING, &a.resume, "DIR",
         "continue the run in DIR from its checkpoint [not saved]", false},
        {"--quiet", CLI_SWITCH, &a.quiet, NULL, "no progress display [not saved]", false},
    };
    const int n_flags = (int)(sizeof flags / sizeof flags[0]);
    bool help = false;
    char msg[1024];
    if (cli_parse_flags(flags, n_flags, argc, argv, 2, &help, msg, sizeof msg))
        return usage_error(msg);
    if (help) {
        printf(
            "usage: ratenn train [--task chirp|synapse | --input U.npy --target Y.npy] [flags]\n\n"
            "Trains a network by BPTT (by default the tutorial's linear(1→50) → rate(50) → "
            "linear(50→1) with\n"
            "Adam 1e-4 for 6000 epochs) and writes DIR/config.json, DIR/loss.csv, DIR/params.npz,\n"
            "DIR/params_initial.npz and DIR/run.npz. Ctrl-C stops after the current epoch and "
            "writes a\n"
            "checkpoint; 'ratenn train --resume DIR' continues it bit for bit.\n\nflags:\n");
        cli_print_flags(flags, n_flags);
        return 0;
    }
    /* --config / --resume: the file's values first, then the command line again on top */
    static char strings[16384];
    char resume_cfg[4200];
    const char *cfg_path = a.config;
    if (a.resume) {
        path_in(resume_cfg, sizeof resume_cfg, a.resume, "config.json");
        cfg_path = resume_cfg;
    }
    if (cfg_path) {
        const char *resume = a.resume;
        if (cli_apply_config(flags, n_flags, cfg_path, k_info_keys, strings, sizeof strings, msg,
                             sizeof msg))
            return usage_error(msg);
        for (int k = 0; k < n_flags; k++)
            flags[k].seen = false;
        if (cli_parse_flags(flags, n_flags, argc, argv, 2, &help, msg, sizeof msg))
            return usage_error(msg);
        if (resume) {
            a.resume = resume;
            a.out = resume;
        }
        a.config = NULL;
    }
    if ((a.input != NULL) != (a.target != NULL))
        return usage_error("--input and --target go together");
    if (a.input && flags[0].seen)
        return usage_error("give either --task or --input/--target, not both");
    if (!a.input && strcmp(a.task, "chirp") && strcmp(a.task, "synapse")) {
        snprintf(msg, sizeof msg, "--task: unknown task '%s' (chirp or synapse)", a.task);
        return usage_error(msg);
    }
    if (a.mask && !a.input) return usage_error("--mask goes with --input/--target");
    rn_optimizer opt = RN_OPT_ADAM;
    if (!strcmp(a.optimizer, "sgd"))
        opt = RN_OPT_SGD;
    else if (strcmp(a.optimizer, "adam"))
        return usage_error("--optimizer: expected adam or sgd");
    if (strcmp(a.bound_mode, "clip") && strcmp(a.bound_mode, "penalty"))
        return usage_error("--bound-mode: expected clip or penalty");
    if (a.train_only && a.freeze)
        return usage_error("--train-only and --freeze exclude each other");
    rn_backend_kind bk;
    rn_error err = {0};
    if (rn_backend_kind_parse(a.backend, &bk, &err) != RN_OK) {
        snprintf(msg, sizeof msg, "--backend: %s", err.message);
        return usage_error(msg);
    }
    if (a.hidden < 1 || a.hidden > (1 << 20))
        return usage_error("--hidden must be from 1 to 1048576");
    if (a.batch < 1) return usage_error("--batch must be >= 1");
    if (a.epochs < 0) return usage_error("--epochs must be >= 0");
    if (a.repeats < 1) return usage_error("--repeats must be >= 1");
    if (a.checkpoint_every < 0) return usage_error("--checkpoint-every must be >= 0");
    if (!(a.dt > 0)) return usage_error("--dt must be > 0");
    if (!(a.noise >= 0)) return usage_error("--noise must be >= 0");
    if (!(a.lr > 0)) return usage_error("--lr must be > 0");
    if (!(a.target_tau > 0) || !(a.target_tau2 >= 0) || !(a.tau0 > 0))
        return usage_error("--target-tau and --tau0 must be > 0, --target-tau2 >= 0");
    if (a.seed < 0) return usage_error("--seed must be >= 0");
    if (a.tau_min < 0) a.tau_min = 11.0 * a.dt;

    run_data d = {0};
    rn_net *net = NULL;
    rn_backend *be = NULL;
    rn_trainer *tr = NULL;
    rn_loss_parts *hist = NULL;
    float *output0 = NULL;
    tau_history th = {0};
    int rc = 1;
    char spec_buf[1024], path[4200];
    char *spec = NULL; /* what config.json keeps as net_effective */
    if (a.input ? load_user(&a, &d) : load_task(&a, &d)) goto done;
    if (a.resume) { /* the network the run was built with, not a path that may have moved */
        path_in(path, sizeof path, a.resume, "config.json");
        char *saved = cli_config_string("train", path, "net_effective");
        if (!saved) goto done;
        int bad = cli_build_net("train", saved, a.dt, a.seed, &net, &spec);
        free(saved);
        if (bad) goto done;
    } else {
        default_net_spec(&a, &d, spec_buf, sizeof spec_buf);
        if (cli_build_net("train", spec_buf, a.dt, a.seed, &net, &spec)) goto done;
    }
    if (rn_net_input_size(net) != d.cin || rn_net_output_size(net) != d.cout) {
        fprintf(stderr,
                "ratenn train: the network takes %d and gives %d channels, but the data has %d in "
                "and %d out\n",
                rn_net_input_size(net), rn_net_output_size(net), d.cin, d.cout);
        goto done;
    }
    if (control_params(&a, net)) goto done;
    if (rn_backend_create(&be, bk, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: --backend %s: %s\n", a.backend, err.message);
        goto done;
    }
    rn_train_config cfg = rn_train_config_default();
    cfg.optimizer = opt;
    cfg.lr = (float)a.lr;
    cfg.clip_norm = (float)a.clip_norm;
    cfg.w_mse = (float)a.w_mse;
    cfg.w_bounds = (float)a.w_bounds;
    cfg.w_l2 = (float)a.w_l2;
    cfg.noise_seed = (uint64_t)a.seed;
    if (rn_trainer_create(&tr, net, be, &cfg, d.B, d.T, &err) != RN_OK ||
        rn_trainer_set_data(tr, d.input, d.target, d.mask, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: %s\n", err.message);
        goto done;
    }
    hist = calloc((size_t)a.epochs + 1, sizeof *hist);
    output0 = malloc((size_t)d.B * d.T * d.cout * sizeof(float));
    if (!hist || !output0) {
        fprintf(stderr, "ratenn train: out of memory\n");
        goto done;
    }
    tau_history_init(&th, net, a.epochs);
    long long start = 0;
    if (a.resume) {
        path_in(path, sizeof path, a.resume, "checkpoint.npz");
        if (cli_read_checkpoint(path, net, tr, &start)) goto done;
        if (start > a.epochs) {
            fprintf(stderr,
                    "ratenn train: --resume: the checkpoint is at epoch %lld, past --epochs %d\n",
                    start, a.epochs);
            goto done;
        }
        path_in(path, sizeof path, a.resume, "loss.csv");
        if (cli_read_loss_csv(path, hist, start)) goto done;
        path_in(path, sizeof path, a.resume, "tau_history.csv");
        tau_history_read(&th, path, start);
        fprintf(stderr, "ratenn: resuming %s at epoch %lld of %d\n", a.resume, start, a.epochs);
    } else {
        if (make_dir(a.out)) goto done;
        path_in(path, sizeof path, a.out, "config.json");
        if (write_config(path, flags, n_flags, spec, &d, rn_backend_description(be))) goto done;
    }
    fprintf(stderr, "ratenn: training on %s; net %s; B=%d T=%d; %d epochs; %.1f MiB of buffers\n",
            rn_backend_description(be), spec, d.B, d.T, a.epochs,
            (double)rn_trainer_memory_bytes(tr) / 1048576.0);
    if (rn_trainer_forward(tr, output0, true, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: initial evaluation: %s\n", err.message);
        goto done;
    }
    if (!a.resume) {
        path_in(path, sizeof path, a.out, "params_initial.npz");
        if (cli_write_params(path, net)) goto done;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    tau_history_record(&th, tr, net, start); /* the values at the start (or the checkpoint) */
    cli_progress prog;
    cli_progress_begin(&prog, start, a.epochs, a.quiet);
    long long done_epochs = start;
    bool diverged = false;
    rn_error diverged_err = {0}; /* kept: later calls reuse err */
    for (long long e = start; e < a.epochs && !g_stop_signal; e++) {
        rn_status st = rn_trainer_epoch(tr, &hist[e], &err);
        if (st == RN_ERR_DIVERGED) {
            diverged = true;
            diverged_err = err;
            break;
        }
        if (st != RN_OK) {
            fprintf(stderr, "ratenn train: %s\n", err.message);
            goto done;
        }
        done_epochs = e + 1;
        tau_history_record(&th, tr, net, done_epochs);
        cli_progress_update(&prog, done_epochs, hist[e].total);
        if (a.checkpoint_every > 0 && done_epochs % a.checkpoint_every == 0 &&
            done_epochs < a.epochs) {
            path_in(path, sizeof path, a.out, "loss.csv");
            if (cli_write_loss_csv(path, hist, done_epochs)) goto done;
            path_in(path, sizeof path, a.out, "tau_history.csv");
            if (tau_history_write(&th, path, done_epochs + 1)) goto done;
            path_in(path, sizeof path, a.out, "checkpoint.npz");
            if (cli_write_checkpoint(path, net, tr)) goto done;
        }
    }
    cli_progress_end(&prog);
    double wall = cli_now() - prog.start;
    if (rn_trainer_pull_params(tr, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: %s\n", err.message);
        goto done;
    }
    bool stopped = g_stop_signal != 0 && done_epochs < a.epochs;
    path_in(path, sizeof path, a.out, "loss.csv");
    if (cli_write_loss_csv(path, hist, done_epochs)) goto done;
    path_in(path, sizeof path, a.out, "checkpoint.npz");
    if ((stopped || a.checkpoint_every > 0) && cli_write_checkpoint(path, net, tr)) goto done;
    path_in(path, sizeof path, a.out, "tau_history.csv");
    if (tau_history_write(&th, path, done_epochs + 1)) goto done;
    path_in(path, sizeof path, a.out, "params.npz");
    if (cli_write_params(path, net)) goto done;
    path_in(path, sizeof path, a.out, "run.npz");
    if (write_run(path, tr, net, &d, output0)) goto done;
    if (stopped) {
        fprintf(stderr,
                "ratenn: stopped by signal %d after epoch %lld; checkpoint written. Resume with:\n"
                "  ratenn train --resume %s\n",
                (int)g_stop_signal, done_epochs, a.out);
        rc = 128 + (int)g_stop_signal; /* as the shell reports a signal: 130 for SIGINT */
        goto done;
    }
    if (diverged) {
        fprintf(stderr,
                "ratenn train: %s\nratenn train: the last good parameters are in %s/params.npz\n",
                diverged_err.message, a.out);
        goto done;
    }
    long long ran = done_epochs - start;
    if (done_epochs > 0)
        fprintf(stderr,
                "ratenn: loss %.6g -> %.6g (mse %.6g -> %.6g) after %lld epochs; %lld epochs in "
                "%.1f s (%.1f epochs/s); peak resident memory %.0f MiB; results in %s/\n",
                hist[0].total, hist[done_epochs - 1].total, hist[0].mse, hist[done_epochs - 1].mse,
                done_epochs, ran, wall, wall > 0 ? ran / wall : 0.0, peak_rss_mib(), a.out);
    else
        fprintf(stderr, "ratenn: 0 epochs; results in %s/\n", a.out);
    rc = 0;
done:
    free(spec);
    free(th.rows);
    free(hist);
    free(output0);
    rn_trainer_free(tr);
    rn_backend_free(be);
    rn_net_free(net);
    run_data_free(&d);
    return rc;
}
