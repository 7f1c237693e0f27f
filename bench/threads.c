/* The measurements behind the threads over samples (HAM_OPT_THREADS, docs/performance.md
 * "Threads"). Not built by meson; run it by hand, after a release build in build/:
 *
 *   cc -O2 -Ilib -Iinclude -Ibuild/include -Ibuild/include/hamdeq bench/threads.c \
 *      build/lib/libhamdeq_internal.a -lopenblas -llapacke -lz -lm -lpthread -o /tmp/threads
 *   OPENBLAS_NUM_THREADS=1 /tmp/threads
 *
 * 1. A chunk's input drive on one thread (32 x 784 x 512, 784-512-10): one sgemm, k-blocks
 *    within OpenBLAS's serial range (hamp_sgemm_serial), and blocks along n or along m and
 *    n, which pack the whole of A or B again for each block. Best of 200, microseconds.
 * 2. The cost of one run of the pool with 2 trivial tasks (wake a worker, wait for it)
 *    against a pthread_create and join per run, microseconds per run. */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/common_private.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static volatile long sink;
static void task(void *ctx, int32_t t)
{
    (void)ctx;
    sink += t;
}
static void *thread_main(void *p)
{
    (void)p;
    sink++;
    return NULL;
}

static void gemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, beta,
                c, ldc);
}

int main(void)
{
    const int m = 32, k = 784, n = 512;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n),
          *c = malloc(sizeof(float) * m * n);
    for (int i = 0; i < m * k; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < k * n; i++)
        b[i] = (float)(i % 5) * 0.1f;
    double best[4] = {1e9, 1e9, 1e9, 1e9};
    for (int it = 0; it < 200; it++) {
        double t0 = now_us();
        gemm(m, n, k, a, k, b, n, 0.0f, c, n);
        double t1 = now_us();
        hamp_sgemm_serial(m, n, k, a, k, b, n, 0.0f, c, n);
        double t2 = now_us();
        for (int j = 0, nb = 262144 / (m * k); j < n; j += nb)
            gemm(m, n - j < nb ? n - j : nb, k, a, k, b + j, n, 0.0f, c + j, n);
        double t3 = now_us();
        for (int i = 0, mb = 8, nb = 262144 / (8 * k); i < m; i += mb)
            for (int j = 0; j < n; j += nb)
                gemm(mb, n - j < nb ? n - j : nb, k, a + (size_t)i * k, k, b + j, n, 0.0f,
                     c + (size_t)i * n + j, n);
        double t4 = now_us();
        double d[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
        for (int q = 0; q < 4; q++)
            best[q] = d[q] < best[q] ? d[q] : best[q];
    }
    printf("drive 32 x 784 x 512, best of 200: one sgemm %.1f us, k-blocks (hamp_sgemm_serial) "
           "%.1f us, n-blocks %.1f us, 8-row x n-blocks %.1f us\n",
           best[0], best[1], best[2], best[3]);

    hamp_pool_t *pool = NULL;
    const int runs = 20000;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_us();
        for (int i = 0; i < runs; i++)
            hamp_pool_run(&pool, 2, task, NULL);
        double t1 = now_us();
        for (int i = 0; i < runs; i++) {
            pthread_t th;
            pthread_create(&th, NULL, thread_main, NULL);
            pthread_join(th, NULL);
        }
        double t2 = now_us();
        printf("pool run of 2 tasks: %.2f us; pthread_create + join: %.2f us\n",
               (t1 - t0) / runs, (t2 - t1) / runs);
    }
    hamp_pool_free(pool);
    free(a);
    free(b);
    free(c);
    return 0;
}
