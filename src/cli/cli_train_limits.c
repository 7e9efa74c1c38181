/* `ratenn train`: the checks that need more than one flag: values that must be >= 0 (each named),
 * flags that do not apply to the chosen task or network, and the size limits worked out from the
 * flags before any data is generated or memory allocated (README "Limits and errors"). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_train.h"
#include "host_memory.h"

/* A flag's value differs from the default (given on the command line or by a --config file). */
static bool differs(const cli_flag *f, const train_args *a, const train_args *def) {
    const char *p = (const char *)f->dest, *q = (const char *)def + (p - (const char *)a);
    switch (f->type) {
    case CLI_INT:
        return *(const int *)p != *(const int *)q;
    case CLI_INT64:
        return *(const long long *)p != *(const long long *)q;
    case CLI_DOUBLE:
        return *(const double *)p != *(const double *)q;
    case CLI_SWITCH:
        return *(const bool *)p != *(const bool *)q;
    case CLI_STRING: {
        const char *x = *(const char *const *)p, *y = *(const char *const *)q;
        return (x == NULL) != (y == NULL) || (x && strcmp(x, y));
    }
    }
    return false;
}

static const cli_flag *flag_named(const train_cmdline *c, const char *name) {
    for (int k = 0; k < c->n_flags; k++)
        if (!strcmp(c->flags[k].name, name)) return &c->flags[k];
    return NULL;
}

/* Given: on the command line, or set to other than the default by --config. */
static bool given(const train_cmdline *c, const train_args *def, const char *name) {
    const cli_flag *f = flag_named(c, name);
    return f && (f->seen || differs(f, &c->a, def));
}

static int not_applicable(const train_cmdline *c, const char *name, const char *why) {
    char msg[256];
    const cli_flag *f = flag_named(c, name);
    snprintf(msg, sizeof msg, "%s%s does not apply %s", name,
             f && !f->seen ? " (set by the config file)" : "", why);
    return train_usage_error(msg);
}

/* Flags that would be ignored are refused: a value that changes nothing is a mistake. */
static int check_applicable(const train_cmdline *c, const train_args *def) {
    const train_args *a = &c->a;
    bool user = a->input != NULL, chirp = !user && !strcmp(a->task, "chirp"),
         synapse = !user && !strcmp(a->task, "synapse"), default_net = a->net == NULL;
    static const char *const chirp_only[] = {"--repeats", "--pulse", "--freq-factor"};
    static const char *const synapse_only[] = {"--target-tau", "--target-tau2"};
    static const char *const default_rate_net[] = {"--hidden", "--activation", "--no-recurrent",
                                                   "--noise"};
    for (size_t i = 0; i < sizeof chirp_only / sizeof *chirp_only; i++)
        if (!chirp && given(c, def, chirp_only[i]))
            return not_applicable(c, chirp_only[i], user ? "to --input data" : "to --task synapse");
    for (size_t i = 0; i < sizeof synapse_only / sizeof *synapse_only; i++)
        if (!synapse && given(c, def, synapse_only[i]))
            return not_applicable(c, synapse_only[i], user ? "to --input data" : "to --task chirp");
    if (user && given(c, def, "--batch"))
        return not_applicable(c, "--batch", "to --input data (B is the file's)");
    for (size_t i = 0; i < sizeof default_rate_net / sizeof *default_rate_net; i++) {
        if (!given(c, def, default_rate_net[i])) continue;
        if (!default_net)
            return not_applicable(c, default_rate_net[i], "with --net (the spec says it)");
        if (synapse)
            return not_applicable(c, default_rate_net[i],
                                  "to --task synapse (its network is one filter; see --net)");
    }
    if (given(c, def, "--tau0") && !(synapse && default_net))
        return not_applicable(c, "--tau0", "except to --task synapse's default network");
    if (given(c, def, "--bound-mode") && !a->bound)
        return not_applicable(c, "--bound-mode", "without --bound");
    return -1;
}

/* Weights and bounds, each named with the value given. */
static int check_values(const train_cmdline *c, const train_args *def) {
    const train_args *a = &c->a;
    char msg[160];
    const struct {
        const char *name;
        double v;
    } nonneg[] = {{"--w-mse", a->w_mse}, {"--w-bounds", a->w_bounds},
                  {"--w-l2", a->w_l2},   {"--clip-norm", a->clip_norm},
                  {"--pulse", a->pulse}, {"--target-tau2", a->target_tau2}};
    for (size_t i = 0; i < sizeof nonneg / sizeof *nonneg; i++)
        if (!(nonneg[i].v >= 0)) {
            snprintf(msg, sizeof msg, "%s must be >= 0 (got %g)", nonneg[i].name, nonneg[i].v);
            return train_usage_error(msg);
        }
    /* --tau-min's default (11·dt) is filled in later; a value given must be a bound */
    if (given(c, def, "--tau-min") && !(a->tau_min >= 0)) {
        snprintf(msg, sizeof msg, "--tau-min must be >= 0 (got %g)", a->tau_min);
        return train_usage_error(msg);
    }
    return -1;
}

/* The built-in task's size from the flags: B, T and the default network's width against the
 * limits, and its data against the machine's memory, before anything is generated. */
static int check_task_size(const train_args *a) {
    if (a->input) return -1; /* the files' own sizes are checked as they are read */
    char msg[512];
    rn_error err = {0};
    int T = 0;
    rn_status st = train_task_steps(a, &T, &err);
    if (st != RN_OK) {
        snprintf(msg, sizeof msg, "--task %s: %.400s", a->task, err.message);
        return train_usage_error(msg);
    }
    const long long max_trials = (1 << 24) - 1;
    if (a->batch > max_trials) {
        snprintf(msg, sizeof msg,
                 "--batch %d is over %lld trials (the trial indexes the noise counter, SPEC §6)",
                 a->batch, max_trials);
        return train_usage_error(msg);
    }
    long long width = (!a->net && strcmp(a->task, "synapse")) ? a->hidden : 1;
    long long data_width = 1;   /* the tasks' input and target: one channel each */
    if (a->net && !a->resume) { /* the widest layer of --net (built here only to be measured) */
        rn_net *net = NULL;
        if (cli_build_net("train", a->net, a->dt, a->seed, &net, NULL)) return 1;
        const int cin = rn_net_input_size(net), cout = rn_net_output_size(net);
        width = cin;
        data_width = cin > cout ? cin : cout;
        for (int li = 0; li < rn_net_layer_count(net); li++)
            if (rn_net_layer_width(net, li) > width) width = rn_net_layer_width(net, li);
        rn_net_free(net);
    }
    /* As the trainer: the whole sequences (input, target, output) hold B·T·C elements; the
     * layers' buffers hold segments of whole blocks of steps (1000, or T if shorter), so
     * B·block·width must fit, not B·T·width (longer runs are checkpointed). */
    long long bt = (long long)a->batch * T; /* < 2^24 · 2^31: no overflow */
    long long block = T < 1000 ? T : 1000;
    if (bt > INT_MAX || bt * data_width > INT_MAX) {
        snprintf(msg, sizeof msg,
                 "--batch %d x %d steps is %.4g elements per sequence buffer, over the limit of "
                 "%d (2^31 - 1)",
                 a->batch, T, (double)bt * (double)data_width, INT_MAX);
        return train_usage_error(msg);
    }
    if ((long long)a->batch * block * width > INT_MAX) {
        char wide[64];
        snprintf(wide, sizeof wide, a->net ? "width %lld (--net's widest layer)" : "--hidden %lld",
                 width);
        snprintf(msg, sizeof msg,
                 "--batch %d x a block of %lld steps x %s is %.4g elements per layer buffer, over "
                 "the limit of %d (2^31 - 1; longer runs are checkpointed, but one block must fit)",
                 a->batch, block, wide, (double)a->batch * (double)block * (double)width, INT_MAX);
        return train_usage_error(msg);
    }
    double bytes = (double)bt * 2.0 * sizeof(float); /* input and target */
    double total = (double)rn_host_memory_total();
    if (total > 0 && bytes > total) {
        snprintf(msg, sizeof msg,
                 "out of host memory: the task's data (B=%d, T=%d) needs %.1f MiB, this machine "
                 "has %.1f MiB",
                 a->batch, T, bytes / 1048576.0, total / 1048576.0);
        cli_line("ratenn train: %s\n", msg);
        return 1;
    }
    return -1;
}

int train_check_limits(const train_cmdline *c) {
    train_args *def = malloc(sizeof *def);
    if (!def || train_default_args(def)) {
        cli_line("ratenn train: out of memory\n");
        free(def);
        return 1;
    }
    int rc = check_values(c, def);
    if (rc < 0 && !c->a.resume) rc = check_applicable(c, def); /* a resumed run's own values */
    if (rc < 0) rc = check_task_size(&c->a);
    free(def);
    return rc;
}
