/* `ratenn train`'s command line: the defaults (the tutorial's), the flags, --config and --resume's
 * config.json underneath the command line, and the checks of every value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_train.h"
#include "decimal.h"

const cli_info_key train_info_keys[] = {{"net_effective", false},  {"steps", true},
                                        {"trials", true},          {"backend_used", false},
                                        {"ratenn_version", false}, {NULL, false}};

int train_usage_error(const char *msg) {
    cli_line("ratenn train: %s\n", msg);
    return 2;
}

/* The defaults and the flag table (pointing into c->a). */
static void train_flags(train_cmdline *c) {
    train_args *a = &c->a;
    memset(a, 0, sizeof *a);
    a->task = "chirp";
    a->out = "ratenn-out";
    a->activation = "tanh";
    a->optimizer = "adam";
    a->backend = "auto";
    a->bound_mode = "penalty";
    /* the tutorial's settings; the task and optimiser values come from the library's defaults */
    const rn_chirp_options chirp = rn_chirp_options_default();
    const rn_synapse_options syn = rn_synapse_options_default();
    const rn_train_config tc = rn_train_config_default();
    a->hidden = 50;
    a->batch = 1;
    a->epochs = 6000;
    a->repeats = chirp.num_repeats;
    a->noise = 0.1;
    a->dt = chirp.dt;
    a->lr = 1e-4; /* = tc.lr, written as a double so config.json shows 0.0001 */
    a->pulse = chirp.pulse_duration;
    a->freq_factor = chirp.chirp_freq_factor;
    a->tau_min = -1; /* 11·dt once dt is known */
    a->w_mse = tc.w_mse;
    a->w_bounds = tc.w_bounds;
    a->w_l2 = tc.w_l2;
    a->target_tau = syn.tau;
    a->target_tau2 = syn.tau2;
    a->tau0 = 0.005;
    const cli_flag table[] = {
        {"--task", CLI_STRING, &a->task, "NAME", "built-in task: chirp (default) or synapse",
         false},
        {"--input", CLI_STRING, &a->input, "U.npy",
         "your input, float32/64, (B, T, C_in) or (T, C_in)", false},
        {"--target", CLI_STRING, &a->target, "Y.npy", "your target, (B, T, C_out) or (T, C_out)",
         false},
        {"--mask", CLI_STRING, &a->mask, "M.npy",
         "optional weights of the time steps in the MSE, (B, T)", false},
        {"--net", CLI_STRING, &a->net, "SPEC",
         "the layers, e.g. 'linear(1,50) rate(50,tanh,rec) linear(50,1)', or a .json", false},
        {"--out", CLI_STRING, &a->out, "DIR", "where results go", false},
        {"--hidden", CLI_INT, &a->hidden, "N", "rate neurons of the default network", false},
        {"--activation", CLI_STRING, &a->activation, "F",
         "tanh (default), relu, sigmoid, lrelu or linear", false},
        {"--no-recurrent", CLI_SWITCH, &a->no_recurrent, NULL, "a rate layer without W_rec", false},
        {"--noise", CLI_DOUBLE, &a->noise, "SIGMA", "noise std σ of the rate layer", false},
        {"--dt", CLI_DOUBLE, &a->dt, "SECONDS", "time step", false},
        {"--batch", CLI_INT, &a->batch, "B", "trials per epoch for a built-in task", false},
        {"--epochs", CLI_INT, &a->epochs, "E", "training epochs in all", false},
        {"--lr", CLI_DOUBLE, &a->lr, "RATE", "learning rate", false},
        {"--optimizer", CLI_STRING, &a->optimizer, "NAME", "adam (default) or sgd", false},
        {"--clip-norm", CLI_DOUBLE, &a->clip_norm, "C",
         "clip the global gradient norm at C (default 0: off)", false},
        {"--seed", CLI_INT64, &a->seed, "S", "seed of the initial weights and the noise", false},
        {"--repeats", CLI_INT, &a->repeats, "R", "chirp: repeats of the 3 s trial, T = 3000·R",
         false},
        {"--pulse", CLI_DOUBLE, &a->pulse, "SECONDS", "chirp: trigger pulse duration", false},
        {"--freq-factor", CLI_DOUBLE, &a->freq_factor, "F", "chirp: chirp frequency factor", false},
        {"--target-tau", CLI_DOUBLE, &a->target_tau, "SECONDS", "synapse: τ of the target lowpass",
         false},
        {"--target-tau2", CLI_DOUBLE, &a->target_tau2, "SECONDS",
         "synapse: > 0 makes the target doubleexp(τ, τ2)", false},
        {"--tau0", CLI_DOUBLE, &a->tau0, "SECONDS", "synapse: the model filter's initial τ", false},
        {"--tau-min", CLI_DOUBLE, &a->tau_min, "SECONDS",
         "penalty bound τ >= this on every rate layer (default 11·dt)", false},
        {"--freeze", CLI_STRING, &a->freeze, "NAMES",
         "comma-separated parameters not to train, e.g. 1_rate.w_rec", false},
        {"--train-only", CLI_STRING, &a->train_only, "NAMES", "train only these parameters", false},
        {"--bound", CLI_STRING, &a->bound, "EXPRS",
         "bounds, e.g. '1_rate.tau>=0.011' or '0<=2_linear.bias<=1'", false},
        {"--bound-mode", CLI_STRING, &a->bound_mode, "MODE",
         "penalty (default, SPEC §3) or clip (projected)", false},
        {"--init", CLI_STRING, &a->init, "P.npz",
         "initial parameter values by name (names and shapes checked)", false},
        {"--w-mse", CLI_DOUBLE, &a->w_mse, "W", "weight of the MSE", false},
        {"--w-bounds", CLI_DOUBLE, &a->w_bounds, "W", "weight of the bound penalty", false},
        {"--w-l2", CLI_DOUBLE, &a->w_l2, "W", "weight of mean(W_rec²)", false},
        {"--checkpoint-every", CLI_INT, &a->checkpoint_every, "K",
         "write DIR/checkpoint.npz every K epochs (0: only on stop)", false},
        {"--backend", CLI_STRING, &a->backend, "KIND",
         "auto (default: the GPU if usable), cpu or cuda", false},
        {"--config", CLI_STRING, &a->config, "FILE",
         "take flag values from a JSON file (flags given here override) [not saved]", false},
        {"--resume", CLI_STRING, &a->resume, "DIR",
         "continue the run in DIR from its checkpoint (with it only --epochs, "
         "--checkpoint-every, --backend, --quiet) [not saved]",
         false},
        {"--overwrite", CLI_SWITCH, &a->overwrite, NULL,
         "replace the run already in --out (else refused) [not saved]", false},
        {"--quiet", CLI_SWITCH, &a->quiet, NULL, "no progress display [not saved]", false},
        {"--max-memory", CLI_STRING, &a->max_memory, "SIZE",
         "bound the training buffers, e.g. 512M or 4G (default: half the free memory); past it "
         "the state is checkpointed and recomputed, with the same result",
         false},
        {"--record-all", CLI_SWITCH, &a->record_all, NULL,
         "run.npz keeps every trial's x and r at every step (default: the first trial)", false},
    };
    c->n_flags = (int)(sizeof table / sizeof table[0]);
    _Static_assert(sizeof table / sizeof table[0] <= TRAIN_MAX_FLAGS,
                   "TRAIN_MAX_FLAGS is too small");
    memcpy(c->flags, table, sizeof table);
}

int train_read_config(train_cmdline *c, const char *path, char *msg, size_t len) {
    train_flags(c);
    return cli_apply_config(c->flags, c->n_flags, path, train_info_keys, c->strings,
                            sizeof c->strings, msg, len);
}

int train_default_args(train_args *a) {
    train_cmdline *c = calloc(1, sizeof *c);
    if (!c) return 1;
    train_flags(c);
    *a = c->a;
    free(c);
    return 0;
}

static void print_help(const train_cmdline *c) {
    printf("usage: ratenn train [--task chirp|synapse | --input U.npy --target Y.npy] [flags]\n\n"
           "Trains a network by BPTT (by default the tutorial's linear(1→50) → rate(50) → "
           "linear(50→1) with\n"
           "Adam 1e-4 for 6000 epochs) and writes DIR/config.json, DIR/loss.csv, DIR/params.npz,\n"
           "DIR/params_initial.npz and DIR/run.npz. Ctrl-C stops after the current epoch and "
           "writes a\n"
           "checkpoint; 'ratenn train --resume DIR' continues it bit for bit.\n\nflags:\n");
    cli_print_flags(c->flags, c->n_flags);
}

/* The flags that may come with --resume: how far and how (not what) the run goes on. The others
 * would change the run that config.json records, so they are refused rather than half applied. */
const char *const train_resume_flags[] = {
    "--resume", "--epochs", "--checkpoint-every", "--quiet", "--backend", "--max-memory", NULL};

static int check_resume_flags(const train_cmdline *c, char *msg, size_t len) {
    for (int k = 0; k < c->n_flags; k++) {
        if (!c->flags[k].seen) continue;
        bool ok = false;
        for (const char *const *f = train_resume_flags; *f && !ok; f++)
            ok = !strcmp(*f, c->flags[k].name);
        if (ok) continue;
        snprintf(msg, len,
                 "%s cannot go with --resume: the run keeps the settings in its config.json "
                 "(with --resume only --epochs, --checkpoint-every, --backend and --quiet; to "
                 "train on differently, start a new run with --init DIR/params.npz)",
                 c->flags[k].name);
        return 1;
    }
    return 0;
}

/* --config / --resume: the file's values first, then the command line again on top. */
static int apply_config(train_cmdline *c, int argc, char **argv, char *msg, size_t len) {
    train_args *a = &c->a;
    char resume_cfg[4200];
    const char *cfg_path = a->config;
    if (a->resume) {
        train_path(resume_cfg, sizeof resume_cfg, a->resume, "config.json");
        cfg_path = resume_cfg;
        /* said of --resume (the user gave no --config) */
        struct stat st;
        if (stat(a->resume, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(msg, len, "--resume %.900s: not a directory", a->resume);
            return 1;
        }
        if (stat(resume_cfg, &st) != 0) {
            snprintf(msg, len, "--resume %.900s: no config.json there (is it a ratenn run?)",
                     a->resume);
            return 1;
        }
    }
    if (!cfg_path) return 0;
    const char *resume = a->resume;
    bool help = false;
    if (resume && check_resume_flags(c, msg, len)) return 1;
    if (cli_apply_config(c->flags, c->n_flags, cfg_path, train_info_keys, c->strings,
                         sizeof c->strings, msg, len))
        return 1;
    if (!resume && a->resume) { /* a --config file cannot start a resume: half of it would apply */
        snprintf(msg, len, "--config %.900s: \"resume\" cannot be set in a config file", cfg_path);
        return 1;
    }
    for (int k = 0; k < c->n_flags; k++)
        c->flags[k].seen = false;
    if (cli_parse_flags(c->flags, c->n_flags, argc, argv, 2, &help, msg, len)) return 1;
    if (resume) {
        a->resume = resume;
        a->out = resume;
    }
    a->config = NULL;
    return 0;
}

/* "512M", "4G", "1.5GiB", "100000": bytes (K, M, G, T are powers of 1024); 0 when malformed (the
 * number in plain decimal: "0x10M" is not 16 MiB). */
static size_t parse_size(const char *text) {
    char *end;
    double v = strtod(text, &end);
    size_t n = rn_decimal_prefix(text);
    if (n == 0 || end != text + n || !(v > 0)) return 0;
    double unit = 1.0;
    switch (*end) {
    case 'k':
    case 'K':
        unit = 1024.0;
        end++;
        break;
    case 'm':
    case 'M':
        unit = 1048576.0;
        end++;
        break;
    case 'g':
    case 'G':
        unit = 1073741824.0;
        end++;
        break;
    case 't':
    case 'T':
        unit = 1099511627776.0;
        end++;
        break;
    default:
        break;
    }
    if (unit > 1.0 && *end == 'i') end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end || v * unit >= 1.8e19 || v * unit < 1.0) return 0;
    return (size_t)(v * unit);
}

/* Every value checked before anything is loaded or built; one line for the first bad one. */
static int check_args(train_cmdline *c) {
    train_args *a = &c->a;
    char msg[1024];
    if ((a->input != NULL) != (a->target != NULL))
        return train_usage_error("--input and --target go together");
    if (a->input && c->flags[0].seen)
        return train_usage_error("give either --task or --input/--target, not both");
    if (!a->input && strcmp(a->task, "chirp") && strcmp(a->task, "synapse")) {
        snprintf(msg, sizeof msg, "--task: unknown task '%s' (chirp or synapse)", a->task);
        return train_usage_error(msg);
    }
    if (a->mask && !a->input) return train_usage_error("--mask goes with --input/--target");
    c->optimizer = RN_OPT_ADAM;
    if (!strcmp(a->optimizer, "sgd"))
        c->optimizer = RN_OPT_SGD;
    else if (strcmp(a->optimizer, "adam"))
        return train_usage_error("--optimizer: expected adam or sgd");
    if (strcmp(a->bound_mode, "clip") && strcmp(a->bound_mode, "penalty"))
        return train_usage_error("--bound-mode: expected clip or penalty");
    if (a->train_only && a->freeze)
        return train_usage_error("--train-only and --freeze exclude each other");
    rn_error err = {0};
    if (rn_backend_kind_parse(a->backend, &c->backend, &err) != RN_OK) {
        snprintf(msg, sizeof msg, "--backend: %s", err.message);
        return train_usage_error(msg);
    }
    if (a->hidden < 1 || a->hidden > (1 << 20))
        return train_usage_error("--hidden must be from 1 to 1048576");
    if (a->batch < 1) return train_usage_error("--batch must be >= 1");
    if (a->epochs < 0) return train_usage_error("--epochs must be >= 0");
    if (a->repeats < 1) return train_usage_error("--repeats must be >= 1");
    if (a->checkpoint_every < 0) return train_usage_error("--checkpoint-every must be >= 0");
    if (!(a->dt > 0)) return train_usage_error("--dt must be > 0");
    if (!(a->noise >= 0)) return train_usage_error("--noise must be >= 0");
    if (!(a->lr > 0)) return train_usage_error("--lr must be > 0");
    if (!(a->target_tau > 0) || !(a->target_tau2 >= 0) || !(a->tau0 > 0))
        return train_usage_error("--target-tau and --tau0 must be > 0, --target-tau2 >= 0");
    if (a->seed < 0) return train_usage_error("--seed must be >= 0");
    int rc = train_check_limits(c); /* cli_train_limits.c */
    if (rc >= 0) return rc;
    if (a->tau_min < 0) a->tau_min = 11.0 * a->dt;
    a->max_memory_bytes = 0;
    if (a->max_memory && !(a->max_memory_bytes = parse_size(a->max_memory))) {
        snprintf(msg, sizeof msg, "--max-memory: expected a size such as 512M or 4G (got '%s')",
                 a->max_memory);
        return train_usage_error(msg);
    }
    return -1;
}

int train_parse(train_cmdline *c, int argc, char **argv) {
    train_flags(c);
    bool help = false;
    char msg[1024];
    if (cli_parse_flags(c->flags, c->n_flags, argc, argv, 2, &help, msg, sizeof msg))
        return train_usage_error(msg);
    if (help) {
        print_help(c);
        return 0;
    }
    if (apply_config(c, argc, argv, msg, sizeof msg)) return train_usage_error(msg);
    return check_args(c);
}
