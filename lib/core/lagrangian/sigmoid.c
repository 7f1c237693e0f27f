/* The sigmoid family: L(s) = (1/k) softplus(k (s - c)), g = sigma(k (s - c)),
 * H = diag(k g (1 - g)). The paper's shifted sigmoid is k = 4, c = 1/2; the plain
 * sigmoid is k = 1, c = 0. */
#include <math.h>

#include "common/fastmath.h"
#include "core/core_private.h"

static double softplus(double z)
{
    /* log(1 + e^z) without overflow for large z or loss for very negative z */
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static inline float sigmoidf_(float z)
{
    return 1.0f / (1.0f + hamp_expf(-z));
}

#define SIGMOID_FAMILY(fname, K, C)                                                          \
    static double fname##_value(const hamp_lagrangian_t *self, const float *s, int32_t n)   \
    {                                                                                        \
        (void)self;                                                                          \
        double acc = 0.0;                                                                    \
        for (int32_t i = 0; i < n; i++)                                                      \
            acc += softplus((K) * ((double)s[i] - (C))) / (K);                               \
        return acc;                                                                          \
    }                                                                                        \
    HAMP_VECTOR_CLONES                                                                       \
    static void fname##_activation(const hamp_lagrangian_t *self, float *g, const float *s, \
                                   int32_t rows, int32_t n)                                  \
    {                                                                                        \
        (void)self;                                                                          \
        size_t total = (size_t)rows * (size_t)n;                                             \
        for (size_t i = 0; i < total; i++)                                                   \
            g[i] = sigmoidf_((float)(K) * (s[i] - (float)(C)));                              \
    }                                                                                        \
    HAMP_VECTOR_CLONES                                                                       \
    static void fname##_hvp(const hamp_lagrangian_t *self, float *out, const float *s,      \
                            const float *g, const float *v, int32_t rows, int32_t mult,     \
                            int32_t n)                                                       \
    {                                                                                        \
        (void)self;                                                                          \
        (void)s;                                                                             \
        for (int32_t r = 0; r < rows; r++) {                                                 \
            const float *gr = g + (size_t)r * n;                                             \
            for (int32_t t = 0; t < mult; t++) {                                             \
                size_t off = ((size_t)r * mult + t) * n;                                     \
                for (int32_t i = 0; i < n; i++)                                              \
                    out[off + i] = (float)(K) * gr[i] * (1.0f - gr[i]) * v[off + i];         \
            }                                                                                \
        }                                                                                    \
    }

SIGMOID_FAMILY(shifted, 4.0, 0.5)
SIGMOID_FAMILY(plain, 1.0, 0.0)

const hamp_lagrangian_ops_t hamp_lagrangian_shifted_sigmoid = {
    "shifted-sigmoid", 1, shifted_value, shifted_activation, shifted_hvp};
const hamp_lagrangian_ops_t hamp_lagrangian_sigmoid = {"sigmoid", 1, plain_value,
                                                       plain_activation, plain_hvp};
