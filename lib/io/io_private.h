/* Layer io: datasets (IDX, .npy, gzip) and model files. Builds on core and common
 * only. Nothing here is ABI. */
#ifndef HAMDEQ_IO_PRIVATE_H
#define HAMDEQ_IO_PRIVATE_H

#include "core/core_private.h"

/* ------------------------------ datasets and files (dataset.c, data_*.c, model_file.c) */

/* Most values (count x dim) a data file may declare. Memory is only allocated as data
 * arrives; this bounds the arithmetic and what a forged header can ask for. */
#define HAMP_DATA_MAX_VALUES ((uint64_t)1 << 32)

struct ham_dataset {
    int64_t count;
    int32_t dim;
    int32_t n_classes; /* largest label + 1; 0 without labels */
    uint8_t *u8;       /* count x dim pixels (scaled by 1/255 on the way out), or NULL */
    float *f32;        /* count x dim values, or NULL: exactly one of u8, f32 is set */
    int32_t *labels;   /* count labels in [0, INT32_MAX), or NULL */
};

/* Makes a dataset of buffers it takes over (freed on failure too). */
int hamp_dataset_wrap(ham_dataset_t **out, int64_t count, int32_t dim, uint8_t *u8, float *f32,
                      int32_t *labels);

/* What one load may allocate (ham_load_options_t.max_bytes): every buffer whose size the
 * files decide is taken from it before it is allocated, and counted even after it is
 * freed, so `used` bounds the load's peak as well. */
typedef struct hamp_budget {
    uint64_t max;
    uint64_t used;
} hamp_budget_t;

/* Reads a caller's options (NULL: the defaults) into a fresh budget. */
int hamp_load_options_read(hamp_budget_t *b, const ham_load_options_t *options);
/* Takes n bytes of `what` from the budget, or fails with HAM_ERR_NOMEM naming the limit
 * (and `path`). */
int hamp_budget_take(hamp_budget_t *b, uint64_t n, const char *path, const char *what);

/* A file read through zlib: gzip or raw, detected from the content (rfile.c). */
struct gzFile_s;
typedef struct hamp_rfile {
    const char *path;
    hamp_budget_t *budget; /* what read_body may allocate */
    struct gzFile_s *gz;
    int direct;    /* 1: a raw file, whose size bounds what a header may claim */
    uint64_t size; /* bytes on disk */
    uint64_t pos;  /* (decompressed) bytes read so far */
} hamp_rfile_t;

/* Opens path without blocking (a FIFO or a device is refused, never waited on). */
int hamp_rfile_open(hamp_rfile_t *f, const char *path, hamp_budget_t *budget);
/* Reads exactly len bytes (HAM_ERR_FORMAT "truncated" if the data ends first). */
int hamp_rfile_read(hamp_rfile_t *f, void *buf, size_t len, const char *what);
/* Reads a declared body of len bytes into a new malloc'd buffer: checked against a raw
 * file's size first, then taken from the budget, grown as data arrives from a gzip
 * stream. */
int hamp_rfile_read_body(hamp_rfile_t *f, void **out, uint64_t len, const char *what);
/* HAM_ERR_FORMAT if data follows; also makes zlib verify a gzip trailer. */
int hamp_rfile_expect_end(hamp_rfile_t *f);
void hamp_rfile_close(hamp_rfile_t *f); /* no-op on a closed or failed-to-open file */

/* ------------------------------------------------- model encoding (model_format.c) */

/* Receives the encoding in order, in chunks; returns 0, or non-zero to stop (returned by
 * hamp_model_encode). */
typedef int (*hamp_model_sink_fn)(void *ctx, const void *bytes, size_t n);

/* HAM_ERR_UNSUPPORTED (message prefixed with name) when a layer's Lagrangian is custom. */
int hamp_model_check_saveable(const ham_model_t *m, const char *name);
/* Exact length of the model's encoding. */
uint64_t hamp_model_encoded_size(const ham_model_t *m);
/* Hands the encoding to sink, in bounded chunks: exactly hamp_model_encoded_size bytes
 * unless the sink stops it. The model must be saveable. */
int hamp_model_encode(const ham_model_t *m, hamp_model_sink_fn sink, void *ctx);

/* Bytes at the start of an encoding that hold the magic, version and declared length. */
#define HAMP_MODEL_PREAMBLE 24u
/* Checks the first min(total, HAMP_MODEL_PREAMBLE) bytes p of an encoding of total bytes:
 * magic, version, minimal and declared length. Lets a file be refused before it is read.
 * Messages start with name and call the source a `noun` ("file", "buffer"). */
int hamp_model_check_preamble(const unsigned char *p, uint64_t total, const char *name,
                              const char *noun);
/* Decodes a whole encoding of size bytes (p may be NULL when size is 0): every check of
 * docs/model-format.md; reads nothing outside [p, p + size) and allocates only what the
 * layer sizes, already checked against size, need. *out is NULL on failure. */
int hamp_model_decode(ham_model_t **out, const unsigned char *p, size_t size, const char *name,
                      const char *noun);

#endif /* HAMDEQ_IO_PRIVATE_H */
