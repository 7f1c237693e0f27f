/* The products' kernels, lib/common/linalg.c, direct.c, thin.c and lib/train/input_sparse.c:
 * hamp_sgemm and hamp_sgemm_local along each of their paths against a float64 reference
 * for every transpose, shape and beta; the thin-block kernels likewise; the input block's gradient
 * from a compressed mostly-zero input; hamp_dgesv_small (a native LU below 33 unknowns,
 * LAPACK above) against the system it solves, with pivoting and singular matrices. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_private.h"
#include "test_util.h"

typedef void (*product_fn)(int, int, int32_t, int32_t, int32_t, float, const float *, int32_t,
                           const float *, int32_t, float, float *, int32_t);

/* One product against a float64 reference: every transpose (ta, tb), beta 0 (C not read,
 * NaN included) or 0.5, leading dimensions wider than the rows to catch a wrong stride,
 * and the padding past each row of C untouched. */
static void check_product(product_fn f, const char *name, int32_t m, int32_t n, int32_t k,
                          int ta, int tb, float beta, uint64_t seed)
{
    int32_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
    size_t ra = ta ? (size_t)k : (size_t)m, rb = tb ? (size_t)n : (size_t)k;
    tu_rng_t r;
    tu_rng_seed(&r, seed);
    float *a = tu_floats(ra * lda), *b = tu_floats(rb * ldb), *c = tu_floats((size_t)m * ldc);
    tu_fill(a, ra * lda, &r, -1, 1);
    tu_fill(b, rb * ldb, &r, -1, 1);
    tu_fill(c, (size_t)m * ldc, &r, -1, 1);
    float *want = tu_floats((size_t)m * ldc);
    memcpy(want, c, (size_t)m * ldc * sizeof(float));
    double *acc = calloc((size_t)n, sizeof *acc);
    ck_assert_ptr_nonnull(acc);
    for (int32_t i = 0; i < m; i++) {
        for (int32_t j = 0; j < n; j++)
            acc[j] = 0.0;
        for (int32_t p = 0; p < k; p++) {
            double x = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
            for (int32_t j = 0; j < n; j++)
                acc[j] += x * (tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
        }
        for (int32_t j = 0; j < n; j++)
            want[(size_t)i * ldc + j] =
                (float)(1.5 * acc[j] + beta * want[(size_t)i * ldc + j]);
    }
    if (beta == 0.0f) /* beta 0: C is not read, NaN included */
        for (size_t i = 0; i < (size_t)m * ldc; i++)
            if (i % (size_t)ldc < (size_t)n)
                c[i] = NAN;
    f(ta, tb, m, n, k, 1.5f, a, lda, b, ldb, beta, c, ldc);
    /* float sums of k terms of size 1: a few k * 2^-24 at worst */
    const float tol = 1e-4f * (1.0f + (float)k / 256.0f);
    for (int32_t i = 0; i < m; i++)
        for (int32_t j = 0; j <= n; j++) { /* j == n: the padding must be untouched */
            float got = c[(size_t)i * ldc + j], exp = want[(size_t)i * ldc + j];
            if (j == n && i + 1 == m)
                break; /* the last row's padding is past the array */
            ck_assert_msg(fabsf(got - exp) <= tol * (1.0f + fabsf(exp)),
                          "%s %dx%dx%d ta %d tb %d beta %g: c[%d][%d] = %g, expected %g", name,
                          (int)m, (int)n, (int)k, ta, tb, beta, (int)i, (int)j, got, exp);
        }
    free(acc);
    free(a);
    free(b);
    free(c);
    free(want);
}

/* _i: (m, n, k) shape x trans_a x trans_b x beta. Every path of hamp_sgemm: small
 * products (one cblas call), single rows and columns (direct.c below its thresholds,
 * sgemv above), at most 8 rows (direct.c: the 4-row passes and the rows left over, the
 * column tails of 32 and the 1024-column chunks of a single row), few columns and
 * mid-sized products (blocks of at most HAMP_CALLER_MNK, with uneven last blocks), and
 * large ones (OpenBLAS whole). Odd sizes throughout. */
static const int32_t shapes[][3] = {
    {1, 7, 5},     {7, 1, 5},      {1, 1, 9},     {1, 13, 1},     {5, 1, 1},
    {3, 4, 6},     {1, 512, 10},   {10, 1, 512},  {1, 700, 401},  {1, 1100, 250},
    {701, 1, 401}, {1, 2049, 300}, {3, 517, 300}, {7, 601, 131},  {6, 2100, 45},
    {601, 5, 131}, {37, 91, 101},  {129, 70, 61}, {13, 333, 95},  {41, 150, 257}};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

START_TEST(test_sgemm_matches_naive)
{
    const int32_t *sh = shapes[_i / 8];
    check_product(hamp_sgemm, "hamp_sgemm", sh[0], sh[1], sh[2], (_i / 4) % 2, (_i / 2) % 2,
                  _i % 2 ? 0.5f : 0.0f, 7 + (uint64_t)_i);
}
END_TEST

/* hamp_sgemm_local (always the calling thread): direct.c up to 8 rows whatever the size,
 * blocks along m, along n, and blocks too narrow to use (direct.c). */
static const int32_t local_shapes[][3] = {{2, 1500, 200}, {1, 1500, 190}, {3001, 1, 100},
                                          {9, 250, 1100}, {300, 10, 100}, {9, 10, 30000},
                                          {9, 9, 9}};
#define N_LOCAL ((int)(sizeof local_shapes / sizeof local_shapes[0]))

START_TEST(test_sgemm_local_matches_naive)
{
    const int32_t *sh = local_shapes[_i / 8];
    check_product(hamp_sgemm_local, "hamp_sgemm_local", sh[0], sh[1], sh[2], (_i / 4) % 2,
                  (_i / 2) % 2, _i % 2 ? 0.5f : 0.0f, 17 + (uint64_t)_i);
}
END_TEST

/* direct.c (through hamp_sgemm_local, which takes it for up to 8 rows whatever the
 * size): a row's result does not depend on the rows it is computed with (a batch of up to
 * 8 against each of its rows alone: the four-row passes, the single-row chunks and the
 * dot products). hamp_sgemm itself does not promise this where a single row goes to
 * sgemv and several rows do not. _i: trans_b x beta. */
START_TEST(test_direct_rows_independent)
{
    const int tb = _i / 2;
    const float beta = _i % 2 ? 0.5f : 0.0f;
    const int32_t m = 8, n = 1100, k = 300; /* single rows over 1024 columns: two chunks */
    tu_rng_t r;
    tu_rng_seed(&r, 31 + (uint64_t)_i);
    float *a = tu_floats((size_t)m * k), *b = tu_floats((size_t)n * k);
    float *c0 = tu_floats((size_t)m * n), *c = tu_floats((size_t)m * n);
    float *one = tu_floats((size_t)n);
    tu_fill(a, (size_t)m * k, &r, -1, 1);
    tu_fill(b, (size_t)n * k, &r, -1, 1);
    tu_fill(c0, (size_t)m * n, &r, -1, 1);
    for (int32_t rows = 1; rows <= m; rows++) {
        memcpy(c, c0, (size_t)m * n * sizeof(float));
        hamp_sgemm_local(0, tb, rows, n, k, 1.0f, a, k, b, tb ? k : n, beta, c, n);
        for (int32_t i = 0; i < rows; i++) {
            memcpy(one, c0 + (size_t)i * n, (size_t)n * sizeof(float));
            hamp_sgemm_local(0, tb, 1, n, k, 1.0f, a + (size_t)i * k, k, b, tb ? k : n, beta,
                             one, n);
            ck_assert_msg(memcmp(one, c + (size_t)i * n, (size_t)n * sizeof(float)) == 0,
                          "tb %d beta %g: row %d of %d rows differs from the row alone", tb,
                          beta, (int)i, (int)rows);
        }
    }
    free(a);
    free(b);
    free(c0);
    free(c);
    free(one);
}
END_TEST

/* thin.c against a naive product: _i: (rows, n, k) x beta; narrow with n <= 16 and
 * axpy with the tails of its 64-, 16- and 8-wide column blocks */
static const int32_t thin_shapes[][3] = {{1, 10, 512}, {8, 10, 512}, {13, 16, 37}, {64, 1, 5},
                                         {3, 512, 10}, {9, 200, 10}, {2, 77, 16}, {1, 7, 3}};
#define N_THIN ((int)(sizeof thin_shapes / sizeof thin_shapes[0]))

START_TEST(test_thin_matches_naive)
{
    const int32_t *sh = thin_shapes[_i / 2];
    int32_t rows = sh[0], n = sh[1], k = sh[2];
    float beta = _i % 2 ? 1.0f : 0.0f;
    int32_t lds = k + 1, ldd = n + 2, ldb = n + 3;
    tu_rng_t r;
    tu_rng_seed(&r, 50 + (uint64_t)_i);
    float *src = tu_floats((size_t)rows * lds), *b = tu_floats((size_t)k * ldb);
    float *bpad = tu_floats((size_t)k * 16), *d1 = tu_floats((size_t)rows * ldd);
    float *d2 = tu_floats((size_t)rows * ldd), *want = tu_floats((size_t)rows * ldd);
    tu_fill(src, (size_t)rows * lds, &r, -1, 1);
    tu_fill(b, (size_t)k * ldb, &r, -1, 1);
    tu_fill(want, (size_t)rows * ldd, &r, -1, 1);
    for (int32_t p = 0; p < k; p++)
        for (int32_t j = 0; j < n && j < 16; j++)
            bpad[(size_t)p * 16 + j] = b[(size_t)p * ldb + j];
    memcpy(d1, want, (size_t)rows * ldd * sizeof(float));
    memcpy(d2, want, (size_t)rows * ldd * sizeof(float));
    for (int32_t i = 0; i < rows; i++)
        for (int32_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int32_t p = 0; p < k; p++)
                acc += (double)src[(size_t)i * lds + p] * b[(size_t)p * ldb + j];
            float *w = &want[(size_t)i * ldd + j];
            *w = (float)(acc + (beta == 0.0f ? 0.0 : beta * *w));
            if (beta == 0.0f) { /* beta 0: dst is not read */
                d1[(size_t)i * ldd + j] = NAN;
                d2[(size_t)i * ldd + j] = NAN;
            }
        }
    /* beta 1: init is dst itself */
    if (n <= 16)
        hamp_thin_narrow(rows, n, k, src, lds, bpad, beta == 0.0f ? NULL : d1, ldd, d1, ldd);
    hamp_thin_axpy(rows, n, k, src, lds, b, ldb, beta == 0.0f ? NULL : d2, ldd, d2, ldd);
    for (int32_t i = 0; i < rows; i++)
        for (int32_t j = 0; j < ldd && (size_t)i * ldd + j < (size_t)rows * ldd; j++) {
            float w = want[(size_t)i * ldd + j], tol = 1e-5f * (1.0f + (float)k);
            if (n <= 16)
                ck_assert_msg(fabsf(d1[(size_t)i * ldd + j] - w) <= tol,
                              "narrow %dx%dx%d beta %g: [%d][%d] = %g, expected %g", (int)rows,
                              (int)n, (int)k, beta, (int)i, (int)j, d1[(size_t)i * ldd + j], w);
            ck_assert_msg(fabsf(d2[(size_t)i * ldd + j] - w) <= tol,
                          "axpy %dx%dx%d beta %g: [%d][%d] = %g, expected %g", (int)rows, (int)n,
                          (int)k, beta, (int)i, (int)j, d2[(size_t)i * ldd + j], w);
        }
    free(src);
    free(b);
    free(bpad);
    free(d1);
    free(d2);
    free(want);
}
END_TEST

/* input_sparse.c: on mostly-zero inputs the gradient g_0' A from the compressed input
 * agrees with a naive dense product (and the drive g_0 W_0 + b_1 too); _i: zero fraction
 * 0.9 (the sparse path) or 0.1 (too dense: refused). */
START_TEST(test_sparse_input_products)
{
    const int32_t sizes[3] = {40, 24, 3}, rows = 16, n0 = 40, n1 = 24;
    ham_model_t *m;
    TU_OK(ham_model_new(&m, 3, sizes, HAM_MODEL_CLAMPED_INPUT));
    TU_OK(ham_model_init_xavier(m, 3));
    tu_rng_t r;
    tu_rng_seed(&r, 9);
    float b1[24];
    tu_fill(b1, 24, &r, -0.5, 0.5);
    TU_OK(ham_model_set_bias(m, 1, b1, 24));
    float *x = tu_floats((size_t)rows * n0), *adj = tu_floats((size_t)rows * n1);
    float *gw = tu_floats((size_t)n0 * n1);
    double zeros = _i == 0 ? 0.9 : 0.1;
    for (int32_t i = 0; i < rows * n0; i++)
        x[i] = tu_uniform(&r) < zeros ? 0.0f : (float)tu_uniform(&r);
    tu_fill(adj, (size_t)rows * n1, &r, -1, 1);
    hamp_eval_t e;
    TU_OK(hamp_eval_init(&e, m, rows, 1));
    hamp_sparse_input_t sp = {0};
    TU_OK(hamp_input_sparse_alloc(&sp, m, rows));
    hamp_eval_set_input(&e, m, x, rows);
    sp.g0 = e.g0;
    int sparse = hamp_input_sparse_grad(&sp, m, adj, rows, gw);
    ck_assert_int_eq(sparse, _i == 0);
    float W0[40 * 24];
    TU_OK(ham_model_get_weights(W0, m, 0, sizeof W0 / sizeof W0[0]));
    for (int32_t k = 0; k < rows; k++)
        for (int32_t j = 0; j < n1; j++) {
            double acc = b1[j];
            for (int32_t i = 0; i < n0; i++)
                acc += (double)e.g0[(size_t)k * n0 + i] * W0[(size_t)i * n1 + j];
            float got = e.drive[(size_t)k * n1 + j];
            ck_assert_msg(fabs(got - acc) <= 1e-5 * (1.0 + fabs(acc)),
                          "drive[%d][%d] = %g, expected %g", (int)k, (int)j, got, acc);
        }
    if (sparse) {
        for (int32_t i = 0; i < n0; i++)
            for (int32_t j = 0; j < n1; j++) {
                double acc = 0.0;
                for (int32_t k = 0; k < rows; k++)
                    acc += (double)e.g0[(size_t)k * n0 + i] * adj[(size_t)k * n1 + j];
                float got = gw[(size_t)i * n1 + j];
                ck_assert_msg(fabs(got - acc) <= 1e-5 * (1.0 + fabs(acc)),
                              "gW0[%d][%d] = %g, expected %g", (int)i, (int)j, got, acc);
            }
    }
    hamp_eval_free(&e);
    hamp_input_sparse_free(&sp);
    free(x);
    free(adj);
    free(gw);
    ham_model_free(m);
}
END_TEST

/* _i: system size; n = 1..6, 31, 32, 33, 40 (the last two through LAPACK) */
static const int32_t sizes[] = {1, 2, 3, 4, 5, 6, 10, 31, 32, 33, 40};
#define N_SIZES ((int)(sizeof sizes / sizeof sizes[0]))

START_TEST(test_dgesv_small_solves)
{
    int32_t n = sizes[_i];
    tu_rng_t r;
    tu_rng_seed(&r, 100 + (uint64_t)n);
    double *a = tu_doubles((size_t)n * n), *a0 = tu_doubles((size_t)n * n);
    double *b = tu_doubles((size_t)n), *b0 = tu_doubles((size_t)n);
    int32_t *ipiv = malloc((size_t)n * sizeof(int32_t));
    ck_assert_ptr_nonnull(ipiv);
    for (int32_t i = 0; i < n * n; i++)
        a0[i] = 2.0 * tu_uniform(&r) - 1.0;
    for (int32_t i = 0; i < n; i++) {
        a0[(size_t)i * n + i] *= 1e-3; /* small diagonal: the solve must pivot */
        b0[i] = 2.0 * tu_uniform(&r) - 1.0;
    }
    memcpy(a, a0, (size_t)n * n * sizeof(double));
    memcpy(b, b0, (size_t)n * sizeof(double));
    ck_assert_int_eq(hamp_dgesv_small(n, a, ipiv, b), 0);
    double res = 0.0, nb = 0.0;
    for (int32_t i = 0; i < n; i++) { /* column-major: A(i, j) = a0[j * n + i] */
        double acc = -b0[i];
        for (int32_t j = 0; j < n; j++)
            acc += a0[(size_t)j * n + i] * b[j];
        res = fmax(res, fabs(acc));
        nb = fmax(nb, fabs(b0[i]));
    }
    ck_assert_msg(res <= 1e-10 * (1.0 + nb), "n = %d: residual %g", (int)n, res);

    /* a singular matrix: a zero column */
    if (n >= 2) {
        memcpy(a, a0, (size_t)n * n * sizeof(double));
        memset(a + n, 0, (size_t)n * sizeof(double));
        memcpy(b, b0, (size_t)n * sizeof(double));
        ck_assert_int_eq(hamp_dgesv_small(n, a, ipiv, b), -1);
    }
    free(a);
    free(a0);
    free(b);
    free(b0);
    free(ipiv);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("linalg");
    TCase *tc = tu_tcase("linalg");
    tcase_add_loop_test(tc, test_sgemm_matches_naive, 0, N_SHAPES * 8);
    tcase_add_loop_test(tc, test_sgemm_local_matches_naive, 0, N_LOCAL * 8);
    tcase_add_loop_test(tc, test_direct_rows_independent, 0, 4);
    tcase_add_loop_test(tc, test_dgesv_small_solves, 0, N_SIZES);
    tcase_add_loop_test(tc, test_thin_matches_naive, 0, N_THIN * 2);
    tcase_add_loop_test(tc, test_sparse_input_products, 0, 2);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
