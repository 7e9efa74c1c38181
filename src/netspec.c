/* Building a network from a short text spec or a JSON document (the CLI's --net). */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "decimal.h"
#include "error.h"
#include "json_strict.h"
#include "net_impl.h"

#define MAX_ARGS 8
#define TOKEN_LEN 64

/* One parsed `kind(arg, key=value, ...)`. */
typedef struct layer_text {
    char kind[TOKEN_LEN];
    int n_args;
    char key[MAX_ARGS][TOKEN_LEN]; /* "" for a positional argument */
    char value[MAX_ARGS][TOKEN_LEN];
    char text[256]; /* the layer as written, for messages */
} layer_text;

static const char *skip_space(const char *s) {
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

/* Reads one token of [A-Za-z0-9_.+-] into out; returns the position after it or NULL. */
static const char *read_token(const char *s, char *out) {
    size_t n = 0;
    while (*s && (isalnum((unsigned char)*s) || *s == '_' || *s == '.' || *s == '+' || *s == '-')) {
        if (n + 1 >= TOKEN_LEN) return NULL;
        out[n++] = *s++;
    }
    out[n] = '\0';
    return n ? s : NULL;
}

static rn_status parse_layer(const char **ps, int index, layer_text *L, rn_error *err) {
    const char *s = skip_space(*ps), *start = s;
    memset(L, 0, sizeof *L);
    s = read_token(s, L->kind);
    if (!s)
        return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d: expected a layer name at '%.20s'", index,
                       start);
    s = skip_space(s);
    if (*s != '(')
        return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d '%s': expected '(' after the layer name",
                       index, L->kind);
    s++;
    for (;;) {
        s = skip_space(s);
        if (*s == ')') {
            s++;
            break;
        }
        if (L->n_args >= MAX_ARGS)
            return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d '%s': too many arguments", index,
                           L->kind);
        char tok[TOKEN_LEN];
        const char *t = read_token(s, tok);
        if (!t)
            return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d '%s': bad argument at '%.20s'", index,
                           L->kind, s);
        s = skip_space(t);
        if (*s == '=') {
            strcpy(L->key[L->n_args], tok);
            s = skip_space(s + 1);
            t = read_token(s, L->value[L->n_args]);
            if (!t)
                return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d '%s': '%s=' needs a value", index,
                               L->kind, tok);
            s = skip_space(t);
        } else {
            strcpy(L->value[L->n_args], tok);
        }
        L->n_args++;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == ')') {
            s++;
            break;
        }
        return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d '%s': expected ',' or ')' at '%.20s'",
                       index, L->kind, *s ? s : "end of spec");
    }
    snprintf(L->text, sizeof L->text, "%.*s", (int)(s - start), start);
    *ps = s;
    return RN_OK;
}

static bool parse_int(const char *s, int *v) {
    char *end;
    long x = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || x < 1 || x > (1 << 20)) return false;
    *v = (int)x;
    return true;
}

/* A number that a float32 holds: finite, at most FLT_MAX, and 0 or at least FLT_MIN in magnitude
 * (a value that would round to 0, a subnormal or infinity is refused, not changed). */
static bool parse_float(const char *s, float *v) {
    char *end;
    double x = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !isfinite(x) || fabs(x) > FLT_MAX ||
        (x != 0.0 && fabs(x) < FLT_MIN))
        return false;
    *v = (float)x;
    return true;
}

#define FLOAT_RANGE "a number of float32 range (0 or 1.2e-38 to 3.4e+38 in magnitude)"

/* The value of a layer's real-valued option `what=v` into *dst: written in plain decimal (not
 * "0x10", "inf" or "nan", which strtod would take), in float32's range, and > 0 (>= 0 with
 * zero_ok). */
static rn_status float_option(int index, const char *where, const char *what, const char *v,
                              bool zero_ok, float *dst, rn_error *err) {
    if (!rn_is_decimal(v))
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "layer %d '%s': %s=%s is not a finite number in decimal notation (such as "
                       "0.1 or 2e-3)",
                       index, where, what, v);
    if (!parse_float(v, dst) || !(zero_ok ? *dst >= 0 : *dst > 0))
        return rn_fail(err, RN_ERR_INVALID_ARG, "layer %d '%s': %s=%s must be %s and %s", index,
                       where, what, v, zero_ok ? ">= 0" : "> 0", FLOAT_RANGE);
    return RN_OK;
}

static bool parse_bool(const char *s, bool *v) {
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
        *v = true;
    else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
        *v = false;
    else
        return false;
    return true;
}

static int activation_code(const char *s) {
    static const char *names[] = {"tanh", "relu", "sigmoid", "lrelu", "linear"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

#define BAD(...) return rn_fail(err, RN_ERR_INVALID_ARG, __VA_ARGS__)

static rn_status add_layer(rn_net *net, int index, const layer_text *L, rn_error *err) {
    const char *where = L->text;
    if (!strcmp(L->kind, "linear")) {
        int dims[2], nd = 0;
        bool bias = true, have_bias = false;
        for (int i = 0; i < L->n_args; i++) {
            if (!L->key[i][0]) {
                if (nd >= 2 || !parse_int(L->value[i], &dims[nd]))
                    BAD("layer %d '%s': '%s' is not a size from 1 to 1048576 (expected "
                        "linear(n_in, n_out))",
                        index, where, L->value[i]);
                nd++;
            } else if (!strcmp(L->key[i], "bias")) {
                if (have_bias) BAD("layer %d '%s': bias is given twice", index, where);
                have_bias = true;
                if (!parse_bool(L->value[i], &bias))
                    BAD("layer %d '%s': bias must be true or false", index, where);
            } else {
                BAD("layer %d '%s': unknown option '%s'", index, where, L->key[i]);
            }
        }
        if (nd != 2) BAD("layer %d '%s': expected linear(n_in, n_out)", index, where);
        return rn_net_add_linear(net, dims[0], dims[1], bias, err);
    }
    if (!strcmp(L->kind, "rate")) {
        rn_rate_options o = rn_rate_options_default(0);
        bool have_n = false, have_act = false, have_rec = false, have_noise = false,
             have_tau = false;
        for (int i = 0; i < L->n_args; i++) {
            const char *k = L->key[i], *v = L->value[i];
            int a;
            if (!k[0] && !have_n) {
                if (!parse_int(v, &o.n))
                    BAD("layer %d '%s': '%s' is not a size from 1 to 1048576", index, where, v);
                have_n = true;
            } else if ((!k[0] || !strcmp(k, "activation")) && (a = activation_code(v)) >= 0) {
                if (have_act) BAD("layer %d '%s': the activation is given twice", index, where);
                have_act = true;
                o.activation = (rn_activation)a;
            } else if (!k[0] && (!strcmp(v, "rec") || !strcmp(v, "recurrent") || !strcmp(v, "ff") ||
                                 !strcmp(v, "norec"))) {
                if (have_rec)
                    BAD("layer %d '%s': recurrent or not (rec/ff) is given twice", index, where);
                have_rec = true;
                o.recurrent = !strcmp(v, "rec") || !strcmp(v, "recurrent");
            } else if (!strcmp(k, "noise")) {
                if (have_noise) BAD("layer %d '%s': noise is given twice", index, where);
                have_noise = true;
                rn_status st = float_option(index, where, "noise", v, true, &o.noise_std, err);
                if (st != RN_OK) return st;
            } else if (!strcmp(k, "tau")) {
                if (have_tau) BAD("layer %d '%s': tau is given twice", index, where);
                have_tau = true;
                rn_status st = float_option(index, where, "tau", v, false, &o.tau, err);
                if (st != RN_OK) return st;
            } else if (!strcmp(k, "activation")) {
                BAD("layer %d '%s': unknown activation '%s' (tanh, relu, sigmoid, lrelu, linear)",
                    index, where, v);
            } else {
                BAD("layer %d '%s': unknown option '%s%s%s'", index, where, k, k[0] ? "=" : "", v);
            }
        }
        if (!have_n) BAD("layer %d '%s': expected rate(n, ...)", index, where);
        return rn_net_add_rate(net, &o, err);
    }
    rn_layer_kind kind;
    if (!strcmp(L->kind, "lowpass"))
        kind = RN_LAYER_LOWPASS;
    else if (!strcmp(L->kind, "alpha"))
        kind = RN_LAYER_ALPHA;
    else if (!strcmp(L->kind, "doubleexp"))
        kind = RN_LAYER_DOUBLEEXP;
    else
        BAD("layer %d: unknown layer '%s' (linear, rate, lowpass, alpha, doubleexp)", index,
            L->kind);
    int channels = 0, n_pos = 0;
    float tau = NAN, tau2 = NAN;
    for (int i = 0; i < L->n_args; i++) {
        const char *k = L->key[i], *v = L->value[i];
        float *dst = NULL;
        if (!k[0] && n_pos == 0) {
            if (!parse_int(v, &channels))
                BAD("layer %d '%s': '%s' is not a channel count", index, where, v);
            n_pos++;
            continue;
        }
        const char *what = k;
        if (!k[0] && n_pos == 1)
            dst = &tau, what = kind == RN_LAYER_DOUBLEEXP ? "tau1" : "tau";
        else if (!k[0] && n_pos == 2 && kind == RN_LAYER_DOUBLEEXP)
            dst = &tau2, what = "tau2";
        else if (!strcmp(k, kind == RN_LAYER_DOUBLEEXP ? "tau1" : "tau"))
            dst = &tau;
        else if (kind == RN_LAYER_DOUBLEEXP && !strcmp(k, "tau2"))
            dst = &tau2;
        else
            BAD("layer %d '%s': unknown option '%s%s%s'", index, where, k, k[0] ? "=" : "", v);
        if (!k[0]) n_pos++;
        if (!isnan(*dst)) BAD("layer %d '%s': %s is given twice", index, where, what);
        rn_status st = float_option(index, where, what, v, false, dst, err);
        if (st != RN_OK) return st;
    }
    if (channels == 0) BAD("layer %d '%s': expected %s(channels, ...)", index, where, L->kind);
    if (isnan(tau) || (kind == RN_LAYER_DOUBLEEXP && isnan(tau2)))
        BAD("layer %d '%s': give %s", index, where,
            kind == RN_LAYER_DOUBLEEXP ? "tau1= and tau2=" : "tau=");
    return rn_net_add_filter(net, kind, channels, tau, kind == RN_LAYER_DOUBLEEXP ? tau2 : 0.0f,
                             err);
}

rn_status rn_net_from_spec(rn_net **out, const char *spec, float dt, uint64_t seed, rn_error *err) {
    if (!out || !spec) return rn_fail(err, RN_ERR_INVALID_ARG, "no spec given");
    *out = NULL;
    rn_net *net = NULL;
    rn_status st = rn_net_create(&net, dt, seed, err);
    if (st != RN_OK) return st;
    const char *s = spec;
    int index = 0;
    layer_text L;
    while (*(s = skip_space(s))) {
        if ((st = parse_layer(&s, index, &L, err)) != RN_OK ||
            (st = add_layer(net, index, &L, err)) != RN_OK) {
            rn_net_free(net);
            return st;
        }
        index++;
        s = skip_space(s);
        if (*s == ',') s++; /* a comma between layers is allowed too */
    }
    if (index == 0) {
        rn_net_free(net);
        return rn_fail(err, RN_ERR_INVALID_ARG, "the spec has no layers");
    }
    *out = net;
    return rn_ok(err);
}

/* JSON: each layer object is turned into the text form's key=value arguments and added the same
 * way, after its keys are checked against the layer kind: an unknown key or a value of the wrong
 * JSON type is an error naming the key ("recurrent": 1 is not true). */
typedef enum { J_SIZE, J_NUMBER, J_BOOL, J_STRING } json_kind;
typedef struct json_key {
    const char *layer, *key; /* layer "" : any layer kind */
    json_kind kind;
} json_key;

static const json_key json_keys[] = {
    {"linear", "in", J_SIZE},          {"linear", "out", J_SIZE},
    {"linear", "bias", J_BOOL},        {"rate", "n", J_SIZE},
    {"rate", "activation", J_STRING},  {"rate", "recurrent", J_BOOL},
    {"rate", "noise", J_NUMBER},       {"rate", "tau", J_NUMBER},
    {"lowpass", "channels", J_SIZE},   {"lowpass", "tau", J_NUMBER},
    {"alpha", "channels", J_SIZE},     {"alpha", "tau", J_NUMBER},
    {"doubleexp", "channels", J_SIZE}, {"doubleexp", "tau1", J_NUMBER},
    {"doubleexp", "tau2", J_NUMBER},
};

static const char *const json_kind_name[] = {"a whole number", "a number", "true or false",
                                             "a string"};

static rn_status json_layer(const cJSON *obj, int index, layer_text *L, rn_error *err) {
    memset(L, 0, sizeof *L);
    if (!cJSON_IsObject(obj))
        return rn_fail(err, RN_ERR_INVALID_ARG, "JSON: layer %d must be an object", index);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(obj, "type");
    if (!cJSON_IsString(type) || strlen(type->valuestring) >= TOKEN_LEN)
        return rn_fail(err, RN_ERR_INVALID_ARG, "JSON: layer %d needs a \"type\" string", index);
    strcpy(L->kind, type->valuestring);
    snprintf(L->text, sizeof L->text, "%s (JSON)", L->kind);
    bool known_type = false;
    for (size_t j = 0; j < sizeof json_keys / sizeof json_keys[0]; j++)
        known_type |= !strcmp(json_keys[j].layer, L->kind);
    if (!known_type)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "JSON: layer %d: unknown type \"%.63s\" (linear, rate, lowpass, alpha, "
                       "doubleexp)",
                       index, L->kind);
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) { /* every key known for this kind, of the right JSON type */
        const char *k = item->string;
        if (!strcmp(k, "type")) continue;
        const json_key *spec = NULL;
        for (size_t j = 0; j < sizeof json_keys / sizeof json_keys[0]; j++)
            if (!strcmp(json_keys[j].layer, L->kind) && !strcmp(json_keys[j].key, k))
                spec = &json_keys[j];
        if (!spec)
            return rn_fail(err, RN_ERR_INVALID_ARG, "JSON: layer %d (%s): unknown key \"%.63s\"",
                           index, L->kind, k);
        bool ok = spec->kind == J_BOOL     ? cJSON_IsBool(item)
                  : spec->kind == J_STRING ? cJSON_IsString(item)
                                           : cJSON_IsNumber(item);
        if (!ok)
            return rn_fail(err, RN_ERR_INVALID_ARG, "JSON: layer %d (%s): \"%s\" must be %s", index,
                           L->kind, k, json_kind_name[spec->kind]);
    }
    /* the positional sizes first, in the order the text form takes them */
    static const char *sizes[] = {"in", "out", "n", "channels"};
    for (int k = 0; k < 4; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, sizes[k]);
        if (!v) continue;
        double d = v->valuedouble; /* a size: whole and in int range before any conversion */
        if (!(d >= 0.0 && d <= 2147483647.0) || d != floor(d))
            return rn_fail(
                err, RN_ERR_INVALID_ARG,
                "JSON: layer %d: \"%s\" must be a whole number from 0 to 2147483647, not %g", index,
                sizes[k], d);
        snprintf(L->value[L->n_args++], TOKEN_LEN, "%d", (int)d);
    }
    cJSON_ArrayForEach(item, obj) {
        const char *k = item->string;
        bool is_size = false;
        for (int j = 0; j < 4; j++)
            is_size |= !strcmp(k, sizes[j]);
        if (is_size || !strcmp(k, "type")) continue;
        if (L->n_args >= MAX_ARGS)
            return rn_fail(err, RN_ERR_INVALID_ARG, "JSON: layer %d: too many keys", index);
        if (!strcmp(k, "recurrent")) {
            snprintf(L->value[L->n_args++], TOKEN_LEN, "%s", cJSON_IsTrue(item) ? "rec" : "ff");
            continue;
        }
        strcpy(L->key[L->n_args], k);
        if (cJSON_IsNumber(item)) { /* the shortest of these that gives the number back */
            snprintf(L->value[L->n_args], TOKEN_LEN, "%.15g", item->valuedouble);
            if (strtod(L->value[L->n_args], NULL) != item->valuedouble)
                snprintf(L->value[L->n_args], TOKEN_LEN, "%.17g", item->valuedouble);
        } else if (cJSON_IsBool(item))
            strcpy(L->value[L->n_args], cJSON_IsTrue(item) ? "true" : "false");
        else if (strlen(item->valuestring) < TOKEN_LEN)
            strcpy(L->value[L->n_args], item->valuestring);
        else
            return rn_fail(err, RN_ERR_INVALID_ARG, "JSON: layer %d: \"%s\" is too long", index, k);
        L->n_args++;
    }
    return RN_OK;
}

rn_status rn_net_from_json(rn_net **out, const char *json, float dt, uint64_t seed, rn_error *err) {
    if (!out || !json) return rn_fail(err, RN_ERR_INVALID_ARG, "JSON: no document given");
    *out = NULL;
    rn_error perr = {0};
    cJSON *doc = rn_json_parse_strict(json, strlen(json), &perr);
    if (!doc) return rn_fail(err, perr.status, "JSON: %s", perr.message);
    rn_status st;
    rn_net *net = NULL;
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(doc, "layers");
    const cJSON *item;
    if (cJSON_IsObject(doc)) cJSON_ArrayForEach(item, doc) {
            if (strcmp(item->string, "layers")) {
                st = rn_fail(err, RN_ERR_INVALID_ARG,
                             "JSON: unknown key \"%.63s\" (the document is {\"layers\": [...]})",
                             item->string);
                goto done;
            }
        }
    if (!cJSON_IsObject(doc) || !cJSON_IsArray(layers) || cJSON_GetArraySize(layers) == 0) {
        st = rn_fail(err, RN_ERR_INVALID_ARG,
                     "JSON: expected {\"layers\": [ ... ]} with at least one layer");
        goto done;
    }
    if ((st = rn_net_create(&net, dt, seed, err)) != RN_OK) goto done;
    int index = 0;
    const cJSON *obj;
    cJSON_ArrayForEach(obj, layers) {
        layer_text L;
        if ((st = json_layer(obj, index, &L, err)) != RN_OK ||
            (st = add_layer(net, index, &L, err)) != RN_OK)
            goto done;
        index++;
    }
    *out = net;
    net = NULL;
    st = rn_ok(err);
done:
    rn_net_free(net);
    cJSON_Delete(doc);
    return st;
}
