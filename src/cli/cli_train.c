/* `ratenn train`: the chirp task, the synapse task or the user's .npy data, trained end to end,
 * with checkpoints, resume, Ctrl-C handling and the run's files (README "The command line").
 * cli_train_args.c parses the command line, cli_train_data.c loads the data, cli_train_files.c
 * writes the files; this file runs the session: build, train, finish. */
#define _XOPEN_SOURCE 700 /* realpath, open_memstream */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cli_run_dir.h"
#include "cli_train.h"

/* SIGINT/SIGTERM/SIGHUP (a signal handler's state: the only kind of global the CLI has) */
static volatile sig_atomic_t g_stop_signal = 0;
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
    /* (on resume, params_initial.npz and the checkpoint stand for --init) */
    if (a->init && !a->resume && cli_init_params(net, a->init, "--init", false)) return 1;
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
    run_dir rd;
    text_buf loss;         /* rows of loss.csv not yet written */
    off_t loss_end;        /* bytes of loss.csv that are this run's */
    rn_loss_parts first;   /* epoch 0's loss (for the closing line) */
    rn_loss_parts last;    /* the last epoch's */
    float *output0;        /* the output before training */
    float *good, *scratch; /* the last parameters that passed the checks; a scratch copy */
    tau_history th;
    char *spec;      /* the network as config.json keeps it (net_effective) */
    long long start; /* the first epoch of this session (after --resume) */
    long long done;  /* epochs done */
    uint64_t fp[2];  /* run_fingerprints */
    bool diverged, config_due;
    rn_error diverged_err;
    double wall; /* seconds of training in this session */
} train_session;

/* The first rate layer's time-loop path on this backend ("-" without one), for the first line. */
static const char *rate_loop(const train_session *s) {
    rn_rate_options o;
    for (int l = 0; l < rn_net_layer_count(s->net); l++)
        if (rn_net_layer_kind(s->net, l) == RN_LAYER_RATE &&
            rn_net_rate_options(s->net, l, &o, NULL) == RN_OK)
            return rn_backend_rate_loop(s->be, s->d.B, o.n, o.recurrent);
    return "-";
}

static void session_free(train_session *s) {
    run_dir_close(&s->rd);
    free(s->spec);
    text_buf_free(&s->th.pending);
    text_buf_free(&s->loss);
    free(s->output0);
    free(s->good);
    free(s->scratch);
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
        default_net_spec(a, &s->d, spec_buf, sizeof spec_buf); /* a --net of any length as given */
        if (cli_build_net("train", a->net ? a->net : spec_buf, a->dt, a->seed, &s->net, &s->spec))
            return 1;
    }
    if (rn_net_input_size(s->net) != s->d.cin || rn_net_output_size(s->net) != s->d.cout) {
        cli_line("ratenn train: the network takes %d and gives %d channels, but the data has %d in "
                 "and %d out\n",
                 rn_net_input_size(s->net), rn_net_output_size(s->net), s->d.cin, s->d.cout);
        return 1;
    }
    if (control_params(a, s->net)) return 1;
    if (rn_backend_create(&s->be, c->backend, &err) != RN_OK) {
        cli_line("ratenn train: --backend %s: %s\n", a->backend, err.message);
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
        cli_line("ratenn train: %s\n", err.message);
        return 1;
    }
    size_t P = rn_net_param_total(s->net);
    s->output0 = malloc((size_t)s->d.B * s->d.T * s->d.cout * sizeof(float));
    s->good = malloc(P * sizeof(float) + 1);
    s->scratch = malloc(P * sizeof(float) + 1);
    if (!s->output0 || !s->good || !s->scratch) {
        cli_line("ratenn train: out of memory\n");
        return 1;
    }
    tau_history_init(&s->th, s->net);
    return 0;
}

/* The network's values from src (P floats), uploaded again. */
static int params_restore(train_session *s, const float *src) {
    rn_error err = {0};
    size_t off = 0;
    for (int i = 0; i < rn_net_param_count(s->net); i++) {
        rn_param_info info;
        rn_net_param_info(s->net, i, &info, NULL);
        if (rn_net_set_param(s->net, info.name, src + off, info.count, &err) != RN_OK) break;
        off += info.count;
    }
    if (err.status != RN_OK || rn_trainer_push_params(s->tr, &err) != RN_OK) {
        cli_line("ratenn train: %s\n", err.message);
        return 1;
    }
    return 0;
}

/* The flags as config.json keeps them: the paths made absolute (the run's data and --init are found
 * from anywhere, so that --resume and --config work from another directory), without --resume and
 * --config. `flags` points into `b`, whose paths point into `paths`. */
typedef struct saved_flags {
    train_args b;
    cli_flag flags[TRAIN_MAX_FLAGS];
    char abs[5][PATH_MAX];
} saved_flags;

static void saved_flags_make(saved_flags *sf, const train_session *s, const train_cmdline *c) {
    train_args *b = &sf->b;
    *b = c->a;
    memcpy(sf->flags, c->flags, sizeof sf->flags);
    for (int k = 0; k < c->n_flags; k++) /* the same table, pointing into b */
        sf->flags[k].dest = (char *)b + ((const char *)c->flags[k].dest - (const char *)&c->a);
    const char **paths[4] = {&b->input, &b->target, &b->mask, &b->init};
    for (int k = 0; k < 4; k++)
        if (*paths[k] && realpath(*paths[k], sf->abs[k])) *paths[k] = sf->abs[k];
    struct stat st;
    if (b->net && stat(b->net, &st) == 0 && S_ISREG(st.st_mode) && realpath(b->net, sf->abs[4]))
        b->net = sf->abs[4];
    b->out = s->rd.abs;
    b->resume = b->config = NULL;
}

static int write_config(train_session *s, const train_cmdline *c) {
    saved_flags *sf = malloc(sizeof *sf);
    if (!sf) {
        cli_line("ratenn train: out of memory\n");
        return 1;
    }
    saved_flags_make(sf, s, c);
    char path[4200];
    run_dir_path(&s->rd, path, sizeof path, "config.json");
    int rc = train_write_config(path, sf->flags, c->n_flags, s->spec, &s->d,
                                rn_backend_description(s->be));
    free(sf);
    return rc;
}

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* The run's fingerprints, kept in its checkpoint: fp[0] of what config.json says about the run
 * (every saved flag but those --resume may change, and the network), fp[1] of its data and its
 * initial parameters (called while the network holds them). A resume whose config.json, data or
 * params_initial.npz changed since would go on as another run: it is refused. */
static int run_fingerprints(const train_session *s, const train_cmdline *c, uint64_t fp[2]) {
    saved_flags *sf = malloc(sizeof *sf);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = sf ? open_memstream(&text, &len) : NULL;
    if (!mem) {
        free(sf);
        cli_line("ratenn train: out of memory\n");
        return 1;
    }
    saved_flags_make(sf, s, c);
    cli_flag kept[TRAIN_MAX_FLAGS];
    int n = 0;
    for (int k = 0; k < c->n_flags; k++) {
        bool skip = !strcmp(sf->flags[k].name, "--out"); /* (a run directory may move) */
        for (const char *const *f = train_resume_flags; *f && !skip; f++)
            skip = !strcmp(*f, sf->flags[k].name);
        if (!skip) kept[n++] = sf->flags[k];
    }
    cli_write_config(mem, kept, n, NULL);
    bool bad = fclose(mem) != 0 || !text;
    free(sf);
    if (bad) {
        free(text);
        cli_line("ratenn train: out of memory\n");
        return 1;
    }
    const uint64_t basis = 0xcbf29ce484222325ULL;
    fp[0] = fnv1a(fnv1a(basis, text, len), s->spec, strlen(s->spec) + 1);
    free(text);
    const run_data *d = &s->d;
    int dims[4] = {d->B, d->T, d->cin, d->cout};
    size_t bt = (size_t)(d->shared ? 1 : d->B) * d->T; /* the rows held (one trial when shared) */
    uint64_t h = fnv1a(basis, dims, sizeof dims);
    h = fnv1a(h, d->input, bt * d->cin * sizeof(float));
    h = fnv1a(h, d->target, bt * d->cout * sizeof(float));
    if (d->mask) h = fnv1a(h, d->mask, bt * sizeof(float));
    /* and the network's values now: the initial ones (params_initial.npz) */
    if (s->scratch) {
        cli_check_params(s->net, s->scratch, NULL, 0); /* (only copies them) */
        h = fnv1a(h, s->scratch, rn_net_param_total(s->net) * sizeof(float));
    }
    fp[1] = h;
    return 0;
}

/* A resumed run's state from its directory, or a new run's config.json (staged); then the output
 * before training (and a new run's params_initial.npz). */
static int session_open(train_session *s, const train_cmdline *c) {
    const train_args *a = &c->a;
    rn_error err = {0};
    char path[4200];
    if (a->resume) {
        /* the output before training is the uninterrupted run's: from params_initial.npz, at
         * epoch 0 (the trainer is new) */
        train_path(path, sizeof path, a->resume, "params_initial.npz");
        if (cli_init_params(s->net, path, "--resume", true)) return 1;
        if (run_fingerprints(s, c, s->fp)) return 1; /* (over the initial values, as a new run's) */
        if (rn_trainer_push_params(s->tr, &err) != RN_OK ||
            rn_trainer_forward(s->tr, s->output0, true, &err) != RN_OK) {
            cli_line("ratenn train: initial evaluation: %s\n", err.message);
            return 1;
        }
        train_path(path, sizeof path, a->resume, "checkpoint.npz");
        uint64_t saved[2];
        if (cli_read_checkpoint(path, s->net, s->tr, &s->start, saved)) return 1;
        if ((saved[0] || saved[1]) && (saved[0] != s->fp[0] || saved[1] != s->fp[1])) {
            cli_line("ratenn train: --resume %s: checkpoint.npz was not written by the run that %s "
                     "now (edited, changed, or copied from another run); resumed, it "
                     "would be another run (to train on differently, start a new run with --init "
                     "%s/params.npz)\n",
                     a->resume,
                     saved[0] != s->fp[0] ? "its config.json (settings, network) describes"
                                          : "its data (--input, --target, --mask) and "
                                            "params_initial.npz describe",
                     a->resume);
            return 1;
        }
        char why[400];
        if (cli_check_params(s->net, s->good, why, sizeof why) >= 0) {
            cli_line("ratenn train: --resume %s: %s\n", path, why);
            return 1;
        }
        if (s->start > a->epochs) {
            cli_line("ratenn train: --resume: the checkpoint is at epoch %lld, past --epochs %d\n",
                     s->start, a->epochs);
            return 1;
        }
        train_path(path, sizeof path, a->resume, "loss.csv");
        if (loss_csv_read(path, s->start, &s->first, &s->last, &s->loss_end)) return 1;
        train_path(path, sizeof path, a->resume, "tau_history.csv");
        if (tau_history_read(&s->th, path, s->start + 1)) return 1;
        if (s->start == a->epochs) return 0; /* finished: cli_train says so, writes nothing */
        s->config_due = true; /* --epochs and the like, recorded at the first write */
        cli_line("ratenn: resuming %s at epoch %lld of %d\n", a->resume, s->start, a->epochs);
    } else {
        text_buf_printf(&s->loss, "%s\n", LOSS_CSV_HEADER);
        tau_history_header(&s->th);
        if (write_config(s, c) || run_fingerprints(s, c, s->fp)) return 1;
    }
    char mem[160];
    train_describe_memory(mem, sizeof mem, s->tr, s->d.T);
    char omp[64] = ""; /* the CPU's threads wait as cli_openmp.c explains */
    if (rn_backend_get_kind(s->be) == RN_BACKEND_CPU)
        snprintf(omp, sizeof omp, "; OpenMP waits %s", cli_openmp_policy());
    cli_line("ratenn: training on %s (rate loop: %s%s); net %s; B=%d T=%d; %d epochs; %s\n",
             rn_backend_description(s->be), rate_loop(s), omp, s->spec, s->d.B, s->d.T, a->epochs,
             mem);
    if (!a->resume) {
        if (rn_trainer_forward(s->tr, s->output0, true, &err) != RN_OK) {
            cli_line("ratenn train: initial evaluation: %s\n", err.message);
            return 1;
        }
        run_dir_path(&s->rd, path, sizeof path, "params_initial.npz");
        if (cli_write_params(path, s->net)) return 1;
    }
    return 0;
}

/* The rows gathered since the last write appended to loss.csv and tau_history.csv, config.json
 * once after a resume, and (with `checkpoint`) checkpoint.npz written last. */
static int write_progress(train_session *s, const train_cmdline *c, bool checkpoint) {
    char path[4200];
    run_dir_path(&s->rd, path, sizeof path, "loss.csv");
    if (text_buf_flush(&s->loss, path, &s->loss_end)) return 1;
    run_dir_path(&s->rd, path, sizeof path, "tau_history.csv");
    if (tau_history_flush(&s->th, path)) return 1;
    if (s->config_due) {
        if (write_config(s, c)) return 1;
        s->config_due = false;
    }
    if (!checkpoint) return 0;
    run_dir_path(&s->rd, path, sizeof path, "checkpoint.npz");
    return cli_write_checkpoint(path, s->net, s->tr, s->fp);
}

/* Epochs until --epochs, a signal or divergence. After every epoch the parameters are checked as
 * --init and eval check them (cli_check_params): a step that breaks them counts as divergence, so
 * what is kept can be evaluated, given to --init and resumed. */
static int session_train(train_session *s, const train_cmdline *c) {
    const train_args *a = &c->a;
    rn_error err = {0};
    /* the values at the start (checked when they were loaded) */
    cli_check_params(s->net, s->good, NULL, 0);
    if (s->start == 0) tau_history_record(&s->th, s->net, 0);
    cli_progress prog;
    cli_progress_begin(&prog, s->start, a->epochs, a->quiet);
    s->done = s->start;
    for (long long e = s->start; e < a->epochs && !g_stop_signal; e++) {
        rn_loss_parts lp;
        rn_status st = rn_trainer_epoch(s->tr, &lp, &err);
        if (st == RN_OK && rn_trainer_pull_params(s->tr, &err) != RN_OK) st = err.status;
        char why[400];
        if (st == RN_OK && cli_check_params(s->net, s->scratch, why, sizeof why) >= 0) {
            err.status = RN_ERR_DIVERGED;
            snprintf(err.message, sizeof err.message,
                     "diverged at epoch %lld: %s; the parameters are left as they were before "
                     "this epoch",
                     e, why);
            if (params_restore(s, s->good)) return 1;
            st = RN_ERR_DIVERGED;
        }
        if (st == RN_ERR_DIVERGED) {
            s->diverged = true;
            s->diverged_err = err; /* kept: later calls reuse err */
            break;
        }
        if (st != RN_OK) {
            cli_line("ratenn train: %s\n", err.message);
            return 1;
        }
        float *t = s->good; /* the new values passed: they are the last good ones */
        s->good = s->scratch;
        s->scratch = t;
        loss_row(&s->loss, e, &lp);
        if (e == 0) s->first = lp;
        s->last = lp;
        s->done = e + 1;
        tau_history_record(&s->th, s->net, s->done);
        cli_progress_update(&prog, s->done, lp.total);
        if (a->checkpoint_every > 0 && s->done % a->checkpoint_every == 0 && s->done < a->epochs) {
            if (write_progress(s, c, true) || run_dir_commit(&s->rd)) return 1;
        } else if (s->loss.len + s->th.pending.len > ((size_t)1 << 20)) {
            /* the rows so far, so that memory stays bounded on long runs without checkpoints
             * (rows past the checkpoint are cut again on resume) */
            if (write_progress(s, c, false)) return 1;
        }
    }
    cli_progress_end(&prog);
    s->wall = cli_now() - prog.start;
    return 0;
}

/* The closing line: the MSE first (what the user asked to minimise), then the total when other
 * terms are in it, saying when the bound penalty is active. */
static void closing_line(const train_session *s, const train_args *a) {
    long long ran = s->done - s->start;
    if (s->done == 0) {
        cli_line("ratenn: 0 epochs; results in %s/\n", s->rd.dir);
        return;
    }
    char total[320] = "";
    double pen0 = a->w_bounds * s->first.bounds, pen1 = a->w_bounds * s->last.bounds;
    if (s->first.bounds != 0 || s->first.l2 != 0 || s->last.bounds != 0 || s->last.l2 != 0)
        snprintf(total, sizeof total, "; total loss %.6g -> %.6g%s", s->first.total, s->last.total,
                 pen1 > 0   ? " (the bound penalty is active: a parameter is past its bound)"
                 : pen0 > 0 ? " (the bound penalty was active at the start)"
                            : "");
    cli_line("ratenn: mse %.6g -> %.6g after %lld epochs%s; %lld epochs in %.1f s (%.1f "
             "epochs/s); peak resident memory %.0f MiB; results in %s/\n",
             s->first.mse, s->last.mse, s->done, total, ran, s->wall,
             s->wall > 0 ? ran / s->wall : 0.0, peak_rss_mib(), s->rd.dir);
}

/* The run's files (a new run's moved in last), then one closing line; returns the exit status. */
static int session_finish(train_session *s, const train_cmdline *c) {
    const train_args *a = &c->a;
    rn_error err = {0};
    char path[4200];
    if (rn_trainer_pull_params(s->tr, &err) != RN_OK) {
        cli_line("ratenn train: %s\n", err.message);
        return 1;
    }
    bool stopped = g_stop_signal != 0 && s->done < a->epochs && !s->diverged;
    /* a checkpoint when stopped, when asked for, and when the run had one (after a resume); not
     * after divergence: the optimiser's state is past the kept parameters */
    bool checkpoint = !s->diverged && (stopped || a->checkpoint_every > 0 || a->resume);
    /* the checkpoint comes last: written, it says every other file is at its epoch (a resume at
     * --epochs has nothing to do). A failure or a kill before it leaves the previous checkpoint,
     * and a resume from there writes params.npz and run.npz again. */
    if (write_progress(s, c, false)) return 1;
    run_dir_path(&s->rd, path, sizeof path, "params.npz");
    if (cli_write_params(path, s->net)) return 1;
    run_dir_path(&s->rd, path, sizeof path, "run.npz");
    if (train_write_run(path, s->tr, s->net, &s->d, s->output0, a->record_all)) return 1;
    if (checkpoint) {
        run_dir_path(&s->rd, path, sizeof path, "checkpoint.npz");
        if (cli_write_checkpoint(path, s->net, s->tr, s->fp)) return 1;
    }
    if (run_dir_commit(&s->rd)) return 1;
    if (stopped) {
        char q[8300];
        shell_quote(q, sizeof q, s->rd.dir);
        cli_line("ratenn: stopped by signal %d after epoch %lld; checkpoint written. Resume with:\n"
                 "  ratenn train --resume %s\n",
                 (int)g_stop_signal, s->done, q);
        return 128 + (int)g_stop_signal; /* as the shell reports a signal: 130 for SIGINT */
    }
    if (s->diverged) {
        cli_line("ratenn train: %s; the last good parameters are in %s/params.npz\n",
                 s->diverged_err.message, s->rd.dir); /* one line, as every failure */
        return 1;
    }
    closing_line(s, a);
    return 0;
}

/* --overwrite replaces the files of the run in DIR: none of them may be an input of the new run
 * (`--init DIR/params.npz`: the new run's config.json would then name its own params.npz, and the
 * older parameters would be gone). Checked under the lock, before anything is read. */
static int check_inputs_outside_run(const train_session *s, const train_args *a) {
    const char *const in[][2] = {{"--input", a->input}, {"--target", a->target},
                                 {"--mask", a->mask},   {"--init", a->init},
                                 {"--net", a->net},     {NULL, NULL}};
    for (int k = 0; in[k][0]; k++) {
        const char *which = NULL;
        if (in[k][1] && run_dir_names_run_file(s->rd.dir, in[k][1], &which)) {
            cli_line("ratenn train: %s %s is the %s of the run in --out %s, which this run "
                     "replaces; copy it elsewhere first or choose another --out\n",
                     in[k][0], in[k][1], which, s->rd.dir);
            return 1;
        }
    }
    return 0;
}

/* One run: the directory taken, built, trained, its files written; returns the exit status. */
static int run(train_session *s, const train_cmdline *c) {
    const train_args *a = &c->a;
    if (run_dir_open(&s->rd, a->resume ? a->resume : a->out, a->resume != NULL, a->overwrite) ||
        (!a->resume && check_inputs_outside_run(s, a)) || session_build(s, c) || session_open(s, c))
        return 1;
    if (a->resume && s->start == a->epochs) {
        cli_line("ratenn: %s is already at epoch %lld of --epochs %d: nothing to do, nothing "
                 "written (a larger --epochs trains on)\n",
                 s->rd.dir, s->start, a->epochs);
        return 0;
    }
    if (g_stop_signal) { /* before any epoch: a new run leaves nothing, a resumed one as it was */
        cli_line("ratenn: stopped by signal %d before training; nothing written\n",
                 (int)g_stop_signal);
        return 128 + (int)g_stop_signal;
    }
    if (session_train(s, c)) return 1;
    return session_finish(s, c);
}

int cli_train(int argc, char **argv) {
    /* Ctrl-C and SIGTERM only set a flag from the start: a new run stopped before training
     * leaves nothing behind; one stopped while training writes its checkpoint. */
    cli_catch_stop_signals(on_signal, 0); /* a closed terminal (SIGHUP): a checkpoint too */
    train_cmdline *c = calloc(1, sizeof *c);
    if (!c) {
        cli_line("ratenn train: out of memory\n");
        return 1;
    }
    int rc = train_parse(c, argc, argv);
    if (rc < 0) {
        train_session s;
        memset(&s, 0, sizeof s);
        s.rd.lock_fd = -1;
        rc = run(&s, c);
        session_free(&s);
    }
    free(c);
    return rc;
}
