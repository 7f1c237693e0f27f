/* The BLAS products of a solve and a training step, timed along each path that
 * lib/common/linalg.c can take: the measurements behind its thresholds and behind the
 * thin-block kernels of lib/common/thin.c (docs/performance.md, "BLAS threads"). Not built
 * by meson; run it by hand after building the library:
 *
 *   cc -O2 -Iinclude -Ilib -Ibuild/include/hamdeq bench/blas_shapes.c build/lib/libhamdeq_internal.a \
 *      $(pkg-config --cflags --libs openblas) -llapacke -lz -lm -lpthread -o /tmp/blas_shapes
 *   /tmp/blas_shapes            # all shapes; /tmp/blas_shapes mhn: with the 60,000-pattern MHN
 *
 * Each line: m n k and the transposes of C = op(A) op(B) (row-major), then the best of 21
 * timings of 3 ms of repeated calls (the paths taking turns), in microseconds: one cblas_sgemm call (cblas_sgemv for
 * a single row or column) on 1 OpenBLAS thread and on 2; then, with OpenBLAS at 2 threads,
 * hamp_sgemm_local (always the calling thread: direct kernels or blocks of at most
 * HAMP_CALLER_MNK) and hamp_sgemm (the path the library takes). This program is a host: it
 * sets OpenBLAS's thread count itself; the library never does. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common_private.h"

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

static void blas(const shape_t *q)
{
    int lda = q->ta ? q->m : q->k, ldb = q->tb ? q->k : q->n;
    if (q->m == 1 && q->tb) /* as hamp_sgemm's sgemv would */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, q->n, q->k, 1.0f, B, q->k, A, 1, 1.0f, C, 1);
    else if (q->m == 1)
        cblas_sgemv(CblasRowMajor, CblasTrans, q->k, q->n, 1.0f, B, q->n, A, 1, 1.0f, C, 1);
    else
        cblas_sgemm(CblasRowMajor, q->ta ? CblasTrans : CblasNoTrans,
                    q->tb ? CblasTrans : CblasNoTrans, q->m, q->n, q->k, 1.0f, A, lda, B, ldb,
                    1.0f, C, q->n);
}

static void local(const shape_t *q)
{
    int lda = q->ta ? q->m : q->k, ldb = q->tb ? q->k : q->n;
    hamp_sgemm_local(q->ta, q->tb, q->m, q->n, q->k, 1.0f, A, lda, B, ldb, 1.0f, C, q->n);
}

static void lib(const shape_t *q)
{
    int lda = q->ta ? q->m : q->k, ldb = q->tb ? q->k : q->n;
    hamp_sgemm(q->ta, q->tb, q->m, q->n, q->k, 1.0f, A, lda, B, ldb, 1.0f, C, q->n);
}

/* seconds per call over about 3 ms of repeated calls */
static double per_call(void (*f)(const shape_t *), const shape_t *q)
{
    long it = 0;
    double t0 = now(), t;
    do {
        f(q);
        it++;
    } while ((t = now() - t0) < 0.003);
    return t / it;
}

/* The paths take turns, ROUNDS times, each keeping its best: on a shared machine each
 * path sees the same load, and the best is the closest to an idle machine's time. */
#define ROUNDS 21

static void row(const char *what, int m, int n, int k, int ta, int tb)
{
    const shape_t q = {m, n, k, ta, tb};
    double t[4] = {1e30, 1e30, 1e30, 1e30}, x;
    for (int r = 0; r < ROUNDS; r++) {
        openblas_set_num_threads(1);
        if ((x = per_call(blas, &q)) < t[0])
            t[0] = x;
        openblas_set_num_threads(2);
        if ((x = per_call(blas, &q)) < t[1])
            t[1] = x;
        if ((x = per_call(local, &q)) < t[2])
            t[2] = x;
        if ((x = per_call(lib, &q)) < t[3])
            t[3] = x;
    }
    printf("%-10s %5d %5d %5d %c%c %10.0f  %9.2f %9.2f %9.2f %9.2f\n", what, m, n, k,
           ta ? 'T' : 'N', tb ? 'T' : 'N', (double)m * n * k, t[0] * 1e6, t[1] * 1e6,
           t[2] * 1e6, t[3] * 1e6);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const int mhn = argc > 1 && !strcmp(argv[1], "mhn");
    const size_t big = mhn ? (size_t)64 * 60000 + 60000 * 784 : (size_t)1 << 22;
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
    printf("%-10s %5s %5s %5s %2s %10s  %9s %9s %9s %9s\n", "product", "m", "n", "k", "op",
           "m*n*k", "blas 1t", "blas 2t", "local", "hamp");
    static const int batches[] = {1, 2, 4, 8, 16, 32, 64};
    for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
        const int R = batches[bi];
        if (mhn) { /* 784 -> 60,000 patterns and back */
            row("mhn fwd", R, 60000, 784, 0, 1);
            row("mhn back", R, 784, 60000, 0, 0);
            continue;
        }
        /* 784-512-10: the drive and the parameter gradients (512 x 10 is thin.c's) */
        row("drive", R, 512, 784, 0, 0);
        row("gW0", 784, 512, R, 1, 0);
        row("gW1", 512, 10, R, 1, 0);
        /* 784-1280-510-200-10: the couplings (both directions), drive, gradients */
        row("W1 nt", R, 1280, 510, 0, 1);
        row("W1 nn", R, 510, 1280, 0, 0);
        row("W2 nt", R, 510, 200, 0, 1);
        row("W2 nn", R, 200, 510, 0, 0);
        row("drive5", R, 1280, 784, 0, 0);
        row("gW1 5", 1280, 510, R, 1, 0);
        row("gW2 5", 510, 200, R, 1, 0);
        row("gW3 5", 200, 10, R, 1, 0);
    }
    free(A);
    free(B);
    free(C);
    return 0;
}
