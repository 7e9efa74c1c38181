/* libFuzzer target: the .npy parser (every array a user passes with --input/--target/--mask). */
#include <stddef.h>
#include <stdint.h>

#include "npy_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rn_array a;
    rn_error err;
    if (rn_npy_parse(data, size, "fuzz.npy", &a, &err) == RN_OK) {
        /* an accepted array is whole: its count matches its shape, every element readable */
        volatile float sink = 0.0f;
        for (size_t i = 0; i < a.count; i++)
            sink += a.data[i];
        (void)sink;
        rn_array_free(&a);
    }
    return 0;
}
