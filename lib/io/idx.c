/* IDX files (the MNIST family's format), raw or gzip: a 4-byte magic 00 00 TT ND (TT the
 * element type, ND the number of dimensions), ND big-endian uint32 sizes, then the
 * elements. Both headers are checked, and their counts compared, before any body is
 * read; bodies are read through hamp_rfile_read_body, which never allocates more than the
 * file holds. Data after the declared elements is an error: it means the header and the
 * body disagree. */
#include <stdlib.h>
#include <string.h>

#include "io/io_private.h"

#define IDX_UBYTE 0x08

typedef struct idx_header {
    int ndims;
    uint32_t dims[255];
    uint64_t count;  /* dims[0] */
    uint64_t values; /* product of the other dims (1 for a 1-D file) */
} idx_header_t;

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
        return "unknown";
    }
}

/* Reads and checks a header; `role` is "images" or "labels". */
static int read_header(idx_header_t *h, hamp_rfile_t *f, const char *role)
{
    unsigned char magic[4];
    int rc = hamp_rfile_read(f, magic, 4, "the IDX magic number");
    if (rc != HAM_OK)
        return rc;
    if (magic[0] != 0 || magic[1] != 0)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: not an IDX file (magic bytes %02x %02x %02x %02x, expected 00 00 "
                           "08 0N)",
                           f->path, magic[0], magic[1], magic[2], magic[3]);
    if (magic[2] != IDX_UBYTE)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: IDX element type 0x%02x (%s) is not supported for %s, only "
                           "unsigned bytes (0x08)",
                           f->path, magic[2], type_name(magic[2]), role);
    h->ndims = magic[3];
    if (role[0] == 'i' && h->ndims < 2)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: IDX images need at least 2 dimensions (count x values), the "
                           "header has %d",
                           f->path, h->ndims);
    if (role[0] == 'l' && h->ndims != 1)
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: IDX labels must have exactly 1 dimension, the header has %d",
                           f->path, h->ndims);
    unsigned char raw[4 * 255];
    rc = hamp_rfile_read(f, raw, 4 * (size_t)h->ndims, "the IDX dimensions");
    if (rc != HAM_OK)
        return rc;
    h->values = 1;
    for (int i = 0; i < h->ndims; i++) {
        const unsigned char *p = raw + 4 * i;
        h->dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (h->dims[i] == 0)
            return hamp_fail(HAM_ERR_FORMAT,
                               "%s: IDX dimension %d is 0 (no %s)", f->path, i,
                               i == 0 ? "samples" : "values");
        if (i > 0) {
            h->values *= h->dims[i]; /* <= INT32_MAX before, < 2^32 factor: no overflow */
            if (h->values > INT32_MAX)
                return hamp_fail(HAM_ERR_FORMAT,
                                   "%s: absurd IDX dimensions: more than 2^31 - 1 values per "
                                   "sample",
                                   f->path);
        }
    }
    h->count = h->dims[0];
    if (h->count * h->values > HAMP_DATA_MAX_VALUES) /* both < 2^32: no overflow */
        return hamp_fail(HAM_ERR_FORMAT,
                           "%s: absurd IDX dimensions: %llu x %llu values is more than the "
                           "2^32 a dataset may hold",
                           f->path, (unsigned long long)h->count,
                           (unsigned long long)h->values);
    return HAM_OK;
}

HAM_API int ham_dataset_load_idx(ham_dataset_t **dataset, const char *images,
                                 const char *labels, const ham_load_options_t *options)
{
    if (!dataset)
        return hamp_fail(HAM_ERR_NULL, "dataset output pointer is NULL");
    *dataset = NULL;
    if (!images)
        return hamp_fail(HAM_ERR_NULL, "images path is NULL");
    hamp_budget_t budget;
    int rc = hamp_load_options_read(&budget, options);
    if (rc != HAM_OK)
        return rc;

    hamp_rfile_t fi, fl;
    memset(&fl, 0, sizeof fl);
    idx_header_t hi, hl;
    uint8_t *pix = NULL, *lab8 = NULL;
    int32_t *lab = NULL;
    rc = hamp_rfile_open(&fi, images, &budget);
    if (rc != HAM_OK)
        return rc;
    if ((rc = read_header(&hi, &fi, "images")) != HAM_OK)
        goto done;
    if (labels) {
        if ((rc = hamp_rfile_open(&fl, labels, &budget)) != HAM_OK)
            goto done;
        if ((rc = read_header(&hl, &fl, "labels")) != HAM_OK)
            goto done;
        if (hl.count != hi.count) {
            rc = hamp_fail(HAM_ERR_FORMAT,
                             "%s: %llu labels, but %s has %llu images", labels,
                             (unsigned long long)hl.count, images,
                             (unsigned long long)hi.count);
            goto done;
        }
    }
    if ((rc = hamp_rfile_read_body(&fi, (void **)&pix, hi.count * hi.values, "image data")) !=
            HAM_OK ||
        (rc = hamp_rfile_expect_end(&fi)) != HAM_OK)
        goto done;
    if (labels) {
        if ((rc = hamp_rfile_read_body(&fl, (void **)&lab8, hl.count, "label data")) != HAM_OK ||
            (rc = hamp_rfile_expect_end(&fl)) != HAM_OK)
            goto done;
        if ((rc = hamp_budget_take(&budget, hl.count * sizeof *lab, labels, "the labels")) !=
            HAM_OK)
            goto done;
        if (hl.count > SIZE_MAX / sizeof *lab ||
            !(lab = malloc((size_t)hl.count * sizeof *lab))) {
            rc = hamp_fail(HAM_ERR_NOMEM, "%s: out of memory", labels);
            goto done;
        }
        for (uint64_t i = 0; i < hl.count; i++)
            lab[i] = lab8[i];
    }
    rc = hamp_dataset_wrap(dataset, (int64_t)hi.count, (int32_t)hi.values, pix, NULL, lab);
    pix = NULL;
    lab = NULL;
    if (rc != HAM_OK)
        hamp_fail(rc, "%s: out of memory", images);
done:
    hamp_rfile_close(&fi);
    hamp_rfile_close(&fl);
    free(pix);
    free(lab8);
    free(lab);
    return rc;
}
