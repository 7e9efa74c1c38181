/* ratenn — what a binding from another language needs to check its copy of the public structs.
 *
 * A foreign-function binding (the Python package's ctypes layer) declares the public structs again in
 * its own language; a struct that gains a field in C would then be read and written at the wrong size.
 * rn_struct_size lets such a binding compare its sizes with the library's when it loads, and fail with
 * a clear message instead of corrupting memory. */
#ifndef RATENN_ABI_H
#define RATENN_ABI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* sizeof the public struct of that name ("rn_error", "rn_rate_options", "rn_param_info",
 * "rn_train_config", "rn_loss_parts", "rn_array", "rn_chirp_options", "rn_synapse_options"), or 0
 * for a name that is not one of them. */
size_t rn_struct_size(const char *type_name);

#ifdef __cplusplus
}
#endif
#endif
