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

#ifdef __cplusplus
}
#endif
#endif
