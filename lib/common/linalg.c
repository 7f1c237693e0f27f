/* The only file that talks to CBLAS and LAPACKE: one place to swap or wrap BLAS. */
#include <math.h>

#include <cblas.h>
#include <lapacke.h>

#include "common/common_private.h"

_Static_assert(sizeof(lapack_int) == sizeof(int32_t), "hamdeq expects 32-bit LAPACK integers");

/* BLAS threads on small products. OpenBLAS splits a product over its threads from
 * m*n*k > 262144 on, and a sgemv almost always; on the small products of a solve (64 x 512
 * x 10: 7.9 us on one thread, 17.7 on two; 4 x 510 x 1280: 116 against 230; a batch-1
 * drive, sgemv 784 x 512 transposed: 21.3 against 23.5) waking the second thread costs
 * more than it saves. Below the thresholds measured with the shapes of 784-512-10 and
 * 784-1280-510-200-10 on 2 cores (bench/blas_shapes.c), a product runs on one thread: the
 * caller's setting is lowered to 1 around the call and restored after it. Concurrent
 * callers share one counter under a lock, so that the last one out restores the setting
 * the first one found; meanwhile another thread's large product may run on one thread (a
 * slowdown, never a wrong result). Only with OpenBLAS; other BLAS are left as they are. */
#define ONE_THREAD_GEMM_MNK 1.5e6   /* below this m*n*k, one thread ... */
#define ONE_THREAD_GEMM_ROWS 8      /* ... or with m or n at most this */
#define ONE_THREAD_GEMV_N 1.5e5     /* sgemv y = A x below this m*n */
#define ONE_THREAD_GEMV_T 5e5       /* sgemv y = A' x below this m*n */

#ifdef HAMDEQ_HAVE_OPENBLAS_THREADS
#include <pthread.h>

/* The depth count and the saved setting change together under one lock, so that
 * concurrent callers always restore the setting the first of them found. */
static pthread_mutex_t one_thread_lock = PTHREAD_MUTEX_INITIALIZER;
static int one_thread_depth;
static int one_thread_saved;

static int one_thread_begin(int want)
{
    if (!want)
        return 0;
    pthread_mutex_lock(&one_thread_lock);
    if (one_thread_depth++ == 0) {
        one_thread_saved = openblas_get_num_threads();
        if (one_thread_saved > 1)
            openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&one_thread_lock);
    return 1;
}

static void one_thread_end(int began)
{
    if (!began)
        return;
    pthread_mutex_lock(&one_thread_lock);
    if (--one_thread_depth == 0 && one_thread_saved > 1)
        openblas_set_num_threads(one_thread_saved);
    pthread_mutex_unlock(&one_thread_lock);
}
#else
static int one_thread_begin(int want)
{
    (void)want;
    return 0;
}

static void one_thread_end(int began)
{
    (void)began;
}
#endif

static void gemv(int trans, int32_t m, int32_t n, float alpha, const float *a, int32_t lda,
                 const float *x, int32_t incx, float beta, float *y, int32_t incy)
{
    double mn = (double)m * (double)n;
    int one = one_thread_begin(mn < (trans ? ONE_THREAD_GEMV_T : ONE_THREAD_GEMV_N));
    cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, incx,
                beta, y, incy);
    one_thread_end(one);
}

void hamp_sgemm(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                const float *a, int32_t lda, const float *b, int32_t ldb, float beta, float *c,
                int32_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    /* A single row or column is a matrix-vector product: sgemv reads the matrix once,
     * where this OpenBLAS's sgemm packs it into its blocking buffers first (a batch-1
     * solve is nothing but such products). Not for k = 0, where gemv would skip the
     * beta scaling that gemm does. */
    if (m == 1 && k > 0) {
        const int32_t inc = trans_a ? lda : 1; /* the row of op(A) */
        if (trans_b) /* c' = B a', B n x k */
            gemv(0, n, k, alpha, b, ldb, a, inc, beta, c, 1);
        else /* c' = B' a', B k x n */
            gemv(1, k, n, alpha, b, ldb, a, inc, beta, c, 1);
        return;
    }
    if (n == 1 && k > 0) {
        const int32_t inc = trans_b ? 1 : ldb; /* the column of op(B) */
        if (trans_a) /* c = A' b, A k x m */
            gemv(1, k, m, alpha, a, lda, b, inc, beta, c, ldc);
        else /* c = A b, A m x k */
            gemv(0, m, k, alpha, a, lda, b, inc, beta, c, ldc);
        return;
    }
    double mnk = (double)m * (double)n * (double)k;
    int one = one_thread_begin(mnk < ONE_THREAD_GEMM_MNK || m <= ONE_THREAD_GEMM_ROWS ||
                               n <= ONE_THREAD_GEMM_ROWS);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
    one_thread_end(one);
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

/* A product that never wakes OpenBLAS's threads, for worker threads of our own (threads
 * over samples): blocks of at most HAMP_BLAS_SERIAL_MNK multiply-adds, which OpenBLAS
 * runs on the calling thread, taken along k and accumulated in C (one sgemm per block, C
 * read again for each: 32 x 784 x 512, the drive of a 32-row chunk of 784-512-10, took
 * 276 us in k-blocks of 16 against 271 us as one sgemm on one OpenBLAS thread, and 560 to
 * 590 us in blocks along m or n, which pack the whole of A or B again for each block;
 * bench/threads.c, docs/performance.md "Threads"). Rows are blocked too when one k-slice
 * of all of them is already over the limit. */
void hamp_sgemm_serial(int32_t m, int32_t n, int32_t k, const float *a, int32_t lda,
                       const float *b, int32_t ldb, float beta, float *c, int32_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    int32_t mb = (int32_t)(HAMP_BLAS_SERIAL_MNK / n);
    mb = mb < 1 ? 1 : (mb > m ? m : mb);
    int32_t kb = (int32_t)(HAMP_BLAS_SERIAL_MNK / ((double)mb * n));
    kb = kb < 1 ? 1 : kb;
    for (int32_t i = 0; i < m; i += mb) {
        int32_t rm = m - i < mb ? m - i : mb;
        float *ci = c + (size_t)i * ldc;
        if (k <= 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rm, n, 0, 1.0f, a, lda, b,
                        ldb, beta, ci, ldc);
        for (int32_t p = 0; p < k; p += kb) {
            int32_t rk = k - p < kb ? k - p : kb;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rm, n, rk, 1.0f,
                        a + (size_t)i * lda + p, lda, b + (size_t)p * ldb, ldb,
                        p == 0 ? beta : 1.0f, ci, ldc);
        }
    }
}
