/* `ratenn eval`: a trained network run forward on new inputs of any length and batch. Its outputs
 * are written only when everything succeeded and every value is finite, never onto an input. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <unistd.h>

#include "cli.h"
#include "cli_run_dir.h"
#include "cli_train.h"
#include "ratenn/io.h"

/* Reads "net_effective" (malloc'd into *spec), "dt" and "seed" from a run's config.json, read as
 * --resume reads it (train_read_config: strict JSON, every key known and of its type), so that a
 * corrupted or hand-edited file is one line naming the key rather than a network built from half of
 * it. */
static int read_run_config(const char *path, char **spec, double *dt, long long *seed) {
    train_cmdline *c = calloc(1, sizeof *c);
    char msg[1200];
    int rc = 1;
    if (!c)
        cli_line("ratenn eval: out of memory\n");
    else if (train_read_config(c, path, msg, sizeof msg))
        cli_line("ratenn eval: %s\n", msg);
    else if (!(c->a.dt > 0))
        cli_line("ratenn eval: --config %s: \"dt\" must be > 0 (got %g)\n", path, c->a.dt);
    else if (c->a.seed < 0)
        cli_line("ratenn eval: --config %s: \"seed\" must be >= 0 (got %lld)\n", path, c->a.seed);
    else if ((*spec = cli_config_string("eval", path, "net_effective"))) {
        *dt = c->a.dt;
        *seed = c->a.seed;
        rc = 0;
    }
    free(c);
    return rc;
}

/* --out and --record must not be an input (or each other), under any spelling or link. */
static int check_outputs(const char *out, const char *record, const char *params, const char *input,
                         const char *config) {
    const char *outs[2][2] = {{"--out", out}, {"--record", record}};
    const char *ins[3][2] = {{"--params", params}, {"--input", input}, {"--config", config}};
    for (int o = 0; o < 2; o++) {
        if (!outs[o][1]) continue;
        struct stat st;
        if (stat(outs[o][1], &st) == 0 && S_ISDIR(st.st_mode)) { /* found now, not after a rename */
            cli_line("ratenn eval: %s %s is a directory; give a file name\n", outs[o][0],
                     outs[o][1]);
            return 1;
        }
        /* the rename at the end would put a regular file in place of a device (/dev/null) or a
         * FIFO: refused rather than replaced */
        if (stat(outs[o][1], &st) == 0 && !S_ISREG(st.st_mode)) {
            cli_line("ratenn eval: %s %s is not a regular file (a device or a FIFO); give a file "
                     "name\n",
                     outs[o][0], outs[o][1]);
            return 1;
        }
        for (int i = 0; i < 3; i++)
            if (cli_same_file(outs[o][1], ins[i][1])) {
                cli_line("ratenn eval: %s %s is the %s file; it would be overwritten\n", outs[o][0],
                         outs[o][1], ins[i][0]);
                return 1;
            }
        /* a training run's files stay as the run wrote them (its checkpoint above all) */
        const char *which = NULL;
        if (run_file_of_run_dir(outs[o][1], &which)) {
            cli_line("ratenn eval: %s %s is the %s of a training run; it would be overwritten "
                     "(give another name)\n",
                     outs[o][0], outs[o][1], which);
            return 1;
        }
    }
    if (record && cli_same_file(out, record)) {
        cli_line("ratenn eval: --out and --record name the same file %s\n", out);
        return 1;
    }
    return 0;
}

/* The first non-finite value of an output: a network that leaves the float range (a tiny τ, huge
 * weights) gives NaN or Inf, which is an error rather than a result. */
static int check_finite(const char *what, const float *v, size_t B, size_t T, size_t C) {
    for (size_t i = 0; i < B * T * C; i++)
        if (!isfinite(v[i])) {
            cli_line("ratenn eval: %s is not finite (%g at trial %zu, step %zu, channel %zu): the "
                     "parameters drive the network out of range on this input; nothing written\n",
                     what, v[i], i / (T * C), i / C % T, i % C);
            return 1;
        }
    return 0;
}

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* "<path>.eval-tmp.<pid>": each output is written whole under such a name first, and both are
 * renamed only when both were written. */
static void temp_name(char *dst, size_t n, const char *path) {
    snprintf(dst, n, "%s.eval-tmp.%ld", path, (long)getpid());
}

/* SIGINT, SIGTERM and SIGHUP, as `ratenn train` takes them (a signal handler's state: the only
 * kind of global the CLI has): one line, exit status 128 + the signal, and nothing left behind. Until eval writes, nothing of
 * it is on disk, so it stops at once (a long input is not run to its end first); once it writes,
 * the signal is only noted, and eval removes its temporary files when the file in hand is whole
 * (killed there, it used to leave "Y.eval-tmp.PID" behind). From the renames on it finishes. */
static volatile sig_atomic_t g_signal = 0, g_writing = 0;

static void on_signal(int sig) {
    if (g_writing) {
        g_signal = sig;
        return;
    }
    /* only write(2) and _exit(2) here: async-signal-safe */
    static const char head[] = "ratenn eval: stopped by signal ", tail[] = "; nothing written\n";
    char num[4] = {(char)('0' + sig / 10 % 10), (char)('0' + sig % 10), '\0', '\0'};
    const char *digits = sig >= 10 ? num : num + 1;
    (void)!write(STDERR_FILENO, head, sizeof head - 1);
    (void)!write(STDERR_FILENO, digits, sig >= 10 ? 2 : 1);
    (void)!write(STDERR_FILENO, tail, sizeof tail - 1);
    _exit(128 + sig);
}

int cli_eval(int argc, char **argv) {
    /* SA_RESTART: a write under way goes on (the signal is acted on after it) */
    cli_catch_stop_signals(on_signal, SA_RESTART);
    const char *params = NULL, *input = NULL, *out = NULL, *record = NULL, *config = NULL,
               *noise = "on", *backend = "auto";
    long long seed = -1;
    bool record_all = false;
    cli_flag flags[] = {
        {"--params", CLI_STRING, &params, "P.npz", "trained parameters (DIR/params.npz)", false},
        {"--input", CLI_STRING, &input, "U.npy", "input (B, T, C_in) or (T, C_in), any B and T",
         false},
        {"--out", CLI_STRING, &out, "Y.npy", "where the output (B, T, C_out) goes", false},
        {"--record", CLI_STRING, &record, "S.npz",
         "also write every layer's output and each rate layer's x and r (trial 0; its time axis "
         "downsampled past 4M values per array)",
         false},
        {"--record-all", CLI_SWITCH, &record_all, NULL, "--record keeps every trial at every step",
         false},
        {"--config", CLI_STRING, &config, "FILE",
         "the run's config.json (default: beside --params)", false},
        {"--noise", CLI_STRING, &noise, "on|off",
         "the rate layers' noise (default on, as in training)", false},
        {"--seed", CLI_INT64, &seed, "S", "noise seed (default: the run's)", false},
        {"--backend", CLI_STRING, &backend, "KIND", "auto, cpu or cuda", false},
    };
    const int n_flags = (int)(sizeof flags / sizeof flags[0]);
    int parsed =
        cli_parse_command("eval",
                          "usage: ratenn eval --params DIR/params.npz --input U.npy --out Y.npy "
                          "[--record S.npz] [--noise off]\n\nRuns a trained network forward. "
                          "The architecture comes from the run's config.json.\n",
                          flags, n_flags, argc, argv, 2);
    if (parsed >= 0) return parsed;
    if (!params || !input || !out) {
        cli_line("ratenn eval: --params, --input and --out are required\n");
        return 2;
    }
    if (strcmp(noise, "on") && strcmp(noise, "off")) {
        cli_line("ratenn eval: --noise: expected on or off\n");
        return 2;
    }
    char cfg[4200];
    char *spec = NULL;
    struct stat pst;
    if (stat(params, &pst) == 0 && S_ISDIR(pst.st_mode)) { /* (else: "config.json" not found) */
        cli_line("ratenn eval: --params %s is a directory; give its params.npz\n", params);
        return 1;
    }
    if (!config) {
        const char *slash = strrchr(params, '/');
        snprintf(cfg, sizeof cfg, "%.*sconfig.json", slash ? (int)(slash - params + 1) : 0, params);
        config = cfg;
    }
    if (check_outputs(out, record, params, input, config)) return 1;
    double dt;
    long long run_seed;
    if (read_run_config(config, &spec, &dt, &run_seed)) return 1;
    rn_error err = {0};
    rn_net *net = NULL;
    rn_backend *be = NULL;
    rn_trainer *tr = NULL;
    rn_array in = {0}, *rec = NULL;
    float *y = NULL;
    int rc = 1, n_rec = 0;
    char tmp_out[4200], tmp_rec[4200];
    rn_backend_kind bk;
    if (rn_backend_kind_parse(backend, &bk, &err) != RN_OK) {
        cli_line("ratenn eval: --backend: %s\n", err.message);
        free(spec);
        return 2;
    }
    if (cli_build_net("eval", spec, dt, run_seed, &net, NULL)) goto done;
    if (cli_init_params(net, params, "--params", true)) goto done;
    if (rn_npy_read(input, &in, &err) != RN_OK) {
        cli_line("ratenn eval: --input %s\n", err.message);
        goto done;
    }
    if (in.ndim != 2 && in.ndim != 3) {
        cli_line("ratenn eval: --input %s: expected (B, T, C) or (T, C), got %d dimensions\n",
                 input, in.ndim);
        goto done;
    }
    size_t B = in.ndim == 3 ? in.shape[0] : 1, T = in.shape[in.ndim - 2], C = in.shape[in.ndim - 1];
    if (C != (size_t)rn_net_input_size(net)) {
        cli_line("ratenn eval: --input %s has %zu channels; the network takes %d\n", input, C,
                 rn_net_input_size(net));
        goto done;
    }
    if (B == 0 || T == 0 || B >= (1u << 24) || T > 0x7fffffff) {
        cli_line("ratenn eval: --input %s: B=%zu, T=%zu is out of range\n", input, B, T);
        goto done;
    }
    rn_train_config tc = rn_train_config_default();
    tc.noise_seed = (uint64_t)(seed >= 0 ? seed : run_seed);
    size_t cout = (size_t)rn_net_output_size(net);
    /* the records are taken as the forward goes, in bounded memory whatever T is */
    int L = rn_net_layer_count(net), n = 0;
    rn_array *arr = record ? calloc((size_t)3 * L + 1, sizeof *arr) : NULL;
    rn_record_request *req = record ? calloc((size_t)3 * L + 1, sizeof *req) : NULL;
    const size_t rec_trials = record_all ? B : 1;
    size_t widest = 1;
    for (int li = 0; li < L; li++)
        if ((size_t)rn_net_layer_width(net, li) > widest)
            widest = (size_t)rn_net_layer_width(net, li);
    const size_t limit = (size_t)1 << 22;
    const size_t stride = record_all || T * widest <= limit ? 1 : (T * widest + limit - 1) / limit;
    const size_t kept = (T + stride - 1) / stride;
    bool oom = record && (!arr || !req);
    for (int li = 0; record && !oom && li < L; li++) {
        bool rate = rn_net_layer_kind(net, li) == RN_LAYER_RATE;
        for (int kind = 0; !oom && kind < (rate ? 3 : 1); kind++) {
            rn_array *a = &arr[n];
            static const char *what[] = {"out", "x", "r"};
            snprintf(a->name, sizeof a->name, "%d_%s.%s", li,
                     rn_layer_kind_name(rn_net_layer_kind(net, li)), what[kind]);
            int width = rn_net_layer_width(net, li);
            a->ndim = 3;
            a->shape[0] = rec_trials;
            a->shape[1] = kept;
            a->shape[2] = (size_t)width;
            a->count = rec_trials * kept * (size_t)width;
            a->data = malloc(a->count * sizeof(float) + 1);
            if (!a->data) oom = true;
            req[n] = (rn_record_request){li, (rn_record_kind)kind, (int)rec_trials, (int)stride,
                                         a->data};
            n++;
        }
    }
    if (record && !oom && stride > 1) { /* the steps kept */
        rn_array *a = &arr[n++];
        snprintf(a->name, sizeof a->name, "record_step");
        a->ndim = 1;
        a->shape[0] = kept;
        a->count = kept;
        a->data = malloc(kept * sizeof(float));
        if (!a->data) oom = true;
        for (size_t i = 0; a->data && i < kept; i++)
            a->data[i] = (float)(i * stride);
    }
    y = oom ? NULL : malloc(B * T * cout * sizeof(float));
    if (!y || rn_backend_create(&be, bk, &err) != RN_OK ||
        rn_trainer_create(&tr, net, be, &tc, (int)B, (int)T, &err) != RN_OK ||
        rn_trainer_set_data(tr, in.data, NULL, NULL, &err) != RN_OK ||
        rn_trainer_forward_record(tr, y, !strcmp(noise, "on"), req, record ? n - (stride > 1) : 0,
                                  &err) != RN_OK) {
        cli_line("ratenn eval: %s\n", y ? err.message : "out of memory");
        if (arr) rn_arrays_free(arr, n);
        free(req);
        goto done;
    }
    rec = arr; /* freed at done from here on */
    n_rec = n;
    free(req);
    if (check_finite("the output", y, B, T, cout)) goto done;
    for (int i = 0; i < n_rec; i++) {
        char label[160];
        snprintf(label, sizeof label, "--record '%s'", rec[i].name);
        if (rec[i].ndim == 3 &&
            check_finite(label, rec[i].data, rec[i].shape[0], rec[i].shape[1], rec[i].shape[2]))
            goto done;
    }
    size_t shape[3] = {B, T, cout};
    temp_name(tmp_out, sizeof tmp_out, out);
    if (record) temp_name(tmp_rec, sizeof tmp_rec, record);
    g_writing = 1; /* from here a signal waits for the file in hand */
    bool written = rn_npy_write(tmp_out, y, 3, shape, &err) == RN_OK && !g_signal &&
                   (!record || rn_npz_write(tmp_rec, rec, n_rec, &err) == RN_OK);
    if (g_signal) {
        unlink(tmp_out);
        if (record) unlink(tmp_rec);
        cli_line("ratenn eval: stopped by signal %d while writing; nothing written\n",
                 (int)g_signal);
        rc = 128 + (int)g_signal;
        goto done;
    }
    if (!written) {
        /* the message names the temporary file: say which output it is */
        cli_line("ratenn eval: %s: %s (nothing written)\n",
                 file_exists(tmp_out) ? "--record" : "--out", err.message);
        unlink(tmp_out);
        if (record) unlink(tmp_rec);
        goto done;
    }
    if (rename(tmp_out, out) != 0 || (record && rename(tmp_rec, record) != 0)) {
        cli_line("ratenn eval: cannot move the outputs into place: %s\n", strerror(errno));
        unlink(tmp_out);
        if (record) unlink(tmp_rec);
        goto done;
    }
    if (record && (rec_trials < B || stride > 1)) {
        char every[64] = "";
        if (stride > 1) snprintf(every, sizeof every, ", one step in every %zu", stride);
        cli_line("ratenn eval: --record keeps trial 0 of %zu%s (--record-all keeps every trial and "
                 "step)\n",
                 B, every);
    }
    cli_line("ratenn eval: %zu trial(s) of %zu steps on %s -> %s\n", B, T,
             rn_backend_description(be), out);
    rc = 0;
done:
    if (rec) rn_arrays_free(rec, n_rec);
    free(spec);
    free(y);
    rn_array_free(&in);
    rn_trainer_free(tr);
    rn_backend_free(be);
    rn_net_free(net);
    return rc;
}
