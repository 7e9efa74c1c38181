/* The chirp task, built exactly as the tutorial's NumPy code (seeds/000, cell [2]). */
#include <limits.h>
#include <math.h>

#include "error.h"
#include "ratenn/tasks.h"

rn_chirp_options rn_chirp_options_default(void) {
    rn_chirp_options o;
    o.num_repeats = 1;
    o.pulse_duration = 0.050;
    o.chirp_freq_factor = 10.0;
    o.padding_duration = 1.0;
    o.chirp_duration = 1.0;
    o.dt = 0.001;
    return o;
}

static rn_status validate(const rn_chirp_options *o, long long *chirp_n, long long *pad_n,
                          rn_error *err) {
    if (!o) return rn_fail(err, RN_ERR_INVALID_ARG, "chirp: options are NULL");
    if (!(o->dt > 0) || !isfinite(o->dt))
        return rn_fail(err, RN_ERR_INVALID_ARG, "chirp: dt must be finite and > 0 (got %g)", o->dt);
    if (o->num_repeats < 1)
        return rn_fail(err, RN_ERR_INVALID_ARG, "chirp: repeats must be >= 1 (got %d)",
                       o->num_repeats);
    if (!(o->chirp_duration > 0) || !isfinite(o->chirp_duration))
        return rn_fail(err, RN_ERR_INVALID_ARG, "chirp: chirp duration must be > 0 (got %g)",
                       o->chirp_duration);
    if (!(o->padding_duration >= 0) || !isfinite(o->padding_duration))
        return rn_fail(err, RN_ERR_INVALID_ARG, "chirp: padding must be >= 0 (got %g)",
                       o->padding_duration);
    if (!(o->pulse_duration >= 0) || !isfinite(o->pulse_duration))
        return rn_fail(err, RN_ERR_INVALID_ARG, "chirp: pulse duration must be >= 0 (got %g)",
                       o->pulse_duration);
    if (!isfinite(o->chirp_freq_factor))
        return rn_fail(err, RN_ERR_INVALID_ARG, "chirp: frequency factor must be finite");
    double c = round(o->chirp_duration / o->dt), p = round(o->padding_duration / o->dt);
    double total = (c + 2 * p) * o->num_repeats;
    if (c < 2 || !(total <= INT_MAX))
        return rn_fail(
            err, RN_ERR_INVALID_ARG,
            "chirp: %g steps per trial is out of range (need 2 chirp samples, at most %d steps)",
            total, INT_MAX);
    *chirp_n = (long long)c;
    *pad_n = (long long)p;
    return RN_OK;
}

rn_status rn_chirp_steps(const rn_chirp_options *o, int *steps, rn_error *err) {
    long long c = 0, p = 0;
    rn_status st = validate(o, &c, &p, err);
    if (st != RN_OK) return st;
    *steps = (int)((c + 2 * p) * o->num_repeats);
    return rn_ok(err);
}

rn_status rn_chirp_generate(const rn_chirp_options *o, float *input, float *target, int steps,
                            rn_error *err) {
    long long c = 0, p = 0;
    rn_status st = validate(o, &c, &p, err);
    if (st != RN_OK) return st;
    long long period = c + 2 * p;
    if (steps != period * o->num_repeats)
        return rn_fail(err, RN_ERR_SHAPE, "chirp: %d steps given, the task has %lld", steps,
                       period * o->num_repeats);
    const double two_pi = 2.0 * 3.14159265358979323846;
    /* chirp_timebase = linspace(0, chirp_end * dt, chirp_end) */
    double end = (double)c * o->dt, step = end / (double)(c - 1);
    for (long long r = 0; r < o->num_repeats; r++)
        for (long long k = 0; k < period; k++) {
            long long i = r * period + k, j = k - p;
            float u = 0.0f, y = 0.0f;
            if (j >= 0 && j < c) {
                double t = (j == c - 1) ? end : (double)j * step;
                y = (float)sin(t * two_pi * (t * o->chirp_freq_factor));
                u = t < o->pulse_duration ? 1.0f : 0.0f;
            }
            input[i] = u;
            target[i] = y;
        }
    return rn_ok(err);
}
