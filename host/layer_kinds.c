/* The layer kinds the trainer knows, by rn_layer_kind: registering a kind is one line here. */
#include "trainer_impl.h"

static const rn_layer_kind_ops *const kinds[] = {
    [RN_LAYER_LINEAR] = &rn_layer_linear_ops,    [RN_LAYER_RATE] = &rn_layer_rate_ops,
    [RN_LAYER_LOWPASS] = &rn_layer_filter_ops,   [RN_LAYER_ALPHA] = &rn_layer_filter_ops,
    [RN_LAYER_DOUBLEEXP] = &rn_layer_filter_ops,
};
_Static_assert(sizeof kinds / sizeof kinds[0] == RN_LAYER_KIND_COUNT,
               "every rn_layer_kind has its table here");

const rn_layer_kind_ops *rn_layer_ops(rn_layer_kind kind) {
    return (unsigned)kind < RN_LAYER_KIND_COUNT ? kinds[kind] : NULL;
}
