/* `ratenn train`: the chirp task, the synapse task or the user's .npy data, trained end to end,
 * with checkpoints, resume, Ctrl-C handling and the run's files (README "The command line").
 * cli_train_args.c parses the command line, cli_train_data.c loads the data, cli_train_files.c
 * writes the files; this file runs the session: build, train, finish. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli_train.h"

static volatile sig_atomic_t g_stop_signal = 0; /* the CLI's only global: set by SIGINT/SIGTERM */
static void on_signal(int sig) {
    g_stop_signal = sig;
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
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

/* Everything one run owns. */
typedef struct train_session {
    run_data d;
    rn_net *net;
    rn_backend *be;
    rn_trainer *tr;
    rn_loss_parts *hist; /* per epoch, epochs + 1 */
    float *output0;      /* the output before training */
    tau_history th;
    char *spec;      /* the network as config.json keeps it (net_effective) */
    long long start; /* the first epoch of this session (after --resume) */
    long long done;  /* epochs done */
    bool diverged;
    rn_error diverged_err;
    double wall; /* seconds of training in this session */
} train_session;

static void session_free(train_session *s) {
    free(s->spec);
    free(s->th.rows);
    free(s->hist);
    free(s->output0);
    rn_trainer_free(s->tr);
    rn_backend_free(s->be);
    rn_net_free(s->net);
    run_data_free(&s->d);
}

/* The data, the network (the resumed run's, or from the flags), the backend and the trainer. */
static int session_build(train_session *s, const train_cmdline *c) {
    const train_args *a = &c->a;
    rn_error err = {0};
    char spec_buf[1024], path[4200];
    if (train_load_data(a, &s->d)) return 1;
    if (a->resume) { /* the network the run was built with, not a path that may have moved */
        train_path(path, sizeof path, a->resume, "config.json");
        char *saved = cli_config_string("train", path, "net_effective");
        if (!saved) return 1;
        int bad = cli_build_net("train", saved, a->dt, a->seed, &s->net, &s->spec);
        free(saved);
        if (bad) return 1;
    } else {
        default_net_spec(a, &s->d, spec_buf, sizeof spec_buf);
        if (cli_build_net("train", spec_buf, a->dt, a->seed, &s->net, &s->spec)) return 1;
    }
    if (rn_net_input_size(s->net) != s->d.cin || rn_net_output_size(s->net) != s->d.cout) {
        fprintf(stderr,
                "ratenn train: the network takes %d and gives %d channels, but the data has %d in "
                "and %d out\n",
                rn_net_input_size(s->net), rn_net_output_size(s->net), s->d.cin, s->d.cout);
        return 1;
    }
    if (control_params(a, s->net)) return 1;
    if (rn_backend_create(&s->be, c->backend, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: --backend %s: %s\n", a->backend, err.message);
        return 1;
    }
    rn_train_config cfg = rn_train_config_default();
    cfg.optimizer = c->optimizer;
    cfg.lr = (float)a->lr;
    cfg.clip_norm = (float)a->clip_norm;
    cfg.w_mse = (float)a->w_mse;
    cfg.w_bounds = (float)a->w_bounds;
    cfg.w_l2 = (float)a->w_l2;
    cfg.noise_seed = (uint64_t)a->seed;
    cfg.max_memory = a->max_memory_bytes;
    cfg.shared_data = s->d.shared;
    if (rn_trainer_create(&s->tr, s->net, s->be, &cfg, s->d.B, s->d.T, &err) != RN_OK ||
        (s->d.shared
             ? rn_trainer_set_shared_data(s->tr, s->d.input, s->d.target, NULL, &err)
             : rn_trainer_set_data(s->tr, s->d.input, s->d.target, s->d.mask, &err)) != RN_OK) {
        fprintf(stderr, "ratenn train: %s\n", err.message);
        return 1;
    }
    s->hist = calloc((size_t)a->epochs + 1, sizeof *s->hist);
    s->output0 = malloc((size_t)s->d.B * s->d.T * s->d.cout * sizeof(float));
    if (!s->hist || !s->output0) {
        fprintf(stderr, "ratenn train: out of memory\n");
        return 1;
    }
    tau_history_init(&s->th, s->net, a->epochs);
    return 0;
}

/* A resumed run's state from its directory, or a new run's directory and config.json; then the
 * output before training (and a new run's params_initial.npz). */
static int session_open(train_session *s, const train_cmdline *c) {
    const train_args *a = &c->a;
    rn_error err = {0};
    char path[4200];
    if (a->resume) {
        train_path(path, sizeof path, a->resume, "checkpoint.npz");
        if (cli_read_checkpoint(path, s->net, s->tr, &s->start)) return 1;
        if (s->start > a->epochs) {
            fprintf(stderr,
                    "ratenn train: --resume: the checkpoint is at epoch %lld, past --epochs %d\n",
                    s->start, a->epochs);
            return 1;
        }
        train_path(path, sizeof path, a->resume, "loss.csv");
        if (cli_read_loss_csv(path, s->hist, s->start)) return 1;
        train_path(path, sizeof path, a->resume, "tau_history.csv");
        tau_history_read(&s->th, path, s->start);
        fprintf(stderr, "ratenn: resuming %s at epoch %lld of %d\n", a->resume, s->start,
                a->epochs);
    } else {
        if (train_make_dir(a->out)) return 1;
        train_path(path, sizeof path, a->out, "config.json");
        if (train_write_config(path, c->flags, c->n_flags, s->spec, &s->d,
                               rn_backend_description(s->be)))
            return 1;
    }
    char mem[160];
    train_describe_memory(mem, sizeof mem, s->tr, s->d.T);
    fprintf(stderr, "ratenn: training on %s; net %s; B=%d T=%d; %d epochs; %s\n",
            rn_backend_description(s->be), s->spec, s->d.B, s->d.T, a->epochs, mem);
    if (rn_trainer_forward(s->tr, s->output0, true, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: initial evaluation: %s\n", err.message);
        return 1;
    }
    if (!a->resume) {
        train_path(path, sizeof path, a->out, "params_initial.npz");
        if (cli_write_params(path, s->net)) return 1;
    }
    return 0;
}

/* The loss history, the τ history and the checkpoint (every K epochs, and at a stop). */
static int write_progress(train_session *s, const train_args *a) {
    char path[4200];
    train_path(path, sizeof path, a->out, "loss.csv");
    if (cli_write_loss_csv(path, s->hist, s->done)) return 1;
    train_path(path, sizeof path, a->out, "tau_history.csv");
    if (tau_history_write(&s->th, path, s->done + 1)) return 1;
    train_path(path, sizeof path, a->out, "checkpoint.npz");
    return cli_write_checkpoint(path, s->net, s->tr);
}

/* Epochs until --epochs, a signal or divergence. */
static int session_train(train_session *s, const train_args *a) {
    rn_error err = {0};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    tau_history_record(&s->th, s->tr, s->net, s->start); /* the values at the start */
    cli_progress prog;
    cli_progress_begin(&prog, s->start, a->epochs, a->quiet);
    s->done = s->start;
    for (long long e = s->start; e < a->epochs && !g_stop_signal; e++) {
        rn_status st = rn_trainer_epoch(s->tr, &s->hist[e], &err);
        if (st == RN_ERR_DIVERGED) {
            s->diverged = true;
            s->diverged_err = err; /* kept: later calls reuse err */
            break;
        }
        if (st != RN_OK) {
            fprintf(stderr, "ratenn train: %s\n", err.message);
            return 1;
        }
        s->done = e + 1;
        tau_history_record(&s->th, s->tr, s->net, s->done);
        cli_progress_update(&prog, s->done, s->hist[e].total);
        if (a->checkpoint_every > 0 && s->done % a->checkpoint_every == 0 && s->done < a->epochs &&
            write_progress(s, a))
            return 1;
    }
    cli_progress_end(&prog);
    s->wall = cli_now() - prog.start;
    return 0;
}

/* The run's files, then one closing line; returns the exit status. */
static int session_finish(train_session *s, const train_args *a) {
    rn_error err = {0};
    char path[4200];
    if (rn_trainer_pull_params(s->tr, &err) != RN_OK) {
        fprintf(stderr, "ratenn train: %s\n", err.message);
        return 1;
    }
    bool stopped = g_stop_signal != 0 && s->done < a->epochs;
    if (stopped || a->checkpoint_every > 0) {
        if (write_progress(s, a)) return 1;
    } else {
        train_path(path, sizeof path, a->out, "loss.csv");
        if (cli_write_loss_csv(path, s->hist, s->done)) return 1;
        train_path(path, sizeof path, a->out, "tau_history.csv");
        if (tau_history_write(&s->th, path, s->done + 1)) return 1;
    }
    train_path(path, sizeof path, a->out, "params.npz");
    if (cli_write_params(path, s->net)) return 1;
    train_path(path, sizeof path, a->out, "run.npz");
    if (train_write_run(path, s->tr, s->net, &s->d, s->output0, a->record_all)) return 1;
    if (stopped) {
        fprintf(stderr,
                "ratenn: stopped by signal %d after epoch %lld; checkpoint written. Resume with:\n"
                "  ratenn train --resume %s\n",
                (int)g_stop_signal, s->done, a->out);
        return 128 + (int)g_stop_signal; /* as the shell reports a signal: 130 for SIGINT */
    }
    if (s->diverged) {
        fprintf(stderr,
                "ratenn train: %s\nratenn train: the last good parameters are in %s/params.npz\n",
                s->diverged_err.message, a->out);
        return 1;
    }
    long long ran = s->done - s->start;
    if (s->done > 0)
        fprintf(stderr,
                "ratenn: loss %.6g -> %.6g (mse %.6g -> %.6g) after %lld epochs; %lld epochs in "
                "%.1f s (%.1f epochs/s); peak resident memory %.0f MiB; results in %s/\n",
                s->hist[0].total, s->hist[s->done - 1].total, s->hist[0].mse,
                s->hist[s->done - 1].mse, s->done, ran, s->wall, s->wall > 0 ? ran / s->wall : 0.0,
                peak_rss_mib(), a->out);
    else
        fprintf(stderr, "ratenn: 0 epochs; results in %s/\n", a->out);
    return 0;
}

int cli_train(int argc, char **argv) {
    train_cmdline *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "ratenn train: out of memory\n");
        return 1;
    }
    int rc = train_parse(c, argc, argv);
    if (rc < 0) {
        train_session s;
        memset(&s, 0, sizeof s);
        rc = 1;
        if (!session_build(&s, c) && !session_open(&s, c) && !session_train(&s, &c->a))
            rc = session_finish(&s, &c->a);
        session_free(&s);
    }
    free(c);
    return rc;
}
