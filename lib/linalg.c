/* The only file that talks to CBLAS and LAPACKE: one place to swap or wrap BLAS. */
#include <cblas.h>
#include <lapacke.h>

#include "hamdeq_private.h"

_Static_assert(sizeof(lapack_int) == sizeof(int32_t), "hamdeq expects 32-bit LAPACK integers");

void hamp_sgemm(int trans_a, int trans_b, int32_t m, int32_t n, int32_t k, float alpha,
                const float *a, int32_t lda, const float *b, int32_t ldb, float beta, float *c,
                int32_t ldc)
{
    if (m <= 0 || n <= 0)
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}

int hamp_dgesv(int32_t n, int32_t nrhs, double *a, int32_t *ipiv, double *b)
{
    lapack_int info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, nrhs, a, n, (lapack_int *)ipiv, b, nrhs);
    return info == 0 ? 0 : -1;
}

int hamp_dgesv_small(int32_t n, double *a, int32_t *ipiv, double *b)
{
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
