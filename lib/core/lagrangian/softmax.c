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

static void softmax_activation(const hamp_lagrangian_t *self, float *g, const float *s,
                               int32_t rows, int32_t n)
{
    float beta = (float)self->beta;
    for (int32_t r = 0; r < rows; r++) {
        const float *sr = s + (size_t)r * n;
        float *gr = g + (size_t)r * n;
        float mx = -INFINITY;
        for (int32_t i = 0; i < n; i++)
            mx = fmaxf(mx, beta * sr[i]);
        double sum = 0.0;
        for (int32_t i = 0; i < n; i++) {
            gr[i] = hamp_expf(beta * sr[i] - mx);
            sum += gr[i];
        }
        float inv = (float)(1.0 / sum);
        for (int32_t i = 0; i < n; i++)
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
