/* Madam (Bernstein et al. 2020) as the paper used it: a multiplicative update on the
 * gradient normalised by the root of its running second moment,
 *   p <- p * exp(-lr * sign(p) * clip(g / sqrt(E[g^2]), +-gbound)),  |p| <= bound,
 * with bound = scale x the RMS of the array when training started. A multiplicative step
 * never moves a parameter that is exactly zero (the paper's zero biases stay zero);
 * `additive` replaces it by p <- p - lr * clip(...), for the biases when asked to. */
#include <math.h>

#include "hamdeq_private.h"

double hamp_madam_bound(const float *p, size_t n, double scale)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += (double)p[i] * p[i];
    return n ? scale * sqrt(acc / n) : 0.0;
}

void hamp_madam_update(float *p, const float *g, float *m2, size_t n, double lr, double beta2,
                       double gbound, double bound, int64_t t, int additive)
{
    const double c2 = 1.0 - pow(beta2, (double)t);
    for (size_t i = 0; i < n; i++) {
        m2[i] = (float)(beta2 * m2[i] + (1.0 - beta2) * (double)g[i] * g[i]);
        double rms = sqrt(m2[i] / c2);
        double gn = rms > 0.0 ? g[i] / rms : 0.0;
        if (isnan(gn))
            gn = 0.0;
        gn = fmin(fmax(gn, -gbound), gbound);
        double v;
        if (additive) {
            v = p[i] - lr * gn;
        } else {
            double sign = p[i] > 0.0f ? 1.0 : (p[i] < 0.0f ? -1.0 : 0.0);
            v = p[i] * exp(-lr * sign * gn);
        }
        if (bound > 0.0)
            v = fmin(fmax(v, -bound), bound);
        p[i] = (float)v;
    }
}
