/* Adam (Kingma & Ba 2015), with bias correction; t counts steps from 1. */
#include <math.h>

#include "train/train_private.h"

void hamp_adam_update(float *p, const float *g, float *m1, float *m2, size_t n, double lr,
                      double beta1, double beta2, double eps, int64_t t)
{
    const double c1 = 1.0 - pow(beta1, (double)t), c2 = 1.0 - pow(beta2, (double)t);
    for (size_t i = 0; i < n; i++) {
        m1[i] = (float)(beta1 * m1[i] + (1.0 - beta1) * g[i]);
        m2[i] = (float)(beta2 * m2[i] + (1.0 - beta2) * (double)g[i] * g[i]);
        double mh = m1[i] / c1, vh = m2[i] / c2;
        p[i] -= (float)(lr * mh / (sqrt(vh) + eps));
    }
}
