/* `ratenn params FILE.npz`: every parameter with statistics; time constants with their discrete
 * poles. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ratenn/io.h"

static bool is_tau(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcmp(dot, ".tau") || !strcmp(dot, ".tau1") || !strcmp(dot, ".tau2"));
}

int cli_params(int argc, char **argv) {
    const char *name = NULL;
    double dt = 1e-3;
    int max_rows = 16;
    cli_flag flags[] = {
        {"--name", CLI_STRING, &name, "NAME", "show only this parameter, every element", false},
        {"--dt", CLI_DOUBLE, &dt, "SECONDS", "time step for the poles p = exp(-dt/tau)", false},
        {"--rows", CLI_INT, &max_rows, "K", "channels listed per time constant", false},
    };
    const int n_flags = (int)(sizeof flags / sizeof flags[0]);
    static const char usage[] =
        "usage: ratenn params FILE.npz [NAME | --name NAME] [--dt S]\n\nPrints each parameter's "
        "shape, "
        "mean, std, min and max; for every time constant (tau, tau1, tau2)\nits channels' τ and "
        "pole p = exp(-dt/τ) (and back, τ = -dt/ln p).\n";
    if (argc < 3 || argv[2][0] == '-') {
        if (argc >= 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
            printf("%s\nflags:\n", usage);
            cli_print_flags(flags, n_flags);
            return 0;
        }
        cli_line("ratenn params: give a .npz file (see ratenn params --help)\n");
        return 2;
    }
    /* the README's form: a NAME after the file, as --name */
    const char *positional = argc > 3 && argv[3][0] != '-' ? argv[3] : NULL;
    int parsed = cli_parse_command("params", usage, flags, n_flags, argc, argv, positional ? 4 : 3);
    if (parsed >= 0) return parsed;
    if (positional && name) {
        cli_line("ratenn params: give the NAME or --name, not both\n");
        return 2;
    }
    if (positional) name = positional;
    if (!(dt > 0) || max_rows < 0) {
        cli_line("ratenn params: --dt must be > 0 and --rows >= 0\n");
        return 2;
    }
    rn_array *arr = NULL;
    int n = 0;
    rn_error err = {0};
    if (rn_npz_read(argv[2], &arr, &n, &err) != RN_OK) {
        cli_line("ratenn params: %s\n", err.message);
        return 1;
    }
    int shown = 0;
    printf("%-28s %-12s %12s %12s %12s %12s\n", "parameter", "shape", "mean", "std", "min", "max");
    for (int i = 0; i < n; i++) {
        const rn_array *a = &arr[i];
        if (name && strcmp(a->name, name)) continue;
        shown++;
        double s = 0, s2 = 0, mn = INFINITY, mx = -INFINITY;
        for (size_t k = 0; k < a->count; k++) {
            double v = a->data[k];
            s += v;
            s2 += v * v;
            mn = fmin(mn, v);
            mx = fmax(mx, v);
        }
        double mean = a->count ? s / (double)a->count : 0,
               sd = a->count ? sqrt(fmax(0, s2 / (double)a->count - mean * mean)) : 0;
        char shape[48] = "(";
        for (int d = 0; d < a->ndim; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%zu%s", a->shape[d],
                     a->ndim == 1      ? ",)"
                     : d + 1 < a->ndim ? ","
                                       : ")");
        if (a->ndim == 0) strcpy(shape, "()");
        printf("%-28s %-12s %12.5g %12.5g %12.5g %12.5g\n", a->name, shape, mean, sd, mn, mx);
        if (is_tau(a->name)) {
            size_t rows =
                name ? a->count : (a->count < (size_t)max_rows ? a->count : (size_t)max_rows);
            for (size_t k = 0; k < rows; k++) {
                double tau = a->data[k], p = rn_tau_to_pole(tau, dt);
                printf("    [%zu] tau %.6g s   pole %.9f   tau from pole %.6g s\n", k, tau, p,
                       rn_pole_to_tau(p, dt));
            }
            if (rows < a->count)
                printf("    ... %zu more (use --name %s)\n", a->count - rows, a->name);
        } else if (name) {
            for (size_t k = 0; k < a->count; k++)
                printf("    [%zu] %.9g\n", k, a->data[k]);
        }
    }
    rn_arrays_free(arr, n);
    if (name && !shown) {
        cli_line("ratenn params: %s has no parameter '%s'\n", argv[2], name);
        return 1;
    }
    return 0;
}
