/* Madam (Bernstein et al. 2020) as the paper used it: a multiplicative update on the
 * gradient normalised by the root of its running second moment,
 *   p <- p * exp(-lr * sign(p) * clip(g / sqrt(E[g^2]), +-gbound)),  |p| <= bound,
 * with bound = scale x the RMS of the array when training started. A multiplicative step
 * never moves a parameter that is exactly zero (the paper's zero biases stay zero);
 * `additive` replaces it by p <- p - lr * clip(...), for the biases when asked to. */
#include <math.h>

#include "common/fastmath.h"
#include "train/train_private.h"

double hamp_madam_bound(const float *p, size_t n, double scale)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += (double)p[i] * p[i];
    return n ? scale * sqrt(acc / n) : 0.0;
}

/* One pass over an array, in single precision with the vectorised exp: in double with
 * libm's exp this update cost more than the forward and backward solves of a 784-512-10
 * training step (perf). `mode`: 0 additive; 1 multiplicative; 2 multiplicative with
 * lr * gbound <= HAMP_EXPF_SMALL, where the exponent needs no range reduction (the same
 * values, a third fewer operations). Constant at each call site, so each loop is
 * compiled on its own. */
static inline __attribute__((always_inline)) void madam_pass(
    float *p, const float *g, float *m2, size_t n, float b2, float one_b2, float inv_c2,
    float lrf, float gb, float hi, int mode)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i], pi = p[i];
        float v2 = b2 * m2[i] + one_b2 * gi * gi;
        m2[i] = v2;
        float ms = v2 * inv_c2;
        /* ms > 0 and finite here, or the quotient is NaN (0/0, inf/inf) and becomes 0 */
        float gn = ms > 0.0f ? gi / sqrtf(ms) : 0.0f;
        gn = gn == gn ? gn : 0.0f;
        gn = gn > gb ? gb : (gn < -gb ? -gb : gn);
        float v;
        if (mode == 0) {
            v = pi - lrf * gn;
        } else {
            /* sign(p) = 0 gives v = p = +-0 whatever the exponent: +-1 serves */
            float x = pi > 0.0f ? -lrf * gn : lrf * gn;
            v = pi * (mode == 2 ? hamp_expf_small(x) : hamp_expf(x));
        }
        v = v > hi ? hi : (v < -hi ? -hi : v);
        p[i] = v;
    }
}

HAMP_VECTOR_CLONES
void hamp_madam_update(float *p, const float *g, float *m2, size_t n, double lr, double beta2,
                       double gbound, double bound, int64_t t, int additive)
{
    const float b2 = (float)beta2, one_b2 = (float)(1.0 - beta2);
    const float inv_c2 = (float)(1.0 / (1.0 - pow(beta2, (double)t)));
    const float lrf = (float)lr, gb = (float)gbound;
    const float hi = bound > 0.0 ? (float)bound : INFINITY;
    if (additive)
        madam_pass(p, g, m2, n, b2, one_b2, inv_c2, lrf, gb, hi, 0);
    else if ((double)lrf * (double)gb <= (double)HAMP_EXPF_SMALL)
        madam_pass(p, g, m2, n, b2, one_b2, inv_c2, lrf, gb, hi, 2);
    else
        madam_pass(p, g, m2, n, b2, one_b2, inv_c2, lrf, gb, hi, 1);
}
