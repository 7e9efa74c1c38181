/* .npy read and write (NumPy format 1.0 / 2.0 / 3.0; float32 or float64, little-endian, C order).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic_file.h"
#include "error.h"
#include "npy_format.h"
#include "read_file.h"

static const unsigned char k_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

enum {
    MAX_HEADER_LEN = 1 << 20, /* numpy itself refuses headers over 10 000 bytes by default */
    GROWTH_AXIS_MAX_DIGITS =
        21, /* numpy.lib.format pads the header so the first axis can grow in place */
};

/* ---- arrays ---- */

void rn_array_free(rn_array *array) {
    if (!array) return;
    free(array->data);
    memset(array, 0, sizeof *array);
}

void rn_arrays_free(rn_array *arrays, int count) {
    if (!arrays) return;
    for (int i = 0; i < count; i++)
        free(arrays[i].data);
    free(arrays);
}

const rn_array *rn_arrays_find(const rn_array *arrays, int count, const char *name) {
    for (int i = 0; arrays && name && i < count; i++)
        if (strcmp(arrays[i].name, name) == 0) return &arrays[i];
    return NULL;
}

int rn_shape_count(int ndim, const size_t *shape, size_t *count) {
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] && n > SIZE_MAX / 8 / shape[d]) return 0;
        n *= shape[d];
    }
    *count = n;
    return 1;
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* ---- the header dictionary: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } ---- */

typedef struct cursor {
    const char *s, *end;
} cursor;

typedef struct npy_header {
    char descr[64];
    int fortran, ndim;
    size_t shape[RN_NPY_MAX_DIMS];
    int seen_descr, seen_fortran, seen_shape;
} npy_header;

static void skip_ws(cursor *c) {
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r'))
        c->s++;
}

/* Consumes ch (after blanks) if it is next. */
static int take(cursor *c, char ch) {
    skip_ws(c);
    if (c->s < c->end && *c->s == ch) {
        c->s++;
        return 1;
    }
    return 0;
}

static int is_ident_char(char ch) {
    return ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9');
}

/* Consumes the word w if it is next and not followed by more of an identifier. */
static int take_word(cursor *c, const char *w) {
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->s) < n || strncmp(c->s, w, n) != 0) return 0;
    if ((size_t)(c->end - c->s) > n && is_ident_char(c->s[n])) return 0;
    c->s += n;
    return 1;
}

/* A quoted Python string ('...' or "...", no escapes) into out[0..cap). */
static int take_string(cursor *c, char *out, size_t cap) {
    skip_ws(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"')) return 0;
    char q = *c->s++;
    size_t n = 0;
    while (c->s < c->end && *c->s != q && *c->s != '\\' && *c->s != '\n') {
        if (n + 1 >= cap) return 0;
        out[n++] = *c->s++;
    }
    if (c->s >= c->end || *c->s != q) return 0;
    c->s++;
    out[n] = '\0';
    return 1;
}

/* A non-negative decimal integer (a Python 2 'L' suffix allowed); 0 when absent or over SIZE_MAX.
 */
static int take_size(cursor *c, size_t *v) {
    skip_ws(c);
    if (c->s >= c->end || *c->s < '0' || *c->s > '9') return 0;
    size_t x = 0;
    while (c->s < c->end && *c->s >= '0' && *c->s <= '9') {
        unsigned digit = (unsigned)(*c->s++ - '0');
        if (x > (SIZE_MAX - digit) / 10) return 0;
        x = x * 10 + digit;
    }
    if (c->s < c->end && *c->s == 'L') c->s++;
    *v = x;
    return 1;
}

/* A Python tuple of integers: (), (5,), (2, 3) or (2, 3,). "(5)" is an int in Python, not a tuple.
 */
static rn_status parse_shape(cursor *c, const char *what, npy_header *h, rn_error *err) {
    if (!take(c, '('))
        return rn_fail(err, RN_ERR_FORMAT, "%s: header 'shape' is not a tuple", what);
    h->ndim = 0;
    if (take(c, ')')) return RN_OK;
    for (;;) {
        size_t v;
        if (!take_size(c, &v))
            return rn_fail(err, RN_ERR_FORMAT,
                           "%s: header 'shape' has an entry that is not a non-negative integer",
                           what);
        if (h->ndim >= RN_NPY_MAX_DIMS)
            return rn_fail(err, RN_ERR_FORMAT, "%s: header 'shape' has more than %d dimensions",
                           what, RN_NPY_MAX_DIMS);
        h->shape[h->ndim++] = v;
        if (take(c, ',')) {
            if (take(c, ')')) return RN_OK;
            continue;
        }
        if (take(c, ')') && h->ndim > 1) return RN_OK;
        return rn_fail(err, RN_ERR_FORMAT, "%s: header 'shape' is not a well-formed tuple", what);
    }
}

/* One "key: value" of the dictionary. */
static rn_status parse_entry(cursor *c, const char *what, npy_header *h, rn_error *err) {
    char key[32];
    if (!take_string(c, key, sizeof key) || !take(c, ':'))
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: header dictionary is malformed (expected a quoted key and ':')", what);
    if (!strcmp(key, "descr")) {
        if (h->seen_descr++)
            return rn_fail(err, RN_ERR_FORMAT, "%s: header key 'descr' is repeated", what);
        if (!take_string(c, h->descr, sizeof h->descr))
            return rn_fail(err, RN_ERR_FORMAT,
                           "%s: header 'descr' is not a simple dtype string (expected float32 "
                           "'<f4' or float64 '<f8')",
                           what);
        return RN_OK;
    }
    if (!strcmp(key, "fortran_order")) {
        if (h->seen_fortran++)
            return rn_fail(err, RN_ERR_FORMAT, "%s: header key 'fortran_order' is repeated", what);
        if (take_word(c, "True"))
            h->fortran = 1;
        else if (take_word(c, "False"))
            h->fortran = 0;
        else
            return rn_fail(err, RN_ERR_FORMAT, "%s: header 'fortran_order' is not True or False",
                           what);
        return RN_OK;
    }
    if (!strcmp(key, "shape")) {
        if (h->seen_shape++)
            return rn_fail(err, RN_ERR_FORMAT, "%s: header key 'shape' is repeated", what);
        return parse_shape(c, what, h, err);
    }
    return rn_fail(err, RN_ERR_FORMAT, "%s: header has an unexpected key '%s'", what, key);
}

static rn_status parse_dict(const char *text, size_t n, const char *what, npy_header *h,
                            rn_error *err) {
    cursor c = {text, text + n};
    memset(h, 0, sizeof *h);
    if (!take(&c, '{')) return rn_fail(err, RN_ERR_FORMAT, "%s: header is not a dictionary", what);
    if (!take(&c, '}')) {
        for (;;) {
            rn_status st = parse_entry(&c, what, h, err);
            if (st != RN_OK) return st;
            if (take(&c, ',')) {
                if (take(&c, '}')) break;
                continue;
            }
            if (take(&c, '}')) break;
            return rn_fail(err, RN_ERR_FORMAT,
                           "%s: header dictionary is malformed (expected ',' or '}')", what);
        }
    }
    skip_ws(&c);
    if (c.s != c.end)
        return rn_fail(err, RN_ERR_FORMAT, "%s: unexpected bytes after the header dictionary",
                       what);
    if (!h->seen_descr || !h->seen_fortran || !h->seen_shape)
        return rn_fail(err, RN_ERR_FORMAT, "%s: header lacks the key '%s'", what,
                       !h->seen_descr     ? "descr"
                       : !h->seen_fortran ? "fortran_order"
                                          : "shape");
    return RN_OK;
}

/* ---- the whole file ---- */

/* Magic and version; the header text is buf[*start .. *start + *hlen). buf holds the first len
 * bytes of a .npy of total bytes (len < total: the head of a compressed member). */
static rn_status parse_preamble(const unsigned char *buf, size_t len, uint64_t total,
                                const char *what, size_t *start, size_t *hlen, rn_error *err) {
    if (len < 10 || memcmp(buf, k_magic, sizeof k_magic) != 0)
        return rn_fail(err, RN_ERR_FORMAT, "%s: not a .npy file (bad magic; %zu bytes)", what, len);
    unsigned major = buf[6], minor = buf[7];
    if (major == 1 && minor == 0) {
        *hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        *start = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (len < 12)
            return rn_fail(err, RN_ERR_FORMAT, "%s: truncated .npy header (%zu bytes)", what, len);
        *hlen =
            (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        *start = 12;
    } else {
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: .npy format version %u.%u is not supported (1.0, 2.0 or 3.0)", what,
                       major, minor);
    }
    if (*hlen > total - *start)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: header length %zu runs past the end of the file (%llu bytes)", what,
                       *hlen, (unsigned long long)total);
    if (*hlen > MAX_HEADER_LEN)
        return rn_fail(err, RN_ERR_FORMAT, "%s: header length %zu is too large", what, *hlen);
    if (*hlen > len - *start) /* only a compressed member's head can be shorter than its total */
        return rn_fail(err, RN_ERR_FORMAT, "%s: the header (%zu bytes) is cut short at %zu bytes",
                       what, *hlen, len);
    return RN_OK;
}

static rn_status check_dtype(const npy_header *h, const char *what, size_t *item, rn_error *err) {
    if (!strcmp(h->descr, "<f4"))
        *item = 4;
    else if (!strcmp(h->descr, "<f8"))
        *item = 8;
    else
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: dtype '%s' is not supported (expected float32 '<f4' or float64 '<f8')",
                       what, h->descr);
    if (h->fortran)
        return rn_fail(
            err, RN_ERR_FORMAT,
            "%s: Fortran order (fortran_order: True) is unsupported; save a C-order array "
            "(numpy.ascontiguousarray)",
            what);
    return RN_OK;
}

static float *convert_data(const unsigned char *src, size_t count, size_t item) {
    float *v = malloc(count ? count * sizeof(float) : 1);
    if (!v) return NULL;
    if (item == 4) {
        memcpy(v, src, count * sizeof(float));
        return v;
    }
    for (size_t i = 0; i < count; i++) {
        double x;
        memcpy(&x, src + 8 * i, sizeof x);
        v[i] = (float)x;
    }
    return v;
}

rn_status rn_npy_parse(const unsigned char *buf, size_t len, const char *what, rn_array *out,
                       rn_error *err) {
    memset(out, 0, sizeof *out);
    if (!host_is_little_endian())
        return rn_fail(err, RN_ERR_UNSUPPORTED, "%s: reading .npy files needs a little-endian host",
                       what);
    size_t start = 0, hlen = 0, item = 0, count = 0;
    npy_header h;
    rn_status st = parse_preamble(buf, len, len, what, &start, &hlen, err);
    if (st == RN_OK) st = parse_dict((const char *)buf + start, hlen, what, &h, err);
    if (st == RN_OK) st = check_dtype(&h, what, &item, err);
    if (st != RN_OK) return st;
    if (!rn_shape_count(h.ndim, h.shape, &count))
        return rn_fail(err, RN_ERR_FORMAT, "%s: the shape's element count overflows", what);
    size_t have = len - start - hlen, need = count * item;
    if (have < need)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: truncated data: the shape needs %zu bytes, the file has %zu", what,
                       need, have);
    if (have > need)
        return rn_fail(
            err, RN_ERR_FORMAT,
            "%s: %zu trailing bytes after the data (the shape needs %zu bytes, the file has %zu)",
            what, have - need, need, have);
    float *data = convert_data(buf + start + hlen, count, item);
    if (!data)
        return rn_fail(err, RN_ERR_NO_MEMORY, "%s: out of memory for %zu elements (%.1f MiB)", what,
                       count, (double)count * sizeof(float) / 1048576.0);
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof out->shape);
    if (!count) {
        free(data);
        data = NULL;
    }
    out->count = count;
    out->data = data;
    return RN_OK;
}

rn_status rn_npy_check_head(const unsigned char *head, size_t len, uint64_t total, const char *what,
                            size_t *count, rn_error *err) {
    size_t start = 0, hlen = 0, item = 0;
    npy_header h;
    rn_status st = parse_preamble(head, len, total, what, &start, &hlen, err);
    if (st == RN_OK) st = parse_dict((const char *)head + start, hlen, what, &h, err);
    if (st == RN_OK) st = check_dtype(&h, what, &item, err);
    if (st != RN_OK) return st;
    if (!rn_shape_count(h.ndim, h.shape, count))
        return rn_fail(err, RN_ERR_FORMAT, "%s: the shape's element count overflows", what);
    uint64_t need = (uint64_t)start + hlen + (uint64_t)*count * item;
    if (need != total)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: the .npy header's shape makes %llu bytes, the archive says the member "
                       "is %llu",
                       what, (unsigned long long)need, (unsigned long long)total);
    return RN_OK;
}

rn_status rn_npy_read(const char *path, rn_array *out, rn_error *err) {
    if (!out) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_npy_read: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_npy_read: path is NULL");
    unsigned char *buf;
    size_t len;
    rn_status st = rn_read_file(path, &buf, &len, err);
    if (st != RN_OK) return st;
    st = rn_npy_parse(buf, len, path, out, err);
    free(buf);
    return st == RN_OK ? rn_ok(err) : st;
}

/* ---- writing ---- */

/* Appends s to d[0..cap) at *n; 0 when it does not fit. */
static int append(char *d, size_t cap, size_t *n, const char *s) {
    size_t k = strlen(s);
    if (k >= cap - *n) return 0;
    memcpy(d + *n, s, k + 1);
    *n += k;
    return 1;
}

size_t rn_npy_header(char *hdr, size_t cap, int ndim, const size_t *shape) {
    if (ndim < 0 || ndim > RN_NPY_MAX_DIMS || cap < 10 || (ndim > 0 && !shape)) return 0;
    char dict[RN_NPY_HEADER_CAP], num[32];
    size_t n = 0;
    int ok = append(dict, sizeof dict, &n, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int d = 0; d < ndim; d++) {
        snprintf(num, sizeof num, "%zu%s", shape[d], ndim == 1 ? "," : d + 1 < ndim ? ", " : "");
        ok = ok && append(dict, sizeof dict, &n, num);
    }
    ok = ok && append(dict, sizeof dict, &n, "), }");
    if (!ok) return 0;
    size_t growth = 0;
    if (ndim > 0) {
        snprintf(num, sizeof num, "%zu", shape[0]);
        if (strlen(num) < GROWTH_AXIS_MAX_DIGITS) growth = GROWTH_AXIS_MAX_DIGITS - strlen(num);
    }
    size_t hlen = n + growth + 1;       /* the dictionary, numpy's growth room, the '\n' */
    size_t pad = 64 - (10 + hlen) % 64; /* numpy: always 1..64 spaces */
    size_t total = 10 + hlen + pad;
    if (total > cap || total - 10 > 0xffff) return 0;
    memcpy(hdr, k_magic, sizeof k_magic);
    hdr[6] = 1;
    hdr[7] = 0;
    hdr[8] = (char)((total - 10) & 0xff);
    hdr[9] = (char)((total - 10) >> 8);
    memcpy(hdr + 10, dict, n);
    memset(hdr + 10 + n, ' ', total - 10 - n - 1);
    hdr[total - 1] = '\n';
    return total;
}

rn_status rn_npy_write(const char *path, const float *data, int ndim, const size_t *shape,
                       rn_error *err) {
    if (!path || !*path)
        return rn_fail(err, RN_ERR_INVALID_ARG, "rn_npy_write: no output path given");
    if (ndim < 0 || ndim > RN_NPY_MAX_DIMS || (ndim > 0 && !shape))
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s: bad shape (%d dimensions; at most %d)", path,
                       ndim, RN_NPY_MAX_DIMS);
    size_t count;
    if (!rn_shape_count(ndim, shape, &count))
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s: the shape's element count overflows", path);
    if (count && !data)
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s: data is NULL for %zu elements", path, count);
    if (!host_is_little_endian())
        return rn_fail(err, RN_ERR_UNSUPPORTED, "%s: writing .npy files needs a little-endian host",
                       path);
    char hdr[RN_NPY_HEADER_CAP];
    size_t hl = rn_npy_header(hdr, sizeof hdr, ndim, shape);
    if (!hl)
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s: the shape does not fit a .npy header", path);
    rn_atomic_file f;
    rn_status st = rn_atomic_open(&f, path, err);
    if (st != RN_OK) return st;
    /* a short write sets the stream's error flag, which rn_atomic_commit reports with its reason */
    fwrite(hdr, 1, hl, f.fp);
    if (count) fwrite(data, sizeof(float), count, f.fp);
    st = rn_atomic_commit(&f, err);
    return st == RN_OK ? rn_ok(err) : st;
}
