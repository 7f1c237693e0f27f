/* The BLAS products of a solve, timed on one and on two OpenBLAS threads: the measurements
 * behind the thread thresholds of lib/common/linalg.c and the thin-block kernels of lib/common/thin.c
 * (docs/performance.md). Not built by meson; run it by hand:
 *
 *   cc -O2 bench/blas_shapes.c -o /tmp/blas_shapes $(pkg-config --cflags --libs openblas)
 *   /tmp/blas_shapes
 *
 * Each line: m n k and the transposes of C = op(A) op(B) (row-major), the best of 7
 * timings of 10 ms of repeated calls, in microseconds, for 1 and 2 threads; for a single
 * row also sgemv. The shapes are those of 784-512-10 and 784-1280-510-200-10 at batch 64,
 * at the smaller batches early stopping leaves, and at batch 1. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
    int m, n, k, ta, tb;
} shape_t;

static float *A, *B, *C;

static void gemm(const shape_t *q)
{
    int lda = q->ta ? q->m : q->k, ldb = q->tb ? q->k : q->n;
    cblas_sgemm(CblasRowMajor, q->ta ? CblasTrans : CblasNoTrans, q->tb ? CblasTrans : CblasNoTrans,
                q->m, q->n, q->k, 1.0f, A, lda, B, ldb, 1.0f, C, q->n);
}

static void gemv(const shape_t *q) /* the same single-row product as a matrix-vector one */
{
    if (q->tb)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, q->n, q->k, 1.0f, B, q->k, A, 1, 1.0f, C, 1);
    else
        cblas_sgemv(CblasRowMajor, CblasTrans, q->k, q->n, 1.0f, B, q->n, A, 1, 1.0f, C, 1);
}

static double best_us(void (*f)(const shape_t *), const shape_t *q)
{
    double best = 1e30;
    for (int r = 0; r < 7; r++) {
        long it = 0;
        double t0 = now(), t;
        do {
            f(q);
            it++;
        } while ((t = now() - t0) < 0.01);
        if (t / it < best)
            best = t / it;
    }
    return best * 1e6;
}

int main(void)
{
    static const shape_t shapes[] = {
        /* 784-512-10: the drive, the thin couplings, the gradients */
        {64, 512, 784, 0, 0}, {64, 512, 10, 0, 1}, {64, 10, 512, 0, 0}, {784, 512, 64, 1, 0},
        {512, 10, 64, 1, 0}, {16, 512, 10, 0, 1}, {16, 10, 512, 0, 0}, {4, 10, 512, 0, 0},
        /* 784-1280-510-200-10 */
        {64, 1280, 510, 0, 1}, {64, 510, 1280, 0, 0}, {64, 510, 200, 0, 1}, {64, 200, 510, 0, 0},
        {1280, 510, 64, 1, 0}, {16, 1280, 510, 0, 1}, {8, 1280, 510, 0, 1}, {4, 510, 1280, 0, 0},
        /* thresholds: m*n*k around 1.5e6 */
        {64, 128, 64, 0, 0}, {64, 256, 64, 0, 0}, {64, 256, 128, 0, 0}, {16, 510, 200, 0, 1},
        /* batch 1 */
        {1, 512, 784, 0, 0}, {1, 512, 10, 0, 1}, {1, 10, 512, 0, 0}, {1, 1280, 510, 0, 1},
        {1, 510, 1280, 0, 0}, {1, 200, 510, 0, 0}};
    const size_t big = (size_t)1 << 22;
    A = malloc(big * sizeof(float));
    B = malloc(big * sizeof(float));
    C = malloc(big * sizeof(float));
    if (!A || !B || !C)
        return 1;
    for (size_t i = 0; i < big; i++) {
        A[i] = (float)(i % 7) * 0.1f;
        B[i] = (float)(i % 5) * 0.1f;
        C[i] = 0.0f;
    }
    printf("%5s %5s %5s %2s  %10s  %10s  %10s  %10s\n", "m", "n", "k", "op", "1 thread",
           "2 threads", "sgemv 1t", "sgemv 2t");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const shape_t *q = &shapes[s];
        double t[2], v[2] = {0, 0};
        for (int th = 1; th <= 2; th++) {
            openblas_set_num_threads(th);
            t[th - 1] = best_us(gemm, q);
            if (q->m == 1)
                v[th - 1] = best_us(gemv, q);
        }
        printf("%5d %5d %5d %c%c  %10.2f  %10.2f", q->m, q->n, q->k, q->ta ? 'T' : 'N',
               q->tb ? 'T' : 'N', t[0], t[1]);
        if (q->m == 1)
            printf("  %10.2f  %10.2f", v[0], v[1]);
        printf("\n");
    }
    free(A);
    free(B);
    free(C);
    return 0;
}
