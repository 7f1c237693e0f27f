/* Optimiser state shared by the update rules: per parameter array, the moment buffers
 * and the bound Madam keeps. Arrays are the weight blocks then the biases, in layer order. */
#include <stdlib.h>
#include <string.h>

#include "train/train_private.h"

void hamp_optimizer_free(hamp_optimizer_t *o)
{
    for (int32_t i = 0; i < o->n_params; i++) {
        free(o->m1[i]);
        free(o->m2[i]);
    }
    memset(o, 0, sizeof *o);
}

int hamp_optimizer_init(hamp_optimizer_t *o, float *const *params, const size_t *lens,
                        int32_t n_params)
{
    memset(o, 0, sizeof *o);
    o->n_params = n_params;
    for (int32_t i = 0; i < n_params; i++) {
        o->len[i] = lens[i];
        o->m1[i] = calloc(lens[i] + 1, sizeof(float));
        o->m2[i] = calloc(lens[i] + 1, sizeof(float));
        if (!o->m1[i] || !o->m2[i]) {
            hamp_optimizer_free(o);
            return HAMP_FAIL(HAM_ERR_NOMEM);
        }
        (void)params;
    }
    return HAM_OK;
}

void hamp_optimizer_reset(hamp_optimizer_t *o)
{
    o->t = 0;
    for (int32_t i = 0; i < o->n_params; i++) {
        memset(o->m1[i], 0, o->len[i] * sizeof(float));
        memset(o->m2[i], 0, o->len[i] * sizeof(float));
        o->bound[i] = 0.0;
    }
}
