/* Table-driven flag parsing for the CLI: every value is checked in full (no trailing junk, in
 * range). */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decimal.h"
#include "json_strict.h"
#include "read_file.h"

/* Every real-valued flag ends up in a float32 (the network and the trainer compute in it), so a
 * value is refused rather than changed to 0, a subnormal or infinity: 0 or a magnitude from FLT_MIN
 * to FLT_MAX. Writes one line "FLAG: 'TEXT' ..." and returns 1 otherwise. */
static int check_float_range(const char *flag, const char *text, double v, char *errbuf,
                             size_t errlen) {
    if (!isfinite(v) || fabs(v) > FLT_MAX) {
        snprintf(errbuf, errlen, "%s: '%s' is too large (a float32 holds up to %.3g)", flag, text,
                 (double)FLT_MAX);
        return 1;
    }
    if (v != 0.0 && fabs(v) < FLT_MIN) {
        snprintf(errbuf, errlen,
                 "%s: '%s' is too small for a float32 (its smallest normal value is %.3g)", flag,
                 text, (double)FLT_MIN);
        return 1;
    }
    return 0;
}

static int parse_value(cli_flag *f, const char *text, char *errbuf, size_t errlen) {
    char *end = NULL;
    errno = 0;
    switch (f->type) {
    case CLI_INT:
    case CLI_INT64: {
        /* digits after an optional sign: strtoll would also skip white space before them */
        size_t sign = text[0] == '+' || text[0] == '-';
        long long v = strtoll(text, &end, 10);
        if (!(text[sign] >= '0' && text[sign] <= '9') || *end != '\0' || errno == ERANGE ||
            (f->type == CLI_INT && (v < INT_MIN || v > INT_MAX))) {
            snprintf(errbuf, errlen, "%s: '%s' is not an integer in range", f->name, text);
            return 1;
        }
        if (f->type == CLI_INT)
            *(int *)f->dest = (int)v;
        else
            *(long long *)f->dest = v;
        return 0;
    }
    case CLI_DOUBLE: {
        /* as it looks: not hexadecimal ("0x10" is 16 to strtod), "inf" or "nan" (decimal.h) */
        double v = strtod(text, &end);
        if (!rn_is_decimal(text) || *end != '\0' || isnan(v) || (isinf(v) && errno != ERANGE)) {
            snprintf(errbuf, errlen,
                     "%s: '%s' is not a finite number in decimal notation (such as 0.01 or 1e-2)",
                     f->name, text);
            return 1;
        }
        /* ERANGE: an overflow (±HUGE_VAL) or an underflow (a subnormal or 0): both said as such */
        if (check_float_range(f->name, text, errno == ERANGE && v == 0.0 ? DBL_MIN : v, errbuf,
                              errlen))
            return 1;
        *(double *)f->dest = v;
        return 0;
    }
    case CLI_STRING:
        if (text[0] == '\0') {
            snprintf(errbuf, errlen, "%s: the value is empty", f->name);
            return 1;
        }
        *(const char **)f->dest = text;
        return 0;
    case CLI_SWITCH:
        *(bool *)f->dest = true;
        return 0;
    }
    return 1;
}

int cli_parse_flags(cli_flag *flags, int n_flags, int argc, char **argv, int first, bool *help,
                    char *errbuf, size_t errlen) {
    *help = false;
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *help = true;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        cli_flag *f = NULL;
        for (int k = 0; k < n_flags; k++)
            if (strlen(flags[k].name) == name_len && strncmp(flags[k].name, arg, name_len) == 0)
                f = &flags[k];
        if (!f) {
            snprintf(errbuf, errlen, "unknown %s '%.*s' (see --help)",
                     strncmp(arg, "-", 1) == 0 ? "flag" : "argument", (int)name_len, arg);
            return 1;
        }
        if (f->seen) {
            snprintf(errbuf, errlen, "%s is given more than once", f->name);
            return 1;
        }
        f->seen = true;
        if (f->type == CLI_SWITCH) {
            if (eq) {
                snprintf(errbuf, errlen, "%s takes no value", f->name);
                return 1;
            }
            *(bool *)f->dest = true;
            continue;
        }
        /* "--hidden --out d" is a missing value, not the value "--out" (negative numbers have one
         * dash). */
        const char *value =
            eq ? eq + 1 : (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 ? argv[++i] : NULL);
        if (!value) {
            snprintf(errbuf, errlen, "%s needs a value (%s)", f->name,
                     f->metavar ? f->metavar : "VALUE");
            return 1;
        }
        if (parse_value(f, value, errbuf, errlen)) return 1;
    }
    return 0;
}

void cli_print_flags(const cli_flag *flags, int n_flags) {
    for (int k = 0; k < n_flags; k++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", flags[k].name, flags[k].metavar ? " " : "",
                 flags[k].metavar ? flags[k].metavar : "");
        /* the default is the flag's variable before parsing: stated here, not in the help text */
        char def[64] = "";
        const cli_flag *f = &flags[k];
        if (!strstr(f->help, "(default")) {
            if (f->type == CLI_INT)
                snprintf(def, sizeof def, " (default %d)", *(const int *)f->dest);
            else if (f->type == CLI_INT64)
                snprintf(def, sizeof def, " (default %lld)", *(const long long *)f->dest);
            else if (f->type == CLI_DOUBLE)
                snprintf(def, sizeof def, " (default %g)", *(const double *)f->dest);
            else if (f->type == CLI_STRING && *(const char *const *)f->dest &&
                     **(const char *const *)f->dest)
                snprintf(def, sizeof def, " (default %.40s)", *(const char *const *)f->dest);
        }
        printf("  %-24s %s%s\n", left, f->help, def);
    }
}

int cli_parse_command(const char *cmd, const char *usage, cli_flag *flags, int n_flags, int argc,
                      char **argv, int first) {
    bool help = false;
    char msg[1024];
    if (cli_parse_flags(flags, n_flags, argc, argv, first, &help, msg, sizeof msg)) {
        cli_line("ratenn %s: %s\n", cmd, msg);
        return 2;
    }
    if (!help) return -1;
    printf("%s\nflags:\n", usage);
    cli_print_flags(flags, n_flags);
    return 0;
}

/* ---- config files: every flag's value as JSON, keyed by the flag's name without "--" ---- */
#include <cjson/cJSON.h>

static void json_string(FILE *fp, const char *s) {
    char *q = cli_json_quote(s);
    fputs(q ? q : "\"\"", fp);
    free(q);
}

void cli_write_config(FILE *fp, const cli_flag *flags, int n_flags, const char *extra) {
    fprintf(fp, "{\n");
    for (int k = 0; k < n_flags; k++) {
        const cli_flag *f = &flags[k];
        if (f->type == CLI_SWITCH && f->help && strstr(f->help, "[not saved]")) continue;
        fprintf(fp, "  ");
        json_string(fp, f->name + 2);
        fprintf(fp, ": ");
        switch (f->type) {
        case CLI_INT:
            fprintf(fp, "%d", *(int *)f->dest);
            break;
        case CLI_INT64:
            fprintf(fp, "%lld", *(long long *)f->dest);
            break;
        case CLI_DOUBLE:
            fprintf(fp, "%.17g", *(double *)f->dest);
            break;
        case CLI_SWITCH:
            fprintf(fp, "%s", *(bool *)f->dest ? "true" : "false");
            break;
        case CLI_STRING: {
            const char *v = *(const char **)f->dest;
            if (v)
                json_string(fp, v);
            else
                fprintf(fp, "null");
            break;
        }
        }
        fprintf(fp, "%s\n", (k + 1 < n_flags || extra) ? "," : "");
    }
    if (extra) fprintf(fp, "%s\n", extra);
    fprintf(fp, "}\n");
}

int cli_apply_config(cli_flag *flags, int n_flags, const char *path, const cli_info_key *info,
                     char *strings, size_t strings_len, char *errbuf, size_t errlen) {
    unsigned char *buf = NULL;
    size_t len = 0;
    rn_error err = {0};
    if (rn_read_file(path, &buf, &len, &err) != RN_OK) {
        snprintf(errbuf, errlen, "--config %s", err.message);
        return 1;
    }
    if (len > ((size_t)1 << 20)) {
        snprintf(errbuf, errlen, "--config %s: larger than 1 MiB", path);
        free(buf);
        return 1;
    }
    char *text = (char *)buf;
    text[len] = '\0';
    if (strlen(text) != len) {
        snprintf(errbuf, errlen, "--config %s: a NUL byte at byte %zu (a config is JSON text)",
                 path, strlen(text));
        free(text);
        return 1;
    }
    int rc = cli_apply_config_text(flags, n_flags, text, path, info, strings, strings_len, errbuf,
                                   errlen);
    free(text);
    return rc;
}

int cli_apply_config_text(cli_flag *flags, int n_flags, const char *text, const char *path,
                          const cli_info_key *info, char *strings, size_t strings_len, char *errbuf,
                          size_t errlen) {
    rn_error perr = {0};
    cJSON *doc = rn_json_parse_strict(text, strlen(text), &perr);
    if (!doc) {
        snprintf(errbuf, errlen, "--config %s: %s", path, perr.message);
        return 1;
    }
    if (!cJSON_IsObject(doc)) {
        snprintf(errbuf, errlen, "--config %s: not a JSON object", path);
        cJSON_Delete(doc);
        return 1;
    }
    int rc = 0;
    size_t used = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, doc) {
        const cli_info_key *ik = info;
        while (ik && ik->name && strcmp(ik->name, item->string))
            ik++;
        if (ik && ik->name) {
            if (ik->count ? !(cJSON_IsNumber(item) && item->valuedouble >= 0 &&
                              item->valuedouble == floor(item->valuedouble))
                          : !cJSON_IsString(item)) {
                snprintf(errbuf, errlen, "--config %s: \"%s\" must be %s", path, item->string,
                         ik->count ? "a whole number >= 0" : "a string");
                rc = 1;
                break;
            }
            continue;
        }
        cli_flag *f = NULL;
        for (int k = 0; k < n_flags; k++)
            if (strcmp(flags[k].name + 2, item->string) == 0) f = &flags[k];
        if (!f) {
            snprintf(errbuf, errlen, "--config %s: unknown key \"%.64s\"", path, item->string);
            rc = 1;
            break;
        }
        /* null: how cli_write_config says a string flag is unset (the default stays) */
        if (cJSON_IsNull(item) && f->type == CLI_STRING) continue;
        /* --config and --resume name other files: never from a file (a run-time switch such as
         * --quiet may be) */
        if (f->type == CLI_STRING && f->help && strstr(f->help, "[not saved]")) {
            snprintf(errbuf, errlen,
                     "--config %s: \"%s\" cannot be set in a config file (give %s "
                     "on the command line)",
                     path, item->string, f->name);
            rc = 1;
            break;
        }
        bool ok = true;
        const char *want = "";
        switch (f->type) {
        case CLI_INT:
        case CLI_INT64:
            want = f->type == CLI_INT ? "a whole number from -2147483648 to 2147483647"
                                      : "a whole number";
            ok = cJSON_IsNumber(item) && item->valuedouble == floor(item->valuedouble) &&
                 fabs(item->valuedouble) < (f->type == CLI_INT ? 2147483648.0 : 9.2e18);
            if (ok && f->type == CLI_INT)
                *(int *)f->dest = (int)item->valuedouble;
            else if (ok)
                *(long long *)f->dest = (long long)item->valuedouble;
            break;
        case CLI_DOUBLE:
            want = "a number";
            ok = cJSON_IsNumber(item);
            if (ok) {
                char what[80];
                snprintf(what, sizeof what, "--config %s: \"%s\"", path, item->string);
                char shown[32];
                snprintf(shown, sizeof shown, "%.9g", item->valuedouble);
                if (check_float_range(what, shown, item->valuedouble, errbuf, errlen)) {
                    rc = 1;
                    goto done;
                }
                *(double *)f->dest = item->valuedouble;
            }
            break;
        case CLI_SWITCH:
            want = "true or false";
            ok = cJSON_IsBool(item);
            if (ok) *(bool *)f->dest = cJSON_IsTrue(item);
            break;
        case CLI_STRING: {
            want = "a string (or null)";
            ok = cJSON_IsString(item) && item->valuestring[0] != '\0';
            if (cJSON_IsString(item) && !ok) want = "a non-empty string (or null)";
            size_t n = ok ? strlen(item->valuestring) + 1 : 0;
            if (ok && used + n > strings_len) {
                snprintf(errbuf, errlen, "--config %s: string values too long", path);
                rc = 1;
                goto done;
            }
            if (ok) {
                memcpy(strings + used, item->valuestring, n);
                *(const char **)f->dest = strings + used;
                used += n;
            }
            break;
        }
        }
        if (!ok) {
            snprintf(errbuf, errlen, "--config %s: \"%s\" must be %s", path, item->string, want);
            rc = 1;
            break;
        }
    }
done:
    cJSON_Delete(doc);
    return rc;
}
