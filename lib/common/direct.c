/* Products with few rows, computed directly on the calling thread: no packing into
 * blocking buffers, no BLAS thread pool. OpenBLAS hands every sgemv with m*n >= 9216 and
 * every sgemm with m*n*k > 262144 to its threads, and there is no per-call way to say no
 * without changing its process-wide setting; a batch-1 solve is nothing but such
 * matrix-vector products, and a shrinking early-stop batch leaves a few rows. linalg.c
 * decides when these kernels run (the measurements are there and in docs/performance.md).
 *
 * Each element is one chain of fused multiply-adds in a fixed order over p (axpy) or a
 * fixed split of p into vector lanes (dot), the same whichever rows share a pass: results
 * are identical from run to run and do not depend on how many rows a call has. */
#include <string.h>

#include "common/fastmath.h"
#include "common/common_private.h"

typedef float v16 __attribute__((vector_size(64)));

#define LD(v, p) memcpy(&(v), (p), sizeof(v16))
#define ST(p, v) memcpy((p), &(v), sizeof(v16))

/* c = alpha * acc + beta * c, beta 0: c not read (BLAS's rule, NaN in c included) */
static inline float finish(float acc, float alpha, float beta, const float *c)
{
    return beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
}

/* Stores n <= 16 sums of acc at c, c + scj, ... */
static inline void store_sums(float *c, int32_t scj, const v16 *acc, int32_t n, float alpha,
                              float beta)
{
    float t[16];
    memcpy(t, acc, sizeof t);
    for (int32_t j = 0; j < n; j++)
        c[(size_t)j * scj] = finish(t[j], alpha, beta, c + (size_t)j * scj);
}

#define AXPY_ROWS 4 /* rows per pass over B: each load of B feeds four rows */

/* rows x 16 nv columns of C per pass over k (rows, nv: constants after inlining; 1 x 4
 * or 4 x 2, so that four or eight independent chains hide the multiply-add latency) */
static inline __attribute__((always_inline)) void
axpy_rows(int rows, int nv, int32_t n, int32_t k, float alpha, const float *ar, int32_t sar,
          int32_t sap, const float *b, int32_t ldb, float beta, float *cr, int32_t scr,
          int32_t scj)
{
    const int32_t cw = 16 * nv;
    for (int32_t j = 0; j < n; j += cw) {
        v16 s[AXPY_ROWS][4], x[4];
        for (int q = 0; q < rows; q++)
            for (int v = 0; v < nv; v++)
                s[q][v] = (v16){0};
        const int32_t w = n - j < cw ? n - j : cw;
        for (int32_t p = 0; p < k; p++) {
            const float *bp = b + (size_t)p * ldb + j;
            if (w == cw) {
                for (int v = 0; v < nv; v++)
                    LD(x[v], bp + 16 * v);
            } else { /* the last columns: a padded copy */
                float t[64] = {0};
                memcpy(t, bp, (size_t)w * sizeof(float));
                for (int v = 0; v < nv; v++)
                    LD(x[v], t + 16 * v);
            }
            for (int q = 0; q < rows; q++) {
                const float a = ar[(size_t)q * sar + (size_t)p * sap];
                for (int v = 0; v < nv; v++)
                    s[q][v] += a * x[v];
            }
        }
        for (int q = 0; q < rows; q++)
            for (int v = 0; v < nv && 16 * v < w; v++) {
                const int32_t wv = w - 16 * v < 16 ? w - 16 * v : 16;
                store_sums(cr + (size_t)q * scr + (size_t)(j + 16 * v) * scj, scj, &s[q][v],
                           wv, alpha, beta);
            }
    }
}

#define ROW_CHUNK 1024 /* columns of a single row summed in a stack buffer (4 KB) */

/* One row: c = alpha * sum_p a_p B[p, :] + beta * c, streaming B row after row (the
 * prefetcher's favourite order) into sums held in L1, four rows of B per pass over them.
 * Each sum is the same chain in p as in axpy_rows. */
static inline __attribute__((always_inline)) void
axpy_one(int32_t n, int32_t k, float alpha, const float *ar, int32_t sap, const float *b,
         int32_t ldb, float beta, float *cr, int32_t scj)
{
    float acc[ROW_CHUNK] __attribute__((aligned(64)));
    for (int32_t j0 = 0; j0 < n; j0 += ROW_CHUNK) {
        const int32_t w = n - j0 < ROW_CHUNK ? n - j0 : ROW_CHUNK, wv = w & ~15;
        memset(acc, 0, (size_t)w * sizeof(float));
        int32_t p = 0;
        for (; p + 4 <= k; p += 4) {
            const float a0 = ar[(size_t)p * sap], a1 = ar[(size_t)(p + 1) * sap];
            const float a2 = ar[(size_t)(p + 2) * sap], a3 = ar[(size_t)(p + 3) * sap];
            const float *b0 = b + (size_t)p * ldb + j0, *b1 = b0 + ldb, *b2 = b1 + ldb,
                        *b3 = b2 + ldb;
            for (int32_t j = 0; j < wv; j += 16) {
                v16 s, x;
                LD(s, acc + j);
                LD(x, b0 + j);
                s += a0 * x;
                LD(x, b1 + j);
                s += a1 * x;
                LD(x, b2 + j);
                s += a2 * x;
                LD(x, b3 + j);
                s += a3 * x;
                ST(acc + j, s);
            }
            for (int32_t j = wv; j < w; j++) {
                float s = acc[j];
                s += a0 * b0[j];
                s += a1 * b1[j];
                s += a2 * b2[j];
                s += a3 * b3[j];
                acc[j] = s;
            }
        }
        for (; p < k; p++) {
            const float a0 = ar[(size_t)p * sap], *b0 = b + (size_t)p * ldb + j0;
            for (int32_t j = 0; j < wv; j += 16) {
                v16 s, x;
                LD(s, acc + j);
                LD(x, b0 + j);
                s += a0 * x;
                ST(acc + j, s);
            }
            for (int32_t j = wv; j < w; j++)
                acc[j] += a0 * b0[j];
        }
        float *cj = cr + (size_t)j0 * scj;
        if (scj != 1)
            for (int32_t j = 0; j < w; j++)
                cj[(size_t)j * scj] = finish(acc[j], alpha, beta, cj + (size_t)j * scj);
        else /* contiguous: a loop that vectorises, the same rounding as finish's */
            for (int32_t j = 0; j < w; j++)
                cj[j] = finish(acc[j], alpha, beta, cj + j);
    }
}

HAMP_VECTOR_CLONES
void hamp_direct_axpy(int32_t m, int32_t n, int32_t k, float alpha, const float *a,
                      int32_t sar, int32_t sap, const float *b, int32_t ldb, float beta,
                      float *c, int32_t scr, int32_t scj)
{
    int32_t r = 0;
    for (; r + AXPY_ROWS <= m; r += AXPY_ROWS)
        axpy_rows(AXPY_ROWS, 2, n, k, alpha, a + (size_t)r * sar, sar, sap, b, ldb, beta,
                  c + (size_t)r * scr, scr, scj);
    for (; r < m; r++)
        axpy_one(n, k, alpha, a + (size_t)r * sar, sap, b, ldb, beta, c + (size_t)r * scr,
                 scj);
}

/* The lanes of s[0..4) summed, four sums at once: halves added pairwise (a fixed tree,
 * four adds deep), the four results in lanes 0, 4, 8, 12 of the last step.
 * __builtin_shufflevector: GCC >= 12 and clang alike (the TSan build uses clang). */
#define LO 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define HI 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define LO2 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27
#define HI2 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31
#define LO3 0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13
#define HI3 2, 3, 6, 7, 10, 11, 14, 15, 2, 3, 6, 7, 10, 11, 14, 15
#define LO4 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14
#define HI4 1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15
static inline void hsum4(const v16 *s, float *out)
{
    /* lanes 0-7: s0's halves, 8-15: s1's */
    v16 u01 = __builtin_shufflevector(s[0], s[1], LO) + __builtin_shufflevector(s[0], s[1], HI);
    v16 u23 = __builtin_shufflevector(s[2], s[3], LO) + __builtin_shufflevector(s[2], s[3], HI);
    /* four lanes each: s0, s1, s2, s3 */
    v16 w = __builtin_shufflevector(u01, u23, LO2) + __builtin_shufflevector(u01, u23, HI2);
    /* two lanes each, then one */
    v16 z = __builtin_shufflevector(w, w, LO3) + __builtin_shufflevector(w, w, HI3);
    v16 f = __builtin_shufflevector(z, z, LO4) + __builtin_shufflevector(z, z, HI4);
    float t[16];
    memcpy(t, &f, sizeof t);
    for (int q = 0; q < 4; q++)
        out[q] = t[q];
}

/* out[0..nr) = x . y_q over p (x element p at x[p * sx], y_q = y + q * ldy contiguous),
 * nr <= 4 rows of y sharing each load of x: one vector chain per row over 16-float
 * chunks (the last one overlapping the one before, its repeated lanes zero in x), the
 * lanes summed as a tree. The order of a row's
 * sum does not depend on nr. */
static inline __attribute__((always_inline)) void
dot_rows(int nr, const float *x, int32_t sx, const float *y, int32_t ldy, int32_t k,
         float *out)
{
    v16 s[4] = {{0}, {0}, {0}, {0}}, u, v;
    int32_t p = 0;
    for (; p + 16 <= k; p += 16) {
        if (sx == 1) {
            LD(u, x + p);
        } else {
            float t[16];
            for (int i = 0; i < 16; i++)
                t[i] = x[(size_t)(p + i) * sx];
            LD(u, t);
        }
        for (int q = 0; q < nr; q++) {
            LD(v, y + (size_t)q * ldy + p);
            s[q] += u * v;
        }
    }
    if (p < k && k >= 16) { /* the last k % 16: the last 16 of y, x's lanes before p zero */
        float tx[16] = {0};
        for (int32_t i = p; i < k; i++)
            tx[i - (k - 16)] = x[(size_t)i * sx];
        LD(u, tx);
        for (int q = 0; q < nr; q++) {
            LD(v, y + (size_t)q * ldy + k - 16);
            s[q] += u * v;
        }
    } else if (p < k) { /* k < 16: zero-padded copies */
        float tx[16] = {0}, ty[16] = {0};
        for (int32_t i = p; i < k; i++)
            tx[i - p] = x[(size_t)i * sx];
        LD(u, tx);
        for (int q = 0; q < nr; q++) {
            memcpy(ty, y + (size_t)q * ldy + p, (size_t)(k - p) * sizeof(float));
            LD(v, ty);
            s[q] += u * v;
        }
    }
    float o[4];
    hsum4(s, o); /* the unused rows' sums are zero and do not change the others */
    for (int q = 0; q < nr; q++)
        out[q] = o[q];
}

HAMP_VECTOR_CLONES
void hamp_direct_dot(int32_t m, int32_t n, int32_t k, float alpha, const float *a,
                     int32_t sar, int32_t sap, const float *b, int32_t ldb, float beta,
                     float *c, int32_t scr, int32_t scj)
{
    float d[4];
    int32_t j = 0;
    for (; j + 4 <= n; j += 4) /* four rows of B, in L1 for every row of A */
        for (int32_t r = 0; r < m; r++) {
            float *cr = c + (size_t)r * scr + (size_t)j * scj;
            dot_rows(4, a + (size_t)r * sar, sap, b + (size_t)j * ldb, ldb, k, d);
            for (int q = 0; q < 4; q++)
                cr[(size_t)q * scj] = finish(d[q], alpha, beta, cr + (size_t)q * scj);
        }
    for (; j < n; j++)
        for (int32_t r = 0; r < m; r++) {
            float *cr = c + (size_t)r * scr + (size_t)j * scj;
            dot_rows(1, a + (size_t)r * sar, sap, b + (size_t)j * ldb, ldb, k, d);
            *cr = finish(d[0], alpha, beta, cr);
        }
}
