/* NumPy .npy files (format 1.0, 2.0 and 3.0): "\x93NUMPY", major and minor version, a
 * little-endian header length (2 bytes in 1.0, 4 in 2.0 and 3.0), then a Python dict
 * literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, 28, 28), } padded with
 * spaces to a newline, then the C-order array. The dict is parsed by a small strict
 * scanner: exactly those three keys, as numpy itself requires. The file may be gzipped
 * (read through the same zlib reader as IDX files). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_private.h"

/* numpy refuses headers over 10,000 bytes by default; allow more, but bound it. */
#define MAX_HEADER ((uint32_t)1 << 20)
#define MAX_NDIMS 64

enum npy_type { NPY_U1, NPY_F4, NPY_I4, NPY_I8 };

typedef struct npy_header {
    char descr[32];
    int type;     /* enum npy_type */
    size_t item;  /* bytes per element */
    int fortran;
    int ndims;
    uint64_t dims[MAX_NDIMS];
    uint64_t count;  /* dims[0] */
    uint64_t values; /* product of the other dims */
} npy_header_t;

typedef struct scan {
    const char *p, *end;
} scan_t;

static void skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int accept(scan_t *s, char c)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes into out (NUL-terminated); 0 on failure. */
static int scan_string(scan_t *s, char *out, size_t cap)
{
    skip_ws(s);
    if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
        return 0;
    char q = *s->p++;
    size_t n = 0;
    while (s->p < s->end && *s->p != q) {
        if (*s->p == '\\' || n + 1 >= cap)
            return 0;
        out[n++] = *s->p++;
    }
    if (s->p >= s->end)
        return 0;
    s->p++;
    out[n] = '\0';
    return 1;
}

static int scan_word(scan_t *s, const char *w)
{
    skip_ws(s);
    size_t n = strlen(w);
    if ((size_t)(s->end - s->p) >= n && memcmp(s->p, w, n) == 0) {
        s->p += n;
        return 1;
    }
    return 0;
}

/* A non-negative decimal integer (an 'L' suffix from Python 2 is accepted). */
static int scan_uint(scan_t *s, uint64_t *v)
{
    skip_ws(s);
    if (s->p >= s->end || *s->p < '0' || *s->p > '9')
        return 0;
    uint64_t x = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        unsigned d = (unsigned)(*s->p++ - '0');
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = 10 * x + d;
    }
    if (s->p < s->end && *s->p == 'L')
        s->p++;
    *v = x;
    return 1;
}

static int scan_shape(scan_t *s, npy_header_t *h)
{
    if (!accept(s, '('))
        return 0;
    h->ndims = 0;
    for (;;) {
        if (accept(s, ')'))
            return 1;
        if (h->ndims == MAX_NDIMS || !scan_uint(s, &h->dims[h->ndims]))
            return 0;
        h->ndims++;
        if (accept(s, ','))
            continue;
        return accept(s, ')');
    }
}

/* A header string as a message may show it: the file's bytes, with anything but
 * printable ASCII as '?', so that a message stays one line of text. */
static const char *printable(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (; in[n] && n + 1 < cap; n++)
        out[n] = in[n] >= 0x20 && in[n] < 0x7F ? in[n] : '?';
    out[n] = '\0';
    return out;
}

static int bad(const hamp_rfile_t *f, const char *what)
{
    return hamp_fail(HAM_ERR_FORMAT, "%s: malformed .npy header: %s",
                       f->path, what);
}

static int parse_dict(npy_header_t *h, hamp_rfile_t *f, const char *text, size_t len)
{
    scan_t s = {text, text + len};
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    if (!accept(&s, '{'))
        return bad(f, "it is not a Python dict");
    for (;;) {
        if (accept(&s, '}'))
            break;
        char key[32];
        if (!scan_string(&s, key, sizeof key) || !accept(&s, ':'))
            return bad(f, "expected a quoted key and ':'");
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            seen_descr = 1;
            if (!scan_string(&s, h->descr, sizeof h->descr))
                return bad(f, "'descr' is not a simple dtype string (structured arrays are "
                              "not supported)");
        } else if (strcmp(key, "fortran_order") == 0 && !seen_fortran) {
            seen_fortran = 1;
            if (scan_word(&s, "True"))
                h->fortran = 1;
            else if (scan_word(&s, "False"))
                h->fortran = 0;
            else
                return bad(f, "'fortran_order' is neither True nor False");
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = 1;
            if (!scan_shape(&s, h))
                return bad(f, "'shape' is not a tuple of at most 64 non-negative integers");
        } else {
            char shown[sizeof key];
            return hamp_fail(HAM_ERR_FORMAT,
                               "%s: malformed .npy header: unexpected or repeated key '%s'",
                               f->path, printable(shown, sizeof shown, key));
        }
        if (accept(&s, ','))
            continue;
        if (accept(&s, '}'))
            break;
        return bad(f, "expected ',' or '}'");
    }
    skip_ws(&s);
    if (s.p != s.end)
        return bad(f, "text after the dict");
    if (!seen_descr || !seen_fortran || !seen_shape)
        return bad(f, "it needs the keys 'descr', 'fortran_order' and 'shape'");
    return HAM_OK;
}

static int read_header(npy_header_t *h, hamp_rfile_t *f, int labels)
{
    memset(h, 0, sizeof *h);
    unsigned char pre[12];
    int rc = hamp_rfile_read(f, pre, 8, "the .npy magic string");
    if (rc != HAM_OK)
        return rc;
    if (memcmp(pre, "\x93NUMPY", 6) != 0)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: not a .npy file (it does not start with \\x93NUMPY)", f->path);
    int major = pre[6];
    uint32_t hlen;
    if (major == 1) {
        if ((rc = hamp_rfile_read(f, pre + 8, 2, "the .npy header length")) != HAM_OK)
            return rc;
        hlen = (uint32_t)hamp_le16(pre + 8);
    } else if (major == 2 || major == 3) {
        if ((rc = hamp_rfile_read(f, pre + 8, 4, "the .npy header length")) != HAM_OK)
            return rc;
        hlen = hamp_le32(pre + 8);
    } else {
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: .npy format version %d.%d is not supported (1.0 to 3.0 are)",
                           f->path, major, pre[7]);
    }
    if (hlen > MAX_HEADER)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: .npy header of %u bytes is too long (at most %u)", f->path,
                           (unsigned)hlen, (unsigned)MAX_HEADER);
    char *text = NULL;
    if ((rc = hamp_rfile_read_body(f, (void **)&text, hlen, "the .npy header")) != HAM_OK)
        return rc;
    rc = parse_dict(h, f, text, hlen);
    free(text);
    if (rc != HAM_OK)
        return rc;

    const char *d = h->descr;
    char shown[sizeof h->descr];
    /* A byte has no byte order: numpy writes '|u1', other writers '<u1' or 'u1'. */
    if (strcmp(d, "|u1") == 0 || strcmp(d, "<u1") == 0 || strcmp(d, ">u1") == 0 ||
        strcmp(d, "=u1") == 0 || strcmp(d, "u1") == 0 || strcmp(d, "|B") == 0) {
        h->type = NPY_U1;
        h->item = 1;
    } else if (!labels && strcmp(d, "<f4") == 0) {
        h->type = NPY_F4;
        h->item = 4;
    } else if (labels && strcmp(d, "<i4") == 0) {
        h->type = NPY_I4;
        h->item = 4;
    } else if (labels && strcmp(d, "<i8") == 0) {
        h->type = NPY_I8;
        h->item = 8;
    } else {
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: .npy dtype '%s' is not supported for %s (use %s)", f->path,
                           printable(shown, sizeof shown, d),
                           labels ? "labels" : "samples",
                           labels ? "'|u1', '<i4' or '<i8'" : "'<f4' or '|u1'");
    }
    if (h->fortran)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: Fortran-order .npy arrays are not supported (save a C-order "
                           "array, e.g. numpy.ascontiguousarray)",
                           f->path);
    if (labels && h->ndims != 1)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: labels must be a 1-D array, the shape has %d dimensions",
                           f->path, h->ndims);
    if (!labels && h->ndims < 2)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: samples need at least 2 dimensions (count x values), the shape "
                           "has %d",
                           f->path, h->ndims);
    h->values = 1;
    for (int i = 0; i < h->ndims; i++) {
        if (h->dims[i] == 0)
            return hamp_fail(HAM_ERR_FORMAT,
                               "%s: dimension %d of the shape is 0 (no %s)", f->path, i,
                               i == 0 ? "samples" : "values");
        if (i > 0) {
            if (h->dims[i] > INT32_MAX || (h->values *= h->dims[i]) > INT32_MAX)
                return hamp_fail(HAM_ERR_FORMAT,
                                   "%s: absurd shape: more than 2^31 - 1 values per sample",
                                   f->path);
        }
    }
    h->count = h->dims[0];
    if (h->count > HAMP_DATA_MAX_VALUES || h->count * h->values > HAMP_DATA_MAX_VALUES)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: absurd shape: %llu x %llu values is more than the 2^32 a "
                           "dataset may hold",
                           f->path, (unsigned long long)h->count,
                           (unsigned long long)h->values);
    return HAM_OK;
}

/* Reads the labels' body into int32 labels in [0, INT32_MAX). */
static int read_labels(int32_t **out, hamp_rfile_t *f, const npy_header_t *h)
{
    unsigned char *raw = NULL;
    int rc = hamp_rfile_read_body(f, (void **)&raw, h->count * h->item, "label data");
    if (rc != HAM_OK)
        return rc;
    if ((rc = hamp_rfile_expect_end(f)) != HAM_OK ||
        (rc = hamp_budget_take(f->budget, h->count * sizeof **out, f->path, "the labels")) !=
            HAM_OK) {
        free(raw);
        return rc;
    }
    int32_t *lab = h->count > SIZE_MAX / sizeof *lab ? NULL
                                                     : malloc((size_t)h->count * sizeof *lab);
    if (!lab) {
        free(raw);
        return hamp_fail(HAM_ERR_NOMEM, "%s: out of memory", f->path);
    }
    for (uint64_t i = 0; i < h->count; i++) {
        int64_t v;
        if (h->type == NPY_U1)
            v = raw[i];
        else if (h->type == NPY_I4)
            v = (int32_t)hamp_le32(raw + 4 * i);
        else
            v = (int64_t)hamp_le64(raw + 8 * i);
        if (v < 0 || v >= INT32_MAX) {
            free(raw);
            free(lab);
            return hamp_fail(HAM_ERR_FORMAT,
                               "%s: label %lld of sample %llu is outside [0, 2^31 - 1)",
                               f->path, (long long)v, (unsigned long long)i);
        }
        lab[i] = (int32_t)v;
    }
    free(raw);
    *out = lab;
    return HAM_OK;
}

HAM_API int ham_dataset_load_npy(ham_dataset_t **dataset, const char *samples,
                                 const char *labels, const ham_load_options_t *options)
{
    if (!dataset)
        return hamp_fail(HAM_ERR_NULL, "dataset output pointer is NULL");
    *dataset = NULL;
    if (!samples)
        return hamp_fail(HAM_ERR_NULL, "samples path is NULL");
    hamp_budget_t budget;
    int rc = hamp_load_options_read(&budget, options);
    if (rc != HAM_OK)
        return rc;

    hamp_rfile_t fs, fl;
    memset(&fl, 0, sizeof fl);
    npy_header_t hs, hl;
    void *data = NULL;
    int32_t *lab = NULL;
    rc = hamp_rfile_open(&fs, samples, &budget);
    if (rc != HAM_OK)
        return rc;
    if ((rc = read_header(&hs, &fs, 0)) != HAM_OK)
        goto done;
    if (labels) {
        if ((rc = hamp_rfile_open(&fl, labels, &budget)) != HAM_OK)
            goto done;
        if ((rc = read_header(&hl, &fl, 1)) != HAM_OK)
            goto done;
        if (hl.count != hs.count) {
            rc = hamp_fail(HAM_ERR_FORMAT,
                             "%s: %llu labels, but %s has %llu samples", labels,
                             (unsigned long long)hl.count, samples,
                             (unsigned long long)hs.count);
            goto done;
        }
    }
    uint64_t n = hs.count * hs.values;
    if ((rc = hamp_rfile_read_body(&fs, &data, n * hs.item, "sample data")) != HAM_OK ||
        (rc = hamp_rfile_expect_end(&fs)) != HAM_OK)
        goto done;
    if (hs.type == NPY_F4) {
        float *x = data;
        hamp_le_floats(x, (size_t)n);
        for (uint64_t i = 0; i < n; i++)
            if (!isfinite(x[i])) {
                rc = hamp_fail(HAM_ERR_FORMAT,
                                 "%s: value %llu of sample %llu is NaN or infinite", samples,
                                 (unsigned long long)(i % hs.values),
                                 (unsigned long long)(i / hs.values));
                goto done;
            }
    }
    if (labels && (rc = read_labels(&lab, &fl, &hl)) != HAM_OK)
        goto done;
    if (hs.type == NPY_U1)
        rc = hamp_dataset_wrap(dataset, (int64_t)hs.count, (int32_t)hs.values, data, NULL, lab);
    else
        rc = hamp_dataset_wrap(dataset, (int64_t)hs.count, (int32_t)hs.values, NULL, data, lab);
    data = NULL;
    lab = NULL;
    if (rc != HAM_OK)
        hamp_fail(rc, "%s: out of memory", samples);
done:
    hamp_rfile_close(&fs);
    hamp_rfile_close(&fl);
    free(data);
    free(lab);
    return rc;
}
