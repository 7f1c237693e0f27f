/* IDX reader (http://yann.lecun.com/exdb/mnist/ format): a 4-byte magic 00 00 TT ND
 * (TT the element type, ND the number of dimensions), ND big-endian uint32 sizes, then
 * the elements. zlib's gzread reads gzip and raw files alike. Every header field is
 * checked before anything is allocated, so a corrupt file gives an error, not a crash. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "idx.h"

#define IDX_TYPE_UBYTE 0x08

static int fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case 0x08:
        return "unsigned byte";
    case 0x09:
        return "signed byte";
    case 0x0B:
        return "int16";
    case 0x0C:
        return "int32";
    case 0x0D:
        return "float32";
    case 0x0E:
        return "float64";
    default:
        return NULL;
    }
}

/* zlib's messages start with the path; drop it, ours already has it. */
static const char *zmessage(gzFile f, const char *path, int *zerr)
{
    const char *msg = gzerror(f, zerr);
    size_t n = strlen(path);
    if (*zerr == Z_ERRNO)
        return strerror(errno);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    return msg;
}

static int read_error(gzFile f, const char *path, char *err, size_t errlen)
{
    int zerr;
    const char *msg = zmessage(f, path, &zerr);
    if (zerr == Z_BUF_ERROR)
        return fail(err, errlen, "%s: truncated (the gzip stream ends early)", path);
    if (zerr == Z_DATA_ERROR)
        return fail(err, errlen, "%s: corrupt gzip data (%s)", path, msg);
    return fail(err, errlen, "%s: read error: %s", path, msg);
}

/* Reads exactly len bytes; 0 on success, 1 at a clean end of data before len bytes,
 * -1 on a read error (message in err). *got receives the bytes read. */
static int read_full(gzFile f, const char *path, void *buf, size_t len, size_t *got, char *err,
                     size_t errlen)
{
    unsigned char *p = buf;
    *got = 0;
    while (*got < len) {
        size_t want = len - *got;
        if (want > (size_t)INT_MAX / 2)
            want = (size_t)INT_MAX / 2;
        int n = gzread(f, p + *got, (unsigned)want);
        if (n < 0)
            return read_error(f, path, err, errlen);
        if (n == 0) {
            int zerr;
            gzerror(f, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END)
                return read_error(f, path, err, errlen);
            return 1;
        }
        *got += (size_t)n;
    }
    return 0;
}

void idx_free(idx_images_t *im)
{
    if (!im)
        return;
    free(im->data);
    memset(im, 0, sizeof *im);
}

static int read_images(idx_images_t *im, gzFile f, const char *path, int32_t max_rows, char *err,
                       size_t errlen)
{
    unsigned char head[4];
    size_t got;
    int rc = read_full(f, path, head, sizeof head, &got, err, errlen);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return fail(err, errlen, "%s: not an IDX file (only %zu bytes)", path, got);
    if (head[0] != 0 || head[1] != 0 || !type_name(head[2]))
        return fail(err, errlen,
                    "%s: not an IDX file (bad magic %02x %02x %02x %02x; expected 00 00 08 03 "
                    "for images)",
                    path, head[0], head[1], head[2], head[3]);
    if (head[2] != IDX_TYPE_UBYTE)
        return fail(err, errlen, "%s: IDX elements are %s; only unsigned bytes (images) are supported",
                    path, type_name(head[2]));
    unsigned ndim = head[3];
    if (ndim == 1)
        return fail(err, errlen, "%s: a 1-dimensional IDX file (labels?), not images", path);
    if (ndim < 2 || ndim > 4)
        return fail(err, errlen, "%s: IDX file with %u dimensions; images need 2 to 4", path, ndim);

    unsigned char raw[16];
    rc = read_full(f, path, raw, 4 * (size_t)ndim, &got, err, errlen);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return fail(err, errlen, "%s: truncated IDX header", path);
    int64_t features = 1;
    for (unsigned d = 0; d < ndim; d++) {
        uint32_t v = (uint32_t)raw[4 * d] << 24 | (uint32_t)raw[4 * d + 1] << 16 |
                     (uint32_t)raw[4 * d + 2] << 8 | (uint32_t)raw[4 * d + 3];
        im->dims[d] = v;
        if (v == 0)
            return fail(err, errlen, "%s: IDX dimension %u is 0", path, d);
        if (d > 0) {
            features *= v;
            if (features > IDX_MAX_FEATURES)
                return fail(err, errlen, "%s: IDX sample size over %ld bytes: corrupt header?",
                            path, (long)IDX_MAX_FEATURES);
        }
    }
    if (im->dims[0] > (uint32_t)INT32_MAX ||
        (int64_t)im->dims[0] * features > IDX_MAX_PAYLOAD)
        return fail(err, errlen, "%s: IDX header declares %u samples of %lld bytes: corrupt header?",
                    path, im->dims[0], (long long)features);
    im->ndim = (int32_t)ndim;
    im->count = (int32_t)im->dims[0];
    im->features = (int32_t)features;
    im->rows = im->count < max_rows ? im->count : max_rows;

    size_t bytes = (size_t)im->rows * (size_t)im->features;
    im->data = malloc(bytes ? bytes : 1);
    if (!im->data)
        return fail(err, errlen, "%s: out of memory for %zu bytes", path, bytes);
    rc = read_full(f, path, im->data, bytes, &got, err, errlen);
    if (rc < 0)
        return -1;
    if (rc > 0)
        return fail(err, errlen, "%s: truncated: %d samples of %d bytes declared, data ends in sample %zu",
                    path, im->count, im->features, got / (size_t)im->features);

    /* Read (and drop) the rest, so a truncated or padded file is caught now. */
    int64_t rest = ((int64_t)im->count - im->rows) * im->features;
    unsigned char chunk[1 << 16];
    while (rest > 0) {
        size_t want = rest < (int64_t)sizeof chunk ? (size_t)rest : sizeof chunk;
        rc = read_full(f, path, chunk, want, &got, err, errlen);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            int64_t have = (int64_t)im->count * im->features - rest + (int64_t)got;
            return fail(err, errlen, "%s: truncated: %d samples of %d bytes declared, data ends in sample %lld",
                        path, im->count, im->features, (long long)(have / im->features));
        }
        rest -= (int64_t)want;
    }
    rc = read_full(f, path, chunk, 1, &got, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return fail(err, errlen, "%s: trailing bytes after the %d samples its header declares",
                    path, im->count);
    return 0;
}

int idx_read_images(idx_images_t *im, const char *path, int32_t max_rows, char *err,
                    size_t errlen)
{
    memset(im, 0, sizeof *im);
    if (max_rows < 0)
        max_rows = 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(err, errlen, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return fail(err, errlen, "%s: is a directory", path);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return fail(err, errlen, "%s: %s", path, errno ? strerror(errno) : "cannot open");
    int rc = read_images(im, f, path, max_rows, err, errlen);
    gzclose(f);
    if (rc != 0)
        idx_free(im);
    return rc;
}
