/* Small vector helpers shared by the solver backends: reductions in double precision,
 * and the row compaction that removes finished samples from a working batch. */
#include <math.h>
#include <string.h>

#include "hamdeq_private.h"

double hamp_dot(const float *a, const float *b, int32_t n)
{
    double acc = 0.0;
    for (int32_t i = 0; i < n; i++)
        acc += (double)a[i] * (double)b[i];
    return acc;
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
