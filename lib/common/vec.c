/* Small vector helpers shared by the solver backends: reductions in double precision,
 * and the row compaction that removes finished samples from a working batch. */
#include <math.h>
#include <string.h>

#include "common/fastmath.h"
#include "common/common_private.h"

/* Reductions keep LANES partial sums: one running sum is a chain of dependent additions
 * (4 cycles each) that the compiler may not reorder, and these loops run over every
 * state row of every iteration (Anderson's Gram rows on a 522-long state cost more than
 * the operator, perf). LANES independent sums vectorise. The order of the additions is
 * fixed, so results do not depend on the machine. */
#define LANES 16

HAMP_VECTOR_CLONES
double hamp_dot(const float *a, const float *b, int32_t n)
{
    double acc[LANES] = {0};
    int32_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            acc[j] += (double)a[i + j] * (double)b[i + j];
    double tail = 0.0;
    for (; i < n; i++)
        tail += (double)a[i] * (double)b[i];
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++)
            acc[j] += acc[j + w];
    return acc[0] + tail;
}

HAMP_VECTOR_CLONES
void hamp_diff_norms2(double *diff2, double *g2, const float *g, const float *s, int32_t n)
{
    double ad[LANES] = {0}, ag[LANES] = {0};
    int32_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            double gj = g[i + j], d = gj - (double)s[i + j];
            ad[j] += d * d;
            ag[j] += gj * gj;
        }
    double td = 0.0, tg = 0.0;
    for (; i < n; i++) {
        double gj = g[i], d = gj - (double)s[i];
        td += d * d;
        tg += gj * gj;
    }
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; j++) {
            ad[j] += ad[j + w];
            ag[j] += ag[j + w];
        }
    *diff2 = ad[0] + td;
    if (g2)
        *g2 = ag[0] + tg;
}

double hamp_nrm2(const float *a, int32_t n)
{
    return sqrt(hamp_dot(a, a, n));
}

/* keep[] is increasing, so keep[i] >= i and moving row keep[i] to row i never
 * overwrites a row that is still to be moved. */
void hamp_compact_rows(float *a, size_t width, const int32_t *keep, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        if (keep[i] != i)
            memcpy(a + (size_t)i * width, a + (size_t)keep[i] * width, width * sizeof *a);
}

void hamp_compact_rows_d(double *a, size_t width, const int32_t *keep, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        if (keep[i] != i)
            memcpy(a + (size_t)i * width, a + (size_t)keep[i] * width, width * sizeof *a);
}

void hamp_compact_rows_i(int32_t *a, size_t width, const int32_t *keep, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        if (keep[i] != i)
            memcpy(a + (size_t)i * width, a + (size_t)keep[i] * width, width * sizeof *a);
}

int hamp_check_finite(const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}
