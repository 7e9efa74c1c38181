/* Sizes of the public structs, for bindings that declare them again (ratenn/abi.h). */
#include <string.h>

#include "ratenn/ratenn.h"

size_t rn_struct_size(const char *type_name) {
    static const struct {
        const char *name;
        size_t size;
    } table[] = {
        {"rn_error", sizeof(rn_error)},
        {"rn_rate_options", sizeof(rn_rate_options)},
        {"rn_param_info", sizeof(rn_param_info)},
        {"rn_train_config", sizeof(rn_train_config)},
        {"rn_loss_parts", sizeof(rn_loss_parts)},
        {"rn_array", sizeof(rn_array)},
        {"rn_chirp_options", sizeof(rn_chirp_options)},
        {"rn_synapse_options", sizeof(rn_synapse_options)},
    };
    if (!type_name) return 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].name, type_name)) return table[i].size;
    return 0;
}
