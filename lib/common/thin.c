/* Products with a thin side: a weight block with one dimension of at most HAMP_THIN units
 * (the 10 output units of 784-512-10). BLAS packs both operands into its blocking
 * buffers on every call, which at these shapes costs more than the arithmetic: OpenBLAS
 * takes 7.9 us for 64 x 512 x 10 (C = A B') and 11.3 us for 64 x 10 x 512, and at one row
 * sgemv 1.0 and 0.7 us (bench/blas_shapes.c). These kernels read operands arranged once
 * per solve in the evaluation workspace (hamp_eval_pack): a padded copy for the narrow
 * output, the transpose for the short sum (docs/performance.md has the effect on whole
 * solves). GCC's generic vectors (64 bytes) compile to one AVX-512 register, two AVX2 or
 * four SSE2 ones in the three clones. */
#include <string.h>

#include "common/fastmath.h"
#include "common/common_private.h"

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));

/* unaligned loads and stores of 16 floats (macros: a function returning a 64-byte vector
 * would have an ABI that differs between the clones) */
#define LD(v, p) memcpy(&(v), (p), sizeof(v16))
#define ST(p, v) memcpy((p), &(v), sizeof(v16))
#define ROWS 4 /* rows of the narrow kernel per pass over B */

/* d[0..n) = i[0..n) + acc (i NULL: acc) */
static inline void store_narrow(float *d, const float *i, const v16 *acc, int32_t n)
{
    float t[16];
    memcpy(t, acc, sizeof t);
    if (!i)
        for (int32_t j = 0; j < n; j++)
            d[j] = t[j];
    else
        for (int32_t j = 0; j < n; j++)
            d[j] = i[j] + t[j];
}

#define INIT_ROW(r) (init ? init + (size_t)(r) * ldi : NULL)

/* Every row is summed in the same order whichever path takes it, two chains (even and
 * odd p) added at the end, so that a sample's result does not depend on the batch it is
 * in (tests/check_solver.c: a batch equals its samples solved alone). ROWS rows share
 * each load of B; two chains per row keep a single row (a batch of 1) from waiting on
 * one chain of dependent fused multiply-adds. */
HAMP_VECTOR_CLONES
void hamp_thin_narrow(int32_t rows, int32_t n, int32_t k, const float *src, int32_t lds,
                      const float *bpad, const float *init, int32_t ldi, float *dst,
                      int32_t ldd)
{
    int32_t r = 0;
    for (; r + ROWS <= rows; r += ROWS) {
        v16 e[ROWS], o[ROWS], b0, b1;
        for (int q = 0; q < ROWS; q++)
            e[q] = o[q] = (v16){0};
        const float *s = src + (size_t)r * lds;
        int32_t p = 0;
        for (; p + 2 <= k; p += 2) {
            LD(b0, bpad + (size_t)p * 16);
            LD(b1, bpad + (size_t)(p + 1) * 16);
            for (int q = 0; q < ROWS; q++) {
                e[q] += s[(size_t)q * lds + p] * b0;
                o[q] += s[(size_t)q * lds + p + 1] * b1;
            }
        }
        if (p < k) {
            LD(b0, bpad + (size_t)p * 16);
            for (int q = 0; q < ROWS; q++)
                e[q] += s[(size_t)q * lds + p] * b0;
        }
        for (int q = 0; q < ROWS; q++) {
            e[q] += o[q];
            store_narrow(dst + (size_t)(r + q) * ldd, INIT_ROW(r + q), &e[q], n);
        }
    }
    for (; r < rows; r++) {
        v16 e = {0}, o = {0}, b0, b1;
        const float *s = src + (size_t)r * lds;
        int32_t p = 0;
        for (; p + 2 <= k; p += 2) {
            LD(b0, bpad + (size_t)p * 16);
            LD(b1, bpad + (size_t)(p + 1) * 16);
            e += s[p] * b0;
            o += s[p + 1] * b1;
        }
        if (p < k) {
            LD(b0, bpad + (size_t)p * 16);
            e += s[p] * b0;
        }
        e += o;
        store_narrow(dst + (size_t)r * ldd, INIT_ROW(r), &e, n);
    }
}

HAMP_VECTOR_CLONES
void hamp_thin_axpy(int32_t rows, int32_t n, int32_t k, const float *src, int32_t lds,
                    const float *b, int32_t ldb, const float *init, int32_t ldi, float *dst,
                    int32_t ldd)
{
    for (int32_t r = 0; r < rows; r++) {
        const float *s = src + (size_t)r * lds, *i = INIT_ROW(r);
        float *d = dst + (size_t)r * ldd;
        int32_t j = 0;
        for (; j + 64 <= n; j += 64) { /* four vectors of sums per pass over the k rows */
            v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, x0, x1, x2, x3;
            if (i) {
                LD(a0, i + j);
                LD(a1, i + j + 16);
                LD(a2, i + j + 32);
                LD(a3, i + j + 48);
            }
            for (int32_t p = 0; p < k; p++) {
                const float a = s[p], *bp = b + (size_t)p * ldb + j;
                LD(x0, bp);
                LD(x1, bp + 16);
                LD(x2, bp + 32);
                LD(x3, bp + 48);
                a0 += a * x0;
                a1 += a * x1;
                a2 += a * x2;
                a3 += a * x3;
            }
            ST(d + j, a0);
            ST(d + j + 16, a1);
            ST(d + j + 32, a2);
            ST(d + j + 48, a3);
        }
        for (; j + 16 <= n; j += 16) {
            v16 a0 = {0}, x0;
            if (i)
                LD(a0, i + j);
            for (int32_t p = 0; p < k; p++) {
                LD(x0, b + (size_t)p * ldb + j);
                a0 += s[p] * x0;
            }
            ST(d + j, a0);
        }
        for (; j + 8 <= n; j += 8) {
            v8 a0 = {0}, x0;
            if (i)
                memcpy(&a0, i + j, sizeof a0);
            for (int32_t p = 0; p < k; p++) {
                memcpy(&x0, b + (size_t)p * ldb + j, sizeof x0);
                a0 += s[p] * x0;
            }
            memcpy(d + j, &a0, sizeof a0);
        }
        for (; j < n; j++) {
            float acc = i ? i[j] : 0.0f;
            for (int32_t p = 0; p < k; p++)
                acc += s[p] * b[(size_t)p * ldb + j];
            d[j] = acc;
        }
    }
}
