/* The machine measurements behind the floors of `hamdeq bench --perf`
 * (docs/performance.md): the cost of one activation with the library's own vectorised
 * exp (lib/fastmath.h, header-only, compiled here with the library's flags and clones),
 * and the read bandwidth for a working set of a given size. */
#include <stdlib.h>
#include <time.h>

#include "fastmath.h"
#include "perf.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The paper's shifted sigmoid, as lib/lagrangian_sigmoid.c evaluates it. */
HAMP_VECTOR_CLONES
static void sigmoid_pass(float *g, const float *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g[i] = 1.0f / (1.0f + hamp_expf(-4.0f * (s[i] - 0.5f)));
}

HAMP_VECTOR_CLONES
static double read_pass(const float *a, size_t n)
{
    float acc[16] = {0};
    for (size_t i = 0; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++)
            acc[j] += a[i + j];
    double sum = 0.0;
    for (int j = 0; j < 16; j++)
        sum += acc[j];
    return sum;
}

double perf_sigmoid_ns(void)
{
    enum { N = 4096 }; /* L1-resident: the cost of the arithmetic, not of memory */
    static float s[N], g[N];
    for (int i = 0; i < N; i++)
        s[i] = -3.0f + 6.0f * (float)i / N;
    double best = 1e30;
    for (int trial = 0; trial < 5; trial++) {
        long passes = 0;
        double t0 = now_s(), t;
        do {
            sigmoid_pass(g, s, N);
            s[passes % N] += g[(passes * 7) % N] * 1e-9f; /* keep the passes live */
            passes++;
        } while ((t = now_s() - t0) < 0.02);
        double ns = t * 1e9 / ((double)passes * N);
        if (ns < best)
            best = ns;
    }
    return best;
}

double perf_read_gbs(size_t bytes)
{
    size_t n = bytes / sizeof(float);
    if (n < 1024)
        n = 1024;
    n = (n + 15) / 16 * 16;
    float *a = malloc(n * sizeof(float));
    if (!a)
        return 0.0;
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i & 1023) * 1e-3f;
    volatile double sink = read_pass(a, n); /* warm the caches */
    double best = 0.0;
    for (int trial = 0; trial < 5; trial++) {
        long passes = 0;
        double t0 = now_s(), t;
        do {
            sink += read_pass(a, n);
            passes++;
        } while ((t = now_s() - t0) < 0.02);
        double gbs = (double)passes * (double)n * sizeof(float) / t * 1e-9;
        if (gbs > best)
            best = gbs;
    }
    (void)sink;
    free(a);
    return best;
}
