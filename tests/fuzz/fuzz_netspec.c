/* libFuzzer target: the network given as a text spec or as JSON (--net). An accepted network must be
 * usable: its parameters are listed and read back. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ratenn/ratenn.h"

static void exercise(rn_net *net) {
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        if (rn_net_param_info(net, i, &info, NULL) != RN_OK) abort();
        if (info.count > ((size_t)1 << 22)) continue; /* big but valid: reading it proves nothing */
        float *v = malloc(info.count * sizeof *v + 1);
        if (v && rn_net_get_param(net, info.name, v, info.count, NULL) != RN_OK) abort();
        free(v);
    }
}

/* True when some number in the text exceeds 4096: a valid network that big (linear(11111,111101) is
 * 5 GB of weights) is not a parser bug, but it would trip the fuzzer's memory limit. The size checks
 * themselves are unit-tested (test_netspec.cpp, test_bad_inputs.cpp). */
static bool has_big_number(const char *text) {
    for (const char *p = text; *p; p++) {
        if ((*p >= '0' && *p <= '9') || *p == '.') {
            char *end;
            double v = strtod(p, &end);
            if (!(v <= 4096.0)) return true;
            p = end > p ? end - 1 : p;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (has_big_number(text)) {
        free(text);
        return 0;
    }
    rn_net *net = NULL;
    rn_error err;
    if (rn_net_from_spec(&net, text, 1e-3f, 0, &err) == RN_OK) {
        exercise(net);
        rn_net_free(net);
    }
    net = NULL;
    if (rn_net_from_json(&net, text, 1e-3f, 0, &err) == RN_OK) {
        exercise(net);
        rn_net_free(net);
    }
    free(text);
    return 0;
}
