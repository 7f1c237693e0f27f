/* The only file that talks to CBLAS and LAPACKE: one place to swap or wrap BLAS. */
#include <math.h>

#include <cblas.h>
#include <lapacke.h>

#include "common/common_private.h"

_Static_assert(sizeof(lapack_int) == sizeof(int32_t), "hamdeq expects 32-bit LAPACK integers");

/* BLAS threads, without touching the caller's setting. This OpenBLAS (0.3.21, pthreads)
 * runs an sgemm on the calling thread when m*n*k <= 262144 and an sgemv when m*n < 9216,
 * and on its pool above; its only other control is the process-wide thread count, which
 * belongs to the host program and is never changed here (docs/api.md). The products the
 * former thread-count switch ran on one thread (measured on an idle 2-core machine:
 * 64 x 512 x 10 7.9 us on one thread, 17.7 on two; 4 x 510 x 1280 116 against 230; sgemv
 * 784 x 512 transposed 21.3 against 23.5) stay on the calling thread by themselves, along
 * paths timed against one OpenBLAS thread (bench/blas_shapes.c, best of 21 interleaved
 * 3 ms runs, 2 shared cores; us, this path / one cblas call on one thread):
 *   - a single row or column, below GEMV_DOT_MAX (B transposed: dot products) or
 *     GEMV_AXPY_MAX multiply-adds: direct.c (1 x 512 x 784 20.9 / 22.2; 1 x 200 x 510
 *     4.1 / 4.9; 1 x 510 x 200 NT 6.1 / 5.3); above, sgemv on the host's threads;
 *   - at most DIRECT_ROWS rows below SMALL_MAX: direct.c, which skips sgemm's packing
 *     (2 x 512 x 784 46 / 94; 4 x 510 x 1280 92 / 121; 8 x 512 x 784 129 / 114;
 *     8 x 1280 x 510 NT 216 / 221); with B transposed (dot products) at any size: the
 *     Modern Hopfield network's 2, 4, 8 x 60000 x 784 NT take 30, 28, 27 ms against 67,
 *     44, 42 for one sgemm on one thread and 82, 88, 70 on two (sgemm packs all 188 MB of
 *     B for a few rows); not without (4 x 784 x 60000 NN: 46 against 17);
 *   - at most SMALL_COLS columns, or below SPLIT_MAX: row or column blocks of at most
 *     HAMP_CALLER_MNK, one cblas_sgemm each, split along m or n, never k (512 x 10 x 64
 *     TN 11.3 / 11.2, 41.0 on two threads);
 *   - everything else (64 x 512 x 784; the Modern Hopfield network's products of one row
 *     and from 16 rows on, and 784 x 60000 NN from 2) goes to OpenBLAS whole, threaded as
 *     the host set it. */
#define GEMV_DOT_MAX 1.5e5  /* m*n*k of a single row or column taking dot products */
#define GEMV_AXPY_MAX 5e5   /* ... and of one taking sums of rows */
#define DIRECT_ROWS 8       /* direct.c for at most this many rows below SMALL_MAX ... */
#define SMALL_MAX 1.6e7     /* ... and blocks for at most SMALL_COLS columns */
#define SMALL_COLS 8
#define SPLIT_MAX 1.5e6     /* blocks for any product below this m*n*k */
#define SPLIT_MIN_SIDE 8    /* blocks narrower than this: direct.c instead */

static void gemv(int trans, int32_t m, int32_t n, float alpha, const float *a, int32_t lda,
                 const float *x, int32_t incx, float beta, float *y, int32_t incy)
{
    cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, incx,
                beta, y, incy);
}

static void gemm(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                 const float *a, int32_t lda, const float *b, int32_t ldb, float beta,
                 float *c, int32_t ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

/* The direct kernels for a single column (n == 1) or for any m (k > 0): op(A) row i is
 * a + i * sar, element p at + p * sap; op(B) likewise. */
static void direct(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                   const float *a, int32_t lda, const float *b, int32_t ldb, float beta,
                   float *c, int32_t ldc)
{
    const int32_t sar = trans_a ? 1 : lda, sap = trans_a ? lda : 1;
    if (n == 1 && m > 1) { /* c (column, stride ldc) = op(A) x: the rows as outputs */
        const int32_t sx = trans_b ? 1 : ldb;
        if (!trans_a) /* c[i] = A[i,:] . x */
            hamp_direct_dot(1, m, k, alpha, b, 0, sx, a, lda, beta, c, 0, ldc);
        else /* c' = x' A, A k x m */
            hamp_direct_axpy(1, m, k, alpha, b, 0, sx, a, lda, beta, c, 0, ldc);
    } else if (!trans_b) { /* B k x n: rows of C are sums of rows of B */
        hamp_direct_axpy(m, n, k, alpha, a, sar, sap, b, ldb, beta, c, ldc, 1);
    } else { /* B n x k: C[i,j] = op(A)[i,:] . B[j,:] */
        hamp_direct_dot(m, n, k, alpha, a, sar, sap, b, ldb, beta, c, ldc, 1);
    }
}

/* Blocks of at most HAMP_CALLER_MNK multiply-adds along m or n (both when one row and
 * one column are each too large): each cblas_sgemm stays on the calling thread. */
static void split(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                  const float *a, int32_t lda, const float *b, int32_t ldb, float beta,
                  float *c, int32_t ldc)
{
    const int64_t cap = HAMP_CALLER_MNK;
    int64_t mb = m, nb = n;
    if ((int64_t)n * k <= cap)
        mb = cap / ((int64_t)n * k);
    else if ((int64_t)m * k <= cap)
        nb = cap / ((int64_t)m * k);
    else {
        nb = n < 64 ? n : 64;
        mb = cap / (nb * k);
    }
    if ((mb < m && mb < SPLIT_MIN_SIDE) || (nb < n && nb < SPLIT_MIN_SIDE) || mb * nb * k > cap) {
        direct(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    /* equal blocks, not full ones and a remainder */
    const int64_t bm = (m + mb - 1) / mb, bn = (n + nb - 1) / nb;
    mb = (m + bm - 1) / bm;
    nb = (n + bn - 1) / bn;
    for (int64_t i = 0; i < m; i += mb)
        for (int64_t j = 0; j < n; j += nb) {
            const int32_t rm = (int32_t)(m - i < mb ? m - i : mb);
            const int32_t rn = (int32_t)(n - j < nb ? n - j : nb);
            const float *ai = trans_a ? a + i : a + i * lda;
            const float *bj = trans_b ? b + j * ldb : b + j;
            gemm(trans_a, trans_b, rm, rn, k, alpha, ai, lda, bj, ldb, beta, c + i * ldc + j,
                 ldc);
        }
}

/* A single row or column (m == 1 or n == 1) as a matrix-vector product: sgemv reads
 * the matrix once, where this OpenBLAS's sgemm packs it into its blocking buffers first. */
static void single(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                  const float *a, int32_t lda, const float *b, int32_t ldb, float beta,
                  float *c, int32_t ldc)
{
    if (m == 1) {
        const int32_t inc = trans_a ? lda : 1; /* the row of op(A) */
        if (trans_b) /* c' = B a', B n x k */
            gemv(0, n, k, alpha, b, ldb, a, inc, beta, c, 1);
        else /* c' = B' a', B k x n */
            gemv(1, k, n, alpha, b, ldb, a, inc, beta, c, 1);
    } else { /* n == 1 */
        const int32_t inc = trans_b ? 1 : ldb; /* the column of op(B) */
        if (trans_a) /* c = A' b, A k x m */
            gemv(1, k, m, alpha, a, lda, b, inc, beta, c, ldc);
        else /* c = A b, A m x k */
            gemv(0, m, k, alpha, a, lda, b, inc, beta, c, ldc);
    }
}

_Static_assert(SPLIT_MAX > HAMP_CALLER_MNK && SMALL_MAX > HAMP_CALLER_MNK,
               "products up to HAMP_CALLER_MNK stay on the calling thread");

/* 1 when a single row or column (as a direct.c kernel sees it) takes dot products */
static int single_dots(int trans_a, int trans_b, int32_t m)
{
    return m == 1 ? trans_b : !trans_a;
}

void hamp_sgemm(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                const float *a, int32_t lda, const float *b, int32_t ldb, float beta, float *c,
                int32_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    const double mnk = (double)m * (double)n * (double)k;
    if (k <= 0) /* sgemm's beta scaling, which sgemv would skip */
        gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else if (m == 1 || n == 1) {
        if (mnk <= HAMP_CALLER_MNK ||
            mnk < (single_dots(trans_a, trans_b, m) ? GEMV_DOT_MAX : GEMV_AXPY_MAX))
            direct(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        else
            single(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } else if (mnk <= HAMP_CALLER_MNK) /* OpenBLAS's own single-thread range */
        gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else if (m <= DIRECT_ROWS && (mnk < SMALL_MAX || (trans_b && !trans_a)))
        direct(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else if (mnk < SPLIT_MAX || (n <= SMALL_COLS && mnk < SMALL_MAX))
        split(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void hamp_sgemm_local(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                      const float *a, int32_t lda, const float *b, int32_t ldb, float beta,
                      float *c, int32_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    const double mnk = (double)m * (double)n * (double)k;
    if (k <= 0 || (mnk <= HAMP_CALLER_MNK && m > 1 && n > 1))
        gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else if (m == 1 || n == 1 || m <= DIRECT_ROWS)
        direct(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        split(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int hamp_dgesv(int32_t n, int32_t nrhs, double *a, int32_t *ipiv, double *b)
{
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, nrhs, a, n, (lapack_int *)ipiv, b, nrhs);
    return info == 0 ? 0 : -1;
}

/* LU with partial pivoting, as LAPACK's unblocked dgetf2 + dgetrs, for the small systems
 * of Anderson (m <= 32) and Newton: a LAPACK call costs more than the arithmetic of a
 * 4 x 4 system, and a batch solves one system per sample and iteration. */
#define SMALL_LU_MAX 32

static int lu_solve_small(int32_t n, double *a, int32_t *ipiv, double *b)
{
    for (int32_t j = 0; j < n; j++) {
        double *cj = a + (size_t)j * n; /* column j */
        int32_t p = j;
        double big = fabs(cj[j]);
        for (int32_t i = j + 1; i < n; i++)
            if (fabs(cj[i]) > big) {
                big = fabs(cj[i]);
                p = i;
            }
        ipiv[j] = p + 1;
        if (!(cj[p] != 0.0))
            return -1; /* singular (or NaN): LAPACK's info > 0 */
        if (p != j) {
            for (int32_t k = 0; k < n; k++) {
                double *ck = a + (size_t)k * n, t = ck[j];
                ck[j] = ck[p];
                ck[p] = t;
            }
            double t = b[j];
            b[j] = b[p];
            b[p] = t;
        }
        const double inv = 1.0 / cj[j];
        for (int32_t i = j + 1; i < n; i++)
            cj[i] *= inv;
        for (int32_t k = j + 1; k < n; k++) {
            double *ck = a + (size_t)k * n, f = ck[j];
            if (f != 0.0)
                for (int32_t i = j + 1; i < n; i++)
                    ck[i] -= cj[i] * f;
        }
    }
    for (int32_t j = 0; j < n; j++) /* L y = P b, unit diagonal */
        for (int32_t i = j + 1; i < n; i++)
            b[i] -= a[(size_t)j * n + i] * b[j];
    for (int32_t j = n - 1; j >= 0; j--) { /* U x = y */
        b[j] /= a[(size_t)j * n + j];
        for (int32_t i = 0; i < j; i++)
            b[i] -= a[(size_t)j * n + i] * b[j];
    }
    return 0;
}

int hamp_dgesv_small(int32_t n, double *a, int32_t *ipiv, double *b)
{
    if (n <= SMALL_LU_MAX)
        return lu_solve_small(n, a, ipiv, b);
    /* column-major and the _work variant: LAPACKE's row-major path allocates a transposed
     * copy, and this runs inside solver iterations */
    lapack_int info = LAPACKE_dgesv_work(LAPACK_COL_MAJOR, n, 1, a, n, (lapack_int *)ipiv, b, n);
    return info == 0 ? 0 : -1;
}

int hamp_dsyev_values(int32_t n, double *a, double *w)
{
    lapack_int info = LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'N', 'U', n, a, n, w);
    return info == 0 ? 0 : -1;
}
