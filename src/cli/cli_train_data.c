/* `ratenn train`'s data: the chirp or synapse task, or the user's .npy input, target and mask. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_train.h"

void run_data_free(run_data *d) {
    free(d->input);
    free(d->target);
    free(d->mask);
}

static int alloc_data(run_data *d) {
    size_t n = (size_t)(d->shared ? 1 : d->B) * d->T;
    d->input = malloc(n * d->cin * sizeof(float));
    d->target = malloc(n * d->cout * sizeof(float));
    if (!d->input || !d->target) {
        cli_line("ratenn train: out of memory for %zu samples\n", n);
        return 1;
    }
    return 0;
}

/* The built-in tasks' options from the flags. */
static rn_chirp_options chirp_options(const train_args *a) {
    rn_chirp_options co = rn_chirp_options_default();
    co.num_repeats = a->repeats;
    co.pulse_duration = a->pulse;
    co.chirp_freq_factor = a->freq_factor;
    co.dt = a->dt;
    return co;
}

static rn_synapse_options synapse_options(const train_args *a) {
    rn_synapse_options so = rn_synapse_options_default();
    so.dt = a->dt;
    so.tau = a->target_tau;
    so.tau2 = a->target_tau2;
    return so;
}

rn_status train_task_steps(const train_args *a, int *T, rn_error *err) {
    if (!strcmp(a->task, "chirp")) {
        rn_chirp_options co = chirp_options(a);
        return rn_chirp_steps(&co, T, err);
    }
    rn_synapse_options so = synapse_options(a);
    return rn_synapse_steps(&so, T, err);
}

static int load_task(const train_args *a, run_data *d) {
    rn_error err = {0};
    d->B = a->batch;
    d->cin = d->cout = 1;
    d->shared = true; /* every trial sees the same signals (and its own noise): held once */
    if (train_task_steps(a, &d->T, &err) != RN_OK || alloc_data(d)) goto bad;
    if (!strcmp(a->task, "chirp")) {
        rn_chirp_options co = chirp_options(a);
        if (rn_chirp_generate(&co, d->input, d->target, d->T, &err) != RN_OK) goto bad;
    } else {
        rn_synapse_options so = synapse_options(a);
        if (rn_synapse_generate(&so, d->input, d->target, d->T, &err) != RN_OK) goto bad;
    }
    return 0;
bad:
    if (err.message[0]) cli_line("ratenn train: --task %s: %s\n", a->task, err.message);
    return 1;
}

/* Reads one .npy of shape (B, T, C) or (T, C) (taken as B = 1). */
static int load_sequence(const char *flag, const char *path, rn_array *arr, size_t dims[3]) {
    rn_error err = {0};
    if (rn_npy_read(path, arr, &err) != RN_OK) {
        cli_line("ratenn train: %s %s\n", flag, err.message);
        return 1;
    }
    if (arr->ndim != 3 && arr->ndim != 2) {
        cli_line("ratenn train: %s %s: expected shape (B, T, C) or (T, C), got %d dimensions\n",
                 flag, path, arr->ndim);
        return 1;
    }
    dims[0] = arr->ndim == 3 ? arr->shape[0] : 1;
    dims[1] = arr->shape[arr->ndim - 2];
    dims[2] = arr->shape[arr->ndim - 1];
    if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0) {
        cli_line("ratenn train: %s %s: shape has a zero dimension (B=%zu, T=%zu, C=%zu)\n", flag,
                 path, dims[0], dims[1], dims[2]);
        return 1;
    }
    if (dims[0] >= (1u << 24) || dims[1] > 0x7fffffff || dims[2] > (1u << 20)) {
        cli_line("ratenn train: %s %s: shape (%zu, %zu, %zu) is too large\n", flag, path, dims[0],
                 dims[1], dims[2]);
        return 1;
    }
    for (size_t i = 0; i < arr->count; i++)
        if (!isfinite(arr->data[i])) {
            cli_line("ratenn train: %s %s: element %zu is not finite\n", flag, path, i);
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
        cli_line("ratenn train: --input %s has B=%zu, T=%zu but --target %s has B=%zu, T=%zu; they "
                 "must match\n",
                 a->input, di[0], di[1], a->target, dt[0], dt[1]);
        goto done;
    }
    if (a->mask) {
        rn_error err = {0};
        if (rn_npy_read(a->mask, &mk, &err) != RN_OK) {
            cli_line("ratenn train: --mask %s\n", err.message);
            goto done;
        }
        /* (B, T) exactly, or (T,) beside a (T, C) input: not any shape of B·T elements */
        bool fits = (mk.ndim == 2 && mk.shape[0] == di[0] && mk.shape[1] == di[1]) ||
                    (mk.ndim == 1 && in.ndim == 2 && mk.shape[0] == di[1]);
        if (!fits) {
            char shape[200] = "(";
            for (int k = 0; k < mk.ndim; k++)
                snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%zu%s", mk.shape[k],
                         k + 1 < mk.ndim ? ", "
                         : mk.ndim == 1  ? ",)"
                                         : ")");
            if (mk.ndim == 0) strcpy(shape, "()");
            cli_line("ratenn train: --mask %s has shape %s; expected (B, T) = (%zu, %zu)\n",
                     a->mask, shape, di[0], di[1]);
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

int train_load_data(const train_args *a, run_data *d) {
    return a->input ? load_user(a, d) : load_task(a, d);
}
