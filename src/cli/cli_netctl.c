/* The CLI's parameter control: --freeze, --train-only, --bound, --bound-mode, --init. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decimal.h"
#include "ratenn/io.h"

/* Calls fn on each comma-separated item of list (items are trimmed of spaces). */
static int for_each_item(const char *list, int (*fn)(rn_net *, const char *, void *), rn_net *net,
                         void *ctx) {
    char buf[256];
    const char *s = list;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        while (n && (*s == ' '))
            s++, n--;
        while (n && s[n - 1] == ' ')
            n--;
        if (n == 0 || n >= sizeof buf) {
            cli_line("ratenn: empty or too long item in '%s'\n", list);
            return 1;
        }
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (fn(net, buf, ctx)) return 1;
        s = e ? e + 1 : s + strlen(s); /* (s + n would stop on trailing spaces) */
    }
    return 0;
}

/* A bound given must be a float32 as it is: finite, not rounded to 0 or to infinity. */
static int bound_number(const char *expr, double v) {
    if (isfinite(v) && fabs(v) <= FLT_MAX && (v == 0.0 || fabs(v) >= FLT_MIN)) return 0;
    cli_line("ratenn: --bound '%s': %g is not a finite number in float32's range\n", expr, v);
    return 1;
}

/* A bound's number as written: plain decimal (decimal.h; strtod would read "0x10" as 16 and take
 * "inf"), then in float32's range. */
static int bound_value(const char *expr, const char *text, double *v) {
    if (!rn_is_decimal(text)) {
        cli_line("ratenn: --bound '%s': %s is not a finite number in decimal notation (such as "
                 "0.01 or 1e-2)\n",
                 expr, text);
        return 1;
    }
    *v = strtod(text, NULL);
    return bound_number(expr, *v);
}

static int unknown(const rn_net *net, const char *flag, const char *name) {
    char names[4096] = "";
    size_t used = 0;
    for (int i = 0; i < rn_net_param_count(net) && used < sizeof names; i++) {
        rn_param_info info;
        rn_net_param_info(net, i, &info, NULL);
        int n = snprintf(names + used, sizeof names - used, " %s", info.name);
        used += n > 0 ? (size_t)n : 0;
    }
    cli_line("ratenn: %s: unknown parameter '%s' (this network has:%s)\n", flag, name, names);
    return 1;
}

static int freeze_one(rn_net *net, const char *name, void *ctx) {
    bool trainable = *(bool *)ctx;
    if (rn_net_set_trainable(net, name, trainable, NULL) != RN_OK)
        return unknown(net, trainable ? "--train-only" : "--freeze", name);
    return 0;
}

int cli_freeze(rn_net *net, const char *list) {
    bool f = false;
    return for_each_item(list, freeze_one, net, &f);
}

int cli_train_only(rn_net *net, const char *list) {
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        rn_net_param_info(net, i, &info, NULL);
        rn_net_set_trainable(net, info.name, false, NULL);
    }
    bool t = true;
    return for_each_item(list, freeze_one, net, &t);
}

/* One bound: "name>=v", "name<=v", "name>v"/"name<v" (same as the inclusive forms), or
 * "lo<=name<=hi". */
static int bound_one(rn_net *net, const char *expr, void *ctx) {
    rn_bound_mode mode = *(rn_bound_mode *)ctx;
    char name[128] = "";
    double lo = -INFINITY, hi = INFINITY;
    const char *ops[] = {"<=", ">=", "<", ">"};
    /* find the first operator */
    const char *p = NULL;
    int op = -1;
    for (const char *s = expr; *s && !p; s++)
        for (int k = 0; k < 4; k++)
            if (strncmp(s, ops[k], strlen(ops[k])) == 0) {
                p = s;
                op = k;
                break;
            }
    if (!p) goto bad;
    char left[128], right[128];
    size_t ln = (size_t)(p - expr);
    if (ln == 0 || ln >= sizeof left) goto bad;
    memcpy(left, expr, ln);
    left[ln] = '\0';
    snprintf(right, sizeof right, "%s", p + strlen(ops[op]));
    char *end;
    (void)strtod(left, &end); /* a number to strtod ("0x1", "-inf"): said to be one, not a name */
    bool left_is_number = *end == '\0';
    if (left_is_number) {
        /* lo <= name [<= hi] */
        if (op == 1 || op == 3) goto bad;
        if (bound_value(expr, left, &lo)) return 1;
        const char *q = strstr(right, "<");
        if (q) {
            size_t nn = (size_t)(q - right);
            if (nn == 0 || nn >= sizeof name) goto bad;
            memcpy(name, right, nn);
            name[nn] = '\0';
            const char *num = q + (q[1] == '=' ? 2 : 1);
            if (*num == '\0') goto bad;
            if (bound_value(expr, num, &hi)) return 1;
        } else {
            snprintf(name, sizeof name, "%s", right);
        }
    } else {
        snprintf(name, sizeof name, "%s", left);
        double v;
        if (right[0] == '\0') goto bad;
        if (bound_value(expr, right, &v)) return 1;
        if (op == 1 || op == 3)
            lo = v;
        else
            hi = v;
    }
    if (rn_net_param_index(net, name) < 0) return unknown(net, "--bound", name);
    /* keep a bound already set on the other side */
    rn_param_info info;
    rn_net_param_info(net, rn_net_param_index(net, name), &info, NULL);
    if (isinf(lo) && !isinf(info.lower)) lo = info.lower;
    if (isinf(hi) && !isinf(info.upper)) hi = info.upper;
    rn_error err = {0};
    if (rn_net_set_bounds(net, name, (float)lo, (float)hi, mode, &err) != RN_OK) {
        cli_line("ratenn: --bound '%s': %s\n", expr, err.message);
        return 1;
    }
    return 0;
bad:
    cli_line("ratenn: --bound '%s': expected NAME>=V, NAME<=V or LO<=NAME<=HI\n", expr);
    return 1;
}

int cli_bounds(rn_net *net, const char *list, rn_bound_mode mode) {
    return for_each_item(list, bound_one, net, &mode);
}

int cli_check_params(const rn_net *net, float *dst, char *why, size_t why_len) {
    const float dt = rn_net_dt(net);
    size_t off = 0;
    int first_bad = -1; /* (every value is copied all the same) */
    for (int i = 0; i < rn_net_param_count(net); i++) {
        rn_param_info info;
        rn_net_param_info(net, i, &info, NULL);
        rn_net_get_param(net, info.name, dst + off, info.count, NULL);
        const char *dot = strrchr(info.name, '.');
        bool tau = dot && !strncmp(dot, ".tau", 4);
        for (size_t k = 0; k < info.count && first_bad < 0; k++) {
            float v = dst[off + k];
            /* τ > 0 as rn_net_set_param demands, and dt/τ a float: a smaller τ (1e-45) passes
             * set_param but turns every step into Inf or NaN */
            const char *bad = !isfinite(v)                        ? "not finite"
                              : tau && !(v > 0.0f)                ? "tau must be > 0"
                              : tau && !isfinite((float)(dt / v)) ? "so small that dt/tau overflows"
                                                                  : NULL;
            if (bad) {
                if (why)
                    snprintf(why, why_len, "parameter '%s' element %zu is %g: %s", info.name, k, v,
                             bad);
                first_bad = i;
            }
        }
        off += info.count;
    }
    return first_bad;
}

/* --init FILE.npz: every array must name a parameter of this network and have its shape; the
 * network's values change only if the whole file is valid. */
int cli_init_params(rn_net *net, const char *path, const char *flag, bool require_all) {
    rn_array *arr = NULL;
    int n = 0, rc = 1;
    rn_error err = {0};
    if (rn_npz_read(path, &arr, &n, &err) != RN_OK) {
        cli_line("ratenn: %s %s\n", flag, err.message);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        int idx = rn_net_param_index(net, arr[i].name);
        if (idx < 0) {
            cli_line("ratenn: %s %s: array '%s' is not a parameter of this network\n", flag, path,
                     arr[i].name);
            goto done;
        }
        rn_param_info info;
        rn_net_param_info(net, idx, &info, NULL);
        bool same = arr[i].count == info.count && arr[i].ndim == info.ndim &&
                    arr[i].shape[0] == info.shape[0] &&
                    (info.ndim == 1 || arr[i].shape[1] == info.shape[1]);
        if (!same) {
            char shape[64];
            if (info.ndim == 2)
                snprintf(shape, sizeof shape, "(%zu, %zu)", info.shape[0], info.shape[1]);
            else
                snprintf(shape, sizeof shape, "(%zu,)", info.shape[0]);
            cli_line("ratenn: %s %s: '%s' has %d dimensions and %zu elements; the network's has "
                     "shape %s\n",
                     flag, path, arr[i].name, arr[i].ndim, arr[i].count, shape);
            goto done;
        }
    }
    if (require_all && n != rn_net_param_count(net)) {
        for (int i = 0; i < rn_net_param_count(net); i++) {
            rn_param_info info;
            rn_net_param_info(net, i, &info, NULL);
            if (!rn_arrays_find(arr, n, info.name)) {
                cli_line("ratenn: %s %s lacks '%s' (of %d parameters it has %d)\n", flag, path,
                         info.name, rn_net_param_count(net), n);
                goto done;
            }
        }
    }
    /* Names and shapes checked. Setting still checks values (non-finite, τ <= 0); on such a
     * failure the network is half set, which is fine: both callers stop there. */
    for (int i = 0; i < n; i++)
        if (rn_net_set_param(net, arr[i].name, arr[i].data, arr[i].count, &err) != RN_OK) {
            cli_line("ratenn: %s %s: %s\n", flag, path, err.message);
            goto done;
        }
    float *scratch = malloc(rn_net_param_total(net) * sizeof(float) + 1);
    char why[400];
    if (!scratch) {
        cli_line("ratenn: %s %s: out of memory\n", flag, path);
        goto done;
    }
    int bad = cli_check_params(net, scratch, why, sizeof why);
    free(scratch);
    if (bad >= 0) {
        cli_line("ratenn: %s %s: %s\n", flag, path, why);
        goto done;
    }
    if (!require_all)
        cli_line("ratenn: %s: %d of %d parameters loaded from %s\n", flag, n,
                 rn_net_param_count(net), path);
    rc = 0;
done:
    rn_arrays_free(arr, n);
    return rc;
}
