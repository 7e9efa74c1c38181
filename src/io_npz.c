/* .npz: a zip archive of .npy members. Written STORED (uncompressed; ZIP64 records only where a
 * size or offset passes 4 GiB); read STORED or deflated (numpy.savez / numpy.savez_compressed),
 * with every zip record, size and CRC-32 checked. CRC-32 and inflate come from zlib. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "atomic_file.h"
#include "error.h"
#include "host_memory.h"
#include "npy_format.h"
#include "read_file.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define MAX16 0xffffu
#define MAX32 0xffffffffu
#define ZIP64_EXTRA_ID 0x0001u
#define DOS_TIME 0u /* 00:00:00 */
/* 2020-01-01: fixed, so writes are reproducible */
#define DOS_DATE ((2020u - 1980u) << 9 | 1u << 5 | 1u)
#define MADE_BY_UNIX ((3u << 8) | 20u)            /* host Unix, zip 2.0 */
#define UNIX_FILE_ATTR ((uint32_t)0100644u << 16) /* a regular file, rw-r--r-- */

enum {
    LOCAL_LEN = 30,
    CENTRAL_LEN = 46,
    END_LEN = 22,
    END64_LEN = 56,
    LOC64_LEN = 20,
    NAME_CAP = 128 + 4, /* an rn_array name and ".npy" */
    MAX_ENTRIES = 1 << 20,
    CRC_CHUNK = 1 << 30,
};

/* ---- little-endian fields ---- */

static unsigned char *le16(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    return p + 2;
}
static unsigned char *le32(unsigned char *p, uint32_t v) {
    return le16(le16(p, v & 0xffff), v >> 16);
}
static unsigned char *le64(unsigned char *p, uint64_t v) {
    return le32(le32(p, (uint32_t)v), (uint32_t)(v >> 32));
}
static uint32_t get16(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}
static uint32_t get32(const unsigned char *p) {
    return get16(p) | get16(p + 2) << 16;
}
static uint64_t get64(const unsigned char *p) {
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* CRC-32 of n bytes (n may pass zlib's uInt), continuing from crc. */
static uint32_t crc_update(uint32_t crc, const unsigned char *p, uint64_t n) {
    uLong c = crc;
    while (n) {
        uInt k = n > CRC_CHUNK ? CRC_CHUNK : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

/* ======================================= writing ======================================= */

typedef struct zip_entry {
    char name[NAME_CAP];
    size_t name_len;
    char header[RN_NPY_HEADER_CAP]; /* the member's .npy header */
    size_t header_len;
    const float *data;
    uint64_t data_bytes, size, offset;
    uint32_t crc;
} zip_entry;

/* Checks arrays[i] and fills e from it (everything but offset). */
static rn_status prepare_entry(const char *path, const rn_array *arrays, int i, zip_entry *e,
                               rn_error *err) {
    const rn_array *a = &arrays[i];
    size_t nlen = strnlen(a->name, sizeof a->name);
    size_t count;
    if (nlen == 0 || nlen == sizeof a->name)
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s: array %d has an empty or unterminated name",
                       path, i);
    for (int j = 0; j < i; j++)
        if (!strcmp(arrays[j].name, a->name))
            return rn_fail(err, RN_ERR_INVALID_ARG, "%s: two arrays are named '%s'", path, a->name);
    if (a->ndim < 0 || a->ndim > RN_NPY_MAX_DIMS)
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s: array '%s' has %d dimensions (0..%d)", path,
                       a->name, a->ndim, RN_NPY_MAX_DIMS);
    if (!rn_shape_count(a->ndim, a->shape, &count) || count != a->count)
        return rn_fail(err, RN_ERR_SHAPE,
                       "%s: array '%s' has count %zu, not the product of its shape", path, a->name,
                       a->count);
    if (count && !a->data)
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s: array '%s' has no data", path, a->name);
    e->header_len = rn_npy_header(e->header, sizeof e->header, a->ndim, a->shape);
    if (!e->header_len)
        return rn_fail(err, RN_ERR_INVALID_ARG,
                       "%s: array '%s': the shape does not fit a .npy header", path, a->name);
    e->name_len = (size_t)snprintf(e->name, sizeof e->name, "%s.npy", a->name);
    e->data = a->data;
    e->data_bytes = (uint64_t)count * sizeof(float);
    e->size = e->header_len + e->data_bytes;
    e->crc = crc_update(crc_update(0, (const unsigned char *)e->header, e->header_len),
                        (const unsigned char *)e->data, e->data_bytes);
    return RN_OK;
}

/* The local file header; returns its length on disk. */
static uint64_t write_local(FILE *fp, const zip_entry *e, int force64) {
    unsigned char b[LOCAL_LEN + 20], *p = b;
    int z64 = force64 || e->size >= MAX32;
    p = le32(p, SIG_LOCAL);
    p = le16(p, z64 ? 45 : 20); /* version needed */
    p = le16(p, 0);             /* flags */
    p = le16(p, 0);             /* stored */
    p = le16(p, DOS_TIME);
    p = le16(p, DOS_DATE);
    p = le32(p, e->crc);
    p = le32(p, z64 ? MAX32 : (uint32_t)e->size); /* compressed */
    p = le32(p, z64 ? MAX32 : (uint32_t)e->size); /* uncompressed */
    p = le16(p, (uint32_t)e->name_len);
    p = le16(p, z64 ? 20 : 0);
    fwrite(b, 1, LOCAL_LEN, fp);
    fwrite(e->name, 1, e->name_len, fp);
    if (z64) {
        p = le16(b, ZIP64_EXTRA_ID);
        p = le16(p, 16);
        p = le64(p, e->size);
        p = le64(p, e->size);
        fwrite(b, 1, 20, fp);
    }
    return LOCAL_LEN + e->name_len + (z64 ? 20 : 0);
}

/* The central directory entry; returns its length on disk. */
static uint64_t write_central(FILE *fp, const zip_entry *e, int force64) {
    unsigned char b[CENTRAL_LEN], x[28], *p = b, *q = x;
    int zs = force64 || e->size >= MAX32, zo = force64 || e->offset >= MAX32;
    if (zs || zo) {
        q = le16(q, ZIP64_EXTRA_ID);
        q = le16(q, (zs ? 16 : 0) + (zo ? 8 : 0));
        if (zs) q = le64(le64(q, e->size), e->size); /* uncompressed, then compressed */
        if (zo) q = le64(q, e->offset);
    }
    p = le32(p, SIG_CENTRAL);
    p = le16(p, MADE_BY_UNIX);
    p = le16(p, (zs || zo) ? 45 : 20);
    p = le16(p, 0);
    p = le16(p, 0);
    p = le16(p, DOS_TIME);
    p = le16(p, DOS_DATE);
    p = le32(p, e->crc);
    p = le32(p, zs ? MAX32 : (uint32_t)e->size);
    p = le32(p, zs ? MAX32 : (uint32_t)e->size);
    p = le16(p, (uint32_t)e->name_len);
    p = le16(p, (uint32_t)(q - x)); /* extra */
    p = le16(p, 0);                 /* comment */
    p = le16(p, 0);                 /* disk */
    p = le16(p, 0);                 /* internal attributes */
    p = le32(p, UNIX_FILE_ATTR);
    p = le32(p, zo ? MAX32 : (uint32_t)e->offset);
    fwrite(b, 1, CENTRAL_LEN, fp);
    fwrite(e->name, 1, e->name_len, fp);
    fwrite(x, 1, (size_t)(q - x), fp);
    return CENTRAL_LEN + e->name_len + (uint64_t)(q - x);
}

/* The ZIP64 end records where needed (or forced), then the end-of-central-directory record. */
static void write_end(FILE *fp, uint64_t entries, uint64_t cd_start, uint64_t cd_size,
                      int force64) {
    unsigned char b[END64_LEN + LOC64_LEN + END_LEN], *p = b;
    int z64 = force64 || entries >= MAX16 || cd_start >= MAX32 || cd_size >= MAX32;
    if (z64) {
        p = le32(p, SIG_END64);
        p = le64(p, END64_LEN - 12); /* size of the rest of this record */
        p = le16(p, MADE_BY_UNIX);
        p = le16(p, 45);
        p = le32(p, 0);
        p = le32(p, 0);
        p = le64(p, entries);
        p = le64(p, entries);
        p = le64(p, cd_size);
        p = le64(p, cd_start);
        p = le32(p, SIG_LOC64);
        p = le32(p, 0);
        p = le64(p, cd_start + cd_size); /* where the ZIP64 end record starts */
        p = le32(p, 1);
    }
    p = le32(p, SIG_END);
    p = le16(p, 0);
    p = le16(p, 0);
    p = le16(p, z64 ? MAX16 : (uint32_t)entries);
    p = le16(p, z64 ? MAX16 : (uint32_t)entries);
    p = le32(p, z64 ? MAX32 : (uint32_t)cd_size);
    p = le32(p, z64 ? MAX32 : (uint32_t)cd_start);
    p = le16(p, 0);
    fwrite(b, 1, (size_t)(p - b), fp);
}

static void write_archive(FILE *fp, zip_entry *entries, int count, int force64) {
    uint64_t pos = 0, cd_size = 0;
    for (int i = 0; i < count; i++) {
        zip_entry *e = &entries[i];
        e->offset = pos;
        pos += write_local(fp, e, force64);
        fwrite(e->header, 1, e->header_len, fp);
        if (e->data_bytes) fwrite(e->data, 1, (size_t)e->data_bytes, fp);
        pos += e->size;
    }
    for (int i = 0; i < count; i++)
        cd_size += write_central(fp, &entries[i], force64);
    write_end(fp, (uint64_t)count, pos, cd_size, force64);
}

rn_status rn_npz_write_ex(const char *path, const rn_array *arrays, int count, int force_zip64,
                          rn_error *err) {
    if (!path || !*path)
        return rn_fail(err, RN_ERR_INVALID_ARG, "rn_npz_write: no output path given");
    if (count < 0 || count > MAX_ENTRIES || (count > 0 && !arrays))
        return rn_fail(err, RN_ERR_INVALID_ARG, "%s: bad array count %d", path, count);
    const uint16_t one = 1;
    if (*(const unsigned char *)&one != 1)
        return rn_fail(err, RN_ERR_UNSUPPORTED, "%s: writing .npz files needs a little-endian host",
                       path);
    zip_entry *entries = calloc((size_t)count + 1, sizeof *entries);
    if (!entries) return rn_fail(err, RN_ERR_NO_MEMORY, "%s: out of memory", path);
    rn_status st = RN_OK;
    for (int i = 0; i < count && st == RN_OK; i++)
        st = prepare_entry(path, arrays, i, &entries[i], err);
    rn_atomic_file f;
    if (st == RN_OK) st = rn_atomic_open(&f, path, err);
    if (st == RN_OK) {
        /* write errors are sticky on the stream and reported, with their reason, by the commit */
        write_archive(f.fp, entries, count, force_zip64);
        st = rn_atomic_commit(&f, err);
    }
    free(entries);
    return st == RN_OK ? rn_ok(err) : st;
}

rn_status rn_npz_write(const char *path, const rn_array *arrays, int count, rn_error *err) {
    return rn_npz_write_ex(path, arrays, count, 0, err);
}

/* ======================================= reading ======================================= */

typedef struct zip_dir {
    uint64_t entries, size, offset;
} zip_dir;

typedef struct zip_member {
    char name[NAME_CAP];
    uint32_t name_len, flags, method, crc;
    uint64_t csize, usize, offset;
} zip_member;

/* The end-of-central-directory record: the last 22 bytes and a comment of the length it states. */
static int find_end(const unsigned char *buf, size_t len, size_t *at) {
    if (len < END_LEN) return 0;
    size_t lowest = len - END_LEN > MAX16 ? len - END_LEN - MAX16 : 0;
    for (size_t i = len - END_LEN;; i--) {
        if (get32(buf + i) == SIG_END && i + END_LEN + get16(buf + i + 20) == len) {
            *at = i;
            return 1;
        }
        if (i == lowest) return 0;
    }
}

/* Where the central directory is and how many entries it has (from the ZIP64 end record if need
 * be). */
static rn_status find_directory(const unsigned char *buf, size_t len, const char *path,
                                zip_dir *dir, rn_error *err) {
    size_t end;
    if (!find_end(buf, len, &end))
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: not a .npz (zip) archive: no end-of-central-directory record", path);
    const unsigned char *e = buf + end;
    if (get16(e + 4) != 0 || get16(e + 6) != 0 || get16(e + 8) != get16(e + 10))
        return rn_fail(err, RN_ERR_FORMAT, "%s: multi-disk zip archives are not supported", path);
    dir->entries = get16(e + 10);
    dir->size = get32(e + 12);
    dir->offset = get32(e + 16);
    if (dir->entries == MAX16 || dir->size == MAX32 || dir->offset == MAX32) {
        if (end < LOC64_LEN || get32(e - LOC64_LEN) != SIG_LOC64)
            return rn_fail(err, RN_ERR_FORMAT,
                           "%s: ZIP64 end-of-central-directory locator is missing", path);
        uint64_t at = get64(e - LOC64_LEN + 8);
        if (at > end - LOC64_LEN || end - LOC64_LEN - at < END64_LEN ||
            get32(buf + at) != SIG_END64)
            return rn_fail(err, RN_ERR_FORMAT,
                           "%s: ZIP64 end-of-central-directory record is corrupt", path);
        const unsigned char *z = buf + at;
        if (get32(z + 16) != 0 || get32(z + 20) != 0 || get64(z + 24) != get64(z + 32))
            return rn_fail(err, RN_ERR_FORMAT, "%s: multi-disk zip archives are not supported",
                           path);
        dir->entries = get64(z + 32);
        dir->size = get64(z + 40);
        dir->offset = get64(z + 48);
        end = (size_t)at;
    }
    if (dir->offset > end || dir->size != end - dir->offset)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: the central directory does not end where the end record starts", path);
    if (dir->entries > dir->size / CENTRAL_LEN || dir->entries > MAX_ENTRIES)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: the central directory is too small for %llu entries", path,
                       (unsigned long long)dir->entries);
    return RN_OK;
}

/* The ZIP64 extended-information field among the extra fields x[0..n): replaces those of usize,
 * csize and offset that are 0xffffffff, in that order. 0 when one of them is left unexplained or
 * the fields are bad. */
static int apply_zip64_extra(const unsigned char *x, size_t n, zip_member *m) {
    while (n >= 4) {
        size_t id = get16(x), sz = get16(x + 2);
        if (sz > n - 4) return 0;
        if (id == ZIP64_EXTRA_ID) {
            const unsigned char *q = x + 4, *end = x + 4 + sz;
            uint64_t *fields[3] = {&m->usize, &m->csize, &m->offset};
            for (int k = 0; k < 3; k++) {
                if (*fields[k] != MAX32) continue;
                if (end - q < 8) return 0;
                *fields[k] = get64(q);
                q += 8;
            }
            return 1;
        }
        x += 4 + sz;
        n -= 4 + sz;
    }
    return n == 0 && m->usize != MAX32 && m->csize != MAX32 && m->offset != MAX32;
}

/* One central directory entry at *p (advanced past it) into m. */
static rn_status parse_central(const unsigned char **p, const unsigned char *end, const char *path,
                               uint64_t index, zip_member *m, rn_error *err) {
    const unsigned char *c = *p;
    if (end - c < CENTRAL_LEN || get32(c) != SIG_CENTRAL)
        return rn_fail(err, RN_ERR_FORMAT, "%s: central directory entry %llu is corrupt", path,
                       (unsigned long long)index);
    size_t nl = get16(c + 28), xl = get16(c + 30), cl = get16(c + 32);
    if ((size_t)(end - c) - CENTRAL_LEN < nl + xl + cl)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: central directory entry %llu runs past the directory", path,
                       (unsigned long long)index);
    if (nl == 0 || nl >= NAME_CAP || memchr(c + CENTRAL_LEN, 0, nl))
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: central directory entry %llu has an empty, too long or bad name", path,
                       (unsigned long long)index);
    memset(m, 0, sizeof *m);
    memcpy(m->name, c + CENTRAL_LEN, nl);
    m->name_len = (uint32_t)nl;
    m->flags = get16(c + 8);
    m->method = get16(c + 10);
    m->crc = get32(c + 16);
    m->csize = get32(c + 20);
    m->usize = get32(c + 24);
    m->offset = get32(c + 42);
    if (get16(c + 34) != 0 && get16(c + 34) != MAX16)
        return rn_fail(err, RN_ERR_FORMAT, "%s:%s: multi-disk zip archives are not supported", path,
                       m->name);
    if (!apply_zip64_extra(c + CENTRAL_LEN + nl, xl, m))
        return rn_fail(err, RN_ERR_FORMAT, "%s:%s: bad ZIP64 extra field", path, m->name);
    *p = c + CENTRAL_LEN + nl + xl + cl;
    return RN_OK;
}

/* Checks m's local header against the central entry; *data is where its bytes start. */
static rn_status locate_data(const unsigned char *buf, const zip_dir *dir, const zip_member *m,
                             const char *what, uint64_t *data, rn_error *err) {
    if (m->flags & 1)
        return rn_fail(err, RN_ERR_FORMAT, "%s: encrypted members are not supported", what);
    if (m->method != 0 && m->method != 8)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: compression method %u is not supported (stored or deflate)", what,
                       m->method);
    if (m->offset > dir->offset || dir->offset - m->offset < LOCAL_LEN ||
        get32(buf + m->offset) != SIG_LOCAL)
        return rn_fail(err, RN_ERR_FORMAT, "%s: local file header is missing", what);
    const unsigned char *l = buf + m->offset;
    uint64_t nl = get16(l + 26), xl = get16(l + 28);
    if (dir->offset - m->offset - LOCAL_LEN < nl + xl || nl != m->name_len ||
        memcmp(l + LOCAL_LEN, m->name, nl) || get16(l + 8) != m->method)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: local file header does not match the central directory", what);
    *data = m->offset + LOCAL_LEN + nl + xl;
    if (m->csize > dir->offset - *data)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: member data (%llu bytes) runs past the end of the file (truncated?)",
                       what, (unsigned long long)m->csize);
    if (m->method == 0 && m->csize != m->usize)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: stored member has compressed size %llu but size %llu", what,
                       (unsigned long long)m->csize, (unsigned long long)m->usize);
    /* deflate cannot compress by more than about 1032:1 */
    if (m->method == 8 && (m->usize > m->csize * 1032 + 1024 || m->usize >= SIZE_MAX))
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: implausible uncompressed size %llu for %llu compressed bytes", what,
                       (unsigned long long)m->usize, (unsigned long long)m->csize);
    return RN_OK;
}

/* Raw deflate (no zlib header) of src[0..csize) into exactly dst[0..usize); sizes may pass zlib's
 * uInt. With head (non-NULL), only the first bytes of the stream are wanted: up to usize of them,
 * fewer where the stream ends sooner; *head is how many. */
static rn_status inflate_member(const unsigned char *src, uint64_t csize, unsigned char *dst,
                                uint64_t usize, uint64_t *head, const char *what, rn_error *err) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return rn_fail(err, RN_ERR_NO_MEMORY, "%s: cannot start zlib", what);
    uint64_t in_left = csize, out_left = usize;
    zs.next_in = (Bytef *)src;
    zs.next_out = dst;
    int r;
    for (;;) {
        if (!zs.avail_in && in_left) {
            zs.avail_in = in_left > CRC_CHUNK ? CRC_CHUNK : (uInt)in_left;
            in_left -= zs.avail_in;
        }
        if (!zs.avail_out && out_left) {
            zs.avail_out = out_left > CRC_CHUNK ? CRC_CHUNK : (uInt)out_left;
            out_left -= zs.avail_out;
        }
        r = inflate(&zs, Z_NO_FLUSH);
        if (head && r == Z_OK && !zs.avail_out && !out_left) break; /* the head is complete */
        if (r == Z_OK) continue;
        if (r == Z_BUF_ERROR && ((!zs.avail_in && in_left) || (!zs.avail_out && out_left)))
            continue;
        break;
    }
    uint64_t produced = usize - out_left - zs.avail_out;
    inflateEnd(&zs);
    if (r == Z_MEM_ERROR) return rn_fail(err, RN_ERR_NO_MEMORY, "%s: out of memory in zlib", what);
    if (head && (r == Z_STREAM_END || (produced == usize && (r == Z_OK || r == Z_BUF_ERROR)))) {
        *head = produced; /* the rest, and whether the stream ends where it says, is read later */
        return RN_OK;
    }
    if (r != Z_STREAM_END)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: compressed data is corrupt or longer than its stated size (zlib: %s)",
                       what, zs.msg ? zs.msg : zError(r));
    if (produced != usize)
        return rn_fail(err, RN_ERR_FORMAT,
                       "%s: decompressed to %llu bytes, the directory says %llu", what,
                       (unsigned long long)produced, (unsigned long long)usize);
    return RN_OK;
}

/* The member m as an array: locate, inflate if deflated, check the CRC, parse the .npy. */
static rn_status read_member(const unsigned char *buf, const zip_dir *dir, const zip_member *m,
                             const char *what, rn_array *out, rn_error *err) {
    uint64_t data = 0;
    rn_status st = locate_data(buf, dir, m, what, &data, err);
    if (st != RN_OK) return st;
    const unsigned char *plain = buf + data;
    unsigned char *owned = NULL;
    if (m->method == 8) {
        /* the .npy header first, from the head of the stream: its shape must account for the
         * member's stated size, and that size must fit in memory, before anything more is inflated
         * (a small hostile member may declare gigabytes) */
        size_t head_len = m->usize < RN_NPY_HEAD_MAX ? (size_t)m->usize : RN_NPY_HEAD_MAX,
               count = 0;
        unsigned char *head = malloc(head_len + 1);
        if (!head)
            return rn_fail(err, RN_ERR_NO_MEMORY, "%s: out of memory for %zu bytes", what,
                           head_len);
        uint64_t got = 0;
        st = inflate_member(buf + data, m->csize, head, head_len, &got, what, err);
        if (st == RN_OK) st = rn_npy_check_head(head, (size_t)got, m->usize, what, &count, err);
        free(head);
        if (st != RN_OK) return st;
        double need = (double)m->usize + (double)count * sizeof(float); /* inflated + converted */
        if (rn_host_memory_exceeds((size_t)(need < 1.8e19 ? need : 1.8e19)))
            return rn_fail(err, RN_ERR_NO_MEMORY,
                           "%s: out of host memory: the array needs %.1f MiB, this machine has "
                           "%.1f MiB",
                           what, need / 1048576.0, (double)rn_host_memory_total() / 1048576.0);
        if (!(owned = malloc((size_t)m->usize + 1)))
            return rn_fail(err, RN_ERR_NO_MEMORY, "%s: out of memory for %llu bytes (%.1f MiB)",
                           what, (unsigned long long)m->usize, (double)m->usize / 1048576.0);
        st = inflate_member(buf + data, m->csize, owned, m->usize, NULL, what, err);
        plain = owned;
    }
    if (st == RN_OK && crc_update(0, plain, m->usize) != m->crc)
        st = rn_fail(err, RN_ERR_FORMAT, "%s: CRC-32 mismatch (the archive is damaged)", what);
    if (st == RN_OK) st = rn_npy_parse(plain, (size_t)m->usize, what, out, err);
    free(owned);
    return st;
}

/* The array name for a member: without ".npy"; 0 when too long. */
static int array_name(const zip_member *m, char *name, size_t cap) {
    size_t n = m->name_len;
    if (n > 4 && !memcmp(m->name + n - 4, ".npy", 4)) n -= 4;
    if (n >= cap) return 0;
    memcpy(name, m->name, n);
    name[n] = '\0';
    return 1;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static rn_status read_members(const unsigned char *buf, const zip_dir *dir, const char *path,
                              rn_array *out, int *n, rn_error *err) {
    const unsigned char *p = buf + dir->offset, *end = buf + dir->offset + dir->size;
    for (uint64_t i = 0; i < dir->entries; i++) {
        zip_member m;
        char what[4096 + NAME_CAP + 2], name[sizeof out->name];
        rn_status st = parse_central(&p, end, path, i, &m, err);
        if (st != RN_OK) return st;
        snprintf(what, sizeof what, "%s:%s", path, m.name);
        if (!array_name(&m, name, sizeof name))
            return rn_fail(err, RN_ERR_FORMAT, "%s: member name too long", what);
        if ((st = read_member(buf, dir, &m, what, &out[*n], err)) != RN_OK) return st;
        memcpy(out[*n].name, name, sizeof name);
        (*n)++;
    }
    if (p != end)
        return rn_fail(err, RN_ERR_FORMAT, "%s: unexpected bytes in the central directory", path);
    /* Duplicate names by sorting, not pairwise: an archive may list a million members. */
    const char **names = malloc((size_t)*n * sizeof *names + 1);
    if (!names) return rn_fail(err, RN_ERR_NO_MEMORY, "%s: out of memory", path);
    for (int i = 0; i < *n; i++)
        names[i] = out[i].name;
    qsort(names, (size_t)*n, sizeof *names, cmp_names);
    rn_status st = RN_OK;
    for (int i = 1; i < *n && st == RN_OK; i++)
        if (!strcmp(names[i - 1], names[i]))
            st = rn_fail(err, RN_ERR_FORMAT, "%s: a second member for the array '%s'", path,
                         names[i]);
    free(names);
    return st;
}

rn_status rn_npz_parse(const unsigned char *buf, size_t len, const char *what, rn_array **arrays,
                       int *count, rn_error *err) {
    *arrays = NULL;
    *count = 0;
    zip_dir dir;
    rn_array *out = NULL;
    int n = 0;
    rn_status st = find_directory(buf, len, what, &dir, err);
    if (st == RN_OK && !(out = calloc((size_t)dir.entries + 1, sizeof *out)))
        st = rn_fail(err, RN_ERR_NO_MEMORY, "%s: out of memory", what);
    if (st == RN_OK) st = read_members(buf, &dir, what, out, &n, err);
    if (st != RN_OK) {
        rn_arrays_free(out, n);
        return st;
    }
    *arrays = out;
    *count = n;
    return rn_ok(err);
}

rn_status rn_npz_read(const char *path, rn_array **arrays, int *count, rn_error *err) {
    if (!arrays || !count) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_npz_read: NULL output");
    *arrays = NULL;
    *count = 0;
    if (!path) return rn_fail(err, RN_ERR_INVALID_ARG, "rn_npz_read: path is NULL");
    unsigned char *buf;
    size_t len;
    rn_status st = rn_read_file(path, &buf, &len, err);
    if (st != RN_OK) return st;
    st = rn_npz_parse(buf, len, path, arrays, count, err);
    free(buf);
    return st;
}
