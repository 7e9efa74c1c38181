/* The synapse task (SPEC §7, the nengo_dl seed): learn a filter's time constant from its step response. */
#include <limits.h>
#include <math.h>

#include "error.h"
#include "ratenn/tasks.h"

rn_synapse_options rn_synapse_options_default(void) {
    rn_synapse_options o;
    o.duration = 1.0;
    o.dt = 0.001;
    o.tau = 0.1;
    o.tau2 = 0.0;
    return o;
}

double rn_tau_to_pole(double tau, double dt) {
    return exp(-dt / tau);
}
double rn_pole_to_tau(double pole, double dt) {
    return -dt / log(pole);
}

static rn_status validate(const rn_synapse_options *o, int *steps, rn_error *err) {
    if (!o) return rn_fail(err, RN_ERR_INVALID_ARG, "synapse: options are NULL");
    if (!(o->dt > 0) || !isfinite(o->dt))
        return rn_fail(err, RN_ERR_INVALID_ARG, "synapse: dt must be finite and > 0 (got %g)",
                       o->dt);
    if (!(o->tau > 0) || !isfinite(o->tau) || !(o->tau2 >= 0) || !isfinite(o->tau2))
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "synapse: tau must be > 0 and tau2 >= 0 (got %g, %g)", o->tau, o->tau2);
    double n = round(o->duration / o->dt);
    if (!(n >= 1) || !(n <= INT_MAX))
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "synapse: duration %g s at dt %g gives no usable step count", o->duration,
                       o->dt);
    *steps = (int)n;
    return RN_OK;
}

rn_status rn_synapse_steps(const rn_synapse_options *o, int *steps, rn_error *err) {
    rn_status st = validate(o, steps, err);
    return st == RN_OK ? rn_ok(err) : st;
}

rn_status rn_synapse_generate(const rn_synapse_options *o, float *input, float *target, int steps,
                              rn_error *err) {
    int n = 0;
    rn_status st = validate(o, &n, err);
    if (st != RN_OK) return st;
    if (steps != n)
        return rn_fail(err, RN_ERR_SHAPE, "synapse: %d steps given, the task has %d", steps, n);
    double p1 = exp(-o->dt / o->tau), q1 = -expm1(-o->dt / o->tau);
    double p2 = o->tau2 > 0 ? exp(-o->dt / o->tau2) : 0,
           q2 = o->tau2 > 0 ? -expm1(-o->dt / o->tau2) : 0;
    double y1 = 0, y2 = 0;
    for (int t = 0; t < n; t++) {
        input[t] = 1.0f;
        y1 = p1 * y1 + q1 * 1.0;
        y2 = p2 * y2 + q2 * y1;
        target[t] = (float)(o->tau2 > 0 ? y2 : y1);
    }
    return rn_ok(err);
}
