/* A small reader for IDX files (the MNIST family's format), raw or gzipped. */
#ifndef HAMDEQ_TOOLS_IDX_H
#define HAMDEQ_TOOLS_IDX_H

#include <stddef.h>
#include <stdint.h>

/* Largest sample (product of the dimensions after the first) and whole payload the
 * reader accepts: larger headers are treated as corrupt rather than allocated. */
#define IDX_MAX_FEATURES (1L << 24)
#define IDX_MAX_PAYLOAD ((int64_t)1 << 36)

typedef struct idx_images {
    int32_t count;    /* samples declared by the file (first dimension) */
    int32_t features; /* bytes per sample (product of the other dimensions) */
    int32_t ndim;     /* number of dimensions, 2 .. 4 */
    uint32_t dims[4];
    int32_t rows;     /* samples actually loaded into data: min(count, max_rows) */
    uint8_t *data;    /* rows x features unsigned bytes, row-major */
} idx_images_t;

/* Reads the header and the first max_rows samples of an unsigned-byte IDX file with two
 * or more dimensions (images: N x rows x cols), then reads the rest to make sure the file
 * holds exactly what its header declares. The file may be gzip-compressed or raw.
 * Returns 0, or -1 with a one-line reason in err (errlen bytes) and *im zeroed. */
int idx_read_images(idx_images_t *im, const char *path, int32_t max_rows, char *err,
                    size_t errlen);

/* Frees what idx_read_images() allocated; safe on a zeroed struct. */
void idx_free(idx_images_t *im);

#endif /* HAMDEQ_TOOLS_IDX_H */
