/* L(s) = sum log cosh(s), g = tanh(s), H = diag(1 - g^2). */
#include <math.h>

#include "common/fastmath.h"
#include "core/core_private.h"

static double tanh_value(const hamp_lagrangian_t *self, const float *s, int32_t n)
{
    (void)self;
    double acc = 0.0;
    for (int32_t i = 0; i < n; i++) {
        /* log cosh(a) = |a| + log1p(e^{-2|a|}) - log 2, stable for large |a| */
        double a = fabs((double)s[i]);
        acc += a + log1p(exp(-2.0 * a)) - 0.69314718055994530942; /* log 2 */
    }
    return acc;
}

static void tanh_activation(const hamp_lagrangian_t *self, float *g, const float *s,
                            int32_t rows, int32_t n)
{
    (void)self;
    size_t total = (size_t)rows * (size_t)n;
    /* tanh(s) = 1 - 2 / (e^{2s} + 1), vectorisable with hamp_expf */
    for (size_t i = 0; i < total; i++)
        g[i] = 1.0f - 2.0f / (hamp_expf(2.0f * s[i]) + 1.0f);
}

static void tanh_hvp(const hamp_lagrangian_t *self, float *out, const float *s, const float *g,
                     const float *v, int32_t rows, int32_t mult, int32_t n)
{
    (void)self;
    (void)s;
    for (int32_t r = 0; r < rows; r++) {
        const float *gr = g + (size_t)r * n;
        for (int32_t t = 0; t < mult; t++) {
            size_t off = ((size_t)r * mult + t) * n;
            for (int32_t i = 0; i < n; i++)
                out[off + i] = (1.0f - gr[i] * gr[i]) * v[off + i];
        }
    }
}

const hamp_lagrangian_ops_t hamp_lagrangian_tanh = {"tanh", 1, tanh_value, tanh_activation,
                                                    tanh_hvp};
