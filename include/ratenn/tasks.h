/* ratenn — the tasks shipped with it (SPEC.md §7). */
#ifndef RATENN_TASKS_H
#define RATENN_TASKS_H

#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The pulse-to-chirp task of Rockpool's tutorial: a trigger pulse in, a chirp sin(2π f t·t) out, padded
 * with zeros before and after, repeated. All durations in seconds. */
typedef struct rn_chirp_options {
    int num_repeats;          /* 1 */
    double pulse_duration;    /* 0.050 */
    double chirp_freq_factor; /* 10 */
    double padding_duration;  /* 1 */
    double chirp_duration;    /* 1 */
    double dt;                /* 0.001 */
} rn_chirp_options;

rn_chirp_options rn_chirp_options_default(void);

/* The number of steps T of one trial (3000 · repeats with the defaults). */
rn_status rn_chirp_steps(const rn_chirp_options *options, int *steps, rn_error *err);

/* Fills input (T) with the trigger and target (T) with the chirp; T must equal rn_chirp_steps. */
rn_status rn_chirp_generate(const rn_chirp_options *options, float *input, float *target, int steps,
                            rn_error *err);

/* The synaptic time-constant task of the nengo_dl seed: input all ones for `duration` seconds, target
 * the step response (from 0) of lowpass(tau), or of doubleexp(tau, tau2) when tau2 > 0, with the same
 * ZOH stages as ratenn's filter layers, so a filter layer that learns the true τ reaches MSE 0. */
typedef struct rn_synapse_options {
    double duration; /* 1 */
    double dt;       /* 0.001 */
    double tau;      /* 0.1 (lowpass); τ1 of doubleexp */
    double tau2;     /* 0: lowpass; > 0: doubleexp(tau, tau2) */
} rn_synapse_options;

rn_synapse_options rn_synapse_options_default(void);
rn_status rn_synapse_steps(const rn_synapse_options *options, int *steps, rn_error *err);
rn_status rn_synapse_generate(const rn_synapse_options *options, float *input, float *target,
                              int steps, rn_error *err);

/* Pole ↔ time constant of a ZOH stage: p = exp(−dt/τ), τ = −dt / ln(p). */
double rn_tau_to_pole(double tau, double dt);
double rn_pole_to_tau(double pole, double dt);

#ifdef __cplusplus
}
#endif
#endif
