/* Public entry points to the shared Philox and Box-Muller arithmetic of src/math/rn_math.h. */
#include "ratenn/noise.h"
#include "rn_math.h"

void rn_philox4x32_10_block(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
    rn_philox4x32_10(counter, key, out);
}

float rn_noise_sample(uint64_t seed, uint32_t epoch, uint32_t layer, uint32_t trial, uint64_t step,
                      uint32_t neuron, uint32_t n_neurons) {
    return rn_noise_normal(seed, epoch, layer, trial, step, neuron, n_neurons);
}
