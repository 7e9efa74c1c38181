/* libFuzzer target: the .npz reader (--init, --resume, eval --params). */
#include <stddef.h>
#include <stdint.h>

#include "npy_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rn_array *arrays = NULL;
    int count = 0;
    rn_error err;
    if (rn_npz_parse(data, size, "fuzz.npz", &arrays, &count, &err) == RN_OK) {
        volatile float sink = 0.0f;
        for (int k = 0; k < count; k++)
            for (size_t i = 0; i < arrays[k].count; i++)
                sink += arrays[k].data[i];
        (void)sink;
        rn_arrays_free(arrays, count);
    }
    return 0;
}
