/* The gradient of the input block on mostly-zero inputs. Most pixels of an MNIST image
 * are 0 (81% of MNIST-10k's training pixels) and rho(0) = c0 is one number, so
 *   g_0 = c0 1 + d,   d = g_0 - c0 zero wherever the pixel is,
 * and the gradient of the 784 x 512 input block W_0 (A: the layer-1 adjoints, rows x N_1)
 *   dL/dW_0 = g_0' A = c0 1 (1' A) + d' A
 * is a row that is the same for every pixel plus a sparse product. Walking the column-
 * compressed d pixel by pixel, each row of dL/dW_0 is summed in registers from the rows
 * of A that pixel touches (64 columns of A for 64 samples, 16 KB, stay in L1), and
 * written once: with 19% non-zero pixels this takes about 0.2 ms per training step of
 * 784-512-10 at batch 64, where BLAS's dense product takes 0.33 (bench/blas_shapes.c).
 * The same split of the input drive g_0 W_0 was no faster than BLAS: its sparse rows of
 * W_0 come from L2 in no order (row by row) or add into rows 2 KB apart (pixel by pixel),
 * and the drive keeps the dense product.
 * Only for an additive Lagrangian on the input layer (rho elementwise), with at least
 * HAMP_SPARSE_MIN_ROWS rows and at most HAMP_SPARSE_MAX of d's entries non-zero. */
#include <stdlib.h>
#include <string.h>

#include "common/fastmath.h"
#include "train/train_private.h"

#define HAMP_SPARSE_MAX 0.35
#define HAMP_SPARSE_MIN_ROWS 8

typedef float v16 __attribute__((vector_size(64)));
#define LD(v, p) memcpy(&(v), (p), sizeof(v16))
#define ST(p, v) memcpy((p), &(v), sizeof(v16))

int hamp_input_sparse_alloc(hamp_sparse_input_t *e, const ham_model_t *m, int32_t cap)
{
    hamp_input_sparse_free(e);
    if (!m->clamped || !m->lag[0].ops->additive)
        return HAM_OK;
    size_t n0 = (size_t)m->size[0];
    e->nz_ptr = malloc((n0 + 1) * sizeof(int32_t));
    e->nz_row = malloc((size_t)cap * n0 * sizeof(int32_t) + 1);
    e->nz_val = malloc((size_t)cap * n0 * sizeof(float) + 1);
    e->nz_cur = malloc(n0 * sizeof(int32_t));
    e->nz_rptr = malloc(((size_t)cap + 1) * sizeof(int32_t));
    e->nz_col = malloc(((size_t)cap * n0 + 1) * sizeof(int32_t)); /* + 1: see build */
    e->nz_rval = malloc(((size_t)cap * n0 + 1) * sizeof(float));
    if (!e->nz_ptr || !e->nz_row || !e->nz_val || !e->nz_cur || !e->nz_rptr || !e->nz_col ||
        !e->nz_rval)
        return HAMP_FAIL(HAM_ERR_NOMEM);
    return HAM_OK;
}

void hamp_input_sparse_free(hamp_sparse_input_t *e)
{
    free(e->nz_ptr);
    free(e->nz_row);
    free(e->nz_val);
    free(e->nz_cur);
    free(e->nz_rptr);
    free(e->nz_col);
    free(e->nz_rval);
    memset(e, 0, sizeof *e);
}

/* Compresses g0's rows; 0 when they are too dense (or too few) to gain. */
static int build(hamp_sparse_input_t *e, const ham_model_t *m, int32_t rows)
{
    if (!e->nz_ptr || !e->g0 || rows < HAMP_SPARSE_MIN_ROWS)
        return 0;
    const int32_t n0 = m->size[0];
    const float zero = 0.0f;
    float c0;
    m->lag[0].ops->activation(&m->lag[0], &c0, &zero, 1, 1);
    /* by rows first, in one pass over g0, counting per pixel; branch-free, as a fifth of
     * the entries are non-zero in no pattern the branch predictor could learn */
    int32_t *cur = e->nz_cur;
    memset(cur, 0, (size_t)n0 * sizeof(int32_t));
    const size_t limit = (size_t)(HAMP_SPARSE_MAX * (double)rows * (double)n0);
    size_t nnz = 0;
    for (int32_t r = 0; r < rows; r++) {
        const float *g = e->g0 + (size_t)r * n0;
        e->nz_rptr[r] = (int32_t)nnz;
        for (int32_t i = 0; i < n0; i++) {
            const int nz = g[i] != c0;
            e->nz_col[nnz] = i; /* overwritten by the next entry unless nz */
            e->nz_rval[nnz] = g[i] - c0;
            nnz += (size_t)nz;
            cur[i] += nz;
        }
        if (nnz > limit)
            return 0; /* too dense: the BLAS product */
    }
    e->nz_rptr[rows] = (int32_t)nnz;
    /* then by pixels, from the rows' entries */
    size_t at = 0;
    for (int32_t i = 0; i < n0; i++) {
        e->nz_ptr[i] = (int32_t)at;
        at += (size_t)cur[i];
        cur[i] = e->nz_ptr[i];
    }
    e->nz_ptr[n0] = (int32_t)at;
    for (int32_t r = 0; r < rows; r++)
        for (int32_t q = e->nz_rptr[r]; q < e->nz_rptr[r + 1]; q++) {
            int32_t slot = cur[e->nz_col[q]]++;
            e->nz_row[slot] = r;
            e->nz_val[slot] = e->nz_rval[q];
        }
    e->nz_c0 = c0;
    return 1;
}

/* CB columns at a time: the rows of A that the pixels touch stay in L1 (whole rows of
 * 512 floats for 64 samples, 128 KB, would come from L2). */
#define CB 64

HAMP_VECTOR_CLONES
static void sparse_grad(const hamp_sparse_input_t *e, const ham_model_t *m, const float *adj,
                        int32_t rows, float *gW0)
{
    const int32_t n0 = m->size[0], n1 = m->size[1];
    const float c0 = e->nz_c0;
    for (int32_t j0 = 0; j0 < n1; j0 += CB) {
        const int32_t w = n1 - j0 < CB ? n1 - j0 : CB;
        float S[CB]; /* c0 1' A on these columns: every row of dL/dW_0 starts there */
        for (int32_t j = 0; j < w; j++)
            S[j] = 0.0f;
        for (int32_t r = 0; r < rows; r++)
            for (int32_t j = 0; j < w; j++)
                S[j] += adj[(size_t)r * n1 + j0 + j];
        for (int32_t j = 0; j < w; j++)
            S[j] *= c0;
        for (int32_t i = 0; i < n0; i++) {
            float *gw = gW0 + (size_t)i * n1 + j0;
            if (w == CB) { /* four vectors of sums in registers */
                v16 a0, a1, a2, a3, x0, x1, x2, x3;
                LD(a0, S);
                LD(a1, S + 16);
                LD(a2, S + 32);
                LD(a3, S + 48);
                for (int32_t q = e->nz_ptr[i]; q < e->nz_ptr[i + 1]; q++) {
                    const float v = e->nz_val[q], *ar = adj + (size_t)e->nz_row[q] * n1 + j0;
                    LD(x0, ar);
                    LD(x1, ar + 16);
                    LD(x2, ar + 32);
                    LD(x3, ar + 48);
                    a0 += v * x0;
                    a1 += v * x1;
                    a2 += v * x2;
                    a3 += v * x3;
                }
                ST(gw, a0);
                ST(gw + 16, a1);
                ST(gw + 32, a2);
                ST(gw + 48, a3);
            } else {
                for (int32_t j = 0; j < w; j++)
                    gw[j] = S[j];
                for (int32_t q = e->nz_ptr[i]; q < e->nz_ptr[i + 1]; q++) {
                    const float v = e->nz_val[q], *ar = adj + (size_t)e->nz_row[q] * n1 + j0;
                    for (int32_t j = 0; j < w; j++)
                        gw[j] += v * ar[j];
                }
            }
        }
    }
}

int hamp_input_sparse_grad(void *ctx, const ham_model_t *m, const float *adj, int32_t rows,
                           float *gW0)
{
    hamp_sparse_input_t *sp = ctx;
    if (!build(sp, m, rows))
        return 0;
    sparse_grad(sp, m, adj, rows, gW0);
    return 1;
}
