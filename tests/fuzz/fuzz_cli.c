/* libFuzzer target: the command line and JSON config parsers (src/cli/cli_args.c) over a flag table with
 * every kind of flag. The input is split at NUL bytes into argv; the whole input is also tried as a
 * --config document. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz_argv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 8192) return 0;
    int hidden = 50;
    long long epochs = 6000;
    double lr = 1e-4;
    const char *out = "x", *net = NULL;
    bool quiet = false;
    cli_flag flags[] = {
        {"--hidden", CLI_INT, &hidden, "N", "neurons", false},
        {"--epochs", CLI_INT64, &epochs, "E", "epochs", false},
        {"--lr", CLI_DOUBLE, &lr, "R", "rate", false},
        {"--out", CLI_STRING, &out, "DIR", "dir", false},
        {"--net", CLI_STRING, &net, "SPEC", "net", false},
        {"--quiet", CLI_SWITCH, &quiet, NULL, "quiet", false},
    };
    int n_flags = (int)(sizeof flags / sizeof flags[0]);
    fuzz_argv a;
    fuzz_argv_make(&a, data, size);
    if (!a.buf) return 0;
    char msg[512], strings[4096];
    bool help = false;
    cli_parse_flags(flags, n_flags, a.argc, a.argv, 2, &help, msg, sizeof msg);
    for (int k = 0; k < n_flags; k++)
        flags[k].seen = false;
    const cli_info_key info[] = {{"net_effective", false}, {"steps", true}, {NULL, false}};
    cli_apply_config_text(flags, n_flags, a.buf, "fuzz.json", info, strings, sizeof strings, msg,
                          sizeof msg); /* (the text up to the first NUL) */
    fuzz_argv_free(&a);
    return 0;
}
