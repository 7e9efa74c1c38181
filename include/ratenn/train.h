/* ratenn — training a network by backpropagation through time.
 *
 * A trainer binds a network to a backend and a batch shape (B trials of T steps), sizes every buffer once
 * (one arena, reported by rn_trainer_memory_bytes), and runs epochs: forward, loss (SPEC.md §3), backward
 * (§4) and an optimiser step (§5) on every trainable parameter. */
#ifndef RATENN_TRAIN_H
#define RATENN_TRAIN_H

#include <stdint.h>

#include "ratenn/backend.h"
#include "ratenn/net.h"
#include "ratenn/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rn_optimizer { RN_OPT_ADAM = 0, RN_OPT_SGD = 1 } rn_optimizer;

typedef struct rn_train_config {
    rn_optimizer optimizer;
    float lr;          /* learning rate (default 1e-4) */
    float b1, b2, eps; /* Adam (0.9, 0.999, 1e-8) */
    float clip_norm;   /* global gradient-norm clipping; 0 = off (default) */
    float w_mse;       /* loss weights (SPEC §3): 1, 10, 1 as the tutorial */
    float w_bounds;
    float w_l2;
    uint64_t noise_seed; /* seed of the rate layers' noise ξ (SPEC §6) */
    bool graphs;         /* CUDA: record an epoch's forward and backward once as a CUDA graph and
                            replay it (default true; same numbers, fewer launches); ignored on CPU */
    /* Memory (checkpointed BPTT). The trainer's buffers stay within max_memory bytes (0: half of
     * the host's available memory on the CPU; no limit on other backends): every step is stored
     * when that fits, else the state is kept every K steps and each segment of K steps but the
     * newest is recomputed from its checkpoint in the backward pass (up to one forward more per
     * epoch), with the same result bit for bit. K is the largest that fits a budget given (the
     * fewest steps recomputed) and the one needing the least memory (about √T) under the default. checkpoint_steps sets K instead (0: from the budget; >= T:
     * store everything). Sums over time go in blocks of block_steps steps (0: 1000) whatever K is,
     * K being rounded up to a multiple of it. Any chain of layers can be checkpointed. */
    size_t max_memory;
    int checkpoint_steps;
    int block_steps;
    bool shared_data; /* the data will come from rn_trainer_set_shared_data (every trial the same;
                         rn_trainer_set_data is refused): the target and the mask are then held
                         once, and the input where the first layer is linear or the trainer
                         checkpoints */
} rn_train_config;

rn_train_config rn_train_config_default(void);

/* The loss of one evaluation, term by term (total = w_mse·mse + w_bounds·bounds + w_l2·l2). */
typedef struct rn_loss_parts {
    double total, mse, bounds, l2;
    double grad_norm; /* ‖∇L‖ over the trainable elements, before clipping */
    double device_ms; /* rn_trainer_epoch on a GPU: the epoch's device time in ms (CUDA events, from
                         its first operation to its last); -1 where not measured (the CPU) */
} rn_loss_parts;

typedef enum rn_record_kind {
    RN_RECORD_OUTPUT = 0, /* a layer's output (B, T, n_out) */
    RN_RECORD_X = 1,      /* a rate layer's state x (B, T, N) */
    RN_RECORD_R = 2,      /* a rate layer's recurrent input r (B, T, N); zeros if not recurrent */
} rn_record_kind;

typedef struct rn_trainer rn_trainer;

/* Creates a trainer for `net` on `backend` with B = batch trials of T = steps steps. The network and the
 * backend must outlive the trainer, and the network must not gain layers meanwhile. Parameter values,
 * trainable flags and bounds are copied to the backend now (and again by rn_trainer_push_params).
 * Sizes: B·T·C < 2³¹ for the input's and the output's channels C; where B·T·width (the widest layer)
 * is past 2³¹ the layers run by segments of at most 2³¹ / (B·width) steps (checkpoints), and one
 * block of steps (block_steps) must fit. */
rn_status rn_trainer_create(rn_trainer **trainer, rn_net *net, rn_backend *backend,
                            const rn_train_config *config, int batch, int steps, rn_error *err);
void rn_trainer_free(rn_trainer *trainer);

/* Sets the data: input (B, T, C_in), target (B, T, C_out) or NULL (forward only), mask (B, T) or NULL
 * (every step counts). Values must be finite; the mask must be >= 0 with a positive sum. */
rn_status rn_trainer_set_data(rn_trainer *trainer, const float *input, const float *target,
                              const float *mask, rn_error *err);

/* As rn_trainer_set_data for data that every trial shares: input (T, C_in), target (T, C_out) or
 * NULL, mask (T) or NULL. Each trial draws its own noise. */
rn_status rn_trainer_set_shared_data(rn_trainer *trainer, const float *input, const float *target,
                                     const float *mask, rn_error *err);

/* Forward, loss and backward at the current parameters, without a step. Gradients are then readable with
 * rn_trainer_get_grad. Noise is drawn for the current epoch number. */
rn_status rn_trainer_compute_gradients(rn_trainer *trainer, rn_loss_parts *loss, rn_error *err);

/* One training epoch: rn_trainer_compute_gradients, then the optimiser step and clip-bound projection.
 * `loss` is the loss before the step. A non-finite loss or gradient returns RN_ERR_DIVERGED, names the
 * quantity, and leaves the parameters as they were. So does a step that would leave a trainable time
 * constant ≤ 0, non-finite or too small for dt/τ in a float (SPEC §2): the parameters and the
 * optimiser's state are put back as they were before the epoch, and the message names the element. */
rn_status rn_trainer_epoch(rn_trainer *trainer, rn_loss_parts *loss, rn_error *err);

/* Runs the network forward on the data's input and copies the last layer's output (B, T, C_out) to
 * `output` (may be NULL). With noise false the rate layers run noiseless. Afterwards every layer's
 * recordings are readable with rn_trainer_get_record (until the next epoch). */
rn_status rn_trainer_forward(rn_trainer *trainer, float *output, bool noise, rn_error *err);
rn_status rn_trainer_get_record(const rn_trainer *trainer, int layer, rn_record_kind kind,
                                float *values, size_t count, rn_error *err);

/* A recording taken during a forward pass, in bounded memory whatever T is: trials [0, trials) of
 * one layer's quantity at steps 0, stride, 2·stride, ... into values (trials, ⌈T / stride⌉, width). */
typedef struct rn_record_request {
    int layer;
    rn_record_kind kind;
    int trials; /* 1..B */
    int stride; /* >= 1 */
    float *values;
} rn_record_request;

/* rn_trainer_forward that also fills the n requests as the segments go by (rn_trainer_get_record
 * can only give what the buffers still hold: with checkpoints, the last layer's output). */
rn_status rn_trainer_forward_record(rn_trainer *trainer, float *output, bool noise,
                                    const rn_record_request *requests, int n, rn_error *err);

/* The gradient of one parameter from the last compute_gradients / epoch. */
rn_status rn_trainer_get_grad(const rn_trainer *trainer, const char *name, float *values,
                              size_t count, rn_error *err);

/* Copies the trained parameter values back into the network (so rn_net_get_param sees them). */
rn_status rn_trainer_pull_params(rn_trainer *trainer, rn_error *err);
/* Uploads the network's values, trainable flags and bounds again (after the user changed them). */
rn_status rn_trainer_push_params(rn_trainer *trainer, rn_error *err);

/* The optimiser's state, for checkpoints: Adam's moments m and v over the whole parameter block (in the
 * network's parameter order, rn_net_param_total elements each; zeros for SGD) and the number of epochs
 * done (which is also the noise epoch of the next one). Restoring it with the same parameters continues a
 * run bit for bit. */
rn_status rn_trainer_get_optimizer_state(const rn_trainer *trainer, float *m, float *v,
                                         size_t count, int64_t *epochs_done, rn_error *err);
rn_status rn_trainer_set_optimizer_state(rn_trainer *trainer, const float *m, const float *v,
                                         size_t count, int64_t epochs_done, rn_error *err);

int64_t rn_trainer_epochs_done(const rn_trainer *trainer);
size_t rn_trainer_memory_bytes(const rn_trainer *trainer); /* the backend arena's size */
/* The budget K was chosen under (bytes; SIZE_MAX: none), and K: the steps between checkpoints (T when
 * every step is stored). */
size_t rn_trainer_memory_budget(const rn_trainer *trainer);
int rn_trainer_checkpoint_steps(const rn_trainer *trainer);
/* How many epochs (and rn_trainer_compute_gradients calls) replayed a recorded graph: on a backend
 * with graphs (CUDA) and cfg.graphs on, every one but the first, and but the first after a change of
 * what trains, of the mask's presence or of a noise level (those run directly: new kernels and
 * product shapes meet the device outside a recording). It stays 0 on the CPU, with graphs off, and
 * after a recording failed (the trainer then runs every epoch directly: same numbers, more
 * launches). */
int64_t rn_trainer_graph_replays(const rn_trainer *trainer);

/* The noise draws (SPEC §6): RN_NOISE_FRESH (the default) draws ξ with the epoch's counter, so each
 * epoch sees new noise; RN_NOISE_FROZEN draws epoch 0's ξ in every epoch, forward and gradients alike,
 * as the Rockpool tutorial's loop does (its reset_state() restores one RNG key each epoch). Only the
 * noise is frozen: the epoch count and Adam's bias correction advance as usual. */
typedef enum rn_noise_mode { RN_NOISE_FRESH = 0, RN_NOISE_FROZEN = 1 } rn_noise_mode;
rn_status rn_trainer_set_noise_mode(rn_trainer *trainer, rn_noise_mode mode, rn_error *err);

#ifdef __cplusplus
}
#endif
#endif
