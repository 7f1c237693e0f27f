/* The HAM energy E(s; x) (docs/math.md section 1), per sample, in double precision:
 * it is a diagnostic (monotonicity tests, phase diagrams), not a hot path. */
#include <stdlib.h>

#include "operator/operator_private.h"

HAM_API int ham_model_energy(double *energy, const ham_model_t *model, int32_t batch,
                             const float *x, const float *full)
{
    if (!energy || !model || !full)
        return HAMP_FAIL(HAM_ERR_NULL);
    if (batch <= 0)
        return HAMP_FAIL(HAM_ERR_INVALID);
    if (model->clamped != (x != NULL))
        return HAMP_FAIL(model->clamped ? HAM_ERR_NULL : HAM_ERR_INVALID);
    const hamp_layout_t *lay = &model->layout[HAM_OPERATOR_SYNC];
    if ((x && !hamp_check_finite(x, (size_t)batch * model->size[0])) ||
        !hamp_check_finite(full, (size_t)batch * lay->dim))
        return HAMP_FAIL(HAM_ERR_NONFINITE);

    hamp_eval_t e;
    int rc = hamp_eval_init(&e, model, batch, 1);
    if (rc != HAM_OK)
        return rc;
    hamp_eval_set_input(&e, model, x, batch);
    hamp_eval_pack(&e, model);
    hamp_layered_inner(model, lay, &e, full, batch); /* g of every free layer */
    if (model->clamped)
        e.g[0] = e.g0;

    for (int32_t r = 0; r < batch; r++) {
        double E = 0.0;
        for (int32_t i = 0; i < lay->n_state; i++) {
            int32_t l = lay->state[i], n = model->size[l];
            const float *s = e.s[l] + (size_t)r * n, *g = e.g[l] + (size_t)r * n;
            E += hamp_dot(s, g, n) - model->lag[l].ops->value(&model->lag[l], s, n) -
                 hamp_dot(model->b[l], g, n);
        }
        for (int32_t l = 0; l + 1 < model->n_layers; l++) {
            int32_t n = model->size[l], k = model->size[l + 1];
            const float *ga = e.g[l] + (size_t)r * n, *gb = e.g[l + 1] + (size_t)r * k;
            const float *W = model->W[l];
            double c = 0.0;
            for (int32_t i = 0; i < n; i++) {
                if (ga[i] == 0.0f)
                    continue;
                double row = 0.0;
                for (int32_t j = 0; j < k; j++)
                    row += (double)W[(size_t)i * k + j] * gb[j];
                c += ga[i] * row;
            }
            E -= c;
        }
        energy[r] = E;
    }
    if (model->clamped)
        e.g[0] = NULL;
    hamp_eval_free(&e);
    return HAM_OK;
}
