/* Layer common: errors, random numbers, vectors, the BLAS/LAPACK wrapper, thin-block
 * kernels and byte order. Every other layer builds on it; it includes no other layer. Nothing here is ABI. */
#ifndef HAMDEQ_COMMON_PRIVATE_H
#define HAMDEQ_COMMON_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "hamdeq/hamdeq.h"

#define HAMP_MSG_LEN 256

/* The status codes with their static descriptions (ham_strerror, ham_status_name). */
#define HAMP_STATUS_TABLE(X) \
    X(HAM_OK, "success") \
    X(HAM_ERR_NULL, "a required pointer argument is NULL") \
    X(HAM_ERR_INVALID, "an argument or option value is out of its documented range") \
    X(HAM_ERR_DIMENSION, "array sizes or dimensions do not match the model") \
    X(HAM_ERR_NOMEM, "out of memory") \
    X(HAM_ERR_NONFINITE, "the input contains NaN or infinity") \
    X(HAM_ERR_UNKNOWN_LAGRANGIAN, "unknown Lagrangian kind") \
    X(HAM_ERR_UNKNOWN_SOLVER, "unknown solver kind") \
    X(HAM_ERR_UNKNOWN_OPERATOR, "unknown operator kind") \
    X(HAM_ERR_UNKNOWN_OPTION, "unknown option") \
    X(HAM_ERR_UNSUPPORTED, "the operation is not supported by this model or solver") \
    X(HAM_ERR_STRUCT_SIZE, "a size-prefixed struct has an unknown size or a non-zero unknown tail") \
    X(HAM_ERR_CANCELLED, "the user callback asked to stop") \
    X(HAM_ERR_NUMERIC, "a numerical routine failed") \
    X(HAM_ERR_CALLBACK, "a user-supplied callback reported failure") \
    X(HAM_ERR_IO, "an input/output operation failed") \
    X(HAM_ERR_FORMAT, "a file is malformed, truncated or of an unsupported version")

/* ------------------------------------------------------------------ errors (error.c) */

/* The one error channel (ham_last_error): formats the calling thread's message and
 * returns status, so that every failure reads
 *   return hamp_fail(HAM_ERR_INVALID, "layer %d is out of range", (int)l);
 * A negative status is never created without it (tests/check_error_paths.py). The
 * arguments may include ham_last_error() itself (a message wrapping an inner one). */
int hamp_fail(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The generic message "function: static text of the status", where no detail adds more. */
#define HAMP_FAIL(status) hamp_fail((status), "%s: %s", __func__, ham_strerror(status))
/* 1 when libhamdeq defines this status code. */
int hamp_status_known(int status);

/* ------------------------------------------- size-prefixed structs (struct_size.c) */

/* Copies a library struct src (known bytes) to a caller's dst, whose `size` must be at
 * least `first` (the struct's first published size): at most min(size, known) bytes are
 * written, and dst->size becomes that count. */
int hamp_struct_out(void *dst, const void *src, size_t first, size_t known, const char *type);
/* Copies a caller's struct src into copy (known bytes): src->size at least `first`, any
 * byte past `known` zero; fields src lacks are zero in copy, copy->size = known. */
int hamp_struct_in(void *copy, const void *src, size_t first, size_t known, const char *type);

/* ---------------------------------------------------------- vectors (vec.c) */

/* Small helpers shared by backends (vec.c). */
double hamp_dot(const float *a, const float *b, int32_t n);
double hamp_nrm2(const float *a, int32_t n);
/* *diff2 = ||g - s||^2 and (g2 not NULL) *g2 = ||g||^2, in double. */
void hamp_diff_norms2(double *diff2, double *g2, const float *g, const float *s, int32_t n);
/* Moves rows keep[0..n) (increasing, keep[i] >= i) of a rows x width array to the front. */
void hamp_compact_rows(float *a, size_t width, const int32_t *keep, int32_t n);
void hamp_compact_rows_d(double *a, size_t width, const int32_t *keep, int32_t n);
void hamp_compact_rows_i(int32_t *a, size_t width, const int32_t *keep, int32_t n);

/* 1 when all n values are finite. */
int hamp_check_finite(const float *a, size_t n);

/* --------------------------------------------------------- BLAS/LAPACK (linalg.c) */

/* C = alpha * op(A) op(B) + beta * C, row-major. Never changes a BLAS's process-wide
 * settings (OpenBLAS's thread count is the host's). The guarantee for threads of our own
 * (threads over samples): every product with m*n*k <= HAMP_CALLER_MNK runs entirely on
 * the calling thread, never on OpenBLAS's pool; so do single rows and columns below
 * 1.5e5 multiply-adds (dot products, B transposed) or 5e5 (sums of rows), products of at
 * most 8 rows or 8 columns below 1.6e7 (of at most 8 rows with op(A) = A, op(B) = B' at
 * any size) and any other below 1.5e6 (linalg.c has the measurements). Larger ones go to OpenBLAS whole and use its threads, as many as the
 * host set: a worker thread that must not wake them calls hamp_sgemm_local. The path
 * depends on the shape only, so results are the same from run to run. */
#define HAMP_CALLER_MNK 262144 /* OpenBLAS 0.3.21: 65536 x GEMM_MULTITHREAD_THRESHOLD 4 */
void hamp_sgemm(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                const float *a, int32_t lda, const float *b, int32_t ldb, float beta, float *c,
                int32_t ldc);
/* The same product always on the calling thread whatever its size (a worker thread that
 * must not wake OpenBLAS's pool): direct kernels for few rows, else blocks of at most
 * HAMP_CALLER_MNK along m or n. Slower than hamp_sgemm's threaded path on large
 * products when the cores are free. */
void hamp_sgemm_local(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                      const float *a, int32_t lda, const float *b, int32_t ldb, float beta,
                      float *c, int32_t ldc);
/* The direct kernels (direct.c), no packing, on the calling thread: C (element (i, j) at
 * c[i * scr + j * scj]) = alpha * op(A) op(B) + beta * C (beta 0: C not read), op(A)
 * element (i, p) at a[i * sar + p * sap]. axpy: op(B) = B, k x n, rows contiguous (ldb);
 * dot: op(B) = B', B n x k, rows contiguous (ldb). */
void hamp_direct_axpy(int32_t m, int32_t n, int32_t k, float alpha, const float *a,
                      int32_t sar, int32_t sap, const float *b, int32_t ldb, float beta,
                      float *c, int32_t scr, int32_t scj);
void hamp_direct_dot(int32_t m, int32_t n, int32_t k, float alpha, const float *a,
                     int32_t sar, int32_t sap, const float *b, int32_t ldb, float beta,
                     float *c, int32_t scr, int32_t scj);
/* Products with a thin weight block (thin.c): one side of at most HAMP_THIN units, both
 * layers free. dst = init + src (rows x k) B, where init is NULL (zero: dst is not read),
 * dst itself (ldi = ldd), another rows x n matrix, or one row for all (ldi = 0).
 * narrow: n <= 16, B given as bpad (k x 16, padded rows). axpy: B (k x n, leading
 * dimension ldb), k small. */
#define HAMP_THIN 16
void hamp_thin_narrow(int32_t rows, int32_t n, int32_t k, const float *src, int32_t lds,
                      const float *bpad, const float *init, int32_t ldi, float *dst,
                      int32_t ldd);
void hamp_thin_axpy(int32_t rows, int32_t n, int32_t k, const float *src, int32_t lds,
                    const float *b, int32_t ldb, const float *init, int32_t ldi, float *dst,
                    int32_t ldd);

/* Solves A X = B in place (A n x n, B n x nrhs, row-major doubles); 0 on success. */
int hamp_dgesv(int32_t n, int32_t nrhs, double *a, int32_t *ipiv, double *b);
/* Solves A x = b in place for one right-hand side, A n x n column-major; never allocates,
 * so solver iterations may call it. 0 on success, -1 when A is singular. */
int hamp_dgesv_small(int32_t n, double *a, int32_t *ipiv, double *b);
/* Eigenvalues (ascending) of a symmetric n x n row-major matrix, destroyed; 0 on success. */
int hamp_dsyev_values(int32_t n, double *a, double *w);

/* ----------------------------------------------------------- random numbers (rng.c) */

typedef struct hamp_rng {
    uint64_t s[4];
} hamp_rng_t;

void hamp_rng_seed(hamp_rng_t *r, uint64_t seed);
uint64_t hamp_rng_next(hamp_rng_t *r);
double hamp_rng_uniform(hamp_rng_t *r); /* [0, 1) with 53 random bits */

/* ------------------------------------------------------- byte order (byteorder.c) */

/* Little-endian byte order, whatever the host's. */
static inline uint16_t hamp_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t hamp_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t hamp_le64(const unsigned char *p)
{
    return (uint64_t)hamp_le32(p) | (uint64_t)hamp_le32(p + 4) << 32;
}
static inline void hamp_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static inline void hamp_put_le64(unsigned char *p, uint64_t v)
{
    hamp_put_le32(p, (uint32_t)v);
    hamp_put_le32(p + 4, (uint32_t)(v >> 32));
}
/* Floats read as little-endian bytes to host order, in place (nothing to do on LE). */
void hamp_le_floats(float *x, size_t n);

#endif /* HAMDEQ_COMMON_PRIVATE_H */
