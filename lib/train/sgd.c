/* SGD with heavy-ball momentum: v <- mu v + g, p <- p - lr v. */
#include "train/train_private.h"

void hamp_sgd_update(float *p, const float *g, float *v, size_t n, double lr, double mu)
{
    const float flr = (float)lr, fmu = (float)mu;
    for (size_t i = 0; i < n; i++) {
        v[i] = fmu * v[i] + g[i];
        p[i] -= flr * v[i];
    }
}
