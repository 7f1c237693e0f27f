/* L(s) = s.s/2, g = s, H = I: the visible layer of a Modern Hopfield network. */
#include <string.h>

#include "core/core_private.h"

static double identity_value(const hamp_lagrangian_t *self, const float *s, int32_t n)
{
    (void)self;
    return 0.5 * hamp_dot(s, s, n);
}

static void identity_activation(const hamp_lagrangian_t *self, float *g, const float *s,
                                int32_t rows, int32_t n)
{
    (void)self;
    if (g != s)
        memmove(g, s, (size_t)rows * (size_t)n * sizeof *g);
}

static void identity_hvp(const hamp_lagrangian_t *self, float *out, const float *s,
                         const float *g, const float *v, int32_t rows, int32_t mult, int32_t n)
{
    (void)self;
    (void)s;
    (void)g;
    if (out != v)
        memmove(out, v, (size_t)rows * (size_t)mult * (size_t)n * sizeof *out);
}

const hamp_lagrangian_ops_t hamp_lagrangian_identity = {"identity", 1, identity_value,
                                                        identity_activation, identity_hvp};
