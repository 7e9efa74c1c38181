/* The CLI's text inputs: whole text files (--config, --net X.json, a run's config.json), JSON
 * strings out, and a network from whatever --net holds (a spec, a .json file, or JSON text). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "error.h"
#include "json_strict.h"
#include "read_file.h"

void cli_line(const char *fmt, ...) {
    char small[2048], *buf = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof small && (buf = malloc((size_t)n + 1))) {
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    } else if (!buf) {
        buf = small; /* (out of memory: the message cut short) */
    }
    size_t len = strlen(buf);
    const bool newline = len && buf[len - 1] == '\n';
    if (newline) buf[len - 1] = '\0';
    rn_one_line(buf);
    fprintf(stderr, "%s%s", buf, newline ? "\n" : "");
    if (buf != small) free(buf);
}

char *cli_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

char *cli_read_text(const char *cmd, const char *what, const char *path, size_t max_bytes) {
    unsigned char *buf = NULL;
    size_t len = 0;
    rn_error err = {0};
    if (rn_read_file(path, &buf, &len, &err) != RN_OK) {
        cli_line("ratenn %s: %s %s\n", cmd, what, err.message);
        return NULL;
    }
    if (len > max_bytes) {
        cli_line("ratenn %s: %s %s: larger than %zu bytes\n", cmd, what, path, max_bytes);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';                  /* rn_read_file leaves one spare byte */
    if (strlen((char *)buf) != len) { /* what follows a NUL would be dropped unseen */
        cli_line("ratenn %s: %s %s: a NUL byte at byte %zu (expected text)\n", cmd, what, path,
                 strlen((char *)buf));
        free(buf);
        return NULL;
    }
    return (char *)buf;
}

char *cli_json_quote(const char *s) {
    size_t n = strlen(s);
    char *out = malloc(6 * n + 3), *o = out;
    if (!out) return NULL;
    *o++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20) {
            o += sprintf(o, "\\u%04x", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

char *cli_config_string(const char *cmd, const char *path, const char *key) {
    char *text = cli_read_text(cmd, "config", path, (size_t)1 << 20);
    if (!text) return NULL;
    rn_error err = {0};
    cJSON *doc = rn_json_parse_strict(text, strlen(text), &err);
    free(text);
    if (!doc) {
        cli_line("ratenn %s: %s: %s\n", cmd, path, err.message);
        return NULL;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
    char *out = cJSON_IsString(v) ? cli_strdup(v->valuestring) : NULL;
    if (!out) cli_line("ratenn %s: %s has no string \"%s\"\n", cmd, path, key);
    cJSON_Delete(doc);
    return out;
}

int cli_build_net(const char *cmd, const char *spec, double dt, long long seed, rn_net **net,
                  char **effective) {
    rn_error err = {0};
    size_t len = strlen(spec);
    const char *p = spec + strspn(spec, " \t\r\n");
    char *text = NULL;
    rn_status st;
    if (len > 5 && !strcmp(spec + len - 5, ".json")) {
        if (!(text = cli_read_text(cmd, "--net", spec, (size_t)1 << 20))) return 1;
        st = rn_net_from_json(net, text, (float)dt, (uint64_t)seed, &err);
    } else if (*p == '{') {
        st = rn_net_from_json(net, spec, (float)dt, (uint64_t)seed, &err);
    } else {
        st = rn_net_from_spec(net, spec, (float)dt, (uint64_t)seed, &err);
    }
    if (st != RN_OK) {
        cli_line("ratenn %s: --net: %s\n", cmd, err.message);
        free(text);
        return 1;
    }
    if (effective) {
        /* what config.json keeps: the JSON itself rather than a path that may move */
        *effective = text ? text : cli_strdup(spec);
        text = NULL;
        if (!*effective) {
            cli_line("ratenn %s: out of memory\n", cmd);
            rn_net_free(*net);
            *net = NULL;
            return 1;
        }
    }
    free(text);
    return 0;
}
