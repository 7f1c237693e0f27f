/* L(s) = (1/beta) log sum exp(beta s), g = softmax(beta s), H v = beta (g*v - g (g.v)).
 * Not additive: every function works row by row. */
#include <math.h>

#include "common/fastmath.h"
#include "core/core_private.h"

static double softmax_value(const hamp_lagrangian_t *self, const float *s, int32_t n)
{
    double beta = self->beta, mx = -INFINITY, acc = 0.0;
    for (int32_t i = 0; i < n; i++)
        mx = fmax(mx, beta * s[i]);
    for (int32_t i = 0; i < n; i++)
        acc += exp(beta * s[i] - mx);
    return (mx + log(acc)) / beta;
}

/* Three passes per row, each vectorised (HAMP_VECTOR_CLONES): the maximum and the sum in
 * SOFTMAX_LANES partial accumulators, the exps with the library's vectorisable expf. With
 * one running maximum (libm's fmaxf, a call per value) and one chain of dependent double
 * additions it ran scalar, and in a Modern Hopfield retrieval of 60,000 patterns it took
 * about a fifth of the time, on one core, against the two-core products (perf,
 * docs/performance.md). */
#define SOFTMAX_LANES 16

HAMP_VECTOR_CLONES
static void softmax_activation(const hamp_lagrangian_t *self, float *g, const float *s,
                               int32_t rows, int32_t n)
{
    float beta = (float)self->beta;
    for (int32_t r = 0; r < rows; r++) {
        const float *sr = s + (size_t)r * n;
        float *gr = g + (size_t)r * n;
        float mxl[SOFTMAX_LANES];
        for (int j = 0; j < SOFTMAX_LANES; j++)
            mxl[j] = -INFINITY;
        int32_t i = 0;
        for (; i + SOFTMAX_LANES <= n; i += SOFTMAX_LANES)
            for (int j = 0; j < SOFTMAX_LANES; j++) {
                float t = beta * sr[i + j];
                mxl[j] = t > mxl[j] ? t : mxl[j];
            }
        for (; i < n; i++) {
            float t = beta * sr[i];
            mxl[0] = t > mxl[0] ? t : mxl[0];
        }
        float mx = mxl[0];
        for (int j = 1; j < SOFTMAX_LANES; j++)
            mx = mxl[j] > mx ? mxl[j] : mx;
        for (i = 0; i < n; i++)
            gr[i] = hamp_expf(beta * sr[i] - mx);
        double acc[SOFTMAX_LANES] = {0}, tail = 0.0;
        for (i = 0; i + SOFTMAX_LANES <= n; i += SOFTMAX_LANES)
            for (int j = 0; j < SOFTMAX_LANES; j++)
                acc[j] += gr[i + j];
        for (; i < n; i++)
            tail += gr[i];
        for (int w = SOFTMAX_LANES / 2; w > 0; w /= 2)
            for (int j = 0; j < w; j++)
                acc[j] += acc[j + w];
        float inv = (float)(1.0 / (acc[0] + tail));
        for (i = 0; i < n; i++)
            gr[i] *= inv;
    }
}

static void softmax_hvp(const hamp_lagrangian_t *self, float *out, const float *s,
                        const float *g, const float *v, int32_t rows, int32_t mult, int32_t n)
{
    (void)s;
    float beta = (float)self->beta;
    for (int32_t r = 0; r < rows; r++) {
        const float *gr = g + (size_t)r * n;
        for (int32_t t = 0; t < mult; t++) {
            size_t off = ((size_t)r * mult + t) * n;
            float gv = (float)hamp_dot(gr, v + off, n); /* read v before out may overwrite it */
            for (int32_t i = 0; i < n; i++)
                out[off + i] = beta * gr[i] * (v[off + i] - gv);
        }
    }
}

const hamp_lagrangian_ops_t hamp_lagrangian_softmax = {"softmax", 0, softmax_value,
                                                       softmax_activation, softmax_hvp};
