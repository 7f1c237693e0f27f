/* Losses on the output layer s_y of a batch, with their gradient dLoss/ds_y, written into
 * the output layer's slice of a state-shaped array (the rest of the adjoint's constant
 * term is zero: the loss reads only the output layer). */
#include <math.h>
#include <string.h>

#include "train/train_private.h"

double hamp_loss(float *grad, int32_t *correct, int32_t kind, const float *state, int32_t dim,
                 int32_t offset, int32_t n_out, const int32_t *labels, int32_t rows,
                 double inv_b)
{
    double total = 0.0;
    int32_t right = 0;
    memset(grad, 0, (size_t)rows * (size_t)dim * sizeof(float));
    for (int32_t r = 0; r < rows; r++) {
        const float *y = state + (size_t)r * dim + offset;
        float *gy = grad + (size_t)r * dim + offset;
        int32_t label = labels[r], best = 0;
        for (int32_t i = 1; i < n_out; i++)
            if (y[i] > y[best])
                best = i;
        right += best == label;
        if (kind == HAM_LOSS_MSE) {
            for (int32_t i = 0; i < n_out; i++) {
                double diff = (double)y[i] - (i == label ? 1.0 : 0.0);
                total += 0.5 * diff * diff;
                gy[i] = (float)(diff * inv_b);
            }
        } else { /* cross-entropy on softmax(s_y), shifted by the max for stability */
            double mx = y[best], sum = 0.0;
            for (int32_t i = 0; i < n_out; i++)
                sum += exp((double)y[i] - mx);
            double log_z = mx + log(sum);
            total += log_z - y[label];
            for (int32_t i = 0; i < n_out; i++)
                gy[i] = (float)((exp((double)y[i] - log_z) - (i == label ? 1.0 : 0.0)) * inv_b);
        }
    }
    if (correct)
        *correct = right;
    return total;
}
