/* JSON read strictly (see json_strict.h). */
#include "json_strict.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Whether a string of the (already parsed, hence well-formed) text holds the escape \u0000; the
 * scan is in step with the parser only because the text parsed. */
static const char *escaped_nul(const char *s) {
    bool in_string = false;
    for (; *s; s++) {
        if (!in_string) {
            in_string = *s == '"';
            continue;
        }
        if (*s == '"') {
            in_string = false;
        } else if (*s == '\\') {
            if (s[1] == 'u' && !strncmp(s + 2, "0000", 4)) return s;
            if (s[1]) s++; /* the escaped character */
        }
    }
    return NULL;
}

static int by_key(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that occurs twice in one object anywhere in the tree (the object's key is put in
 * *parent, "" for the top level), or NULL; RN_ERR_NO_MEMORY on *oom. */
static const char *duplicate_key(const cJSON *node, const char **parent, bool *oom) {
    if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) return NULL;
    int n = cJSON_GetArraySize(node);
    if (cJSON_IsObject(node) && n > 1) {
        const char **keys = malloc((size_t)n * sizeof *keys);
        if (!keys) {
            *oom = true;
            return NULL;
        }
        int k = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, node) keys[k++] = c->string;
        qsort(keys, (size_t)n, sizeof *keys, by_key); /* sorted: a hostile object costs n log n */
        const char *dup = NULL;
        for (int i = 1; i < n && !dup; i++)
            if (!strcmp(keys[i - 1], keys[i])) dup = keys[i];
        free(keys);
        if (dup) {
            *parent = node->string ? node->string : "";
            return dup;
        }
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, node) {
        const char *dup = duplicate_key(c, parent, oom);
        if (dup || *oom) return dup;
    }
    return NULL;
}

cJSON *rn_json_parse_strict(const char *text, size_t len, rn_error *err) {
    size_t n = strlen(text);
    if (n != len) {
        rn_fail(err, RN_ERR_FORMAT, "a NUL byte at byte %zu (JSON is text)", n);
        return NULL;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(text, &end, 0);
    if (!doc) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        rn_fail(err, RN_ERR_FORMAT, "not valid JSON at byte %zu ('%.20s')", at, text + at);
        return NULL;
    }
    end += strspn(end, " \t\r\n");
    if (*end) {
        rn_fail(err, RN_ERR_FORMAT, "trailing data after the JSON value at byte %zu ('%.20s')",
                (size_t)(end - text), end);
        cJSON_Delete(doc);
        return NULL;
    }
    const char *nul = escaped_nul(text);
    if (nul) {
        rn_fail(err, RN_ERR_FORMAT, "a string holds NUL (\\u0000) at byte %zu",
                (size_t)(nul - text));
        cJSON_Delete(doc);
        return NULL;
    }
    const char *parent = "";
    bool oom = false;
    const char *dup = duplicate_key(doc, &parent, &oom);
    if (dup || oom) {
        if (oom)
            rn_fail(err, RN_ERR_NO_MEMORY, "out of memory checking the JSON's keys");
        else
            rn_fail(err, RN_ERR_FORMAT, "the key \"%.64s\" is given twice%s%.64s%s", dup,
                    parent[0] ? " in \"" : "", parent, parent[0] ? "\"" : "");
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}
