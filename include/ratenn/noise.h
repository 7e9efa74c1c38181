/* ratenn — the noise generator (SPEC.md §6): counter-based Philox4x32-10 with Box-Muller, in cuRAND's
 * layout, so that the CPU and the GPU draw the same ξ for (seed, epoch, layer, trial, step, neuron). */
#ifndef RATENN_NOISE_H
#define RATENN_NOISE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Philox4x32-10 of a 128-bit counter under a 64-bit key, exactly as cuRAND's curand_Philox4x32_10. */
void rn_philox4x32_10_block(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* The standard normal ξ a rate layer of n_neurons draws for (seed, epoch, layer, trial, step, neuron);
 * the layer adds σ·sqrt(dt)·ξ to its input. */
float rn_noise_sample(uint64_t seed, uint32_t epoch, uint32_t layer, uint32_t trial, uint64_t step,
                      uint32_t neuron, uint32_t n_neurons);

#ifdef __cplusplus
}
#endif
#endif
