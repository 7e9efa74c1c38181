/* libFuzzer target: the command line and JSON config parsers (src/cli/cli_args.c) over a flag table with
 * every kind of flag. The input is split at NUL bytes into argv; the whole input is also tried as a
 * --config document. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[66];
    int argc = 0;
    argv[argc++] = "ratenn";
    argv[argc++] = "train";
    for (size_t i = 0; i < size && argc < 64;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;
    char msg[512], strings[4096];
    bool help = false;
    cli_parse_flags(flags, n_flags, argc, argv, 2, &help, msg, sizeof msg);
    for (int k = 0; k < n_flags; k++)
        flags[k].seen = false;
    const char *const ignored[] = {"net_effective", NULL};
    cli_apply_config_text(flags, n_flags, buf, "fuzz.json", ignored, strings, sizeof strings, msg,
                          sizeof msg);
    free(buf);
    return 0;
}
